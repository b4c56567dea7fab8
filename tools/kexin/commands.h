// The `kexin` binary's commands. Each Register* function adds a subcommand to the CLI11 app and
// sets *run to the function that executes it; that function returns the process exit code
// (docs/exit-codes.md).
#ifndef KEXIN_TOOLS_KEXIN_COMMANDS_H_
#define KEXIN_TOOLS_KEXIN_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "kexin/status.h"

namespace kexin::cli {

using RunFn = std::function<int()>;

void RegisterScan(CLI::App& app, RunFn* run);
void RegisterRules(CLI::App& app, RunFn* run);
void RegisterNode(CLI::App& app, RunFn* run);
void RegisterRegistry(CLI::App& app, RunFn* run);
void RegisterDeid(CLI::App& app, RunFn* run);
void RegisterOutbound(CLI::App& app, RunFn* run);
// `kexin policy`, `kexin offer`, `kexin catalog` (catalog_commands.cc).
void RegisterCatalog(CLI::App& app, RunFn* run);
void RegisterServe(CLI::App& app, RunFn* run);  // serve, user, peer, openapi
void RegisterContract(CLI::App& app, RunFn* run);  // contract_commands.cc

// Writes `data` to `path` atomically (temp file in the same directory, fsync, rename), or to
// stdout when path is empty or "-". Returns an exit code and prints the error on failure.
int WriteOutput(const std::string& path, const std::string& data);
// Prints "kexin: <code>: <message>" on standard error and returns the status's exit code
// (docs/exit-codes.md).
int Fail(const Status& s);
// Prints `j` indented by two spaces on standard output (WriteOutput).
int Print(const nlohmann::json& j);

// A progress bar on stderr, shown only when stderr is a terminal and the work has taken more
// than a second. Not thread-safe: call from one thread.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label, bool enabled);
  ~ProgressBar();
  void Update(uint64_t done, uint64_t total);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  bool shown_ = false;
  double start_;
};

}  // namespace kexin::cli

#endif  // KEXIN_TOOLS_KEXIN_COMMANDS_H_
