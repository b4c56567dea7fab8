// The catalog's HTTP handlers, called directly with a Request and a Principal as the server would
// after authentication: statuses, error bodies, and that failed requests change nothing.
#include "catalog/routes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "catalog/catalog.h"
#include "catalog/federation.h"
#include "catalog/test_node.h"

namespace kexin::catalog {
namespace {

using nlohmann::json;
using server::Principal;
using server::Request;
using server::Response;
using testing_node::SourceDir;
using testing_node::TestNode;

json Example(const std::string& name) {
  std::ifstream in(SourceDir() + "/examples/policies/" + name);
  return json::parse(in);
}

class RoutesTest : public ::testing::Test {
 protected:
  RoutesTest() : pool_(node_.config.store_url), client_(crypto::SigningKey::Generate()) {
    ctx_.config = node_.config;
    ctx_.public_url = "http://127.0.0.1:8443";
    ctx_.ledger = node_.ledger.get();
    ctx_.stores = &pool_;
    ctx_.client = &client_;
    AddCatalogRoutes(router_, ctx_);
  }

  Response Call(const std::string& method, const std::string& target, const std::string& body = "",
                Principal who = Admin()) {
    Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      std::string qs = target.substr(q + 1);
      size_t i = 0;
      while (i <= qs.size()) {
        size_t amp = qs.find('&', i);
        if (amp == std::string::npos) amp = qs.size();
        std::string kv = qs.substr(i, amp - i);
        auto eq = kv.find('=');
        if (!kv.empty())
          req.query.insert({kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1)});
        i = amp + 1;
      }
    }
    req.body = body;
    req.request_id = "test";
    bool path_matched = false;
    const server::Route* r = router_.Match(method, req.path, &req.params, &path_matched);
    if (r == nullptr) return Response::Error(path_matched ? 405 : 404, "no_route", target);
    last_route_ = r;
    return r->handler(req, who);
  }

  static Principal Admin() {
    return Principal{Principal::Kind::kUser, "alice", server::Role::kAdmin, ""};
  }
  static Principal Peer(const std::string& name, const std::string& key = "") {
    return Principal{Principal::Kind::kPeer, name, server::Role::kAuditor, key};
  }

  std::string CreateBody(const std::string& reg, const json& policy, json access = nullptr) {
    json b = {{"registration", reg}, {"policy", policy}};
    if (!access.is_null()) b["access_policy"] = access;
    return b.dump();
  }

  int64_t Offers() {
    auto r = node_.store->Query("SELECT COUNT(*) FROM offers");
    return store::AsInt((*r)[0][0]);
  }

  TestNode node_;
  server::StorePool pool_;
  server::PeerClient client_;
  server::NodeContext ctx_;
  server::Router router_;
  const server::Route* last_route_ = nullptr;
};

TEST_F(RoutesTest, EveryRouteIsDescribedForOpenApi) {
  ASSERT_EQ(router_.routes().size(), 11u);
  for (const auto& r : router_.routes()) {
    EXPECT_FALSE(r.summary.empty()) << r.pattern;
    EXPECT_FALSE(r.tag.empty()) << r.pattern;
    EXPECT_FALSE(r.response_schema.is_null()) << r.pattern;
    if (r.pattern.rfind("/dsp/", 0) == 0)
      EXPECT_EQ(r.auth, server::Auth::kPeer);
    else
      EXPECT_EQ(r.auth, server::Auth::kToken);
  }
}

TEST_F(RoutesTest, OfferLifecycle) {
  std::string reg = node_.Register();
  uint64_t before = node_.ledger->Size();
  Response r = Call("POST", "/v1/offers", CreateBody(reg, Example("statistics-compute-only.json")));
  ASSERT_EQ(r.status, 201) << r.body;
  json o = json::parse(r.body);
  std::string id = o["id"];
  EXPECT_EQ(o["registration"], reg);
  EXPECT_EQ(o["policy"]["@id"], id);
  EXPECT_EQ(node_.ledger->Size(), before + 1);

  r = Call("GET", "/v1/offers/" + id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["fingerprint"], o["fingerprint"]);
  r = Call("GET", "/v1/offers");
  EXPECT_EQ(json::parse(r.body)["offers"].size(), 1u);

  r = Call("GET", "/v1/catalog");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["dataset"][0]["hasPolicy"][0]["@id"], id);
  r = Call("GET", "/v1/catalog/search?q=customer&sector=finance");
  EXPECT_EQ(json::parse(r.body)["dataset"].size(), 1u);
  r = Call("GET", "/v1/catalog/search?sector=retail");
  EXPECT_FALSE(json::parse(r.body).contains("dataset"));

  // DSP endpoints, as a signing peer.
  r = Call(
      "POST", "/dsp/catalog/request",
      R"({"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"CatalogRequestMessage","filter":[]})",
      Peer("node-b"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["dataset"].size(), 1u);
  r = Call("GET", "/dsp/catalog/datasets/" + reg, "", Peer("node-b"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["@id"], reg);

  r = Call("DELETE", "/v1/offers/" + id);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body)["withdrawn"]);
  r = Call("DELETE", "/v1/offers/" + id);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "failed_precondition");
  r = Call("GET", "/dsp/catalog/datasets/" + reg, "", Peer("node-b"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["@type"], "CatalogError");
}

TEST_F(RoutesTest, BadRequestsGetPreciseStatusesAndChangeNothing) {
  std::string reg = node_.Register();
  uint64_t before = node_.ledger->Size();
  struct Case {
    std::string body;
    int status;
    std::string message_prefix;
  };
  json bad_count;
  {
    std::ifstream in(SourceDir() + "/examples/policies/bad/bad-count.json");
    bad_count = json::parse(in);
  }
  std::vector<Case> cases = {
      {"{\"registration\": ", 400, ""},
      {"[]", 400, "body: expected an object"},
      {json{{"policy", Example("statistics-compute-only.json")}}.dump(), 400, "registration:"},
      {json{{"registration", reg}}.dump(), 400, "policy:"},
      {json{{"registration", reg},
            {"policy", Example("statistics-compute-only.json")},
            {"colour", 1}}
           .dump(),
       400, "body: unknown member 'colour'"},
      {json{{"registration", reg},
            {"policy", Example("statistics-compute-only.json")},
            {"manual_approval", "yes"}}
           .dump(),
       400, "manual_approval:"},
      {CreateBody(reg, bad_count), 422,
       "policy: /permission/0/constraint/0/rightOperand: 'ten' is not an integer"},
      {CreateBody("ffff", Example("statistics-compute-only.json")), 404,
       "registration 'ffff' does not exist"},
  };
  for (const auto& c : cases) {
    Response r = Call("POST", "/v1/offers", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    json e = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(e.contains("error")) << r.body;
    EXPECT_EQ(e["error"]["message"].get<std::string>().substr(0, c.message_prefix.size()),
              c.message_prefix);
  }
  // A hostile, deeply nested policy: refused (422), without exhausting the stack.
  std::string deep =
      R"({"registration":")" + reg + R"(","policy":{"permission":[{"action":"use","constraint":[)";
  for (int i = 0; i < 100000; ++i) deep += R"({"and":[)";
  deep += R"({"leftOperand":"count","operator":"lteq","rightOperand":1})";
  for (int i = 0; i < 100000; ++i) deep += "]}";
  deep += "]}]}}";
  Response r_deep = Call("POST", "/v1/offers", deep);
  // Refused as a body before parsing (server::kMaxJsonDepth); a policy that passes that limit but
  // nests logical constraints more than 16 deep is refused by the policy parser (policy_test).
  EXPECT_EQ(r_deep.status, 400);
  EXPECT_NE(r_deep.body.find("nests deeper than 64"), std::string::npos) << r_deep.body;
  EXPECT_EQ(Offers(), 0);
  EXPECT_EQ(node_.ledger->Size(), before);
  EXPECT_EQ(Call("GET", "/v1/offers/urn:uuid:none").status, 404);
  EXPECT_EQ(Call("DELETE", "/v1/offers/urn:uuid:none").status, 404);
  EXPECT_EQ(Call("GET", "/v1/catalog?limit=ten").status, 400);
  EXPECT_EQ(Call("GET", "/v1/catalog?consumer=nobody").status, 404);
  Response r = Call("POST", "/dsp/catalog/request", "{\"@type\": \"Other\"}", Peer("node-b"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["@type"], "CatalogError");
  EXPECT_EQ(Call("POST", "/dsp/catalog/request", "{", Peer("node-b")).status, 400);
  // Cancelled registration: 409.
  ASSERT_TRUE(node_.registry->Cancel(reg, "gone").ok());
  EXPECT_EQ(
      Call("POST", "/v1/offers", CreateBody(reg, Example("statistics-compute-only.json"))).status,
      409);
}

TEST_F(RoutesTest, PeersSeeWhatTheirAccessPolicyAllows) {
  std::string reg = node_.Register();
  ASSERT_EQ(
      Call("POST", "/v1/offers",
           CreateBody(reg, Example("bank-credit-risk-dp.json"), Example("access-partners-cn.json")))
          .status,
      201);
  const std::string ka(64, 'a'), kb(64, 'b');  // peers' Ed25519 keys (hex)
  ASSERT_TRUE(server::AddPeer(*node_.store, {"bank-a", "http://127.0.0.1:1", ka}).ok());
  ASSERT_TRUE(server::AddPeer(*node_.store, {"stranger", "http://127.0.0.1:2", kb}).ok());
  auto datasets = [&](const Response& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).value("dataset", json::array()).size();
  };
  std::string msg = R"({"@type":"CatalogRequestMessage"})";
  EXPECT_EQ(datasets(Call("POST", "/dsp/catalog/request", msg, Peer("bank-a", ka))), 0u);
  EXPECT_EQ(Call("PUT", "/v1/catalog/peers/bank-a/region", R"({"region": "Mars"})").status, 400);
  EXPECT_EQ(Call("PUT", "/v1/catalog/peers/bank-a/region", R"({"area": "CN"})").status, 400);
  EXPECT_EQ(Call("PUT", "/v1/catalog/peers/nobody/region", R"({"region": "CN"})").status, 404);
  EXPECT_EQ(datasets(Call("POST", "/dsp/catalog/request", msg, Peer("bank-a", ka))), 0u);
  Response put = Call("PUT", "/v1/catalog/peers/bank-a/region", R"({"region": "cn-gd"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json::parse(put.body)["region"], "CN-GD");
  EXPECT_EQ(datasets(Call("POST", "/dsp/catalog/request", msg, Peer("bank-a", ka))), 1u);
  EXPECT_EQ(datasets(Call("POST", "/dsp/catalog/request", msg, Peer("stranger", kb))), 0u);
  EXPECT_EQ(datasets(Call("GET", "/v1/catalog?consumer=bank-a")), 1u);
  EXPECT_EQ(datasets(Call("GET", "/v1/catalog?consumer=stranger")), 0u);
  EXPECT_EQ(datasets(Call("GET", "/v1/catalog")), 1u);
}

TEST_F(RoutesTest, FederatedSearchOverCachedPeerCatalogs) {
  // A second real node publishes its catalog; this node caches it as peer "node-b".
  TestNode b("node-b");
  std::string reg = b.Register();
  ASSERT_TRUE(
      CreateOffer(*b.store, *b.ledger, {reg, Example("research-fields-limited.json")}).ok());
  CatalogIndex index({"node-b", b.config.origin, "http://127.0.0.1:9"});
  ASSERT_TRUE(index.Refresh(*b.store).ok());
  json cat = json::parse(index.Catalog({.name = "node-a"}, {}).json);
  ASSERT_TRUE(StorePeerCatalog(*node_.store, "node-b", "http://127.0.0.1:9", cat).ok());
  EXPECT_EQ(StorePeerCatalog(*node_.store, "node-c", "u", json{{"@type", "Dataset"}}).code(),
            StatusCode::kDataError);

  Response r = Call("GET", "/v1/catalog/federated/search?q=%E5%AE%A2");  // not decoded here
  r = Call("GET", "/v1/catalog/federated/search?q=customer");
  ASSERT_EQ(r.status, 200);
  json j = json::parse(r.body);
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_EQ(j["results"][0]["peer"], "node-b");
  EXPECT_EQ(j["results"][0]["dataset"]["@id"], reg);
  EXPECT_EQ(j["peers"][0]["datasets"], 1);
  EXPECT_EQ(
      json::parse(Call("GET", "/v1/catalog/federated/search?sector=retail").body)["results"].size(),
      0u);
  EXPECT_EQ(
      json::parse(Call("GET", "/v1/catalog/federated/search?peer=node-x").body)["results"].size(),
      0u);
  // Fetching from an unknown peer: 404; from a known one that cannot be reached: an error that
  // names the peer's URL and leaves the cache alone.
  EXPECT_EQ(Call("POST", "/v1/catalog/peers/nobody/fetch").status, 404);
  ASSERT_TRUE(
      server::AddPeer(*node_.store, {"node-c", "http://127.0.0.1:1", std::string(64, 'c')}).ok());
  r = Call("POST", "/v1/catalog/peers/node-c/fetch");
  EXPECT_GE(r.status, 500) << r.body;
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("127.0.0.1:1"),
            std::string::npos);
  EXPECT_EQ(ListPeerCatalogs(*node_.store)->size(), 1u);
}

}  // namespace
}  // namespace kexin::catalog
