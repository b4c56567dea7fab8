// Validators for the identifiers and values kexin recognises (REFERENCE.md section 1).
//
// Each validator decides whether one whole value (already trimmed) is an instance of a category:
// format plus check digit, calendar, region or prefix tables where the standard defines them. They
// are pure functions of their input and safe to call from any thread. A validator returns a
// Strength: kStrong for a confident match, kWeak for a value that fits only if the column's
// header or its distribution agrees (a bare decimal that could be a latitude, a date that could be
// a birth date), kNone otherwise.
//
// The registry maps the names used in rule files ("gb11643", "luhn_card", ...) to the function and
// to a cheap shape filter (length range, character classes) that lets the detector skip a
// validator without calling it.
#ifndef KEXIN_SCAN_VALIDATORS_H_
#define KEXIN_SCAN_VALIDATORS_H_

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace kexin::scan {

enum class Strength : uint8_t { kNone = 0, kWeak = 1, kStrong = 2 };

// Character classes of a value, as a bit set, computed in one pass (see ShapeOf).
enum CharClass : uint32_t {
  kDigit = 1u << 0,
  kUpper = 1u << 1,
  kLower = 1u << 2,
  kNonAscii = 1u << 3,  // any byte >= 0x80 (CJK and other scripts)
  kSpace = 1u << 4,
  kAt = 1u << 5,
  kDot = 1u << 6,
  kColon = 1u << 7,
  kDash = 1u << 8,
  kPlus = 1u << 9,
  kSlash = 1u << 10,
  kComma = 1u << 11,
  kParen = 1u << 12,
  kUnderscore = 1u << 13,
  kOtherAscii = 1u << 14,
  kAllClasses = (1u << 15) - 1,
};

struct Shape {
  uint32_t classes = 0;  // CharClass bits present
  uint32_t bytes = 0;
};
Shape ShapeOf(std::string_view v);

using ValidatorFn = Strength (*)(std::string_view);

struct ValidatorInfo {
  std::string_view name;
  ValidatorFn fn;
  uint32_t min_bytes, max_bytes;
  uint32_t required;  // every one of these classes must be present (0: none required)
  uint32_t allowed;   // no class outside this set may be present
  bool embeddable;    // meaningful inside free text (has a pattern to search for)
  // Bit n (n < 64): a value of n ASCII digits and nothing else can match. The detector skips the
  // validator for all-digit values of other lengths (an ID number is not tried as a phone).
  uint64_t digit_lengths;
};

// Every built-in validator, in a stable order.
const std::vector<ValidatorInfo>& BuiltinValidators();
// nullptr when unknown.
const ValidatorInfo* FindValidator(std::string_view name);

// --- The validators themselves (also used directly by tests and the fuzz target). ---
Strength IdCardCn(std::string_view v);    // GB 11643: region, birth date, check char
Strength UsccCn(std::string_view v);      // GB 32100: alphabet, region digits, check char
Strength OrgCodeCn(std::string_view v);   // GB 11714: "60003734-1"
Strength BankCard(std::string_view v);    // 13-19 digits, IIN 3-6, Luhn
Strength MobileCn(std::string_view v);    // libphonenumber CN mobile prefixes, +86 allowed
Strength LandlineCn(std::string_view v);  // 0 + area code + 7-8 digits
Strength Email(std::string_view v);
Strength PassportCn(std::string_view v);
Strength HkMacauPermit(std::string_view v);
Strength LicensePlateCn(std::string_view v);  // GA 36-2018, including new-energy plates
Strength Vin(std::string_view v);             // ISO 3779 / GB 16735 check digit
Strength IpAddress(std::string_view v);       // IPv4 dotted quad or IPv6
Strength MacAddress(std::string_view v);
Strength Date(std::string_view v);           // weak: any real calendar date 1900..today
Strength GeoCoordinate(std::string_view v);  // strong: "lat,lng" pair; weak: one decimal
Strength PersonNameCn(std::string_view v);   // surname table + 1-3 given chars; minority names
Strength AddressCn(std::string_view v);      // administrative + street markers

// Helpers shared with tests and the detector.
bool LuhnValid(std::string_view digits);
// Non-empty and ASCII digits only, eight bytes at a time. Inline: the detector calls it for
// nearly every cell (60 M instructions on a 50 MB table as a call).
inline bool AllDigitsSwar(std::string_view v) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const size_t n = v.size();
  if (n < 8) {
    for (char c : v) {
      if (c < '0' || c > '9') return false;
    }
    return n > 0;
  }
  auto digits = [&](size_t i) {
    uint64_t w;
    std::memcpy(&w, v.data() + i, 8);
    return (((w - 0x30 * kOnes) | (w + 0x46 * kOnes) | w) & kHigh) == 0;
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (!digits(i)) return false;
  }
  return i == n || digits(n - 8);
}
char IdCardCheckChar(std::string_view first17);
// Year of a date value accepted by Date(), or 0.
int DateYear(std::string_view v);

}  // namespace kexin::scan

#endif  // KEXIN_SCAN_VALIDATORS_H_
