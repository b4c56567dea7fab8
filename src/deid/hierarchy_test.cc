// Hierarchies: the ARX table format (levels, line endings, every error naming file:line), the
// built-ins (dates, intervals, region codes, addresses, flat), and the property the search relies
// on, checked on random values: two values equal at level a are equal at every level above a.
#include "deid/hierarchy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "base/file.h"

namespace kexin::deid {
namespace {

using Levels = std::vector<std::string>;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Levels Gen(const Hierarchy& h, std::string_view value) {
  Levels out;
  Status s = h.Generalize(value, &out);
  EXPECT_TRUE(s.ok()) << value << ": " << s.ToString();
  EXPECT_EQ(out.size(), static_cast<size_t>(h.height())) << value;
  return out;
}

// Expects Generalize to fail with kDataError and a message naming the value.
void ExpectRejected(const Hierarchy& h, std::string_view value) {
  Levels out;
  Status s = h.Generalize(value, &out);
  EXPECT_EQ(s.code(), StatusCode::kDataError) << "value " << value << ": " << s.ToString();
  EXPECT_TRUE(Contains(s.message(), std::string(value)))
      << "message does not name the value " << value << ": " << s.message();
}

std::unique_ptr<Hierarchy> Parse(std::string_view text) {
  auto h = ParseHierarchyCsv(text, "h.csv");
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? std::move(h).value() : nullptr;
}

Status ParseError(std::string_view text) {
  auto h = ParseHierarchyCsv(text, "h.csv");
  EXPECT_FALSE(h.ok()) << "parsed: " << text;
  return h.ok() ? Status::Ok() : h.status();
}

// The functional property over a set of values: for every level a, the value at a determines
// the values at every level above. Returns the number of violations (and reports the first few).
int FunctionalViolations(const Hierarchy& h, const std::vector<std::string>& values,
                         bool report = true) {
  int bad = 0;
  std::vector<std::map<std::string, std::pair<std::string, Levels>>> seen(h.height());
  for (const auto& v : values) {
    Levels l;
    if (!h.Generalize(v, &l).ok()) continue;
    for (int a = 0; a < h.height(); ++a) {
      Levels above(l.begin() + a, l.end());
      auto [it, inserted] = seen[a].emplace(l[a], std::make_pair(v, above));
      if (!inserted && it->second.second != above) {
        if (++bad <= 5 && report) {
          ADD_FAILURE() << "not functional at level " << a << ": \"" << it->second.first
                        << "\" and \"" << v << "\" both give \"" << l[a] << "\" but differ above";
        }
      }
    }
  }
  return bad;
}

// ---- ARX table format ----

TEST(HierarchyCsvTest, ParsesLevelsAndHeight) {
  auto h = Parse("1;0-4;0-9;*\n5;5-9;0-9;*\n12;10-14;10-19;*\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->height(), 4);
  EXPECT_EQ(Gen(*h, "5"), (Levels{"5", "5-9", "0-9", "*"}));
  EXPECT_EQ(Gen(*h, "12"), (Levels{"12", "10-14", "10-19", "*"}));
  EXPECT_TRUE(Contains(h->Describe(), "h.csv")) << h->Describe();
}

TEST(HierarchyCsvTest, SingleLevelAndOtherDelimiter) {
  auto one = Parse("a\nb\n");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->height(), 1);
  EXPECT_EQ(Gen(*one, "b"), (Levels{"b"}));
  auto comma = ParseHierarchyCsv("a,x,*\nb,x,*\n", "c.csv", ',');
  ASSERT_TRUE(comma.ok()) << comma.status().ToString();
  EXPECT_EQ((*comma)->height(), 3);
  EXPECT_EQ(Gen(**comma, "b"), (Levels{"b", "x", "*"}));
}

TEST(HierarchyCsvTest, CrlfBomBlankLinesAndNoFinalNewline) {
  auto h = Parse(
      "\xEF\xBB\xBF"
      "a;x;*\r\n\r\n\nb;x;*\r\nc;y;*");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->height(), 3);
  // The BOM is not part of the first value, the CR not part of the last level.
  EXPECT_EQ(Gen(*h, "a"), (Levels{"a", "x", "*"}));
  EXPECT_EQ(Gen(*h, "b"), (Levels{"b", "x", "*"}));
  EXPECT_EQ(Gen(*h, "c"), (Levels{"c", "y", "*"}));
  Levels out;
  EXPECT_FALSE(h->Generalize("\xEF\xBB\xBF"
                             "a",
                             &out)
                   .ok());
}

TEST(HierarchyCsvTest, RaggedRowNamesFileAndLine) {
  // Blank lines count, as a spreadsheet numbers rows.
  Status s = ParseError("a;x;*\n\nb;*\n");
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "h.csv:3:")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "ragged")) << s.message();
  // Longer rows too.
  s = ParseError("a;x;*\nb;x;*\nc;x;y;*\n");
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "h.csv:3:")) << s.message();
}

TEST(HierarchyCsvTest, DuplicateValueNamesFileLineAndValue) {
  Status s = ParseError("a;x;*\nb;x;*\na;x;*\n");
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "h.csv:3:")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "duplicate")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "\"a\"")) << s.message();
}

TEST(HierarchyCsvTest, NonFunctionalNamesValueAndBothParents) {
  // "x" at level 1 goes to "p" on line 1 and to "q" on line 2.
  Status s = ParseError("a;x;p;*\nb;x;q;*\n");
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "h.csv:2:")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "functional")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "\"x\"")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "\"p\"")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "\"q\"")) << s.message();
  // The same value reached at a higher level only through different lines.
  s = ParseError("a;x;m;*\nb;y;m;*\nc;y;n;*\n");
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "h.csv:3:")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "\"y\"")) << s.message();
  // A value whose two rows disagree is reported (as a duplicate or as not functional).
  s = ParseError("a;x;*\na;y;*\n");
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "h.csv:2:")) << s.message();
}

TEST(HierarchyCsvTest, EmptyFileRejected) {
  for (std::string_view text :
       {std::string_view(""), std::string_view("\n\n\r\n"), std::string_view("\xEF\xBB\xBF")}) {
    Status s = ParseError(text);
    EXPECT_EQ(s.code(), StatusCode::kDataError) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "h.csv")) << s.message();
    EXPECT_TRUE(Contains(s.message(), "empty")) << s.message();
  }
}

TEST(HierarchyCsvTest, MissingValueIsDataErrorNamingIt) {
  auto h = Parse("a;x;*\nb;x;*\n");
  ASSERT_TRUE(h);
  ExpectRejected(*h, "Holand-Netherlands");
  ExpectRejected(*h, "");
  ExpectRejected(*h, "x");  // a level-1 value is not an original value
  Levels out;
  EXPECT_TRUE(Contains(h->Generalize("zz", &out).message(), "h.csv"));
}

TEST(HierarchyCsvTest, LoadMissingFileIsNotFound) {
  auto h = LoadHierarchyCsv("/nonexistent/dir/h.csv");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kNotFound) << h.status().ToString();
  EXPECT_TRUE(Contains(h.status().message(), "/nonexistent/dir/h.csv")) << h.status().message();
}

TEST(HierarchyCsvTest, LoadFileErrorsNameThePath) {
  char dir[] = "/tmp/kexin_hierarchy_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/rag.csv";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("a;x;*\nb;x;*\nc;*\n", f);
  std::fclose(f);
  auto h = LoadHierarchyCsv(path);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(h.status().message(), path + ":3:")) << h.status().message();
  std::remove(path.c_str());
  rmdir(dir);
}

// ---- The real ARX hierarchies of the Adult data set ----

// examples/deid/adult in the source tree (KEXIN_SOURCE_DIR is set by ctest; this file's path
// otherwise), or KEXIN_ADULT_DIR.
std::string AdultDir() {
  if (const char* env = std::getenv("KEXIN_ADULT_DIR")) return std::string(env) + "/";
  std::filesystem::path root = std::filesystem::path(__FILE__).parent_path() / "../..";
  if (const char* src = std::getenv("KEXIN_SOURCE_DIR")) root = src;
  return (root / "examples/deid/adult/").string();
}

TEST(HierarchyCsvTest, AdultHierarchiesCoverEveryValue) {
  auto text = ReadFile(AdultDir() + "adult.csv");
  if (!text.ok()) GTEST_SKIP() << "adult data not found: " << text.status().ToString();
  std::vector<std::vector<std::string>> rows;
  size_t pos = 0;
  std::vector<std::string> header;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells;
    size_t s = 0;
    while (true) {
      size_t e = line.find(';', s);
      cells.push_back(line.substr(s, e == std::string::npos ? std::string::npos : e - s));
      if (e == std::string::npos) break;
      s = e + 1;
    }
    if (header.empty()) {
      header = cells;
    } else {
      ASSERT_EQ(cells.size(), header.size()) << line;
      rows.push_back(std::move(cells));
    }
  }
  ASSERT_EQ(rows.size(), 30162u);
  ASSERT_EQ(header.size(), 9u);
  for (size_t c = 0; c < header.size(); ++c) {
    SCOPED_TRACE(header[c]);
    auto h = LoadHierarchyCsv(AdultDir() + "adult_hierarchy_" + header[c] + ".csv");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_GE((*h)->height(), 2);
    std::vector<std::string> values;
    std::set<std::string> distinct;
    for (const auto& r : rows) {
      Levels l;
      Status s = (*h)->Generalize(r[c], &l);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(l.size(), static_cast<size_t>((*h)->height()));
      EXPECT_EQ(l[0], r[c]);
      EXPECT_EQ(l.back(), "*") << r[c];
      if (distinct.insert(r[c]).second) values.push_back(r[c]);
    }
    EXPECT_EQ(FunctionalViolations(**h, values), 0);
  }
}

// ---- Built-in: dates ----

TEST(DateHierarchyTest, AcceptedFormats) {
  auto h = DateHierarchy();
  EXPECT_EQ(h->height(), 4);
  EXPECT_EQ(Gen(*h, "1987-03-05"), (Levels{"1987-03-05", "1987-03", "1987", "*"}));
  EXPECT_EQ(Gen(*h, "1987/03/05"), (Levels{"1987/03/05", "1987-03", "1987", "*"}));
  EXPECT_EQ(Gen(*h, "19870305"), (Levels{"19870305", "1987-03", "1987", "*"}));
  EXPECT_EQ(Gen(*h, "1987年3月5日"), (Levels{"1987年3月5日", "1987-03", "1987", "*"}));
  EXPECT_EQ(Gen(*h, "1987年12月31日"), (Levels{"1987年12月31日", "1987-12", "1987", "*"}));
  // Leap days where they exist.
  EXPECT_EQ(Gen(*h, "2024-02-29")[1], "2024-02");
  EXPECT_EQ(Gen(*h, "2000-02-29")[1], "2000-02");
  EXPECT_EQ(Gen(*h, "20240229")[2], "2024");
}

TEST(DateHierarchyTest, InvalidDatesRejected) {
  auto h = DateHierarchy();
  for (const char* v :
       {"2023-02-29", "1900-02-29", "20230229", "2023/02/29", "2023年2月29日", "2023-13-01",
        "2023-00-10", "2023-04-31", "2023-01-00", "2023-01-32", "2023-02", "2023", "87-03-05",
        "abcd-ef-gh", "1987-03-05x", "1987.03.05", "1987-03/05", "not a date", "2023年2月"}) {
    ExpectRejected(*h, v);
  }
}

// ---- Built-in: intervals ----

TEST(IntervalHierarchyTest, AgeWidths) {
  auto h = IntervalHierarchy({5, 10, 20});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ((*h)->height(), 5);
  EXPECT_EQ(Gen(**h, "20"), (Levels{"20", "[20, 25)", "[20, 30)", "[20, 40)", "*"}));
  EXPECT_EQ(Gen(**h, "39"), (Levels{"39", "[35, 40)", "[30, 40)", "[20, 40)", "*"}));
  EXPECT_EQ(Gen(**h, "40"), (Levels{"40", "[40, 45)", "[40, 50)", "[40, 60)", "*"}));
  EXPECT_EQ(Gen(**h, "0"), (Levels{"0", "[0, 5)", "[0, 10)", "[0, 20)", "*"}));
}

TEST(IntervalHierarchyTest, DecimalsNegativesAndOrigin) {
  auto h = IntervalHierarchy({5, 10, 20});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(Gen(**h, "22.5"), (Levels{"22.5", "[20, 25)", "[20, 30)", "[20, 40)", "*"}));
  EXPECT_EQ(Gen(**h, "24.999"), (Levels{"24.999", "[20, 25)", "[20, 30)", "[20, 40)", "*"}));
  EXPECT_EQ(Gen(**h, "-3"), (Levels{"-3", "[-5, 0)", "[-10, 0)", "[-20, 0)", "*"}));
  EXPECT_EQ(Gen(**h, "-5"), (Levels{"-5", "[-5, 0)", "[-10, 0)", "[-20, 0)", "*"}));
  EXPECT_EQ(Gen(**h, "-21"), (Levels{"-21", "[-25, -20)", "[-30, -20)", "[-40, -20)", "*"}));
  auto half = IntervalHierarchy({0.5, 1.5});
  ASSERT_TRUE(half.ok()) << half.status().ToString();
  EXPECT_EQ(Gen(**half, "1.25"), (Levels{"1.25", "[1, 1.5)", "[0, 1.5)", "*"}));
  EXPECT_EQ(Gen(**half, "1.5"), (Levels{"1.5", "[1.5, 2)", "[1.5, 3)", "*"}));
  auto shifted = IntervalHierarchy({10, 20}, 5);
  ASSERT_TRUE(shifted.ok());
  EXPECT_EQ(Gen(**shifted, "12"), (Levels{"12", "[5, 15)", "[5, 25)", "*"}));
  EXPECT_EQ(Gen(**shifted, "4"), (Levels{"4", "[-5, 5)", "[-15, 5)", "*"}));
}

TEST(IntervalHierarchyTest, DecimalWidthsGiveExactBounds) {
  // 0.3 / 0.1 is 2.9999999999999996 in binary floating point; 0.3 belongs to [0.3, 0.4), and
  // bounds must print as the decimals a reader expects.
  auto h = IntervalHierarchy({0.1, 0.2});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Gen(**h, "0.3"), (Levels{"0.3", "[0.3, 0.4)", "[0.2, 0.4)", "*"}));
  EXPECT_EQ(Gen(**h, "0.25"), (Levels{"0.25", "[0.2, 0.3)", "[0.2, 0.4)", "*"}));
}

TEST(IntervalHierarchyTest, NonNumbersRejected) {
  auto h = IntervalHierarchy({5, 10, 20});
  ASSERT_TRUE(h.ok());
  for (const char* v :
       {"abc", "39 ", " 39", "39岁", "1,000", "nan", "inf", "-inf", "1e999", "0x10", "--3"}) {
    ExpectRejected(**h, v);
  }
}

TEST(IntervalHierarchyTest, WidthsThatDoNotNestRejected) {
  const std::vector<std::vector<double>> bad = {{},
                                                {0},
                                                {-5},
                                                {5, 12},
                                                {10, 5},
                                                {5, 5},
                                                {5, 10, 25},
                                                {2.5, 6},
                                                {5, std::numeric_limits<double>::infinity()},
                                                {std::numeric_limits<double>::quiet_NaN()}};
  for (const auto& w : bad) {
    auto h = IntervalHierarchy(w);
    EXPECT_FALSE(h.ok()) << "widths accepted: " << fmt::format("{}", fmt::join(w, ","));
    if (!h.ok()) {
      EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument) << h.status().ToString();
    }
  }
  EXPECT_TRUE(IntervalHierarchy({2.5, 5, 15}).ok());
  EXPECT_TRUE(IntervalHierarchy({7}).ok());
}

// ---- Built-in: region codes ----

TEST(RegionCodeHierarchyTest, IdNumberAndRegionCode) {
  auto h = RegionCodeHierarchy();
  EXPECT_EQ(h->height(), 5);
  EXPECT_EQ(Gen(*h, "11010519491231002X"),
            (Levels{"11010519491231002X", "110105", "110100", "110000", "*"}));
  EXPECT_EQ(Gen(*h, "330106"), (Levels{"330106", "330106", "330100", "330000", "*"}));
}

TEST(RegionCodeHierarchyTest, ShortOrNonDigitRejected) {
  auto h = RegionCodeHierarchy();
  for (const char* v : {"11010", "1101a5", "X10105", "一一0105", " 110105", "abcdefghijklmnopqr"}) {
    ExpectRejected(*h, v);
  }
}

// ---- Built-in: addresses ----

TEST(AddressHierarchyTest, MunicipalityProvinceAndAutonomousRegion) {
  auto h = AddressHierarchy();
  EXPECT_EQ(h->height(), 5);
  EXPECT_EQ(Gen(*h, "北京市朝阳区建国路1号"),
            (Levels{"北京市朝阳区建国路1号", "北京市朝阳区", "北京市", "北京市", "*"}));
  EXPECT_EQ(Gen(*h, "上海市浦东新区世纪大道100号"),
            (Levels{"上海市浦东新区世纪大道100号", "上海市浦东新区", "上海市", "上海市", "*"}));
  EXPECT_EQ(Gen(*h, "四川省成都市武侯区人民南路4段12号"),
            (Levels{"四川省成都市武侯区人民南路4段12号", "四川省成都市武侯区", "四川省成都市",
                    "四川省", "*"}));
  EXPECT_EQ(Gen(*h, "新疆维吾尔自治区乌鲁木齐市天山区"),
            (Levels{"新疆维吾尔自治区乌鲁木齐市天山区", "新疆维吾尔自治区乌鲁木齐市天山区",
                    "新疆维吾尔自治区乌鲁木齐市", "新疆维吾尔自治区", "*"}));
  // No district: the district level keeps the city.
  EXPECT_EQ(Gen(*h, "广东省东莞市南城街道"),
            (Levels{"广东省东莞市南城街道", "广东省东莞市", "广东省东莞市", "广东省", "*"}));
}

TEST(AddressHierarchyTest, CityNamesContainingZhou) {
  // 州 is also a prefecture unit (自治州), but in 杭州市 / 广州市 it is part of the city's name.
  auto h = AddressHierarchy();
  EXPECT_EQ(
      Gen(*h, "浙江省杭州市西湖区文三路"),
      (Levels{"浙江省杭州市西湖区文三路", "浙江省杭州市西湖区", "浙江省杭州市", "浙江省", "*"}));
  EXPECT_EQ(
      Gen(*h, "广东省广州市天河区体育西路"),
      (Levels{"广东省广州市天河区体育西路", "广东省广州市天河区", "广东省广州市", "广东省", "*"}));
  EXPECT_EQ(Gen(*h, "湖北省恩施土家族苗族自治州恩施市舞阳大道"),
            (Levels{"湖北省恩施土家族苗族自治州恩施市舞阳大道", "湖北省恩施土家族苗族自治州恩施市",
                    "湖北省恩施土家族苗族自治州", "湖北省", "*"}));
}

TEST(AddressHierarchyTest, NoUnitRejected) {
  auto h = AddressHierarchy();
  for (const char* v : {"建国路1号", "Main Street 1", "中关村大街27号"}) ExpectRejected(*h, v);
}

// ---- Built-in: flat ----

TEST(FlatHierarchyTest, ValueThenStar) {
  auto h = FlatHierarchy();
  EXPECT_EQ(h->height(), 2);
  EXPECT_EQ(Gen(*h, "男"), (Levels{"男", "*"}));
  EXPECT_EQ(Gen(*h, ""), (Levels{"", "*"}));
}

// A missing value stays empty and is suppressed above level 0, in every built-in hierarchy.
TEST(BuiltinHierarchyTest, EmptyValueIsSuppressedAbove) {
  EXPECT_EQ(Gen(*DateHierarchy(), ""), (Levels{"", "*", "*", "*"}));
  EXPECT_EQ(Gen(*RegionCodeHierarchy(), ""), (Levels{"", "*", "*", "*", "*"}));
  EXPECT_EQ(Gen(*AddressHierarchy(), ""), (Levels{"", "*", "*", "*", "*"}));
  auto iv = IntervalHierarchy({5, 10});
  ASSERT_TRUE(iv.ok());
  EXPECT_EQ(Gen(**iv, ""), (Levels{"", "*", "*", "*"}));
}

// ---- The functional property on random values ----

TEST(HierarchyFunctionalTest, RandomValuesOfEveryBuiltin) {
  std::mt19937 rng(20261122);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };

  std::vector<std::string> dates;
  for (int i = 0; i < 3000; ++i) {
    int y = 1900 + rng() % 130, m = 1 + rng() % 12, d = 1 + rng() % 31;
    switch (rng() % 4) {
      case 0:
        dates.push_back(fmt::format("{:04}-{:02}-{:02}", y, m, d));
        break;
      case 1:
        dates.push_back(fmt::format("{:04}/{:02}/{:02}", y, m, d));
        break;
      case 2:
        dates.push_back(fmt::format("{:04}{:02}{:02}", y, m, d));
        break;
      default:
        dates.push_back(fmt::format("{}年{}月{}日", y, m, d));
        break;
    }
  }
  EXPECT_EQ(FunctionalViolations(*DateHierarchy(), dates), 0);

  std::vector<std::string> numbers;
  for (int i = 0; i < 5000; ++i) {
    int cents = static_cast<int>(rng() % 40000) - 20000;
    numbers.push_back(rng() % 2 ? fmt::format("{}", cents / 100)
                                : fmt::format("{}.{:02}", cents / 100, std::abs(cents % 100)));
  }
  for (const auto& widths :
       std::vector<std::vector<double>>{{5, 10, 20}, {1, 5, 10, 50}, {0.5, 1, 3}, {2.5, 5, 25}}) {
    auto h = IntervalHierarchy(widths, widths[0] == 2.5 ? 1 : 0);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(FunctionalViolations(**h, numbers), 0) << fmt::format("{}", fmt::join(widths, ","));
  }
  {
    std::vector<std::string> small;
    for (int i = 0; i < 3000; ++i)
      small.push_back(fmt::format("{:.2f}", (rng() % 2000) / 100.0 - 10));
    auto h = IntervalHierarchy({0.1, 0.2, 1});
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(FunctionalViolations(**h, small), 0) << "widths 0.1, 0.2, 1";
  }

  std::vector<std::string> codes;
  for (int i = 0; i < 3000; ++i) {
    std::string c = fmt::format("{:02}{:02}{:02}", 11 + rng() % 3, rng() % 4, rng() % 5);
    if (rng() % 2) c += fmt::format("{:012}", rng() % 1000000000);
    codes.push_back(c);
  }
  EXPECT_EQ(FunctionalViolations(*RegionCodeHierarchy(), codes), 0);

  // Addresses from tricky parts: municipalities with and without 市, 自治区, 自治州, cities whose
  // names hold 州, counties that are cities, missing levels.
  const std::vector<std::string> provinces = {
      "",       "北京市",           "北京",         "上海市", "浙江省",
      "广东省", "新疆维吾尔自治区", "内蒙古自治区", "贵州省"};
  const std::vector<std::string> cities = {"",           "杭州市",     "广州市",
                                           "乌鲁木齐市", "锡林郭勒盟", "恩施土家族苗族自治州",
                                           "喀什地区",   "东莞市",     "贵阳市"};
  const std::vector<std::string> districts = {
      "", "西湖区", "天河区", "昆山市", "和静县", "达尔罕茂明安联合旗", "朝阳区"};
  const std::vector<std::string> streets = {"",       "文三路1号", "建国路", "人民南路4段12号",
                                            "市场街", "州桥路2号"};
  std::vector<std::string> addresses;
  for (int i = 0; i < 4000; ++i) {
    addresses.push_back(pick(provinces) + pick(cities) + pick(districts) + pick(streets));
  }
  EXPECT_EQ(FunctionalViolations(*AddressHierarchy(), addresses), 0);

  std::vector<std::string> flat;
  for (int i = 0; i < 500; ++i) flat.push_back(fmt::format("v{}", rng() % 50));
  EXPECT_EQ(FunctionalViolations(*FlatHierarchy(), flat), 0);
}

// A deliberately broken hierarchy: "a" and "b" meet at level 1 but part again at level 2.
class BrokenHierarchy : public Hierarchy {
 public:
  int height() const override { return 3; }
  Status Generalize(std::string_view value, std::vector<std::string>* levels) const override {
    levels->assign({std::string(value), "x", value == "a" ? "p" : "q"});
    return Status::Ok();
  }
  std::string Describe() const override { return "broken"; }
};

TEST(HierarchyFunctionalTest, CheckerCatchesViolations) {
  BrokenHierarchy broken;
  EXPECT_EQ(FunctionalViolations(broken, {"a", "b"}, /*report=*/false), 1);
  auto h = Parse("a;x;*\nb;x;*\nc;y;*\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(FunctionalViolations(*h, {"a", "b", "c"}), 0);
}

}  // namespace
}  // namespace kexin::deid
