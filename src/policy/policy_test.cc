#include "policy/policy.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace kexin::policy {
namespace {

using nlohmann::json;

Policy P(const json& j) {
  auto r = Parse(j);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << j.dump();
  return r.ok() ? *r : Policy{};
}

std::string ErrorOf(const json& j) {
  auto r = Parse(j);
  EXPECT_FALSE(r.ok()) << j.dump();
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

json One(json constraint, const char* action = "use") {
  return json{{"@type", "Offer"},
              {"permission", json::array({{{"action", action}, {"constraint", {constraint}}}})}};
}

json C(const char* left, const char* op, json right) {
  return json{{"leftOperand", left}, {"operator", op}, {"rightOperand", std::move(right)}};
}

// The statistics/compute-only policy written in many notations.
std::vector<json> StatisticsNotations() {
  json base = {{"@context", {"https://w3id.org/dspace/2025/1/context.jsonld"}},
               {"@id", "urn:uuid:a"},
               {"@type", "Offer"},
               {"permission",
                {{{"action", "use"},
                  {"constraint",
                   {C("purpose", "eq", "statistics"), C("kexin:computeMode", "eq", "compute-only"),
                    C("count", "lteq", 10), C("dateTime", "lt", "2027-01-01T00:00:00Z")}}}}}};
  std::vector<json> v = {base};
  // Constraints reordered, prefixed and full IRIs, one-element lists, other id, no context.
  v.push_back(json{{"@id", "urn:uuid:other"},
                   {"odrl:permission",
                    {{{"odrl:action", {{"@id", "odrl:use"}}},
                      {"odrl:constraint",
                       {C("http://www.w3.org/ns/odrl/2/dateTime", "odrl:lt",
                          {{"@value", "2027-01-01T08:00:00+08:00"}, {"@type", "xsd:dateTime"}}),
                        C("odrl:count", "http://www.w3.org/ns/odrl/2/lt", "11"),
                        C("https://w3id.org/kexin/ns/computeMode", "isAnyOf", {"compute-only"}),
                        C("odrl:purpose", "odrl:eq", {"statistics"})}}}}}});
  // and-logical constraint, single permission object, lteq instead of lt for the time.
  v.push_back(json{
      {"@type", "odrl:Offer"},
      {"permission",
       {{"action", "odrl:use"},
        {"constraint",
         {json::object(
              {{"and",
                json::array(
                    {C("purpose", "isAnyOf", {"statistics"}),
                     json::object(
                         {{"and",
                           json::array({C("computeMode", "eq", {{"@value", "compute-only"}}),
                                        C("count", "lteq",
                                          {{"@value", "10"}, {"@type", "xsd:integer"}})})}})})}}),
          C("dateTime", "lteq", "2026-12-31T23:59:59.999999Z")}}}}});
  // Redundant constraints that intersect to the same thing; a duplicate permission.
  json dup = base;
  dup["permission"][0]["constraint"].push_back(C("count", "lt", 100));
  dup["permission"][0]["constraint"].push_back(C("kexin:computeMode", "lteq", "compute-only"));
  dup["permission"].push_back(base["permission"][0]);
  v.push_back(dup);
  // or over one operand that joins to the same range.
  json orj = base;
  orj["permission"][0]["constraint"][2] =
      json::object({{"or", json::array({C("count", "lteq", 5), C("count", "gteq", 3)})}});
  orj["permission"][0]["constraint"].push_back(C("count", "lteq", 10));
  v.push_back(orj);
  return v;
}

TEST(PolicyTest, ManyNotationsAreEquivalentWithOneFingerprint) {
  auto v = StatisticsNotations();
  Policy first = P(v[0]);
  for (size_t i = 1; i < v.size(); ++i) {
    Policy other = P(v[i]);
    EXPECT_TRUE(Equivalent(first, other)) << i << ": " << FirstDifference(first, other);
    EXPECT_EQ(Fingerprint(first), Fingerprint(other)) << i;
    EXPECT_EQ(FirstDifference(first, other), "");
  }
  EXPECT_EQ(Fingerprint(first).size(), 64u);
}

TEST(PolicyTest, OrJoinsDisjointRangesOnlyWhenTheyTouch) {
  // count <= 5 or count >= 3 covers everything: together with count <= 10 it is count <= 10.
  EXPECT_TRUE(Parse(One({{"or", {C("count", "lteq", 5), C("count", "gteq", 6)}}})).ok());
  EXPECT_NE(ErrorOf(One({{"or", {C("count", "lteq", 5), C("count", "gteq", 7)}}})).find("disjoint"),
            std::string::npos);
  EXPECT_NE(ErrorOf(One({{"or", {C("count", "lteq", 5), C("purpose", "eq", "research")}}}))
                .find("one left operand"),
            std::string::npos);
  EXPECT_TRUE(Equivalent(
      P(One({{"or", {C("purpose", "eq", "research"), C("purpose", "eq", "statistics")}}})),
      P(One(C("purpose", "isAnyOf", {"statistics", "research"})))));
}

TEST(PolicyTest, ToJsonLdRoundTripsAndIsCanonical) {
  for (const auto& j : StatisticsNotations()) {
    Policy p = P(j);
    json out = ToJsonLd(p);
    Policy again = P(out);
    EXPECT_TRUE(Equivalent(p, again));
    EXPECT_EQ(ToJsonLd(again), out);
  }
  Policy p = P(StatisticsNotations()[0]);
  json out = ToJsonLd(p);
  EXPECT_EQ(out["@context"][0], "https://w3id.org/dspace/2025/1/context.jsonld");
  EXPECT_EQ(out["@id"], "urn:uuid:a");
  EXPECT_EQ(out["@type"], "Offer");
  // Constraints sorted by left operand, time as [start, end), integers as typed literals.
  json cs = out["permission"][0]["constraint"];
  ASSERT_EQ(cs.size(), 4u);
  EXPECT_EQ(cs[0]["leftOperand"], "count");
  EXPECT_EQ(cs[0]["operator"], "lteq");
  EXPECT_EQ(cs[0]["rightOperand"]["@value"], "10");
  EXPECT_EQ(cs[1]["leftOperand"], "dateTime");
  EXPECT_EQ(cs[1]["operator"], "lt");
  EXPECT_EQ(cs[1]["rightOperand"]["@value"], "2027-01-01T00:00:00Z");
  EXPECT_EQ(cs[2]["leftOperand"], "kexin:computeMode");
  EXPECT_EQ(cs[3]["leftOperand"], "purpose");
  EXPECT_EQ(cs[3]["rightOperand"], "statistics");
}

TEST(PolicyTest, NonEquivalentPoliciesDiffer) {
  Policy base = P(StatisticsNotations()[0]);
  std::vector<std::pair<json, std::string>> changes;
  auto with = [&](size_t i, json c) {
    json j = StatisticsNotations()[0];
    j["permission"][0]["constraint"][i] = std::move(c);
    return j;
  };
  changes.push_back({with(0, C("purpose", "eq", "research")), "purpose"});
  changes.push_back({with(0, C("purpose", "isA", "statistics")), "purpose"});  // adds a child
  changes.push_back({with(1, C("kexin:computeMode", "lteq", "compute-only")), "computeMode"});
  changes.push_back({with(2, C("count", "lt", 10)), "count"});
  changes.push_back({with(3, C("dateTime", "lteq", "2027-01-01T00:00:00Z")), "dateTime"});
  for (const auto& [j, what] : changes) {
    Policy other = P(j);
    EXPECT_FALSE(Equivalent(base, other)) << what;
    EXPECT_NE(Fingerprint(base), Fingerprint(other)) << what;
    EXPECT_NE(FirstDifference(base, other).find(what), std::string::npos)
        << FirstDifference(base, other);
  }
  // A missing constraint, another action, an extra prohibition.
  json fewer = StatisticsNotations()[0];
  fewer["permission"][0]["constraint"].erase(2);
  EXPECT_EQ(FirstDifference(base, P(fewer)),
            "/permission/0/constraint/count: "
            "[[\"lteq\",{\"@type\":\"xsd:integer\",\"@value\":"
            "\"10\"}]] vs (none)");
  json read = StatisticsNotations()[0];
  read["permission"][0]["action"] = "read";
  EXPECT_EQ(FirstDifference(base, P(read)), "/permission/0/action: use vs read");
  json pro = StatisticsNotations()[0];
  pro["prohibition"] = {{{"action", "distribute"}}};
  EXPECT_FALSE(Equivalent(base, P(pro)));
  EXPECT_NE(FirstDifference(base, P(pro)).find("/prohibition"), std::string::npos);
  // Real ranges: lt and lteq differ for decimals.
  EXPECT_FALSE(Equivalent(P(One(C("kexin:dpEpsilon", "lt", 1.0))),
                          P(One(C("kexin:dpEpsilon", "lteq", 1.0)))));
  EXPECT_TRUE(Equivalent(P(One(C("kexin:dpEpsilon", "lteq", "1.0"))),
                         P(One(C("kexin:dpEpsilon", "lteq", 1)))));
}

TEST(PolicyTest, SetsRegionsAndFieldsNormalize) {
  // Regions: case, duplicates, a subdivision inside its country, a denial outside the allowance.
  EXPECT_TRUE(Equivalent(P(One(C("spatial", "isAnyOf", {"cn", "CN-BJ", "CN"}))),
                         P(One(C("kexin:destination", "eq", "CN")))));
  json both = One(C("spatial", "isAnyOf", {"CN", "DE"}));
  both["permission"][0]["constraint"].push_back(C("spatial", "isNoneOf", {"US", "CN-XZ"}));
  json expected = One(C("spatial", "isAnyOf", {"DE", "CN"}));
  expected["permission"][0]["constraint"].push_back(C("spatial", "neq", "CN-XZ"));
  EXPECT_TRUE(Equivalent(P(both), P(expected))) << FirstDifference(P(both), P(expected));
  // Province-level GB/T 2260 codes are the ISO 3166-2:CN subdivisions; finer codes are refused.
  EXPECT_TRUE(Equivalent(P(One(C("spatial", "isAnyOf", {"440000", "110000"}))),
                         P(One(C("spatial", "isAnyOf", {"CN-GD", "CN-BJ"})))));
  EXPECT_NE(ErrorOf(One(C("spatial", "eq", "440300"))).find("is not a region"), std::string::npos);
  EXPECT_NE(ErrorOf(One(C("spatial", "eq", "990000"))).find("is not a region"), std::string::npos);
  EXPECT_EQ(NormalizeRegion("310000"), "CN-SH");
  // Intersection of region allowances keeps the narrower region.
  json narrow = One(C("spatial", "eq", "CN"));
  narrow["permission"][0]["constraint"].push_back(C("spatial", "isAnyOf", {"CN-SH", "DE"}));
  EXPECT_TRUE(Equivalent(P(narrow), P(One(C("spatial", "eq", "CN-SH")))));
  // Fields: list vs isPartOf vs isAnyOf.
  EXPECT_TRUE(Equivalent(P(One(C("kexin:allowedFields", "isAnyOf", {"age", "city"}))),
                         P(One(C("allowedFields", "isPartOf", {"city", "age", "age"})))));
  // Purpose: neq over the closed vocabulary equals isAnyOf of the rest.
  std::vector<std::string> rest;
  for (const auto& t : PurposeTerms())
    if (t != "marketing") rest.push_back(t);
  EXPECT_TRUE(
      Equivalent(P(One(C("purpose", "neq", "marketing"))), P(One(C("purpose", "isAnyOf", rest)))));
  // isA expands the hierarchy.
  EXPECT_TRUE(Equivalent(
      P(One(C("purpose", "isA", "research"))),
      P(One(C("purpose", "isAnyOf", {"research", "academic-research", "medical-research"})))));
  // Compute modes are ordered: lteq deidentified = everything but download.
  EXPECT_TRUE(Equivalent(P(One(C("kexin:computeMode", "lteq", "deidentified"))),
                         P(One(C("kexin:computeMode", "neq", "download")))));
}

TEST(PolicyTest, ErrorsNameTheJsonPointer) {
  json j = StatisticsNotations()[0];
  j["permission"][0]["constraint"][1]["rightOperand"] = "teleport";
  EXPECT_EQ(ErrorOf(j).substr(0, 47), "/permission/0/constraint/1/rightOperand: unknow");
  j = StatisticsNotations()[0];
  j["permission"][0]["constraint"][2]["rightOperand"] = "ten";
  EXPECT_EQ(ErrorOf(j), "/permission/0/constraint/2/rightOperand: 'ten' is not an integer");
  j["permission"][0]["constraint"][2]["rightOperand"] = {"1", "2"};
  EXPECT_NE(ErrorOf(j).find("takes one value"), std::string::npos);
  j = StatisticsNotations()[0];
  j["permission"][0]["constraint"][0]["leftOperand"] = "colour";
  EXPECT_EQ(ErrorOf(j).substr(0, 65),
            "/permission/0/constraint/0/leftOperand: unknown left operand 'col");
  j = StatisticsNotations()[0];
  j["permission"][0]["constraint"][0]["operator"] = "isAlmost";
  EXPECT_EQ(ErrorOf(j), "/permission/0/constraint/0/operator: unknown operator 'isAlmost'");
  j["permission"][0]["constraint"][0]["operator"] = "lt";
  EXPECT_NE(ErrorOf(j).find("operator 'lt' is not supported for purpose"), std::string::npos);
  j = StatisticsNotations()[0];
  j["permission"][0]["constraint"][3]["rightOperand"] = "2027-02-30T00:00:00Z";
  EXPECT_NE(ErrorOf(j).find("/permission/0/constraint/3/rightOperand: '2027-02-30"),
            std::string::npos);
  j["permission"][0]["constraint"][3]["rightOperand"] = "2027-01-01T00:00:00";  // no offset
  EXPECT_NE(ErrorOf(j).find("offset"), std::string::npos);
  // Pointers follow the notation used, escaping '/'.
  json iri = {{"http://www.w3.org/ns/odrl/2/permission",
               {{{"action", "use"}, {"constraint", {C("count", "lteq", -1)}}}}}};
  EXPECT_EQ(ErrorOf(iri),
            "/http:~1~1www.w3.org~1ns~1odrl~12~1permission/0/constraint/0/rightOperand: must not "
            "be negative");
  // Wrong types and shapes.
  EXPECT_EQ(ErrorOf(json::array()), "/: a policy must be a JSON object");
  EXPECT_EQ(ErrorOf(json{{"@type", "Offer"}}), "/: a policy needs at least one permission");
  EXPECT_EQ(ErrorOf(json{{"permission", json::array()}}),
            "/permission: a policy needs at least one permission");
  EXPECT_EQ(ErrorOf(json{{"permission", 5}}),
            "/permission: must be an object or an array of rules");
  EXPECT_EQ(ErrorOf(json{{"permission", {{{"constraint", json::array()}}}}}),
            "/permission/0: missing action");
  EXPECT_NE(ErrorOf(json{{"permission", {{{"action", "fly"}}}}})
                .find("/permission/0/action: unknown action 'fly'"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(json{{"colour", 1}, {"permission", {{{"action", "use"}}}}}),
            "/colour: unknown member 'colour' in a policy");
  EXPECT_NE(ErrorOf(json{{"permission", {{{"action", "use"}}}},
                         {"odrl:permission", {{{"action", "use"}}}}})
                .find("duplicate member"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(One(C("spatial", "eq", "Europe"))).substr(0, 53),
            "/permission/0/constraint/0/rightOperand: 'Europe' is ");
  EXPECT_EQ(ErrorOf(One(C("count", "lteq", json::object({{"x", 1}})))).substr(0, 41),
            "/permission/0/constraint/0/rightOperand: ");
  EXPECT_NE(ErrorOf(One(C("kexin:dpEpsilon", "lteq", "lots"))).find("'lots' is not a number"),
            std::string::npos);
  EXPECT_NE(ErrorOf(One(C("purpose", "isAnyOf", json::array()))).find("empty list"),
            std::string::npos);
  // Contradictions are refused: nothing could ever be permitted.
  json contra = One(C("purpose", "eq", "research"));
  contra["permission"][0]["constraint"].push_back(C("purpose", "eq", "marketing"));
  EXPECT_EQ(ErrorOf(contra),
            "/permission/0/constraint/1: no value of purpose satisfies all its constraints");
  EXPECT_NE(ErrorOf(One(C("count", "lt", 0))).find("no value of count"), std::string::npos);
  EXPECT_NE(ErrorOf(One(C("count", "gt", "9223372036854775807"))).find("no value of count"),
            std::string::npos);
  EXPECT_NE(ErrorOf(One(C("count", "lteq", "99999999999999999999"))).find("not an integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf(json{{"permission", {{{"action", "use"}}}}, {"obligation", json::array()}})
                .find("obligations are not supported"),
            std::string::npos);
  EXPECT_NE(ErrorOf(One({{"xone", {C("count", "lteq", 1)}}})).find("xone"), std::string::npos);
  // Deep nesting is refused before it can exhaust the stack.
  std::string text = R"({"permission":[{"action":"use","constraint":[)";
  for (int i = 0; i < 100000; ++i) text += R"({"and":[)";
  text += R"({"leftOperand":"count","operator":"lteq","rightOperand":1})";
  for (int i = 0; i < 100000; ++i) text += "]}";
  text += "]}]}";
  json deep = json::parse(text);  // built by parsing: copying it would recurse
  EXPECT_NE(ErrorOf(deep).find("nested more than 16 deep"), std::string::npos);
  json ok = C("count", "lteq", 1);
  for (int i = 0; i < 16; ++i) ok = json::object({{"and", json::array({std::move(ok)})}});
  EXPECT_TRUE(Parse(One(ok)).ok());
}

Context Ok() {
  Context c;
  c.purpose = "statistics";
  c.now = "2026-06-01T00:00:00Z";
  c.use_count = 1;
  c.compute_mode = "compute-only";
  return c;
}

TEST(PolicyTest, EvaluateAtEveryBoundary) {
  Policy p = P(StatisticsNotations()[0]);
  EXPECT_TRUE(Evaluate(p, Ok()).permitted) << Evaluate(p, Ok()).reason;
  Context c = Ok();
  c.use_count = 10;
  EXPECT_TRUE(Evaluate(p, c).permitted);
  c.use_count = 11;
  Decision d = Evaluate(p, c);
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.constraint, "count");
  c = Ok();
  c.now = "2026-12-31T23:59:59.999999Z";
  EXPECT_TRUE(Evaluate(p, c).permitted);
  c.now = "2027-01-01T08:00:00+08:00";  // the end instant, in another offset
  d = Evaluate(p, c);
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.constraint, "dateTime");
  EXPECT_NE(d.reason.find("validity window"), std::string::npos);
  c = Ok();
  c.purpose = "marketing";
  EXPECT_EQ(Evaluate(p, c).constraint, "purpose");
  c = Ok();
  c.compute_mode = "download";
  EXPECT_EQ(Evaluate(p, c).constraint, "kexin:computeMode");
  c = Ok();
  c.purpose.clear();
  d = Evaluate(p, c);
  EXPECT_EQ(d.constraint, "purpose");
  EXPECT_EQ(d.reason, "the request declares no purpose");
  c.skip_unset = true;
  EXPECT_TRUE(Evaluate(p, c).permitted);
  c = Ok();
  c.action = "distribute";
  EXPECT_TRUE(Evaluate(p, c).permitted);  // "use" covers every action
  Policy readonly = P(One(C("purpose", "eq", "statistics"), "read"));
  d = Evaluate(readonly, c);
  EXPECT_EQ(d.constraint, "action");

  // kexin operands.
  json j = One(C("kexin:minGroupSize", "gteq", 20));
  j["permission"][0]["constraint"].push_back(C("kexin:dpEpsilon", "lteq", 0.5));
  j["permission"][0]["constraint"].push_back(C("kexin:allowedFields", "isAnyOf", {"age", "城市"}));
  j["permission"][0]["constraint"].push_back(C("kexin:destination", "isAnyOf", {"CN"}));
  j["permission"][0]["constraint"].push_back(C("spatial", "neq", "CN-XZ"));
  j["permission"][0]["constraint"].push_back(C("kexin:consumer", "isAnyOf", {"bank-a", "abcd"}));
  Policy k = P(j);
  Context x;
  x.group_size = 20;
  x.epsilon = 0.5;
  x.fields = {"age", "城市"};
  x.destination = "cn-bj";
  x.consumer = "bank-a";
  EXPECT_TRUE(Evaluate(k, x).permitted) << Evaluate(k, x).reason;
  Context y = x;
  y.group_size = 19;
  EXPECT_EQ(Evaluate(k, y).constraint, "kexin:minGroupSize");
  y = x;
  y.epsilon = 0.5000001;
  EXPECT_EQ(Evaluate(k, y).constraint, "kexin:dpEpsilon");
  y = x;
  y.fields = {"age", "姓名"};
  d = Evaluate(k, y);
  EXPECT_EQ(d.constraint, "kexin:allowedFields");
  EXPECT_NE(d.reason.find("姓名"), std::string::npos);
  y = x;
  y.destination = "CN-XZ";
  EXPECT_EQ(Evaluate(k, y).constraint, "spatial");
  y.destination = "US";
  EXPECT_EQ(Evaluate(k, y).constraint, "spatial");
  y.destination = "CN";
  EXPECT_TRUE(Evaluate(k, y).permitted);
  y = x;
  y.consumer = "bank-b";
  EXPECT_EQ(Evaluate(k, y).constraint, "kexin:consumer");
  y.consumer_key = "abcd";  // matched by key
  EXPECT_TRUE(Evaluate(k, y).permitted);

  // Exclusive real bound.
  Policy gt = P(One(C("kexin:dpEpsilon", "gt", 0)));
  Context e;
  e.epsilon = 0;
  EXPECT_FALSE(Evaluate(gt, e).permitted);
  e.epsilon = 1e-9;
  EXPECT_TRUE(Evaluate(gt, e).permitted);
  // Hierarchical purpose.
  Policy research = P(One(C("purpose", "isA", "research")));
  Context r;
  r.purpose = "medical-research";
  EXPECT_TRUE(Evaluate(research, r).permitted);
  r.purpose = "statistics";
  EXPECT_FALSE(Evaluate(research, r).permitted);
}

TEST(PolicyTest, ProhibitionsAndSeveralPermissions) {
  json j = {{"permission",
             {{{"action", "use"}, {"constraint", {C("purpose", "eq", "research")}}},
              {{"action", "read"}, {"constraint", {C("purpose", "eq", "statistics")}}}}},
            {"prohibition", {{{"action", "use"}, {"constraint", {C("spatial", "eq", "US")}}}}}};
  Policy p = P(j);
  Context c;
  c.purpose = "statistics";
  c.action = "read";
  c.destination = "CN";
  EXPECT_TRUE(Evaluate(p, c).permitted);
  c.destination = "US";
  Decision d = Evaluate(p, c);
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.constraint, "spatial");
  EXPECT_NE(d.reason.find("prohibited"), std::string::npos);
  c.destination = "CN";
  c.action = "derive";
  d = Evaluate(p, c);
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.constraint, "purpose");
}

TEST(PolicyTest, AgreementMetadataIsNotPartOfTheTerms) {
  json offer = StatisticsNotations()[0];
  json agreement = offer;
  agreement["@type"] = "Agreement";
  agreement["@id"] = "urn:uuid:agreement";
  agreement["target"] = "dataset-1";
  agreement["assigner"] = "provider";
  agreement["assignee"] = "consumer";
  agreement["timestamp"] = "2026-12-03T10:00:00Z";
  Policy a = P(agreement);
  EXPECT_TRUE(Equivalent(P(offer), a));
  EXPECT_EQ(a.type, "Agreement");
  EXPECT_EQ(a.assignee, "consumer");
  json out = ToJsonLd(a);
  EXPECT_EQ(out["target"], "dataset-1");
  EXPECT_FALSE(out.contains("timestamp"));
  agreement["timestamp"] = 5;
  EXPECT_EQ(ErrorOf(agreement), "/timestamp: timestamp must be a date-time string");
}

TEST(PolicyTest, DateTimes) {
  EXPECT_EQ(*ParseDateTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseDateTime("1970-01-01T08:00:00+08:00"), 0);
  EXPECT_EQ(*ParseDateTime("1970-01-01"), 0);
  EXPECT_EQ(*ParseDateTime("1970-01-01T00:00:00.5Z"), 500000);
  EXPECT_EQ(FormatDateTime(*ParseDateTime("2024-02-29T23:59:59.25-05:30")),
            "2024-03-01T05:29:59.25Z");
  EXPECT_EQ(FormatDateTime(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_FALSE(ParseDateTime("2023-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseDateTime("2023-01-01T24:00:00Z").ok());
  EXPECT_FALSE(ParseDateTime("2023-01-01T00:00:00.1234567Z").ok());
  EXPECT_TRUE(ParseDateTime("2023-01-01T00:00:00.1234560Z").ok());
  EXPECT_FALSE(ParseDateTime("2023-01-01 00:00:00Z").ok());
}

// Random re-notations of the same constraints: names as compact/prefixed/IRI, values wrapped in
// lists or typed literals, integer bounds moved between lt and lteq, times in other offsets,
// constraints shuffled and nested in "and". Every variant must be Equivalent with one fingerprint.
json Renotate(const json& c, std::mt19937& rng) {
  auto name = [&](const std::string& t, bool kexin) {
    switch (rng() % 3) {
      case 0:
        return t;
      case 1:
        return (kexin ? "kexin:" : "odrl:") + t;
      default:
        return (kexin ? std::string("https://w3id.org/kexin/ns/")
                      : std::string("http://www.w3.org/ns/odrl/2/")) +
               t;
    }
  };
  std::string left = c["leftOperand"], op = c["operator"];
  bool kexin = left.rfind("kexin:", 0) == 0;
  std::string bare = kexin ? left.substr(6) : left;
  json right = c["rightOperand"];
  if ((left == "count" || left == "kexin:minGroupSize") && right.is_number_integer()) {
    int64_t v = right;
    if (op == "lteq" && rng() % 2)
      op = "lt", v += 1;
    else if (op == "gteq" && rng() % 2 && v > 0)
      op = "gt", v -= 1;
    right = rng() % 2 ? json(std::to_string(v))
                      : json{{"@value", std::to_string(v)}, {"@type", "xsd:integer"}};
  } else if (left == "dateTime" && rng() % 2) {
    // Same instant written at +08:00.
    std::string t = right;
    int64_t micros = *ParseDateTime(t) + int64_t{8} * 3600 * 1000000;
    std::string local = FormatDateTime(micros);
    right = local.substr(0, local.size() - 1) + "+08:00";
  } else if (right.is_string() && rng() % 2) {
    right = rng() % 2 ? json::array({right}) : json{{"@value", right}};
  }
  json out = {{name("leftOperand", false), name(bare, kexin)},
              {name("operator", false), rng() % 4 == 0 ? json{{"@id", "odrl:" + op}} : json(op)},
              {name("rightOperand", false), right}};
  return out;
}

TEST(PolicyTest, RandomNotationsAreEquivalent) {
  // Groups of alternatives (one is picked from a group: two purposes would contradict).
  const std::vector<std::vector<json>> pool = {
      {C("purpose", "eq", "statistics"), C("purpose", "isA", "research"),
       C("purpose", "neq", "marketing")},
      {C("kexin:computeMode", "eq", "compute-only"),
       C("kexin:computeMode", "lteq", "deidentified")},
      {C("count", "lteq", 10)},
      {C("count", "gteq", 2)},
      {C("kexin:minGroupSize", "gteq", 20)},
      {C("dateTime", "gteq", "2026-01-01T00:00:00Z")},
      {C("dateTime", "lt", "2027-06-30T12:00:00Z")},
      {C("spatial", "eq", "CN")},
      {C("kexin:destination", "neq", "CN-XZ")},
      {C("kexin:allowedFields", "isAnyOf", {"a", "b", "年龄"})},
      {C("kexin:dpEpsilon", "lteq", 0.5)},
      {C("kexin:consumer", "isAnyOf", {"bank-a", "b"})}};
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    json cs = json::array();
    for (const auto& group : pool)
      if (rng() % 2) cs.push_back(group[rng() % group.size()]);
    json base = {{"permission", {{{"action", "use"}, {"constraint", cs}}}}};
    Policy p = P(base);
    for (int v = 0; v < 5; ++v) {
      json vs = json::array();
      for (const auto& c : cs) vs.push_back(Renotate(c, rng));
      std::shuffle(vs.begin(), vs.end(), rng);
      json list = vs;
      if (vs.size() > 2 && rng() % 2) {  // nest the first half in an "and"
        json inner = json::array(), outer = json::array();
        for (size_t i = 0; i < vs.size(); ++i) (i < vs.size() / 2 ? inner : outer).push_back(vs[i]);
        outer.push_back(json::object({{"and", inner}}));
        list = outer;
      }
      json variant = {
          {rng() % 2 ? "permission" : "odrl:permission",
           json::array({{{"action", rng() % 2 ? "use" : "odrl:use"}, {"constraint", list}}})}};
      Policy q = P(variant);
      ASSERT_TRUE(Equivalent(p, q)) << FirstDifference(p, q) << "\n" << variant.dump();
      ASSERT_EQ(Fingerprint(p), Fingerprint(q));
    }
    // And one change of a bound is never equivalent.
    if (!cs.empty()) {
      json changed = base;
      changed["permission"][0]["constraint"].push_back(C("kexin:dpEpsilon", "lteq", 0.25));
      EXPECT_FALSE(Equivalent(p, P(changed))) << changed.dump();
    }
  }
}

std::string Examples() {
  const char* d = std::getenv("KEXIN_SOURCE_DIR");
  return std::string(d ? d : ".") + "/examples/policies";
}

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in, nullptr, false);
}

TEST(PolicyExamplesTest, GoodExamplesParseAndRoundTrip) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(Examples())) {
    if (e.path().extension() != ".json") continue;
    ++n;
    Policy p = P(ReadJson(e.path()));
    EXPECT_TRUE(Equivalent(p, P(ToJsonLd(p)))) << e.path();
  }
  EXPECT_GE(n, 6);
  EXPECT_TRUE(Equivalent(P(ReadJson(Examples() + "/statistics-compute-only.json")),
                         P(ReadJson(Examples() + "/statistics-compute-only-iri.json"))));
  EXPECT_FALSE(Equivalent(P(ReadJson(Examples() + "/statistics-compute-only.json")),
                          P(ReadJson(Examples() + "/research-fields-limited.json"))));
}

TEST(PolicyExamplesTest, BadExamplesFailWithPointers) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"unknown-operand.json", "/permission/0/constraint/1/leftOperand: unknown left operand"},
      {"bad-count.json", "/permission/0/constraint/0/rightOperand: 'ten' is not an integer"},
      {"unknown-purpose.json", "/permission/0/constraint/0/rightOperand: unknown purpose"},
      {"no-permission.json", "/permission: a policy needs at least one permission"},
      {"contradiction.json", "/permission/0/constraint/1: no value of purpose"},
      {"bad-operator.json", "/permission/0/constraint/0/operator: operator 'isA' is not"},
  };
  for (const auto& [file, prefix] : cases) {
    std::string msg = ErrorOf(ReadJson(Examples() + "/bad/" + file));
    EXPECT_EQ(msg.substr(0, prefix.size()), prefix) << file;
  }
  EXPECT_TRUE(ReadJson(Examples() + "/bad/not-json.json").is_discarded());
}

TEST(PolicyExamplesTest, ResearchExampleEvaluates) {
  Policy p = P(ReadJson(Examples() + "/research-fields-limited.json"));
  Context c;
  c.purpose = "medical-research";
  c.compute_mode = "deidentified";
  c.fields = {"年龄", "城市"};
  c.use_count = 100;
  c.destination = "CN-GD";
  EXPECT_TRUE(Evaluate(p, c).permitted) << Evaluate(p, c).reason;
  c.action = "distribute";
  EXPECT_FALSE(Evaluate(p, c).permitted);
  c.action = "use";
  c.use_count = 101;
  EXPECT_EQ(Evaluate(p, c).constraint, "count");
}

}  // namespace
}  // namespace kexin::policy
