// `kexin deid INPUT -o OUTPUT`: de-identify and anonymize a table (docs/deid.md).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "deid/deid.h"
#include "scan/report.h"
#include "tools/kexin/commands.h"

namespace kexin::cli {
namespace {

struct DeidArgs {
  std::string input, output, config, report;
  std::optional<uint64_t> k;
  std::optional<double> l, t, max_suppression;
  std::string metric;
  std::string key_file, key_env;
  std::string delimiter;
  std::string header = "auto";
  bool quiet = false;
};

int RunDeid(const DeidArgs& a) {
  deid::DeidOptions o;
  o.config_path = a.config;
  o.k = a.k;
  o.l = a.l;
  o.t = a.t;
  o.max_suppression = a.max_suppression;
  if (a.metric == "loss") o.metric = deid::Metric::kLoss;
  if (a.metric == "discernibility") o.metric = deid::Metric::kDiscernibility;
  if (a.metric == "precision") o.metric = deid::Metric::kPrecision;
  if (!a.key_file.empty()) o.key_file = a.key_file;
  if (!a.key_env.empty()) o.key_env = a.key_env;
  if (!a.delimiter.empty()) {
    if (a.delimiter == "\\t")
      o.read.delimiter = '\t';
    else if (a.delimiter.size() == 1)
      o.read.delimiter = a.delimiter[0];
    else
      return Fail(InvalidArgument("--delimiter must be one character (or \\t)"));
  }
  if (a.header != "auto") o.read.header = a.header == "yes";
  o.report_path = a.report;
  auto r = deid::RunDeid(a.input, a.output, o);
  if (!r.ok()) return Fail(r.status());
  if (!a.quiet) {
    std::printf("%s -> %s: %llu rows in, %llu rows out\n", r->input.c_str(), r->output.c_str(),
                static_cast<unsigned long long>(r->rows_in),
                static_cast<unsigned long long>(r->rows_out));
    for (const auto& c : r->columns) {
      if (c.role == deid::Role::kInsensitive && c.treatment == "keep") continue;
      size_t width = scan::DisplayWidth(c.name);
      std::printf("  %s%s %-11s %s", c.name.c_str(),
                  std::string(width < 20 ? 20 - width : 0, ' ').c_str(),
                  std::string(deid::RoleName(c.role)).c_str(), c.treatment.c_str());
      if (c.role == deid::Role::kQuasi) std::printf(" to level %d of %d", c.level, c.height - 1);
      std::printf("  [%s]\n", c.source.c_str());
    }
    if (r->searched) {
      const auto& b = r->search.best;
      std::printf(
          "  model: %s; utility loss (%s) %.4f; %llu records suppressed; smallest class %llu\n"
          "  risk (prosecutor, highest): %.4f before, %.4f after\n"
          "  search: %llu of %llu nodes checked in %.1f ms; total %.0f ms\n",
          deid::DescribeModel(r->model).c_str(), std::string(deid::MetricName(r->metric)).c_str(),
          b.utility, static_cast<unsigned long long>(b.suppressed_rows),
          static_cast<unsigned long long>(r->search.best.smallest_class),
          r->risk_before.prosecutor_highest, r->risk_after.prosecutor_highest,
          static_cast<unsigned long long>(r->search.checks),
          static_cast<unsigned long long>(r->search.lattice_size), r->search.seconds * 1000,
          r->total_seconds * 1000);
    }
    for (const auto& w : r->warnings) std::printf("  warning: %s\n", w.c_str());
  }
  return 0;
}

}  // namespace

void RegisterDeid(CLI::App& app, RunFn* run) {
  auto a = std::make_shared<DeidArgs>();
  CLI::App* cmd = app.add_subcommand(
      "deid",
      "De-identify a table: mask and pseudonymize identifiers, generalize "
      "quasi-identifiers to k-anonymity, l-diversity, t-closeness (docs/deid.md)");
  cmd->add_option("INPUT", a->input, "CSV or JSONL table")->required();
  cmd->add_option("-o,--output", a->output, "The de-identified table (written atomically)")
      ->required();
  cmd->add_option("--config", a->config, "TOML file with column roles, hierarchies and models");
  cmd->add_option("--k", a->k, "k-anonymity")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  cmd->add_option("--l", a->l,
                  "l-diversity of each sensitive column (distinct unless the config "
                  "says entropy or recursive)")
      ->check(CLI::Range(1.0, 1e9));
  cmd->add_option("--t", a->t,
                  "t-closeness of each sensitive column (equal distance unless the "
                  "config says hierarchical)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-suppression", a->max_suppression,
                  "Share of records that may be suppressed, 0..1 (default 0)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--metric", a->metric,
                  "Utility metric: loss (default), discernibility, precision")
      ->check(CLI::IsMember({"loss", "discernibility", "precision"}));
  cmd->add_option("--report", a->report, "Write the report: JSON, or HTML when R ends in .html");
  cmd->add_option("--key-file", a->key_file, "Pseudonym key file (at least 16 bytes)");
  cmd->add_option("--key-env", a->key_env, "Environment variable holding the pseudonym key");
  cmd->add_option("--delimiter", a->delimiter, "CSV delimiter instead of sniffing (\\t for tab)");
  cmd->add_option("--header", a->header, "CSV header row: auto, yes, no")
      ->check(CLI::IsMember({"auto", "yes", "no"}));
  cmd->add_flag("-q,--quiet", a->quiet, "No summary on stdout");
  cmd->callback([run, a] { *run = [a] { return RunDeid(*a); }; });
}

}  // namespace kexin::cli
