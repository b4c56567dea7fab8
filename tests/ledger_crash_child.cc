// The process that tests/ledger_crash_test.sh kills with SIGKILL.
//
//   ledger_crash_child HOME THREADS   opens the node home's ledger and appends ~512-byte entries
//                                     from THREADS threads until killed, printing
//                                     "ack <index> <sha256 hex of the entry text>" for each append
//                                     once Append has acknowledged it (flushed line by line).
//   ledger_crash_child HOME --dump    prints "<index> <sha256 hex of the entry text>" for every
//                                     entry, after the open-time verification.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "identity/node_home.h"
#include "ledger/ledger.h"

namespace {

using kexin::Status;

[[noreturn]] void Die(const Status& s) {
  std::fprintf(stderr, "ledger_crash_child: %s\n", s.ToString().c_str());
  std::exit(kexin::ExitCodeFor(s));
}

std::string Sha256Hex(const std::string& text) {
  return kexin::crypto::HexEncode(kexin::crypto::Sha256(text));
}

int Dump(kexin::ledger::Ledger* ledger) {
  uint64_t n = ledger->Size();
  for (uint64_t i = 0; i < n; ++i) {
    auto e = ledger->Entry(i);
    if (!e.ok()) Die(e.status());
    std::printf("%llu %s\n", static_cast<unsigned long long>(i), Sha256Hex(*e).c_str());
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

void AppendForever(kexin::ledger::Ledger* ledger, int thread, const std::string& run,
                   std::mutex* print_mu) {
  for (uint64_t seq = 0;; ++seq) {
    nlohmann::json body = {{"run", run}, {"thread", thread}, {"seq", seq}, {"pad", ""}};
    auto text = kexin::ledger::CanonicalEntry("test.crash", kexin::ledger::NowRfc3339(), body);
    if (!text.ok()) Die(text.status());
    // Pad the entry to about 512 bytes.
    if (text->size() < 512) {
      body["pad"] = std::string(512 - text->size(), 'x');
      text = kexin::ledger::CanonicalEntry("test.crash", kexin::ledger::NowRfc3339(), body);
      if (!text.ok()) Die(text.status());
    }
    std::string hash = Sha256Hex(*text);
    auto idx = ledger->AppendCanonical(*text);
    if (!idx.ok()) Die(idx.status());
    std::lock_guard<std::mutex> l(*print_mu);
    std::printf("ack %llu %s\n", static_cast<unsigned long long>(*idx), hash.c_str());
    if (std::fflush(stdout) != 0) std::_Exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: ledger_crash_child HOME THREADS | ledger_crash_child HOME --dump\n");
    return 2;
  }
  auto config = kexin::identity::LoadHome(argv[1]);
  if (!config.ok()) Die(config.status());
  auto ledger = kexin::identity::OpenLedger(*config);
  if (!ledger.ok()) Die(ledger.status());
  if (std::strcmp(argv[2], "--dump") == 0) return Dump(ledger->get());

  int threads = std::atoi(argv[2]);
  if (threads < 1 || threads > 256) {
    std::fprintf(stderr, "ledger_crash_child: THREADS must be 1..256\n");
    return 2;
  }
  const std::string run = kexin::crypto::RandomToken(8);
  std::mutex print_mu;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back(AppendForever, ledger->get(), t, run, &print_mu);
  }
  for (auto& w : workers) w.join();  // never returns: the test kills the process
  return 0;
}
