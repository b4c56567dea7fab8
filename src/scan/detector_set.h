// DetectorSet: the compiled form of Rules. Matches whole cells against every category and finds
// identifiers embedded in free text.
//
// Whole-cell matching runs a one-pass shape filter (length, character classes) before any
// validator, dictionary or regular expression, so most categories cost a few instructions per
// cell. Embedded search splits a text cell into tokens (runs of [0-9A-Za-z@.:_%+-], trimmed of
// punctuation; a plate keeps its CJK province character) and matches each token as a whole value
// against the `embedded` categories that have a validator; `embedded` categories defined only by a
// pattern are searched with one Hyperscan database and kept when they sit on token boundaries.
// Overlapping hits keep the earlier (higher-priority) category.
//
// Thread-safety: a DetectorSet is immutable after Build and shared by all threads; each thread
// passes its own Scratch.
#ifndef KEXIN_SCAN_DETECTOR_SET_H_
#define KEXIN_SCAN_DETECTOR_SET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kexin/status.h"
#include "scan/rules.h"
#include "scan/validators.h"

struct hs_database;
struct hs_scratch;

namespace kexin::scan {

struct CellMatch {
  uint64_t strong = 0;  // bit i: category i matched
  uint64_t weak = 0;    // bit i: category i matched weakly
  bool text =
      false;     // long and text-like: search it for embedded identifiers (when no strong match)
  int year = 0;  // DateYear(cell) when a "date" validator ran and accepted it
};

class DetectorSet {
 public:
  class Scratch {
   public:
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

   private:
    friend class DetectorSet;
    Scratch() = default;
    hs_scratch* cell_ = nullptr;
    hs_scratch* text_ = nullptr;
    std::vector<std::pair<int, std::pair<size_t, size_t>>> hits_;
  };

  static Result<std::unique_ptr<DetectorSet>> Build(const Rules& rules);
  ~DetectorSet();

  const Rules& rules() const { return rules_; }
  size_t size() const { return rules_.categories.size(); }
  int free_text_index() const { return free_text_index_; }
  std::unique_ptr<Scratch> NewScratch() const;

  // Matches one trimmed, non-empty cell against every category.
  CellMatch Match(std::string_view cell, Scratch* scratch) const;

  // Matches one trimmed, non-empty cell against category i alone (kNone for regex categories,
  // which only Match evaluates). Used once a column is confirmed as category i.
  Strength MatchOne(size_t i, std::string_view cell) const;
  bool CanMatchOne(size_t i) const {
    return compiled_[i].active && !compiled_[i].regex && !compiled_[i].weak;
  }

  // True when `cell` is long and text-like enough to be searched for embedded identifiers.
  bool IsTextCandidate(std::string_view cell) const;

  // Calls fn(category, span) for each validated identifier inside `text`, left to right.
  void FindEmbedded(std::string_view text, Scratch* scratch,
                    const std::function<void(int, std::string_view)>& fn) const;

  // A normalised form of a value of `category` for counting distinct individuals
  // (digits only for phones and cards, upper case for IDs, lower case for email).
  std::string Normalize(int category, std::string_view value) const;
  // Hash of Normalize(category, value), without allocating for values up to 256 bytes.
  uint64_t NormalizedHash(int category, std::string_view value) const;

 private:
  struct Compiled {
    const ValidatorInfo* validator = nullptr;
    uint32_t min_bytes = 0, max_bytes = UINT32_MAX;
    uint32_t required = 0, allowed = kAllClasses;
    bool dictionary = false;  // matched through dict_ / suffixes_ below
    uint32_t max_chars = 12;
    bool regex = false;  // whole-cell regular expression (no validator)
    bool weak = false;
    bool active = true;  // false for the free-text pseudo-category
    bool date = false;   // the "date" validator: Match calls DateYear itself and keeps the year
  };

  explicit DetectorSet(Rules rules) : rules_(std::move(rules)) {}
  Status Compile();

  Rules rules_;
  std::vector<Compiled> compiled_;
  // How NormalizedHash normalises each category, decided once from its validator's name.
  enum class Norm : uint8_t { kDigits, kMobileDigits, kLower, kUpperCompact };
  std::vector<Norm> norm_;
  // Categories whose byte-length range admits a value of length n (n < kMaxDispatch), so Match
  // visits only those; longer values use long_mask_.
  static constexpr size_t kMaxDispatch = 64;
  uint64_t length_mask_[kMaxDispatch] = {};
  uint64_t long_mask_ = 0;
  // For values of n digits and nothing else: the categories that can match (validators by their
  // digit_lengths, every dictionary and regex category).
  uint64_t digit_mask_[kMaxDispatch] = {};
  // Categories excluded by a value's character classes, indexed by the low 8 and high 7 bits of
  // Shape::classes: a class present that the category does not allow, or a required one absent.
  uint64_t exclude_lo_[256] = {};
  uint64_t exclude_hi_[128] = {};
  // Every category's dictionary in one map (value, ASCII lower-cased -> categories), so a cell
  // costs one lookup however many dictionaries there are; suffixes likewise in one list.
  uint64_t dict_mask_ = 0;
  uint64_t weak_mask_ = 0;
  std::vector<std::string> dict_store_;
  std::unordered_map<std::string_view, uint64_t> dict_;
  struct Suffix {
    std::string text;
    size_t chars;
    int category;
  };
  std::vector<Suffix> suffixes_;
  int free_text_index_ = -1;
  hs_database* cell_db_ = nullptr;  // anchored whole-cell patterns (regex categories)
  hs_database* text_db_ = nullptr;  // embedded patterns
  std::vector<int> text_ids_;       // Hyperscan id -> category
  uint64_t token_mask_ = 0;         // embedded categories found by tokenizing (have a validator)
  int plate_index_ = -1;            // license plates start with a CJK province character
  bool has_embedded_ = false;
  std::vector<int> cell_ids_;
};

}  // namespace kexin::scan

#endif  // KEXIN_SCAN_DETECTOR_SET_H_
