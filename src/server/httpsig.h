// Module `server` (signatures): RFC 9421 HTTP Message Signatures with Ed25519 for node-to-node
// requests, with an RFC 9530 Content-Digest of the body. Format and verification steps:
// docs/httpsig.md.
//
// kexin signs exactly the components "@method" "@target-uri" "content-digest" under the label
// "sig1", with parameters created, nonce, keyid (the signer's public key, lowercase hex) and
// alg="ed25519". Verify checks everything that needs no state (syntax, components, algorithm,
// time window, digest, signature); the caller checks that keyid is a trusted peer and that the
// nonce was not seen before (server/auth.h does both).
//
// Thread-safety: all functions are thread-safe.
#ifndef KEXIN_SERVER_HTTPSIG_H_
#define KEXIN_SERVER_HTTPSIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/crypto.h"

namespace kexin::server::httpsig {

inline constexpr std::string_view kLabel = "sig1";
inline constexpr int64_t kDefaultWindowSeconds = 300;

// "sha-256=:<base64 of SHA-256(body)>:" (RFC 9530).
std::string ContentDigest(std::string_view body);

// One covered component: its identifier as written in the component list ("@method",
// "content-type") and its value.
struct Component {
  std::string name;
  std::string value;
};
// A signature parameter: name and either an integer or a string value.
struct Param {
  std::string name;
  std::optional<int64_t> integer;
  std::string string;
};
// RFC 9421 section 2.3: ("c1" "c2");p1=1;p2="x"
std::string SerializeSignatureParams(const std::vector<std::string>& components,
                                     const std::vector<Param>& params);
// RFC 9421 section 2.5: one line `"name": value` per component, then `"@signature-params": ...`,
// joined by LF with no trailing LF.
std::string SignatureBase(const std::vector<Component>& components,
                          std::string_view serialized_params);

struct SignedHeaders {
  std::string content_digest;   // Content-Digest
  std::string signature_input;  // Signature-Input
  std::string signature;        // Signature
};
// Signs a request. `target_uri` is the absolute URI the request is sent to
// ("http://127.0.0.1:8443/v1/node"); `created` is Unix seconds; `nonce` must be unique per key.
SignedHeaders Sign(const crypto::SigningKey& key, std::string_view method,
                   std::string_view target_uri, std::string_view body, int64_t created,
                   std::string_view nonce);
// 16 random bytes, lowercase hex.
std::string NewNonce();

struct VerifyInput {
  std::string_view method;
  std::string_view target_uri;
  std::string_view body;
  std::optional<std::string_view> content_digest;  // header values, nullopt when absent
  std::optional<std::string_view> signature_input;
  std::optional<std::string_view> signature;
  int64_t now = 0;  // Unix seconds
  int64_t window = kDefaultWindowSeconds;
};

struct Verified {
  std::string keyid;  // the signer's public key, lowercase hex
  std::string nonce;
  int64_t created = 0;
};

// Error codes, as they appear in HTTP error bodies.
inline constexpr std::string_view kMissingSignature = "missing_signature";
inline constexpr std::string_view kBadSignature = "bad_signature";
inline constexpr std::string_view kBadDigest = "bad_digest";
inline constexpr std::string_view kStaleSignature = "stale_signature";
inline constexpr std::string_view kUnknownSigner = "unknown_signer";
inline constexpr std::string_view kReplayedNonce = "replayed_nonce";

struct VerifyResult {
  std::string error_code;  // empty when verified
  std::string message;
  Verified verified;  // on failure, keyid/nonce/created as far as they could be parsed
  bool ok() const { return error_code.empty(); }
};

// Stateless checks, in this order: headers present (missing_signature), syntax, covered
// components and alg (bad_signature), created within +-window of now (stale_signature),
// Content-Digest equals the body's (bad_digest), Ed25519 signature (bad_signature).
VerifyResult Verify(const VerifyInput& in);

}  // namespace kexin::server::httpsig

#endif  // KEXIN_SERVER_HTTPSIG_H_
