// The engine's transactions and ledger recording: group commit on SQLite, messages handed to the
// workers after the commit, events recorded on the ledger in batches (docs/contract.md#outbox,
// docs/contract.md#ledger-entries).
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <utility>

#include "contract/engine.h"

namespace kexin::contract {

using nlohmann::json;

namespace {

// The writer thread (true there): an InTxn called from inside an operation runs inline.
thread_local bool on_writer_thread = false;

// Waits until *word is not 0. A futex rather than a condition variable: one system call to sleep,
// one to wake, no mutex to take on either side, and waking an address whose waiter has gone is
// harmless (futex(2)), so the writer may wake an operation that already returned.
void WaitNonZero(std::atomic<uint32_t>& word) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  while (word.load(std::memory_order_acquire) == 0) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr,
            0);
  }
}
uint64_t Nanos(std::chrono::steady_clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

void SetAndWake(std::atomic<uint32_t>& word) {
  uint32_t* address = reinterpret_cast<uint32_t*>(&word);
  word.store(1, std::memory_order_release);
  // `word` may be gone now (its waiter saw 1 and returned); the kernel only uses the address.
  syscall(SYS_futex, address, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

// One operation for the writer thread. A synchronous one (InTxn) lives on the stack of the thread
// that waits for it; an asynchronous one (ReceiveAsync) on the heap, deleted by the writer after
// `then` has run.
struct Engine::WriteOp {
  const std::function<Status(store::Store&)>* fn = nullptr;
  internal::TxnLog* log = nullptr;  // queued by the writer once the operation's group commits
  Status status;
  std::exception_ptr error;  // what fn threw, rethrown by InTxn
  std::atomic<uint32_t> done{0};
  // Asynchronous: owns its function and gets the outcome on the writer thread (after the commit
  // when the operation succeeded, at once when it failed) instead of a waiting thread.
  std::function<Status(store::Store&)> own_fn;
  std::function<void(Status)> then;
};

Status Engine::InTxn(const std::function<Status(store::Store&)>& fn, internal::TxnLog* log) {
  if (!writer_) {
    KEXIN_ASSIGN_OR_RETURN(store::Store * s, config_.store());
    KEXIN_RETURN_IF_ERROR(s->Begin());
    Status e = fn(*s);
    if (e.ok()) e = s->Commit();
    if (!e.ok()) s->Rollback().IgnoreError();
    if (e.ok() && log) QueueCommitted(*log);
    return e;
  }
  if (on_writer_thread) {  // nested in an operation: part of it, in a savepoint of its own
    KEXIN_RETURN_IF_ERROR(writer_->Exec("SAVEPOINT nested"));
    Status e = fn(*writer_);
    if (!e.ok()) {
      // Not undone: the error is the rollback's, so the caller cannot act on a half-kept change
      // (the writer then rolls the whole operation back).
      KEXIN_RETURN_IF_ERROR(writer_->Exec("ROLLBACK TO nested"));
    }
    Status r = writer_->Exec("RELEASE nested");
    return e.ok() ? r : e;
  }
  // The writer thread runs the queued operations one after another, each in a savepoint of the
  // open group transaction, and commits when none is waiting (or the group is full): a burst
  // shares one commit, and each caller sleeps once and is woken once, by the commit.
  WriteOp op;
  op.fn = &fn;
  op.log = log;
  Submit(&op);
  WaitNonZero(op.done);
  if (op.error) std::rethrow_exception(op.error);
  return op.status;
}

Status Engine::Flush() {
  if (!writer_) return Status::Ok();
  // The writer runs operations in order and finishes a group's in order after its commit, so an
  // empty operation is done only after every one queued before it.
  return InTxn([](store::Store&) { return Status::Ok(); });
}

void Engine::Submit(WriteOp* op) {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    write_queue_.push_back(op);
  }
  write_cv_.notify_one();
}

void Engine::SubmitAsync(std::function<Status(store::Store&)> fn, internal::TxnLog* log,
                         std::function<void(Status)> then) {
  auto* op = new WriteOp;  // deleted by the writer after `then`
  op->own_fn = std::move(fn);
  op->log = log;
  op->then = std::move(then);
  Submit(op);
}

void Engine::WriterLoop() {
  constexpr size_t kMaxGroup = 256;  // operations in one commit at most
  on_writer_thread = true;
  std::vector<WriteOp*> batch, group;
  bool open = false;
  auto finish = [](WriteOp* op, Status st) {
    if (op->then) {
      op->then(std::move(st));
      delete op;
      return;
    }
    op->status = std::move(st);
    SetAndWake(op->done);  // op may be gone after this
  };
  auto commit = [&] {
    if (!open) return;
    open = false;
    if (group.empty()) {  // every operation failed: nothing to keep
      writer_->Rollback().IgnoreError();
      return;
    }
    Status c = writer_->Commit();
    stat_commits_.fetch_add(1, std::memory_order_relaxed);
    if (!c.ok()) writer_->Rollback().IgnoreError();
    for (WriteOp* op : group) {
      if (c.ok() && op->log) QueueCommitted(*op->log);  // in commit order, before anyone goes on
      finish(op, c);
    }
    group.clear();
  };
  while (true) {
    {
      std::unique_lock<std::mutex> lock(write_mu_);
      if (group.empty()) {
        write_cv_.wait(lock, [&] { return write_stop_ || !write_queue_.empty(); });
        if (write_queue_.empty()) return;  // stopping, nothing left
      }
      batch.swap(write_queue_);
    }
    const auto busy_from = std::chrono::steady_clock::now();
    stat_operations_.fetch_add(batch.size(), std::memory_order_relaxed);
    for (WriteOp* op : batch) {
      if (!open) {
        Status b = writer_->Begin();
        if (!b.ok()) {
          finish(op, b);
          continue;
        }
        open = true;
      }
      Status e = writer_->Exec("SAVEPOINT op");
      if (e.ok()) {
        try {
          e = op->fn ? (*op->fn)(*writer_) : op->own_fn(*writer_);
        } catch (...) {
          op->error = std::current_exception();
          e = Internal("the operation threw");
        }
        if (e.ok()) {
          e = writer_->Exec("RELEASE op");
        } else {
          Status r = writer_->Exec("ROLLBACK TO op");
          if (r.ok()) r = writer_->Exec("RELEASE op");
        }
      }
      if (!e.ok()) {
        finish(op, e);
        continue;
      }
      group.push_back(op);
      if (group.size() >= kMaxGroup) commit();
    }
    batch.clear();
    bool join;  // more operations queued meanwhile join this group
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      join = !write_queue_.empty() && group.size() < kMaxGroup;
    }
    if (!join) commit();
    stat_busy_ns_.fetch_add(Nanos(std::chrono::steady_clock::now() - busy_from),
                            std::memory_order_relaxed);
  }
}

Engine::Stats Engine::stats() {
  Stats s;
  s.group_commit = writer_ != nullptr;
  s.commits = stat_commits_.load(std::memory_order_relaxed);
  s.operations = stat_operations_.load(std::memory_order_relaxed);
  s.writer_busy_s = static_cast<double>(stat_busy_ns_.load(std::memory_order_relaxed)) / 1e9;
  std::lock_guard<std::mutex> lock(ready_mu_);
  s.outbox_ready = ready_.size();
  return s;
}

internal::TxnLog Engine::NewLog() const {
  internal::TxnLog log;
  log.self_deliver = static_cast<bool>(config_.transport);
  log.record = config_.ledger != nullptr;
  log.lease_ms = config_.retry.lease_ms;
  return log;
}

void Engine::QueueCommitted(internal::TxnLog& log) {
  if (!log.sent.empty()) {
    std::lock_guard<std::mutex> lock(ready_mu_);
    for (auto& item : log.sent) ready_.push_back(std::move(item));
    log.sent.clear();
  }
  if (log.events.empty()) return;
  std::lock_guard<std::mutex> lock(record_mu_);
  if (!record_in_background_) return;  // AfterCommit records them
  for (auto& e : log.events) to_record_.push_back(std::move(e));
  log.events.clear();
  record_cv_.notify_one();
}

void Engine::AfterCommit(internal::TxnLog& log) {
  QueueCommitted(log);  // nothing left to queue when the commit queued it
  if (log.events.empty()) return;
  RecordBatch(std::move(log.events)).IgnoreError();  // left claimed: recorded at next start
  log.events.clear();
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
