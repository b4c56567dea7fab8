#include "deid/dataset.h"

#include <fmt/format.h>

#include <cstring>

namespace kexin::deid {
namespace {

uint64_t HashCodes(const uint32_t* key, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (size_t i = 0; i < n; ++i) {
    h ^= key[i];
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  return h;
}

uint32_t FirstMember(const EncodedAttribute& a, int level, uint32_t code) {
  return a.first_member[level][code];
}

EncodedAttribute MakeAttribute(std::string name, const Hierarchy* h) {
  EncodedAttribute a;
  a.name = std::move(name);
  a.height = h ? h->height() : 1;
  a.hierarchy = h ? h->Describe() : "";
  a.labels.resize(a.height);
  a.gen.resize(a.height);
  a.leaves.resize(a.height);
  a.first_member.resize(a.height);
  return a;
}

}  // namespace

Dataset::Dataset(std::vector<std::string> qi_names, std::vector<const Hierarchy*> qi_hierarchies,
                 std::vector<std::string> sensitive_names,
                 std::vector<const Hierarchy*> sensitive_hierarchies)
    : qi_h_(std::move(qi_hierarchies)), sens_h_(std::move(sensitive_hierarchies)) {
  for (size_t i = 0; i < qi_names.size(); ++i) {
    qi_.push_back(MakeAttribute(std::move(qi_names[i]), qi_h_[i]));
    level_codes_qi_.emplace_back(qi_.back().height);
  }
  for (size_t j = 0; j < sensitive_names.size(); ++j) {
    sens_.push_back(MakeAttribute(std::move(sensitive_names[j]), sens_h_[j]));
    level_codes_sens_.emplace_back(sens_.back().height);
  }
  width_ = qi_.size() + sens_.size();
  scratch_key_.resize(width_);
  table_.assign(1024, -1);
}

Status Dataset::Encode(EncodedAttribute* a, std::vector<StringCodes>* level_codes_ptr,
                       const Hierarchy* h, std::string_view value, uint64_t row, uint32_t* code) {
  auto it = a->codes0.find(value);
  if (it != a->codes0.end()) {
    *code = it->second;
    a->freq0[*code]++;
    return Status::Ok();
  }
  auto& level_codes = *level_codes_ptr;
  if (h) {
    Status s = h->Generalize(value, &scratch_levels_);
    if (!s.ok()) return DataError(fmt::format("{}: column {}: {}", row, a->name, s.message()));
  } else {
    scratch_levels_.assign(1, std::string(value));
  }
  if (static_cast<int>(scratch_levels_.size()) != a->height) {
    return Internal(fmt::format("{}: column {}: hierarchy returned {} levels, expected {}", row,
                                a->name, scratch_levels_.size(), a->height));
  }
  // The search needs functional hierarchies (equal at one level, equal above); tables are checked
  // when loaded, this checks every hierarchy on the values actually present.
  std::vector<uint32_t> codes(a->height);
  for (int l = 1; l < a->height; ++l) {
    auto it = level_codes[l].find(scratch_levels_[l]);
    codes[l] = it == level_codes[l].end() ? UINT32_MAX : it->second;
  }
  for (int l = 1; l + 1 < a->height; ++l) {
    if (codes[l] == UINT32_MAX) continue;
    uint32_t parent = a->gen[l + 1][FirstMember(*a, l, codes[l])];
    if (a->labels[l + 1][parent] != scratch_levels_[l + 1]) {
      return DataError(fmt::format(
          "{}: column {}: hierarchy {} is not functional: \"{}\" at level {} generalizes to "
          "\"{}\" for value \"{}\" but to \"{}\" for earlier values",
          row, a->name, a->hierarchy, scratch_levels_[l], l, scratch_levels_[l + 1], value,
          a->labels[l + 1][parent]));
    }
  }
  uint32_t c0 = static_cast<uint32_t>(a->labels[0].size());
  for (int l = 0; l < a->height; ++l) {
    const std::string& label = scratch_levels_[l];
    uint32_t cl;
    if (l == 0) {
      cl = c0;
      a->labels[0].push_back(label);
    } else {
      auto [lit, inserted] =
          level_codes[l].emplace(label, static_cast<uint32_t>(a->labels[l].size()));
      if (inserted) a->labels[l].push_back(label);
      cl = lit->second;
    }
    a->gen[l].push_back(cl);
    if (l > 0 && cl >= a->first_member[l].size()) a->first_member[l].push_back(c0);
  }
  a->codes0.emplace(std::string(value), c0);
  a->freq0.push_back(1);
  *code = c0;
  return Status::Ok();
}

int64_t Dataset::Lookup(const uint32_t* key) const {
  size_t mask = table_.size() - 1;
  for (size_t i = HashCodes(key, width_) & mask;; i = (i + 1) & mask) {
    int64_t c = table_[i];
    if (c < 0) return -1;
    if (std::memcmp(&codes_[c * width_], key, width_ * sizeof(uint32_t)) == 0) return c;
  }
}

void Dataset::Grow() {
  table_.assign(table_.size() * 2, -1);
  size_t mask = table_.size() - 1;
  for (size_t c = 0; c < counts_.size(); ++c) {
    size_t i = HashCodes(&codes_[c * width_], width_) & mask;
    while (table_[i] >= 0) i = (i + 1) & mask;
    table_[i] = static_cast<int64_t>(c);
  }
}

Status Dataset::AddRow(const std::vector<std::string_view>& qi,
                       const std::vector<std::string_view>& sens, uint64_t row) {
  for (size_t i = 0; i < qi_.size(); ++i) {
    KEXIN_RETURN_IF_ERROR(
        Encode(&qi_[i], &level_codes_qi_[i], qi_h_[i], qi[i], row, &scratch_key_[i]));
  }
  for (size_t j = 0; j < sens_.size(); ++j) {
    KEXIN_RETURN_IF_ERROR(Encode(&sens_[j], &level_codes_sens_[j], sens_h_[j], sens[j], row,
                                 &scratch_key_[qi_.size() + j]));
  }
  ++rows_;
  size_t mask = table_.size() - 1;
  size_t i = HashCodes(scratch_key_.data(), width_) & mask;
  for (;; i = (i + 1) & mask) {
    int64_t c = table_[i];
    if (c < 0) break;
    if (std::memcmp(&codes_[c * width_], scratch_key_.data(), width_ * sizeof(uint32_t)) == 0) {
      counts_[c]++;
      return Status::Ok();
    }
  }
  table_[i] = static_cast<int64_t>(counts_.size());
  codes_.insert(codes_.end(), scratch_key_.begin(), scratch_key_.end());
  counts_.push_back(1);
  if (counts_.size() * 2 > table_.size()) Grow();
  return Status::Ok();
}

void Dataset::Finish() {
  auto finish = [](EncodedAttribute& a) {
    for (int l = 0; l < a.height; ++l) {
      a.leaves[l].assign(a.labels[l].size(), 0);
      for (uint32_t c : a.gen[l]) a.leaves[l][c]++;
    }
  };
  for (auto& a : qi_) finish(a);
  for (auto& a : sens_) finish(a);
}

int64_t Dataset::FindCell(const std::vector<std::string_view>& qi,
                          const std::vector<std::string_view>& sens) const {
  uint32_t key[64];
  std::vector<uint32_t> big;
  uint32_t* k = key;
  if (width_ > 64) {
    big.resize(width_);
    k = big.data();
  }
  for (size_t i = 0; i < qi_.size(); ++i) {
    auto it = qi_[i].codes0.find(qi[i]);
    if (it == qi_[i].codes0.end()) return -1;
    k[i] = it->second;
  }
  for (size_t j = 0; j < sens_.size(); ++j) {
    auto it = sens_[j].codes0.find(sens[j]);
    if (it == sens_[j].codes0.end()) return -1;
    k[qi_.size() + j] = it->second;
  }
  return Lookup(k);
}

}  // namespace kexin::deid
