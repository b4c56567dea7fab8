// Module `server` (authentication): turns a request's credentials into a Principal for a Route,
// or into the 401/403 error the server answers with (docs/api.md#authentication).
//
// Bearer tokens are hashed (SHA-256) and looked up in the users table; results are cached in
// memory for kTokenCacheTtl (positive) and kNegativeCacheTtl (unknown tokens), so an
// authenticated request costs no database read on the hot path. A removed user's token therefore
// keeps working on a running server for at most kTokenCacheTtl. Peers are looked up by the
// signature's keyid (the public key) with the same kind of cache. Nonces of accepted signatures
// are remembered in memory and inserted into httpsig_nonces (primary key (key, nonce)), so a
// replay is refused by any thread, and after a restart or from another process sharing the
// database; rows older than the signature window are pruned. On SQLite, where one server
// process receives a node's peer requests, the set in memory (loaded from the table at start)
// decides and accepted nonces are written in batches in the background (docs/httpsig.md#replays).
//
// Thread-safety: an Authenticator is used concurrently by all server threads.
#ifndef KEXIN_SERVER_AUTH_H_
#define KEXIN_SERVER_AUTH_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "server/api.h"
#include "server/node.h"

namespace kexin::server {

inline constexpr std::chrono::seconds kTokenCacheTtl{10};
inline constexpr std::chrono::seconds kNegativeCacheTtl{1};
// Background nonce writes (SQLite): at most this long, or this many nonces, between batches.
inline constexpr std::chrono::milliseconds kNonceFlushInterval{50};
inline constexpr size_t kNonceFlushBatch = 512;

struct AuthOutcome {
  Principal principal;
  int status = 0;  // 0 when authenticated, else 401 or 403
  std::string code;
  std::string message;
  bool ok() const { return status == 0; }
};

class Authenticator {
 public:
  Authenticator(StorePool* stores, int64_t signature_window_seconds);
  ~Authenticator();
  // `scheme` is "http" or "https": with the Host header and the request target it forms the
  // @target-uri that peer signatures cover.
  AuthOutcome Authenticate(const Route& route, const Request& request, std::string_view scheme);
  // Peer-only check, for callers outside the router.
  AuthOutcome AuthenticatePeer(const Request& request, std::string_view scheme);
  // This node's public origin ("https://node-a.example:8443"). Once set, the @target-uri a peer
  // signature must cover is this origin plus the request target, whatever the Host header says,
  // so a request signed for another node cannot be replayed here. Call before serving.
  void SetPublicOrigin(std::string origin);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Forgets every cached token and peer (all Authenticators of the process): call after changing
// users or peers so the change takes effect at once in this process.
void InvalidateAuthCaches();

// GetPeer (node.h) on the pool's database through a cache like the signature lookups' (per
// database URL and name): a peer removed or changed by another process is seen within
// kTokenCacheTtl, by this process at once (InvalidateAuthCaches).
Result<Peer> CachedPeer(StorePool& stores, std::string_view name);

}  // namespace kexin::server

#endif  // KEXIN_SERVER_AUTH_H_
