// JSON and HTML reports of a de-identification run (docs/deid.md,
// docs/schemas/deid-report.schema.json).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "deid/deid.h"

namespace kexin::deid {
namespace {

nlohmann::json RiskJson(const RiskSummary& r) {
  nlohmann::json j = {
      {"records", r.records},
      {"classes", r.classes},
      {"smallest_class", r.smallest_class},
      {"average_class", r.average_class},
      {"prosecutor", {{"highest", r.prosecutor_highest}, {"average", r.prosecutor_average}}},
      {"journalist", {{"highest", r.journalist_highest}, {"average", r.journalist_average}}},
      {"marketer", r.marketer},
      {"threshold", r.threshold},
      {"records_at_risk", r.records_at_risk},
      {"share_at_risk", r.share_at_risk},
  };
  j["population"] = r.population ? nlohmann::json(*r.population) : nlohmann::json(nullptr);
  return j;
}

std::string Html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string DeidReportJson(const DeidResult& r) {
  nlohmann::json j;
  j["report"] = "kexin-deid-report-v1";
  j["input"] = {
      {"path", r.input}, {"format", r.format}, {"encoding", r.encoding}, {"rows", r.rows_in}};
  j["output"] = {
      {"path", r.output},
      {"rows", r.rows_out},
      {"encoding", "utf-8"},
      {"suppressed_rows", r.suppressed_rows == SuppressedRows::kMask ? "mask" : "remove"}};
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : r.columns) {
    nlohmann::json cj = {{"name", c.name},
                         {"role", std::string(RoleName(c.role))},
                         {"source", c.source},
                         {"treatment", c.treatment}};
    if (c.role == Role::kQuasi) {
      cj["hierarchy"] = c.hierarchy;
      cj["level"] = c.level;
      cj["height"] = c.height;
      cj["examples"] = c.examples;
    } else if (!c.hierarchy.empty()) {
      cj["hierarchy"] = c.hierarchy;
    }
    cols.push_back(std::move(cj));
  }
  j["columns"] = std::move(cols);
  const PrivacyModel& m = r.model;
  nlohmann::json model = {{"description", DescribeModel(m)},
                          {"k", m.k},
                          {"max_suppression", m.max_suppression},
                          {"default", r.model_default}};
  if (m.diversity != Diversity::kNone) {
    static const char* kNames[] = {"none", "distinct", "entropy", "recursive"};
    model["l_diversity"] = {{"variant", kNames[static_cast<int>(m.diversity)]}, {"l", m.l}};
    if (m.diversity == Diversity::kRecursive) model["l_diversity"]["c"] = m.c;
  }
  if (m.closeness != Closeness::kNone) {
    model["t_closeness"] = {
        {"t", m.t}, {"distance", m.closeness == Closeness::kEqual ? "equal" : "hierarchical"}};
  }
  j["privacy_model"] = std::move(model);
  if (r.searched) {
    const NodeResult& b = r.search.best;
    j["generalization"] = {
        {"levels", b.levels},
        {"metric", std::string(MetricName(r.metric))},
        {"utility_loss", b.utility},
        {"suppressed_records", b.suppressed_rows},
        {"classes", b.classes},
        {"smallest_class", b.smallest_class},
        {"distinct_combinations", r.distinct_combinations},
        {"search",
         {{"algorithm", "flash-style binary search on paths, lower-bound pruned, globally optimal"},
          {"lattice_size", r.search.lattice_size},
          {"checks", r.search.checks},
          {"rollups", r.search.rollups},
          {"witness_rejections", r.search.witness_rejections},
          {"seconds", r.search.seconds}}},
    };
    j["risk"] = {{"before", RiskJson(r.risk_before)}, {"after", RiskJson(r.risk_after)}};
    j["utility"] = {{"metric", std::string(MetricName(r.metric))},
                    {"before", r.utility_before},
                    {"after", b.utility}};
  } else {
    j["generalization"] = nullptr;
    j["risk"] = nullptr;
    j["utility"] = nullptr;
  }
  j["timing"] = {{"read_seconds", r.read_seconds},
                 {"write_seconds", r.write_seconds},
                 {"total_seconds", r.total_seconds}};
  j["warnings"] = r.warnings;
  return j.dump(2) + "\n";
}

std::string DeidReportHtml(const DeidResult& r) {
  std::string h;
  h += "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>kexin deid: " +
       Html(r.input) +
       "</title><style>body{font-family:sans-serif;margin:2em;max-width:70em}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
       "text-align:left}th{background:#f4f4f4}.bar{background:#4a7;height:12px}</style></"
       "head><body>";
  h += fmt::format(
      "<h1>De-identification report</h1><p>{} ({}, {}) &rarr; {}: {} rows in, {} rows out.</p>",
      Html(r.input), Html(r.format), Html(r.encoding), Html(r.output), r.rows_in, r.rows_out);
  h += "<h2>Privacy model</h2><p>" + Html(DescribeModel(r.model)) +
       fmt::format(", at most {:.2f}% of records suppressed", r.model.max_suppression * 100) +
       (r.model_default ? " (default: none was given)" : "") + "</p>";
  h += "<h2>Columns</h2><table><tr><th>column</th><th>role</th><th>from</th><th>treatment</th>"
       "<th>hierarchy</th><th>level</th><th>examples</th></tr>";
  for (const auto& c : r.columns) {
    std::string ex;
    for (const auto& e : c.examples) ex += (ex.empty() ? "" : ", ") + Html(e);
    h += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        Html(c.name), RoleName(c.role), Html(c.source), Html(c.treatment), Html(c.hierarchy),
        c.role == Role::kQuasi ? fmt::format("{} of {}", c.level, c.height - 1) : "", ex);
  }
  h += "</table>";
  if (r.searched) {
    const NodeResult& b = r.search.best;
    h += fmt::format(
        "<h2>Generalization</h2><p>Optimal node for the {} metric: utility loss {:.4f}; {} "
        "records suppressed; {} equivalence classes, the smallest has {} records. Search: {} of "
        "{} lattice nodes checked in {:.1f} ms.</p>",
        MetricName(r.metric), b.utility, b.suppressed_rows, b.classes, b.smallest_class,
        r.search.checks, r.search.lattice_size, r.search.seconds * 1000);
    h += "<h2>Re-identification "
         "risk</h2><table><tr><th>measure</th><th>before</th><th>after</th></tr>";
    auto row = [&](const char* name, double before, double after) {
      h += fmt::format(
          "<tr><td>{}</td><td>{:.4f}</td><td>{:.4f}</td></tr>"
          "<tr><td></td><td><div class=bar style=\"width:{:.0f}px\"></div></td>"
          "<td><div class=bar style=\"width:{:.0f}px\"></div></td></tr>",
          name, before, after, before * 200, after * 200);
    };
    row("prosecutor, highest", r.risk_before.prosecutor_highest, r.risk_after.prosecutor_highest);
    row("prosecutor, average", r.risk_before.prosecutor_average, r.risk_after.prosecutor_average);
    row("journalist, highest", r.risk_before.journalist_highest, r.risk_after.journalist_highest);
    row("marketer", r.risk_before.marketer, r.risk_after.marketer);
    row("share of records at risk", r.risk_before.share_at_risk, r.risk_after.share_at_risk);
    h += fmt::format("<tr><td>smallest class</td><td>{}</td><td>{}</td></tr></table>",
                     r.risk_before.smallest_class, r.risk_after.smallest_class);
  }
  if (!r.warnings.empty()) {
    h += "<h2>Warnings</h2><ul>";
    for (const auto& w : r.warnings) h += "<li>" + Html(w) + "</li>";
    h += "</ul>";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace kexin::deid
