// The sending half of the engine: management actions, the outbox and the ledger
// (docs/contract.md#outbox).
#include <algorithm>
#include <random>
#include <thread>
#include <unordered_map>

#include "base/clock.h"
#include "contract/agreement.h"
#include "contract/engine.h"
#include "contract/messages.h"

namespace kexin::contract {

using nlohmann::json;

namespace internal {

namespace {
thread_local TxnLog* current_txn = nullptr;
}  // namespace

TxnScope::TxnScope(TxnLog* log) : previous_(current_txn) { current_txn = log; }
TxnScope::~TxnScope() { current_txn = previous_; }
TxnLog* CurrentTxn() { return current_txn; }

Status AddLoggedEvent(store::Store& s, const std::string& negotiation_id, const std::string& type,
                      State state, const json& body) {
  TxnLog* log = CurrentTxn();
  const bool claim = log && log->record;
  int64_t seq = 0;
  KEXIN_RETURN_IF_ERROR(AddEvent(s, negotiation_id, type, state, body, claim, &seq));
  if (claim) log->events.push_back(RecordItem{negotiation_id, seq, type, body});
  return Status::Ok();
}

json LedgerBody(const Negotiation& n, const std::string& node_key) {
  json b = {{"providerPid", n.provider_pid()},
            {"consumerPid", n.consumer_pid()},
            {"side", SideName(n.side)},
            {"state", StateName(n.state)},
            {"provider", n.side == Side::kProvider ? node_key : n.peer_key},
            {"consumer", n.side == Side::kConsumer ? node_key : n.peer_key},
            {"dataset", n.dataset},
            {"offer", n.offer_id}};
  // The agreement is named from AGREED on: before, a provider may hold one not yet delivered.
  if (!n.agreement.is_null() &&
      (n.state == State::kAgreed || n.state == State::kVerified || n.state == State::kFinalized)) {
    b["agreement"] = n.agreement.value("@id", "");
    b["agreementHash"] = n.agreement_hash;
  }
  if (n.state == State::kTerminated) b["reason"] = n.reason;
  return b;
}

Status AddStateEvent(store::Store& s, const Negotiation& n, const std::string& own_key) {
  return AddLoggedEvent(s, n.id, std::string(LedgerType(n.state)), n.state, LedgerBody(n, own_key));
}

std::string PeerEndpoint(const Negotiation& n, MessageType t) {
  const std::string base = n.peer_url + "/negotiations/";
  if (n.side == Side::kConsumer) {  // to the provider's DSP endpoints
    switch (t) {
      case MessageType::kRequest:
        return n.peer_pid.empty() ? base + "request" : base + n.peer_pid + "/request";
      case MessageType::kAccepted:
        return base + n.peer_pid + "/events";
      case MessageType::kVerification:
        return base + n.peer_pid + "/agreement/verification";
      default:
        return base + n.peer_pid + "/termination";
    }
  }
  switch (t) {  // to the consumer's callback endpoints
    case MessageType::kOffer:
      return base + n.peer_pid + "/offers";
    case MessageType::kAgreement:
      return base + n.peer_pid + "/agreement";
    case MessageType::kFinalized:
      return base + n.peer_pid + "/events";
    default:
      return base + n.peer_pid + "/termination";
  }
}

Status EnqueueMessage(store::Store& s, Negotiation& n, MessageType t, const json& body) {
  OutboxItem item;
  item.id = NewUrn();
  item.negotiation_id = n.id;
  item.kind = std::string(MessageTypeName(t));
  item.url = PeerEndpoint(n, t);
  item.body = body.dump();
  TxnLog* log = CurrentTxn();
  const bool self = log && log->self_deliver;
  // Sent by this process right after the commit: leased until then, so no poller takes it.
  item.next_attempt_ms = NowMs() + (self ? log->lease_ms : 0);
  KEXIN_RETURN_IF_ERROR(Enqueue(s, item));
  if (self) log->sent.push_back(item);
  return Status::Ok();
}

Status PrepareAgreement(store::Store& s, Negotiation& n, const crypto::SigningKey& key,
                        const std::string& own_key) {
  json agreement = BuildAgreement(NewUrn(), n.dataset, own_key, n.peer_key, NowRfc3339(), n.offer);
  KEXIN_ASSIGN_OR_RETURN(n.agreement_hash, AgreementHash(agreement));
  KEXIN_ASSIGN_OR_RETURN(n.provider_signature, SignAgreement(key, agreement));
  n.agreement = std::move(agreement);
  n.pending = State::kAgreed;
  return EnqueueMessage(s, n, MessageType::kAgreement,
                        AgreementMessage(n.id, n.peer_pid, n.agreement, n.provider_signature));
}

}  // namespace internal

namespace {

std::optional<MessageType> KindType(const std::string& kind) {
  for (MessageType t :
       {MessageType::kRequest, MessageType::kOffer, MessageType::kAccepted, MessageType::kAgreement,
        MessageType::kVerification, MessageType::kFinalized, MessageType::kTermination}) {
    if (MessageTypeName(t) == kind) return t;
  }
  return std::nullopt;
}

// "error reason" from a DSP or kexin error body, else the body's start.
std::string PeerReason(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("reason") && j["reason"].is_array() && !j["reason"].empty())
      return j.value("code", "") + ": " +
             (j["reason"][0].is_string() ? j["reason"][0].get<std::string>() : j["reason"].dump());
    if (j.contains("error") && j["error"].is_object())
      return j["error"].value("code", "") + ": " + j["error"].value("message", "");
  }
  return body.substr(0, 200);
}

}  // namespace

Status Engine::MutateIn(store::Store& s, const std::string& id,
                        const std::function<Status(store::Store&, Negotiation&)>& fn,
                        Negotiation* result) {
  KEXIN_ASSIGN_OR_RETURN(auto found, LoadNegotiation(s, id));
  if (!found) return NotFound("negotiation '" + id + "' does not exist");
  Negotiation n = std::move(*found);
  KEXIN_RETURN_IF_ERROR(fn(s, n));
  KEXIN_RETURN_IF_ERROR(UpdateNegotiation(s, n));
  if (result) *result = std::move(n);
  return Status::Ok();
}

Result<Negotiation> Engine::Mutate(const std::string& id,
                                   const std::function<Status(store::Store&, Negotiation&)>& fn) {
  Negotiation result;
  {
    std::lock_guard<std::mutex> lock(LockFor(id));
    Status last;
    for (int attempt = 0; attempt < 4; ++attempt) {
      internal::TxnLog log = NewLog();
      last = InTxn(
          [&](store::Store& s) -> Status {
            internal::TxnScope scope(&log);
            return MutateIn(s, id, fn, &result);
          },
          &log);
      if (last.ok()) {
        AfterCommit(log);
        break;
      }
      if (last.message().find("changed concurrently") == std::string::npos) return last;
    }
    KEXIN_RETURN_IF_ERROR(last);
  }
  if (config_.notify) config_.notify();
  return result;
}

Result<Negotiation> Engine::Start(const PeerRef& peer, const std::string& dataset,
                                  const std::string& offer_id, const json& policy) {
  if (dataset.empty()) return InvalidArgument("field 'dataset' is required");
  if (offer_id.empty()) return InvalidArgument("field 'offer' is required");
  if (!policy.is_object()) return InvalidArgument("field 'policy' must be an ODRL offer object");
  json offer = policy;
  offer["@type"] = "Offer";
  offer["@id"] = offer_id;
  offer["target"] = dataset;
  offer.erase("@context");
  if (!offer.contains("permission") && !offer.contains("prohibition"))
    return InvalidArgument("field 'policy' needs a permission or a prohibition rule");
  Negotiation n;
  n.id = NewUrn();
  n.side = Side::kConsumer;
  n.peer_name = peer.name;
  n.peer_key = peer.public_key;
  n.peer_url = peer.url;
  while (!n.peer_url.empty() && n.peer_url.back() == '/') n.peer_url.pop_back();
  n.peer_url += "/dsp";
  n.state = State::kInitial;
  n.pending = State::kRequested;
  n.dataset = dataset;
  n.offer_id = offer_id;
  n.offer = offer;
  internal::TxnLog log = NewLog();
  KEXIN_RETURN_IF_ERROR(InTxn(
      [&](store::Store& s) -> Status {
        internal::TxnScope scope(&log);
        KEXIN_RETURN_IF_ERROR(InsertNegotiation(s, n));
        KEXIN_RETURN_IF_ERROR(internal::EnqueueMessage(
            s, n, MessageType::kRequest,
            RequestMessage(n.id, "", offer, config_.public_url + "/dsp/callback")));
        return internal::AddLoggedEvent(s, n.id, "contract.started", n.state,
                                        internal::LedgerBody(n, config_.public_key));
      },
      &log));
  {
    std::lock_guard<std::mutex> lock(LockFor(n.id));
    AfterCommit(log);
  }
  if (config_.notify) config_.notify();
  return n;
}

Result<Negotiation> Engine::Approve(const std::string& id) {
  return Mutate(id, [&](store::Store& s, Negotiation& n) -> Status {
    if (n.side == Side::kProvider) {
      if (n.state != State::kRequested || !n.manual || !n.decision.empty() || n.pending) {
        return FailedPrecondition("negotiation '" + id + "' is not waiting for approval (state " +
                                  std::string(StateName(n.state)) +
                                  (n.decision.empty() ? "" : ", already " + n.decision) + ")");
      }
      if (config_.check_offer) {  // the offer may have expired or been withdrawn meanwhile
        auto checked = config_.check_offer(
            s, OfferRequest{n.offer_id, n.dataset, n.offer, n.peer_key, n.peer_name});
        if (auto* rej = std::get_if<OfferRejection>(&checked)) {
          return FailedPrecondition("negotiation '" + id + "' cannot be approved: " + rej->code +
                                    ": " + rej->reason + "; reject it instead");
        }
      }
      n.decision = "approved";
      KEXIN_RETURN_IF_ERROR(internal::AddLoggedEvent(s, n.id, "contract.approved", n.state,
                                                     internal::LedgerBody(n, config_.public_key)));
      return internal::PrepareAgreement(s, n, config_.key, config_.public_key);
    }
    if (n.state != State::kOffered || n.pending) {
      return FailedPrecondition("negotiation '" + id + "' has no offer to accept (state " +
                                std::string(StateName(n.state)) + ")");
    }
    n.decision = "approved";
    KEXIN_RETURN_IF_ERROR(internal::EnqueueMessage(s, n, MessageType::kAccepted,
                                                   EventMessage(n.peer_pid, n.id, "ACCEPTED")));
    n.pending = State::kAccepted;
    return Status::Ok();
  });
}

Result<Negotiation> Engine::Reject(const std::string& id, const std::string& reason) {
  if (reason.empty()) return InvalidArgument("a rejection needs a reason");
  return Mutate(id, [&](store::Store& s, Negotiation& n) -> Status {
    if (n.side != Side::kProvider || n.state != State::kRequested || !n.manual ||
        !n.decision.empty()) {
      return FailedPrecondition("negotiation '" + id + "' is not waiting for approval (state " +
                                std::string(StateName(n.state)) +
                                (n.decision.empty() ? "" : ", already " + n.decision) + ")");
    }
    n.decision = "rejected";
    n.reason = reason;
    KEXIN_RETURN_IF_ERROR(internal::AddLoggedEvent(s, n.id, "contract.rejected", n.state,
                                                   internal::LedgerBody(n, config_.public_key)));
    KEXIN_RETURN_IF_ERROR(internal::EnqueueMessage(
        s, n, MessageType::kTermination, TerminationMessage(n.id, n.peer_pid, "rejected", reason)));
    n.pending = State::kTerminated;
    return Status::Ok();
  });
}

Result<Negotiation> Engine::Terminate(const std::string& id, const std::string& reason) {
  if (reason.empty()) return InvalidArgument("a termination needs a reason");
  return Mutate(id, [&](store::Store& s, Negotiation& n) -> Status {
    if (IsFinal(n.state)) {
      return FailedPrecondition("negotiation '" + id + "' is already " +
                                std::string(StateName(n.state)));
    }
    if (n.pending == State::kTerminated) {
      return FailedPrecondition("negotiation '" + id + "' is already being terminated");
    }
    KEXIN_RETURN_IF_ERROR(CompletePendingOutbox(s, n.id));
    n.reason = reason;
    if (n.peer_pid.empty()) {
      // The peer has not acknowledged anything yet: there is nothing to tell it.
      n.pending.reset();
      n.state = State::kTerminated;
      return internal::AddStateEvent(s, n, config_.public_key);
    }
    KEXIN_RETURN_IF_ERROR(internal::EnqueueMessage(
        s, n, MessageType::kTermination,
        TerminationMessage(n.provider_pid(), n.consumer_pid(), "terminated", reason)));
    n.pending = State::kTerminated;
    return Status::Ok();
  });
}

namespace {

// The peer a message goes to, as the per-peer delivery limit counts it: "scheme://host:port".
std::string PeerOfUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t end = url.find_first_of("/?#", scheme == std::string::npos ? 0 : scheme + 3);
  return end == std::string::npos ? url : url.substr(0, end);
}

}  // namespace

bool Engine::TakeSlotOrWait(const std::string& peer, OutboxItem& item) {
  if (config_.max_inflight_per_peer <= 0) return true;
  std::lock_guard<std::mutex> lock(inflight_mu_);
  PeerSlots& p = peer_slots_[peer];
  if (p.inflight < config_.max_inflight_per_peer) {
    ++p.inflight;
    return true;
  }
  p.waiting.push_back({NowMs(), std::move(item)});
  return false;
}

std::optional<OutboxItem> Engine::NextForSlot(const std::string& peer, int64_t max_wait_ms,
                                              std::vector<std::string>* stale) {
  if (config_.max_inflight_per_peer <= 0) return std::nullopt;
  std::lock_guard<std::mutex> lock(inflight_mu_);
  auto it = peer_slots_.find(peer);
  if (it == peer_slots_.end()) return std::nullopt;
  PeerSlots& p = it->second;
  const int64_t now = NowMs();
  while (!p.waiting.empty()) {
    auto [since, item] = std::move(p.waiting.front());
    p.waiting.pop_front();
    if (max_wait_ms >= 0 && now - since <= max_wait_ms) return std::move(item);  // slot kept
    stale->push_back(item.id);  // waited too long for its lease: back to the table, due now
  }
  if (--p.inflight <= 0) peer_slots_.erase(it);
  return std::nullopt;
}

std::vector<std::string> Engine::BusyPeers() {
  std::vector<std::string> out;
  if (config_.max_inflight_per_peer <= 0) return out;
  std::lock_guard<std::mutex> lock(inflight_mu_);
  for (const auto& [peer, p] : peer_slots_) {
    if (p.inflight >= config_.max_inflight_per_peer) out.push_back(peer + "/");
  }
  return out;
}

Result<int> Engine::DeliverDue(size_t limit) {
  if (!config_.transport) return FailedPrecondition("this engine has no transport");
  KEXIN_ASSIGN_OR_RETURN(store::Store * s, config_.store());
  std::vector<OutboxItem> items;
  {
    std::lock_guard<std::mutex> lock(ready_mu_);
    while (!ready_.empty() && items.size() < limit) {
      items.push_back(std::move(ready_.front()));
      ready_.pop_front();
    }
  }
  if (items.empty()) {
    if (config_.store_poll_ms > 0) {  // one worker looks at a time, at most once per interval
      // A steady clock: a step of the wall clock must not stretch the interval.
      const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count();
      int64_t next = next_store_poll_ms_.load();
      if (now < next ||
          !next_store_poll_ms_.compare_exchange_strong(next, now + config_.store_poll_ms)) {
        return 0;
      }
    }
    KEXIN_ASSIGN_OR_RETURN(bool due, HasDue(*s, NowMs()));
    // The interval holds only while nothing is due: with items due (a backlog after an outage,
    // some of them for a peer whose slots are taken), the next idle worker looks at once.
    if (due) next_store_poll_ms_ = 0;
    if (!due) return 0;
    // Items for a peer whose delivery slots are all taken stay due for a later pass.
    std::vector<std::string> busy = BusyPeers();
    KEXIN_RETURN_IF_ERROR(InTxn([&](store::Store& w) -> Status {
      KEXIN_ASSIGN_OR_RETURN(
          items, LeaseDue(w, NowMs(), config_.retry.lease_ms, static_cast<int64_t>(limit), busy));
      return Status::Ok();
    }));
  }
  // A message for a peer whose delivery slots are all taken waits in memory and is handed to the
  // worker that frees one of them, which sends it next (no store write, no delay). A message that
  // waited or sat longer than a quarter of its lease goes back to the table, due at once, so no
  // other worker leases it while it is still held here.
  std::vector<std::string> stale;
  const int64_t started = NowMs();
  const int64_t max_wait = config_.retry.lease_ms / 4;
  for (auto& first : items) {
    if (NowMs() - started > max_wait) {
      stale.push_back(first.id);
      continue;
    }
    const std::string peer = PeerOfUrl(first.url);
    if (!TakeSlotOrWait(peer, first)) continue;
    std::optional<OutboxItem> item = std::move(first);
    while (item) {
      Status e = Deliver(*s, std::move(*item));
      (void)e;  // a failed bookkeeping write leaves the lease to expire; the item is retried
      item = NextForSlot(peer, NowMs() - started > max_wait ? -1 : max_wait, &stale);
    }
  }
  if (!stale.empty()) {
    const int64_t now = NowMs();
    InTxn([&](store::Store& w) -> Status {
      for (const auto& id : stale) KEXIN_RETURN_IF_ERROR(DeferOutbox(w, id, now));
      return Status::Ok();
    }).IgnoreError();         // else the lease expires and the item is due then
    next_store_poll_ms_ = 0;  // due now: the next idle worker looks
  }
  return static_cast<int>(items.size());
}

Status Engine::Deliver(store::Store& s, OutboxItem item) {
  auto reply = config_.transport(item.url, item.body);
  if (reply.ok() && reply->status >= 200 && reply->status < 300) {
    if (ApplyAckAsync(item, *reply)) return Status::Ok();
    return ApplyAck(item, *reply);
  }
  const bool retryable =
      !reply.ok() || reply->status >= 500 || reply->status == 408 || reply->status == 429;
  std::string why = !reply.ok() ? reply.status().message()
                                : "peer answered " + std::to_string(reply->status) + " " +
                                      PeerReason(reply->body);
  if (!retryable) return FailDelivery(item, item.kind + " rejected: " + why, /*tell_peer=*/true);
  ++item.attempts;
  if (item.attempts >= config_.retry.max_attempts) {
    return FailDelivery(item, item.kind + " undeliverable after " + std::to_string(item.attempts) +
                                  " attempts: " + why);
  }
  int64_t backoff = config_.retry.base_backoff_ms << std::min<int64_t>(item.attempts - 1, 20);
  backoff = std::min(backoff, config_.retry.max_backoff_ms);
  static thread_local std::minstd_rand rng(std::random_device{}());
  backoff += static_cast<int64_t>(rng() % static_cast<uint64_t>(backoff / 4 + 1));
  // The peer's Retry-After, as far as our own longest wait allows.
  if (reply.ok()) {
    backoff = std::max(backoff, std::min(reply->retry_after_ms, config_.retry.max_backoff_ms));
  }
  item.next_attempt_ms = NowMs() + backoff;
  item.last_error = why;
  (void)s;
  return InTxn([&](store::Store& w) { return RescheduleOutbox(w, item); });
}

Status Engine::AcknowledgeIn(store::Store& s, Negotiation& n, const OutboxItem& item,
                             const TransportReply& reply) {
  auto type = KindType(item.kind);
  if (!type) return Corruption("outbox item " + item.id + ": unknown kind '" + item.kind + "'");
  KEXIN_ASSIGN_OR_RETURN(bool was_pending, CompleteOutbox(s, item.id, item.attempts + 1));
  if (!was_pending) return Status::Ok();  // superseded
  if (n.side == Side::kConsumer && n.peer_pid.empty()) {
    json ack = json::parse(reply.body, nullptr, false);
    if (!ack.is_object() || !ack.contains("providerPid") || !ack["providerPid"].is_string() ||
        ack["providerPid"].get<std::string>().empty()) {
      return DataError("the provider's acknowledgement carries no providerPid");
    }
    n.peer_pid = ack["providerPid"].get<std::string>();
  }
  if (n.pending && !IsFinal(n.state)) {
    auto next = Next(n.state, *type, n.side);
    if (next.ok() && *next == *n.pending) {
      n.state = *next;
      n.pending.reset();
      KEXIN_RETURN_IF_ERROR(internal::AddStateEvent(s, n, config_.public_key));
    }
  }
  return Status::Ok();
}

Status Engine::ApplyAck(const OutboxItem& item, const TransportReply& reply) {
  auto done = Mutate(item.negotiation_id, [&](store::Store& s, Negotiation& n) -> Status {
    return AcknowledgeIn(s, n, item, reply);
  });
  if (!done.ok() && done.status().code() == StatusCode::kDataError) {
    return FailDelivery(item, item.kind + ": " + done.status().message(), /*tell_peer=*/true);
  }
  return done.status();
}

bool Engine::ApplyAckAsync(const OutboxItem& item, const TransportReply& reply) {
  if (!CanRunAsync()) return false;
  // As ReceiveAsync: no stripe lock and no retry, since the writer thread runs one operation at a
  // time inside a transaction that holds the database's write lock.
  struct State {
    OutboxItem item;
    TransportReply reply;
    internal::TxnLog log;
  };
  auto state = std::make_shared<State>(State{item, reply, NewLog()});
  auto run = [this, state](store::Store&) -> Status {  // runs on the writer thread
    internal::TxnScope scope(&state->log);
    const OutboxItem& it = state->item;
    // Nested transactions (savepoints of this operation): a refused acknowledgement leaves no
    // change behind before the failure is recorded.
    Status e = InTxn([&](store::Store& w) -> Status {
      return MutateIn(w, it.negotiation_id, [&](store::Store& x, Negotiation& n) {
        return AcknowledgeIn(x, n, it, state->reply);
      });
    });
    if (e.code() != StatusCode::kDataError) return e;
    state->log.sent.clear();
    state->log.events.clear();
    const std::string why = it.kind + ": " + e.message();
    return InTxn([&](store::Store& w) -> Status {
      return MutateIn(w, it.negotiation_id, [&](store::Store& x, Negotiation& n) {
        return FailDeliveryIn(x, n, it, why, /*tell_peer=*/true);
      });
    });
  };
  // A failed operation leaves the item leased: it is due again when the lease ends.
  SubmitAsync(std::move(run), &state->log, [this, state](Status) {
    if (config_.notify) config_.notify();
  });
  return true;
}

Status Engine::FailDeliveryIn(store::Store& s, Negotiation& n, const OutboxItem& item,
                              const std::string& why, bool tell_peer) {
  KEXIN_ASSIGN_OR_RETURN(auto current, LoadOutbox(s, item.id));
  if (!current || current->status != "pending") return Status::Ok();
  OutboxItem updated = *current;
  updated.status = "failed";
  updated.attempts = item.attempts;
  updated.last_error = why;
  KEXIN_RETURN_IF_ERROR(UpdateOutbox(s, updated));
  if (IsFinal(n.state)) return Status::Ok();
  KEXIN_RETURN_IF_ERROR(CompletePendingOutbox(s, n.id));
  n.reason = why;
  if (tell_peer && !n.peer_pid.empty() && item.kind != MessageTypeName(MessageType::kTermination)) {
    // The peer refused our message: tell it the negotiation is over, so it does not wait.
    KEXIN_RETURN_IF_ERROR(internal::EnqueueMessage(
        s, n, MessageType::kTermination,
        TerminationMessage(n.provider_pid(), n.consumer_pid(), "message_refused", why)));
    n.pending = State::kTerminated;
    return Status::Ok();
  }
  n.pending.reset();
  n.state = State::kTerminated;
  return internal::AddStateEvent(s, n, config_.public_key);
}

Status Engine::FailDelivery(const OutboxItem& item, const std::string& why, bool tell_peer) {
  auto done = Mutate(item.negotiation_id, [&](store::Store& s, Negotiation& n) -> Status {
    return FailDeliveryIn(s, n, item, why, tell_peer);
  });
  return done.status();
}

}  // namespace kexin::contract
