// Policy -> canonical JSON-LD, normal form, fingerprint and comparison (docs/policies.md).
#include <map>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "json/canonical.h"
#include "policy/policy.h"
#include "policy/restriction.h"

namespace kexin::policy {
namespace {

using nlohmann::json;

json Typed(const std::string& value, const char* type) {
  return json{{"@value", value}, {"@type", type}};
}

json Atom(const std::string& left, const char* op, json right) {
  return json{{"leftOperand", left}, {"operator", op}, {"rightOperand", std::move(right)}};
}

json SetValue(const std::set<std::string>& s) {
  if (s.size() == 1) return *s.begin();
  return json(std::vector<std::string>(s.begin(), s.end()));
}

// The canonical atomic constraints of one normalized restriction.
std::vector<json> Emit(const Constraint& c) {
  std::vector<json> out;
  switch (c.kind) {
    case Constraint::Kind::kSet:
      if (!c.allow_all)
        out.push_back(Atom(c.left, c.allow.size() == 1 ? "eq" : "isAnyOf", SetValue(c.allow)));
      if (!c.deny.empty())
        out.push_back(Atom(c.left, c.deny.size() == 1 ? "neq" : "isNoneOf", SetValue(c.deny)));
      break;
    case Constraint::Kind::kIntRange: {
      const bool time = c.left == "dateTime";
      auto val = [&](int64_t v) {
        return time ? Typed(FormatDateTime(v), "xsd:dateTime")
                    : Typed(std::to_string(v), "xsd:integer");
      };
      if (c.lo == c.hi) {
        out.push_back(Atom(c.left, "eq", val(c.lo)));
        break;
      }
      // Counts and sizes are never negative: a lower bound of 0 says nothing.
      if (c.lo != INT64_MIN && (time || c.lo > 0)) out.push_back(Atom(c.left, "gteq", val(c.lo)));
      if (c.hi != INT64_MAX) {
        // A validity window reads best as [start, end): "lt" the first excluded instant.
        if (time)
          out.push_back(Atom(c.left, "lt", val(c.hi + 1)));
        else
          out.push_back(Atom(c.left, "lteq", val(c.hi)));
      }
      break;
    }
    case Constraint::Kind::kRealRange: {
      auto val = [](double d) { return Typed(::kexin::json::FormatNumber(d), "xsd:decimal"); };
      if (c.has_rlo && c.has_rhi && c.rlo == c.rhi) {
        out.push_back(Atom(c.left, "eq", val(c.rlo)));
        break;
      }
      if (c.has_rlo) out.push_back(Atom(c.left, c.rlo_incl ? "gteq" : "gt", val(c.rlo)));
      if (c.has_rhi) out.push_back(Atom(c.left, c.rhi_incl ? "lteq" : "lt", val(c.rhi)));
      break;
    }
  }
  return out;
}

json RuleJson(const Rule& r) {
  json j = {{"action", r.action}};
  json cs = json::array();
  for (const auto& c : r.constraints)
    for (auto& a : Emit(c)) cs.push_back(std::move(a));
  if (!cs.empty()) j["constraint"] = std::move(cs);
  return j;
}

json RulesJson(const std::vector<Rule>& rules) {
  json a = json::array();
  for (const auto& r : rules) a.push_back(RuleJson(r));
  return a;
}

std::string Show(const Constraint& c) {
  json a = json::array();
  for (auto& x : Emit(c)) a.push_back({x["operator"], x["rightOperand"]});
  return a.dump();
}

std::string RulesDifference(const std::string& name, const std::vector<Rule>& a,
                            const std::vector<Rule>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    std::string p = "/" + name + "/" + std::to_string(i);
    if (a[i].action != b[i].action) return p + "/action: " + a[i].action + " vs " + b[i].action;
    std::map<std::string, const Constraint*> ma, mb;
    for (const auto& c : a[i].constraints) ma[c.left] = &c;
    for (const auto& c : b[i].constraints) mb[c.left] = &c;
    for (const auto& [left, c] : ma) {
      auto it = mb.find(left);
      if (it == mb.end()) return p + "/constraint/" + left + ": " + Show(*c) + " vs (none)";
      if (Show(*c) != Show(*it->second))
        return p + "/constraint/" + left + ": " + Show(*c) + " vs " + Show(*it->second);
    }
    for (const auto& [left, c] : mb)
      if (!ma.count(left)) return p + "/constraint/" + left + ": (none) vs " + Show(*c);
  }
  if (a.size() != b.size())
    return "/" + name + ": " + std::to_string(a.size()) + " rule(s) vs " + std::to_string(b.size());
  return "";
}

}  // namespace

json NormalForm(const Policy& p) {
  json j = {{"permission", RulesJson(p.permissions)}};
  if (!p.prohibitions.empty()) j["prohibition"] = RulesJson(p.prohibitions);
  return j;
}

json ToJsonLd(const Policy& p) {
  json j = NormalForm(p);
  j["@context"] = json::array({kDspContext, kKexinContext});
  if (!p.id.empty()) j["@id"] = p.id;
  j["@type"] = p.type.empty() ? "Set" : p.type;
  if (!p.target.empty()) j["target"] = p.target;
  if (!p.assigner.empty()) j["assigner"] = p.assigner;
  if (!p.assignee.empty()) j["assignee"] = p.assignee;
  return j;
}

bool Equivalent(const Policy& a, const Policy& b) { return NormalForm(a) == NormalForm(b); }

std::string Fingerprint(const Policy& p) {
  auto canon = ::kexin::json::Canonicalize(NormalForm(p));
  // NormalForm holds only strings (numbers are typed literals), so canonicalization cannot fail.
  return crypto::HexEncode(crypto::Sha256(canon.ok() ? *canon : NormalForm(p).dump()));
}

std::string FirstDifference(const Policy& a, const Policy& b) {
  std::string d = RulesDifference("permission", a.permissions, b.permissions);
  if (d.empty()) d = RulesDifference("prohibition", a.prohibitions, b.prohibitions);
  return d;
}

}  // namespace kexin::policy
