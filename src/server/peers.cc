// Peers table and the per-thread StorePool (node.h).
#include <atomic>
#include <cctype>
#include <unordered_map>

#include "base/clock.h"
#include "server/node.h"
#include "server/url.h"

namespace kexin::server {

namespace {
std::atomic<uint64_t> next_pool_id{1};
thread_local std::unordered_map<uint64_t, std::unique_ptr<store::Store>> thread_stores;
}  // namespace

StorePool::StorePool(std::string url) : url_(std::move(url)), id_(next_pool_id++) {}

// Other threads' stores for this pool close when those threads exit; ids are never reused.
StorePool::~StorePool() { thread_stores.erase(id_); }

Result<store::Store*> StorePool::ForThisThread() {
  auto it = thread_stores.find(id_);
  if (it != thread_stores.end()) return it->second.get();
  KEXIN_ASSIGN_OR_RETURN(auto s, store::Store::Open(url_));
  KEXIN_RETURN_IF_ERROR(s->Migrate(store::KexinMigrations()));
  store::Store* raw = s.get();
  thread_stores.emplace(id_, std::move(s));
  return raw;
}

namespace {
bool ValidPeerName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

Peer FromRow(const store::Row& r) {
  return {store::AsText(r[0]), store::AsText(r[1]), store::AsText(r[2])};
}
}  // namespace

Status AddPeer(store::Store& store, const Peer& peer_in) {
  Peer peer = peer_in;
  if (!ValidPeerName(peer.name)) {
    return InvalidArgument("peer name \"" + peer.name +
                           "\": use 1-64 characters of A-Z a-z 0-9 . _ -");
  }
  if (auto u = internal::ParseUrl(peer.url); !u.ok()) {
    return InvalidArgument("peer url: " + u.status().message());
  }
  while (!peer.url.empty() && peer.url.back() == '/') peer.url.pop_back();
  for (char& c : peer.public_key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto key = crypto::HexDecode(peer.public_key);
  if (peer.public_key.size() != 64 || !key.ok()) {
    return InvalidArgument("peer public_key \"" + peer.public_key +
                           "\": must be an Ed25519 public key in 64 hex digits");
  }
  KEXIN_RETURN_IF_ERROR(store.Begin());
  auto rows = store.Query("SELECT name, public_key FROM peers WHERE name = $1 OR public_key = $2",
                          {peer.name, peer.public_key});
  if (!rows.ok() || !rows->empty()) {
    store.Rollback().IgnoreError();
    if (!rows.ok()) return rows.status();
    const auto& r = (*rows)[0];
    if (store::AsText(r[0]) == peer.name) {
      return FailedPrecondition("peer \"" + peer.name + "\" already exists");
    }
    return FailedPrecondition("public key " + peer.public_key + " already belongs to peer \"" +
                              store::AsText(r[0]) + "\"");
  }
  Status s = store.Exec("INSERT INTO peers (name, url, public_key, added) VALUES ($1, $2, $3, $4)",
                        {peer.name, peer.url, peer.public_key, NowRfc3339()});
  if (!s.ok()) {
    store.Rollback().IgnoreError();
    return s;
  }
  return store.Commit();
}

Result<Peer> GetPeer(store::Store& store, std::string_view name) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, store.Query("SELECT name, url, public_key FROM peers WHERE "
                                                "name = $1",
                                                {std::string(name)}));
  if (rows.empty()) return NotFound("peer \"" + std::string(name) + "\" does not exist");
  return FromRow(rows[0]);
}

Result<std::optional<Peer>> FindPeerByKey(store::Store& store, std::string_view public_key_hex) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, store.Query("SELECT name, url, public_key FROM peers WHERE "
                                                "public_key = $1",
                                                {std::string(public_key_hex)}));
  if (rows.empty()) return std::optional<Peer>();
  return std::optional<Peer>(FromRow(rows[0]));
}

Result<std::vector<Peer>> ListPeers(store::Store& store) {
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         store.Query("SELECT name, url, public_key FROM peers ORDER BY name"));
  std::vector<Peer> out;
  for (const auto& r : rows) out.push_back(FromRow(r));
  return out;
}

}  // namespace kexin::server
