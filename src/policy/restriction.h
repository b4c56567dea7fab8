// Module-private: building, intersecting and joining normalized constraints (policy.h Constraint).
#ifndef KEXIN_POLICY_RESTRICTION_H_
#define KEXIN_POLICY_RESTRICTION_H_

#include <string>

#include "kexin/status.h"
#include "policy/policy.h"

namespace kexin::policy::internal {

// Closed vocabularies are expanded to explicit allow sets.
bool IsClosedSet(const std::string& left);
// Values of `left` form a hierarchy of regions (spatial).
bool IsRegional(const std::string& left);

// a AND b; kInvalidArgument "no value satisfies ..." when the result is empty.
Result<Constraint> Intersect(const Constraint& a, const Constraint& b);
// a OR b, when representable as one restriction; kInvalidArgument otherwise.
Result<Constraint> Join(const Constraint& a, const Constraint& b);
// Removes redundancy (regions inside others, denials outside the allowed values).
void Simplify(Constraint* c);
// True when the restriction allows every value (it can be dropped).
bool IsVacuous(const Constraint& c);
// True when no value satisfies it.
bool IsEmpty(const Constraint& c);

}  // namespace kexin::policy::internal

#endif  // KEXIN_POLICY_RESTRICTION_H_
