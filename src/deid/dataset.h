// The data the anonymization search works on: a frequency table of the distinct combinations of
// quasi-identifier and sensitive values, dictionary-encoded, with each quasi-identifier's
// generalizations precomputed per level. Memory grows with the number of distinct combinations
// (and distinct values), not with rows: 10 million rows that hold 200,000 combinations cost what
// 200,000 rows would.
//
// Thread-safety: built by one thread; immutable afterwards and safe to share.
#ifndef KEXIN_DEID_DATASET_H_
#define KEXIN_DEID_DATASET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "deid/hierarchy.h"
#include "kexin/status.h"

namespace kexin::deid {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using StringCodes = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

// One attribute whose values are encoded, with its generalization levels (sensitive attributes
// have them too when t-closeness with hierarchical distance uses a hierarchy; else height 1).
struct EncodedAttribute {
  std::string name;
  std::string hierarchy;  // Hierarchy::Describe(), empty when none
  int height = 1;
  // labels[l][c]: the text of code c at level l; gen[l][code0]: the level-l code of a level-0
  // code; leaves[l][c]: how many distinct level-0 values (present in the data) code c covers.
  std::vector<std::vector<std::string>> labels;
  std::vector<std::vector<uint32_t>> gen;
  std::vector<std::vector<uint32_t>> leaves;
  std::vector<std::vector<uint32_t>> first_member;  // [l][c]: a level-0 code under code c
  std::vector<uint64_t> freq0;                      // rows per level-0 code
  StringCodes codes0;                               // level-0 text -> code
};

class Dataset {
 public:
  // `qi_hierarchies[i]` generalizes quasi-identifier i; `sensitive_hierarchies[j]` may be null.
  Dataset(std::vector<std::string> qi_names, std::vector<const Hierarchy*> qi_hierarchies,
          std::vector<std::string> sensitive_names,
          std::vector<const Hierarchy*> sensitive_hierarchies);

  // Adds one row. `row` starts messages ("17: column age: value \"x\" is not a number").
  Status AddRow(const std::vector<std::string_view>& qi, const std::vector<std::string_view>& sens,
                uint64_t row);
  // Finishes encoding (leaf counts). Call once after the last AddRow.
  void Finish();

  // The cell holding a row's values, or -1 when that combination was never added. Values must
  // have been seen by AddRow (else -1).
  int64_t FindCell(const std::vector<std::string_view>& qi,
                   const std::vector<std::string_view>& sens) const;

  size_t num_qi() const { return qi_.size(); }
  size_t num_sensitive() const { return sens_.size(); }
  const EncodedAttribute& qi(size_t i) const { return qi_[i]; }
  const EncodedAttribute& sensitive(size_t j) const { return sens_[j]; }
  size_t cells() const { return counts_.size(); }
  uint64_t rows() const { return rows_; }
  // Level-0 codes of cell c: num_qi() quasi-identifiers, then num_sensitive() sensitive values.
  const uint32_t* codes(size_t c) const { return &codes_[c * width_]; }
  uint64_t count(size_t c) const { return counts_[c]; }

 private:
  Status Encode(EncodedAttribute* a, std::vector<StringCodes>* level_codes, const Hierarchy* h,
                std::string_view value, uint64_t row, uint32_t* code);
  int64_t Lookup(const uint32_t* key) const;
  void Grow();

  std::vector<EncodedAttribute> qi_, sens_;
  std::vector<const Hierarchy*> qi_h_, sens_h_;
  std::vector<std::vector<StringCodes>> level_codes_qi_, level_codes_sens_;
  size_t width_ = 0;
  std::vector<uint32_t> codes_;
  std::vector<uint64_t> counts_;
  std::vector<int64_t> table_;  // open addressing: cell index or -1
  uint64_t rows_ = 0;
  std::vector<std::string> scratch_levels_;
  std::vector<uint32_t> scratch_key_;
};

}  // namespace kexin::deid

#endif  // KEXIN_DEID_DATASET_H_
