// SQLite backend: WAL journal, synchronous=FULL so a COMMIT is on disk when it returns.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <unordered_map>

#include "store/sqlite_vfs.h"
#include "store/store.h"

namespace kexin::store {
namespace {

// $N placeholders -> ?N (SQLite's numbered parameters). A '$' inside a quoted string literal or
// identifier, or not followed by a digit, is left alone.
std::string Translate(std::string_view sql) {
  std::string out(sql);
  char quote = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    if (quote != 0) {
      if (c == quote) quote = 0;  // a doubled quote reopens at the next character
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '$' && i + 1 < out.size() && out[i + 1] >= '0' && out[i + 1] <= '9') {
      out[i] = '?';
    }
  }
  return out;
}

// Writers to one database file in this process take turns here. SQLite lets one transaction write
// at a time and makes the others poll with growing sleeps (its busy handler, up to 100 ms a
// nap); waiting on a condition variable instead wakes the next writer the moment the file is
// free. Other processes still meet SQLite's busy handler. The gate is not tied to a thread: a
// transaction begun on one thread may be committed on another (the contract engine's group
// commit).
class WriteGate {
 public:
  // The gate of the database file at `path` (shared by every connection to it in this process).
  static std::shared_ptr<WriteGate> For(const std::string& path) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<WriteGate>> gates;
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = gates.begin(); it != gates.end();) {  // forget closed files
      it = it->second.expired() ? gates.erase(it) : std::next(it);
    }
    auto& slot = gates[path];
    auto gate = slot.lock();
    if (!gate) {
      gate = std::make_shared<WriteGate>();
      slot = gate;
    }
    return gate;
  }
  bool Acquire(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !held_; })) return false;
    held_ = true;
    return true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
};

constexpr int kBusyTimeoutMs = 10000;

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {
    const char* file = sqlite3_db_filename(db_, "main");
    if (file != nullptr && *file != '\0') gate_ = WriteGate::For(file);  // none for :memory:
  }
  ~SqliteStore() override {
    for (auto& [k, st] : cache_) sqlite3_finalize(st);
    sqlite3_close(db_);
    ReleaseGate();
  }
  std::string_view backend() const override { return "sqlite"; }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    sqlite3_stmt* st = nullptr;
    auto it = cache_.find(std::string(sql));
    if (it != cache_.end()) {
      st = it->second;
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
    } else {
      std::string t = Translate(sql);
      if (sqlite3_prepare_v2(db_, t.c_str(), static_cast<int>(t.size()), &st, nullptr) !=
          SQLITE_OK) {
        return Error("prepare");
      }
      cache_.emplace(std::string(sql), st);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const Value& v = params[i];
      if (std::holds_alternative<int64_t>(v)) {
        sqlite3_bind_int64(st, idx, std::get<int64_t>(v));
      } else if (std::holds_alternative<std::string>(v)) {
        const auto& s = std::get<std::string>(v);
        // Not copied: `params` outlives the steps below, and the bindings are cleared before
        // the statement's next use.
        sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
      } else {
        sqlite3_bind_null(st, idx);
      }
    }
    std::vector<Row> rows;
    while (true) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Status s = Error("step");
        sqlite3_reset(st);
        return s;
      }
      int n = sqlite3_column_count(st);
      Row row(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_INTEGER:
            row[static_cast<size_t>(c)] = static_cast<int64_t>(sqlite3_column_int64(st, c));
            break;
          case SQLITE_NULL:
            break;
          default:
            row[static_cast<size_t>(c)] =
                std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                            static_cast<size_t>(sqlite3_column_bytes(st, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(st);
    return rows;
  }

  Status Begin() override {
    const bool acquire = gate_ && !gate_held_;  // held: BEGIN inside a transaction fails below
    if (acquire) {
      if (!gate_->Acquire(std::chrono::milliseconds(kBusyTimeoutMs))) {
        return Internal(path_ +
                        ": sqlite BEGIN: database is locked (another transaction of this "
                        "process has held it for " +
                        std::to_string(kBusyTimeoutMs / 1000) + " s)");
      }
      gate_held_ = true;
    }
    Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok() && acquire) ReleaseGate();
    return s;
  }
  Status Commit() override {
    Status s = Exec("COMMIT");
    // A failed COMMIT may leave the transaction open (busy) or have rolled it back (I/O error).
    if (s.ok() || sqlite3_get_autocommit(db_) != 0) ReleaseGate();
    return s;
  }
  Status Rollback() override {
    Status s = Exec("ROLLBACK");
    ReleaseGate();
    return s;
  }

 private:
  void ReleaseGate() {
    if (gate_held_) {
      gate_held_ = false;
      gate_->Release();
    }
  }
  Status Error(const char* what) {
    int code = sqlite3_errcode(db_);
    std::string m = path_ + ": sqlite " + what + ": " + sqlite3_errmsg(db_);
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return Corruption(m);
    if (code == SQLITE_CONSTRAINT) return FailedPrecondition(m);
    if (code == SQLITE_IOERR || code == SQLITE_FULL) return IoError(m);
    return Internal(m);
  }
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  std::shared_ptr<WriteGate> gate_;
  bool gate_held_ = false;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path) {
  // WAL frames are written in batches (sqlite_vfs.h), which relies on every commit syncing:
  // kexin never lowers synchronous=FULL.
  // Before SQLite initialises (the VFS lookup below would): no global memory statistics, which
  // kexin never reads and which cost a process-wide mutex on every allocation of every connection.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           BatchedWalVfs());
  if (rc != SQLITE_OK) {
    std::string m = path + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return IoError(m);
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  auto store = std::make_unique<SqliteStore>(db, path);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
        // Statement and savepoint journals (the contract engine's group commit puts each
        // operation in a savepoint) stay in memory instead of spilling to a temp file page by
        // page: they only matter until the transaction ends, and the WAL holds what commits.
        "PRAGMA temp_store=MEMORY"}) {
    auto r = store->Query(pragma, {});
    if (!r.ok()) return r.status();
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace kexin::store
