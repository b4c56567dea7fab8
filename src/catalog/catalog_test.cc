// Offers (create, get, list, withdraw, ledger entries, errors that change nothing) and the
// per-consumer DCAT catalog (shape, DSP schema validity, access policies, search, refresh).
#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "catalog/offer.h"
#include "catalog/test_node.h"
#include "policy/policy.h"

namespace kexin::catalog {
namespace {

using nlohmann::json;
using testing_node::SourceDir;
using testing_node::TestNode;

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

json Example(const std::string& name) {
  return ReadJson(SourceDir() + "/examples/policies/" + name);
}

int64_t OfferRows(store::Store& s) {
  auto r = s.Query("SELECT COUNT(*) FROM offers");
  return r.ok() ? store::AsInt((*r)[0][0]) : -1;
}

TEST(OfferTest, CreateGetListWithdraw) {
  TestNode n;
  std::string reg = n.Register();
  uint64_t before = n.ledger->Size();
  auto g0 = CatalogGeneration(*n.store);
  ASSERT_TRUE(g0.ok());
  auto o = CreateOffer(*n.store, *n.ledger,
                       {reg, Example("statistics-compute-only.json"), nullptr, true});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->id.substr(0, 9), "urn:uuid:");
  EXPECT_EQ(o->policy["@id"], o->id);
  EXPECT_EQ(o->policy["target"], reg);
  EXPECT_EQ(o->policy["@type"], "Offer");
  EXPECT_TRUE(o->manual_approval);
  EXPECT_EQ(n.ledger->Size(), before + 1);
  auto entry = n.ledger->Entry(before);
  ASSERT_TRUE(entry.ok());
  json e = json::parse(*entry);
  EXPECT_EQ(e["type"], "offer.created");
  EXPECT_EQ(e["body"]["offer"], o->id);
  EXPECT_EQ(e["body"]["fingerprint"], o->fingerprint);
  EXPECT_GT(*CatalogGeneration(*n.store), *g0);

  auto got = GetOffer(*n.store, o->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->policy, o->policy);
  EXPECT_EQ(got->registration_id, reg);
  EXPECT_TRUE(got->manual_approval);
  EXPECT_FALSE(got->withdrawn);
  EXPECT_TRUE(got->access_policy.is_null());
  // The stored policy parses to the same terms as the example.
  EXPECT_TRUE(policy::Equivalent(*policy::Parse(got->policy),
                                 *policy::Parse(Example("statistics-compute-only-iri.json"))));

  auto missing = GetOffer(*n.store, "urn:uuid:nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "offer 'urn:uuid:nope' does not exist");

  auto w = WithdrawOffer(*n.store, *n.ledger, o->id);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->withdrawn);
  EXPECT_EQ(json::parse(*n.ledger->Entry(before + 1))["type"], "offer.withdrawn");
  auto again = WithdrawOffer(*n.store, *n.ledger, o->id);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(n.ledger->Size(), before + 2);
  EXPECT_EQ(ListOffers(*n.store, true)->size(), 1u);
  EXPECT_EQ(ListOffers(*n.store, false)->size(), 0u);
}

TEST(OfferTest, BadRequestsChangeNothing) {
  TestNode n;
  std::string reg = n.Register();
  uint64_t before = n.ledger->Size();
  auto no_reg = CreateOffer(*n.store, *n.ledger, {"0123", Example("statistics-compute-only.json")});
  EXPECT_EQ(no_reg.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(no_reg.status().message(), "registration '0123' does not exist");
  auto bad = CreateOffer(*n.store, *n.ledger,
                         {reg, ReadJson(SourceDir() + "/examples/policies/bad/bad-count.json")});
  EXPECT_EQ(bad.status().code(), StatusCode::kDataError);
  EXPECT_EQ(bad.status().message(),
            "policy: /permission/0/constraint/0/rightOperand: 'ten' is not an integer");
  auto bad_access =
      CreateOffer(*n.store, *n.ledger,
                  {reg, Example("statistics-compute-only.json"),
                   ReadJson(SourceDir() + "/examples/policies/bad/unknown-operand.json")});
  EXPECT_EQ(bad_access.status().code(), StatusCode::kDataError);
  EXPECT_EQ(bad_access.status().message().substr(0, 54),
            "access_policy: /permission/0/constraint/1/leftOperand:");
  EXPECT_EQ(CreateOffer(*n.store, *n.ledger, {"", Example("statistics-compute-only.json")})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(n.registry->Cancel(reg, "withdrawn from sale").ok());
  before = n.ledger->Size();
  auto cancelled = CreateOffer(*n.store, *n.ledger, {reg, Example("statistics-compute-only.json")});
  EXPECT_EQ(cancelled.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(n.ledger->Size(), before);
  EXPECT_EQ(OfferRows(*n.store), 0);
}

std::string SpecDir() {
  const char* d = std::getenv("KEXIN_DSP_SPECS");
  return d ? d : "/work/shared/specs/dsp";
}

// Runs the DSP schema validator on `doc`; returns its output ("" when valid).
std::string SchemaErrors(const json& doc, const std::string& schema) {
  std::string path = ::testing::TempDir() + "/catalog_doc.json";
  std::ofstream(path) << doc.dump();
  std::string cmd = "python3 " + SourceDir() + "/src/catalog/testdata/validate_dsp.py " +
                    SpecDir() + " " + schema + " " + path + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  int rc = p ? pclose(p) : -1;
  return rc == 0 ? "" : "rc=" + std::to_string(rc) + ": " + out;
}

TEST(CatalogTest, DcatShapeValidatesAgainstTheDspSchema) {
  if (!std::ifstream(SpecDir() + "/catalog/catalog-schema.json"))
    GTEST_SKIP() << "DSP schemas not found at " << SpecDir() << " (set KEXIN_DSP_SPECS)";
  TestNode n;
  std::string reg = n.Register();
  ASSERT_TRUE(
      CreateOffer(*n.store, *n.ledger, {reg, Example("statistics-compute-only.json")}).ok());
  ASSERT_TRUE(CreateOffer(*n.store, *n.ledger, {reg, Example("bank-credit-risk-dp.json")}).ok());
  CatalogIndex index({"node-a", "kexin.local/node-a", "http://127.0.0.1:8443"});
  ASSERT_TRUE(index.Refresh(*n.store).ok());
  auto page = index.Catalog(Viewer{.everyone = true}, {});
  json cat = json::parse(page.json);
  EXPECT_EQ(page.count, 1u);
  EXPECT_EQ(cat["@type"], "Catalog");
  EXPECT_EQ(cat["participantId"], "kexin.local/node-a");
  ASSERT_EQ(cat["dataset"].size(), 1u);
  json d = cat["dataset"][0];
  EXPECT_EQ(d["@id"], reg);
  EXPECT_EQ(d["dct:title"], "Customer records 2026");
  EXPECT_EQ(d["kexin:sector"], "finance");
  EXPECT_EQ(d["kexin:level"], "general-4");
  EXPECT_FALSE(d["kexin:categories"].empty());
  EXPECT_EQ(d["hasPolicy"].size(), 2u);
  EXPECT_FALSE(d["hasPolicy"][0].contains("target"));
  EXPECT_EQ(d["distribution"][0]["format"], "text/csv");
  EXPECT_EQ(SchemaErrors(cat, "catalog/catalog-schema.json"), "");
  auto ds = index.Dataset(Viewer{.everyone = true}, reg);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(SchemaErrors(*ds, "catalog/dataset-schema.json"), "");
  // An empty catalog is valid too (no "dataset" member: the schema wants at least one).
  CatalogIndex empty({"node-b", "kexin.local/node-b", "http://127.0.0.1:1"});
  TestNode m("node-b");
  ASSERT_TRUE(empty.Refresh(*m.store).ok());
  EXPECT_EQ(SchemaErrors(json::parse(empty.Catalog({}, {}).json), "catalog/catalog-schema.json"),
            "");
  // The checker does catch a broken catalog.
  cat.erase("participantId");
  EXPECT_NE(SchemaErrors(cat, "catalog/catalog-schema.json"), "");
}

TEST(CatalogTest, AccessPolicyDecidesWhoSeesAnOffer) {
  TestNode n;
  std::string reg = n.Register();
  std::string reg2 = n.Register();
  auto open = CreateOffer(*n.store, *n.ledger, {reg, Example("statistics-compute-only.json")});
  auto closed =
      CreateOffer(*n.store, *n.ledger,
                  {reg, Example("bank-credit-risk-dp.json"), Example("access-partners-cn.json")});
  auto only = CreateOffer(
      *n.store, *n.ledger,
      {reg2, Example("research-fields-limited.json"), Example("access-partners-cn.json")});
  ASSERT_TRUE(open.ok() && closed.ok() && only.ok());
  CatalogIndex index({"node-a", "kexin.local/node-a", "http://x"});
  ASSERT_TRUE(index.Refresh(*n.store).ok());
  auto offers_seen = [&](const Viewer& v) {
    json cat = json::parse(index.Catalog(v, {}).json);
    std::set<std::string> ids;
    for (const auto& d : cat.value("dataset", json::array()))
      for (const auto& p : d["hasPolicy"]) ids.insert(p["@id"]);
    return ids;
  };
  EXPECT_EQ(offers_seen({.everyone = true}).size(), 3u);
  EXPECT_EQ(offers_seen({.name = "stranger"}), std::set<std::string>{open->id});
  EXPECT_EQ(offers_seen({.name = "bank-a", .region = "CN-SH"}).size(), 3u);
  EXPECT_EQ(offers_seen({.name = "bank-a", .region = "US"}), std::set<std::string>{open->id});
  EXPECT_EQ(offers_seen({.name = "bank-a"}), std::set<std::string>{open->id});  // region unknown
  EXPECT_TRUE(index.Dataset({.name = "stranger"}, reg).ok());
  EXPECT_EQ(index.Dataset({.name = "stranger"}, reg2).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(index.Dataset({.name = "insurer-b", .region = "CN"}, reg2).ok());
  ASSERT_TRUE(SetPeerRegion(*n.store, "bank-a", "CN-BJ").ok());
  ASSERT_TRUE(SetPeerRegion(*n.store, "bank-a", "CN-SH").ok());
  EXPECT_EQ(*PeerRegion(*n.store, "bank-a"), "CN-SH");
  EXPECT_EQ(*PeerRegion(*n.store, "nobody"), "");
}

TEST(CatalogTest, SearchAndPaging) {
  TestNode n;
  std::vector<std::string> regs;
  for (int i = 0; i < 5; ++i) {
    regs.push_back(n.Register());
    ASSERT_TRUE(
        CreateOffer(*n.store, *n.ledger, {regs.back(), Example("statistics-compute-only.json")})
            .ok());
  }
  CatalogIndex index({"node-a", "kexin.local/node-a", "http://x"});
  ASSERT_TRUE(index.Refresh(*n.store).ok());
  Viewer all{.everyone = true};
  auto count = [&](Query q) { return index.Catalog(all, q).total; };
  EXPECT_EQ(count({}), 5u);
  EXPECT_EQ(count({.q = "customer"}), 5u);
  EXPECT_EQ(count({.q = "CUSTOMER records"}), 5u);
  EXPECT_EQ(count({.q = "customer nosuchword"}), 0u);
  EXPECT_EQ(count({.q = "证件"}), 5u);  // a Chinese field name, by substring
  EXPECT_EQ(count({.q = "号码"}), 5u);
  EXPECT_EQ(count({.sector = "finance"}), 5u);
  EXPECT_EQ(count({.sector = "retail"}), 0u);
  EXPECT_EQ(count({.category = "id_card_cn"}), 5u);
  EXPECT_EQ(count({.category = "passport"}), 0u);
  EXPECT_EQ(count({.level = "general-4"}), 5u);
  EXPECT_EQ(count({.level = "core"}), 0u);
  auto page = index.Catalog(all, {.offset = 3, .limit = 10});
  EXPECT_EQ(page.count, 2u);
  EXPECT_EQ(page.total, 5u);
  page = index.Catalog(all, {.offset = 1, .limit = 2});
  EXPECT_EQ(page.count, 2u);
  EXPECT_EQ(json::parse(page.json)["dataset"].size(), 2u);
  page = index.Catalog(all, {.offset = 9});
  EXPECT_EQ(page.count, 0u);
  EXPECT_FALSE(json::parse(page.json).contains("dataset"));
}

TEST(CatalogTest, IndexFollowsChangesMadeByAnotherStore) {
  TestNode n;
  std::string reg = n.Register();
  CatalogIndex index({"node-a", "kexin.local/node-a", "http://x"});
  ASSERT_TRUE(index.Refresh(*n.store).ok());
  EXPECT_EQ(index.size(), 0u);
  // Another process: its own Store on the same database.
  auto other = store::Store::Open(n.config.store_url);
  ASSERT_TRUE(other.ok());
  auto o = CreateOffer(**other, *n.ledger, {reg, Example("statistics-compute-only.json")});
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(index.Refresh(*n.store).ok());
  EXPECT_EQ(index.size(), 1u);
  int64_t g = index.generation();
  ASSERT_TRUE(index.Refresh(*n.store).ok());
  EXPECT_EQ(index.generation(), g);  // nothing changed, nothing rebuilt
  // A registration change (new row) shows up without touching offers.
  ASSERT_TRUE(n.registry->Cancel(reg, "gone").ok());
  ASSERT_TRUE(index.Refresh(*n.store).ok());
  EXPECT_EQ(index.size(), 0u);
}

TEST(CatalogTest, IncrementalAndBulkRefreshAgree) {
  TestNode n;
  std::vector<std::string> regs;
  std::vector<std::string> offers;
  for (int i = 0; i < 4; ++i) {
    regs.push_back(n.Register());
    auto o =
        CreateOffer(*n.store, *n.ledger, {regs.back(), Example("statistics-compute-only.json")});
    ASSERT_TRUE(o.ok());
    offers.push_back(o->id);
  }
  CatalogIndex incremental({"node-a", "o", "http://x"});
  ASSERT_TRUE(incremental.Refresh(*n.store).ok());
  // Changes: a second offer on one dataset, a withdrawal emptying another, a cancellation.
  auto extra = CreateOffer(*n.store, *n.ledger, {regs[0], Example("bank-credit-risk-dp.json")});
  ASSERT_TRUE(extra.ok());
  ASSERT_TRUE(WithdrawOffer(*n.store, *n.ledger, offers[1]).ok());
  ASSERT_TRUE(n.registry->Cancel(regs[2], "gone").ok());
  ASSERT_TRUE(incremental.Refresh(*n.store).ok());
  CatalogIndex bulk({"node-a", "o", "http://x"});
  bulk.set_bulk_threshold(0);
  ASSERT_TRUE(bulk.Refresh(*n.store).ok());
  std::string a = incremental.Catalog({.everyone = true}, {}).json;
  EXPECT_EQ(a, bulk.Catalog({.everyone = true}, {}).json);
  json cat = json::parse(a);
  ASSERT_EQ(cat["dataset"].size(), 2u);
  std::map<std::string, size_t> policies;
  for (const auto& d : cat["dataset"]) policies[d["@id"]] = d["hasPolicy"].size();
  EXPECT_EQ(policies[regs[0]], 2u);
  EXPECT_EQ(policies[regs[3]], 1u);
  EXPECT_EQ(policies.count(regs[1]), 0u);
  EXPECT_EQ(policies.count(regs[2]), 0u);

  // A registration row committed "late" (ledger index below ones already seen, as a slower
  // process would): the incremental refresh notices the count does not add up and compares all.
  auto rows = n.store->Query("SELECT record FROM registrations WHERE id = $1", {regs[3]});
  ASSERT_TRUE(rows.ok());
  json late = json::parse(store::AsText((*rows)[0][0]));
  late["version"] = 2;
  late["action"] = "cancellation";
  ASSERT_TRUE(n.store
                  ->Exec("INSERT INTO registrations (id, version, type, ledger_index, record)"
                         " VALUES ($1, 2, 'cancellation', 0, $2)",
                         {regs[3], late.dump()})
                  .ok());
  ASSERT_TRUE(incremental.Refresh(*n.store).ok());
  cat = json::parse(incremental.Catalog({.everyone = true}, {}).json);
  ASSERT_EQ(cat["dataset"].size(), 1u);
  EXPECT_EQ(cat["dataset"][0]["@id"], regs[0]);
}

TEST(CatalogTest, ConcurrentReadersWhileOffersChange) {
  TestNode n;
  std::vector<std::string> regs;
  for (int i = 0; i < 3; ++i) regs.push_back(n.Register());
  CatalogIndex index({"node-a", "o", "http://x"});
  std::atomic<bool> done{false};
  std::atomic<int> errors{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      auto s = store::Store::Open(n.config.store_url);  // each thread its own store
      if (!s.ok()) return (void)++errors;
      while (!done) {
        if (!index.Refresh(**s).ok()) ++errors;
        json cat =
            json::parse(index.Catalog({.name = "bank-a", .region = "CN"}, {}).json, nullptr, false);
        if (cat.is_discarded() || cat["@type"] != "Catalog") ++errors;
        ++reads;
      }
    });
  }
  for (int i = 0; i < 12; ++i) {
    json access = i % 2 ? Example("access-partners-cn.json") : json(nullptr);
    ASSERT_TRUE(CreateOffer(*n.store, *n.ledger,
                            {regs[i % 3], Example("statistics-compute-only.json"), access})
                    .ok());
  }
  while (reads < 50) std::this_thread::yield();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors, 0);
  ASSERT_TRUE(index.Refresh(*n.store).ok());
  json cat = json::parse(index.Catalog({.name = "bank-a", .region = "CN"}, {}).json);
  size_t offers = 0;
  for (const auto& d : cat["dataset"]) offers += d["hasPolicy"].size();
  EXPECT_EQ(offers, 12u);
  cat = json::parse(index.Catalog({.name = "stranger"}, {}).json);
  offers = 0;
  for (const auto& d : cat["dataset"]) offers += d["hasPolicy"].size();
  EXPECT_EQ(offers, 6u);
}

}  // namespace
}  // namespace kexin::catalog
