// The node's per-year counters on both store backends (SQLite; PostgreSQL with KEXIN_TEST_PG_URL).
#include "outbound/counters.h"

#include <gtest/gtest.h>

#include "store/test_database.h"

namespace kexin::outbound {
namespace {

class CountersTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_.Create(GetParam(), "outbound");
    if (IsSkipped() || HasFatalFailure()) return;
    auto s = store::Store::Open(db_.url());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_TRUE(store_->Migrate(store::KexinMigrations()).ok());
  }
  void TearDown() override {
    store_.reset();
    db_.Drop();
  }
  store::TestDatabase db_;
  std::unique_ptr<store::Store> store_;
};

TransferRecord Rec(const std::string& id, const std::string& handler, int year,
                   const std::string& basis, uint64_t people, uint64_t sensitive) {
  TransferRecord r;
  r.id = id;
  r.handler = handler;
  r.year = year;
  r.date = std::to_string(year) + "-03-01";
  r.basis = basis;
  r.route = "exempt";
  r.destination = "SG";
  r.people = people;
  r.sensitive_people = sensitive;
  return r;
}

TEST_P(CountersTest, AddsPerHandlerYearAndBasis) {
  ASSERT_TRUE(RecordTransfer(store_.get(), Rec("t1", "acme", 2026, "counted", 60000, 0)).ok());
  ASSERT_TRUE(RecordTransfer(store_.get(), Rec("t2", "acme", 2026, "counted", 39999, 40)).ok());
  ASSERT_TRUE(RecordTransfer(store_.get(), Rec("t3", "acme", 2026, "art5_1", 500000, 9000)).ok());
  ASSERT_TRUE(RecordTransfer(store_.get(), Rec("t4", "acme", 2025, "counted", 900000, 0)).ok());
  ASSERT_TRUE(RecordTransfer(store_.get(), Rec("t5", "other", 2026, "counted", 7, 7)).ok());

  auto c = ReadCounters(store_.get(), "acme", 2026);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->rows.size(), 2u);
  EXPECT_EQ(c->rows[0].basis, "art5_1");
  EXPECT_EQ(c->rows[1].basis, "counted");
  EXPECT_EQ(c->rows[1].transfers, 2u);
  EXPECT_EQ(c->rows[1].people, 99999u);
  EXPECT_EQ(c->rows[1].sensitive_people, 40u);

  // The setting decides whether exempt transfers count.
  HandlerSettings s;
  PriorCounts p = PriorFromCounters(*c, s);
  EXPECT_EQ(p.people, 99999u);
  EXPECT_EQ(p.sensitive_people, 40u);
  s.count_exempt_transfers = true;
  p = PriorFromCounters(*c, s);
  EXPECT_EQ(p.people, 599999u);
  EXPECT_EQ(p.sensitive_people, 9040u);

  // A new year starts from nothing.
  auto next = ReadCounters(store_.get(), "acme", 2027);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->rows.empty());
  EXPECT_EQ(PriorFromCounters(*next, s).people, 0u);
}

TEST_P(CountersTest, RejectsBadInputAndDuplicates) {
  EXPECT_EQ(RecordTransfer(store_.get(), Rec("a", "acme", 2026, "art5_4", 1, 0)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RecordTransfer(store_.get(), Rec("b", "acme", 1999, "counted", 1, 0)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RecordTransfer(store_.get(), Rec("c", "acme", 2026, "counted", UINT64_MAX, 0)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RecordTransfer(store_.get(), Rec("", "acme", 2026, "counted", 1, 0)).code(),
            StatusCode::kInvalidArgument);
  // The same transfer is counted once.
  ASSERT_TRUE(RecordTransfer(store_.get(), Rec("d", "acme", 2026, "counted", 5, 1)).ok());
  Status again = RecordTransfer(store_.get(), Rec("d", "acme", 2026, "counted", 5, 1));
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.message().find("already recorded"), std::string::npos) << again.message();
  auto c = ReadCounters(store_.get(), "acme", 2026);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->rows.size(), 1u);
  EXPECT_EQ(c->rows[0].people, 5u);
  EXPECT_EQ(c->rows[0].transfers, 1u);
}

TEST(CounterBasisTest, ExemptionsKeepTheirBasis) {
  EXPECT_EQ(CounterBasis("art4"), "art4");
  EXPECT_EQ(CounterBasis("art6"), "art6");
  EXPECT_EQ(CounterBasis("art5_4"), "counted");
  EXPECT_EQ(CounterBasis(""), "counted");
}

INSTANTIATE_TEST_SUITE_P(Backends, CountersTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kexin::outbound
