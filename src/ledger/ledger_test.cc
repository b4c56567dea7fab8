// Ledger tests, run against both store backends: SQLite (a temp file) and PostgreSQL (env
// KEXIN_TEST_PG_URL, each test in a fresh schema). Without KEXIN_TEST_PG_URL the PostgreSQL cases
// are skipped, or fail when KEXIN_REQUIRE_PG=1. Tampering goes through a separate Store handle on
// the same database, as an attacker with write access to it would.
#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "json/canonical.h"
#include "store/test_database.h"

namespace kexin::ledger {
namespace {

using store::Store;

// RFC 9162 2.1.1 MTH, computed naively from the entries: independent of MemoryTree.
Hash NaiveRoot(const std::vector<std::string>& entries, size_t begin, size_t end) {
  size_t n = end - begin;
  if (n == 0) return EmptyRoot();
  if (n == 1) return LeafHash(entries[begin]);
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return NodeHash(NaiveRoot(entries, begin, begin + k), NaiveRoot(entries, begin + k, end));
}

bool HasText(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

class LedgerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    key_ = crypto::SigningKey::Generate();
    options_.origin = "kexin.test/ledger-" + crypto::RandomToken(4);
    db_.Create(GetParam(), "kx_ledger_");
    if (IsSkipped() || HasFatalFailure()) return;
    url_ = db_.url();
  }

  void TearDown() override { db_.Drop(); }

  std::unique_ptr<Store> OpenStore() {
    auto s = Store::Open(url_);
    EXPECT_TRUE(s.ok()) << url_ << ": " << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  Result<std::unique_ptr<Ledger>> TryOpen() { return TryOpen(key_, options_); }
  Result<std::unique_ptr<Ledger>> TryOpen(const crypto::SigningKey& key, const LedgerOptions& o) {
    auto s = Store::Open(url_);
    if (!s.ok()) return s.status();
    return Ledger::Open(std::move(s).value(), key, o);
  }
  std::unique_ptr<Ledger> OpenLedger() {
    auto l = TryOpen();
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? std::move(l).value() : nullptr;
  }

  // Appends n entries with distinct bodies; returns their canonical texts.
  std::vector<std::string> AppendN(Ledger* l, int n, int start = 0) {
    std::vector<std::string> out;
    for (int i = start; i < start + n; ++i) {
      nlohmann::json body = {{"i", i}, {"note", "条目 " + std::to_string(i)}};
      auto idx = l->Append("test.entry", body);
      EXPECT_TRUE(idx.ok()) << idx.status().ToString();
      EXPECT_EQ(idx.ok() ? *idx : ~uint64_t{0}, static_cast<uint64_t>(i));
      auto e = l->Entry(static_cast<uint64_t>(i));
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      out.push_back(e.ok() ? *e : "");
    }
    return out;
  }

  // Runs one statement through a separate store handle (the attacker's).
  void Tamper(const std::string& sql, const std::vector<store::Value>& params) {
    auto s = OpenStore();
    ASSERT_TRUE(s);
    auto r = s->Query(sql, params);
    ASSERT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
  }

  // Expects opening the ledger to fail with kCorruption whose message contains `text`.
  void ExpectOpenCorruption(const std::string& text) {
    auto l = TryOpen();
    ASSERT_FALSE(l.ok()) << "the ledger opened over tampered data";
    EXPECT_EQ(l.status().code(), StatusCode::kCorruption) << l.status().ToString();
    EXPECT_TRUE(HasText(l.status(), text)) << "want '" << text << "' in: " << l.status().ToString();
  }

  crypto::SigningKey key_;
  LedgerOptions options_;
  std::string url_;
  store::TestDatabase db_;
};

INSTANTIATE_TEST_SUITE_P(Backends, LedgerTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST(CanonicalEntryTest, SortedCompactJson) {
  nlohmann::json body = {{"z", 1}, {"a", "x\"y"}, {"m", {{"b", true}, {"a", nullptr}}}};
  auto e = CanonicalEntry("dataset.register", "2024-05-01T08:00:00Z", body);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, R"({"body":{"a":"x\"y","m":{"a":null,"b":true},"z":1},)"
                R"("time":"2024-05-01T08:00:00Z","type":"dataset.register"})");
  auto empty = CanonicalEntry("", "2024-05-01T08:00:00Z", body);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CanonicalEntry("t", "x", nlohmann::json(std::nan(""))).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(NowRfc3339Test, Format) {
  EXPECT_TRUE(std::regex_match(NowRfc3339(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << NowRfc3339();
}

TEST_P(LedgerTest, OpenNeedsOrigin) {
  LedgerOptions o = options_;
  o.origin = "";
  auto l = TryOpen(key_, o);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument);
}

// A batch lands at consecutive indices in its order, even while other threads append and with a
// group-commit limit smaller than the batch; an empty batch is refused.
TEST_P(LedgerTest, AppendBatchIsConsecutiveAndWhole) {
  options_.max_batch = 4;  // smaller than the batch
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->AppendBatch({}).status().code(), StatusCode::kInvalidArgument);
  std::atomic<bool> stop{false};
  std::thread other([&] {
    for (int i = 0; !stop; ++i) {
      auto r = l->Append("test.other", {{"i", i}});
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
  });
  for (int round = 0; round < 5; ++round) {
    std::vector<std::pair<std::string, nlohmann::json>> batch;
    for (int i = 0; i < 10; ++i) {
      batch.emplace_back("test.batch", nlohmann::json{{"round", round}, {"i", i}});
    }
    auto first = l->AppendBatch(batch);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    for (int i = 0; i < 10; ++i) {
      auto e = l->Entry(*first + static_cast<uint64_t>(i));
      ASSERT_TRUE(e.ok());
      auto j = nlohmann::json::parse(*e);
      EXPECT_EQ(j["type"], "test.batch") << "batch interleaved with another append at " << i;
      EXPECT_EQ(j["body"], batch[static_cast<size_t>(i)].second);
    }
  }
  stop = true;
  other.join();
  EXPECT_TRUE(l->VerifyAll().ok());
}

TEST_P(LedgerTest, AppendReturnsSequentialIndicesOfCanonicalEntries) {
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->Size(), 0u);
  EXPECT_EQ(l->Root(0), EmptyRoot());
  const std::regex time_re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  for (uint64_t i = 0; i < 12; ++i) {
    nlohmann::json body = {
        {"seq", i}, {"名称", "订单表"}, {"quote", "a\"b\\c"}, {"nested", {3, 1, 2}}};
    auto idx = l->Append("dataset.register", body);
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    EXPECT_EQ(*idx, i);
    EXPECT_EQ(l->Size(), i + 1);
    auto e = l->Entry(i);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    auto j = nlohmann::json::parse(*e);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.size(), 3u) << *e;
    EXPECT_EQ(j["type"], "dataset.register");
    EXPECT_EQ(j["body"], body);
    ASSERT_TRUE(j["time"].is_string());
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), time_re)) << j["time"];
    EXPECT_EQ(*json::Canonicalize(j), *e) << "stored entry is not canonical";
    EXPECT_EQ(e->rfind(R"({"body":)", 0), 0u) << *e;
    auto leaf = l->LeafHashAt(i);
    ASSERT_TRUE(leaf.ok());
    EXPECT_EQ(*leaf, LeafHash(*e));
  }
  // AppendCanonical stores the text exactly.
  std::string text = R"({"body":{"x":1},"time":"2024-01-01T00:00:00Z","type":"import"})";
  auto idx = l->AppendCanonical(text);
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(*idx, 12u);
  EXPECT_EQ(*l->Entry(12), text);

  EXPECT_EQ(l->Append("", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(l->Size(), 13u) << "a rejected append changed the size";
  EXPECT_EQ(l->Entry(13).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(l->LeafHashAt(13).status().code(), StatusCode::kNotFound);
}

TEST_P(LedgerTest, RootsAndProofsVerify) {
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  std::vector<std::string> entries = AppendN(l.get(), 37);
  ASSERT_EQ(l->Size(), 37u);
  for (uint64_t n = 0; n <= 37; ++n) {
    ASSERT_EQ(l->Root(n), NaiveRoot(entries, 0, n)) << "root at size " << n;
  }
  for (uint64_t n = 1; n <= 37; ++n) {
    const Hash root = l->Root(n);
    for (uint64_t i = 0; i < n; ++i) {
      auto p = l->InclusionProof(i, n);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      Status s = VerifyInclusion(i, n, LeafHash(entries[i]), *p, root);
      ASSERT_TRUE(s.ok()) << "inclusion " << i << " in " << n << ": " << s.ToString();
      // The proof is bound to the entry and the index.
      EXPECT_FALSE(VerifyInclusion(i, n, LeafHash(entries[i] + " "), *p, root).ok());
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion((i + 1) % n, n, LeafHash(entries[i]), *p, root).ok());
      }
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto p = l->ConsistencyProof(m, n);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      Status s = VerifyConsistency(m, n, l->Root(m), root, *p);
      ASSERT_TRUE(s.ok()) << "consistency " << m << " -> " << n << ": " << s.ToString();
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, l->Root(m - 1), root, *p).ok()) << m << " " << n;
      }
    }
  }
  EXPECT_EQ(l->InclusionProof(5, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(l->InclusionProof(0, 38).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(l->ConsistencyProof(10, 38).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(l->ConsistencyProof(11, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(l->VerifyAll().ok());
}

TEST_P(LedgerTest, ConcurrentAppendsGetDistinctIndices) {
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::vector<std::pair<uint64_t, std::string>>> got(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto e = CanonicalEntry("test.concurrent", NowRfc3339(), {{"thread", t}, {"i", i}});
        if (!e.ok()) {
          errors[t] = e.status().ToString();
          return;
        }
        auto idx = l->AppendCanonical(*e);
        if (!idx.ok()) {
          errors[t] = idx.status().ToString();
          return;
        }
        got[t].emplace_back(*idx, *e);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    ASSERT_TRUE(errors[t].empty()) << "thread " << t << ": " << errors[t];
  constexpr uint64_t kTotal = kThreads * kPerThread;
  ASSERT_EQ(l->Size(), kTotal);
  std::vector<std::string> entries(kTotal);
  std::set<uint64_t> seen;
  for (const auto& v : got) {
    uint64_t last = 0;
    bool first = true;
    for (const auto& [idx, text] : v) {
      ASSERT_LT(idx, kTotal);
      ASSERT_TRUE(seen.insert(idx).second) << "index " << idx << " handed out twice";
      if (!first) {
        EXPECT_GT(idx, last) << "one thread's appends out of order";
      }
      first = false;
      last = idx;
      entries[idx] = text;
    }
  }
  ASSERT_EQ(seen.size(), kTotal);
  for (uint64_t i = 0; i < kTotal; i += 97) {
    auto e = l->Entry(i);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(*e, entries[i]) << "index " << i << " holds another thread's entry";
  }
  const Hash root = l->Root(kTotal);
  EXPECT_EQ(root, NaiveRoot(entries, 0, kTotal));
  for (uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{2047}, uint64_t{2048}, kTotal - 1}) {
    auto p = l->InclusionProof(i, kTotal);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(VerifyInclusion(i, kTotal, LeafHash(entries[i]), *p, root).ok()) << i;
  }
  Status all = l->VerifyAll();
  EXPECT_TRUE(all.ok()) << all.ToString();
  // And the same tree after a reopen.
  l.reset();
  l = OpenLedger();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->Size(), kTotal);
  EXPECT_EQ(l->Root(kTotal), root);
}

TEST_P(LedgerTest, SignedCheckpoints) {
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->LatestCheckpoint().status().code(), StatusCode::kNotFound);
  AppendN(l.get(), 10);
  auto note1 = l->SignCheckpoint();
  ASSERT_TRUE(note1.ok()) << note1.status().ToString();
  auto parsed = SignedNote::Parse(*note1);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  Status v = VerifyNote(*parsed, l->verifier());
  EXPECT_TRUE(v.ok()) << v.ToString();
  auto cp = Checkpoint::ParseBody(parsed->text);
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->origin, options_.origin);
  EXPECT_EQ(cp->size, 10u);
  EXPECT_EQ(cp->root, l->Root(10));
  EXPECT_EQ(parsed->text, cp->Body());
  // The verifier key round-trips through its text form and still verifies.
  auto vk = VerifierKey::Parse(l->verifier().ToString());
  ASSERT_TRUE(vk.ok()) << vk.status().ToString() << ": " << l->verifier().ToString();
  EXPECT_TRUE(VerifyNote(*parsed, *vk).ok());
  // Another key under the same name does not verify it.
  VerifierKey other{options_.origin, kSigTypeEd25519, crypto::SigningKey::Generate().public_key()};
  EXPECT_EQ(VerifyNote(*parsed, other).code(), StatusCode::kCorruption);

  // Signing again at the same size returns the same note.
  auto again = l->SignCheckpoint();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *note1);
  EXPECT_EQ(*l->LatestCheckpoint(), *note1);

  AppendN(l.get(), 5, 10);
  auto note2 = l->SignCheckpoint();
  ASSERT_TRUE(note2.ok());
  EXPECT_NE(*note2, *note1);
  EXPECT_EQ(*l->LatestCheckpoint(), *note2);
  auto cp2 = Checkpoint::ParseBody(SignedNote::Parse(*note2)->text);
  ASSERT_TRUE(cp2.ok());
  EXPECT_EQ(cp2->size, 15u);
  auto proof = l->ConsistencyProof(10, 15);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(VerifyConsistency(10, 15, cp->root, cp2->root, *proof).ok());
  Status all = l->VerifyAll();
  EXPECT_TRUE(all.ok()) << all.ToString();
}

// Checkpoints signed while other threads append and sign: every call succeeds, and the stored
// checkpoints form one consistent history.
TEST_P(LedgerTest, ConcurrentCheckpointsWhileAppending) {
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  std::vector<std::string> errors;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        auto idx = l->Append("test.concurrent", {{"thread", t}, {"i", i}});
        if (!idx.ok()) {
          std::lock_guard<std::mutex> g(mu);
          errors.push_back("append: " + idx.status().ToString());
        }
      }
    });
  }
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        auto note = l->SignCheckpoint();
        if (!note.ok()) {
          std::lock_guard<std::mutex> g(mu);
          errors.push_back("sign: " + note.status().ToString());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(errors.empty()) << errors.size()
                              << " failures, first: " << (errors.empty() ? "" : errors[0]);
  Status all = l->VerifyAll();
  EXPECT_TRUE(all.ok()) << all.ToString();
}

TEST_P(LedgerTest, EmptyLedgerCheckpoint) {
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  auto n0 = l->SignCheckpoint();
  ASSERT_TRUE(n0.ok()) << n0.status().ToString();
  auto c0 = Checkpoint::ParseBody(SignedNote::Parse(*n0)->text);
  ASSERT_TRUE(c0.ok());
  EXPECT_EQ(c0->size, 0u);
  EXPECT_EQ(c0->root, EmptyRoot());
  l.reset();
  l = OpenLedger();
  ASSERT_TRUE(l);
  EXPECT_EQ(*l->LatestCheckpoint(), *n0);
}

TEST_P(LedgerTest, ReopenRestoresSizeRootAndCheckpoint) {
  Hash root;
  std::string note;
  std::vector<std::string> entries;
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    entries = AppendN(l.get(), 50);
    auto n = l->SignCheckpoint();
    ASSERT_TRUE(n.ok());
    note = *n;
    AppendN(l.get(), 3, 50);  // entries after the checkpoint survive too
    root = l->Root(53);
  }
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->Size(), 53u);
  EXPECT_EQ(l->Root(53), root);
  EXPECT_EQ(l->Root(50), NaiveRoot(entries, 0, 50));
  EXPECT_EQ(*l->LatestCheckpoint(), note);
  EXPECT_EQ(*l->Entry(7), entries[7]);
  auto idx = l->Append("test.after-reopen", {{"ok", true}});
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(*idx, 53u);
  EXPECT_TRUE(l->VerifyAll().ok());
}

TEST_P(LedgerTest, OpenWithAnotherKeyRefusesTheCheckpoint) {
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 4);
    ASSERT_TRUE(l->SignCheckpoint().ok());
  }
  auto l = TryOpen(crypto::SigningKey::Generate(), options_);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kCorruption) << l.status().ToString();
}

TEST_P(LedgerTest, TamperedEntryTextIsCorruption) {
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 20);
  }
  Tamper(
      "UPDATE ledger_entries SET entry = $1 WHERE idx = $2",
      {std::string(
           R"({"body":{"i":7,"note":"forged"},"time":"2024-01-01T00:00:00Z","type":"test.entry"})"),
       int64_t{7}});
  ExpectOpenCorruption("entry 7");
}

TEST_P(LedgerTest, TamperedLeafHashIsCorruption) {
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 20);
  }
  Tamper("UPDATE ledger_entries SET leaf_hash = $1 WHERE idx = $2",
         {crypto::HexEncode(LeafHash("forged")), int64_t{7}});
  ExpectOpenCorruption("entry 7");
}

TEST_P(LedgerTest, MalformedLeafHashIsCorruption) {
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 5);
  }
  Tamper("UPDATE ledger_entries SET leaf_hash = $1 WHERE idx = $2",
         {std::string("zz"), int64_t{2}});
  auto l = TryOpen();
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kCorruption) << l.status().ToString();
}

// An attacker who rewrites an entry and its leaf hash consistently is caught by the checkpoint.
TEST_P(LedgerTest, ConsistentlyRewrittenEntryIsCaughtByCheckpoint) {
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 20);
    ASSERT_TRUE(l->SignCheckpoint().ok());
  }
  std::string forged =
      R"({"body":{"i":7,"note":"forged"},"time":"2024-01-01T00:00:00Z","type":"test.entry"})";
  Tamper("UPDATE ledger_entries SET entry = $1, leaf_hash = $2 WHERE idx = $3",
         {forged, crypto::HexEncode(LeafHash(forged)), int64_t{7}});
  ExpectOpenCorruption("checkpoint");
}

TEST_P(LedgerTest, DeletedMiddleRowIsCorruption) {
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 20);
  }
  Tamper("DELETE FROM ledger_entries WHERE idx = $1", {int64_t{9}});
  ExpectOpenCorruption("entry 9");
}

TEST_P(LedgerTest, DeletedLastRowsBelowCheckpointIsCorruption) {
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 20);
    ASSERT_TRUE(l->SignCheckpoint().ok());
  }
  Tamper("DELETE FROM ledger_entries WHERE idx >= $1", {int64_t{18}});
  ExpectOpenCorruption("checkpoint");
}

TEST_P(LedgerTest, CheckpointResignedWithAnotherKeyIsCorruption) {
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 20);
    ASSERT_TRUE(l->SignCheckpoint().ok());
  }
  // A checkpoint over a different root, signed by an attacker's key under the node's name.
  Checkpoint forged;
  forged.origin = options_.origin;
  forged.size = 20;
  forged.root = LeafHash("forged root");
  SignedNote note;
  note.text = forged.Body();
  note.signatures.push_back(SignNote(note.text, options_.origin, crypto::SigningKey::Generate()));
  Tamper("UPDATE ledger_checkpoints SET root = $1, note = $2 WHERE size = $3",
         {crypto::HexEncode(forged.root), note.Serialize(), int64_t{20}});
  ExpectOpenCorruption("checkpoint");
}

TEST_P(LedgerTest, CheckpointWithFlippedSignatureIsCorruption) {
  std::string original;
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 20);
    auto n = l->SignCheckpoint();
    ASSERT_TRUE(n.ok());
    original = *n;
  }
  auto note = SignedNote::Parse(original);
  ASSERT_TRUE(note.ok());
  ASSERT_EQ(note->signatures.size(), 1u);
  note->signatures[0].signature[10] ^= 0x01;
  Tamper("UPDATE ledger_checkpoints SET note = $1 WHERE size = $2",
         {note->Serialize(), int64_t{20}});
  ExpectOpenCorruption("checkpoint");
}

TEST_P(LedgerTest, CheckpointWithAlteredRootIsCorruption) {
  std::string original;
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 20);
    auto n = l->SignCheckpoint();
    ASSERT_TRUE(n.ok());
    original = *n;
  }
  // The root line changed, the node's signature kept.
  auto note = SignedNote::Parse(original);
  ASSERT_TRUE(note.ok());
  auto cp = Checkpoint::ParseBody(note->text);
  ASSERT_TRUE(cp.ok());
  cp->root = LeafHash("another root");
  note->text = cp->Body();
  Tamper("UPDATE ledger_checkpoints SET root = $1, note = $2 WHERE size = $3",
         {crypto::HexEncode(cp->root), note->Serialize(), int64_t{20}});
  ExpectOpenCorruption("checkpoint");
}

TEST_P(LedgerTest, VerifyAllFindsTamperingOutsideTheVerifiedTail) {
  options_.verify_tail = 10;
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 100);
    ASSERT_TRUE(l->SignCheckpoint().ok());
  }
  Tamper(
      "UPDATE ledger_entries SET entry = $1 WHERE idx = $2",
      {std::string(
           R"({"body":{"i":5,"note":"forged"},"time":"2024-01-01T00:00:00Z","type":"test.entry"})"),
       int64_t{5}});
  // Open only re-verifies the last 10 entries, whose hashes still reproduce the checkpoint.
  auto l = TryOpen();
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  Status s = (*l)->VerifyAll();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_TRUE(HasText(s, "entry 5")) << s.ToString();
  // With the default tail the same tampering stops the open.
  options_.verify_tail = LedgerOptions().verify_tail;
  l.value().reset();
  ExpectOpenCorruption("entry 5");
}

TEST_P(LedgerTest, VerifyAllFindsTamperingWhileOpen) {
  auto l = OpenLedger();
  ASSERT_TRUE(l);
  AppendN(l.get(), 30);
  ASSERT_TRUE(l->SignCheckpoint().ok());
  ASSERT_TRUE(l->VerifyAll().ok());
  Tamper("UPDATE ledger_entries SET entry = $1 WHERE idx = $2", {std::string("{}"), int64_t{12}});
  Status s = l->VerifyAll();
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_TRUE(HasText(s, "entry 12")) << s.ToString();
}

TEST_P(LedgerTest, LeafHashOutsideTheTailIsCaughtByCheckpoint) {
  options_.verify_tail = 10;
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l);
    AppendN(l.get(), 100);
    ASSERT_TRUE(l->SignCheckpoint().ok());
  }
  Tamper("UPDATE ledger_entries SET leaf_hash = $1 WHERE idx = $2",
         {crypto::HexEncode(LeafHash("forged")), int64_t{5}});
  ExpectOpenCorruption("checkpoint");
}

}  // namespace
}  // namespace kexin::ledger
