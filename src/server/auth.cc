#include "server/auth.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/thread_name.h"
#include "server/httpsig.h"
#include "server/users.h"

namespace kexin::server {
namespace {

using Clock = std::chrono::steady_clock;

// Bumped by InvalidateAuthCaches; a cache entry from an older generation is a miss.
std::atomic<uint64_t> cache_generation{1};
std::atomic<uint64_t> next_authenticator_id{1};

template <typename V>
class TtlCache {
 public:
  bool Get(const std::string& key, V* out) {
    std::shared_lock lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    if (it->second.expires < Clock::now() ||
        it->second.generation != cache_generation.load(std::memory_order_relaxed)) {
      return false;
    }
    *out = it->second.value;
    return true;
  }
  void Put(const std::string& key, V value, std::chrono::seconds ttl) {
    std::unique_lock lock(mu_);
    if (map_.size() >= 100000) map_.clear();  // bounded: unknown tokens cannot grow it forever
    map_[key] = {std::move(value), Clock::now() + ttl,
                 cache_generation.load(std::memory_order_relaxed)};
  }

 private:
  struct Entry {
    V value;
    Clock::time_point expires;
    uint64_t generation;
  };
  std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> map_;
};

AuthOutcome Deny(int status, std::string_view code, std::string message) {
  AuthOutcome o;
  o.status = status;
  o.code = std::string(code);
  o.message = std::move(message);
  return o;
}

bool StartsWithCaseless(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string RoleList(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) {
    if (!out.empty()) out += ", ";
    out += RoleName(r);
  }
  return out;
}

}  // namespace

void InvalidateAuthCaches() { cache_generation.fetch_add(1); }

struct Authenticator::Impl {
  StorePool* stores;
  int64_t window;
  // token hash -> user principal (kind kAnonymous caches "no such token").
  TtlCache<Principal> tokens;
  // public key hex -> peer principal (kind kAnonymous caches "not a peer").
  TtlCache<Principal> peers;
  std::mutex nonce_mu;
  std::unordered_map<std::string, int64_t> nonces;  // keyid + " " + nonce -> created
  int64_t last_memory_prune = 0;
  std::atomic<int64_t> last_db_prune{0};

  // Nonces are written through their own connections. PostgreSQL: one insert per request,
  // committed without waiting for the disk (synchronous_commit=off), so a replay check does not
  // cost an fsync. SQLite: batches written by the flusher (below). Either way a crash can forget
  // the last moments' nonces; the in-memory set covers them while the process lives.
  std::unique_ptr<StorePool> nonce_stores;
  std::string public_origin;  // scheme://authority, no trailing slash; empty: from Host
  bool serialize_inserts = false;
  std::mutex insert_mu;
  // Write-behind (SQLite, where one `kexin serve` receives a node's peer requests): the
  // in-memory set, loaded from the table at start (the nonces still inside the window), decides;
  // accepted nonces are written by the flusher in batches (every kNonceFlushInterval or
  // kNonceFlushBatch nonces, and when the Authenticator is destroyed) instead of one insert and
  // commit per request. On PostgreSQL, where several server processes may share the database,
  // every nonce is inserted at once and the table decides.
  bool write_behind = false;
  struct NonceRow {
    std::string key, nonce;
    int64_t created;
  };
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::vector<NonceRow> queue;
  bool flusher_stop = false;
  std::thread flusher;
  uint64_t id = next_authenticator_id.fetch_add(1);  // never reused, unlike addresses
  Result<store::Store*> NonceStore() {
    thread_local std::unordered_map<uint64_t, store::Store*> configured;
    auto it = configured.find(id);
    if (it != configured.end()) return it->second;
    KEXIN_ASSIGN_OR_RETURN(store::Store * st, nonce_stores->ForThisThread());
    // PostgreSQL: each nonce is committed at once, without waiting for the disk. SQLite: batches
    // are committed in the background by the flusher, durably.
    if (st->backend() != "sqlite") KEXIN_RETURN_IF_ERROR(st->Exec("SET synchronous_commit = off"));
    configured[id] = st;
    return st;
  }

  ~Impl() {
    if (!flusher.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(queue_mu);
      flusher_stop = true;
    }
    queue_cv.notify_one();
    flusher.join();
  }
  void FlushLoop();
  // Fills `nonces` with the table's rows still inside the window.
  Status LoadNonces();
  // Inserts `rows` in one transaction and prunes expired rows now and then.
  Status WriteNonces(const std::vector<NonceRow>& rows, int64_t now);
  // Deletes rows older than the window from both nonce tables, at most once a minute.
  Status PruneNoncesIfDue(store::Store& st, int64_t now);

  AuthOutcome Token(const Route& route, const Request& req);
  AuthOutcome Peer(const Request& req, std::string_view scheme);
  // True when the nonce is new (and now remembered); false for a replay.
  Result<bool> RememberNonce(const httpsig::Verified& v, int64_t now);
};

Authenticator::Authenticator(StorePool* stores, int64_t window) : impl_(std::make_unique<Impl>()) {
  impl_->stores = stores;
  impl_->window = window;
  if (stores) {
    // On SQLite the nonces live in their own database file beside the node's
    // (httpsig-nonces.db): a nonce insert per peer request must not queue for the write lock that
    // the contract engine, the ledger and the registry take on node.db (SQLite has one writer per
    // file and its busy handler sleeps). Inserts from this process take turns on a mutex instead.
    const std::string& url = stores->url();
    if (url.rfind("sqlite:", 0) == 0) {
      std::string path = url.substr(7);
      size_t slash = path.rfind('/');
      std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
      impl_->nonce_stores = std::make_unique<StorePool>("sqlite:" + dir + "/httpsig-nonces.db");
      impl_->serialize_inserts = true;
      impl_->write_behind = impl_->LoadNonces().ok();  // else: insert each, as on PostgreSQL
      if (impl_->write_behind) {
        impl_->flusher = std::thread([impl = impl_.get()] {
          NameThisThread("kexin-nonces");
          impl->FlushLoop();
        });
      }
    } else {
      impl_->nonce_stores = std::make_unique<StorePool>(url);
    }
  }
}
Authenticator::~Authenticator() = default;

Result<Peer> CachedPeer(StorePool& stores, std::string_view name) {
  static TtlCache<Peer> cache;
  Peer p;
  // Per database: a process may serve several nodes (tests do), each with its own peers.
  const std::string key = stores.url() + '\n' + std::string(name);
  if (cache.Get(key, &p)) return p;
  KEXIN_ASSIGN_OR_RETURN(store::Store * store, stores.ForThisThread());
  KEXIN_ASSIGN_OR_RETURN(p, GetPeer(*store, name));
  cache.Put(key, p, kTokenCacheTtl);
  return p;
}

void Authenticator::SetPublicOrigin(std::string origin) {
  // Keep scheme://authority only.
  size_t scheme_end = origin.find("://");
  if (scheme_end != std::string::npos) {
    size_t path = origin.find('/', scheme_end + 3);
    if (path != std::string::npos) origin.resize(path);
  }
  impl_->public_origin = std::move(origin);
}

AuthOutcome Authenticator::Impl::Token(const Route& route, const Request& req) {
  auto header = req.Header("authorization");
  if (!header) {
    return Deny(401, "missing_token",
                req.method + " " + route.pattern + " requires \"Authorization: Bearer <token>\"");
  }
  if (!StartsWithCaseless(*header, "bearer ")) {
    return Deny(401, "invalid_token", "the Authorization header must be \"Bearer <token>\"");
  }
  std::string_view token = std::string_view(*header).substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > 256) return Deny(401, "invalid_token", "invalid API token");
  std::string hash = TokenHash(token);
  Principal p;
  if (!tokens.Get(hash, &p)) {
    auto st = stores->ForThisThread();
    if (!st.ok()) return Deny(500, "internal", "cannot open the store: " + st.status().message());
    auto user = FindUserByTokenHash(**st, hash);
    if (!user.ok()) return Deny(500, "internal", "user lookup failed: " + user.status().message());
    if (*user) {
      p.kind = Principal::Kind::kUser;
      p.name = (*user)->name;
      p.role = (*user)->role;
      tokens.Put(hash, p, kTokenCacheTtl);
    } else {
      p = Principal();
      tokens.Put(hash, p, kNegativeCacheTtl);
    }
  }
  if (p.kind != Principal::Kind::kUser) return Deny(401, "invalid_token", "invalid API token");
  if (!route.roles.empty() &&
      std::find(route.roles.begin(), route.roles.end(), p.role) == route.roles.end()) {
    return Deny(403, "forbidden",
                "user \"" + p.name + "\" with role " + std::string(RoleName(p.role)) + " may not " +
                    req.method + " " + route.pattern + " (allowed: " + RoleList(route.roles) + ")");
  }
  AuthOutcome o;
  o.principal = std::move(p);
  return o;
}

Result<bool> Authenticator::Impl::RememberNonce(const httpsig::Verified& v, int64_t now) {
  std::string key = v.keyid + " " + v.nonce;
  {
    std::lock_guard<std::mutex> lock(nonce_mu);
    if (now - last_memory_prune > 10) {
      for (auto it = nonces.begin(); it != nonces.end();) {
        it = it->second < now - window - 1 ? nonces.erase(it) : std::next(it);
      }
      last_memory_prune = now;
    }
    if (!nonces.emplace(key, v.created).second) return false;
  }
  if (write_behind) {
    std::lock_guard<std::mutex> lock(queue_mu);
    queue.push_back({v.keyid, v.nonce, v.created});
    if (queue.size() >= kNonceFlushBatch) queue_cv.notify_one();
    return true;
  }
  KEXIN_ASSIGN_OR_RETURN(store::Store * st, NonceStore());
  std::unique_lock<std::mutex> serial(insert_mu, std::defer_lock);
  if (serialize_inserts) serial.lock();
  PruneNoncesIfDue(*st, now).IgnoreError();
  std::vector<store::Value> params;
  params.reserve(3);
  params.emplace_back(v.keyid);
  params.emplace_back(v.nonce);
  params.emplace_back(v.created);
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, st->Query("INSERT INTO httpsig_nonces (key, nonce, created) VALUES ($1, $2, $3) "
                           "ON CONFLICT DO NOTHING RETURNING nonce",
                           params));
  return !rows.empty();
}

void Authenticator::Impl::FlushLoop() {
  std::unique_lock<std::mutex> lock(queue_mu);
  while (true) {
    queue_cv.wait_for(lock, kNonceFlushInterval,
                      [&] { return flusher_stop || queue.size() >= kNonceFlushBatch; });
    std::vector<NonceRow> rows;
    rows.swap(queue);
    const bool stop = flusher_stop;
    lock.unlock();
    if (!rows.empty()) {
      // On failure the nonces stay in memory, where this process checks them; only a restart
      // within the signature window would miss them (as with a crash before the flush).
      Status s = WriteNonces(rows, static_cast<int64_t>(std::time(nullptr)));
      (void)s;
    }
    if (stop) return;
    lock.lock();
  }
}

Status Authenticator::Impl::PruneNoncesIfDue(store::Store& st, int64_t now) {
  int64_t last = last_db_prune.load();
  if (now - last <= 60 || !last_db_prune.compare_exchange_strong(last, now)) return Status::Ok();
  const std::vector<store::Value> cutoff{int64_t{now - window - 1}};
  KEXIN_RETURN_IF_ERROR(st.Exec("DELETE FROM httpsig_nonce_log WHERE created < $1", cutoff));
  return st.Exec("DELETE FROM httpsig_nonces WHERE created < $1", cutoff);
}

Status Authenticator::Impl::LoadNonces() {
  KEXIN_ASSIGN_OR_RETURN(store::Store * st, NonceStore());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  // The batches' log, and rows inserted one by one (before the log existed, or as a fallback).
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         st->Query("SELECT key, nonce, created FROM httpsig_nonce_log WHERE"
                                   " created >= $1 UNION ALL SELECT key, nonce, created FROM"
                                   " httpsig_nonces WHERE created >= $1",
                                   {int64_t{now - window - 1}}));
  std::lock_guard<std::mutex> lock(nonce_mu);
  nonces.reserve(rows.size());
  for (const auto& r : rows) {
    nonces.emplace(store::AsText(r[0]) + " " + store::AsText(r[1]), store::AsInt(r[2]));
  }
  return Status::Ok();
}

Status Authenticator::Impl::WriteNonces(const std::vector<NonceRow>& rows, int64_t now) {
  KEXIN_ASSIGN_OR_RETURN(store::Store * st, NonceStore());
  std::lock_guard<std::mutex> serial(insert_mu);
  KEXIN_RETURN_IF_ERROR(st->Begin());
  Status s = PruneNoncesIfDue(*st, now);
  for (size_t i = 0; s.ok() && i < rows.size(); ++i) {
    s = st->Exec("INSERT INTO httpsig_nonce_log (created, key, nonce) VALUES ($1, $2, $3)",
                 {rows[i].created, rows[i].key, rows[i].nonce});
  }
  if (s.ok()) s = st->Commit();
  if (!s.ok()) st->Rollback().IgnoreError();
  return s;
}

AuthOutcome Authenticator::Impl::Peer(const Request& req, std::string_view scheme) {
  httpsig::VerifyInput in;
  in.method = req.method;
  std::string target_uri;
  if (!public_origin.empty()) {
    target_uri = public_origin + req.target;
  } else {
    auto host = req.Header("host");
    target_uri = std::string(scheme) + "://" + host.value_or("") + req.target;
  }
  in.target_uri = target_uri;
  in.body = req.body;
  auto digest = req.Header("content-digest");
  auto input = req.Header("signature-input");
  auto sig = req.Header("signature");
  if (digest) in.content_digest = *digest;
  if (input) in.signature_input = *input;
  if (sig) in.signature = *sig;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  in.now = now;
  in.window = window;
  httpsig::VerifyResult vr = httpsig::Verify(in);
  if (!vr.ok()) return Deny(401, vr.error_code, vr.message);
  Principal p;
  if (!peers.Get(vr.verified.keyid, &p)) {
    auto st = stores->ForThisThread();
    if (!st.ok()) return Deny(500, "internal", "cannot open the store: " + st.status().message());
    auto peer = FindPeerByKey(**st, vr.verified.keyid);
    if (!peer.ok()) return Deny(500, "internal", "peer lookup failed: " + peer.status().message());
    p = Principal();
    if (*peer) {
      p.kind = Principal::Kind::kPeer;
      p.name = (*peer)->name;
      p.public_key = (*peer)->public_key;
      p.url = (*peer)->url;
    }
    peers.Put(vr.verified.keyid, p, (*peer) ? kTokenCacheTtl : kNegativeCacheTtl);
  }
  if (p.kind != Principal::Kind::kPeer) {
    return Deny(401, httpsig::kUnknownSigner,
                "keyid " + vr.verified.keyid + " is not a trusted peer (kexin peer add)");
  }
  auto fresh = RememberNonce(vr.verified, now);
  if (!fresh.ok()) return Deny(500, "internal", "nonce check failed: " + fresh.status().message());
  if (!*fresh) {
    return Deny(401, httpsig::kReplayedNonce,
                "nonce \"" + vr.verified.nonce + "\" of peer \"" + p.name + "\" was already used");
  }
  AuthOutcome o;
  o.principal = std::move(p);
  return o;
}

AuthOutcome Authenticator::AuthenticatePeer(const Request& request, std::string_view scheme) {
  return impl_->Peer(request, scheme);
}

AuthOutcome Authenticator::Authenticate(const Route& route, const Request& req,
                                        std::string_view scheme) {
  switch (route.auth) {
    case Auth::kNone:
      return AuthOutcome();
    case Auth::kToken:
      return impl_->Token(route, req);
    case Auth::kPeer:
      return impl_->Peer(req, scheme);
    case Auth::kTokenOrPeer:
      if (req.Header("authorization")) return impl_->Token(route, req);
      if (req.Header("signature-input") || req.Header("signature")) {
        return impl_->Peer(req, scheme);
      }
      return Deny(401, "missing_credentials",
                  req.method + " " + route.pattern +
                      " requires \"Authorization: Bearer <token>\" or a peer signature");
  }
  return Deny(500, "internal", "unknown auth mode");
}

}  // namespace kexin::server
