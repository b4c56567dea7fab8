// TableReader: file access, sniffing, and splitting a stream into chunks of whole records.
#include "table/table_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

namespace kexin::table {
namespace {

constexpr size_t kSniffBytes = 64 * 1024;

bool IsJsonlName(const std::string& path) {
  for (const char* ext : {".jsonl", ".ndjson", ".json"}) {
    std::string_view e(ext);
    if (path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0)
      return true;
  }
  return false;
}

// Where quoted fields are in a run of CSV text that starts at a record boundary. A quote opens a
// quoted field only at the start of a field (as the parser reads it); inside, "" is an escaped
// quote. `open` is set when a quoted field is still open at the end (a closing quote as the very
// last byte counts as closing only `at_eof`, since the next byte could make it an escaped pair).
struct QuoteScan {
  std::vector<std::pair<size_t, size_t>> spans;  // [open quote, close quote]
  bool open = false;
  size_t open_at = 0;
};

QuoteScan ScanQuotes(std::string_view d, char delim, bool at_eof) {
  QuoteScan q;
  const char* p = d.data();
  const size_t n = d.size();
  size_t pos = 0;
  while (pos < n) {
    const void* hit = memchr(p + pos, '"', n - pos);
    if (hit == nullptr) break;
    size_t i = static_cast<size_t>(static_cast<const char*>(hit) - p);
    if (!q.open) {
      if (i == 0 || p[i - 1] == delim || p[i - 1] == '\n' || p[i - 1] == '\r') {
        q.open = true;
        q.open_at = i;
      }
      pos = i + 1;
    } else if (i + 1 < n && p[i + 1] == '"') {
      pos = i + 2;
    } else if (i + 1 == n && !at_eof) {
      break;  // undecided until more data arrives: stays open
    } else {
      q.spans.push_back({q.open_at, i});
      q.open = false;
      pos = i + 1;
    }
  }
  return q;
}

// Offset just past the last newline outside quoted fields, given that data[0] is at a record
// boundary; npos when there is none. For JSONL (no quoting across lines) any newline.
size_t LastRecordEnd(std::string_view data, bool csv, char delim) {
  size_t i = data.rfind('\n');
  if (i == std::string_view::npos || !csv) return i == std::string_view::npos ? i : i + 1;
  if (memchr(data.data(), '"', data.size()) == nullptr) return i + 1;
  QuoteScan q = ScanQuotes(data, delim, false);
  size_t limit = q.open ? q.open_at : data.size();
  if (limit == 0) return std::string_view::npos;
  i = data.rfind('\n', limit - 1);
  while (i != std::string_view::npos) {
    // The last span that opens before i; i is inside it when it closes after i.
    auto it = std::upper_bound(q.spans.begin(), q.spans.end(), std::make_pair(i, size_t{0}));
    if (it == q.spans.begin() || std::prev(it)->second < i) return i + 1;
    size_t open = std::prev(it)->first;
    if (open == 0) return std::string_view::npos;
    i = data.rfind('\n', open - 1);
  }
  return std::string_view::npos;
}

std::string LimitText(size_t bytes) {
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

class FileTableReader final : public TableReader {
 public:
  FileTableReader(int fd, ReadOptions opts) : fd_(fd), opts_(opts) {}
  ~FileTableReader() override { close(fd_); }

  Status Sniff(const std::string& path, uint64_t size) {
    info_.path = path;
    info_.file_bytes = size;
    info_.max_record_bytes = opts_.max_record_bytes;
    std::string raw;
    // A prefix holding at least the first record (the header), up to the row-size limit.
    uint64_t want = std::min<uint64_t>(size, kSniffBytes);
    while (true) {
      KEXIN_RETURN_IF_ERROR(ReadRaw(0, want, &raw));
      if (raw.size() == size || raw.find('\n') != std::string::npos ||
          raw.find('\r') != std::string::npos || want > opts_.max_record_bytes) {
        break;
      }
      want = std::min<uint64_t>(size, want * 4);
    }
    const bool whole = raw.size() == size;
    if (raw.size() >= 2 &&
        ((raw[0] == '\xFF' && raw[1] == '\xFE') || (raw[0] == '\xFE' && raw[1] == '\xFF'))) {
      return DataError(
          path +
          ": UTF-16 text is not supported; convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)");
    }
    KEXIN_ASSIGN_OR_RETURN(info_.encoding, DetectEncoding(raw, path));
    size_t bom = info_.encoding == Encoding::kUtf8Bom ? 3 : 0;
    if (info_.encoding == Encoding::kGb18030 && raw.rfind("\x84\x31\x95\x33", 0) == 0)
      bom = 4;  // GB18030 BOM
    std::string text;
    if (info_.encoding == Encoding::kGb18030) {
      Gb18030Decoder dec;
      KEXIN_RETURN_IF_ERROR(
          dec.Decode(std::string_view(raw).substr(bom), whole, bom, &text).WithContext(path));
    } else {
      text = raw.substr(bom);
    }
    // Old Mac files end lines with CR alone: read them as LF.
    cr_only_ = text.find('\n') == std::string::npos && text.find('\r') != std::string::npos;
    if (cr_only_) std::replace(text.begin(), text.end(), '\r', '\n');
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return DataError(path + (whole ? ": empty file (no records)"
                                     : ": no records in the first " + std::to_string(raw.size()) +
                                           " bytes (only blank lines)"));
    }
    size_t first = text.find_first_not_of(" \t\r\n");
    bool jsonl = IsJsonlName(path) || (first != std::string::npos && text[first] == '{');
    info_.format = jsonl ? Format::kJsonl : Format::kCsv;
    info_.data_offset = bom;
    pos_ = bom;
    emitted_raw_ = bom;
    if (jsonl) return SniffJsonl(text, whole);
    return SniffCsv(raw, text, bom, whole);
  }

  Result<bool> Next(Chunk* chunk) override {
    const bool csv = info_.format == Format::kCsv;
    while (true) {
      if (carry_.size() >= opts_.chunk_bytes || eof_) {
        size_t end = LastRecordEnd(carry_, csv, info_.delimiter);
        if (end != std::string::npos) return Emit(chunk, end);
        if (eof_) {
          if (carry_.empty()) return false;
          if (csv && ScanQuotes(carry_, info_.delimiter, true).open) {
            return DataError(
                "unbalanced quote: a quoted field opened in this row is still open "
                "at end of file");
          }
          carry_.push_back('\n');
          return Emit(chunk, carry_.size());
        }
        if (carry_.size() > opts_.max_record_bytes) {
          return ResourceExhausted("row longer than " + LimitText(opts_.max_record_bytes) +
                                   ", or a quote opened in it is never closed (limit: "
                                   "--max-row-mib)");
        }
      }
      KEXIN_RETURN_IF_ERROR(ReadMore());
    }
  }

  Result<bool> ReadAt(uint64_t offset, size_t bytes, Chunk* chunk) override {
    offset = std::max<uint64_t>(offset, info_.data_offset);
    if (offset >= info_.file_bytes) return false;
    uint64_t want = std::min<uint64_t>(bytes + 64 * 1024, info_.file_bytes - offset);
    std::string raw;
    KEXIN_RETURN_IF_ERROR(ReadRaw(offset, want, &raw));
    const char nl_char = cr_only_ ? '\r' : '\n';
    size_t start = 0;
    if (offset != info_.data_offset) {
      size_t nl = raw.find(nl_char);
      if (nl == std::string::npos) return false;
      start = nl + 1;
    }
    bool at_eof = offset + raw.size() == info_.file_bytes;
    // Whole lines up to `bytes` past start (at least one line when it fits in the window).
    size_t limit = std::min(raw.size(), start + bytes);
    size_t end = limit > start ? raw.rfind(nl_char, limit - 1) : std::string::npos;
    if (end == std::string::npos || end < start) end = raw.find(nl_char, start);
    if (end == std::string::npos && at_eof && raw.size() > start) end = raw.size() - 1;
    if (end == std::string::npos || end < start) return false;
    std::string_view piece(raw.data() + start, end + 1 - start);
    chunk->index = 0;
    chunk->file_offset = offset + start;
    chunk->file_bytes = piece.size();
    chunk->data.clear();
    if (info_.encoding == Encoding::kGb18030) {
      Gb18030Decoder dec;
      KEXIN_RETURN_IF_ERROR(dec.Decode(piece, true, chunk->file_offset, &chunk->data));
    } else {
      chunk->data.assign(piece);
    }
    if (cr_only_) std::replace(chunk->data.begin(), chunk->data.end(), '\r', '\n');
    if (chunk->data.empty() || chunk->data.back() != '\n') chunk->data.push_back('\n');
    return true;
  }

 private:
  Status ReadRaw(uint64_t offset, uint64_t len, std::string* out) {
    out->resize(len);
    size_t got = 0;
    while (got < len) {
      ssize_t r = pread(fd_, out->data() + got, len - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(info_.path, errno);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return Status::Ok();
  }

  Status ReadMore() {
    std::string& raw = read_buf_;  // kept between reads: resizing it again costs no zero-filling
    size_t want = std::max<size_t>(opts_.chunk_bytes, 64 * 1024);
    KEXIN_RETURN_IF_ERROR(ReadRaw(pos_, want, &raw));
    uint64_t at = pos_;
    pos_ += raw.size();
    if (raw.size() < want || pos_ >= info_.file_bytes) eof_ = true;
    raw_in_carry_ += raw.size();
    size_t before = carry_.size();
    if (info_.encoding == Encoding::kGb18030) {
      Status s = decoder_.Decode(raw, eof_, at, &carry_);
      if (!s.ok()) {
        // The decoded prefix is in carry_: the failing row is the one after its last newline.
        failed_lines_ = static_cast<uint64_t>(std::count(carry_.begin(), carry_.end(), '\n'));
        return s;
      }
    } else {
      carry_.append(raw);
    }
    if (cr_only_)
      std::replace(carry_.begin() + static_cast<long>(before), carry_.end(), '\r', '\n');
    return Status::Ok();
  }

  Result<bool> Emit(Chunk* chunk, size_t end) {
    chunk->index = next_index_++;
    chunk->file_offset = emitted_raw_;
    // The records become the chunk without copying them: the buffers swap and only the partial
    // record after `end` is copied back (into the chunk's old buffer, whose room is kept).
    chunk->data.swap(carry_);
    carry_.assign(chunk->data, end, std::string::npos);
    chunk->data.resize(end);
    if (carry_.capacity() < opts_.chunk_bytes) carry_.reserve(opts_.chunk_bytes + 64 * 1024);
    // Raw bytes are attributed proportionally for GB18030; exact for UTF-8.
    uint64_t raw =
        info_.encoding == Encoding::kGb18030
            ? (carry_.empty() ? raw_in_carry_ : raw_in_carry_ * end / (end + carry_.size()))
            : std::min<uint64_t>(end, raw_in_carry_);  // a '\n' added at EOF is not in the file
    chunk->file_bytes = raw;
    raw_in_carry_ -= std::min(raw, raw_in_carry_);
    emitted_raw_ += raw;
    return true;
  }

  Status SniffCsv(const std::string& raw, const std::string& text, size_t bom, bool whole) {
    info_.delimiter = opts_.delimiter ? *opts_.delimiter : SniffDelimiter(text);
    // The first record: up to the first newline outside a quoted field.
    size_t end = text.size();
    {
      QuoteScan q = ScanQuotes(text, info_.delimiter, whole);
      size_t i = text.find('\n');
      for (const auto& [open, close] : q.spans) {
        if (i == std::string::npos || i < open) break;
        if (i < close) i = text.find('\n', close);
      }
      if (q.open && (i == std::string::npos || i > q.open_at)) i = std::string::npos;
      if (i != std::string::npos) end = i;
    }
    if (end > opts_.max_record_bytes) {
      return ResourceExhausted(info_.path + ":1: the first row is longer than " +
                               LimitText(opts_.max_record_bytes) + " (limit: --max-row-mib)");
    }
    std::vector<std::string> first =
        SplitCsvLine(std::string_view(text).substr(0, end), info_.delimiter);
    info_.has_header = opts_.header ? *opts_.header : LooksLikeHeader(first);
    if (!info_.has_header) {
      for (size_t i = 0; i < first.size(); ++i)
        info_.columns.push_back("col_" + std::to_string(i + 1));
      return Status::Ok();
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < first.size(); ++i) {
      std::string name = first[i];
      size_t b = name.find_first_not_of(" \t"), e = name.find_last_not_of(" \t");
      name = b == std::string::npos ? "" : name.substr(b, e - b + 1);
      if (name.empty()) name = "col_" + std::to_string(i + 1);
      std::string unique = name;
      for (int k = 2; !seen.insert(unique).second; ++k) unique = name + "_" + std::to_string(k);
      info_.columns.push_back(unique);
    }
    // The header's end in raw bytes: its newlines are the same bytes in every supported encoding
    // (0x0A never occurs inside a GB18030 multi-byte sequence), so find the matching newline.
    size_t lines =
        static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(end), '\n')) +
        1;
    size_t raw_end = bom;
    for (size_t k = 0; k < lines && raw_end != std::string::npos; ++k) {
      raw_end = raw.find(cr_only_ ? '\r' : '\n', k == 0 ? bom : raw_end + 1);
    }
    if (raw_end == std::string::npos) raw_end = raw.size();
    info_.data_offset = std::min<uint64_t>(raw_end + 1, info_.file_bytes);
    pos_ = info_.data_offset;
    emitted_raw_ = info_.data_offset;
    return Status::Ok();
  }

  Status SniffJsonl(const std::string& text, bool whole) {
    info_.has_header = false;
    auto parser = RecordParser::Create(info_);
    size_t end = LastRecordEnd(text, false, ',');
    std::string_view lines =
        end == std::string::npos ? std::string_view(text) : std::string_view(text).substr(0, end);
    if (end == std::string::npos && !whole) {
      return ResourceExhausted(info_.path + ":1: the first line is longer than " +
                               LimitText(opts_.max_record_bytes) + " (limit: --max-row-mib)");
    }
    Status s = parser->Parse(lines, /*lenient=*/false,
                             [](uint64_t, const std::vector<std::string_view>&) {});
    if (!s.ok()) {
      return Status(s.code(), info_.path + ":" + std::to_string(parser->failed_record() + 1) +
                                  ": " + s.message().substr(s.message().find(": ") + 2));
    }
    info_.columns = parser->columns();
    return Status::Ok();
  }

  int fd_;
  ReadOptions opts_;
  uint64_t pos_ = 0;
  bool eof_ = false;
  std::string carry_;
  std::string read_buf_;
  uint64_t raw_in_carry_ = 0;
  uint64_t emitted_raw_ = 0;
  bool cr_only_ = false;
  uint64_t next_index_ = 0;
  Gb18030Decoder decoder_;
};

bool IsNumberLike(std::string_view s) {
  if (s.empty()) return false;
  size_t digits = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' && c != 'X' && c != 'x' &&
               c != ' ' && c != ':' && c != '/') {
      return false;
    }
  }
  return digits > 0;
}

}  // namespace

std::string_view FormatName(Format f) { return f == Format::kJsonl ? "jsonl" : "csv"; }

Result<std::unique_ptr<TableReader>> TableReader::Open(const std::string& path,
                                                       const ReadOptions& options) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoError(path, errno);
  if (S_ISDIR(st.st_mode)) return InvalidArgument(path + ": is a directory, not a table file");
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + ": not a regular file");
  if (st.st_size == 0) return DataError(path + ": empty file (0 bytes)");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(path, errno);
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto reader = std::make_unique<FileTableReader>(fd, options);
  KEXIN_RETURN_IF_ERROR(reader->Sniff(path, static_cast<uint64_t>(st.st_size)));
  return std::unique_ptr<TableReader>(std::move(reader));
}

char SniffDelimiter(std::string_view sample) {
  static constexpr std::array<char, 4> kCandidates = {',', ';', '\t', '|'};
  // Field counts of the first lines per candidate (quote-aware on each line).
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < sample.size() && lines.size() < 30) {
    size_t nl = sample.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (!lines.empty()) break;  // likely cut off
      nl = sample.size();
    }
    std::string_view line = sample.substr(pos, nl - pos);
    if (!line.empty()) lines.push_back(line);
    pos = nl + 1;
  }
  char best = ',';
  double best_score = -1;
  for (char d : kCandidates) {
    std::vector<size_t> counts;
    for (auto line : lines) counts.push_back(SplitCsvLine(line, d).size());
    if (counts.empty()) continue;
    size_t mode = counts[0];
    size_t agree = static_cast<size_t>(std::count(counts.begin(), counts.end(), mode));
    if (mode < 2) continue;
    // Consistency dominates; more fields breaks ties.
    double score = static_cast<double>(agree) / static_cast<double>(counts.size()) * 1000.0 +
                   static_cast<double>(std::min<size_t>(mode, 999));
    if (score > best_score) {
      best_score = score;
      best = d;
    }
  }
  return best;
}

bool LooksLikeHeader(const std::vector<std::string>& first_row) {
  std::set<std::string> seen;
  for (const auto& cell : first_row) {
    if (IsNumberLike(cell)) return false;
    size_t run = 0;
    for (char c : cell) {
      run = (c >= '0' && c <= '9') ? run + 1 : 0;
      if (run >= 5) return false;
    }
    if (!cell.empty() && !seen.insert(cell).second) return false;
    if (cell.find('@') != std::string::npos) return false;
  }
  return true;
}

}  // namespace kexin::table
