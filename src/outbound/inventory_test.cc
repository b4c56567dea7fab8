// People counts from scan reports: the method per file, the totals, and malformed reports.
#include "outbound/inventory.h"

#include <gtest/gtest.h>

namespace kexin::outbound {
namespace {

using nlohmann::json;

json Column(const std::string& name, const char* category, bool sensitive,
            std::optional<uint64_t> distinct = std::nullopt) {
  return {{"name", name},
          {"category", category ? json(category) : json()},
          {"pi_category", category ? json("identity") : json()},
          {"level", "general-3"},
          {"sensitive", sensitive},
          {"distinct", distinct ? json(*distinct) : json()},
          {"evidence", {{"matches", json::array()}, {"embedded", json::array()}}}};
}

json File(const json& columns, const json& by_column, bool pi, bool sensitive,
          uint64_t rows = 1000) {
  return {{"path", "t.csv"},
          {"status", "ok"},
          {"mode", "full"},
          {"rows_scanned", rows},
          {"rows_estimated", nullptr},
          {"level", "general-4"},
          {"level_reasons", json::array()},
          {"contains_pi", pi},
          {"contains_sensitive_pi", sensitive},
          {"individuals", {{"by_column", by_column}}},
          {"columns", columns}};
}

json Report(const json& files) {
  return {{"report", "kexin.scan"}, {"schema_version", 1}, {"files", files}};
}

json By(const std::string& col, const std::string& cat, uint64_t n, bool sensitive) {
  return {{"column", col},
          {"category", cat},
          {"distinct", n},
          {"exact", true},
          {"sensitive", sensitive}};
}

TEST(InventoryTest, LargestDistinctCountAndSensitiveColumnsWithoutIdentifiers) {
  json cols =
      json::array({Column("id", "id_card_cn", true, 900), Column("phone", "mobile_cn", false, 950),
                   Column("diagnosis", "medical_condition", true)});
  json by = json::array({By("id", "id_card_cn", 900, true), By("phone", "mobile_cn", 950, false)});
  auto inv = InventoryFromScanJson(Report(json::array({File(cols, by, true, true)})), "r.json");
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_EQ(inv->people, 950u);
  // The diagnosis has no identifier: every person of the file has sensitive PI.
  EXPECT_EQ(inv->sensitive_people, 950u);
  EXPECT_NE(inv->files[0].sensitive_method.find("diagnosis"), std::string::npos);
  EXPECT_EQ(inv->sensitive_categories,
            (std::vector<std::string>{"id_card_cn", "medical_condition"}));
}

TEST(InventoryTest, SensitiveIdentifiersOnlyCountThemselves) {
  json cols = json::array(
      {Column("id", "id_card_cn", true, 300), Column("phone", "mobile_cn", false, 950)});
  json by = json::array({By("id", "id_card_cn", 300, true), By("phone", "mobile_cn", 950, false)});
  auto inv = InventoryFromScanJson(Report(json::array({File(cols, by, true, true)})), "r.json");
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->people, 950u);
  EXPECT_EQ(inv->sensitive_people, 300u);
}

TEST(InventoryTest, NoIdentifierFallsBackToRowsAsUpperBound) {
  json cols = json::array({Column("name", "person_name", false)});
  auto inv =
      InventoryFromScanJson(Report(json::array({File(cols, json::array(), true, false, 77)})), "r");
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->people, 77u);
  EXPECT_FALSE(inv->exact);
  EXPECT_NE(inv->files[0].people_method.find("upper bound"), std::string::npos);
}

TEST(InventoryTest, FilesAddUpAndNoPiCountsNobody) {
  json cols = json::array({Column("phone", "mobile_cn", false, 10)});
  json by = json::array({By("phone", "mobile_cn", 10, false)});
  json trade = File(json::array({Column("sku", nullptr, false)}), json::array(), false, false);
  auto inv = InventoryFromScanJson(
      Report(json::array({File(cols, by, true, false), File(cols, by, true, false), trade})), "r");
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->people, 20u);
  EXPECT_EQ(inv->files[2].people, 0u);
  EXPECT_FALSE(inv->contains_sensitive_pi);
}

TEST(InventoryTest, RejectsOtherDocumentsAndFailedFiles) {
  EXPECT_EQ(InventoryFromScanJson(json{{"report", "x"}}, "r.json").status().code(),
            StatusCode::kDataError);
  auto missing = InventoryFromScanJson(Report(json::array({json{{"path", "t.csv"}}})), "r.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kDataError);
  EXPECT_NE(missing.status().message().find("r.json: malformed scan report"), std::string::npos);
  json failed = {
      {"path", "t.csv"}, {"status", "error"}, {"error", {{"message", "t.csv:3: ragged row"}}}};
  auto f = InventoryFromScanJson(Report(json::array({failed})), "r.json");
  EXPECT_EQ(f.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(f.status().message().find("ragged row"), std::string::npos);
  EXPECT_EQ(InventoryFromScanJson(Report(json::array()), "r.json").status().code(),
            StatusCode::kDataError);
}

// Review findings: a sample cannot show repeated people outside it, and counts must be numbers.
TEST(InventoryTest, SampledCountsThatCannotBeExtrapolatedBecomeUpperBounds) {
  json cols = json::array({Column("phone", "mobile_cn", false, 5434)});
  json f = File(cols, json::array({By("phone", "mobile_cn", 5434, false)}), true, false, 10000);
  f["mode"] = "sample";
  f["rows_estimated"] = 1000000;
  auto inv = InventoryFromScanJson(Report(json::array({f})), "r.json");
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_EQ(inv->people, 1000000u);
}

TEST(InventoryTest, NegativeCountsAreDataErrors) {
  json cols = json::array({Column("phone", "mobile_cn", false, 5)});
  json by = json::array({By("phone", "mobile_cn", 5, false)});
  by[0]["distinct"] = -1;
  auto inv = InventoryFromScanJson(Report(json::array({File(cols, by, true, false)})), "r.json");
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.status().code(), StatusCode::kDataError);
  EXPECT_NE(inv.status().message().find("non-negative"), std::string::npos);
}

// Regression: 1990-1-5, 1990-01-05, 1990/01/05 and 1990年1月5日 are one birth date, so one person.
TEST(InventoryTest, NameBirthPairsNormaliseUnpaddedDates) {
  std::string path = ::testing::TempDir() + "/name_birth_pad.csv";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("姓名,出生日期\n张三,1990-1-5\n张三,1990-01-05\n张三,1990/01/05\n张三,1990年1月5日\n"
               "张三,1990-11-05\n李四,1990-1-5\n",
               f);
    std::fclose(f);
  }
  InventoryFile file;
  file.path = path;
  file.columns = {{"姓名", "person_name", "identity", "general-3", false, std::nullopt, {}},
                  {"出生日期", "birth_date", "identity", "general-3", false, std::nullopt, {}}};
  ASSERT_TRUE(CountNameBirthPairs(&file, table::ReadOptions{}).ok());
  ASSERT_EQ(file.counts.size(), 1u);
  EXPECT_EQ(file.counts[0].distinct, 3u);  // 张三 1990-01-05, 张三 1990-11-05, 李四 1990-01-05
}

}  // namespace
}  // namespace kexin::outbound
