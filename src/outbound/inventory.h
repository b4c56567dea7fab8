// The data inventory of a transfer, taken from `kexin scan` (its JSON report, docs/scan-report.md),
// and the distinct people it covers.
//
// People per file = the largest of: distinct normalised identifiers per column (ID numbers,
// phones, e-mail, bank cards, passports, permits: counted by the scan), and distinct
// (name, birth date) pairs (CountNameBirthPairs, a pass of our own over the table). A file with
// personal information but none of these falls back to its row count, marked as an upper bound.
// Sensitive people per file = the largest distinct count among sensitive identifier columns when
// every sensitive column carries such a count, else the file's people (a sensitive column without
// identifiers, such as a diagnosis, belongs to every row's person). Several files: the sum, an
// upper bound when the same person appears in more than one file.
//
// Thread-safety: pure functions; CountNameBirthPairs reads a file.
#ifndef KEXIN_OUTBOUND_INVENTORY_H_
#define KEXIN_OUTBOUND_INVENTORY_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kexin/status.h"
#include "outbound/negative_list.h"
#include "table/table_reader.h"

namespace kexin::outbound {

struct InventoryColumn {
  std::string name;
  std::string category;  // empty: unclassified
  std::string pi_category;
  std::string level;
  bool sensitive = false;
  std::optional<uint64_t> distinct;
  std::vector<std::string> embedded;
};

struct PeopleCount {
  std::string method;  // "id_card_cn in 证件号码", "person_name + birth_date (姓名, 出生日期)"
  uint64_t distinct = 0;
  bool exact = true;
  bool sensitive = false;
};

struct InventoryFile {
  std::string path;
  std::string mode;   // "full" or "sample"
  uint64_t rows = 0;  // rows scanned
  std::optional<uint64_t> rows_estimated;
  std::string level;
  std::vector<std::string> level_reasons;
  bool contains_pi = false, contains_sensitive_pi = false;
  std::vector<InventoryColumn> columns;
  std::vector<PeopleCount> counts;  // every count considered
  uint64_t people = 0, sensitive_people = 0;
  std::string people_method, sensitive_method;
  bool exact = true;
};

struct Inventory {
  std::string source;      // "scan of the --data files" or the scan report's path
  std::string scanned_at;  // the scan report's generated_at
  std::string rules;       // the scan's rules
  std::vector<InventoryFile> files;
  bool contains_pi = false, contains_sensitive_pi = false;
  uint64_t people = 0, sensitive_people = 0;
  bool exact = true;
  std::vector<std::string> sensitive_categories;  // distinct, in order of first appearance
  std::vector<std::string> pi_categories;
  std::vector<std::string> important_reasons;  // files the scan graded important
  std::string method;
  std::vector<std::string> notes;

  std::vector<ColumnRef> Columns() const;
};

// Reads a scan report (schema_version 1). Errors name `source` and the missing key; a report whose
// files failed is refused (kFailedPrecondition), since a transfer cannot be assessed from half of
// its data.
Result<Inventory> InventoryFromScanJson(const nlohmann::json& report, const std::string& source);

// Counts distinct (person_name, birth_date) pairs of `file` (both columns non-empty; the name
// trimmed, the date reduced to its digit groups, each zero-padded to two digits, so 1959-07-21,
// 1959-7-21 and 19590721 agree). Adds the count to
// file->counts and recomputes the file's people when both columns exist; a no-op otherwise.
Status CountNameBirthPairs(InventoryFile* file, const table::ReadOptions& options);

// Recomputes a file's people and sensitive people from its counts, then the totals.
void ComputePeople(InventoryFile* file);
void ComputeTotals(Inventory* inv);

}  // namespace kexin::outbound

#endif  // KEXIN_OUTBOUND_INVENTORY_H_
