// Module `identity` (node part): the node home directory, its config and its Ed25519 key.
//
// A home holds config.toml (node name, ledger origin, store URL), node.key (the Ed25519 seed,
// mode 0600, never printed) and, with the default SQLite store, node.db. Layout: docs/node-home.md.
// Thread-safety: functions are safe to call from any thread on different homes.
#ifndef KEXIN_IDENTITY_NODE_HOME_H_
#define KEXIN_IDENTITY_NODE_HOME_H_

#include <memory>
#include <optional>
#include <string>

#include "crypto/crypto.h"
#include "kexin/status.h"
#include "ledger/ledger.h"

namespace kexin::identity {

struct NodeConfig {
  std::string home;       // absolute path
  std::string name;       // node name, e.g. "node-a"
  std::string origin;     // ledger origin / key name, e.g. "kexin.local/node-a"
  std::string store_url;  // "sqlite:/abs/home/node.db" or "postgresql://..."
};

// $KEXIN_HOME, else $HOME/.kexin.
std::string DefaultHome();

// Creates a home: fails with kFailedPrecondition when one already exists there.
Result<NodeConfig> InitHome(const std::string& home, const std::string& name,
                            const std::optional<std::string>& store_url);
Result<NodeConfig> LoadHome(const std::string& home);
// Reads node.key; refuses (kPermissionDenied) a key file readable by group or others.
Result<crypto::SigningKey> LoadNodeKey(const NodeConfig& config);
// Opens the node's store and ledger (migrating the schema and verifying the tail).
Result<std::unique_ptr<ledger::Ledger>> OpenLedger(const NodeConfig& config);

}  // namespace kexin::identity

#endif  // KEXIN_IDENTITY_NODE_HOME_H_
