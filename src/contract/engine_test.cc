// Both sides of a negotiation, each with its own real store and ledger, wired by a transport that
// calls the peer engine's Receive directly (HTTP is covered by tests/dsp_test.sh).
#include "contract/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "contract/agreement.h"
#include "contract/crosscheck.h"
#include "contract/view.h"
#include "store/test_database.h"

namespace kexin::contract {
namespace {

using nlohmann::json;

json Policy(const std::string& purpose) {
  return json::parse(R"({"permission":[{"action":"use","constraint":[{"leftOperand":"purpose",
    "operator":"eq","rightOperand":")" +
                     purpose + R"("}]}]})");
}

std::string Hex(const crypto::SigningKey& k) {
  return crypto::HexEncode(
      std::string_view(reinterpret_cast<const char*>(k.public_key().data()), 32));
}

struct Node {
  store::TestDatabase db;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<Engine> engine;
  crypto::SigningKey key = crypto::SigningKey::Generate();
  std::string url;
  int64_t max_open = 10000;                         // EngineConfig::max_open_per_peer
  int per_peer = 0;                                 // EngineConfig::max_inflight_per_peer
  int64_t max_backoff_ms = 2;                       // RetryPolicy::max_backoff_ms
  int64_t store_poll_ms = 0;                        // EngineConfig::store_poll_ms
  std::atomic<int> in_flight{0}, max_in_flight{0};  // deliveries this node is sending
  std::mutex mu;
  std::map<std::thread::id, std::unique_ptr<store::Store>> per_thread;
};

struct Sent {
  std::string url, body;
  int status;
  std::string reply;
  std::string detail;  // Reply::detail, never sent
  int retry_after_s = 0;
};

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (auto* n : {&provider_, &consumer_}) {
      n->db.Create(GetParam(), "kx_contract_");
      if (IsSkipped() || HasFatalFailure()) return;
    }
    provider_.url = "http://provider.test";
    consumer_.url = "http://consumer.test";
    Open(provider_, /*provider=*/true);
    Open(consumer_, /*provider=*/false);
  }
  void TearDown() override {
    for (auto* n : {&provider_, &consumer_}) {
      n->engine.reset();
      n->per_thread.clear();
      n->ledger.reset();
      n->store.reset();
      n->db.Drop();
    }
  }

  void Open(Node& n, bool is_provider) {
    auto s = store::Store::Open(n.db.url());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    n.store = std::move(s).value();
    ASSERT_TRUE(n.store->Migrate(store::KexinMigrations()).ok());
    auto ls = store::Store::Open(n.db.url());
    ASSERT_TRUE(ls.ok());
    auto l = ledger::Ledger::Open(std::move(ls).value(), n.key,
                                  {.origin = "kexin.test/" + crypto::RandomToken(4)});
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    n.ledger = std::move(l).value();
    EngineConfig c;
    // A Store is single-threaded: each thread gets its own, as StorePool does in the server.
    c.store = [&n]() -> Result<store::Store*> {
      std::lock_guard<std::mutex> lock(n.mu);
      auto& s = n.per_thread[std::this_thread::get_id()];
      if (!s) {
        KEXIN_ASSIGN_OR_RETURN(s, store::Store::Open(n.db.url()));
      }
      return s.get();
    };
    c.ledger = n.ledger.get();
    c.key = n.key;
    c.public_key = Hex(n.key);
    c.public_url = n.url;
    c.transport = [this, is_provider](const std::string& url, const std::string& body) {
      return Send(is_provider ? consumer_ : provider_, is_provider ? provider_ : consumer_, url,
                  body);
    };
    c.check_offer = [this](store::Store&,
                           const OfferRequest& r) -> std::variant<OfferTerms, OfferRejection> {
      if (r.offer_id != "offer-1") return OfferRejection{404, "unknown_offer", "no offer"};
      if (!SameRules(r.requested, Policy("credit-scoring")).ok())
        return OfferRejection{422, "policy_mismatch", "purpose differs from offer-1"};
      return OfferTerms{Policy("credit-scoring"), manual_};
    };
    c.policies_match = SameRules;
    c.open_store = [&n]() { return store::Store::Open(n.db.url()); };  // group commit on SQLite
    c.retry.base_backoff_ms = 1;
    c.retry.max_backoff_ms = n.max_backoff_ms;
    c.retry.max_attempts = 4;
    c.max_open_per_peer = n.max_open;
    c.max_inflight_per_peer = n.per_peer;
    c.store_poll_ms = n.store_poll_ms;
    n.engine = std::make_unique<Engine>(std::move(c));
  }

  // Routes a DSP URL to the receiving engine as the server would.
  Result<TransportReply> Send(Node& to, Node& from, const std::string& url,
                              const std::string& body_in) {
    struct InFlight {  // counts the sender's deliveries in flight
      Node& n;
      explicit InFlight(Node& node) : n(node) {
        int now = ++n.in_flight;
        int seen = n.max_in_flight.load();
        while (now > seen && !n.max_in_flight.compare_exchange_weak(seen, now)) {
        }
      }
      ~InFlight() { --n.in_flight; }
    } in_flight(from);
    if (down_) return IoError("connect " + url + ": Connection refused");
    if (fail_5xx_ > 0) {
      --fail_5xx_;
      return TransportReply{503, R"({"error":{"code":"unavailable","message":"busy"}})"};
    }
    std::string body = tamper_ ? tamper_(url, body_in) : body_in;
    Caller caller{"peer", Hex(from.key), from.url};
    std::string path = url.substr(to.url.size());
    Reply r;
    auto seg = [&](const std::string& prefix,
                   const std::string& suffix) -> std::optional<std::string> {
      if (path.rfind(prefix, 0) != 0 || path.size() < prefix.size() + suffix.size() ||
          path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0)
        return std::nullopt;
      return path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    };
    if (path == "/dsp/negotiations/request") {
      r = Receive(to, Side::kProvider, "ContractRequestMessage", "", caller, body);
    } else if (auto p = seg("/dsp/negotiations/", "/agreement/verification")) {
      r = Receive(to, Side::kProvider, "ContractAgreementVerificationMessage", *p, caller, body);
    } else if (auto p = seg("/dsp/negotiations/", "/events")) {
      r = Receive(to, Side::kProvider, "ContractNegotiationEventMessage", *p, caller, body);
    } else if (auto p = seg("/dsp/negotiations/", "/termination")) {
      r = Receive(to, Side::kProvider, "ContractNegotiationTerminationMessage", *p, caller, body);
    } else if (auto p = seg("/dsp/callback/negotiations/", "/agreement")) {
      r = Receive(to, Side::kConsumer, "ContractAgreementMessage", *p, caller, body);
    } else if (auto p = seg("/dsp/callback/negotiations/", "/events")) {
      r = Receive(to, Side::kConsumer, "ContractNegotiationEventMessage", *p, caller, body);
    } else if (auto p = seg("/dsp/callback/negotiations/", "/termination")) {
      r = Receive(to, Side::kConsumer, "ContractNegotiationTerminationMessage", *p, caller, body);
    } else {
      return TransportReply{404, "{}"};
    }
    {
      std::lock_guard<std::mutex> lock(sent_mu_);
      sent_.push_back({url, body, r.status, r.body.dump(), r.detail, r.retry_after_s});
    }
    if (tamper_reply_) r.body = tamper_reply_(url, r.body);
    if (lose_acks_ > 0) {
      --lose_acks_;
      return IoError("read " + url + ": Connection reset by peer");
    }
    return TransportReply{r.status, r.body.dump(), int64_t{r.retry_after_s} * 1000};
  }

  // The receiving engine's Receive, or with receive_async_ its ReceiveAsync (as the server calls
  // it) when it takes the message.
  Reply Receive(Node& to, Side side, std::string_view type, const std::string& pid,
                const Caller& caller, const std::string& body) {
    if (receive_async_) {
      auto answer = std::make_shared<std::promise<Reply>>();
      std::future<Reply> reply = answer->get_future();
      if (to.engine->ReceiveAsync(side, type, pid, caller, body,
                                  [answer](Reply r) { answer->set_value(std::move(r)); })) {
        ++async_receives_;
        return reply.get();
      }
    }
    return to.engine->Receive(side, type, pid, caller, body);
  }

  // Delivers until neither side has anything due.
  void Pump() {
    for (int round = 0; round < 50; ++round) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));  // past any backoff
      auto a = consumer_.engine->DeliverDue(100);
      auto b = provider_.engine->DeliverDue(100);
      ASSERT_TRUE(a.ok() && b.ok());
      if (*a == 0 && *b == 0) return;
    }
    FAIL() << "outbox never drained";
  }

  // Four threads deliver from both engines, `batch` items per call, round after round until a
  // round sends nothing (at most 50 rounds), as the server's outbox workers do.
  void DeliverWithFourWorkers(size_t batch) {
    for (int round = 0; round < 50; ++round) {
      std::vector<std::thread> workers;
      std::atomic<int> sent{0};
      for (int w = 0; w < 4; ++w) {
        workers.emplace_back([&] {
          auto a = consumer_.engine->DeliverDue(batch);
          auto b = provider_.engine->DeliverDue(batch);
          sent += (a.ok() ? *a : 0) + (b.ok() ? *b : 0);
        });
      }
      for (auto& w : workers) w.join();
      if (sent == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  }

  Negotiation Load(Node& n, const std::string& id) {
    auto r = LoadNegotiation(*n.store, id);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : Negotiation{};
  }
  Negotiation ProviderOf(const Negotiation& c) { return Load(provider_, c.peer_pid); }
  std::vector<std::string> LedgerTypes(Node& n) {
    std::vector<std::string> out;
    for (uint64_t i = 0; i < n.ledger->Size(); ++i) {
      out.push_back(json::parse(*n.ledger->Entry(i))["type"]);
    }
    return out;
  }
  Negotiation StartNegotiation(const json& policy = Policy("credit-scoring")) {
    auto n = consumer_.engine->Start({"provider", provider_.url, Hex(provider_.key)}, "reg-1",
                                     "offer-1", policy);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : Negotiation{};
  }

  Node provider_, consumer_;
  std::mutex sent_mu_;
  std::vector<Sent> sent_;
  bool down_ = false, manual_ = false;
  int fail_5xx_ = 0, lose_acks_ = 0;
  bool receive_async_ = false;
  std::atomic<int> async_receives_{0};
  std::function<std::string(const std::string&, const std::string&)> tamper_;
  std::function<json(const std::string&, json)> tamper_reply_;  // the answer's body
};

INSTANTIATE_TEST_SUITE_P(Backends, EngineTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// A provider that lets a peer have at most two negotiations that are not final.
class EngineLimitTest : public EngineTest {
 protected:
  void SetUp() override {
    provider_.max_open = 2;
    EngineTest::SetUp();
  }
};

// A consumer whose idle workers look for due items in the store at most once a minute.
class EngineStorePollTest : public EngineTest {
 protected:
  void SetUp() override {
    consumer_.store_poll_ms = 60000;
    EngineTest::SetUp();
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, EngineStorePollTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

INSTANTIATE_TEST_SUITE_P(Backends, EngineLimitTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST_P(EngineLimitTest, PeerOverTheOpenNegotiationLimitGets429UntilOneIsFinal) {
  manual_ = true;  // the provider holds each request: REQUESTED, not final
  Negotiation a = StartNegotiation();
  Negotiation b = StartNegotiation();
  Pump();
  a = Load(consumer_, a.id);
  b = Load(consumer_, b.id);
  ASSERT_EQ(a.state, State::kRequested);
  ASSERT_EQ(b.state, State::kRequested);  // the second is at the limit: still accepted
  EXPECT_EQ(ProviderOf(b).state, State::kRequested);
  // The third is over it: 429 with the limit named, nothing stored on the provider.
  sent_.clear();
  Negotiation c = StartNegotiation();
  Pump();
  ASSERT_FALSE(sent_.empty());
  EXPECT_EQ(sent_[0].status, 429);
  json err = json::parse(sent_[0].reply);
  EXPECT_EQ(err["@type"], "ContractNegotiationError");
  EXPECT_EQ(err["code"], "too_many_negotiations");
  EXPECT_NE(err["reason"][0].get<std::string>().find("limit per peer is 2"), std::string::npos)
      << err.dump();
  EXPECT_NE(err["reason"][0].get<std::string>().find("--max-negotiations-per-peer"),
            std::string::npos);
  EXPECT_EQ(sent_[0].retry_after_s, kTooManyRetryAfterSeconds);
  auto open = CountOpenWithPeer(*provider_.store, Side::kProvider, Hex(consumer_.key));
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(*open, 2);
  // 429 is retried, and after the retries the consumer ends its negotiation with the reason.
  c = Load(consumer_, c.id);
  EXPECT_EQ(c.state, State::kTerminated);
  EXPECT_NE(c.reason.find("429"), std::string::npos) << c.reason;
  // A final negotiation does not count: after a rejection the next request is accepted.
  ASSERT_TRUE(provider_.engine->Reject(ProviderOf(a).id, "no").ok());
  Pump();
  Negotiation d = StartNegotiation();
  Pump();
  EXPECT_EQ(Load(consumer_, d.id).state, State::kRequested);
  EXPECT_EQ(ProviderOf(Load(consumer_, d.id)).state, State::kRequested);
}

// The consumer may wait up to a minute between attempts.
class EngineRetryAfterTest : public EngineTest {
 protected:
  void SetUp() override {
    provider_.max_open = 1;
    consumer_.max_backoff_ms = 60000;
    EngineTest::SetUp();
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, EngineRetryAfterTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST_P(EngineRetryAfterTest, ConsumerWaitsTheRetryAfterOfA429) {
  manual_ = true;
  Negotiation a = StartNegotiation();
  Pump();
  ASSERT_EQ(Load(consumer_, a.id).state, State::kRequested);
  sent_.clear();
  Negotiation b = StartNegotiation();
  const int64_t before = NowMs();
  ASSERT_TRUE(consumer_.engine->DeliverDue(10).ok());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].status, 429);
  auto items = ListOutbox(*consumer_.store, b.id);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].status, "pending");
  // The first backoff would be 1 ms; the provider asked for kTooManyRetryAfterSeconds.
  EXPECT_GE((*items)[0].next_attempt_ms, before + kTooManyRetryAfterSeconds * 1000);
  EXPECT_LE((*items)[0].next_attempt_ms, NowMs() + kTooManyRetryAfterSeconds * 1000 + 1000);
}

TEST_P(EngineTest, StoreErrorIsNotSentToThePeer) {
  // The provider's store fails when the answer is saved: a 500 whose body names no internals;
  // the store's message is kept in Reply::detail for the log.
  ASSERT_TRUE(provider_.store->Exec("DROP TABLE negotiation_messages").ok());
  Negotiation c = StartNegotiation();
  Pump();
  ASSERT_FALSE(sent_.empty());
  EXPECT_EQ(sent_[0].status, 500);
  json err = json::parse(sent_[0].reply);
  EXPECT_EQ(err["@type"], "ContractNegotiationError");
  EXPECT_EQ(err["code"], "internal");
  EXPECT_EQ(err["reason"], json::array({"internal error"}));
  EXPECT_EQ(err["error"]["message"], "internal error");
  EXPECT_EQ(sent_[0].reply.find("negotiation_messages"), std::string::npos) << sent_[0].reply;
  EXPECT_NE(sent_[0].detail.find("negotiation_messages"), std::string::npos) << sent_[0].detail;
  // The consumer's own record of the failure names only what the peer said.
  c = Load(consumer_, c.id);
  EXPECT_EQ(c.state, State::kTerminated);
  EXPECT_EQ(c.reason.find("negotiation_messages"), std::string::npos) << c.reason;
}

TEST_P(EngineTest, NegotiatesToFinalizedWithBothSignaturesOnBothLedgers) {
  Negotiation c = StartNegotiation();
  EXPECT_EQ(c.state, State::kInitial);
  Pump();
  c = Load(consumer_, c.id);
  Negotiation p = ProviderOf(c);
  EXPECT_EQ(c.state, State::kFinalized);
  EXPECT_EQ(p.state, State::kFinalized);
  EXPECT_EQ(c.agreement_hash, p.agreement_hash);
  EXPECT_EQ(c.agreement, p.agreement);
  EXPECT_EQ(c.provider_signature, p.provider_signature);
  EXPECT_EQ(c.consumer_signature, p.consumer_signature);
  EXPECT_TRUE(VerifyAgreement(Hex(provider_.key), p.agreement, c.provider_signature).ok());
  EXPECT_TRUE(VerifyAgreement(Hex(consumer_.key), p.agreement, p.consumer_signature).ok());
  EXPECT_EQ(c.agreement["assignee"], NodeUrn(Hex(consumer_.key)));
  EXPECT_EQ(c.agreement["permission"], Policy("credit-scoring")["permission"]);
  std::vector<std::string> shared = {"contract.requested", "contract.agreed", "contract.verified",
                                     "contract.finalized"};
  auto ct = LedgerTypes(consumer_);
  ASSERT_FALSE(ct.empty());
  EXPECT_EQ(ct.front(), "contract.started");
  EXPECT_EQ(std::vector<std::string>(ct.begin() + 1, ct.end()), shared);
  EXPECT_EQ(LedgerTypes(provider_), shared);
  // Entries match pairwise on both process ids, the agreement and the keys.
  for (uint64_t i = 0; i < shared.size(); ++i) {
    json ce = json::parse(*consumer_.ledger->Entry(i + 1))["body"];
    json pe = json::parse(*provider_.ledger->Entry(i))["body"];
    for (const char* k : {"providerPid", "consumerPid", "provider", "consumer", "state"})
      EXPECT_EQ(ce[k], pe[k]) << k;
    if (i > 0) {
      EXPECT_EQ(ce["agreementHash"], pe["agreementHash"]);
    }
  }
  EXPECT_TRUE(consumer_.ledger->VerifyAll().ok());
  // Every message and acknowledgement on the wire is valid DSP.
  std::string dir = ::testing::TempDir() + "/engine_msgs_" + crypto::RandomToken(4);
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::string files;
  for (size_t i = 0; i < sent_.size(); ++i) {
    for (const auto& [tag, text] :
         {std::pair{"m", sent_[i].body}, std::pair{"r", sent_[i].reply}}) {
      std::string f = dir + "/" + tag + std::to_string(i) + ".json";
      std::ofstream(f) << text;
      files += " " + f;
    }
  }
  EXPECT_EQ(sent_.size(), 4u);
  const char* src = std::getenv("KEXIN_SOURCE_DIR");
  std::string cmd = std::string("python3 ") + (src ? src : ".") +
                    "/tests/dsp_validate.py /work/shared/specs/dsp" + files;
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

// The server's way on SQLite: messages answered from the writer thread once durable, events
// recorded by a recorder thread. Each negotiation's ledger entries keep their order.
TEST_P(EngineTest, ReceiveAsyncAnswersOnceDurableAndKeepsEachNegotiationsEventOrder) {
  bool called = false;
  Caller caller{"peer", Hex(consumer_.key), consumer_.url};
  auto refuse = [&] {
    return provider_.engine->ReceiveAsync(Side::kProvider, "ContractRequestMessage", "", caller,
                                          "not json", [&](Reply r) {
                                            called = true;
                                            EXPECT_EQ(r.status, 400);
                                          });
  };
  EXPECT_FALSE(refuse());  // events are not yet recorded in the background: not taken
  EXPECT_FALSE(called);
  for (auto* n : {&provider_, &consumer_}) n->engine->RecordInBackground();
  const bool sqlite = GetParam() == "sqlite";
  EXPECT_EQ(refuse(), sqlite);  // PostgreSQL has no writer thread
  EXPECT_EQ(called, sqlite);    // a refusal is answered at once, on the calling thread

  receive_async_ = true;
  std::vector<Negotiation> started;
  for (int i = 0; i < 8; ++i) started.push_back(StartNegotiation());
  std::atomic<bool> stop{false};
  std::thread recorder([&] {
    while (!stop) {
      for (auto* n : {&provider_, &consumer_}) {
        auto r = n->engine->RecordPending(std::chrono::milliseconds(1));
        EXPECT_TRUE(r.ok());
      }
    }
  });
  DeliverWithFourWorkers(2);
  for (int i = 0; i < 200 && (provider_.ledger->Size() < 32 || consumer_.ledger->Size() < 40);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  recorder.join();
  EXPECT_EQ(async_receives_.load() > 0, sqlite);
  std::map<std::string, std::vector<std::string>> by_negotiation;  // providerPid -> types
  for (auto* n : {&provider_, &consumer_}) {
    for (uint64_t i = 0; i < n->ledger->Size(); ++i) {
      json e = json::parse(*n->ledger->Entry(i));
      by_negotiation[std::string(n == &provider_ ? "p " : "c ") +
                     e["body"].value("consumerPid", "")]
          .push_back(e["type"]);
    }
  }
  const std::vector<std::string> shared = {"contract.requested", "contract.agreed",
                                           "contract.verified", "contract.finalized"};
  std::vector<std::string> consumer_types = {"contract.started"};
  consumer_types.insert(consumer_types.end(), shared.begin(), shared.end());
  for (const Negotiation& c : started) {
    EXPECT_EQ(Load(consumer_, c.id).state, State::kFinalized);
    EXPECT_EQ(by_negotiation["c " + c.id], consumer_types);
    EXPECT_EQ(by_negotiation["p " + c.id], shared);
  }
}

// With events recorded in the background (as the server runs), a worker hands the peer's
// acknowledgement to the writer and goes on; the state still changes, and an acknowledgement that
// cannot be used still ends the negotiation with the reason.
TEST_P(EngineTest, AcknowledgementsHandedToTheWriterStillMoveAndEndNegotiations) {
  for (auto* n : {&provider_, &consumer_}) n->engine->RecordInBackground();
  std::atomic<bool> stop{false};
  std::thread recorder([&] {
    while (!stop) {
      for (auto* n : {&provider_, &consumer_}) {
        EXPECT_TRUE(n->engine->RecordPending(std::chrono::milliseconds(1)).ok());
      }
    }
  });
  auto wait_for = [&](Node& n, const std::string& id, State want) {
    for (int i = 0; i < 400 && Load(n, id).state != want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Load(n, id);
  };
  Negotiation a = StartNegotiation();
  DeliverWithFourWorkers(2);
  a = wait_for(consumer_, a.id, State::kFinalized);
  EXPECT_EQ(a.state, State::kFinalized);
  // The provider's last change is the consumer's acknowledgement of its FINALIZED event.
  EXPECT_EQ(wait_for(provider_, a.peer_pid, State::kFinalized).state, State::kFinalized);

  tamper_reply_ = [](const std::string& url, json body) {
    if (url.ends_with("/dsp/negotiations/request")) body.erase("providerPid");
    return body;
  };
  Negotiation b = StartNegotiation();
  DeliverWithFourWorkers(2);
  b = wait_for(consumer_, b.id, State::kTerminated);
  EXPECT_EQ(b.state, State::kTerminated);
  EXPECT_NE(b.reason.find("carries no providerPid"), std::string::npos) << b.reason;
  auto outbox = ListOutbox(*consumer_.store, b.id);
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ((*outbox)[0].status, "failed");
  stop = true;
  recorder.join();
}

// UpdateNegotiation writes only the columns that changed: each one still reaches the store, alone
// or with others, and a stale version still changes nothing.
TEST_P(EngineTest, UpdateWritesEachChangedColumnAndRefusesAStaleVersion) {
  Negotiation n;
  n.id = NewUrn();
  n.side = Side::kProvider;
  n.peer_name = "peer";
  n.peer_key = Hex(consumer_.key);
  n.peer_url = consumer_.url;
  n.dataset = "reg-1";
  n.offer_id = "offer-1";
  n.offer = Policy("credit-scoring");
  ASSERT_TRUE(InsertNegotiation(*provider_.store, n).ok());
  std::vector<std::function<void(Negotiation&)>> changes = {
      [](Negotiation& x) { x.peer_pid = "urn:uuid:peer"; },
      [](Negotiation& x) { x.peer_url = "http://other.test"; },
      [](Negotiation& x) { x.state = State::kRequested; },
      [](Negotiation& x) { x.pending = State::kAgreed; },
      [](Negotiation& x) { x.decision = "approved"; },
      [](Negotiation& x) {
        x.agreement_hash = "ab";
        x.provider_signature = "ps";
      },
      [](Negotiation& x) { x.consumer_signature = "cs"; },
      [](Negotiation& x) { x.reason = "because"; },
      [](Negotiation& x) { x.offer_id = "offer-2"; },
      [](Negotiation& x) { x.manual = true; },
      [](Negotiation& x) { x.pending.reset(); },
      [](Negotiation& x) {
        x.agreement = json{{"@id", "urn:uuid:a"}};
      },
  };
  Negotiation want = Load(provider_, n.id);
  for (size_t i = 0; i < changes.size(); ++i) {
    Negotiation stale = Load(provider_, n.id);
    Negotiation cur = Load(provider_, n.id);
    changes[i](cur);
    changes[i](want);
    ASSERT_TRUE(UpdateNegotiation(*provider_.store, cur).ok()) << i;
    Negotiation got = Load(provider_, n.id);
    auto fields = [](const Negotiation& x) {
      return json{{"peer_pid", x.peer_pid},
                  {"peer_url", x.peer_url},
                  {"state", StateName(x.state)},
                  {"pending", x.pending ? StateName(*x.pending) : "-"},
                  {"decision", x.decision},
                  {"agreement_hash", x.agreement_hash},
                  {"provider_signature", x.provider_signature},
                  {"consumer_signature", x.consumer_signature},
                  {"reason", x.reason},
                  {"offer_id", x.offer_id},
                  {"manual", x.manual},
                  {"offer", x.offer},
                  {"agreement", x.agreement}};
    };
    EXPECT_EQ(fields(got), fields(want)) << i;
    EXPECT_EQ(got.version, static_cast<int64_t>(i) + 2);
    changes[i](stale);
    stale.reason = "stale";
    EXPECT_FALSE(UpdateNegotiation(*provider_.store, stale).ok()) << i;
    EXPECT_EQ(Load(provider_, n.id).reason, want.reason) << i;
  }
}

// Items due in the store (retries) are looked for at most once per interval while none is due;
// once some are, every call looks, so a backlog after an outage drains without waiting.
TEST_P(EngineStorePollTest, StoreIsPolledOncePerIntervalButABacklogDrainsAtOnce) {
  auto request_status = [&](const Negotiation& n) {
    auto items = ListOutbox(*consumer_.store, n.id);
    EXPECT_TRUE(items.ok() && !items->empty());
    return items.ok() && !items->empty() ? (*items)[0].status : std::string();
  };
  down_ = true;
  std::vector<Negotiation> backlog;
  for (int i = 0; i < 6; ++i) backlog.push_back(StartNegotiation());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(consumer_.engine->DeliverDue(2).ok());  // all refused
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // past the backoff
  down_ = false;
  for (int i = 0; i < 3; ++i) {
    auto n = consumer_.engine->DeliverDue(2);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 2) << "call " << i;  // items were due: the next call looks again
  }
  for (const auto& n : backlog) EXPECT_EQ(request_status(n), "done");
  auto none = consumer_.engine->DeliverDue(2);  // nothing due; this look starts the interval
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  down_ = true;
  Negotiation late = StartNegotiation();
  ASSERT_TRUE(consumer_.engine->DeliverDue(2).ok());  // from memory: refused, due again soon
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  down_ = false;
  auto waited = consumer_.engine->DeliverDue(2);
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(*waited, 0);  // due, but the interval has not passed
  EXPECT_EQ(request_status(late), "pending");
}

// The writer's counters (served at /metrics): on SQLite every operation is counted and shares a
// commit with others; PostgreSQL nodes have no writer.
TEST_P(EngineTest, StatsCountTheWritersCommitsAndOperations) {
  const Engine::Stats before = consumer_.engine->stats();
  EXPECT_EQ(before.commits, 0u);
  for (int i = 0; i < 4; ++i) StartNegotiation();
  EXPECT_EQ(consumer_.engine->stats().outbox_ready, 4u);  // committed, not yet sent
  Pump();
  const Engine::Stats after = consumer_.engine->stats();
  EXPECT_EQ(after.outbox_ready, 0u);
  if (GetParam() == "sqlite") {
    EXPECT_TRUE(after.group_commit);
    EXPECT_GT(after.commits, 0u);
    EXPECT_GE(after.operations, after.commits);
    EXPECT_GE(after.operations, 4u * 4);  // start, acknowledgements, agreement, finalization
    EXPECT_GT(after.writer_busy_s, 0.0);
  } else {
    EXPECT_FALSE(after.group_commit);
    EXPECT_EQ(after.commits, 0u);
    EXPECT_EQ(after.operations, 0u);
  }
}

// Migration 8 moves a negotiation's terms out of its row; a store written before keeps them.
TEST_P(EngineTest, TermsOfNegotiationsStoredBeforeMigration8AreKept) {
  store::TestDatabase db;
  db.Create(GetParam(), "kx_terms_");
  if (IsSkipped() || HasFatalFailure()) return;
  auto opened = store::Store::Open(db.url());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<store::Store> s = std::move(opened).value();
  std::vector<store::Migration> before;
  for (const auto& m : store::KexinMigrations()) {
    if (m.version < 8) before.push_back(m);
  }
  ASSERT_TRUE(s->Migrate(before).ok());
  const std::string offer = Policy("credit-scoring").dump();
  const std::string agreement = R"({"@id":"urn:uuid:a1","@type":"Agreement"})";
  ASSERT_TRUE(s->Exec("INSERT INTO negotiations (id, side, peer_pid, peer_name, peer_key,"
                      " peer_url, state, pending_state, dataset, offer_id, offer, manual,"
                      " decision, agreement, agreement_hash, provider_signature,"
                      " consumer_signature, reason, version, created, updated) VALUES ('n1',"
                      " 'provider', 'c1', 'peer', 'k', 'http://c', 'AGREED', '', 'reg-1',"
                      " 'offer-1', $1, 0, '', $2, 'h', 'ps', '', '', 3, 't0', 't1')",
                      {offer, agreement})
                  .ok());
  Status migrated = s->Migrate(store::KexinMigrations());
  ASSERT_TRUE(migrated.ok()) << migrated.ToString();
  auto n = LoadNegotiation(*s, "n1");
  ASSERT_TRUE(n.ok() && n->has_value()) << n.status().ToString();
  EXPECT_EQ((*n)->offer, json::parse(offer));
  EXPECT_EQ((*n)->agreement, json::parse(agreement));
  EXPECT_EQ((*n)->state, State::kAgreed);
  // An update keeps the terms, or writes them when they changed.
  Negotiation changed = **n;
  changed.state = State::kVerified;
  ASSERT_TRUE(UpdateNegotiation(*s, changed).ok());
  changed.offer = Policy("marketing");
  ASSERT_TRUE(UpdateNegotiation(*s, changed).ok());
  auto again = LoadNegotiation(*s, "n1");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->state, State::kVerified);
  EXPECT_EQ((*again)->offer, Policy("marketing"));
  EXPECT_EQ((*again)->agreement, json::parse(agreement));
  EXPECT_EQ((*again)->version, 5);
  s.reset();
  db.Drop();
}

TEST_P(EngineTest, SameMessageAgainGetsSameAnswerAndChangesNothing) {
  Negotiation c = StartNegotiation();
  Pump();
  auto before_p = provider_.ledger->Size(), before_c = consumer_.ledger->Size();
  ASSERT_EQ(sent_.size(), 4u);
  std::vector<Sent> first = sent_;
  for (const Sent& s : first) {
    bool to_provider = s.url.rfind(provider_.url, 0) == 0;
    auto r = Send(to_provider ? provider_ : consumer_, to_provider ? consumer_ : provider_, s.url,
                  s.body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, s.status) << s.url;
    EXPECT_EQ(r->body, s.reply) << s.url;
  }
  EXPECT_EQ(provider_.ledger->Size(), before_p);
  EXPECT_EQ(consumer_.ledger->Size(), before_c);
  EXPECT_EQ(Load(consumer_, c.id).state, State::kFinalized);
}

TEST_P(EngineTest, InvalidTransitionsAreRefusedWithoutStateChange) {
  manual_ = true;
  Negotiation c = StartNegotiation();
  Pump();
  c = Load(consumer_, c.id);
  Negotiation p = ProviderOf(c);
  ASSERT_EQ(p.state, State::kRequested);
  Caller from_consumer{"peer", Hex(consumer_.key), consumer_.url};
  Caller from_provider{"peer", Hex(provider_.key), provider_.url};
  auto version = p.version;
  // Verification before any agreement: 409, nothing changes.
  Reply r = provider_.engine->Receive(Side::kProvider, "ContractAgreementVerificationMessage", p.id,
                                      from_consumer,
                                      VerificationMessage(p.id, c.id, "00", "c2ln").dump());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body["code"], "invalid_transition");
  EXPECT_EQ(r.body["@type"], "ContractNegotiationError");
  // A provider-only message from the consumer: 403.
  r = provider_.engine->Receive(Side::kProvider, "ContractNegotiationEventMessage", p.id,
                                from_consumer, EventMessage(p.id, c.id, "FINALIZED").dump());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["code"], "wrong_role");
  // Another peer's key, an unknown pid, a pid that disagrees with the URL.
  r = provider_.engine->Receive(Side::kProvider, "ContractNegotiationTerminationMessage", p.id,
                                from_provider, TerminationMessage(p.id, c.id, "", "x").dump());
  EXPECT_EQ(r.status, 404);
  r = provider_.engine->Receive(Side::kProvider, "ContractNegotiationTerminationMessage",
                                "urn:uuid:nope", from_consumer,
                                TerminationMessage("urn:uuid:nope", c.id, "", "x").dump());
  EXPECT_EQ(r.status, 404);
  r = provider_.engine->Receive(Side::kProvider, "ContractNegotiationTerminationMessage", p.id,
                                from_consumer,
                                TerminationMessage(p.id, "urn:uuid:other", "", "x").dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["code"], "pid_mismatch");
  r = provider_.engine->Receive(Side::kProvider, "ContractNegotiationTerminationMessage", p.id,
                                from_consumer, "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["code"], "invalid_message");
  EXPECT_EQ(ProviderOf(c).version, version);
  EXPECT_EQ(ProviderOf(c).state, State::kRequested);
  EXPECT_EQ(LedgerTypes(provider_), std::vector<std::string>{"contract.requested"});
}

TEST_P(EngineTest, PolicyMismatchAndUnknownOfferAreRefusedAndTheConsumerTerminates) {
  Negotiation c = StartNegotiation(Policy("marketing"));
  Pump();
  c = Load(consumer_, c.id);
  EXPECT_EQ(c.state, State::kTerminated);
  EXPECT_NE(c.reason.find("policy_mismatch: purpose differs from offer-1"), std::string::npos)
      << c.reason;
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].status, 422);
  EXPECT_EQ(provider_.ledger->Size(), 0u);  // the provider created nothing
  auto list = ListNegotiations(*provider_.store, "", 10, 0);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_P(EngineTest, RetriesWhileTheProviderIsDownThenCompletes) {
  down_ = true;
  Negotiation c = StartNegotiation();
  ASSERT_TRUE(consumer_.engine->DeliverDue(10).ok());
  auto items = ListOutbox(*consumer_.store, c.id);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].status, "pending");
  EXPECT_EQ((*items)[0].attempts, 1);
  EXPECT_NE((*items)[0].last_error.find("Connection refused"), std::string::npos);
  EXPECT_EQ(Load(consumer_, c.id).state, State::kInitial);
  down_ = false;
  fail_5xx_ = 2;  // then two 503s
  Pump();
  EXPECT_EQ(Load(consumer_, c.id).state, State::kFinalized);
}

TEST_P(EngineTest, GivesUpAfterMaxAttempts) {
  down_ = true;
  Negotiation c = StartNegotiation();
  Pump();
  c = Load(consumer_, c.id);
  EXPECT_EQ(c.state, State::kTerminated);
  EXPECT_NE(c.reason.find("undeliverable after 4 attempts"), std::string::npos) << c.reason;
}

TEST_P(EngineTest, LostAcknowledgementIsImpliedByThePeersNextMessage) {
  lose_acks_ = 1;  // the provider gets the request, the consumer never sees the 201
  Negotiation c = StartNegotiation();
  ASSERT_TRUE(consumer_.engine->DeliverDue(10).ok());
  EXPECT_EQ(Load(consumer_, c.id).state, State::kInitial);
  Pump();
  c = Load(consumer_, c.id);
  EXPECT_EQ(c.state, State::kFinalized);
  EXPECT_EQ(ProviderOf(c).state, State::kFinalized);
  // One contract.requested per side, not two.
  auto ct = LedgerTypes(consumer_);
  EXPECT_EQ(std::count(ct.begin(), ct.end(), "contract.requested"), 1);
}

TEST_P(EngineTest, ManualApprovalHoldsThenApproveCompletes) {
  manual_ = true;
  Negotiation c = StartNegotiation();
  Pump();
  c = Load(consumer_, c.id);
  EXPECT_EQ(c.state, State::kRequested);
  Negotiation p = ProviderOf(c);
  EXPECT_TRUE(p.manual);
  EXPECT_EQ(p.state, State::kRequested);
  auto rejected = provider_.engine->Reject(p.id, "");
  EXPECT_EQ(rejected.status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(provider_.engine->Approve(p.id).ok());
  EXPECT_EQ(provider_.engine->Approve(p.id).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(consumer_.engine->Approve(c.id).status().code(), StatusCode::kFailedPrecondition);
  Pump();
  EXPECT_EQ(Load(consumer_, c.id).state, State::kFinalized);
  EXPECT_EQ(ProviderOf(c).state, State::kFinalized);
  EXPECT_EQ(ProviderOf(c).decision, "approved");
}

TEST_P(EngineTest, RejectTerminatesBothSidesWithTheReason) {
  manual_ = true;
  Negotiation c = StartNegotiation();
  Pump();
  Negotiation p = ProviderOf(Load(consumer_, c.id));
  ASSERT_TRUE(provider_.engine->Reject(p.id, "not for marketing firms").ok());
  EXPECT_EQ(ProviderOf(Load(consumer_, c.id)).state, State::kRequested);  // until acknowledged
  Pump();
  c = Load(consumer_, c.id);
  EXPECT_EQ(c.state, State::kTerminated);
  EXPECT_EQ(c.reason, "rejected: not for marketing firms");
  EXPECT_EQ(ProviderOf(c).state, State::kTerminated);
  EXPECT_EQ(consumer_.engine->Terminate(c.id, "x").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(EngineTest, ConsumerTerminatesWhileWaiting) {
  manual_ = true;
  Negotiation c = StartNegotiation();
  Pump();
  ASSERT_TRUE(consumer_.engine->Terminate(c.id, "no longer needed").ok());
  Pump();
  c = Load(consumer_, c.id);
  EXPECT_EQ(c.state, State::kTerminated);
  EXPECT_EQ(ProviderOf(c).state, State::kTerminated);
  EXPECT_EQ(ProviderOf(c).reason, "terminated: no longer needed");
  EXPECT_EQ(provider_.engine->Approve(ProviderOf(c).id).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(EngineTest, TamperedAgreementIsRefusedAndTheProviderTerminates) {
  tamper_ = [](const std::string& url, const std::string& body) {
    if (url.find("/agreement") == std::string::npos ||
        url.find("verification") != std::string::npos)
      return body;
    json j = json::parse(body);
    j["agreement"]["permission"][0]["action"] = "distribute";
    return j.dump();
  };
  Negotiation c = StartNegotiation();
  Pump();
  c = Load(consumer_, c.id);
  Negotiation p = ProviderOf(c);
  // The consumer refused the agreement (400, no change); the provider then terminated both sides.
  ASSERT_GE(sent_.size(), 3u);
  EXPECT_EQ(sent_[1].status, 400);
  EXPECT_EQ(json::parse(sent_[1].reply)["code"], "invalid_agreement");
  EXPECT_TRUE(c.agreement.is_null());
  EXPECT_EQ(c.state, State::kTerminated);
  EXPECT_EQ(p.state, State::kTerminated);
  EXPECT_NE(p.reason.find("invalid_agreement"), std::string::npos) << p.reason;
  EXPECT_NE(c.reason.find("message_refused"), std::string::npos) << c.reason;
  EXPECT_EQ(LedgerTypes(consumer_).back(), "contract.terminated");
}

TEST_P(EngineTest, ForgedAgreementSignatureIsRefused) {
  auto forger = crypto::SigningKey::Generate();
  tamper_ = [&forger](const std::string& url, const std::string& body) {
    if (url.find("/agreement") == std::string::npos ||
        url.find("verification") != std::string::npos)
      return body;
    json j = json::parse(body);
    j["kexin:signature"] = *SignAgreement(forger, j["agreement"]);
    return j.dump();
  };
  Negotiation c = StartNegotiation();
  Pump();
  EXPECT_EQ(Load(consumer_, c.id).state, State::kTerminated);
  EXPECT_TRUE(Load(consumer_, c.id).agreement.is_null());
  ASSERT_GE(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].status, 400);
  EXPECT_EQ(json::parse(sent_[1].reply)["code"], "bad_agreement_signature");
}

TEST_P(EngineTest, ConsumerAcceptsACounterOffer) {
  manual_ = true;
  Negotiation c = StartNegotiation();
  Pump();
  c = Load(consumer_, c.id);
  Caller from_provider{"peer", Hex(provider_.key), provider_.url};
  json offer = Policy("credit-scoring");
  offer["@type"] = "Offer";
  offer["@id"] = "offer-2";
  offer["target"] = "reg-1";
  Reply r = consumer_.engine->Receive(Side::kConsumer, "ContractOfferMessage", c.id, from_provider,
                                      OfferMessage(c.peer_pid, c.id, offer, "").dump());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["state"], "OFFERED");
  EXPECT_EQ(Load(consumer_, c.id).offer_id, "offer-2");
  ASSERT_TRUE(consumer_.engine->Approve(c.id).ok());
  EXPECT_EQ(Load(consumer_, c.id).pending, State::kAccepted);
}

TEST_P(EngineTest, ConcurrentNegotiationsShareCommitsAndAllFinalize) {
  // Many threads at once: on SQLite their writes share group commits (engine_commit.cc).
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> ids;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto n = consumer_.engine->Start({"provider", provider_.url, Hex(provider_.key)}, "reg-1",
                                         "offer-1", Policy("credit-scoring"));
        std::lock_guard<std::mutex> lock(mu);
        if (n.ok()) ids.push_back(n->id);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(ids.size(), 80u);
  // Deliver from several threads too (the transport calls the peer engine synchronously).
  DeliverWithFourWorkers(8);
  for (const auto& id : ids) EXPECT_EQ(Load(consumer_, id).state, State::kFinalized) << id;
  EXPECT_EQ(consumer_.ledger->Size(), 80u * 5);
  EXPECT_EQ(provider_.ledger->Size(), 80u * 4);
  EXPECT_TRUE(provider_.ledger->VerifyAll().ok());
}

// One delivery in flight per peer: messages beyond it wait for the slot and are handed to the
// worker that frees it; none is lost or left waiting, and the limit holds.
class EngineSlotTest : public EngineTest {
 protected:
  void SetUp() override {
    provider_.per_peer = 1;
    consumer_.per_peer = 1;
    EngineTest::SetUp();
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, EngineSlotTest, ::testing::Values("sqlite"),
                         [](const auto& info) { return info.param; });

TEST_P(EngineSlotTest, WaitingMessagesAreHandedToTheFreedSlotAndAllFinalize) {
  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) {
    auto n = consumer_.engine->Start({"provider", provider_.url, Hex(provider_.key)}, "reg-1",
                                     "offer-1", Policy("credit-scoring"));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ids.push_back(n->id);
  }
  DeliverWithFourWorkers(4);  // four workers per node, one slot per peer
  for (const auto& id : ids) EXPECT_EQ(Load(consumer_, id).state, State::kFinalized) << id;
  EXPECT_EQ(consumer_.max_in_flight.load(), 1);
  EXPECT_EQ(provider_.max_in_flight.load(), 1);
}

// A failed attempt's bookkeeping must not reopen a message that became done meanwhile (the peer's
// next message implied the acknowledgement): it would be sent again.
TEST_P(EngineTest, RetryBookkeepingNeverReopensADoneMessage) {
  store::Store& s = *consumer_.store;
  for (const char* id : {"urn:uuid:item-done", "urn:uuid:item-pending"}) {
    OutboxItem item;
    item.id = id;
    item.negotiation_id = std::string("n-") + id;
    item.kind = "ContractRequestMessage";
    item.url = "http://provider.test/dsp/negotiations/request";
    item.body = "{}";
    ASSERT_TRUE(Enqueue(s, item).ok());
  }
  ASSERT_TRUE(CompletePendingOutbox(s, "n-urn:uuid:item-done").ok());
  for (const char* id : {"urn:uuid:item-done", "urn:uuid:item-pending"}) {
    auto item = LoadOutbox(s, id);
    ASSERT_TRUE(item.ok() && item->has_value());
    OutboxItem retry = **item;
    retry.status = "pending";  // what the worker holds: the item as it leased it
    retry.attempts = 3;
    retry.next_attempt_ms = 12345;
    retry.last_error = "connect: timed out";
    ASSERT_TRUE(RescheduleOutbox(s, retry).ok());
  }
  auto done = LoadOutbox(s, "urn:uuid:item-done");
  ASSERT_TRUE(done.ok() && done->has_value());
  EXPECT_EQ((*done)->status, "done");
  EXPECT_EQ((*done)->attempts, 0);
  auto pending = LoadOutbox(s, "urn:uuid:item-pending");
  ASSERT_TRUE(pending.ok() && pending->has_value());
  EXPECT_EQ((*pending)->status, "pending");
  EXPECT_EQ((*pending)->attempts, 3);
  EXPECT_EQ((*pending)->next_attempt_ms, 12345);
  EXPECT_EQ((*pending)->last_error, "connect: timed out");
}

TEST_P(EngineTest, LedgersCrossCheckAndTamperingIsFound) {
  Negotiation c = StartNegotiation();
  Pump();
  c = Load(consumer_, c.id);
  Negotiation p = ProviderOf(c);
  auto view = [](Node& node, const Negotiation& n) {
    auto events = ListEvents(*node.store, n.id);
    EXPECT_TRUE(events.ok());
    auto v = BuildLedgerView(*node.ledger, n, *events, Hex(node.key));
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return *v;
  };
  json cv = view(consumer_, c), pv = view(provider_, p);
  EXPECT_TRUE(VerifyLedgerView(cv).ok());
  CrossCheckReport r = CrossCheck(cv, pv);
  EXPECT_TRUE(r.ok) << r.ToJson().dump(2);
  EXPECT_EQ(r.checked.size(), 4u);
  // A rewritten entry no longer matches its leaf hash.
  json bad = pv;
  std::string& text = bad["entries"][1]["entry"].get_ref<std::string&>();
  text.replace(text.find("agreementHash") + 16, 4, "ffff");
  r = CrossCheck(cv, bad);
  EXPECT_FALSE(r.ok);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems[0].find("leaf hash does not match"), std::string::npos) << r.problems[0];
  // A view whose checkpoint is not signed by the named node.
  bad = pv;
  bad["node"] = Hex(consumer_.key);
  EXPECT_EQ(VerifyLedgerView(bad).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace kexin::contract
