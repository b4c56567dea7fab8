// Free-trade-zone negative lists as data files (docs/outbound.md#negative-list-files).
//
// A list file covers one sector of one zone's list: its scenarios, each with field-level items
// (data category, example fields, the route the item needs, optional people thresholds). Items
// are matched against the transfer's columns by scan category (including identifiers found inside
// free text) and by column name. kexin ships example files under lists/ that are modelled on the
// structure of the 2024 Beijing list, not its official text; users load the official ones with
// `--list`. Thread-safety: immutable values and pure functions.
#ifndef KEXIN_OUTBOUND_NEGATIVE_LIST_H_
#define KEXIN_OUTBOUND_NEGATIVE_LIST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"
#include "outbound/outbound.h"

namespace kexin::outbound {

struct ListItem {
  std::string category;  // data category, e.g. "个人身份信息"
  Route route = Route::kSecurityAssessment;
  std::vector<std::string> fields;           // example field names, matched to column names
  std::vector<std::string> scan_categories;  // kexin scan category ids, matched to columns
  // The item applies when any threshold set is reached (people since 1 January including this
  // transfer); without thresholds (here or on the scenario) it applies whenever it matches.
  std::optional<uint64_t> min_people, min_sensitive_people;
  int line = 0;
};

struct Scenario {
  std::string id, name, name_zh;
  std::optional<uint64_t> min_people, min_sensitive_people;  // defaults for its items
  std::vector<ListItem> items;
  int line = 0;
};

struct NegativeList {
  std::string file;
  std::string list;      // e.g. "beijing-ftz-2024-example"
  std::string zone;      // matched to Handler::free_trade_zone
  std::string edition;   // e.g. "2024"
  bool example = false;  // true: an example modelled on the published structure, not official
  std::string note;
  std::string sector_id, sector_name, sector_name_zh;
  std::vector<Scenario> scenarios;
};

// Parses one list file; errors name the file and line ("retail.toml:31: unknown route 'x'").
Result<NegativeList> ParseNegativeList(std::string_view toml_text, std::string_view source);
// Loads files, and every *.toml in directories (sorted by name). Scenario ids must be unique
// within a zone.
Result<std::vector<NegativeList>> LoadNegativeLists(const std::vector<std::string>& paths);

// The scenario `scenario_id` of the handler's zone (and sector, when the handler names one).
// Errors (kInvalidArgument): unknown sector, unknown scenario (listing the known ids), no list
// for the zone.
struct ScenarioRef {
  const NegativeList* list = nullptr;
  const Scenario* scenario = nullptr;
};
Result<ScenarioRef> FindScenario(const std::vector<NegativeList>& lists, const Handler& handler,
                                 std::string_view scenario_id);

// A column of the transfer, as the scan saw it.
struct ColumnRef {
  std::string file, name;
  std::string category;               // empty: unclassified
  std::vector<std::string> embedded;  // categories found inside free text
};

struct ItemMatch {
  const ListItem* item = nullptr;
  std::vector<std::string> columns;  // "file: column (why)"
  bool reached = false;              // thresholds reached (or none)
  std::string threshold;             // human-readable threshold check
};

struct ListMatch {
  ListVerdict verdict;
  std::vector<ItemMatch> matches;  // every item that matched a column
};

// Matches the scenario's items against the columns. `people` and `sensitive_people` are the
// counts since 1 January including this transfer.
ListMatch MatchScenario(const Scenario& scenario, const std::vector<ColumnRef>& columns,
                        uint64_t people, uint64_t sensitive_people);

}  // namespace kexin::outbound

#endif  // KEXIN_OUTBOUND_NEGATIVE_LIST_H_
