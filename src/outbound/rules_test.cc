// The rule order of CAC Order No. 16 with a test at every boundary (REFERENCE.md section 4).
#include <gtest/gtest.h>

#include "outbound/outbound.h"

namespace kexin::outbound {
namespace {

Handler NonCiio() {
  Handler h;
  h.id = "h";
  return h;
}

Handler Ciio() {
  Handler h = NonCiio();
  h.ciio = true;
  return h;
}

TransferFacts Pi(uint64_t people, uint64_t sensitive = 0) {
  TransferFacts f;
  f.contains_pi = people > 0 || sensitive > 0;
  f.people = people;
  f.contains_sensitive_pi = sensitive > 0;
  f.sensitive_people = sensitive;
  return f;
}

PriorCounts Prior(uint64_t people, uint64_t sensitive = 0) { return {people, sensitive, "test"}; }

Decision D(const Handler& h, const TransferFacts& f, const PriorCounts& p = {},
           const ListVerdict& l = {}) {
  return Decide(h, f, p, l);
}

// Non-sensitive PI thresholds, cumulative since 1 January including this transfer.
TEST(OutboundRulesTest, PeopleBoundaries) {
  struct Case {
    uint64_t prior, now;
    Route route;
    std::string exemption;
  } cases[] = {
      {0, 99999, Route::kExempt, "art5_4"},      {0, 100000, Route::kStandardContract, ""},
      {0, 999999, Route::kStandardContract, ""}, {0, 1000000, Route::kSecurityAssessment, ""},
      {99998, 1, Route::kExempt, "art5_4"},      {99999, 1, Route::kStandardContract, ""},
      {999998, 1, Route::kStandardContract, ""}, {999999, 1, Route::kSecurityAssessment, ""},
  };
  for (const auto& c : cases) {
    Decision d = D(NonCiio(), Pi(c.now), Prior(c.prior));
    EXPECT_EQ(d.route, c.route) << c.prior << " + " << c.now;
    EXPECT_EQ(d.exemption, c.exemption) << c.prior << " + " << c.now;
    EXPECT_EQ(d.rule, 6);
    EXPECT_EQ(d.cumulative_people, c.prior + c.now);
  }
  EXPECT_EQ(D(NonCiio(), Pi(100000)).article, "Art. 8");
  EXPECT_EQ(D(NonCiio(), Pi(1000000)).article, "Art. 7(2)");
  EXPECT_EQ(D(NonCiio(), Pi(99999)).article, "Art. 5(4)");
}

TEST(OutboundRulesTest, SensitiveBoundaries) {
  EXPECT_EQ(D(NonCiio(), Pi(10, 1)).route, Route::kStandardContract);
  EXPECT_EQ(D(NonCiio(), Pi(10, 9999)).route, Route::kStandardContract);
  EXPECT_EQ(D(NonCiio(), Pi(10, 10000)).route, Route::kSecurityAssessment);
  EXPECT_EQ(D(NonCiio(), Pi(10, 1), Prior(0, 9998)).route, Route::kStandardContract);
  EXPECT_EQ(D(NonCiio(), Pi(10, 1), Prior(0, 9999)).route, Route::kSecurityAssessment);
  // Sensitive PI of any size takes the exemption of Art. 5(4) away.
  Decision d = D(NonCiio(), Pi(1, 1));
  EXPECT_EQ(d.route, Route::kStandardContract);
  EXPECT_EQ(d.article, "Art. 8");
  // Sensitive data whose count is unknown counts as at least one person.
  TransferFacts f = Pi(5);
  f.contains_sensitive_pi = true;
  f.sensitive_people = 0;
  EXPECT_EQ(D(NonCiio(), f).route, Route::kStandardContract);
}

// A threshold applies only when this transfer carries that kind of data.
TEST(OutboundRulesTest, ThresholdOnlyForKindCarried) {
  // 20,000 sensitive sent earlier, this transfer carries none: only the PI counter counts.
  Decision d = D(NonCiio(), Pi(10), Prior(50, 20000));
  EXPECT_EQ(d.route, Route::kExempt);
  EXPECT_EQ(d.exemption, "art5_4");
  EXPECT_EQ(d.cumulative_sensitive, 20000u);
  // 2,000,000 non-sensitive sent earlier, this transfer carries only sensitive PI of 5 people
  // counted by identifiers (people = 0 non-sensitive).
  TransferFacts f;
  f.contains_pi = true;
  f.contains_sensitive_pi = true;
  f.sensitive_people = 5;
  EXPECT_EQ(D(NonCiio(), f, Prior(2000000, 0)).route, Route::kStandardContract);
}

TEST(OutboundRulesTest, Art3NoPersonalInformation) {
  TransferFacts f;  // trade data, no PI
  Decision d = D(NonCiio(), f, Prior(5000000, 50000));
  EXPECT_EQ(d.route, Route::kExempt);
  EXPECT_EQ(d.exemption, "art3");
  EXPECT_EQ(d.rule, 1);
  // Art. 3 applies to CIIOs too.
  EXPECT_EQ(D(Ciio(), f).exemption, "art3");
}

TEST(OutboundRulesTest, ImportantDataBeatsEveryExemption) {
  TransferFacts f;
  f.important_data = true;
  f.important_reasons = {"declared"};
  Decision d = D(NonCiio(), f);
  EXPECT_EQ(d.route, Route::kSecurityAssessment);
  EXPECT_EQ(d.rule, 2);
  EXPECT_EQ(d.article, "Art. 7(2)");
  // Rule (2) comes before rule (3): a declared basis does not exempt important data.
  TransferFacts g = Pi(10);
  g.important_data = true;
  g.basis = Basis::kArt5Contract;
  EXPECT_EQ(D(NonCiio(), g).route, Route::kSecurityAssessment);
  EXPECT_EQ(D(Ciio(), g).article, "Art. 7(1)");
  // And before the free-trade-zone list (rule 5).
  ListVerdict off_list;
  off_list.applies = true;
  EXPECT_EQ(D(NonCiio(), g, {}, off_list).route, Route::kSecurityAssessment);
}

TEST(OutboundRulesTest, EachDeclaredExemptionForAnyHandler) {
  struct Case {
    Basis basis;
    std::string id, article;
  } cases[] = {{Basis::kArt4, "art4", "Art. 4"},
               {Basis::kArt5Contract, "art5_1", "Art. 5(1)"},
               {Basis::kArt5Hr, "art5_2", "Art. 5(2)"},
               {Basis::kArt5Emergency, "art5_3", "Art. 5(3)"}};
  for (const auto& c : cases) {
    for (const Handler& h : {NonCiio(), Ciio()}) {
      TransferFacts f = Pi(5000000, 500000);
      f.basis = c.basis;
      Decision d = D(h, f, Prior(1000000, 100000));
      EXPECT_EQ(d.route, Route::kExempt) << c.id;
      EXPECT_EQ(d.exemption, c.id);
      EXPECT_EQ(d.article, c.article);
      EXPECT_EQ(d.rule, 3);
    }
  }
}

TEST(OutboundRulesTest, CiioSendingPersonalInformation) {
  Decision d = D(Ciio(), Pi(1));
  EXPECT_EQ(d.route, Route::kSecurityAssessment);
  EXPECT_EQ(d.rule, 4);
  EXPECT_EQ(d.article, "Art. 7(1)");
  // Art. 5(4) and Art. 6 are not open to a CIIO.
  ListVerdict off_list;
  off_list.applies = true;
  EXPECT_EQ(D(Ciio(), Pi(1), {}, off_list).route, Route::kSecurityAssessment);
}

TEST(OutboundRulesTest, FreeTradeZoneList) {
  ListVerdict off;
  off.applies = true;
  Decision d = D(NonCiio(), Pi(5000000, 50000), {}, off);
  EXPECT_EQ(d.route, Route::kExempt);
  EXPECT_EQ(d.exemption, "art6");
  EXPECT_EQ(d.rule, 5);

  ListVerdict on;
  on.applies = true;
  on.on_list = true;
  on.route = Route::kStandardContract;
  // Listed (standard contract), national thresholds below 100,000: the list's route.
  d = D(NonCiio(), Pi(10), {}, on);
  EXPECT_EQ(d.route, Route::kStandardContract);
  EXPECT_EQ(d.article, "Art. 6 (negative list)");
  // Listed (standard contract), national thresholds reach an assessment: the stricter wins.
  d = D(NonCiio(), Pi(1000000), {}, on);
  EXPECT_EQ(d.route, Route::kSecurityAssessment);
  EXPECT_EQ(d.article, "Art. 7(2)");
  // With ftz_listed_also_national = false the list alone decides.
  Handler h = NonCiio();
  h.settings.ftz_listed_also_national = false;
  d = D(h, Pi(1000000), {}, on);
  EXPECT_EQ(d.route, Route::kStandardContract);
  EXPECT_EQ(d.rule, 5);
  // A list that does not apply (handler outside the zone) leaves rule (6) alone.
  EXPECT_EQ(D(NonCiio(), Pi(10)).exemption, "art5_4");
}

TEST(OutboundRulesTest, ReasonsFollowTheRuleOrder) {
  Decision d = D(NonCiio(), Pi(150000), Prior(0));
  ASSERT_EQ(d.reasons.size(), 6u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(d.reasons[i].substr(0, 3), "(" + std::to_string(i + 1) + ")") << d.reasons[i];
  }
  EXPECT_NE(d.reasons[5].find("150,000"), std::string::npos) << d.reasons[5];
  ASSERT_EQ(d.triggers.size(), 1u);
  EXPECT_EQ(d.triggers[0].rule, 6);
}

TEST(OutboundRulesTest, CountsSaturate) {
  Decision d = D(NonCiio(), Pi(UINT64_MAX), Prior(UINT64_MAX));
  EXPECT_EQ(d.cumulative_people, UINT64_MAX);
  EXPECT_EQ(d.route, Route::kSecurityAssessment);
}

TEST(OutboundRulesTest, ParseBasisAndRoute) {
  EXPECT_EQ(*ParseBasis("contract"), Basis::kArt5Contract);
  EXPECT_EQ(*ParseBasis("art4"), Basis::kArt4);
  EXPECT_EQ(*ParseBasis(""), Basis::kNone);
  EXPECT_EQ(ParseBasis("art5_4").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseRoute("standard_contract"), Route::kStandardContract);
  EXPECT_FALSE(ParseRoute("assessment").ok());
}

}  // namespace
}  // namespace kexin::outbound
