// The federated catalog over real HTTP: node B serves its catalog with the node server; node A
// pulls it with a signed DSP catalog request (POST /v1/catalog/peers/node-b/fetch), caches it and
// searches it. Also: an unknown signer is refused by B and A's cache stays as it was. Built only
// with the node server (kexin_server).
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "catalog/federation.h"
#include "catalog/offer.h"
#include "catalog/routes.h"
#include "catalog/test_node.h"
#include "crypto/crypto.h"
#include "server/auth.h"
#include "server/server.h"

namespace kexin::catalog {
namespace {

using nlohmann::json;
using testing_node::SourceDir;
using testing_node::TestNode;

json Example(const std::string& name) {
  std::ifstream in(SourceDir() + "/examples/policies/" + name);
  return json::parse(in);
}

std::string Hex(const crypto::SigningKey& k) {
  return crypto::HexEncode(
      std::string_view(reinterpret_cast<const char*>(k.public_key().data()), 32));
}

// A node with its context, pool, client and catalog routes.
struct Node {
  explicit Node(const std::string& name)
      : t(name), key(*identity::LoadNodeKey(t.config)), pool(t.config.store_url), client(key) {
    ctx.config = t.config;
    ctx.key = key;
    ctx.public_key = Hex(key);
    ctx.ledger = t.ledger.get();
    ctx.stores = &pool;
    ctx.client = &client;
    ctx.public_url = "http://127.0.0.1";
    AddCatalogRoutes(router, ctx);
  }
  server::Response Call(const std::string& method, const std::string& path) {
    server::Request req;
    req.method = method;
    req.target = path;
    auto q = path.find('?');
    req.path = path.substr(0, q);
    if (q != std::string::npos) {
      std::string kv = path.substr(q + 1);
      auto eq = kv.find('=');
      req.query.insert({kv.substr(0, eq), kv.substr(eq + 1)});
    }
    bool matched = false;
    const server::Route* r = router.Match(method, req.path, &req.params, &matched);
    if (r == nullptr) return server::Response::Error(404, "no_route", path);
    return r->handler(req, {server::Principal::Kind::kUser, "admin", server::Role::kAdmin, ""});
  }
  TestNode t;
  crypto::SigningKey key;
  server::StorePool pool;
  server::PeerClient client;
  server::NodeContext ctx;
  server::Router router;
};

TEST(FederationHttpTest, PullSignedCatalogFromARunningPeer) {
  Node a("node-a"), b("node-b");
  std::string reg = b.t.Register();
  ASSERT_TRUE(
      CreateOffer(*b.t.store, *b.t.ledger, {reg, Example("research-fields-limited.json")}).ok());
  json partners = Example("access-partners-cn.json");
  partners["permission"][0]["constraint"][0]["rightOperand"] = {"node-a"};
  ASSERT_TRUE(
      CreateOffer(*b.t.store, *b.t.ledger, {reg, Example("bank-credit-risk-dp.json"), partners})
          .ok());
  server::ServerOptions opt;
  opt.listen = "127.0.0.1:0";
  opt.threads = 1;
  server::Server srv(b.router, b.ctx, opt);
  ASSERT_TRUE(srv.Start().ok());

  ASSERT_TRUE(server::AddPeer(*a.t.store, {"node-b", srv.url(), b.ctx.public_key}).ok());
  // B does not know A yet: its signature is refused, and A's cache stays empty.
  server::Response r = a.Call("POST", "/v1/catalog/peers/node-b/fetch");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(ListPeerCatalogs(*a.t.store)->size(), 0u);

  ASSERT_TRUE(server::AddPeer(*b.t.store, {"node-a", "http://127.0.0.1:9", a.ctx.public_key}).ok());
  server::InvalidateAuthCaches();
  r = a.Call("POST", "/v1/catalog/peers/node-b/fetch");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["datasets"], 1);
  // B answered with what node-a may see: the open offer, not the partners-only one.
  r = a.Call("GET", "/v1/catalog/federated/search?q=customer");
  ASSERT_EQ(r.status, 200);
  json j = json::parse(r.body);
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_EQ(j["results"][0]["peer"], "node-b");
  EXPECT_EQ(j["results"][0]["dataset"]["@id"], reg);
  EXPECT_EQ(j["results"][0]["dataset"]["hasPolicy"].size(), 1u);
  // Once B records where node-a is (in China), a new fetch shows both offers.
  ASSERT_TRUE(SetPeerRegion(*b.t.store, "node-a", "CN-BJ").ok());
  r = a.Call("POST", "/v1/catalog/peers/node-b/fetch");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(a.Call("GET", "/v1/catalog/federated/search?peer=node-b").body);
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_EQ(j["results"][0]["dataset"]["hasPolicy"].size(), 2u);
  EXPECT_EQ(j["peers"][0]["url"], srv.url());
  srv.Stop();
  srv.Wait();
}

}  // namespace
}  // namespace kexin::catalog
