#include "ledger/witness.h"

#include <gtest/gtest.h>

namespace kexin::ledger {
namespace {

class WitnessTest : public testing::Test {
 protected:
  std::string Note(uint64_t size) {
    Checkpoint c{"example.com/log", size, tree_.Root(size)};
    SignedNote n{c.Body(), {SignNote(c.Body(), "example.com/log", log_key_)}};
    return n.Serialize();
  }
  void SetUp() override {
    for (int i = 0; i < 20; ++i) tree_.Append(LeafHash("entry " + std::to_string(i)));
  }
  MemoryTree tree_;
  crypto::SigningKey log_key_ = crypto::SigningKey::Generate();
  crypto::SigningKey witness_key_ = crypto::SigningKey::Generate();
  VerifierKey log_vkey() { return {"example.com/log", kSigTypeEd25519, log_key_.public_key()}; }
};

TEST_F(WitnessTest, CosignsAConsistentCheckpointAndTheCosignatureVerifies) {
  WitnessedTree last{7, tree_.Root(7)};
  auto r = VerifyAndCosign(Note(20), log_vkey(), last, tree_.ConsistencyProof(7, 20),
                           "witness.example/w1", witness_key_, 1679315147);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted.size, 20u);
  auto note = SignedNote::Parse(Note(20));
  note->signatures.push_back(r->cosignature);
  uint64_t ts = 0;
  VerifierKey wkey{"witness.example/w1", kSigTypeCosignature, witness_key_.public_key()};
  ASSERT_TRUE(VerifyNote(*note, wkey, &ts).ok());
  EXPECT_EQ(ts, 1679315147u);
  // The first checkpoint of a log needs no proof.
  EXPECT_TRUE(VerifyAndCosign(Note(3), log_vkey(), std::nullopt, {}, "w", witness_key_, 1).ok());
}

TEST_F(WitnessTest, RejectsForkStaleAndForgedCheckpoints) {
  WitnessedTree last{7, tree_.Root(7)};
  // A fork: the witness saw a different root at size 7.
  WitnessedTree forked{7, LeafHash("not the real tree")};
  auto fork = VerifyAndCosign(Note(20), log_vkey(), forked, tree_.ConsistencyProof(7, 20), "w",
                              witness_key_, 1);
  ASSERT_FALSE(fork.ok());
  EXPECT_EQ(fork.status().code(), StatusCode::kCorruption);
  // Stale: older than what was witnessed.
  auto stale = VerifyAndCosign(Note(5), log_vkey(), last, {}, "w", witness_key_, 1);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  // Signed by someone else.
  crypto::SigningKey other = crypto::SigningKey::Generate();
  VerifierKey other_vkey{"example.com/log", kSigTypeEd25519, other.public_key()};
  auto forged = VerifyAndCosign(Note(20), other_vkey, last, tree_.ConsistencyProof(7, 20), "w",
                                witness_key_, 1);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.status().code(), StatusCode::kCorruption);
  // A wrong proof.
  auto bad = VerifyAndCosign(Note(20), log_vkey(), last, tree_.ConsistencyProof(6, 20), "w",
                             witness_key_, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace kexin::ledger
