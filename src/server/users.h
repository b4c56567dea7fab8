// Module `server` (users): API users, their roles and hashed tokens (table `users`, migration 3).
//
// A token is 32 random bytes in lowercase hex, shown once by AddUser; only its SHA-256 (hex) is
// stored. The server looks tokens up through auth.h, which caches them briefly.
// Thread-safety: functions use the Store they are given (one thread at a time, store.h).
#ifndef KEXIN_SERVER_USERS_H_
#define KEXIN_SERVER_USERS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"
#include "server/api.h"
#include "store/store.h"

namespace kexin::server {

struct User {
  std::string name;
  Role role = Role::kAuditor;
  std::string created;  // RFC 3339 UTC
};

struct NewUser {
  User user;
  std::string token;  // shown once, never stored
};

// Names: 1-64 characters of [A-Za-z0-9._-]. kInvalidArgument for a bad name,
// kFailedPrecondition when the name is taken.
Result<NewUser> AddUser(store::Store& store, std::string_view name, Role role);
Result<std::vector<User>> ListUsers(store::Store& store);
Status RemoveUser(store::Store& store, std::string_view name);  // kNotFound names the user
// The user whose token hashes to `token_hash` (lowercase hex SHA-256), if any.
Result<std::optional<User>> FindUserByTokenHash(store::Store& store, std::string_view token_hash);
std::string TokenHash(std::string_view token);
bool ValidName(std::string_view name);

}  // namespace kexin::server

#endif  // KEXIN_SERVER_USERS_H_
