// Module `policy`: ODRL 2.2 usage policies, parsed into a normal form that can be compared
// semantically, fingerprinted, written back as canonical JSON-LD and evaluated against a request.
//
// Parse accepts the notations a peer may send (compact terms, "odrl:"/"kexin:" prefixes, full
// IRIs, single values or lists, typed literals, dates in any offset, and/or logical constraints)
// and reduces every rule to one restriction per left operand (a set of allowed values, or a range).
// Two policies are Equivalent when their normal forms are equal; the normal form covers the terms
// of use (permissions and prohibitions with their actions and constraints), not the policy's @id,
// @type, target, assigner or assignee, which the caller checks on its own. Vocabulary, operators,
// normalization and evaluation rules: docs/policies.md.
//
// Thread-safety: pure functions over values.
#ifndef KEXIN_POLICY_POLICY_H_
#define KEXIN_POLICY_POLICY_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"

namespace kexin::policy {

// The namespace of kexin's own left operands and purposes ("kexin:" prefix).
inline constexpr std::string_view kKexinNamespace = "https://w3id.org/kexin/ns/";
// The JSON-LD contexts a canonical policy names: DSP's, then kexin's (docs/policies.md).
inline constexpr std::string_view kDspContext = "https://w3id.org/dspace/2025/1/context.jsonld";
inline constexpr std::string_view kKexinContext = "https://w3id.org/kexin/ns/context.jsonld";

// One left operand's restriction in normal form. Canonical left operand names: "purpose",
// "dateTime", "count", "spatial" (also for kexin:destination), "kexin:computeMode",
// "kexin:allowedFields", "kexin:minGroupSize", "kexin:dpEpsilon", "kexin:consumer".
struct Constraint {
  enum class Kind { kSet, kIntRange, kRealRange };
  std::string left;
  Kind kind = Kind::kSet;
  // kSet: the values allowed (all values when allow_all) minus those in deny. Closed vocabularies
  // (purpose, computeMode) are always expanded to an explicit allow set with an empty deny set.
  bool allow_all = false;
  std::set<std::string> allow;
  std::set<std::string> deny;
  // kIntRange (count, minGroupSize, dateTime in microseconds since the epoch): lo <= v <= hi.
  int64_t lo = INT64_MIN;
  int64_t hi = INT64_MAX;
  // kRealRange (dpEpsilon): bounds with inclusiveness; has_* false means unbounded.
  bool has_rlo = false, has_rhi = false, rlo_incl = true, rhi_incl = true;
  double rlo = 0, rhi = 0;

  bool operator==(const Constraint&) const = default;
};

struct Rule {
  std::string action;                   // "use", "read", ... (docs/policies.md#actions)
  std::vector<Constraint> constraints;  // sorted by left operand, at most one per operand
  bool operator==(const Rule&) const = default;
};

// Normalized form of an ODRL policy.
struct Policy {
  std::string id;                  // "@id" (may be empty)
  std::string type;                // "Offer", "Agreement", "Set" or "Policy"
  std::string target;              // may be empty (offers inside a catalog dataset carry none)
  std::string assigner;            // may be empty
  std::string assignee;            // may be empty
  std::vector<Rule> permissions;   // sorted and deduplicated; never empty
  std::vector<Rule> prohibitions;  // sorted and deduplicated
};

// Parses an ODRL policy (JSON-LD object). Errors are kInvalidArgument and name the JSON pointer
// of the offending member: "/permission/0/constraint/1/rightOperand: 'abc' is not an integer".
Result<Policy> Parse(const nlohmann::json& odrl);

// Canonical compact JSON-LD with the DSP and kexin contexts; Parse(ToJsonLd(p)) is Equivalent to p.
nlohmann::json ToJsonLd(const Policy& p);
// The terms only (no @context/@id/@type/target/assigner/assignee), in canonical order: what
// Equivalent compares and Fingerprint hashes.
nlohmann::json NormalForm(const Policy& p);

bool Equivalent(const Policy& a, const Policy& b);
// Lower-case hex SHA-256 of the RFC 8785 form of NormalForm(p); equal iff Equivalent.
std::string Fingerprint(const Policy& p);
// A one-line description of the first difference between the normal forms ("" when Equivalent):
// "/permission/0/constraint/purpose: [research] vs [research, statistics]".
std::string FirstDifference(const Policy& a, const Policy& b);

// What a request wants to do, for Evaluate. Unset values (empty strings and lists, negative
// numbers) fail any constraint on them, unless skip_unset: then such constraints are not checked
// (catalog and negotiation scopes, where e.g. the fields are not known yet).
struct Context {
  std::string purpose;              // a purpose term (docs/policies.md#purposes)
  std::string now;                  // RFC 3339; empty = the current time
  int64_t use_count = -1;           // the number of this use, 1 for the first
  std::string destination;          // "CN", "DE"; "CN-BJ" (ISO 3166-2:CN) or "110000" (GB/T 2260)
  std::string compute_mode;         // download | deidentified | compute-only | psi-only
  std::vector<std::string> fields;  // the fields the use reads
  int64_t group_size = -1;          // smallest group size of the released results
  double epsilon = -1;              // differential-privacy epsilon the use spends
  std::string consumer;             // peer name
  std::string consumer_key;         // peer public key, lowercase hex (matched like the name)
  std::string action = "use";
  bool skip_unset = false;
};

struct Decision {
  bool permitted = false;
  std::string constraint;  // the left operand that failed ("" when permitted, or "action")
  std::string reason;      // human-readable
};

Decision Evaluate(const Policy& p, const Context& c);

// Vocabulary helpers (docs/policies.md).
const std::vector<std::string>& PurposeTerms();
const std::vector<std::string>& ComputeModes();  // least to most revealing
// "cn-bj" -> "CN-BJ", "110000" -> "CN-BJ"; nullopt unless an ISO 3166-1 alpha-2 code, an
// ISO 3166-2:CN code or a province-level GB/T 2260 code.
std::optional<std::string> NormalizeRegion(std::string_view code);
// Microseconds since the Unix epoch of an RFC 3339 date-time or an xsd:date (midnight UTC).
Result<int64_t> ParseDateTime(std::string_view text);
std::string FormatDateTime(int64_t micros);  // "2027-01-01T00:00:00Z" (fraction only if needed)

}  // namespace kexin::policy

#endif  // KEXIN_POLICY_POLICY_H_
