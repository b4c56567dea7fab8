// libFuzzer target for the scan detectors: DetectorSet (built once from the default rules) on the
// input as a cell and as free text, and every validator of scan/validators.h called directly.
//
// Besides memory safety the target checks invariants and traps when one fails: match bits name
// existing categories, embedded hits are in-bounds, left to right and non-overlapping, and
// NormalizedHash agrees with hashing Normalize.
//
// Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "scan/detector_set.h"
#include "scan/rules.h"
#include "scan/validators.h"

namespace {

using kexin::scan::DetectorSet;
using kexin::scan::Strength;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

const DetectorSet& Detectors() {
  static const std::unique_ptr<DetectorSet> kSet = [] {
    auto rules = kexin::scan::DefaultRules();
    if (!rules.ok()) {
      std::fprintf(stderr, "DefaultRules: %s\n", rules.status().ToString().c_str());
      std::abort();
    }
    auto set = DetectorSet::Build(rules.value());
    if (!set.ok()) {
      std::fprintf(stderr, "DetectorSet::Build: %s\n", set.status().ToString().c_str());
      std::abort();
    }
    return std::move(set).value();
  }();
  return *kSet;
}

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void CheckStrength(Strength s) {
  Check(s == Strength::kNone || s == Strength::kWeak || s == Strength::kStrong);
}

void FuzzValidators(std::string_view v) {
  // Empty values are valid input too (MobileCn("") once read out of bounds; fixed).
  const kexin::scan::Shape shape = kexin::scan::ShapeOf(v);
  Check(shape.bytes == v.size());
  Check((shape.classes & ~static_cast<uint32_t>(kexin::scan::kAllClasses)) == 0);

  for (const auto& info : kexin::scan::BuiltinValidators()) {
    Check(kexin::scan::FindValidator(info.name) == &info);
    CheckStrength(info.fn(v));
  }
  Check(kexin::scan::FindValidator(v) == nullptr || kexin::scan::FindValidator(v)->name == v);

  CheckStrength(kexin::scan::IdCardCn(v));
  CheckStrength(kexin::scan::UsccCn(v));
  CheckStrength(kexin::scan::OrgCodeCn(v));
  CheckStrength(kexin::scan::BankCard(v));
  CheckStrength(kexin::scan::MobileCn(v));
  CheckStrength(kexin::scan::LandlineCn(v));
  CheckStrength(kexin::scan::Email(v));
  CheckStrength(kexin::scan::PassportCn(v));
  CheckStrength(kexin::scan::HkMacauPermit(v));
  CheckStrength(kexin::scan::LicensePlateCn(v));
  CheckStrength(kexin::scan::Vin(v));
  CheckStrength(kexin::scan::IpAddress(v));
  CheckStrength(kexin::scan::MacAddress(v));
  CheckStrength(kexin::scan::Date(v));
  CheckStrength(kexin::scan::GeoCoordinate(v));
  CheckStrength(kexin::scan::PersonNameCn(v));
  CheckStrength(kexin::scan::AddressCn(v));

  if (AllDigits(v)) kexin::scan::LuhnValid(v);
  // IdCardCheckChar's precondition: 17 digits.
  if (v.size() >= 17 && AllDigits(v.substr(0, 17))) {
    char c = kexin::scan::IdCardCheckChar(v.substr(0, 17));
    Check((c >= '0' && c <= '9') || c == 'X');
  }
  int year = kexin::scan::DateYear(v);
  Check(year == 0 || (year >= 1000 && year <= 9999));
}

void FuzzDetectorSet(std::string_view input) {
  const DetectorSet& set = Detectors();
  static const std::unique_ptr<DetectorSet::Scratch> kScratch = set.NewScratch();
  const size_t n = set.size();
  const uint64_t all = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;

  std::string_view cell = Trim(input);
  if (!cell.empty()) {
    kexin::scan::CellMatch m = set.Match(cell, kScratch.get());
    Check((m.strong & ~all) == 0);
    Check((m.weak & ~all) == 0);
  }

  set.IsTextCandidate(input);
  size_t last_end = 0;
  set.FindEmbedded(input, kScratch.get(), [&](int category, std::string_view span) {
    Check(category >= 0 && static_cast<size_t>(category) < n);
    Check(span.data() >= input.data() && span.data() + span.size() <= input.data() + input.size());
    size_t from = static_cast<size_t>(span.data() - input.data());
    Check(from >= last_end);
    last_end = from + span.size();
    std::string norm = set.Normalize(category, span);
    Check(set.NormalizedHash(category, span) == std::hash<std::string>()(norm));
  });

  // Normalize and NormalizedHash on the whole input for every category.
  for (size_t c = 0; c < n; ++c) {
    std::string norm = set.Normalize(static_cast<int>(c), input);
    Check(set.NormalizedHash(static_cast<int>(c), input) == std::hash<std::string>()(norm));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  FuzzValidators(input);
  FuzzValidators(Trim(input));
  FuzzDetectorSet(input);
  return 0;
}
