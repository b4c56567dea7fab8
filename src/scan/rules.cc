#include "scan/rules.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/file.h"
#include "scan/validators.h"

namespace kexin::scan {
namespace {

std::string Where(std::string_view source, const toml::node& n) {
  return std::string(source) + ":" + std::to_string(n.source().begin.line);
}

Status Strings(std::string_view source, const toml::node& n, std::vector<std::string>* out) {
  const toml::array* arr = n.as_array();
  if (arr == nullptr) return InvalidArgument(Where(source, n) + ": expected an array of strings");
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    if (!s) return InvalidArgument(Where(source, e) + ": expected a string");
    out->push_back(*s);
  }
  return Status::Ok();
}

Status ParseCategory(std::string_view src, const toml::table& t, Rules* rules, CategoryRule* c) {
  static const std::set<std::string, std::less<>> kKeys = {"id",
                                                           "name",
                                                           "name_zh",
                                                           "pi_category",
                                                           "sensitive",
                                                           "level",
                                                           "validator",
                                                           "pattern",
                                                           "values",
                                                           "suffixes",
                                                           "max_chars",
                                                           "weak",
                                                           "column_check",
                                                           "header_hints",
                                                           "negative_header_hints",
                                                           "min_ratio",
                                                           "hinted_min_ratio",
                                                           "confidence",
                                                           "embedded",
                                                           "counts_individuals",
                                                           "free_text"};
  for (const auto& [k, v] : t) {
    if (!kKeys.count(k.str())) {
      return InvalidArgument(Where(src, v) + ": unknown key '" + std::string(k.str()) +
                             "' in [[category]]");
    }
  }
  auto str = [&](const char* key, std::string* out) -> Status {
    if (const toml::node* n = t.get(key)) {
      auto s = n->value<std::string>();
      if (!s) return InvalidArgument(Where(src, *n) + ": '" + key + "' must be a string");
      *out = *s;
    }
    return Status::Ok();
  };
  auto boolean = [&](const char* key, bool* out) -> Status {
    if (const toml::node* n = t.get(key)) {
      auto b = n->value<bool>();
      if (!b) return InvalidArgument(Where(src, *n) + ": '" + key + "' must be true or false");
      *out = *b;
    }
    return Status::Ok();
  };
  auto ratio = [&](const char* key, double* out) -> Status {
    if (const toml::node* n = t.get(key)) {
      auto d = n->value<double>();
      if (!d || *d < 0 || *d > 1)
        return InvalidArgument(Where(src, *n) + ": '" + key + "' must be a number in [0, 1]");
      *out = *d;
    }
    return Status::Ok();
  };
  KEXIN_RETURN_IF_ERROR(str("id", &c->id));
  if (c->id.empty()) return InvalidArgument(Where(src, t) + ": [[category]] needs an 'id'");
  KEXIN_RETURN_IF_ERROR(str("name", &c->name));
  KEXIN_RETURN_IF_ERROR(str("name_zh", &c->name_zh));
  KEXIN_RETURN_IF_ERROR(str("pi_category", &c->pi_category));
  KEXIN_RETURN_IF_ERROR(str("level", &c->level));
  KEXIN_RETURN_IF_ERROR(str("validator", &c->validator));
  KEXIN_RETURN_IF_ERROR(str("pattern", &c->pattern));
  KEXIN_RETURN_IF_ERROR(str("column_check", &c->column_check));
  KEXIN_RETURN_IF_ERROR(boolean("sensitive", &c->sensitive));
  KEXIN_RETURN_IF_ERROR(boolean("weak", &c->weak));
  KEXIN_RETURN_IF_ERROR(boolean("embedded", &c->embedded));
  KEXIN_RETURN_IF_ERROR(boolean("counts_individuals", &c->counts_individuals));
  KEXIN_RETURN_IF_ERROR(boolean("free_text", &c->is_free_text));
  KEXIN_RETURN_IF_ERROR(ratio("min_ratio", &c->min_ratio));
  KEXIN_RETURN_IF_ERROR(ratio("hinted_min_ratio", &c->hinted_min_ratio));
  KEXIN_RETURN_IF_ERROR(ratio("confidence", &c->confidence));
  if (const toml::node* n = t.get("max_chars")) {
    auto i = n->value<int64_t>();
    if (!i || *i < 1 || *i > 1000)
      return InvalidArgument(Where(src, *n) + ": 'max_chars' must be 1..1000");
    c->max_chars = static_cast<uint32_t>(*i);
  }
  for (auto [key, out] : {std::pair{"values", &c->values}, std::pair{"suffixes", &c->suffixes},
                          std::pair{"header_hints", &c->header_hints},
                          std::pair{"negative_header_hints", &c->negative_header_hints}}) {
    if (const toml::node* n = t.get(key)) KEXIN_RETURN_IF_ERROR(Strings(src, *n, out));
  }
  std::string at = Where(src, t) + ": category '" + c->id + "'";
  if (c->level.empty() || rules->LevelRank(c->level) < 0) {
    return InvalidArgument(at + ": level '" + c->level + "' is not one of [levels].order");
  }
  if (!c->validator.empty() && FindValidator(c->validator) == nullptr) {
    std::string known;
    for (const auto& v : BuiltinValidators())
      known += (known.empty() ? "" : ", ") + std::string(v.name);
    return InvalidArgument(at + ": unknown validator '" + c->validator + "' (known: " + known +
                           ")");
  }
  if (c->column_check != "" && c->column_check != "birth_years") {
    return InvalidArgument(at + ": unknown column_check '" + c->column_check +
                           "' (known: birth_years)");
  }
  bool matcher =
      !c->validator.empty() || !c->pattern.empty() || !c->values.empty() || !c->suffixes.empty();
  if (!matcher && !c->is_free_text) {
    return InvalidArgument(at + ": needs a validator, pattern, values or suffixes");
  }
  if (c->embedded && c->pattern.empty())
    return InvalidArgument(at + ": 'embedded' needs a 'pattern'");
  for (auto& h : c->header_hints) {
    for (auto& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  for (auto& h : c->negative_header_hints) {
    for (auto& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return Status::Ok();
}

}  // namespace

int Rules::LevelRank(std::string_view level) const {
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] == level) return static_cast<int>(i);
  }
  return -1;
}

const CategoryRule* Rules::Find(std::string_view id) const {
  for (const auto& c : categories) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Result<Rules> ParseRules(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(std::string(source) + ":" + std::to_string(e.source().begin.line) +
                           ": " + std::string(e.description()));
  }
  // Every key outside [[category]] is known and has the right type: a typo must not silently
  // fall back to a default.
  static const std::map<std::string, std::map<std::string, toml::node_type, std::less<>>,
                        std::less<>>
      kSections = {
          {"levels", {{"order", toml::node_type::array}, {"no_pi", toml::node_type::string}}},
          {"grading",
           {{"important_individuals", toml::node_type::integer},
            {"important_sensitive_individuals", toml::node_type::integer},
            {"important_level", toml::node_type::string}}},
          {"free_text",
           {{"min_bytes", toml::node_type::integer},
            {"min_ratio", toml::node_type::floating_point},
            {"min_token", toml::node_type::integer}}},
          {"sample", {{"rows", toml::node_type::integer}}}};
  for (const auto& [k, v] : root) {
    std::string key(k.str());
    if (key == "version" || key == "category") continue;
    auto sec = kSections.find(key);
    if (sec == kSections.end())
      return InvalidArgument(Where(source, v) + ": unknown key or section '" + key + "'");
    const toml::table* t = v.as_table();
    if (t == nullptr)
      return InvalidArgument(Where(source, v) + ": '" + key + "' must be a section [" + key + "]");
    for (const auto& [k2, v2] : *t) {
      auto field = sec->second.find(k2.str());
      if (field == sec->second.end()) {
        return InvalidArgument(Where(source, v2) + ": unknown key '" + std::string(k2.str()) +
                               "' in [" + key + "]");
      }
      bool ok = v2.type() == field->second || (field->second == toml::node_type::floating_point &&
                                               v2.type() == toml::node_type::integer);
      if (!ok)
        return InvalidArgument(Where(source, v2) + ": [" + key + "]." + std::string(k2.str()) +
                               " has the wrong type");
      if (v2.is_integer() && *v2.value<int64_t>() < 0) {
        return InvalidArgument(Where(source, v2) + ": [" + key + "]." + std::string(k2.str()) +
                               " must not be negative");
      }
    }
  }
  Rules r;
  r.source = std::string(source);
  if (const toml::node* v = root.get("version"); v != nullptr && !v->is_integer()) {
    return InvalidArgument(Where(source, *v) + ": 'version' must be an integer");
  }
  r.version = root["version"].value_or(1);
  if (r.version != 1)
    return InvalidArgument(std::string(source) + ": unsupported rules version " +
                           std::to_string(r.version));
  if (const toml::node* n = root["levels"]["order"].node()) {
    KEXIN_RETURN_IF_ERROR(Strings(source, *n, &r.levels));
  }
  if (r.levels.empty())
    return InvalidArgument(std::string(source) + ": [levels].order is missing or empty");
  r.no_pi_level = root["levels"]["no_pi"].value_or(r.levels.front());
  if (r.LevelRank(r.no_pi_level) < 0)
    return InvalidArgument(std::string(source) + ": [levels].no_pi is not in order");
  r.important_individuals = root["grading"]["important_individuals"].value_or(int64_t{1000000});
  r.important_sensitive_individuals =
      root["grading"]["important_sensitive_individuals"].value_or(int64_t{100000});
  r.important_level = root["grading"]["important_level"].value_or(std::string("important"));
  // Without an explicit setting, a level list lacking "important" simply disables escalation.
  if (!root["grading"]["important_level"] && r.LevelRank(r.important_level) < 0)
    r.important_level.clear();
  if (!r.important_level.empty() && r.LevelRank(r.important_level) < 0)
    return InvalidArgument(std::string(source) +
                           ": [grading].important_level is not in [levels].order");
  r.free_text_min_bytes =
      static_cast<uint32_t>(root["free_text"]["min_bytes"].value_or(int64_t{16}));
  r.free_text_min_ratio = root["free_text"]["min_ratio"].value_or(0.05);
  r.free_text_min_token =
      static_cast<uint32_t>(root["free_text"]["min_token"].value_or(int64_t{6}));
  if (r.free_text_min_ratio < 0 || r.free_text_min_ratio > 1)
    return InvalidArgument(std::string(source) + ": [free_text].min_ratio must be in [0, 1]");
  r.sample_rows = static_cast<uint64_t>(root["sample"]["rows"].value_or(int64_t{10000}));
  const toml::array* cats = root["category"].as_array();
  if (cats == nullptr || cats->empty())
    return InvalidArgument(std::string(source) + ": no [[category]] entries");
  std::set<std::string> ids;
  for (const auto& node : *cats) {
    const toml::table* t = node.as_table();
    if (t == nullptr)
      return InvalidArgument(Where(source, node) + ": [[category]] must be a table");
    CategoryRule c;
    KEXIN_RETURN_IF_ERROR(ParseCategory(source, *t, &r, &c));
    if (!ids.insert(c.id).second)
      return InvalidArgument(Where(source, node) + ": duplicate category id '" + c.id + "'");
    r.categories.push_back(std::move(c));
  }
  if (r.categories.size() > 63)
    return InvalidArgument(std::string(source) + ": at most 63 categories are supported");
  return r;
}

Result<Rules> LoadRulesFile(const std::string& path) {
  KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseRules(text, path);
}

Result<Rules> DefaultRules() { return ParseRules(DefaultRulesText(), "built-in rules"); }

}  // namespace kexin::scan
