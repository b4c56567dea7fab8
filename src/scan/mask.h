// Masking of example values shown in reports: a report must never leak what it describes.
#ifndef KEXIN_SCAN_MASK_H_
#define KEXIN_SCAN_MASK_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kexin::scan {

// Keeps about a quarter of the characters at the start and a sixth at the end (at least one at
// the start), replacing the rest with '*': "11010519491231002X" -> "1101**********002X",
// "13812345678" -> "13*******78", "张三丰" -> "张**". Emails keep the first character and the
// domain: "a***@example.com". Counts UTF-8 characters, not bytes.
std::string MaskValue(std::string_view value);

// A free-text example that shows only structure: each identifier span (byte range, label) becomes
// "[label]", punctuation stays, every other character becomes '*' (runs collapse to "***"), so
// names and numbers the detectors did not find are not shown either:
// "客户张伟来电，身份证号11010519491231002X。" -> "***，***[id_card_cn]。"
std::string MaskFreeText(
    std::string_view text,
    const std::vector<std::pair<std::pair<size_t, size_t>, std::string>>& spans);

}  // namespace kexin::scan

#endif  // KEXIN_SCAN_MASK_H_
