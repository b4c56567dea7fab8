#include "server/api.h"

#include <algorithm>

namespace kexin::server {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kProvider: return "provider";
    case Role::kConsumer: return "consumer";
    case Role::kAuditor: return "auditor";
  }
  return "auditor";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kAdmin, Role::kProvider, Role::kConsumer, Role::kAuditor}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::optional<std::string> Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

namespace {
// The deepest nesting of arrays and objects in `text`, counting only brackets outside strings.
int JsonDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}
}  // namespace

Result<nlohmann::json> ParseJsonLimited(std::string_view text, std::string_view what) {
  if (JsonDepth(text) > kMaxJsonDepth) {
    return InvalidArgument(std::string(what) + ": JSON nests deeper than " +
                           std::to_string(kMaxJsonDepth) + " levels");
  }
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) return j;
  try {
    auto unused = nlohmann::json::parse(text);
    (void)unused;
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidArgument(std::string(what) + ": malformed JSON at byte " +
                           std::to_string(e.byte));
  }
  return InvalidArgument(std::string(what) + ": malformed JSON");
}

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> Request::JsonBody() const {
  auto j = ParseJsonLimited(body, method + " " + path + ": body");
  if (!j.ok()) return j.status();
  return j;
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = DumpJson(body);
  return r;
}

Response Response::Error(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return Json(status, body);
}

Response Response::FromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return Json(200, nlohmann::json::object());
    case StatusCode::kInvalidArgument: return Error(400, "invalid_argument", status.message());
    case StatusCode::kDataError: return Error(422, "data_error", status.message());
    case StatusCode::kNotFound: return Error(404, "not_found", status.message());
    case StatusCode::kPermissionDenied: return Error(403, "permission_denied", status.message());
    case StatusCode::kFailedPrecondition:
      return Error(409, "failed_precondition", status.message());
    case StatusCode::kResourceExhausted: return Error(413, "resource_exhausted", status.message());
    case StatusCode::kUnimplemented: return Error(501, "unimplemented", status.message());
    case StatusCode::kCorruption: return Error(500, "corruption", status.message());
    case StatusCode::kIoError: return Error(500, "io_error", status.message());
    default: return Error(500, "internal", status.message());
  }
}

namespace {
// Splits "/a/b/c" into {"a","b","c"}; a trailing slash yields an empty last segment.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::map<std::string, std::string>* params) {
  auto ps = Segments(pattern);
  auto xs = Segments(path);
  if (ps.size() != xs.size()) return false;
  std::map<std::string, std::string> captured;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (!ps[i].empty() && ps[i].front() == ':') {
      if (xs[i].empty()) return false;
      captured.emplace(std::string(ps[i].substr(1)), std::string(xs[i]));
    } else if (ps[i] != xs[i]) {
      return false;
    }
  }
  if (params) *params = std::move(captured);
  return true;
}
}  // namespace

void Router::Add(Route route) { routes_.push_back(std::move(route)); }

const Route* Router::Match(std::string_view method, std::string_view path,
                           std::map<std::string, std::string>* params, bool* path_matched) const {
  if (path_matched) *path_matched = false;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> captured;
    if (!MatchPattern(r.pattern, path, &captured)) continue;
    if (path_matched) *path_matched = true;
    if (r.method != method) continue;
    if (params) *params = std::move(captured);
    return &r;
  }
  return nullptr;
}

}  // namespace kexin::server
