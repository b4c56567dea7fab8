// Module `server` (OpenAPI): the OpenAPI 3.1 document of a Router, generated from its routes
// (paths, methods, path parameters, security per Auth and roles, summaries, tags, request and
// response schemas, the error schema). Served at /openapi.json and written by `kexin openapi`
// into docs/openapi.json.
// Thread-safety: pure function of the router.
#ifndef KEXIN_SERVER_OPENAPI_H_
#define KEXIN_SERVER_OPENAPI_H_

#include <nlohmann/json.hpp>

#include "server/api.h"

namespace kexin::server {

nlohmann::json BuildOpenApi(const Router& router);

// JSON Schema of every error body: {"error":{"code","message","request_id"}}.
const nlohmann::json& ErrorSchema();

}  // namespace kexin::server

#endif  // KEXIN_SERVER_OPENAPI_H_
