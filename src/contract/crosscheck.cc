#include "contract/crosscheck.h"

#include <cstring>
#include <map>

#include "crypto/crypto.h"
#include "ledger/merkle.h"
#include "ledger/note.h"

namespace kexin::contract {
namespace {

using nlohmann::json;

constexpr const char* kShared[] = {"contract.requested", "contract.agreed", "contract.verified",
                                   "contract.finalized", "contract.terminated"};

Result<ledger::Hash> B64Hash(const json& v, const std::string& what) {
  if (!v.is_string()) return Corruption(what + " is not a string");
  auto raw = crypto::Base64Decode(v.get<std::string>());
  if (!raw.ok() || raw->size() != 32) return Corruption(what + " is not a base64 SHA-256 hash");
  ledger::Hash h;
  std::memcpy(h.data(), raw->data(), 32);
  return h;
}

}  // namespace

Result<json> BuildLedgerView(ledger::Ledger& ledger, const Negotiation& n,
                             const std::vector<Event>& events, const std::string& node_key) {
  KEXIN_ASSIGN_OR_RETURN(std::string note_text, ledger.SignCheckpoint());
  KEXIN_ASSIGN_OR_RETURN(auto note, ledger::SignedNote::Parse(note_text));
  KEXIN_ASSIGN_OR_RETURN(auto cp, ledger::Checkpoint::ParseBody(note.text));
  json entries = json::array();
  for (const Event& e : events) {
    if (!e.ledger_index || *e.ledger_index < 0) continue;
    uint64_t index = static_cast<uint64_t>(*e.ledger_index);
    if (index >= cp.size) continue;
    KEXIN_ASSIGN_OR_RETURN(std::string text, ledger.Entry(index));
    KEXIN_ASSIGN_OR_RETURN(ledger::Hash leaf, ledger.LeafHashAt(index));
    KEXIN_ASSIGN_OR_RETURN(auto proof, ledger.InclusionProof(index, cp.size));
    json p = json::array();
    for (const auto& h : proof) p.push_back(crypto::Base64Encode(crypto::AsBytes(h)));
    entries.push_back({{"index", index},
                       {"type", e.type},
                       {"entry", text},
                       {"leaf_hash", crypto::Base64Encode(crypto::AsBytes(leaf))},
                       {"inclusion_proof", p}});
  }
  return json{{"negotiation", n.id},
              {"side", SideName(n.side)},
              {"providerPid", n.provider_pid()},
              {"consumerPid", n.consumer_pid()},
              {"node", node_key},
              {"origin", ledger.origin()},
              {"checkpoint", note_text},
              {"tree_size", cp.size},
              {"entries", entries}};
}

json CrossCheckReport::ToJson() const {
  return {{"ok", ok}, {"checked", checked}, {"problems", problems}};
}

Status VerifyLedgerView(const json& view) {
  if (!view.is_object() || !view.contains("entries") || !view["entries"].is_array())
    return InvalidArgument("ledger view: 'entries' must be an array");
  const std::string side = view.value("side", "?");
  auto key_raw = crypto::HexDecode(view.value("node", ""));
  if (!key_raw.ok() || key_raw->size() != 32)
    return InvalidArgument("ledger view (" + side + "): 'node' must be a hex Ed25519 key");
  ledger::VerifierKey vk;
  vk.name = view.value("origin", "");
  std::memcpy(vk.key.data(), key_raw->data(), 32);
  KEXIN_ASSIGN_OR_RETURN(auto note, ledger::SignedNote::Parse(view.value("checkpoint", "")));
  KEXIN_RETURN_IF_ERROR(ledger::VerifyNote(note, vk).WithContext("ledger view (" + side + ")"));
  KEXIN_ASSIGN_OR_RETURN(auto cp, ledger::Checkpoint::ParseBody(note.text));
  for (const auto& e : view["entries"]) {
    const std::string where = "ledger view (" + side + ") entry " + e.value("index", json()).dump();
    if (!e.contains("entry") || !e["entry"].is_string()) return Corruption(where + ": no entry text");
    const std::string text = e["entry"].get<std::string>();
    KEXIN_ASSIGN_OR_RETURN(ledger::Hash leaf, B64Hash(e.value("leaf_hash", json()), where + " leaf_hash"));
    if (ledger::LeafHash(text) != leaf) return Corruption(where + ": leaf hash does not match the entry");
    std::vector<ledger::Hash> proof;
    for (const auto& p : e.value("inclusion_proof", json::array())) {
      KEXIN_ASSIGN_OR_RETURN(ledger::Hash h, B64Hash(p, where + " proof"));
      proof.push_back(h);
    }
    if (!e.contains("index") || !e["index"].is_number_unsigned())
      return Corruption(where + ": no index");
    KEXIN_RETURN_IF_ERROR(
        ledger::VerifyInclusion(e["index"].get<uint64_t>(), cp.size, leaf, proof, cp.root)
            .WithContext(where));
  }
  return Status::Ok();
}

CrossCheckReport CrossCheck(const json& a, const json& b) {
  CrossCheckReport r;
  for (const json* v : {&a, &b}) {
    Status s = VerifyLedgerView(*v);
    if (!s.ok()) r.problems.push_back(s.message());
  }
  const json* provider = a.value("side", "") == "provider" ? &a : &b;
  const json* consumer = provider == &a ? &b : &a;
  if (provider->value("side", "") != "provider" || consumer->value("side", "") != "consumer") {
    r.problems.push_back("need one provider view and one consumer view");
    return r;
  }
  auto by_type = [](const json& view) {
    std::map<std::string, std::pair<uint64_t, json>> m;
    for (const auto& e : view["entries"]) {
      json entry = json::parse(e.value("entry", "{}"), nullptr, false);
      if (!entry.is_object()) continue;
      m[entry.value("type", "")] = {e.value("index", uint64_t{0}), entry["body"]};
    }
    return m;
  };
  auto pm = by_type(*provider), cm = by_type(*consumer);
  for (const char* t : kShared) {
    auto pi = pm.find(t);
    auto ci = cm.find(t);
    if (pi == pm.end() && ci == cm.end()) continue;
    if (pi == pm.end() || ci == cm.end()) {
      r.problems.push_back(std::string(t) + ": recorded only by the " +
                           (pi == pm.end() ? "consumer" : "provider"));
      continue;
    }
    const json& pb = pi->second.second;
    const json& cb = ci->second.second;
    bool same = true;
    for (const char* k : {"providerPid", "consumerPid", "provider", "consumer", "dataset", "offer",
                          "agreement", "agreementHash"}) {
      if (pb.value(k, json()) != cb.value(k, json())) {
        r.problems.push_back(std::string(t) + ": " + k + " differs: provider " +
                             pb.value(k, json()).dump() + ", consumer " + cb.value(k, json()).dump());
        same = false;
      }
    }
    if (pb.value("provider", "") != provider->value("node", "") ||
        cb.value("consumer", "") != consumer->value("node", "")) {
      r.problems.push_back(std::string(t) + ": the entries do not name the nodes that signed them");
      same = false;
    }
    if (same) {
      r.checked.push_back(std::string(t) + ": provider #" + std::to_string(pi->second.first) +
                          " = consumer #" + std::to_string(ci->second.first));
    }
  }
  if (r.checked.empty() && r.problems.empty()) r.problems.push_back("no shared entries to compare");
  r.ok = r.problems.empty();
  return r;
}

}  // namespace kexin::contract
