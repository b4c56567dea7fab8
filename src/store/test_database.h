// Test support: a fresh database per test for tests that run on both store backends — a temp
// SQLite file or a new PostgreSQL schema (from $KEXIN_TEST_PG_URL) dropped afterwards. Without a
// server the PostgreSQL case is skipped, or fails when KEXIN_REQUIRE_PG=1.
#ifndef KEXIN_STORE_TEST_DATABASE_H_
#define KEXIN_STORE_TEST_DATABASE_H_

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "crypto/crypto.h"
#include "store/store.h"

namespace kexin::store {

class TestDatabase {
 public:
  // Call from SetUp; afterwards check IsSkipped() / HasFatalFailure() before using url().
  void Create(const std::string& backend, const std::string& prefix) {
    if (backend == "sqlite") {
      path_ = ::testing::TempDir() + "/" + prefix + crypto::RandomToken(8) + ".db";
      url_ = "sqlite:" + path_;
      return;
    }
    const char* env = std::getenv("KEXIN_TEST_PG_URL");
    std::string base = env ? env : "";
    if (base.empty()) {
      const char* require = std::getenv("KEXIN_REQUIRE_PG");
      if (require && std::string(require) == "1") {
        FAIL() << "KEXIN_TEST_PG_URL is not set but KEXIN_REQUIRE_PG=1; start a server with "
                  "`export KEXIN_TEST_PG_URL=$(scripts/pg-test-server.sh)`";
      }
      GTEST_SKIP() << "KEXIN_TEST_PG_URL is not set; PostgreSQL backend not tested";
    }
    auto admin = Store::Open(base);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = std::move(admin).value();
    schema_ = "kx_" + crypto::RandomToken(8);
    ASSERT_TRUE(admin_->Exec("CREATE SCHEMA " + schema_).ok());
    url_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
           schema_;
  }

  // Call from TearDown.
  void Drop() {
    if (admin_ && !schema_.empty()) {
      Status s = admin_->Exec("DROP SCHEMA " + schema_ + " CASCADE");
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    if (!path_.empty()) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
    }
  }

  const std::string& url() const { return url_; }
  const std::string& path() const { return path_; }  // SQLite only
  Store* admin() const { return admin_.get(); }      // PostgreSQL only

 private:
  std::string url_, path_, schema_;
  std::unique_ptr<Store> admin_;
};

}  // namespace kexin::store

#endif  // KEXIN_STORE_TEST_DATABASE_H_
