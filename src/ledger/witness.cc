#include "ledger/witness.h"

namespace kexin::ledger {

Result<CosignResult> VerifyAndCosign(const std::string& note_text, const VerifierKey& log_key,
                                     const std::optional<WitnessedTree>& last,
                                     const std::vector<Hash>& consistency_proof,
                                     const std::string& witness_name,
                                     const crypto::SigningKey& witness_key, uint64_t timestamp) {
  KEXIN_ASSIGN_OR_RETURN(SignedNote note, SignedNote::Parse(note_text));
  KEXIN_RETURN_IF_ERROR(VerifyNote(note, log_key).WithContext("checkpoint"));
  KEXIN_ASSIGN_OR_RETURN(Checkpoint cp, Checkpoint::ParseBody(note.text));
  if (cp.origin != log_key.name) {
    return InvalidArgument("checkpoint origin '" + cp.origin + "' is not the log '" + log_key.name +
                           "'");
  }
  if (last) {
    if (cp.size < last->size) {
      return FailedPrecondition("checkpoint size " + std::to_string(cp.size) +
                                " is older than the " + std::to_string(last->size) +
                                " already witnessed");
    }
    KEXIN_RETURN_IF_ERROR(
        VerifyConsistency(last->size, cp.size, last->root, cp.root, consistency_proof)
            .WithContext("consistency with the witnessed size " + std::to_string(last->size)));
  } else if (!consistency_proof.empty()) {
    return InvalidArgument(
        "a consistency proof was given but nothing was witnessed before for this log");
  }
  if (timestamp > static_cast<uint64_t>(INT64_MAX))
    return InvalidArgument("timestamp exceeds 2^63-1");
  CosignResult r;
  r.cosignature = Cosign(note.text, witness_name, witness_key, timestamp);
  r.accepted = {cp.size, cp.root};
  return r;
}

}  // namespace kexin::ledger
