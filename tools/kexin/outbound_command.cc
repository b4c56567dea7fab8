// `kexin outbound assess|record|counters`: the cross-border transfer assessment of CAC Order
// No. 16 and the node's per-year counters. See docs/outbound.md and docs/cli.md.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/clock.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "identity/node_home.h"
#include "outbound/counters.h"
#include "outbound/inventory.h"
#include "outbound/negative_list.h"
#include "outbound/outbound.h"
#include "outbound/report.h"
#include "scan/detector_set.h"
#include "scan/report.h"
#include "scan/rules.h"
#include "scan/scanner.h"
#include "tools/kexin/commands.h"

namespace kexin::cli {
namespace {

using nlohmann::json;
namespace ob = kexin::outbound;

struct AssessArgs {
  std::vector<std::string> data;
  std::string scan_report, scenario, destination, handler, recipient, purpose, basis, date, home;
  std::vector<std::string> lists;
  bool important = false;
  std::string format = "table", out, rules;
  int threads = 0;
};

// "2026-11-22" (UTC today when empty); returns the year.
Result<int> CheckDate(std::string* date) {
  if (date->empty()) *date = NowRfc3339().substr(0, 10);
  const std::string& d = *date;
  int y = 0, m = 0, day = 0;
  char tail = 0;
  bool digits = d.size() == 10;
  for (size_t i = 0; digits && i < d.size(); ++i) {
    digits = (i == 4 || i == 7) ? d[i] == '-' : (d[i] >= '0' && d[i] <= '9');
  }
  if (!digits || std::sscanf(d.c_str(), "%4d-%2d-%2d%c", &y, &m, &day, &tail) != 3 || y < 2000 ||
      m < 1 || m > 12 || day < 1) {
    return InvalidArgument("--date '" + d + "': expected YYYY-MM-DD");
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (day > kDays[m - 1] || (m == 2 && day == 29 && !leap)) {
    return InvalidArgument("--date '" + d + "': no such day");
  }
  return y;
}

Result<std::unique_ptr<store::Store>> OpenNodeStore(const std::string& home) {
  KEXIN_ASSIGN_OR_RETURN(auto config, identity::LoadHome(home));
  KEXIN_ASSIGN_OR_RETURN(auto st, store::Store::Open(config.store_url));
  KEXIN_RETURN_IF_ERROR(st->Migrate(store::KexinMigrations()));
  return st;
}

Result<ob::Inventory> ScanData(const AssessArgs& a) {
  Result<scan::Rules> rules = a.rules.empty() ? scan::DefaultRules() : scan::LoadRulesFile(a.rules);
  if (!rules.ok()) return rules.status();
  KEXIN_ASSIGN_OR_RETURN(auto det, scan::DetectorSet::Build(*rules));
  scan::ScanOptions opts;
  opts.full = true;  // thresholds need counts, not samples
  opts.threads = a.threads > 0
                     ? a.threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<scan::FileOutcome> outcomes;
  for (const auto& path : a.data) {
    KEXIN_ASSIGN_OR_RETURN(scan::TableResult r, scan::ScanFile(path, *det, opts));
    scan::FileOutcome o;
    o.path = path;
    o.result = std::move(r);
    outcomes.push_back(std::move(o));
  }
  scan::ReportContext ctx;
  ctx.rules = &rules.value();
  ctx.generated_at = NowRfc3339();
  ctx.full = true;
  // One path for --data and --scan-report: the inventory is read from the scan's own JSON.
  json report = json::parse(scan::RenderJson(outcomes, ctx));
  KEXIN_ASSIGN_OR_RETURN(ob::Inventory inv,
                         ob::InventoryFromScanJson(report, "scan of the --data files"));
  for (auto& f : inv.files) KEXIN_RETURN_IF_ERROR(ob::CountNameBirthPairs(&f, opts.read));
  ob::ComputeTotals(&inv);
  return inv;
}

Result<ob::Inventory> ReadScanReport(const std::string& path) {
  KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return DataError(path + ": not valid JSON");
  KEXIN_ASSIGN_OR_RETURN(ob::Inventory inv, ob::InventoryFromScanJson(j, path));
  inv.notes.push_back(
      "inventory read from a scan report: names with birth dates were not counted (needs the "
      "data; use --data)");
  return inv;
}

Result<ob::Assessment> Assess(AssessArgs a) {
  ob::Assessment as;
  as.generated_at = NowRfc3339();
  KEXIN_ASSIGN_OR_RETURN(as.year, CheckDate(&a.date));
  std::string cc = a.destination;
  for (auto& c : cc) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (cc.size() != 2 || !std::isalpha(static_cast<unsigned char>(cc[0])) ||
      !std::isalpha(static_cast<unsigned char>(cc[1]))) {
    return InvalidArgument("--destination '" + a.destination +
                           "': expected an ISO 3166-1 alpha-2 country or region code (SG, DE)");
  }
  if (cc == "CN") {
    return InvalidArgument(
        "--destination CN: a transfer within mainland China is not a "
        "cross-border transfer");
  }
  as.transfer = {a.date, a.scenario, cc, a.recipient, a.purpose, a.important};
  KEXIN_ASSIGN_OR_RETURN(as.handler, ob::LoadHandlerFile(a.handler));
  KEXIN_ASSIGN_OR_RETURN(as.facts.basis, ob::ParseBasis(a.basis));

  if (!a.lists.empty()) {
    KEXIN_ASSIGN_OR_RETURN(auto loaded, ob::LoadNegativeLists(a.lists));
    as.lists = std::make_shared<const std::vector<ob::NegativeList>>(std::move(loaded));
  } else {
    as.lists = std::make_shared<const std::vector<ob::NegativeList>>();
  }
  const std::vector<ob::NegativeList>& lists = *as.lists;
  for (const auto& l : lists) as.list_files.push_back(l.file);
  if (!as.handler.free_trade_zone.empty()) {
    KEXIN_ASSIGN_OR_RETURN(auto ref, ob::FindScenario(lists, as.handler, a.scenario));
    as.scenario = ref;
  } else if (!lists.empty()) {
    // The scenario must still be a known one; the list does not apply outside its zone.
    bool known = false;
    for (const auto& l : lists)
      for (const auto& sc : l.scenarios) known = known || sc.id == a.scenario;
    if (!known) {
      return InvalidArgument("unknown scenario '" + a.scenario + "' in the loaded lists");
    }
    as.notes.push_back(
        "the handler is in no free-trade zone: the loaded negative lists do not "
        "apply (Art. 6)");
  }

  if (!a.scan_report.empty()) {
    KEXIN_ASSIGN_OR_RETURN(as.inventory, ReadScanReport(a.scan_report));
  } else {
    KEXIN_ASSIGN_OR_RETURN(as.inventory, ScanData(a));
  }
  const ob::Inventory& inv = as.inventory;
  as.facts.contains_pi = inv.contains_pi;
  as.facts.contains_sensitive_pi = inv.contains_sensitive_pi;
  as.facts.people = inv.people;
  as.facts.sensitive_people = inv.sensitive_people;
  if (a.important) {
    as.facts.important_data = true;
    as.facts.important_reasons.push_back("declared with --important-data");
  }
  if (!inv.important_reasons.empty()) {
    if (as.handler.settings.scan_important_is_important_data) {
      as.facts.important_data = true;
      for (const auto& r : inv.important_reasons) as.facts.important_reasons.push_back(r);
    } else {
      for (const auto& r : inv.important_reasons) {
        as.notes.push_back(r +
                           ": not treated as important data (setting "
                           "scan_important_is_important_data = false; Order No. 16 Art. 2: "
                           "data is important once notified or published as such)");
      }
    }
  }

  // People sent before this transfer since 1 January of the transfer's year.
  if (!a.home.empty()) {
    KEXIN_ASSIGN_OR_RETURN(auto st, OpenNodeStore(a.home));
    KEXIN_ASSIGN_OR_RETURN(auto counters, ob::ReadCounters(st.get(), as.handler.id, as.year));
    as.prior = ob::PriorFromCounters(counters, as.handler.settings);
    if (as.handler.sent_year != 0) {
      as.notes.push_back(
          "the handler file's [sent] counts are ignored: --home uses the node's "
          "counters");
    }
  } else if (as.handler.sent_year == as.year) {
    as.prior = {as.handler.sent_people, as.handler.sent_sensitive,
                "handler file [sent] for " + std::to_string(as.year)};
  } else if (as.handler.sent_year > as.year) {
    return InvalidArgument(as.handler.file + ": [sent] counts are for " +
                           std::to_string(as.handler.sent_year) + ", after the transfer date " +
                           a.date);
  } else {
    as.prior.source = as.handler.sent_year == 0
                          ? "none: the handler file gives no [sent] counts"
                          : "none: the handler file's counts are for " +
                                std::to_string(as.handler.sent_year) + " and reset on 1 January";
  }

  ob::ListVerdict verdict;
  if (as.scenario) {
    // As in the national rules, a threshold applies only to a kind of data this transfer carries
    // (0 otherwise), counting at least one sensitive person when it carries sensitive data.
    uint64_t people = as.facts.contains_pi ? ob::SatAdd(as.prior.people, as.facts.people) : 0;
    uint64_t sens = as.facts.contains_sensitive_pi
                        ? ob::SatAdd(as.prior.sensitive_people,
                                     std::max<uint64_t>(1, as.facts.sensitive_people))
                        : 0;
    as.list_match = ob::MatchScenario(*as.scenario->scenario, inv.Columns(), people, sens);
    verdict = as.list_match.verdict;
    if (as.scenario->list->example) {
      as.notes.push_back(as.scenario->list->file +
                         " is an EXAMPLE list modelled on the published structure, not the "
                         "official text: load the official list for a filing");
    }
  }
  as.decision = ob::Decide(as.handler, as.facts, as.prior, verdict);
  return as;
}

int RunAssess(const AssessArgs& a) {
  auto as = Assess(a);
  if (!as.ok()) return Fail(as.status());
  std::string text = a.format == "json"   ? ob::RenderAssessmentJson(*as)
                     : a.format == "html" ? ob::RenderAssessmentHtml(*as)
                                          : ob::RenderAssessmentTable(*as);
  return WriteOutput(a.out, text);
}

json CountersJson(const ob::YearCounters& c, const ob::HandlerSettings& settings) {
  json rows = json::array();
  for (const auto& r : c.rows) {
    rows.push_back({{"basis", r.basis},
                    {"transfers", r.transfers},
                    {"people", r.people},
                    {"sensitive_people", r.sensitive_people}});
  }
  ob::PriorCounts p = ob::PriorFromCounters(c, settings);
  return {{"handler", c.handler},
          {"year", c.year},
          {"rows", rows},
          {"counted", {{"people", p.people}, {"sensitive_people", p.sensitive_people}}},
          {"count_exempt_transfers", settings.count_exempt_transfers}};
}

struct RecordArgs {
  std::string home = identity::DefaultHome(), handler, assessment, basis = "counted", date,
              destination;
  uint64_t people = 0, sensitive = 0;
};

int RunRecord(RecordArgs a) {
  auto h = ob::LoadHandlerFile(a.handler);
  if (!h.ok()) return Fail(h.status());
  ob::TransferRecord rec;
  rec.handler = h->id;
  if (!a.assessment.empty()) {
    auto text = ReadFile(a.assessment);
    if (!text.ok()) return Fail(text.status());
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("report", "") != "kexin.outbound")
      return Fail(DataError(a.assessment + ": not a kexin outbound assessment (JSON)"));
    try {
      std::string id = j.at("handler").at("id").get<std::string>();
      if (id != h->id) {
        return Fail(InvalidArgument(a.assessment + ": the assessment is for handler '" + id +
                                    "', not '" + h->id + "' of " + a.handler));
      }
      a.date = j.at("transfer").at("date").get<std::string>();
      rec.destination = j.at("transfer").at("destination").get<std::string>();
      rec.route = j.at("route").get<std::string>();
      rec.people = j.at("people").at("this_transfer").get<uint64_t>();
      rec.sensitive_people = j.at("people").at("sensitive_this_transfer").get<uint64_t>();
      rec.basis = ob::CounterBasis(
          j.at("exemption").is_string() ? j.at("exemption").get<std::string>() : "");
    } catch (const json::exception& e) {
      return Fail(DataError(a.assessment + ": malformed assessment: " + e.what()));
    }
    // The same assessment is one transfer: it is never counted twice, even when assessed again
    // (the run's timestamps are left out of the identity).
    std::function<void(json&)> strip = [&](json& x) {
      if (x.is_object()) {
        x.erase("generated_at");
        x.erase("scanned_at");
        x.erase("seconds");
        for (auto& [k, v] : x.items()) strip(v);
      } else if (x.is_array()) {
        for (auto& v : x) strip(v);
      }
    };
    json identity = j;
    strip(identity);
    rec.id = crypto::HexEncode(crypto::Sha256(identity.dump()));
  } else {
    rec.id = "manual-" + crypto::RandomToken(16);
    rec.basis = a.basis;
    rec.people = a.people;
    rec.sensitive_people = a.sensitive;
    rec.destination = a.destination;
  }
  auto year = CheckDate(&a.date);
  if (!year.ok()) return Fail(year.status());
  rec.date = a.date;
  rec.year = *year;
  auto st = OpenNodeStore(a.home);
  if (!st.ok()) return Fail(st.status());
  Status s = ob::RecordTransfer(st->get(), rec);
  if (!s.ok()) return Fail(s);
  auto c = ob::ReadCounters(st->get(), h->id, *year);
  if (!c.ok()) return Fail(c.status());
  json out = CountersJson(*c, h->settings);
  out["recorded"] = {{"id", rec.id},
                     {"date", rec.date},
                     {"basis", rec.basis},
                     {"people", rec.people},
                     {"sensitive_people", rec.sensitive_people}};
  return WriteOutput("", out.dump(2) + "\n");
}

// Readable "must not be negative" instead of CLI11's conversion error.
const CLI::Validator kCount(
    [](std::string& v) {
      if (!v.empty() && v[0] == '-') return std::string("must not be negative");
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
        return std::string("must be a whole number of people");
      return std::string();
    },
    "COUNT");

}  // namespace

void RegisterOutbound(CLI::App& app, RunFn* run) {
  CLI::App* cmd = app.add_subcommand(
      "outbound", "Cross-border data transfer assessment (CAC Order No. 16) and counters");
  cmd->require_subcommand(1);
  {
    auto a = std::make_shared<AssessArgs>();
    CLI::App* c = cmd->add_subcommand(
        "assess", "Route of one transfer abroad: exempt, standard contract, security assessment");
    auto* data = c->add_option("--data", a->data, "Data files to send (scanned in full)");
    auto* rep = c->add_option("--scan-report", a->scan_report,
                              "A `kexin scan --format json` report instead of --data");
    data->excludes(rep);
    rep->excludes(data);
    c->add_option("--scenario", a->scenario, "Transfer scenario (a negative-list scenario id)")
        ->required();
    c->add_option("--destination", a->destination, "Recipient's country or region (ISO 3166)")
        ->required();
    c->add_option("--handler", a->handler, "Handler file (docs/outbound.md)")->required();
    c->add_option("--list", a->lists, "Negative-list file or directory (repeatable)");
    c->add_option("--basis", a->basis,
                  "Declared exemption: collected-abroad (Art. 4), contract, hr, emergency "
                  "(Art. 5(1)-(3))");
    c->add_flag("--important-data", a->important, "The data includes identified important data");
    c->add_option("--recipient", a->recipient, "Overseas recipient");
    c->add_option("--purpose", a->purpose, "Purpose of the transfer");
    c->add_option("--date", a->date, "Transfer date YYYY-MM-DD (default today, UTC)");
    c->add_option("--home", a->home, "Use this node's counters instead of the handler file's");
    c->add_option("--format", a->format, "table, json or html")
        ->check(CLI::IsMember({"table", "json", "html"}));
    c->add_option("-o,--output", a->out, "Write the report here (atomically)");
    c->add_option("--rules", a->rules, "Scan rule file (docs/rules.md)");
    c->add_option("--threads", a->threads, "Scan threads (default: all cores)")
        ->check(CLI::Range(1, 256));
    c->callback([run, a, c] {
      *run = [a, c] {
        if (a->data.empty() && a->scan_report.empty()) {
          std::fprintf(stderr, "%s: one of --data or --scan-report is required\n",
                       c->get_name().c_str());
          return 2;
        }
        return RunAssess(*a);
      };
    });
  }
  {
    auto a = std::make_shared<RecordArgs>();
    CLI::App* c = cmd->add_subcommand("record", "Add a transfer to the node's per-year counters");
    c->add_option("--home", a->home, "Node home directory (default $KEXIN_HOME or ~/.kexin)");
    c->add_option("--handler", a->handler, "Handler file (its id keys the counters)")->required();
    auto* as = c->add_option("--assessment", a->assessment,
                             "An `outbound assess --format json` report: people, date, basis");
    auto* p = c->add_option("--people", a->people, "People whose PI was sent")->check(kCount);
    auto* s =
        c->add_option("--sensitive-people", a->sensitive, "People whose sensitive PI was sent")
            ->check(kCount);
    auto* b = c->add_option("--basis", a->basis,
                            "counted (default), art3, art4, art5_1, art5_2, art5_3 or art6");
    auto* d = c->add_option("--destination", a->destination, "Recipient's country or region");
    c->add_option("--date", a->date, "Transfer date YYYY-MM-DD (default today, UTC)");
    as->excludes(p)->excludes(s)->excludes(b)->excludes(d);
    c->callback([run, a, c] {
      *run = [a, c] {
        if (a->assessment.empty() && c->count("--people") == 0 &&
            c->count("--sensitive-people") == 0) {
          std::fprintf(stderr, "record: give --assessment or --people/--sensitive-people\n");
          return 2;
        }
        return RunRecord(*a);
      };
    });
  }
  {
    auto home = std::make_shared<std::string>(identity::DefaultHome());
    auto handler = std::make_shared<std::string>();
    auto year = std::make_shared<int>(0);
    CLI::App* c = cmd->add_subcommand("counters", "Show a handler's counters for a year");
    c->add_option("--home", *home, "Node home directory (default $KEXIN_HOME or ~/.kexin)");
    c->add_option("--handler", *handler, "Handler file")->required();
    c->add_option("--year", *year, "Calendar year (default: this year, UTC)")
        ->check(CLI::Range(2000, 9999));
    c->callback([run, home, handler, year] {
      *run = [home, handler, year] {
        auto h = ob::LoadHandlerFile(*handler);
        if (!h.ok()) return Fail(h.status());
        int y = *year != 0 ? *year : std::stoi(NowRfc3339().substr(0, 4));
        auto st = OpenNodeStore(*home);
        if (!st.ok()) return Fail(st.status());
        auto cnt = ob::ReadCounters(st->get(), h->id, y);
        if (!cnt.ok()) return Fail(cnt.status());
        return WriteOutput("", CountersJson(*cnt, h->settings).dump(2) + "\n");
      };
    });
  }
}

}  // namespace kexin::cli
