#include "server/server.h"

#include <sys/resource.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "base/thread_name.h"
#include "crypto/crypto.h"
#include "server/auth.h"

namespace kexin::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::atomic<const Router*> served_router{nullptr};
std::atomic<Metrics*> served_metrics{nullptr};
std::atomic<int64_t> served_start_ns{0};
std::mutex log_mu;

std::string NowMillisRfc3339() {
  auto now = std::chrono::system_clock::now();
  time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", ms);
  return buf;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes; '+' becomes ' ' when plus_is_space. False on a bad escape.
bool Decode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int h = HexVal(in[i + 1]), l = HexVal(in[i + 2]);
      if (h < 0 || l < 0) return false;
      out->push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// Adds request_id to an {"error":{...}} body.
void FillRequestId(Response* r, const std::string& request_id) {
  if (r->status < 400 || r->body.rfind("{\"error\"", 0) != 0) return;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("error") || !j["error"].is_object()) return;
  j["error"]["request_id"] = request_id;
  r->body = DumpJson(j);
}

}  // namespace

void LogJson(std::string_view level, std::string_view msg, const nlohmann::json& fields) {
  nlohmann::ordered_json j = {{"time", NowMillisRfc3339()}, {"level", level}, {"msg", msg}};
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
  }
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(log_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

const Router* ServedRouter() { return served_router.load(); }
Metrics* ServedMetrics() { return served_metrics.load(); }
double ServedUptime() {
  int64_t start = served_start_ns.load();
  if (start == 0) return 0;
  return static_cast<double>(SteadyClock::now().time_since_epoch().count() - start) / 1e9;
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void CloseIfIdle() = 0;
};

struct Server::Impl {
  Impl(const Router& r, NodeContext& c, ServerOptions o)
      : router(r), ctx(c), opt(std::move(o)), auth(c.stores, opt.signature_window), metrics(r) {}

  void DoAccept();
  void Register(SessionBase* s, std::weak_ptr<SessionBase> w) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.emplace(s, std::move(w));
  }
  void Unregister(SessionBase* s) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.erase(s);
  }
  std::string NextRequestId() {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x-%llx", rid_prefix,
                  static_cast<unsigned long long>(rid_counter.fetch_add(1) + 1));
    return buf;
  }

  const Router& router;
  NodeContext& ctx;
  ServerOptions opt;
  Authenticator auth;
  Metrics metrics;
  net::io_context ioc;
  std::optional<ssl::context> ssl_ctx;
  std::optional<tcp::acceptor> acceptor;
  net::steady_timer accept_timer{ioc};
  std::chrono::steady_clock::time_point last_accept_log{};
  size_t max_connections = 0;
  std::optional<net::signal_set> signals;
  std::unique_ptr<net::thread_pool> pool;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mu;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  uint16_t port = 0;
  std::string host;
  bool tls = false;
  bool started = false;
  uint32_t rid_prefix = 0;
  std::atomic<uint64_t> rid_counter{0};
  std::once_flag stop_once;
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
  std::thread watchdog;
  std::mutex wait_mu;
  bool waited = false;
};

namespace {

template <bool kTls>
class Session : public SessionBase, public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(Server::Impl* srv, tcp::socket&& socket)
      : srv_(srv), stream_(MakeStream(srv, std::move(socket))) {
    srv_->metrics.connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() override {
    srv_->metrics.connections.fetch_sub(1, std::memory_order_relaxed);
    srv_->Unregister(this);
  }

  void Start() {
    srv_->Register(this, this->weak_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Lowest().expires_after(self->srv_->opt.read_timeout);
        self->stream_.async_handshake(ssl::stream_base::server,
                                      [self](const beast::error_code& ec) {
                                        if (ec) return self->Close();
                                        self->DoRead();
                                      });
      } else {
        self->DoRead();
      }
    });
  }

  void CloseIfIdle() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) self->Lowest().cancel();
    });
  }

 private:
  static Stream MakeStream(Server::Impl* srv, tcp::socket&& socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *srv->ssl_ctx);
    } else {
      return Stream(std::move(socket));
    }
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void DoRead() {
    if (srv_->stopping.load()) return Close();
    parser_.emplace();
    parser_->body_limit(srv_->opt.body_limit);
    parser_->header_limit(static_cast<uint32_t>(srv_->opt.header_limit));
    idle_ = true;
    Lowest().expires_after(srv_->opt.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    if (ec) return OnReadError(ec);
    t0_ = SteadyClock::now();
    if (parser_->is_done()) return Handle();
    Lowest().expires_after(srv_->opt.read_timeout);
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = this->shared_from_this()](beast::error_code e, size_t) {
                         if (e) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->Handle();
                     });
  }

  void OnReadError(beast::error_code ec) {
    req_ = Request();  // nothing of the previous request may leak into this reply or its log
    principal_ = Principal();
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      t0_ = SteadyClock::now();
      return Reply(Response::Error(413, "body_too_large",
                                   "request body exceeds the limit of " +
                                       std::to_string(srv_->opt.body_limit) + " bytes"),
                   -1, true);
    }
    if (ec == http::error::header_limit) {
      keep_alive_ = false;
      t0_ = SteadyClock::now();
      return Reply(Response::Error(431, "header_too_large",
                                   "request header exceeds the limit of " +
                                       std::to_string(srv_->opt.header_limit) + " bytes"),
                   -1, true);
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      keep_alive_ = false;
      t0_ = SteadyClock::now();
      return Reply(
          Response::Error(400, "malformed_request", "malformed HTTP request: " + ec.message()), -1,
          true);
    }
    Close();
  }

  void Handle() {
    srv_->metrics.in_flight.fetch_add(1, std::memory_order_relaxed);
    in_flight_ = true;
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    req_ = Request();
    req_.method = std::string(msg.method_string());
    req_.target = std::string(msg.target());
    std::string_view target(msg.target().data(), msg.target().size());
    size_t q = target.find('?');
    std::string_view raw_path = target.substr(0, q);
    req_.headers.reserve(8);
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req_.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req_.body = std::move(msg.body());
    auto rid = req_.Header("x-request-id");
    req_.request_id = rid && ValidRequestId(*rid) ? *rid : srv_->NextRequestId();

    if (raw_path.empty() || raw_path.front() != '/' || !Decode(raw_path, false, &req_.path)) {
      return Reply(Response::Error(400, "bad_target",
                                   "request target \"" + req_.target +
                                       "\" is not an absolute path with valid percent escapes"),
                   -1, false);
    }
    if (q != std::string_view::npos) {
      std::string_view query = target.substr(q + 1);
      while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        size_t eq = pair.find('=');
        std::string k, v;
        if (!Decode(pair.substr(0, eq), true, &k) ||
            !Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true,
                    &v)) {
          return Reply(Response::Error(400, "bad_target",
                                       "query of \"" + req_.target + "\" has a bad percent escape"),
                       -1, false);
        }
        if (!k.empty()) req_.query.emplace(std::move(k), std::move(v));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
      }
    }

    bool path_matched = false;
    const Route* route = srv_->router.Match(req_.method, req_.path, &req_.params, &path_matched);
    if (!route) {
      if (path_matched) {
        std::string allow;
        for (const auto& r : srv_->router.routes()) {
          std::map<std::string, std::string> unused;
          bool pm = false;
          if (srv_->router.Match(r.method, req_.path, &unused, &pm) &&
              allow.find(r.method) == std::string::npos) {
            if (!allow.empty()) allow += ", ";
            allow += r.method;
          }
        }
        Response r = Response::Error(
            405, "method_not_allowed",
            req_.method + " is not allowed on " + req_.path + " (allowed: " + allow + ")");
        r.headers.emplace_back("Allow", allow);
        return Reply(std::move(r), -1, false);
      }
      return Reply(Response::Error(404, "not_found", "no endpoint " + req_.path), -1, false);
    }
    int index = static_cast<int>(route - srv_->router.routes().data());
    AuthOutcome a = srv_->auth.Authenticate(*route, req_, kTls ? "https" : "http");
    if (!a.ok()) {
      Response r = Response::Error(a.status, a.code, a.message);
      if (a.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"kexin\"");
      return Reply(std::move(r), index, false);
    }
    principal_ = std::move(a.principal);
    if (route->tag == "server") return Reply(Invoke(*route), index, false);
    if (route->async_handler && InvokeAsync(*route, index)) return;
    // Other modules' handlers may block: run them on the worker pool; the work guard keeps the
    // I/O threads alive until the response is handed back.
    net::post(*srv_->pool, [self = this->shared_from_this(), route, index,
                            work = net::make_work_guard(srv_->ioc)]() mutable {
      Response r = self->Invoke(*route);
      net::post(self->stream_.get_executor(),
                [self, index, r = std::move(r), work = std::move(work)]() mutable {
                  self->Reply(std::move(r), index, false);
                });
    });
  }

  // Starts an asynchronous handler; its answer is replied on this session's strand. The work
  // guard keeps the I/O threads alive until then.
  bool InvokeAsync(const Route& route, int index) {
    auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        srv_->ioc.get_executor());
    Responder respond = [self = this->shared_from_this(), route = &route, index,
                         work](Response r) mutable {
      net::post(self->stream_.get_executor(),
                [self, route, index, r = std::move(r), work = std::move(work)]() mutable {
                  self->Reply(self->HideInternals(*route, std::move(r)), index, false);
                });
    };
    try {
      return route.async_handler(req_, principal_, respond);
    } catch (const std::exception& e) {
      Reply(HandlerThrew(route, e.what()), index, false);
    } catch (...) {
      Reply(HandlerThrew(route, nullptr), index, false);
    }
    return true;
  }

  Response Invoke(const Route& route) {
    try {
      return HideInternals(route, route.handler(req_, principal_));
    } catch (const std::exception& e) {
      return HandlerThrew(route, e.what());
    } catch (...) {
      return HandlerThrew(route, nullptr);
    }
  }

  // Logs a handler's exception (`what` when it has one) and answers 500. No request data in the
  // answer: it may be what made the handler throw.
  Response HandlerThrew(const Route& route, const char* what) {
    nlohmann::json fields = {{"request_id", req_.request_id}, {"route", route.pattern}};
    if (what != nullptr) fields["what"] = what;
    LogJson("error", "handler threw", fields);
    return Response::Error(500, "internal",
                           "internal error while handling " + route.method + " " + route.pattern);
  }

  // A 500 answer says that something failed and where the details are, not what: store errors
  // name files, tables and SQL. The handler's message goes to the log under the request id.
  Response HideInternals(const Route& route, Response r) {
    if (r.status != 500 || r.body.rfind("{\"error\"", 0) != 0) return r;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j["error"].is_object()) return r;
    if (req_.request_id.empty()) req_.request_id = srv_->NextRequestId();
    LogJson("error", "request failed",
            {{"request_id", req_.request_id},
             {"route", route.method + " " + route.pattern},
             {"detail", j["error"].value("message", std::string())}});
    j["error"]["message"] =
        "internal error; the node's log has the details under request id " + req_.request_id;
    r.body = DumpJson(j);
    return r;
  }

  void Reply(Response r, int route_index, bool linger) {
    FillRequestId(
        &r, req_.request_id.empty() ? (req_.request_id = srv_->NextRequestId()) : req_.request_id);
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(http::field::server, "kexin");
    if (!r.body.empty() || r.status >= 200) res_.set(http::field::content_type, r.content_type);
    res_.set("X-Request-Id", req_.request_id);
    for (auto& [k, v] : r.headers) res_.set(k, v);
    res_.body() = std::move(r.body);
    bool keep = keep_alive_ && !linger && !srv_->stopping.load();
    res_.keep_alive(keep);
    res_.prepare_payload();
    auto dur = SteadyClock::now() - t0_;
    srv_->metrics.Record(route_index, r.status, dur);
    if (in_flight_) {
      srv_->metrics.in_flight.fetch_sub(1, std::memory_order_relaxed);
      in_flight_ = false;
    }
    if (srv_->opt.access_log) {
      const auto& routes = srv_->router.routes();
      nlohmann::json f = {
          {"request_id", req_.request_id},
          {"method", req_.method},
          {"target", req_.target},
          {"route", route_index >= 0 ? routes[route_index].pattern : std::string()},
          {"status", r.status},
          {"duration_us", std::chrono::duration_cast<std::chrono::microseconds>(dur).count()},
          {"principal", principal_.name}};
      LogJson("info", "request", f);
    }
    Lowest().expires_after(srv_->opt.read_timeout);
    http::async_write(
        stream_, res_,
        [self = this->shared_from_this(), keep, linger](beast::error_code ec, size_t) {
          if (ec) return self->Close();
          if (linger) return self->LingerClose();
          if (!keep) return self->Close();
          self->principal_ = Principal();
          self->DoRead();
        });
  }

  // After an error reply to a request whose body is still arriving: stop sending, read and
  // discard for a moment so the client sees the reply instead of a reset.
  void LingerClose() {
    if constexpr (kTls) {
      Close();
    } else {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      Lowest().expires_after(std::chrono::seconds(2));
      Drain();
    }
  }
  void Drain() {
    Lowest().async_read_some(net::buffer(scratch_),
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               if (ec) return self->Close();
                               self->Drain();
                             });
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  Server::Impl* srv_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  Request req_;
  Principal principal_;
  bool keep_alive_ = true;
  bool idle_ = false;
  bool in_flight_ = false;
  SteadyClock::time_point t0_;
  std::array<char, 8192> scratch_;
};

}  // namespace

void Server::Impl::DoAccept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket sock) {
    if (ec) {
      if (!acceptor->is_open() || stopping.load()) return;
      // Out of descriptors (EMFILE) or similar: retrying at once would spin and flood the log.
      // Log at most once a second and try again in 100 ms.
      auto now = std::chrono::steady_clock::now();
      if (now - last_accept_log > std::chrono::seconds(1)) {
        last_accept_log = now;
        LogJson("warn", "accept failed", {{"error", ec.message()}});
      }
      accept_timer.expires_after(std::chrono::milliseconds(100));
      accept_timer.async_wait([this](beast::error_code) {
        if (!stopping.load()) DoAccept();
      });
      return;
    }
    size_t open;
    {
      std::lock_guard<std::mutex> lock(sessions_mu);
      open = sessions.size();
    }
    if (open >= max_connections) {
      beast::error_code ignored;
      sock.close(ignored);  // over the cap: closed before anything is read
    } else {
      beast::error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
      if (tls) {
        std::make_shared<Session<true>>(this, std::move(sock))->Start();
      } else {
        std::make_shared<Session<false>>(this, std::move(sock))->Start();
      }
    }
    if (!stopping.load()) DoAccept();
  });
}

Server::Server(const Router& router, NodeContext& ctx, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, ctx, std::move(options))) {}

Server::~Server() {
  Stop();
  Wait();
}

Metrics& Server::metrics() { return impl_->metrics; }
uint16_t Server::port() const { return impl_->port; }

std::string Server::url() const {
  std::string host = impl_->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(impl_->tls ? "https" : "http") + "://" + host + ":" +
         std::to_string(impl_->port);
}

Status Server::Start() {
  Impl& s = *impl_;
  auto t_start = SteadyClock::now();
  if (s.opt.process_start == SteadyClock::time_point{}) s.opt.process_start = t_start;
  const std::string& listen = s.opt.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument("--listen \"" + listen + "\": expected HOST:PORT");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string port_text = listen.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535) {
    return InvalidArgument("--listen \"" + listen + "\": port must be 0-65535");
  }
  beast::error_code ec;
  tcp::endpoint endpoint;
  auto addr = net::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(s.ioc);
    auto results = resolver.resolve(host, port_text, ec);
    if (ec || results.empty()) {
      return InvalidArgument("--listen \"" + listen + "\": cannot resolve host " + host);
    }
    endpoint = *results.begin();
  } else {
    endpoint = tcp::endpoint(addr, static_cast<uint16_t>(std::stoi(port_text)));
  }

  if (s.opt.tls_cert.empty() != s.opt.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key must be given together");
  }
  if (!s.opt.tls_cert.empty()) {
    s.tls = true;
    s.ssl_ctx.emplace(ssl::context::tls_server);
    s.ssl_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
    s.ssl_ctx->use_certificate_chain_file(s.opt.tls_cert, ec);
    if (ec) return InvalidArgument("--tls-cert " + s.opt.tls_cert + ": " + ec.message());
    s.ssl_ctx->use_private_key_file(s.opt.tls_key, ssl::context::pem, ec);
    if (ec) return InvalidArgument("--tls-key " + s.opt.tls_key + ": " + ec.message());
  }

  s.acceptor.emplace(s.ioc);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (ec) {
    return IoError("cannot listen on " + listen + ": " + ec.message());
  }
  s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return IoError("cannot listen on " + listen + ": " + ec.message());
  s.port = s.acceptor->local_endpoint().port();
  s.host = endpoint.address().to_string();
  s.max_connections = s.opt.max_connections;
  if (s.max_connections == 0) {
    struct rlimit rl {};
    rlim_t fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (fds == RLIM_INFINITY || fds > 1000000) fds = 1000000;
    s.max_connections = fds > 256 ? static_cast<size_t>(fds - 128) : 128;
  }
  if (s.opt.on_bound) s.opt.on_bound(url());
  // Peer signatures are checked against this node's own public URL, never the Host header.
  s.auth.SetPublicOrigin(s.opt.public_url.empty() ? url() : s.opt.public_url);

  int threads = s.opt.threads > 0
                    ? s.opt.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int workers = s.opt.workers > 0 ? s.opt.workers : std::max(32, 8 * threads);
  s.pool = std::make_unique<net::thread_pool>(workers);
  {
    // The pool's threads are Boost's: one task per thread names it (each waits for all the others,
    // so no thread takes two). The latch is shared: a task may still be returning from its wait
    // after the last arrival has let this thread go on.
    auto named = std::make_shared<std::latch>(workers);
    for (int i = 0; i < workers; ++i) {
      net::post(*s.pool, [named] {
        NameThisThread("kexin-handler");
        named->arrive_and_wait();
      });
    }
    named->wait();
  }
  uint8_t rnd[4];
  crypto::RandomBytes(rnd, sizeof rnd);
  s.rid_prefix =
      (uint32_t{rnd[0]} << 24) | (uint32_t{rnd[1]} << 16) | (uint32_t{rnd[2]} << 8) | rnd[3];

  if (s.opt.handle_signals) {
    s.signals.emplace(s.ioc, SIGTERM, SIGINT);
    s.signals->async_wait([this](const beast::error_code& e, int sig) {
      if (e) return;
      LogJson("info", "signal received, shutting down", {{"signal", sig}});
      Stop();
    });
  }
  served_router.store(&s.router);
  served_metrics.store(&s.metrics);
  served_start_ns.store(t_start.time_since_epoch().count());
  s.started = true;
  s.DoAccept();

  // Logged before any I/O thread runs: a client that connects the moment the socket listens must
  // not get its request logged first.
  std::string u = url();
  auto startup =
      std::chrono::duration<double, std::milli>(SteadyClock::now() - s.opt.process_start);
  LogJson("info", "listening",
          {{"url", u},
           {"public_url", s.opt.public_url.empty() ? u : s.opt.public_url},
           {"threads", threads},
           {"workers", workers},
           {"tls", s.tls},
           {"routes", s.router.routes().size()},
           {"startup_ms", std::round(startup.count() * 10) / 10}});
  for (int i = 0; i < threads; ++i) {
    s.threads.emplace_back([&s] {
      NameThisThread("kexin-io");
      s.ioc.run();
    });
  }
  return Status::Ok();
}

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  std::call_once(s.stop_once, [&s] {
    s.stopping.store(true);
    net::post(s.ioc, [&s] {
      beast::error_code ec;
      s.acceptor->close(ec);
      if (s.signals) s.signals->cancel(ec);
      std::vector<std::shared_ptr<SessionBase>> live;
      {
        std::lock_guard<std::mutex> lock(s.sessions_mu);
        for (auto& [p, w] : s.sessions) {
          if (auto sp = w.lock()) live.push_back(std::move(sp));
        }
      }
      for (auto& sp : live) sp->CloseIfIdle();
    });
    s.watchdog = std::thread([&s] {
      NameThisThread("kexin-drain");
      std::unique_lock<std::mutex> lock(s.done_mu);
      if (!s.done_cv.wait_for(lock, s.opt.drain_timeout, [&s] { return s.done; })) {
        LogJson("warn", "drain timeout: closing remaining connections", {});
        s.ioc.stop();
      }
    });
  });
}

void Server::Wait() {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> wait_lock(s.wait_mu);
  if (!s.started || s.waited) return;
  for (auto& t : s.threads) t.join();
  {
    std::lock_guard<std::mutex> lock(s.done_mu);
    s.done = true;
  }
  s.done_cv.notify_all();
  if (s.watchdog.joinable()) s.watchdog.join();
  s.pool->join();
  s.waited = true;
  if (served_router.load() == &s.router) served_router.store(nullptr);
  if (served_metrics.load() == &s.metrics) served_metrics.store(nullptr);
  LogJson("info", "stopped", {{"url", url()}});
}

}  // namespace kexin::server
