// Renders scan results: JSON for programs (schema in docs/scan-report.md), an aligned table for
// people (colour when writing to a terminal), and a self-contained HTML report with charts.
// Thread-safety: pure functions.
#ifndef KEXIN_SCAN_REPORT_H_
#define KEXIN_SCAN_REPORT_H_

#include <string>
#include <vector>

#include "kexin/status.h"
#include "scan/rules.h"
#include "scan/scanner.h"

namespace kexin::scan {

// One file's outcome: a result, or the error that stopped it.
struct FileOutcome {
  std::string path;
  Status status;
  TableResult result;  // meaningful when status.ok()
};

struct ReportContext {
  const Rules* rules = nullptr;
  std::string generated_at;  // RFC 3339 UTC
  bool full = false;
};

std::string RenderJson(const std::vector<FileOutcome>& files, const ReportContext& ctx);
std::string RenderTable(const std::vector<FileOutcome>& files, const ReportContext& ctx,
                        bool colour);
std::string RenderHtml(const std::vector<FileOutcome>& files, const ReportContext& ctx);

// Terminal display width of UTF-8 text (East Asian wide characters count 2).
size_t DisplayWidth(std::string_view s);

}  // namespace kexin::scan

#endif  // KEXIN_SCAN_REPORT_H_
