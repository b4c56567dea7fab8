// UTF-8 helpers shared by every module: one decoder, one validator, character counting.
// Thread-safety: pure functions.
#ifndef KEXIN_BASE_UTF8_H_
#define KEXIN_BASE_UTF8_H_

#include <cstddef>
#include <string_view>

namespace kexin::utf8 {

// Length of the sequence a lead byte announces (1 for ASCII and for stray continuation bytes).
inline size_t SequenceLength(unsigned char lead) {
  return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
}

// Decodes the code point at s[*i] and advances *i past it. Meant for text already known to be
// valid; on invalid input it still advances and returns some value, never reading past the end.
inline char32_t Next(std::string_view s, size_t* i) {
  unsigned char c = static_cast<unsigned char>(s[*i]);
  size_t len = SequenceLength(c);
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < len && *i + k < s.size(); ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  }
  *i += len;
  return cp;
}

// Number of code points (lead bytes).
inline size_t Count(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Length of the valid sequence at s[i] (no overlongs, surrogates or values above U+10FFFF), or 0
// when invalid; *truncated is set when it is a valid prefix cut off by the end of s.
size_t ValidSequenceAt(std::string_view s, size_t i, bool* truncated);

// Offset of the first invalid sequence, or s.size() when s is valid UTF-8.
size_t FirstInvalid(std::string_view s);
inline bool Valid(std::string_view s) { return FirstInvalid(s) == s.size(); }

}  // namespace kexin::utf8

#endif  // KEXIN_BASE_UTF8_H_
