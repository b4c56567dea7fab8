// Module `server` (node part): what a running node gives the modules that serve its endpoints,
// and the peers it trusts.
//
// NodeContext is built by `kexin serve` (server.cc) before any route is added and outlives the
// server. StorePool hands each thread its own Store (a Store is single-threaded, store.h).
// PeerClient sends node-to-node requests signed with the node key per docs/httpsig.md (RFC 9421)
// over kept-alive HTTP/1.1 connections.
//
// Peers are trusted by their Ed25519 public key (`kexin peer add NAME URL PUBKEY`); a peer's
// request is accepted only when its signature verifies under a key in the peers table.
//
// Thread-safety: StorePool, PeerClient and the Ledger are safe to use from any thread.
#ifndef KEXIN_SERVER_NODE_H_
#define KEXIN_SERVER_NODE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "identity/node_home.h"
#include "kexin/status.h"
#include "ledger/ledger.h"
#include "store/store.h"

namespace kexin::server {

class StorePool {
 public:
  explicit StorePool(std::string url);
  ~StorePool();
  // The calling thread's own Store for this pool, opened (and migrated) on first use.
  Result<store::Store*> ForThisThread();
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  uint64_t id_;  // distinguishes pools in the per-thread cache
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
};

struct PeerClientOptions {
  // A kept-alive connection idle longer than this is closed instead of reused.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  // Idle connections kept per scheme://host:port; more are closed when handed back. At least the
  // contract workers that may deliver to one peer at once: with fewer, every delivery beyond them
  // opened a new connection (38% more CPU per negotiation with 8 against 32 workers).
  size_t max_idle_per_peer = 64;
};

class PeerClient {
 public:
  // `key` signs every request; the signature's keyid is the hex public key (docs/httpsig.md).
  explicit PeerClient(crypto::SigningKey key, PeerClientOptions options = {});
  ~PeerClient();
  // Sends `method url` with a JSON body (may be empty), signed; returns whatever status the peer
  // answered. Transport failures (refused, reset, timeout, TLS) are kIoError naming the URL.
  // `timeout` is a hard deadline for the whole call: resolving the host, connecting, the TLS
  // handshake, writing the request and reading the whole answer (a peer that accepts and never
  // answers, or answers a byte at a time, cannot hold the caller longer).
  // Reuses a kept-alive connection to the same host:port when one is idle and still open. When
  // a reused connection fails before an answer arrives (the peer closed it meanwhile), the request
  // is sent once more on a new connection, within the same deadline, if that is safe: GET, HEAD,
  // PUT, DELETE and OPTIONS, or `repeatable` (the receiver recognises a repeated request, as DSP
  // negotiation messages are, docs/contract.md#messages).
  Result<ClientResponse> Send(std::string_view method, std::string_view url, std::string_view body,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10),
                              bool repeatable = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct Peer {
  std::string name;        // local alias, e.g. "provider"
  std::string url;         // base URL, e.g. "http://127.0.0.1:8443"
  std::string public_key;  // Ed25519 public key, lowercase hex (64 chars)
};

Status AddPeer(store::Store& store, const Peer& peer);  // kFailedPrecondition if name/key taken
Result<Peer> GetPeer(store::Store& store, std::string_view name);  // kNotFound names the peer
Result<std::optional<Peer>> FindPeerByKey(store::Store& store, std::string_view public_key_hex);
Result<std::vector<Peer>> ListPeers(store::Store& store);

struct NodeContext {
  identity::NodeConfig config;
  crypto::SigningKey key;            // the node key
  std::string public_key;            // its public key, lowercase hex
  std::string public_url;            // how peers reach this node, e.g. "http://127.0.0.1:8443"
  ledger::Ledger* ledger = nullptr;  // shared, thread-safe
  StorePool* stores = nullptr;
  PeerClient* client = nullptr;
  // Files the API may register (POST /v1/registrations) must resolve, symlinks followed, to a
  // path under this directory (`kexin serve --data-root`, default <home>/data).
  std::string data_root;
  // Provider side of contract negotiation: a peer may have at most this many negotiations that
  // are not final (`kexin serve --max-negotiations-per-peer`, docs/contract.md#limits); 0 = none.
  int64_t max_negotiations_per_peer = 10000;
  // More /metrics text (Prometheus exposition lines with their HELP and TYPE), one function per
  // module that has some; added while the routes are built, called by GET /metrics.
  std::vector<std::function<std::string()>> metrics_sources;
};

}  // namespace kexin::server

#endif  // KEXIN_SERVER_NODE_H_
