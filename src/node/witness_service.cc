#include "node/witness_service.h"

#include <cstdio>

#include "crypto/crypto.h"
#include "server/node.h"

namespace kexin::node {

namespace {

Result<std::optional<ledger::WitnessedTree>> LoadRecord(store::Store& store,
                                                        const std::string& key) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, store.Query("SELECT value FROM meta WHERE key = $1", {key}));
  if (rows.empty()) return std::optional<ledger::WitnessedTree>();
  const std::string& v = store::AsText(rows[0][0]);
  size_t sp = v.find(' ');
  auto root = crypto::HexDecode(sp == std::string::npos ? "" : v.substr(sp + 1));
  if (sp == 0 || sp == std::string::npos || v.find_first_not_of("0123456789") != sp ||
      !root.ok() || root->size() != 32) {
    return Corruption("stored witness state " + key + " is malformed: '" + v + "'");
  }
  ledger::WitnessedTree t;
  t.size = std::stoull(v.substr(0, sp));
  std::copy(root->begin(), root->end(), t.root.begin());
  return std::optional<ledger::WitnessedTree>(t);
}

}  // namespace

WitnessOutcome WitnessCheckpoint(store::Store& store, const WitnessRequest& req,
                                 const ledger::Ledger& witness, uint64_t timestamp) {
  WitnessOutcome out;
  auto parsed = ledger::SignedNote::Parse(req.note);
  if (!parsed.ok()) {
    out.status = InvalidArgument("not a signed checkpoint: " + parsed.status().message());
    return out;
  }
  // The record is per log key, not per origin name alone: another peer signing checkpoints under
  // this origin's name gets a record of its own and cannot move this log's. Records written
  // before keys were part of the name ("witness:<origin>") are read when no keyed one exists.
  char id_hex[9];
  std::snprintf(id_hex, sizeof id_hex, "%08x", req.log_key.id());
  const std::string key = "witness:" + req.log_key.name + "+" + id_hex;
  const std::string legacy_key = "witness:" + req.log_key.name;
  Status s = store.Begin();
  if (!s.ok()) {
    out.status = s;
    return out;
  }
  auto fail = [&](Status st) {
    store.Rollback().IgnoreError();
    out.status = std::move(st);
    return out;
  };
  auto last = LoadRecord(store, key);
  if (!last.ok()) return fail(last.status());
  bool have_record = last->has_value();
  if (!have_record) {
    last = LoadRecord(store, legacy_key);
    if (!last.ok()) return fail(last.status());
  }
  uint64_t last_size = *last ? (*last)->size : 0;
  if (req.old_size && *req.old_size != last_size) {
    out.witnessed_size = last_size;
    return fail(FailedPrecondition("the submitted old size " + std::to_string(*req.old_size) +
                                   " is not the size last cosigned for " + req.log_key.name +
                                   " (" + std::to_string(last_size) + ")"));
  }
  auto r = ledger::VerifyAndCosign(req.note, req.log_key, *last, req.proof, witness.origin(),
                                   witness.key(), timestamp);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kFailedPrecondition) out.witnessed_size = last_size;
    return fail(r.status());
  }
  std::string value = std::to_string(r->accepted.size) + " " + crypto::HexEncode(r->accepted.root);
  s = store.Exec(have_record ? "UPDATE meta SET value = $2 WHERE key = $1"
                             : "INSERT INTO meta (key, value) VALUES ($1, $2)",
                 {key, value});
  if (s.ok()) s = store.Commit();
  if (!s.ok()) return fail(s);
  out.status = Status::Ok();
  out.cosignature = r->cosignature;
  return out;
}

Result<AddCheckpointBody> ParseAddCheckpointBody(std::string_view body) {
  AddCheckpointBody out;
  size_t nl = body.find('\n');
  if (nl == std::string_view::npos || body.substr(0, 4) != "old ") {
    return InvalidArgument("add-checkpoint: the body must start with an \"old <size>\" line");
  }
  std::string_view num = body.substr(4, nl - 4);
  if (num.empty() || num.size() > 19 || num.find_first_not_of("0123456789") != std::string::npos ||
      (num.size() > 1 && num[0] == '0')) {
    return InvalidArgument("add-checkpoint: malformed old size '" + std::string(num) + "'");
  }
  out.old_size = std::stoull(std::string(num));
  size_t pos = nl + 1;
  while (true) {
    size_t e = body.find('\n', pos);
    if (e == std::string_view::npos) {
      return InvalidArgument("add-checkpoint: missing the empty line before the checkpoint");
    }
    std::string_view line = body.substr(pos, e - pos);
    pos = e + 1;
    if (line.empty()) break;
    if (out.proof.size() == 63) {
      return InvalidArgument("add-checkpoint: more than 63 consistency proof lines");
    }
    auto raw = crypto::Base64Decode(line);
    if (!raw.ok() || raw->size() != 32) {
      return InvalidArgument("add-checkpoint: proof line " + std::to_string(out.proof.size() + 1) +
                             " is not a base64 SHA-256 hash");
    }
    ledger::Hash h;
    std::copy(raw->begin(), raw->end(), h.begin());
    out.proof.push_back(h);
  }
  out.note = std::string(body.substr(pos));
  return out;
}

std::string SerializeAddCheckpointBody(const AddCheckpointBody& body) {
  std::string out = "old " + std::to_string(body.old_size) + "\n";
  for (const auto& h : body.proof) out += crypto::Base64Encode(crypto::AsBytes(h)) + "\n";
  out += "\n";
  out += body.note;
  return out;
}

Result<std::string> PushCheckpoint(ledger::Ledger& ledger, store::Store& store,
                                   server::PeerClient& client, const server::Peer& peer) {
  KEXIN_ASSIGN_OR_RETURN(std::string note_text, ledger.SignCheckpoint());
  KEXIN_ASSIGN_OR_RETURN(auto note, ledger::SignedNote::Parse(note_text));
  KEXIN_ASSIGN_OR_RETURN(auto cp, ledger::Checkpoint::ParseBody(note.text));
  auto raw_key = crypto::HexDecode(peer.public_key);
  if (!raw_key.ok() || raw_key->size() != 32) {
    return Corruption("peer '" + peer.name + "' has a malformed public key");
  }
  crypto::PublicKey witness_key;
  std::copy(raw_key->begin(), raw_key->end(), witness_key.begin());
  const std::string state_key = "witnessed-by:" + peer.name;
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         store.Query("SELECT value FROM meta WHERE key = $1", {state_key}));
  uint64_t old_size = rows.empty() ? 0 : std::stoull(store::AsText(rows[0][0]));
  const std::string url = peer.url + "/add-checkpoint";
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (old_size > cp.size) {
      return FailedPrecondition("witness " + peer.name + " has cosigned size " +
                                std::to_string(old_size) + ", beyond this ledger's " +
                                std::to_string(cp.size) + ": the logs have forked");
    }
    AddCheckpointBody body;
    body.old_size = old_size;
    body.note = note_text;
    if (old_size > 0) {
      KEXIN_ASSIGN_OR_RETURN(body.proof, ledger.ConsistencyProof(old_size, cp.size));
    }
    KEXIN_ASSIGN_OR_RETURN(auto resp, client.Send("POST", url, SerializeAddCheckpointBody(body)));
    if (resp.status == 409) {
      const std::string& b = resp.body;
      if (b.empty() || b.back() != '\n' ||
          b.find_first_not_of("0123456789") != b.size() - 1 || b.size() > 20) {
        return DataError(url + ": 409 without a tree size body");
      }
      old_size = std::stoull(b);
      continue;
    }
    if (resp.status != 200) {
      return FailedPrecondition(url + ": HTTP " + std::to_string(resp.status) + ": " + resp.body);
    }
    // Keep the cosignature lines made by the peer's key, after verifying each.
    KEXIN_ASSIGN_OR_RETURN(auto answered, ledger::SignedNote::Parse(note.text + "\n" + resp.body));
    size_t kept = 0;
    for (const auto& sig : answered.signatures) {
      ledger::VerifierKey vk;
      vk.name = sig.name;
      vk.type = ledger::kSigTypeCosignature;
      vk.key = witness_key;
      if (sig.key_id != vk.id()) continue;
      ledger::SignedNote one{note.text, {sig}};
      KEXIN_RETURN_IF_ERROR(ledger::VerifyNote(one, vk).WithContext(url + ": cosignature"));
      note.signatures.push_back(sig);
      ++kept;
    }
    if (kept == 0) return Corruption(url + ": no cosignature by " + peer.name + "'s key");
    KEXIN_RETURN_IF_ERROR(store.Begin());
    Status s = store.Exec(rows.empty() ? "INSERT INTO meta (key, value) VALUES ($1, $2)"
                                       : "UPDATE meta SET value = $2 WHERE key = $1",
                          {state_key, std::to_string(cp.size)});
    if (s.ok()) s = store.Commit();
    if (!s.ok()) {
      store.Rollback().IgnoreError();
      return s;
    }
    return note.Serialize();
  }
  return FailedPrecondition(url + ": the witness's size kept changing");
}

}  // namespace kexin::node
