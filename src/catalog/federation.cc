#include "catalog/federation.h"

#include <string>

#include "base/clock.h"
#include "policy/policy.h"

namespace kexin::catalog {

using nlohmann::json;

Status StorePeerCatalog(store::Store& store, std::string_view peer, std::string_view url,
                        const json& catalog) {
  std::string who = "peer '" + std::string(peer) + "' catalog";
  if (!catalog.is_object()) return DataError(who + ": not a JSON object");
  auto type = catalog.find("@type");
  if (type == catalog.end() || !type->is_string() ||
      (*type != "Catalog" && *type != "dcat:Catalog"))
    return DataError(who + ": /@type: expected \"Catalog\"");
  if (catalog.contains("dataset")) {
    const json& ds = catalog["dataset"];
    if (!ds.is_array()) return DataError(who + ": /dataset: expected an array");
    for (size_t i = 0; i < ds.size(); ++i)
      if (!ds[i].is_object() || !ds[i].contains("@id") || !ds[i]["@id"].is_string())
        return DataError(who + ": /dataset/" + std::to_string(i) + ": a dataset needs an @id");
  }
  return store.Exec(
      "INSERT INTO peer_catalogs (peer, url, fetched_at, catalog) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (peer) DO UPDATE SET url = excluded.url, fetched_at = excluded.fetched_at, "
      "catalog = excluded.catalog",
      {std::string(peer), std::string(url), NowRfc3339(), catalog.dump()});
}

Result<std::vector<PeerCatalogInfo>> ListPeerCatalogs(store::Store& store) {
  KEXIN_ASSIGN_OR_RETURN(
      auto rows,
      store.Query("SELECT peer, url, fetched_at, catalog FROM peer_catalogs ORDER BY peer"));
  std::vector<PeerCatalogInfo> out;
  for (const auto& r : rows) {
    json c = json::parse(store::AsText(r[3]), nullptr, false);
    size_t n = c.is_object() && c.contains("dataset") ? c["dataset"].size() : 0;
    out.push_back({store::AsText(r[0]), store::AsText(r[1]), store::AsText(r[2]), n});
  }
  return out;
}

Result<std::vector<FederatedHit>> FederatedSearch(store::Store& store, const Query& query,
                                                  std::string_view peer) {
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         store.Query("SELECT peer, catalog FROM peer_catalogs WHERE peer = $1 OR"
                                     " $1 = '' ORDER BY peer",
                                     {std::string(peer)}));
  std::vector<FederatedHit> out;
  size_t seen = 0;
  const QueryMatcher matches(query);
  for (const auto& r : rows) {
    json c = json::parse(store::AsText(r[1]), nullptr, false);
    if (c.is_discarded())
      return Corruption("peer '" + store::AsText(r[0]) + "': cached catalog is not JSON");
    if (!c.contains("dataset")) continue;
    for (auto& d : c["dataset"]) {
      if (!matches(SearchDocOf(d))) continue;
      if (seen++ < query.offset) continue;
      if (query.limit != 0 && out.size() >= query.limit) return out;
      out.push_back({store::AsText(r[0]), std::move(d)});
    }
  }
  return out;
}

}  // namespace kexin::catalog
