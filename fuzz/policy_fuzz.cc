// libFuzzer target for the policy module: policy::Parse on arbitrary JSON. Errors are fine,
// crashes are not; and whatever parses must round-trip: Parse(ToJsonLd(p)) succeeds, is
// Equivalent to p, has the same Fingerprint, and Evaluate never crashes on it.
// Build and run: see fuzz/README.md (target policy_fuzz; seeds: examples/policies/).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size),
                                 nullptr, false);
  if (j.is_discarded()) return 0;
  auto p = kexin::policy::Parse(j);
  if (!p.ok()) return 0;
  auto again = kexin::policy::Parse(kexin::policy::ToJsonLd(*p));
  if (!again.ok() || !kexin::policy::Equivalent(*p, *again) ||
      kexin::policy::Fingerprint(*p) != kexin::policy::Fingerprint(*again))
    __builtin_trap();
  kexin::policy::Context c;
  c.purpose = "statistics";
  c.now = "2026-06-01T00:00:00Z";
  c.use_count = 1;
  c.destination = "CN-BJ";
  (void)kexin::policy::Evaluate(*p, c);
  return 0;
}
