// PeerClient (node.h): signed node-to-node HTTP/1.1 requests over kept-alive connections.
//
// Each connection has its own io_context so a call can use Beast's timeouts (which apply to
// asynchronous operations) while staying synchronous for the caller; every phase of a call
// expires at one deadline. Idle connections are kept per scheme://host:port (at most
// PeerClientOptions::max_idle_per_peer, for at most idle_timeout) and handed to one caller at a
// time, after checking the peer has not closed them.
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>

#include "server/httpsig.h"
#include "server/node.h"
#include "server/url.h"

namespace kexin::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace internal {

Result<Url> ParseUrl(std::string_view url) {
  Url u;
  std::string_view rest;
  // Parts of a URL can come from peers (process ids, callback addresses): a control character or
  // space would let them inject headers or a second request into what this node sends, signed.
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) {
      return InvalidArgument("URL \"" + std::string(url) +
                             "\": contains a space or control character");
    }
  }
  if (url.rfind("http://", 0) == 0) {
    u.scheme = "http";
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.scheme = "https";
    rest = url.substr(8);
  } else {
    return InvalidArgument("URL \"" + std::string(url) + "\": must start with http:// or https://");
  }
  size_t slash = rest.find_first_of("/?#");
  u.authority = std::string(rest.substr(0, slash));
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!u.target.empty() && u.target[0] == '?') u.target = "/" + u.target;
  if (size_t hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
  if (u.authority.empty() || u.authority.find('@') != std::string::npos ||
      u.authority.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument("URL \"" + std::string(url) + "\": no valid host");
  }
  std::string_view a = u.authority;
  if (a.front() == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos)
      return InvalidArgument("URL \"" + std::string(url) + "\": bad IPv6 host");
    u.host = std::string(a.substr(1, close - 1));
    if (close + 1 < a.size()) {
      if (a[close + 1] != ':') return InvalidArgument("URL \"" + std::string(url) + "\": bad port");
      u.port = std::string(a.substr(close + 2));
    }
  } else {
    size_t colon = a.rfind(':');
    u.host = std::string(a.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(a.substr(colon + 1));
  }
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  for (char c : u.port) {
    if (c < '0' || c > '9') return InvalidArgument("URL \"" + std::string(url) + "\": bad port");
  }
  if (u.host.empty()) return InvalidArgument("URL \"" + std::string(url) + "\": no host");
  return u;
}

}  // namespace internal

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  explicit Conn(ssl::context* ctx, bool tls) : tcp(ioc) {
    if (tls) tls_stream.emplace(ioc, *ctx);
  }
  beast::tcp_stream& Tcp() { return tls_stream ? beast::get_lowest_layer(*tls_stream) : tcp; }

  net::io_context ioc;
  beast::tcp_stream tcp;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;
};

// Runs the connection's io_context until the pending operations finish.
void RunOps(Conn& c) {
  c.ioc.restart();
  c.ioc.run();
}

// Whether an idle kept-alive connection can carry a request: the peer has not closed it (EOF),
// reset it, or sent anything unasked (a stray byte would be read as the next answer).
bool StillOpen(Conn& c) {
  if (c.buffer.size() != 0) return false;
  char byte;
  ssize_t n = ::recv(c.Tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool Idempotent(http::verb v) {
  return v == http::verb::get || v == http::verb::head || v == http::verb::put ||
         v == http::verb::delete_ || v == http::verb::options;
}

}  // namespace

struct PeerClient::Impl {
  Impl(crypto::SigningKey k, PeerClientOptions o)
      : key(std::move(k)), options(o), ssl_ctx(ssl::context::tls_client) {
    ssl_ctx.set_default_verify_paths();
    if (const char* ca = std::getenv("KEXIN_CA_FILE"); ca && *ca) {
      boost::system::error_code ec;
      ssl_ctx.load_verify_file(ca, ec);
    }
    const char* insecure = std::getenv("KEXIN_TLS_INSECURE");
    verify = !(insecure && std::string_view(insecure) == "1");
    ssl_ctx.set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
  }

  Result<std::unique_ptr<Conn>> Connect(const internal::Url& u, Clock::time_point deadline);

  // Moves connections idle past the expiry (of every peer) to `closed`, to be destroyed outside
  // the lock. Called with `mu` held.
  void Expire(Clock::time_point now, std::vector<std::unique_ptr<Conn>>& closed) {
    for (auto it = idle.begin(); it != idle.end();) {
      auto& v = it->second;
      for (auto& c : v) {
        if (now - c->idle_since >= options.idle_timeout) closed.push_back(std::move(c));
      }
      v.erase(std::remove(v.begin(), v.end(), nullptr), v.end());
      it = v.empty() ? idle.erase(it) : std::next(it);
    }
  }
  std::unique_ptr<Conn> TakeIdle(const std::string& pool_key) {
    std::vector<std::unique_ptr<Conn>> closed;
    std::lock_guard<std::mutex> lock(mu);
    Expire(Clock::now(), closed);
    auto it = idle.find(pool_key);
    while (it != idle.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      if (StillOpen(*c)) return c;
      closed.push_back(std::move(c));  // closed by the peer while idle
    }
    return nullptr;
  }
  void PutIdle(const std::string& pool_key, std::unique_ptr<Conn> c) {
    std::vector<std::unique_ptr<Conn>> closed;
    std::lock_guard<std::mutex> lock(mu);
    const auto now = Clock::now();
    Expire(now, closed);
    auto& v = idle[pool_key];
    c->idle_since = now;
    if (v.size() < options.max_idle_per_peer) {
      v.push_back(std::move(c));
    } else {
      closed.push_back(std::move(c));
    }
  }

  crypto::SigningKey key;
  PeerClientOptions options;
  ssl::context ssl_ctx;
  bool verify = true;
  std::mutex mu;
  std::map<std::string, std::vector<std::unique_ptr<Conn>>> idle;  // most recently used last
};

Result<std::unique_ptr<Conn>> PeerClient::Impl::Connect(const internal::Url& u,
                                                        Clock::time_point deadline) {
  bool tls = u.scheme == "https";
  auto c = std::make_unique<Conn>(&ssl_ctx, tls);
  std::string where = u.scheme + "://" + u.authority;
  // Resolving is asynchronous too, so a slow name server counts against the deadline.
  tcp::resolver resolver(c->ioc);
  net::steady_timer timer(c->ioc);
  boost::system::error_code ec;
  bool timed_out = false;
  tcp::resolver::results_type endpoints;
  timer.expires_at(deadline);
  timer.async_wait([&](const boost::system::error_code& e) {
    if (!e) {
      timed_out = true;
      resolver.cancel();
    }
  });
  resolver.async_resolve(u.host, u.port,
                         [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                           timer.cancel();
                         });
  RunOps(*c);
  if (timed_out) return IoError(where + ": timed out resolving the host");
  if (ec) return IoError(where + ": cannot resolve host: " + ec.message());
  c->Tcp().expires_at(deadline);
  c->Tcp().async_connect(endpoints,
                         [&](const boost::system::error_code& e, const tcp::endpoint&) { ec = e; });
  RunOps(*c);
  if (ec == beast::error::timeout) return IoError(where + ": timed out connecting");
  if (ec) return IoError(where + ": connect failed: " + ec.message());
  c->Tcp().socket().set_option(tcp::no_delay(true), ec);
  if (tls) {
    if (!SSL_set_tlsext_host_name(c->tls_stream->native_handle(), u.host.c_str())) {
      return IoError(where + ": cannot set TLS server name");
    }
    if (verify) c->tls_stream->set_verify_callback(ssl::host_name_verification(u.host));
    c->Tcp().expires_at(deadline);
    c->tls_stream->async_handshake(ssl::stream_base::client,
                                   [&](const boost::system::error_code& e) { ec = e; });
    RunOps(*c);
    if (ec == beast::error::timeout) return IoError(where + ": timed out in the TLS handshake");
    if (ec) return IoError(where + ": TLS handshake failed: " + ec.message());
  }
  return c;
}

PeerClient::PeerClient(crypto::SigningKey key, PeerClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(key), options)) {}
PeerClient::~PeerClient() = default;

Result<ClientResponse> PeerClient::Send(std::string_view method, std::string_view url,
                                        std::string_view body, std::chrono::milliseconds timeout,
                                        bool repeatable) {
  const Clock::time_point deadline = Clock::now() + timeout;
  KEXIN_ASSIGN_OR_RETURN(internal::Url u, internal::ParseUrl(url));
  http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) {
    return InvalidArgument("HTTP method \"" + std::string(method) + "\" is not known");
  }
  repeatable = repeatable || Idempotent(verb);
  std::string pool_key = u.scheme + "://" + u.authority;
  std::string target_uri = pool_key + u.target;
  std::string what = std::string(method) + " " + std::string(url);
  const std::string deadline_note = " (deadline " + std::to_string(timeout.count()) + " ms)";
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Conn> c = impl_->TakeIdle(pool_key);
    bool reused = c != nullptr;
    if (!c) {
      auto fresh = impl_->Connect(u, deadline);
      if (!fresh.ok()) {
        std::string m = fresh.status().message();
        return IoError(what + ": " + m +
                       (m.find("timed out") != std::string::npos ? deadline_note : ""));
      }
      c = std::move(*fresh);
    }
    // A fresh signature (created, nonce) per attempt: a retried request is a new request.
    auto sig = httpsig::Sign(impl_->key, method, target_uri, body,
                             static_cast<int64_t>(std::time(nullptr)), httpsig::NewNonce());
    http::request<http::string_body> req{verb, u.target, 11};
    req.set(http::field::host, u.authority);
    req.set(http::field::user_agent, "kexin/0.1");
    req.set(http::field::accept, "application/json");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.set("Content-Digest", sig.content_digest);
    req.set("Signature-Input", sig.signature_input);
    req.set("Signature", sig.signature);
    req.body() = std::string(body);
    req.keep_alive(true);
    req.prepare_payload();

    boost::system::error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    // One expiry for the write and every read of the answer: a peer trickling bytes does not
    // extend it.
    c->Tcp().expires_at(deadline);
    auto on_read = [&](const boost::system::error_code& e, size_t) { ec = e; };
    auto on_write = [&](const boost::system::error_code& e, size_t) {
      ec = e;
      if (e) return;
      if (c->tls_stream) {
        http::async_read(*c->tls_stream, c->buffer, parser, on_read);
      } else {
        http::async_read(c->tcp, c->buffer, parser, on_read);
      }
    };
    if (c->tls_stream) {
      http::async_write(*c->tls_stream, req, on_write);
    } else {
      http::async_write(c->tcp, req, on_write);
    }
    RunOps(*c);
    if (ec) {
      // A kept-alive connection the peer closed just now fails before any answer: send again on
      // a new connection when repeating the request is safe.
      bool stale = reused && ec != beast::error::timeout && !parser.got_some();
      if (stale && repeatable && attempt == 0) continue;
      return IoError(what + ": " +
                     (ec == beast::error::timeout ? "timed out" + deadline_note : ec.message()));
    }
    auto& res = parser.get();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    bool keep = res.keep_alive();
    out.body = std::move(res.body());
    if (keep) impl_->PutIdle(pool_key, std::move(c));
    return out;
  }
  return IoError(what + ": connection failed");
}

}  // namespace kexin::server
