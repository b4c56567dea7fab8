// Module `catalog` (federation): peers' catalogs pulled over the Dataspace Protocol, cached in the
// store (`peer_catalogs`, migration 4) and searched together (docs/catalog.md#federated-catalog).
//
// Thread-safety: functions use the Store and PeerClient they are given.
#ifndef KEXIN_CATALOG_FEDERATION_H_
#define KEXIN_CATALOG_FEDERATION_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "kexin/status.h"
#include "server/node.h"
#include "store/store.h"

namespace kexin::catalog {

// The DSP CatalogRequestMessage kexin sends.
nlohmann::json CatalogRequestMessage();

// Sends a CatalogRequestMessage to `peer` (POST <url>/dsp/catalog/request, signed by the client),
// then caches the answer. kIoError when the peer cannot be reached, kFailedPrecondition when it
// answers with an error status, kDataError when the answer is not a DSP catalog.
Result<nlohmann::json> FetchPeerCatalog(store::Store& store, server::PeerClient& client,
                                        const server::Peer& peer);

// Checks that `catalog` is a DSP Catalog (kDataError naming the member otherwise) and caches it
// for `peer`, replacing the previous copy.
Status StorePeerCatalog(store::Store& store, std::string_view peer, std::string_view url,
                        const nlohmann::json& catalog);

struct PeerCatalogInfo {
  std::string peer, url, fetched_at;
  size_t datasets = 0;
};
Result<std::vector<PeerCatalogInfo>> ListPeerCatalogs(store::Store& store);

struct FederatedHit {
  std::string peer;
  nlohmann::json dataset;  // as the peer published it
};
// Datasets of every cached peer catalog (or of `peer` only) matching `query` (offset/limit apply
// to the merged list, ordered by peer then dataset order).
Result<std::vector<FederatedHit>> FederatedSearch(store::Store& store, const Query& query,
                                                  std::string_view peer = "");

}  // namespace kexin::catalog

#endif  // KEXIN_CATALOG_FEDERATION_H_
