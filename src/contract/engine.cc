// The receiving half of the engine: DSP messages from the peer (docs/contract.md#messages).
#include "contract/engine.h"

#include <algorithm>

#include "base/clock.h"
#include "base/thread_name.h"
#include "contract/agreement.h"
#include "contract/messages.h"
#include "json/canonical.h"
#include "server/api.h"

namespace kexin::contract {

using nlohmann::json;

struct Engine::Outcome {
  Reply reply;
  std::string negotiation_id;  // the negotiation touched, "" when none
  bool conflict = false;       // changed concurrently: run again
  bool enqueued = false;
  bool keep = false;     // the changes are kept (committed)
  internal::TxnLog log;  // what the committed transaction queued
};

namespace {

Side Other(Side s) { return s == Side::kProvider ? Side::kConsumer : Side::kProvider; }

Reply Error(int status, const std::string& ppid, const std::string& cpid, std::string_view code,
            std::string_view reason) {
  if (status >= 500) {
    // Store and other internal errors stay in the node's log (the route logs `detail` under the
    // request id, which it adds to this reason).
    return Reply{status, NegotiationError(ppid, cpid, code, kInternalReason), std::string(reason)};
  }
  return Reply{status, NegotiationError(ppid, cpid, code, reason), ""};
}

std::string JoinReason(const Message& m) {
  std::string out;
  if (m.reason.is_array()) {
    for (const auto& r : m.reason) {
      if (!out.empty()) out += "; ";
      out += r.is_string() ? r.get<std::string>() : r.dump();
    }
  }
  if (!m.code.empty()) out = out.empty() ? "code " + m.code : m.code + ": " + out;
  return out.empty() ? "terminated by the peer" : out;
}

// The consumer's checks of a provider's agreement (docs/contract.md#agreement). `signature` is
// VerifyAgreement of the agreement under the caller's key, which is the negotiation's peer key
// here (the caller was checked against it), computed before the transaction.
Status CheckAgreement(const Negotiation& n, const Message& m, const std::string& own_key,
                      const PolicyMatcher& match, const Status& signature) {
  const json& a = m.agreement;
  if (a["assigner"] != NodeUrn(n.peer_key))
    return InvalidArgument("agreement.assigner must be " + NodeUrn(n.peer_key) + ", the provider");
  if (a["assignee"] != NodeUrn(own_key))
    return InvalidArgument("agreement.assignee must be " + NodeUrn(own_key) + ", this consumer");
  if (a["target"] != n.dataset)
    return InvalidArgument("agreement.target '" + a["target"].get<std::string>() +
                           "' is not the requested dataset '" + n.dataset + "'");
  if (match) {
    Status s = match(a, n.offer);
    if (!s.ok()) return InvalidArgument("agreement rules differ from the offer: " + s.message());
  }
  return signature;
}

}  // namespace

Engine::Engine(EngineConfig config) : config_(std::move(config)) {
  if (config_.open_store) {
    auto w = config_.open_store();
    if (w.ok() && (*w)->backend() == "sqlite") {
      writer_ = std::move(w).value();
      // This connection does all of the engine's writes: a larger page cache and memory-mapped
      // reads spare it most read system calls.
      writer_->Exec("PRAGMA cache_size = -65536").IgnoreError();
      writer_->Exec("PRAGMA mmap_size = 268435456").IgnoreError();
      writer_thread_ = std::thread([this] {
        NameThisThread("kexin-writer");
        WriterLoop();
      });
    }
  }
}

Engine::~Engine() {
  if (writer_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      write_stop_ = true;
    }
    write_cv_.notify_all();
    writer_thread_.join();
  }
}

std::mutex& Engine::LockFor(const std::string& key) {
  return locks_[std::hash<std::string>{}(key) % locks_.size()];
}

struct Engine::Prepared {
  Message m;
  std::string digest;  // hex SHA-256 of the message's RFC 8785 form
  // An agreement to the consumer: what depends on its bytes alone is computed before the
  // transaction (off the writer thread): the provider's signature checked under the caller's key,
  // the agreement's hash and this node's countersignature.
  Status signature;
  Result<std::string> hash = std::string();
  Result<std::string> countersignature = std::string();
};

std::variant<Reply, Engine::Prepared> Engine::Prepare(Side side, std::string_view expected_type,
                                                      const std::string& pid, const Caller& caller,
                                                      std::string_view body) {
  // Parsed once, for the message's fields and for its canonical form.
  auto doc = server::ParseJsonLimited(body, std::string(expected_type) + ": body");
  auto parsed = doc.ok() ? ParseMessageJson(*doc, expected_type) : Result<Message>(doc.status());
  if (!parsed.ok()) {
    return Error(400, side == Side::kProvider ? pid : "", side == Side::kConsumer ? pid : "",
                 "invalid_message", parsed.status().message());
  }
  const Message& m = *parsed;
  auto sender = SenderOf(m.type);
  if (sender && *sender != Other(side)) {
    return Error(403, m.provider_pid, m.consumer_pid, "wrong_role",
                 std::string(MessageTypeName(m.type)) + " is sent by the " +
                     std::string(SideName(*sender)) + "; this is the " +
                     std::string(SideName(side)) + "'s endpoint");
  }
  const std::string& own_pid = side == Side::kProvider ? m.provider_pid : m.consumer_pid;
  if (own_pid != pid) {
    return Error(
        400, m.provider_pid, m.consumer_pid, "pid_mismatch",
        pid.empty()
            ? "an initial " + std::string(expected_type) + " must not carry this side's process id"
            : "the message's " +
                  std::string(side == Side::kProvider ? "providerPid" : "consumerPid") + " '" +
                  own_pid + "' is not '" + pid + "' of the URL");
  }
  auto canonical = ::kexin::json::Canonicalize(*doc);
  if (!canonical.ok()) {
    return Error(400, m.provider_pid, m.consumer_pid, "invalid_message",
                 canonical.status().message());
  }
  Prepared p{std::move(parsed).value(), crypto::HexEncode(crypto::Sha256(*canonical))};
  if (side == Side::kConsumer && p.m.type == MessageType::kAgreement) {
    p.signature = VerifyAgreement(caller.public_key, p.m.agreement, p.m.provider_signature);
    p.hash = AgreementHash(p.m.agreement);
    p.countersignature = SignAgreement(config_.key, p.m.agreement);
  }
  return p;
}

Reply Engine::Receive(Side side, std::string_view expected_type, const std::string& pid,
                      const Caller& caller, std::string_view body) {
  auto prepared = Prepare(side, expected_type, pid, caller, body);
  if (auto* refused = std::get_if<Reply>(&prepared)) return std::move(*refused);
  const Prepared& msg = std::get<Prepared>(prepared);
  const Message& m = msg.m;
  const std::string lock_key = pid.empty() ? caller.public_key + " " + m.consumer_pid : pid;
  Outcome out;
  {
    std::lock_guard<std::mutex> lock(LockFor(lock_key));
    for (int attempt = 0; attempt < 4; ++attempt) {
      out = Outcome();
      out.log = NewLog();
      Status st = InTxn(
          [&](store::Store& s) -> Status {
            internal::TxnScope scope(&out.log);
            ReceiveOnce(side, msg, caller, s, out);
            return out.keep ? Status::Ok() : FailedPrecondition("discarded");
          },
          &out.log);
      if (out.keep && !st.ok()) {  // the commit failed: nothing happened
        out.keep = false;
        out.negotiation_id.clear();
        out.reply = Error(500, m.provider_pid, m.consumer_pid, "internal", st.ToString());
      }
      if (!out.conflict) break;
    }
    if (out.conflict) {
      out.reply = Error(409, m.provider_pid, m.consumer_pid, "conflict",
                        "the negotiation changed concurrently; send the message again");
    }
    if (!out.negotiation_id.empty()) AfterCommit(out.log);
  }
  if (out.enqueued && config_.notify) config_.notify();
  return out.reply;
}

bool Engine::ReceiveAsync(Side side, std::string_view expected_type, const std::string& pid,
                          const Caller& caller, std::string_view body,
                          std::function<void(Reply)> done) {
  if (!CanRunAsync()) return false;
  auto prepared = Prepare(side, expected_type, pid, caller, body);
  if (auto* refused = std::get_if<Reply>(&prepared)) {
    done(std::move(*refused));
    return true;
  }
  // No stripe lock: the writer thread runs one operation at a time, and it queues each
  // operation's messages and events in commit order (QueueCommitted). No retry either: an
  // operation of the writer cannot meet a concurrent change, since the group transaction holds
  // the database's write lock from before the operation reads.
  struct State {
    Prepared msg;
    Caller caller;
    Outcome out;
    std::function<void(Reply)> done;
  };
  auto state = std::make_shared<State>(
      State{std::move(std::get<Prepared>(prepared)), caller, Outcome(), std::move(done)});
  state->out.log = NewLog();
  auto run = [this, side, state](store::Store& s) -> Status {
    internal::TxnScope scope(&state->out.log);
    Outcome& out = state->out;
    try {
      ReceiveOnce(side, state->msg, state->caller, s, out);
    } catch (const std::exception& e) {  // as the server answers a handler that throws
      out.keep = false;
      out.reply = Error(500, state->msg.m.provider_pid, state->msg.m.consumer_pid, "internal",
                        std::string("the message's handling threw: ") + e.what());
    }
    return out.keep ? Status::Ok() : FailedPrecondition("discarded");
  };
  auto then = [this, state](Status st) {
    Outcome& out = state->out;
    const Message& m = state->msg.m;
    if (out.keep && !st.ok()) {  // the commit failed: nothing happened
      out.keep = false;
      out.reply = Error(500, m.provider_pid, m.consumer_pid, "internal", st.ToString());
    }
    if (out.conflict) {
      out.reply = Error(409, m.provider_pid, m.consumer_pid, "conflict",
                        "the negotiation changed concurrently; send the message again");
    }
    if (out.keep && out.enqueued && config_.notify) config_.notify();
    state->done(std::move(out.reply));
  };
  SubmitAsync(std::move(run), &state->out.log, std::move(then));
  return true;
}

bool Engine::CanRunAsync() {
  if (!writer_) return false;
  // Events must go to the recorder thread: the writer thread cannot record them itself.
  std::lock_guard<std::mutex> lock(record_mu_);
  return record_in_background_;
}

Result<bool> Engine::AdmitFromPeer(store::Store& s, const std::string& peer_key, int64_t* open) {
  constexpr int64_t kRecountMs = 1000;
  const int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(open_mu_);
  OpenCount& c = open_counts_[peer_key];
  const bool fresh = c.counted_ms > 0 && now - c.counted_ms < kRecountMs;
  if (!fresh || c.count >= config_.max_open_per_peer) {
    KEXIN_ASSIGN_OR_RETURN(c.count, CountOpenWithPeer(s, Side::kProvider, peer_key));
    c.counted_ms = now;
  }
  *open = c.count;
  if (c.count >= config_.max_open_per_peer) return false;
  ++c.count;
  return true;
}

void Engine::ReceiveOnce(Side side, const Prepared& msg, const Caller& caller, store::Store& s,
                         Outcome& out) {
  const Message& m = msg.m;
  const std::string& digest = msg.digest;
  const std::string& ppid = m.provider_pid;
  const std::string& cpid = m.consumer_pid;
  // Every early return answers without keeping any change (InTxn rolls the operation back).
  auto abort = [&](Reply r) {
    out.keep = false;
    out.reply = std::move(r);
  };
  const bool initial = side == Side::kProvider && m.type == MessageType::kRequest && ppid.empty();
  Result<std::optional<Negotiation>> found =
      initial ? FindByPeerPid(s, side, caller.public_key, cpid)
              : LoadNegotiation(s, side == Side::kProvider ? ppid : cpid);
  if (!found.ok()) return abort(Error(500, ppid, cpid, "internal", found.status().ToString()));
  if (!initial &&
      (!found->has_value() || (*found)->side != side || (*found)->peer_key != caller.public_key)) {
    return abort(Error(404, ppid, cpid, "unknown_negotiation",
                       "no " + std::string(SideName(side)) + " negotiation '" +
                           (side == Side::kProvider ? ppid : cpid) + "' with peer '" + caller.name +
                           "'"));
  }
  if (found->has_value()) {
    auto prior = FindReply(s, (*found)->id, digest);
    if (!prior.ok()) return abort(Error(500, ppid, cpid, "internal", prior.status().ToString()));
    if (prior->has_value()) {
      // The same message again: the same answer, nothing changes.
      return abort(Reply{(*prior)->status, json::parse((*prior)->body)});
    }
    if (initial) {
      return abort(Error(409, (*found)->id, cpid, "duplicate_consumer_pid",
                         "consumerPid '" + cpid + "' is already used by negotiation '" +
                             (*found)->id + "' with a different request"));
    }
  }
  Negotiation n;
  int status = 200;
  if (initial) {
    // Under the peer's URL on a path boundary: "http://127.0.0.1" must not admit
    // "http://127.0.0.11:8443/..." nor "https://b.example" admit "https://b.example.evil/...".
    const std::string& cb = m.callback_address;
    if (cb.rfind(caller.url, 0) != 0 ||
        (cb.size() > caller.url.size() && cb[caller.url.size()] != '/')) {
      return abort(Error(400, "", cpid, "invalid_callback",
                         "callbackAddress '" + m.callback_address +
                             "' is not under the peer's registered URL '" + caller.url + "'"));
    }
    if (config_.max_open_per_peer > 0) {
      int64_t open = 0;
      auto admitted = AdmitFromPeer(s, caller.public_key, &open);
      if (!admitted.ok())
        return abort(Error(500, "", cpid, "internal", admitted.status().ToString()));
      if (!*admitted) {
        Reply too_many = Error(429, "", cpid, "too_many_negotiations",
                               "peer '" + caller.name + "' has " + std::to_string(open) +
                                   " negotiations with this provider that are not final, the limit"
                                   " per peer is " +
                                   std::to_string(config_.max_open_per_peer) +
                                   " (kexin serve --max-negotiations-per-peer); finish or terminate"
                                   " some first");
        too_many.retry_after_s = kTooManyRetryAfterSeconds;
        return abort(std::move(too_many));
      }
    }
    std::string target = m.offer.value("target", "");
    if (target.empty()) {
      return abort(Error(400, "", cpid, "invalid_message",
                         "ContractRequestMessage: field 'offer.target' (the dataset) is required"));
    }
    OfferRequest req{m.offer["@id"].get<std::string>(), target, m.offer, caller.public_key,
                     caller.name};
    auto checked = config_.check_offer(s, req);
    if (auto* rej = std::get_if<OfferRejection>(&checked)) {
      return abort(Error(rej->http_status, "", cpid, rej->code, rej->reason));
    }
    const auto& terms = std::get<OfferTerms>(checked);
    n.id = NewUrn();
    n.side = Side::kProvider;
    n.peer_pid = cpid;
    n.peer_name = caller.name;
    n.peer_key = caller.public_key;
    n.peer_url = m.callback_address;
    while (!n.peer_url.empty() && n.peer_url.back() == '/') n.peer_url.pop_back();
    n.state = State::kRequested;
    n.dataset = target;
    n.offer_id = req.offer_id;
    // The agreement carries the provider's own (canonical) terms, equivalent to those requested.
    n.offer = terms.policy.is_object() ? terms.policy : m.offer;
    n.manual = terms.manual_approval;
    Status e;
    if (!n.manual) {
      e = internal::PrepareAgreement(s, n, config_.key, config_.public_key);
      out.enqueued = true;
    }
    if (e.ok()) e = InsertNegotiation(s, n);
    if (e.ok()) e = internal::AddStateEvent(s, n, config_.public_key);
    if (!e.ok()) return abort(Error(500, n.id, cpid, "internal", e.ToString()));
    status = 201;
  } else {
    n = std::move(**found);
    const std::string& other_pid = side == Side::kProvider ? cpid : ppid;
    if (!n.peer_pid.empty() && other_pid != n.peer_pid) {
      return abort(Error(
          400, ppid, cpid, "pid_mismatch",
          "the message's " + std::string(side == Side::kProvider ? "consumerPid" : "providerPid") +
              " '" + other_pid + "' is not this negotiation's '" + n.peer_pid + "'"));
    }
    auto next = Next(n.state, m.type, Other(side));
    if (!next.ok() && n.pending && Next(*n.pending, m.type, Other(side)).ok()) {
      // The peer's message shows it received ours: that is its acknowledgement.
      if (n.peer_pid.empty()) n.peer_pid = other_pid;
      n.state = *n.pending;
      n.pending.reset();
      Status e = internal::AddStateEvent(s, n, config_.public_key);
      if (e.ok()) e = CompletePendingOutbox(s, n.id);
      if (!e.ok()) return abort(Error(500, ppid, cpid, "internal", e.ToString()));
      next = Next(n.state, m.type, Other(side));
    }
    if (!next.ok()) {
      return abort(Error(409, ppid, cpid, "invalid_transition",
                         next.status().message() + " of negotiation '" + n.id + "'"));
    }
    if (n.peer_pid.empty()) n.peer_pid = other_pid;
    Status e;
    switch (m.type) {
      case MessageType::kRequest: {
        OfferRequest req{m.offer["@id"].get<std::string>(), m.offer.value("target", n.dataset),
                         m.offer, caller.public_key, caller.name};
        auto checked = config_.check_offer(s, req);
        if (auto* rej = std::get_if<OfferRejection>(&checked))
          return abort(Error(rej->http_status, ppid, cpid, rej->code, rej->reason));
        const auto& terms = std::get<OfferTerms>(checked);
        n.offer = terms.policy.is_object() ? terms.policy : m.offer;
        n.offer_id = req.offer_id;
        n.manual = terms.manual_approval;
        n.state = *next;
        e = internal::AddStateEvent(s, n, config_.public_key);
        if (e.ok() && !n.manual) {
          e = internal::PrepareAgreement(s, n, config_.key, config_.public_key);
          out.enqueued = true;
        }
        break;
      }
      case MessageType::kOffer:
        n.offer = m.offer;
        n.offer_id = m.offer["@id"].get<std::string>();
        n.state = *next;
        e = internal::AddStateEvent(s, n, config_.public_key);
        break;
      case MessageType::kAccepted:
        n.state = *next;
        e = internal::AddStateEvent(s, n, config_.public_key);
        if (e.ok()) e = internal::PrepareAgreement(s, n, config_.key, config_.public_key);
        out.enqueued = true;
        break;
      case MessageType::kAgreement: {
        Status check =
            CheckAgreement(n, m, config_.public_key, config_.policies_match, msg.signature);
        if (!check.ok()) {
          bool bad_sig = check.code() == StatusCode::kCorruption;
          return abort(Error(400, ppid, cpid,
                             bad_sig ? "bad_agreement_signature" : "invalid_agreement",
                             check.message()));
        }
        const auto& hash = msg.hash;
        const auto& sig = msg.countersignature;
        if (!hash.ok() || !sig.ok())
          return abort(Error(400, ppid, cpid, "invalid_agreement",
                             hash.ok() ? sig.status().message() : hash.status().message()));
        n.agreement = m.agreement;
        n.agreement_hash = *hash;
        n.provider_signature = m.provider_signature;
        n.consumer_signature = *sig;
        n.state = *next;
        e = internal::AddStateEvent(s, n, config_.public_key);
        if (e.ok()) {
          e = internal::EnqueueMessage(
              s, n, MessageType::kVerification,
              VerificationMessage(n.peer_pid, n.id, n.agreement_hash, n.consumer_signature));
          n.pending = State::kVerified;
          out.enqueued = true;
        }
        break;
      }
      case MessageType::kVerification: {
        if (m.agreement_hash != n.agreement_hash) {
          return abort(Error(400, ppid, cpid, "invalid_agreement",
                             "kexin:agreementHash '" + m.agreement_hash +
                                 "' is not the hash of agreement '" + n.agreement.value("@id", "") +
                                 "' (" + n.agreement_hash + ")"));
        }
        Status v = VerifyAgreement(n.peer_key, n.agreement, m.consumer_signature);
        if (!v.ok()) {
          return abort(Error(400, ppid, cpid, "bad_agreement_signature",
                             "consumer countersignature: " + v.message()));
        }
        n.consumer_signature = m.consumer_signature;
        n.state = *next;
        e = internal::AddStateEvent(s, n, config_.public_key);
        if (e.ok()) {
          e = internal::EnqueueMessage(s, n, MessageType::kFinalized,
                                       EventMessage(n.id, n.peer_pid, "FINALIZED"));
          n.pending = State::kFinalized;
          out.enqueued = true;
        }
        break;
      }
      case MessageType::kFinalized:
        n.state = *next;
        e = internal::AddStateEvent(s, n, config_.public_key);
        break;
      case MessageType::kTermination:
        n.state = *next;
        n.pending.reset();
        n.reason = JoinReason(m);
        e = CompletePendingOutbox(s, n.id);
        if (e.ok()) e = internal::AddStateEvent(s, n, config_.public_key);
        break;
    }
    if (!e.ok()) return abort(Error(500, ppid, cpid, "internal", e.ToString()));
    Status u = UpdateNegotiation(s, n);
    if (!u.ok()) {
      out.conflict = u.code() == StatusCode::kFailedPrecondition;
      return abort(Error(500, ppid, cpid, "internal", u.ToString()));
    }
  }
  Reply reply{status, NegotiationAck(n.provider_pid(), n.consumer_pid(), n.state)};
  if (Status e = SaveReply(s, n.id, digest, StoredReply{reply.status, reply.body.dump()}); !e.ok())
    return abort(Error(500, ppid, cpid, "internal", e.ToString()));
  out.keep = true;
  out.reply = std::move(reply);
  out.negotiation_id = n.id;
}

Reply Engine::Get(Side side, const std::string& pid, const Caller& caller) {
  auto st = config_.store();
  if (!st.ok()) return Error(500, "", "", "internal", st.status().ToString());
  auto found = LoadNegotiation(**st, pid);
  if (!found.ok()) return Error(500, "", "", "internal", found.status().ToString());
  if (!found->has_value() || (*found)->side != side || (*found)->peer_key != caller.public_key) {
    return Error(404, side == Side::kProvider ? pid : "", side == Side::kConsumer ? pid : "",
                 "unknown_negotiation",
                 "no " + std::string(SideName(side)) + " negotiation '" + pid + "' with peer '" +
                     caller.name + "'");
  }
  const Negotiation& n = **found;
  return Reply{200, NegotiationAck(n.provider_pid(), n.consumer_pid(), n.state)};
}

}  // namespace kexin::contract
