// Parse: ODRL JSON-LD in any of the accepted notations -> normal form (docs/policies.md).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/policy.h"
#include "policy/restriction.h"
#include "policy/vocabulary.h"

namespace kexin::policy {
namespace {

using internal::IsClosedSet;
using nlohmann::json;

constexpr std::string_view kOdrlIri = "http://www.w3.org/ns/odrl/2/";

std::string PointerToken(std::string_view key) {
  std::string out;
  for (char ch : key) {
    if (ch == '~')
      out += "~0";
    else if (ch == '/')
      out += "~1";
    else
      out.push_back(ch);
  }
  return out;
}

Status Err(const std::string& ptr, const std::string& msg) {
  return InvalidArgument((ptr.empty() ? std::string("/") : ptr) + ": " + msg);
}

// "odrl:eq" / "http://www.w3.org/ns/odrl/2/eq" / "eq" -> "eq"; kexin terms -> "kexin:term".
std::string Term(std::string_view t) {
  auto starts = [&](std::string_view p) { return t.substr(0, p.size()) == p; };
  if (starts("odrl:")) return std::string(t.substr(5));
  if (starts(kOdrlIri)) return std::string(t.substr(kOdrlIri.size()));
  if (starts(kKexinNamespace)) return "kexin:" + std::string(t.substr(kKexinNamespace.size()));
  return std::string(t);
}

// A member of an object under its normalized key, with the key as written (for pointers).
struct Member {
  std::string key;
  const json* value;
};

Result<std::map<std::string, Member>> Members(const json& obj, const std::string& ptr) {
  std::map<std::string, Member> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    std::string norm = it.key()[0] == '@' ? it.key() : Term(it.key());
    if (norm == "uid") norm = "@id";
    if (out.count(norm))
      return Err(ptr + "/" + PointerToken(it.key()),
                 "duplicate member: '" + out[norm].key + "' and '" + it.key() + "' mean the same");
    out[norm] = Member{it.key(), &it.value()};
  }
  return out;
}

// A term-valued member: "eq", {"@id":"odrl:eq"}, or a one-element list of either.
Result<std::string> TermValue(const json& v, const std::string& ptr, std::string_view what) {
  const json* x = &v;
  if (x->is_array() && x->size() == 1) x = &(*x)[0];
  if (x->is_object() && x->contains("@id") && x->size() == 1) x = &(*x)["@id"];
  if (!x->is_string() || x->get<std::string>().empty())
    return Err(ptr, std::string(what) + " must be a non-empty string");
  return Term(x->get<std::string>());
}

// The right operand's values with their pointers: a list gives several, anything else one.
struct Value {
  const json* v;
  std::string ptr;
};

Result<std::vector<Value>> Values(const json& v, const std::string& ptr) {
  std::vector<Value> out;
  const json* list = nullptr;
  std::string lptr = ptr;
  if (v.is_array()) {
    list = &v;
  } else if (v.is_object() && (v.contains("@list") || v.contains("@set"))) {
    const char* k = v.contains("@list") ? "@list" : "@set";
    list = &v[k];
    lptr += std::string("/") + k;
    if (!list->is_array()) return Err(lptr, "must be an array");
  }
  if (list == nullptr) {
    out.push_back({&v, ptr});
  } else {
    for (size_t i = 0; i < list->size(); ++i)
      out.push_back({&(*list)[i], lptr + "/" + std::to_string(i)});
  }
  if (out.empty()) return Err(ptr, "empty list");
  for (auto& val : out) {  // unwrap typed literals and IRI references
    if (val.v->is_object()) {
      if (val.v->contains("@value")) {
        val.ptr += "/@value";
        val.v = &(*val.v)["@value"];
      } else if (val.v->contains("@id") && val.v->size() == 1) {
        val.ptr += "/@id";
        val.v = &(*val.v)["@id"];
      } else {
        return Err(val.ptr, "expected a value, a typed literal {\"@value\":...} or {\"@id\":...}");
      }
    }
    if (!val.v->is_string() && !val.v->is_number())
      return Err(val.ptr, "expected a string or a number, got " + std::string(val.v->type_name()));
  }
  return out;
}

Result<int64_t> IntValue(const Value& v) {
  if (v.v->is_number_integer()) return v.v->get<int64_t>();
  if (v.v->is_number_float()) {
    double d = v.v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  } else if (v.v->is_string()) {
    const std::string& s = v.v->get_ref<const std::string&>();
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0 && !std::isspace(s[0]))
      return static_cast<int64_t>(x);
  }
  return Err(v.ptr, "'" + (v.v->is_string() ? v.v->get<std::string>() : v.v->dump()) +
                        "' is not an integer");
}

Result<double> RealValue(const Value& v) {
  double d = 0;
  if (v.v->is_number()) {
    d = v.v->get<double>();
  } else {
    const std::string& s = v.v->get_ref<const std::string&>();
    char* end = nullptr;
    d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || std::isspace(s[0]))
      return Err(v.ptr, "'" + s + "' is not a number");
  }
  if (!std::isfinite(d)) return Err(v.ptr, "not a finite number");
  return d;
}

Result<std::string> StringValue(const Value& v) {
  if (!v.v->is_string() || v.v->get<std::string>().empty())
    return Err(v.ptr, "expected a non-empty string, got " + v.v->dump());
  return v.v->get<std::string>();
}

struct OperandInfo {
  std::string canonical;
  enum Type { kPurpose, kMode, kRegion, kOpenSet, kInt, kTime, kReal } type;
};

std::optional<OperandInfo> LookupOperand(const std::string& t) {
  static const std::map<std::string, OperandInfo> kOps = {
      {"purpose", {"purpose", OperandInfo::kPurpose}},
      {"dateTime", {"dateTime", OperandInfo::kTime}},
      {"count", {"count", OperandInfo::kInt}},
      {"spatial", {"spatial", OperandInfo::kRegion}},
      {"kexin:destination", {"spatial", OperandInfo::kRegion}},
      {"kexin:computeMode", {"kexin:computeMode", OperandInfo::kMode}},
      {"kexin:allowedFields", {"kexin:allowedFields", OperandInfo::kOpenSet}},
      {"kexin:minGroupSize", {"kexin:minGroupSize", OperandInfo::kInt}},
      {"kexin:dpEpsilon", {"kexin:dpEpsilon", OperandInfo::kReal}},
      {"kexin:consumer", {"kexin:consumer", OperandInfo::kOpenSet}},
  };
  auto it = kOps.find(t);
  if (it == kOps.end()) it = kOps.find("kexin:" + t);  // bare kexin terms, e.g. "computeMode"
  if (it == kOps.end()) return std::nullopt;
  return it->second;
}

std::string KexinTerm(const std::string& s) {
  std::string t = Term(s);
  return t.substr(0, 6) == "kexin:" ? t.substr(6) : t;
}

// One atomic constraint -> restriction.
Result<Constraint> Atomic(const json& obj, const std::string& ptr) {
  KEXIN_ASSIGN_OR_RETURN(auto m, Members(obj, ptr));
  for (const auto& [k, mem] : m) {
    if (k != "leftOperand" && k != "operator" && k != "rightOperand" && k != "@type" &&
        k != "@id" && k != "dataType" && k != "unit")
      return Err(ptr + "/" + PointerToken(mem.key),
                 k == "rightOperandReference" ? "rightOperandReference is not supported"
                                              : "unknown member '" + mem.key + "' in a constraint");
  }
  for (const char* k : {"leftOperand", "operator", "rightOperand"})
    if (!m.count(k)) return Err(ptr, std::string("missing ") + k);
  std::string lp = ptr + "/" + PointerToken(m["leftOperand"].key);
  std::string op_ptr = ptr + "/" + PointerToken(m["operator"].key);
  std::string rp = ptr + "/" + PointerToken(m["rightOperand"].key);
  KEXIN_ASSIGN_OR_RETURN(std::string left, TermValue(*m["leftOperand"].value, lp, "leftOperand"));
  auto info = LookupOperand(left);
  if (!info)
    return Err(lp, "unknown left operand '" + left +
                       "' (supported: purpose, dateTime, count, spatial, kexin:destination, "
                       "kexin:computeMode, kexin:allowedFields, kexin:minGroupSize, "
                       "kexin:dpEpsilon, kexin:consumer)");
  KEXIN_ASSIGN_OR_RETURN(std::string op, TermValue(*m["operator"].value, op_ptr, "operator"));
  static const std::set<std::string> kKnownOps = {"eq",      "neq",     "lt",      "lteq",
                                                  "gt",      "gteq",    "isA",     "isPartOf",
                                                  "hasPart", "isAnyOf", "isAllOf", "isNoneOf"};
  if (!kKnownOps.count(op)) return Err(op_ptr, "unknown operator '" + op + "'");
  KEXIN_ASSIGN_OR_RETURN(auto vals, Values(*m["rightOperand"].value, rp));

  Constraint c;
  c.left = info->canonical;
  auto unsupported = [&]() {
    return Err(op_ptr, "operator '" + op + "' is not supported for " + c.left +
                           " (docs/policies.md#operators)");
  };
  auto single = [&]() -> Status {
    if (vals.size() != 1)
      return Err(rp, "operator '" + op + "' takes one value, got " + std::to_string(vals.size()) +
                         " (use isAnyOf for a list)");
    return Status::Ok();
  };
  switch (info->type) {
    case OperandInfo::kPurpose:
    case OperandInfo::kMode: {
      const bool purpose = info->type == OperandInfo::kPurpose;
      const std::vector<std::string>& vocab = purpose ? PurposeTerms() : ComputeModes();
      std::vector<std::string> terms;
      for (const auto& v : vals) {
        KEXIN_ASSIGN_OR_RETURN(std::string s, StringValue(v));
        std::string t = KexinTerm(s);
        if (std::find(vocab.begin(), vocab.end(), t) == vocab.end()) {
          std::string all;
          for (const auto& x : vocab) all += (all.empty() ? "" : ", ") + x;
          return Err(v.ptr, "unknown " + std::string(purpose ? "purpose" : "compute mode") + " '" +
                                s + "' (known: " + all + ")");
        }
        terms.push_back(t);
      }
      std::set<std::string> set;
      if (op == "eq" || op == "neq" || op == "isA" || op == "lt" || op == "lteq" || op == "gt" ||
          op == "gteq")
        KEXIN_RETURN_IF_ERROR(single());
      if (op == "eq" || op == "isAnyOf") {
        set.insert(terms.begin(), terms.end());
      } else if (op == "isA" && purpose) {
        set = internal::PurposeSubtree(terms[0]);
      } else if (op == "neq" || op == "isNoneOf") {
        set.insert(vocab.begin(), vocab.end());
        for (const auto& t : terms) set.erase(t);
      } else if (!purpose && (op == "lt" || op == "lteq" || op == "gt" || op == "gteq")) {
        size_t rank = *internal::ComputeModeRank(terms[0]);
        for (size_t i = 0; i < vocab.size(); ++i) {
          bool ok = op == "lt"     ? i < rank
                    : op == "lteq" ? i <= rank
                    : op == "gt"   ? i > rank
                                   : i >= rank;
          if (ok) set.insert(vocab[i]);
        }
      } else {
        return unsupported();
      }
      c.kind = Constraint::Kind::kSet;
      c.allow = set;
      break;
    }
    case OperandInfo::kRegion:
    case OperandInfo::kOpenSet: {
      std::set<std::string> set;
      for (const auto& v : vals) {
        KEXIN_ASSIGN_OR_RETURN(std::string s, StringValue(v));
        if (info->type == OperandInfo::kRegion) {
          auto r = internal::NormalizeRegion(s);
          if (!r)
            return Err(v.ptr, "'" + s +
                                  "' is not a region: use an ISO 3166-1 alpha-2 code (CN, DE), "
                                  "an ISO 3166-2:CN code (CN-BJ) or a province-level GB/T 2260 "
                                  "code (110000)");
          s = *r;
        }
        set.insert(s);
      }
      c.kind = Constraint::Kind::kSet;
      bool region = info->type == OperandInfo::kRegion;
      if (op == "eq" || op == "neq") KEXIN_RETURN_IF_ERROR(single());
      if (op == "eq" || op == "isAnyOf" ||
          (op == "isPartOf" && (region || c.left == "kexin:allowedFields")) ||
          (op == "isA" && region)) {
        c.allow = set;
      } else if (op == "neq" || op == "isNoneOf") {
        c.allow_all = true;
        c.deny = set;
      } else {
        return unsupported();
      }
      internal::Simplify(&c);
      break;
    }
    case OperandInfo::kInt:
    case OperandInfo::kTime:
    case OperandInfo::kReal: {
      if (op != "eq" && op != "lt" && op != "lteq" && op != "gt" && op != "gteq")
        return unsupported();
      KEXIN_RETURN_IF_ERROR(single());
      if (info->type == OperandInfo::kReal) {
        KEXIN_ASSIGN_OR_RETURN(double d, RealValue(vals[0]));
        c.kind = Constraint::Kind::kRealRange;
        if (op == "eq" || op == "gt" || op == "gteq")
          c.has_rlo = true, c.rlo = d, c.rlo_incl = op != "gt";
        if (op == "eq" || op == "lt" || op == "lteq")
          c.has_rhi = true, c.rhi = d, c.rhi_incl = op != "lt";
        break;
      }
      int64_t x;
      if (info->type == OperandInfo::kTime) {
        KEXIN_ASSIGN_OR_RETURN(std::string s, StringValue(vals[0]));
        auto t = ParseDateTime(s);
        if (!t.ok()) return Err(vals[0].ptr, t.status().message());
        x = *t;
      } else {
        KEXIN_ASSIGN_OR_RETURN(x, IntValue(vals[0]));
        if (x < 0) return Err(vals[0].ptr, "must not be negative");
      }
      c.kind = Constraint::Kind::kIntRange;
      if (op == "gt" && x == INT64_MAX)
        return Err(ptr, "no value of " + c.left + " satisfies this constraint");
      if (op == "eq") c.lo = c.hi = x;
      if (op == "gteq") c.lo = x;
      if (op == "gt") c.lo = x + 1;
      if (op == "lteq") c.hi = x;
      if (op == "lt") c.hi = x - 1;
      if (info->type == OperandInfo::kInt) c.lo = std::max<int64_t>(c.lo, 0);  // counts and sizes
      break;
    }
  }
  if (internal::IsEmpty(c)) return Err(ptr, "no value of " + c.left + " satisfies this constraint");
  return c;
}

// Logical constraints nest at most this deep (a hostile body must not exhaust the stack).
constexpr int kMaxDepth = 16;

// Collects the restrictions of one constraint (atomic or logical) into `out`, ANDed.
Status Collect(const json& v, const std::string& ptr, std::map<std::string, Constraint>* out,
               int depth = 0);

Status AndInto(Constraint c, const std::string& ptr, std::map<std::string, Constraint>* out) {
  auto it = out->find(c.left);
  if (it == out->end()) {
    (*out)[c.left] = std::move(c);
    return Status::Ok();
  }
  auto r = internal::Intersect(it->second, c);
  if (!r.ok()) return Err(ptr, r.status().message());
  it->second = *r;
  return Status::Ok();
}

Status Collect(const json& v, const std::string& ptr, std::map<std::string, Constraint>* out,
               int depth) {
  if (!v.is_object()) return Err(ptr, "a constraint must be an object");
  if (depth > kMaxDepth)
    return Err(ptr, "logical constraints nested more than " + std::to_string(kMaxDepth) + " deep");
  KEXIN_ASSIGN_OR_RETURN(auto m, Members(v, ptr));
  std::string logical;
  for (const char* k : {"and", "andSequence", "or", "xone"})
    if (m.count(k)) {
      if (!logical.empty()) return Err(ptr, "more than one logical operator");
      logical = k;
    }
  if (logical.empty()) {
    KEXIN_ASSIGN_OR_RETURN(Constraint c, Atomic(v, ptr));
    return AndInto(std::move(c), ptr, out);
  }
  for (const auto& [k, mem] : m)
    if (k != logical && k != "@type" && k != "@id")
      return Err(ptr + "/" + PointerToken(mem.key), "unexpected member beside '" + logical + "'");
  std::string lp = ptr + "/" + PointerToken(m[logical].key);
  const json& list = *m[logical].value;
  std::vector<std::pair<const json*, std::string>> members;
  if (list.is_array()) {
    for (size_t i = 0; i < list.size(); ++i)
      members.push_back({&list[i], lp + "/" + std::to_string(i)});
  } else if (list.is_object() && (list.contains("@list") || list.contains("@set"))) {
    const char* k = list.contains("@list") ? "@list" : "@set";
    for (size_t i = 0; i < list[k].size(); ++i)
      members.push_back({&list[k][i], lp + "/" + k + "/" + std::to_string(i)});
  } else {
    members.push_back({&list, lp});
  }
  if (members.empty()) return Err(lp, "empty list of constraints");
  if (logical == "and" || logical == "andSequence") {
    for (const auto& [item, p] : members) KEXIN_RETURN_IF_ERROR(Collect(*item, p, out, depth + 1));
    return Status::Ok();
  }
  if (logical == "xone") return Err(lp, "'xone' is not supported; use 'or' over one left operand");
  // or: every member restricts the same single left operand; the union must be one restriction.
  std::optional<Constraint> joined;
  for (const auto& [item, p] : members) {
    std::map<std::string, Constraint> one;
    KEXIN_RETURN_IF_ERROR(Collect(*item, p, &one, depth + 1));
    if (one.size() != 1 || (joined && one.begin()->first != joined->left))
      return Err(p, "'or' is supported only between constraints on one left operand");
    if (!joined) {
      joined = one.begin()->second;
    } else {
      auto j = internal::Join(*joined, one.begin()->second);
      if (!j.ok()) return Err(lp, j.status().message());
      joined = *j;
    }
  }
  return AndInto(*joined, ptr, out);
}

Result<std::vector<Rule>> Rules(const Member& mem, const std::string& ptr) {
  std::vector<Rule> rules;
  const json& v = *mem.value;
  std::vector<std::pair<const json*, std::string>> items;
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) items.push_back({&v[i], ptr + "/" + std::to_string(i)});
  } else if (v.is_object()) {
    items.push_back({&v, ptr});
  } else {
    return Err(ptr, "must be an object or an array of rules");
  }
  for (const auto& [item, p] : items) {
    if (!item->is_object()) return Err(p, "a rule must be an object");
    KEXIN_ASSIGN_OR_RETURN(auto m, Members(*item, p));
    Rule r;
    for (const auto& [k, rm] : m) {
      std::string kp = p + "/" + PointerToken(rm.key);
      if (k == "action") {
        const json* a = rm.value;
        if (a->is_object() && !a->contains("@id"))
          return Err(kp, "actions with refinements are not supported");
        KEXIN_ASSIGN_OR_RETURN(std::string act, TermValue(*a, kp, "action"));
        if (!internal::IsAction(act))
          return Err(kp, "unknown action '" + act +
                             "' (supported: use, read, aggregate, anonymize, derive, distribute, "
                             "reproduce, transfer)");
        r.action = act;
      } else if (k == "constraint") {
        std::map<std::string, Constraint> acc;
        if (rm.value->is_array()) {
          for (size_t i = 0; i < rm.value->size(); ++i)
            KEXIN_RETURN_IF_ERROR(Collect((*rm.value)[i], kp + "/" + std::to_string(i), &acc));
        } else {
          KEXIN_RETURN_IF_ERROR(Collect(*rm.value, kp, &acc));
        }
        for (auto& [left, c] : acc)
          if (!internal::IsVacuous(c)) r.constraints.push_back(std::move(c));
      } else if (k == "@type" || k == "@id") {
        continue;
      } else if (k == "duty" || k == "remedy" || k == "consequence") {
        return Err(kp, "'" + k + "' is not supported by kexin policies");
      } else {
        return Err(kp, "unknown member '" + rm.key + "' in a rule");
      }
    }
    if (r.action.empty()) return Err(p, "missing action");
    rules.push_back(std::move(r));
  }
  // Canonical order, duplicates removed (rules are a set).
  std::vector<std::pair<std::string, Rule>> keyed;
  for (auto& r : rules) keyed.push_back({NormalForm(Policy{.permissions = {r}}).dump(), r});
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  rules.clear();
  for (size_t i = 0; i < keyed.size(); ++i)
    if (i == 0 || keyed[i].first != keyed[i - 1].first) rules.push_back(std::move(keyed[i].second));
  return rules;
}

}  // namespace

Result<Policy> Parse(const json& odrl) {
  if (!odrl.is_object()) return Err("", "a policy must be a JSON object");
  KEXIN_ASSIGN_OR_RETURN(auto m, Members(odrl, ""));
  Policy p;
  p.type = "Set";
  for (const auto& [k, mem] : m) {
    std::string kp = "/" + PointerToken(mem.key);
    if (k == "@context" || k == "profile") continue;
    if (k == "timestamp" || k == "dspace:timestamp") {  // DSP agreements: when it was agreed
      if (!mem.value->is_string() && !mem.value->is_object())
        return Err(kp, "timestamp must be a date-time string");
      continue;
    }
    if (k == "@id" || k == "target" || k == "assigner" || k == "assignee") {
      const json* v = mem.value;
      if (v->is_object() && v->size() == 1 && v->contains("@id")) v = &(*v)["@id"];
      if (!v->is_string() || v->get<std::string>().empty())
        return Err(kp, k + " must be a non-empty string");
      (k == "@id"        ? p.id
       : k == "target"   ? p.target
       : k == "assigner" ? p.assigner
                         : p.assignee) = v->get<std::string>();
    } else if (k == "@type") {
      KEXIN_ASSIGN_OR_RETURN(std::string t, TermValue(*mem.value, kp, "@type"));
      if (t != "Offer" && t != "Agreement" && t != "Set" && t != "Policy")
        return Err(kp, "unknown policy type '" + t + "' (Offer, Agreement, Set or Policy)");
      p.type = t;
    } else if (k == "permission") {
      KEXIN_ASSIGN_OR_RETURN(p.permissions, Rules(mem, kp));
    } else if (k == "prohibition") {
      KEXIN_ASSIGN_OR_RETURN(p.prohibitions, Rules(mem, kp));
    } else if (k == "obligation") {
      return Err(kp, "obligations are not supported by kexin policies");
    } else {
      return Err(kp, "unknown member '" + mem.key + "' in a policy");
    }
  }
  if (p.permissions.empty())
    return Err(m.count("permission") ? "/" + PointerToken(m["permission"].key) : "",
               "a policy needs at least one permission");
  return p;
}

}  // namespace kexin::policy
