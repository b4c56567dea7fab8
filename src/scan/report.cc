#include "scan/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "table/encoding.h"

namespace kexin::scan {
namespace {

using nlohmann::ordered_json;

std::string DelimiterName(char d) {
  switch (d) {
    case '\t':
      return "\\t";
    default:
      return std::string(1, d);
  }
}

ordered_json CountsJson(const std::vector<CategoryCount>& v, bool examples) {
  ordered_json a = ordered_json::array();
  for (const auto& c : v) {
    ordered_json o = {{"category", c.category}, {"count", c.count}};
    if (examples) o["examples"] = c.examples;
    a.push_back(o);
  }
  return a;
}

ordered_json FileJson(const FileOutcome& f) {
  ordered_json j;
  j["path"] = f.path;
  if (!f.status.ok()) {
    j["status"] = "error";
    j["error"] = {{"code", std::string(StatusCodeName(f.status.code()))},
                  {"exit_code", ExitCodeFor(f.status)},
                  {"message", f.status.message()}};
    return j;
  }
  const TableResult& t = f.result;
  j["status"] = "ok";
  j["format"] = std::string(table::FormatName(t.info.format));
  j["encoding"] = std::string(table::EncodingName(t.info.encoding));
  if (t.info.format == table::Format::kCsv) {
    j["delimiter"] = std::string(1, t.info.delimiter);
    j["has_header"] = t.info.has_header;
  }
  j["bytes"] = t.info.file_bytes;
  j["mode"] = t.sampled ? "sample" : "full";
  j["rows_scanned"] = t.rows_scanned;
  j["rows_estimated"] = t.rows_estimated ? ordered_json(*t.rows_estimated) : ordered_json(nullptr);
  j["rows_skipped"] = t.rows_skipped;
  j["seconds"] = std::round(t.seconds * 1e4) / 1e4;
  j["threads"] = t.threads;
  j["level"] = t.level;
  j["level_reasons"] = t.level_reasons;
  j["contains_pi"] = t.contains_pi;
  j["contains_sensitive_pi"] = t.contains_sensitive_pi;
  ordered_json by = ordered_json::array();
  bool exact = !t.sampled;
  for (const auto& i : t.individuals) {
    by.push_back({{"column", i.column},
                  {"category", i.category},
                  {"distinct", i.distinct},
                  {"exact", i.exact && !t.sampled},
                  {"sensitive", i.sensitive}});
    exact = exact && i.exact;
  }
  j["warnings"] = t.warnings;
  j["individuals"] = {
      {"estimate", t.individuals_estimate},
      {"extrapolated", t.individuals_extrapolated ? ordered_json(t.individuals_extrapolated)
                                                  : ordered_json(nullptr)},
      {"exact", exact},
      {"method", t.sampled ? "distinct normalised identifiers in the sampled rows (a lower bound)"
                           : "distinct normalised identifiers per column; the estimate is the "
                             "largest column count"},
      {"by_column", by}};
  ordered_json cols = ordered_json::array();
  for (const auto& c : t.columns) {
    ordered_json o;
    o["name"] = c.name;
    o["index"] = c.index;
    o["category"] = c.category ? ordered_json(*c.category) : ordered_json(nullptr);
    o["confidence"] = std::round(c.confidence * 1000) / 1000;
    o["match_ratio"] = std::round(c.match_ratio * 10000) / 10000;
    o["pi_category"] = c.pi_category.empty() ? ordered_json(nullptr) : ordered_json(c.pi_category);
    o["sensitive"] = c.sensitive;
    o["level"] = c.level;
    o["header_hint"] = c.header_hint;
    o["values"] = c.values;
    o["non_empty"] = c.non_empty;
    o["distinct"] = c.distinct ? ordered_json(*c.distinct) : ordered_json(nullptr);
    if (c.distinct) o["distinct_exact"] = c.distinct_exact && !t.sampled;
    o["reason"] = c.reason;
    o["evidence"] = {{"matches", CountsJson(c.matches, true)},
                     {"embedded", CountsJson(c.embedded, false)},
                     {"cells_with_embedded", c.cells_with_embedded}};
    cols.push_back(o);
  }
  j["columns"] = cols;
  return j;
}

std::string HighestLevel(const std::vector<FileOutcome>& files, const Rules& rules) {
  std::string best;
  for (const auto& f : files) {
    if (f.status.ok() &&
        (best.empty() || rules.LevelRank(f.result.level) > rules.LevelRank(best))) {
      best = f.result.level;
    }
  }
  return best;
}

std::string Escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string PadRight(std::string_view s, size_t width) {
  std::string o(s);
  size_t w = DisplayWidth(s);
  if (w < width) o.append(width - w, ' ');
  return o;
}

std::string Truncate(std::string_view s, size_t width) {
  if (DisplayWidth(s) <= width) return std::string(s);
  std::string o;
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = utf8::SequenceLength(static_cast<unsigned char>(s[i]));
    std::string_view ch = s.substr(i, len);
    size_t cw = DisplayWidth(ch);
    if (w + cw + 1 > width) break;
    o += ch;
    w += cw;
    i += len;
  }
  return o + "~";
}

const char* LevelColour(const Rules& rules, const std::string& level) {
  int r = rules.LevelRank(level);
  int important = rules.LevelRank(rules.important_level);
  if (important >= 0 && r >= important) return "\x1b[1;35m";
  switch (r) {
    case 3:
      return "\x1b[1;31m";
    case 2:
      return "\x1b[33m";
    case 1:
      return "\x1b[36m";
    default:
      return "\x1b[32m";
  }
}

}  // namespace

size_t DisplayWidth(std::string_view s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = utf8::Next(s, &i);
    bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    w += wide ? 2 : 1;
  }
  return w;
}

std::string RenderJson(const std::vector<FileOutcome>& files, const ReportContext& ctx) {
  ordered_json j;
  j["report"] = "kexin.scan";
  j["schema_version"] = 1;
  j["generated_at"] = ctx.generated_at;
  j["rules"] = ctx.rules->source;
  size_t errors = static_cast<size_t>(
      std::count_if(files.begin(), files.end(), [](const auto& f) { return !f.status.ok(); }));
  j["complete"] = errors == 0;
  std::string highest = HighestLevel(files, *ctx.rules);
  j["summary"] = {{"files", files.size()},
                  {"errors", errors},
                  {"level", highest.empty() ? ordered_json(nullptr) : ordered_json(highest)}};
  ordered_json a = ordered_json::array();
  for (const auto& f : files) a.push_back(FileJson(f));
  j["files"] = a;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RenderTable(const std::vector<FileOutcome>& files, const ReportContext& ctx,
                        bool colour) {
  const Rules& rules = *ctx.rules;
  auto paint = [&](const std::string& text, const char* code) {
    return colour ? std::string(code) + text + "\x1b[0m" : text;
  };
  std::string out;
  for (const auto& f : files) {
    if (!f.status.ok()) {
      out += paint("ERROR", "\x1b[1;31m") + " " + f.status.message() + "\n\n";
      continue;
    }
    const TableResult& t = f.result;
    out += paint(f.path, "\x1b[1m") + "  " + std::string(table::FormatName(t.info.format)) + ", " +
           std::string(table::EncodingName(t.info.encoding));
    if (t.info.format == table::Format::kCsv) {
      out += ", delimiter '" + DelimiterName(t.info.delimiter) + "'" +
             (t.info.has_header ? ", header" : ", no header");
    }
    out += fmt::format(", {} rows {}", t.rows_scanned, t.sampled ? "sampled" : "scanned");
    if (t.rows_estimated) out += fmt::format(" of ~{}", *t.rows_estimated);
    out += fmt::format(" in {:.2f}s\n", t.seconds);
    out += "level: " + paint(t.level, LevelColour(rules, t.level)) + "  (highest level wins)\n";
    for (const auto& r : t.level_reasons) out += "  - " + r + "\n";
    if (t.individuals_estimate) {
      out += fmt::format("individuals: {}{}", t.individuals_estimate,
                         t.sampled ? " or more (sampled)" : "");
      if (t.individuals_extrapolated)
        out +=
            fmt::format(", about {} in the whole file (extrapolated)", t.individuals_extrapolated);
      out += "\n";
    }
    for (const auto& w : t.warnings) out += "warning: " + w + "\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"COLUMN", "CATEGORY", "LEVEL", "SENS", "CONF", "MATCH", "EXAMPLES"});
    for (const auto& c : t.columns) {
      std::string examples;
      if (c.category && !c.matches.empty()) {
        for (const auto& m : c.matches) {
          if (m.category == *c.category) {
            for (const auto& e : m.examples) examples += (examples.empty() ? "" : "  ") + e;
          }
        }
      }
      rows.push_back({Truncate(c.name, 24), c.category ? *c.category : "-", c.level,
                      c.sensitive ? "yes" : "",
                      c.category ? fmt::format("{:.2f}", c.confidence) : "",
                      fmt::format("{:.1f}%", c.match_ratio * 100), Truncate(examples, 60)});
    }
    std::vector<size_t> width(rows[0].size(), 0);
    for (const auto& r : rows) {
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], DisplayWidth(r[i]));
    }
    for (size_t ri = 0; ri < rows.size(); ++ri) {
      const auto& r = rows[ri];
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        std::string cell = i + 1 == r.size() ? r[i] : PadRight(r[i], width[i]);
        if (ri == 0)
          cell = paint(cell, "\x1b[1m");
        else if (i == 2)
          cell = paint(cell, LevelColour(rules, r[2]));
        line += cell;
        if (i + 1 < r.size()) line += "  ";
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    out += "\n";
  }
  return out;
}

std::string RenderHtml(const std::vector<FileOutcome>& files, const ReportContext& ctx) {
  const Rules& rules = *ctx.rules;
  std::map<std::string, int> level_counts, category_counts;
  for (const auto& f : files) {
    if (!f.status.ok()) continue;
    for (const auto& c : f.result.columns) {
      ++level_counts[c.level];
      if (c.category) ++category_counts[*c.category];
    }
  }
  auto bars = [](const std::vector<std::pair<std::string, int>>& items, const char* colour) {
    int max = 1;
    for (const auto& [k, v] : items) max = std::max(max, v);
    std::string svg =
        fmt::format("<svg role=\"img\" width=\"560\" height=\"{}\">", 24 * items.size() + 8);
    int y = 4;
    for (const auto& [k, v] : items) {
      int w = 360 * v / max;
      svg += fmt::format(
          "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"170\" y=\"{}\" width=\"{}\" "
          "height=\"16\" "
          "fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"13\">{}</text>",
          y + 13, Escape(k), y, std::max(w, 1), colour, 176 + w, y + 13, v);
      y += 24;
    }
    return svg + "</svg>";
  };
  std::vector<std::pair<std::string, int>> levels, cats;
  for (const auto& l : rules.levels) {
    if (level_counts.count(l)) levels.push_back({l, level_counts[l]});
  }
  for (const auto& c : rules.categories) {
    if (category_counts.count(c.id))
      cats.push_back({c.id + " " + c.name_zh, category_counts[c.id]});
  }
  std::string h =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>kexin scan "
      "report</title>"
      "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:"
      "collapse;"
      "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}"
      "th{background:#f4f4f4}.l4{color:#b00;font-weight:bold}.imp{color:#808;font-weight:bold}"
      ".err{color:#b00}code{font-size:13px}</style></head><body>";
  h += "<h1>kexin scan report</h1><p>Generated " + Escape(ctx.generated_at) +
       " with rules: " + Escape(rules.source) + ". Highest level: <b>" +
       Escape(HighestLevel(files, rules)) + "</b>.</p>";
  h += "<h2>Columns by level</h2>" + bars(levels, "#c0504d");
  h += "<h2>Columns by category</h2>" + bars(cats, "#4f81bd");
  for (const auto& f : files) {
    h += "<h2>" + Escape(f.path) + "</h2>";
    if (!f.status.ok()) {
      h += "<p class=\"err\">Error: " + Escape(f.status.message()) + "</p>";
      continue;
    }
    const TableResult& t = f.result;
    h += fmt::format("<p>{}, {}, {} rows {}{}. Level <b>{}</b>: {}.</p>",
                     table::FormatName(t.info.format), table::EncodingName(t.info.encoding),
                     t.rows_scanned, t.sampled ? "sampled" : "scanned",
                     t.rows_estimated ? fmt::format(" of about {}", *t.rows_estimated) : "",
                     Escape(t.level), Escape(fmt::format("{}", fmt::join(t.level_reasons, "; "))));
    if (!t.individuals.empty()) {
      h += "<p>Individuals: ";
      for (const auto& i : t.individuals) {
        h += fmt::format("{} distinct {} in <code>{}</code>{}; ", i.distinct, Escape(i.category),
                         Escape(i.column), t.sampled ? " (sampled)" : "");
      }
      h += "</p>";
    }
    h += "<table><tr><th>#</th><th>Column</th><th>Category</th><th>PI "
         "category</th><th>Sensitive</th>"
         "<th>Level</th><th>Confidence</th><th>Match</th><th>Distinct</th><th>Examples "
         "(masked)</th><th>Why</th></tr>";
    for (const auto& c : t.columns) {
      std::string examples;
      for (const auto& m : c.matches) {
        if (c.category && m.category == *c.category)
          examples = fmt::format("{}", fmt::join(m.examples, ", "));
      }
      int rank = rules.LevelRank(c.level);
      int imp = rules.LevelRank(rules.important_level);
      const char* cls = imp >= 0 && rank >= imp ? "imp" : rank >= 3 ? "l4" : "";
      h += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td "
          "class=\"{}\">{}</td><td>{}</td>"
          "<td>{:.1f}%</td><td>{}</td><td>{}</td><td>{}</td></tr>",
          c.index + 1, Escape(c.name), c.category ? Escape(*c.category) : "-",
          Escape(c.pi_category), c.sensitive ? "yes" : "", cls, Escape(c.level),
          c.category ? fmt::format("{:.2f}", c.confidence) : "", c.match_ratio * 100,
          c.distinct ? std::to_string(*c.distinct) : "", Escape(examples), Escape(c.reason));
    }
    h += "</table>";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace kexin::scan
