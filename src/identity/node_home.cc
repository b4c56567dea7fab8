#include "identity/node_home.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/file.h"

namespace kexin::identity {
namespace {

constexpr std::string_view kKeyPrefix = "kexin-ed25519-seed-v1 ";

std::string Abs(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char buf[4096];
  if (getcwd(buf, sizeof buf) == nullptr) return p;
  return std::string(buf) + "/" + p;
}

std::string TomlString(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

Status WriteNew(const std::string& path, const std::string& data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(path, errno);
  bool ok =
      write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) return ErrnoError(path, err);
  return Status::Ok();
}

}  // namespace

std::string DefaultHome() {
  if (const char* h = getenv("KEXIN_HOME"); h && *h) return h;
  if (const char* h = getenv("HOME"); h && *h) return std::string(h) + "/.kexin";
  return ".kexin";
}

Result<NodeConfig> InitHome(const std::string& home_in, const std::string& name,
                            const std::optional<std::string>& store_url) {
  std::string home = Abs(home_in);
  if (name.empty() || name.find_first_of(" +/\n\t") != std::string::npos) {
    return InvalidArgument("node name '" + name + "' must be non-empty without spaces, '+' or '/'");
  }
  struct stat st;
  if (stat((home + "/config.toml").c_str(), &st) == 0) {
    return FailedPrecondition(home + ": already a kexin home (config.toml exists)");
  }
  bool created = mkdir(home.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) return ErrnoError(home, errno);
  NodeConfig c;
  c.home = home;
  c.name = name;
  c.origin = "kexin.local/" + name;
  c.store_url = store_url.value_or("sqlite:" + home + "/node.db");
  crypto::SigningKey key = crypto::SigningKey::Generate();
  KEXIN_RETURN_IF_ERROR(WriteNew(
      home + "/node.key", std::string(kKeyPrefix) + crypto::Base64Encode(key.seed()) + "\n", 0600));
  std::string toml =
      "# kexin node configuration (docs/node-home.md)\n[node]\nname = " + TomlString(c.name) +
      "\norigin = " + TomlString(c.origin) +
      "\n\n[store]\n# sqlite:/path or postgresql://user@host:port/db\nurl = " +
      TomlString(c.store_url) + "\n";
  // 0600: a PostgreSQL URL may carry a password.
  KEXIN_RETURN_IF_ERROR(WriteNew(home + "/config.toml", toml, 0600));
  auto ledger = OpenLedger(c);
  if (!ledger.ok()) {  // leave no half-made home behind
    unlink((home + "/config.toml").c_str());
    unlink((home + "/node.key").c_str());
    if (created) rmdir(home.c_str());  // only if it is empty, i.e. holds nothing of the user's
    return ledger.status().WithContext(home);
  }
  return c;
}

Result<NodeConfig> LoadHome(const std::string& home_in) {
  std::string home = Abs(home_in);
  std::string path = home + "/config.toml";
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFound(home + ": not a kexin home (no config.toml); run `kexin init --home " +
                      home_in + "`");
    }
    return text.status();
  }
  toml::table t;
  try {
    t = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()));
  }
  NodeConfig c;
  c.home = home;
  c.name = t["node"]["name"].value_or(std::string());
  c.origin = t["node"]["origin"].value_or(std::string());
  c.store_url = t["store"]["url"].value_or(std::string());
  if (c.name.empty() || c.origin.empty() || c.store_url.empty()) {
    return InvalidArgument(path + ": needs [node] name and origin and [store] url");
  }
  return c;
}

Result<crypto::SigningKey> LoadNodeKey(const NodeConfig& c) {
  std::string path = c.home + "/node.key";
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoError(path, errno);
  if (st.st_mode & 077) {
    char mode[8];
    snprintf(mode, sizeof mode, "%03o", st.st_mode & 0777);
    return PermissionDenied(path + ": the node key is accessible by group or others (mode " + mode +
                            "); run chmod 600 " + path);
  }
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  if (line.rfind(kKeyPrefix, 0) != 0) return Corruption(path + ": not a kexin node key");
  auto seed = crypto::Base64Decode(line.substr(kKeyPrefix.size()));
  if (!seed.ok()) return Corruption(path + ": the key is not valid base64");
  auto key = crypto::SigningKey::FromSeed(*seed);
  if (!key.ok()) return Corruption(path + ": " + key.status().message());
  return key;
}

Result<std::unique_ptr<ledger::Ledger>> OpenLedger(const NodeConfig& c) {
  KEXIN_ASSIGN_OR_RETURN(auto key, LoadNodeKey(c));
  KEXIN_ASSIGN_OR_RETURN(auto store, store::Store::Open(c.store_url));
  ledger::LedgerOptions o;
  o.origin = c.origin;
  return ledger::Ledger::Open(std::move(store), std::move(key), o);
}

}  // namespace kexin::identity
