#include "policy/vocabulary.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "policy/policy.h"

namespace kexin::policy {
namespace internal {
namespace {

// (term, parent); parents come before their children.
const std::vector<std::pair<std::string, std::string>>& PurposeTree() {
  static const std::vector<std::pair<std::string, std::string>> tree = {
      {"statistics", ""},
      {"official-statistics", "statistics"},
      {"research", ""},
      {"academic-research", "research"},
      {"medical-research", "research"},
      {"finance", ""},
      {"credit-risk", "finance"},
      {"anti-fraud", "finance"},
      {"insurance-underwriting", "finance"},
      {"marketing", ""},
      {"personalized-advertising", "marketing"},
      {"public-service", ""},
      {"urban-planning", "public-service"},
      {"traffic-management", "public-service"},
      {"product-improvement", ""},
      {"ai-training", ""},
      {"regulatory-compliance", ""},
  };
  return tree;
}

// ISO 3166-2:CN subdivision codes (2017 revision): 34 provincial-level divisions.
constexpr std::string_view kCnSubdivisions[] = {
    "AH", "BJ", "CQ", "FJ", "GD", "GS", "GX", "GZ", "HA", "HB", "HE", "HI",
    "HK", "HL", "HN", "JL", "JS", "JX", "LN", "MO", "NM", "NX", "QH", "SC",
    "SD", "SH", "SN", "SX", "TJ", "TW", "XJ", "XZ", "YN", "ZJ"};

}  // namespace

std::set<std::string> PurposeSubtree(std::string_view term) {
  std::set<std::string> out;
  const auto& tree = PurposeTree();
  bool known =
      std::any_of(tree.begin(), tree.end(), [&](const auto& p) { return p.first == term; });
  if (!known) return out;
  out.insert(std::string(term));
  for (const auto& [t, parent] : tree) {  // parents precede children, so one pass suffices
    if (!parent.empty() && out.count(parent)) out.insert(t);
  }
  return out;
}

bool IsPurpose(std::string_view term) { return !PurposeSubtree(term).empty(); }

std::optional<size_t> ComputeModeRank(std::string_view mode) {
  const auto& modes = ComputeModes();
  for (size_t i = 0; i < modes.size(); ++i)
    if (modes[i] == mode) return i;
  return std::nullopt;
}

bool IsAction(std::string_view action) {
  static const std::set<std::string, std::less<>> kActions = {
      "use", "read", "aggregate", "anonymize", "derive", "distribute", "reproduce", "transfer"};
  return kActions.count(action) > 0;
}

bool ActionCovers(std::string_view granted, std::string_view requested) {
  return granted == "use" || granted == requested;
}

// GB/T 2260 province-level division codes (first two digits of "XX0000") -> ISO 3166-2:CN.
constexpr std::pair<std::string_view, std::string_view> kGbt2260[] = {
    {"11", "BJ"}, {"12", "TJ"}, {"13", "HE"}, {"14", "SX"}, {"15", "NM"}, {"21", "LN"},
    {"22", "JL"}, {"23", "HL"}, {"31", "SH"}, {"32", "JS"}, {"33", "ZJ"}, {"34", "AH"},
    {"35", "FJ"}, {"36", "JX"}, {"37", "SD"}, {"41", "HA"}, {"42", "HB"}, {"43", "HN"},
    {"44", "GD"}, {"45", "GX"}, {"46", "HI"}, {"50", "CQ"}, {"51", "SC"}, {"52", "GZ"},
    {"53", "YN"}, {"54", "XZ"}, {"61", "SN"}, {"62", "GS"}, {"63", "QH"}, {"64", "NX"},
    {"65", "XJ"}, {"71", "TW"}, {"81", "HK"}, {"82", "MO"}};

std::optional<std::string> NormalizeRegion(std::string_view code) {
  // A province-level GB/T 2260 code ("440000") names the same area as its ISO code; finer codes
  // (cities, counties) are refused rather than widened to their province.
  if (code.size() == 6 && code.substr(2) == "0000") {
    for (const auto& [gb, iso] : kGbt2260)
      if (code.substr(0, 2) == gb) return "CN-" + std::string(iso);
    return std::nullopt;
  }
  std::string up;
  for (char ch : code)
    up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  auto alpha2 = [](std::string_view s) {
    return s.size() == 2 && std::isupper(static_cast<unsigned char>(s[0])) &&
           std::isupper(static_cast<unsigned char>(s[1]));
  };
  if (alpha2(up)) return up;
  if (up.size() == 5 && up.compare(0, 3, "CN-") == 0) {
    std::string_view sub = std::string_view(up).substr(3);
    for (std::string_view s : kCnSubdivisions)
      if (s == sub) return up;
  }
  return std::nullopt;
}

bool RegionWithin(std::string_view region, std::string_view area) {
  if (region == area) return true;
  return area.size() == 2 && region.size() > 3 && region.substr(0, 2) == area && region[2] == '-';
}

}  // namespace internal

const std::vector<std::string>& PurposeTerms() {
  static const std::vector<std::string> terms = [] {
    std::vector<std::string> t;
    for (const auto& p : internal::PurposeTree()) t.push_back(p.first);
    return t;
  }();
  return terms;
}

std::optional<std::string> NormalizeRegion(std::string_view code) {
  return internal::NormalizeRegion(code);
}

const std::vector<std::string>& ComputeModes() {
  static const std::vector<std::string> modes = {"psi-only", "compute-only", "deidentified",
                                                 "download"};
  return modes;
}

// --- date-time -------------------------------------------------------------------------------

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Result<int64_t> ParseDateTime(std::string_view s) {
  auto bad = [&](std::string_view why) {
    std::string m = "'";
    m.append(s).append("' is not an RFC 3339 date-time or date (").append(why).append(")");
    return InvalidArgument(std::move(m));
  };
  int y, mo, d;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d))
    return bad("expected YYYY-MM-DD");
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap))
    return bad("no such date");
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  if (s.size() == 10) return days * 86400 * 1000000;
  int h, mi, se;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, &h) || s[13] != ':' ||
      !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se))
    return bad("expected YYYY-MM-DDTHH:MM:SS and an offset");
  if (h > 23 || mi > 59 || se > 59) return bad("time out of range");
  size_t pos = 19;
  int64_t micros = 0;
  if (s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (pos - start < 6)
        micros = micros * 10 + (s[pos] - '0');
      else if (s[pos] != '0')
        return bad("finer than microseconds");
      ++pos;
    }
    if (pos == start) return bad("empty fraction");
    for (size_t k = pos - start; k < 6; ++k) micros *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
    offset = 0;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() &&
             s[pos + 3] == ':') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59)
      return bad("bad offset");
    offset = (oh * 60 + om) * 60 * (s[pos] == '-' ? -1 : 1);
  } else {
    return bad("missing or malformed offset (Z or +HH:MM)");
  }
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset;
  return secs * 1000000 + micros;
}

std::string FormatDateTime(int64_t micros) {
  int64_t secs = micros / 1000000, frac = micros % 1000000;
  if (frac < 0) frac += 1000000, secs -= 1;
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) rem += 86400, days -= 1;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(y), m, d,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  std::string out = buf;
  if (frac != 0) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

}  // namespace kexin::policy
