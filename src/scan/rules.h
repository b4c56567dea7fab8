// Rules: detectors, header hints and the category -> PI category -> level mapping, as data.
//
// kexin ships rules/default.toml compiled into the binary; `--rules FILE` replaces it, so a sector
// can add categories (a regular expression, a dictionary, suffixes or a built-in validator) and
// change grading without rebuilding. docs/rules.md documents every key. Rules are immutable once
// loaded and safe to share between threads.
#ifndef KEXIN_SCAN_RULES_H_
#define KEXIN_SCAN_RULES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"

namespace kexin::scan {

struct CategoryRule {
  std::string id;           // stable id, e.g. "id_card_cn"
  std::string name;         // English label
  std::string name_zh;      // Chinese label
  std::string pi_category;  // GB/T 35273 category id ("identity", ...) or empty when not PI
  bool sensitive = false;   // sensitive personal information
  std::string level;        // one of Rules::levels
  // How a whole cell matches (any that is set): a built-in validator, an anchored regular
  // expression (when there is no validator), a dictionary of values, or suffixes.
  std::string validator;
  std::string pattern;  // also the search pattern for identifiers inside free text
  std::vector<std::string> values;
  std::vector<std::string> suffixes;
  uint32_t max_chars = 0;    // suffix matches: longest value in characters (0: 12)
  bool weak = false;         // every match is weak: counts only with a header hint or column check
  std::string column_check;  // "birth_years": weak date matches count when years look like births
  std::vector<std::string> header_hints;
  std::vector<std::string> negative_header_hints;  // headers that argue against this category
  double min_ratio = 0.8;                          // share of non-empty cells that must match
  double hinted_min_ratio = 0.5;                   // ... when the header hints this category
  double confidence = 0.9;          // confidence at a 100% match ratio without header evidence
  bool embedded = false;            // searched for inside free text (needs a pattern)
  bool counts_individuals = false;  // distinct values count people (cross-border thresholds)
  bool is_free_text = false;        // the free_text_with_pii pseudo-category
};

struct Rules {
  std::string source;  // "built-in" or the file path
  int version = 1;
  std::vector<std::string> levels;  // lowest first: general-1 .. core
  std::string no_pi_level = "general-1";
  std::vector<CategoryRule> categories;  // priority order: earlier wins ties
  // Free text.
  uint32_t free_text_min_bytes = 16;
  double free_text_min_ratio = 0.05;  // share of text cells holding an identifier
  // A text cell is searched only when it has '@' or a run of at least this many characters from
  // [0-9A-Za-z.:_+-]: every embedded pattern needs one (the shortest, a plate's "A12345", has 6).
  uint32_t free_text_min_token = 6;
  // Table-level grading: distinct individuals at or above these make the table "important"
  // (unverified defaults; see REFERENCE.md section 2 and docs/rules.md).
  uint64_t important_individuals = 1000000;
  uint64_t important_sensitive_individuals = 100000;
  std::string important_level = "important";
  // Sampling.
  uint64_t sample_rows = 10000;

  // Index of a level in `levels`, or -1.
  int LevelRank(std::string_view level) const;
  const CategoryRule* Find(std::string_view id) const;
};

// Parses TOML rule text; `source` names it in messages ("rules.toml:12: unknown validator 'x'").
Result<Rules> ParseRules(std::string_view toml_text, std::string_view source);
Result<Rules> LoadRulesFile(const std::string& path);
// The rules compiled into the binary (rules/default.toml).
std::string_view DefaultRulesText();
Result<Rules> DefaultRules();

}  // namespace kexin::scan

#endif  // KEXIN_SCAN_RULES_H_
