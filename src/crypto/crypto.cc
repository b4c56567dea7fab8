#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace kexin::crypto {
namespace {

void Init() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) abort();  // libsodium cannot run without a working random source
}

}  // namespace

Hash Sha256(std::string_view data) {
  Hash h;
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), h.data(), &len, EVP_sha256(), nullptr);
  return h;
}

Hash Sha256(std::string_view a, std::string_view b) {
  Sha256Hasher s;
  s.Update(a);
  s.Update(b);
  return s.Final();
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256Hasher::Update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
Hash Sha256Hasher::Final() {
  Hash h;
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h.data(), &len);
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
  return h;
}

std::string Base64Encode(std::string_view bytes) {
  Init();
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(strlen(out.c_str()));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  Init();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return InvalidArgument("invalid base64");
  }
  out.resize(len);
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

Result<std::string> HexDecode(std::string_view text) {
  if (text.size() % 2) return InvalidArgument("invalid hex: odd length");
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    int h = nib(text[i]), l = nib(text[i + 1]);
    if (h < 0 || l < 0) return InvalidArgument("invalid hex digit");
    out += static_cast<char>(h << 4 | l);
  }
  return out;
}

SigningKey SigningKey::Generate() {
  Init();
  SigningKey k;
  crypto_sign_keypair(k.public_key_.data(), k.secret_.data());
  return k;
}

Result<SigningKey> SigningKey::FromSeed(std::string_view seed) {
  Init();
  if (seed.size() != crypto_sign_SEEDBYTES) return InvalidArgument("an Ed25519 seed is 32 bytes");
  SigningKey k;
  crypto_sign_seed_keypair(k.public_key_.data(), k.secret_.data(),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  return k;
}

std::string_view SigningKey::seed() const {
  return {reinterpret_cast<const char*>(secret_.data()), crypto_sign_SEEDBYTES};
}

Signature SigningKey::Sign(std::string_view message) const {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_.data());
  return sig;
}

bool Verify(const PublicKey& key, std::string_view message, const Signature& sig) {
  Init();
  return crypto_sign_verify_detached(sig.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.data()) == 0;
}

namespace {
// Bumped in a forked child, whose copies of the threads' pools must not be used again.
std::atomic<uint64_t> fork_generation{0};
void OnFork() { fork_generation.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

void RandomBytes(uint8_t* out, size_t n) {
  if (n == 0) return;  // randombytes_buf must not get a null buffer
  Init();
  // Small requests (ids, nonces: a dozen per negotiation) come from a per-thread pool filled from
  // the kernel 512 bytes at a time, instead of a getrandom(2) call each; every byte is used once.
  constexpr size_t kPool = 512;
  // Set (a trivially destructible flag, valid to the thread's end) once the thread's pool is gone:
  // a call from a later thread_local or static destructor goes to the kernel.
  thread_local bool pool_gone = false;
  struct Pool {
    uint8_t bytes[kPool];
    size_t used = kPool;
    uint64_t generation = 0;
    ~Pool() {
      sodium_memzero(bytes, sizeof bytes);
      used = kPool;
      pool_gone = true;
    }
  };
  static const bool fork_safe = pthread_atfork(nullptr, nullptr, OnFork) == 0;
  if (n > kPool / 4 || !fork_safe || pool_gone) {
    randombytes_buf(out, n);
    return;
  }
  thread_local Pool pool;
  const uint64_t generation = fork_generation.load(std::memory_order_relaxed);
  if (pool.generation != generation) {
    pool.used = kPool;
    pool.generation = generation;
  }
  if (kPool - pool.used < n) {
    randombytes_buf(pool.bytes, kPool);
    pool.used = 0;
  }
  std::memcpy(out, pool.bytes + pool.used, n);
  sodium_memzero(pool.bytes + pool.used, n);  // handed out once, not kept
  pool.used += n;
}

std::string RandomToken(size_t bytes) {
  std::string b(bytes, '\0');
  RandomBytes(reinterpret_cast<uint8_t*>(b.data()), bytes);
  return HexEncode(b);
}

}  // namespace kexin::crypto
