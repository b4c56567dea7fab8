// kexin: trusted data space node. One binary is both the command-line tool and (later) the node
// server; see README.md and docs/cli.md.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "tools/kexin/commands.h"

int main(int argc, char** argv) {
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
