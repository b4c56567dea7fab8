// libFuzzer target for the RFC 9421 verifier (src/server/httpsig.h): Signature-Input, Signature
// and Content-Digest are outside input parsed by the structured-field parser.
//
// Input layout: three header values and a body separated by '\n' (missing parts are absent
// headers). Besides memory safety the target checks that a verified request has a 64-hex keyid,
// and that a request signed by Sign over fuzz-chosen method, URI and body always verifies (and
// stops verifying when the body changes).
//
// Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/httpsig.h"

namespace {

using namespace kexin::server::httpsig;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    size_t nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto parts = Split(in);
  VerifyInput v;
  v.method = "POST";
  v.target_uri = "http://127.0.0.1:8443/v1/x";
  v.now = 1000;
  if (parts.size() > 0) v.signature_input = parts[0];
  if (parts.size() > 1) v.signature = parts[1];
  if (parts.size() > 2) v.content_digest = parts[2];
  if (parts.size() > 3) v.body = parts[3];
  VerifyResult r = Verify(v);
  if (r.ok()) Check(r.verified.keyid.size() == 64);

  static const kexin::crypto::SigningKey key = kexin::crypto::SigningKey::Generate();
  std::string method = parts.size() > 0 ? std::string(parts[0].substr(0, 16)) : "GET";
  std::string uri = "https://n.example/" + (parts.size() > 1 ? std::string(parts[1]) : "");
  std::string body = parts.size() > 3 ? std::string(parts[3]) : "";
  std::string nonce = "n" + std::to_string(size);
  SignedHeaders h = Sign(key, method, uri, body, 1000, nonce);
  VerifyInput s;
  s.method = method;
  s.target_uri = uri;
  s.body = body;
  s.content_digest = h.content_digest;
  s.signature_input = h.signature_input;
  s.signature = h.signature;
  s.now = 1000;
  Check(Verify(s).ok());
  std::string changed = body + "x";
  s.body = changed;
  Check(!Verify(s).ok());
  return 0;
}
