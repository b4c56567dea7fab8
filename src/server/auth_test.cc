// Authentication on both store backends (SQLite file, PostgreSQL schema from $KEXIN_TEST_PG_URL):
// tokens, roles, peers, and replayed nonces refused across threads and across Authenticators
// (a restarted server, or another process sharing the database).
#include "server/auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <optional>
#include <thread>

#include "server/httpsig.h"
#include "server/users.h"
#include "store/test_database.h"

namespace kexin::server {
namespace {

std::string Hex(const crypto::SigningKey& k) {
  return crypto::HexEncode(
      std::string_view(reinterpret_cast<const char*>(k.public_key().data()), 32));
}

class AuthTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_.Create(GetParam(), "kx_auth_");
    if (IsSkipped() || HasFatalFailure()) return;
    pool_ = std::make_unique<StorePool>(db_.url());
    auto st = pool_->ForThisThread();
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    auto admin = AddUser(**st, "ann", Role::kAdmin);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_token_ = admin->token;
    auto cons = AddUser(**st, "carl", Role::kConsumer);
    ASSERT_TRUE(cons.ok());
    consumer_token_ = cons->token;
    ASSERT_TRUE(AddPeer(**st, {"pb", "http://127.0.0.1:1", Hex(peer_)}).ok());
    InvalidateAuthCaches();
  }
  void TearDown() override {
    pool_.reset();
    db_.Drop();
  }

  Request Signed(const crypto::SigningKey& key, const std::string& nonce) {
    Request r;
    r.method = "POST";
    r.target = "/v1/x?y=1";
    r.path = "/v1/x";
    r.body = "{\"k\":1}";
    auto h = httpsig::Sign(key, r.method, "http://node.test" + r.target, r.body,
                           static_cast<int64_t>(std::time(nullptr)), nonce);
    r.headers = {{"host", "node.test"},
                 {"content-digest", h.content_digest},
                 {"signature-input", h.signature_input},
                 {"signature", h.signature}};
    return r;
  }

  store::TestDatabase db_;
  std::unique_ptr<StorePool> pool_;
  std::string admin_token_, consumer_token_;
  crypto::SigningKey peer_ = crypto::SigningKey::Generate();
};

TEST_P(AuthTest, TokensAndRoles) {
  Authenticator auth(pool_.get(), 300);
  Route admin_only{"GET", "/v1/users", Auth::kToken, {Role::kAdmin}};
  Route any{"GET", "/v1/node", Auth::kToken, {}};
  Request r;
  r.method = "GET";
  EXPECT_EQ(auth.Authenticate(admin_only, r, "http").code, "missing_token");
  r.headers = {{"authorization", "Bearer " + admin_token_}};
  AuthOutcome ok = auth.Authenticate(admin_only, r, "http");
  ASSERT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(ok.principal.kind, Principal::Kind::kUser);
  EXPECT_EQ(ok.principal.name, "ann");
  EXPECT_EQ(ok.principal.role, Role::kAdmin);
  r.headers = {{"authorization", "bearer   " + consumer_token_ + " "}};
  AuthOutcome denied = auth.Authenticate(admin_only, r, "http");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.code, "forbidden");
  EXPECT_TRUE(auth.Authenticate(any, r, "http").ok());
  r.headers = {{"authorization", "Basic abc"}};
  EXPECT_EQ(auth.Authenticate(any, r, "http").code, "invalid_token");
  r.headers = {{"authorization", "Bearer " + admin_token_ + "0"}};
  EXPECT_EQ(auth.Authenticate(any, r, "http").code, "invalid_token");
  // Removal takes effect once caches are invalidated (or after the TTL).
  auto st = pool_->ForThisThread();
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(RemoveUser(**st, "carl").ok());
  EXPECT_EQ(RemoveUser(**st, "carl").code(), StatusCode::kNotFound);
  InvalidateAuthCaches();
  r.headers = {{"authorization", "Bearer " + consumer_token_}};
  EXPECT_EQ(auth.Authenticate(any, r, "http").code, "invalid_token");
}

TEST_P(AuthTest, PeerSignaturesAndReplays) {
  Authenticator auth(pool_.get(), 300);
  Route peer_route{"POST", "/v1/x", Auth::kPeer};
  Request req = Signed(peer_, "nonce-1");
  AuthOutcome ok = auth.Authenticate(peer_route, req, "http");
  ASSERT_TRUE(ok.ok()) << ok.code << ": " << ok.message;
  EXPECT_EQ(ok.principal.kind, Principal::Kind::kPeer);
  EXPECT_EQ(ok.principal.name, "pb");
  EXPECT_EQ(ok.principal.public_key, Hex(peer_));
  EXPECT_EQ(auth.Authenticate(peer_route, req, "http").code, "replayed_nonce");
  // The scheme is part of @target-uri.
  EXPECT_EQ(auth.Authenticate(peer_route, Signed(peer_, "nonce-2"), "https").code, "bad_signature");
  if (GetParam() == "postgresql") {
    // Another server process sharing the database refuses the replay too, from the table. (On
    // SQLite one process serves a node home; a restart is NoncesWrittenBehindStopReplays...)
    Authenticator other(pool_.get(), 300);
    EXPECT_EQ(other.Authenticate(peer_route, req, "http").code, "replayed_nonce");
  }
  // Unknown signer; an invalid request does not burn its nonce.
  auto stranger = crypto::SigningKey::Generate();
  EXPECT_EQ(auth.Authenticate(peer_route, Signed(stranger, "nonce-3"), "http").code,
            "unknown_signer");
  Request tampered = Signed(peer_, "nonce-4");
  tampered.body = "{\"k\":2}";
  EXPECT_EQ(auth.Authenticate(peer_route, tampered, "http").code, "bad_digest");
  EXPECT_TRUE(auth.Authenticate(peer_route, Signed(peer_, "nonce-4"), "http").ok());
  // Token-or-peer routes: no credentials at all.
  Route either{"GET", "/v1/node", Auth::kTokenOrPeer, {}};
  Request none;
  none.method = "GET";
  EXPECT_EQ(auth.Authenticate(either, none, "http").code, "missing_credentials");
  EXPECT_EQ(auth.Authenticate(peer_route, none, "http").code, "missing_signature");
}

TEST_P(AuthTest, NoncesWrittenBehindStillStopReplaysAfterARestart) {
  Route peer_route{"POST", "/v1/x", Auth::kPeer};
  Request req = Signed(peer_, "behind-1");
  {
    // On SQLite the nonce is checked in memory and written in the background.
    Authenticator a(pool_.get(), 300);
    ASSERT_TRUE(a.Authenticate(peer_route, req, "http").ok());
    EXPECT_EQ(a.Authenticate(peer_route, req, "http").code, "replayed_nonce");
    for (int i = 0; i < 600; ++i) {  // more than one batch
      ASSERT_TRUE(
          a.Authenticate(peer_route, Signed(peer_, "bulk-" + std::to_string(i)), "http").ok());
    }
  }  // destroyed: what was queued is written
  // A restarted server loads them (SQLite) or finds them in the table (PostgreSQL).
  Authenticator b(pool_.get(), 300);
  EXPECT_EQ(b.Authenticate(peer_route, req, "http").code, "replayed_nonce");
  EXPECT_EQ(b.Authenticate(peer_route, Signed(peer_, "bulk-599"), "http").code, "replayed_nonce");
  EXPECT_EQ(b.Authenticate(peer_route, Signed(peer_, "bulk-0"), "http").code, "replayed_nonce");
  EXPECT_TRUE(b.Authenticate(peer_route, Signed(peer_, "behind-2"), "http").ok());
}

TEST_P(AuthTest, PeerPrincipalCarriesItsUrlAndCachedPeerFindsIt) {
  Authenticator auth(pool_.get(), 300);
  Route peer_route{"POST", "/v1/x", Auth::kPeer};
  AuthOutcome ok = auth.Authenticate(peer_route, Signed(peer_, "url-1"), "http");
  ASSERT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(ok.principal.url, "http://127.0.0.1:1");
  auto p = CachedPeer(*pool_, "pb");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->public_key, Hex(peer_));
  EXPECT_EQ(CachedPeer(*pool_, "nobody").status().code(), StatusCode::kNotFound);
  // Another node's database in the same process has its own peer of that name.
  store::TestDatabase other_db;
  other_db.Create(GetParam(), "kx_auth_other_");
  if (IsSkipped() || HasFatalFailure()) return;
  {
    StorePool other(other_db.url());
    auto ost = other.ForThisThread();
    ASSERT_TRUE(ost.ok()) << ost.status().ToString();
    auto stranger = crypto::SigningKey::Generate();
    ASSERT_TRUE(AddPeer(**ost, {"pb", "http://127.0.0.1:2", Hex(stranger)}).ok());
    auto q = CachedPeer(other, "pb");
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    EXPECT_EQ(q->public_key, Hex(stranger));
    EXPECT_EQ(CachedPeer(*pool_, "pb")->public_key, Hex(peer_));
  }
  other_db.Drop();
}

TEST_P(AuthTest, ConcurrentReplaysAcceptExactlyOne) {
  // Two server processes sharing the database on PostgreSQL; one process's threads on SQLite.
  Authenticator a(pool_.get(), 300);
  std::optional<Authenticator> second;
  if (GetParam() == "postgresql") second.emplace(pool_.get(), 300);
  Authenticator& b = second ? *second : a;
  Route peer_route{"POST", "/v1/x", Auth::kPeer};
  for (int round = 0; round < 5; ++round) {
    Request req = Signed(peer_, "race-" + std::to_string(round));
    std::atomic<int> accepted{0}, replayed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        AuthOutcome o = (t % 2 ? a : b).Authenticate(peer_route, req, "http");
        if (o.ok()) ++accepted;
        if (o.code == "replayed_nonce") ++replayed;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(accepted.load(), 1) << "round " << round;
    EXPECT_EQ(replayed.load(), 7) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kexin::server
