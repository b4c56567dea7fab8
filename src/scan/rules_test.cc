#include "scan/rules.h"

#include <gtest/gtest.h>

#include "scan/detector_set.h"

namespace kexin::scan {
namespace {

constexpr const char* kMinimal = R"(
version = 1
[levels]
order = ["general-1", "general-2", "general-3", "general-4", "important", "core"]
[[category]]
id = "medical_record_no"
level = "general-4"
sensitive = true
pattern = 'MR\d{8}'
embedded = true
header_hints = ["病历号"]
)";

TEST(RulesTest, DefaultRulesLoadWithEveryCategory) {
  auto r = DefaultRules();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const char* id : {"person_name",       "id_card_cn",  "mobile_cn",
                         "landline_cn",       "email",       "bank_card",
                         "uscc_cn",           "passport_cn", "hk_macau_permit",
                         "license_plate_cn",  "vin",         "address_cn",
                         "ip_address",        "mac_address", "birth_date",
                         "geo_coordinate",    "ethnicity",   "religion",
                         "medical_condition", "gender",      "free_text_with_pii"}) {
    EXPECT_NE(r->Find(id), nullptr) << id;
  }
  EXPECT_EQ(r->LevelRank("general-4"), 3);
  EXPECT_TRUE(r->Find("id_card_cn")->sensitive);
}

TEST(RulesTest, CustomRegexCategoryMatchesWholeCellsAndText) {
  auto r = ParseRules(kMinimal, "hospital.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto d = DetectorSet::Build(*r);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto scratch = (*d)->NewScratch();
  EXPECT_EQ((*d)->Match("MR12345678", scratch.get()).strong, 1u);
  EXPECT_EQ((*d)->Match("MR1234567", scratch.get()).strong, 0u);
  EXPECT_EQ((*d)->Match("xMR12345678", scratch.get()).strong, 0u);
  int found = 0;
  (*d)->FindEmbedded("患者病历号MR12345678已归档", scratch.get(),
                     [&](int cat, std::string_view span) {
                       EXPECT_EQ(cat, 0);
                       EXPECT_EQ(span, "MR12345678");
                       ++found;
                     });
  EXPECT_EQ(found, 1);
}

TEST(RulesTest, ErrorsNameFileLineAndKey) {
  auto bad_level = ParseRules(std::string(kMinimal).replace(
                                  std::string(kMinimal).find("general-4\"\nsens"), 9, "general-9"),
                              "x.toml");
  ASSERT_FALSE(bad_level.ok());
  EXPECT_EQ(bad_level.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_level.status().message().find("x.toml:"), std::string::npos);
  EXPECT_NE(bad_level.status().message().find("general-9"), std::string::npos);

  auto unknown_key = ParseRules(std::string(kMinimal) + "colour = 'red'\n", "y.toml");
  ASSERT_FALSE(unknown_key.ok());
  EXPECT_NE(unknown_key.status().message().find("unknown key 'colour'"), std::string::npos);

  auto syntax = ParseRules("version = \n", "z.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.status().message().find("z.toml:1"), std::string::npos);

  auto validator = ParseRules(std::string(kMinimal) + "validator = 'nope'\n", "v.toml");
  ASSERT_FALSE(validator.ok());
  EXPECT_NE(validator.status().message().find("unknown validator 'nope'"), std::string::npos);

  auto no_matcher = ParseRules(R"(
[levels]
order = ["low"]
[[category]]
id = "x"
level = "low"
)",
                               "m.toml");
  ASSERT_FALSE(no_matcher.ok());
  EXPECT_NE(no_matcher.status().message().find("needs a validator"), std::string::npos);

  auto r = ParseRules(
      std::string(kMinimal).replace(std::string(kMinimal).find("MR\\d{8}"), 7, "MR(\\d{8}"),
      "p.toml");
  ASSERT_TRUE(r.ok());
  auto d = DetectorSet::Build(*r);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("medical_record_no"), std::string::npos);
}

TEST(RulesTest, MissingFileIsNotFound) {
  auto r = LoadRulesFile("/nonexistent/rules.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/rules.toml"), std::string::npos);
}

}  // namespace
}  // namespace kexin::scan
