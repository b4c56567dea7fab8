#include "server/users.h"

#include <cctype>

#include "base/clock.h"
#include "crypto/crypto.h"

namespace kexin::server {

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string TokenHash(std::string_view token) { return crypto::HexEncode(crypto::Sha256(token)); }

Result<NewUser> AddUser(store::Store& store, std::string_view name, Role role) {
  if (!ValidName(name)) {
    return InvalidArgument("user name \"" + std::string(name) +
                           "\": use 1-64 characters of A-Z a-z 0-9 . _ -");
  }
  KEXIN_RETURN_IF_ERROR(store.Begin());
  auto rows = store.Query("SELECT name FROM users WHERE name = $1", {std::string(name)});
  if (!rows.ok() || !rows->empty()) {
    store.Rollback().IgnoreError();
    if (!rows.ok()) return rows.status();
    return FailedPrecondition("user \"" + std::string(name) + "\" already exists");
  }
  NewUser out;
  out.user = {std::string(name), role, NowRfc3339()};
  out.token = crypto::RandomToken(32);
  Status s = store.Exec(
      "INSERT INTO users (name, role, token_hash, created) VALUES ($1, $2, $3, $4)",
      {out.user.name, std::string(RoleName(role)), TokenHash(out.token), out.user.created});
  if (!s.ok()) {
    store.Rollback().IgnoreError();
    return s;
  }
  KEXIN_RETURN_IF_ERROR(store.Commit());
  return out;
}

namespace {
User FromRow(const store::Row& r) {
  User u;
  u.name = store::AsText(r[0]);
  u.role = ParseRole(store::AsText(r[1])).value_or(Role::kAuditor);
  u.created = store::AsText(r[2]);
  return u;
}
}  // namespace

Result<std::vector<User>> ListUsers(store::Store& store) {
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         store.Query("SELECT name, role, created FROM users ORDER BY name"));
  std::vector<User> out;
  for (const auto& r : rows) out.push_back(FromRow(r));
  return out;
}

Status RemoveUser(store::Store& store, std::string_view name) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, store.Query("DELETE FROM users WHERE name = $1 RETURNING name",
                                                {std::string(name)}));
  if (rows.empty()) return NotFound("user \"" + std::string(name) + "\" does not exist");
  return Status::Ok();
}

Result<std::optional<User>> FindUserByTokenHash(store::Store& store,
                                                std::string_view token_hash) {
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         store.Query("SELECT name, role, created FROM users WHERE token_hash = $1",
                                     {std::string(token_hash)}));
  if (rows.empty()) return std::optional<User>();
  return std::optional<User>(FromRow(rows[0]));
}

}  // namespace kexin::server
