// Test-only stand-ins for the parts of server/node.h whose implementation (the `server` branch)
// is not on main yet. Linked into catalog_routes_test only when no kexin_server library exists;
// the real implementation replaces this file as soon as it lands. No HTTP here: PeerClient::Send
// answers kUnimplemented, and peers live in a minimal table of the same name.
#include <atomic>
#include <map>
#include <memory>

#include "server/node.h"

namespace kexin::server {
namespace {
std::atomic<uint64_t> next_pool_id{1};
Status EnsurePeers(store::Store& s) {
  return s.Exec(
      "CREATE TABLE IF NOT EXISTS peers (name TEXT PRIMARY KEY, url TEXT NOT NULL,"
      " public_key TEXT NOT NULL)");
}
}  // namespace

StorePool::StorePool(std::string url) : url_(std::move(url)), id_(next_pool_id++) {}
StorePool::~StorePool() = default;

Result<store::Store*> StorePool::ForThisThread() {
  thread_local std::map<uint64_t, std::unique_ptr<store::Store>> stores;
  auto& s = stores[id_];
  if (!s) {
    KEXIN_ASSIGN_OR_RETURN(s, store::Store::Open(url_));
    KEXIN_RETURN_IF_ERROR(s->Migrate(store::KexinMigrations()));
  }
  return s.get();
}

struct PeerClient::Impl {};
PeerClient::PeerClient(crypto::SigningKey) : impl_(std::make_unique<Impl>()) {}
PeerClient::~PeerClient() = default;
Result<ClientResponse> PeerClient::Send(std::string_view, std::string_view url, std::string_view,
                                        std::chrono::milliseconds) {
  return Status(StatusCode::kUnimplemented,
                "test stub: no HTTP client to reach " + std::string(url));
}

Status AddPeer(store::Store& s, const Peer& p) {
  KEXIN_RETURN_IF_ERROR(EnsurePeers(s));
  return s.Exec("INSERT INTO peers (name, url, public_key) VALUES ($1, $2, $3)",
                {p.name, p.url, p.public_key});
}

Result<Peer> GetPeer(store::Store& s, std::string_view name) {
  KEXIN_RETURN_IF_ERROR(EnsurePeers(s));
  KEXIN_ASSIGN_OR_RETURN(
      auto rows,
      s.Query("SELECT name, url, public_key FROM peers WHERE name = $1", {std::string(name)}));
  if (rows.empty()) return NotFound("peer '" + std::string(name) + "' does not exist");
  return Peer{store::AsText(rows[0][0]), store::AsText(rows[0][1]), store::AsText(rows[0][2])};
}

}  // namespace kexin::server
