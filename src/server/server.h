// Module `server` (HTTP server): serves a Router over HTTP/1.1 (optionally TLS) with Boost.Beast.
//
// Per request: read (header and body limits, idle and read timeouts) -> route match (404/405)
// -> authentication and role check (auth.h; 401/403) -> handler -> response. Handlers of routes
// tagged "server" (cheap, non-blocking) run on the I/O threads; all others run on a worker pool
// so a handler that blocks (a ledger commit, a request to a peer) never stalls the I/O threads;
// a route's asynchronous handler (api.h) starts on the I/O thread and answers from any thread.
// A handler's exception becomes a 500. Every error body carries the request id, also sent as
// X-Request-Id. Logs are JSON lines on stderr (docs/api.md#logs). Stop() (or SIGTERM/SIGINT when
// handle_signals) stops accepting, closes idle connections, lets in-flight requests finish and
// answers them with "Connection: close".
//
// Thread-safety: Start, Stop and Wait may be called from any thread; the Router and NodeContext
// must outlive the Server.
#ifndef KEXIN_SERVER_SERVER_H_
#define KEXIN_SERVER_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "kexin/status.h"
#include "server/api.h"
#include "server/metrics.h"
#include "server/node.h"

namespace kexin::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:8443";   // host:port; port 0 picks a free one
  int threads = 0;                         // I/O threads; 0 = hardware concurrency
  int workers = 0;                         // handler pool; 0 = max(32, 8 * threads)
  std::string tls_cert, tls_key;           // PEM files; both or neither
  size_t body_limit = 1 << 20;             // 413 above
  size_t header_limit = 16 << 10;          // 431 above
  std::chrono::seconds idle_timeout{60};   // waiting for a request's header
  std::chrono::seconds read_timeout{30};   // reading a request's body / writing a response
  std::chrono::seconds drain_timeout{10};  // in-flight requests get this long after Stop
  int64_t signature_window = 300;          // seconds, RFC 9421 created +- window
  bool access_log = false;                 // one JSON line per request
  // Open client connections at most; beyond, new ones are closed at once. 0 = the file
  // descriptor limit minus 128 (so the store, the ledger and peer connections keep working).
  size_t max_connections = 0;
  bool handle_signals = false;  // SIGTERM/SIGINT -> Stop()
  std::string public_url;       // logged; defaults to the listening URL
  // Called by Start() once the socket is bound, before any request is served, with url() (e.g.
  // to fill NodeContext::public_url when listening on port 0).
  std::function<void(const std::string& url)> on_bound;
  // When the process started, for the "startup_ms" of the startup log line; default: Start().
  std::chrono::steady_clock::time_point process_start{};
};

class Server {
 public:
  Server(const Router& router, NodeContext& ctx, ServerOptions options);
  ~Server();  // stops and waits
  // Binds and starts the threads; returns once the socket accepts connections.
  Status Start();
  uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:port" or https
  void Stop();              // graceful; returns at once
  void Wait();              // until stopped and drained
  Metrics& metrics();

  struct Impl;  // server.cc only

 private:
  std::unique_ptr<Impl> impl_;
};

// The router and metrics of the server running in this process (the last one started), for
// the routes that describe the server itself (/openapi.json, /metrics); null before Start.
const Router* ServedRouter();
Metrics* ServedMetrics();
// Seconds since the served server started.
double ServedUptime();

// One structured log line on stderr: {"time":...,"level":level,"msg":msg, ...fields}.
void LogJson(std::string_view level, std::string_view msg, const nlohmann::json& fields);

}  // namespace kexin::server

#endif  // KEXIN_SERVER_SERVER_H_
