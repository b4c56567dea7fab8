#include "ledger/note.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "base/utf8.h"

namespace kexin::ledger {
namespace {

constexpr std::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014 then a space

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return false;
    v = next;
  }
  *out = v;
  return true;
}

std::string BigEndian32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}

}  // namespace

uint32_t KeyId(std::string_view name, uint8_t type, const crypto::PublicKey& key) {
  std::string msg(name);
  msg += '\n';
  msg += static_cast<char>(type);
  msg.append(reinterpret_cast<const char*>(key.data()), key.size());
  crypto::Hash h = crypto::Sha256(msg);
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
}

std::string VerifierKey::ToString() const {
  char id_hex[9];
  snprintf(id_hex, sizeof id_hex, "%08x", id());
  std::string material(1, static_cast<char>(type));
  material.append(reinterpret_cast<const char*>(key.data()), key.size());
  return name + "+" + id_hex + "+" + crypto::Base64Encode(material);
}

Result<VerifierKey> VerifierKey::Parse(std::string_view text) {
  // Names never contain '+', so the first two '+' separate the fields (base64 may hold '+').
  size_t p1 = text.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : text.find('+', p1 + 1);
  if (p1 == std::string_view::npos || p1 == 0 || p2 == std::string_view::npos) {
    return InvalidArgument("verifier key must be <name>+<key id>+<base64 key>");
  }
  if (text.substr(0, p1).find_first_of(" \t\n") != std::string_view::npos) {
    return InvalidArgument("verifier key: the name contains a space");
  }
  VerifierKey k;
  k.name = std::string(text.substr(0, p1));
  auto material = crypto::Base64Decode(text.substr(p2 + 1));
  if (!material.ok() || material->size() != 33)
    return InvalidArgument("verifier key: bad key material");
  k.type = static_cast<uint8_t>((*material)[0]);
  if (k.type != kSigTypeEd25519 && k.type != kSigTypeCosignature) {
    return InvalidArgument("verifier key: unsupported signature type " + std::to_string(k.type));
  }
  std::memcpy(k.key.data(), material->data() + 1, 32);
  char id_hex[9];
  snprintf(id_hex, sizeof id_hex, "%08x", k.id());
  if (text.substr(p1 + 1, p2 - p1 - 1) != id_hex) {
    return InvalidArgument("verifier key: key id does not match name and key");
  }
  return k;
}

std::string SignedNote::Serialize() const {
  std::string out = text + "\n";
  for (const auto& s : signatures) {
    out += std::string(kEmDashSpace) + s.name + " " +
           crypto::Base64Encode(BigEndian32(s.key_id) + s.signature) + "\n";
  }
  return out;
}

Result<SignedNote> SignedNote::Parse(std::string_view note) {
  for (unsigned char c : note) {
    if (c < 0x20 && c != '\n') return Corruption("signed note contains a control character");
  }
  if (!utf8::Valid(note)) return Corruption("signed note is not valid UTF-8");
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos)
    return Corruption("signed note has no blank line before its signatures");
  SignedNote n;
  n.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n')
    return Corruption("signed note does not end with a newline");
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace)
      return Corruption("signature line must start with an em dash and a space");
    line.remove_prefix(kEmDashSpace.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0)
      return Corruption("signature line has no key name");
    if (line.substr(0, sp).find('+') != std::string_view::npos)
      return Corruption("a key name must not contain '+'");
    auto raw = crypto::Base64Decode(line.substr(sp + 1));
    if (!raw.ok() || raw->size() < 5) return Corruption("signature line has a malformed signature");
    NoteSignature s;
    s.name = std::string(line.substr(0, sp));
    const auto* b = reinterpret_cast<const unsigned char*>(raw->data());
    s.key_id = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    s.signature = raw->substr(4);
    n.signatures.push_back(std::move(s));
  }
  if (n.signatures.empty()) return Corruption("signed note has no signatures");
  return n;
}

std::string Checkpoint::Body() const {
  return origin + "\n" + std::to_string(size) + "\n" + crypto::Base64Encode(crypto::AsBytes(root)) +
         "\n";
}

Result<Checkpoint> Checkpoint::ParseBody(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return Corruption("checkpoint text must end with a newline");
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return Corruption("checkpoint needs origin, size and root hash lines");
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return Corruption("checkpoint extension lines must not be empty");
  }
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return Corruption("checkpoint origin is empty");
  if (!ParseU64(lines[1], &c.size))
    return Corruption("checkpoint tree size is not a decimal number");
  auto root = crypto::Base64Decode(lines[2]);
  if (!root.ok() || root->size() != 32)
    return Corruption("checkpoint root hash is not 32 bytes of base64");
  std::memcpy(c.root.data(), root->data(), 32);
  return c;
}

NoteSignature SignNote(std::string_view text, std::string_view name,
                       const crypto::SigningKey& key) {
  crypto::Signature sig = key.Sign(text);
  return {std::string(name), KeyId(name, kSigTypeEd25519, key.public_key()),
          std::string(reinterpret_cast<const char*>(sig.data()), sig.size())};
}

NoteSignature Cosign(std::string_view body, std::string_view name, const crypto::SigningKey& key,
                     uint64_t timestamp) {
  std::string msg = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + std::string(body);
  crypto::Signature sig = key.Sign(msg);
  std::string ts(8, '\0');
  for (int i = 0; i < 8; ++i)
    ts[static_cast<size_t>(i)] = static_cast<char>(timestamp >> (56 - 8 * i));
  return {std::string(name), KeyId(name, kSigTypeCosignature, key.public_key()),
          ts + std::string(reinterpret_cast<const char*>(sig.data()), sig.size())};
}

Status VerifyNote(const SignedNote& note, const VerifierKey& key, uint64_t* timestamp) {
  const uint32_t id = key.id();
  bool seen = false;
  uint64_t verified_ts = 0;
  for (const auto& s : note.signatures) {
    if (s.name != key.name || s.key_id != id) continue;
    seen = true;
    std::string msg = note.text;
    std::string_view sig = s.signature;
    if (key.type == kSigTypeCosignature) {
      if (sig.size() != 72) return Corruption("cosignature by " + key.name + " is not 72 bytes");
      uint64_t ts = 0;
      for (int i = 0; i < 8; ++i)
        ts = (ts << 8) | static_cast<unsigned char>(sig[static_cast<size_t>(i)]);
      if (ts > static_cast<uint64_t>(INT64_MAX))
        return Corruption("cosignature timestamp exceeds 2^63-1");
      msg = "cosignature/v1\ntime " + std::to_string(ts) + "\n" + msg;
      sig.remove_prefix(8);
      verified_ts = ts;
    }
    if (sig.size() != 64) return Corruption("signature by " + key.name + " is not 64 bytes");
    crypto::Signature raw;
    std::memcpy(raw.data(), sig.data(), 64);
    if (!crypto::Verify(key.key, msg, raw))
      return Corruption("signature by " + key.name + " does not verify");
    if (timestamp && key.type == kSigTypeCosignature) *timestamp = verified_ts;
  }
  if (!seen) {
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", id);
    return Corruption("no signature by " + key.name + " (key id " + hex + ")");
  }
  return Status::Ok();
}

}  // namespace kexin::ledger
