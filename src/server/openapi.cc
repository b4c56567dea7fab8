#include "server/openapi.h"

#include <set>

namespace kexin::server {

using nlohmann::json;

const json& ErrorSchema() {
  static const json s = {
      {"type", "object"},
      {"required", {"error"}},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"required", {"code", "message", "request_id"}},
          {"properties",
           {{"code", {{"type", "string"}, {"description", "stable machine-readable code"}}},
            {"message", {{"type", "string"}, {"description", "what went wrong, naming the field"}}},
            {"request_id", {{"type", "string"}, {"description", "also in X-Request-Id"}}}}}}}}}};
  return s;
}

namespace {

// "/v1/negotiations/:id" -> "/v1/negotiations/{id}", and the names of the captures.
std::string OpenApiPath(const std::string& pattern, std::vector<std::string>* params) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == ':' && (i == 0 || pattern[i - 1] == '/')) {
      size_t end = pattern.find('/', i);
      std::string name = pattern.substr(i + 1, end == std::string::npos ? end : end - i - 1);
      params->push_back(name);
      out += "{" + name + "}";
      i = end == std::string::npos ? pattern.size() : end;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

std::string OperationId(const Route& r) {
  std::string id;
  for (char c : r.method) id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool upper = true;
  for (char c : r.pattern) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      id += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    } else {
      upper = true;
    }
  }
  return id;
}

json ErrorResponse(const std::string& description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

}  // namespace

json BuildOpenApi(const Router& router) {
  json doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = {
      {"title", "kexin node API"},
      {"version", "0.1.0"},
      {"description",
       "The HTTP API of a kexin node (kexin serve). Authentication: API tokens "
       "(Authorization: Bearer) with roles admin, provider, consumer, auditor, or RFC 9421 "
       "signatures by trusted peers (docs/httpsig.md). Errors: {\"error\":{\"code\",\"message\","
       "\"request_id\"}} (docs/api.md)."}};
  doc["components"]["securitySchemes"] = {
      {"bearerToken",
       {{"type", "http"},
        {"scheme", "bearer"},
        {"description", "API token printed once by `kexin user add`; roles are listed per "
                        "operation in x-kexin-roles."}}},
      {"peerSignature",
       {{"type", "apiKey"},
        {"in", "header"},
        {"name", "Signature"},
        {"description", "RFC 9421 HTTP Message Signature (Ed25519) by a trusted peer's node key, "
                        "with Signature-Input and Content-Digest; see docs/httpsig.md."}}}};
  doc["components"]["schemas"]["Error"] = ErrorSchema();
  json paths = json::object();
  std::set<std::string> tags;
  for (const auto& r : router.routes()) {
    std::vector<std::string> params;
    std::string path = OpenApiPath(r.pattern, &params);
    json op;
    op["operationId"] = OperationId(r);
    if (!r.summary.empty()) op["summary"] = r.summary;
    if (!r.tag.empty()) {
      op["tags"] = {r.tag};
      tags.insert(r.tag);
    }
    json roles = json::array();
    for (Role role : r.roles) roles.push_back(RoleName(role));
    switch (r.auth) {
      case Auth::kNone: op["security"] = json::array(); break;
      case Auth::kToken: op["security"] = {{{"bearerToken", json::array()}}}; break;
      case Auth::kPeer: op["security"] = {{{"peerSignature", json::array()}}}; break;
      case Auth::kTokenOrPeer:
        op["security"] = {{{"bearerToken", json::array()}}, {{"peerSignature", json::array()}}};
        break;
    }
    if (r.auth == Auth::kToken || r.auth == Auth::kTokenOrPeer) {
      op["x-kexin-roles"] = roles.empty() ? json::array({"admin", "provider", "consumer", "auditor"})
                                          : roles;
    }
    if (!params.empty()) {
      json ps = json::array();
      for (const auto& p : params) {
        ps.push_back({{"name", p}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
      }
      op["parameters"] = ps;
    }
    if (!r.request_schema.is_null()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", r.request_schema}}}}}};
    }
    json ok = {{"description", "success"}};
    if (!r.response_schema.is_null()) {
      ok["content"] = {{"application/json", {{"schema", r.response_schema}}}};
    }
    json responses = {{"2XX", ok}};
    if (!r.request_schema.is_null()) {
      responses["400"] = ErrorResponse("malformed JSON or an invalid field");
      responses["413"] = ErrorResponse("body larger than the server's limit");
    }
    if (r.auth != Auth::kNone) {
      responses["401"] = ErrorResponse("missing or invalid credentials or signature");
    }
    if (r.auth == Auth::kToken || r.auth == Auth::kTokenOrPeer) {
      responses["403"] = ErrorResponse("the caller's role is not allowed");
    }
    responses["500"] = ErrorResponse("internal error");
    op["responses"] = responses;
    std::string method;
    for (char c : r.method) method += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[path][method] = op;
  }
  doc["paths"] = paths;
  json tag_list = json::array();
  for (const auto& t : tags) tag_list.push_back({{"name", t}});
  doc["tags"] = tag_list;
  return doc;
}

}  // namespace kexin::server
