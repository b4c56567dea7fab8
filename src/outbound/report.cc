#include "outbound/report.h"

#include <nlohmann/json.hpp>

namespace kexin::outbound {

using nlohmann::ordered_json;

namespace {

ordered_json Strings(const std::vector<std::string>& v) {
  ordered_json a = ordered_json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

ordered_json NullIfEmpty(const std::string& s) {
  return s.empty() ? ordered_json() : ordered_json(s);
}

ordered_json Opt(const std::optional<uint64_t>& v) { return v ? ordered_json(*v) : ordered_json(); }

ordered_json Build(const Assessment& a) {
  const Decision& d = a.decision;
  ordered_json j;
  j["report"] = "kexin.outbound";
  j["schema_version"] = 1;
  j["generated_at"] = a.generated_at;
  j["route"] = RouteId(d.route);
  j["route_name"] = RouteName(d.route);
  j["route_zh"] = RouteZh(d.route);
  j["article"] = d.article;
  j["exemption"] = NullIfEmpty(d.exemption);
  j["decided_by_rule"] = d.rule;
  j["reasons"] = Strings(d.reasons);
  ordered_json trig = ordered_json::array();
  for (const auto& t : d.triggers) {
    trig.push_back({{"rule", t.rule}, {"what", t.what}, {"detail", t.detail}});
  }
  j["triggers"] = trig;

  const Handler& h = a.handler;
  j["handler"] = {
      {"file", h.file},
      {"id", h.id},
      {"name", h.name},
      {"uscc", NullIfEmpty(h.uscc)},
      {"ciio", h.ciio},
      {"free_trade_zone", NullIfEmpty(h.free_trade_zone)},
      {"sector", NullIfEmpty(h.sector)},
      {"settings",
       {{"count_exempt_transfers", h.settings.count_exempt_transfers},
        {"scan_important_is_important_data", h.settings.scan_important_is_important_data},
        {"ftz_listed_also_national", h.settings.ftz_listed_also_national}}}};
  const TransferInfo& t = a.transfer;
  j["transfer"] = {{"date", t.date},
                   {"scenario", t.scenario},
                   {"destination", t.destination},
                   {"recipient", t.recipient},
                   {"purpose", t.purpose},
                   {"basis", NullIfEmpty(std::string(BasisId(a.facts.basis)))},
                   {"important_data_declared", t.important_declared}};

  const Inventory& inv = a.inventory;
  j["people"] = {
      {"this_transfer", a.facts.contains_pi ? a.facts.people : 0},
      {"sensitive_this_transfer", a.facts.contains_sensitive_pi ? a.facts.sensitive_people : 0},
      {"exact", inv.exact},
      {"method", inv.method},
      {"year", a.year},
      {"before",
       {{"people", a.prior.people},
        {"sensitive_people", a.prior.sensitive_people},
        {"source", a.prior.source}}},
      {"cumulative",
       {{"people", d.cumulative_people}, {"sensitive_people", d.cumulative_sensitive}}}};
  j["data"] = {{"contains_pi", a.facts.contains_pi},
               {"contains_sensitive_pi", a.facts.contains_sensitive_pi},
               {"important_data", a.facts.important_data},
               {"important_data_reasons", Strings(a.facts.important_reasons)},
               {"pi_categories", Strings(inv.pi_categories)},
               {"sensitive_categories", Strings(inv.sensitive_categories)}};

  ordered_json nl;
  if (a.scenario) {
    const NegativeList& l = *a.scenario->list;
    const Scenario& sc = *a.scenario->scenario;
    ordered_json items = ordered_json::array();
    for (const auto& m : a.list_match.matches) {
      items.push_back({{"category", m.item->category},
                       {"route", RouteId(m.item->route)},
                       {"line", m.item->line},
                       {"columns", Strings(m.columns)},
                       {"min_people", Opt(m.item->min_people)},
                       {"min_sensitive_people", Opt(m.item->min_sensitive_people)},
                       {"threshold", m.threshold},
                       {"applies", m.reached}});
    }
    nl = {{"files", Strings(a.list_files)},
          {"file", l.file},
          {"list", l.list},
          {"zone", l.zone},
          {"edition", l.edition},
          {"example", l.example},
          {"sector", l.sector_id},
          {"scenario", {{"id", sc.id}, {"name", sc.name}, {"name_zh", sc.name_zh}}},
          {"on_list", a.list_match.verdict.on_list},
          {"route", a.list_match.verdict.on_list ? ordered_json(RouteId(a.list_match.verdict.route))
                                                 : ordered_json()},
          {"matched_items", items}};
  }
  j["negative_list"] = nl;

  ordered_json files = ordered_json::array();
  for (const auto& f : inv.files) {
    ordered_json cols = ordered_json::array();
    for (const auto& c : f.columns) {
      cols.push_back({{"name", c.name},
                      {"category", NullIfEmpty(c.category)},
                      {"pi_category", NullIfEmpty(c.pi_category)},
                      {"sensitive", c.sensitive},
                      {"level", c.level},
                      {"distinct", Opt(c.distinct)},
                      {"embedded", Strings(c.embedded)}});
    }
    ordered_json counts = ordered_json::array();
    for (const auto& c : f.counts) {
      counts.push_back({{"method", c.method},
                        {"distinct", c.distinct},
                        {"exact", c.exact},
                        {"sensitive", c.sensitive}});
    }
    files.push_back({{"path", f.path},
                     {"mode", f.mode},
                     {"rows_scanned", f.rows},
                     {"rows_estimated", Opt(f.rows_estimated)},
                     {"level", f.level},
                     {"level_reasons", Strings(f.level_reasons)},
                     {"contains_pi", f.contains_pi},
                     {"contains_sensitive_pi", f.contains_sensitive_pi},
                     {"people", f.people},
                     {"people_method", f.people_method},
                     {"sensitive_people", f.sensitive_people},
                     {"sensitive_method", f.sensitive_method},
                     {"counts", counts},
                     {"columns", cols}});
  }
  j["inventory"] = {{"source", inv.source},
                    {"scanned_at", inv.scanned_at},
                    {"rules", inv.rules},
                    {"files", files}};
  std::vector<std::string> notes = inv.notes;
  notes.insert(notes.end(), a.notes.begin(), a.notes.end());
  j["notes"] = Strings(notes);
  return j;
}

std::string Esc(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o.push_back(c);
    }
  }
  return o;
}

std::string Cell(const ordered_json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ", ") + Cell(e);
    return s.empty() ? "-" : s;
  }
  return v.dump();
}

}  // namespace

std::string RenderAssessmentJson(const Assessment& a) { return Build(a).dump(2) + "\n"; }

std::string RenderAssessmentTable(const Assessment& a) {
  ordered_json j = Build(a);
  const Decision& d = a.decision;
  std::string o;
  o += "route: " + std::string(RouteName(d.route)) + " (" + std::string(RouteZh(d.route)) + "), " +
       d.article + ", decided by rule " + std::to_string(d.rule) + "\n";
  o += "handler: " + a.handler.name + (a.handler.ciio ? " (CIIO)" : " (not a CIIO)") +
       (a.handler.free_trade_zone.empty() ? "" : ", free-trade zone " + a.handler.free_trade_zone) +
       "\n";
  o += "transfer: " + a.transfer.date + " to " + a.transfer.destination +
       (a.transfer.recipient.empty() ? "" : " (" + a.transfer.recipient + ")") + ", scenario " +
       a.transfer.scenario + "\n";
  o += "people: " + std::to_string(j["people"]["this_transfer"].get<uint64_t>()) +
       " in this transfer, " +
       std::to_string(j["people"]["sensitive_this_transfer"].get<uint64_t>()) +
       " with sensitive PI; since 1 January " + std::to_string(a.year) +
       " including it: " + std::to_string(d.cumulative_people) + " / " +
       std::to_string(d.cumulative_sensitive) + " sensitive (before: " + a.prior.source + ")\n";
  if (!a.inventory.sensitive_categories.empty())
    o += "sensitive categories: " + Cell(j["data"]["sensitive_categories"]) + "\n";
  o += "reasons:\n";
  for (const auto& r : d.reasons) o += "  " + r + "\n";
  for (const auto& f : a.inventory.files) {
    o += "file " + f.path + ": " + std::to_string(f.rows) + " rows, level " + f.level + ", " +
         std::to_string(f.people) + " people (" + f.people_method + "), " +
         std::to_string(f.sensitive_people) + " with sensitive PI\n";
  }
  for (const auto& m : a.list_match.matches) {
    o += "list item " + m.item->category + " -> " + std::string(RouteName(m.item->route)) +
         (m.reached ? " (applies: " : " (does not apply: ") + m.threshold +
         "): " + Cell(Strings(m.columns)) + "\n";
  }
  for (const auto& n : j["notes"]) o += "note: " + n.get<std::string>() + "\n";
  return o;
}

std::string RenderAssessmentHtml(const Assessment& a) {
  ordered_json j = Build(a);
  const Decision& d = a.decision;
  const char* colour = d.route == Route::kExempt             ? "#2e7d32"
                       : d.route == Route::kStandardContract ? "#ef6c00"
                                                             : "#c62828";
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
      "<title>数据出境自评估 / Cross-border transfer self-assessment</title><style>"
      "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
      "margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;"
      "vertical-align:top}th{background:#f3f3f3}.route{color:#fff;padding:.5em 1em;"
      "display:inline-block;font-size:1.3em}</style></head><body>\n";
  o += "<h1>数据出境自评估报告 <small>Cross-border data transfer self-assessment</small></h1>\n";
  o += "<p class=\"route\" style=\"background:" + std::string(colour) + "\">" +
       Esc(RouteZh(d.route)) + " &middot; " + Esc(RouteName(d.route)) + " &middot; " +
       Esc(d.article) + "</p>\n";
  o += "<p>Generated " + Esc(a.generated_at) + " by kexin under CAC Order No. 16 (2024).</p>\n";
  auto kv = [&](const std::string& title, const ordered_json& obj) {
    o += "<h2>" + title + "</h2><table>";
    for (const auto& [k, v] : obj.items()) {
      if (v.is_object()) continue;
      o += "<tr><th>" + Esc(k) + "</th><td>" + Esc(Cell(v)) + "</td></tr>";
    }
    o += "</table>\n";
  };
  kv("Handler 数据处理者", j["handler"]);
  kv("Settings 设置", j["handler"]["settings"]);
  kv("Transfer 出境活动", j["transfer"]);
  o += "<h2>People 个人信息规模</h2><table><tr><th></th><th>people</th><th>sensitive</th></tr>";
  o += "<tr><th>this transfer</th><td>" + Cell(j["people"]["this_transfer"]) + "</td><td>" +
       Cell(j["people"]["sensitive_this_transfer"]) + "</td></tr>";
  o += "<tr><th>before (" + Esc(a.prior.source) + ")</th><td>" + std::to_string(a.prior.people) +
       "</td><td>" + std::to_string(a.prior.sensitive_people) + "</td></tr>";
  o += "<tr><th>since 1 January " + std::to_string(a.year) + "</th><td>" +
       std::to_string(d.cumulative_people) + "</td><td>" + std::to_string(d.cumulative_sensitive) +
       "</td></tr></table>\n";
  o += "<p>Method: " + Esc(a.inventory.method) + "</p>\n";
  kv("Data 数据", j["data"]);
  o += "<h2>Triggers 触发条件</h2><table><tr><th>rule</th><th>what</th><th>detail</th></tr>";
  for (const auto& t : d.triggers) {
    o += "<tr><td>" + std::to_string(t.rule) + "</td><td>" + Esc(t.what) + "</td><td>" +
         Esc(t.detail) + "</td></tr>";
  }
  o += "</table>\n";
  o += "<h2>Reasons 判定理由</h2><ol>";
  for (const auto& r : d.reasons) o += "<li>" + Esc(r) + "</li>";
  o += "</ol>\n";
  if (a.scenario) {
    o += "<h2>Negative list 负面清单</h2><p>" + Esc(a.scenario->list->list) + " (" +
         Esc(a.scenario->list->file) + ")" +
         (a.scenario->list->example ? " <b>EXAMPLE list, not the official text</b>" : "") +
         ", scenario " + Esc(a.scenario->scenario->id) +
         "</p><table><tr><th>item</th>"
         "<th>route</th><th>columns</th><th>threshold</th></tr>";
    for (const auto& m : a.list_match.matches) {
      o += "<tr><td>" + Esc(m.item->category) + "</td><td>" + Esc(RouteName(m.item->route)) +
           "</td><td>" + Esc(Cell(Strings(m.columns))) + "</td><td>" + Esc(m.threshold) +
           "</td></tr>";
    }
    o += "</table>\n";
  }
  o += "<h2>Data inventory 数据清单</h2>";
  for (const auto& f : a.inventory.files) {
    o += "<h3>" + Esc(f.path) + "</h3><p>" + std::to_string(f.rows) + " rows (" + Esc(f.mode) +
         "), level " + Esc(f.level) + "; " + std::to_string(f.people) +
         " people: " + Esc(f.people_method) +
         "</p><table><tr><th>column</th><th>category</th>"
         "<th>PI category</th><th>sensitive</th><th>level</th><th>distinct</th></tr>";
    for (const auto& c : f.columns) {
      o += "<tr><td>" + Esc(c.name) + "</td><td>" + Esc(c.category.empty() ? "-" : c.category) +
           "</td><td>" + Esc(c.pi_category.empty() ? "-" : c.pi_category) + "</td><td>" +
           (c.sensitive ? "yes" : "") + "</td><td>" + Esc(c.level) + "</td><td>" +
           (c.distinct ? std::to_string(*c.distinct) : "") + "</td></tr>";
    }
    o += "</table>\n";
  }
  if (!j["notes"].empty()) {
    o += "<h2>Notes</h2><ul>";
    for (const auto& n : j["notes"]) o += "<li>" + Esc(n.get<std::string>()) + "</li>";
    o += "</ul>\n";
  }
  o += "</body></html>\n";
  return o;
}

}  // namespace kexin::outbound
