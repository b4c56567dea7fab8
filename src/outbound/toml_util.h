// Module-private helpers for the outbound module's TOML files (handler and negative lists): every
// error names the file and line. Thread-safety: pure functions.
#ifndef KEXIN_OUTBOUND_TOML_UTIL_H_
#define KEXIN_OUTBOUND_TOML_UTIL_H_

#include <toml++/toml.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"

namespace kexin::outbound::internal {

inline std::string Where(std::string_view source, const toml::node& n) {
  return std::string(source) + ":" + std::to_string(n.source().begin.line);
}

inline Result<toml::table> ParseToml(std::string_view text, std::string_view source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return DataError(std::string(source) + ":" + std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description()));
  }
}

// Every key of `t` must be in `keys` (a typo must not silently fall back to a default).
inline Status CheckTableKeys(const toml::table& t, std::string_view source, std::string_view what,
                             const std::set<std::string>& keys) {
  for (const auto& [k, v] : t) {
    if (keys.count(std::string(k.str())) == 0) {
      return DataError(Where(source, v) + ": unknown key '" + std::string(k.str()) + "' in " +
                       std::string(what));
    }
  }
  return Status::Ok();
}

// Top-level sections and their keys.
inline Status CheckKeys(const toml::table& root, std::string_view source,
                        const std::map<std::string, std::set<std::string>, std::less<>>& sections) {
  for (const auto& [k, v] : root) {
    auto it = sections.find(k.str());
    if (it == sections.end()) {
      return DataError(Where(source, v) + ": unknown section '" + std::string(k.str()) + "'");
    }
    const toml::table* t = v.as_table();
    if (t == nullptr) {
      return DataError(Where(source, v) + ": '" + std::string(k.str()) + "' must be a section [" +
                       std::string(k.str()) + "]");
    }
    std::string what = std::string("[").append(k.str()).append("]");
    KEXIN_RETURN_IF_ERROR(CheckTableKeys(*t, source, what, it->second));
  }
  return Status::Ok();
}

inline Status GetString(const toml::table& t, std::string_view source, std::string_view section,
                        std::string_view key, bool required, std::string* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (required) {
      return DataError(Where(source, t) + ": " + std::string(section) + "." + std::string(key) +
                       " is required");
    }
    return Status::Ok();
  }
  auto v = n->value<std::string>();
  if (!v || !n->is_string()) {
    return DataError(Where(source, *n) + ": " + std::string(section) + "." + std::string(key) +
                     " must be a string");
  }
  if (required && v->empty()) {
    return DataError(Where(source, *n) + ": " + std::string(section) + "." + std::string(key) +
                     " must not be empty");
  }
  *out = *v;
  return Status::Ok();
}

inline Status GetBool(const toml::table& t, std::string_view source, std::string_view section,
                      std::string_view key, bool* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::Ok();
  if (!n->is_boolean()) {
    return DataError(Where(source, *n) + ": " + std::string(section) + "." + std::string(key) +
                     " must be true or false");
  }
  *out = *n->value<bool>();
  return Status::Ok();
}

// A count of people: a non-negative TOML integer. Strings ("12k"), floats and negative numbers
// are errors naming the line.
inline Status GetCount(const toml::table& t, std::string_view source, std::string_view section,
                       std::string_view key, uint64_t* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::Ok();
  std::string name = std::string(section) + "." + std::string(key);
  if (!n->is_integer()) {
    std::string got = n->is_string()           ? "the string \"" + *n->value<std::string>() + "\""
                      : n->is_floating_point() ? "a decimal number"
                      : n->is_boolean()        ? "a boolean"
                                               : "a table or array";
    return DataError(Where(source, *n) + ": " + name + " must be a non-negative integer, got " +
                     got);
  }
  int64_t v = *n->value<int64_t>();
  if (v < 0) {
    return DataError(Where(source, *n) + ": " + name + " must not be negative, got " +
                     std::to_string(v));
  }
  *out = static_cast<uint64_t>(v);
  return Status::Ok();
}

inline Status GetStrings(const toml::table& t, std::string_view source, std::string_view key,
                         std::vector<std::string>* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::Ok();
  const toml::array* arr = n->as_array();
  if (arr == nullptr) {
    return DataError(Where(source, *n) + ": " + std::string(key) + " must be an array of strings");
  }
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    if (!s || !e.is_string()) {
      return DataError(Where(source, e) + ": " + std::string(key) + " must hold strings");
    }
    out->push_back(*s);
  }
  return Status::Ok();
}

}  // namespace kexin::outbound::internal

#endif  // KEXIN_OUTBOUND_TOML_UTIL_H_
