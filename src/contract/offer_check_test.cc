// The provider's offer checks against a real catalog (registration, offers, ledger).
#include "contract/offer_check.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "catalog/offer.h"
#include "catalog/test_node.h"

namespace kexin::contract {
namespace {

using catalog::testing_node::SourceDir;
using catalog::testing_node::TestNode;
using nlohmann::json;

json Example(const std::string& name) {
  std::ifstream in(SourceDir() + "/examples/policies/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

json WithDateWindow(json p, const std::string& lt) {
  json kept = json::array();
  for (const auto& c : p["permission"][0]["constraint"])
    if (c["leftOperand"] != "dateTime") kept.push_back(c);
  kept.push_back({{"leftOperand", "dateTime"},
                  {"operator", "lt"},
                  {"rightOperand", {{"@value", lt}, {"@type", "xsd:dateTime"}}}});
  p["permission"][0]["constraint"] = kept;
  return p;
}

class OfferCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reg_ = node_.Register();
    ASSERT_FALSE(reg_.empty());
  }
  std::string Offer(const json& policy, bool manual = false) {
    auto o = catalog::CreateOffer(*node_.store, *node_.ledger, {reg_, policy, nullptr, manual});
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.ok() ? o->id : "";
  }
  std::variant<OfferTerms, OfferRejection> Check(const std::string& offer, const json& requested,
                                                 std::string target = "") {
    json r = requested;
    r.erase("@context");
    r["@type"] = "Offer";
    r["@id"] = offer;
    return CatalogOfferChecker()(*node_.store,
                                 {offer, target.empty() ? reg_ : target, r, "aa", "consumer"});
  }
  static const OfferRejection& Rejected(const std::variant<OfferTerms, OfferRejection>& v) {
    static OfferRejection none{0, "none", "accepted"};
    return std::holds_alternative<OfferRejection>(v) ? std::get<OfferRejection>(v) : none;
  }

  TestNode node_;
  std::string reg_;
};

TEST_F(OfferCheckTest, AcceptsTheOfferInAnyNotation) {
  std::string id = Offer(Example("statistics-compute-only.json"), /*manual=*/true);
  auto same = Check(id, Example("statistics-compute-only.json"));
  ASSERT_TRUE(std::holds_alternative<OfferTerms>(same)) << Rejected(same).reason;
  EXPECT_TRUE(std::get<OfferTerms>(same).manual_approval);
  // Full IRIs instead of compact terms: the same terms.
  auto iri = Check(id, Example("statistics-compute-only-iri.json"));
  EXPECT_TRUE(std::holds_alternative<OfferTerms>(iri)) << Rejected(iri).reason;
  json reordered = Example("statistics-compute-only.json");
  auto& cs = reordered["permission"][0]["constraint"];
  std::reverse(cs.begin(), cs.end());
  EXPECT_TRUE(std::holds_alternative<OfferTerms>(Check(id, reordered)));
}

TEST_F(OfferCheckTest, RefusalsArePreciseCodes) {
  std::string id = Offer(Example("statistics-compute-only.json"));
  json other = Example("statistics-compute-only.json");
  for (auto& c : other["permission"][0]["constraint"])
    if (c["leftOperand"] == "purpose") c["rightOperand"] = "marketing";
  auto r = Rejected(Check(id, other));
  EXPECT_EQ(r.http_status, 422);
  EXPECT_EQ(r.code, "policy_mismatch");
  EXPECT_NE(r.reason.find("purpose"), std::string::npos) << r.reason;

  r = Rejected(Check("urn:uuid:no-such-offer", Example("statistics-compute-only.json")));
  EXPECT_EQ(r.http_status, 404);
  EXPECT_EQ(r.code, "unknown_offer");

  r = Rejected(Check(id, Example("statistics-compute-only.json"), "other-dataset"));
  EXPECT_EQ(r.http_status, 422);
  EXPECT_EQ(r.code, "target_mismatch");

  json garbage = {
      {"permission",
       {{{"action", "use"},
         {"constraint",
          {{{"leftOperand", "count"}, {"operator", "lteq"}, {"rightOperand", "many"}}}}}}}};
  r = Rejected(Check(id, garbage));
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.code, "invalid_policy");

  ASSERT_TRUE(catalog::WithdrawOffer(*node_.store, *node_.ledger, id).ok());
  r = Rejected(Check(id, Example("statistics-compute-only.json")));
  EXPECT_EQ(r.http_status, 410);
  EXPECT_EQ(r.code, "offer_withdrawn");
}

// Parsed policies are cached by their exact text: checks that alternate between matching and
// different terms of one offer, each seen before, keep their own answers.
TEST_F(OfferCheckTest, RepeatedChecksKeepTheirAnswers) {
  std::string id = Offer(Example("statistics-compute-only.json"));
  json other = Example("statistics-compute-only.json");
  for (auto& c : other["permission"][0]["constraint"])
    if (c["leftOperand"] == "purpose") c["rightOperand"] = "marketing";
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(
        std::holds_alternative<OfferTerms>(Check(id, Example("statistics-compute-only.json"))));
    EXPECT_EQ(Rejected(Check(id, other)).code, "policy_mismatch") << "round " << round;
  }
}

TEST_F(OfferCheckTest, ExpiredOfferIsRefused) {
  json expired = WithDateWindow(Example("statistics-compute-only.json"), "2025-01-01T00:00:00Z");
  std::string id = Offer(expired);
  auto r = Rejected(Check(id, expired));
  EXPECT_EQ(r.http_status, 422);
  EXPECT_EQ(r.code, "offer_expired");
  EXPECT_NE(r.reason.find(id), std::string::npos);
}

// Regression (security review): an offer the catalog hides from a consumer cannot be negotiated
// by it either, and looks like an unknown offer.
TEST_F(OfferCheckTest, AccessPolicyHidesTheOfferFromOtherConsumers) {
  json access = json::parse(R"({"@type":"Set","permission":[{"action":"use","constraint":[
      {"leftOperand":"kexin:consumer","operator":"isAnyOf","rightOperand":["bank-a"]}]}]})");
  auto o = catalog::CreateOffer(*node_.store, *node_.ledger,
                                {reg_, Example("statistics-compute-only.json"), access, false});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  json r = Example("statistics-compute-only.json");
  r.erase("@context");
  r["@type"] = "Offer";
  r["@id"] = o->id;
  auto other = CatalogOfferChecker()(*node_.store, {o->id, reg_, r, "aa", "consumer"});
  EXPECT_EQ(Rejected(other).http_status, 404);
  EXPECT_EQ(Rejected(other).code, "unknown_offer");
  auto allowed = CatalogOfferChecker()(*node_.store, {o->id, reg_, r, "bb", "bank-a"});
  EXPECT_TRUE(std::holds_alternative<OfferTerms>(allowed)) << Rejected(allowed).reason;
}

TEST(SemanticPolicyMatcherTest, ComparesMeaningNotBytes) {
  auto match = SemanticPolicyMatcher();
  json a = Example("statistics-compute-only.json");
  EXPECT_TRUE(match(a, Example("statistics-compute-only-iri.json")).ok());
  // An agreement's parties and timestamp are not terms.
  json agreement = Example("statistics-compute-only-iri.json");
  agreement["@type"] = "Agreement";
  agreement["@id"] = "urn:uuid:a";
  agreement["timestamp"] = "2026-12-03T20:00:00Z";
  agreement["assigner"] = "urn:kexin:node:aa";
  agreement["assignee"] = "urn:kexin:node:bb";
  agreement["target"] = "reg";
  EXPECT_TRUE(match(agreement, a).ok()) << match(agreement, a).ToString();
  json b = a;
  b["permission"][0]["action"] = "read";
  Status s = match(a, b);
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace kexin::contract
