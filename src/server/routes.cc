#include "server/routes.h"

#include <memory>
#include <mutex>

#include "server/auth.h"
#include "server/metrics.h"
#include "server/openapi.h"
#include "server/server.h"
#include "server/users.h"

namespace kexin::server {

using nlohmann::json;

namespace {

json PeerJson(const Peer& p) {
  return {{"name", p.name}, {"url", p.url}, {"public_key", p.public_key}};
}

const json& PeerSchema() {
  static const json s = {{"type", "object"},
                         {"required", {"name", "url", "public_key"}},
                         {"properties",
                          {{"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9._-]{1,64}$"}}},
                           {"url", {{"type", "string"}, {"pattern", "^https?://"}}},
                           {"public_key", {{"type", "string"}, {"pattern", "^[0-9a-f]{64}$"}}}}}};
  return s;
}

struct CachedBody {
  std::once_flag once;
  std::string body;
};

Result<store::Store*> Store(NodeContext& ctx) {
  if (!ctx.stores) return Internal("the node has no store pool");
  return ctx.stores->ForThisThread();
}

}  // namespace

void AddServerRoutes(Router& router, NodeContext& ctx) {
  NodeContext* c = &ctx;
  router.Add({"GET",
              "/healthz",
              Auth::kNone,
              {},
              "Liveness: the server answers",
              "server",
              nullptr,
              {{"type", "object"}, {"properties", {{"status", {{"const", "ok"}}}}}},
              [](const Request&, const Principal&) {
                return Response::Json(200, {{"status", "ok"}});
              }});
  router.Add({"GET",
              "/metrics",
              Auth::kNone,
              {},
              "Prometheus metrics: requests, latency, in-flight, ledger size, uptime",
              "server",
              nullptr,
              nullptr,
              [c](const Request&, const Principal&) {
                Response r;
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                Metrics* m = ServedMetrics();
                int64_t ledger_size = c->ledger ? static_cast<int64_t>(c->ledger->Size()) : -1;
                r.body = m ? m->Render(ledger_size, ServedUptime()) : "";
                for (const auto& source : c->metrics_sources) r.body += source();
                return r;
              }});
  router.Add({"GET",
              "/openapi.json",
              Auth::kNone,
              {},
              "This API as an OpenAPI 3.1 document",
              "server",
              nullptr,
              {{"type", "object"}},
              [](const Request&, const Principal&) {
                // Built once per served router; the router is read-only while served.
                static std::mutex mu;
                static const Router* built_for = nullptr;
                static std::shared_ptr<const std::string> doc;
                const Router* r = ServedRouter();
                std::shared_ptr<const std::string> d;
                {
                  std::lock_guard<std::mutex> lock(mu);
                  if (r && (r != built_for || !doc)) {
                    doc = std::make_shared<const std::string>(BuildOpenApi(*r).dump(2));
                    built_for = r;
                  }
                  d = doc;
                }
                if (!d) return Response::Error(503, "unavailable", "the server is not serving");
                Response resp;
                resp.body = *d;
                return resp;
              }});
  router.Add({"GET",
              "/v1/node",
              Auth::kTokenOrPeer,
              {},
              "This node's name, ledger origin, public key and URL",
              "server",
              nullptr,
              {{"type", "object"},
               {"required", {"name", "origin", "public_key", "url"}},
               {"properties",
                {{"name", {{"type", "string"}}},
                 {"origin", {{"type", "string"}}},
                 {"public_key", {{"type", "string"}, {"pattern", "^[0-9a-f]{64}$"}}},
                 {"url", {{"type", "string"}}}}}},
              [c, cached = std::make_shared<CachedBody>()](const Request&, const Principal&) {
                // Constant for the life of the node: formatted once.
                std::call_once(cached->once, [&] {
                  cached->body = json{{"name", c->config.name},
                                      {"origin", c->config.origin},
                                      {"public_key", c->public_key},
                                      {"url", c->public_url}}
                                     .dump();
                });
                Response r;
                r.body = cached->body;
                return r;
              }});
  router.Add({"GET",
              "/v1/peers",
              Auth::kToken,
              {Role::kAdmin},
              "The peers this node trusts",
              "server",
              nullptr,
              {{"type", "object"},
               {"properties", {{"peers", {{"type", "array"}, {"items", PeerSchema()}}}}}},
              [c](const Request&, const Principal&) {
                auto st = Store(*c);
                if (!st.ok()) return Response::FromStatus(st.status());
                auto peers = ListPeers(**st);
                if (!peers.ok()) return Response::FromStatus(peers.status());
                json a = json::array();
                for (const auto& p : *peers) a.push_back(PeerJson(p));
                return Response::Json(200, {{"peers", a}});
              }});
  router.Add({"POST",
              "/v1/peers",
              Auth::kToken,
              {Role::kAdmin},
              "Trust a peer by its Ed25519 public key",
              "server",
              PeerSchema(),
              PeerSchema(),
              [c](const Request& req, const Principal&) {
                auto body = req.JsonBody();
                if (!body.ok()) return Response::FromStatus(body.status());
                const json& j = *body;
                if (!j.is_object()) {
                  return Response::Error(400, "invalid_argument",
                                         "POST /v1/peers: body must be a JSON object");
                }
                Peer p;
                for (auto [field, out] : {std::pair{"name", &p.name}, std::pair{"url", &p.url},
                                          std::pair{"public_key", &p.public_key}}) {
                  if (!j.contains(field) || !j[field].is_string()) {
                    return Response::Error(
                        400, "invalid_argument",
                        std::string("POST /v1/peers: field \"") + field + "\" must be a string");
                  }
                  *out = j[field].get<std::string>();
                }
                auto st = Store(*c);
                if (!st.ok()) return Response::FromStatus(st.status());
                Status s = AddPeer(**st, p);
                if (!s.ok()) return Response::FromStatus(s);
                InvalidateAuthCaches();
                auto added = GetPeer(**st, p.name);
                if (!added.ok()) return Response::FromStatus(added.status());
                return Response::Json(201, PeerJson(*added));
              }});
  router.Add(
      {"GET",
       "/v1/users",
       Auth::kToken,
       {Role::kAdmin},
       "API users and their roles (never their tokens)",
       "server",
       nullptr,
       {{"type", "object"},
        {"properties",
         {{"users",
           {{"type", "array"},
            {"items",
             {{"type", "object"},
              {"properties",
               {{"name", {{"type", "string"}}},
                {"role", {{"enum", {"admin", "provider", "consumer", "auditor"}}}},
                {"created", {{"type", "string"}}}}}}}}}}}},
       [c](const Request&, const Principal&) {
         auto st = Store(*c);
         if (!st.ok()) return Response::FromStatus(st.status());
         auto users = ListUsers(**st);
         if (!users.ok()) return Response::FromStatus(users.status());
         json a = json::array();
         for (const auto& u : *users) {
           a.push_back({{"name", u.name}, {"role", RoleName(u.role)}, {"created", u.created}});
         }
         return Response::Json(200, {{"users", a}});
       }});
}

}  // namespace kexin::server
