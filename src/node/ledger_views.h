// Module `node` (ledger views): the JSON shapes of ledger proofs, shared by the CLI
// (`kexin ledger proof|consistency|show`) and the HTTP API (GET /v1/ledger/...), so both print the
// same document (docs/ledger.md). Thread-safety: as the Ledger.
#ifndef KEXIN_NODE_LEDGER_VIEWS_H_
#define KEXIN_NODE_LEDGER_VIEWS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "kexin/status.h"
#include "ledger/ledger.h"

namespace kexin::node {

// {"origin","size","root","latest_checkpoint"}
nlohmann::json LedgerHead(const ledger::Ledger& ledger);
// {"index","leaf_hash","entry","canonical"}
Result<nlohmann::json> EntryJson(const ledger::Ledger& ledger, uint64_t index);
// {"index","tree_size","leaf_hash","root","inclusion_proof","checkpoint"}; without `size`, against
// the current size with a checkpoint of that size (signed now if the ledger has grown).
Result<nlohmann::json> InclusionProofJson(ledger::Ledger& ledger, uint64_t index,
                                          std::optional<uint64_t> size);
// {"old_size","new_size","old_root","new_root","consistency_proof"}; new_size defaults to the
// current size.
Result<nlohmann::json> ConsistencyProofJson(const ledger::Ledger& ledger, uint64_t old_size,
                                            std::optional<uint64_t> new_size);

}  // namespace kexin::node

#endif  // KEXIN_NODE_LEDGER_VIEWS_H_
