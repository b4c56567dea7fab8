// Module `registry`: data registration (数据登记) with verifiable certificates.
//
// A registration record describes a data resource (name, holder, the three rights of 数据二十条
// with their holders, sector, source, scenario, personal-information flags from `kexin scan`,
// coverage, magnitude, update frequency, validity, field dictionary) and binds it to a content
// fingerprint. Each registration action (initial, change, transfer, renewal, cancellation) is a
// ledger entry of type "registration.<action>" whose body is the record; every record after the
// first names the previous version and its ledger index. A certificate is the record plus its
// ledger entry, inclusion proof and the signed checkpoint that proof leads to, signed as a whole by
// the node key, so anyone can verify it offline with the node's public key.
// Formats: docs/registry.md. Thread-safety: Registry is used by one thread at a time.
#ifndef KEXIN_REGISTRY_REGISTRY_H_
#define KEXIN_REGISTRY_REGISTRY_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kexin/status.h"
#include "ledger/ledger.h"
#include "store/store.h"

namespace kexin::registry {

// Reads META.toml (docs/registry.md) into the descriptive part of a record; names file and key in
// errors.
Result<nlohmann::json> LoadMeta(const std::string& path);
// The same from META.toml text; `path` names the source in errors (e.g. "request body: meta_toml").
Result<nlohmann::json> ParseMeta(const std::string& text, const std::string& path);

struct RegisterOptions {
  bool full_scan = false;  // scan every row for the personal-information flags
  int threads = 1;
};

class Registry {
 public:
  Registry(std::unique_ptr<store::Store> store, ledger::Ledger* ledger);
  static Result<std::unique_ptr<Registry>> Open(const std::string& store_url,
                                                ledger::Ledger* ledger);

  // Initial registration of `file` described by `meta`; returns the certificate.
  Result<nlohmann::json> Register(const std::string& file, const nlohmann::json& meta,
                                  const RegisterOptions& o);
  // Later actions; each returns the new version's certificate.
  Result<nlohmann::json> Change(const std::string& id, const nlohmann::json& meta,
                                const std::optional<std::string>& file, const RegisterOptions& o);
  Result<nlohmann::json> Transfer(const std::string& id, const std::string& right,
                                  const std::string& to);
  Result<nlohmann::json> Renew(const std::string& id, int years);
  Result<nlohmann::json> Cancel(const std::string& id, const std::string& reason);

  // The latest record of `id` with "status": active | expired | cancelled.
  Result<nlohmann::json> Show(const std::string& id);
  Result<std::vector<nlohmann::json>> List();
  // A fresh certificate for the latest (or given) version, against the latest checkpoint.
  Result<nlohmann::json> Certificate(const std::string& id,
                                     std::optional<int64_t> version = std::nullopt);

 private:
  Result<nlohmann::json> Latest(const std::string& id);
  // The record ledger entry `index` holds, checked against the registrations-table row.
  Result<nlohmann::json> FromLedger(const std::string& id, uint64_t index, const std::string& row);
  Result<nlohmann::json> Record(const std::string& type, nlohmann::json record);

  std::unique_ptr<store::Store> store_;
  ledger::Ledger* ledger_;
};

// What `kexin cert verify` checks, in order; each has a name and an outcome.
struct CheckResult {
  std::string check;
  bool ok = false;
  std::string detail;
};
struct CertVerification {
  bool ok = false;
  std::vector<CheckResult> checks;
  std::string status;  // active | expired | cancelled (as of the certificate), when verified
};
// Verifies a certificate offline. With `key` (a vkey string), the certificate's node key must be
// that key; without it the embedded key is used and the result says so.
CertVerification VerifyCertificate(const nlohmann::json& cert,
                                   const std::optional<std::string>& key);

}  // namespace kexin::registry

#endif  // KEXIN_REGISTRY_REGISTRY_H_
