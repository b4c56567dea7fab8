// Evaluate: does a policy permit a use described by a Context (docs/policies.md#evaluation)?
#include <chrono>
#include <string>

#include "json/canonical.h"
#include "policy/policy.h"
#include "policy/restriction.h"
#include "policy/vocabulary.h"

namespace kexin::policy {
namespace {

struct Check {
  bool ok;
  bool unset;  // the context has no value for this operand
  std::string reason;
};

Check Pass() { return {true, false, ""}; }
Check Fail(std::string reason) { return {false, false, std::move(reason)}; }
Check Unset(const std::string& what) { return {false, true, "the request declares no " + what}; }

bool SetAllows(const Constraint& c, const std::string& v) {
  auto within = [&](const std::string& area) {
    return internal::IsRegional(c.left) ? internal::RegionWithin(v, area) : v == area;
  };
  for (const auto& d : c.deny)
    if (within(d)) return false;
  if (c.allow_all) return true;
  for (const auto& a : c.allow)
    if (within(a)) return true;
  return false;
}

std::string Describe(const Constraint& c) {
  nlohmann::json p = ToJsonLd(Policy{.permissions = {Rule{"use", {c}}}});
  std::string out;
  for (const auto& a : p["permission"][0]["constraint"]) {
    if (!out.empty()) out += " and ";
    const auto& r = a["rightOperand"];
    out += a["operator"].get<std::string>() + " " +
           (r.is_object() ? r["@value"].get<std::string>() : r.dump());
  }
  return out;
}

Check Int(const Constraint& c, int64_t v, const std::string& what, const std::string& shown) {
  if (v >= c.lo && v <= c.hi) return Pass();
  return Fail(what + " " + shown + " is outside the allowed range (" + Describe(c) + ")");
}

Check Real(const Constraint& c, double v) {
  bool ok = (!c.has_rlo || v > c.rlo || (c.rlo_incl && v == c.rlo)) &&
            (!c.has_rhi || v < c.rhi || (c.rhi_incl && v == c.rhi));
  if (ok) return Pass();
  return Fail("epsilon " + ::kexin::json::FormatNumber(v) + " is outside the allowed range (" +
              Describe(c) + ")");
}

Check One(const Constraint& c, const Context& x) {
  const std::string& l = c.left;
  if (l == "purpose") {
    if (x.purpose.empty()) return Unset("purpose");
    if (SetAllows(c, x.purpose)) return Pass();
    return Fail("purpose '" + x.purpose + "' is not allowed (" + Describe(c) + ")");
  }
  if (l == "kexin:computeMode") {
    if (x.compute_mode.empty()) return Unset("compute mode");
    if (SetAllows(c, x.compute_mode)) return Pass();
    return Fail("compute mode '" + x.compute_mode + "' is not allowed (" + Describe(c) + ")");
  }
  if (l == "spatial") {
    if (x.destination.empty()) return Unset("destination");
    auto r = internal::NormalizeRegion(x.destination);
    if (!r) return Fail("destination '" + x.destination + "' is not a region code");
    if (SetAllows(c, *r)) return Pass();
    return Fail("destination " + *r + " is not allowed (" + Describe(c) + ")");
  }
  if (l == "kexin:consumer") {
    if (x.consumer.empty() && x.consumer_key.empty()) return Unset("consumer");
    bool ok = (!x.consumer.empty() && SetAllows(c, x.consumer)) ||
              (!x.consumer_key.empty() && SetAllows(c, x.consumer_key));
    // A denial by name or key wins over an allowance by the other.
    for (const auto& d : c.deny)
      if (d == x.consumer || d == x.consumer_key) ok = false;
    if (ok) return Pass();
    return Fail("consumer '" + (x.consumer.empty() ? x.consumer_key : x.consumer) +
                "' is not allowed");
  }
  if (l == "kexin:allowedFields") {
    if (x.fields.empty()) return Unset("fields");
    for (const auto& f : x.fields)
      if (!SetAllows(c, f)) return Fail("field '" + f + "' is not allowed (" + Describe(c) + ")");
    return Pass();
  }
  if (l == "count") {
    if (x.use_count < 0) return Unset("use count");
    return Int(c, x.use_count, "use", std::to_string(x.use_count));
  }
  if (l == "kexin:minGroupSize") {
    if (x.group_size < 0) return Unset("group size");
    return Int(c, x.group_size, "group size", std::to_string(x.group_size));
  }
  if (l == "kexin:dpEpsilon") {
    if (x.epsilon < 0) return Unset("epsilon");
    return Real(c, x.epsilon);
  }
  if (l == "dateTime") {
    int64_t now;
    std::string shown = x.now;
    if (x.now.empty()) {
      now = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
      shown = FormatDateTime(now);
    } else {
      auto t = ParseDateTime(x.now);
      if (!t.ok()) return Fail("now: " + t.status().message());
      now = *t;
    }
    if (now >= c.lo && now <= c.hi) return Pass();
    return Fail("time " + shown + " is outside the validity window (" + Describe(c) + ")");
  }
  return Fail("unknown left operand " + l);
}

// The first constraint of `r` the context fails, or nullopt when all hold.
std::optional<std::pair<std::string, std::string>> FirstFailure(const Rule& r, const Context& x) {
  if (!internal::ActionCovers(r.action, x.action))
    return std::make_pair(
        std::string("action"),
        "action '" + x.action + "' is not granted (rule grants '" + r.action + "')");
  for (const auto& c : r.constraints) {
    Check k = One(c, x);
    if (k.ok || (k.unset && x.skip_unset)) continue;
    return std::make_pair(c.left, k.reason);
  }
  return std::nullopt;
}

}  // namespace

Decision Evaluate(const Policy& p, const Context& c) {
  for (const auto& r : p.prohibitions) {
    // A prohibition applies when its action covers the request and all its constraints hold.
    if (!internal::ActionCovers(r.action, c.action)) continue;
    bool applies = true;
    std::string last;
    for (const auto& k : r.constraints) {
      Check ch = One(k, c);
      if (!ch.ok) applies = false;
      last = k.left;
    }
    if (applies)
      return Decision{false, last.empty() ? "action" : last,
                      "prohibited: a prohibition on '" + r.action + "' applies"};
  }
  Decision best{false, "", ""};
  for (const auto& r : p.permissions) {
    auto f = FirstFailure(r, c);
    if (!f) return Decision{true, "", "permitted"};
    // Report a permission whose action matches before one that grants another action.
    if (best.constraint.empty() || (best.constraint == "action" && f->first != "action"))
      best = Decision{false, f->first, f->second};
  }
  if (best.constraint.empty()) best = Decision{false, "permission", "the policy grants nothing"};
  if (p.permissions.size() > 1)
    best.reason += " (first of " + std::to_string(p.permissions.size()) + " permissions)";
  return best;
}

}  // namespace kexin::policy
