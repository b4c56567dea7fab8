#include "scan/mask.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "base/utf8.h"
#include "scan/validators.h"

namespace kexin::scan {

namespace {
// The longest prefix of at most `max` bytes that ends on a character boundary.
std::string_view CutUtf8(std::string_view v, size_t max) {
  if (v.size() <= max) return v;
  size_t i = 0;
  while (i < v.size()) {
    size_t len = utf8::SequenceLength(static_cast<unsigned char>(v[i]));
    if (i + len > max) break;
    i += len;
  }
  return v.substr(0, i);
}
}  // namespace

std::string MaskFreeText(
    std::string_view text,
    const std::vector<std::pair<std::pair<size_t, size_t>, std::string>>& spans) {
  std::string out;
  size_t pos = 0, stars = 0;
  auto flush_stars = [&] {
    if (stars) out += stars > 3 ? "***" : std::string(stars, '*');
    stars = 0;
  };
  auto plain = [&](std::string_view piece) {
    for (size_t i = 0; i < piece.size();) {
      unsigned char c = static_cast<unsigned char>(piece[i]);
      size_t len = std::min(utf8::SequenceLength(c), piece.size() - i);
      std::string_view ch = piece.substr(i, len);
      bool punct = (len == 1 && !std::isalnum(c)) || ch == "\xEF\xBC\x8C" || ch == "\xE3\x80\x82" ||
                   ch == "\xEF\xBC\x9A" || ch == "\xEF\xBC\x9B" ||
                   ch == "\xE3\x80\x81";  // ，。：；、
      if (punct) {
        flush_stars();
        out += ch;
      } else {
        ++stars;
      }
      i += len;
    }
  };
  for (const auto& [range, label] : spans) {
    if (range.first < pos) continue;
    plain(text.substr(pos, range.first - pos));
    flush_stars();
    out += "[" + label + "]";
    pos = range.second;
  }
  plain(text.substr(pos));
  flush_stars();
  return std::string(CutUtf8(out, 160));
}

std::string MaskValue(std::string_view v) {
  v = CutUtf8(v, 256);
  if (Email(v) == Strength::kStrong) {
    size_t at = v.find('@');
    return std::string(v.substr(0, 1)) + "***" + std::string(v.substr(at));
  }
  std::vector<std::string_view> chars;
  for (size_t i = 0; i < v.size();) {
    size_t len = std::min(utf8::SequenceLength(static_cast<unsigned char>(v[i])), v.size() - i);
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
    if (i < keep_front || i >= n - keep_back)
      out += chars[i];
    else
      out += '*';
  }
  return out;
}

}  // namespace kexin::scan
