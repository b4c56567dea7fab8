// The node server end to end, in process: real sockets, real HTTP, real store and ledger.
// The role x endpoint matrix walks every route of node::BuildNodeRouter, so routes other modules
// add are covered as soon as they are merged.
#include "server/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "identity/node_home.h"
#include "node/router.h"
#include "server/auth.h"
#include "server/httpsig.h"
#include "server/users.h"

namespace kexin::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

struct Reply {
  int status = 0;
  std::string body;
  http::fields headers;
  json Json() const { return json::parse(body, nullptr, false); }
  std::string Code() const {
    auto j = Json();
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

Reply Exchange(tcp::socket& sock, beast::flat_buffer& buf, const std::string& method,
               const std::string& target, const Headers& headers, const std::string& body,
               bool keep_alive = false) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(sock.remote_endpoint().port()));
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.keep_alive(keep_alive);
  req.prepare_payload();
  http::write(sock, req);
  http::response_parser<http::string_body> p;
  p.body_limit(64 << 20);
  http::read(sock, buf, p);
  Reply r;
  r.status = static_cast<int>(p.get().result_int());
  r.body = p.get().body();
  r.headers = p.get().base();
  return r;
}

Reply Http(uint16_t port, const std::string& method, const std::string& target,
           const Headers& headers = {}, const std::string& body = "") {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  beast::flat_buffer buf;
  return Exchange(sock, buf, method, target, headers, body);
}

std::string Hex(const crypto::SigningKey& k) {
  return crypto::HexEncode(
      std::string_view(reinterpret_cast<const char*>(k.public_key().data()), 32));
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kexin_server_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::remove_all(dir_);
    auto config = identity::InitHome(dir_.string(), "node-a", std::nullopt);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto key = identity::LoadNodeKey(*config);
    ASSERT_TRUE(key.ok());
    auto ledger = identity::OpenLedger(*config);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger_ = std::move(*ledger);
    stores_ = std::make_unique<StorePool>(config->store_url);
    client_ = std::make_unique<PeerClient>(*key);
    ctx_.config = *config;
    ctx_.key = *key;
    ctx_.public_key = Hex(*key);
    ctx_.ledger = ledger_.get();
    ctx_.stores = stores_.get();
    ctx_.client = client_.get();
    ctx_.public_url = "http://127.0.0.1";
    router_ = node::BuildNodeRouter(ctx_);
    AddTestRoutes();
    auto st = stores_->ForThisThread();
    ASSERT_TRUE(st.ok());
    for (Role r : {Role::kAdmin, Role::kProvider, Role::kConsumer, Role::kAuditor}) {
      auto u = AddUser(**st, RoleName(r), r);
      ASSERT_TRUE(u.ok());
      tokens_[r] = u->token;
    }
    peer_key_ = crypto::SigningKey::Generate();
    ASSERT_TRUE(AddPeer(**st, {"peer-b", "http://127.0.0.1:1", Hex(peer_key_)}).ok());
    peer_client_ = std::make_unique<PeerClient>(peer_key_);
    InvalidateAuthCaches();
    ServerOptions opt;
    opt.listen = "127.0.0.1:0";
    opt.threads = 2;
    opt.body_limit = 4096;
    ConfigureOptions(opt);
    server_ = std::make_unique<Server>(router_, ctx_, opt);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    port_ = server_->port();
  }
  void TearDown() override {
    server_.reset();
    // The routes own the contract service, whose outbox workers use the store pool: stop them
    // before the pool goes.
    router_ = Router();
    stores_.reset();
    std::filesystem::remove_all(dir_);
  }

  virtual void AddTestRoutes() {}
  virtual void ConfigureOptions(ServerOptions&) {}

  Headers Bearer(Role r) { return {{"Authorization", "Bearer " + tokens_[r]}}; }
  // Signed by peer-b, for a request to this server.
  Headers Signed(const std::string& method, const std::string& target, const std::string& body,
                 const crypto::SigningKey* key = nullptr, int64_t created = 0) {
    auto h = httpsig::Sign(
        key ? *key : peer_key_, method, "http://127.0.0.1:" + std::to_string(port_) + target, body,
        created ? created : static_cast<int64_t>(std::time(nullptr)), httpsig::NewNonce());
    return {{"Content-Digest", h.content_digest},
            {"Signature-Input", h.signature_input},
            {"Signature", h.signature}};
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<StorePool> stores_;
  std::unique_ptr<PeerClient> client_, peer_client_;
  crypto::SigningKey peer_key_;
  NodeContext ctx_;
  Router router_;
  std::map<Role, std::string> tokens_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

std::string Concrete(const std::string& pattern) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == ':' && (i == 0 || pattern[i - 1] == '/')) {
      out += "x";
      size_t end = pattern.find('/', i);
      i = end == std::string::npos ? pattern.size() : end;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

TEST_F(ServerTest, RoleByEndpointMatrix) {
  const std::vector<Role> all = {Role::kAdmin, Role::kProvider, Role::kConsumer, Role::kAuditor};
  int checked = 0;
  for (const auto& route : router_.routes()) {
    std::string target = Concrete(route.pattern);
    std::string body = route.method == "GET" ? "" : "{}";
    std::string where = route.method + " " + route.pattern;
    bool tokens_ok = route.auth == Auth::kToken || route.auth == Auth::kTokenOrPeer;
    bool peers_ok = route.auth == Auth::kPeer || route.auth == Auth::kTokenOrPeer;
    bool open = route.auth == Auth::kNone;
    // No credentials, and a token that does not exist.
    for (const Headers& h :
         {Headers{}, Headers{{"Authorization", "Bearer " + std::string(64, '0')}}}) {
      Reply r = Http(port_, route.method, target, h, body);
      if (open) {
        EXPECT_NE(r.status, 401) << where;
        EXPECT_NE(r.status, 403) << where;
      } else {
        EXPECT_EQ(r.status, 401) << where << " " << r.body;
        EXPECT_NE(r.Json()["error"].value("request_id", ""), "") << where;
      }
      ++checked;
    }
    for (Role role : all) {
      Reply r = Http(port_, route.method, target, Bearer(role), body);
      std::string who = where + " as " + std::string(RoleName(role));
      bool allowed =
          open ||
          (tokens_ok && (route.roles.empty() || std::find(route.roles.begin(), route.roles.end(),
                                                          role) != route.roles.end()));
      if (allowed) {
        EXPECT_NE(r.status, 401) << who << " " << r.body;
        EXPECT_FALSE(r.status == 403 && r.Code() == "forbidden") << who << " " << r.body;
      } else if (!tokens_ok) {
        EXPECT_EQ(r.status, 401) << who << " " << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << who << " " << r.body;
        EXPECT_EQ(r.Code(), "forbidden") << who;
      }
      ++checked;
    }
    Reply r = Http(port_, route.method, target, Signed(route.method, target, body), body);
    std::string who = where + " as signed peer";
    if (open || peers_ok) {
      EXPECT_NE(r.status, 401) << who << " " << r.body;
      EXPECT_FALSE(r.status == 403 && r.Code() == "forbidden") << who << " " << r.body;
    } else {
      EXPECT_EQ(r.status, 401) << who << " " << r.body;
    }
    ++checked;
  }
  EXPECT_GE(checked, 7 * 7);
}

TEST_F(ServerTest, NodeInfoForUsersAndPeers) {
  Reply r = Http(port_, "GET", "/v1/node", Bearer(Role::kAuditor));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["name"], "node-a");
  EXPECT_EQ(j["origin"], "kexin.local/node-a");
  EXPECT_EQ(j["public_key"], ctx_.public_key);
  EXPECT_EQ(j["public_key"].get<std::string>().size(), 64u);
  // PeerClient signs; the server accepts peer-b's signature.
  auto pr = peer_client_->Send("GET", "http://127.0.0.1:" + std::to_string(port_) + "/v1/node", "");
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_EQ(pr->status, 200) << pr->body;
  // Keep-alive reuse: many sequential requests through the same client.
  for (int i = 0; i < 20; ++i) {
    auto again =
        peer_client_->Send("GET", "http://127.0.0.1:" + std::to_string(port_) + "/v1/node", "");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->status, 200);
  }
  // The node's own key is not a trusted peer of itself.
  auto self = client_->Send("GET", "http://127.0.0.1:" + std::to_string(port_) + "/v1/node", "");
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(self->status, 401);
  EXPECT_NE(self->body.find("unknown_signer"), std::string::npos) << self->body;
}

TEST_F(ServerTest, PeerSignatureErrors) {
  // Replay: the same signed request twice.
  Headers h = Signed("GET", "/v1/node", "");
  EXPECT_EQ(Http(port_, "GET", "/v1/node", h).status, 200);
  Reply replay = Http(port_, "GET", "/v1/node", h);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(replay.Code(), "replayed_nonce") << replay.body;
  // Stale and future.
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  Reply stale = Http(port_, "GET", "/v1/node", Signed("GET", "/v1/node", "", nullptr, now - 301));
  EXPECT_EQ(stale.Code(), "stale_signature") << stale.body;
  Reply future = Http(port_, "GET", "/v1/node", Signed("GET", "/v1/node", "", nullptr, now + 400));
  EXPECT_EQ(future.Code(), "stale_signature") << future.body;
  // Unknown signer.
  auto stranger = crypto::SigningKey::Generate();
  Reply unknown = Http(port_, "GET", "/v1/node", Signed("GET", "/v1/node", "", &stranger));
  EXPECT_EQ(unknown.Code(), "unknown_signer") << unknown.body;
  // Signed for another path.
  Reply wrong = Http(port_, "GET", "/v1/node", Signed("GET", "/v1/peers", ""));
  EXPECT_EQ(wrong.Code(), "bad_signature") << wrong.body;
  // Body changed after signing.
  Headers hb = Signed("POST", "/v1/node", "{\"a\":1}");
  Reply digest = Http(port_, "GET", "/v1/node", hb, "{\"a\":2}");
  EXPECT_EQ(digest.status, 401);
  // Missing signature on a token-or-peer route is missing_credentials; all are 401.
  EXPECT_EQ(Http(port_, "GET", "/v1/node").Code(), "missing_credentials");
  for (const Reply* r : {&replay, &stale, &future, &unknown, &wrong}) EXPECT_EQ(r->status, 401);
}

TEST_F(ServerTest, BadDigestCode) {
  Headers h = Signed("GET", "/v1/node", "");
  Reply r = Http(port_, "GET", "/v1/node", h, "unexpected body");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Code(), "bad_digest") << r.body;
}

TEST_F(ServerTest, NotFoundMethodNotAllowedAndLimits) {
  Reply nf = Http(port_, "GET", "/v1/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.Code(), "not_found");
  EXPECT_FALSE(nf.Json()["error"]["request_id"].get<std::string>().empty());
  EXPECT_EQ(std::string(nf.headers["X-Request-Id"]), nf.Json()["error"]["request_id"]);
  Reply mna = Http(port_, "DELETE", "/healthz");
  EXPECT_EQ(mna.status, 405);
  EXPECT_EQ(mna.Code(), "method_not_allowed");
  EXPECT_EQ(std::string(mna.headers["Allow"]), "GET");
  // Body over the 4096-byte limit of this server.
  Reply big = Http(port_, "POST", "/v1/peers", Bearer(Role::kAdmin), std::string(5000, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.Code(), "body_too_large");
  Reply bad_json = Http(port_, "POST", "/v1/peers", Bearer(Role::kAdmin), "{\"name\":");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_NE(bad_json.body.find("malformed JSON"), std::string::npos) << bad_json.body;
  // A client's request id is echoed.
  Reply rid = Http(port_, "GET", "/v1/nope", {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(rid.Json()["error"]["request_id"], "abc-123");
}

TEST_F(ServerTest, PeersAndUsersEndpoints) {
  auto other = crypto::SigningKey::Generate();
  json p = {{"name", "peer-c"}, {"url", "http://127.0.0.1:9/"}, {"public_key", Hex(other)}};
  Reply add = Http(port_, "POST", "/v1/peers", Bearer(Role::kAdmin), p.dump());
  ASSERT_EQ(add.status, 201) << add.body;
  EXPECT_EQ(add.Json()["url"], "http://127.0.0.1:9");
  Reply dup = Http(port_, "POST", "/v1/peers", Bearer(Role::kAdmin), p.dump());
  EXPECT_EQ(dup.status, 409) << dup.body;
  p["public_key"] = "zz";
  p["name"] = "peer-d";
  Reply badkey = Http(port_, "POST", "/v1/peers", Bearer(Role::kAdmin), p.dump());
  EXPECT_EQ(badkey.status, 400);
  EXPECT_NE(badkey.body.find("public_key"), std::string::npos);
  Reply missing = Http(port_, "POST", "/v1/peers", Bearer(Role::kAdmin), "{\"name\":\"x\"}");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("\\\"url\\\""), std::string::npos) << missing.body;
  Reply list = Http(port_, "GET", "/v1/peers", Bearer(Role::kAdmin));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.Json()["peers"].size(), 2u);
  // The new peer is trusted at once (the cache was invalidated).
  Reply signed_c = Http(port_, "GET", "/v1/node", Signed("GET", "/v1/node", "", &other));
  EXPECT_EQ(signed_c.status, 200) << signed_c.body;
  Reply users = Http(port_, "GET", "/v1/users", Bearer(Role::kAdmin));
  ASSERT_EQ(users.status, 200);
  EXPECT_EQ(users.Json()["users"].size(), 4u);
  EXPECT_EQ(users.body.find(tokens_[Role::kAdmin]), std::string::npos);
  // A removed user's token stops working once caches are invalidated.
  auto st = stores_->ForThisThread();
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(RemoveUser(**st, "auditor").ok());
  InvalidateAuthCaches();
  EXPECT_EQ(Http(port_, "GET", "/v1/node", Bearer(Role::kAuditor)).status, 401);
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  beast::flat_buffer buf;
  for (int i = 0; i < 50; ++i) {
    Reply r = Exchange(sock, buf, "GET", "/v1/node", Bearer(Role::kConsumer), "", true);
    ASSERT_EQ(r.status, 200);
  }
  Reply last = Exchange(sock, buf, "GET", "/healthz", {}, "", false);
  EXPECT_EQ(last.status, 200);
}

TEST_F(ServerTest, MetricsAndOpenApi) {
  Http(port_, "GET", "/healthz");
  Reply m = Http(port_, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(
      m.body.find("kexin_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
      std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("kexin_ledger_size 0"), std::string::npos);
  EXPECT_NE(m.body.find("kexin_uptime_seconds"), std::string::npos);
  EXPECT_NE(m.body.find("kexin_http_requests_in_flight"), std::string::npos);
  Reply o = Http(port_, "GET", "/openapi.json");
  ASSERT_EQ(o.status, 200);
  json doc = o.Json();
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_EQ(doc["paths"]["/v1/users"]["get"]["x-kexin-roles"], json::array({"admin"}));
  EXPECT_EQ(doc["paths"]["/healthz"]["get"]["security"], json::array());
  // Every route of the served router is in the document, with :captures as {captures}.
  size_t operations = 0;
  for (const auto& [path, methods] : doc["paths"].items()) operations += methods.size();
  EXPECT_EQ(operations, router_.routes().size());
  for (const auto& r : router_.routes()) {
    std::string path;
    for (size_t i = 0; i < r.pattern.size();) {
      if (r.pattern[i] == ':') {
        size_t end = r.pattern.find('/', i);
        if (end == std::string::npos) end = r.pattern.size();
        path.push_back('{');
        path.append(r.pattern, i + 1, end - i - 1);
        path.push_back('}');
        i = end;
      } else {
        path += r.pattern[i++];
      }
    }
    std::string lower;
    for (char c : r.method) lower += static_cast<char>(std::tolower(c));
    EXPECT_TRUE(doc["paths"].contains(path) && doc["paths"][path].contains(lower))
        << r.method << " " << r.pattern;
  }
}

// Routes only this test adds: a handler that throws and one that is slow.
class ServerExtraTest : public ServerTest {
 protected:
  void AddTestRoutes() override {
    router_.Add(
        {"GET",
         "/test/throw",
         Auth::kNone,
         {},
         "",
         "test",
         nullptr,
         nullptr,
         [](const Request&, const Principal&) -> Response { throw std::runtime_error("boom"); }});
    router_.Add({"GET",
                 "/test/slow",
                 Auth::kNone,
                 {},
                 "",
                 "test",
                 nullptr,
                 nullptr,
                 [](const Request&, const Principal&) {
                   std::this_thread::sleep_for(std::chrono::milliseconds(400));
                   return Response::Json(200, {{"slow", true}});
                 }});
  }
};

TEST_F(ServerTest, OversizedHeaderIs431) {
  Reply r = Http(port_, "GET", "/healthz", {{"X-Big", std::string(20000, 'a')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.Code(), "header_too_large");
}

TEST_F(ServerTest, MalformedHttpIs400) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  std::string junk = "GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n";
  net::write(sock, net::buffer(junk));
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  EXPECT_EQ(res.result_int(), 400u);
  EXPECT_NE(res.body().find("malformed_request"), std::string::npos) << res.body();
}

class ShortTimeoutTest : public ServerTest {
 protected:
  void ConfigureOptions(ServerOptions& opt) override {
    opt.idle_timeout = std::chrono::seconds(1);
    opt.read_timeout = std::chrono::seconds(1);
  }
};

TEST_F(ShortTimeoutTest, IdleAndSlowConnectionsAreClosed) {
  for (std::string sent : {std::string(), std::string("POST /v1/peers HTTP/1.1\r\nHost: x\r\n"
                                                      "Content-Length: 100\r\n\r\n{")}) {
    net::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    if (!sent.empty()) net::write(sock, net::buffer(sent));
    auto t0 = std::chrono::steady_clock::now();
    char c;
    beast::error_code ec;
    sock.read_some(net::buffer(&c, 1), ec);  // blocks until the server closes
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(ec) << "connection still open";
    EXPECT_LT(waited, std::chrono::milliseconds(3500));
    EXPECT_GT(waited, std::chrono::milliseconds(500));
  }
}

TEST_F(ServerExtraTest, HandlerExceptionIs500) {
  Reply r = Http(port_, "GET", "/test/throw");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.Code(), "internal");
  EXPECT_EQ(r.body.find("boom"), std::string::npos);  // no internals leak
}

TEST_F(ServerExtraTest, StopFinishesInFlightRequests) {
  auto pending = std::async(std::launch::async, [&] { return Http(port_, "GET", "/test/slow"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server_->Stop();
  Reply r = pending.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(std::string(r.headers[http::field::connection]), "close");
  server_->Wait();
  // No longer accepting.
  net::io_context ioc;
  tcp::socket sock(ioc);
  beast::error_code ec;
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
  EXPECT_TRUE(ec);
}

TEST_F(ServerTest, DspStoreErrorIsAGeneric500NamingTheRequestId) {
  // A store failure behind a DSP endpoint: the peer gets a generic reason with the request id;
  // the store's message (table names, SQL) stays in the node's log.
  auto st = stores_->ForThisThread();
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->Exec("DROP TABLE negotiations").ok());
  const std::string target = "/dsp/negotiations/urn:uuid:x";
  Reply r = Http(port_, "GET", target, Signed("GET", target, ""));
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.Code(), "internal");
  std::string rid(r.headers["X-Request-Id"]);
  ASSERT_FALSE(rid.empty());
  json j = r.Json();
  EXPECT_EQ(j["@type"], "ContractNegotiationError");
  EXPECT_EQ(j["error"]["request_id"], rid);
  std::string want = "internal error; the node's log has the details under request id " + rid;
  EXPECT_EQ(j["error"]["message"], want);
  EXPECT_EQ(j["reason"], json::array({want}));
  EXPECT_EQ(r.body.find("negotiations\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("no such table"), std::string::npos) << r.body;
}

TEST_F(ServerTest, ManagementStoreErrorIsAGeneric500NamingTheRequestId) {
  // The same for users of the management API: no table names or SQL in the answer.
  auto st = stores_->ForThisThread();
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->Exec("DROP TABLE negotiations").ok());
  Reply r = Http(port_, "GET", "/v1/negotiations", Bearer(Role::kAdmin));
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.Code(), "internal");
  std::string rid(r.headers["X-Request-Id"]);
  ASSERT_FALSE(rid.empty());
  json j = r.Json();
  EXPECT_EQ(j["error"]["request_id"], rid);
  EXPECT_EQ(j["error"]["message"],
            "internal error; the node's log has the details under request id " + rid);
  EXPECT_EQ(r.body.find("no such table"), std::string::npos) << r.body;
}

// A loopback HTTP server for PeerClient tests: each accepted connection runs `serve(socket,
// connection number)` on its own thread. The destructor shuts every connection down and joins.
class RawServer {
 public:
  using Serve = std::function<void(tcp::socket&, int)>;
  explicit RawServer(Serve serve)
      : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        serve_(std::move(serve)) {
    port_ = acceptor_.local_endpoint().port();
    accepter_ = std::thread([this] {
      while (true) {
        auto sock = std::make_unique<tcp::socket>(ioc_);
        beast::error_code ec;
        acceptor_.accept(*sock, ec);
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_ || ec) return;
        int n = static_cast<int>(socks_.size());
        socks_.push_back(std::move(sock));
        tcp::socket* raw = socks_.back().get();
        conns_.emplace_back([this, raw, n] { serve_(*raw, n); });
        cv_.notify_all();
      }
    });
  }
  ~RawServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      for (auto& s : socks_) ::shutdown(s->native_handle(), SHUT_RDWR);
    }
    {
      net::io_context ioc;  // wakes accept()
      tcp::socket s(ioc);
      beast::error_code ec;
      s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    }
    accepter_.join();
    for (auto& t : conns_) t.join();
  }
  uint16_t port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int Connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(socks_.size());
  }
  bool stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }
  // Waits (at most `bound`) until `pred` holds; counters the handlers change are read under mu.
  bool WaitFor(const std::function<bool()>& pred,
               std::chrono::milliseconds bound = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, bound, pred);
  }
  // Runs `fn` under the lock and wakes WaitFor.
  void Note(const std::function<void()>& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn();
    cv_.notify_all();
  }

 private:
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  Serve serve_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::unique_ptr<tcp::socket>> socks_;
  std::vector<std::thread> conns_;
  std::thread accepter_;
};

// Reads one request; false when the client closed the connection (or it failed).
bool ReadRequest(tcp::socket& s, beast::flat_buffer& buf, http::request<http::string_body>* req) {
  beast::error_code ec;
  http::read(s, buf, *req, ec);
  return !ec;
}
void WriteOk(tcp::socket& s) {
  http::response<http::string_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = "{}";
  res.keep_alive(true);
  res.prepare_payload();
  beast::error_code ec;
  http::write(s, res, ec);
}

TEST(PeerClientTest, IdleConnectionsExpire) {
  std::vector<int> closed;
  RawServer* srv = nullptr;
  RawServer server([&](tcp::socket& s, int n) {
    beast::flat_buffer buf;
    while (true) {
      http::request<http::string_body> req;
      if (!ReadRequest(s, buf, &req)) break;
      WriteOk(s);
    }
    srv->Note([&] { closed.push_back(n); });
  });
  srv = &server;
  PeerClient c(crypto::SigningKey::Generate(),
               {.idle_timeout = std::chrono::milliseconds(300), .max_idle_per_peer = 8});
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c.Send("GET", server.Url("/a"), "").ok());
  EXPECT_EQ(server.Connections(), 1);  // kept alive and reused
  // Idle past the expiry: the next request opens a new connection and the old one is closed.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(c.Send("GET", server.Url("/a"), "").ok());
  EXPECT_EQ(server.Connections(), 2);
  EXPECT_TRUE(server.WaitFor([&] { return closed == std::vector<int>{0}; }))
      << "the expired connection was not closed";
}

TEST(PeerClientTest, IdleConnectionsPerPeerAreCapped) {
  constexpr int kParallel = 4;
  int waiting = 0, closed = 0;
  RawServer* srv = nullptr;
  RawServer server([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (!ReadRequest(s, buf, &req)) return;
    // Answer only when all requests are in, so each has its own connection.
    srv->Note([&] { ++waiting; });
    srv->WaitFor([&] { return waiting == kParallel; });
    WriteOk(s);
    while (ReadRequest(s, buf, &req)) WriteOk(s);
    srv->Note([&] { ++closed; });
  });
  srv = &server;
  PeerClient c(crypto::SigningKey::Generate(), {.max_idle_per_peer = 2});
  std::vector<std::future<bool>> sends;
  for (int i = 0; i < kParallel; ++i) {
    sends.push_back(std::async(std::launch::async, [&] {
      auto r = c.Send("GET", server.Url("/a"), "", std::chrono::seconds(5));
      return r.ok() && r->status == 200;
    }));
  }
  for (auto& f : sends) EXPECT_TRUE(f.get());
  EXPECT_EQ(server.Connections(), kParallel);
  // Two are kept idle; the client closes the other two.
  EXPECT_TRUE(server.WaitFor([&] { return closed == 2; }, std::chrono::seconds(3)))
      << closed << " connections closed, want 2";
  ASSERT_TRUE(c.Send("GET", server.Url("/a"), "").ok());
  EXPECT_EQ(server.Connections(), kParallel);  // an idle one was reused
}

TEST(PeerClientTest, ConnectionClosedByThePeerWhileIdleIsNotReused) {
  bool first_closed = false;
  RawServer* srv = nullptr;
  RawServer server([&](tcp::socket& s, int n) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    while (ReadRequest(s, buf, &req)) {
      WriteOk(s);
      if (n == 0) break;  // the first connection answers once, then the server closes it
    }
    if (n == 0) {
      s.close();
      srv->Note([&] { first_closed = true; });
    }
  });
  srv = &server;
  PeerClient c(crypto::SigningKey::Generate());
  ASSERT_TRUE(c.Send("POST", server.Url("/a"), "{}").ok());
  ASSERT_TRUE(server.WaitFor([&] { return first_closed; }));
  // A POST that is not repeatable still succeeds: the closed connection is found before use.
  auto r = c.Send("POST", server.Url("/a"), "{}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.Connections(), 2);
}

TEST(PeerClientTest, RequestLostOnAReusedConnectionIsSentAgainOnlyWhenRepeatable) {
  // Every connection answers one request, then reads the next and closes without answering (as
  // a peer closing an idle connection just as the request arrives).
  std::vector<std::string> seen;
  RawServer* srv = nullptr;
  RawServer server([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    for (int i = 0; i < 2 && ReadRequest(s, buf, &req); ++i) {
      std::string line = std::string(req.method_string()) + " " + std::string(req.target());
      srv->Note([&] { seen.push_back(line); });
      if (i == 0) WriteOk(s);
      req = {};
    }
    s.close();
  });
  srv = &server;
  PeerClient c(crypto::SigningKey::Generate());
  ASSERT_TRUE(c.Send("GET", server.Url("/1"), "").ok());
  // A POST is not sent twice: the peer may have acted on it.
  auto post = c.Send("POST", server.Url("/2"), "{}");
  ASSERT_FALSE(post.ok());
  EXPECT_EQ(post.status().code(), StatusCode::kIoError);
  EXPECT_NE(post.status().message().find(server.Url("/2")), std::string::npos);
  ASSERT_TRUE(server.WaitFor([&] { return seen.size() == 2; }));
  EXPECT_EQ(server.Connections(), 1);
  // A GET, and a POST the caller marks repeatable, go again once on a new connection.
  ASSERT_TRUE(c.Send("GET", server.Url("/3"), "").ok());  // new connection (the last one failed)
  auto get = c.Send("GET", server.Url("/4"), "");
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  auto rep = c.Send("POST", server.Url("/5"), "{}", std::chrono::seconds(10), /*repeatable=*/true);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  server.WaitFor([&] { return seen.size() == 7; });
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /1", "POST /2", "GET /3", "GET /4", "GET /4",
                                            "POST /5", "POST /5"}));
}

TEST(PeerClientTest, DeadlineBoundsAPeerThatTricklesItsAnswer) {
  // A tarpit: reads the request, then sends its answer one byte at a time, forever.
  RawServer* srv = nullptr;
  RawServer server([&](tcp::socket& s, int) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (!ReadRequest(s, buf, &req)) return;
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    for (size_t i = 0; !srv->stopping(); ++i) {
      beast::error_code ec;
      char b = i < answer.size() ? answer[i] : 'x';
      net::write(s, net::buffer(&b, 1), ec);
      if (ec) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  srv = &server;
  PeerClient c(crypto::SigningKey::Generate());
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.Send("POST", server.Url("/dsp/x"), "{}", std::chrono::milliseconds(800));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("deadline 800 ms"), std::string::npos);
  EXPECT_GE(took, std::chrono::milliseconds(700));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST(PeerClientTest, TransportErrorsNameTheUrl) {
  PeerClient c(crypto::SigningKey::Generate());
  auto r = c.Send("GET", "http://127.0.0.1:1/v1/node", "", std::chrono::milliseconds(500));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("http://127.0.0.1:1/v1/node"), std::string::npos);
  auto bad = c.Send("GET", "ftp://x/y", "");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kexin::server

namespace kexin::server {
namespace {

// HTTPS: the server with a self-signed certificate made by `openssl req`, the PeerClient trusting
// it through KEXIN_CA_FILE and checking the host name.

TEST(TlsTest, PeerClientOverHttps) {
  auto dir =
      std::filesystem::temp_directory_path() / ("kexin_tls_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto config = identity::InitHome((dir / "home").string(), "node-t", std::nullopt);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto node_key = identity::LoadNodeKey(*config);
  ASSERT_TRUE(node_key.ok());
  StorePool stores(config->store_url);
  auto peer_key = crypto::SigningKey::Generate();
  {
    auto st = stores.ForThisThread();
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE(AddPeer(**st, {"p", "https://127.0.0.1:1", Hex(peer_key)}).ok());
  }
  NodeContext ctx;
  ctx.config = *config;
  ctx.key = *node_key;
  ctx.public_key = Hex(*node_key);
  ctx.stores = &stores;
  Router router = node::BuildNodeRouter(ctx);
  ServerOptions opt;
  opt.listen = "127.0.0.1:0";
  opt.threads = 1;
  opt.tls_cert = cert;
  opt.tls_key = key;
  Server server(router, ctx, opt);
  ASSERT_TRUE(server.Start().ok());
  std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/v1/node";
  EXPECT_EQ(server.url().rfind("https://", 0), 0u);
  {
    // Without trusting the self-signed certificate: a TLS error, kIoError.
    PeerClient untrusting(peer_key);
    auto r = untrusting.Send("GET", url, "", std::chrono::seconds(5));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kIoError);
    EXPECT_NE(r.status().message().find("TLS"), std::string::npos) << r.status().ToString();
  }
  ::setenv("KEXIN_CA_FILE", cert.c_str(), 1);
  PeerClient client(peer_key);
  ::unsetenv("KEXIN_CA_FILE");
  for (int i = 0; i < 3; ++i) {  // the second and third reuse the TLS connection
    auto r = client.Send("GET", url, "", std::chrono::seconds(5));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_NE(r->body.find(ctx.public_key), std::string::npos);
  }
  server.Stop();
  server.Wait();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kexin::server
