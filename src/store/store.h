// Module `store`: kexin's persistence through one interface with two real backends.
//
// SQLite (default, embedded; WAL, synchronous=FULL) and PostgreSQL (libpq) both implement Store.
// kexin writes SQL in their common subset with $1..$N placeholders (translated to ?N for SQLite);
// values are NULL, 64-bit integers or text (hashes and keys are stored as hex text, so both
// backends hold byte-identical data). Schema changes are numbered migrations applied in order in a
// transaction (Migrate). URLs: "sqlite:/path/to/node.db" or "postgresql://user@host:port/db".
// SQLite connections write their WAL through the batching VFS of sqlite_vfs.h.
//
// Thread-safety: a Store is used by one thread at a time (the ledger's committer owns its own);
// open one Store per thread when needed.
#ifndef KEXIN_STORE_STORE_H_
#define KEXIN_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kexin/status.h"

namespace kexin::store {

using Value = std::variant<std::monostate, int64_t, std::string>;
using Row = std::vector<Value>;

inline int64_t AsInt(const Value& v) {
  return std::holds_alternative<int64_t>(v) ? std::get<int64_t>(v) : 0;
}
inline const std::string& AsText(const Value& v) {
  static const std::string kEmpty;
  return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : kEmpty;
}

struct Migration {
  int version;
  std::string sql;  // one or more statements separated by ';'
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& url);
  virtual ~Store() = default;

  virtual std::string_view backend() const = 0;  // "sqlite" or "postgresql"
  // Runs one statement; returns rows for queries (empty otherwise).
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         const std::vector<Value>& params = {}) = 0;
  Status Exec(std::string_view sql, const std::vector<Value>& params = {}) {
    auto r = Query(sql, params);
    return r.ok() ? Status::Ok() : r.status();
  }
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;  // durable when it returns OK
  virtual Status Rollback() = 0;

  // Applies the migrations newer than the stored schema version, each in its own transaction.
  Status Migrate(const std::vector<Migration>& migrations);
  Result<int> SchemaVersion();
};

// kexin's schema, shared by both backends.
const std::vector<Migration>& KexinMigrations();

}  // namespace kexin::store

#endif  // KEXIN_STORE_STORE_H_
