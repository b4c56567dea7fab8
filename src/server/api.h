// Module `server` (API part): the types every module uses to add HTTP endpoints to a node.
//
// The node server (server.h) owns sockets, TLS, limits, logging and authentication; modules
// (catalog, contract, registry, ledger, witness) only declare Routes on a Router. Before a handler
// runs, the server has parsed the request, authenticated it (API token or RFC 9421 peer signature,
// see Auth) and checked the caller's role against Route::roles; a handler never sees a caller it
// did not allow. Errors leave as Response::Error bodies: {"error":{"code","message","request_id"}}.
//
// Route patterns are literal segments and ":name" captures ("/v1/negotiations/:id/approve");
// the first route (in order added) whose method and pattern match wins.
//
// Thread-safety: a Router is built before the server starts and is read-only afterwards; handlers
// are called concurrently from the server's threads and must be thread-safe.
#ifndef KEXIN_SERVER_API_H_
#define KEXIN_SERVER_API_H_

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kexin/status.h"

namespace kexin::server {

// JSON from outside (request bodies, peers' answers) nests at most this deep: deeper documents
// are refused before parsing, since copying or destroying them recursively could exhaust a
// thread's stack.
constexpr int kMaxJsonDepth = 64;
// Parses `text` as JSON; kInvalidArgument naming `what` when it is malformed or nests deeper than
// kMaxJsonDepth.
Result<nlohmann::json> ParseJsonLimited(std::string_view text, std::string_view what);
// Serializes JSON that may hold text from outside: invalid UTF-8 becomes U+FFFD, never a throw.
std::string DumpJson(const nlohmann::json& j);

enum class Role { kAdmin, kProvider, kConsumer, kAuditor };
std::string_view RoleName(Role role);                  // "admin", "provider", ...
std::optional<Role> ParseRole(std::string_view name);  // nullopt when unknown

// Who made a request, as established by the server before the handler runs.
struct Principal {
  enum class Kind { kAnonymous, kUser, kPeer };
  Kind kind = Kind::kAnonymous;
  std::string name;            // user name or peer name
  Role role = Role::kAuditor;  // users only
  std::string public_key;      // peers only: the peer's Ed25519 public key, lowercase hex
  std::string url;             // peers only: the peer's registered base URL
};

struct Request {
  std::string method;                             // "GET", "POST", ...
  std::string target;                             // raw request target including the query string
  std::string path;                               // percent-decoded path without the query
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::map<std::string, std::string> params;  // ":name" captures of the matched route
  std::string request_id;                     // for logs and error bodies

  std::optional<std::string> Header(std::string_view lower_name) const;
  std::optional<std::string> Query(std::string_view name) const;  // first value
  // Parses the body as JSON; an error names the request and the parse position (kInvalidArgument).
  Result<nlohmann::json> JsonBody() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(int status, const nlohmann::json& body);
  // {"error":{"code":code,"message":message,"request_id":...}}; the server fills request_id.
  static Response Error(int status, std::string_view code, std::string_view message);
  // Maps a Status code to its HTTP status (docs/api.md): kInvalidArgument 400, kDataError 422,
  // kNotFound 404, kPermissionDenied 403, kFailedPrecondition 409, kResourceExhausted 413,
  // kUnimplemented 501, others 500. The error code is the StatusCode's snake_case name.
  static Response FromStatus(const Status& status);
};

// How the server authenticates a route's callers.
enum class Auth {
  kNone,         // anyone (healthz, metrics, openapi, DSP catalog request with its own policy)
  kToken,        // "Authorization: Bearer <token>" of a user whose role is in Route::roles
  kPeer,         // an RFC 9421 signature by a trusted peer's node key (docs/httpsig.md)
  kTokenOrPeer,  // either of the above
};

using Handler = std::function<Response(const Request&, const Principal&)>;
// Answers a request, once, from any thread.
using Responder = std::function<void(Response)>;
// A handler that does not block: it runs on an I/O thread, starts the work and answers through
// `respond` (the request stays valid until then). It returns false, without answering, when it
// cannot take the request now; the route's Handler then runs on the worker pool.
using AsyncHandler = std::function<bool(const Request&, const Principal&, const Responder&)>;

struct Route {
  std::string method;
  std::string pattern;  // "/v1/negotiations/:id"
  Auth auth = Auth::kToken;
  std::vector<Role> roles;         // roles allowed for kToken/kTokenOrPeer
  std::string summary;             // one line for the OpenAPI document
  std::string tag;                 // OpenAPI tag: "catalog", "contract", "ledger", ...
  nlohmann::json request_schema;   // JSON Schema of the body, or null
  nlohmann::json response_schema;  // JSON Schema of a 2xx body, or null
  Handler handler;
  AsyncHandler async_handler;  // optional; tried first (above)
};

class Router {
 public:
  void Add(Route route);
  const std::vector<Route>& routes() const { return routes_; }
  // The matching route and its captures; nullptr when no pattern matches the path (404) or,
  // with *path_matched set, when the path matches but the method does not (405).
  const Route* Match(std::string_view method, std::string_view path,
                     std::map<std::string, std::string>* params, bool* path_matched) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace kexin::server

#endif  // KEXIN_SERVER_API_H_
