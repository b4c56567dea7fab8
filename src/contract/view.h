// Module `contract` (view part): the JSON the management API and the CLI show for a negotiation
// (docs/contract.md#management-api). Thread-safety: pure functions.
#ifndef KEXIN_CONTRACT_VIEW_H_
#define KEXIN_CONTRACT_VIEW_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "contract/negotiation_store.h"

namespace kexin::contract {

// {id, side, state, pending, providerPid, consumerPid, peer{name,key,url}, dataset, offer, policy,
//  manualApproval, decision, reason, agreement (the odrl:Agreement or null), agreementHash,
//  providerSignature, consumerSignature, created, updated[, history[...]][, outbox[...]]}
nlohmann::json NegotiationJson(const Negotiation& n, const std::vector<Event>* history = nullptr,
                               const std::vector<OutboxItem>* outbox = nullptr);

// OK when the permission/prohibition/obligation rules of two ODRL policies have the same
// RFC 8785 form; the byte-level fallback until a semantic matcher is wired in.
Status SameRules(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_VIEW_H_
