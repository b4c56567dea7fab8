// Module `crypto`: the thin interface through which kexin uses cryptography. SHA-256 comes from
// OpenSSL (hardware accelerated), Ed25519 and randomness from libsodium. Keeping every call here
// lets tests substitute keys and keeps the rest of the code free of library details.
// Thread-safety: all functions are thread-safe; Init() must run once before use (it is called by
// the functions that need it).
#ifndef KEXIN_CRYPTO_CRYPTO_H_
#define KEXIN_CRYPTO_CRYPTO_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "kexin/status.h"

namespace kexin::crypto {

using Hash = std::array<uint8_t, 32>;

Hash Sha256(std::string_view data);
// SHA-256 of a || b (no copy).
Hash Sha256(std::string_view a, std::string_view b);

// Incremental SHA-256.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::string_view data);
  Hash Final();

 private:
  void* ctx_;
};

inline std::string_view AsBytes(const Hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

// RFC 4648 section 4 base64 with padding; hex in lower case.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);
std::string HexEncode(std::string_view bytes);
Result<std::string> HexDecode(std::string_view text);
inline std::string HexEncode(const Hash& h) { return HexEncode(AsBytes(h)); }

// Ed25519 (RFC 8032).
using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

class SigningKey {
 public:
  static SigningKey Generate();
  // From the 32-byte seed.
  static Result<SigningKey> FromSeed(std::string_view seed);
  const PublicKey& public_key() const { return public_key_; }
  std::string_view seed() const;
  Signature Sign(std::string_view message) const;

 private:
  PublicKey public_key_{};
  std::array<uint8_t, 64> secret_{};  // libsodium's seed || public key
};

bool Verify(const PublicKey& key, std::string_view message, const Signature& sig);

// Fills `out` with cryptographically secure random bytes (libsodium's randombytes_buf, i.e. the
// kernel's getrandom). Requests up to 128 bytes are served from a per-thread pool of 512 such
// bytes, each byte handed out once; a forked child never reuses its parent's pool.
void RandomBytes(uint8_t* out, size_t n);
std::string RandomToken(size_t bytes);  // hex

}  // namespace kexin::crypto

#endif  // KEXIN_CRYPTO_CRYPTO_H_
