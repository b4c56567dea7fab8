#include "node/ledger_views.h"

#include "crypto/crypto.h"

namespace kexin::node {

using nlohmann::json;

namespace {
std::string B64(const ledger::Hash& h) { return crypto::Base64Encode(crypto::AsBytes(h)); }
json HashList(const std::vector<ledger::Hash>& hs) {
  json a = json::array();
  for (const auto& h : hs) a.push_back(B64(h));
  return a;
}
}  // namespace

json LedgerHead(const ledger::Ledger& ledger) {
  uint64_t size = ledger.Size();
  auto c = ledger.LatestCheckpoint();
  return {{"origin", ledger.origin()},
          {"size", size},
          {"root", B64(ledger.Root(size))},
          {"latest_checkpoint", c.ok() ? json(*c) : json(nullptr)}};
}

Result<json> EntryJson(const ledger::Ledger& ledger, uint64_t index) {
  KEXIN_ASSIGN_OR_RETURN(std::string e, ledger.Entry(index));
  KEXIN_ASSIGN_OR_RETURN(ledger::Hash leaf, ledger.LeafHashAt(index));
  return json{{"index", index}, {"leaf_hash", B64(leaf)}, {"entry", json::parse(e)},
              {"canonical", e}};
}

Result<json> InclusionProofJson(ledger::Ledger& ledger, uint64_t index,
                                std::optional<uint64_t> size) {
  json checkpoint = nullptr;
  uint64_t at;
  if (size) {
    at = *size;
  } else {
    KEXIN_ASSIGN_OR_RETURN(std::string note, ledger.SignCheckpoint());
    KEXIN_ASSIGN_OR_RETURN(auto parsed, ledger::SignedNote::Parse(note));
    KEXIN_ASSIGN_OR_RETURN(auto cp, ledger::Checkpoint::ParseBody(parsed.text));
    at = cp.size;
    checkpoint = note;
  }
  KEXIN_ASSIGN_OR_RETURN(auto proof, ledger.InclusionProof(index, at));
  KEXIN_ASSIGN_OR_RETURN(ledger::Hash leaf, ledger.LeafHashAt(index));
  return json{{"index", index},
              {"tree_size", at},
              {"leaf_hash", B64(leaf)},
              {"root", B64(ledger.Root(at))},
              {"inclusion_proof", HashList(proof)},
              {"checkpoint", checkpoint}};
}

Result<json> ConsistencyProofJson(const ledger::Ledger& ledger, uint64_t old_size,
                                  std::optional<uint64_t> new_size) {
  uint64_t nsz = new_size ? *new_size : ledger.Size();
  KEXIN_ASSIGN_OR_RETURN(auto proof, ledger.ConsistencyProof(old_size, nsz));
  return json{{"old_size", old_size},
              {"new_size", nsz},
              {"old_root", B64(ledger.Root(old_size))},
              {"new_root", B64(ledger.Root(nsz))},
              {"consistency_proof", HashList(proof)}};
}

}  // namespace kexin::node
