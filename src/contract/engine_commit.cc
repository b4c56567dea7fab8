// The engine's transactions and ledger recording: group commit on SQLite, messages handed to the
// workers after the commit, events recorded on the ledger in batches (docs/contract.md#outbox,
// docs/contract.md#ledger-entries).
#include <utility>

#include "contract/engine.h"

namespace kexin::contract {

using nlohmann::json;

Status Engine::InTxn(const std::function<Status(store::Store&)>& fn) {
  if (!writer_) {
    KEXIN_ASSIGN_OR_RETURN(store::Store * s, config_.store());
    KEXIN_RETURN_IF_ERROR(s->Begin());
    Status e = fn(*s);
    if (e.ok()) e = s->Commit();
    if (!e.ok()) s->Rollback().IgnoreError();
    return e;
  }
  // Operations run one at a time on the writer connection, each in a savepoint of the open group
  // transaction. The committer commits when no other operation is waiting to join (or the group is
  // full), so a burst shares one commit; waiting threads are woken once, by the commit.
  entering_.fetch_add(1);
  std::unique_lock<std::mutex> lock(group_mu_);
  entering_.fetch_sub(1);
  struct WakeCommitter {  // on every way out: the committer may be waiting for us to finish
    std::condition_variable& cv;
    ~WakeCommitter() { cv.notify_one(); }
  } wake{commit_cv_};
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
  commit_cv_.notify_one();
  done_cv_.wait(lock, [&] { return committed_ >= mine; });
  auto failed = failed_.find(mine);
  if (failed == failed_.end()) return Status::Ok();
  Status f = failed->second.status;
  if (--failed->second.waiters == 0) failed_.erase(failed);
  return f;
}

void Engine::CommitLoop() {
  constexpr int kMaxGroup = 256;  // operations in one commit at most
  std::unique_lock<std::mutex> lock(group_mu_);
  while (true) {
    commit_cv_.wait(lock, [&] {
      return group_stop_ || (pending_ > 0 && (entering_.load() == 0 || pending_ >= kMaxGroup));
    });
    if (pending_ == 0 && group_stop_) return;
    Status c = writer_->Commit();
    if (!c.ok()) {
      writer_->Rollback().IgnoreError();
      failed_[epoch_] = {c, pending_};
    }
    txn_open_ = false;
    pending_ = 0;
    committed_ = epoch_;
    done_cv_.notify_all();
  }
}

internal::TxnLog Engine::NewLog() const {
  internal::TxnLog log;
  log.self_deliver = static_cast<bool>(config_.transport);
  log.record = config_.ledger != nullptr;
  log.lease_ms = config_.retry.lease_ms;
  return log;
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
  // One ledger commit for the whole batch, in the order the events were committed (so each
  // negotiation's events keep their order), then one index update.
  std::vector<std::pair<std::string, json>> entries;
  entries.reserve(items.size());
  for (auto& item : items) {
    item.body["event"] = item.seq;
    entries.emplace_back(item.type, std::move(item.body));
  }
  KEXIN_ASSIGN_OR_RETURN(uint64_t first, config_.ledger->AppendBatch(entries));
  return InTxn([&](store::Store& s) -> Status {
    for (size_t i = 0; i < items.size(); ++i) {
      KEXIN_RETURN_IF_ERROR(SetEventLedgerIndex(s, items[i].negotiation_id, items[i].seq,
                                                static_cast<int64_t>(first + i)));
    }
    return Status::Ok();
  });
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
