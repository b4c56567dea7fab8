// kexin: trusted data space node. One binary is both the command-line tool and (later) the node
// server; see README.md and docs/cli.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tools/kexin/commands.h"

namespace {

// `kexin scan` fills large hash tables and column batches at random. With jemalloc's transparent
// huge pages (thp:always) its page faults on the 1 GB benchmark table fall from about 103,000 to
// 2,200 and a 1-thread scan takes 9-37% less CPU (src/scan/README.md#performance). jemalloc reads
// MALLOC_CONF once, before main, so `scan` starts itself again with it set. The server showed no
// gain from huge pages (bench/negotiation_bench.sh), so only `scan` does this. A MALLOC_CONF that
// is already set is left alone (set it to "" to scan without huge pages); if the new start fails,
// the scan carries on in this process.
void ScanWithHugePages([[maybe_unused]] int argc, [[maybe_unused]] char** argv) {
#ifdef KEXIN_WITH_JEMALLOC
  if (argc < 2 || std::strcmp(argv[1], "scan") != 0 || std::getenv("MALLOC_CONF") != nullptr)
    return;
  if (setenv("MALLOC_CONF", "thp:always", 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("MALLOC_CONF");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  ScanWithHugePages(argc, argv);
  CLI::App app{"kexin: trusted data space node (可信数据空间节点)"};
  app.set_version_flag("--version", "kexin 0.1.0");
  app.require_subcommand(1);
  kexin::cli::RunFn run;
  kexin::cli::RegisterScan(app, &run);
  kexin::cli::RegisterRules(app, &run);
  kexin::cli::RegisterNode(app, &run);
  kexin::cli::RegisterRegistry(app, &run);
  kexin::cli::RegisterDeid(app, &run);
  kexin::cli::RegisterOutbound(app, &run);
  kexin::cli::RegisterCatalog(app, &run);
  kexin::cli::RegisterServe(app, &run);
  kexin::cli::RegisterContract(app, &run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage error, docs/exit-codes.md
  }
  return run ? run() : 2;
}
