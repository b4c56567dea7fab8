// `kexin scan FILE...`: discover, classify and grade sensitive data; `kexin rules show`.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <thread>

#include "base/clock.h"
#include "scan/detector_set.h"
#include "scan/report.h"
#include "scan/rules.h"
#include "scan/scanner.h"
#include "tools/kexin/commands.h"

namespace kexin::cli {
namespace {

struct ScanArgs {
  std::vector<std::string> files;
  std::string format = "table";
  bool full = false;
  uint64_t sample = 0;
  std::string rules;
  int threads = 0;
  std::string out;
  std::string delimiter;
  std::string header = "auto";
  uint64_t max_row_mib = 16;
  std::string colour = "auto";
  bool quiet = false;
};

int RunScan(const ScanArgs& a) {
  Result<scan::Rules> rules = a.rules.empty() ? scan::DefaultRules() : scan::LoadRulesFile(a.rules);
  if (!rules.ok()) return Fail(rules.status());
  auto det = scan::DetectorSet::Build(*rules);
  if (!det.ok()) return Fail(det.status());

  scan::ScanOptions opts;
  opts.full = a.full;
  opts.sample_rows = a.sample;
  opts.threads = a.threads > 0
                     ? a.threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opts.read.max_record_bytes = static_cast<size_t>(a.max_row_mib) << 20;
  if (!a.delimiter.empty()) {
    std::string d = a.delimiter == "\\t" || a.delimiter == "tab" ? "\t" : a.delimiter;
    if (d.size() != 1)
      return Fail(InvalidArgument("--delimiter must be one character, got '" + a.delimiter + "'"));
    opts.read.delimiter = d[0];
  }
  if (a.header == "yes") opts.read.header = true;
  if (a.header == "no") opts.read.header = false;

  std::vector<scan::FileOutcome> outcomes;
  int exit_code = 0;
  for (const auto& path : a.files) {
    ProgressBar bar("scanning " + path, !a.quiet);
    opts.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
    auto r = scan::ScanFile(path, **det, opts);
    bar.Finish();
    scan::FileOutcome o;
    o.path = path;
    if (r.ok()) {
      o.result = std::move(r).value();
    } else {
      o.status = r.status();
      std::fprintf(stderr, "kexin: %s\n", o.status.ToString().c_str());
      if (exit_code == 0) exit_code = ExitCodeFor(o.status);
    }
    outcomes.push_back(std::move(o));
  }

  scan::ReportContext ctx;
  ctx.rules = &rules.value();
  ctx.generated_at = NowRfc3339();
  ctx.full = a.full;
  std::string text;
  if (a.format == "json") {
    text = scan::RenderJson(outcomes, ctx);
  } else if (a.format == "html") {
    text = scan::RenderHtml(outcomes, ctx);
  } else {
    bool to_tty = (a.out.empty() || a.out == "-") && isatty(STDOUT_FILENO);
    bool colour =
        a.colour == "always" || (a.colour == "auto" && to_tty && getenv("NO_COLOR") == nullptr);
    text = scan::RenderTable(outcomes, ctx, colour);
    if (exit_code != 0) text += "INCOMPLETE: some files could not be scanned (see errors above)\n";
  }
  int w = WriteOutput(a.out, text);
  return exit_code != 0 ? exit_code : w;
}

}  // namespace

void RegisterScan(CLI::App& app, RunFn* run) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "scan", "Discover, classify (GB/T 35273) and grade (GB/T 43697) sensitive data in tables");
  cmd->add_option("FILE", args->files, "CSV or JSONL files (UTF-8, UTF-8 with BOM, GB18030/GBK)")
      ->required();
  cmd->add_option("--format", args->format,
                  "Output: table (for people), json (docs/scan-report.md), html")
      ->check(CLI::IsMember({"table", "json", "html"}));
  auto* full = cmd->add_flag("--full", args->full, "Read every row (default: sample)");
  cmd->add_option("--sample", args->sample,
                  "Rows to sample (default: the rules' [sample].rows, 10000)")
      ->excludes(full)
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  cmd->add_option("--rules", args->rules, "Rule file replacing the built-in rules (docs/rules.md)");
  cmd->add_option("--threads", args->threads, "Worker threads for --full (default: all cores)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("-o,--output", args->out, "Write the report here (atomically) instead of stdout");
  cmd->add_option("--delimiter", args->delimiter,
                  "CSV delimiter instead of sniffing (use \\t for tab)");
  cmd->add_option("--header", args->header, "CSV header row: auto, yes, no")
      ->check(CLI::IsMember({"auto", "yes", "no"}));
  cmd->add_option("--max-row-mib", args->max_row_mib, "Longest row accepted, in MiB (default 16)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{4096}));
  cmd->add_option("--color", args->colour, "Colour in table output: auto, always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
  cmd->callback([run, args] { *run = [args] { return RunScan(*args); }; });
}

void RegisterRules(CLI::App& app, RunFn* run) {
  CLI::App* cmd = app.add_subcommand("rules", "Show or check rule files");
  CLI::App* show =
      cmd->add_subcommand("show", "Print the built-in rules (a starting point for --rules)");
  auto file = std::make_shared<std::string>();
  CLI::App* check = cmd->add_subcommand("check", "Check a rule file and list its categories");
  check->add_option("FILE", *file, "Rule file")->required();
  cmd->require_subcommand(1);
  show->callback(
      [run] { *run = [] { return WriteOutput("", std::string(scan::DefaultRulesText())); }; });
  check->callback([run, file] {
    *run = [file] {
      auto r = scan::LoadRulesFile(*file);
      if (!r.ok()) return Fail(r.status());
      auto d = scan::DetectorSet::Build(*r);
      if (!d.ok()) return Fail(d.status());
      std::printf("%s: %zu categories, levels %zu\n", file->c_str(), r->categories.size(),
                  r->levels.size());
      for (const auto& c : r->categories)
        std::printf("  %-20s %-10s %s\n", c.id.c_str(), c.level.c_str(), c.name_zh.c_str());
      return 0;
    };
  });
}

}  // namespace kexin::cli
