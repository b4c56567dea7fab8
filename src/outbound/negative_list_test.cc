// Handler files, negative-list files and matching: good input and every kind of bad input.
#include "outbound/negative_list.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace kexin::outbound {
namespace {

const char* kList = R"(list = "test-list"
zone = "zone-a"
edition = "2024"
example = true

[sector]
id = "retail"

[[scenario]]
id = "s1"
min_people = 100

  [[scenario.item]]
  category = "identity"
  route = "security_assessment"
  scan_categories = ["id_card_cn"]
  min_sensitive_people = 10

  [[scenario.item]]
  category = "contact"
  route = "standard_contract"
  fields = ["手机号码", "email"]

[[scenario]]
id = "s2"

  [[scenario.item]]
  category = "maps"
  route = "standard_contract"
  fields = ["轨迹"]
)";

TEST(HandlerTest, ParsesEveryKey) {
  auto h = ParseHandler(R"([handler]
id = "acme"
name = "Acme Ltd."
uscc = "91110000600037341L"
ciio = true
free_trade_zone = "zone-a"
sector = "retail"
[sent]
year = 2026
people = 12000
sensitive_people = 7
[settings]
count_exempt_transfers = true
scan_important_is_important_data = true
ftz_listed_also_national = false
)",
                        "h.toml");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->id, "acme");
  EXPECT_TRUE(h->ciio);
  EXPECT_EQ(h->free_trade_zone, "zone-a");
  EXPECT_EQ(h->sent_year, 2026);
  EXPECT_EQ(h->sent_people, 12000u);
  EXPECT_EQ(h->sent_sensitive, 7u);
  EXPECT_TRUE(h->settings.count_exempt_transfers);
  EXPECT_TRUE(h->settings.scan_important_is_important_data);
  EXPECT_FALSE(h->settings.ftz_listed_also_national);
}

TEST(HandlerTest, DefaultsAreStated) {
  auto h = ParseHandler("[handler]\nid = \"x\"\n", "h.toml");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_FALSE(h->ciio);
  EXPECT_EQ(h->sent_year, 0);
  EXPECT_FALSE(h->settings.count_exempt_transfers);
  EXPECT_FALSE(h->settings.scan_important_is_important_data);
  EXPECT_TRUE(h->settings.ftz_listed_also_national);
  EXPECT_EQ(h->name, "x");
}

TEST(HandlerTest, BadCountsNameFileAndLine) {
  struct Case {
    std::string text, message;
  } cases[] = {
      {"[handler]\nid = \"x\"\n[sent]\nyear = 2026\npeople = -5\n",
       "h.toml:5: sent.people must not be negative, got -5"},
      {"[handler]\nid = \"x\"\n[sent]\nyear = 2026\npeople = \"12k\"\n",
       "h.toml:5: sent.people must be a non-negative integer, got the string \"12k\""},
      {"[handler]\nid = \"x\"\n[sent]\nyear = 2026\nsensitive_people = 1.5\n",
       "h.toml:5: sent.sensitive_people must be a non-negative integer, got a decimal number"},
      {"[handler]\nid = \"x\"\n[sent]\npeople = 5\n", "h.toml:3: [sent] needs year"},
      {"[handler]\nid = \"x\"\nciio = \"no\"\n", "h.toml:3: handler.ciio must be true or false"},
      {"[handler]\nid = \"x\"\ncio = true\n", "h.toml:3: unknown key 'cio' in [handler]"},
      {"[handler]\nname = \"x\"\n", "handler.id is required"},
      {"[handler]\nid = \"x\"\nsector = \"retail\"\n",
       "h.toml:3: handler.sector needs handler.free_trade_zone"},
      {"[handler\nid = 1\n", "h.toml:1:"},
      {"id = \"x\"\n", "h.toml:1: unknown section 'id'"},
  };
  for (const auto& c : cases) {
    auto h = ParseHandler(c.text, "h.toml");
    ASSERT_FALSE(h.ok()) << c.text;
    EXPECT_EQ(h.status().code(), StatusCode::kDataError) << c.text;
    EXPECT_NE(h.status().message().find(c.message), std::string::npos)
        << h.status().message() << " / expected " << c.message;
  }
}

TEST(NegativeListTest, Parses) {
  auto l = ParseNegativeList(kList, "l.toml");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->zone, "zone-a");
  EXPECT_TRUE(l->example);
  ASSERT_EQ(l->scenarios.size(), 2u);
  const Scenario& s1 = l->scenarios[0];
  ASSERT_EQ(s1.items.size(), 2u);
  EXPECT_EQ(s1.items[0].route, Route::kSecurityAssessment);
  EXPECT_EQ(s1.items[0].line, 13);  // the [[scenario.item]] header
  // An item with its own threshold keeps it; one without inherits the scenario's.
  EXPECT_FALSE(s1.items[0].min_people.has_value());
  EXPECT_EQ(*s1.items[0].min_sensitive_people, 10u);
  EXPECT_EQ(*s1.items[1].min_people, 100u);
  EXPECT_FALSE(l->scenarios[1].items[0].min_people.has_value());
}

TEST(NegativeListTest, MalformedFilesNameFileAndLine) {
  std::string base(kList);
  struct Case {
    std::string from, to, message;
  } cases[] = {
      {"route = \"standard_contract\"\n  fields = [\"手机号码\"",
       "route = \"contract\"\n  fields = [\"手机号码\"", "l.toml:21: unknown route 'contract'"},
      {"min_people = 100", "min_people = -100",
       "l.toml:11: scenario.min_people must not be negative"},
      {"min_sensitive_people = 10", "min_sensitive_people = \"ten\"",
       "l.toml:17: item.min_sensitive_people must be a non-negative integer"},
      {"id = \"s2\"", "id = \"s1\"", "duplicate scenario id 's1'"},
      {"category = \"maps\"", "category = \"maps\"\n  colour = 1", "unknown key 'colour'"},
      {"fields = [\"轨迹\"]", "", "item 'maps' needs fields or scan_categories"},
      {"[sector]\nid = \"retail\"", "", "missing [sector] table"},
      {"zone = \"zone-a\"", "zone = 7", "l.toml:2: zone.zone must be a string"},
      {"fields = [\"手机号码\", \"email\"]", "fields = [\"手机号码\", 3]",
       "l.toml:22: fields must hold strings"},
  };
  for (const auto& c : cases) {
    std::string text = base;
    size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    auto l = ParseNegativeList(text, "l.toml");
    ASSERT_FALSE(l.ok()) << c.to;
    EXPECT_EQ(l.status().code(), StatusCode::kDataError);
    EXPECT_NE(l.status().message().find(c.message), std::string::npos)
        << l.status().message() << " / expected " << c.message;
  }
}

TEST(NegativeListTest, FindScenarioErrors) {
  auto l = ParseNegativeList(kList, "l.toml");
  ASSERT_TRUE(l.ok());
  std::vector<NegativeList> lists = {*l};
  Handler h;
  h.file = "h.toml";
  h.free_trade_zone = "zone-a";
  auto ok = FindScenario(lists, h, "s2");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->scenario->id, "s2");

  auto unknown = FindScenario(lists, h, "s9");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("unknown scenario 's9'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("known: s1, s2"), std::string::npos);

  h.sector = "aviation";
  auto sector = FindScenario(lists, h, "s1");
  EXPECT_NE(sector.status().message().find("unknown sector 'aviation'"), std::string::npos)
      << sector.status().message();

  h.sector.clear();
  h.free_trade_zone = "zone-b";
  auto zone = FindScenario(lists, h, "s1");
  EXPECT_NE(zone.status().message().find("no negative list for it was loaded"), std::string::npos);
}

TEST(NegativeListTest, MatchesByCategoryNameAndThreshold) {
  auto l = ParseNegativeList(kList, "l.toml");
  ASSERT_TRUE(l.ok());
  const Scenario& s1 = l->scenarios[0];
  std::vector<ColumnRef> cols = {{"t.csv", "证件号码", "id_card_cn", {}},
                                 {"t.csv", "手机", "mobile_cn", {}},
                                 {"t.csv", "EMAIL_ADDR", "email", {}},
                                 {"t.csv", "amount", "", {}}};
  // Identity threshold: 10 sensitive people; contact inherits the scenario's 100 people.
  ListMatch below = MatchScenario(s1, cols, 99, 9);
  EXPECT_FALSE(below.verdict.on_list);
  ASSERT_EQ(below.matches.size(), 2u);
  EXPECT_EQ(below.matches[0].columns.size(), 1u);
  // "手机" is inside the field "手机号码"; "EMAIL_ADDR" holds "email" (case folded).
  EXPECT_EQ(below.matches[1].columns.size(), 2u);

  ListMatch contact = MatchScenario(s1, cols, 100, 9);
  EXPECT_TRUE(contact.verdict.on_list);
  EXPECT_EQ(contact.verdict.route, Route::kStandardContract);

  ListMatch both = MatchScenario(s1, cols, 100, 10);
  EXPECT_EQ(both.verdict.route, Route::kSecurityAssessment);

  // Identifiers inside free text match scan categories too.
  std::vector<ColumnRef> text = {{"t.csv", "备注", "free_text_with_pii", {"id_card_cn"}}};
  ListMatch embedded = MatchScenario(s1, text, 0, 10);
  EXPECT_TRUE(embedded.verdict.on_list);
  EXPECT_NE(embedded.matches[0].columns[0].find("inside free text"), std::string::npos);

  // No threshold: applies on any match; no match: off the list.
  const Scenario& s2 = l->scenarios[1];
  EXPECT_TRUE(MatchScenario(s2, {{"t.csv", "车辆轨迹", "", {}}}, 0, 0).verdict.on_list);
  ListMatch none = MatchScenario(s2, cols, 1000000, 1000000);
  EXPECT_FALSE(none.verdict.on_list);
  EXPECT_TRUE(none.verdict.applies);
}

// The shipped example lists load, and every file says it is an example.
TEST(NegativeListTest, ShippedExamplesLoad) {
  const char* src = std::getenv("KEXIN_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  auto lists = LoadNegativeLists({std::string(src) + "/lists/beijing-ftz-2024-example"});
  ASSERT_TRUE(lists.ok()) << lists.status().ToString();
  EXPECT_EQ(lists->size(), 5u);
  for (const auto& l : *lists) {
    EXPECT_TRUE(l.example) << l.file;
    EXPECT_EQ(l.zone, "beijing-ftz");
  }
  // The same directory twice: duplicate scenario ids across files are refused.
  auto twice = LoadNegativeLists({std::string(src) + "/lists/beijing-ftz-2024-example",
                                  std::string(src) + "/lists/beijing-ftz-2024-example"});
  EXPECT_EQ(twice.status().code(), StatusCode::kDataError);
  EXPECT_NE(twice.status().message().find("already defined"), std::string::npos);
  auto missing = LoadNegativeLists({"/nonexistent/list.toml"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// Review finding: column names match list fields on whole words, not substrings.
TEST(NegativeListTest, AsciiColumnNamesMatchOnWholeWords) {
  auto l = ParseNegativeList(kList, "l.toml");
  ASSERT_TRUE(l.ok());
  const Scenario& s1 = l->scenarios[0];
  std::vector<ColumnRef> cols = {
      {"t.csv", "province", "", {}}, {"t.csv", "number", "", {}}, {"t.csv", "amount", "", {}}};
  ListMatch m = MatchScenario(s1, cols, 1000000, 1000000);
  for (const auto& item : m.matches) {
    for (const auto& c : item.columns) ADD_FAILURE() << "unexpected match: " << c;
  }
}

}  // namespace
}  // namespace kexin::outbound
