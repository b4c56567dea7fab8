// Module `contract` (routes part): the HTTP endpoints of contract negotiation.
//
// DSP bindings (Auth::kPeer, RFC 9421-signed by the peer's node key): the provider's
// /dsp/negotiations/... and the consumer's callback /dsp/callback/negotiations/...; management
// endpoints (Auth::kToken) /v1/negotiations/...; tables in docs/contract.md#endpoints. Adding the
// routes creates the node's ContractService and starts its outbox workers when the context has a
// client, stores and a ledger; the service lives as long as the router's routes.
#ifndef KEXIN_CONTRACT_ROUTES_H_
#define KEXIN_CONTRACT_ROUTES_H_

#include "server/api.h"
#include "server/node.h"

namespace kexin::contract {

void AddContractRoutes(server::Router& router, server::NodeContext& ctx);

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_ROUTES_H_
