// Operators on single values for direct identifiers and insensitive columns: masking, redaction,
// replacement, keyed pseudonyms (HMAC-SHA256 or keyed BLAKE2b), format-preserving pseudonyms for
// ID numbers and mobile numbers, and top/bottom coding of numbers.
//
// Pseudonyms are deterministic for a key: the same value gives the same pseudonym in every table
// and run, so joins on pseudonymized columns still work, and nobody without the key can recompute
// them. The key never appears in output, reports or messages.
//
// Thread-safety: a ValueOperator is immutable after construction and safe to share.
#ifndef KEXIN_DEID_OPERATORS_H_
#define KEXIN_DEID_OPERATORS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kexin/status.h"

namespace kexin::deid {

enum class OperatorKind {
  kKeep,
  kMask,
  kRedact,            // the cell becomes empty
  kReplace,           // a fixed text
  kPseudonymize,      // "p_" + 24 hex characters of the keyed hash
  kFormatPreserving,  // an ID number or mobile number shaped pseudonym, valid check digit
  kTopBottom,         // numbers beyond the limits become ">=top" / "<=bottom"
};

std::string_view OperatorName(OperatorKind k);
Result<OperatorKind> ParseOperator(std::string_view name);

enum class KeyedHash { kHmacSha256, kBlake2b };

struct OperatorSpec {
  OperatorKind kind = OperatorKind::kKeep;
  // kMask: characters kept at each end (UTF-8 characters); unset means by shape: 18-character
  // ID numbers keep 6 and 4 ("110105********002X"), 11-digit mobiles 3 and 4 ("138****5678"),
  // emails the first character and the domain, anything else about a quarter and a sixth.
  std::optional<int> keep_prefix, keep_suffix;
  std::string mask_char = "*";
  std::string replacement = "*";  // kReplace
  KeyedHash hash = KeyedHash::kHmacSha256;
  std::optional<double> top, bottom;  // kTopBottom
};

// A secret key for pseudonyms: at least 16 bytes.
class PseudonymKey {
 public:
  // From a file (raw bytes; a trailing newline is ignored) or an environment variable. Errors
  // name the file or variable, never the key.
  static Result<PseudonymKey> FromFile(const std::string& path);
  static Result<PseudonymKey> FromEnv(const std::string& variable);
  static Result<PseudonymKey> FromBytes(std::string bytes, const std::string& source);
  const std::string& bytes() const { return bytes_; }
  const std::string& source() const { return source_; }  // "file k.key", "environment KEXIN_KEY"

 private:
  std::string bytes_;
  std::string source_;
};

class ValueOperator {
 public:
  // kPseudonymize and kFormatPreserving need a key (kInvalidArgument otherwise).
  static Result<ValueOperator> Create(const OperatorSpec& spec, const PseudonymKey* key);
  // Applies the operator. Values an operator cannot shape (a format-preserving pseudonym of a
  // value that is neither an ID number nor a mobile number) fall back to the plain pseudonym.
  std::string Apply(std::string_view value) const;
  const OperatorSpec& spec() const { return spec_; }

 private:
  std::string KeyedDigest(std::string_view domain, std::string_view value) const;
  std::string Mask(std::string_view value) const;
  std::string FormatPreserving(std::string_view value) const;

  OperatorSpec spec_;
  std::string key_;
};

}  // namespace kexin::deid

#endif  // KEXIN_DEID_OPERATORS_H_
