// Module-private: kexin's controlled vocabularies (purposes, compute modes, actions, regions) and
// date-time arithmetic. docs/policies.md lists the terms.
#ifndef KEXIN_POLICY_VOCABULARY_H_
#define KEXIN_POLICY_VOCABULARY_H_

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kexin::policy::internal {

// The purpose term and every term below it in the hierarchy; empty when `term` is unknown.
std::set<std::string> PurposeSubtree(std::string_view term);
bool IsPurpose(std::string_view term);

// Index of a compute mode in ComputeModes() (0 = least revealing), or nullopt.
std::optional<size_t> ComputeModeRank(std::string_view mode);

// Actions: "use" covers every other action.
bool IsAction(std::string_view action);
bool ActionCovers(std::string_view granted, std::string_view requested);

// Upper-cases and checks a region code: ISO 3166-1 alpha-2 ("CN") or an ISO 3166-2:CN
// subdivision ("CN-BJ"). Returns nullopt when the shape or the subdivision is unknown.
std::optional<std::string> NormalizeRegion(std::string_view code);
// True when `region` is `area` or lies inside it ("CN-BJ" is inside "CN").
bool RegionWithin(std::string_view region, std::string_view area);

}  // namespace kexin::policy::internal

#endif  // KEXIN_POLICY_VOCABULARY_H_
