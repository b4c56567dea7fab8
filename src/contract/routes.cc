// Contract negotiation endpoints (docs/contract.md#endpoints).
#include "contract/routes.h"

#include <cstdio>
#include <memory>

#include "contract/crosscheck.h"
#include "contract/messages.h"
#include "contract/service.h"
#include "contract/view.h"
#include "server/auth.h"
#include "server/server.h"

namespace kexin::contract {

using nlohmann::json;
using server::Auth;
using server::Principal;
using server::Request;
using server::Response;
using server::Role;
using server::Route;

namespace {

using ServicePtr = std::shared_ptr<ContractService>;

Caller CallerOf(server::NodeContext& ctx, const Principal& p) {
  Caller c{p.name, p.public_key, p.url};
  if (c.url.empty() && ctx.stores) {
    auto s = ctx.stores->ForThisThread();
    if (s.ok()) {
      auto peer = server::FindPeerByKey(**s, p.public_key);
      if (peer.ok() && peer->has_value()) c.url = (*peer)->url;
    }
  }
  return c;
}

// A 5xx reply names no internals: its detail goes to the log under the request id, which the
// reason names so an operator can find it (docs/contract.md#messages).
Response FromReply(const Request& req, Reply r) {
  if (r.status >= 500) {
    server::LogJson("error", "negotiation message failed",
                    {{"request_id", req.request_id}, {"path", req.path}, {"detail", r.detail}});
    std::string reason = std::string(kInternalReason) +
                         "; the node's log has the details under request id " + req.request_id;
    if (r.body.is_object()) {
      r.body["reason"] = json::array({reason});
      r.body["error"]["message"] = reason;
      r.body["error"]["request_id"] = req.request_id;
    }
  }
  Response out = Response::Json(r.status, r.body);
  if (r.retry_after_s > 0) out.headers.emplace_back("Retry-After", std::to_string(r.retry_after_s));
  return out;
}

// A DSP endpoint's store failure: the same generic 500 (never the store's message).
Response Internal(const Request& req, const Status& st) {
  Reply r{500, NegotiationError("", "", "internal", kInternalReason), st.ToString()};
  return FromReply(req, std::move(r));
}

// The official schema is named, not referenced, so the OpenAPI document stays self-contained.
json Ref(const std::string& name) {
  return {{"type", "object"},
          {"description",
           "Dataspace Protocol 2025-1 message, JSON schema "
           "https://w3id.org/dspace/2025/1/negotiation/" +
               name}};
}

json NegotiationSchema() {
  return {{"type", "object"},
          {"required",
           {"id", "side", "state", "providerPid", "consumerPid", "peer", "dataset", "offer"}},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"side", {{"enum", {"provider", "consumer"}}}},
            {"state",
             {{"enum",
               {"INITIAL", "REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED",
                "TERMINATED"}}}},
            {"pending", {{"type", {"string", "null"}}}},
            {"providerPid", {{"type", "string"}}},
            {"consumerPid", {{"type", "string"}}},
            {"peer", {{"type", "object"}}},
            {"dataset", {{"type", "string"}}},
            {"offer", {{"type", "string"}}},
            {"policy", {{"type", "object"}}},
            {"agreement", {{"type", {"object", "null"}}}},
            {"history", {{"type", "array"}}},
            {"outbox", {{"type", "array"}}}}}};
}

// Runs `fn` on the negotiation `id` of this node (404 when unknown).
Response WithNegotiation(ContractService& svc, const Request& req,
                         const std::function<Response(store::Store&, const Negotiation&)>& fn) {
  auto s = svc.engine().config().store();
  if (!s.ok()) return Response::FromStatus(s.status());
  const std::string& id = req.params.at("id");
  auto n = LoadNegotiation(**s, id);
  if (!n.ok()) return Response::FromStatus(n.status());
  if (!n->has_value())
    return Response::Error(404, "not_found", "negotiation '" + id + "' does not exist");
  return fn(**s, **n);
}

Response Full(ContractService& svc, const Negotiation& n) {
  auto s = svc.engine().config().store();
  if (!s.ok()) return Response::FromStatus(s.status());
  auto events = ListEvents(**s, n.id);
  auto outbox = ListOutbox(**s, n.id);
  if (!events.ok()) return Response::FromStatus(events.status());
  if (!outbox.ok()) return Response::FromStatus(outbox.status());
  return Response::Json(200, NegotiationJson(n, &*events, &*outbox));
}

// The offer `offer_id` of `dataset` as the peer's DSP catalog shows it.
Result<json> FetchOffer(server::NodeContext& ctx, const server::Peer& peer,
                        const std::string& dataset, const std::string& offer_id) {
  if (!ctx.client) return FailedPrecondition("the node has no peer client");
  // The dataset id becomes a path segment of a signed request: no '/', '?', '%' or spaces.
  if (dataset.empty() || dataset.size() > 200 ||
      dataset.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-._") !=
          std::string::npos) {
    return InvalidArgument("'dataset': '" + dataset +
                           "' is not a dataset id (letters, digits and : - . _)");
  }
  std::string url = peer.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/dsp/catalog/datasets/" + dataset;
  KEXIN_ASSIGN_OR_RETURN(auto r, ctx.client->Send("GET", url, ""));
  if (r.status != 200) {
    return FailedPrecondition("no 'policy' given and GET " + url + " answered " +
                              std::to_string(r.status));
  }
  auto parsed = server::ParseJsonLimited(r.body, "GET " + url);
  json ds = parsed.ok() ? std::move(*parsed) : json();
  if (!ds.is_object()) return DataError("GET " + url + ": the dataset is not a JSON object");
  for (const char* key : {"hasPolicy", "odrl:hasPolicy"}) {
    if (!ds.contains(key)) continue;
    json list = ds[key].is_array() ? ds[key] : json::array({ds[key]});
    for (const auto& p : list) {
      if (p.is_object() && p.value("@id", "") == offer_id) return p;
    }
  }
  return NotFound("no 'policy' given and offer '" + offer_id + "' is not among the offers of " +
                  "dataset '" + dataset + "' in peer '" + peer.name + "'s catalog");
}

void AddDspRoutes(server::Router& router, server::NodeContext& ctx, const ServicePtr& svc) {
  struct Msg {
    const char* pattern;
    Side side;
    const char* type;
    const char* summary;
    const char* schema;
  };
  const Msg msgs[] = {
      {"/dsp/negotiations/request", Side::kProvider, "ContractRequestMessage",
       "DSP: a consumer requests a contract for an offer (creates a negotiation)",
       "contract-request-message-schema.json"},
      {"/dsp/negotiations/:pid/request", Side::kProvider, "ContractRequestMessage",
       "DSP: a consumer's counter-request", "contract-request-message-schema.json"},
      {"/dsp/negotiations/:pid/events", Side::kProvider, "ContractNegotiationEventMessage",
       "DSP: the consumer accepts the provider's offer (ACCEPTED)",
       "contract-negotiation-event-message-schema.json"},
      {"/dsp/negotiations/:pid/agreement/verification", Side::kProvider,
       "ContractAgreementVerificationMessage",
       "DSP: the consumer verifies and countersigns the agreement",
       "contract-agreement-verification-message-schema.json"},
      {"/dsp/negotiations/:pid/termination", Side::kProvider,
       "ContractNegotiationTerminationMessage", "DSP: the consumer terminates the negotiation",
       "contract-negotiation-termination-message-schema.json"},
      {"/dsp/callback/negotiations/:cid/offers", Side::kConsumer, "ContractOfferMessage",
       "DSP callback: the provider offers (counter-offer)", "contract-offer-message-schema.json"},
      {"/dsp/callback/negotiations/:cid/agreement", Side::kConsumer, "ContractAgreementMessage",
       "DSP callback: the provider's signed agreement", "contract-agreement-message-schema.json"},
      {"/dsp/callback/negotiations/:cid/events", Side::kConsumer, "ContractNegotiationEventMessage",
       "DSP callback: the provider finalizes (FINALIZED)",
       "contract-negotiation-event-message-schema.json"},
      {"/dsp/callback/negotiations/:cid/termination", Side::kConsumer,
       "ContractNegotiationTerminationMessage", "DSP callback: the provider terminates",
       "contract-negotiation-termination-message-schema.json"},
  };
  for (const Msg& m : msgs) {
    Side side = m.side;
    std::string type = m.type;
    std::string param = side == Side::kProvider ? "pid" : "cid";
    router.Add(Route{"POST",
                     m.pattern,
                     Auth::kPeer,
                     {},
                     m.summary,
                     "dsp",
                     Ref(m.schema),
                     Ref("contract-negotiation-schema.json"),
                     [&ctx, svc, side, type, param](const Request& req, const Principal& p) {
                       auto it = req.params.find(param);
                       std::string pid = it == req.params.end() ? "" : it->second;
                       return FromReply(
                           req, svc->engine().Receive(side, type, pid, CallerOf(ctx, p), req.body));
                     },
                     // On SQLite nodes the message is answered from the group-commit writer
                     // once durable, with no handler thread waiting for the commit.
                     [&ctx, svc, side, type, param](const Request& req, const Principal& p,
                                                    const server::Responder& respond) {
                       auto it = req.params.find(param);
                       std::string pid = it == req.params.end() ? "" : it->second;
                       return svc->engine().ReceiveAsync(
                           side, type, pid, CallerOf(ctx, p), req.body,
                           [&req, respond](Reply r) { respond(FromReply(req, std::move(r))); });
                     }});
  }
  for (Side side : {Side::kProvider, Side::kConsumer}) {
    std::string base =
        side == Side::kProvider ? "/dsp/negotiations/:pid" : "/dsp/callback/negotiations/:cid";
    std::string param = side == Side::kProvider ? "pid" : "cid";
    router.Add(Route{"GET",
                     base,
                     Auth::kPeer,
                     {},
                     "DSP: the negotiation's state, for its peer",
                     "dsp",
                     nullptr,
                     Ref("contract-negotiation-schema.json"),
                     [&ctx, svc, side, param](const Request& req, const Principal& p) {
                       return FromReply(
                           req, svc->engine().Get(side, req.params.at(param), CallerOf(ctx, p)));
                     }});
    router.Add(Route{
        "GET",
        base + "/ledger",
        Auth::kPeer,
        {},
        "kexin: this node's ledger entries of the negotiation with inclusion proofs, for its peer",
        "dsp",
        nullptr,
        {{"type", "object"}},
        [&ctx, svc, side, param](const Request& req, const Principal& p) {
          auto s = svc->engine().config().store();
          if (!s.ok()) return Internal(req, s.status());
          auto n = LoadNegotiation(**s, req.params.at(param));
          if (!n.ok()) return Internal(req, n.status());
          if (!n->has_value() || (*n)->side != side || (*n)->peer_key != p.public_key)
            return Response::Error(404, "unknown_negotiation",
                                   "no negotiation '" + req.params.at(param) + "' with this peer");
          auto events = ListEvents(**s, (*n)->id);
          if (!events.ok()) return Internal(req, events.status());
          auto view = BuildLedgerView(*ctx.ledger, **n, *events, ctx.public_key);
          if (!view.ok()) return Internal(req, view.status());
          return Response::Json(200, *view);
        }});
  }
}

void AddManagementRoutes(server::Router& router, server::NodeContext& ctx, const ServicePtr& svc) {
  const std::vector<Role> all = {Role::kAdmin, Role::kProvider, Role::kConsumer, Role::kAuditor};
  json start_schema = {
      {"type", "object"},
      {"required", {"peer", "dataset", "offer"}},
      {"properties",
       {{"peer", {{"type", "string"}, {"description", "a name in the peers table"}}},
        {"dataset", {{"type", "string"}}},
        {"offer", {{"type", "string"}}},
        {"policy",
         {{"type", "object"},
          {"description",
           "the offer's ODRL terms; fetched from the peer's catalog "
           "when absent"}}}}}};
  router.Add(Route{
      "POST",
      "/v1/negotiations",
      Auth::kToken,
      {Role::kAdmin, Role::kConsumer},
      "Start a contract negotiation with a peer for one of its offers",
      "contract",
      start_schema,
      NegotiationSchema(),
      [&ctx, svc](const Request& req, const Principal&) {
        auto body = req.JsonBody();
        if (!body.ok()) return Response::FromStatus(body.status());
        if (!body->is_object())
          return Response::Error(400, "invalid_argument",
                                 "POST /v1/negotiations: body must be an object");
        for (const char* f : {"peer", "dataset", "offer"}) {
          if (!body->contains(f) || !(*body)[f].is_string() ||
              (*body)[f].get<std::string>().empty())
            return Response::Error(
                400, "invalid_argument",
                std::string("POST /v1/negotiations: field '") + f + "' must be a non-empty string");
        }
        if (body->contains("policy") && !(*body)["policy"].is_object())
          return Response::Error(400, "invalid_argument",
                                 "POST /v1/negotiations: field 'policy' must be an object");
        auto peer = server::CachedPeer(*ctx.stores, (*body)["peer"].get<std::string>());
        if (!peer.ok()) return Response::FromStatus(peer.status());
        const std::string dataset = (*body)["dataset"], offer = (*body)["offer"];
        json policy;
        if (body->contains("policy")) {
          policy = (*body)["policy"];
        } else {
          auto fetched = FetchOffer(ctx, *peer, dataset, offer);
          if (!fetched.ok() && fetched.status().code() == StatusCode::kIoError)
            return Response::Error(502, "peer_unreachable", fetched.status().message());
          if (!fetched.ok()) return Response::FromStatus(fetched.status());
          policy = *fetched;
        }
        auto n =
            svc->engine().Start({peer->name, peer->url, peer->public_key}, dataset, offer, policy);
        if (!n.ok()) return Response::FromStatus(n.status());
        return Response::Json(201, NegotiationJson(*n));
      }});
  router.Add(Route{
      "GET",
      "/v1/negotiations",
      Auth::kToken,
      all,
      "List negotiations, newest first (?state=&limit=&offset=)",
      "contract",
      nullptr,
      {{"type", "object"},
       {"properties", {{"negotiations", {{"type", "array"}, {"items", NegotiationSchema()}}}}}},
      [svc](const Request& req, const Principal&) {
        std::string state = req.Query("state").value_or("");
        if (!state.empty() && !ParseState(state))
          return Response::Error(
              400, "invalid_argument",
              "GET /v1/negotiations: state '" + state + "' is not a negotiation state");
        int64_t limit = 100, offset = 0;
        for (auto [name, out, max] : {std::tuple{"limit", &limit, int64_t{1000}},
                                      std::tuple{"offset", &offset, int64_t{1} << 40}}) {
          auto v = req.Query(name);
          if (!v) continue;
          if (v->empty() || v->size() > 13 ||
              v->find_first_not_of("0123456789") != std::string::npos || std::stoll(*v) > max ||
              (std::string(name) == "limit" && std::stoll(*v) == 0))
            return Response::Error(400, "invalid_argument",
                                   std::string("GET /v1/negotiations: ") + name + " '" + *v +
                                       "' must be an integer in range");
          *out = std::stoll(*v);
        }
        auto s = svc->engine().config().store();
        if (!s.ok()) return Response::FromStatus(s.status());
        auto list = ListNegotiations(**s, state, limit, offset);
        if (!list.ok()) return Response::FromStatus(list.status());
        json out = json::array();
        for (const auto& n : *list) out.push_back(NegotiationJson(n));
        return Response::Json(200, {{"negotiations", out}});
      }});
  router.Add(Route{"GET", "/v1/negotiations/:id", Auth::kToken, all,
                   "A negotiation with its history, outbox and agreement", "contract", nullptr,
                   NegotiationSchema(), [svc](const Request& req, const Principal&) {
                     return WithNegotiation(*svc, req, [&](store::Store&, const Negotiation& n) {
                       return Full(*svc, n);
                     });
                   }});
  json reason_schema = {{"type", "object"},
                        {"required", {"reason"}},
                        {"properties", {{"reason", {{"type", "string"}, {"minLength", 1}}}}}};
  auto action = [svc](const std::string& what) {
    return [svc, what](const Request& req, const Principal& who) {
      std::string reason;
      if (what != "approve") {
        auto body = req.JsonBody();
        if (!body.ok()) return Response::FromStatus(body.status());
        if (!body->is_object() || !body->contains("reason") || !(*body)["reason"].is_string() ||
            (*body)["reason"].get<std::string>().empty())
          return Response::Error(
              400, "invalid_argument",
              req.method + " " + req.path + ": field 'reason' must be a non-empty string");
        reason = (*body)["reason"];
      }
      const std::string& id = req.params.at("id");
      if (what == "terminate" && who.role != server::Role::kAdmin) {
        // A consumer user ends this node's consumer-side negotiations, a provider user its
        // provider-side ones; only an admin ends either.
        auto st = svc->engine().config().store();
        if (!st.ok()) return Response::FromStatus(st.status());
        auto n = LoadNegotiation(**st, id);
        if (!n.ok()) return Response::FromStatus(n.status());
        Side mine = who.role == server::Role::kConsumer ? Side::kConsumer : Side::kProvider;
        if (n->has_value() && (*n)->side != mine) {
          return Response::Error(403, "permission_denied",
                                 "a " + std::string(server::RoleName(who.role)) +
                                     " user may only terminate negotiations in which this node "
                                     "is the " +
                                     std::string(server::RoleName(who.role)));
        }
      }
      Result<Negotiation> r = what == "approve"  ? svc->engine().Approve(id)
                              : what == "reject" ? svc->engine().Reject(id, reason)
                                                 : svc->engine().Terminate(id, reason);
      if (!r.ok()) return Response::FromStatus(r.status());
      return Full(*svc, *r);
    };
  };
  router.Add(Route{"POST",
                   "/v1/negotiations/:id/approve",
                   Auth::kToken,
                   {Role::kAdmin, Role::kProvider},
                   "Approve a negotiation held for manual approval (provider) or accept an offer "
                   "(consumer)",
                   "contract",
                   nullptr,
                   NegotiationSchema(),
                   action("approve")});
  router.Add(Route{"POST",
                   "/v1/negotiations/:id/reject",
                   Auth::kToken,
                   {Role::kAdmin, Role::kProvider},
                   "Reject a negotiation held for manual approval",
                   "contract",
                   reason_schema,
                   NegotiationSchema(),
                   action("reject")});
  router.Add(Route{"POST",
                   "/v1/negotiations/:id/terminate",
                   Auth::kToken,
                   {Role::kAdmin, Role::kProvider, Role::kConsumer},
                   "Terminate a negotiation that is not final",
                   "contract",
                   reason_schema,
                   NegotiationSchema(),
                   action("terminate")});
  router.Add(Route{"GET",
                   "/v1/negotiations/:id/ledger",
                   Auth::kToken,
                   all,
                   "The negotiation's ledger entries with indices and inclusion proofs",
                   "contract",
                   nullptr,
                   {{"type", "object"}},
                   [&ctx, svc](const Request& req, const Principal&) {
                     return WithNegotiation(*svc, req, [&](store::Store& s, const Negotiation& n) {
                       auto events = ListEvents(s, n.id);
                       if (!events.ok()) return Response::FromStatus(events.status());
                       auto view = BuildLedgerView(*ctx.ledger, n, *events, ctx.public_key);
                       if (!view.ok()) return Response::FromStatus(view.status());
                       return Response::Json(200, *view);
                     });
                   }});
  router.Add(
      Route{"GET",
            "/v1/negotiations/:id/crosscheck",
            Auth::kToken,
            all,
            "Fetch the peer's ledger view of the negotiation and compare it with this node's",
            "contract",
            nullptr,
            {{"type", "object"}},
            [&ctx, svc](const Request& req, const Principal&) {
              return WithNegotiation(*svc, req, [&](store::Store& s, const Negotiation& n) {
                if (n.peer_pid.empty())
                  return Response::Error(409, "failed_precondition",
                                         "negotiation '" + n.id + "' has no peer process id yet");
                auto events = ListEvents(s, n.id);
                if (!events.ok()) return Response::FromStatus(events.status());
                auto mine = BuildLedgerView(*ctx.ledger, n, *events, ctx.public_key);
                if (!mine.ok()) return Response::FromStatus(mine.status());
                std::string url = n.peer_url + "/negotiations/" + n.peer_pid + "/ledger";
                auto r = ctx.client->Send("GET", url, "");
                if (!r.ok()) return Response::FromStatus(r.status());
                auto parsed = server::ParseJsonLimited(r->body, "GET " + url);
                json theirs = parsed.ok() ? std::move(*parsed) : json();
                if (r->status != 200 || !theirs.is_object())
                  return Response::Error(502, "peer_error",
                                         "GET " + url + " answered " + std::to_string(r->status));
                if (theirs.value("node", "") != n.peer_key)
                  return Response::Error(502, "peer_error",
                                         "the peer's view names node '" + theirs.value("node", "") +
                                             "', not the peer's key");
                CrossCheckReport report = CrossCheck(*mine, theirs);
                return Response::Json(
                    200, {{"report", report.ToJson()}, {"mine", *mine}, {"theirs", theirs}});
              });
            }});
}

// The engine's lines of GET /metrics (docs/api.md#metrics).
std::string MetricsText(const Engine::Stats& st) {
  std::string out;
  auto add = [&](const char* name, const char* type, const char* help, const std::string& value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + value + "\n";
  };
  if (st.group_commit) {
    add("kexin_contract_group_commits_total", "counter",
        "Commits of the negotiation writer's group transactions (SQLite).",
        std::to_string(st.commits));
    add("kexin_contract_group_operations_total", "counter",
        "Operations the negotiation writer ran (kept or refused).", std::to_string(st.operations));
    char busy[32];
    std::snprintf(busy, sizeof busy, "%.6f", st.writer_busy_s);
    add("kexin_contract_writer_busy_seconds_total", "counter",
        "Time the negotiation writer spent running operations and committing; a rate near 1 "
        "means it is saturated.",
        busy);
  }
  add("kexin_contract_outbox_ready", "gauge",
      "Committed negotiation messages waiting in memory for an outbox worker.",
      std::to_string(st.outbox_ready));
  return out;
}

}  // namespace

void AddContractRoutes(server::Router& router, server::NodeContext& ctx) {
  auto svc = std::make_shared<ContractService>(ctx, ServiceOptions{});
  AddDspRoutes(router, ctx, svc);
  AddManagementRoutes(router, ctx, svc);
  ctx.metrics_sources.push_back([weak = std::weak_ptr<ContractService>(svc)] {
    auto s = weak.lock();
    return s ? MetricsText(s->engine().stats()) : std::string();
  });
  svc->Start();
}

}  // namespace kexin::contract
