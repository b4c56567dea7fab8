#include "node/router.h"

#include "catalog/routes.h"
#include "contract/routes.h"
#include "server/routes.h"

namespace kexin::node {

server::Router BuildNodeRouter(server::NodeContext& ctx) {
  server::Router router;
  server::AddServerRoutes(router, ctx);
  AddNodeRoutes(router, ctx);
  catalog::AddCatalogRoutes(router, ctx);
  contract::AddContractRoutes(router, ctx);
  return router;
}

}  // namespace kexin::node
