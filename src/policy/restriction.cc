#include "policy/restriction.h"

#include <algorithm>
#include <set>
#include <string>

#include "policy/vocabulary.h"

namespace kexin::policy::internal {
namespace {

using Set = std::set<std::string>;

bool Within(const Constraint& c, const std::string& v, const std::string& area) {
  return IsRegional(c.left) ? RegionWithin(v, area) : v == area;
}

bool CoveredBy(const Constraint& c, const std::string& v, const Set& s) {
  return std::any_of(s.begin(), s.end(), [&](const std::string& a) { return Within(c, v, a); });
}

// Elements of a that lie within some element of b.
Set WithinAny(const Constraint& c, const Set& a, const Set& b) {
  Set out;
  for (const auto& v : a)
    if (CoveredBy(c, v, b)) out.insert(v);
  return out;
}

// Drops elements that lie within another element of the set.
Set Minimal(const Constraint& c, const Set& s) {
  Set out;
  for (const auto& v : s) {
    bool inner = std::any_of(s.begin(), s.end(),
                             [&](const std::string& a) { return a != v && Within(c, v, a); });
    if (!inner) out.insert(v);
  }
  return out;
}

// Real lower bound a tighter than b?
bool LowerTighter(double a, bool a_incl, double b, bool b_incl) {
  return a > b || (a == b && !a_incl && b_incl);
}
bool UpperTighter(double a, bool a_incl, double b, bool b_incl) {
  return a < b || (a == b && !a_incl && b_incl);
}

}  // namespace

bool IsClosedSet(const std::string& left) {
  return left == "purpose" || left == "kexin:computeMode";
}
bool IsRegional(const std::string& left) { return left == "spatial"; }

void Simplify(Constraint* c) {
  if (c->kind != Constraint::Kind::kSet) return;
  c->allow = Minimal(*c, c->allow);
  c->deny = Minimal(*c, c->deny);
  // Allowed values inside a denied one are not allowed.
  for (auto it = c->allow.begin(); it != c->allow.end();)
    it = CoveredBy(*c, *it, c->deny) ? c->allow.erase(it) : std::next(it);
  if (!c->allow_all) {
    // Denials matter only inside the allowed values.
    for (auto it = c->deny.begin(); it != c->deny.end();)
      it = CoveredBy(*c, *it, c->allow) ? std::next(it) : c->deny.erase(it);
  }
}

bool IsEmpty(const Constraint& c) {
  switch (c.kind) {
    case Constraint::Kind::kSet:
      return !c.allow_all && c.allow.empty();
    case Constraint::Kind::kIntRange:
      return c.lo > c.hi;
    case Constraint::Kind::kRealRange:
      return c.has_rlo && c.has_rhi &&
             (c.rlo > c.rhi || (c.rlo == c.rhi && !(c.rlo_incl && c.rhi_incl)));
  }
  return false;
}

bool IsVacuous(const Constraint& c) {
  switch (c.kind) {
    case Constraint::Kind::kSet:
      return c.allow_all && c.deny.empty();
    case Constraint::Kind::kIntRange:
      return (c.lo == INT64_MIN || (c.left != "dateTime" && c.lo <= 0)) && c.hi == INT64_MAX;
    case Constraint::Kind::kRealRange:
      return !c.has_rlo && !c.has_rhi;
  }
  return false;
}

Result<Constraint> Intersect(const Constraint& a, const Constraint& b) {
  Constraint r = a;
  switch (a.kind) {
    case Constraint::Kind::kSet:
      if (a.allow_all && b.allow_all) {
        r.allow_all = true;
        r.allow.clear();
      } else if (a.allow_all) {
        r.allow_all = false;
        r.allow = b.allow;
      } else if (!b.allow_all) {
        Set x = WithinAny(a, a.allow, b.allow), y = WithinAny(a, b.allow, a.allow);
        r.allow = x;
        r.allow.insert(y.begin(), y.end());
      }
      r.deny.insert(b.deny.begin(), b.deny.end());
      Simplify(&r);
      break;
    case Constraint::Kind::kIntRange:
      r.lo = std::max(a.lo, b.lo);
      r.hi = std::min(a.hi, b.hi);
      break;
    case Constraint::Kind::kRealRange:
      if (b.has_rlo && (!a.has_rlo || LowerTighter(b.rlo, b.rlo_incl, a.rlo, a.rlo_incl))) {
        r.has_rlo = true, r.rlo = b.rlo, r.rlo_incl = b.rlo_incl;
      }
      if (b.has_rhi && (!a.has_rhi || UpperTighter(b.rhi, b.rhi_incl, a.rhi, a.rhi_incl))) {
        r.has_rhi = true, r.rhi = b.rhi, r.rhi_incl = b.rhi_incl;
      }
      break;
  }
  if (IsEmpty(r))
    return InvalidArgument("no value of " + a.left + " satisfies all its constraints");
  return r;
}

Result<Constraint> Join(const Constraint& a, const Constraint& b) {
  Constraint r = a;
  switch (a.kind) {
    case Constraint::Kind::kSet:
      if (!a.deny.empty() || !b.deny.empty() || a.allow_all || b.allow_all)
        return InvalidArgument("'or' over negated " + a.left +
                               " constraints is not supported; list the allowed values");
      r.allow.insert(b.allow.begin(), b.allow.end());
      Simplify(&r);
      return r;
    case Constraint::Kind::kIntRange: {
      // The union is one range only when the two overlap or touch.
      bool apart = (a.hi != INT64_MAX && b.lo > a.hi + 1) || (b.hi != INT64_MAX && a.lo > b.hi + 1);
      if (apart) return InvalidArgument("'or' of disjoint " + a.left + " ranges is not supported");
      r.lo = std::min(a.lo, b.lo);
      r.hi = std::max(a.hi, b.hi);
      return r;
    }
    case Constraint::Kind::kRealRange: {
      auto below = [](const Constraint& x, const Constraint& y) {  // x entirely below y, apart
        return x.has_rhi && y.has_rlo &&
               (x.rhi < y.rlo || (x.rhi == y.rlo && !x.rhi_incl && !y.rlo_incl));
      };
      if (below(a, b) || below(b, a))
        return InvalidArgument("'or' of disjoint " + a.left + " ranges is not supported");
      if (!a.has_rlo || !b.has_rlo) {
        r.has_rlo = false;
      } else if (LowerTighter(a.rlo, a.rlo_incl, b.rlo, b.rlo_incl)) {
        r.rlo = b.rlo, r.rlo_incl = b.rlo_incl;
      }
      if (!a.has_rhi || !b.has_rhi) {
        r.has_rhi = false;
      } else if (UpperTighter(a.rhi, a.rhi_incl, b.rhi, b.rhi_incl)) {
        r.rhi = b.rhi, r.rhi_incl = b.rhi_incl;
      }
      return r;
    }
  }
  return r;
}

}  // namespace kexin::policy::internal
