// `kexin policy`, `kexin offer` and `kexin catalog` (docs/cli.md#policies-offers-and-the-catalog).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "catalog/catalog.h"
#include "catalog/federation.h"
#include "catalog/offer.h"
#include "identity/node_home.h"
#include "kexin/status.h"
#include "policy/policy.h"
#include "store/store.h"
#include "tools/kexin/commands.h"

namespace kexin::cli {
namespace {

using nlohmann::json;

Result<json> ReadJson(const std::string& path) {
  KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    try {
      json ignored = json::parse(text);
    } catch (const json::parse_error& e) {
      return DataError(path + ": not valid JSON: " + e.what());
    }
    return DataError(path + ": not valid JSON");
  }
  return j;
}

// A policy file, parsed; errors name the file and the JSON pointer (kDataError).
Result<policy::Policy> ReadPolicy(const std::string& path) {
  KEXIN_ASSIGN_OR_RETURN(json j, ReadJson(path));
  auto p = policy::Parse(j);
  if (!p.ok()) return DataError(path + ": " + p.status().message());
  return *p;
}

struct Node {
  identity::NodeConfig config;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<store::Store> store;
};

Result<Node> OpenNode(const std::string& home, bool with_ledger) {
  Node n;
  KEXIN_ASSIGN_OR_RETURN(n.config, identity::LoadHome(home));
  if (with_ledger) {
    KEXIN_ASSIGN_OR_RETURN(n.ledger, identity::OpenLedger(n.config));
  }
  KEXIN_ASSIGN_OR_RETURN(n.store, store::Store::Open(n.config.store_url));
  KEXIN_RETURN_IF_ERROR(n.store->Migrate(store::KexinMigrations()));
  return n;
}

json OfferJson(const catalog::Offer& o) {
  return json{{"id", o.id},
              {"registration", o.registration_id},
              {"policy", o.policy},
              {"access_policy", o.access_policy},
              {"manual_approval", o.manual_approval},
              {"created", o.created},
              {"withdrawn", o.withdrawn},
              {"fingerprint", o.fingerprint}};
}

void AddHome(CLI::App* cmd, std::string* home) {
  cmd->add_option("--home", *home, "Node home directory (default $KEXIN_HOME or ~/.kexin)");
}

void RegisterPolicy(CLI::App& app, RunFn* run) {
  struct A {
    std::string file, other;
    policy::Context ctx;
    std::string fields;
  };
  auto a = std::make_shared<A>();
  CLI::App* pol = app.add_subcommand("policy", "ODRL usage policies (docs/policies.md)");
  pol->require_subcommand(1);
  CLI::App* check = pol->add_subcommand(
      "check", "Validate a policy; print its canonical JSON-LD and fingerprint");
  check->add_option("FILE", a->file, "ODRL policy (JSON-LD)")->required();
  check->callback([run, a] {
    *run = [a] {
      auto p = ReadPolicy(a->file);
      if (!p.ok()) return Fail(p.status());
      return Print(
          json{{"fingerprint", policy::Fingerprint(*p)}, {"policy", policy::ToJsonLd(*p)}});
    };
  });
  CLI::App* match = pol->add_subcommand(
      "match", "Are two policies equivalent? Exit 0 if so, 1 if not (with the first difference)");
  match->add_option("A", a->file, "First policy")->required();
  match->add_option("B", a->other, "Second policy")->required();
  match->callback([run, a] {
    *run = [a] {
      auto p = ReadPolicy(a->file);
      if (!p.ok()) return Fail(p.status());
      auto q = ReadPolicy(a->other);
      if (!q.ok()) return Fail(q.status());
      if (policy::Equivalent(*p, *q)) {
        std::printf("equivalent (fingerprint %s)\n", policy::Fingerprint(*p).c_str());
        return 0;
      }
      std::printf("not equivalent: %s\n", policy::FirstDifference(*p, *q).c_str());
      return 1;
    };
  });
  CLI::App* eval = pol->add_subcommand(
      "eval", "Would the policy permit this use? Exit 0 if permitted, 1 if not");
  eval->add_option("FILE", a->file, "ODRL policy (JSON-LD)")->required();
  eval->add_option("--purpose", a->ctx.purpose, "Purpose term");
  eval->add_option("--now", a->ctx.now, "Time of the use, RFC 3339 (default: now)");
  eval->add_option("--use-count", a->ctx.use_count, "The number of this use (1 = first)");
  eval->add_option("--destination", a->ctx.destination, "Region code (CN, CN-BJ, DE)");
  eval->add_option("--compute-mode", a->ctx.compute_mode,
                   "download, deidentified, compute-only or psi-only");
  eval->add_option("--fields", a->fields, "Comma-separated field names the use reads");
  eval->add_option("--group-size", a->ctx.group_size, "Smallest group size released");
  eval->add_option("--epsilon", a->ctx.epsilon, "Differential-privacy epsilon spent");
  eval->add_option("--consumer", a->ctx.consumer, "Consumer (peer name)");
  eval->add_option("--action", a->ctx.action, "Action (default use)");
  eval->add_flag("--skip-unset", a->ctx.skip_unset, "Do not check constraints on unset values");
  eval->callback([run, a] {
    *run = [a] {
      auto p = ReadPolicy(a->file);
      if (!p.ok()) return Fail(p.status());
      policy::Context c = a->ctx;
      for (size_t i = 0; !a->fields.empty() && i <= a->fields.size();) {
        size_t comma = a->fields.find(',', i);
        if (comma == std::string::npos) comma = a->fields.size();
        if (comma > i) c.fields.push_back(a->fields.substr(i, comma - i));
        i = comma + 1;
      }
      policy::Decision d = policy::Evaluate(*p, c);
      int rc = Print(
          json{{"permitted", d.permitted}, {"constraint", d.constraint}, {"reason", d.reason}});
      return rc != 0 ? rc : d.permitted ? 0 : 1;
    };
  });
}

void RegisterOffer(CLI::App& app, RunFn* run) {
  struct A {
    std::string home = identity::DefaultHome(), registration, policy, access, id;
    bool manual = false, active = false;
  };
  auto a = std::make_shared<A>();
  CLI::App* off = app.add_subcommand("offer", "Offers of registered data (docs/catalog.md)");
  off->require_subcommand(1);
  CLI::App* create = off->add_subcommand("create", "Offer a registration under a usage policy");
  create->add_option("--registration", a->registration, "Registration id")->required();
  create->add_option("--policy", a->policy, "ODRL usage policy file")->required();
  create->add_option("--access-policy", a->access,
                     "ODRL access policy file: which consumers see the offer");
  create->add_flag("--manual-approval", a->manual,
                   "Negotiations for this offer wait for `kexin contract approve`");
  CLI::App* list = off->add_subcommand("list", "Every offer (withdrawn ones too)");
  list->add_flag("--active", a->active, "Only offers that are not withdrawn");
  CLI::App* show = off->add_subcommand("show", "One offer");
  show->add_option("ID", a->id)->required();
  CLI::App* withdraw = off->add_subcommand("withdraw", "Withdraw an offer");
  withdraw->add_option("ID", a->id)->required();
  for (CLI::App* c : {create, list, show, withdraw}) AddHome(c, &a->home);

  create->callback([run, a] {
    *run = [a] {
      // Check the files before opening the node: a bad file changes nothing.
      auto pj = ReadJson(a->policy);
      if (!pj.ok()) return Fail(pj.status());
      json access = nullptr;
      if (!a->access.empty()) {
        auto aj = ReadJson(a->access);
        if (!aj.ok()) return Fail(aj.status());
        access = *aj;
      }
      auto n = OpenNode(a->home, true);
      if (!n.ok()) return Fail(n.status());
      auto o =
          catalog::CreateOffer(*n->store, *n->ledger, {a->registration, *pj, access, a->manual});
      if (!o.ok()) {
        // "policy: /permission/..." -> "usage.json: /permission/...": name the file.
        const std::string& m = o.status().message();
        for (const auto& [prefix, file] :
             {std::pair<std::string, std::string>{"policy: ", a->policy},
              {"access_policy: ", a->access}})
          if (o.status().code() == StatusCode::kDataError && m.rfind(prefix, 0) == 0)
            return Fail(DataError(file + ": " + m.substr(prefix.size())));
        return Fail(o.status());
      }
      return Print(OfferJson(*o));
    };
  });
  list->callback([run, a] {
    *run = [a] {
      auto n = OpenNode(a->home, false);
      if (!n.ok()) return Fail(n.status());
      auto offers = catalog::ListOffers(*n->store, !a->active);
      if (!offers.ok()) return Fail(offers.status());
      json out = json::array();
      for (const auto& o : *offers) out.push_back(OfferJson(o));
      return Print(out);
    };
  });
  show->callback([run, a] {
    *run = [a] {
      auto n = OpenNode(a->home, false);
      if (!n.ok()) return Fail(n.status());
      auto o = catalog::GetOffer(*n->store, a->id);
      if (!o.ok()) return Fail(o.status());
      return Print(OfferJson(*o));
    };
  });
  withdraw->callback([run, a] {
    *run = [a] {
      auto n = OpenNode(a->home, true);
      if (!n.ok()) return Fail(n.status());
      auto o = catalog::WithdrawOffer(*n->store, *n->ledger, a->id);
      if (!o.ok()) return Fail(o.status());
      return Print(OfferJson(*o));
    };
  });
}

void RegisterCatalogCmd(CLI::App& app, RunFn* run) {
  struct A {
    std::string home = identity::DefaultHome(), consumer, key, region, peer;
    catalog::Query q;
  };
  auto a = std::make_shared<A>();
  CLI::App* cat = app.add_subcommand("catalog", "This node's DCAT catalog and peers' catalogs");
  cat->require_subcommand(1);
  CLI::App* show = cat->add_subcommand("show", "The catalog (DCAT JSON-LD), as a consumer sees it");
  CLI::App* search = cat->add_subcommand("search", "Search the catalog");
  for (CLI::App* c : {show, search}) {
    c->add_option("--consumer", a->consumer, "Show what this peer sees (by its access policies)");
    c->add_option("--consumer-key", a->key, "The peer's public key (hex), for key-based policies");
    c->add_option("--region", a->region, "The peer's region (default: recorded for the peer)");
    c->add_option("--offset", a->q.offset, "Skip this many datasets");
    c->add_option("--limit", a->q.limit, "At most this many datasets (0: all)");
  }
  CLI::App* fed = cat->add_subcommand("federated", "Search the cached catalogs of peers");
  fed->add_option("--peer", a->peer, "Only this peer's catalog");
  for (CLI::App* c : {search, fed}) {
    c->add_option("-q,--query", a->q.q, "Words that must all occur (any language, substring)");
    c->add_option("--sector", a->q.sector, "Sector (exact)");
    c->add_option("--category", a->q.category, "Data category from the scan (e.g. id_card_cn)");
    c->add_option("--level", a->q.level, "Level from the scan (e.g. general-4)");
  }
  CLI::App* region = cat->add_subcommand(
      "region", "Record a peer's region (matched by spatial constraints in access policies)");
  region->add_option("PEER", a->peer)->required();
  region
      ->add_option("REGION", a->region,
                   "ISO 3166-1 alpha-2, ISO 3166-2:CN or province-level GB/T 2260 code")
      ->required();
  for (CLI::App* c : {show, search, fed, region}) AddHome(c, &a->home);

  auto show_fn = [run, a] {
    *run = [a] {
      auto n = OpenNode(a->home, false);
      if (!n.ok()) return Fail(n.status());
      catalog::CatalogIndex index({n->config.name, n->config.origin, ""});
      Status s = index.Refresh(*n->store);
      if (!s.ok()) return Fail(s);
      catalog::Viewer v{.everyone = a->consumer.empty(),
                        .name = a->consumer,
                        .public_key = a->key,
                        .region = a->region};
      if (!a->consumer.empty() && a->region.empty()) {
        auto r = catalog::PeerRegion(*n->store, a->consumer);
        if (!r.ok()) return Fail(r.status());
        v.region = *r;
      }
      return Print(json::parse(index.Catalog(v, a->q).json));
    };
  };
  show->callback(show_fn);
  search->callback(show_fn);
  fed->callback([run, a] {
    *run = [a] {
      auto n = OpenNode(a->home, false);
      if (!n.ok()) return Fail(n.status());
      auto hits = catalog::FederatedSearch(*n->store, a->q, a->peer);
      if (!hits.ok()) return Fail(hits.status());
      json out = json::array();
      for (auto& h : *hits) out.push_back(json{{"peer", h.peer}, {"dataset", h.dataset}});
      return Print(out);
    };
  });
  region->callback([run, a] {
    *run = [a] {
      auto n = OpenNode(a->home, false);
      if (!n.ok()) return Fail(n.status());
      Status s = catalog::SetPeerRegion(*n->store, a->peer, a->region);
      if (!s.ok()) return Fail(s);
      return Print(json{{"peer", a->peer}, {"region", *policy::NormalizeRegion(a->region)}});
    };
  });
}

}  // namespace

void RegisterCatalog(CLI::App& app, RunFn* run) {
  RegisterPolicy(app, run);
  RegisterOffer(app, run);
  RegisterCatalogCmd(app, run);
}

}  // namespace kexin::cli
