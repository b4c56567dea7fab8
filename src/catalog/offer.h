// Module `catalog` (offers): a provider's offers of registered data under ODRL usage policies.
//
// An offer attaches a usage policy (policy.h) to a registration (registry.h) and, optionally, an
// access policy deciding which consumers see the offer in the catalog (docs/catalog.md). Offers
// live in the `offers` table (migration 4); creating one appends the ledger entry "offer.created",
// withdrawing it "offer.withdrawn". Every change bumps the catalog generation, which in-memory
// catalog indexes in any process compare to know when to rebuild.
//
// Thread-safety: functions use the Store they are given (one thread at a time per Store).
#ifndef KEXIN_CATALOG_OFFER_H_
#define KEXIN_CATALOG_OFFER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kexin/status.h"
#include "ledger/ledger.h"
#include "store/store.h"

namespace kexin::catalog {

struct Offer {
  std::string id;               // "urn:uuid:<uuid v4>"
  std::string registration_id;  // the registered resource offered
  nlohmann::json
      policy;  // canonical ODRL Offer JSON-LD with "@id" = id, "target" = registration id
  bool manual_approval = false;
  std::string created;  // RFC 3339 UTC
  bool withdrawn = false;
  nlohmann::json access_policy;  // canonical ODRL Set JSON-LD, or null (everyone sees the offer)
  std::string fingerprint;       // policy::Fingerprint of the usage policy
};

struct OfferRequest {
  std::string registration_id;
  nlohmann::json policy;                   // ODRL in any accepted notation
  nlohmann::json access_policy = nullptr;  // ODRL Set or null
  bool manual_approval = false;
};

// Checks the registration (kNotFound; kFailedPrecondition when cancelled or expired) and both
// policies (kDataError "policy: /permission/0/...: ..." or "access_policy: ..."), then records
// the offer and appends "offer.created". Nothing is stored when a check fails.
Result<Offer> CreateOffer(store::Store& store, ledger::Ledger& ledger, const OfferRequest& req);
// kNotFound names the offer.
Result<Offer> GetOffer(store::Store& store, std::string_view id);
Result<std::vector<Offer>> ListOffers(store::Store& store, bool include_withdrawn = true);
// The active (not withdrawn) offers of one registration, oldest first.
Result<std::vector<Offer>> ListOffersFor(store::Store& store, std::string_view registration_id);
// Marks the offer withdrawn and appends "offer.withdrawn"; kFailedPrecondition when it already is.
Result<Offer> WithdrawOffer(store::Store& store, ledger::Ledger& ledger, std::string_view id);

// A number that changes whenever offers or registrations change (any process); see docs/catalog.md.
Result<int64_t> CatalogGeneration(store::Store& store);

}  // namespace kexin::catalog

#endif  // KEXIN_CATALOG_OFFER_H_
