// Module `catalog` (HTTP): the offer, catalog, federated-catalog and DSP catalog endpoints
// (docs/catalog.md#http-api). The routes share one in-memory CatalogIndex, owned by the handlers.
#ifndef KEXIN_CATALOG_ROUTES_H_
#define KEXIN_CATALOG_ROUTES_H_

#include <nlohmann/json.hpp>

#include "catalog/offer.h"
#include "server/api.h"
#include "server/node.h"

namespace kexin::catalog {

void AddCatalogRoutes(server::Router& router, server::NodeContext& ctx);

// The API representation of an offer (GET /v1/offers/:id).
nlohmann::json OfferJson(const Offer& o);

}  // namespace kexin::catalog

#endif  // KEXIN_CATALOG_ROUTES_H_
