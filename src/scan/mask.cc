#include "scan/mask.h"

#include <vector>

namespace kexin::scan {

std::string MaskValue(std::string_view v) {
  if (v.size() > 256) v = v.substr(0, 256);
  size_t at = v.find('@');
  if (at != std::string_view::npos && at > 0) {
    return std::string(v.substr(0, 1)) + "***" + std::string(v.substr(at));
  }
  std::vector<std::string_view> chars;
  for (size_t i = 0; i < v.size();) {
    size_t len = 1;
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0xF0) len = 4;
    else if (c >= 0xE0) len = 3;
    else if (c >= 0xC0) len = 2;
    len = std::min(len, v.size() - i);
    chars.push_back(v.substr(i, len));
    i += len;
  }
  size_t n = chars.size();
  size_t keep_front = std::max<size_t>(1, n / 4);
  size_t keep_back = n >= 6 ? n / 6 + (n >= 11 ? 1 : 0) : 0;
  if (n <= 1) return "*";
  if (keep_front + keep_back >= n) keep_back = 0;
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i < keep_front || i >= n - keep_back) out += chars[i];
    else out += '*';
  }
  return out;
}

}  // namespace kexin::scan
