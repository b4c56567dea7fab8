#include "registry/registry.h"

#include <toml++/toml.h>

#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "base/file.h"
#include "json/canonical.h"
#include "registry/fingerprint.h"
#include "scan/detector_set.h"
#include "scan/rules.h"
#include "scan/scanner.h"

namespace kexin::registry {
namespace {

using nlohmann::json;

constexpr const char* kCertFormat = "kexin.registration-certificate/v1";

std::string Today(int add_years = 0) {
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  tm.tm_year += add_years;
  char buf[16];
  strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string AddYears(const std::string& date, int years) {
  int y = std::stoi(date.substr(0, 4)) + years;
  std::string out = std::to_string(y) + date.substr(4);
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (out.substr(5) == "02-29" && !leap) out = std::to_string(y) + "-02-28";
  return out;
}

std::string Basename(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

Result<json> DescribeFile(const std::string& file, const RegisterOptions& o) {
  KEXIN_ASSIGN_OR_RETURN(Fingerprint f, FingerprintFile(file, kDefaultChunkBytes, o.threads));
  KEXIN_ASSIGN_OR_RETURN(auto rules, scan::DefaultRules());
  KEXIN_ASSIGN_OR_RETURN(auto det, scan::DetectorSet::Build(rules));
  scan::ScanOptions so;
  so.full = o.full_scan;
  so.threads = o.threads;
  KEXIN_ASSIGN_OR_RETURN(auto t, scan::ScanFile(file, *det, so));
  json fields = json::array();
  for (const auto& c : t.columns) {
    fields.push_back({{"name", c.name},
                      {"category", c.category ? json(*c.category) : json(nullptr)},
                      {"sensitive", c.sensitive},
                      {"level", c.level}});
  }
  json d;
  d["file_name"] = Basename(file);
  d["personal_information"] = t.contains_pi;
  d["sensitive_personal_information"] = t.contains_sensitive_pi;
  d["level"] = t.level;
  d["magnitude"] = {{"rows", t.rows_estimated ? *t.rows_estimated : t.rows_scanned},
                    {"rows_exact", !t.sampled},
                    {"columns", t.columns.size()},
                    {"bytes", f.bytes}};
  d["fields"] = fields;
  d["fingerprint"] = {{"algorithm", f.algorithm},
                      {"chunk_bytes", f.chunk_bytes},
                      {"chunks", f.chunks},
                      {"bytes", f.bytes},
                      {"root", crypto::HexEncode(f.root)}};
  return d;
}

// Field descriptions from META.toml win over the scan's names where given.
void MergeFields(json* record, const json& meta) {
  if (!meta.contains("fields")) return;
  for (auto& f : (*record)["fields"]) {
    for (const auto& m : meta["fields"]) {
      if (m.value("name", "") == f.value("name", "")) f["description"] = m.value("description", "");
    }
  }
}

std::string StatusOf(const json& record) {
  if (record.value("action", "") == "cancellation") return "cancelled";
  if (record.value("valid_until", "9999-12-31") < Today()) return "expired";
  return "active";
}

}  // namespace

Result<json> LoadMeta(const std::string& path) {
  KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseMeta(text, path);
}

Result<json> ParseMeta(const std::string& text, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()));
  }
  static const std::set<std::string, std::less<>> kKeys = {
      "name",     "holder",           "sector",         "source", "scenario", "description",
      "coverage", "update_frequency", "validity_years", "rights", "field"};
  for (const auto& [k, v] : t) {
    if (!kKeys.count(k.str())) {
      return InvalidArgument(path + ":" + std::to_string(v.source().begin.line) +
                             ": unknown key '" + std::string(k.str()) + "'");
    }
  }
  json m;
  for (const char* key : {"name", "holder", "sector", "source", "scenario"}) {
    auto v = t[key].value<std::string>();
    if (!v || v->empty())
      return InvalidArgument(path + ": '" + key + "' is required (a non-empty string)");
    m[key] = *v;
  }
  for (const char* key : {"description", "coverage", "update_frequency"}) {
    const toml::node* n = t.get(key);
    if (n != nullptr && !n->is_string())
      return InvalidArgument(path + ": '" + key + "' must be a string");
    m[key] = n ? *n->value<std::string>() : "";
  }
  int64_t years = 3;
  if (t.contains("validity_years")) {
    auto v = t["validity_years"].value_exact<int64_t>();
    if (!v) return InvalidArgument(path + ": 'validity_years' must be an integer 1..50");
    years = *v;
  }
  if (years < 1 || years > 50) return InvalidArgument(path + ": 'validity_years' must be 1..50");
  m["validity_years"] = years;
  if (const toml::table* rt = t["rights"].as_table()) {
    for (const auto& [k, v] : *rt) {
      std::string_view key = k.str();
      if (key != "holding" && key != "processing" && key != "operation") {
        return InvalidArgument(path + ":" + std::to_string(v.source().begin.line) +
                               ": unknown right '" + std::string(key) +
                               "' (holding, processing, operation)");
      }
      if (const toml::table* one = v.as_table()) {
        for (const auto& [k2, v2] : *one) {
          if (k2.str() != "holder") {
            return InvalidArgument(path + ":" + std::to_string(v2.source().begin.line) +
                                   ": unknown key '" + std::string(k2.str()) + "' in [rights." +
                                   std::string(key) + "]");
          }
        }
      }
    }
  }
  json rights;
  for (const char* r : {"holding", "processing", "operation"}) {
    auto holder = t["rights"][r]["holder"].value<std::string>();
    if (!holder || holder->empty()) {
      return InvalidArgument(path + ": [rights." + r +
                             "] holder is required (持有权, 使用权, 经营权)");
    }
    rights[r] = {{"holder", *holder}};
  }
  m["rights"] = rights;
  json fields = json::array();
  if (const toml::array* arr = t["field"].as_array()) {
    for (const auto& f : *arr) {
      const toml::table* ft = f.as_table();
      if (!ft || !(*ft)["name"].value<std::string>())
        return InvalidArgument(path + ": every [[field]] needs a name");
      fields.push_back({{"name", *(*ft)["name"].value<std::string>()},
                        {"description", (*ft)["description"].value_or(std::string())}});
    }
  }
  m["fields"] = fields;
  return m;
}

Registry::Registry(std::unique_ptr<store::Store> store, ledger::Ledger* ledger)
    : store_(std::move(store)), ledger_(ledger) {}

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& url, ledger::Ledger* ledger) {
  KEXIN_ASSIGN_OR_RETURN(auto store, store::Store::Open(url));
  KEXIN_RETURN_IF_ERROR(store->Migrate(store::KexinMigrations()));
  return std::make_unique<Registry>(std::move(store), ledger);
}

Result<json> Registry::Record(const std::string& action, json record) {
  record["action"] = action;
  record["registered_at"] = ledger::NowRfc3339();
  KEXIN_ASSIGN_OR_RETURN(uint64_t index, ledger_->Append("registration." + action, record));
  KEXIN_ASSIGN_OR_RETURN(std::string canonical, ::kexin::json::Canonicalize(record));
  KEXIN_RETURN_IF_ERROR(
      store_->Exec("INSERT INTO registrations (id, version, type, ledger_index, record) VALUES "
                   "($1, $2, $3, $4, $5)",
                   {record["id"].get<std::string>(), record["version"].get<int64_t>(), action,
                    static_cast<int64_t>(index), canonical}));
  return Certificate(record["id"].get<std::string>(), record["version"].get<int64_t>());
}

Result<json> Registry::Register(const std::string& file, const json& meta,
                                const RegisterOptions& o) {
  KEXIN_ASSIGN_OR_RETURN(json described, DescribeFile(file, o));
  json record = meta;
  record.erase("validity_years");
  record.erase("fields");
  for (auto& [k, v] : described.items()) record[k] = v;
  MergeFields(&record, meta);
  std::string nonce = crypto::RandomToken(8);
  record["id"] =
      crypto::HexEncode(crypto::Sha256(ledger_->origin() + "\n" +
                                       described["fingerprint"]["root"].get<std::string>() + "\n" +
                                       nonce))
          .substr(0, 32);
  record["version"] = 1;
  record["previous"] = nullptr;
  record["valid_from"] = Today();
  record["valid_until"] =
      AddYears(Today(), static_cast<int>(meta["validity_years"].get<int64_t>()));
  return Record("initial", std::move(record));
}

Result<json> Registry::Latest(const std::string& id) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, store_->Query("SELECT record, ledger_index FROM registrations "
                                                  "WHERE id = $1 ORDER BY version DESC LIMIT 1",
                                                  {id}));
  if (rows.empty()) return NotFound("registration '" + id + "' does not exist");
  uint64_t index = static_cast<uint64_t>(store::AsInt(rows[0][1]));
  KEXIN_ASSIGN_OR_RETURN(json r, FromLedger(id, index, store::AsText(rows[0][0])));
  r["ledger_index"] = index;
  return r;
}

Result<json> Registry::FromLedger(const std::string& id, uint64_t index, const std::string& row) {
  // The ledger is the record of truth; the registrations table only indexes it. Any later action
  // starts from the ledger's record, and a diverging row is reported, never built upon.
  KEXIN_ASSIGN_OR_RETURN(std::string entry, ledger_->Entry(index));
  KEXIN_ASSIGN_OR_RETURN(ledger::Hash leaf, ledger_->LeafHashAt(index));
  if (ledger::LeafHash(entry) != leaf) {
    return Corruption("ledger entry " + std::to_string(index) + " does not match its leaf hash");
  }
  json entry_json = json::parse(entry, nullptr, false);
  if (entry_json.is_discarded() || !entry_json.contains("body")) {
    return Corruption("ledger entry " + std::to_string(index) + " is not a registration");
  }
  json table_json = json::parse(row, nullptr, false);
  KEXIN_ASSIGN_OR_RETURN(std::string from_ledger, ::kexin::json::Canonicalize(entry_json["body"]));
  auto from_table = table_json.is_discarded() ? Result<std::string>(Corruption("unparsable row"))
                                              : ::kexin::json::Canonicalize(table_json);
  if (!from_table.ok() || *from_table != from_ledger) {
    return Corruption("registration '" + id + "': the stored record differs from ledger entry " +
                      std::to_string(index));
  }
  return entry_json["body"];
}

namespace {
Result<json> Next(json latest) {
  if (latest.value("action", "") == "cancellation") {
    return FailedPrecondition("registration '" + latest["id"].get<std::string>() +
                              "' is cancelled");
  }
  json next = latest;
  next["previous"] = {{"version", latest["version"]}, {"ledger_index", latest["ledger_index"]}};
  next["version"] = latest["version"].get<int64_t>() + 1;
  next.erase("ledger_index");
  next.erase("action");
  next.erase("registered_at");
  return next;
}
}  // namespace

Result<json> Registry::Change(const std::string& id, const json& meta,
                              const std::optional<std::string>& file, const RegisterOptions& o) {
  KEXIN_ASSIGN_OR_RETURN(json latest, Latest(id));
  KEXIN_ASSIGN_OR_RETURN(json next, Next(latest));
  // A change describes the resource anew; rights move only by transfer, validity only by renewal.
  for (auto& [k, v] : meta.items()) {
    if (k != "validity_years" && k != "fields" && k != "rights") next[k] = v;
  }
  if (file) {
    KEXIN_ASSIGN_OR_RETURN(json described, DescribeFile(*file, o));
    for (auto& [k, v] : described.items()) next[k] = v;
  }
  MergeFields(&next, meta);
  return Record("change", std::move(next));
}

Result<json> Registry::Transfer(const std::string& id, const std::string& right,
                                const std::string& to) {
  if (right != "holding" && right != "processing" && right != "operation") {
    return InvalidArgument("right must be holding, processing or operation, not '" + right + "'");
  }
  if (to.empty()) return InvalidArgument("the new holder is empty");
  KEXIN_ASSIGN_OR_RETURN(json latest, Latest(id));
  KEXIN_ASSIGN_OR_RETURN(json next, Next(latest));
  next["rights"][right] = {{"holder", to}, {"transferred_from", latest["rights"][right]["holder"]}};
  return Record("transfer", std::move(next));
}

Result<json> Registry::Renew(const std::string& id, int years) {
  if (years < 1 || years > 50) return InvalidArgument("renewal years must be 1..50");
  KEXIN_ASSIGN_OR_RETURN(json latest, Latest(id));
  KEXIN_ASSIGN_OR_RETURN(json next, Next(latest));
  std::string until = latest.value("valid_until", Today());
  if (until < Today()) next["valid_from"] = Today();  // lapsed: the new period starts now
  next["valid_until"] = AddYears(std::max(Today(), until), years);
  return Record("renewal", std::move(next));
}

Result<json> Registry::Cancel(const std::string& id, const std::string& reason) {
  KEXIN_ASSIGN_OR_RETURN(json latest, Latest(id));
  KEXIN_ASSIGN_OR_RETURN(json next, Next(latest));
  next["cancellation_reason"] = reason;
  return Record("cancellation", std::move(next));
}

Result<json> Registry::Show(const std::string& id) {
  KEXIN_ASSIGN_OR_RETURN(json latest, Latest(id));
  latest["status"] = StatusOf(latest);
  return latest;
}

Result<std::vector<json>> Registry::List() {
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         store_->Query("SELECT DISTINCT id FROM registrations ORDER BY id"));
  std::vector<json> out;
  for (const auto& r : rows) {
    KEXIN_ASSIGN_OR_RETURN(json j, Show(store::AsText(r[0])));
    out.push_back(j);
  }
  return out;
}

Result<json> Registry::Certificate(const std::string& id, std::optional<int64_t> version) {
  std::vector<store::Row> rows;
  if (version) {
    KEXIN_ASSIGN_OR_RETURN(
        rows, store_->Query(
                  "SELECT record, ledger_index FROM registrations WHERE id = $1 AND version = $2",
                  {id, *version}));
  } else {
    KEXIN_ASSIGN_OR_RETURN(rows, store_->Query("SELECT record, ledger_index FROM registrations "
                                               "WHERE id = $1 ORDER BY version DESC LIMIT 1",
                                               {id}));
  }
  if (rows.empty()) return NotFound("registration '" + id + "' does not exist");
  uint64_t index = static_cast<uint64_t>(store::AsInt(rows[0][1]));
  KEXIN_ASSIGN_OR_RETURN(std::string note_text, ledger_->SignCheckpoint());
  KEXIN_ASSIGN_OR_RETURN(auto note, ledger::SignedNote::Parse(note_text));
  KEXIN_ASSIGN_OR_RETURN(auto cp, ledger::Checkpoint::ParseBody(note.text));
  KEXIN_ASSIGN_OR_RETURN(auto proof, ledger_->InclusionProof(index, cp.size));
  KEXIN_ASSIGN_OR_RETURN(std::string entry, ledger_->Entry(index));
  KEXIN_ASSIGN_OR_RETURN(json record, FromLedger(id, index, store::AsText(rows[0][0])));
  json proof_b64 = json::array();
  for (const auto& h : proof) proof_b64.push_back(crypto::Base64Encode(crypto::AsBytes(h)));
  json cert = {{"certificate", kCertFormat},
               {"issued_at", ledger::NowRfc3339()},
               {"registration", record},
               {"ledger",
                {{"origin", ledger_->origin()},
                 {"index", index},
                 {"entry", entry},
                 {"tree_size", cp.size},
                 {"inclusion_proof", proof_b64},
                 {"checkpoint", note_text}}},
               {"node", {{"name", ledger_->origin()}, {"key", ledger_->verifier().ToString()}}}};
  KEXIN_ASSIGN_OR_RETURN(std::string canonical, ::kexin::json::Canonicalize(cert));
  crypto::Signature sig = ledger_->key().Sign(canonical);
  cert["signature"] =
      crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
  return cert;
}

CertVerification VerifyCertificate(const json& cert, const std::optional<std::string>& key) {
  CertVerification v;
  auto add = [&](std::string check, bool ok, std::string detail) {
    v.checks.push_back({std::move(check), ok, std::move(detail)});
    return ok;
  };
  try {
    if (!add("format",
             cert.is_object() && cert.value("certificate", "") == kCertFormat &&
                 cert.contains("registration") && cert.contains("ledger") &&
                 cert.contains("node") && cert.contains("signature"),
             std::string("expects ") + kCertFormat +
                 " with registration, ledger, node and signature")) {
      return v;
    }
    auto embedded = ledger::VerifierKey::Parse(cert["node"]["key"].get<std::string>());
    if (!add("node key", embedded.ok(),
             embedded.ok() ? embedded->ToString() : embedded.status().message()))
      return v;
    ledger::VerifierKey vk = *embedded;
    if (key) {
      auto given = ledger::VerifierKey::Parse(*key);
      if (!add("trusted key", given.ok() && given->ToString() == vk.ToString(),
               given.ok() ? (given->ToString() == vk.ToString()
                                 ? "matches --key"
                                 : "the certificate was issued by " + vk.ToString() +
                                       ", not by --key " + given->ToString())
                          : "--key: " + given.status().message())) {
        return v;
      }
    } else {
      add("trusted key", true,
          "not checked: no --key given, using the key embedded in the certificate");
    }
    json unsigned_cert = cert;
    unsigned_cert.erase("signature");
    auto canonical = ::kexin::json::Canonicalize(unsigned_cert);
    auto sig = crypto::Base64Decode(cert["signature"].get<std::string>());
    crypto::Signature raw{};
    bool sig_ok = canonical.ok() && sig.ok() && sig->size() == 64;
    if (sig_ok) {
      std::copy(sig->begin(), sig->end(), raw.begin());
      sig_ok = crypto::Verify(vk.key, *canonical, raw);
    }
    if (!add("certificate signature", sig_ok,
             sig_ok ? "Ed25519 over the RFC 8785 form verifies"
                    : "the signature does not verify: the certificate was altered or signed by "
                      "another key"))
      return v;
    const json& l = cert["ledger"];
    std::string entry_text = l["entry"].get<std::string>();
    json entry = json::parse(entry_text);
    auto reg_c = ::kexin::json::Canonicalize(cert["registration"]);
    auto body_c = ::kexin::json::Canonicalize(entry["body"]);
    bool entry_ok =
        reg_c.ok() && body_c.ok() && *reg_c == *body_c &&
        entry.value("type", "") == "registration." + cert["registration"].value("action", "");
    if (!add("ledger entry", entry_ok,
             entry_ok ? "the entry holds this registration"
                      : "the ledger entry does not hold this registration"))
      return v;
    auto note = ledger::SignedNote::Parse(l["checkpoint"].get<std::string>());
    Status ns = note.ok() ? ledger::VerifyNote(*note, vk) : note.status();
    if (!add("checkpoint signature", ns.ok(), ns.ok() ? "signed by " + vk.name : ns.message()))
      return v;
    auto cp = ledger::Checkpoint::ParseBody(note->text);
    bool cp_ok = cp.ok() && cp->size == l["tree_size"].get<uint64_t>() && cp->origin == vk.name &&
                 l.value("origin", "") == vk.name && cert["node"].value("name", "") == vk.name;
    if (!add("checkpoint", cp_ok,
             !cp.ok() ? cp.status().message()
             : cp_ok
                 ? "tree size " + std::to_string(cp->size) + " of " + cp->origin
                 : "the checkpoint (size " + std::to_string(cp->size) + ", origin " + cp->origin +
                       ") does not match the certificate's tree size and node " + vk.name)) {
      return v;
    }
    std::vector<ledger::Hash> proof;
    for (const auto& p : l["inclusion_proof"]) {
      auto raw_h = crypto::Base64Decode(p.get<std::string>());
      ledger::Hash h{};
      if (!raw_h.ok() || raw_h->size() != 32) {
        add("inclusion proof", false, "a proof element is not 32 bytes of base64");
        return v;
      }
      std::copy(raw_h->begin(), raw_h->end(), h.begin());
      proof.push_back(h);
    }
    Status is = ledger::VerifyInclusion(l["index"].get<uint64_t>(), cp->size,
                                        ledger::LeafHash(entry_text), proof, cp->root);
    if (!add("inclusion proof", is.ok(),
             is.ok() ? "entry " + std::to_string(l["index"].get<uint64_t>()) +
                           " is in the tree of the checkpoint"
                     : is.message()))
      return v;
    v.status = StatusOf(cert["registration"]);
    add("validity", v.status == "active",
        v.status == "active" ? "valid until " + cert["registration"].value("valid_until", "?")
                             : "the registration is " + v.status + " (valid until " +
                                   cert["registration"].value("valid_until", "?") + ")");
    v.ok = true;
    for (const auto& c : v.checks) v.ok = v.ok && (c.ok || c.check == "validity");
  } catch (const std::exception& e) {
    add("format", false, std::string("malformed certificate: ") + e.what());
    v.ok = false;
  }
  return v;
}

}  // namespace kexin::registry
