// libFuzzer target for the deid module: the parsers of outside input (hierarchy CSV files, the
// TOML config, built-in hierarchies on arbitrary values) and the search itself.
//
// Byte 0 selects what the rest feeds:
//   0: ParseHierarchyCsv; every parsed row generalizes to height() levels starting with itself,
//      and the hierarchy is functional (equal at level a implies equal above);
//   1: ParseDeidConfig (errors are fine, crashes are not);
//   2: the built-in hierarchies on the text as one value: height() levels, level 0 = the value;
//   3: a tiny table (3 quasi-identifiers, bytes as values, built-in interval hierarchies) with k,
//      the suppression limit and the metric taken from the first bytes: Search() must find a node
//      exactly when Exhaustive() does, with the same utility.
// Build and run: see fuzz/README.md.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "deid/config.h"
#include "deid/dataset.h"
#include "deid/hierarchy.h"
#include "deid/search.h"

namespace {

using namespace kexin::deid;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void FuzzHierarchy(std::string_view text) {
  auto h = ParseHierarchyCsv(text, "fuzz.csv", ';');
  if (!h.ok()) return;
  std::vector<std::vector<std::string>> rows;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::string value(line.substr(0, line.find(';')));
    if (rows.empty() && value.rfind("\xEF\xBB\xBF", 0) == 0) value = value.substr(3);
    std::vector<std::string> levels;
    Check((*h)->Generalize(value, &levels).ok());
    Check(static_cast<int>(levels.size()) == (*h)->height());
    Check(levels[0] == value);
    rows.push_back(std::move(levels));
  }
  for (size_t a = 0; a < rows.size(); ++a) {
    for (size_t b = a + 1; b < rows.size() && b < a + 64; ++b) {
      for (size_t l = 0; l + 1 < rows[a].size(); ++l) {
        if (rows[a][l] == rows[b][l]) Check(rows[a][l + 1] == rows[b][l + 1]);
      }
    }
  }
}

void FuzzBuiltins(std::string_view value) {
  std::vector<std::unique_ptr<Hierarchy>> hs;
  hs.push_back(DateHierarchy());
  hs.push_back(RegionCodeHierarchy());
  hs.push_back(AddressHierarchy());
  hs.push_back(FlatHierarchy());
  hs.push_back(std::move(IntervalHierarchy({5, 10, 20})).value());
  for (const auto& h : hs) {
    std::vector<std::string> levels;
    if (!h->Generalize(value, &levels).ok()) continue;
    Check(static_cast<int>(levels.size()) == h->height());
    Check(levels[0] == value);
  }
}

void FuzzSearch(std::string_view data) {
  if (data.size() < 4) return;
  PrivacyModel m;
  m.k = 1 + static_cast<uint8_t>(data[0]) % 6;
  m.max_suppression = (static_cast<uint8_t>(data[1]) % 4) * 0.05;
  Metric metric = static_cast<Metric>(static_cast<uint8_t>(data[2]) % 3);
  data.remove_prefix(3);
  auto h1 = std::move(IntervalHierarchy({2, 4})).value();
  auto h2 = std::move(IntervalHierarchy({3, 6, 12})).value();
  auto h3 = FlatHierarchy();
  Dataset d({"a", "b", "c"}, {h1.get(), h2.get(), h3.get()}, {}, {});
  for (size_t i = 0; i + 3 <= data.size() && i < 3 * 200; i += 3) {
    std::string a = std::to_string(static_cast<uint8_t>(data[i]) % 16);
    std::string b = std::to_string(static_cast<uint8_t>(data[i + 1]) % 24);
    std::string c(1, static_cast<char>('a' + static_cast<uint8_t>(data[i + 2]) % 3));
    Check(d.AddRow({a, b, c}, {}, i / 3 + 2).ok());
  }
  d.Finish();
  auto an = Anonymizer::Create(d, m, metric);
  if (!an.ok()) return;
  SearchResult s = an->Search();
  SearchResult e = an->Exhaustive();
  Check(s.found == e.found);
  if (s.found) {
    Check(std::fabs(s.best.utility - e.best.utility) <= 1e-9 * std::max(1.0, e.best.utility));
    Check(an->Check(s.best.levels).accepted);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  switch (bytes[0] % 4) {
    case 0:
      FuzzHierarchy(data);
      break;
    case 1:
      (void)ParseDeidConfig(data, "fuzz.toml", ".");
      break;
    case 2:
      FuzzBuiltins(data);
      break;
    case 3:
      FuzzSearch(data);
      break;
  }
  return 0;
}
