// Text encodings kexin reads: UTF-8 (with or without BOM) and GB18030 (a superset of GBK and
// GB2312, common in government tables). Detection looks at a prefix; GB18030 is converted to UTF-8
// in a streaming fashion so memory stays bounded. Thread-safety: Gb18030Decoder is not
// thread-safe; the free functions are.
#ifndef KEXIN_TABLE_ENCODING_H_
#define KEXIN_TABLE_ENCODING_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "kexin/status.h"

namespace kexin::table {

enum class Encoding { kUtf8, kUtf8Bom, kGb18030 };

// "utf-8", "utf-8-bom", "gb18030".
std::string_view EncodingName(Encoding e);

// True when `data` is valid UTF-8. A multi-byte sequence cut off at the very end is accepted when
// `allow_truncated_tail` (for prefixes of a larger file).
bool IsValidUtf8(std::string_view data, bool allow_truncated_tail = false);

// Byte offset of the first invalid UTF-8 sequence, or data.size() when valid.
size_t FirstInvalidUtf8(std::string_view data);

// True when `data` is well-formed GB18030 (one-, two- and four-byte sequences), allowing a cut-off
// sequence at the end when `allow_truncated_tail`.
bool IsValidGb18030(std::string_view data, bool allow_truncated_tail);

// Detects the encoding from a prefix of a file. A NUL byte or other binary control bytes make it a
// data error ("binary file"); so does a prefix that is neither UTF-8 nor GB18030. `name` is used in
// messages.
Result<Encoding> DetectEncoding(std::string_view prefix, std::string_view name);

// Streaming GB18030 -> UTF-8 converter (iconv). Feed input in pieces of any size; an incomplete
// trailing sequence is kept until the next call.
class Gb18030Decoder {
 public:
  Gb18030Decoder();
  ~Gb18030Decoder();
  Gb18030Decoder(const Gb18030Decoder&) = delete;
  Gb18030Decoder& operator=(const Gb18030Decoder&) = delete;

  // Appends the UTF-8 of `in` to *out. `at_end` says no more input follows (an incomplete tail is
  // then an error). `stream_offset` is the byte offset of in[0] in the file, for messages.
  Status Decode(std::string_view in, bool at_end, uint64_t stream_offset, std::string* out);
  void Reset();

 private:
  void* cd_;
  std::string pending_;
};

}  // namespace kexin::table

#endif  // KEXIN_TABLE_ENCODING_H_
