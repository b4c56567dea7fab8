// End-to-end tests of RunDeid on real files: roles from the scan, JSONL, removal of suppressed
// records, the report, and that failures leave no output behind.
#include "deid/deid.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "scan/validators.h"

namespace kexin::deid {
namespace {

namespace fs = std::filesystem;

class DeidTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kexin-deid-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  std::vector<std::string> Lines(const std::string& path) {
    std::vector<std::string> out;
    std::ifstream f(path);
    for (std::string l; std::getline(f, l);) out.push_back(l);
    return out;
  }
  bool NoTempFiles() {
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().find(".tmp.") != std::string::npos) return false;
    }
    return true;
  }
  fs::path dir_;
};

// A table of people: ID numbers and phones (direct), birth dates (quasi), diagnoses (sensitive).
std::string People() {
  std::string t = "身份证号,手机,出生日期,诊断\n";
  std::vector<std::string> ids = {"11010519491231002X"};
  for (const char* first17 : {"11010519491231003", "44052419800101001", "11010119900307663",
                              "11010119900307831", "11010119900307855"}) {
    ids.push_back(std::string(first17) + scan::IdCardCheckChar(first17));
  }
  const char* diag[] = {"高血压", "糖尿病", "哮喘"};
  for (int i = 0; i < 60; ++i) {
    t += fmt::format("{},1381234{:04},19{}-0{}-1{},{}\n", ids[i % 6], 5000 + i, 80 + i % 3,
                     1 + i % 4, i % 9, diag[i % 3]);
  }
  return t;
}

TEST_F(DeidTest, RolesComeFromTheScanWhenNoConfigNamesThem) {
  std::string in = Write("people.csv", People());
  std::string key = Write("k.key", "0123456789abcdef0123456789abcdef\n");
  DeidOptions o;
  o.key_file = key;
  o.k = 3;
  auto r = RunDeid(in, (dir_ / "out.csv").string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, ColumnOutcome> cols;
  for (const auto& c : r->columns) cols[c.name] = c;
  EXPECT_EQ(cols["身份证号"].role, Role::kDirect);
  EXPECT_EQ(cols["身份证号"].source, "scan (id_card_cn)");
  EXPECT_EQ(cols["身份证号"].treatment, "pseudonymize (hmac-sha256)");
  EXPECT_EQ(cols["手机"].role, Role::kDirect);
  EXPECT_EQ(cols["出生日期"].role, Role::kQuasi);
  EXPECT_EQ(cols["诊断"].role, Role::kSensitive);
  auto lines = Lines((dir_ / "out.csv").string());
  ASSERT_EQ(lines.size(), 61u);
  EXPECT_EQ(lines[0], "身份证号,手机,出生日期,诊断");
  std::map<std::string, int> classes;
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].find("11010519491231002X"), std::string::npos) << lines[i];
    EXPECT_EQ(lines[i].rfind("p_", 0), 0u) << lines[i];
    auto c1 = lines[i].find(','), c2 = lines[i].find(',', c1 + 1), c3 = lines[i].find(',', c2 + 1);
    classes[lines[i].substr(c2 + 1, c3 - c2 - 1)]++;
  }
  for (const auto& [value, n] : classes) {
    if (value != "*") {
      EXPECT_GE(n, 3) << value;
    }
  }
  EXPECT_TRUE(NoTempFiles());
}

TEST_F(DeidTest, WithoutAKeyIdentifiersAreMasked) {
  std::string in = Write("people.csv", People());
  DeidOptions o;
  auto r = RunDeid(in, (dir_ / "out.csv").string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto lines = Lines((dir_ / "out.csv").string());
  EXPECT_EQ(lines[1].substr(0, 19), "110105********002X,");
  EXPECT_NE(lines[1].find("138****5000"), std::string::npos) << lines[1];
  EXPECT_TRUE(r->model_default);  // k = 5 applied, with a warning
  ASSERT_FALSE(r->warnings.empty());
}

TEST_F(DeidTest, JsonlStaysJsonl) {
  std::string t;
  for (int i = 0; i < 40; ++i) {
    t += fmt::format("{{\"age\": {}, \"city\": \"c{}\", \"note\": \"x{}\"}}\n", 20 + i % 30, i % 4,
                     i);
  }
  std::string in = Write("t.jsonl", t);
  std::string cfg = Write("c.toml",
                          "[privacy]\nk = 4\n[columns.age]\nrole = \"quasi\"\nhierarchy = "
                          "\"builtin:interval\"\nwidths = [10, 20]\n[columns.city]\nrole = "
                          "\"quasi\"\nhierarchy = \"builtin:flat\"\n[columns.note]\nrole = "
                          "\"direct\"\noperator = \"replace\"\nreplacement = \"-\"\n");
  DeidOptions o;
  o.config_path = cfg;
  auto r = RunDeid(in, (dir_ / "out.jsonl").string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto lines = Lines((dir_ / "out.jsonl").string());
  ASSERT_EQ(lines.size(), 40u);
  std::map<std::string, int> classes;
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l);
    EXPECT_EQ(j["note"], "-");
    classes[j["age"].get<std::string>() + "|" + j["city"].get<std::string>()]++;
  }
  for (const auto& [k, n] : classes) EXPECT_GE(n, 4) << k;
}

TEST_F(DeidTest, SuppressedRecordsCanBeRemoved) {
  std::string t = "age,zip\n";
  for (int i = 0; i < 100; ++i)
    t += fmt::format("{},{}\n", i < 97 ? 30 + i % 3 : 90 + i, i < 97 ? 1000 : 2000 + i);
  std::string in = Write("t.csv", t);
  std::string cfg = Write("c.toml",
                          "[privacy]\nk = 5\nmax_suppression = 0.05\nsuppressed_rows = \"remove\"\n"
                          "[columns.age]\nrole = \"quasi\"\nhierarchy = \"builtin:interval\"\n"
                          "widths = [10, 100]\n[columns.zip]\nrole = \"quasi\"\nhierarchy = "
                          "\"builtin:flat\"\n");
  DeidOptions o;
  o.config_path = cfg;
  auto r = RunDeid(in, (dir_ / "out.csv").string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_in, 100u);
  EXPECT_EQ(r->search.best.suppressed_rows, 3u);
  EXPECT_EQ(r->rows_out, 97u);
  EXPECT_EQ(Lines((dir_ / "out.csv").string()).size(), 98u);
  // Original values: the three outliers are unique, so the raw highest risk is 1.
  EXPECT_DOUBLE_EQ(r->risk_before.prosecutor_highest, 1.0);
  EXPECT_LE(r->risk_after.prosecutor_highest, 1.0 / 3);
  auto report = nlohmann::json::parse(DeidReportJson(*r));
  EXPECT_EQ(report["report"], "kexin-deid-report-v1");
  EXPECT_EQ(report["generalization"]["suppressed_records"], 3);
  EXPECT_EQ(report["output"]["suppressed_rows"], "remove");
  EXPECT_NE(DeidReportHtml(*r).find("<td>age</td>"), std::string::npos);
}

TEST_F(DeidTest, FailuresLeaveNoOutput) {
  std::string in = Write("t.csv", "age,zip\n30,1000\n31,abc\n");
  std::string cfg = Write("c.toml",
                          "[columns.age]\nrole = \"quasi\"\nhierarchy = \"builtin:interval\"\n"
                          "[columns.zip]\nrole = \"quasi\"\nhierarchy = \"builtin:interval\"\n");
  DeidOptions o;
  o.config_path = cfg;
  o.k = 1;
  std::string out = (dir_ / "out.csv").string();
  std::ofstream(out) << "previous content\n";
  auto r = RunDeid(in, out, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find("t.csv:3: column zip: value \"abc\" is not a number"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(Lines(out), std::vector<std::string>{"previous content"});
  EXPECT_TRUE(NoTempFiles());

  o.k = 3;  // more than the 2 rows
  auto fixed = Write("t2.csv", "age,zip\n30,1000\n31,1001\n");
  r = RunDeid(fixed, out, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  o.k = 2;
  r = RunDeid(fixed, fixed, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must not be the input"), std::string::npos);
}

TEST_F(DeidTest, ConfigErrorsNameTheKey) {
  struct Case {
    std::string toml, expect;
  } cases[] = {
      {"[privacy]\nk = 0\n", "privacy.k: must be a whole number"},
      {"[privacy]\nkk = 2\n", "privacy.kk: unknown key"},
      {"[privacy]\nmetric = \"fast\"\n", "privacy.metric"},
      {"[columns.age]\nrole = \"boss\"\n", "columns.age.role: unknown role"},
      {"[columns.age]\nrole = \"quasi\"\n", "columns.age.hierarchy: missing"},
      {"[columns.age]\nrole = \"direct\"\noperator = \"shred\"\n", "unknown operator \"shred\""},
      {"[privacy\n", "c.toml:1"},
  };
  for (const auto& c : cases) {
    auto r = ParseDeidConfig(c.toml, "c.toml", ".");
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
  std::string in = Write("t.csv", "age,zip\n30,1000\n31,1001\n");
  std::string cfg = Write("c.toml", "[columns.agee]\nrole = \"insensitive\"\n");
  DeidOptions o;
  o.config_path = cfg;
  auto r = RunDeid(in, (dir_ / "o.csv").string(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown column \"agee\" (the table has: age, zip)"),
            std::string::npos)
      << r.status().message();
}

// Review findings, each a regression test.
TEST_F(DeidTest, SuppressedRecordsLoseTheirSensitiveValues) {
  std::string in = Write("t.csv", "g,diag\nM,HIV\nM,flu\nF,HIV\nF,flu\nX,HIV\n");
  std::string cfg = Write("c.toml",
                          "[privacy]\nk = 2\nl = 2\nmax_suppression = 0.2\n[columns.g]\nrole = "
                          "\"quasi\"\nhierarchy = \"builtin:flat\"\n[columns.diag]\nrole = "
                          "\"sensitive\"\n");
  DeidOptions o;
  o.config_path = cfg;
  auto r = RunDeid(in, (dir_ / "o.csv").string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto lines = Lines((dir_ / "o.csv").string());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[5], "*,");  // not "*,HIV"
}

TEST_F(DeidTest, TiesGoToTheLeastGeneralization) {
  std::string in = Write("t.csv", "a,b\nx,y\nx,y\nx,y\n");
  std::string cfg = Write("c.toml",
                          "[privacy]\nk = 2\n[columns.a]\nrole = \"quasi\"\nhierarchy = "
                          "\"builtin:flat\"\n[columns.b]\nrole = \"quasi\"\nhierarchy = "
                          "\"builtin:flat\"\n");
  DeidOptions o;
  o.config_path = cfg;
  auto r = RunDeid(in, (dir_ / "o.csv").string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->search.best.levels, (std::vector<int>{0, 0}));
  EXPECT_EQ(Lines((dir_ / "o.csv").string())[1], "x,y");
}

TEST_F(DeidTest, RemovedRecordsAreNotCountedInRiskAfter) {
  std::string in = Write("t.csv", "a\nx\nx\nx\ny\n");
  std::string cfg = Write("c.toml",
                          "[privacy]\nk = 3\nmax_suppression = 0.5\nsuppressed_rows = \"remove\"\n"
                          "metric = \"discernibility\"\n[columns.a]\nrole = \"quasi\"\n"
                          "hierarchy = \"builtin:flat\"\n");
  DeidOptions o;
  o.config_path = cfg;
  auto r = RunDeid(in, (dir_ / "o.csv").string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->risk_after.records, 3u);
  EXPECT_DOUBLE_EQ(r->risk_after.prosecutor_highest, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r->utility_before, 3 * 3 + 1 * 1);  // Σ |class|² of the original data
}

TEST_F(DeidTest, AReportThatCannotBeWrittenLeavesTheOutputAlone) {
  std::string in = Write("t.csv", "a\nx\nx\n");
  std::string out = (dir_ / "o.csv").string();
  std::ofstream(out) << "old\n";
  DeidOptions o;
  o.k = 2;
  o.report_path = (dir_ / "missing-dir" / "r.json").string();
  auto cfg = Write("c.toml", "[columns.a]\nrole = \"quasi\"\nhierarchy = \"builtin:flat\"\n");
  o.config_path = cfg;
  auto r = RunDeid(in, out, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Lines(out), std::vector<std::string>{"old"});
  EXPECT_TRUE(NoTempFiles());
  o.report_path = in;
  r = RunDeid(in, out, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("would overwrite"), std::string::npos);
}

TEST_F(DeidTest, IntervalBucketsNestEvenNearBoundaries) {
  std::string in = Write("t.csv", "x\n1.85\n1.7999999982\n1.95\n1.96\n1.97\n2.05\n");
  std::string cfg = Write("c.toml",
                          "[privacy]\nk = 2\n[columns.x]\nrole = \"quasi\"\nhierarchy = "
                          "\"builtin:interval\"\nwidths = [0.1, 0.3]\n");
  DeidOptions o;
  o.config_path = cfg;
  auto r = RunDeid(in, (dir_ / "o.csv").string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, int> classes;
  auto lines = Lines((dir_ / "o.csv").string());
  for (size_t i = 1; i < lines.size(); ++i) classes[lines[i]]++;
  for (const auto& [v, n] : classes) EXPECT_GE(n, 2) << v;
}

TEST_F(DeidTest, SensitiveColumnsTakeNoOperator) {
  auto r =
      ParseDeidConfig("[columns.d]\nrole = \"sensitive\"\noperator = \"redact\"\n", "c.toml", ".");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("columns.d.operator"), std::string::npos);
}

}  // namespace
}  // namespace kexin::deid
