#include "scan/column_stats.h"

#include <algorithm>
#include <cmath>
#include <memory>

namespace kexin::scan {
namespace {
constexpr int kHllBits = 14;
constexpr size_t kHllRegisters = size_t{1} << kHllBits;
constexpr size_t kMinLimit = size_t{1} << 16;
}  // namespace

void DistinctCounter::Compact() const {
  if (!hll_.empty() || hashes_.size() == unique_) return;
  const size_t n = hashes_.size();
  // Partition by the top `bits` bits into runs of about 1024 hashes (a counting pass, then a
  // scatter into a second array), then de-duplicate each run through a small open-addressing table
  // indexed by the low bits; distinct hashes are written back to hashes_ run by run.
  int bits = 0;
  while (bits < 20 && (n >> bits) > 1024) ++bits;
  const size_t runs = size_t{1} << bits;
  const int shift = 64 - bits;
  auto run_of = [&](uint64_t h) { return bits == 0 ? size_t{0} : static_cast<size_t>(h >> shift); };
  std::vector<size_t> start(runs + 1, 0);
  for (uint64_t h : hashes_) ++start[run_of(h) + 1];
  size_t largest = 0;
  for (size_t r = 0; r < runs; ++r) {
    largest = std::max(largest, start[r + 1]);
    start[r + 1] += start[r];
  }
  // Not value-initialised: every slot is written by the scatter.
  std::unique_ptr<uint64_t[]> sorted(new uint64_t[n]);
  {
    std::vector<size_t> next(start.begin(), start.end() - 1);
    for (uint64_t h : hashes_) sorted[next[run_of(h)]++] = h;
  }
  size_t table_size = 16;
  while (table_size < 2 * largest) table_size *= 2;
  std::vector<uint64_t> table(table_size, 0);  // 0 is never a hash: Mix(x) == 0 is stored as 1
  size_t out = 0;
  for (size_t r = 0; r < runs; ++r) {
    const size_t b = start[r], e = start[r + 1];
    size_t size = 16;
    while (size < 2 * (e - b)) size *= 2;
    const size_t mask = size - 1;
    for (size_t i = b; i < e; ++i) {
      uint64_t h = sorted[i] == 0 ? 1 : sorted[i];
      for (size_t j = h & mask;; j = (j + 1) & mask) {
        if (table[j] == h) break;
        if (table[j] == 0) {
          table[j] = h;
          hashes_[out++] = h;
          break;
        }
      }
    }
    std::fill(table.begin(), table.begin() + static_cast<std::ptrdiff_t>(size), 0);
  }
  hashes_.resize(out);
  unique_ = out;
  if (unique_ > cap_) {
    ToHll();
    return;
  }
  limit_ = std::max(kMinLimit, 2 * unique_ + 1);
  hashes_.reserve(limit_);
}

bool DistinctCounter::exact() const {
  Compact();
  return hll_.empty();
}

void DistinctCounter::HllAdd(uint64_t h) const {
  size_t idx = h >> (64 - kHllBits);
  uint64_t rest = (h << kHllBits) | (uint64_t{1} << (kHllBits - 1));
  uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  if (rank > hll_[idx]) hll_[idx] = rank;
}

void DistinctCounter::ToHll() const {
  hll_.assign(kHllRegisters, 0);
  for (uint64_t h : hashes_) HllAdd(h);
  hashes_.clear();
  hashes_.shrink_to_fit();
  unique_ = 0;
}

void DistinctCounter::Merge(const DistinctCounter& o) {
  if (hll_.empty() && o.hll_.empty()) {
    hashes_.insert(hashes_.end(), o.hashes_.begin(), o.hashes_.end());
    Compact();
    return;
  }
  if (hll_.empty()) ToHll();
  if (o.hll_.empty()) {
    for (uint64_t h : o.hashes_) HllAdd(h);
  } else {
    for (size_t i = 0; i < kHllRegisters; ++i) hll_[i] = std::max(hll_[i], o.hll_[i]);
  }
}

uint64_t DistinctCounter::Count() const {
  Compact();
  if (hll_.empty()) return unique_;
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
