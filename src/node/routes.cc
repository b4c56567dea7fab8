// Registration, ledger and witness endpoints of a node (docs/api.md).
#include <ctime>
#include <filesystem>

#include "catalog/catalog.h"
#include "catalog/offer.h"
#include "node/ledger_views.h"
#include "node/router.h"
#include "node/witness_service.h"
#include "registry/registry.h"

namespace kexin::node {

using nlohmann::json;
using server::Auth;
using server::Principal;
using server::Request;
using server::Response;
using server::Role;
using server::Route;

namespace {

constexpr Role kAdmin = Role::kAdmin;
constexpr Role kProvider = Role::kProvider;
constexpr Role kConsumer = Role::kConsumer;
constexpr Role kAuditor = Role::kAuditor;

// A non-negative decimal without sign or leading junk; nullopt otherwise.
std::optional<uint64_t> ParseSize(const std::string& s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(s);
}

Response Bad(const Request& r, const std::string& field, const std::string& why) {
  return Response::Error(400, "invalid_argument", r.method + " " + r.path + ": " + field + " " + why);
}

// Runs `fn` with a Registry on this thread's store.
Response WithRegistry(server::NodeContext& ctx,
                      const std::function<Result<json>(registry::Registry&)>& fn, int ok_status) {
  auto reg = registry::Registry::Open(ctx.stores->url(), ctx.ledger);
  if (!reg.ok()) return Response::FromStatus(reg.status());
  auto out = fn(**reg);
  if (!out.ok()) return Response::FromStatus(out.status());
  return Response::Json(ok_status, *out);
}

// A provider token must not turn the node into a file reader: only files that resolve (symlinks
// and ".." followed) to a path under the data root are registered, and everything outside gets
// the same answer whether it exists or not (no existence oracle). Returns the resolved path, which
// is what gets registered, so a symlink swapped in after the check is not followed.
Result<std::string> UnderDataRoot(const std::string& root, const std::string& path) {
  const Status outside = PermissionDenied(
      "'file': " + path + " is not under the node's data root (kexin serve --data-root)");
  std::error_code ec;
  if (root.empty()) return outside;
  auto r = std::filesystem::canonical(root, ec);
  if (ec) return outside;
  auto inside = [&r](const std::filesystem::path& p) {
    auto rel = p.lexically_relative(r);
    return !rel.empty() && *rel.begin() != ".." && rel != ".";
  };
  // Lexically first: a path that is not even written under the root is refused unexamined.
  if (!inside(std::filesystem::path(path).lexically_normal())) return outside;
  auto f = std::filesystem::canonical(path, ec);
  if (ec) return NotFound("'file': " + path + " does not exist under the data root");
  if (!inside(f)) return outside;
  return f.string();
}

json RegistrationRequestSchema() {
  return {{"type", "object"},
          {"required", {"file"}},
          {"properties",
           {{"file", {{"type", "string"}, {"description", "absolute path on the node's disk"}}},
            {"meta", {{"type", "object"}}},
            {"meta_toml", {{"type", "string"}}},
            {"full_scan", {{"type", "boolean"}}}}}};
}

void AddRegistrationRoutes(server::Router& router, server::NodeContext& ctx) {
  router.Add(Route{
      "POST", "/v1/registrations", Auth::kToken, {kAdmin, kProvider},
      "Register a data file on the node's disk (数据登记); returns its certificate", "registry",
      RegistrationRequestSchema(), {{"type", "object"}},
      [&ctx](const Request& req, const Principal&) {
        auto body = req.JsonBody();
        if (!body.ok()) return Response::FromStatus(body.status());
        if (!body->is_object()) return Bad(req, "body", "must be a JSON object");
        const json& file = (*body)["file"];
        if (!file.is_string() || file.get<std::string>().empty())
          return Bad(req, "'file'", "is required (an absolute path on the node)");
        std::string path = file.get<std::string>();
        if (!std::filesystem::path(path).is_absolute())
          return Bad(req, "'file'", "must be an absolute path, got '" + path + "'");
        auto resolved = UnderDataRoot(ctx.data_root, path);
        if (!resolved.ok()) return Response::FromStatus(resolved.status());
        path = *resolved;
        json meta;
        if (body->contains("meta_toml")) {
          if (!(*body)["meta_toml"].is_string()) return Bad(req, "'meta_toml'", "must be a string");
          auto m = registry::ParseMeta((*body)["meta_toml"].get<std::string>(), "meta_toml");
          if (!m.ok()) return Response::FromStatus(m.status());
          meta = *m;
        } else if (body->contains("meta") && (*body)["meta"].is_object()) {
          meta = (*body)["meta"];
        } else {
          return Bad(req, "'meta_toml' or 'meta'", "is required");
        }
        registry::RegisterOptions o;
        if (body->contains("full_scan")) {
          if (!(*body)["full_scan"].is_boolean()) return Bad(req, "'full_scan'", "must be a boolean");
          o.full_scan = (*body)["full_scan"].get<bool>();
        }
        return WithRegistry(
            ctx, [&](registry::Registry& r) { return r.Register(path, meta, o); }, 201);
      }});
  router.Add(Route{"GET", "/v1/registrations", Auth::kToken, {kAdmin, kProvider, kAuditor},
                   "Every registration with its status", "registry", nullptr,
                   {{"type", "array"}},
                   [&ctx](const Request&, const Principal&) {
                     return WithRegistry(
                         ctx,
                         [](registry::Registry& r) -> Result<json> {
                           KEXIN_ASSIGN_OR_RETURN(auto list, r.List());
                           return json(list);
                         },
                         200);
                   }});
  router.Add(Route{"GET", "/v1/registrations/:id", Auth::kToken, {kAdmin, kProvider, kAuditor},
                   "The latest version of a registration and its status", "registry", nullptr,
                   {{"type", "object"}},
                   [&ctx](const Request& req, const Principal&) {
                     std::string id = req.params.at("id");
                     return WithRegistry(
                         ctx, [&](registry::Registry& r) { return r.Show(id); }, 200);
                   }});
  router.Add(Route{
      "GET", "/v1/registrations/:id/certificate", Auth::kTokenOrPeer,
      {kAdmin, kProvider, kConsumer, kAuditor},
      "A fresh certificate of a registration's latest version (verifiable offline)", "registry",
      nullptr, {{"type", "object"}}, [&ctx](const Request& req, const Principal& who) {
        std::string id = req.params.at("id");
        if (who.kind == Principal::Kind::kPeer) {
          // A peer sees the certificate of data offered to it, as the catalog shows it; anything
          // else does not exist for it.
          auto st = ctx.stores->ForThisThread();
          if (!st.ok()) return Response::FromStatus(st.status());
          auto offers = catalog::ListOffersFor(**st, id);
          if (!offers.ok()) return Response::FromStatus(offers.status());
          catalog::Viewer v;
          v.name = who.name;
          v.public_key = who.public_key;
          auto region = catalog::PeerRegion(**st, who.name);
          if (!region.ok()) return Response::FromStatus(region.status());
          v.region = *region;
          bool visible = false;
          for (const auto& o : *offers) visible |= !o.withdrawn && catalog::OfferVisibleTo(o, v);
          if (!visible) return Response::Error(404, "not_found", "registration '" + id + "' does not exist");
        }
        return WithRegistry(ctx, [&](registry::Registry& r) { return r.Certificate(id); }, 200);
      }});
}

void AddLedgerRoutes(server::Router& router, server::NodeContext& ctx) {
  router.Add(Route{"GET", "/v1/ledger", Auth::kTokenOrPeer,
                   {kAdmin, kProvider, kConsumer, kAuditor},
                   "The ledger's origin, size, root and latest signed checkpoint", "ledger",
                   nullptr, {{"type", "object"}},
                   [&ctx](const Request&, const Principal&) {
                     return Response::Json(200, LedgerHead(*ctx.ledger));
                   }});
  router.Add(Route{"GET", "/v1/ledger/entries/:index", Auth::kToken, {kAdmin, kAuditor},
                   "One ledger entry and its leaf hash", "ledger", nullptr, {{"type", "object"}},
                   [&ctx](const Request& req, const Principal&) {
                     auto i = ParseSize(req.params.at("index"));
                     if (!i) return Bad(req, "index", "must be a non-negative integer");
                     auto j = EntryJson(*ctx.ledger, *i);
                     return j.ok() ? Response::Json(200, *j) : Response::FromStatus(j.status());
                   }});
  router.Add(Route{
      "GET", "/v1/ledger/proof/:index", Auth::kTokenOrPeer, {kAdmin, kAuditor},
      "RFC 9162 inclusion proof of an entry (?size=N; default: current size, with a checkpoint)",
      "ledger", nullptr, {{"type", "object"}}, [&ctx](const Request& req, const Principal&) {
        auto i = ParseSize(req.params.at("index"));
        if (!i) return Bad(req, "index", "must be a non-negative integer");
        std::optional<uint64_t> size;
        if (auto q = req.Query("size")) {
          size = ParseSize(*q);
          if (!size) return Bad(req, "size", "must be a non-negative integer");
        }
        auto j = InclusionProofJson(*ctx.ledger, *i, size);
        return j.ok() ? Response::Json(200, *j) : Response::FromStatus(j.status());
      }});
  router.Add(Route{
      "GET", "/v1/ledger/consistency", Auth::kTokenOrPeer, {kAdmin, kAuditor},
      "RFC 9162 consistency proof between ?old=N and ?new=M (default: current size)", "ledger",
      nullptr, {{"type", "object"}}, [&ctx](const Request& req, const Principal&) {
        auto q = req.Query("old");
        auto old_size = q ? ParseSize(*q) : std::nullopt;
        if (!old_size) return Bad(req, "old", "is required (a non-negative integer)");
        std::optional<uint64_t> new_size;
        if (auto n = req.Query("new")) {
          new_size = ParseSize(*n);
          if (!new_size) return Bad(req, "new", "must be a non-negative integer");
        }
        auto j = ConsistencyProofJson(*ctx.ledger, *old_size, new_size);
        return j.ok() ? Response::Json(200, *j) : Response::FromStatus(j.status());
      }});
  router.Add(Route{"POST", "/v1/ledger/checkpoint", Auth::kToken, {kAdmin},
                   "Sign a checkpoint at the current size (C2SP tlog-checkpoint note)", "ledger",
                   nullptr, {{"type", "object"}},
                   [&ctx](const Request&, const Principal&) {
                     auto note = ctx.ledger->SignCheckpoint();
                     if (!note.ok()) return Response::FromStatus(note.status());
                     return Response::Json(200, {{"checkpoint", *note}});
                   }});
}

Response TextResponse(int status, std::string content_type, std::string body) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

// POST /add-checkpoint, C2SP tlog-witness: the log is one of this node's peers, recognised by a
// signature line whose key id is its node key under the checkpoint's origin.
Response AddCheckpoint(server::NodeContext& ctx, const Request& req) {
  auto body = ParseAddCheckpointBody(req.body);
  if (!body.ok()) return TextResponse(400, "text/plain", body.status().message() + "\n");
  auto note = ledger::SignedNote::Parse(body->note);
  if (!note.ok()) {
    return TextResponse(400, "text/plain", "add-checkpoint: " + note.status().message() + "\n");
  }
  auto cp = ledger::Checkpoint::ParseBody(note->text);
  if (!cp.ok()) {
    return TextResponse(400, "text/plain", "add-checkpoint: " + cp.status().message() + "\n");
  }
  if (body->old_size > cp->size) {
    return TextResponse(400, "text/plain", "add-checkpoint: old size is larger than the checkpoint\n");
  }
  auto store = ctx.stores->ForThisThread();
  if (!store.ok()) return Response::FromStatus(store.status());
  auto peers = server::ListPeers(**store);
  if (!peers.ok()) return Response::FromStatus(peers.status());
  std::optional<ledger::VerifierKey> log_key;
  for (const auto& p : *peers) {
    auto raw = crypto::HexDecode(p.public_key);
    if (!raw.ok() || raw->size() != 32) continue;
    ledger::VerifierKey k;
    k.name = cp->origin;
    std::copy(raw->begin(), raw->end(), k.key.begin());
    for (const auto& sig : note->signatures) {
      if (sig.name == k.name && sig.key_id == k.id()) log_key = k;
    }
    if (log_key) break;
  }
  if (!log_key) {
    return TextResponse(404, "text/plain",
                        "add-checkpoint: no trusted peer signs the log '" + cp->origin + "'\n");
  }
  WitnessRequest w{body->note, *log_key, body->old_size, body->proof};
  auto r = WitnessCheckpoint(**store, w, *ctx.ledger, static_cast<uint64_t>(time(nullptr)));
  if (r.status.ok()) {
    ledger::SignedNote only;
    only.text = note->text;
    only.signatures.push_back(*r.cosignature);
    std::string serialized = only.Serialize();
    // The response is the signature lines alone: what follows the blank line.
    return TextResponse(200, "text/plain; charset=utf-8",
                        serialized.substr(note->text.size() + 1));
  }
  if (r.witnessed_size) {
    return TextResponse(409, "text/x.tlog.size", std::to_string(*r.witnessed_size) + "\n");
  }
  const std::string& m = r.status.message();
  if (r.status.code() == StatusCode::kCorruption) {
    bool proof = m.find("consistency") != std::string::npos;
    return TextResponse(proof ? 422 : 403, "text/plain", "add-checkpoint: " + m + "\n");
  }
  if (r.status.code() == StatusCode::kInvalidArgument) {
    return TextResponse(400, "text/plain", "add-checkpoint: " + m + "\n");
  }
  return Response::FromStatus(r.status);
}

}  // namespace

void AddNodeRoutes(server::Router& router, server::NodeContext& ctx) {
  AddRegistrationRoutes(router, ctx);
  AddLedgerRoutes(router, ctx);
  router.Add(Route{"POST", "/add-checkpoint", Auth::kNone, {},
                   "C2SP tlog-witness: cosign a trusted peer's checkpoint (text body)", "witness",
                   nullptr, nullptr,
                   [&ctx](const Request& req, const Principal&) { return AddCheckpoint(ctx, req); }});
}

}  // namespace kexin::node
