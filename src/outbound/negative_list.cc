#include "outbound/negative_list.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "base/file.h"
#include "outbound/toml_util.h"

namespace kexin::outbound {

using internal::Where;

namespace {

Status GetThreshold(const toml::table& t, std::string_view source, std::string_view section,
                    std::string_view key, std::optional<uint64_t>* out) {
  if (t.get(key) == nullptr) return Status::Ok();
  uint64_t v = 0;
  KEXIN_RETURN_IF_ERROR(internal::GetCount(t, source, section, key, &v));
  *out = v;
  return Status::Ok();
}

Result<ListItem> ParseItem(const toml::node& node, std::string_view src, const Scenario& sc) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return DataError(Where(src, node) + ": scenario.item must be a table");
  std::string what = "[[scenario.item]] of scenario '" + sc.id + "'";
  KEXIN_RETURN_IF_ERROR(internal::CheckTableKeys(
      *t, src, what,
      {"category", "route", "fields", "scan_categories", "min_people", "min_sensitive_people"}));
  ListItem item;
  item.line = static_cast<int>(t->source().begin.line);
  KEXIN_RETURN_IF_ERROR(internal::GetString(*t, src, "item", "category", true, &item.category));
  std::string route;
  KEXIN_RETURN_IF_ERROR(internal::GetString(*t, src, "item", "route", true, &route));
  auto r = ParseRoute(route);
  if (!r.ok() || *r == Route::kExempt) {
    return DataError(Where(src, *t->get("route")) + ": unknown route '" + route +
                     "' (expected security_assessment or standard_contract)");
  }
  item.route = *r;
  KEXIN_RETURN_IF_ERROR(internal::GetStrings(*t, src, "fields", &item.fields));
  KEXIN_RETURN_IF_ERROR(internal::GetStrings(*t, src, "scan_categories", &item.scan_categories));
  if (item.fields.empty() && item.scan_categories.empty()) {
    return DataError(Where(src, *t) + ": item '" + item.category +
                     "' needs fields or scan_categories to match columns");
  }
  KEXIN_RETURN_IF_ERROR(GetThreshold(*t, src, "item", "min_people", &item.min_people));
  KEXIN_RETURN_IF_ERROR(
      GetThreshold(*t, src, "item", "min_sensitive_people", &item.min_sensitive_people));
  if (!item.min_people && !item.min_sensitive_people) {
    item.min_people = sc.min_people;
    item.min_sensitive_people = sc.min_sensitive_people;
  }
  return item;
}

// ASCII case-insensitive containment (Chinese names compare byte-wise).
bool ContainsFolded(std::string_view hay, std::string_view needle) {
  if (needle.empty() || needle.size() > hay.size()) return false;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && lower(hay[i + j]) == lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

// Lower-case ASCII words of a column or field name: "customerIdNumber", "id_number" and
// "ID-Number" give {..., "id", "number"}.
std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    bool upper = c >= 'A' && c <= 'Z';
    if (!alnum || (upper && !cur.empty() && !(s[i - 1] >= 'A' && s[i - 1] <= 'Z'))) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    }
    if (alnum) cur.push_back(upper ? static_cast<char>(c + 32) : c);
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Whether a column name matches a list field. ASCII names match on whole words (the field's
// words appear consecutively in the column's: "customer_id_number" matches "id_number" and
// "EMAIL_ADDR" matches "email", but "province" does not match "vin" nor "number" "id_number");
// Chinese names match
// by containment either way ("手机" in "手机号码"), the column holding at least two characters.
bool NameMatches(std::string_view column, std::string_view field) {
  if (IsAscii(field)) {
    auto cw = Words(column), fw = Words(field);
    if (fw.empty() || fw.size() > cw.size()) return false;
    for (size_t i = 0; i + fw.size() <= cw.size(); ++i) {
      if (std::equal(fw.begin(), fw.end(), cw.begin() + i)) return true;
    }
    return false;
  }
  return ContainsFolded(column, field) || (column.size() >= 6 && ContainsFolded(field, column));
}

std::string Num(uint64_t n) { return std::to_string(n); }

}  // namespace

Result<NegativeList> ParseNegativeList(std::string_view text, std::string_view src) {
  KEXIN_ASSIGN_OR_RETURN(toml::table root, internal::ParseToml(text, src));
  KEXIN_RETURN_IF_ERROR(internal::CheckTableKeys(
      root, src, "the list file",
      {"list", "zone", "edition", "example", "note", "sector", "scenario"}));
  NegativeList l;
  l.file = std::string(src);
  KEXIN_RETURN_IF_ERROR(internal::GetString(root, src, "list", "list", true, &l.list));
  KEXIN_RETURN_IF_ERROR(internal::GetString(root, src, "zone", "zone", true, &l.zone));
  KEXIN_RETURN_IF_ERROR(internal::GetString(root, src, "edition", "edition", false, &l.edition));
  KEXIN_RETURN_IF_ERROR(internal::GetBool(root, src, "example", "example", &l.example));
  KEXIN_RETURN_IF_ERROR(internal::GetString(root, src, "note", "note", false, &l.note));
  const toml::table* sector = root["sector"].as_table();
  if (sector == nullptr) return DataError(std::string(src) + ":1: missing [sector] table");
  KEXIN_RETURN_IF_ERROR(
      internal::CheckTableKeys(*sector, src, "[sector]", {"id", "name", "name_zh"}));
  KEXIN_RETURN_IF_ERROR(internal::GetString(*sector, src, "sector", "id", true, &l.sector_id));
  KEXIN_RETURN_IF_ERROR(internal::GetString(*sector, src, "sector", "name", false, &l.sector_name));
  KEXIN_RETURN_IF_ERROR(
      internal::GetString(*sector, src, "sector", "name_zh", false, &l.sector_name_zh));

  const toml::array* scs = root["scenario"].as_array();
  if (scs == nullptr || scs->empty()) {
    return DataError(std::string(src) + ":1: no [[scenario]] in the list");
  }
  std::set<std::string> ids;
  for (const auto& node : *scs) {
    const toml::table* t = node.as_table();
    if (t == nullptr) return DataError(Where(src, node) + ": scenario must be a table");
    KEXIN_RETURN_IF_ERROR(internal::CheckTableKeys(
        *t, src, "[[scenario]]",
        {"id", "name", "name_zh", "min_people", "min_sensitive_people", "item"}));
    Scenario sc;
    sc.line = static_cast<int>(t->source().begin.line);
    KEXIN_RETURN_IF_ERROR(internal::GetString(*t, src, "scenario", "id", true, &sc.id));
    if (!ids.insert(sc.id).second) {
      return DataError(Where(src, *t) + ": duplicate scenario id '" + sc.id + "'");
    }
    KEXIN_RETURN_IF_ERROR(internal::GetString(*t, src, "scenario", "name", false, &sc.name));
    KEXIN_RETURN_IF_ERROR(internal::GetString(*t, src, "scenario", "name_zh", false, &sc.name_zh));
    KEXIN_RETURN_IF_ERROR(GetThreshold(*t, src, "scenario", "min_people", &sc.min_people));
    KEXIN_RETURN_IF_ERROR(
        GetThreshold(*t, src, "scenario", "min_sensitive_people", &sc.min_sensitive_people));
    const toml::array* items = (*t)["item"].as_array();
    if (items == nullptr || items->empty()) {
      return DataError(Where(src, *t) + ": scenario '" + sc.id + "' has no [[scenario.item]]");
    }
    for (const auto& in : *items) {
      KEXIN_ASSIGN_OR_RETURN(ListItem item, ParseItem(in, src, sc));
      sc.items.push_back(std::move(item));
    }
    l.scenarios.push_back(std::move(sc));
  }
  return l;
}

Result<std::vector<NegativeList>> LoadNegativeLists(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        if (e.path().extension() == ".toml") in_dir.push_back(e.path().string());
      }
      if (ec) return ErrnoError(p, ec.value());
      if (in_dir.empty()) return NotFound(p + ": no *.toml list files in the directory");
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(p);
    }
  }
  std::vector<NegativeList> lists;
  std::map<std::string, std::string> seen;  // zone + scenario id -> file
  for (const auto& f : files) {
    KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(f));
    KEXIN_ASSIGN_OR_RETURN(NegativeList l, ParseNegativeList(text, f));
    for (const auto& sc : l.scenarios) {
      auto [it, fresh] = seen.emplace(l.zone + "\n" + sc.id, f);
      if (!fresh) {
        return DataError(f + ":" + std::to_string(sc.line) + ": scenario '" + sc.id +
                         "' of zone '" + l.zone + "' is already defined in " + it->second);
      }
    }
    lists.push_back(std::move(l));
  }
  return lists;
}

Result<ScenarioRef> FindScenario(const std::vector<NegativeList>& lists, const Handler& handler,
                                 std::string_view scenario_id) {
  std::vector<const NegativeList*> zone;
  for (const auto& l : lists) {
    if (l.zone == handler.free_trade_zone) zone.push_back(&l);
  }
  if (zone.empty()) {
    std::string have;
    for (const auto& l : lists) have += (have.empty() ? "" : ", ") + l.zone;
    return InvalidArgument(handler.file + ": the handler is in free-trade zone '" +
                           handler.free_trade_zone + "' but no negative list for it was loaded" +
                           (have.empty() ? " (give --list FILE|DIR)" : " (loaded: " + have + ")"));
  }
  if (!handler.sector.empty()) {
    bool known = false;
    std::string sectors;
    for (const auto* l : zone) {
      known = known || l->sector_id == handler.sector;
      if (sectors.find(l->sector_id) == std::string::npos)
        sectors += (sectors.empty() ? "" : ", ") + l->sector_id;
    }
    if (!known) {
      return InvalidArgument(handler.file + ": unknown sector '" + handler.sector + "' for zone '" +
                             handler.free_trade_zone + "' (known: " + sectors + ")");
    }
  }
  std::string known;
  for (const auto* l : zone) {
    if (!handler.sector.empty() && l->sector_id != handler.sector) continue;
    for (const auto& sc : l->scenarios) {
      if (sc.id == scenario_id) return ScenarioRef{l, &sc};
      known += (known.empty() ? "" : ", ") + sc.id;
    }
  }
  return InvalidArgument("unknown scenario '" + std::string(scenario_id) + "' for zone '" +
                         handler.free_trade_zone + "'" +
                         (handler.sector.empty() ? "" : " sector '" + handler.sector + "'") +
                         " (known: " + known + ")");
}

ListMatch MatchScenario(const Scenario& scenario, const std::vector<ColumnRef>& columns,
                        uint64_t people, uint64_t sensitive_people) {
  ListMatch m;
  m.verdict.applies = true;
  for (const auto& item : scenario.items) {
    ItemMatch im;
    im.item = &item;
    for (const auto& c : columns) {
      std::string why;
      for (const auto& cat : item.scan_categories) {
        if (c.category == cat) {
          why = "scan category " + cat;
          break;
        }
        if (std::find(c.embedded.begin(), c.embedded.end(), cat) != c.embedded.end()) {
          why = cat + " inside free text";
          break;
        }
      }
      if (why.empty()) {
        for (const auto& f : item.fields) {
          // A column named like the field, or a field name holding a column name of at least
          // two Chinese characters or six letters ("手机" in "手机号码").
          if (NameMatches(c.name, f)) {
            why = "column name matches '" + f + "'";
            break;
          }
        }
      }
      if (!why.empty()) im.columns.push_back(c.file + ": " + c.name + " (" + why + ")");
    }
    if (im.columns.empty()) continue;
    if (!item.min_people && !item.min_sensitive_people) {
      im.reached = true;
      im.threshold = "no threshold";
    } else {
      std::string parts;
      if (item.min_people) {
        bool r = people >= *item.min_people;
        im.reached = im.reached || r;
        parts = "people " + Num(people) + (r ? " >= " : " < ") + Num(*item.min_people);
      }
      if (item.min_sensitive_people) {
        bool r = sensitive_people >= *item.min_sensitive_people;
        im.reached = im.reached || r;
        parts += (parts.empty() ? "" : "; ") + std::string("sensitive people ") +
                 Num(sensitive_people) + (r ? " >= " : " < ") + Num(*item.min_sensitive_people);
      }
      im.threshold = parts;
    }
    std::string line = "negative list item '" + item.category + "' (" +
                       std::string(RouteName(item.route)) + ") matches " +
                       std::to_string(im.columns.size()) + " column(s); " + im.threshold +
                       (im.reached ? ": applies" : ": below the item's threshold");
    m.verdict.reasons.push_back(line);
    if (im.reached) {
      m.verdict.on_list = true;
      m.verdict.route = std::max(m.verdict.route, item.route);
    }
    m.matches.push_back(std::move(im));
  }
  if (m.matches.empty()) {
    m.verdict.reasons.push_back("no column matches an item of scenario '" + scenario.id + "'");
  }
  return m;
}

}  // namespace kexin::outbound
