#include "scan/scanner.h"

#include <gtest/gtest.h>

#include <fstream>

#include "scan/rules.h"
#include "scan/validators.h"

namespace kexin::scan {
namespace {

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string MakeId(int i) {
  char buf[32];
  snprintf(buf, sizeof buf, "110105198%d0%d1%d%03d", i % 10, 1 + i % 9, 1 + i % 8, i % 1000);
  std::string s(buf, 17);
  return s + IdCardCheckChar(s);
}

class ScannerTest : public testing::Test {
 protected:
  void SetUp() override {
    auto r = DefaultRules();
    ASSERT_TRUE(r.ok());
    rules_ = std::move(r).value();
    auto d = DetectorSet::Build(rules_);
    ASSERT_TRUE(d.ok());
    det_ = std::move(d).value();
  }
  TableResult Scan(const std::string& path, ScanOptions o = {}) {
    auto r = ScanFile(path, *det_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : TableResult{};
  }
  static const ColumnResult& Col(const TableResult& t, const std::string& name) {
    for (const auto& c : t.columns) {
      if (c.name == name) return c;
    }
    static ColumnResult none;
    ADD_FAILURE() << "no column " << name;
    return none;
  }
  Rules rules_;
  std::unique_ptr<DetectorSet> det_;
};

TEST_F(ScannerTest, ValuesDecideNotHeaders) {
  std::string csv = "编号,phone_model,col_17,amount\n";
  const char* names[] = {"张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"};
  const char* models[] = {"iPhone 15 Pro", "HUAWEI Mate 60", "Xiaomi 14", "OPPO Reno11"};
  for (int i = 0; i < 40; ++i) {
    csv += MakeId(i) + "," + models[i % 4] + "," + names[i % 8] + "," + std::to_string(i * 13.5) +
           "\n";
  }
  TableResult t = Scan(WriteFile("values.csv", csv));
  EXPECT_EQ(Col(t, "编号").category.value_or("-"), "id_card_cn");
  EXPECT_FALSE(Col(t, "编号").header_hint);
  EXPECT_FALSE(Col(t, "phone_model").category.has_value());
  EXPECT_EQ(Col(t, "col_17").category.value_or("-"), "person_name");
  EXPECT_FALSE(Col(t, "amount").category.has_value());
  EXPECT_EQ(t.level, "general-4");
  EXPECT_TRUE(t.contains_sensitive_pi);
  EXPECT_EQ(Col(t, "编号").distinct.value_or(0), 40u);
}

TEST_F(ScannerTest, WrongCheckDigitsAndRandomNumbersAreNotIds) {
  std::string csv = "bad_id,order_no\n";
  for (int i = 0; i < 50; ++i) {
    std::string id = MakeId(i);
    id.back() = id.back() == '1' ? '2' : '1';
    csv += id + "," + std::to_string(100000000000000000ULL + i * 7919ULL) + "\n";
  }
  TableResult t = Scan(WriteFile("decoys.csv", csv));
  EXPECT_FALSE(Col(t, "bad_id").category.has_value()) << Col(t, "bad_id").reason;
  EXPECT_FALSE(Col(t, "order_no").category.has_value()) << Col(t, "order_no").reason;
  EXPECT_EQ(t.level, "general-1");
  EXPECT_FALSE(t.contains_pi);
}

TEST_F(ScannerTest, BirthDatesNeedAPlausibleSpreadOrAHeader) {
  std::string csv = "d1,order_date,出生日期\n";
  for (int i = 0; i < 60; ++i) {
    char a[16], b[16], c[16];
    snprintf(a, sizeof a, "%d-0%d-1%d", 1950 + i, 1 + i % 9, i % 9);
    snprintf(b, sizeof b, "2024-0%d-1%d", 1 + i % 9, i % 9);
    snprintf(c, sizeof c, "2015-0%d-1%d", 1 + i % 9, i % 9);
    csv += std::string(a) + "," + b + "," + c + "\n";
  }
  TableResult t = Scan(WriteFile("dates.csv", csv));
  EXPECT_EQ(Col(t, "d1").category.value_or("-"), "birth_date");
  EXPECT_FALSE(Col(t, "order_date").category.has_value());
  EXPECT_EQ(Col(t, "出生日期").category.value_or("-"), "birth_date");
  EXPECT_TRUE(Col(t, "出生日期").header_hint);
}

TEST_F(ScannerTest, FreeTextWithEmbeddedIdentifiers) {
  std::string csv = "备注,notes_clean\n";
  for (int i = 0; i < 30; ++i) {
    std::string text = i % 3 == 0 ? "客户来电，身份证号" + MakeId(i) + "，请回电13812345678。"
                                  : "已发货，订单共" + std::to_string(i) + "件，请注意查收";
    csv += "\"" + text + "\",运费" + std::to_string(i + 10) + "元，周末不发货\n";
  }
  TableResult t = Scan(WriteFile("text.csv", csv));
  const ColumnResult& c = Col(t, "备注");
  ASSERT_EQ(c.category.value_or("-"), "free_text_with_pii");
  EXPECT_EQ(c.cells_with_embedded, 10u);
  ASSERT_GE(c.embedded.size(), 2u);
  EXPECT_EQ(c.embedded[0].count, 10u);
  EXPECT_TRUE(c.sensitive);  // it carries ID numbers
  EXPECT_EQ(c.level, "general-4");
  EXPECT_FALSE(Col(t, "notes_clean").category.has_value());
}

TEST_F(ScannerTest, ImportantDataThresholdComesFromRules) {
  std::string text(DefaultRulesText());
  text.replace(text.find("important_individuals = 1000000"), 31, "important_individuals = 30");
  auto r = ParseRules(text, "test rules");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto d = DetectorSet::Build(*r);
  ASSERT_TRUE(d.ok());
  std::string csv = "mobile\n";
  for (int i = 0; i < 40; ++i) csv += "138" + std::to_string(10000000 + i) + "\n";
  auto t = ScanFile(WriteFile("people.csv", csv), **d, {});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->level, "important");
  EXPECT_EQ(t->individuals_estimate, 40u);
}

TEST_F(ScannerTest, RaggedRowNamesFileAndRow) {
  std::string path = WriteFile("ragged.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n");
  auto r = ScanFile(path, *det_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_EQ(r.status().message(), path + ":4: expected 3 fields, found 2 (ragged row)");
}

TEST_F(ScannerTest, ErrorRowsAreCountedAcrossChunksAndThreads) {
  std::string csv = "id,name\n";
  for (int i = 0; i < 5000; ++i) csv += MakeId(i) + ",\"张\n伟\"\n";  // each record spans 2 lines
  csv += "broken\n";
  std::string path = WriteFile("late.csv", csv);
  for (int threads : {1, 2}) {
    ScanOptions o;
    o.full = true;
    o.threads = threads;
    o.read.chunk_bytes = 4096;
    auto r = ScanFile(path, *det_, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), path + ":5002: expected 2 fields, found 1 (ragged row)")
        << threads;
  }
}

TEST_F(ScannerTest, ExamplesAreTheFilesFirstWhateverThreadScannedThem) {
  // Many small chunks over two threads: the examples are the first three of the file, as with
  // one thread, in every run (they used to depend on which thread took which chunk first).
  std::string csv = "id,mobile\n";
  for (int i = 0; i < 20000; ++i) csv += MakeId(i) + ",138" + std::to_string(10000000 + i) + "\n";
  std::string path = WriteFile("examples.csv", csv);
  auto examples = [&](int threads) {
    ScanOptions o;
    o.full = true;
    o.threads = threads;
    o.read.chunk_bytes = 4096;
    TableResult t = Scan(path, o);
    std::vector<std::string> out;
    for (const auto& c : t.columns) {
      for (const auto& m : c.matches) {
        for (const auto& e : m.examples) out.push_back(c.name + "/" + m.category + ": " + e);
      }
    }
    return out;
  };
  const std::vector<std::string> one = examples(1);
  ASSERT_FALSE(one.empty());
  for (int run = 0; run < 5; ++run) EXPECT_EQ(examples(2), one) << "run " << run;
}

TEST_F(ScannerTest, SampleModeEstimatesRowsAndMarksItself) {
  std::string csv = "id,mobile\n";
  for (int i = 0; i < 400000; ++i) csv += MakeId(i) + ",138" + std::to_string(10000000 + i) + "\n";
  std::string path = WriteFile("big.csv", csv);
  ScanOptions o;
  o.sample_rows = 2000;
  TableResult t = Scan(path, o);
  EXPECT_TRUE(t.sampled);
  ASSERT_TRUE(t.rows_estimated.has_value());
  EXPECT_NEAR(static_cast<double>(*t.rows_estimated), 400000.0, 4000.0);
  EXPECT_LT(t.rows_scanned, 10000u);
  EXPECT_EQ(Col(t, "id").category.value_or("-"), "id_card_cn");
  EXPECT_EQ(Col(t, "mobile").category.value_or("-"), "mobile_cn");
  o.full = true;
  o.threads = 2;
  TableResult f = Scan(path, o);
  EXPECT_FALSE(f.sampled);
  EXPECT_EQ(f.rows_scanned, 400000u);
  EXPECT_EQ(Col(f, "mobile").distinct.value_or(0), 400000u);
}

TEST_F(ScannerTest, ConfirmedFastPathDoesNotChangeTheDecision) {
  // Regression: 97% ID numbers that are also Luhn-valid (so they match bank_card too), 2% bank
  // cards, 1% junk. Without the fast path id_card_cn wins the tie; the fast path must not make a
  // large file decide differently from a small one.
  auto make_rows = [](int rows) {
    std::string csv = "v\n";
    int made = 0;
    for (uint64_t k = 0; made < rows; ++k) {
      if (made % 100 == 98) {
        std::string card = "622202020011223" + std::to_string(100 + made % 900);
        for (char d = '0'; d <= '9'; ++d) {
          if (LuhnValid(card + d)) {
            card += d;
            break;
          }
        }
        csv += card + "\n";  // a valid bank card
        ++made;
        continue;
      }
      if (made % 100 == 99) {
        csv += "n/a\n";
        ++made;
        continue;
      }
      char buf[32];
      snprintf(buf, sizeof buf, "3101041985%02d%02d%03d", static_cast<int>(1 + k % 12),
               static_cast<int>(1 + (k / 12) % 28), static_cast<int>(k % 1000));
      std::string id(buf, 17);
      id += IdCardCheckChar(id);
      if (id.back() == 'X' || !LuhnValid(id)) continue;
      csv += id + "\n";
      ++made;
    }
    return csv;
  };
  for (int rows : {10000, 60000}) {
    ScanOptions o;
    o.full = true;
    TableResult t =
        Scan(WriteFile("luhn_ids_" + std::to_string(rows) + ".csv", make_rows(rows)), o);
    EXPECT_EQ(Col(t, "v").category.value_or("-"), "id_card_cn")
        << rows << " rows: " << Col(t, "v").reason;
  }
}

TEST_F(ScannerTest, IdentifiersGluedToLabelsAreFoundInText) {
  std::string csv = "备注\n";
  for (int i = 0; i < 20; ++i) {
    csv += i % 2 ? "\"phone:13812345678，请回电\"\n" : "\"客户ID:" + MakeId(i) + "，已核实\"\n";
  }
  TableResult t = Scan(WriteFile("glued.csv", csv));
  const ColumnResult& c = Col(t, "备注");
  EXPECT_EQ(c.category.value_or("-"), "free_text_with_pii");
  EXPECT_EQ(c.cells_with_embedded, 20u);
}

TEST(HeaderHintsTest, TokensForAsciiSubstringsForChinese) {
  CategoryRule r;
  r.header_hints = {"phone", "手机"};
  EXPECT_TRUE(HeaderHints(r, "phone"));
  EXPECT_TRUE(HeaderHints(r, "Mobile-Phone"));
  EXPECT_TRUE(HeaderHints(r, "phone_no"));
  EXPECT_TRUE(HeaderHints(r, "客户手机号"));
  EXPECT_FALSE(HeaderHints(r, "telephoney"));
  EXPECT_TRUE(HeaderHints(r, "phone_model"));  // hints only adjust; values decide
}

}  // namespace
}  // namespace kexin::scan
