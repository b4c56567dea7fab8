#include "deid/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cmath>
#include <filesystem>

#include "base/file.h"

namespace kexin::deid {

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kDirect:
      return "direct";
    case Role::kQuasi:
      return "quasi";
    case Role::kSensitive:
      return "sensitive";
    case Role::kInsensitive:
      return "insensitive";
  }
  return "?";
}

namespace {

Status KeyError(const std::string& name, const std::string& key, const std::string& what) {
  return InvalidArgument(fmt::format("{}: {}: {}", name, key, what));
}

// Reads an optional number (integer or float) at `key` of `t`.
Result<std::optional<double>> Number(const toml::table& t, std::string_view key,
                                     const std::string& name, const std::string& path) {
  const toml::node* n = t.get(key);
  if (!n) return std::optional<double>();
  if (auto i = n->value<int64_t>(); i && n->is_integer()) return std::optional<double>(double(*i));
  if (auto f = n->value<double>(); f && n->is_floating_point()) return std::optional<double>(*f);
  return KeyError(name, path + std::string(key), "must be a number");
}

Result<std::optional<std::string>> String(const toml::table& t, std::string_view key,
                                          const std::string& name, const std::string& path) {
  const toml::node* n = t.get(key);
  if (!n) return std::optional<std::string>();
  if (!n->is_string()) return KeyError(name, path + std::string(key), "must be a string");
  return std::optional<std::string>(*n->value<std::string>());
}

Status CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 const std::string& name, const std::string& path) {
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (auto a : allowed) ok |= k.str() == a;
    if (!ok) return KeyError(name, path + std::string(k.str()), "unknown key");
  }
  return Status::Ok();
}

Status ParseColumn(const toml::table& t, const std::string& name, const std::string& path,
                   ColumnConfig* c) {
  KEXIN_RETURN_IF_ERROR(
      CheckKeys(t,
                {"role", "operator", "hierarchy", "widths", "origin", "keep_prefix", "keep_suffix",
                 "mask_char", "replacement", "top", "bottom"},
                name, path));
  KEXIN_ASSIGN_OR_RETURN(auto role, String(t, "role", name, path));
  if (!role)
    return KeyError(name, path + "role", "missing (direct, quasi, sensitive, insensitive)");
  if (*role == "direct")
    c->role = Role::kDirect;
  else if (*role == "quasi")
    c->role = Role::kQuasi;
  else if (*role == "sensitive")
    c->role = Role::kSensitive;
  else if (*role == "insensitive")
    c->role = Role::kInsensitive;
  else
    return KeyError(
        name, path + "role",
        fmt::format("unknown role \"{}\" (direct, quasi, sensitive, insensitive)", *role));
  KEXIN_ASSIGN_OR_RETURN(auto op, String(t, "operator", name, path));
  if (op) {
    auto k = ParseOperator(*op);
    if (!k.ok()) return KeyError(name, path + "operator", k.status().message());
    c->op.kind = *k;
  } else if (c->role == Role::kDirect) {
    c->op.kind = OperatorKind::kMask;
  }
  if (c->role == Role::kSensitive && c->op.kind != OperatorKind::kKeep) {
    return KeyError(name, path + "operator",
                    "sensitive attributes are kept for l-diversity and t-closeness; give the "
                    "column role \"direct\" or \"insensitive\" to transform it");
  }
  if (c->role == Role::kQuasi && c->op.kind != OperatorKind::kKeep) {
    return KeyError(name, path + "operator",
                    "quasi-identifiers are generalized by their hierarchy, not by an operator");
  }
  KEXIN_ASSIGN_OR_RETURN(auto h, String(t, "hierarchy", name, path));
  if (h) c->hierarchy = *h;
  if (c->role == Role::kQuasi && c->hierarchy.empty()) {
    return KeyError(name, path + "hierarchy",
                    "missing: a quasi-identifier needs a hierarchy (a CSV file or builtin:date, "
                    "builtin:interval, builtin:region, builtin:address, builtin:flat)");
  }
  if (const toml::node* w = t.get("widths")) {
    const toml::array* arr = w->as_array();
    if (!arr) return KeyError(name, path + "widths", "must be an array of numbers");
    for (const auto& x : *arr) {
      auto v = x.value<double>();
      if (!v) return KeyError(name, path + "widths", "must be an array of numbers");
      c->widths.push_back(*v);
    }
  }
  KEXIN_ASSIGN_OR_RETURN(auto origin, Number(t, "origin", name, path));
  if (origin) c->origin = *origin;
  KEXIN_ASSIGN_OR_RETURN(auto kp, Number(t, "keep_prefix", name, path));
  KEXIN_ASSIGN_OR_RETURN(auto ks, Number(t, "keep_suffix", name, path));
  for (auto [v, key] : {std::pair{kp, "keep_prefix"}, std::pair{ks, "keep_suffix"}}) {
    if (v && (*v < 0 || *v > 1000 || *v != std::floor(*v))) {
      return KeyError(name, path + key, "must be a whole number from 0 to 1000");
    }
  }
  if (kp) c->op.keep_prefix = static_cast<int>(*kp);
  if (ks) c->op.keep_suffix = static_cast<int>(*ks);
  KEXIN_ASSIGN_OR_RETURN(auto mc, String(t, "mask_char", name, path));
  if (mc) c->op.mask_char = *mc;
  KEXIN_ASSIGN_OR_RETURN(auto rep, String(t, "replacement", name, path));
  if (rep) c->op.replacement = *rep;
  KEXIN_ASSIGN_OR_RETURN(auto top, Number(t, "top", name, path));
  KEXIN_ASSIGN_OR_RETURN(auto bottom, Number(t, "bottom", name, path));
  c->op.top = top;
  c->op.bottom = bottom;
  return Status::Ok();
}

}  // namespace

Result<DeidConfig> ParseDeidConfig(std::string_view text, const std::string& name,
                                   const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(fmt::format("{}:{}: {}", name, e.source().begin.line, e.description()));
  }
  DeidConfig cfg;
  cfg.base_dir = base_dir;
  KEXIN_RETURN_IF_ERROR(CheckKeys(root, {"privacy", "risk", "key", "columns"}, name, ""));
  if (const toml::table* p = root["privacy"].as_table()) {
    const std::string path = "privacy.";
    KEXIN_RETURN_IF_ERROR(CheckKeys(*p,
                                    {"k", "l", "diversity", "c", "t", "closeness",
                                     "max_suppression", "metric", "suppressed_rows"},
                                    name, path));
    KEXIN_ASSIGN_OR_RETURN(auto k, Number(*p, "k", name, path));
    if (k) {
      if (*k < 1 || *k != static_cast<double>(static_cast<uint64_t>(*k))) {
        return KeyError(name, path + "k", "must be a whole number of at least 1");
      }
      cfg.model.k = static_cast<uint64_t>(*k);
      cfg.model_given = true;
    }
    KEXIN_ASSIGN_OR_RETURN(auto l, Number(*p, "l", name, path));
    if (l) {
      if (*l < 1) return KeyError(name, path + "l", "must be at least 1");
      cfg.model.l = *l;
      cfg.model.diversity = Diversity::kDistinct;
      cfg.model_given = true;
    }
    KEXIN_ASSIGN_OR_RETURN(auto div, String(*p, "diversity", name, path));
    if (div) {
      if (*div == "distinct")
        cfg.model.diversity = Diversity::kDistinct;
      else if (*div == "entropy")
        cfg.model.diversity = Diversity::kEntropy;
      else if (*div == "recursive")
        cfg.model.diversity = Diversity::kRecursive;
      else
        return KeyError(name, path + "diversity", "must be distinct, entropy or recursive");
      if (!l) return KeyError(name, path + "l", "missing: diversity needs l");
    }
    KEXIN_ASSIGN_OR_RETURN(auto c, Number(*p, "c", name, path));
    if (c) cfg.model.c = *c;
    KEXIN_ASSIGN_OR_RETURN(auto t, Number(*p, "t", name, path));
    if (t) {
      cfg.model.t = *t;
      cfg.model.closeness = Closeness::kEqual;
      cfg.model_given = true;
    }
    KEXIN_ASSIGN_OR_RETURN(auto cl, String(*p, "closeness", name, path));
    if (cl) {
      if (*cl == "equal")
        cfg.model.closeness = Closeness::kEqual;
      else if (*cl == "hierarchical")
        cfg.model.closeness = Closeness::kHierarchical;
      else
        return KeyError(name, path + "closeness", "must be equal or hierarchical");
      if (!t) return KeyError(name, path + "t", "missing: closeness needs t");
    }
    KEXIN_ASSIGN_OR_RETURN(auto ms, Number(*p, "max_suppression", name, path));
    if (ms) {
      if (*ms < 0 || *ms > 1)
        return KeyError(name, path + "max_suppression", "must be between 0 and 1");
      cfg.model.max_suppression = *ms;
    }
    KEXIN_ASSIGN_OR_RETURN(auto metric, String(*p, "metric", name, path));
    if (metric) {
      if (*metric == "loss")
        cfg.metric = Metric::kLoss;
      else if (*metric == "discernibility")
        cfg.metric = Metric::kDiscernibility;
      else if (*metric == "precision")
        cfg.metric = Metric::kPrecision;
      else
        return KeyError(name, path + "metric", "must be loss, discernibility or precision");
    }
    KEXIN_ASSIGN_OR_RETURN(auto sr, String(*p, "suppressed_rows", name, path));
    if (sr) {
      if (*sr == "mask")
        cfg.suppressed_rows = SuppressedRows::kMask;
      else if (*sr == "remove")
        cfg.suppressed_rows = SuppressedRows::kRemove;
      else
        return KeyError(name, path + "suppressed_rows", "must be mask or remove");
    }
  }
  if (const toml::table* r = root["risk"].as_table()) {
    KEXIN_RETURN_IF_ERROR(CheckKeys(*r, {"population", "threshold"}, name, "risk."));
    KEXIN_ASSIGN_OR_RETURN(auto pop, Number(*r, "population", name, "risk."));
    if (pop) {
      if (*pop < 1) return KeyError(name, "risk.population", "must be at least 1");
      cfg.population = *pop;
    }
    KEXIN_ASSIGN_OR_RETURN(auto th, Number(*r, "threshold", name, "risk."));
    if (th) {
      if (*th <= 0 || *th > 1) return KeyError(name, "risk.threshold", "must be in (0, 1]");
      cfg.risk_threshold = *th;
    }
  }
  if (const toml::table* k = root["key"].as_table()) {
    KEXIN_RETURN_IF_ERROR(CheckKeys(*k, {"file", "env", "hash"}, name, "key."));
    KEXIN_ASSIGN_OR_RETURN(auto file, String(*k, "file", name, "key."));
    KEXIN_ASSIGN_OR_RETURN(auto env, String(*k, "env", name, "key."));
    if (file) {
      std::filesystem::path p(*file);
      cfg.key_file = p.is_absolute() ? *file : (std::filesystem::path(base_dir) / p).string();
    }
    cfg.key_env = env;
    KEXIN_ASSIGN_OR_RETURN(auto hash, String(*k, "hash", name, "key."));
    if (hash) {
      if (*hash == "hmac-sha256")
        cfg.hash = KeyedHash::kHmacSha256;
      else if (*hash == "blake2b")
        cfg.hash = KeyedHash::kBlake2b;
      else
        return KeyError(name, "key.hash", "must be hmac-sha256 or blake2b");
    }
  }
  if (const toml::node* cols = root.get("columns")) {
    const toml::table* t = cols->as_table();
    if (!t) return KeyError(name, "columns", "must be a table of columns");
    for (const auto& [col, v] : *t) {
      const toml::table* ct = v.as_table();
      std::string path = "columns." + std::string(col.str()) + ".";
      if (!ct) return KeyError(name, path.substr(0, path.size() - 1), "must be a table");
      ColumnConfig c;
      KEXIN_RETURN_IF_ERROR(ParseColumn(*ct, name, path, &c));
      cfg.columns.emplace(std::string(col.str()), std::move(c));
    }
  }
  for (auto& [col, c] : cfg.columns) c.op.hash = cfg.hash;
  return cfg;
}

Result<DeidConfig> LoadDeidConfig(const std::string& path) {
  KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::string dir = std::filesystem::path(path).parent_path().string();
  return ParseDeidConfig(text, path, dir.empty() ? "." : dir);
}

std::optional<ColumnConfig> RoleForCategory(std::string_view category, bool have_key) {
  ColumnConfig c;
  c.source = fmt::format("scan ({})", category);
  static const std::vector<std::string_view> kDirect = {
      "id_card_cn",      "mobile_cn",   "landline_cn",      "email", "bank_card",  "passport_cn",
      "hk_macau_permit", "person_name", "license_plate_cn", "vin",   "ip_address", "mac_address"};
  for (auto d : kDirect) {
    if (category == d) {
      c.role = Role::kDirect;
      // Names are masked ("张**"); pseudonyms of names add nothing a join needs.
      c.op.kind =
          have_key && category != "person_name" ? OperatorKind::kPseudonymize : OperatorKind::kMask;
      return c;
    }
  }
  if (category == "free_text_with_pii") {
    c.role = Role::kDirect;
    c.op.kind = OperatorKind::kRedact;
    return c;
  }
  if (category == "birth_date") {
    c.role = Role::kQuasi;
    c.hierarchy = "builtin:date";
    return c;
  }
  if (category == "address_cn") {
    c.role = Role::kQuasi;
    c.hierarchy = "builtin:address";
    return c;
  }
  if (category == "gender" || category == "ethnicity") {
    c.role = Role::kQuasi;
    c.hierarchy = "builtin:flat";
    return c;
  }
  if (category == "medical_condition" || category == "religion") {
    c.role = Role::kSensitive;
    return c;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Hierarchy>> MakeHierarchy(const ColumnConfig& c, const std::string& base_dir,
                                                 const std::string& column) {
  const std::string& h = c.hierarchy;
  if (h == "builtin:date") return DateHierarchy();
  if (h == "builtin:region") return RegionCodeHierarchy();
  if (h == "builtin:address") return AddressHierarchy();
  if (h == "builtin:flat") return FlatHierarchy();
  if (h == "builtin:interval") {
    std::vector<double> widths = c.widths.empty() ? std::vector<double>{5, 10, 20} : c.widths;
    auto r = IntervalHierarchy(widths, c.origin);
    if (!r.ok()) return r.status().WithContext("column " + column);
    return r;
  }
  if (h.rfind("builtin:", 0) == 0) {
    return InvalidArgument(fmt::format(
        "column {}: unknown hierarchy \"{}\" (builtin:date, builtin:interval, builtin:region, "
        "builtin:address, builtin:flat, or a CSV file)",
        column, h));
  }
  std::filesystem::path p(h);
  std::string path = p.is_absolute() ? h : (std::filesystem::path(base_dir) / p).string();
  auto r = LoadHierarchyCsv(path);
  if (!r.ok()) return r.status().WithContext("column " + column + ": hierarchy");
  return r;
}

}  // namespace kexin::deid
