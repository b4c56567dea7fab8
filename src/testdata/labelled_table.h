// Module `testdata`: a deterministic synthetic table whose every column carries a ground-truth
// label, for measuring the scanner's accuracy and speed.
//
// The table has a fixed set of columns (Columns()): one positive column per detectable category,
// several under headers that do not give the category away (an ID-card column called "编号", a
// name column called "col_17"), and decoy columns that look like identifiers but are not (order
// numbers, ID-shaped numbers with a wrong check character, recent dates, city names). Values are
// valid by the standards the scanner checks (GB 11643 check characters, Luhn, GB 32100, ISO 3779),
// about 3% of positive cells are empty, and the output is byte-for-byte reproducible from the
// seed. RowWriter is fast enough to generate gigabyte benchmark inputs (a splitmix64 generator,
// no allocation per cell).
//
// Thread-safety: Columns() and LabelsJson() return immutable data and are safe from any thread.
// A RowWriter is used by one thread at a time; separate writers are independent.
#ifndef KEXIN_TESTDATA_LABELLED_TABLE_H_
#define KEXIN_TESTDATA_LABELLED_TABLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"

namespace kexin::testdata {

struct LabelledColumn {
  std::string header;
  std::string category;  // the scan category id; empty: not sensitive
  bool decoy = false;    // looks like an identifier, but a correct scanner flags nothing
  // JSONL: the object this column is nested in ("contact" gives the key path "contact.手机号"), or
  // empty for a top-level key.
  std::string json_group;

  // The column name a scanner reports for this column in JSONL output ("contact.手机号").
  std::string JsonPath() const { return json_group.empty() ? header : json_group + "." + header; }
};

// The fixed column set, in output order.
const std::vector<LabelledColumn>& Columns();

// Index in Columns() of the column with this header, or -1.
int ColumnIndex(std::string_view header);

// The labels as JSON: [{"header":..,"category":..|null,"decoy":bool,"jsonl_path":..},...].
std::string LabelsJson();

enum class OutputFormat { kCsv, kJsonl };
enum class OutputEncoding { kUtf8, kGb18030 };

struct GenOptions {
  uint64_t rows = 1000;
  uint64_t seed = 1;
  uint64_t target_bytes = 0;  // if > 0, write rows until the file has at least this many bytes
  char delimiter = ',';       // CSV only
  OutputFormat format = OutputFormat::kCsv;
  OutputEncoding encoding = OutputEncoding::kUtf8;
};

struct GenStats {
  uint64_t rows = 0;   // data rows written (the CSV header is not counted)
  uint64_t bytes = 0;  // file bytes, after encoding
};

// Produces the rows of the table, one at a time. The same seed yields the same rows.
class RowWriter {
 public:
  explicit RowWriter(uint64_t seed);

  // Appends one CSV record including '\n', quoting fields per RFC 4180 where needed.
  void AppendRow(std::string* out, char delim);
  // Appends one JSONL record including '\n'; grouped columns are nested objects, empty cells are
  // null (the always-empty column is "").
  void AppendJsonRow(std::string* out);
  // Generates the next row and points *cells at its values, one per column of Columns(). The views
  // stay valid until the next call on this writer.
  void NextCells(std::vector<std::string_view>* cells);

 private:
  uint64_t Next();
  uint64_t Uniform(uint64_t n);  // [0, n)
  bool Chance(uint32_t per_mille);
  void Generate();
  void Cell(size_t column);
  void Digits(int n);
  void Put(std::string_view s);
  void PutChar(char c) { row_[len_++] = c; }
  void PutNumber(uint64_t v, int min_width);
  void IdCard(bool valid);
  void Uscc(bool valid);
  void Mobile();
  void Email();
  void Date(int first_day, int days, char sep);
  void Name();

  // Far above the longest row the columns can produce (about 1 KB).
  static constexpr size_t kRowCapacity = 16384;

  uint64_t state_;
  std::unique_ptr<char[]> row_;  // the current row: values back to back (CSV: with delimiters)
  size_t len_ = 0;
  std::vector<uint32_t> ends_;           // end offset of each column's value in row_
  char quote_delim_ = '\0';              // the delimiter quote_check_ was computed for
  uint64_t quote_check_ = 0;             // bit c: column c's values may hold quote_delim_
  std::vector<std::string> recent_ids_;  // earlier ID numbers, reused for repeat customers
  size_t recent_next_ = 0;
};

// Writes the header (CSV) and rows to `path` through a temporary file in the same directory that
// is renamed into place, so a failed run leaves no partial file. Errors name the path.
Result<GenStats> Generate(const std::string& path, const GenOptions& options);

// Generate() with format CSV and UTF-8.
Status WriteCsv(const std::string& path, const GenOptions& options);

}  // namespace kexin::testdata

#endif  // KEXIN_TESTDATA_LABELLED_TABLE_H_
