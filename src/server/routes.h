// Module `server` (routes): the server's own endpoints (docs/api.md): GET /healthz, GET /metrics,
// GET /openapi.json, GET /v1/node, GET and POST /v1/peers, GET /v1/users. They are tagged
// "server", which also tells the server they do not block (they run on the I/O threads).
#ifndef KEXIN_SERVER_ROUTES_H_
#define KEXIN_SERVER_ROUTES_H_

#include "server/api.h"
#include "server/node.h"

namespace kexin::server {

void AddServerRoutes(Router& router, NodeContext& ctx);

}  // namespace kexin::server

#endif  // KEXIN_SERVER_ROUTES_H_
