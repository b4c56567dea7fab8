// The de-identification configuration: each column's role and operator, the privacy models, the
// utility metric, the risk settings and the pseudonym key source. Read from TOML (docs/deid.md)
// and overridden by command-line flags. Columns the file does not name take their role from
// `kexin scan` (RolesFromScan): a forgotten ID column is still pseudonymized or masked.
//
// Thread-safety: plain values.
#ifndef KEXIN_DEID_CONFIG_H_
#define KEXIN_DEID_CONFIG_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deid/hierarchy.h"
#include "deid/operators.h"
#include "deid/search.h"
#include "kexin/status.h"

namespace kexin::deid {

enum class Role { kDirect, kQuasi, kSensitive, kInsensitive };
std::string_view RoleName(Role r);  // "direct", "quasi", "sensitive", "insensitive"

struct ColumnConfig {
  Role role = Role::kInsensitive;
  std::string source = "config";  // "config", "scan (id_card_cn)", "default"
  OperatorSpec op;
  // Quasi-identifiers (and sensitive columns for hierarchical t-closeness): the hierarchy spec,
  // "builtin:date", "builtin:interval" (with widths), "builtin:region", "builtin:address",
  // "builtin:flat", or a CSV file path (relative to the config file).
  std::string hierarchy;
  std::vector<double> widths;
  double origin = 0;
};

enum class SuppressedRows { kMask, kRemove };

struct DeidConfig {
  std::map<std::string, ColumnConfig> columns;  // by column name
  PrivacyModel model;
  bool model_given = false;  // any model set in the file or on the command line
  Metric metric = Metric::kLoss;
  SuppressedRows suppressed_rows = SuppressedRows::kMask;
  std::optional<double> population;  // for journalist risk
  double risk_threshold = 0.2;       // records with re-identification risk above it are "at risk"
  std::optional<std::string> key_file, key_env;
  KeyedHash hash = KeyedHash::kHmacSha256;
  std::string base_dir = ".";  // where relative hierarchy paths start
};

// Parses a config file. Errors name the file and the key ("deid.toml: columns.age.role: ...").
Result<DeidConfig> LoadDeidConfig(const std::string& path);
Result<DeidConfig> ParseDeidConfig(std::string_view text, const std::string& name,
                                   const std::string& base_dir);

// The role and operator a scan category implies: identifiers become direct identifiers
// (pseudonymized when a key is given, else masked), birth dates, addresses, gender and ethnicity
// quasi-identifiers with built-in hierarchies, health and religion sensitive attributes.
std::optional<ColumnConfig> RoleForCategory(std::string_view category, bool have_key);

// Builds the hierarchy a column's spec names.
Result<std::unique_ptr<Hierarchy>> MakeHierarchy(const ColumnConfig& c, const std::string& base_dir,
                                                 const std::string& column);

}  // namespace kexin::deid

#endif  // KEXIN_DEID_CONFIG_H_
