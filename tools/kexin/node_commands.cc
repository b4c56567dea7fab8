// Node commands: `kexin init`, `kexin node show`, `kexin ledger ...`, `kexin register`,
// `kexin registration ...` and `kexin cert show|verify`. See docs/cli.md.
#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/file.h"
#include "identity/node_home.h"
#include "ledger/witness.h"
#include "node/ledger_views.h"
#include "node/witness_service.h"
#include "server/node.h"
#include "registry/registry.h"
#include "tools/kexin/commands.h"

namespace kexin::cli {
namespace {

using nlohmann::json;

struct Node {
  identity::NodeConfig config;
  std::unique_ptr<ledger::Ledger> ledger;
};

Result<Node> OpenNode(const std::string& home) {
  Node n;
  KEXIN_ASSIGN_OR_RETURN(n.config, identity::LoadHome(home));
  KEXIN_ASSIGN_OR_RETURN(n.ledger, identity::OpenLedger(n.config));
  return n;
}

std::string B64(const ledger::Hash& h) { return crypto::Base64Encode(crypto::AsBytes(h)); }

Result<json> ReadJsonFile(const std::string& path) {
  KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return DataError(path + ": not valid JSON");
  return j;
}

// Readable "must not be negative" instead of CLI11's range with a 300-digit bound.
const CLI::Validator kNonNegative(
    [](std::string& v) {
      return !v.empty() && v[0] == '-' ? std::string("must not be negative") : std::string();
    },
    "NONNEGATIVE");

// A store URL fit to print: the password of postgresql://user:password@host is replaced.
std::string RedactUrl(const std::string& url) {
  std::string out = url;
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t host_end = out.find_first_of("/?", scheme + 3);
    size_t at = out.rfind('@', host_end == std::string::npos ? std::string::npos : host_end);
    if (at != std::string::npos && at > scheme) {
      size_t colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at)
        out = out.substr(0, colon + 1) + "***" + out.substr(at);
    }
  }
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    size_t end = out.find('&', p);
    out = out.substr(0, p + 9) + "***" + (end == std::string::npos ? "" : out.substr(end));
  }
  return out;
}

void AddHome(CLI::App* cmd, std::string* home) {
  cmd->add_option("--home", *home, "Node home directory (default $KEXIN_HOME or ~/.kexin)");
}

}  // namespace

void RegisterNode(CLI::App& app, RunFn* run) {
  // kexin init
  {
    struct A {
      std::string home = identity::DefaultHome(), name = "node", store;
    };
    auto a = std::make_shared<A>();
    CLI::App* cmd =
        app.add_subcommand("init", "Create a node home: config, Ed25519 node key (0600), store");
    AddHome(cmd, &a->home);
    cmd->add_option("--name", a->name, "Node name (default: node)");
    cmd->add_option("--store", a->store,
                    "Store URL instead of the embedded SQLite (postgresql://...)");
    cmd->callback([run, a] {
      *run = [a] {
        std::optional<std::string> store;
        if (!a->store.empty()) store = a->store;
        auto c = identity::InitHome(a->home, a->name, store);
        if (!c.ok()) return Fail(c.status());
        auto key = identity::LoadNodeKey(*c);
        if (!key.ok()) return Fail(key.status());
        ledger::VerifierKey vk{c->origin, ledger::kSigTypeEd25519, key->public_key()};
        return Print({{"home", c->home},
                      {"name", c->name},
                      {"origin", c->origin},
                      {"store", RedactUrl(c->store_url)},
                      {"public_key", crypto::HexEncode(std::string_view(
                                         reinterpret_cast<const char*>(key->public_key().data()),
                                         key->public_key().size()))},
                      {"verifier_key", vk.ToString()}});
      };
    });
  }
  // kexin node show
  {
    auto home = std::make_shared<std::string>(identity::DefaultHome());
    CLI::App* node = app.add_subcommand("node", "The node's identity and state");
    node->require_subcommand(1);
    CLI::App* show = node->add_subcommand("show", "Name, public key and ledger state");
    AddHome(show, home.get());
    show->callback([run, home] {
      *run = [home] {
        auto n = OpenNode(*home);
        if (!n.ok()) return Fail(n.status());
        uint64_t size = n->ledger->Size();
        json j = {{"home", n->config.home},
                  {"name", n->config.name},
                  {"origin", n->config.origin},
                  {"store", RedactUrl(n->config.store_url)},
                  // The Ed25519 key in hex: what peers trust (`kexin peer add`, /v1/node).
                  {"public_key", crypto::HexEncode(std::string_view(
                                     reinterpret_cast<const char*>(n->ledger->key().public_key().data()),
                                     n->ledger->key().public_key().size()))},
                  // The same key as a C2SP note verifier key (cert verify, ledger cosign).
                  {"verifier_key", n->ledger->verifier().ToString()},
                  {"ledger", {{"size", size}, {"root", B64(n->ledger->Root(size))}}}};
        auto cp = n->ledger->LatestCheckpoint();
        j["ledger"]["latest_checkpoint"] = cp.ok() ? json(*cp) : json(nullptr);
        return Print(j);
      };
    });
  }
  // kexin ledger ...
  {
    struct A {
      std::string home = identity::DefaultHome(), type, body, body_file;
      int64_t index = -1, size = -1, old_size = 0, new_size = -1;
    };
    auto a = std::make_shared<A>();
    CLI::App* led = app.add_subcommand("ledger", "The tamper-evident ledger (docs/ledger.md)");
    led->require_subcommand(1);
    CLI::App* append =
        led->add_subcommand("append", "Append an entry; prints its index once durable");
    append->add_option("--type", a->type, "Entry type, e.g. note.manual")->required();
    append->add_option("--body", a->body, "Entry body as JSON");
    append->add_option("--body-file", a->body_file, "Read the body from a JSON file");
    CLI::App* show = led->add_subcommand("show", "Show the ledger state, or one entry");
    show->add_option("INDEX", a->index, "Entry index")->check(kNonNegative);
    CLI::App* proof = led->add_subcommand("proof", "Inclusion proof of an entry (RFC 9162)");
    proof->add_option("INDEX", a->index, "Entry index")->required()->check(kNonNegative);
    proof
        ->add_option(
            "--size", a->size,
            "Tree size (default: the current size, at which a checkpoint is signed if none is)")
        ->check(kNonNegative);
    CLI::App* cons = led->add_subcommand("consistency", "Consistency proof between two tree sizes");
    cons->add_option("OLD", a->old_size, "Old tree size")->required()->check(kNonNegative);
    cons->add_option("NEW", a->new_size, "New tree size (default: current)")->check(kNonNegative);
    CLI::App* cp = led->add_subcommand(
        "checkpoint", "Sign a checkpoint at the current size (C2SP tlog-checkpoint)");
    CLI::App* verify = led->add_subcommand("verify", "Re-verify every entry and checkpoint");
    auto w = std::make_shared<std::array<std::string, 3>>();  // note file, log key, proof file
    CLI::App* cosign =
        led->add_subcommand("cosign",
                            "Witness another node's checkpoint: verify it against the last one "
                            "witnessed (consistency proof) and cosign it (C2SP tlog-cosignature)");
    cosign->add_option("NOTE", (*w)[0], "The peer's signed checkpoint (file)")->required();
    cosign->add_option("--log-key", (*w)[1], "The peer's verifier key (from its `kexin node show`)")
        ->required();
    cosign->add_option(
        "--proof", (*w)[2],
        "JSON from the peer's `kexin ledger consistency OLD NEW`, OLD = the size witnessed before");
    auto peer_name = std::make_shared<std::string>();
    CLI::App* push = led->add_subcommand(
        "witness-push",
        "Ask a peer to witness this ledger: send a checkpoint to its add-checkpoint endpoint "
        "(C2SP tlog-witness) and print it with the peer's verified cosignature");
    push->add_option("PEER", *peer_name, "A peer's name (kexin peer add)")->required();
    for (CLI::App* c : {append, show, proof, cons, cp, verify, cosign, push}) AddHome(c, &a->home);
    push->callback([run, a, peer_name] {
      *run = [a, peer_name] {
        auto n = OpenNode(a->home);
        if (!n.ok()) return Fail(n.status());
        auto store = store::Store::Open(n->config.store_url);
        if (!store.ok()) return Fail(store.status());
        auto peer = server::GetPeer(**store, *peer_name);
        if (!peer.ok()) return Fail(peer.status());
        server::PeerClient client(n->ledger->key());
        auto note = node::PushCheckpoint(*n->ledger, **store, client, *peer);
        if (!note.ok()) return Fail(note.status());
        return WriteOutput("", *note);
      };
    });
    cosign->callback([run, a, w] {
      *run = [a, w] {
        auto note = ReadFile((*w)[0]);
        if (!note.ok()) return Fail(note.status());
        auto log_key = ledger::VerifierKey::Parse((*w)[1]);
        if (!log_key.ok()) return Fail(log_key.status().WithContext("--log-key"));
        auto n = OpenNode(a->home);
        if (!n.ok()) return Fail(n.status());
        auto store = store::Store::Open(n->config.store_url);
        if (!store.ok()) return Fail(store.status());
        node::WitnessRequest req;
        req.note = *note;
        req.log_key = *log_key;
        if (!(*w)[2].empty()) {
          auto pj = ReadJsonFile((*w)[2]);
          if (!pj.ok()) return Fail(pj.status());
          const json& old_size = (*pj)["old_size"];
          const json& elems = (*pj)["consistency_proof"];
          if (!pj->is_object() || !old_size.is_number_unsigned() || !elems.is_array()) {
            return Fail(DataError((*w)[2] + ": expected the JSON of `kexin ledger consistency` "
                                            "(old_size, consistency_proof)"));
          }
          req.old_size = old_size.get<uint64_t>();
          for (const auto& e : elems) {
            auto raw = e.is_string() ? crypto::Base64Decode(e.get<std::string>())
                                     : Result<std::string>(DataError(""));
            if (!raw.ok() || raw->size() != 32) {
              return Fail(DataError((*w)[2] + ": a proof element is not 32 bytes of base64"));
            }
            ledger::Hash h;
            std::copy(raw->begin(), raw->end(), h.begin());
            req.proof.push_back(h);
          }
        }
        if (auto parsed_note = ledger::SignedNote::Parse(*note); !parsed_note.ok()) {
          return Fail(
              DataError((*w)[0] + ": not a signed checkpoint: " + parsed_note.status().message()));
        }
        auto r = node::WitnessCheckpoint(**store, req, *n->ledger,
                                         static_cast<uint64_t>(time(nullptr)));
        if (!r.status.ok()) {
          if (r.witnessed_size && req.old_size && *req.old_size != *r.witnessed_size) {
            return Fail(FailedPrecondition(
                "the proof starts at size " + std::to_string(*req.old_size) +
                " but this node last witnessed size " + std::to_string(*r.witnessed_size)));
          }
          return Fail(r.status);
        }
        auto parsed = ledger::SignedNote::Parse(*note);
        parsed->signatures.push_back(*r.cosignature);
        return WriteOutput("", parsed->Serialize());
      };
    });

    append->callback([run, a] {
      *run = [a] {
        json body;
        if (!a->body_file.empty()) {
          auto j = ReadJsonFile(a->body_file);
          if (!j.ok()) return Fail(j.status());
          body = *j;
        } else {
          body = json::parse(a->body.empty() ? "{}" : a->body, nullptr, false);
          if (body.is_discarded()) return Fail(InvalidArgument("--body is not valid JSON"));
        }
        auto n = OpenNode(a->home);
        if (!n.ok()) return Fail(n.status());
        auto idx = n->ledger->Append(a->type, body);
        if (!idx.ok()) return Fail(idx.status());
        return Print({{"index", *idx}});
      };
    });
    show->callback([run, a] {
      *run = [a] {
        auto n = OpenNode(a->home);
        if (!n.ok()) return Fail(n.status());
        if (a->index >= 0) {
          auto j = node::EntryJson(*n->ledger, static_cast<uint64_t>(a->index));
          if (!j.ok()) return Fail(j.status());
          return Print(*j);
        }
        return Print(node::LedgerHead(*n->ledger));
      };
    });
    proof->callback([run, a] {
      *run = [a] {
        auto n = OpenNode(a->home);
        if (!n.ok()) return Fail(n.status());
        auto j = node::InclusionProofJson(
            *n->ledger, static_cast<uint64_t>(a->index),
            a->size >= 0 ? std::optional<uint64_t>(static_cast<uint64_t>(a->size)) : std::nullopt);
        if (!j.ok()) return Fail(j.status());
        return Print(*j);
      };
    });
    cons->callback([run, a] {
      *run = [a] {
        auto n = OpenNode(a->home);
        if (!n.ok()) return Fail(n.status());
        auto j = node::ConsistencyProofJson(
            *n->ledger, static_cast<uint64_t>(a->old_size),
            a->new_size >= 0 ? std::optional<uint64_t>(static_cast<uint64_t>(a->new_size))
                             : std::nullopt);
        if (!j.ok()) return Fail(j.status());
        return Print(*j);
      };
    });
    cp->callback([run, a] {
      *run = [a] {
        auto n = OpenNode(a->home);
        if (!n.ok()) return Fail(n.status());
        auto note = n->ledger->SignCheckpoint();
        if (!note.ok()) return Fail(note.status());
        return WriteOutput("", *note);
      };
    });
    verify->callback([run, a] {
      *run = [a] {
        auto n = OpenNode(a->home);
        if (!n.ok()) return Fail(n.status());
        Status s = n->ledger->VerifyAll();
        if (!s.ok()) return Fail(s);
        return WriteOutput("", "ledger " + n->ledger->origin() + ": " +
                                   std::to_string(n->ledger->Size()) +
                                   " entries and every checkpoint verify\n");
      };
    });
  }
}

void RegisterRegistry(CLI::App& app, RunFn* run) {
  struct A {
    std::string home = identity::DefaultHome(), file, meta, out, id, right, to, reason, cert, key;
    bool full = false;
    int years = 3, threads = 1;
  };
  auto a = std::make_shared<A>();
  CLI::App* reg = app.add_subcommand(
      "register", "Register a data resource; writes its certificate (docs/registry.md)");
  reg->add_option("FILE", a->file, "The data file (CSV or JSONL)")->required();
  reg->add_option("--meta", a->meta, "META.toml describing the resource and its three rights")
      ->required();
  reg->add_flag("--full", a->full, "Scan every row for the personal-information flags");
  reg->add_option("-o,--output", a->out, "Write the certificate here (default stdout)");
  AddHome(reg, &a->home);

  CLI::App* r = app.add_subcommand("registration", "Later registration actions and queries");
  r->require_subcommand(1);
  CLI::App* change = r->add_subcommand("change", "Change a registration (new version)");
  change->add_option("ID", a->id)->required();
  change->add_option("--meta", a->meta, "META.toml with the new description")->required();
  change->add_option("--file", a->file, "A new version of the data file");
  CLI::App* transfer = r->add_subcommand("transfer", "Transfer one of the three rights");
  transfer->add_option("ID", a->id)->required();
  transfer->add_option("--right", a->right, "holding, processing or operation")->required();
  transfer->add_option("--to", a->to, "The new holder")->required();
  CLI::App* renew = r->add_subcommand("renew", "Renew for N more years");
  renew->add_option("ID", a->id)->required();
  renew->add_option("--years", a->years, "Years (default 3)");
  CLI::App* cancel = r->add_subcommand("cancel", "Cancel a registration");
  cancel->add_option("ID", a->id)->required();
  cancel->add_option("--reason", a->reason, "Why")->required();
  CLI::App* show = r->add_subcommand("show", "The latest version and its status");
  show->add_option("ID", a->id)->required();
  CLI::App* list = r->add_subcommand("list", "Every registration and its status");
  CLI::App* cert = r->add_subcommand("cert", "A fresh certificate for the latest version");
  cert->add_option("ID", a->id)->required();
  for (CLI::App* c : {change, transfer, renew, cancel, cert})
    c->add_option("-o,--output", a->out, "Write the certificate here");
  for (CLI::App* c : {change, transfer, renew, cancel, show, list, cert}) AddHome(c, &a->home);

  auto with_registry = [a](const std::function<Result<json>(registry::Registry&)>& fn,
                           bool records = true) {
    auto n = OpenNode(a->home);
    if (!n.ok()) return Fail(n.status());
    auto reg = registry::Registry::Open(n->config.store_url, n->ledger.get());
    if (!reg.ok()) return Fail(reg.status());
    auto out = fn(**reg);
    if (!out.ok()) return Fail(out.status());
    if (records && out->contains("certificate")) {
      std::fprintf(stderr, "registration %s version %lld (%s) recorded at ledger index %llu\n",
                   (*out)["registration"]["id"].get<std::string>().c_str(),
                   static_cast<long long>((*out)["registration"]["version"].get<int64_t>()),
                   (*out)["registration"]["action"].get<std::string>().c_str(),
                   static_cast<unsigned long long>((*out)["ledger"]["index"].get<uint64_t>()));
    }
    return WriteOutput(a->out, out->dump(2) + "\n");
  };
  registry::RegisterOptions opts;
  reg->callback([run, a, with_registry] {
    *run = [a, with_registry] {
      auto meta = registry::LoadMeta(a->meta);
      if (!meta.ok()) return Fail(meta.status());
      registry::RegisterOptions o;
      o.full_scan = a->full;
      return with_registry([&](registry::Registry& r) { return r.Register(a->file, *meta, o); });
    };
  });
  change->callback([run, a, with_registry] {
    *run = [a, with_registry] {
      auto meta = registry::LoadMeta(a->meta);
      if (!meta.ok()) return Fail(meta.status());
      std::optional<std::string> file;
      if (!a->file.empty()) file = a->file;
      return with_registry([&](registry::Registry& r) { return r.Change(a->id, *meta, file, {}); });
    };
  });
  transfer->callback([run, a, with_registry] {
    *run = [a, with_registry] {
      return with_registry(
          [&](registry::Registry& r) { return r.Transfer(a->id, a->right, a->to); });
    };
  });
  renew->callback([run, a, with_registry] {
    *run = [a, with_registry] {
      return with_registry([&](registry::Registry& r) { return r.Renew(a->id, a->years); });
    };
  });
  cancel->callback([run, a, with_registry] {
    *run = [a, with_registry] {
      return with_registry([&](registry::Registry& r) { return r.Cancel(a->id, a->reason); });
    };
  });
  show->callback([run, a, with_registry] {
    *run = [a, with_registry] {
      return with_registry([&](registry::Registry& r) { return r.Show(a->id); });
    };
  });
  list->callback([run, a, with_registry] {
    *run = [a, with_registry] {
      return with_registry([&](registry::Registry& r) -> Result<json> {
        KEXIN_ASSIGN_OR_RETURN(auto all, r.List());
        return json(all);
      });
    };
  });
  cert->callback([run, a, with_registry] {
    *run = [a, with_registry] {
      return with_registry([&](registry::Registry& r) { return r.Certificate(a->id); },
                           /*records=*/false);
    };
  });

  // kexin cert show|verify: offline, no home needed.
  CLI::App* c = app.add_subcommand("cert", "Show or verify a registration certificate offline");
  c->require_subcommand(1);
  CLI::App* cshow = c->add_subcommand("show", "Print a certificate's registration");
  cshow->add_option("CERT", a->cert)->required();
  CLI::App* cverify =
      c->add_subcommand("verify", "Verify a certificate with nothing but a public key");
  cverify->add_option("CERT", a->cert)->required();
  cverify->add_option("--key", a->key,
                      "The node's verifier key (name+id+base64), from `kexin node show`");
  cshow->callback([run, a] {
    *run = [a] {
      auto j = ReadJsonFile(a->cert);
      if (!j.ok()) return Fail(j.status());
      if (!j->contains("registration"))
        return Fail(DataError(a->cert + ": not a kexin certificate"));
      return Print((*j)["registration"]);
    };
  });
  cverify->callback([run, a] {
    *run = [a] {
      std::optional<std::string> key;
      if (!a->key.empty()) {
        auto parsed = ledger::VerifierKey::Parse(a->key);
        if (!parsed.ok()) return Fail(parsed.status().WithContext("--key"));
        key = a->key;
      }
      auto j = ReadJsonFile(a->cert);
      if (!j.ok()) return Fail(j.status());
      auto v = registry::VerifyCertificate(*j, key);
      std::string out;
      char line[1024];
      for (const auto& chk : v.checks) {
        snprintf(line, sizeof line, "%-22s %s  %s\n", chk.check.c_str(), chk.ok ? "ok  " : "FAIL",
                 chk.detail.c_str());
        out += line;
      }
      if (v.ok) out += "certificate verifies; registration is " + v.status + "\n";
      int w = WriteOutput("", out);
      if (w != 0) return w;
      if (!v.ok) {
        std::fprintf(stderr, "kexin: corruption: %s: certificate does not verify\n",
                     a->cert.c_str());
        return ExitCodeFor(Corruption(""));
      }
      return v.status == "active" ? 0 : ExitCodeFor(FailedPrecondition(""));
    };
  });
}

}  // namespace kexin::cli
