#include "scan/column_stats.h"

#include <algorithm>
#include <cmath>

namespace kexin::scan {
namespace {
constexpr int kHllBits = 14;
constexpr size_t kHllRegisters = size_t{1} << kHllBits;
uint64_t Mix(uint64_t h) {  // splitmix64 finaliser: spreads std::hash output
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}
}  // namespace

void DistinctCounter::Flush() const {
  // Logically const: pending values are part of the counter's state.
  auto* self = const_cast<DistinctCounter*>(this);
  size_t n = self->npending_;
  self->npending_ = 0;
  uint64_t mixed[kBatch];
  for (size_t i = 0; i < n; ++i) {
    mixed[i] = Mix(self->pending_[i]);
    if (mixed[i] == 0) mixed[i] = 1;
  }
  if (self->hll_.empty()) {
    // Make room first so the prefetched slots are the ones written.
    while (self->size_ < self->cap_ && (self->size_ + n) * 2 > self->slots_.size()) self->Grow();
    size_t mask = self->slots_.size() - 1;
    for (size_t i = 0; i < n; ++i) __builtin_prefetch(&self->slots_[mixed[i] & mask]);
  }
  for (size_t i = 0; i < n; ++i) self->AddMixed(mixed[i]);
}

bool DistinctCounter::exact() const {
  Flush();
  return hll_.empty();
}

void DistinctCounter::AddMixed(uint64_t h) {
  if (!hll_.empty()) {
    HllAdd(h);
    return;
  }
  if (size_ >= cap_) {  // switch before the table would grow past the cap
    ToHll();
    HllAdd(h);
    return;
  }
  Insert(h);
}

void DistinctCounter::Insert(uint64_t h) {
  if (h == 0) h = 1;
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return;
    if (slots_[i] == 0) {
      slots_[i] = h;
      ++size_;
      return;
    }
  }
}

void DistinctCounter::Grow() {
  std::vector<uint64_t> old = std::move(slots_);
  // Four times while small (fewer rehashes), then twice (bounded memory near the cap).
  size_t next = old.size() < (size_t{1} << 20) ? old.size() * 4 : old.size() * 2;
  slots_.assign(std::max<size_t>(1024, next), 0);
  size_ = 0;
  const size_t mask = slots_.size() - 1;
  constexpr size_t kAhead = 16;
  for (size_t i = 0; i < old.size(); ++i) {
    if (i + kAhead < old.size() && old[i + kAhead])
      __builtin_prefetch(&slots_[old[i + kAhead] & mask]);
    if (old[i]) Insert(old[i]);
  }
}

void DistinctCounter::HllAdd(uint64_t h) {
  size_t idx = h >> (64 - kHllBits);
  uint64_t rest = (h << kHllBits) | (uint64_t{1} << (kHllBits - 1));
  uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  if (rank > hll_[idx]) hll_[idx] = rank;
}

void DistinctCounter::ToHll() {
  hll_.assign(kHllRegisters, 0);
  for (uint64_t h : slots_) {
    if (h) HllAdd(h);
  }
  slots_.clear();
  slots_.shrink_to_fit();
  size_ = 0;
}

void DistinctCounter::Merge(const DistinctCounter& o) {
  Flush();
  o.Flush();
  if (o.hll_.empty() && hll_.empty()) {
    if (size_ + o.size_ <= cap_) {
      for (uint64_t h : o.slots_) {
        if (h) Insert(h);
      }
      return;
    }
  }
  if (hll_.empty()) ToHll();
  if (o.hll_.empty()) {
    for (uint64_t h : o.slots_) {
      if (h) HllAdd(h);
    }
  } else {
    for (size_t i = 0; i < kHllRegisters; ++i) hll_[i] = std::max(hll_[i], o.hll_[i]);
  }
}

uint64_t DistinctCounter::Count() const {
  Flush();
  if (hll_.empty()) return size_;
  double m = static_cast<double>(kHllRegisters);
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : hll_) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  double alpha = 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros) e = m * std::log(m / static_cast<double>(zeros));
  return static_cast<uint64_t>(std::llround(e));
}

void ColumnStats::Merge(const ColumnStats& o) {
  values += o.values;
  non_empty += o.non_empty;
  bytes += o.bytes;
  text_cells += o.text_cells;
  cells_with_embedded += o.cells_with_embedded;
  for (size_t i = 0; i < strong.size(); ++i) {
    strong[i] += o.strong[i];
    weak[i] += o.weak[i];
    embedded[i] += o.embedded[i];
    if (!o.examples[i].empty()) {
      // The three from the earliest chunks (a chunk is scanned by one thread, in row order).
      std::vector<std::pair<uint64_t, std::string>> all;
      for (size_t k = 0; k < examples[i].size(); ++k)
        all.emplace_back(example_chunks[i][k], std::move(examples[i][k]));
      for (size_t k = 0; k < o.examples[i].size(); ++k)
        all.emplace_back(o.example_chunks[i][k], o.examples[i][k]);
      std::stable_sort(all.begin(), all.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      examples[i].clear();
      example_chunks[i].clear();
      for (size_t k = 0; k < all.size() && k < 3; ++k) AddExample(i, all[k].first, all[k].second);
    }
    distinct[i].Merge(o.distinct[i]);
  }
  if (o.years) {
    min_year = years ? std::min(min_year, o.min_year) : o.min_year;
    max_year = years ? std::max(max_year, o.max_year) : o.max_year;
  }
  year_sum += o.year_sum;
  years += o.years;
}

}  // namespace kexin::scan
