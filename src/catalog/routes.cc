#include "catalog/routes.h"

#include <charconv>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "catalog/catalog.h"
#include "catalog/federation.h"
#include "policy/policy.h"

namespace kexin::catalog {

using nlohmann::json;
using server::Auth;
using server::Principal;
using server::Request;
using server::Response;
using server::Role;

json OfferJson(const Offer& o) {
  return json{{"id", o.id},
              {"registration", o.registration_id},
              {"policy", o.policy},
              {"access_policy", o.access_policy},
              {"manual_approval", o.manual_approval},
              {"created", o.created},
              {"withdrawn", o.withdrawn},
              {"fingerprint", o.fingerprint}};
}

namespace {

struct Shared {
  Shared(server::NodeContext* c, CatalogInfo info) : ctx(c), index(std::move(info)) {}
  ~Shared() {
    if (warm.joinable()) warm.join();
  }
  server::NodeContext* ctx;
  CatalogIndex index;
  std::thread warm;  // builds the index at start-up so the first request does not pay for it
};

Response Catalog(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A DSP CatalogError (DSP endpoints answer errors in the protocol's own shape).
Response DspError(int status, const std::string& reason) {
  return Response::Json(status, json{{"@context", {policy::kDspContext}},
                                     {"@type", "CatalogError"},
                                     {"code", std::to_string(status)},
                                     {"reason", {reason}}});
}

Result<size_t> SizeParam(const Request& req, const char* name) {
  auto v = req.Query(name);
  if (!v) return size_t{0};
  size_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || v->empty())
    return InvalidArgument(std::string("query parameter '") + name +
                           "' must be a non-negative integer, got '" + *v + "'");
  return n;
}

Result<Query> QueryOf(const Request& req) {
  Query q;
  q.q = req.Query("q").value_or("");
  q.sector = req.Query("sector").value_or("");
  q.category = req.Query("category").value_or("");
  q.level = req.Query("level").value_or("");
  KEXIN_ASSIGN_OR_RETURN(q.offset, SizeParam(req, "offset"));
  KEXIN_ASSIGN_OR_RETURN(q.limit, SizeParam(req, "limit"));
  return q;
}

Result<Viewer> PeerViewer(store::Store& store, const server::Peer& peer) {
  Viewer v;
  v.name = peer.name;
  v.public_key = peer.public_key;
  KEXIN_ASSIGN_OR_RETURN(v.region, PeerRegion(store, peer.name));
  return v;
}

// Local users see every offer, or what peer `consumer` would see.
Result<Viewer> LocalViewer(store::Store& store, const Request& req) {
  auto consumer = req.Query("consumer");
  if (!consumer || consumer->empty()) return Viewer{.everyone = true};
  KEXIN_ASSIGN_OR_RETURN(server::Peer peer, server::GetPeer(store, *consumer));
  return PeerViewer(store, peer);
}

Result<store::Store*> Refreshed(Shared& s) {
  KEXIN_ASSIGN_OR_RETURN(store::Store * store, s.ctx->stores->ForThisThread());
  KEXIN_RETURN_IF_ERROR(s.index.Refresh(*store));
  return store;
}

Response CatalogPage(Shared& s, const Request& req) {
  auto store = Refreshed(s);
  if (!store.ok()) return Response::FromStatus(store.status());
  auto q = QueryOf(req);
  if (!q.ok()) return Response::FromStatus(q.status());
  auto viewer = LocalViewer(**store, req);
  if (!viewer.ok()) return Response::FromStatus(viewer.status());
  auto page = s.index.Catalog(*viewer, *q);
  Response r = Catalog(200, std::move(page.json));
  r.headers.push_back({"x-total-count", std::to_string(page.total)});
  return r;
}

Response CreateOfferHandler(Shared& s, const Request& req) {
  auto body = req.JsonBody();
  if (!body.ok()) return Response::FromStatus(body.status());
  const json& b = *body;
  if (!b.is_object()) return Response::Error(400, "invalid_argument", "body: expected an object");
  for (auto it = b.begin(); it != b.end(); ++it)
    if (it.key() != "registration" && it.key() != "policy" && it.key() != "access_policy" &&
        it.key() != "manual_approval")
      return Response::Error(400, "invalid_argument", "body: unknown member '" + it.key() + "'");
  if (!b.contains("registration") || !b["registration"].is_string() ||
      b["registration"].get<std::string>().empty())
    return Response::Error(400, "invalid_argument", "registration: required (a registration id)");
  if (!b.contains("policy") || !b["policy"].is_object())
    return Response::Error(400, "invalid_argument", "policy: required (an ODRL policy object)");
  if (b.contains("access_policy") && !b["access_policy"].is_object() &&
      !b["access_policy"].is_null())
    return Response::Error(400, "invalid_argument", "access_policy: expected an object or null");
  if (b.contains("manual_approval") && !b["manual_approval"].is_boolean())
    return Response::Error(400, "invalid_argument", "manual_approval: expected true or false");
  // Check the policies in place before copying them into the request: a copy of a hostile,
  // deeply nested body would recurse; a policy that parses is shallow.
  for (const char* k : {"policy", "access_policy"}) {
    if (!b.contains(k) || b[k].is_null()) continue;
    auto p = policy::Parse(b[k]);
    if (!p.ok())
      return Response::Error(422, "data_error", std::string(k) + ": " + p.status().message());
  }
  auto store = s.ctx->stores->ForThisThread();
  if (!store.ok()) return Response::FromStatus(store.status());
  OfferRequest r{b["registration"], b["policy"], b.value("access_policy", json(nullptr)),
                 b.value("manual_approval", false)};
  auto o = CreateOffer(**store, *s.ctx->ledger, r);
  if (!o.ok()) return Response::FromStatus(o.status());
  Response resp = Response::Json(201, OfferJson(*o));
  resp.headers.push_back({"location", "/v1/offers/" + o->id});
  return resp;
}

json OfferSchema() {
  return json{{"type", "object"},
              {"required", {"id", "registration", "policy", "manual_approval", "withdrawn"}},
              {"properties",
               {{"id", {{"type", "string"}}},
                {"registration", {{"type", "string"}}},
                {"policy", {{"type", "object"}}},
                {"access_policy", {{"type", {"object", "null"}}}},
                {"manual_approval", {{"type", "boolean"}}},
                {"created", {{"type", "string"}}},
                {"withdrawn", {{"type", "boolean"}}},
                {"fingerprint", {{"type", "string"}}}}}};
}

json CatalogSchema() {
  return json{{"type", "object"},
              {"description", "DSP Catalog (dcat:Catalog JSON-LD), docs/catalog.md"},
              {"required", {"@context", "@id", "@type", "participantId"}}};
}

}  // namespace

void AddCatalogRoutes(server::Router& router, server::NodeContext& ctx) {
  auto s = std::make_shared<Shared>(
      &ctx, CatalogInfo{ctx.config.name, ctx.config.origin, ctx.public_url});
  const std::vector<Role> kAny = {Role::kAdmin, Role::kProvider, Role::kConsumer, Role::kAuditor};
  if (ctx.stores != nullptr) {
    // Building the index of 10,000 assets takes ~0.7 s: do it beside start-up, not in the first
    // request (a request that comes first simply refreshes concurrently; Refresh is thread-safe).
    Shared* raw = s.get();
    s->warm = std::thread([raw] {
      auto store = raw->ctx->stores->ForThisThread();
      if (store.ok()) raw->index.Refresh(**store).IgnoreError();
    });
  }

  router.Add({"POST",
              "/v1/offers",
              Auth::kToken,
              {Role::kProvider, Role::kAdmin},
              "Offer a registered resource under an ODRL usage policy",
              "catalog",
              json{{"type", "object"},
                   {"required", {"registration", "policy"}},
                   {"additionalProperties", false},
                   {"properties",
                    {{"registration", {{"type", "string"}}},
                     {"policy", {{"type", "object"}, {"description", "ODRL policy"}}},
                     {"access_policy", {{"type", {"object", "null"}}}},
                     {"manual_approval", {{"type", "boolean"}}}}}},
              OfferSchema(),
              [s](const Request& req, const Principal&) { return CreateOfferHandler(*s, req); }});

  router.Add({"GET", "/v1/offers", Auth::kToken, kAny, "List offers, withdrawn ones included",
              "catalog", nullptr,
              json{{"type", "object"},
                   {"properties", {{"offers", {{"type", "array"}, {"items", OfferSchema()}}}}}},
              [s](const Request&, const Principal&) {
                auto store = s->ctx->stores->ForThisThread();
                if (!store.ok()) return Response::FromStatus(store.status());
                auto offers = ListOffers(**store, true);
                if (!offers.ok()) return Response::FromStatus(offers.status());
                json a = json::array();
                for (const auto& o : *offers) a.push_back(OfferJson(o));
                return Response::Json(200, json{{"offers", a}});
              }});

  router.Add({"GET", "/v1/offers/:id", Auth::kToken, kAny, "One offer", "catalog", nullptr,
              OfferSchema(), [s](const Request& req, const Principal&) {
                auto store = s->ctx->stores->ForThisThread();
                if (!store.ok()) return Response::FromStatus(store.status());
                auto o = GetOffer(**store, req.params.at("id"));
                if (!o.ok()) return Response::FromStatus(o.status());
                return Response::Json(200, OfferJson(*o));
              }});

  router.Add({"DELETE",
              "/v1/offers/:id",
              Auth::kToken,
              {Role::kProvider, Role::kAdmin},
              "Withdraw an offer (409 when already withdrawn)",
              "catalog",
              nullptr,
              OfferSchema(),
              [s](const Request& req, const Principal&) {
                auto store = s->ctx->stores->ForThisThread();
                if (!store.ok()) return Response::FromStatus(store.status());
                auto o = WithdrawOffer(**store, *s->ctx->ledger, req.params.at("id"));
                if (!o.ok()) return Response::FromStatus(o.status());
                return Response::Json(200, OfferJson(*o));
              }});

  router.Add({"GET", "/v1/catalog", Auth::kToken, kAny,
              "This node's DCAT catalog (?consumer=PEER: as that peer sees it; ?offset, ?limit)",
              "catalog", nullptr, CatalogSchema(),
              [s](const Request& req, const Principal&) { return CatalogPage(*s, req); }});

  router.Add({"GET", "/v1/catalog/search", Auth::kToken, kAny,
              "Search this node's catalog: ?q=&sector=&category=&level=&consumer=&offset=&limit=",
              "catalog", nullptr, CatalogSchema(),
              [s](const Request& req, const Principal&) { return CatalogPage(*s, req); }});

  router.Add(
      {"POST",
       "/v1/catalog/peers/:name/fetch",
       Auth::kToken,
       {Role::kConsumer, Role::kAdmin},
       "Pull a peer's catalog over DSP and cache it for federated search",
       "catalog",
       nullptr,
       json{{"type", "object"},
            {"properties", {{"peer", {{"type", "string"}}}, {"datasets", {{"type", "integer"}}}}}},
       [s](const Request& req, const Principal&) {
         auto store = s->ctx->stores->ForThisThread();
         if (!store.ok()) return Response::FromStatus(store.status());
         auto peer = server::GetPeer(**store, req.params.at("name"));
         if (!peer.ok()) return Response::FromStatus(peer.status());
         auto c = FetchPeerCatalog(**store, *s->ctx->client, *peer);
         if (!c.ok()) {
           // The peer, not this node or the caller, failed: 502.
           StatusCode code = c.status().code();
           if (code == StatusCode::kIoError || code == StatusCode::kFailedPrecondition ||
               code == StatusCode::kDataError)
             return Response::Error(502, "bad_gateway", c.status().message());
           return Response::FromStatus(c.status());
         }
         size_t n = c->contains("dataset") ? (*c)["dataset"].size() : 0;
         return Response::Json(200, json{{"peer", peer->name}, {"datasets", n}});
       }});

  router.Add(
      {"PUT",
       "/v1/catalog/peers/:name/region",
       Auth::kToken,
       {Role::kAdmin},
       "Record a peer's region, matched by spatial constraints of access policies",
       "catalog",
       json{{"type", "object"},
            {"required", {"region"}},
            {"additionalProperties", false},
            {"properties", {{"region", {{"type", "string"}}}}}},
       json{{"type", "object"},
            {"properties", {{"peer", {{"type", "string"}}}, {"region", {{"type", "string"}}}}}},
       [s](const Request& req, const Principal&) {
         auto body = req.JsonBody();
         if (!body.ok()) return Response::FromStatus(body.status());
         if (!body->is_object() || body->size() != 1 || !body->contains("region") ||
             !(*body)["region"].is_string())
           return Response::Error(400, "invalid_argument",
                                  "body: expected {\"region\": \"<region code>\"}");
         auto store = s->ctx->stores->ForThisThread();
         if (!store.ok()) return Response::FromStatus(store.status());
         auto peer = server::GetPeer(**store, req.params.at("name"));
         if (!peer.ok()) return Response::FromStatus(peer.status());
         std::string region = (*body)["region"];
         Status st = SetPeerRegion(**store, peer->name, region);
         if (!st.ok()) return Response::FromStatus(st);
         return Response::Json(
             200, json{{"peer", peer->name}, {"region", *policy::NormalizeRegion(region)}});
       }});

  router.Add(
      {"GET", "/v1/catalog/federated/search", Auth::kToken, kAny,
       "Search the cached catalogs of peers: ?q=&sector=&category=&level=&peer=", "catalog",
       nullptr,
       json{{"type", "object"},
            {"properties", {{"results", {{"type", "array"}}}, {"peers", {{"type", "array"}}}}}},
       [s](const Request& req, const Principal&) {
         auto store = s->ctx->stores->ForThisThread();
         if (!store.ok()) return Response::FromStatus(store.status());
         auto q = QueryOf(req);
         if (!q.ok()) return Response::FromStatus(q.status());
         auto hits = FederatedSearch(**store, *q, req.Query("peer").value_or(""));
         if (!hits.ok()) return Response::FromStatus(hits.status());
         auto peers = ListPeerCatalogs(**store);
         if (!peers.ok()) return Response::FromStatus(peers.status());
         json results = json::array(), ps = json::array();
         for (auto& h : *hits)
           results.push_back(json{{"peer", h.peer}, {"dataset", std::move(h.dataset)}});
         for (const auto& p : *peers)
           ps.push_back(json{{"peer", p.peer},
                             {"url", p.url},
                             {"fetched_at", p.fetched_at},
                             {"datasets", p.datasets}});
         return Response::Json(200, json{{"results", results}, {"peers", ps}});
       }});

  router.Add({"POST",
              "/dsp/catalog/request",
              Auth::kPeer,
              {},
              "DSP CatalogRequestMessage: the catalog as the signing peer may see it",
              "dsp",
              json{{"type", "object"}, {"required", {"@type"}}},
              CatalogSchema(),
              [s](const Request& req, const Principal& who) {
                auto body = req.JsonBody();
                if (!body.ok()) return DspError(400, body.status().message());
                const json& b = *body;
                auto type = b.is_object() ? b.find("@type") : b.end();
                if (!b.is_object() || type == b.end() || !type->is_string() ||
                    (*type != "CatalogRequestMessage" && *type != "dspace:CatalogRequestMessage"))
                  return DspError(400, "@type: expected \"CatalogRequestMessage\"");
                auto store = Refreshed(*s);
                if (!store.ok()) return DspError(500, store.status().message());
                Viewer v{.name = who.name, .public_key = who.public_key};
                auto region = PeerRegion(**store, who.name);
                if (!region.ok()) return DspError(500, region.status().message());
                v.region = *region;
                return Catalog(200, s->index.Catalog(v, {}).json);
              }});

  router.Add({"GET",
              "/dsp/catalog/datasets/:id",
              Auth::kPeer,
              {},
              "DSP dataset request: one dataset as the signing peer may see it",
              "dsp",
              nullptr,
              json{{"type", "object"}, {"required", {"@id", "@type", "hasPolicy"}}},
              [s](const Request& req, const Principal& who) {
                auto store = Refreshed(*s);
                if (!store.ok()) return DspError(500, store.status().message());
                Viewer v{.name = who.name, .public_key = who.public_key};
                auto region = PeerRegion(**store, who.name);
                if (!region.ok()) return DspError(500, region.status().message());
                v.region = *region;
                auto d = s->index.Dataset(v, req.params.at("id"));
                if (!d.ok()) return DspError(404, d.status().message());
                return Response::Json(200, *d);
              }});
}

}  // namespace kexin::catalog
