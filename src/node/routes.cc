// TEMPORARY (branch server): an empty AddNodeRoutes so the server branch links; the lead's
// src/node/routes.cc replaces this file on merge.
#include "node/router.h"

namespace kexin::node {

void AddNodeRoutes(server::Router&, server::NodeContext&) {}

}  // namespace kexin::node
