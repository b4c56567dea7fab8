// Module `node` (witness part): this node as a witness of its peers' ledgers (C2SP tlog-witness).
//
// The witness remembers, per log (origin and key), the latest checkpoint it cosigned, as the row
// meta("witness:<origin>+<8 hex key id>") = "<size> <hex root>" (rows named "witness:<origin>"
// from earlier versions are read when no keyed row exists). Checking a new checkpoint against that record and
// moving the record forward happen in one store transaction, so two concurrent submissions can
// never roll the record back (the race tlog-witness describes). Used by `kexin ledger cosign` and
// POST /add-checkpoint. Formats: docs/ledger.md (witnessing) and docs/api.md (add-checkpoint).
// Thread-safety: functions are safe on different Stores; a Store is single-threaded.
#ifndef KEXIN_NODE_WITNESS_SERVICE_H_
#define KEXIN_NODE_WITNESS_SERVICE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kexin/status.h"
#include "ledger/ledger.h"
#include "ledger/note.h"
#include "ledger/witness.h"
#include "server/node.h"
#include "store/store.h"

namespace kexin::node {

struct WitnessRequest {
  std::string note;                     // the log's signed checkpoint
  ledger::VerifierKey log_key;          // the log's key (its name is the checkpoint origin)
  std::optional<uint64_t> old_size;     // the size the submitter believes was last cosigned;
                                        // nullopt: whatever this witness last cosigned
  std::vector<ledger::Hash> proof;      // consistency proof from old_size to the checkpoint size
};

struct WitnessOutcome {
  // OK: the cosignature line to append to the note. kFailedPrecondition with `witnessed_size`
  // set: old_size is not the size last cosigned (tlog-witness 409). kCorruption: the checkpoint
  // signature (403) or the consistency proof (422) does not verify. kInvalidArgument: malformed.
  Status status;
  std::optional<ledger::NoteSignature> cosignature;
  std::optional<uint64_t> witnessed_size;
};

// Verifies and cosigns `req` with `witness`'s key, updating the record atomically.
WitnessOutcome WitnessCheckpoint(store::Store& store, const WitnessRequest& req,
                                 const ledger::Ledger& witness, uint64_t timestamp);

// The parsed body of a tlog-witness add-checkpoint request:
// "old N\n" + zero to 63 base64 proof lines + "\n" + checkpoint note.
struct AddCheckpointBody {
  uint64_t old_size = 0;
  std::vector<ledger::Hash> proof;
  std::string note;
};
Result<AddCheckpointBody> ParseAddCheckpointBody(std::string_view body);
std::string SerializeAddCheckpointBody(const AddCheckpointBody& body);

// Asks `peer` to witness this node's ledger (C2SP tlog-witness add-checkpoint at <peer url>/
// add-checkpoint): signs a checkpoint, sends it with a consistency proof from the size the peer
// cosigned last (remembered as meta("witnessed-by:<peer>"); a 409 answer tells the right size and
// the request is repeated once), verifies the returned cosignatures against the peer's key and
// returns the checkpoint with them appended. kFailedPrecondition when the peer refuses.
Result<std::string> PushCheckpoint(ledger::Ledger& ledger, store::Store& store,
                                   server::PeerClient& client, const server::Peer& peer);

}  // namespace kexin::node

#endif  // KEXIN_NODE_WITNESS_SERVICE_H_
