// kexin contract list|show|approve|reject|terminate|crosscheck (docs/cli.md#contract,
// docs/contract.md). The commands work on the node home's store directly; a running
// `kexin serve` on the same home sends the messages they enqueue and records their events on the
// ledger (docs/contract.md#outbox).
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "contract/crosscheck.h"
#include "contract/engine.h"
#include "contract/offer_check.h"
#include "contract/view.h"
#include "identity/node_home.h"
#include "tools/kexin/commands.h"

namespace kexin::cli {
namespace {

using nlohmann::json;

struct Local {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<contract::Engine> engine;
};

Result<Local> OpenLocal(const std::string& home) {
  KEXIN_ASSIGN_OR_RETURN(auto config, identity::LoadHome(home));
  KEXIN_ASSIGN_OR_RETURN(auto key, identity::LoadNodeKey(config));
  Local l;
  KEXIN_ASSIGN_OR_RETURN(l.store, store::Store::Open(config.store_url));
  KEXIN_RETURN_IF_ERROR(l.store->Migrate(store::KexinMigrations()));
  contract::EngineConfig c;
  store::Store* s = l.store.get();
  c.store = [s]() -> Result<store::Store*> { return s; };
  c.key = key;
  c.public_key = crypto::HexEncode(
      std::string_view(reinterpret_cast<const char*>(key.public_key().data()), 32));
  c.check_offer = contract::CatalogOfferChecker();
  c.policies_match = contract::SemanticPolicyMatcher();
  l.engine = std::make_unique<contract::Engine>(std::move(c));
  return l;
}

Result<json> Show(store::Store& s, const std::string& id) {
  KEXIN_ASSIGN_OR_RETURN(auto n, contract::LoadNegotiation(s, id));
  if (!n) return NotFound("negotiation '" + id + "' does not exist");
  KEXIN_ASSIGN_OR_RETURN(auto events, contract::ListEvents(s, id));
  KEXIN_ASSIGN_OR_RETURN(auto outbox, contract::ListOutbox(s, id));
  return contract::NegotiationJson(*n, &events, &outbox);
}

Result<json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return DataError(path + ": not valid JSON");
  return j;
}

}  // namespace

void RegisterContract(CLI::App& app, RunFn* run) {
  struct A {
    std::string home = identity::DefaultHome(), id, reason, state, a, b;
  };
  auto a = std::make_shared<A>();
  CLI::App* contract = app.add_subcommand("contract", "Contract negotiations (DSP) of this node");
  contract->require_subcommand(1);
  CLI::App* list = contract->add_subcommand("list", "Negotiations, newest first");
  list->add_option("--state", a->state, "Only negotiations in this state (REQUESTED, ...)");
  CLI::App* show = contract->add_subcommand("show", "A negotiation, its history and agreement");
  CLI::App* approve = contract->add_subcommand(
      "approve", "Approve a negotiation held for manual approval (the server sends the agreement)");
  CLI::App* reject = contract->add_subcommand("reject", "Reject a negotiation held for approval");
  CLI::App* terminate = contract->add_subcommand("terminate", "Terminate a negotiation");
  for (CLI::App* c : {show, approve, reject, terminate})
    c->add_option("ID", a->id, "Negotiation id (this node's process id)")->required();
  for (CLI::App* c : {reject, terminate})
    c->add_option("--reason", a->reason, "Why; sent to the peer")->required();
  for (CLI::App* c : {list, show, approve, reject, terminate})
    c->add_option("--home", a->home, "Node home directory (default $KEXIN_HOME or ~/.kexin)");
  CLI::App* cross = contract->add_subcommand(
      "crosscheck", "Compare the provider's and consumer's ledger views of one negotiation "
                    "(GET /v1/negotiations/ID/ledger on each node)");
  cross->add_option("VIEW_A", a->a, "One side's ledger view (JSON file)")->required();
  cross->add_option("VIEW_B", a->b, "The other side's ledger view (JSON file)")->required();

  list->callback([run, a] {
    *run = [a] {
      if (!a->state.empty() && !contract::ParseState(a->state))
        return Fail(InvalidArgument("--state '" + a->state + "' is not a negotiation state"));
      auto l = OpenLocal(a->home);
      if (!l.ok()) return Fail(l.status());
      auto ns = contract::ListNegotiations(*l->store, a->state, 1000, 0);
      if (!ns.ok()) return Fail(ns.status());
      json out = json::array();
      for (const auto& n : *ns) out.push_back(contract::NegotiationJson(n));
      return Print({{"negotiations", out}});
    };
  });
  show->callback([run, a] {
    *run = [a] {
      auto l = OpenLocal(a->home);
      if (!l.ok()) return Fail(l.status());
      auto j = Show(*l->store, a->id);
      return j.ok() ? Print(*j) : Fail(j.status());
    };
  });
  auto act = [run, a](const std::string& what) {
    return [run, a, what] {
      *run = [a, what] {
        auto l = OpenLocal(a->home);
        if (!l.ok()) return Fail(l.status());
        auto r = what == "approve"  ? l->engine->Approve(a->id)
                 : what == "reject" ? l->engine->Reject(a->id, a->reason)
                                    : l->engine->Terminate(a->id, a->reason);
        if (!r.ok()) return Fail(r.status());
        auto j = Show(*l->store, a->id);
        return j.ok() ? Print(*j) : Fail(j.status());
      };
    };
  };
  approve->callback(act("approve"));
  reject->callback(act("reject"));
  terminate->callback(act("terminate"));
  cross->callback([run, a] {
    *run = [a] {
      auto va = ReadJsonFile(a->a);
      if (!va.ok()) return Fail(va.status());
      auto vb = ReadJsonFile(a->b);
      if (!vb.ok()) return Fail(vb.status());
      contract::CrossCheckReport r = contract::CrossCheck(*va, *vb);
      int rc = Print(r.ToJson());
      if (rc != 0) return rc;
      if (!r.ok) {
        return Fail(Corruption("the ledgers disagree: " + r.problems.front()));
      }
      return 0;
    };
  });
}

}  // namespace kexin::cli
