#include "table/encoding.h"

#include <iconv.h>
#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>

#include "base/utf8.h"

namespace kexin::table {

std::string_view EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kUtf8:
      return "utf-8";
    case Encoding::kUtf8Bom:
      return "utf-8-bom";
    case Encoding::kGb18030:
      return "gb18030";
  }
  return "unknown";
}

size_t FirstInvalidUtf8(std::string_view data) { return utf8::FirstInvalid(data); }

bool IsValidUtf8(std::string_view data, bool allow_truncated_tail) {
  if (simdjson::validate_utf8(data.data(), data.size())) return true;
  if (!allow_truncated_tail) return false;
  size_t bad = FirstInvalidUtf8(data);
  if (bad + 4 <= data.size()) return false;
  bool truncated = false;
  return utf8::ValidSequenceAt(data, bad, &truncated) == 0 && truncated;
}

bool IsValidGb18030(std::string_view data, bool allow_truncated_tail) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c == 0x80 || c == 0xFF) return false;
    if (i + 1 >= n) return allow_truncated_tail;
    unsigned char c2 = p[i + 1];
    if ((c2 >= 0x40 && c2 <= 0x7E) || (c2 >= 0x80 && c2 <= 0xFE)) {
      i += 2;
      continue;
    }
    if (c2 >= 0x30 && c2 <= 0x39) {
      if (i + 3 >= n) return allow_truncated_tail;
      unsigned char c3 = p[i + 2], c4 = p[i + 3];
      if (c3 < 0x81 || c3 > 0xFE || c4 < 0x30 || c4 > 0x39) return false;
      i += 4;
      continue;
    }
    return false;
  }
  return true;
}

Result<Encoding> DetectEncoding(std::string_view prefix, std::string_view name) {
  std::string where(name);
  size_t controls = 0;
  for (size_t i = 0; i < prefix.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(prefix[i]);
    if (c == 0) {
      return DataError(where + ": binary file (NUL byte at offset " + std::to_string(i) +
                       "); kexin reads CSV and JSONL text");
    }
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') ++controls;
  }
  if (controls * 100 > prefix.size() + 100) {
    return DataError(where + ": binary file (" + std::to_string(controls) +
                     " control bytes in the first " + std::to_string(prefix.size()) + " bytes)");
  }
  if (prefix.size() >= 3 && static_cast<unsigned char>(prefix[0]) == 0xEF &&
      static_cast<unsigned char>(prefix[1]) == 0xBB &&
      static_cast<unsigned char>(prefix[2]) == 0xBF) {
    std::string_view rest = prefix.substr(3);
    if (!IsValidUtf8(rest, true)) {
      return DataError(where + ": invalid UTF-8 at byte " +
                       std::to_string(3 + FirstInvalidUtf8(rest)) + " after a UTF-8 BOM");
    }
    return Encoding::kUtf8Bom;
  }
  if (IsValidUtf8(prefix, true)) return Encoding::kUtf8;
  if (IsValidGb18030(prefix, true)) return Encoding::kGb18030;
  size_t bad = FirstInvalidUtf8(prefix);
  size_t line = 1 + static_cast<size_t>(
                        std::count(prefix.begin(), prefix.begin() + static_cast<long>(bad), '\n'));
  return DataError(where + ":" + std::to_string(line) + ": invalid UTF-8 at byte offset " +
                   std::to_string(bad) + " of the file, and the file is not GB18030/GBK either");
}

Gb18030Decoder::Gb18030Decoder() : cd_(iconv_open("UTF-8", "GB18030")) {}

Gb18030Decoder::~Gb18030Decoder() {
  if (cd_ != reinterpret_cast<void*>(-1)) iconv_close(static_cast<iconv_t>(cd_));
}

void Gb18030Decoder::Reset() {
  pending_.clear();
  if (cd_ != reinterpret_cast<void*>(-1))
    iconv(static_cast<iconv_t>(cd_), nullptr, nullptr, nullptr, nullptr);
}

Status Gb18030Decoder::Decode(std::string_view in, bool at_end, uint64_t stream_offset,
                              std::string* out) {
  if (cd_ == reinterpret_cast<void*>(-1)) return Internal("iconv has no GB18030 converter");
  std::string buf;
  std::string_view src = in;
  uint64_t base = stream_offset;
  if (!pending_.empty()) {
    buf = pending_ + std::string(in);
    base -= pending_.size();
    pending_.clear();
    src = buf;
  }
  char* inp = const_cast<char*>(src.data());
  size_t inleft = src.size();
  size_t old = out->size();
  out->resize(old + src.size() * 2 + 16);  // GB18030 -> UTF-8 grows at most 1.5x (4-byte -> 4)
  char* outp = out->data() + old;
  size_t outleft = out->size() - old;
  size_t rc = iconv(static_cast<iconv_t>(cd_), &inp, &inleft, &outp, &outleft);
  out->resize(out->size() - outleft);
  if (rc == static_cast<size_t>(-1)) {
    uint64_t at = base + static_cast<uint64_t>(inp - src.data());
    if (errno == EINVAL && !at_end) {
      pending_.assign(inp, inleft);
      return Status::Ok();
    }
    if (errno == EINVAL)
      return DataError("incomplete GB18030 sequence at end of file (byte " + std::to_string(at) +
                       ")");
    return DataError("invalid GB18030 sequence at byte " + std::to_string(at));
  }
  return Status::Ok();
}

}  // namespace kexin::table
