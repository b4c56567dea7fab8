#include "catalog/offer.h"

#include <string>
#include <utility>

#include "base/clock.h"
#include "crypto/crypto.h"
#include "json/canonical.h"
#include "policy/policy.h"

namespace kexin::catalog {
namespace {

using nlohmann::json;

std::string NewOfferId() {
  uint8_t b[16];
  crypto::RandomBytes(b, sizeof b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string h = crypto::HexEncode(std::string_view(reinterpret_cast<char*>(b), sizeof b));
  return "urn:uuid:" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
         h.substr(16, 4) + "-" + h.substr(20);
}

std::string Today() { return NowRfc3339().substr(0, 10); }

constexpr const char* kColumns =
    "id, registration_id, policy, access_policy, manual_approval, created, withdrawn, fingerprint";

Result<Offer> FromRow(const store::Row& r) {
  Offer o;
  o.id = store::AsText(r[0]);
  o.registration_id = store::AsText(r[1]);
  o.policy = json::parse(store::AsText(r[2]), nullptr, false);
  if (o.policy.is_discarded()) return Corruption("offer '" + o.id + "': stored policy is not JSON");
  o.access_policy = nullptr;
  if (std::holds_alternative<std::string>(r[3])) {
    o.access_policy = json::parse(store::AsText(r[3]), nullptr, false);
    if (o.access_policy.is_discarded())
      return Corruption("offer '" + o.id + "': stored access policy is not JSON");
  }
  o.manual_approval = store::AsInt(r[4]) != 0;
  o.created = store::AsText(r[5]);
  o.withdrawn = store::AsInt(r[6]) != 0;
  o.fingerprint = store::AsText(r[7]);
  return o;
}

// Inside the transaction of an offer change: the next generation, and which dataset it touched
// (catalog_changes, so indexes rebuild only that dataset; docs/catalog.md#index-and-refresh).
Status BumpGeneration(store::Store& store, const std::string& registration_id) {
  KEXIN_RETURN_IF_ERROR(
      store.Exec("UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1"));
  return store.Exec(
      "INSERT INTO catalog_changes (seq, registration_id) SELECT generation, $1 FROM"
      " catalog_generation WHERE id = 1",
      {registration_id});
}

}  // namespace

Result<Offer> CreateOffer(store::Store& store, ledger::Ledger& ledger, const OfferRequest& req) {
  if (req.registration_id.empty()) return InvalidArgument("registration: required");
  KEXIN_ASSIGN_OR_RETURN(auto rows, store.Query("SELECT record FROM registrations WHERE id = $1 "
                                                "ORDER BY version DESC LIMIT 1",
                                                {req.registration_id}));
  if (rows.empty()) return NotFound("registration '" + req.registration_id + "' does not exist");
  json record = json::parse(store::AsText(rows[0][0]), nullptr, false);
  if (record.is_discarded())
    return Corruption("registration '" + req.registration_id + "': stored record is not JSON");
  if (record.value("action", "") == "cancellation")
    return FailedPrecondition("registration '" + req.registration_id + "' is cancelled");
  if (record.value("valid_until", "9999-12-31") < Today())
    return FailedPrecondition("registration '" + req.registration_id + "' has expired");

  auto usage = policy::Parse(req.policy);
  if (!usage.ok()) return DataError("policy: " + usage.status().message());
  json access = nullptr;
  if (!req.access_policy.is_null()) {
    auto a = policy::Parse(req.access_policy);
    if (!a.ok()) return DataError("access_policy: " + a.status().message());
    a->id.clear();
    a->target.clear();
    a->type = "Set";
    access = policy::ToJsonLd(*a);
  }
  Offer o;
  o.id = NewOfferId();
  o.registration_id = req.registration_id;
  usage->id = o.id;
  usage->type = "Offer";
  usage->target = req.registration_id;
  o.policy = policy::ToJsonLd(*usage);
  o.fingerprint = policy::Fingerprint(*usage);
  o.manual_approval = req.manual_approval;
  o.created = NowRfc3339();
  o.access_policy = access;

  json body = {{"offer", o.id},
               {"registration", o.registration_id},
               {"policy", o.policy},
               {"fingerprint", o.fingerprint},
               {"manual_approval", o.manual_approval},
               {"access_policy", access}};
  KEXIN_ASSIGN_OR_RETURN(uint64_t index, ledger.Append("offer.created", body));
  KEXIN_ASSIGN_OR_RETURN(std::string pol, ::kexin::json::Canonicalize(o.policy));
  store::Value acc = std::monostate{};
  if (!access.is_null()) {
    KEXIN_ASSIGN_OR_RETURN(std::string a, ::kexin::json::Canonicalize(access));
    acc = a;
  }
  KEXIN_RETURN_IF_ERROR(store.Begin());
  Status s = store.Exec(
      "INSERT INTO offers (id, registration_id, policy, access_policy, manual_approval, created,"
      " withdrawn, withdrawn_at, fingerprint, ledger_index) VALUES ($1, $2, $3, $4, $5, $6, 0,"
      " NULL, $7, $8)",
      {o.id, o.registration_id, pol, acc, int64_t{o.manual_approval}, o.created, o.fingerprint,
       static_cast<int64_t>(index)});
  if (s.ok()) s = BumpGeneration(store, o.registration_id);
  if (s.ok()) s = store.Commit();
  if (!s.ok()) {
    store.Rollback().IgnoreError();
    return s;
  }
  return o;
}

Result<Offer> GetOffer(store::Store& store, std::string_view id) {
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, store.Query(std::string("SELECT ") + kColumns + " FROM offers WHERE id = $1",
                             {std::string(id)}));
  if (rows.empty()) return NotFound("offer '" + std::string(id) + "' does not exist");
  return FromRow(rows[0]);
}

Result<std::vector<Offer>> ListOffers(store::Store& store, bool include_withdrawn) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM offers";
  if (!include_withdrawn) sql += " WHERE withdrawn = 0";
  sql += " ORDER BY created, id";
  KEXIN_ASSIGN_OR_RETURN(auto rows, store.Query(sql));
  std::vector<Offer> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    KEXIN_ASSIGN_OR_RETURN(Offer o, FromRow(r));
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::vector<Offer>> ListOffersFor(store::Store& store, std::string_view registration_id) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, store.Query(std::string("SELECT ") + kColumns +
                                                    " FROM offers WHERE registration_id = $1 AND"
                                                    " withdrawn = 0 ORDER BY created, id",
                                                {std::string(registration_id)}));
  std::vector<Offer> out;
  for (const auto& r : rows) {
    KEXIN_ASSIGN_OR_RETURN(Offer o, FromRow(r));
    out.push_back(std::move(o));
  }
  return out;
}

Result<Offer> WithdrawOffer(store::Store& store, ledger::Ledger& ledger, std::string_view id) {
  KEXIN_ASSIGN_OR_RETURN(Offer o, GetOffer(store, id));
  if (o.withdrawn) return FailedPrecondition("offer '" + o.id + "' is already withdrawn");
  KEXIN_ASSIGN_OR_RETURN(
      uint64_t index,
      ledger.Append("offer.withdrawn", json{{"offer", o.id}, {"registration", o.registration_id}}));
  (void)index;
  KEXIN_RETURN_IF_ERROR(store.Begin());
  Status s = store.Exec("UPDATE offers SET withdrawn = 1, withdrawn_at = $2 WHERE id = $1",
                        {o.id, NowRfc3339()});
  if (s.ok()) s = BumpGeneration(store, o.registration_id);
  if (s.ok()) s = store.Commit();
  if (!s.ok()) {
    store.Rollback().IgnoreError();
    return s;
  }
  o.withdrawn = true;
  return o;
}

Result<int64_t> CatalogGeneration(store::Store& store) {
  // Registrations change without touching offers (a new version, a cancellation); every action
  // adds a row, so the row count joins the generation. Both only grow, so the sum changes with
  // every change.
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, store.Query("SELECT (SELECT generation FROM catalog_generation WHERE id = 1),"
                             " (SELECT COUNT(*) FROM registrations)"));
  if (rows.empty()) return Internal("catalog generation: no row");
  return store::AsInt(rows[0][0]) + store::AsInt(rows[0][1]);  // both only grow
}

}  // namespace kexin::catalog
