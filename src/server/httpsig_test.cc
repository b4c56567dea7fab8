#include "server/httpsig.h"

#include <gtest/gtest.h>

namespace kexin::server::httpsig {
namespace {

// RFC 9421 Appendix B.1.4 test-key-ed25519: the PKCS#8 private key and SPKI public key.
constexpr char kPrivatePkcs8[] = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";
constexpr char kPublicSpki[] = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=";

crypto::SigningKey TestKey() {
  auto der = crypto::Base64Decode(kPrivatePkcs8);
  EXPECT_TRUE(der.ok());
  auto key = crypto::SigningKey::FromSeed(der->substr(der->size() - 32));
  EXPECT_TRUE(key.ok());
  return *key;
}

TEST(HttpSigTest, Rfc9421AppendixB26Ed25519) {
  crypto::SigningKey key = TestKey();
  auto spki = crypto::Base64Decode(kPublicSpki);
  ASSERT_TRUE(spki.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(key.public_key().data()), 32),
            spki->substr(spki->size() - 32));

  std::vector<std::string> names = {"date",       "@method",      "@path",
                                    "@authority", "content-type", "content-length"};
  std::vector<Param> params = {{"created", 1618884473, ""},
                               {"keyid", std::nullopt, "test-key-ed25519"}};
  std::string serialized = SerializeSignatureParams(names, params);
  EXPECT_EQ(serialized,
            "(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
            "\"content-length\");created=1618884473;keyid=\"test-key-ed25519\"");
  std::string base = SignatureBase({{"date", "Tue, 20 Apr 2021 02:07:55 GMT"},
                                    {"@method", "POST"},
                                    {"@path", "/foo"},
                                    {"@authority", "example.com"},
                                    {"content-type", "application/json"},
                                    {"content-length", "18"}},
                                   serialized);
  EXPECT_EQ(base,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n"
            "\"@method\": POST\n"
            "\"@path\": /foo\n"
            "\"@authority\": example.com\n"
            "\"content-type\": application/json\n"
            "\"content-length\": 18\n"
            "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" "
            "\"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"");
  crypto::Signature sig = key.Sign(base);
  // Ed25519 is deterministic: the RFC's signature value is reproduced exactly.
  EXPECT_EQ(crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(sig.data()), 64)),
            "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==");
  EXPECT_TRUE(crypto::Verify(key.public_key(), base, sig));
}

TEST(HttpSigTest, ContentDigestRfc9530) {
  // RFC 9530 section 2 example: {"hello": "world"}
  EXPECT_EQ(ContentDigest("{\"hello\": \"world\"}"),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
}

struct Signed {
  std::string method = "POST";
  std::string uri = "http://127.0.0.1:8443/v1/negotiations";
  std::string body = "{\"a\":1}";
  SignedHeaders h;
  VerifyInput Input(int64_t now) const {
    VerifyInput in;
    in.method = method;
    in.target_uri = uri;
    in.body = body;
    in.content_digest = h.content_digest;
    in.signature_input = h.signature_input;
    in.signature = h.signature;
    in.now = now;
    return in;
  }
};

Signed MakeSigned(int64_t created) {
  Signed s;
  s.h = Sign(TestKey(), s.method, s.uri, s.body, created, "n0nce");
  return s;
}

TEST(HttpSigTest, SignThenVerify) {
  Signed s = MakeSigned(1000);
  EXPECT_EQ(s.h.signature_input.rfind(
                "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created=1000;nonce=\"n0nce\""
                ";keyid=\"", 0),
            0u)
      << s.h.signature_input;
  VerifyResult r = Verify(s.Input(1000));
  ASSERT_TRUE(r.ok()) << r.error_code << ": " << r.message;
  auto k = TestKey();
  EXPECT_EQ(r.verified.keyid,
            crypto::HexEncode(std::string_view(reinterpret_cast<const char*>(k.public_key().data()), 32)));
  EXPECT_EQ(r.verified.nonce, "n0nce");
  EXPECT_EQ(r.verified.created, 1000);
}

TEST(HttpSigTest, MissingHeaders) {
  Signed s = MakeSigned(1000);
  VerifyInput in = s.Input(1000);
  in.signature.reset();
  EXPECT_EQ(Verify(in).error_code, kMissingSignature);
  in = s.Input(1000);
  in.signature_input.reset();
  EXPECT_EQ(Verify(in).error_code, kMissingSignature);
}

TEST(HttpSigTest, StaleAndFutureCreated) {
  Signed s = MakeSigned(1000);
  EXPECT_TRUE(Verify(s.Input(1300)).ok());
  EXPECT_EQ(Verify(s.Input(1301)).error_code, kStaleSignature);
  EXPECT_EQ(Verify(s.Input(699)).error_code, kStaleSignature);
  VerifyInput in = s.Input(1100);
  in.window = 50;
  EXPECT_EQ(Verify(in).error_code, kStaleSignature);
}

TEST(HttpSigTest, BodyChangedIsBadDigest) {
  Signed s = MakeSigned(1000);
  s.body = "{\"a\":2}";
  EXPECT_EQ(Verify(s.Input(1000)).error_code, kBadDigest);
  s = MakeSigned(1000);
  VerifyInput in = s.Input(1000);
  in.content_digest.reset();
  EXPECT_EQ(Verify(in).error_code, kBadDigest);
}

TEST(HttpSigTest, DigestReplacedWithBodyIsBadSignature) {
  // An attacker changes body and digest together: the signature covers the digest.
  Signed s = MakeSigned(1000);
  s.body = "{\"a\":2}";
  std::string digest = ContentDigest(s.body);
  VerifyInput in = s.Input(1000);
  in.content_digest = digest;
  EXPECT_EQ(Verify(in).error_code, kBadSignature);
}

TEST(HttpSigTest, TamperedComponentsAreBadSignature) {
  Signed s = MakeSigned(1000);
  s.method = "PUT";
  EXPECT_EQ(Verify(s.Input(1000)).error_code, kBadSignature);
  s = MakeSigned(1000);
  s.uri = "http://127.0.0.1:8443/v1/negotiations?x=1";
  EXPECT_EQ(Verify(s.Input(1000)).error_code, kBadSignature);
  // Changing a parameter (the nonce) changes the signature base.
  s = MakeSigned(1000);
  std::string input = s.h.signature_input;
  input.replace(input.find("n0nce"), 5, "other");
  VerifyInput in = s.Input(1000);
  in.signature_input = input;
  EXPECT_EQ(Verify(in).error_code, kBadSignature);
  // A signature by another key under this keyid.
  s = MakeSigned(1000);
  auto other = Sign(crypto::SigningKey::Generate(), s.method, s.uri, s.body, 1000, "n0nce");
  in = s.Input(1000);
  in.signature = other.signature;
  EXPECT_EQ(Verify(in).error_code, kBadSignature);
}

TEST(HttpSigTest, MalformedOrUnsupportedParameters) {
  Signed s = MakeSigned(1000);
  for (std::string bad : {std::string("sig1=(\"@method\""), std::string("garbage"),
                          std::string("sig1=(\"@method\" \"@target-uri\");created=1000;nonce=\"n\";"
                                      "keyid=\"" + std::string(64, 'a') + "\";alg=\"ed25519\""),
                          std::string("sig1=(\"@method\" \"@target-uri\" \"content-digest\");"
                                      "created=1000;nonce=\"n\";keyid=\"" + std::string(64, 'a') +
                                      "\";alg=\"rsa-pss-sha512\""),
                          std::string("sig1=(\"@method\" \"@target-uri\" \"content-digest\");"
                                      "nonce=\"n\";keyid=\"" + std::string(64, 'a') +
                                      "\";alg=\"ed25519\""),
                          std::string("sig1=(\"@method\" \"@target-uri\" \"content-digest\");"
                                      "created=1000;keyid=\"" + std::string(64, 'a') +
                                      "\";alg=\"ed25519\""),
                          std::string("sig1=(\"@method\" \"@target-uri\" \"content-digest\");"
                                      "created=1000;nonce=\"n\";keyid=\"test-key\";alg=\"ed25519\"")}) {
    VerifyInput in = s.Input(1000);
    in.signature_input = bad;
    EXPECT_EQ(Verify(in).error_code, kBadSignature) << bad;
  }
  VerifyInput in = s.Input(1000);
  in.signature = "sig1=:AAAA:";
  EXPECT_EQ(Verify(in).error_code, kBadSignature);
  in.signature = "sig2=" + s.h.signature.substr(5);
  EXPECT_EQ(Verify(in).error_code, kBadSignature);
}

}  // namespace
}  // namespace kexin::server::httpsig
