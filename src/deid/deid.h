// Module `deid`: de-identification and anonymization of a table (GB/T 37964; `kexin deid`).
//
// RunDeid reads a CSV or JSONL table twice, streaming, so memory is bounded by the distinct
// quasi-identifier combinations rather than the rows:
//  1. roles: each column's role comes from the config, else from `kexin scan`'s category
//     (config.h); direct identifiers get operators (operators.h), quasi-identifiers hierarchies
//     (hierarchy.h);
//  2. pass one encodes the quasi-identifiers and sensitive values into a frequency table
//     (dataset.h);
//  3. the search (search.h) finds the optimal generalization under the privacy models;
//  4. pass two writes the transformed table to a temporary file next to the output, which is
//     renamed into place only when complete; suppressed records have every quasi-identifier
//     replaced by "*" (or are removed);
//  5. the result carries what a report needs: roles, operators, chosen levels, risk and utility
//     before and after (docs/deid.md describes the report).
//
// Thread-safety: RunDeid is re-entrant.
#ifndef KEXIN_DEID_DEID_H_
#define KEXIN_DEID_DEID_H_

#include <optional>
#include <string>
#include <vector>

#include "deid/config.h"
#include "deid/risk.h"
#include "deid/search.h"
#include "kexin/status.h"
#include "table/table_reader.h"

namespace kexin::deid {

struct DeidOptions {
  std::string config_path;  // empty: roles from the scan alone
  // Command-line overrides of the config.
  std::optional<uint64_t> k;
  std::optional<double> l, t, max_suppression;
  std::optional<Metric> metric;
  std::optional<std::string> key_file, key_env;
  table::ReadOptions read;
  // Written atomically before the output is published: JSON, or HTML when it ends in .html.
  std::string report_path;
};

struct ColumnOutcome {
  std::string name;
  Role role = Role::kInsensitive;
  std::string source;     // "config", "scan (id_card_cn)", "default"
  std::string treatment;  // "mask", "pseudonymize (hmac-sha256)", "generalize", "keep", ...
  std::string hierarchy;  // quasi-identifiers
  int level = 0, height = 1;
  std::vector<std::string> examples;  // quasi-identifiers: a few generalized values
};

struct DeidResult {
  std::string input, output;
  std::string format, encoding;
  uint64_t rows_in = 0, rows_out = 0;
  std::vector<ColumnOutcome> columns;
  PrivacyModel model;
  bool model_default = false;  // k = 5 was chosen because none was given
  Metric metric = Metric::kLoss;
  SuppressedRows suppressed_rows = SuppressedRows::kMask;
  bool searched = false;  // false when the table has no quasi-identifier
  SearchResult search;
  uint64_t distinct_combinations = 0;  // cells of the frequency table
  RiskSummary risk_before, risk_after;
  double utility_before = 0;  // the metric on the original data (0 for loss and precision)
  double read_seconds = 0, write_seconds = 0, total_seconds = 0;
  std::vector<std::string> warnings;
};

// Errors: kInvalidArgument (bad config, unknown column, k larger than the rows, output equal to
// input), kNotFound / kPermissionDenied (input, hierarchy or key file), kDataError naming
// FILE:ROW and the column (a value missing from its hierarchy, ragged rows), kFailedPrecondition
// (no generalization satisfies the models within the suppression limit). The output is never left
// half-written.
Result<DeidResult> RunDeid(const std::string& input, const std::string& output,
                           const DeidOptions& options);

std::string DeidReportJson(const DeidResult& r);
std::string DeidReportHtml(const DeidResult& r);

}  // namespace kexin::deid

#endif  // KEXIN_DEID_DEID_H_
