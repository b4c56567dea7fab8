// PostgreSQL backend (libpq). Values travel as text parameters; a COMMIT returns after the server
// has flushed its WAL (synchronous_commit defaults to on).
#include <libpq-fe.h>

#include "store/store.h"

namespace kexin::store {
namespace {

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PGconn* c) : conn_(c) {}
  ~PostgresStore() override { PQfinish(conn_); }
  std::string_view backend() const override { return "postgresql"; }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      if (std::holds_alternative<int64_t>(params[i])) {
        text[i] = std::to_string(std::get<int64_t>(params[i]));
        values[i] = text[i].c_str();
      } else if (std::holds_alternative<std::string>(params[i])) {
        values[i] = std::get<std::string>(params[i]).c_str();
      } else {
        values[i] = nullptr;
      }
    }
    std::string q(sql);
    PGresult* res = PQexecParams(conn_, q.c_str(), static_cast<int>(params.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      const char* field = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      std::string state = field ? field : "";  // copied: PQclear frees it
      std::string m = std::string("postgresql: ") + PQresultErrorMessage(res);
      while (!m.empty() && m.back() == '\n') m.pop_back();
      PQclear(res);
      if (state.rfind("23", 0) == 0) return FailedPrecondition(m);
      if (PQstatus(conn_) != CONNECTION_OK) return IoError(m);
      return Internal(m);
    }
    std::vector<Row> rows;
    int n = PQntuples(res), cols = PQnfields(res);
    for (int r = 0; r < n; ++r) {
      Row row(static_cast<size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res, r, c)) continue;
        std::string v(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
        Oid type = PQftype(res, c);
        if (type == 20 || type == 23 || type == 21) {  // int8, int4, int2
          row[static_cast<size_t>(c)] = static_cast<int64_t>(std::stoll(v));
        } else {
          row[static_cast<size_t>(c)] = std::move(v);
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }

  Status Begin() override { return Exec("BEGIN"); }
  // COMMIT of a transaction in which a statement failed succeeds with the command tag ROLLBACK:
  // the writes are gone, so report it instead of an OK that would claim durability.
  Status Commit() override {
    PGresult* res = PQexec(conn_, "COMMIT");
    ExecStatusType st = PQresultStatus(res);
    std::string tag = st == PGRES_COMMAND_OK ? PQcmdStatus(res) : "";
    std::string m = std::string("postgresql: ") + PQresultErrorMessage(res);
    PQclear(res);
    while (!m.empty() && m.back() == '\n') m.pop_back();
    if (st != PGRES_COMMAND_OK) {
      return PQstatus(conn_) != CONNECTION_OK ? IoError(m) : Internal(m);
    }
    if (tag != "COMMIT") {
      return FailedPrecondition(
          "postgresql: COMMIT rolled the transaction back (a statement in it failed)");
    }
    return Status::Ok();
  }
  Status Rollback() override { return Exec("ROLLBACK"); }

 private:
  PGconn* conn_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgres(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = std::string("postgresql: ") + PQerrorMessage(c);
    while (!m.empty() && m.back() == '\n') m.pop_back();
    PQfinish(c);
    return IoError(m);
  }
  auto s = std::make_unique<PostgresStore>(c);
  KEXIN_RETURN_IF_ERROR(s->Exec("SET client_min_messages TO warning"));
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace kexin::store
