// The rule order of REFERENCE.md section 4 (CAC Order No. 16), as one pure function.
#include <string>

#include "outbound/outbound.h"

namespace kexin::outbound {

std::string_view RouteId(Route r) {
  switch (r) {
    case Route::kExempt:
      return "exempt";
    case Route::kStandardContract:
      return "standard_contract_or_certification";
    case Route::kSecurityAssessment:
      return "security_assessment";
  }
  return "exempt";
}

std::string_view RouteName(Route r) {
  switch (r) {
    case Route::kExempt:
      return "exempt";
    case Route::kStandardContract:
      return "standard contract or certification";
    case Route::kSecurityAssessment:
      return "security assessment";
  }
  return "exempt";
}

std::string_view RouteZh(Route r) {
  switch (r) {
    case Route::kExempt:
      return "免予申报";
    case Route::kStandardContract:
      return "订立标准合同或通过个人信息保护认证";
    case Route::kSecurityAssessment:
      return "申报数据出境安全评估";
  }
  return "";
}

Result<Route> ParseRoute(std::string_view id) {
  if (id == "exempt") return Route::kExempt;
  if (id == "standard_contract_or_certification" || id == "standard_contract")
    return Route::kStandardContract;
  if (id == "security_assessment") return Route::kSecurityAssessment;
  return InvalidArgument("unknown route '" + std::string(id) +
                         "' (expected security_assessment, standard_contract or exempt)");
}

std::string_view BasisId(Basis b) {
  switch (b) {
    case Basis::kNone:
      return "";
    case Basis::kArt4:
      return "art4";
    case Basis::kArt5Contract:
      return "art5_1";
    case Basis::kArt5Hr:
      return "art5_2";
    case Basis::kArt5Emergency:
      return "art5_3";
  }
  return "";
}

std::string_view BasisText(Basis b) {
  switch (b) {
    case Basis::kNone:
      return "none";
    case Basis::kArt4:
      return "Art. 4: personal information collected abroad, processed in China and sent back";
    case Basis::kArt5Contract:
      return "Art. 5(1): necessary to conclude or perform a contract to which the individual is a "
             "party";
    case Basis::kArt5Hr:
      return "Art. 5(2): necessary for cross-border human resources management";
    case Basis::kArt5Emergency:
      return "Art. 5(3): necessary to protect life, health or property in an emergency";
  }
  return "";
}

Result<Basis> ParseBasis(std::string_view s) {
  if (s.empty() || s == "none") return Basis::kNone;
  if (s == "art4" || s == "collected-abroad") return Basis::kArt4;
  if (s == "art5_1" || s == "contract") return Basis::kArt5Contract;
  if (s == "art5_2" || s == "hr") return Basis::kArt5Hr;
  if (s == "art5_3" || s == "emergency") return Basis::kArt5Emergency;
  return InvalidArgument("unknown exemption basis '" + std::string(s) +
                         "' (expected art4|collected-abroad, art5_1|contract, art5_2|hr, "
                         "art5_3|emergency or none)");
}

namespace {

std::string Num(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

void Finish(Decision* d, Route route, std::string article, std::string exemption, int rule) {
  d->route = route;
  d->article = std::move(article);
  d->exemption = std::move(exemption);
  d->rule = rule;
}

}  // namespace

Decision Decide(const Handler& handler, const TransferFacts& facts, const PriorCounts& prior,
                const ListVerdict& list) {
  Decision d;
  // A threshold applies only when this transfer carries that kind of data.
  bool carries_pi = facts.contains_pi && facts.people > 0;
  bool carries_sensitive = facts.contains_sensitive_pi;
  uint64_t sensitive_now =
      carries_sensitive && facts.sensitive_people == 0 ? 1 : facts.sensitive_people;
  d.cumulative_people = carries_pi ? SatAdd(prior.people, facts.people) : prior.people;
  d.cumulative_sensitive =
      carries_sensitive ? SatAdd(prior.sensitive_people, sensitive_now) : prior.sensitive_people;

  // (1) Art. 3.
  if (!facts.contains_pi && !facts.important_data) {
    d.reasons.push_back("(1) Art. 3: no personal information and no important data: exempt");
    d.triggers.push_back({1, "no personal information, no important data",
                          "the scan found no personal information and none is declared important"});
    Finish(&d, Route::kExempt, "Art. 3", "art3", 1);
    return d;
  }
  d.reasons.push_back(std::string("(1) Art. 3 does not apply: the transfer holds ") +
                      (facts.contains_pi ? "personal information" : "important data"));

  // (2) Important data: security assessment for every handler.
  if (facts.important_data) {
    std::string why;
    for (const auto& r : facts.important_reasons) why += (why.empty() ? "" : "; ") + r;
    d.reasons.push_back("(2) the transfer holds important data (" + why + "): security assessment");
    d.triggers.push_back({2, "important data", why});
    Finish(&d, Route::kSecurityAssessment, handler.ciio ? "Art. 7(1)" : "Art. 7(2)", "", 2);
    return d;
  }
  d.reasons.push_back("(2) no important data in the transfer");

  // (3) Art. 4 and 5(1)-(3): exempt whoever sends.
  if (facts.basis != Basis::kNone) {
    d.reasons.push_back("(3) declared basis " + std::string(BasisText(facts.basis)) +
                        ": exempt, for any handler");
    d.triggers.push_back({3, "declared exemption basis", std::string(BasisText(facts.basis))});
    std::string id(BasisId(facts.basis));
    std::string article = facts.basis == Basis::kArt4 ? "Art. 4" : "Art. 5(" + id.substr(5) + ")";
    Finish(&d, Route::kExempt, article, id, 3);
    return d;
  }
  d.reasons.push_back("(3) no Art. 4 or Art. 5(1)-(3) basis declared");

  // (4) A CIIO sending any other personal information.
  if (handler.ciio) {
    d.reasons.push_back(
        "(4) the handler is a critical information infrastructure operator sending personal "
        "information: security assessment");
    d.triggers.push_back({4, "critical information infrastructure operator",
                          "personal information of " + Num(facts.people) + " people"});
    Finish(&d, Route::kSecurityAssessment, "Art. 7(1)", "", 4);
    return d;
  }
  d.reasons.push_back("(4) the handler is not a critical information infrastructure operator");

  // (5) Free-trade-zone negative list (Art. 6).
  Route list_route = Route::kExempt;
  if (list.applies) {
    for (const auto& r : list.reasons) d.reasons.push_back("(5) " + r);
    if (!list.on_list) {
      d.reasons.push_back("(5) Art. 6: the data is not on the zone's negative list: exempt");
      d.triggers.push_back({5, "free-trade-zone negative list", "no listed item reached"});
      Finish(&d, Route::kExempt, "Art. 6", "art6", 5);
      return d;
    }
    list_route = list.route;
    d.triggers.push_back({5, "free-trade-zone negative list",
                          "listed data requires " + std::string(RouteName(list.route))});
    if (!handler.settings.ftz_listed_also_national) {
      d.reasons.push_back(
          "(5) the data is on the zone's negative list: " + std::string(RouteName(list.route)) +
          " (setting ftz_listed_also_national = false: national thresholds "
          "not applied)");
      Finish(&d, list.route, "Art. 6 (negative list)", "", 5);
      return d;
    }
    d.reasons.push_back("(5) the data is on the zone's negative list (" +
                        std::string(RouteName(list.route)) +
                        "); the national thresholds of rule (6) also apply, the stricter wins");
  } else {
    d.reasons.push_back("(5) no free-trade-zone negative list applies to this handler");
  }

  // (6) Non-CIIO cumulative counters since 1 January, including this transfer.
  std::string counts = "since 1 January including this transfer (" + prior.source + ")";
  Route national = Route::kExempt;
  std::string article;
  if (carries_sensitive && d.cumulative_sensitive >= kAssessmentSensitive) {
    national = Route::kSecurityAssessment;
    article = "Art. 7(2)";
    d.reasons.push_back("(6) sensitive personal information of " + Num(d.cumulative_sensitive) +
                        " people " + counts + " >= 10,000: security assessment");
    d.triggers.push_back(
        {6, "sensitive personal information", Num(d.cumulative_sensitive) + " people >= 10,000"});
  }
  if (carries_pi && d.cumulative_people >= kAssessmentPeople) {
    national = Route::kSecurityAssessment;
    article = "Art. 7(2)";
    d.reasons.push_back("(6) personal information of " + Num(d.cumulative_people) + " people " +
                        counts + " >= 1,000,000: security assessment");
    d.triggers.push_back(
        {6, "personal information", Num(d.cumulative_people) + " people >= 1,000,000"});
  }
  if (national == Route::kExempt) {
    if (carries_sensitive) {
      national = Route::kStandardContract;
      article = "Art. 8";
      d.reasons.push_back("(6) sensitive personal information of " + Num(d.cumulative_sensitive) +
                          " people " + counts +
                          " (1 to 9,999): standard contract or certification");
      d.triggers.push_back({6, "sensitive personal information",
                            Num(d.cumulative_sensitive) + " people, fewer than 10,000"});
    }
    if (carries_pi && d.cumulative_people >= kContractPeople) {
      national = Route::kStandardContract;
      article = "Art. 8";
      d.reasons.push_back("(6) personal information of " + Num(d.cumulative_people) + " people " +
                          counts + " (100,000 to 999,999): standard contract or certification");
      d.triggers.push_back({6, "personal information",
                            Num(d.cumulative_people) + " people >= 100,000 and < 1,000,000"});
    }
  }
  if (national == Route::kExempt) {
    d.reasons.push_back("(6) Art. 5(4): non-sensitive personal information of " +
                        Num(d.cumulative_people) + " people " + counts +
                        " (fewer than 100,000) and no sensitive personal information: " +
                        (list_route == Route::kExempt
                             ? "exempt"
                             : "the national rules alone would exempt it"));
    if (list_route == Route::kExempt) {
      d.triggers.push_back({6, "personal information",
                            Num(d.cumulative_people) + " people < 100,000, none sensitive"});
      Finish(&d, Route::kExempt, "Art. 5(4)", "art5_4", 6);
      return d;
    }
  }
  if (list_route > national) {
    d.reasons.push_back("the negative list's " + std::string(RouteName(list_route)) +
                        " is stricter than the national " + std::string(RouteName(national)));
    Finish(&d, list_route, "Art. 6 (negative list)", "", 5);
    return d;
  }
  Finish(&d, national, article, "", 6);
  return d;
}

}  // namespace kexin::outbound
