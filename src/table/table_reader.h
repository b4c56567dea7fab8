// Module `table`: streaming readers for CSV (RFC 4180) and JSONL tables.
//
// TableReader opens a file, detects its encoding (UTF-8, UTF-8 with BOM, GB18030/GBK), format,
// CSV delimiter and header from a prefix, and then hands out Chunks: runs of complete records in
// UTF-8, never splitting a record. Memory is bounded by the chunk size and the record-size limit,
// whatever the file size. RecordParser turns a chunk into records of cells; one parser per worker
// thread lets chunks be parsed in parallel.
//
// Row numbers in messages count records from 1 with the header as row 1, the way a spreadsheet
// shows them (a quoted field with embedded newlines is one row).
//
// Thread-safety: a TableReader is used by one thread at a time; a RecordParser likewise. Chunks are
// plain values and may be moved to other threads.
#ifndef KEXIN_TABLE_TABLE_READER_H_
#define KEXIN_TABLE_TABLE_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"
#include "table/encoding.h"

namespace kexin::table {

enum class Format { kCsv, kJsonl };
std::string_view FormatName(Format f);  // "csv", "jsonl"

struct ReadOptions {
  size_t chunk_bytes = size_t{4} << 20;        // target size of one chunk
  size_t max_record_bytes = size_t{16} << 20;  // a longer record is kResourceExhausted
  std::optional<char> delimiter;               // CSV: force a delimiter instead of sniffing
  std::optional<bool> header;                  // CSV: force header on/off instead of detecting
};

struct TableInfo {
  std::string path;
  Format format = Format::kCsv;
  Encoding encoding = Encoding::kUtf8;
  char delimiter = ',';  // CSV only
  bool has_header = true;
  // CSV: the header's names, or col_1..col_n. JSONL: the dotted key paths seen in the sniffed
  // prefix (RecordParser adds keys that appear later).
  std::vector<std::string> columns;
  uint64_t file_bytes = 0;
  uint64_t data_offset = 0;                    // byte offset in the file of the first data record
  size_t max_record_bytes = size_t{16} << 20;  // from ReadOptions; RecordParser enforces it
};

struct Chunk {
  uint64_t index = 0;        // sequence number of the chunk in this read
  uint64_t file_offset = 0;  // file byte offset of the first record (before decoding)
  uint64_t file_bytes = 0;   // file bytes this chunk covers (before decoding)
  std::string data;          // complete records, UTF-8
};

class TableReader {
 public:
  // Opens and sniffs `path`. Errors: kNotFound, kPermissionDenied, kInvalidArgument (a directory),
  // kDataError (empty, binary, undecodable, no records).
  static Result<std::unique_ptr<TableReader>> Open(const std::string& path,
                                                   const ReadOptions& options);
  virtual ~TableReader() = default;

  const TableInfo& info() const { return info_; }

  // Sequential read from the first data record. Returns false at end of input. A record longer than
  // max_record_bytes, or a quote still open at end of file, is an error naming the row (rows are
  // counted by the caller from chunk record counts; see RecordParser).
  virtual Result<bool> Next(Chunk* chunk) = 0;

  // Random read for sampling: up to `bytes` of complete records starting at the first line start
  // at or after `offset`. The line start is a guess when quoted fields hold newlines; records that
  // do not have the header's field count should be skipped by the caller (ParseOptions::lenient).
  virtual Result<bool> ReadAt(uint64_t offset, size_t bytes, Chunk* chunk) = 0;

  // After Next() failed to decode: newlines decoded since the last chunk it returned, so the
  // caller can name the row at fault.
  uint64_t lines_after_last_chunk() const { return failed_lines_; }

 protected:
  TableInfo info_;
  uint64_t failed_lines_ = 0;
};

// One parsed record: cells[i] belongs to column i of RecordParser::columns(). Missing JSONL keys
// are empty.
using RecordFn =
    std::function<void(uint64_t record_in_chunk, const std::vector<std::string_view>&)>;
// A batch of parsed records, row-major: cell c of record r is cells[r * columns + c]. The views
// stay valid until the callback returns.
using BatchFn = std::function<void(const std::string_view* cells, size_t rows, size_t columns)>;

class RecordParser {
 public:
  static std::unique_ptr<RecordParser> Create(const TableInfo& info);
  virtual ~RecordParser() = default;

  // Parses every record in `data`. On a malformed record returns kDataError whose message starts
  // with "record N: " where N is the 0-based record index in this chunk (failed_record() too).
  // With `lenient`, malformed records are counted in skipped() and parsing goes on.
  virtual Status Parse(std::string_view data, bool lenient, const RecordFn& fn) = 0;
  // Like Parse, but hands out up to `max_rows` records at a time (so a consumer can work column by
  // column). Records of one batch have the same number of cells.
  virtual Status ParseBatches(std::string_view data, bool lenient, size_t max_rows,
                              const BatchFn& fn) = 0;
  // Records in the last parsed chunk, including skipped ones.
  uint64_t records() const { return records_; }
  uint64_t skipped() const { return skipped_; }
  uint64_t blank() const { return blank_; }  // blank lines (counted in records() for row numbers)
  uint64_t failed_record() const { return failed_record_; }
  const std::vector<std::string>& columns() const { return columns_; }

 protected:
  std::vector<std::string> columns_;
  uint64_t records_ = 0;
  uint64_t skipped_ = 0;
  uint64_t blank_ = 0;
  uint64_t failed_record_ = 0;
};

// Splits one CSV record line (no newline) for sniffing and tests. Exposed for the fuzz target.
std::vector<std::string> SplitCsvLine(std::string_view line, char delimiter);

// Picks the delimiter among , ; TAB | that splits the first lines of `sample` most consistently.
char SniffDelimiter(std::string_view sample);

// Heuristic: the first row is a header unless one of its cells looks like data (a number, or
// holds a run of five or more digits) or two cells repeat.
bool LooksLikeHeader(const std::vector<std::string>& first_row);

}  // namespace kexin::table

#endif  // KEXIN_TABLE_TABLE_READER_H_
