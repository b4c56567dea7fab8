// Module `outbound`: the cross-border data transfer assessment of CAC Order No. 16 (2024).
//
// Given who is sending (a handler file: CIIO or not, free-trade-zone membership, people already
// sent abroad since 1 January), what is sent (facts from `kexin::scan`: personal information,
// sensitive categories, distinct people) and why (scenario, declared exemption basis), Decide()
// returns the route (exempt under which article, standard contract or certification, security
// assessment) with every reason, applying the rules in the order of REFERENCE.md section 4:
//   (1) Art. 3 no PI and no important data -> exempt; (2) important data -> assessment;
//   (3) Art. 4 / 5(1)-(3) -> exempt, any handler; (4) CIIO with other PI -> assessment;
//   (5) FTZ handler, data not on the zone's negative list -> exempt (Art. 6);
//   (6) non-CIIO counters since 1 January, including this transfer.
// Where the text is unclear the choice is a setting of the handler file (HandlerSettings), and the
// report states it. Negative lists are data (negative_list.h); counters live in the node's store
// (counters.h); rendering is report.h.
//
// Thread-safety: pure functions and plain values.
#ifndef KEXIN_OUTBOUND_OUTBOUND_H_
#define KEXIN_OUTBOUND_OUTBOUND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"

namespace kexin::outbound {

// Order of strictness: a higher value is the stricter route.
enum class Route { kExempt = 0, kStandardContract = 1, kSecurityAssessment = 2 };
std::string_view RouteId(Route r);    // "exempt", "standard_contract_or_certification", ...
std::string_view RouteName(Route r);  // "exempt", "standard contract or certification", ...
std::string_view RouteZh(Route r);    // 免予申报 / 标准合同或认证 / 安全评估
Result<Route> ParseRoute(std::string_view id);  // the ids above, plus "standard_contract"

// Exemption bases a transfer can declare (Art. 4 and 5(1)-(3)); the others are decided by facts.
enum class Basis { kNone, kArt4, kArt5Contract, kArt5Hr, kArt5Emergency };
std::string_view BasisId(Basis b);  // "", "art4", "art5_1", "art5_2", "art5_3"
std::string_view BasisText(Basis b);
// Accepts the ids and the names "collected-abroad", "contract", "hr", "emergency".
Result<Basis> ParseBasis(std::string_view s);

struct HandlerSettings {
  // Whether people sent in transfers exempt under Art. 4, 5(1)-(3) or 6 count towards the
  // cumulative totals of rule (6). Order No. 16 does not say; false follows the common reading
  // that exempt transfers are outside the counting, true is the cautious choice.
  bool count_exempt_transfers = false;
  // Whether a table that `kexin scan` grades "important" (a heuristic on the number of people)
  // counts as important data for rule (2). Order No. 16 Art. 2 makes data important only when
  // authorities have notified or published it, so the default is false and a note is added.
  bool scan_important_is_important_data = false;
  // Whether an FTZ handler whose data is on the negative list is also held to the national
  // thresholds of rule (6), the stricter route winning.
  bool ftz_listed_also_national = true;
};

struct Handler {
  std::string file;  // where it was loaded from
  std::string id;    // key of the node's counters
  std::string name;
  std::string uscc;  // optional
  bool ciio = false;
  std::string free_trade_zone;  // zone id of a negative list ("beijing-ftz"), empty: none
  std::string sector;           // the handler's sector in that zone's list, optional
  // People already sent abroad since 1 January of `sent_year`, as the handler file states them.
  int sent_year = 0;            // 0: no counts given
  uint64_t sent_people = 0;     // personal information (not counting sensitive)
  uint64_t sent_sensitive = 0;  // sensitive personal information
  HandlerSettings settings;
};

// Parses a handler file (TOML, docs/outbound.md). Errors name the file and line:
// "handler.toml:7: sent.people must be a non-negative integer".
Result<Handler> ParseHandler(std::string_view toml_text, std::string_view source);
Result<Handler> LoadHandlerFile(const std::string& path);

// What the data of this transfer holds.
struct TransferFacts {
  bool contains_pi = false;
  bool contains_sensitive_pi = false;
  bool important_data = false;
  std::vector<std::string> important_reasons;  // why it is important data
  uint64_t people = 0;                         // distinct people whose personal information is sent
  uint64_t sensitive_people = 0;  // distinct people whose sensitive personal information is sent
  Basis basis = Basis::kNone;
};

// Counts sent since 1 January before this transfer (the source says where they came from).
struct PriorCounts {
  uint64_t people = 0;
  uint64_t sensitive_people = 0;
  std::string source;  // "handler file", "node counters", "none (new year)"
};

// The negative list's verdict for an FTZ handler (negative_list.h fills it).
struct ListVerdict {
  bool applies = false;  // the handler is in a zone whose list was loaded
  bool on_list = false;  // some item matched and its thresholds are reached
  Route route = Route::kExempt;
  std::vector<std::string> reasons;
};

struct Trigger {
  int rule = 0;        // 1..6 of the rule order
  std::string what;    // "sensitive personal information", "negative list item", ...
  std::string detail;  // fields, counts, thresholds
};

struct Decision {
  Route route = Route::kExempt;
  std::string article;    // "Art. 3", "Art. 5(4)", "Art. 7", "Art. 8", ...
  std::string exemption;  // "art3", "art4", "art5_1".."art5_4", "art6"; empty unless exempt
  int rule = 0;           // the rule that decided
  uint64_t cumulative_people = 0;     // prior + this transfer (when it carries PI)
  uint64_t cumulative_sensitive = 0;  // prior + this transfer (when it carries sensitive PI)
  std::vector<std::string> reasons;   // every rule considered, in order, with its outcome
  std::vector<Trigger> triggers;      // what decided the route
};

// The thresholds of Order No. 16 (people since 1 January, including this transfer).
inline constexpr uint64_t kContractPeople = 100000;      // Art. 5(4) / 8: 100,000
inline constexpr uint64_t kAssessmentPeople = 1000000;   // Art. 7: 1,000,000
inline constexpr uint64_t kAssessmentSensitive = 10000;  // Art. 7: 10,000 sensitive

// Applies the six rules in order. Pure: no I/O, no clock.
Decision Decide(const Handler& handler, const TransferFacts& facts, const PriorCounts& prior,
                const ListVerdict& list);

// Adds with saturation (counts never wrap).
inline uint64_t SatAdd(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

}  // namespace kexin::outbound

#endif  // KEXIN_OUTBOUND_OUTBOUND_H_
