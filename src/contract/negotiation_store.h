// Module `contract` (persistence part): negotiations, their history, the replies already given
// (idempotency) and the outbox of messages still to deliver, in the node's Store (migration 5,
// docs/contract.md#persistence). Both backends; all SQL is the common subset.
//
// Negotiations are updated optimistically: UpdateNegotiation writes only when the stored version
// is the one that was read, so a CLI approval and the server never overwrite each other.
// Thread-safety: functions use the Store they are given; a Store is single-threaded.
#ifndef KEXIN_CONTRACT_NEGOTIATION_STORE_H_
#define KEXIN_CONTRACT_NEGOTIATION_STORE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "contract/state.h"
#include "kexin/status.h"
#include "store/store.h"

namespace kexin::contract {

struct Negotiation {
  std::string id;  // this node's process id (providerPid on a provider, consumerPid on a consumer)
  Side side = Side::kConsumer;
  std::string peer_pid;   // the other side's process id; "" until known
  std::string peer_name;  // peers table name
  std::string peer_key;   // peer's Ed25519 public key, hex
  std::string peer_url;   // provider: the consumer's callbackAddress; consumer: provider DSP base
  State state = State::kInitial;
  std::optional<State> pending;  // state entered when the peer acknowledges our message in flight
  std::string dataset;
  std::string offer_id;
  nlohmann::json offer;      // the MessageOffer as requested (consumer) / accepted (provider)
  bool manual = false;       // provider: the offer needs `kexin contract approve`
  std::string decision;      // "", "approved", "rejected"
  nlohmann::json agreement;  // null until agreed
  std::string agreement_hash, provider_signature, consumer_signature;
  std::string reason;  // termination reason
  int64_t version = 0;
  std::string created, updated;
  // The terms as the store holds them (JSON text): UpdateNegotiation writes offer and agreement
  // only when they changed.
  std::string stored_offer, stored_agreement;
  // The other columns UpdateNegotiation may change, as the store holds them: it writes only those
  // that changed, so an index over unchanged columns is not rewritten.
  struct Columns {
    std::string peer_pid, peer_url, state, pending, decision, agreement_hash, provider_signature,
        consumer_signature, reason, offer_id;
    bool manual = false;
  };
  Columns stored;

  const std::string& provider_pid() const { return side == Side::kProvider ? id : peer_pid; }
  const std::string& consumer_pid() const { return side == Side::kConsumer ? id : peer_pid; }
};

struct Event {
  int64_t seq = 0;
  std::string time;
  std::string type;  // ledger entry type, "contract.agreed", or a local one ("contract.approved")
  std::string state;
  nlohmann::json body;
  std::optional<int64_t> ledger_index;  // -1 while being recorded
};

struct OutboxItem {
  std::string id;
  std::string negotiation_id;
  std::string kind;  // MessageTypeName of what it carries
  std::string url;
  std::string body;
  int64_t attempts = 0;
  int64_t next_attempt_ms = 0;     // unix milliseconds
  std::string status = "pending";  // pending, done, failed
  std::string last_error;
};

Status InsertNegotiation(store::Store& s, Negotiation& n);
Result<std::optional<Negotiation>> LoadNegotiation(store::Store& s, const std::string& id);
// The negotiation of `side` with a peer's process id from that peer's key.
Result<std::optional<Negotiation>> FindByPeerPid(store::Store& s, Side side,
                                                 const std::string& peer_key,
                                                 const std::string& peer_pid);
// How many of `side`'s negotiations with the peer `peer_key` are not final (INITIAL through
// VERIFIED); uses the index of migration 6.
Result<int64_t> CountOpenWithPeer(store::Store& s, Side side, const std::string& peer_key);
// Writes `n` if its stored version is n.version, then increments n.version; kAborted-like
// kFailedPrecondition "changed concurrently" otherwise.
Status UpdateNegotiation(store::Store& s, Negotiation& n);
Result<std::vector<Negotiation>> ListNegotiations(store::Store& s, const std::string& state_filter,
                                                  int64_t limit, int64_t offset);

// Adds an event; `claimed` stores it as being recorded (-1) by this process, `seq` receives its
// number.
Status AddEvent(store::Store& s, const std::string& negotiation_id, const std::string& type,
                State state, const nlohmann::json& body, bool claimed = false,
                int64_t* seq = nullptr, std::string* time = nullptr);
// Events left claimed (-1) by a process that stopped before recording them become unrecorded.
Status ReleaseClaimedEvents(store::Store& s);
Result<std::vector<Event>> ListEvents(store::Store& s, const std::string& negotiation_id);
// Marks the events of a negotiation not yet on the ledger as being recorded (-1) and returns them.
Result<std::vector<Event>> ClaimUnrecordedEvents(store::Store& s,
                                                 const std::string& negotiation_id);
Status SetEventLedgerIndex(store::Store& s, const std::string& negotiation_id, int64_t seq,
                           int64_t index);
// Negotiations that have events not yet on the ledger.
Result<std::vector<std::string>> NegotiationsWithUnrecordedEvents(store::Store& s, int64_t limit);

struct StoredReply {
  int status = 0;
  std::string body;
};
// The answer given before to a message with this digest (hex SHA-256 of its canonical JSON).
Result<std::optional<StoredReply>> FindReply(store::Store& s, const std::string& negotiation_id,
                                             const std::string& digest);
Status SaveReply(store::Store& s, const std::string& negotiation_id, const std::string& digest,
                 const StoredReply& reply);

Status Enqueue(store::Store& s, const OutboxItem& item);
// Pending items due at `now_ms`, oldest first, except those whose URL starts with one of
// `skip_url_prefixes` (peers with all their delivery slots taken); each is leased (next attempt
// moved to now_ms + lease_ms) so other workers skip it.
Result<std::vector<OutboxItem>> LeaseDue(store::Store& s, int64_t now_ms, int64_t lease_ms,
                                         int64_t limit,
                                         const std::vector<std::string>& skip_url_prefixes = {});
// Moves a pending item's next attempt (no attempt is counted): a delivery that had to wait.
Status DeferOutbox(store::Store& s, const std::string& id, int64_t next_attempt_ms);
// Whether any pending item is due at `now_ms` (a read: lets idle workers skip the lease write).
Result<bool> HasDue(store::Store& s, int64_t now_ms);
Status UpdateOutbox(store::Store& s, const OutboxItem& item);
// A pending item delivered: done after `attempts` attempts, its last error cleared, in one
// statement. False when it was not pending (done or failed meanwhile), and then unchanged.
Result<bool> CompleteOutbox(store::Store& s, const std::string& id, int64_t attempts);
// A failed attempt of a pending item: its attempts, next attempt and last error. An item that
// became done or failed meanwhile (an implied acknowledgement, a termination) is left as it is.
Status RescheduleOutbox(store::Store& s, const OutboxItem& item);
Result<std::optional<OutboxItem>> LoadOutbox(store::Store& s, const std::string& id);
Result<std::vector<OutboxItem>> ListOutbox(store::Store& s, const std::string& negotiation_id);
// Marks every pending item of a negotiation done (an implied acknowledgement, docs/contract.md).
Status CompletePendingOutbox(store::Store& s, const std::string& negotiation_id);

int64_t NowMs();

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_NEGOTIATION_STORE_H_
