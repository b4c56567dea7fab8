#include "contract/offer_check.h"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "catalog/catalog.h"
#include "catalog/offer.h"
#include "policy/policy.h"

namespace kexin::contract {

namespace {

// policy::Parse of a policy seen before: the same offer's terms come with every request for it
// and are stored with every negotiation of it, and parsing (JSON-LD forms, normal form) costs
// several times the key's serialization. Keyed by the exact JSON text, so a hit is the parse of
// the same input; bounded (emptied when full), shared by all threads.
Result<std::shared_ptr<const policy::Policy>> ParseCached(const nlohmann::json& odrl) {
  constexpr size_t kMaxEntries = 256;
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const policy::Policy>> cache;
  std::string key = odrl.dump();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  KEXIN_ASSIGN_OR_RETURN(policy::Policy parsed, policy::Parse(odrl));
  auto p = std::make_shared<const policy::Policy>(std::move(parsed));
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= kMaxEntries) cache.clear();
  cache.emplace(std::move(key), p);
  return p;
}

}  // namespace

OfferChecker CatalogOfferChecker() {
  return [](store::Store& s, const OfferRequest& r) -> std::variant<OfferTerms, OfferRejection> {
    auto offer = catalog::GetOffer(s, r.offer_id);
    if (!offer.ok()) {
      if (offer.status().code() == StatusCode::kNotFound)
        return OfferRejection{404, "unknown_offer", "offer '" + r.offer_id + "' does not exist"};
      return OfferRejection{500, "internal", offer.status().ToString()};
    }
    // An offer the catalog hides from this consumer does not exist for it (same answer as an
    // unknown offer, so hidden offers cannot be probed).
    catalog::Viewer viewer;
    viewer.name = r.consumer_name;
    viewer.public_key = r.consumer_key;
    if (!offer->access_policy.is_null()) {
      auto region = catalog::PeerRegion(s, r.consumer_name);
      if (!region.ok()) return OfferRejection{500, "internal", region.status().ToString()};
      viewer.region = *region;
    }
    if (!catalog::OfferVisibleTo(*offer, viewer))
      return OfferRejection{404, "unknown_offer", "offer '" + r.offer_id + "' does not exist"};
    if (offer->withdrawn)
      return OfferRejection{410, "offer_withdrawn", "offer '" + r.offer_id + "' was withdrawn"};
    if (offer->registration_id != r.target) {
      return OfferRejection{422, "target_mismatch",
                            "offer '" + r.offer_id + "' is for dataset '" + offer->registration_id +
                                "', not '" + r.target + "'"};
    }
    auto want = ParseCached(r.requested);
    if (!want.ok()) return OfferRejection{400, "invalid_policy", "offer" + want.status().message()};
    auto have = ParseCached(offer->policy);
    if (!have.ok()) return OfferRejection{500, "internal", have.status().ToString()};
    if (!policy::Equivalent(**have, **want)) {
      return OfferRejection{422, "policy_mismatch",
                            "the requested terms are not those of offer '" + r.offer_id +
                                "': " + policy::FirstDifference(**have, **want)};
    }
    policy::Context ctx;
    ctx.skip_unset = true;  // purpose, fields, ... are checked when the data is used
    ctx.consumer = r.consumer_name;
    ctx.consumer_key = r.consumer_key;
    policy::Decision d = policy::Evaluate(**have, ctx);
    if (!d.permitted) {
      if (d.constraint == "dateTime") {
        return OfferRejection{422, "offer_expired",
                              "offer '" + r.offer_id + "' is not in force now: " + d.reason};
      }
      return OfferRejection{
          403, "not_permitted",
          "offer '" + r.offer_id + "' does not permit this consumer: " + d.reason};
    }
    return OfferTerms{offer->policy, offer->manual_approval};
  };
}

PolicyMatcher SemanticPolicyMatcher() {
  // Only the terms are compared: an agreement's @id, target, parties and timestamp are checked
  // by the engine on their own.
  auto terms = [](const nlohmann::json& p) {
    nlohmann::json t = p;
    for (const char* k : {"timestamp", "odrl:timestamp", "http://www.w3.org/ns/odrl/2/timestamp"})
      t.erase(k);
    return t;
  };
  return [terms](const nlohmann::json& a, const nlohmann::json& b) -> Status {
    auto pa = policy::Parse(terms(a));  // an agreement: seen once
    if (!pa.ok()) return pa.status();
    auto pb = ParseCached(terms(b));
    if (!pb.ok()) return pb.status();
    if (!policy::Equivalent(*pa, **pb)) return InvalidArgument(policy::FirstDifference(*pa, **pb));
    return Status::Ok();
  };
}

}  // namespace kexin::contract
