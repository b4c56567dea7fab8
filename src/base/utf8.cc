#include "base/utf8.h"

#include <cstdint>
#include <cstring>

namespace kexin::utf8 {

size_t ValidSequenceAt(std::string_view s, size_t i, bool* truncated) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, min = 0x10000;
  } else {
    return 0;
  }
  uint32_t cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) {
      *truncated = true;
      return 0;
    }
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

size_t FirstInvalid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    while (i + 8 <= s.size()) {  // ASCII eight bytes at a time
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= s.size()) break;
    bool truncated = false;
    size_t len = ValidSequenceAt(s, i, &truncated);
    if (len == 0) return i;
    i += len;
  }
  return s.size();
}

}  // namespace kexin::utf8
