// Witnessing another log (C2SP tlog-witness semantics, without the HTTP transport, which comes
// with the server): verify a peer's new checkpoint against the last one this node accepted from
// that log, using a consistency proof, and cosign it (C2SP tlog-cosignature, Ed25519, type 0x04).
// Thread-safety: pure functions.
#ifndef KEXIN_LEDGER_WITNESS_H_
#define KEXIN_LEDGER_WITNESS_H_

#include <optional>
#include <string>
#include <vector>

#include "ledger/merkle.h"
#include "ledger/note.h"

namespace kexin::ledger {

// What a witness remembers per log: the latest checkpoint it cosigned.
struct WitnessedTree {
  uint64_t size = 0;
  Hash root{};
};

struct CosignResult {
  NoteSignature cosignature;  // to append to the note's signature lines
  WitnessedTree accepted;     // the witness's new state for this log
};

// Verifies `note` (signed by `log_key`), that its tree is consistent with `last` (the witness's
// previous state for this origin, if any) through `consistency_proof`, and cosigns it at
// `timestamp`. Errors, mirroring tlog-witness's HTTP statuses:
//   kCorruption         the log's signature or the consistency proof does not verify (422 / 403)
//   kFailedPrecondition the checkpoint is older than `last` (409: the caller's state is stale)
//   kInvalidArgument    the note is not a checkpoint of `log_key`'s origin
Result<CosignResult> VerifyAndCosign(const std::string& note, const VerifierKey& log_key,
                                     const std::optional<WitnessedTree>& last,
                                     const std::vector<Hash>& consistency_proof,
                                     const std::string& witness_name,
                                     const crypto::SigningKey& witness_key, uint64_t timestamp);

}  // namespace kexin::ledger

#endif  // KEXIN_LEDGER_WITNESS_H_
