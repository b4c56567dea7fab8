// Ledger and fingerprint benchmark, a whole-program driver with named workloads (as leveldb's
// db_bench). Figures are printed next to the floors of the issue: 20,000 durable appends/s,
// inclusion proof generation under 100 us, fingerprints at 1 GB/s or more. It exits 0 whether the
// floors are met or not (non-zero only when a proof fails to verify or a step errs).
//
//   appends      durable appends/s: a fresh SQLite node home in a temp dir (and PostgreSQL in a
//                fresh schema when KEXIN_TEST_PG_URL is set), 512-byte canonical entries, 64 client
//                threads appending concurrently (group commit) for --seconds; p50/p99 latency
//   proofs       inclusion proofs for random indices and consistency proofs for random pairs on the
//                tree the ledger keeps in memory (ledger::MemoryTree), 10,000,000 leaves;
//                generation and verification time (mean and p99) and the tree's memory
//   fingerprint  registry::FingerprintFile over a generated CSV-like file (1 GB), 1 and 2 threads,
//                warm page cache
//
// Usage: ledger_bench [--only appends|proofs|fingerprint] [--seconds 5] [--clients 64]
//                     [--leaves 10000000] [--proofs 100000] [--fingerprint-mb 1000] [--dir /tmp]
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "identity/node_home.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "registry/fingerprint.h"
#include "store/store.h"

namespace kexin::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kAppendFloor = 20000;         // durable appends per second
constexpr double kProofFloorMicros = 100;      // inclusion proof generation
constexpr double kFingerprintFloorMBs = 1000;  // 1 GB/s

struct Options {
  std::string only;
  double seconds = 5;
  int clients = 64;
  uint64_t leaves = 10'000'000;
  uint64_t proofs = 100'000;
  uint64_t fingerprint_mb = 1000;
  std::string dir;
};

struct Summary {
  std::string figure, value, floor;
  bool pass = false;
};
std::vector<Summary> g_summary;
bool g_error = false;

void Fail(const std::string& what, const Status& s) {
  std::printf("ERROR: %s: %s\n", what.c_str(), s.ToString().c_str());
  g_error = true;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
double Micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// Mean and percentiles of a sample (sorted in place).
struct Stats {
  double mean = 0, p50 = 0, p99 = 0, max = 0;
};
Stats Summarize(std::vector<double>* v) {
  Stats s;
  if (v->empty()) return s;
  std::sort(v->begin(), v->end());
  double sum = 0;
  for (double x : *v) sum += x;
  s.mean = sum / static_cast<double>(v->size());
  auto at = [&](double q) {
    return (*v)[std::min(v->size() - 1, static_cast<size_t>(q * static_cast<double>(v->size())))];
  };
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  s.max = v->back();
  return s;
}

std::string Thousands(double v) {
  std::string digits = std::to_string(static_cast<long long>(v + 0.5));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

class TempDir {
 public:
  explicit TempDir(const std::string& parent) {
    std::string tmpl = parent + "/kexin_ledger_bench_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
      std::perror(tmpl.c_str());
      std::exit(1);
    }
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// appends

// A body whose canonical entry {"body":...,"time":"YYYY-MM-DDTHH:MM:SSZ","type":...} is `bytes`.
nlohmann::json BodyOfSize(size_t bytes, int client, uint64_t seq, size_t* pad) {
  char c[8], s[24];
  std::snprintf(c, sizeof c, "%03d", client);
  std::snprintf(s, sizeof s, "%012" PRIu64, seq);
  return {{"client", c}, {"seq", s}, {"pad", std::string(*pad, 'x')}, {"bytes", bytes}};
}

void BenchAppends(const std::string& label, const std::string& parent,
                  const std::optional<std::string>& store_url, const Options& o) {
  TempDir dir(parent);
  auto config = identity::InitHome(dir.path() + "/home", "bench", store_url);
  if (!config.ok()) return Fail(label + ": init", config.status());
  auto ledger = identity::OpenLedger(*config);
  if (!ledger.ok()) return Fail(label + ": open ledger", ledger.status());
  ledger::Ledger* l = ledger->get();

  const std::string type = "bench.append";
  size_t pad = 0;
  auto probe = ledger::CanonicalEntry(type, ledger::NowRfc3339(), BodyOfSize(512, 0, 0, &pad));
  if (!probe.ok()) return Fail(label, probe.status());
  pad = 512 - probe->size();
  probe = ledger::CanonicalEntry(type, ledger::NowRfc3339(), BodyOfSize(512, 0, 0, &pad));
  std::printf(
      "\n[appends: %s] store %s, %d client threads, %.0f s, entries of %zu bytes "
      "(RFC 8785 canonical JSON), group commit\n",
      label.c_str(),
      config->store_url.rfind("sqlite:", 0) == 0 ? config->store_url.c_str()
                                                 : "postgresql (fresh schema)",
      o.clients, o.seconds, probe->size());

  std::vector<std::vector<double>> lat(static_cast<size_t>(o.clients));
  std::atomic<bool> failed{false};
  std::atomic<bool> go{false};
  Clock::time_point start, deadline;
  std::vector<std::thread> threads;
  std::vector<Clock::time_point> ends(static_cast<size_t>(o.clients));
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<double>& mine = lat[static_cast<size_t>(c)];
      mine.reserve(1 << 16);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (uint64_t seq = 0;; ++seq) {
        auto t0 = Clock::now();
        if (t0 >= deadline) break;
        auto r = l->Append(type, BodyOfSize(512, c, seq, &pad));
        auto t1 = Clock::now();
        if (!r.ok()) {
          if (!failed.exchange(true)) Fail(label + ": append", r.status());
          break;
        }
        mine.push_back(Micros(t0, t1));
      }
      ends[static_cast<size_t>(c)] = Clock::now();
    });
  }
  start = Clock::now();
  deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  Clock::time_point end = *std::max_element(ends.begin(), ends.end());
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  double elapsed = Seconds(start, end);
  double rate = static_cast<double>(all.size()) / elapsed;
  Stats s = Summarize(&all);
  std::printf("  %s appends in %.2f s: %s durable appends/s\n",
              Thousands(static_cast<double>(all.size())).c_str(), elapsed, Thousands(rate).c_str());
  std::printf("  latency per append: p50 %.0f us, p99 %.0f us, max %.0f us\n", s.p50, s.p99, s.max);
  std::printf("  ledger size after the run: %" PRIu64 "\n", l->Size());
  if (l->Size() != all.size()) {
    Fail(label, Internal("ledger size " + std::to_string(l->Size()) + " != acknowledged appends " +
                         std::to_string(all.size())));
  }
  g_summary.push_back({"durable appends/s (" + label + ")", Thousands(rate) + "/s",
                       ">= " + Thousands(kAppendFloor) + "/s", rate >= kAppendFloor});
}

// A fresh schema on the server of KEXIN_TEST_PG_URL; returns the URL that uses it.
std::optional<std::string> FreshPgSchema(const std::string& url, std::string* schema,
                                         std::unique_ptr<store::Store>* admin) {
  auto s = store::Store::Open(url);
  if (!s.ok()) {
    Fail("postgresql", s.status());
    return std::nullopt;
  }
  *schema = "kexin_bench_" + crypto::RandomToken(6);
  Status st = (*s)->Exec("CREATE SCHEMA " + *schema);
  if (!st.ok()) {
    Fail("postgresql: create schema", st);
    return std::nullopt;
  }
  *admin = std::move(*s);
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
         *schema;
}

// ---------------------------------------------------------------------------------------------
// proofs

void BenchProofs(const Options& o) {
  const uint64_t n = o.leaves;
  std::printf("\n[proofs] the tree the ledger keeps in memory (ledger::MemoryTree), %s leaves\n",
              Thousands(static_cast<double>(n)).c_str());
  auto t0 = Clock::now();
  ledger::MemoryTree tree;
  for (uint64_t i = 0; i < n; ++i) {
    char buf[32];
    int len = std::snprintf(buf, sizeof buf, "entry %" PRIu64, i);
    tree.Append(ledger::LeafHash(std::string_view(buf, static_cast<size_t>(len))));
  }
  auto t1 = Clock::now();
  ledger::Hash root = tree.Root(n);
  std::printf("  built in %.2f s (leaf hashing and appends, %.0f appends/s in memory)\n",
              Seconds(t0, t1), static_cast<double>(n) / Seconds(t0, t1));
  std::printf("  MemoryTree::MemoryBytes() = %s bytes (%.1f MiB, %.1f bytes per leaf)\n",
              Thousands(static_cast<double>(tree.MemoryBytes())).c_str(),
              static_cast<double>(tree.MemoryBytes()) / (1 << 20),
              static_cast<double>(tree.MemoryBytes()) / static_cast<double>(n));

  std::mt19937_64 rng(42);
  std::vector<double> gen, ver;
  gen.reserve(o.proofs);
  ver.reserve(o.proofs);
  uint64_t bad = 0;
  size_t elements = 0;
  for (uint64_t k = 0; k < o.proofs; ++k) {
    uint64_t index = rng() % n;
    auto a = Clock::now();
    std::vector<ledger::Hash> proof = tree.InclusionProof(index, n);
    auto b = Clock::now();
    Status s = ledger::VerifyInclusion(index, n, tree.leaf(index), proof, root);
    auto c = Clock::now();
    if (!s.ok()) ++bad;
    elements += proof.size();
    gen.push_back(Micros(a, b));
    ver.push_back(Micros(b, c));
  }
  Stats g = Summarize(&gen), v = Summarize(&ver);
  std::printf("  inclusion proofs, %s random indices at size %s (%.1f hashes each):\n",
              Thousands(static_cast<double>(o.proofs)).c_str(),
              Thousands(static_cast<double>(n)).c_str(),
              static_cast<double>(elements) / static_cast<double>(o.proofs));
  std::printf("    generation    mean %6.2f us  p50 %6.2f us  p99 %6.2f us  max %7.2f us\n", g.mean,
              g.p50, g.p99, g.max);
  std::printf("    verification  mean %6.2f us  p50 %6.2f us  p99 %6.2f us  max %7.2f us\n", v.mean,
              v.p50, v.p99, v.max);
  if (bad) Fail("inclusion proofs", Corruption(std::to_string(bad) + " proofs did not verify"));

  std::vector<double> cgen, cver;
  cgen.reserve(o.proofs);
  cver.reserve(o.proofs);
  bad = 0;
  elements = 0;
  for (uint64_t k = 0; k < o.proofs; ++k) {
    uint64_t a_size = 1 + rng() % (n - 1);
    uint64_t b_size = a_size + 1 + rng() % (n - a_size);
    ledger::Hash old_root = tree.Root(a_size), new_root = tree.Root(b_size);
    auto a = Clock::now();
    std::vector<ledger::Hash> proof = tree.ConsistencyProof(a_size, b_size);
    auto b = Clock::now();
    Status s = ledger::VerifyConsistency(a_size, b_size, old_root, new_root, proof);
    auto c = Clock::now();
    if (!s.ok()) ++bad;
    elements += proof.size();
    cgen.push_back(Micros(a, b));
    cver.push_back(Micros(b, c));
  }
  Stats cg = Summarize(&cgen), cv = Summarize(&cver);
  std::printf("  consistency proofs, %s random pairs 0 < old < new <= %s (%.1f hashes each):\n",
              Thousands(static_cast<double>(o.proofs)).c_str(),
              Thousands(static_cast<double>(n)).c_str(),
              static_cast<double>(elements) / static_cast<double>(o.proofs));
  std::printf("    generation    mean %6.2f us  p50 %6.2f us  p99 %6.2f us  max %7.2f us\n",
              cg.mean, cg.p50, cg.p99, cg.max);
  std::printf("    verification  mean %6.2f us  p50 %6.2f us  p99 %6.2f us  max %7.2f us\n",
              cv.mean, cv.p50, cv.p99, cv.max);
  if (bad) Fail("consistency proofs", Corruption(std::to_string(bad) + " proofs did not verify"));

  char value[64];
  std::snprintf(value, sizeof value, "mean %.2f us, p99 %.2f us", g.mean, g.p99);
  g_summary.push_back(
      {"inclusion proof generation (p99)", value, "< 100 us", g.p99 < kProofFloorMicros});
  std::snprintf(value, sizeof value, "mean %.2f us, p99 %.2f us", cg.mean, cg.p99);
  g_summary.push_back(
      {"consistency proof generation (p99)", value, "< 100 us", cg.p99 < kProofFloorMicros});
}

// ---------------------------------------------------------------------------------------------
// fingerprint

// CSV-like lines (an order table) from a fast deterministic generator.
Status GenerateCsv(const std::string& path, uint64_t bytes) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return ErrnoError(path, errno);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  static const char* kCities[] = {"北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安"};
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string buf = "order_id,customer,mobile,city,amount,note\n";
  uint64_t written = 0;
  for (uint64_t row = 1; written + buf.size() < bytes; ++row) {
    char line[256];
    int len = std::snprintf(
        line, sizeof line,
        "%" PRIu64 ",c%06" PRIu64 ",13%09" PRIu64 ",%s,%" PRIu64 ".%02" PRIu64 ",", row,
        next() % 1000000, next() % 1000000000, kCities[next() % 8], next() % 100000, next() % 100);
    buf.append(line, static_cast<size_t>(len));
    uint64_t note = next() % 60;
    for (uint64_t i = 0; i < note; ++i) buf += kAlnum[next() % 36];
    buf += '\n';
    if (buf.size() >= (4u << 20)) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      written += buf.size();
      buf.clear();
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.close();
  if (!out) return IoError(path + ": write failed");
  return Status::Ok();
}

void BenchFingerprint(const std::string& parent, const Options& o) {
  TempDir dir(parent);
  std::string path = dir.path() + "/fingerprint.csv";
  uint64_t target = o.fingerprint_mb * 1000 * 1000;
  auto g0 = Clock::now();
  Status s = GenerateCsv(path, target);
  if (!s.ok()) return Fail("generate", s);
  uint64_t bytes = std::filesystem::file_size(path);
  std::printf("\n[fingerprint] %s: %s bytes of CSV-like lines, generated in %.1f s; %u cores\n",
              path.c_str(), Thousands(static_cast<double>(bytes)).c_str(),
              Seconds(g0, Clock::now()), std::thread::hardware_concurrency());
  // Warm the page cache: we measure hashing, not the disk.
  {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> b(4 << 20);
    while (in.read(b.data(), static_cast<std::streamsize>(b.size())) || in.gcount() > 0) {
    }
  }
  std::optional<ledger::Hash> first_root;
  for (int threads : {1, 2}) {
    double best = 0;
    for (int rep = 0; rep < 2; ++rep) {
      auto a = Clock::now();
      auto f = registry::FingerprintFile(path, registry::kDefaultChunkBytes, threads);
      auto b = Clock::now();
      if (!f.ok()) return Fail("fingerprint", f.status());
      if (!first_root) first_root = f->root;
      if (f->root != *first_root)
        Fail("fingerprint", Internal("root differs between thread counts"));
      double mbs = static_cast<double>(bytes) / 1e6 / Seconds(a, b);
      std::printf("  FingerprintFile, %d thread%s, run %d: %.2f s, %.0f MB/s (%" PRIu64
                  " chunks of 1 MiB)\n",
                  threads, threads == 1 ? "" : "s", rep + 1, Seconds(a, b), mbs, f->chunks);
      best = std::max(best, mbs);
    }
    g_summary.push_back({"fingerprint, " + std::to_string(threads) + " thread" +
                             (threads == 1 ? "" : "s") + " (best of 2)",
                         Thousands(best) + " MB/s", ">= 1,000 MB/s", best >= kFingerprintFloorMBs});
  }
  // A yardstick: OpenSSL SHA-256 over the same bytes in one pass, one thread.
  {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> b(1 << 20);
    crypto::Sha256Hasher h;
    auto a = Clock::now();
    while (in.read(b.data(), static_cast<std::streamsize>(b.size())) || in.gcount() > 0) {
      h.Update(std::string_view(b.data(), static_cast<size_t>(in.gcount())));
    }
    h.Final();
    std::printf("  yardstick: plain SHA-256 of the file, 1 thread (read + hash): %.0f MB/s\n",
                static_cast<double>(bytes) / 1e6 / Seconds(a, Clock::now()));
  }
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  const char* tmp = getenv("TMPDIR");
  o.dir = tmp && *tmp ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ledger_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--only") {
      o.only = value();
    } else if (a == "--seconds") {
      o.seconds = std::stod(value());
    } else if (a == "--clients") {
      o.clients = std::stoi(value());
    } else if (a == "--leaves") {
      o.leaves = std::stoull(value());
    } else if (a == "--proofs") {
      o.proofs = std::stoull(value());
    } else if (a == "--fingerprint-mb") {
      o.fingerprint_mb = std::stoull(value());
    } else if (a == "--dir") {
      o.dir = value();
    } else {
      std::fprintf(
          stderr,
          "usage: ledger_bench [--only appends|proofs|fingerprint] [--seconds S] [--clients N]\n"
          "                    [--leaves N] [--proofs N] [--fingerprint-mb MB] [--dir DIR]\n");
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  if (o.clients < 1 || o.leaves < 2 || o.proofs < 1 || o.seconds <= 0) {
    std::fprintf(stderr, "ledger_bench: --clients, --proofs >= 1, --leaves >= 2, --seconds > 0\n");
    std::exit(2);
  }
  return o;
}

int Main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  std::printf("kexin ledger_bench: %u cores, temp dir %s\n", std::thread::hardware_concurrency(),
              o.dir.c_str());
  if (o.only.empty() || o.only == "appends") {
    BenchAppends("sqlite", o.dir, std::nullopt, o);
    if (const char* pg = getenv("KEXIN_TEST_PG_URL"); pg && *pg) {
      std::string schema;
      std::unique_ptr<store::Store> admin;
      if (auto url = FreshPgSchema(pg, &schema, &admin)) {
        BenchAppends("postgresql", o.dir, url, o);
        Status s = admin->Exec("DROP SCHEMA " + schema + " CASCADE");
        if (!s.ok()) Fail("postgresql: drop schema " + schema, s);
      }
    } else {
      std::printf("\n[appends: postgresql] skipped: KEXIN_TEST_PG_URL is not set\n");
    }
  }
  if (o.only.empty() || o.only == "proofs") BenchProofs(o);
  if (o.only.empty() || o.only == "fingerprint") BenchFingerprint(o.dir, o);

  std::printf(
      "\nfloors (issue)                            figure                        floor           "
      "result\n");
  for (const auto& s : g_summary) {
    std::printf("%-41s %-29s %-15s %s\n", s.figure.c_str(), s.value.c_str(), s.floor.c_str(),
                s.pass ? "PASS" : "BELOW");
  }
  if (g_error) std::printf("\nerrors occurred (see ERROR lines above)\n");
  return g_error ? 1 : 0;
}

}  // namespace
}  // namespace kexin::bench

int main(int argc, char** argv) { return kexin::bench::Main(argc, argv); }
