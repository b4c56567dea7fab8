// Module `contract` (cross-check part): comparing the provider's and the consumer's ledger records
// of one negotiation (docs/contract.md#cross-check).
//
// Each side exports a ledger view of the negotiation (GET /v1/negotiations/:id/ledger): its node
// key, ledger origin, a signed checkpoint and every entry of the negotiation with its inclusion
// proof. CrossCheck verifies each view on its own (checkpoint signature by the node key, leaf
// hashes, inclusion proofs) and then that both sides recorded the same shared states with the same
// process ids, keys, agreement id and agreement hash. Thread-safety: pure functions.
#ifndef KEXIN_CONTRACT_CROSSCHECK_H_
#define KEXIN_CONTRACT_CROSSCHECK_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "contract/negotiation_store.h"
#include "kexin/status.h"
#include "ledger/ledger.h"

namespace kexin::contract {

struct CrossCheckReport {
  bool ok = false;
  std::vector<std::string> checked;   // "contract.agreed: provider #12 = consumer #7", ...
  std::vector<std::string> problems;  // what disagrees or does not verify
  nlohmann::json ToJson() const;
};

// {"negotiation","side","providerPid","consumerPid","node","origin","checkpoint","tree_size",
//  "entries":[{"index","type","entry","leaf_hash","inclusion_proof"}]}: the negotiation's recorded
// events with proofs against a checkpoint signed now.
Result<nlohmann::json> BuildLedgerView(ledger::Ledger& ledger, const Negotiation& n,
                                       const std::vector<Event>& events,
                                       const std::string& node_key);
// Verifies one ledger view; kCorruption names the entry or signature that fails.
Status VerifyLedgerView(const nlohmann::json& view);
// Compares the views of both sides (in either order).
CrossCheckReport CrossCheck(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_CROSSCHECK_H_
