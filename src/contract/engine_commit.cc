// The engine's transactions and ledger recording: group commit on SQLite, messages handed to the
// workers after the commit, events recorded on the ledger in batches (docs/contract.md#outbox,
// docs/contract.md#ledger-entries).
#include <algorithm>
#include <thread>
#include <unordered_map>

#include "contract/engine.h"

namespace kexin::contract {

using nlohmann::json;

Status Engine::InTxn(const std::function<Status(store::Store&)>& fn) {
  if (!writer_) {
    KEXIN_ASSIGN_OR_RETURN(store::Store * s, config_.store());
    auto writer = WriterLock(*s);
    KEXIN_RETURN_IF_ERROR(s->Begin());
    Status e = fn(*s);
    if (e.ok()) e = s->Commit();
    if (!e.ok()) s->Rollback().IgnoreError();
    return e;
  }
  std::unique_lock<std::mutex> lock(group_mu_);
  if (!txn_open_) {
    KEXIN_RETURN_IF_ERROR(writer_->Begin());
    txn_open_ = true;
    ++epoch_;
  }
  const uint64_t mine = epoch_;
  KEXIN_RETURN_IF_ERROR(writer_->Exec("SAVEPOINT op"));
  Status e = fn(*writer_);
  if (!e.ok()) {
    Status r = writer_->Exec("ROLLBACK TO op");
    if (r.ok()) r = writer_->Exec("RELEASE op");
    if (pending_ == 0) {
      writer_->Rollback().IgnoreError();
      txn_open_ = false;
      committed_ = mine;
    }
    return e;
  }
  KEXIN_RETURN_IF_ERROR(writer_->Exec("RELEASE op"));
  ++pending_;
  group_cv_.notify_all();
  group_cv_.wait(lock, [&] { return committed_ >= mine; });
  auto failed = failed_.find(mine);
  return failed == failed_.end() ? Status::Ok() : failed->second;
}

void Engine::CommitLoop() {
  std::unique_lock<std::mutex> lock(group_mu_);
  while (true) {
    group_cv_.wait(lock, [&] { return group_stop_ || pending_ > 0; });
    if (pending_ == 0 && group_stop_) return;
    Status c = writer_->Commit();
    if (!c.ok()) {
      writer_->Rollback().IgnoreError();
      failed_[epoch_] = c;
    }
    txn_open_ = false;
    pending_ = 0;
    committed_ = epoch_;
    group_cv_.notify_all();
  }
}

internal::TxnLog Engine::NewLog() const {
  internal::TxnLog log;
  log.self_deliver = static_cast<bool>(config_.transport);
  log.record = config_.ledger != nullptr;
  log.lease_ms = config_.retry.lease_ms;
  return log;
}

std::unique_lock<std::mutex> Engine::WriterLock(store::Store& s) {
  if (s.backend() == "sqlite") return std::unique_lock<std::mutex>(writer_mu_);
  return std::unique_lock<std::mutex>();
}

void Engine::AfterCommit(internal::TxnLog& log) {
  if (!log.sent.empty()) {
    std::lock_guard<std::mutex> lock(ready_mu_);
    for (auto& item : log.sent) ready_.push_back(std::move(item));
  }
  if (log.events.empty()) return;
  {
    std::lock_guard<std::mutex> lock(record_mu_);
    if (record_in_background_) {
      for (auto& e : log.events) to_record_.push_back(std::move(e));
      record_cv_.notify_one();
      return;
    }
  }
  RecordBatch(std::move(log.events)).IgnoreError();  // left claimed: recorded at next start
}

Status Engine::RecordBatch(std::vector<internal::RecordItem> items) {
  if (!config_.ledger || items.empty()) return Status::Ok();
  // Events of one negotiation are appended in order by one thread; negotiations in parallel, so
  // the ledger's group commit makes one commit of many appends.
  std::vector<std::vector<size_t>> groups;
  std::unordered_map<std::string, size_t> group_of;
  for (size_t i = 0; i < items.size(); ++i) {
    auto [it, added] = group_of.emplace(items[i].negotiation_id, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  std::vector<int64_t> index(items.size(), -1);
  std::vector<Status> errors(items.size());
  auto run = [&](size_t first, size_t step) {
    for (size_t g = first; g < groups.size(); g += step) {
      for (size_t i : groups[g]) {
        json body = items[i].body;
        body["event"] = items[i].seq;
        auto r = config_.ledger->Append(items[i].type, body);
        if (!r.ok()) {
          errors[i] = r.status();
          break;  // later events of this negotiation wait, keeping its order
        }
        index[i] = static_cast<int64_t>(*r);
      }
    }
  };
  const size_t threads = std::min<size_t>(16, groups.size());
  if (threads <= 1) {
    run(0, 1);
  } else {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(run, t, threads);
    for (auto& t : pool) t.join();
  }
  KEXIN_RETURN_IF_ERROR(InTxn([&](store::Store& s) -> Status {
    for (size_t i = 0; i < items.size(); ++i) {
      if (index[i] < 0) continue;
      KEXIN_RETURN_IF_ERROR(SetEventLedgerIndex(s, items[i].negotiation_id, items[i].seq, index[i]));
    }
    return Status::Ok();
  }));
  for (const Status& e : errors) KEXIN_RETURN_IF_ERROR(e);
  return Status::Ok();
}

void Engine::RecordInBackground() {
  std::lock_guard<std::mutex> lock(record_mu_);
  record_in_background_ = true;
}

void Engine::StopRecording() {
  {
    std::lock_guard<std::mutex> lock(record_mu_);
    record_stop_ = true;
  }
  record_cv_.notify_all();
}

Result<int> Engine::RecordPending(std::chrono::milliseconds wait) {
  std::vector<internal::RecordItem> items;
  {
    std::unique_lock<std::mutex> lock(record_mu_);
    record_cv_.wait_for(lock, wait, [&] { return record_stop_ || !to_record_.empty(); });
    items.swap(to_record_);
  }
  const int n = static_cast<int>(items.size());
  KEXIN_RETURN_IF_ERROR(RecordBatch(std::move(items)));
  return n;
}

Status Engine::RecordAllEvents() {
  if (!config_.ledger) return Status::Ok();
  KEXIN_ASSIGN_OR_RETURN(store::Store * s, config_.store());
  KEXIN_ASSIGN_OR_RETURN(auto ids, NegotiationsWithUnrecordedEvents(*s, 1000));
  for (const auto& id : ids) {
    std::lock_guard<std::mutex> lock(LockFor(id));
    std::vector<Event> events;
    KEXIN_RETURN_IF_ERROR(InTxn([&](store::Store& w) -> Status {
      KEXIN_ASSIGN_OR_RETURN(events, ClaimUnrecordedEvents(w, id));
      return Status::Ok();
    }));
    std::vector<internal::RecordItem> items;
    for (auto& e : events) items.push_back({id, e.seq, e.type, std::move(e.body)});
    KEXIN_RETURN_IF_ERROR(RecordBatch(std::move(items)));
  }
  return Status::Ok();
}

}  // namespace kexin::contract
