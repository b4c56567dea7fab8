// Module `scan`: discovers, classifies and grades sensitive data in a table.
//
// ScanFile reads a table (module `table`), matches every non-empty cell against the DetectorSet,
// and decides per column: the category (values decide; header hints only adjust confidence and
// thresholds), its GB/T 35273 PI category, sensitivity and GB/T 43697 level; per table: the highest
// level (就高从严), and distinct counts of individuals. Sample mode reads a head chunk plus blocks
// spread through the file; full mode reads every row, in parallel when threads > 1.
//
// Thread-safety: ScanFile is re-entrant; it spawns its own worker threads. The DetectorSet is
// shared read-only.
#ifndef KEXIN_SCAN_SCANNER_H_
#define KEXIN_SCAN_SCANNER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kexin/status.h"
#include "scan/detector_set.h"
#include "table/table_reader.h"

namespace kexin::scan {

struct ScanOptions {
  bool full = false;         // read every row; otherwise sample
  uint64_t sample_rows = 0;  // 0: the rules' [sample].rows
  int threads = 1;           // worker threads in full mode
  table::ReadOptions read;
  // Called from the reading thread with (bytes read, file bytes), at most a few times a second.
  std::function<void(uint64_t, uint64_t)> progress;
};

struct CategoryCount {
  std::string category;
  uint64_t count = 0;
  std::vector<std::string> examples;  // masked
};

struct ColumnResult {
  std::string name;
  size_t index = 0;
  std::optional<std::string> category;  // nullopt: nothing sensitive found
  double confidence = 0;
  double match_ratio = 0;   // of the chosen category (or the best candidate)
  std::string pi_category;  // GB/T 35273, empty when not PI
  bool sensitive = false;
  std::string level;
  bool header_hint = false;  // the header agreed with the category
  uint64_t values = 0, non_empty = 0;
  std::vector<CategoryCount> matches;   // every category that matched a cell, most first
  std::vector<CategoryCount> embedded;  // identifiers inside free text
  uint64_t cells_with_embedded = 0;
  std::optional<uint64_t> distinct;  // distinct values (categories that count individuals)
  bool distinct_exact = true;
  std::string reason;  // one line: why this category, or why none
};

struct IndividualCount {
  std::string category;
  std::string column;
  uint64_t distinct = 0;
  bool exact = true;
  bool sensitive = false;
};

struct TableResult {
  table::TableInfo info;
  bool sampled = false;  // true when not every row was read
  uint64_t rows_scanned = 0;
  uint64_t rows_skipped = 0;  // sample mode: records skipped at block boundaries
  uint64_t bytes_scanned = 0;
  std::optional<uint64_t> rows_estimated;  // sample mode: file bytes / mean row bytes
  double seconds = 0;
  int threads = 1;
  std::vector<ColumnResult> columns;
  std::string level;
  std::vector<std::string> level_reasons;
  bool contains_pi = false;
  bool contains_sensitive_pi = false;
  std::vector<IndividualCount> individuals;
  uint64_t individuals_estimate = 0;  // max over the counts above (a lower bound when sampled)
  // Sample mode: the estimate scaled to the whole file for columns whose sampled values are
  // nearly all distinct (one person per row); 0 when not applicable.
  uint64_t individuals_extrapolated = 0;
  std::vector<std::string> warnings;
};

// Scans one file. Errors name the file and row: "orders.csv:1042: expected 9 fields, found 8".
Result<TableResult> ScanFile(const std::string& path, const DetectorSet& detectors,
                             const ScanOptions& options);

// Decides one column from its gathered evidence (exposed for tests).
struct ColumnStats;
ColumnResult DecideColumn(const DetectorSet& detectors, const std::string& name, size_t index,
                          const ColumnStats& stats);

// Grades a table from its decided columns and individual counts.
void GradeTable(const Rules& rules, TableResult* table);

// True when a header names this category ("身份证号" for id_card_cn); `negative` checks the
// category's negative hints instead.
bool HeaderHints(const CategoryRule& rule, std::string_view header, bool negative = false);

}  // namespace kexin::scan

#endif  // KEXIN_SCAN_SCANNER_H_
