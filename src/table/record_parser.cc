// RecordParser implementations: RFC 4180 CSV and JSONL with nested objects flattened to dotted
// paths. Both validate UTF-8 and name the record (and column) at fault.
#include <emmintrin.h>
#include <simdjson.h>

#include <array>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>

#include "table/encoding.h"
#include "table/table_reader.h"

namespace kexin::table {
namespace {

std::string RecordPrefix(uint64_t record) { return "record " + std::to_string(record) + ": "; }

class CsvRecordParser final : public RecordParser {
 public:
  explicit CsvRecordParser(const TableInfo& info)
      : delim_(info.delimiter), max_record_(info.max_record_bytes) {
    columns_ = info.columns;
    special_.fill(false);
    special_[static_cast<unsigned char>(delim_)] = true;
    special_['\n'] = special_['\r'] = special_['"'] = true;
  }

  Status Parse(std::string_view data, bool lenient, const RecordFn& fn) override {
    return ParseBatches(data, lenient, 1, [&](const std::string_view*, size_t, size_t) {
      fn(records_ - 1, cells_);  // one record per batch: cells_ holds just it
    });
  }

  Status ParseBatches(std::string_view data, bool lenient, size_t max_rows,
                      const BatchFn& fn) override {
    records_ = skipped_ = blank_ = failed_record_ = 0;
    // Cells of the pending batch accumulate in cells_; quoted cells point into scratch_, which is
    // reserved for the whole chunk (unquoting never lengthens text) so it never moves.
    cells_.clear();
    scratch_.clear();
    size_t rows = 0;
    auto flush = [&] {
      if (rows) fn(cells_.data(), rows, columns_.size());
      cells_.clear();
      scratch_.clear();
      rows = 0;
    };
    size_t bad_utf8 = std::string_view::npos;
    if (!IsValidUtf8(data)) bad_utf8 = FirstInvalidUtf8(data);
    if (scratch_.capacity() < data.size()) scratch_.reserve(data.size());
    const size_t want = columns_.size();
    const char* p = data.data();
    const size_t n = data.size();
    const SpecialBytes sb = Specials();
    size_t pos = 0;
    while (pos < n) {
      size_t record_start = pos;
      const size_t first_cell = cells_.size();
      bool unbalanced = false;
      // One record.
      while (true) {
        if (pos < n && p[pos] == '"') {
          // Quoted field: "" is an escaped quote; text after the closing quote is kept literally.
          size_t start = scratch_.size();
          ++pos;
          bool closed = false;
          while (pos < n) {
            const void* q = memchr(p + pos, '"', n - pos);
            if (q == nullptr) break;
            size_t qi = static_cast<const char*>(q) - p;
            scratch_.append(p + pos, qi - pos);
            if (qi + 1 < n && p[qi + 1] == '"') {
              scratch_.push_back('"');
              pos = qi + 2;
              continue;
            }
            pos = qi + 1;
            closed = true;
            break;
          }
          if (!closed) {
            unbalanced = true;
            pos = n;
            break;
          }
          // Text after the closing quote, up to the delimiter, is kept literally (quotes too).
          while (pos < n && p[pos] != delim_ && p[pos] != '\n' && p[pos] != '\r')
            scratch_.push_back(p[pos++]);
          cells_.emplace_back(scratch_.data() + start, scratch_.size() - start);
        } else {
          size_t start = pos;
          pos = NextSpecial(p, pos, n, sb);
          while (pos < n && p[pos] == '"') {  // a stray quote inside an unquoted field is literal
            pos = NextSpecial(p, pos + 1, n, sb);
          }
          cells_.emplace_back(p + start, pos - start);
        }
        if (pos < n && p[pos] == delim_) {
          ++pos;
          continue;
        }
        break;  // end of record: newline, CR or end of data
      }
      if (pos < n && p[pos] == '\r') ++pos;
      if (pos < n && p[pos] == '\n') ++pos;
      uint64_t record = records_;
      if (unbalanced) {
        cells_.resize(first_cell);
        flush();
        failed_record_ = record;
        ++records_;
        return DataError(RecordPrefix(record) + "unbalanced quote: a quoted field is never closed");
      }
      uint64_t record_bytes = pos - record_start;
      const size_t ncells = cells_.size() - first_cell;
      if (ncells == 1 && cells_[first_cell].empty() &&
          want != 1) {  // blank line: numbered, not a row
        cells_.resize(first_cell);
        ++records_;
        ++blank_;
        continue;
      }
      ++records_;
      if (record_bytes > max_record_) {
        cells_.resize(first_cell);
        flush();
        failed_record_ = record;
        return ResourceExhausted(RecordPrefix(record) + "row of " + std::to_string(record_bytes) +
                                 " bytes is longer than the limit of " +
                                 std::to_string(max_record_) + " bytes (--max-row-mib)");
      }
      if (bad_utf8 >= record_start && bad_utf8 < pos) {
        cells_.resize(first_cell);
        if (lenient) {
          ++skipped_;
          std::string_view rest = data.substr(pos);
          bad_utf8 = IsValidUtf8(rest) ? std::string_view::npos : pos + FirstInvalidUtf8(rest);
          continue;
        }
        flush();
        failed_record_ = record;
        return DataError(RecordPrefix(record) + "invalid UTF-8 at byte " +
                         std::to_string(bad_utf8 - record_start) + " of the row");
      }
      if (ncells != want) {
        cells_.resize(first_cell);
        if (lenient) {
          ++skipped_;
          continue;
        }
        flush();
        failed_record_ = record;
        return DataError(RecordPrefix(record) + "expected " + std::to_string(want) +
                         " fields, found " + std::to_string(ncells) + " (ragged row)");
      }
      if (++rows == max_rows) flush();
    }
    flush();
    return Status::Ok();
  }

 private:
  // Position of the next delimiter, CR, LF or quote at or after pos (n when none): 16 bytes at a
  // time with SSE2, then byte by byte.
  struct SpecialBytes {  // the bytes NextSpecial looks for, each in every lane
    __m128i d, lf, cr, q;
  };
  SpecialBytes Specials() const {
    return {_mm_set1_epi8(delim_), _mm_set1_epi8('\n'), _mm_set1_epi8('\r'), _mm_set1_epi8('"')};
  }
  size_t NextSpecial(const char* p, size_t pos, size_t n, const SpecialBytes& sb) const {
    const __m128i d = sb.d, lf = sb.lf, cr = sb.cr, q = sb.q;
    while (pos + 16 <= n) {
      __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + pos));
      __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, d), _mm_cmpeq_epi8(b, lf)),
                                 _mm_or_si128(_mm_cmpeq_epi8(b, cr), _mm_cmpeq_epi8(b, q)));
      int mask = _mm_movemask_epi8(hit);
      if (mask != 0) return pos + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      pos += 16;
    }
    while (pos < n && !special_[static_cast<unsigned char>(p[pos])]) ++pos;
    return pos;
  }

  char delim_;
  size_t max_record_;
  std::array<bool, 256> special_{};
  std::vector<std::string_view> cells_;
  std::string scratch_;
};

class JsonlRecordParser final : public RecordParser {
 public:
  explicit JsonlRecordParser(const TableInfo& info) : max_record_(info.max_record_bytes) {
    for (const auto& c : info.columns) Index(c);
  }

  Status Parse(std::string_view data, bool lenient, const RecordFn& fn) override {
    records_ = skipped_ = blank_ = failed_record_ = 0;
    size_t pos = 0;
    while (pos < data.size()) {
      size_t nl = data.find('\n', pos);
      if (nl == std::string_view::npos) nl = data.size();
      std::string_view line = data.substr(pos, nl - pos);
      pos = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) {
        if (nl < data.size()) {  // a blank line (not the end of the data): numbered, not a row
          ++records_;
          ++blank_;
        }
        continue;
      }
      uint64_t record = records_++;
      if (line.size() > max_record_) {
        failed_record_ = record;
        return ResourceExhausted(RecordPrefix(record) + "line of " + std::to_string(line.size()) +
                                 " bytes is longer than the limit of " +
                                 std::to_string(max_record_) + " bytes (--max-row-mib)");
      }
      simdjson::dom::element doc;
      auto err = parser_.parse(line.data(), line.size()).get(doc);
      std::string problem;
      if (err) {
        problem = std::string("invalid JSON: ") + simdjson::error_message(err);
      } else if (!doc.is_object()) {
        problem = "expected a JSON object";
      }
      if (!problem.empty()) {
        if (lenient) {
          ++skipped_;
          continue;
        }
        failed_record_ = record;
        return DataError(RecordPrefix(record) + problem);
      }
      cells_.assign(columns_.size(), std::string_view());
      used_ = 0;
      path_.clear();
      Flatten(doc);
      fn(record, cells_);
    }
    return Status::Ok();
  }

  // Cells point into the parsed document, which the next line overwrites: one record a batch.
  Status ParseBatches(std::string_view data, bool lenient, size_t, const BatchFn& fn) override {
    return Parse(data, lenient, [&](uint64_t, const std::vector<std::string_view>& cells) {
      fn(cells.data(), 1, cells.size());
    });
  }

 private:
  size_t Index(const std::string& key) {
    auto [it, inserted] = index_.try_emplace(key, columns_.size());
    if (inserted) columns_.push_back(key);
    return it->second;
  }

  std::string_view Store(std::string s) {
    if (used_ == pool_.size()) pool_.emplace_back();
    pool_[used_] = std::move(s);
    return pool_[used_++];
  }

  void Put(std::string_view value) {
    size_t i = Index(path_);
    if (i >= cells_.size()) cells_.resize(columns_.size());
    cells_[i] = value;
  }

  void Flatten(simdjson::dom::element e) {
    using simdjson::dom::element_type;
    switch (e.type()) {
      case element_type::OBJECT: {
        size_t len = path_.size();
        simdjson::dom::object obj = e.get_object().value_unsafe();
        for (auto field : obj) {
          if (len) path_ += '.';
          path_.append(field.key.data(), field.key.size());
          Flatten(field.value);
          path_.resize(len);
        }
        return;
      }
      case element_type::STRING:
        Put(e.get_string().value_unsafe());
        return;
      case element_type::NULL_VALUE:
        Put(std::string_view());
        return;
      case element_type::BOOL:
        Put(e.get_bool().value_unsafe() ? "true" : "false");
        return;
      default:  // numbers keep their shortest text; arrays stay JSON text
        Put(Store(simdjson::minify(e)));
        return;
    }
  }

  size_t max_record_;
  simdjson::dom::parser parser_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::string_view> cells_;
  std::deque<std::string> pool_;  // stable addresses: cells point into it
  size_t used_ = 0;
  std::string path_;
};

}  // namespace

std::unique_ptr<RecordParser> RecordParser::Create(const TableInfo& info) {
  if (info.format == Format::kJsonl) return std::make_unique<JsonlRecordParser>(info);
  return std::make_unique<CsvRecordParser>(info);
}

std::vector<std::string> SplitCsvLine(std::string_view line, char delimiter) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          out.back() += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        out.back() += c;
      }
    } else if (c == '"' && out.back().empty()) {
      quoted = true;
    } else if (c == delimiter) {
      out.emplace_back();
    } else if (c != '\r' && c != '\n') {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace kexin::table
