#include "contract/view.h"

#include <cstdio>
#include <ctime>

#include "json/canonical.h"

namespace kexin::contract {

using nlohmann::json;

namespace {
// "2026-12-07T20:15:03.250Z" (UTC, milliseconds).
std::string TimeOfMs(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &parts);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}
}  // namespace

json NegotiationJson(const Negotiation& n, const std::vector<Event>* history,
                     const std::vector<OutboxItem>* outbox) {
  json j = {{"id", n.id},
            {"side", SideName(n.side)},
            {"state", StateName(n.state)},
            {"pending", n.pending ? json(StateName(*n.pending)) : json(nullptr)},
            {"providerPid", n.provider_pid()},
            {"consumerPid", n.consumer_pid()},
            {"peer", {{"name", n.peer_name}, {"publicKey", n.peer_key}, {"url", n.peer_url}}},
            {"dataset", n.dataset},
            {"offer", n.offer_id},
            {"policy", n.offer},
            {"manualApproval", n.manual},
            {"decision", n.decision},
            {"reason", n.reason},
            {"created", n.created},
            {"updated", n.updated}};
  // The agreement is shown once both sides hold it (from AGREED); a provider's agreement still in
  // flight is not yet one.
  const bool agreed = n.state == State::kAgreed || n.state == State::kVerified ||
                      n.state == State::kFinalized ||
                      (n.state == State::kTerminated && !n.consumer_signature.empty());
  if (n.agreement.is_null() || !agreed) {
    j["agreement"] = nullptr;
  } else {
    j["agreement"] = n.agreement;
    j["agreementHash"] = n.agreement_hash;
    j["providerSignature"] = n.provider_signature;
    j["consumerSignature"] =
        n.consumer_signature.empty() ? json(nullptr) : json(n.consumer_signature);
  }
  if (history) {
    json h = json::array();
    for (const Event& e : *history) {
      h.push_back({{"seq", e.seq},
                   {"time", e.time},
                   {"type", e.type},
                   {"state", e.state},
                   {"ledgerIndex", e.ledger_index && *e.ledger_index >= 0 ? json(*e.ledger_index)
                                                                          : json(nullptr)}});
    }
    j["history"] = std::move(h);
  }
  if (outbox) {
    json o = json::array();
    for (const OutboxItem& i : *outbox) {
      o.push_back({{"id", i.id},
                   {"kind", i.kind},
                   {"url", i.url},
                   {"status", i.status},
                   {"attempts", i.attempts},
                   {"lastError", i.last_error},
                   {"nextAttempt", TimeOfMs(i.next_attempt_ms)}});
    }
    j["outbox"] = std::move(o);
  }
  return j;
}

Status SameRules(const json& a, const json& b) {
  for (const char* k : {"permission", "prohibition", "obligation"}) {
    json x = a.contains(k) ? a[k] : json(nullptr);
    json y = b.contains(k) ? b[k] : json(nullptr);
    auto cx = ::kexin::json::Canonicalize(x);
    auto cy = ::kexin::json::Canonicalize(y);
    if (!cx.ok()) return cx.status();
    if (!cy.ok()) return cy.status();
    if (*cx != *cy) return InvalidArgument(std::string("the ") + k + " rules differ");
  }
  return Status::Ok();
}

}  // namespace kexin::contract
