// Module `contract` (engine part): both sides of a DSP contract negotiation, independent of HTTP.
//
// The Engine applies incoming negotiation messages (Receive), management actions (Start, Approve,
// Reject, Terminate) and acknowledgements of the messages it sent (DeliverDue), persisting
// everything through negotiation_store.h. A state changes on the receiver when a message is
// accepted and on the sender only when the peer acknowledges it (2xx); a message the peer's
// answer implies it received (the provider's agreement answers our request) counts as
// acknowledged. Every accepted message's reply is stored under the digest of its canonical JSON,
// so the same message again gets the same answer and changes nothing. Outgoing messages go
// through the persisted outbox with retries and exponential backoff on transport errors and 5xx.
// Every state change is an event that is appended to the node's ledger after its transaction
// commits. Protocol: docs/contract.md.
//
// Thread-safety: all methods may be called concurrently; messages for one negotiation are
// serialized by a lock striped by negotiation id, and across processes (CLI) by optimistic
// versioning in the store.
#ifndef KEXIN_CONTRACT_ENGINE_H_
#define KEXIN_CONTRACT_ENGINE_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "contract/messages.h"
#include "contract/negotiation_store.h"
#include "contract/state.h"
#include "crypto/crypto.h"
#include "kexin/status.h"
#include "ledger/ledger.h"
#include "store/store.h"

namespace kexin::contract {

// What the provider's catalog says about a requested offer.
struct OfferRequest {
  std::string offer_id;
  std::string target;         // the dataset the consumer asked for
  nlohmann::json requested;   // the MessageOffer the consumer sent
  std::string consumer_key;   // hex
  std::string consumer_name;  // the provider's peers-table name for the consumer
};
struct OfferTerms {
  nlohmann::json policy;  // the offer's ODRL policy as the provider stores it
  bool manual_approval = false;
};
struct OfferRejection {
  int http_status = 422;
  std::string code;    // "policy_mismatch", "offer_withdrawn", "offer_expired", "unknown_offer"
  std::string reason;  // names the offer and the constraint
};
using OfferChecker =
    std::function<std::variant<OfferTerms, OfferRejection>(store::Store&, const OfferRequest&)>;
// OK when the rules of two ODRL policies mean the same (consumer check of the agreement).
using PolicyMatcher = std::function<Status(const nlohmann::json& a, const nlohmann::json& b)>;

struct TransportReply {
  int status = 0;
  std::string body;
  int64_t retry_after_ms = 0;  // the answer's Retry-After (delay-seconds), 0 when absent
};
// Sends a signed POST with a JSON body; kIoError on transport failure.
using Transport =
    std::function<Result<TransportReply>(const std::string& url, const std::string& body)>;

struct RetryPolicy {
  int max_attempts = 12;
  int64_t base_backoff_ms = 200;
  int64_t max_backoff_ms = 30000;
  int64_t lease_ms = 30000;  // how long a leased outbox item is hidden from other workers
};

struct EngineConfig {
  std::function<Result<store::Store*>()> store;  // the calling thread's store
  ledger::Ledger* ledger = nullptr;  // null (CLI): events wait for a server to record them
  crypto::SigningKey key;
  std::string public_key;  // hex
  std::string public_url;  // base URL peers reach this node at; callbacks under <url>/dsp/callback
  Transport transport;     // null (CLI): nothing is sent, the server's worker sends it
  OfferChecker check_offer;
  PolicyMatcher policies_match;
  RetryPolicy retry;
  // Provider: initial requests from a peer that already has this many negotiations that are not
  // final are refused with 429 `too_many_negotiations`; 0 = no limit (docs/contract.md#limits).
  int64_t max_open_per_peer = 10000;
  // Outbox deliveries in flight to one peer (scheme://host:port) at a time; items beyond it wait
  // for a free slot (docs/contract.md#outbox-and-retries). 0 = no limit.
  int max_inflight_per_peer = 0;
  std::function<void()> notify;  // wakes the outbox worker after an enqueue; may be null
  // DeliverDue with nothing queued in memory looks for items due in the store (retries, CLI
  // decisions, messages of a process that stopped) at most once per this many ms across all its
  // callers while none is due (once some are, until they are all taken); 0 = on every call.
  int64_t store_poll_ms = 0;
  // Optional: opens a dedicated connection; on SQLite the engine then group-commits its writes
  // through it (many operations per commit).
  std::function<Result<std::unique_ptr<store::Store>>()> open_store;
};

// The caller of a DSP endpoint as the server authenticated it.
struct Caller {
  std::string name;        // peers table name
  std::string public_key;  // hex
  std::string url;         // the peer's registered base URL
};

struct Reply {
  int status = 200;
  nlohmann::json body;
  // 5xx only: what went wrong (a store error, say). It names internals, so it is for the node's
  // log and never sent; the body carries a generic reason (docs/contract.md#messages).
  std::string detail;
  int retry_after_s = 0;  // > 0: sent as Retry-After (429)
};

// The Retry-After of a 429 too_many_negotiations: a hint, since negotiations end when their
// peers act; a kexin consumer waits at least this long, at most its retry.max_backoff_ms.
inline constexpr int kTooManyRetryAfterSeconds = 2;

// The reason a 5xx answer gives (its detail goes to the log only).
inline constexpr std::string_view kInternalReason = "internal error";

struct PeerRef {
  std::string name, url, public_key;
};

// Helpers shared by the engine's files and tests (docs/contract.md).
namespace internal {
// An event to append to the ledger.
struct RecordItem {
  std::string negotiation_id;
  int64_t seq = 0;
  std::string type;
  nlohmann::json body;
};
// What one transaction queued: set as the thread's current log (TxnScope) while it runs.
struct TxnLog {
  bool self_deliver = false;  // this process sends the messages it queues (lease them)
  bool record = false;        // this process records the events it adds (claim them)
  int64_t lease_ms = 30000;
  std::vector<OutboxItem> sent;
  std::vector<RecordItem> events;
};
class TxnScope {
 public:
  explicit TxnScope(TxnLog* log);
  ~TxnScope();
  TxnScope(const TxnScope&) = delete;
  TxnScope& operator=(const TxnScope&) = delete;

 private:
  TxnLog* previous_;
};
TxnLog* CurrentTxn();  // nullptr outside a TxnScope
// AddEvent that also notes the event in the current transaction's log.
Status AddLoggedEvent(store::Store& s, const std::string& negotiation_id, const std::string& type,
                      State state, const nlohmann::json& body);
// Adds an event for `n` entering `n.state` with the ledger body of docs/contract.md#ledger.
Status AddStateEvent(store::Store& s, const Negotiation& n, const std::string& own_key);
nlohmann::json LedgerBody(const Negotiation& n, const std::string& node_key);
// The URL a message of type `t` is sent to for `n`.
std::string PeerEndpoint(const Negotiation& n, MessageType t);
Status EnqueueMessage(store::Store& s, Negotiation& n, MessageType t, const nlohmann::json& body);
// Builds, signs and enqueues the agreement (provider); sets n.pending = AGREED.
Status PrepareAgreement(store::Store& s, Negotiation& n, const crypto::SigningKey& key,
                        const std::string& own_key);
}  // namespace internal

class Engine {
 public:
  explicit Engine(EngineConfig config);
  ~Engine();

  // A DSP message addressed to this node's `side` endpoints. `pid` is the process id in the URL
  // ("" for POST /dsp/negotiations/request); `expected_type` the message type the endpoint takes.
  Reply Receive(Side side, std::string_view expected_type, const std::string& pid,
                const Caller& caller, std::string_view body);
  // Receive without blocking the calling thread: `done` gets the reply once, on the calling
  // thread (a refusal before any store access) or on the group-commit writer thread once the
  // change is durable. False, and `done` is not called, when this engine cannot (no group-commit
  // writer, or events are not recorded in the background): call Receive instead.
  bool ReceiveAsync(Side side, std::string_view expected_type, const std::string& pid,
                    const Caller& caller, std::string_view body, std::function<void(Reply)> done);
  // GET of a negotiation by its process id on `side`, visible only to its peer.
  Reply Get(Side side, const std::string& pid, const Caller& caller);

  // Consumer: starts a negotiation for `offer_id` of `dataset` at `peer`. `policy` is the offer
  // as the peer's catalog shows it (an odrl:Offer or just its rules).
  Result<Negotiation> Start(const PeerRef& peer, const std::string& dataset,
                            const std::string& offer_id, const nlohmann::json& policy);
  // Provider: approves a negotiation held for manual approval (sends the signed agreement).
  // Consumer: accepts a provider's offer (sends ACCEPTED).
  Result<Negotiation> Approve(const std::string& id);
  // Provider: rejects a negotiation held for manual approval (sends a termination).
  Result<Negotiation> Reject(const std::string& id, const std::string& reason);
  // Either side: terminates a negotiation that is not final.
  Result<Negotiation> Terminate(const std::string& id, const std::string& reason);

  // Sends outbox items (at most `limit`): first those this engine just queued, else those due in
  // the store (retries, other processes' decisions); applies acknowledgements. Returns how many
  // were attempted. Needs a transport.
  Result<int> DeliverDue(size_t limit);
  // Records every negotiation's unrecorded events (start-up, after CLI decisions).
  Status RecordAllEvents();
  // From now on, events are recorded on the ledger by RecordPending (called by the service's
  // recorder thread) instead of by the thread that committed them.
  void RecordInBackground();
  // Records the events queued since the last call, waiting up to `wait` for some; returns how
  // many were recorded.
  Result<int> RecordPending(std::chrono::milliseconds wait);
  // Wakes RecordPending waiters (shutdown).
  void StopRecording();
  // Returns once every operation queued for the group-commit writer before the call has committed
  // (or failed) and its messages and events are queued; at once without a writer.
  Status Flush();

  const EngineConfig& config() const { return config_; }

  // What the group-commit writer has done (all 0 without one) and what waits for the outbox
  // workers; served at /metrics (docs/api.md#metrics).
  struct Stats {
    bool group_commit = false;  // a writer thread exists (SQLite)
    uint64_t commits = 0;       // group commits (successful or not)
    uint64_t operations = 0;    // operations run by the writer, kept or refused
    double writer_busy_s = 0;   // the writer's time running operations and committing
    uint64_t outbox_ready = 0;  // committed messages waiting in memory for an outbox worker
  };
  Stats stats();

 private:
  struct Outcome;  // engine.cc
  std::mutex& LockFor(const std::string& key);
  // The asynchronous paths (ReceiveAsync, ApplyAckAsync) need a group-commit writer and events
  // recorded in the background (the writer thread cannot record them itself).
  bool CanRunAsync();
  struct Prepared;  // engine.cc: a parsed and checked incoming message
  void ReceiveOnce(Side side, const Prepared& msg, const Caller& caller, store::Store& s,
                   Outcome& out);
  // Runs `fn` in a transaction; its changes are kept when it returns OK and are durable when
  // InTxn returns OK. With a group-commit connection (SQLite), the writer thread runs the
  // operations of many threads one after another, each in its own savepoint, and commits them
  // together.
  // With `log`, the messages and events it holds are queued (QueueCommitted) by the thread that
  // commits, in commit order, before InTxn returns.
  Status InTxn(const std::function<Status(store::Store&)>& fn, internal::TxnLog* log = nullptr);
  struct WriteOp;  // engine_commit.cc
  // Queues an operation for the writer thread (writer_ must be set).
  void Submit(WriteOp* op);
  // Queues `fn` for the writer thread without waiting: `then` gets its outcome on the writer
  // thread (once the group commits when fn succeeded, at once when it failed), after `log` was
  // queued (QueueCommitted); `log` must live until then.
  void SubmitAsync(std::function<Status(store::Store&)> fn, internal::TxnLog* log,
                   std::function<void(Status)> then);
  void WriterLoop();
  std::variant<Reply, Prepared> Prepare(Side side, std::string_view expected_type,
                                        const std::string& pid, const Caller& caller,
                                        std::string_view body);
  Status Deliver(store::Store& s, OutboxItem item);
  // Per-peer delivery slots (config.max_inflight_per_peer). TakeSlotOrWait takes a slot, or else
  // moves `item` to the peer's waiting line. NextForSlot, called by a slot's holder after a
  // delivery, keeps the slot and returns the next waiting item, or frees the slot when none is
  // left; items that waited longer than `max_wait_ms` (all when it is negative) go to `stale`.
  // BusyPeers lists "scheme://host:port/" of the peers whose slots are all taken.
  bool TakeSlotOrWait(const std::string& peer, OutboxItem& item);
  std::optional<OutboxItem> NextForSlot(const std::string& peer, int64_t max_wait_ms,
                                        std::vector<std::string>* stale);
  std::vector<std::string> BusyPeers();
  // The peer acknowledged `item` (2xx): completes it and moves `n` on, in the caller's
  // transaction; kDataError when the acknowledgement is unusable (FailDelivery then).
  Status AcknowledgeIn(store::Store& s, Negotiation& n, const OutboxItem& item,
                       const TransportReply& reply);
  Status ApplyAck(const OutboxItem& item, const TransportReply& reply);
  // ApplyAck through the group-commit writer without waiting for it, so the worker goes on to its
  // next delivery; false (nothing done) when this engine cannot (as ReceiveAsync).
  bool ApplyAckAsync(const OutboxItem& item, const TransportReply& reply);
  // Ends the negotiation after `item` could not be delivered; with `tell_peer` (the peer refused
  // it) a termination is sent first and the state changes when the peer acknowledges it.
  Status FailDelivery(const OutboxItem& item, const std::string& why, bool tell_peer = false);
  Status FailDeliveryIn(store::Store& s, Negotiation& n, const OutboxItem& item,
                        const std::string& why, bool tell_peer);
  // Loads negotiation `id`, applies `fn` and stores it, in the caller's transaction.
  Status MutateIn(store::Store& s, const std::string& id,
                  const std::function<Status(store::Store&, Negotiation&)>& fn,
                  Negotiation* result = nullptr);
  Result<Negotiation> Mutate(const std::string& id,
                             const std::function<Status(store::Store&, Negotiation&)>& fn);
  // After a transaction commits: queue its messages for delivery, its events for the ledger.
  void AfterCommit(internal::TxnLog& log);
  // The part of AfterCommit that never blocks: hands the messages to the workers and, when the
  // recorder thread records, the events to it (both taken out of `log`).
  void QueueCommitted(internal::TxnLog& log);
  Status RecordBatch(std::vector<internal::RecordItem> items);
  internal::TxnLog NewLog() const;

  EngineConfig config_;
  std::array<std::mutex, 1024> locks_;
  // Group commit (SQLite, when config.open_store is set): operations queue for the writer
  // thread, which alone uses writer_ (engine_commit.cc).
  std::unique_ptr<store::Store> writer_;
  std::mutex write_mu_;
  std::condition_variable write_cv_;  // the writer waits for operations
  std::vector<WriteOp*> write_queue_;
  std::atomic<uint64_t> stat_commits_{0}, stat_operations_{0}, stat_busy_ns_{0};
  bool write_stop_ = false;
  std::thread writer_thread_;
  // store_poll_ms: when (steady clock, ms) the store is looked at next; 0 = at once.
  std::atomic<int64_t> next_store_poll_ms_{0};
  std::mutex ready_mu_;
  std::deque<OutboxItem> ready_;  // queued by this process, leased in the store until delivered
  std::mutex inflight_mu_;
  struct PeerSlots {
    int inflight = 0;                                    // deliveries in flight
    std::deque<std::pair<int64_t, OutboxItem>> waiting;  // (since, item) for a free slot
  };
  std::map<std::string, PeerSlots> peer_slots_;
  // Provider: how many negotiations that are not final each peer has (max_open_per_peer). The
  // count is taken from the store at most once a second per peer and raised by each request
  // admitted meanwhile, so it errs high between counts; a refusal always recounts first.
  struct OpenCount {
    int64_t count = 0;
    int64_t counted_ms = 0;
  };
  Result<bool> AdmitFromPeer(store::Store& s, const std::string& peer_key, int64_t* open);
  std::mutex open_mu_;
  std::map<std::string, OpenCount> open_counts_;
  std::mutex record_mu_;
  std::condition_variable record_cv_;
  std::vector<internal::RecordItem> to_record_;
  bool record_in_background_ = false;
  bool record_stop_ = false;
};

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_ENGINE_H_
