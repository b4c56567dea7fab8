// Accuracy of the scanner on the labelled synthetic table: column-level precision and recall in
// full and sample mode, for CSV, GB18030 CSV and JSONL, and agreement between thread counts.
//
// The first tests check the generator itself (check characters recomputed independently of
// src/scan, and the scanner's validators), so a generator bug is told apart from a scanner bug.
#include "testdata/labelled_table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "scan/detector_set.h"
#include "scan/rules.h"
#include "scan/scanner.h"
#include "scan/validators.h"
#include "table/encoding.h"

namespace kexin::testdata {
namespace {

using scan::Strength;

constexpr uint64_t kSeed = 20240601;
constexpr uint64_t kRows = 5000;

// --- Independent reference checks (not using src/scan) ---

bool IdCheckOk(std::string_view v) {
  static constexpr int kW[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  if (v.size() != 18) return false;
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (v[i] < '0' || v[i] > '9') return false;
    sum += (v[i] - '0') * kW[i];
  }
  return "10X98765432"[sum % 11] == v[17];
}

bool UsccCheckOk(std::string_view v) {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  static constexpr int kW[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  if (v.size() != 18) return false;
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    size_t k = kAlphabet.find(v[i]);
    if (k == std::string_view::npos) return false;
    sum += static_cast<int>(k) * kW[i];
  }
  return kAlphabet[static_cast<size_t>((31 - sum % 31) % 31)] == v[17];
}

bool LuhnOk(std::string_view v) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = v.size(); i-- > 0;) {
    if (v[i] < '0' || v[i] > '9') return false;
    int d = v[i] - '0';
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool VinCheckOk(std::string_view v) {
  static constexpr int kW[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
  static const std::map<char, int> kT = {{'A', 1}, {'B', 2}, {'C', 3}, {'D', 4}, {'E', 5}, {'F', 6},
                                         {'G', 7}, {'H', 8}, {'J', 1}, {'K', 2}, {'L', 3}, {'M', 4},
                                         {'N', 5}, {'P', 7}, {'R', 9}, {'S', 2}, {'T', 3}, {'U', 4},
                                         {'V', 5}, {'W', 6}, {'X', 7}, {'Y', 8}, {'Z', 9}};
  if (v.size() != 17) return false;
  int sum = 0, letters = 0;
  for (int i = 0; i < 17; ++i) {
    int val;
    if (v[i] >= '0' && v[i] <= '9') {
      val = v[i] - '0';
    } else {
      auto it = kT.find(v[i]);
      if (it == kT.end()) return false;
      val = it->second;
      ++letters;
    }
    sum += val * kW[i];
  }
  int r = sum % 11;
  return letters >= 5 && v[8] == (r == 10 ? 'X' : static_cast<char>('0' + r));
}

TEST(ReferenceChecks, KnownVectors) {
  EXPECT_TRUE(IdCheckOk("11010519491231002X"));
  EXPECT_FALSE(IdCheckOk("110105194912310021"));
  EXPECT_TRUE(UsccCheckOk("91110000600037341L"));
  EXPECT_FALSE(UsccCheckOk("91110000600037341M"));
  EXPECT_TRUE(LuhnOk("79927398713"));
  EXPECT_FALSE(LuhnOk("79927398710"));
  EXPECT_TRUE(LuhnOk("4111111111111111"));
  EXPECT_TRUE(VinCheckOk("1M8GDM9AXKP042788"));
  // The scanner's validators agree on the same vectors.
  EXPECT_EQ(scan::IdCardCn("11010519491231002X"), Strength::kStrong);
  EXPECT_EQ(scan::UsccCn("91110000600037341L"), Strength::kStrong);
  EXPECT_EQ(scan::Vin("1M8GDM9AXKP042788"), Strength::kStrong);
}

// ASCII runs of [A-Za-z0-9@._-] in text: candidate identifiers inside free text.
std::vector<std::string_view> AsciiTokens(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  auto tok = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '@' ||
           c == '.' || c == '_' || c == '-';
  };
  while (i < text.size()) {
    if (!tok(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && tok(text[j])) ++j;
    out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

bool HasIdentifier(std::string_view text) {
  for (std::string_view t : AsciiTokens(text)) {
    if (IdCheckOk(t) || scan::MobileCn(t) == Strength::kStrong ||
        scan::Email(t) == Strength::kStrong) {
      return true;
    }
  }
  return false;
}

class Fixture : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto rules = scan::DefaultRules();
    ASSERT_TRUE(rules.ok()) << rules.status().ToString();
    rules_ = new scan::Rules(std::move(rules).value());
    auto det = scan::DetectorSet::Build(*rules_);
    ASSERT_TRUE(det.ok()) << det.status().ToString();
    detectors_ = std::move(det).value().release();
    dir_ = new std::string(testing::TempDir() + "/kexin_labelled_" + std::to_string(::getpid()));
    std::filesystem::create_directories(*dir_);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete detectors_;
    delete rules_;
    delete dir_;
  }

  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }

  static std::string Make(const std::string& name, uint64_t rows, OutputFormat format,
                          OutputEncoding encoding) {
    GenOptions o;
    o.rows = rows;
    o.seed = kSeed;
    o.format = format;
    o.encoding = encoding;
    std::string path = Path(name);
    auto stats = Generate(path, o);
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    if (stats.ok()) {
      EXPECT_EQ(stats->rows, rows);
    }
    return path;
  }

  static scan::TableResult Scan(const std::string& path, scan::ScanOptions o) {
    auto r = scan::ScanFile(path, *detectors_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : scan::TableResult{};
  }

  static scan::Rules* rules_;
  static scan::DetectorSet* detectors_;
  static std::string* dir_;
};

scan::Rules* Fixture::rules_ = nullptr;
scan::DetectorSet* Fixture::detectors_ = nullptr;
std::string* Fixture::dir_ = nullptr;

// --- The generator ---

class GeneratorTest : public Fixture {};

TEST_F(GeneratorTest, ColumnsAndLabels) {
  const auto& cols = Columns();
  std::set<std::string> categories, headers;
  for (const auto& c : cols) {
    EXPECT_TRUE(headers.insert(c.header).second) << "duplicate header " << c.header;
    EXPECT_EQ(c.decoy, c.category.empty()) << c.header;
    if (c.decoy) continue;
    EXPECT_TRUE(categories.insert(c.category).second) << "category twice: " << c.category;
    EXPECT_NE(rules_->Find(c.category), nullptr) << "unknown category " << c.category;
  }
  // Categories of the rules without a column (the rules may grow faster than the generator).
  for (const auto& r : rules_->categories) {
    if (!categories.count(r.id))
      std::printf("note: no generated column for category %s\n", r.id.c_str());
  }
  EXPECT_EQ(cols[16].header, "col_17");
  EXPECT_EQ(cols[static_cast<size_t>(ColumnIndex("编号"))].category, "id_card_cn");
  auto labels = nlohmann::json::parse(LabelsJson());
  ASSERT_EQ(labels.size(), cols.size());
  EXPECT_EQ(labels[0]["header"], "编号");
  EXPECT_EQ(labels[0]["category"], "id_card_cn");
  EXPECT_EQ(labels[0]["decoy"], false);
  EXPECT_TRUE(labels[1]["category"].is_null());
  EXPECT_EQ(labels[1]["decoy"], true);
  EXPECT_EQ(labels[static_cast<size_t>(ColumnIndex("手机号"))]["jsonl_path"], "contact.手机号");
}

// Every generated value of a positive column is valid by the rules of its category, checked both
// by independent reference code and by the scanner's validators; decoys are what they claim.
TEST_F(GeneratorTest, ValuesAreValid) {
  const auto& cols = Columns();
  RowWriter w(kSeed);
  std::vector<std::string_view> cells;
  constexpr int kSampleRows = 4000;
  std::vector<int> empty(cols.size()), bad(cols.size()), scanner_bad(cols.size());
  std::vector<std::string> first_bad(cols.size());
  int free_text_with_id = 0, free_text_cells = 0, new_energy = 0, ipv6 = 0;
  auto fail = [&](size_t c, std::string_view v, bool scanner) {
    (scanner ? scanner_bad : bad)[c]++;
    if (first_bad[c].empty())
      first_bad[c] = std::string(scanner ? "scanner rejects " : "") + std::string(v);
  };
  for (int row = 0; row < kSampleRows; ++row) {
    w.NextCells(&cells);
    ASSERT_EQ(cells.size(), cols.size());
    for (size_t c = 0; c < cols.size(); ++c) {
      std::string_view v = cells[c];
      const std::string& cat = cols[c].category;
      const std::string& h = cols[c].header;
      if (v.empty()) {
        ++empty[c];
        continue;
      }
      auto strong = [&](scan::ValidatorFn fn) {
        if (fn(v) != Strength::kStrong) fail(c, v, true);
      };
      if (cat == "id_card_cn") {
        if (v.size() != 18) {
          fail(c, v, false);
          continue;
        }
        int y = std::stoi(std::string(v.substr(6, 4)));
        int p = std::stoi(std::string(v.substr(0, 2)));
        if (!IdCheckOk(v) || y < 1940 || y > 2010 || p < 11 || p > 65) fail(c, v, false);
        strong(scan::IdCardCn);
      } else if (cat == "mobile_cn") {
        if (v.size() != 11 || v[0] != '1') fail(c, v, false);
        strong(scan::MobileCn);
      } else if (cat == "landline_cn") {
        strong(scan::LandlineCn);
      } else if (cat == "email") {
        strong(scan::Email);
      } else if (cat == "bank_card") {
        if (!LuhnOk(v) || (v.size() != 16 && v.size() != 19)) fail(c, v, false);
        strong(scan::BankCard);
      } else if (cat == "uscc_cn") {
        if (!UsccCheckOk(v) || v.substr(0, 2) != "91") fail(c, v, false);
        strong(scan::UsccCn);
      } else if (cat == "passport_cn") {
        strong(scan::PassportCn);
      } else if (cat == "hk_macau_permit") {
        strong(scan::HkMacauPermit);
      } else if (cat == "license_plate_cn") {
        if (v.size() == 10) ++new_energy;  // province (3 bytes) + 7 characters
        strong(scan::LicensePlateCn);
      } else if (cat == "vin") {
        if (!VinCheckOk(v)) fail(c, v, false);
        strong(scan::Vin);
      } else if (cat == "address_cn") {
        strong(scan::AddressCn);
      } else if (cat == "ip_address") {
        if (v.find(':') != std::string_view::npos) ++ipv6;
        strong(scan::IpAddress);
      } else if (cat == "mac_address") {
        strong(scan::MacAddress);
      } else if (cat == "birth_date") {
        int y = scan::DateYear(v);
        if (y < 1940 || y > 2010 || v.size() != 10) fail(c, v, false);
      } else if (cat == "geo_coordinate") {
        strong(scan::GeoCoordinate);
      } else if (cat == "person_name") {
        strong(scan::PersonNameCn);
      } else if (cat == "free_text_with_pii") {
        ++free_text_cells;
        if (HasIdentifier(v)) ++free_text_with_id;
      } else if (!cat.empty()) {  // dictionary categories
        const scan::CategoryRule* rule = rules_->Find(cat);
        ASSERT_NE(rule, nullptr);
        bool listed = std::find(rule->values.begin(), rule->values.end(), std::string(v)) !=
                      rule->values.end();
        for (const auto& suffix : rule->suffixes) {  // 慢性胃炎: a suffix (炎) match
          listed =
              listed || (v.size() > suffix.size() && v.substr(v.size() - suffix.size()) == suffix);
        }
        if (!listed) fail(c, v, false);
      } else if (h == "bad_id") {
        if (v.size() != 18 || IdCheckOk(v)) fail(c, v, false);
        if (scan::IdCardCn(v) != Strength::kNone) fail(c, v, true);
      } else if (h == "bad_uscc") {
        if (v.size() != 18 || UsccCheckOk(v)) fail(c, v, false);
        if (scan::UsccCn(v) != Strength::kNone) fail(c, v, true);
      } else if (h == "order_no") {
        if (v.size() != 18 || v[0] == '0' ||
            v.find_first_not_of("0123456789") != std::string_view::npos)
          fail(c, v, false);
      } else if (h == "order_date") {
        int y = scan::DateYear(v);
        if (y < 2023 || y > 2025) fail(c, v, false);
      } else if (h == "notes_clean") {
        if (HasIdentifier(v)) fail(c, v, false);
      } else if (h == "empty_col") {
        fail(c, v, false);
      }
    }
  }
  for (size_t c = 0; c < cols.size(); ++c) {
    EXPECT_EQ(bad[c], 0) << "generator: column " << cols[c].header << " has " << bad[c]
                         << " invalid values, e.g. " << first_bad[c];
    EXPECT_EQ(scanner_bad[c], 0) << "validator disagreement: column " << cols[c].header << ": "
                                 << first_bad[c];
    if (cols[c].header == "empty_col") continue;
    if (cols[c].decoy) {
      EXPECT_EQ(empty[c], 0) << cols[c].header;
    } else {
      EXPECT_GT(empty[c], kSampleRows / 100) << cols[c].header;  // about 3% empty
      EXPECT_LT(empty[c], kSampleRows * 6 / 100) << cols[c].header;
    }
  }
  double share = static_cast<double>(free_text_with_id) / free_text_cells;
  EXPECT_GT(share, 0.35);
  EXPECT_LT(share, 0.45);
  EXPECT_GT(new_energy, 0);
  EXPECT_GT(ipv6, 0);
}

TEST_F(GeneratorTest, DeterministicAndQuoted) {
  std::string a = Make("det_a.csv", 300, OutputFormat::kCsv, OutputEncoding::kUtf8);
  std::string b = Path("det_b.csv");
  ASSERT_TRUE(WriteCsv(b, {.rows = 300, .seed = kSeed}).ok());
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  std::string text = slurp(a);
  EXPECT_EQ(text, slurp(b));
  std::string c = Path("det_c.csv");
  ASSERT_TRUE(WriteCsv(c, {.rows = 300, .seed = kSeed + 1}).ok());
  EXPECT_NE(text, slurp(c));
  // The coordinate column holds the delimiter and is quoted; every row has the header's fields.
  const size_t ncols = Columns().size();
  std::istringstream lines(text);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    EXPECT_EQ(table::SplitCsvLine(line, ',').size(), ncols) << line;
    ++n;
  }
  EXPECT_EQ(n, 301u);
  EXPECT_NE(text.find(",\"3"), std::string::npos);
  // target_bytes: rows until the size is reached, not much beyond.
  auto stats = Generate(Path("size.csv"), {.seed = 3, .target_bytes = 1 << 20});
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->bytes, uint64_t{1} << 20);
  EXPECT_LT(stats->bytes, (uint64_t{1} << 20) + 4096);
  EXPECT_EQ(std::filesystem::file_size(Path("size.csv")), stats->bytes);
  auto gb = Generate(Path("size_gb.csv"),
                     {.seed = 3, .target_bytes = 1 << 20, .encoding = OutputEncoding::kGb18030});
  ASSERT_TRUE(gb.ok());
  EXPECT_GE(gb->bytes, uint64_t{1} << 20);
  EXPECT_LT(gb->bytes, (uint64_t{1} << 20) + 4096);
  // Errors name the file and leave nothing behind.
  auto err = Generate(Path("no/such/dir.csv"), {.rows = 1});
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), StatusCode::kNotFound);
  EXPECT_NE(err.status().message().find("no/such/dir.csv"), std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(*dir_)) {
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  }
}

// --- Accuracy ---

struct Accuracy {
  int tp = 0, fp = 0, fn = 0, decoys_flagged = 0;
  double precision = 1, recall = 1;
  std::string diff;     // failing columns, one per line
  std::string summary;  // one line
};

Accuracy Evaluate(const scan::TableResult& r, bool jsonl, const std::string& what) {
  std::map<std::string, const scan::ColumnResult*> by_name;
  for (const auto& c : r.columns) by_name[c.name] = &c;
  Accuracy a;
  for (const auto& col : Columns()) {
    const std::string name = jsonl ? col.JsonPath() : col.header;
    auto it = by_name.find(name);
    const scan::ColumnResult* got = it == by_name.end() ? nullptr : it->second;
    std::string got_cat = got && got->category ? *got->category : "";
    bool ok;
    if (col.decoy) {
      ok = got_cat.empty();
      if (!ok) {
        ++a.fp;
        ++a.decoys_flagged;
      }
    } else {
      ok = got_cat == col.category;
      ok ? ++a.tp : ++a.fn;
    }
    if (!ok) {
      char ratio[32];
      snprintf(ratio, sizeof ratio, "%.3f", got ? got->match_ratio : 0.0);
      a.diff += "  " + name + ": expected " + (col.decoy ? "(none, decoy)" : col.category) +
                ", got " +
                (got == nullptr    ? "(column missing)"
                 : got_cat.empty() ? "(none)"
                                   : got_cat) +
                ", match_ratio " + ratio + ", reason: " + (got ? got->reason : "") + "\n";
    }
  }
  a.precision = a.tp + a.fp ? static_cast<double>(a.tp) / (a.tp + a.fp) : 1.0;
  a.recall = a.tp + a.fn ? static_cast<double>(a.tp) / (a.tp + a.fn) : 1.0;
  char buf[256];
  snprintf(buf, sizeof buf, "[%s] precision %.3f recall %.3f (%d tp, %d fp, %d fn), %llu rows%s",
           what.c_str(), a.precision, a.recall, a.tp, a.fp, a.fn,
           static_cast<unsigned long long>(r.rows_scanned), r.sampled ? " (sampled)" : "");
  a.summary = buf;
  std::printf("%s\n%s", a.summary.c_str(), a.diff.c_str());
  return a;
}

void ExpectAccurate(const Accuracy& a) {
  EXPECT_GE(a.precision, 0.98) << a.summary << "\n" << a.diff;
  EXPECT_GE(a.recall, 0.98) << a.summary << "\n" << a.diff;
  EXPECT_EQ(a.decoys_flagged, 0) << "decoy columns flagged:\n" << a.diff;
}

class AccuracyTest : public Fixture {};

TEST_F(AccuracyTest, FullScanCsv) {
  std::string path = Make("full.csv", kRows, OutputFormat::kCsv, OutputEncoding::kUtf8);
  scan::TableResult r = Scan(path, {.full = true});
  EXPECT_FALSE(r.sampled);
  EXPECT_EQ(r.rows_scanned, kRows);
  EXPECT_EQ(r.info.encoding, table::Encoding::kUtf8);
  ExpectAccurate(Evaluate(r, false, "csv utf-8 full"));
}

TEST_F(AccuracyTest, FullScanGb18030) {
  std::string utf8 = Make("gb_ref.csv", kRows, OutputFormat::kCsv, OutputEncoding::kUtf8);
  std::string path = Make("gb.csv", kRows, OutputFormat::kCsv, OutputEncoding::kGb18030);
  // The file is the UTF-8 table converted: decoding it gives the UTF-8 file back.
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  std::string gb = slurp(path), decoded;
  EXPECT_LT(gb.size(), std::filesystem::file_size(utf8));
  EXPECT_TRUE(table::IsValidGb18030(gb, false));
  table::Gb18030Decoder dec;
  ASSERT_TRUE(dec.Decode(gb, true, 0, &decoded).ok());
  EXPECT_TRUE(decoded == slurp(utf8)) << "GB18030 file does not decode to the UTF-8 table";

  scan::TableResult r = Scan(path, {.full = true});
  EXPECT_EQ(r.info.encoding, table::Encoding::kGb18030);
  EXPECT_EQ(r.rows_scanned, kRows);
  ExpectAccurate(Evaluate(r, false, "csv gb18030 full"));
}

TEST_F(AccuracyTest, FullScanJsonl) {
  std::string path = Make("full.jsonl", kRows, OutputFormat::kJsonl, OutputEncoding::kUtf8);
  {
    std::ifstream f(path);
    std::string first;
    std::getline(f, first);
    auto j = nlohmann::json::parse(first);
    EXPECT_TRUE(j["contact"].is_object()) << first;
    EXPECT_TRUE(j["amount"].is_number()) << first;
  }
  scan::TableResult r = Scan(path, {.full = true});
  EXPECT_EQ(r.info.format, table::Format::kJsonl);
  EXPECT_EQ(r.rows_scanned, kRows);
  ExpectAccurate(Evaluate(r, true, "jsonl full"));
}

TEST_F(AccuracyTest, ThreadsAgreeAndDistinctIdsAreExact) {
  std::string path = Make("threads.csv", kRows, OutputFormat::kCsv, OutputEncoding::kUtf8);
  scan::ScanOptions o{.full = true};
  o.read.chunk_bytes = 64 << 10;  // many chunks, so both threads get work
  o.threads = 1;
  scan::TableResult one = Scan(path, o);
  o.threads = 2;
  scan::TableResult two = Scan(path, o);
  EXPECT_EQ(two.threads, 2);
  EXPECT_EQ(one.rows_scanned, kRows);
  EXPECT_EQ(two.rows_scanned, kRows);
  ASSERT_EQ(one.columns.size(), two.columns.size());
  std::map<std::string, const scan::ColumnResult*> by_name;
  for (const auto& c : two.columns) by_name[c.name] = &c;
  for (const auto& c : one.columns) {
    ASSERT_TRUE(by_name.count(c.name)) << c.name;
    const scan::ColumnResult& d = *by_name[c.name];
    EXPECT_EQ(c.category, d.category) << c.name << ": " << c.reason << " | " << d.reason;
    EXPECT_EQ(c.non_empty, d.non_empty) << c.name;
    EXPECT_EQ(c.distinct, d.distinct) << c.name;
  }
  ExpectAccurate(Evaluate(two, false, "csv utf-8 full, 2 threads"));

  // Distinct ID numbers, counted by reading the file back (the ID column is first, never quoted).
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  ASSERT_EQ(line.substr(0, line.find(',')), "编号");
  std::unordered_set<std::string> ids;
  uint64_t non_empty = 0;
  while (std::getline(f, line)) {
    std::string id = line.substr(0, line.find(','));
    if (id.empty()) continue;
    ++non_empty;
    ids.insert(id);
  }
  EXPECT_LT(ids.size(), non_empty) << "the generator repeats some IDs";
  for (const scan::TableResult* r : {&one, &two}) {
    const scan::ColumnResult* id = nullptr;
    for (const auto& c : r->columns) {
      if (c.name == "编号") id = &c;
    }
    ASSERT_NE(id, nullptr);
    EXPECT_EQ(id->non_empty, non_empty);
    ASSERT_TRUE(id->distinct.has_value()) << "threads=" << r->threads << ": " << id->reason;
    EXPECT_TRUE(id->distinct_exact);
    EXPECT_EQ(*id->distinct, ids.size()) << "threads=" << r->threads;
  }
}

TEST_F(AccuracyTest, SampleModeOnLargeTable) {
  std::string path = Make("large.csv", 200000, OutputFormat::kCsv, OutputEncoding::kUtf8);
  ASSERT_GT(std::filesystem::file_size(path), uint64_t{8} << 20);
  scan::TableResult r = Scan(path, {.full = false});
  EXPECT_TRUE(r.sampled);
  EXPECT_LT(r.rows_scanned, 200000u);
  EXPECT_GT(r.rows_scanned, 1000u);
  ExpectAccurate(Evaluate(r, false, "csv utf-8 sample"));
}

}  // namespace
}  // namespace kexin::testdata
