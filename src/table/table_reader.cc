// TableReader: file access, sniffing, and splitting a stream into chunks of whole records.
#include "table/table_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

namespace kexin::table {
namespace {

constexpr size_t kSniffBytes = 64 * 1024;

bool IsJsonlName(const std::string& path) {
  for (const char* ext : {".jsonl", ".ndjson", ".json"}) {
    std::string_view e(ext);
    if (path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

// Offset just past the last newline in data[from..] that is outside quotes, given that data[0] is
// at a record boundary; npos when there is none. For JSONL (no quoting across lines) any newline.
size_t LastRecordEnd(std::string_view data, bool csv) {
  size_t last_nl = data.rfind('\n');
  if (last_nl == std::string_view::npos) return std::string_view::npos;
  if (!csv) return last_nl + 1;
  // Quote parity before position i decides whether a newline at i ends a record: escaped quotes
  // ("") come in pairs, so parity is exact.
  size_t total = static_cast<size_t>(std::count(data.begin(), data.end(), '"'));
  size_t after = 0;
  for (size_t i = data.size(); i-- > 0;) {
    char c = data[i];
    if (c == '"') {
      ++after;
    } else if (c == '\n' && ((total - after) & 1) == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

class FileTableReader final : public TableReader {
 public:
  FileTableReader(int fd, ReadOptions opts) : fd_(fd), opts_(opts) {}
  ~FileTableReader() override { close(fd_); }

  Status Sniff(const std::string& path, uint64_t size) {
    info_.path = path;
    info_.file_bytes = size;
    std::string raw;
    KEXIN_RETURN_IF_ERROR(ReadRaw(0, std::min<uint64_t>(size, kSniffBytes), &raw));
    KEXIN_ASSIGN_OR_RETURN(info_.encoding, DetectEncoding(raw, path));
    size_t bom = info_.encoding == Encoding::kUtf8Bom ? 3 : 0;
    std::string text;
    if (info_.encoding == Encoding::kGb18030) {
      Gb18030Decoder dec;
      KEXIN_RETURN_IF_ERROR(dec.Decode(raw, raw.size() == size, 0, &text).WithContext(path));
    } else {
      text = raw.substr(bom);
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos && size <= kSniffBytes) {
      return DataError(path + ": empty file (no records)");
    }
    size_t first = text.find_first_not_of(" \t\r\n");
    bool jsonl = IsJsonlName(path) || (first != std::string::npos && text[first] == '{');
    info_.format = jsonl ? Format::kJsonl : Format::kCsv;
    info_.data_offset = bom;
    pos_ = bom;
    if (jsonl) return SniffJsonl(text);
    return SniffCsv(raw, text, bom);
  }

  Result<bool> Next(Chunk* chunk) override {
    const bool csv = info_.format == Format::kCsv;
    while (true) {
      if (carry_.size() >= opts_.chunk_bytes || eof_) {
        size_t end = LastRecordEnd(carry_, csv);
        if (end != std::string::npos) return Emit(chunk, end);
        if (eof_) {
          if (carry_.empty()) return false;
          if (csv && (std::count(carry_.begin(), carry_.end(), '"') & 1)) {
            return DataError("unbalanced quote: a quoted field opened in this row is still open "
                             "at end of file");
          }
          carry_.push_back('\n');
          return Emit(chunk, carry_.size());
        }
        if (carry_.size() > opts_.max_record_bytes) {
          return ResourceExhausted("row longer than " +
                                   std::to_string(opts_.max_record_bytes >> 20) +
                                   " MiB, or a quote opened in it is never closed (limit: "
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
    size_t start = 0;
    if (offset != info_.data_offset) {
      size_t nl = raw.find('\n');
      if (nl == std::string::npos) return false;
      start = nl + 1;
    }
    size_t end = raw.rfind('\n');
    bool at_eof = offset + raw.size() == info_.file_bytes;
    if (at_eof) end = raw.size() - 1;
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
    std::string raw;
    size_t want = std::max<size_t>(opts_.chunk_bytes, 64 * 1024);
    KEXIN_RETURN_IF_ERROR(ReadRaw(pos_, want, &raw));
    uint64_t at = pos_;
    pos_ += raw.size();
    if (raw.size() < want || pos_ >= info_.file_bytes) eof_ = true;
    raw_in_carry_ += raw.size();
    if (info_.encoding == Encoding::kGb18030) {
      return decoder_.Decode(raw, eof_, at, &carry_);
    }
    carry_.append(raw);
    return Status::Ok();
  }

  Result<bool> Emit(Chunk* chunk, size_t end) {
    chunk->index = next_index_++;
    chunk->file_offset = emitted_raw_;
    chunk->data.assign(carry_, 0, end);
    carry_.erase(0, end);
    // Raw bytes are attributed proportionally for GB18030; exact for UTF-8.
    uint64_t raw = info_.encoding == Encoding::kGb18030 && !carry_.empty()
                       ? raw_in_carry_ * end / (end + carry_.size())
                       : (carry_.empty() ? raw_in_carry_ : end);
    chunk->file_bytes = raw;
    raw_in_carry_ -= std::min(raw, raw_in_carry_);
    emitted_raw_ += raw;
    return true;
  }

  Status SniffCsv(const std::string& raw, const std::string& text, size_t bom) {
    info_.delimiter = opts_.delimiter ? *opts_.delimiter : SniffDelimiter(text);
    // The first record, quote-aware.
    size_t end = 0;
    bool quoted = false;
    while (end < text.size() && (quoted || text[end] != '\n')) {
      if (text[end] == '"') quoted = !quoted;
      ++end;
    }
    if (end == text.size() && text.size() < info_.file_bytes) {
      return ResourceExhausted(info_.path + ":1: the first row is longer than 64 KiB");
    }
    std::vector<std::string> first = SplitCsvLine(std::string_view(text).substr(0, end), info_.delimiter);
    info_.has_header = opts_.header ? *opts_.header : LooksLikeHeader(first);
    if (!info_.has_header) {
      for (size_t i = 0; i < first.size(); ++i) info_.columns.push_back("col_" + std::to_string(i + 1));
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
    // The header's end in raw bytes: quotes and newlines are ASCII in every supported encoding and
    // never occur inside a GB18030 multi-byte sequence.
    size_t raw_end = bom;
    quoted = false;
    while (raw_end < raw.size() && (quoted || raw[raw_end] != '\n')) {
      if (raw[raw_end] == '"') quoted = !quoted;
      ++raw_end;
    }
    info_.data_offset = std::min<uint64_t>(raw_end + 1, info_.file_bytes);
    pos_ = info_.data_offset;
    return Status::Ok();
  }

  Status SniffJsonl(const std::string& text) {
    info_.has_header = false;
    auto parser = RecordParser::Create(info_);
    size_t end = LastRecordEnd(text, false);
    std::string_view whole = end == std::string::npos ? std::string_view(text) : std::string_view(text).substr(0, end);
    if (end == std::string::npos && text.size() < info_.file_bytes) {
      return ResourceExhausted(info_.path + ":1: the first line is longer than 64 KiB");
    }
    Status s = parser->Parse(whole, /*lenient=*/false, [](uint64_t, const std::vector<std::string_view>&) {});
    if (!s.ok()) {
      return DataError(info_.path + ":" + std::to_string(parser->failed_record() + 1) + ": " +
                       s.message().substr(s.message().find(": ") + 2));
    }
    info_.columns = parser->columns();
    return Status::Ok();
  }

  int fd_;
  ReadOptions opts_;
  uint64_t pos_ = 0;
  bool eof_ = false;
  std::string carry_;
  uint64_t raw_in_carry_ = 0;
  uint64_t emitted_raw_ = 0;
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
