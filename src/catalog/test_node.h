// Test helper (tests only): a real node home with its ledger and store, and registrations of the
// example table, for the catalog's tests. With $KEXIN_TEST_PG_URL set, the node's store is a fresh
// PostgreSQL schema (dropped afterwards) instead of SQLite.
#ifndef KEXIN_CATALOG_TEST_NODE_H_
#define KEXIN_CATALOG_TEST_NODE_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "identity/node_home.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "store/store.h"
#include "store/test_database.h"

namespace kexin::catalog::testing_node {

inline std::string SourceDir() {
  const char* d = std::getenv("KEXIN_SOURCE_DIR");
  return d ? d : ".";
}

class TestNode {
 public:
  explicit TestNode(const std::string& name = "node-a") {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "kexin_catalog_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    dir_ = mkdtemp(buf.data());
    std::optional<std::string> url;
    if (std::getenv("KEXIN_TEST_PG_URL") != nullptr) {
      db_.Create("postgresql", "kx_catalog_");
      url = db_.url();
    }
    auto c = identity::InitHome(dir_ + "/home", name, url);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    config = *c;
    auto l = identity::OpenLedger(config);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    ledger = std::move(*l);
    auto r = registry::Registry::Open(config.store_url, ledger.get());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    registry = std::move(*r);
    auto s = store::Store::Open(config.store_url);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    store = std::move(*s);
    EXPECT_TRUE(store->Migrate(store::KexinMigrations()).ok());
  }
  ~TestNode() {
    registry.reset();
    store.reset();
    ledger.reset();
    db_.Drop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Registers examples/customers.csv; returns the registration id.
  std::string Register() {
    auto meta = registry::LoadMeta(SourceDir() + "/examples/customers.meta.toml");
    EXPECT_TRUE(meta.ok()) << meta.status().ToString();
    auto cert = registry->Register(SourceDir() + "/examples/customers.csv", *meta, {});
    EXPECT_TRUE(cert.ok()) << cert.status().ToString();
    return cert.ok() ? (*cert)["registration"]["id"].get<std::string>() : "";
  }

  identity::NodeConfig config;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<registry::Registry> registry;
  std::unique_ptr<store::Store> store;

 private:
  std::string dir_;
  store::TestDatabase db_;
};

}  // namespace kexin::catalog::testing_node

#endif  // KEXIN_CATALOG_TEST_NODE_H_
