#include "node/witness_service.h"

#include "crypto/crypto.h"

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
  const std::string key = "witness:" + req.log_key.name;
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
  s = store.Exec(*last ? "UPDATE meta SET value = $2 WHERE key = $1"
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

}  // namespace kexin::node
