// Server commands: `kexin serve`, `kexin user add|list|remove`, `kexin peer add|list` and
// `kexin openapi`. See docs/cli.md and docs/api.md.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "identity/node_home.h"
#include "node/router.h"
#include "server/auth.h"
#include "server/node.h"
#include "server/openapi.h"
#include "server/server.h"
#include "server/users.h"
#include "tools/kexin/commands.h"

namespace kexin::cli {
namespace {

using nlohmann::json;

void AddHome(CLI::App* cmd, std::string* home) {
  cmd->add_option("--home", *home, "Node home directory (default $KEXIN_HOME or ~/.kexin)");
}

// The node's store, migrated, for the user and peer commands.
Result<std::unique_ptr<store::Store>> OpenStore(const std::string& home) {
  KEXIN_ASSIGN_OR_RETURN(auto config, identity::LoadHome(home));
  KEXIN_ASSIGN_OR_RETURN(auto st, store::Store::Open(config.store_url));
  KEXIN_RETURN_IF_ERROR(st->Migrate(store::KexinMigrations()));
  return st;
}

std::string HexKey(const crypto::SigningKey& key) {
  return crypto::HexEncode(std::string_view(reinterpret_cast<const char*>(key.public_key().data()),
                                            key.public_key().size()));
}

struct ServeArgs {
  std::string home = identity::DefaultHome();
  std::string listen = "127.0.0.1:8443";
  std::string public_url, tls_cert, tls_key, data_root;
  int threads = 0;
  int workers = 0;
  size_t body_limit = 1 << 20;
  int64_t signature_window = 300;
  int64_t max_negotiations_per_peer = 10000;
  bool access_log = false;
};

// A SQLite node is served by one process: its replay nonces are decided by that process's memory
// (docs/httpsig.md#nonces-and-replays). Holds an exclusive flock on `serve.lock` beside node.db
// until the process exits, with the holder's pid in it for the message to a second server.
Status LockSqliteHome(const std::string& store_url) {
  if (store_url.rfind("sqlite:", 0) != 0) return Status::Ok();
  std::string db = store_url.substr(7);
  size_t slash = db.rfind('/');
  std::string path =
      (slash == std::string::npos ? std::string(".") : db.substr(0, slash)) + "/serve.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(path, errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    if (err != EWOULDBLOCK) return ErrnoError(path, err);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return FailedPrecondition(path + ": this node is already served by another kexin serve" +
                              (pid.empty() ? std::string() : " (pid " + pid + ")") +
                              "; a SQLite node takes one server process");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    Status s = ErrnoError(path, errno);
    close(fd);
    return s;
  }
  return Status::Ok();  // fd stays open, and the lock held, until the process exits
}

int RunServe(const ServeArgs& a, std::chrono::steady_clock::time_point t0) {
  auto config = identity::LoadHome(a.home);
  if (!config.ok()) return Fail(config.status());
  Status locked = LockSqliteHome(config->store_url);
  if (!locked.ok()) return Fail(locked);
  auto key = identity::LoadNodeKey(*config);
  if (!key.ok()) return Fail(key.status());
  auto ledger = identity::OpenLedger(*config);
  if (!ledger.ok()) return Fail(ledger.status());
  server::StorePool stores(config->store_url);
  server::PeerClient client(*key);
  server::NodeContext ctx;
  ctx.config = *config;
  ctx.key = *key;
  ctx.public_key = HexKey(*key);
  ctx.ledger = ledger->get();
  ctx.stores = &stores;
  ctx.client = &client;
  ctx.data_root = a.data_root.empty() ? config->home + "/data" : a.data_root;
  ctx.max_negotiations_per_peer = a.max_negotiations_per_peer;
  server::ServerOptions opt;
  opt.listen = a.listen;
  opt.threads = a.threads;
  opt.workers = a.workers;
  opt.tls_cert = a.tls_cert;
  opt.tls_key = a.tls_key;
  opt.body_limit = a.body_limit;
  opt.access_log = a.access_log;
  opt.signature_window = a.signature_window;
  opt.handle_signals = true;
  opt.process_start = t0;
  // Without --public-url, the URL the server is listening on (known once bound: port 0 works).
  ctx.public_url = a.public_url;
  while (!ctx.public_url.empty() && ctx.public_url.back() == '/') ctx.public_url.pop_back();
  if (ctx.public_url.empty()) {
    // Modules copy the public URL when their routes are added (catalog endpoint, negotiation
    // callbacks), so derive it from --listen now; only port 0 must wait for the bound port.
    size_t colon = a.listen.rfind(':');
    std::string host = colon == std::string::npos ? a.listen : a.listen.substr(0, colon);
    std::string port = colon == std::string::npos ? "" : a.listen.substr(colon + 1);
    if (host == "0.0.0.0" || host == "::" || host == "[::]" || host.empty()) {
      return Fail(InvalidArgument(
          "--listen " + a.listen +
          " listens on every address: give --public-url, the URL peers use to reach this node"));
    }
    if (!port.empty() && port != "0") {
      ctx.public_url = std::string(a.tls_cert.empty() ? "http" : "https") + "://" + a.listen;
    }
  }
  opt.public_url = ctx.public_url;
  opt.on_bound = [&ctx](const std::string& url) {
    if (ctx.public_url.empty()) ctx.public_url = url;
  };
  server::Router router = node::BuildNodeRouter(ctx);
  server::Server srv(router, ctx, opt);
  Status s = srv.Start();
  if (!s.ok()) return Fail(s);
  srv.Wait();
  return 0;
}

}  // namespace

void RegisterServe(CLI::App& app, RunFn* run) {
  // kexin serve
  {
    auto a = std::make_shared<ServeArgs>();
    CLI::App* cmd = app.add_subcommand("serve", "Run the node's HTTP API server (docs/api.md)");
    AddHome(cmd, &a->home);
    cmd->add_option("--listen", a->listen, "HOST:PORT to listen on (default 127.0.0.1:8443)");
    cmd->add_option("--public-url", a->public_url,
                    "URL peers use to reach this node (default: from --listen)");
    cmd->add_option("--threads", a->threads, "I/O threads (default: hardware concurrency)")
        ->check(CLI::Range(0, 1024));
    cmd->add_option("--workers", a->workers, "Handler threads (default: max(32, 8 x threads))")
        ->check(CLI::Range(0, 4096));
    cmd->add_option("--tls-cert", a->tls_cert, "PEM certificate chain: serve HTTPS");
    cmd->add_option("--tls-key", a->tls_key, "PEM private key of --tls-cert");
    cmd->add_option("--body-limit", a->body_limit, "Largest request body in bytes (default 1 MiB)")
        ->check(CLI::Range(size_t{1}, size_t{1} << 30));
    cmd->add_option("--signature-window", a->signature_window,
                    "Seconds a peer signature's created time may differ from now (default 300)")
        ->check(CLI::Range(int64_t{1}, int64_t{86400}));
    cmd->add_flag("--access-log", a->access_log, "Log one JSON line per request on stderr");
    cmd->add_option(
        "--data-root", a->data_root,
        "Directory whose files POST /v1/registrations may register (default HOME/data)");
    cmd->add_option("--max-negotiations-per-peer", a->max_negotiations_per_peer,
                    "Negotiations a peer may have with this provider that are not final; more "
                    "are refused with 429 (default 10000, 0 = no limit)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
    cmd->callback([run, a] {
      auto t0 = std::chrono::steady_clock::now();
      *run = [a, t0] { return RunServe(*a, t0); };
    });
  }
  // kexin user add|list|remove
  {
    struct A {
      std::string home = identity::DefaultHome(), name, role;
    };
    auto a = std::make_shared<A>();
    CLI::App* user = app.add_subcommand("user", "API users and their tokens (docs/api.md)");
    user->require_subcommand(1);
    CLI::App* add = user->add_subcommand("add", "Add a user; prints its token once");
    AddHome(add, &a->home);
    add->add_option("NAME", a->name, "User name")->required();
    add->add_option("--role", a->role, "admin, provider, consumer or auditor")
        ->required()
        ->check(CLI::IsMember({"admin", "provider", "consumer", "auditor"}));
    add->callback([run, a] {
      *run = [a] {
        auto st = OpenStore(a->home);
        if (!st.ok()) return Fail(st.status());
        auto u = server::AddUser(**st, a->name, *server::ParseRole(a->role));
        if (!u.ok()) return Fail(u.status());
        return Print({{"name", u->user.name},
                      {"role", server::RoleName(u->user.role)},
                      {"token", u->token}});
      };
    });
    CLI::App* list = user->add_subcommand("list", "List users (never their tokens)");
    AddHome(list, &a->home);
    list->callback([run, a] {
      *run = [a] {
        auto st = OpenStore(a->home);
        if (!st.ok()) return Fail(st.status());
        auto users = server::ListUsers(**st);
        if (!users.ok()) return Fail(users.status());
        json out = json::array();
        for (const auto& u : *users) {
          out.push_back(
              {{"name", u.name}, {"role", server::RoleName(u.role)}, {"created", u.created}});
        }
        return Print(out);
      };
    });
    CLI::App* remove = user->add_subcommand("remove", "Remove a user and revoke its token");
    AddHome(remove, &a->home);
    remove->add_option("NAME", a->name, "User name")->required();
    remove->callback([run, a] {
      *run = [a] {
        auto st = OpenStore(a->home);
        if (!st.ok()) return Fail(st.status());
        Status s = server::RemoveUser(**st, a->name);
        if (!s.ok()) return Fail(s);
        return Print({{"name", a->name}, {"removed", true}});
      };
    });
  }
  // kexin peer add|list
  {
    struct A {
      std::string home = identity::DefaultHome(), name, url, key;
    };
    auto a = std::make_shared<A>();
    CLI::App* peer = app.add_subcommand("peer", "Peers this node trusts by public key");
    peer->require_subcommand(1);
    CLI::App* add = peer->add_subcommand("add", "Trust a peer: NAME URL PUBKEY (64 hex digits)");
    AddHome(add, &a->home);
    add->add_option("NAME", a->name, "Local name of the peer")->required();
    add->add_option("URL", a->url, "Base URL of the peer, e.g. http://127.0.0.1:8444")->required();
    add->add_option("PUBKEY", a->key, "The peer's public key (public_key of its /v1/node)")
        ->required();
    add->callback([run, a] {
      *run = [a] {
        auto st = OpenStore(a->home);
        if (!st.ok()) return Fail(st.status());
        Status s = server::AddPeer(**st, {a->name, a->url, a->key});
        if (!s.ok()) return Fail(s);
        auto p = server::GetPeer(**st, a->name);
        if (!p.ok()) return Fail(p.status());
        return Print({{"name", p->name}, {"url", p->url}, {"public_key", p->public_key}});
      };
    });
    CLI::App* list = peer->add_subcommand("list", "List trusted peers");
    AddHome(list, &a->home);
    list->callback([run, a] {
      *run = [a] {
        auto st = OpenStore(a->home);
        if (!st.ok()) return Fail(st.status());
        auto peers = server::ListPeers(**st);
        if (!peers.ok()) return Fail(peers.status());
        json out = json::array();
        for (const auto& p : *peers) {
          out.push_back({{"name", p.name}, {"url", p.url}, {"public_key", p.public_key}});
        }
        return Print(out);
      };
    });
  }
  // kexin openapi
  {
    auto out = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "openapi", "Write the node API's OpenAPI 3.1 document (docs/openapi.json)");
    cmd->add_option("-o,--output", *out, "Output file (default: standard output)");
    cmd->callback([run, out] {
      *run = [out] {
        // The routes only: handlers are never called, so the context needs no home.
        server::NodeContext ctx;
        ctx.key = crypto::SigningKey::Generate();
        server::Router router = node::BuildNodeRouter(ctx);
        return WriteOutput(*out, server::BuildOpenApi(router).dump(2) + "\n");
      };
    });
  }
}

}  // namespace kexin::cli
