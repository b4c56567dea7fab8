// Store tests, run against both backends: SQLite (a temp file) and PostgreSQL (env
// KEXIN_TEST_PG_URL, each test in a fresh schema). Without KEXIN_TEST_PG_URL the PostgreSQL cases
// are skipped, or fail when KEXIN_REQUIRE_PG=1.
#include "store/store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/test_database.h"

namespace kexin::store {
namespace {

// A fresh database for one test: a temp SQLite file or a new PostgreSQL schema.
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_.Create(GetParam(), "kx_store_");
    if (IsSkipped() || HasFatalFailure()) return;
    url_ = db_.url();
  }

  void TearDown() override { db_.Drop(); }

  std::unique_ptr<Store> OpenStore() {
    auto s = Store::Open(url_);
    EXPECT_TRUE(s.ok()) << url_ << ": " << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // A table exercising every value kind.
  static Status CreateValues(Store* s) {
    return s->Exec("CREATE TABLE vals (id BIGINT PRIMARY KEY, n BIGINT, s TEXT)");
  }

  static int64_t Count(Store* s, const std::string& table) {
    auto rows = s->Query("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok() || rows->size() != 1) return -1;
    return AsInt((*rows)[0][0]);
  }

  std::string url_;
  TestDatabase db_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST(StoreOpenTest, UnknownSchemeIsInvalidArgument) {
  for (const char* url : {"", "mysql://root@localhost/db", "/tmp/node.db", "SQLITE:/tmp/x.db",
                          "file:/tmp/x.db", "postgresq://x"}) {
    auto s = Store::Open(url);
    ASSERT_FALSE(s.ok()) << url;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument)
        << url << ": " << s.status().ToString();
  }
}

TEST(StoreOpenTest, UnreachablePostgresIsIoError) {
  // Port 1 on loopback: connection refused at once.
  for (const char* url : {"postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=3",
                          "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=3"}) {
    auto s = Store::Open(url);
    ASSERT_FALSE(s.ok()) << url;
    EXPECT_EQ(s.status().code(), StatusCode::kIoError) << s.status().ToString();
    EXPECT_NE(s.status().message().find("postgresql"), std::string::npos) << s.status().ToString();
  }
}

TEST(StoreOpenTest, SqliteInMissingDirectoryIsIoError) {
  auto s = Store::Open("sqlite:" + ::testing::TempDir() + "/no-such-dir-kx/sub/node.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kIoError) << s.status().ToString();
}

TEST_P(StoreTest, BackendName) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->backend(), GetParam());
}

TEST_P(StoreTest, MigrateIsIdempotentAndVersionIncreases) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  auto v = s->SchemaVersion();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 0);

  std::vector<Migration> m = {{1, "CREATE TABLE a (x BIGINT)"}};
  ASSERT_TRUE(s->Migrate(m).ok());
  EXPECT_EQ(*s->SchemaVersion(), 1);
  // Again: migration 1 is not re-run (CREATE TABLE a would fail).
  Status again = s->Migrate(m);
  ASSERT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(*s->SchemaVersion(), 1);

  m.push_back({2, "CREATE TABLE b (y TEXT); INSERT INTO b (y) VALUES ('two');\n"});
  m.push_back({3, "  ;CREATE TABLE c (z BIGINT);;  "});
  ASSERT_TRUE(s->Migrate(m).ok());
  EXPECT_EQ(*s->SchemaVersion(), 3);
  ASSERT_TRUE(s->Migrate(m).ok());
  EXPECT_EQ(*s->SchemaVersion(), 3);
  EXPECT_EQ(Count(s.get(), "b"), 1);

  // A failing migration rolls back completely and leaves the version where it was.
  m.push_back({4, "CREATE TABLE d (w BIGINT); THIS IS NOT SQL"});
  Status bad = s->Migrate(m);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("migration 4"), std::string::npos) << bad.ToString();
  EXPECT_EQ(*s->SchemaVersion(), 3);
  EXPECT_FALSE(s->Query("SELECT COUNT(*) FROM d").ok()) << "table d survived a failed migration";

  // The version is persistent and seen by a second connection.
  auto s2 = OpenStore();
  ASSERT_TRUE(s2);
  EXPECT_EQ(*s2->SchemaVersion(), 3);
}

TEST_P(StoreTest, KexinMigrationsApplyTwice) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Migrate(KexinMigrations()).ok());
  int v = *s->SchemaVersion();
  EXPECT_EQ(v, KexinMigrations().back().version);
  ASSERT_TRUE(s->Migrate(KexinMigrations()).ok());
  EXPECT_EQ(*s->SchemaVersion(), v);
  for (const char* t : {"meta", "ledger_entries", "ledger_checkpoints", "registrations"}) {
    EXPECT_EQ(Count(s.get(), t), 0) << t;
  }
}

TEST_P(StoreTest, ValuesRoundTrip) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  ASSERT_TRUE(CreateValues(s.get()).ok());
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const std::vector<Value> ints = {
      int64_t{0}, int64_t{1}, int64_t{-1},      int64_t{-42},
      kMax,       kMin,       int64_t{1} << 53, -(int64_t{1} << 53) - 1};
  const std::vector<std::string> texts = {
      "",
      "plain",
      "数据空间 可信 ✓ Ünïcödé 🚀",
      "it's \"quoted\" '' \\ back\\slash",
      "'); DROP TABLE vals; --",
      "tab\tnew\nline\r\nend",
      "$1 $2 ?1 ? :a @b",
      std::string(100000, 'x'),
  };
  int64_t id = 0;
  for (const Value& n : ints) {
    ASSERT_TRUE(
        s->Exec("INSERT INTO vals (id, n, s) VALUES ($1, $2, $3)", {id++, n, Value{}}).ok());
  }
  for (const std::string& t : texts) {
    Status st = s->Exec("INSERT INTO vals (id, n, s) VALUES ($1, $2, $3)", {id++, Value{}, t});
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto rows = s->Query("SELECT id, n, s FROM vals ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), ints.size() + texts.size());
  for (size_t i = 0; i < rows->size(); ++i) {
    const Row& r = (*rows)[i];
    ASSERT_EQ(r.size(), 3u);
    ASSERT_TRUE(std::holds_alternative<int64_t>(r[0])) << i;
    EXPECT_EQ(std::get<int64_t>(r[0]), static_cast<int64_t>(i));
    if (i < ints.size()) {
      ASSERT_TRUE(std::holds_alternative<int64_t>(r[1])) << i;
      EXPECT_EQ(std::get<int64_t>(r[1]), std::get<int64_t>(ints[i]));
      EXPECT_TRUE(std::holds_alternative<std::monostate>(r[2]))
          << "NULL text came back non-NULL, row " << i;
    } else {
      EXPECT_TRUE(std::holds_alternative<std::monostate>(r[1]))
          << "NULL int came back non-NULL, row " << i;
      ASSERT_TRUE(std::holds_alternative<std::string>(r[2]))
          << "text came back as another kind, row " << i;
      EXPECT_EQ(std::get<std::string>(r[2]), texts[i - ints.size()]) << "row " << i;
    }
  }
  // Parameters in WHERE clauses match byte for byte.
  for (const std::string& t : texts) {
    auto hit = s->Query("SELECT id FROM vals WHERE s = $1", {t});
    ASSERT_TRUE(hit.ok());
    EXPECT_EQ(hit->size(), 1u) << t.substr(0, 40);
  }
  auto max = s->Query("SELECT id FROM vals WHERE n = $1", {kMax});
  ASSERT_TRUE(max.ok());
  ASSERT_EQ(max->size(), 1u);
  EXPECT_EQ(AsInt((*max)[0][0]), 4);
  // NULL compares as unknown: no rows.
  auto null = s->Query("SELECT id FROM vals WHERE n = $1", {Value{}});
  ASSERT_TRUE(null.ok());
  EXPECT_TRUE(null->empty());
  auto is_null = s->Query("SELECT COUNT(*) FROM vals WHERE n IS NULL");
  ASSERT_TRUE(is_null.ok());
  EXPECT_EQ(AsInt((*is_null)[0][0]), static_cast<int64_t>(texts.size()));
}

TEST_P(StoreTest, DollarSignInSqlLiteralIsKept) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  ASSERT_TRUE(CreateValues(s.get()).ok());
  // Only placeholders are translated; a '$' inside a string literal is data.
  ASSERT_TRUE(s->Exec("INSERT INTO vals (id, n, s) VALUES ($1, $2, 'US$5 and $1')",
                      {int64_t{1}, int64_t{5}})
                  .ok());
  auto rows = s->Query("SELECT s FROM vals WHERE id = $1", {int64_t{1}});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(AsText((*rows)[0][0]), "US$5 and $1");
}

TEST_P(StoreTest, PlaceholdersByNumber) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  ASSERT_TRUE(CreateValues(s.get()).ok());
  // Out of order and reused: $3 -> id, $1 -> n, $2 -> s.
  ASSERT_TRUE(s->Exec("INSERT INTO vals (id, n, s) VALUES ($3, $1, $2)",
                      {int64_t{-7}, std::string("seven"), int64_t{7}})
                  .ok());
  ASSERT_TRUE(
      s->Exec("INSERT INTO vals (id, n, s) VALUES ($1, $1, $2)", {int64_t{8}, std::string("eight")})
          .ok());
  auto rows = s->Query("SELECT id, n, s FROM vals WHERE id = $2 OR (n = $1 AND s = $3) ORDER BY id",
                       {int64_t{-7}, int64_t{8}, std::string("seven")});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(AsInt((*rows)[0][0]), 7);
  EXPECT_EQ(AsInt((*rows)[0][1]), -7);
  EXPECT_EQ(AsText((*rows)[0][2]), "seven");
  EXPECT_EQ(AsInt((*rows)[1][0]), 8);
  EXPECT_EQ(AsInt((*rows)[1][1]), 8);
  EXPECT_EQ(AsText((*rows)[1][2]), "eight");
  // The same statement again with other values (SQLite caches prepared statements).
  for (int64_t i = 100; i < 110; ++i) {
    ASSERT_TRUE(
        s->Exec("INSERT INTO vals (id, n, s) VALUES ($3, $1, $2)", {i * 2, std::to_string(i), i})
            .ok());
  }
  auto r = s->Query("SELECT n, s FROM vals WHERE id = $1", {int64_t{105}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(AsInt((*r)[0][0]), 210);
  EXPECT_EQ(AsText((*r)[0][1]), "105");
}

TEST_P(StoreTest, ConstraintViolationIsFailedPrecondition) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Exec("CREATE TABLE u (k TEXT PRIMARY KEY, v TEXT NOT NULL)").ok());
  ASSERT_TRUE(
      s->Exec("INSERT INTO u (k, v) VALUES ($1, $2)", {std::string("a"), std::string("1")}).ok());
  Status dup =
      s->Exec("INSERT INTO u (k, v) VALUES ($1, $2)", {std::string("a"), std::string("2")});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.code(), StatusCode::kFailedPrecondition) << dup.ToString();
  Status null = s->Exec("INSERT INTO u (k, v) VALUES ($1, $2)", {std::string("b"), Value{}});
  ASSERT_FALSE(null.ok());
  EXPECT_EQ(null.code(), StatusCode::kFailedPrecondition) << null.ToString();
  // The store stays usable and the first row is unchanged.
  ASSERT_TRUE(
      s->Exec("INSERT INTO u (k, v) VALUES ($1, $2)", {std::string("c"), std::string("3")}).ok());
  auto rows = s->Query("SELECT v FROM u WHERE k = $1", {std::string("a")});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(AsText((*rows)[0][0]), "1");
  EXPECT_EQ(Count(s.get(), "u"), 2);
}

TEST_P(StoreTest, SyntaxErrorIsAnErrorNotACrash) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  auto r = s->Query("SELEKT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.status().message().empty());
  EXPECT_FALSE(s->Query("SELECT * FROM no_such_table").ok());
  EXPECT_TRUE(s->Query("SELECT 1").ok());
}

TEST_P(StoreTest, RollbackDiscardsCommitKeeps) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  ASSERT_TRUE(CreateValues(s.get()).ok());
  ASSERT_TRUE(s->Begin().ok());
  for (int64_t i = 0; i < 5; ++i)
    ASSERT_TRUE(s->Exec("INSERT INTO vals (id) VALUES ($1)", {i}).ok());
  EXPECT_EQ(Count(s.get(), "vals"), 5);  // visible inside the transaction
  ASSERT_TRUE(s->Rollback().ok());
  EXPECT_EQ(Count(s.get(), "vals"), 0);

  ASSERT_TRUE(s->Begin().ok());
  for (int64_t i = 10; i < 13; ++i)
    ASSERT_TRUE(s->Exec("INSERT INTO vals (id) VALUES ($1)", {i}).ok());
  ASSERT_TRUE(s->Commit().ok());
  EXPECT_EQ(Count(s.get(), "vals"), 3);
  // Committed rows are visible to another connection.
  auto other = OpenStore();
  ASSERT_TRUE(other);
  EXPECT_EQ(Count(other.get(), "vals"), 3);

  // An uncommitted transaction is invisible to another connection, and lost when its store closes.
  ASSERT_TRUE(s->Begin().ok());
  ASSERT_TRUE(s->Exec("INSERT INTO vals (id) VALUES ($1)", {int64_t{99}}).ok());
  EXPECT_EQ(Count(other.get(), "vals"), 3);
  s.reset();
  EXPECT_EQ(Count(other.get(), "vals"), 3);
  auto again = OpenStore();
  ASSERT_TRUE(again);
  EXPECT_EQ(Count(again.get(), "vals"), 3);
}

// Commit() returning OK means the transaction's writes are durable (store.h). A failed statement
// inside a transaction may abort it (PostgreSQL) or not (SQLite), but Commit must never report
// success for writes it discarded.
TEST_P(StoreTest, CommitAfterFailedStatementNeverLies) {
  auto s = OpenStore();
  ASSERT_TRUE(s);
  ASSERT_TRUE(CreateValues(s.get()).ok());
  ASSERT_TRUE(s->Exec("INSERT INTO vals (id) VALUES ($1)", {int64_t{1}}).ok());
  ASSERT_TRUE(s->Begin().ok());
  ASSERT_TRUE(s->Exec("INSERT INTO vals (id) VALUES ($1)", {int64_t{2}}).ok());
  Status dup = s->Exec("INSERT INTO vals (id) VALUES ($1)", {int64_t{1}});
  ASSERT_EQ(dup.code(), StatusCode::kFailedPrecondition) << dup.ToString();
  Status commit = s->Commit();
  auto other = OpenStore();
  ASSERT_TRUE(other);
  auto rows = other->Query("SELECT COUNT(*) FROM vals WHERE id = $1", {int64_t{2}});
  ASSERT_TRUE(rows.ok());
  if (commit.ok()) {
    EXPECT_EQ(AsInt((*rows)[0][0]), 1) << "Commit() returned OK but the row written before the "
                                          "failed statement is gone";
  } else {
    EXPECT_EQ(AsInt((*rows)[0][0]), 0);
    s->Rollback().IgnoreError();
  }
  // Either way the store is usable afterwards.
  ASSERT_TRUE(s->Exec("INSERT INTO vals (id) VALUES ($1)", {int64_t{3}}).ok());
  EXPECT_EQ(Count(other.get(), "vals WHERE id = 3"), 1);
}

TEST_P(StoreTest, ReopenKeepsData) {
  {
    auto s = OpenStore();
    ASSERT_TRUE(s);
    ASSERT_TRUE(
        s->Migrate({{1, "CREATE TABLE vals (id BIGINT PRIMARY KEY, n BIGINT, s TEXT)"}}).ok());
    ASSERT_TRUE(s->Begin().ok());
    for (int64_t i = 0; i < 100; ++i) {
      ASSERT_TRUE(s->Exec("INSERT INTO vals (id, n, s) VALUES ($1, $2, $3)",
                          {i, -i, "行 " + std::to_string(i)})
                      .ok());
    }
    ASSERT_TRUE(s->Commit().ok());
    ASSERT_TRUE(s->Exec("INSERT INTO vals (id, n, s) VALUES ($1, $2, $3)",
                        {int64_t{100}, Value{}, std::string("autocommit")})
                    .ok());
  }
  auto s = OpenStore();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->SchemaVersion(), 1);
  EXPECT_EQ(Count(s.get(), "vals"), 101);
  auto rows = s->Query("SELECT n, s FROM vals WHERE id = $1", {int64_t{42}});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(AsInt((*rows)[0][0]), -42);
  EXPECT_EQ(AsText((*rows)[0][1]), "行 42");
  auto last = s->Query("SELECT n, s FROM vals WHERE id = $1", {int64_t{100}});
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>((*last)[0][0]));
  EXPECT_EQ(AsText((*last)[0][1]), "autocommit");
}

// In one process, SQLite writers to the same file take turns on the store's write gate: the next
// BEGIN starts as soon as the holder commits (SQLite's busy handler would be in a nap from 228 ms
// to 328 ms at that point), and a transaction begun on one thread may be committed on another.
TEST_P(StoreTest, SqliteWritersInOneProcessTakeTurnsWithoutNapping) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the gate is SQLite's";
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(CreateValues(a.get()).ok());
  using Clock = std::chrono::steady_clock;
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(a->Begin().ok());
    ASSERT_TRUE(a->Exec("INSERT INTO vals (id, n, s) VALUES ($1, 1, 'a')", {int64_t{round}}).ok());
    // BEGIN inside the open transaction fails and must not release the gate it holds.
    EXPECT_FALSE(a->Begin().ok());
    Clock::time_point committed;
    std::thread committer([&] {  // commits a's transaction from another thread after 240 ms
      std::this_thread::sleep_for(std::chrono::milliseconds(240));
      committed = Clock::now();
      EXPECT_TRUE(a->Commit().ok());
    });
    const auto asked = Clock::now();
    ASSERT_TRUE(b->Begin().ok());
    const auto got = Clock::now();
    committer.join();
    EXPECT_GE(got - asked, std::chrono::milliseconds(200)) << "b began while a held the file";
    EXPECT_LT(got - committed, std::chrono::milliseconds(25))
        << "b's BEGIN should start as soon as a commits";
    ASSERT_TRUE(
        b->Exec("INSERT INTO vals (id, n, s) VALUES ($1, 2, 'b')", {int64_t{100 + round}}).ok());
    ASSERT_TRUE(b->Commit().ok());
  }
  EXPECT_EQ(Count(a.get(), "vals"), 6);
  // A rolled-back transaction frees the gate too.
  ASSERT_TRUE(a->Begin().ok());
  ASSERT_TRUE(a->Rollback().ok());
  ASSERT_TRUE(b->Begin().ok());
  ASSERT_TRUE(b->Commit().ok());
}

// The batching WAL VFS (sqlite_vfs.h) under several writers and readers in one process: every
// committed row is there and nothing else, across rollbacks, checkpoints, transactions larger than
// one 64 KiB write (and than SQLite's 128 KiB limit per write) and a memory-mapped connection.
TEST_P(StoreTest, BatchedWalKeepsEveryCommitAndNothingElse) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the VFS is SQLite's";
  auto setup = OpenStore();
  ASSERT_TRUE(setup);
  ASSERT_TRUE(setup->Exec("CREATE TABLE rows_ (id INTEGER PRIMARY KEY, t BIGINT, v TEXT)").ok());
  constexpr int kThreads = 4, kTxns = 60;
  std::vector<int64_t> committed(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto st = OpenStore();
      ASSERT_TRUE(st);
      if (t == 0) {
        ASSERT_TRUE(st->Exec("PRAGMA mmap_size = 268435456").ok());
      }
      const std::string v(3000 + 2000 * t, static_cast<char>('a' + t));  // up to 3 pages a row
      for (int i = 0; i < kTxns; ++i) {
        ASSERT_TRUE(st->Begin().ok());
        const int rows = 10 + 5 * (i % 4);  // 30 KB to 225 KB of pages
        for (int j = 0; j < rows; ++j) {
          ASSERT_TRUE(st->Exec("INSERT INTO rows_ (t, v) VALUES ($1, $2)", {int64_t{t}, v}).ok());
        }
        if (i % 5 == 2) {
          ASSERT_TRUE(st->Rollback().ok());
        } else {
          ASSERT_TRUE(st->Commit().ok());
          committed[t] += rows;
        }
        auto n = st->Query("SELECT COUNT(*) FROM rows_ WHERE t = $1", {int64_t{t}});
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        EXPECT_EQ(AsInt((*n)[0][0]), committed[t]);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto fresh = OpenStore();
  ASSERT_TRUE(fresh);
  for (int t = 0; t < kThreads; ++t) {
    auto n = fresh->Query("SELECT COUNT(*), MIN(LENGTH(v)), MAX(LENGTH(v)) FROM rows_ WHERE t = $1",
                          {int64_t{t}});
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(AsInt((*n)[0][0]), committed[t]) << "thread " << t;
    EXPECT_EQ(AsInt((*n)[0][1]), 3000 + 2000 * t);
    EXPECT_EQ(AsInt((*n)[0][2]), 3000 + 2000 * t);
  }
  ASSERT_TRUE(fresh->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  auto check = fresh->Query("PRAGMA integrity_check");
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(AsText((*check)[0][0]), "ok");
  // Batches are only safe while every commit syncs: lowering synchronous is refused.
  Status lowered = fresh->Exec("PRAGMA synchronous=NORMAL");
  EXPECT_FALSE(lowered.ok());
  EXPECT_NE(lowered.message().find("synchronous=FULL"), std::string::npos) << lowered.ToString();
  EXPECT_FALSE(fresh->Exec("PRAGMA synchronous=1").ok());
  EXPECT_TRUE(fresh->Exec("PRAGMA synchronous=FULL").ok());
  auto sync = fresh->Query("PRAGMA synchronous");
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(AsInt((*sync)[0][0]), 2);
}

}  // namespace
}  // namespace kexin::store
