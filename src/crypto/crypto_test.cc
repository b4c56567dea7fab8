#include "crypto/crypto.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <thread>

namespace kexin::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.ok()) << hex;
  return r.ok() ? r.value() : std::string();
}

PublicKey ToPublicKey(std::string_view hex) {
  std::string b = Unhex(hex);
  PublicKey k{};
  EXPECT_EQ(b.size(), k.size());
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

Signature ToSignature(std::string_view hex) {
  std::string b = Unhex(hex);
  Signature s{};
  EXPECT_EQ(b.size(), s.size());
  std::copy(b.begin(), b.end(), s.begin());
  return s;
}

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-2 appendix B examples).

// Ids and nonces come from a per-thread pool: no 16-byte value repeats, requests of every size
// around the pool's edges are filled, and the pool's bytes look uniform.
TEST(RandomTest, PooledBytesDoNotRepeatAndCoverEveryByteValue) {
  std::set<std::string> seen;
  std::array<int, 256> counts{};
  for (int i = 0; i < 100000; ++i) {
    std::string b(16, '\0');
    RandomBytes(reinterpret_cast<uint8_t*>(b.data()), b.size());
    EXPECT_TRUE(seen.insert(b).second) << "repeated at " << i;
    for (unsigned char c : b) ++counts[c];
  }
  for (int c : counts) EXPECT_GT(c, 4000);  // 6,250 expected each
  for (size_t n : {1, 7, 127, 128, 129, 511, 512, 513, 5000}) {
    std::string a(n, '\0'), b(n, '\0');
    RandomBytes(reinterpret_cast<uint8_t*>(a.data()), n);
    RandomBytes(reinterpret_cast<uint8_t*>(b.data()), n);
    if (n >= 7) {
      EXPECT_NE(a, b) << n;
    }
  }
}

// A thread_local destroyed after the thread's pool (constructed before it) still gets random
// bytes, not the zeroed remains of the pool.
TEST(RandomTest, BytesAfterTheThreadsPoolIsGoneComeFromTheKernel) {
  static std::string late_bytes;
  std::thread([] {
    struct Late {
      ~Late() {
        late_bytes.assign(32, '\0');
        RandomBytes(reinterpret_cast<uint8_t*>(late_bytes.data()), late_bytes.size());
      }
    };
    thread_local Late late;
    (void)&late;      // constructed first, so destroyed after the pool
    uint8_t warm[8];  // the pool, constructed now, with bytes left in it
    RandomBytes(warm, sizeof warm);
  }).join();
  EXPECT_NE(late_bytes, std::string(32, '\0'));
}

// A forked child must not hand out the bytes its parent's pool still holds.
TEST(RandomTest, ForkedChildDoesNotRepeatTheParentsPool) {
  uint8_t warm[8];
  RandomBytes(warm, sizeof warm);  // the pool now holds bytes the parent will hand out next
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    uint8_t mine[32];
    RandomBytes(mine, sizeof mine);
    _exit(write(fds[1], mine, sizeof mine) == sizeof mine ? 0 : 1);
  }
  uint8_t theirs[32], mine[32];
  ASSERT_EQ(read(fds[0], theirs, sizeof theirs), static_cast<ssize_t>(sizeof theirs));
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(status, 0);
  RandomBytes(mine, sizeof mine);
  EXPECT_NE(std::string(reinterpret_cast<char*>(mine), sizeof mine),
            std::string(reinterpret_cast<char*>(theirs), sizeof theirs));
  close(fds[0]);
  close(fds[1]);
}

TEST(Sha256Test, EmptyString) {
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, Abc) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, TwoBlockMessage) {
  EXPECT_EQ(HexEncode(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, OneMillionA) {
  EXPECT_EQ(HexEncode(Sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, EmbeddedNulBytesAreHashed) {
  EXPECT_NE(Sha256(std::string_view("a\0b", 3)), Sha256("a"));
  EXPECT_NE(Sha256(std::string_view("\0", 1)), Sha256(""));
}

TEST(Sha256Test, TwoPartFormEqualsConcatenation) {
  const std::string data = AllBytes();
  for (size_t split = 0; split <= data.size(); split += 17) {
    EXPECT_EQ(Sha256(std::string_view(data).substr(0, split), std::string_view(data).substr(split)),
              Sha256(data))
        << split;
  }
  EXPECT_EQ(Sha256("ab", "c"), Sha256("abc"));
  EXPECT_EQ(Sha256("", ""), Sha256(""));
}

TEST(Sha256Test, IncrementalHasherMatchesOneShot) {
  const std::string data = std::string(1000, 'x') + AllBytes();
  for (size_t chunk : {1, 3, 63, 64, 65, 1000}) {
    Sha256Hasher h;
    for (size_t i = 0; i < data.size(); i += chunk) {
      h.Update(std::string_view(data).substr(i, chunk));
    }
    EXPECT_EQ(h.Final(), Sha256(data)) << chunk;
  }
  Sha256Hasher h;
  h.Update("a");
  h.Update("");
  h.Update("bc");
  EXPECT_EQ(HexEncode(h.Final()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ---------------------------------------------------------------------------------------------
// Base64 (RFC 4648 section 10 test vectors).

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> kVectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status().ToString();
    EXPECT_EQ(decoded.value(), plain);
  }
}

TEST(Base64Test, UsesStandardAlphabet) {
  EXPECT_EQ(Base64Encode("\xfb\xff\xbf"), "+/+/");
  auto d = Base64Decode("+/+/");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value(), "\xfb\xff\xbf");
}

TEST(Base64Test, RoundTripsEveryLengthAndByte) {
  const std::string all = AllBytes();
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string in = all.substr(all.size() - n);
    std::string enc = Base64Encode(in);
    EXPECT_EQ(enc.size(), (n + 2) / 3 * 4);
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.ok()) << n;
    EXPECT_EQ(dec.value(), in) << n;
  }
}

TEST(Base64Test, RejectsInvalidInput) {
  for (std::string_view bad : {
           "Zg",        // missing padding
           "Zg=",       // short padding
           "Zm9",       // truncated group
           "Z",         // single character
           "Zm9v!",     // character outside the alphabet
           "Zm9v-_==",  // URL-safe alphabet
           "Zm 9v",     // embedded space
           "Zm9v\n",    // trailing newline
           " Zm9v",     // leading space
           "Zg==Zg==",  // data after padding
           "Zg===",     // too much padding
           "====",      // padding only
           "=Zg=",      // padding first
       }) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(Base64Test, RejectsNonCanonicalPaddingBits) {
  // "Zg==" is the only encoding of "f"; "Zh==" sets bits that padding must leave zero.
  EXPECT_FALSE(Base64Decode("Zh==").ok());
  EXPECT_FALSE(Base64Decode("Zm9=").ok());
}

// ---------------------------------------------------------------------------------------------
// Hex.

TEST(HexTest, EncodesLowerCase) {
  EXPECT_EQ(HexEncode(std::string_view("\x00\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
  EXPECT_EQ(HexEncode(std::string_view()), "");
}

TEST(HexTest, RoundTripsAllBytes) {
  const std::string all = AllBytes();
  std::string enc = HexEncode(all);
  EXPECT_EQ(enc.size(), 512u);
  auto dec = HexDecode(enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec.value(), all);
}

TEST(HexTest, DecodesUpperAndMixedCase) {
  auto dec = HexDecode("ABcdEF09");
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec.value(), "\xab\xcd\xef\x09");
  auto empty = HexDecode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value(), "");
}

TEST(HexTest, RejectsInvalidInput) {
  for (std::string_view bad :
       {"0", "abc", "0g", "g0", "zz", " 00", "00 ", "0x00", "-1", "+1", "\xc3\xa9"}) {
    auto r = HexDecode(bad);
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(HexDecode(std::string_view("0\0", 2)).ok());
}

// ---------------------------------------------------------------------------------------------
// Ed25519 (RFC 8032 section 7.1).

struct Rfc8032Vector {
  const char* name;
  const char* secret_key;
  const char* public_key;
  const char* message;
  const char* signature;
};

constexpr Rfc8032Vector kRfc8032Vectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
     "b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f1"
     "1d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984d"
     "c6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519Test, Rfc8032Test1FromSeed) {
  const Rfc8032Vector& v = kRfc8032Vectors[0];
  auto key = SigningKey::FromSeed(Unhex(v.secret_key));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<const char*>(key->public_key().data()),
                                       key->public_key().size())),
            v.public_key);
  EXPECT_EQ(HexEncode(key->seed()), v.secret_key);
  Signature sig = key->Sign("");
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size())),
            v.signature);
  EXPECT_TRUE(Verify(key->public_key(), "", sig));
  EXPECT_TRUE(Verify(ToPublicKey(v.public_key), "", ToSignature(v.signature)));
}

TEST(Ed25519Test, Rfc8032VectorsSignAndVerify) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    auto key = SigningKey::FromSeed(Unhex(v.secret_key));
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(key->public_key(), ToPublicKey(v.public_key));
    const std::string msg = Unhex(v.message);
    EXPECT_EQ(key->Sign(msg), ToSignature(v.signature));
    EXPECT_TRUE(Verify(ToPublicKey(v.public_key), msg, ToSignature(v.signature)));
  }
}

TEST(Ed25519Test, SigningIsDeterministic) {
  auto key = SigningKey::FromSeed(Unhex(kRfc8032Vectors[1].secret_key));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->Sign("hello"), key->Sign("hello"));
  EXPECT_NE(key->Sign("hello"), key->Sign("hello!"));
}

TEST(Ed25519Test, FromSeedRejectsWrongLength) {
  for (size_t n : {0, 1, 31, 33, 64}) {
    auto key = SigningKey::FromSeed(std::string(n, '\x42'));
    EXPECT_FALSE(key.ok()) << n;
    if (!key.ok()) {
      EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(Ed25519Test, VerifyRejectsFlippedMessageBit) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    const PublicKey pk = ToPublicKey(v.public_key);
    const Signature sig = ToSignature(v.signature);
    const std::string msg = Unhex(v.message);
    for (size_t i = 0; i < msg.size() * 8; ++i) {
      std::string bad = msg;
      bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
      EXPECT_FALSE(Verify(pk, bad, sig)) << "bit " << i;
    }
    EXPECT_FALSE(Verify(pk, msg + '\0', sig));
    if (!msg.empty()) {
      EXPECT_FALSE(Verify(pk, msg.substr(1), sig));
    }
  }
}

TEST(Ed25519Test, VerifyRejectsEveryFlippedSignatureBit) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    const PublicKey pk = ToPublicKey(v.public_key);
    const std::string msg = Unhex(v.message);
    for (size_t i = 0; i < 64 * 8; ++i) {
      Signature bad = ToSignature(v.signature);
      bad[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
      EXPECT_FALSE(Verify(pk, msg, bad)) << "bit " << i;
    }
  }
}

TEST(Ed25519Test, VerifyRejectsEveryFlippedKeyBit) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    const Signature sig = ToSignature(v.signature);
    const std::string msg = Unhex(v.message);
    for (size_t i = 0; i < 32 * 8; ++i) {
      PublicKey bad = ToPublicKey(v.public_key);
      bad[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
      EXPECT_FALSE(Verify(bad, msg, sig)) << "bit " << i;
    }
  }
}

TEST(Ed25519Test, VerifyRejectsMalleatedScalar) {
  // S' = S + L (the group order) is the same scalar mod L; RFC 8032 5.1.7 requires S < L.
  static constexpr uint8_t kL[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                     0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                     0,    0,    0,    0,    0,    0,    0,    0,
                                     0,    0,    0,    0,    0,    0,    0,    0x10};
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.name);
    Signature sig = ToSignature(v.signature);
    unsigned carry = 0;
    for (size_t i = 0; i < 32; ++i) {
      unsigned sum = sig[32 + i] + kL[i] + carry;
      sig[32 + i] = static_cast<uint8_t>(sum);
      carry = sum >> 8;
    }
    ASSERT_EQ(carry, 0u);
    EXPECT_FALSE(Verify(ToPublicKey(v.public_key), Unhex(v.message), sig));
  }
}

TEST(Ed25519Test, VerifyRejectsAllZeroKeyAndSignature) {
  EXPECT_FALSE(Verify(PublicKey{}, "", Signature{}));
  EXPECT_FALSE(Verify(ToPublicKey(kRfc8032Vectors[0].public_key), "", Signature{}));
}

TEST(Ed25519Test, GeneratedKeysSignAndVerify) {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  Signature sig = a.Sign("message");
  EXPECT_TRUE(Verify(a.public_key(), "message", sig));
  EXPECT_FALSE(Verify(b.public_key(), "message", sig));
  // The seed reproduces the key.
  auto again = SigningKey::FromSeed(a.seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), a.public_key());
  EXPECT_EQ(again->Sign("message"), sig);
}

// ---------------------------------------------------------------------------------------------
// Randomness.

TEST(RandomTest, RandomTokenIsHexOfRequestedLength) {
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) {
    std::string t = RandomToken(16);
    EXPECT_EQ(t.size(), 32u);
    EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 32u);
  EXPECT_EQ(RandomToken(0), "");
}

TEST(RandomTest, RandomBytesFillsBuffer) {
  uint8_t a[64] = {};
  uint8_t b[64] = {};
  RandomBytes(a, sizeof a);
  RandomBytes(b, sizeof b);
  EXPECT_NE(std::string(reinterpret_cast<char*>(a), sizeof a),
            std::string(reinterpret_cast<char*>(b), sizeof b));
  RandomBytes(nullptr, 0);  // no-op
}

}  // namespace
}  // namespace kexin::crypto
