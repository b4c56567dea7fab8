// FetchPeerCatalog: the HTTP half of the federated catalog (needs the node server's PeerClient).
#include <string>

#include "catalog/federation.h"
#include "policy/policy.h"
#include "server/api.h"

namespace kexin::catalog {

using nlohmann::json;

json CatalogRequestMessage() {
  return json{{"@context", {policy::kDspContext}},
              {"@type", "CatalogRequestMessage"},
              {"filter", json::array()}};
}

Result<json> FetchPeerCatalog(store::Store& store, server::PeerClient& client,
                              const server::Peer& peer) {
  std::string url = peer.url + "/dsp/catalog/request";
  KEXIN_ASSIGN_OR_RETURN(server::ClientResponse r,
                         client.Send("POST", url, CatalogRequestMessage().dump(),
                                     std::chrono::seconds(10), /*repeatable=*/true));
  if (r.status != 200)
    return FailedPrecondition("peer '" + peer.name + "' answered " + std::to_string(r.status) +
                              " to the catalog request: " + r.body.substr(0, 300));
  auto parsed = server::ParseJsonLimited(r.body, "peer '" + peer.name + "' catalog");
  if (!parsed.ok()) return DataError(parsed.status().message());
  json catalog = std::move(*parsed);
  KEXIN_RETURN_IF_ERROR(StorePeerCatalog(store, peer.name, peer.url, catalog));
  return catalog;
}

}  // namespace kexin::catalog
