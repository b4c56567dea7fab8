#include "scan/column_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>

namespace kexin::scan {
namespace {

TEST(DistinctCounterTest, CountsEachValueOnceThroughManyCompactions) {
  DistinctCounter c;
  // 300,000 distinct values, each added three times in a scattered order: several compactions,
  // each of which must keep what earlier ones kept.
  for (int round = 0; round < 3; ++round) {
    for (uint64_t i = 0; i < 300000; ++i) c.Add((i * 7919 + static_cast<uint64_t>(round)) % 300000);
  }
  EXPECT_EQ(c.Count(), 300000u);
  EXPECT_TRUE(c.exact());
  c.Add(300000);  // one more after a count
  EXPECT_EQ(c.Count(), 300001u);
  EXPECT_EQ(c.Count(), 300001u);  // counting twice changes nothing
}

TEST(DistinctCounterTest, SmallAndEmpty) {
  DistinctCounter c;
  EXPECT_EQ(c.Count(), 0u);
  EXPECT_TRUE(c.exact());
  for (int i = 0; i < 1000; ++i) c.Add(42);
  EXPECT_EQ(c.Count(), 1u);
  c.Add(0);  // a hash of zero is a value like any other
  EXPECT_EQ(c.Count(), 2u);
}

TEST(DistinctCounterTest, ExactUpToTheCapThenAnEstimate) {
  DistinctCounter at_cap(100000);
  for (uint64_t i = 0; i < 100000; ++i) at_cap.Add(i);
  for (uint64_t i = 0; i < 100000; ++i) at_cap.Add(i);  // repeats do not count against the cap
  EXPECT_EQ(at_cap.Count(), 100000u);
  EXPECT_TRUE(at_cap.exact());

  DistinctCounter over(100000);
  for (uint64_t i = 0; i < 400000; ++i) over.Add(i);
  EXPECT_FALSE(over.exact());
  const double n = static_cast<double>(over.Count());
  EXPECT_NEAR(n, 400000.0, 400000.0 * 0.03);          // 2^14 registers: about 0.8% standard error
  for (uint64_t i = 0; i < 400000; ++i) over.Add(i);  // adds after the switch go to the sketch
  EXPECT_NEAR(static_cast<double>(over.Count()), n, 1.0);
}

TEST(DistinctCounterTest, MergeIsTheUnion) {
  DistinctCounter a, b;
  for (uint64_t i = 0; i < 200000; ++i) a.Add(i);
  for (uint64_t i = 100000; i < 350000; ++i) b.Add(i);
  a.Merge(b);
  EXPECT_EQ(a.Count(), 350000u);
  EXPECT_TRUE(a.exact());

  // Two exact halves whose union passes the cap merge into an estimate.
  DistinctCounter c(150000), d(150000);
  for (uint64_t i = 0; i < 100000; ++i) c.Add(i);
  for (uint64_t i = 100000; i < 200000; ++i) d.Add(i);
  c.Merge(d);
  EXPECT_FALSE(c.exact());
  EXPECT_NEAR(static_cast<double>(c.Count()), 200000.0, 200000.0 * 0.03);

  // The union passes the cap early in the merge: what comes after the switch still counts.
  DistinctCounter h(100000), k;
  for (uint64_t i = 0; i < 99000; ++i) h.Add(i);
  EXPECT_TRUE(h.exact());
  for (uint64_t i = 99000; i < 399000; ++i) k.Add(i % 100000 + (i / 100000) * 1000000);
  EXPECT_TRUE(k.exact());
  h.Merge(k);
  EXPECT_FALSE(h.exact());
  EXPECT_NEAR(static_cast<double>(h.Count()), 399000.0, 399000.0 * 0.03);

  // An estimate merged with an exact set, and with another estimate.
  DistinctCounter e(1000), f, g(1000);
  for (uint64_t i = 0; i < 50000; ++i) e.Add(i);
  for (uint64_t i = 50000; i < 60000; ++i) f.Add(i);
  for (uint64_t i = 0; i < 80000; ++i) g.Add(i);
  e.Merge(f);
  EXPECT_NEAR(static_cast<double>(e.Count()), 60000.0, 60000.0 * 0.03);
  e.Merge(g);
  EXPECT_NEAR(static_cast<double>(e.Count()), 80000.0, 80000.0 * 0.03);
}

TEST(DistinctCounterTest, RandomHashesAgreeWithASet) {
  std::mt19937_64 rng(7);
  DistinctCounter c;
  std::vector<uint64_t> seen;
  for (int i = 0; i < 500000; ++i) {
    uint64_t v = rng() % 250000;  // about 216,000 distinct
    seen.push_back(v);
    c.Add(v);
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(c.Count(), seen.size());
}

}  // namespace
}  // namespace kexin::scan
