// Per-column evidence gathered while scanning, mergeable across worker threads, and the counter of
// distinct values used to count individuals. Thread-safety: not thread-safe; each worker owns its
// own and the scanner merges them at the end.
#ifndef KEXIN_SCAN_COLUMN_STATS_H_
#define KEXIN_SCAN_COLUMN_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace kexin::scan {

// Exact distinct count (open addressing over 64-bit hashes) up to `cap` values, then a HyperLogLog
// estimate (2^14 registers, about 0.8% standard error). Memory: a power-of-two table kept at most
// half full, so 16-32 bytes per value and at most 16 * cap bytes (64 MiB at the default cap of
// 4 million) per counter per thread; 16 KiB once it has switched to HyperLogLog.
class DistinctCounter {
 public:
  explicit DistinctCounter(uint64_t cap = uint64_t{1} << 22) : cap_(cap) {}
  // Adds are buffered and applied in batches with prefetching, which hides the cache misses of a
  // large table; Count, Merge and exact flush first.
  void Add(uint64_t hash) {
    pending_[npending_++] = hash;
    if (npending_ == kBatch) Flush();
  }
  void Merge(const DistinctCounter& other);
  uint64_t Count() const;
  bool exact() const;

 private:
  static constexpr size_t kBatch = 32;
  void Flush() const;
  void AddMixed(uint64_t mixed);
  void Insert(uint64_t h);
  void Grow();
  void ToHll();
  void HllAdd(uint64_t h);
  uint64_t cap_;
  uint64_t size_ = 0;
  std::vector<uint64_t> slots_;
  std::vector<uint8_t> hll_;
  uint64_t pending_[kBatch];
  size_t npending_ = 0;
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
