// Per-column evidence gathered while scanning, mergeable across worker threads, and the counter of
// distinct values used to count individuals. Thread-safety: not thread-safe; each worker owns its
// own and the scanner merges them at the end.
#ifndef KEXIN_SCAN_COLUMN_STATS_H_
#define KEXIN_SCAN_COLUMN_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace kexin::scan {

// Exact distinct count (a set of 64-bit hashes) up to `cap` distinct values, then a HyperLogLog
// estimate (2^14 registers, about 0.8% standard error).
//
// Adds are appended to a plain array, with no lookup; when it holds twice as many hashes as the
// last count of distinct ones (at least 2^16), it is compacted: the hashes are partitioned by their
// top bits into runs of about a thousand, and each run is de-duplicated in a table that fits in the
// L1 cache. A scan of millions of distinct identifiers thus costs a few sequential passes instead
// of a cache miss per value. When a compaction finds more than `cap` distinct hashes, the counter
// switches to the sketch, and later adds go straight to it.
// Memory: 8 bytes per appended hash, at most 2 * max(distinct, 2^16) + 1 of them (64 MiB at the
// default cap of 4 million), plus as much again while a compaction runs; 16 KiB once switched.
class DistinctCounter {
 public:
  explicit DistinctCounter(uint64_t cap = uint64_t{1} << 22) : cap_(cap) {}
  void Add(uint64_t hash) {
    uint64_t h = Mix(hash);
    if (!hll_.empty()) {
      HllAdd(h);
      return;
    }
    hashes_.push_back(h);
    if (hashes_.size() >= limit_) Compact();
  }
  void Merge(const DistinctCounter& other);
  uint64_t Count() const;
  bool exact() const;

 private:
  static uint64_t Mix(uint64_t h) {  // splitmix64 finaliser: spreads std::hash output
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
  }
  // Leaves hashes_ holding each distinct hash once, or switches to the sketch past the cap.
  // Logically const: pending hashes are part of the counter's state.
  void Compact() const;
  void ToHll() const;
  void HllAdd(uint64_t h) const;
  uint64_t cap_;
  mutable std::vector<uint64_t> hashes_;  // distinct up to `unique_`, then appended
  mutable size_t unique_ = 0;             // hashes_[0, unique_) are distinct
  mutable size_t limit_ = size_t{1} << 16;
  mutable std::vector<uint8_t> hll_;
};

struct ColumnStats {
  explicit ColumnStats(size_t categories = 0)
      : strong(categories),
        weak(categories),
        embedded(categories),
        examples(categories),
        example_chunks(categories),
        distinct(categories) {}
  // Keeps `value` as an example of `category` if fewer than 3 are kept; `chunk` is the index of the
  // chunk it came from, so that Merge keeps the file's first examples whichever thread scanned
  // which chunk.
  void AddExample(size_t category, uint64_t chunk, std::string value) {
    if (examples[category].size() >= 3) return;
    examples[category].push_back(std::move(value));
    example_chunks[category].push_back(chunk);
  }
  uint64_t values = 0;     // cells seen
  uint64_t non_empty = 0;  // cells with something other than spaces
  uint64_t bytes = 0;
  std::vector<uint64_t> strong, weak;  // per category
  std::vector<uint64_t> embedded;      // identifiers found inside text, per category
  uint64_t text_cells = 0;             // cells searched for embedded identifiers
  uint64_t cells_with_embedded = 0;
  std::vector<std::vector<std::string>> examples;     // up to 3 masked examples per category
  std::vector<std::vector<uint64_t>> example_chunks;  // the chunk of each example
  std::vector<DistinctCounter> distinct;              // categories that count individuals
  int min_year = 0, max_year = 0;                     // over weak date matches
  uint64_t year_sum = 0, years = 0;

  void Merge(const ColumnStats& other);
};

}  // namespace kexin::scan

#endif  // KEXIN_SCAN_COLUMN_STATS_H_
