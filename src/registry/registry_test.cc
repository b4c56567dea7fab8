// Tests for module `registry`: content fingerprints (chunking rule, roots, chunk proofs), META.toml
// loading, the registration life cycle on a real node home, and offline certificate verification
// against every kind of tampering, each expected to fail at a named check.
#include "registry/registry.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "identity/node_home.h"
#include "json/canonical.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "registry/fingerprint.h"
#include "store/store.h"

namespace kexin::registry {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Helpers.

// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "kexin_registry_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const char* d = mkdtemp(buf.data());
    EXPECT_NE(d, nullptr) << tmpl;
    path_ = d ? d : tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

// CSV-like lines of varying length (some longer than 1024 bytes), deterministic.
std::string GeneratedCsv(size_t approx_bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out = "id,name,city,amount,note\n";
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int row = 1; out.size() < approx_bytes; ++row) {
    out += std::to_string(row) + ",name" + std::to_string(rng() % 1000) + ",city" +
           std::to_string(rng() % 50) + "," + std::to_string(rng() % 100000) + ",";
    size_t note = rng() % 97 == 0 ? 1500 + rng() % 1500 : rng() % 120;  // a few very long lines
    for (size_t i = 0; i < note; ++i) out += kAlnum[rng() % (sizeof kAlnum - 1)];
    out += '\n';
  }
  return out;
}

// The chunking rule of fingerprint.h, written independently: chunk i starts where chunk i-1
// ended and ends just after the first newline at or beyond chunk_bytes from its start (so every
// chunk but the last holds at least chunk_bytes bytes), or at end of file.
std::vector<std::pair<uint64_t, uint64_t>> ReferenceChunks(const std::string& data,
                                                           uint64_t chunk_bytes) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t start = 0;
  while (start < data.size()) {
    uint64_t end = data.size();
    for (uint64_t i = start + chunk_bytes - 1; i < data.size(); ++i) {
      if (data[i] == '\n') {
        end = i + 1;
        break;
      }
    }
    out.push_back({start, end});
    start = end;
  }
  return out;
}

// RFC 9162 MTH, recursively, for cross-checking the tree code.
ledger::Hash ReferenceRoot(const std::vector<ledger::Hash>& leaves, size_t begin, size_t end) {
  size_t n = end - begin;
  if (n == 0) return crypto::Sha256("");
  if (n == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return ledger::NodeHash(ReferenceRoot(leaves, begin, begin + k),
                          ReferenceRoot(leaves, begin + k, end));
}

std::string AddYears(const std::string& date, int years) {
  int y = std::stoi(date.substr(0, 4)) + years;
  std::string out = std::to_string(y) + date.substr(4);
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (out.substr(5) == "02-29" && !leap) out = out.substr(0, 5) + "02-28";
  return out;
}

std::string TodayPlusYears(int years) {
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[16];
  strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  std::string d = buf;
  return AddYears(d, years);
}

// The name of the first failing check, or "" when every check passed.
std::string FirstFailure(const CertVerification& v) {
  for (const auto& c : v.checks) {
    if (!c.ok) return c.check;
  }
  return "";
}

std::string Describe(const CertVerification& v) {
  std::string s = std::string("ok=") + (v.ok ? "true" : "false") + " status=" + v.status + "\n";
  for (const auto& c : v.checks) {
    s += "  " + c.check + ": " + (c.ok ? "ok" : "FAIL") + " (" + c.detail + ")\n";
  }
  return s;
}

// Replaces the certificate's outer signature with one by `key`, as the issuer would make it.
json Resign(json cert, const crypto::SigningKey& key) {
  cert.erase("signature");
  auto canonical = ::kexin::json::Canonicalize(cert);
  EXPECT_TRUE(canonical.ok()) << canonical.status().ToString();
  crypto::Signature sig = key.Sign(canonical.ok() ? *canonical : "");
  cert["signature"] =
      crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
  return cert;
}

ledger::Hash AnotherHash(const ledger::Hash& h) {
  ledger::Hash o = h;
  o[7] ^= 0x40;
  return o;
}

std::string B64(const ledger::Hash& h) { return crypto::Base64Encode(crypto::AsBytes(h)); }

ledger::Hash FromB64(const std::string& s) {
  auto raw = crypto::Base64Decode(s);
  ledger::Hash h{};
  EXPECT_TRUE(raw.ok() && raw->size() == 32) << s;
  if (raw.ok() && raw->size() == 32) std::copy(raw->begin(), raw->end(), h.begin());
  return h;
}

// A node: its home (made with identity::InitHome), its open ledger and its vkey text.
struct TestNode {
  identity::NodeConfig config;
  std::unique_ptr<ledger::Ledger> ledger;
  std::string vkey;
};

// Makes a node home under `parent` with identity::InitHome. With `plus_in_key`, homes are made
// until the key's base64 contains a '+' (about half of all keys), which VerifierKey::Parse once
// mistook for the field separator.
TestNode MakeNode(const std::string& parent, const std::string& name, bool plus_in_key = false) {
  TestNode n;
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::string home = parent + "/" + name + "-" + std::to_string(attempt);
    auto c = identity::InitHome(home, name, std::nullopt);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return n;
    auto key = identity::LoadNodeKey(*c);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    if (!key.ok()) return n;
    ledger::VerifierKey vk{c->origin, ledger::kSigTypeEd25519, key->public_key()};
    std::string text = vk.ToString();
    if (plus_in_key && text.find('+', c->origin.size() + 10) == std::string::npos) continue;
    auto ledger = identity::OpenLedger(*c);
    EXPECT_TRUE(ledger.ok()) << ledger.status().ToString();
    if (!ledger.ok()) return n;
    n.config = *c;
    n.ledger = std::move(*ledger);
    n.vkey = text;
    return n;
  }
  ADD_FAILURE() << "no key with a '+' in its base64 in 200 homes";
  return n;
}

constexpr char kMetaToml[] = R"(name = "客户订单"
description = "Orders of retail customers"
holder = "北京示例科技有限公司"
sector = "retail"
source = "collected from the shop system"
scenario = "demand forecasting"
coverage = "Beijing"
update_frequency = "daily"
validity_years = 3

[rights.holding]
holder = "北京示例科技有限公司"

[rights.processing]
holder = "北京示例科技有限公司"

[rights.operation]
holder = "北京示例数据交易服务有限公司"

[[field]]
name = "手机"
description = "customer mobile number"

[[field]]
name = "订单金额"
description = "order amount in yuan"
)";

std::string CustomersCsv(int rows, int variant) {
  std::string s = "客户编号,姓名,手机,城市,订单金额\n";
  static const char* kNames[] = {"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"};
  static const char* kCities[] = {"北京", "上海", "广州", "深圳"};
  for (int i = 0; i < rows; ++i) {
    s += std::to_string(10000 + i) + "," + kNames[i % 8] + ",13" +
         std::to_string(800000000 + i * 7919 % 100000000) + "," + kCities[(i + variant) % 4] + "," +
         std::to_string((i * 37 + variant) % 5000) + ".00\n";
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Fingerprints.

TEST(FingerprintTest, SameBytesSameRoot) {
  TempDir dir;
  std::string data = GeneratedCsv(40000, 1);
  WriteFile(dir / "a.csv", data);
  WriteFile(dir / "b.csv", data);
  auto a = FingerprintFile(dir / "a.csv", 1024);
  auto b = FingerprintFile(dir / "b.csv", 1024);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->root, b->root);
  EXPECT_EQ(a->leaves, b->leaves);
  EXPECT_EQ(a->bytes, data.size());
  EXPECT_EQ(a->chunk_bytes, 1024u);
  EXPECT_EQ(a->algorithm, "kexin-line-chunk-merkle-v1");
  EXPECT_GT(a->chunks, 10u);
  EXPECT_EQ(a->chunks, a->leaves.size());
}

TEST(FingerprintTest, OneByteChangedChangesOnlyItsChunk) {
  TempDir dir;
  std::string data = GeneratedCsv(50000, 2);
  auto chunks = ReferenceChunks(data, 1024);
  ASSERT_GT(chunks.size(), 20u);
  WriteFile(dir / "orig.csv", data);
  auto orig = FingerprintFile(dir / "orig.csv", 1024);
  ASSERT_TRUE(orig.ok()) << orig.status().ToString();
  ASSERT_EQ(orig->chunks, chunks.size());
  // Change one non-newline byte in several places (first, middle, last chunk, chunk edges); the
  // boundaries do not move, so exactly the containing chunk's leaf differs.
  std::vector<uint64_t> offsets = {0,
                                   chunks[3].first,
                                   chunks[3].second - 2,
                                   data.size() / 2,
                                   chunks.back().first,
                                   data.size() - 2};
  for (uint64_t off : offsets) {
    ASSERT_NE(data[off], '\n') << off;
    std::string changed = data;
    changed[off] = changed[off] == 'x' ? 'y' : 'x';
    WriteFile(dir / "changed.csv", changed);
    auto f = FingerprintFile(dir / "changed.csv", 1024);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_NE(f->root, orig->root) << "offset " << off;
    ASSERT_EQ(f->leaves.size(), orig->leaves.size());
    size_t containing = 0;
    while (!(chunks[containing].first <= off && off < chunks[containing].second)) ++containing;
    for (size_t i = 0; i < f->leaves.size(); ++i) {
      if (i == containing) {
        EXPECT_NE(f->leaves[i], orig->leaves[i]) << "offset " << off << " chunk " << i;
      } else {
        EXPECT_EQ(f->leaves[i], orig->leaves[i]) << "offset " << off << " chunk " << i;
      }
    }
  }
}

TEST(FingerprintTest, ChunkBoundariesFollowTheRule) {
  TempDir dir;
  std::string data = GeneratedCsv(60000, 3);
  data += "a final line without a newline";
  WriteFile(dir / "g.csv", data);
  auto f = FingerprintFile(dir / "g.csv", 1024);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto chunks = ReferenceChunks(data, 1024);
  ASSERT_EQ(f->chunks, chunks.size());
  uint64_t expect_start = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    auto [s, e] = chunks[i];
    EXPECT_EQ(s, expect_start);
    expect_start = e;
    if (i + 1 < chunks.size()) {
      EXPECT_GE(e - s, 1024u) << "chunk " << i;
      EXPECT_EQ(data[e - 1], '\n') << "chunk " << i;
    }
    EXPECT_EQ(f->leaves[i], ledger::LeafHash(std::string_view(data).substr(s, e - s))) << i;
  }
  EXPECT_EQ(expect_start, data.size());
  EXPECT_EQ(f->root, ReferenceRoot(f->leaves, 0, f->leaves.size()));
  // The generated data has lines longer than a chunk: such a line stays whole in one chunk.
  bool long_chunk = false;
  for (auto [s, e] : chunks) long_chunk = long_chunk || e - s > 2048;
  EXPECT_TRUE(long_chunk);
}

TEST(FingerprintTest, ChunkBoundaryEdgeCases) {
  TempDir dir;
  struct Case {
    std::string name;
    std::string data;
    std::vector<uint64_t> sizes;  // expected chunk sizes
  };
  std::vector<Case> cases;
  // Lines of exactly 1024 bytes: the newline is the 1024th byte, so each line is one chunk.
  cases.push_back(
      {"exact", std::string(1023, 'a') + "\n" + std::string(1023, 'b') + "\n", {1024, 1024}});
  // 512-byte lines: two lines to a chunk.
  {
    std::string d;
    for (int i = 0; i < 5; ++i) d += std::string(511, static_cast<char>('a' + i)) + "\n";
    cases.push_back({"half", d, {1024, 1024, 512}});
  }
  // 513-byte lines: the first newline at or beyond byte 1024 ends the second line (1026 bytes).
  {
    std::string d;
    for (int i = 0; i < 4; ++i) d += std::string(512, static_cast<char>('a' + i)) + "\n";
    cases.push_back({"over", d, {1026, 1026}});
  }
  // A newline at offset 1022 (1023rd byte) does not end a chunk; the next one does.
  cases.push_back({"early", std::string(1022, 'a') + "\n" + "bb\n" + "cc", {1026, 2}});
  // Smaller than a chunk, no final newline.
  cases.push_back({"small", "a,b\n1,2", {7}});
  // One 5000-byte line with no newline at all.
  cases.push_back({"noline", std::string(5000, 'z'), {5000}});
  for (const auto& c : cases) {
    WriteFile(dir / c.name, c.data);
    auto f = FingerprintFile(dir / c.name, 1024);
    ASSERT_TRUE(f.ok()) << c.name << ": " << f.status().ToString();
    auto ref = ReferenceChunks(c.data, 1024);
    std::vector<uint64_t> sizes;
    for (auto [s, e] : ref) sizes.push_back(e - s);
    EXPECT_EQ(sizes, c.sizes) << c.name << " (reference rule)";
    ASSERT_EQ(f->chunks, c.sizes.size()) << c.name;
    uint64_t off = 0;
    for (size_t i = 0; i < c.sizes.size(); ++i) {
      EXPECT_EQ(f->leaves[i], ledger::LeafHash(std::string_view(c.data).substr(off, c.sizes[i])))
          << c.name << " chunk " << i;
      off += c.sizes[i];
    }
  }
}

TEST(FingerprintTest, ProveChunkVerifiesAgainstTheRoot) {
  TempDir dir;
  std::string data = GeneratedCsv(30000, 4);
  WriteFile(dir / "p.csv", data);
  auto f = FingerprintFile(dir / "p.csv", 1024);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto chunks = ReferenceChunks(data, 1024);
  ASSERT_EQ(f->chunks, chunks.size());
  for (uint64_t i = 0; i < f->chunks; ++i) {
    auto p = ProveChunk(dir / "p.csv", i, 1024);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->index, i);
    EXPECT_EQ(p->offset, chunks[i].first);
    EXPECT_EQ(p->data, data.substr(chunks[i].first, chunks[i].second - chunks[i].first));
    Status s = ledger::VerifyInclusion(i, f->chunks, ledger::LeafHash(p->data), p->proof, f->root);
    EXPECT_TRUE(s.ok()) << "chunk " << i << ": " << s.ToString();
    // A changed chunk, or the proof at another index, does not verify.
    std::string other = p->data;
    other[0] ^= 1;
    EXPECT_FALSE(
        ledger::VerifyInclusion(i, f->chunks, ledger::LeafHash(other), p->proof, f->root).ok());
    uint64_t j = (i + 1) % f->chunks;
    EXPECT_FALSE(
        ledger::VerifyInclusion(j, f->chunks, ledger::LeafHash(p->data), p->proof, f->root).ok());
  }
  auto out_of_range = ProveChunk(dir / "p.csv", f->chunks, 1024);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out_of_range.status().message().find("p.csv"), std::string::npos);
}

TEST(FingerprintTest, ProveChunkDefaultChunkSizeMatchesFingerprint) {
  TempDir dir;
  std::string data = GeneratedCsv(3 << 20, 5);  // about 3 MiB: 3 chunks of 1 MiB
  WriteFile(dir / "big.csv", data);
  auto f = FingerprintFile(dir / "big.csv");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->chunk_bytes, kDefaultChunkBytes);
  ASSERT_GE(f->chunks, 3u);
  for (uint64_t i = 0; i < f->chunks; ++i) {
    auto p = ProveChunk(dir / "big.csv", i);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_TRUE(
        ledger::VerifyInclusion(i, f->chunks, ledger::LeafHash(p->data), p->proof, f->root).ok());
  }
}

TEST(FingerprintTest, ThreadCountDoesNotChangeTheResult) {
  TempDir dir;
  std::string data = GeneratedCsv(100000, 6);
  WriteFile(dir / "t.csv", data);
  auto one = FingerprintFile(dir / "t.csv", 1024, 1);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  for (int threads : {2, 3, 8, 0}) {
    auto f = FingerprintFile(dir / "t.csv", 1024, threads);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(f->root, one->root) << threads << " threads";
    EXPECT_EQ(f->leaves, one->leaves) << threads << " threads";
    EXPECT_EQ(f->chunks, one->chunks);
    EXPECT_EQ(f->bytes, one->bytes);
  }
}

TEST(FingerprintTest, EmptyFileHasNoChunksAndTheEmptyRoot) {
  TempDir dir;
  WriteFile(dir / "empty.csv", "");
  auto f = FingerprintFile(dir / "empty.csv", 1024, 2);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->chunks, 0u);
  EXPECT_EQ(f->bytes, 0u);
  EXPECT_TRUE(f->leaves.empty());
  EXPECT_EQ(f->root, ledger::EmptyRoot());
  EXPECT_EQ(crypto::HexEncode(f->root),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto p = ProveChunk(dir / "empty.csv", 0, 1024);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
}

TEST(FingerprintTest, BadInputs) {
  TempDir dir;
  auto missing = FingerprintFile(dir / "missing.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing.csv"), std::string::npos);
  auto missing_proof = ProveChunk(dir / "missing.csv", 0);
  ASSERT_FALSE(missing_proof.ok());
  EXPECT_EQ(missing_proof.status().code(), StatusCode::kNotFound);
  auto directory = FingerprintFile(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);
  WriteFile(dir / "x.csv", "a\n");
  auto tiny = FingerprintFile(dir / "x.csv", 1023);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.status().code(), StatusCode::kInvalidArgument);
}

// Fixed bug: ProveChunk did not check the chunk size, and with 0 its chunking read the byte
// before the mapped file (a crash).
TEST(FingerprintTest, ProveChunkRejectsChunkSizeBelowMinimum) {
  TempDir dir;
  WriteFile(dir / "x.csv", "a\nb\n");
  for (uint64_t chunk : {uint64_t{0}, uint64_t{1}, uint64_t{1023}}) {
    auto p = ProveChunk(dir / "x.csv", 0, chunk);
    ASSERT_FALSE(p.ok()) << chunk;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << chunk;
  }
  EXPECT_TRUE(ProveChunk(dir / "x.csv", 0, 1024).ok());
}

// ---------------------------------------------------------------------------------------------
// LoadMeta.

TEST(LoadMetaTest, ReadsEveryKey) {
  TempDir dir;
  WriteFile(dir / "META.toml", kMetaToml);
  auto m = LoadMeta(dir / "META.toml");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)["name"], "客户订单");
  EXPECT_EQ((*m)["holder"], "北京示例科技有限公司");
  EXPECT_EQ((*m)["sector"], "retail");
  EXPECT_EQ((*m)["source"], "collected from the shop system");
  EXPECT_EQ((*m)["scenario"], "demand forecasting");
  EXPECT_EQ((*m)["description"], "Orders of retail customers");
  EXPECT_EQ((*m)["coverage"], "Beijing");
  EXPECT_EQ((*m)["update_frequency"], "daily");
  EXPECT_EQ((*m)["validity_years"], 3);
  EXPECT_EQ((*m)["rights"]["holding"]["holder"], "北京示例科技有限公司");
  EXPECT_EQ((*m)["rights"]["operation"]["holder"], "北京示例数据交易服务有限公司");
  ASSERT_EQ((*m)["fields"].size(), 2u);
  EXPECT_EQ((*m)["fields"][0]["name"], "手机");
  EXPECT_EQ((*m)["fields"][1]["description"], "order amount in yuan");
}

TEST(LoadMetaTest, OptionalKeysDefault) {
  TempDir dir;
  WriteFile(dir / "m.toml",
            "name='n'\nholder='h'\nsector='s'\nsource='src'\nscenario='sc'\n"
            "[rights.holding]\nholder='a'\n[rights.processing]\nholder='b'\n"
            "[rights.operation]\nholder='c'\n");
  auto m = LoadMeta(dir / "m.toml");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)["validity_years"], 3);
  EXPECT_EQ((*m)["description"], "");
  EXPECT_EQ((*m)["coverage"], "");
  EXPECT_EQ((*m)["update_frequency"], "");
  EXPECT_TRUE((*m)["fields"].is_array() && (*m)["fields"].empty());
}

// Removes the line `key = ...` at top level, or the holder line of [rights.<right>].
std::string WithoutKey(const std::string& toml, const std::string& key) {
  std::istringstream in(toml);
  std::string line, out, section;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') section = line;
    std::string k = line.substr(0, line.find(" ="));
    std::string full = section.empty() || section.rfind("[[", 0) == 0
                           ? k
                           : section.substr(1, section.size() - 2) + "." + k;
    if (section.rfind("[[", 0) == 0) full = "";
    if (full == key) continue;
    out += line + "\n";
  }
  return out;
}

TEST(LoadMetaTest, EveryRequiredKeyMissingNamesFileAndKey) {
  TempDir dir;
  for (std::string key : {"name", "holder", "sector", "source", "scenario", "rights.holding.holder",
                          "rights.processing.holder", "rights.operation.holder"}) {
    std::string text = WithoutKey(kMetaToml, key);
    ASSERT_NE(text, std::string(kMetaToml)) << key;
    std::string path = dir / ("missing_" + key + ".toml");
    WriteFile(path, text);
    auto m = LoadMeta(path);
    ASSERT_FALSE(m.ok()) << key;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_NE(m.status().message().find(path), std::string::npos) << m.status().message();
    std::string named = key.rfind("rights.", 0) == 0 ? key.substr(0, key.rfind('.')) : key;
    EXPECT_NE(m.status().message().find(named), std::string::npos) << m.status().message();
    // An empty string is as good as missing.
    if (key.rfind("rights.", 0) != 0) {
      std::string empty = key + " = \"\"\n" + text;
      WriteFile(path, empty);
      auto e = LoadMeta(path);
      ASSERT_FALSE(e.ok()) << key;
      EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << key;
      EXPECT_NE(e.status().message().find(key), std::string::npos) << e.status().message();
    }
  }
}

TEST(LoadMetaTest, ValidityYearsRange) {
  TempDir dir;
  std::string base = WithoutKey(kMetaToml, "validity_years");
  for (int years : {0, -1, 51, 1000}) {
    std::string path = dir / ("years_" + std::to_string(years) + ".toml");
    WriteFile(path, "validity_years = " + std::to_string(years) + "\n" + base);
    auto m = LoadMeta(path);
    ASSERT_FALSE(m.ok()) << years;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(m.status().message().find("validity_years"), std::string::npos);
    EXPECT_NE(m.status().message().find(path), std::string::npos);
  }
  for (int years : {1, 50}) {
    std::string path = dir / ("years_" + std::to_string(years) + ".toml");
    WriteFile(path, "validity_years = " + std::to_string(years) + "\n" + base);
    auto m = LoadMeta(path);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ((*m)["validity_years"], years);
  }
}

// Fixed bug: a validity_years of the wrong type (validity_years = "10") silently became the
// default of 3 years.
TEST(LoadMetaTest, ValidityYearsOfTheWrongTypeIsAnError) {
  TempDir dir;
  std::string base = WithoutKey(kMetaToml, "validity_years");
  for (std::string bad : {"\"10\"", "2.5", "true", "[5]"}) {
    std::string path = dir / "years_typed.toml";
    WriteFile(path, "validity_years = " + bad + "\n" + base);
    auto m = LoadMeta(path);
    ASSERT_FALSE(m.ok()) << bad << ": " << m->dump();
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(m.status().message().find("validity_years"), std::string::npos) << bad;
    EXPECT_NE(m.status().message().find(path), std::string::npos) << bad;
  }
}

TEST(LoadMetaTest, FileErrors) {
  TempDir dir;
  auto missing = LoadMeta(dir / "nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.toml"), std::string::npos);
  WriteFile(dir / "bad.toml", "name = \"a\"\nholder = \n");
  auto bad = LoadMeta(dir / "bad.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("bad.toml:2"), std::string::npos) << bad.status().message();
  WriteFile(dir / "field.toml", std::string(kMetaToml) + "\n[[field]]\ndescription = \"x\"\n");
  auto field = LoadMeta(dir / "field.toml");
  ASSERT_FALSE(field.ok());
  EXPECT_EQ(field.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(field.status().message().find("field"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Registry on a node home.

class RegistryTest : public testing::Test {
 protected:
  void SetUp() override {
    node_ = MakeNode(dir_.path(), "node-a");
    ASSERT_NE(node_.ledger, nullptr);
    auto r = Registry::Open(node_.config.store_url, node_.ledger.get());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(*r);
    WriteFile(dir_ / "META.toml", kMetaToml);
    auto m = LoadMeta(dir_ / "META.toml");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    meta_ = *m;
    data_ = dir_ / "orders.csv";
    WriteFile(data_, CustomersCsv(60, 0));
  }

  // Appends `n` unrelated entries so later proofs have several elements.
  void AppendNotes(int n) {
    for (int i = 0; i < n; ++i) {
      auto idx = node_.ledger->Append("note.test", {{"i", i}});
      ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    }
  }

  CertVerification Verify(const json& cert) { return VerifyCertificate(cert, node_.vkey); }

  // Asserts the certificate fails verification with `check` as the failing check.
  void ExpectFailsAt(const json& cert, const std::string& check, const std::string& what,
                     const std::optional<std::string>& key) {
    CertVerification v = VerifyCertificate(cert, key);
    EXPECT_FALSE(v.ok) << what << "\n" << Describe(v);
    EXPECT_EQ(FirstFailure(v), check) << what << "\n" << Describe(v);
    if (!v.checks.empty()) {
      EXPECT_EQ(v.checks.back().check, check) << what << ": verification continued after a failure";
    }
  }
  void ExpectFailsAt(const json& cert, const std::string& check, const std::string& what) {
    ExpectFailsAt(cert, check, what, node_.vkey);
  }

  // Registers the data file with some notes before, and returns a fresh certificate made after
  // more notes, so the inclusion proof has several elements.
  json RegisteredCertificate() {
    AppendNotes(5);
    auto cert = registry_->Register(data_, meta_, {});
    EXPECT_TRUE(cert.ok()) << cert.status().ToString();
    if (!cert.ok()) return json();
    AppendNotes(6);
    auto fresh = registry_->Certificate((*cert)["registration"]["id"].get<std::string>());
    EXPECT_TRUE(fresh.ok()) << fresh.status().ToString();
    return fresh.ok() ? *fresh : json();
  }

  TempDir dir_;
  TestNode node_;
  std::unique_ptr<Registry> registry_;
  json meta_;
  std::string data_;
};

TEST_F(RegistryTest, RegisterIssuesAVerifiableCertificate) {
  auto cert = registry_->Register(data_, meta_, {});
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  const json& reg = (*cert)["registration"];
  EXPECT_EQ((*cert)["certificate"], "kexin.registration-certificate/v1");
  EXPECT_EQ(reg["version"], 1);
  EXPECT_TRUE(reg["previous"].is_null());
  EXPECT_EQ(reg["action"], "initial");
  EXPECT_EQ(reg["name"], "客户订单");
  EXPECT_EQ(reg["rights"]["operation"]["holder"], "北京示例数据交易服务有限公司");
  EXPECT_EQ(reg["valid_from"], TodayPlusYears(0));
  EXPECT_EQ(reg["valid_until"], TodayPlusYears(3));
  EXPECT_EQ(reg["id"].get<std::string>().size(), 32u);
  EXPECT_EQ(reg["file_name"], "orders.csv");
  EXPECT_EQ(reg["personal_information"], true);
  auto fp = FingerprintFile(data_);
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(reg["fingerprint"]["root"], crypto::HexEncode(fp->root));
  EXPECT_EQ(reg["fingerprint"]["bytes"], fp->bytes);
  // The field description from META.toml is merged into the scanned field.
  bool described = false;
  for (const auto& f : reg["fields"]) {
    if (f["name"] == "手机") described = f.value("description", "") == "customer mobile number";
  }
  EXPECT_TRUE(described) << reg["fields"].dump();

  const json& l = (*cert)["ledger"];
  uint64_t index = l["index"].get<uint64_t>();
  auto entry = node_.ledger->Entry(index);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(l["entry"], *entry);
  json e = json::parse(*entry);
  EXPECT_EQ(e["type"], "registration.initial");
  EXPECT_EQ(e["body"], reg);
  EXPECT_EQ((*cert)["node"]["key"], node_.vkey);

  CertVerification v = Verify(*cert);
  EXPECT_TRUE(v.ok) << Describe(v);
  EXPECT_EQ(v.status, "active");
  std::vector<std::string> names;
  for (const auto& c : v.checks) {
    names.push_back(c.check);
    EXPECT_TRUE(c.ok) << c.check << ": " << c.detail;
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "format", "node key", "trusted key", "certificate signature", "ledger entry",
                       "checkpoint signature", "checkpoint", "inclusion proof", "validity"}));
  // Without --key the embedded key is used, and the result says so.
  CertVerification embedded = VerifyCertificate(*cert, std::nullopt);
  EXPECT_TRUE(embedded.ok) << Describe(embedded);
  ASSERT_GE(embedded.checks.size(), 3u);
  EXPECT_NE(embedded.checks[2].detail.find("not checked"), std::string::npos);

  auto shown = registry_->Show(reg["id"].get<std::string>());
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ((*shown)["status"], "active");
  EXPECT_EQ((*shown)["version"], 1);
  auto list = registry_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0]["id"], reg["id"]);
}

TEST_F(RegistryTest, LifeCycleVersionsChainThroughTheLedger) {
  auto first = registry_->Register(data_, meta_, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string id = (*first)["registration"]["id"];
  json meta2 = meta_;
  meta2["description"] = "Orders, now with cities";
  meta2["update_frequency"] = "hourly";
  WriteFile(dir_ / "orders2.csv", CustomersCsv(80, 1));
  std::vector<json> certs = {*first};
  auto change = registry_->Change(id, meta2, dir_ / "orders2.csv", {});
  ASSERT_TRUE(change.ok()) << change.status().ToString();
  certs.push_back(*change);
  auto transfer = registry_->Transfer(id, "processing", "上海样例分析有限公司");
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  certs.push_back(*transfer);
  auto renew = registry_->Renew(id, 2);
  ASSERT_TRUE(renew.ok()) << renew.status().ToString();
  certs.push_back(*renew);
  auto cancel = registry_->Cancel(id, "the data set was withdrawn");
  ASSERT_TRUE(cancel.ok()) << cancel.status().ToString();
  certs.push_back(*cancel);

  const std::vector<std::string> actions = {"initial", "change", "transfer", "renewal",
                                            "cancellation"};
  for (size_t i = 0; i < certs.size(); ++i) {
    const json& reg = certs[i]["registration"];
    SCOPED_TRACE(actions[i]);
    EXPECT_EQ(reg["id"], id);
    EXPECT_EQ(reg["version"], static_cast<int64_t>(i + 1));
    EXPECT_EQ(reg["action"], actions[i]);
    uint64_t index = certs[i]["ledger"]["index"].get<uint64_t>();
    auto entry = node_.ledger->Entry(index);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(certs[i]["ledger"]["entry"], *entry);
    json e = json::parse(*entry);
    EXPECT_EQ(e["type"], "registration." + actions[i]);
    EXPECT_EQ(e["body"], reg);
    if (i == 0) {
      EXPECT_TRUE(reg["previous"].is_null());
    } else {
      const json& prev = certs[i - 1];
      json expected = {{"version", prev["registration"]["version"]},
                       {"ledger_index", prev["ledger"]["index"]}};
      EXPECT_EQ(reg["previous"], expected) << reg["previous"].dump();
      EXPECT_GT(index, prev["ledger"]["index"].get<uint64_t>());
    }
    CertVerification v = Verify(certs[i]);
    EXPECT_TRUE(v.ok) << Describe(v);
    EXPECT_EQ(v.status, i + 1 == certs.size() ? "cancelled" : "active");
  }
  // What each action changed.
  auto fp2 = FingerprintFile(dir_ / "orders2.csv");
  ASSERT_TRUE(fp2.ok());
  EXPECT_EQ(certs[1]["registration"]["fingerprint"]["root"], crypto::HexEncode(fp2->root));
  EXPECT_NE(certs[1]["registration"]["fingerprint"]["root"],
            certs[0]["registration"]["fingerprint"]["root"]);
  EXPECT_EQ(certs[1]["registration"]["description"], "Orders, now with cities");
  EXPECT_EQ(certs[1]["registration"]["update_frequency"], "hourly");
  EXPECT_EQ(certs[2]["registration"]["rights"]["processing"]["holder"], "上海样例分析有限公司");
  EXPECT_EQ(certs[2]["registration"]["rights"]["processing"]["transferred_from"],
            "北京示例科技有限公司");
  EXPECT_EQ(certs[2]["registration"]["rights"]["holding"]["holder"], "北京示例科技有限公司");
  EXPECT_EQ(certs[3]["registration"]["valid_until"],
            AddYears(certs[2]["registration"]["valid_until"].get<std::string>(), 2));
  EXPECT_EQ(certs[4]["registration"]["cancellation_reason"], "the data set was withdrawn");

  // A cancellation certificate verifies, but its validity check reports the cancellation.
  CertVerification cv = Verify(certs[4]);
  EXPECT_TRUE(cv.ok);
  EXPECT_EQ(cv.status, "cancelled");
  ASSERT_FALSE(cv.checks.empty());
  EXPECT_EQ(cv.checks.back().check, "validity");
  EXPECT_FALSE(cv.checks.back().ok);
  EXPECT_NE(cv.checks.back().detail.find("cancelled"), std::string::npos);

  // After the cancellation: Show says so and no further action is allowed.
  auto shown = registry_->Show(id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ((*shown)["status"], "cancelled");
  EXPECT_EQ((*shown)["version"], 5);
  auto t = registry_->Transfer(id, "holding", "someone else");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(t.status().message().find(id), std::string::npos);
  auto r = registry_->Renew(id, 1);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  auto c = registry_->Cancel(id, "again");
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  auto ch = registry_->Change(id, meta2, std::nullopt, {});
  EXPECT_EQ(ch.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(node_.ledger->VerifyAll().ToString(), Status::Ok().ToString());

  // Older versions can still be certified.
  auto v1 = registry_->Certificate(id, 1);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ((*v1)["registration"]["version"], 1);
  EXPECT_TRUE(Verify(*v1).ok);
}

TEST_F(RegistryTest, BadRequests) {
  auto missing = registry_->Show("0123456789abcdef0123456789abcdef");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->Transfer("nope", "holding", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->Certificate("nope").status().code(), StatusCode::kNotFound);
  auto cert = registry_->Register(data_, meta_, {});
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  std::string id = (*cert)["registration"]["id"];
  EXPECT_EQ(registry_->Transfer(id, "ownership", "x").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Transfer(id, "holding", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Renew(id, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Renew(id, 51).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Certificate(id, 7).status().code(), StatusCode::kNotFound);
  auto nofile = registry_->Register(dir_ / "nofile.csv", meta_, {});
  EXPECT_EQ(nofile.status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, ShowReportsExpiry) {
  auto cert = registry_->Register(data_, meta_, {});
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  // A registration made years ago: on the ledger and in the index, as an import would leave it.
  json old = (*cert)["registration"];
  old["id"] = "aged0000000000000000000000000001";
  old["valid_from"] = "2017-01-01";
  old["valid_until"] = "2020-01-01";
  auto index = node_.ledger->Append("registration.initial", old);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  auto text = ::kexin::json::Canonicalize(old);
  ASSERT_TRUE(text.ok());
  auto store = store::Store::Open(node_.config.store_url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)
                  ->Exec("INSERT INTO registrations (id, version, type, ledger_index, record) "
                         "VALUES ($1, 1, 'initial', $2, $3)",
                         {old["id"].get<std::string>(), static_cast<int64_t>(*index), *text})
                  .ok());
  auto shown = registry_->Show(old["id"]);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ((*shown)["status"], "expired");
  // Renewing a lapsed registration starts a new period today.
  auto renew = registry_->Renew(old["id"], 3);
  ASSERT_TRUE(renew.ok()) << renew.status().ToString();
  EXPECT_EQ((*renew)["registration"]["valid_until"], TodayPlusYears(3));
  EXPECT_EQ((*renew)["registration"]["valid_from"], TodayPlusYears(0));
}

TEST_F(RegistryTest, ADivergingIndexRowIsReportedNotBuiltUpon) {
  auto cert = registry_->Register(data_, meta_, {});
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  std::string id = (*cert)["registration"]["id"];
  json changed = (*cert)["registration"];
  changed["holder"] = "Someone Else";
  auto text = ::kexin::json::Canonicalize(changed);
  ASSERT_TRUE(text.ok());
  auto store = store::Store::Open(node_.config.store_url);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(
      (*store)->Exec("UPDATE registrations SET record = $1 WHERE id = $2", {*text, id}).ok());
  for (auto r : {registry_->Show(id), registry_->Renew(id, 1), registry_->Certificate(id)}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("differs from ledger entry"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// Tampering: each modification fails at a named check.

TEST_F(RegistryTest, TamperedCertificatesFailAtTheNamedCheck) {
  json cert = RegisteredCertificate();
  ASSERT_TRUE(cert.is_object());
  ASSERT_TRUE(Verify(cert).ok) << Describe(Verify(cert));
  ASSERT_GE(cert["ledger"]["inclusion_proof"].size(), 2u) << cert["ledger"].dump();
  TestNode other = MakeNode(dir_.path(), "node-b");
  ASSERT_NE(other.ledger, nullptr);

  // Not re-signed: the outer signature catches every change.
  {
    json c = cert;
    c["registration"]["rights"]["holding"]["holder"] = "某人";
    ExpectFailsAt(c, "certificate signature", "registration field");
    c = cert;
    c["registration"]["valid_until"] = "2099-12-31";
    ExpectFailsAt(c, "certificate signature", "registration valid_until");
  }
  {
    json c = cert;
    std::string e = c["ledger"]["entry"];
    e.replace(e.find("registration.initial"), 20, "registration.transfe");
    c["ledger"]["entry"] = e;
    ExpectFailsAt(c, "certificate signature", "ledger.entry");
  }
  {
    json c = cert;
    c["ledger"]["inclusion_proof"][1] =
        B64(AnotherHash(FromB64(c["ledger"]["inclusion_proof"][1].get<std::string>())));
    ExpectFailsAt(c, "certificate signature", "one inclusion_proof element");
  }
  {
    json c = cert;
    c["ledger"]["index"] = c["ledger"]["index"].get<uint64_t>() + 1;
    ExpectFailsAt(c, "certificate signature", "ledger.index");
  }
  {
    json c = cert;
    std::string cp = c["ledger"]["checkpoint"];
    size_t nl = cp.find('\n');
    ASSERT_NE(nl, std::string::npos);
    c["ledger"]["checkpoint"] = cp.substr(0, nl) + "x" + cp.substr(nl);  // origin line
    ExpectFailsAt(c, "certificate signature", "ledger.checkpoint text");
  }
  {
    json c = cert;
    auto note = ledger::SignedNote::Parse(c["ledger"]["checkpoint"].get<std::string>());
    ASSERT_TRUE(note.ok());
    note->signatures[0].signature[5] ^= 1;
    c["ledger"]["checkpoint"] = note->Serialize();
    ExpectFailsAt(c, "certificate signature", "checkpoint signature");
  }
  {
    json c = cert;
    c["node"]["key"] = other.vkey;
    ExpectFailsAt(c, "trusted key", "node.key swapped, --key of the real node");
    ExpectFailsAt(c, "certificate signature", "node.key swapped, no --key", std::nullopt);
  }
  {
    json c = cert;
    auto sig = crypto::Base64Decode(c["signature"].get<std::string>());
    ASSERT_TRUE(sig.ok());
    std::string s = *sig;
    s[10] ^= 0x10;
    c["signature"] = crypto::Base64Encode(s);
    ExpectFailsAt(c, "certificate signature", "signature");
    c["signature"] = "not base64!";
    ExpectFailsAt(c, "certificate signature", "signature not base64");
    c["signature"] = crypto::Base64Encode(s.substr(0, 63));
    ExpectFailsAt(c, "certificate signature", "signature 63 bytes");
    c.erase("signature");
    ExpectFailsAt(c, "format", "no signature");
  }

  // Re-signed by another node's key, claiming to be that node.
  {
    json c = cert;
    c["node"]["key"] = other.vkey;
    c = Resign(c, other.ledger->key());
    ExpectFailsAt(c, "trusted key", "re-signed by another node, --key of the real node");
    // Trusting the embedded key: the checkpoint inside is not signed by that node.
    ExpectFailsAt(c, "checkpoint signature", "re-signed by another node, no --key", std::nullopt);
  }
  // Re-signed by another node's key while claiming the real key.
  ExpectFailsAt(Resign(cert, other.ledger->key()), "certificate signature",
                "signed by another key");

  // Re-signed with the right node key (what a compromised issuer, or a bug, could produce): the
  // inner checks still catch every inconsistency.
  const crypto::SigningKey& key = node_.ledger->key();
  ASSERT_TRUE(Verify(Resign(cert, key)).ok) << "re-signing alone must not break the certificate";
  {
    json c = cert;
    c["ledger"]["inclusion_proof"][0] =
        B64(AnotherHash(FromB64(c["ledger"]["inclusion_proof"][0].get<std::string>())));
    ExpectFailsAt(Resign(c, key), "inclusion proof", "altered proof element, re-signed");
    c = cert;
    c["ledger"]["inclusion_proof"].erase(c["ledger"]["inclusion_proof"].size() - 1);
    ExpectFailsAt(Resign(c, key), "inclusion proof", "shortened proof, re-signed");
    c = cert;
    c["ledger"]["inclusion_proof"].push_back(c["ledger"]["inclusion_proof"][0]);
    ExpectFailsAt(Resign(c, key), "inclusion proof", "lengthened proof, re-signed");
    c = cert;
    c["ledger"]["inclusion_proof"][0] = "AAAA";
    ExpectFailsAt(Resign(c, key), "inclusion proof", "proof element of 3 bytes, re-signed");
  }
  {
    json c = cert;
    c["ledger"]["index"] = c["ledger"]["index"].get<uint64_t>() + 1;
    ExpectFailsAt(Resign(c, key), "inclusion proof", "ledger.index, re-signed");
  }
  {
    json c = cert;
    json e = json::parse(c["ledger"]["entry"].get<std::string>());
    e["body"]["name"] = "another name";
    c["ledger"]["entry"] = ::kexin::json::Canonicalize(e).value();
    ExpectFailsAt(Resign(c, key), "ledger entry", "altered entry body, re-signed");
    e = json::parse(cert["ledger"]["entry"].get<std::string>());
    e["type"] = "registration.change";
    c["ledger"]["entry"] = ::kexin::json::Canonicalize(e).value();
    ExpectFailsAt(Resign(c, key), "ledger entry", "altered entry type, re-signed");
    e = json::parse(cert["ledger"]["entry"].get<std::string>());
    e["time"] = "2000-01-01T00:00:00Z";
    c["ledger"]["entry"] = ::kexin::json::Canonicalize(e).value();
    ExpectFailsAt(Resign(c, key), "inclusion proof", "altered entry time, re-signed");
  }
  {
    json c = cert;
    c["registration"]["rights"]["holding"]["holder"] = "某人";
    ExpectFailsAt(Resign(c, key), "ledger entry", "altered registration, re-signed");
  }
  {
    json c = cert;
    c["ledger"]["tree_size"] = c["ledger"]["tree_size"].get<uint64_t>() + 1;
    ExpectFailsAt(Resign(c, key), "checkpoint", "tree_size, re-signed");
  }
  {
    // The checkpoint body altered under its old signature.
    json c = cert;
    auto note = ledger::SignedNote::Parse(c["ledger"]["checkpoint"].get<std::string>());
    ASSERT_TRUE(note.ok());
    auto cp = ledger::Checkpoint::ParseBody(note->text);
    ASSERT_TRUE(cp.ok());
    cp->root = AnotherHash(cp->root);
    note->text = cp->Body();
    c["ledger"]["checkpoint"] = note->Serialize();
    ExpectFailsAt(Resign(c, key), "checkpoint signature", "checkpoint root, re-signed");
    // A checkpoint with that root properly signed by the node: the proof no longer leads to it.
    note->signatures = {ledger::SignNote(note->text, node_.config.origin, key)};
    c["ledger"]["checkpoint"] = note->Serialize();
    ExpectFailsAt(Resign(c, key), "inclusion proof", "forged checkpoint signed by the node");
    // A checkpoint signed by another node only.
    auto original = ledger::SignedNote::Parse(cert["ledger"]["checkpoint"].get<std::string>());
    ASSERT_TRUE(original.ok());
    note->text = original->text;
    note->signatures = {ledger::SignNote(note->text, other.config.origin, other.ledger->key())};
    c["ledger"]["checkpoint"] = note->Serialize();
    ExpectFailsAt(Resign(c, key), "checkpoint signature", "checkpoint signed by another node");
    c["ledger"]["checkpoint"] = "not a signed note";
    ExpectFailsAt(Resign(c, key), "checkpoint signature", "checkpoint not a note");
  }
  {
    json c = cert;
    c["ledger"]["entry"] = "{not json";
    CertVerification v = VerifyCertificate(Resign(c, key), node_.vkey);
    EXPECT_FALSE(v.ok) << Describe(v);
    EXPECT_EQ(FirstFailure(v), "format") << Describe(v);
  }
  // A --key that is not a verifier key, or another node's key.
  ExpectFailsAt(cert, "trusted key", "garbage --key", std::string("not a key"));
  ExpectFailsAt(cert, "trusted key", "other --key", other.vkey);
  // Not a certificate at all.
  ExpectFailsAt(json::array(), "format", "an array");
  json wrong = cert;
  wrong["certificate"] = "something/v2";
  ExpectFailsAt(wrong, "format", "another format");
}

TEST_F(RegistryTest, ExpiredRegistrationVerifiesWithStatusExpired) {
  json cert = RegisteredCertificate();
  ASSERT_TRUE(cert.is_object());
  // The node issues a certificate for a record whose validity ended: the record goes into the
  // ledger as registration.<action>, and the certificate carries its proof, re-signed.
  json reg = cert["registration"];
  reg["valid_from"] = "2019-01-01";
  reg["valid_until"] = "2022-01-01";
  auto entry = ledger::CanonicalEntry("registration." + reg["action"].get<std::string>(),
                                      ledger::NowRfc3339(), reg);
  ASSERT_TRUE(entry.ok());
  auto index = node_.ledger->AppendCanonical(*entry);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  auto note = node_.ledger->SignCheckpoint();
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  uint64_t size = node_.ledger->Size();
  auto proof = node_.ledger->InclusionProof(*index, size);
  ASSERT_TRUE(proof.ok());
  json c = cert;
  c["registration"] = reg;
  c["ledger"]["entry"] = *entry;
  c["ledger"]["index"] = *index;
  c["ledger"]["tree_size"] = size;
  c["ledger"]["checkpoint"] = *note;
  c["ledger"]["inclusion_proof"] = json::array();
  for (const auto& h : *proof) c["ledger"]["inclusion_proof"].push_back(B64(h));
  c = Resign(c, node_.ledger->key());
  CertVerification v = Verify(c);
  EXPECT_TRUE(v.ok) << Describe(v);
  EXPECT_EQ(v.status, "expired");
  ASSERT_FALSE(v.checks.empty());
  EXPECT_EQ(v.checks.back().check, "validity");
  EXPECT_FALSE(v.checks.back().ok);
  EXPECT_NE(v.checks.back().detail.find("expired"), std::string::npos);
  EXPECT_NE(v.checks.back().detail.find("2022-01-01"), std::string::npos);
}

TEST_F(RegistryTest, CertificateSurvivesReopeningTheNode) {
  auto cert = registry_->Register(data_, meta_, {});
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  std::string id = (*cert)["registration"]["id"];
  registry_.reset();
  node_.ledger.reset();
  auto home = identity::LoadHome(node_.config.home);
  ASSERT_TRUE(home.ok()) << home.status().ToString();
  auto ledger = identity::OpenLedger(*home);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  auto reg = Registry::Open(home->store_url, ledger->get());
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  auto again = (*reg)->Certificate(id);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["registration"], (*cert)["registration"]);
  CertVerification v = VerifyCertificate(*again, node_.vkey);
  EXPECT_TRUE(v.ok) << Describe(v);
  // The first certificate is still valid on its own.
  EXPECT_TRUE(VerifyCertificate(*cert, node_.vkey).ok);
}

// Fixed bug: VerifierKey::Parse split "<name>+<id>+<base64>" at the last two '+' signs, so for a
// node whose key's base64 contains '+' every certificate failed at "node key" ("bad key material")
// and `kexin cert verify --key` could not take the key `kexin node show` prints.
TEST(RegistryKeyTest, CertificateOfNodeWhoseKeyBase64HasPlusVerifies) {
  TempDir dir;
  TestNode node = MakeNode(dir.path(), "node-p", /*plus_in_key=*/true);
  ASSERT_NE(node.ledger, nullptr);
  auto reg = Registry::Open(node.config.store_url, node.ledger.get());
  ASSERT_TRUE(reg.ok());
  WriteFile(dir / "META.toml", kMetaToml);
  WriteFile(dir / "d.csv", CustomersCsv(20, 0));
  auto meta = LoadMeta(dir / "META.toml");
  ASSERT_TRUE(meta.ok());
  auto cert = (*reg)->Register(dir / "d.csv", *meta, {});
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  auto parsed = ledger::VerifierKey::Parse(node.vkey);
  ASSERT_TRUE(parsed.ok()) << node.vkey << ": " << parsed.status().ToString();
  EXPECT_EQ(parsed->ToString(), node.vkey);
  CertVerification v = VerifyCertificate(*cert, node.vkey);
  EXPECT_TRUE(v.ok) << node.vkey << "\n" << Describe(v);
  CertVerification embedded = VerifyCertificate(*cert, std::nullopt);
  EXPECT_TRUE(embedded.ok) << node.vkey << "\n" << Describe(embedded);
}

}  // namespace
}  // namespace kexin::registry
