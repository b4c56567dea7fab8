// C2SP signed notes, tlog checkpoints and Ed25519 cosignatures (c2sp.org/signed-note,
// c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature). Formats: docs/ledger.md.
// Thread-safety: pure functions and immutable values.
#ifndef KEXIN_LEDGER_NOTE_H_
#define KEXIN_LEDGER_NOTE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "kexin/status.h"

namespace kexin::ledger {

constexpr uint8_t kSigTypeEd25519 = 0x01;
constexpr uint8_t kSigTypeCosignature = 0x04;

// SHA-256(name || "\n" || type || public key)[:4], big-endian.
uint32_t KeyId(std::string_view name, uint8_t type, const crypto::PublicKey& key);

// A verifier key: name, type and public key. Text form (signed-note "vkey"):
// <name>+<8 hex digits key id>+<base64(type || 32-byte public key)>.
struct VerifierKey {
  std::string name;
  uint8_t type = kSigTypeEd25519;
  crypto::PublicKey key{};
  uint32_t id() const { return KeyId(name, type, key); }
  std::string ToString() const;
  static Result<VerifierKey> Parse(std::string_view text);
};

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // raw bytes after the key id
};

struct SignedNote {
  std::string text;  // ends with "\n"
  std::vector<NoteSignature> signatures;
  std::string Serialize() const;
  // Strict parse: UTF-8, no control characters other than newline, at least one signature.
  static Result<SignedNote> Parse(std::string_view note);
};

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  crypto::Hash root{};
  std::string Body() const;  // "origin\nsize\nbase64(root)\n"
  static Result<Checkpoint> ParseBody(std::string_view text);
};

// Signs note text with an Ed25519 key (type 0x01) under `name`.
NoteSignature SignNote(std::string_view text, std::string_view name, const crypto::SigningKey& key);
// Cosigns a checkpoint body at `timestamp` (type 0x04, message "cosignature/v1\ntime T\n" + body).
// The timestamp must not exceed 2^63-1 (verifiers reject it).
NoteSignature Cosign(std::string_view body, std::string_view name, const crypto::SigningKey& key,
                     uint64_t timestamp);

// Verifies that `note` carries a valid signature by `key` (by name and key id; other signatures
// are ignored as the spec requires). kCorruption names what failed. For cosignatures,
// *timestamp receives the signed time.
Status VerifyNote(const SignedNote& note, const VerifierKey& key, uint64_t* timestamp = nullptr);

}  // namespace kexin::ledger

#endif  // KEXIN_LEDGER_NOTE_H_
