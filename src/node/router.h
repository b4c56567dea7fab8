// Module `node`: assembles a node's HTTP API from the modules that serve it.
//
// BuildNodeRouter adds, in order, the server's own routes (health, metrics, OpenAPI, node info,
// users, peers), the node routes defined here (registrations, ledger, witness), the catalog's and
// the contract negotiation's. `kexin serve`, the OpenAPI generator and the role x endpoint test
// all use this one function, so the document and the test cover exactly what is served.
#ifndef KEXIN_NODE_ROUTER_H_
#define KEXIN_NODE_ROUTER_H_

#include "server/api.h"
#include "server/node.h"

namespace kexin::node {

// The complete router of a node; `ctx` must outlive it.
server::Router BuildNodeRouter(server::NodeContext& ctx);

// Registration, ledger and witness endpoints (routes.cc).
void AddNodeRoutes(server::Router& router, server::NodeContext& ctx);

}  // namespace kexin::node

#endif  // KEXIN_NODE_ROUTER_H_
