// RFC 8785 JSON Canonicalization Scheme (JCS): the byte form of anything kexin signs.
// Object members sorted by their UTF-16 code units, no whitespace, ECMAScript number formatting,
// minimal string escaping. Thread-safety: pure functions.
#ifndef KEXIN_JSON_CANONICAL_H_
#define KEXIN_JSON_CANONICAL_H_

#include <nlohmann/json.hpp>
#include <string>

#include "kexin/status.h"

namespace kexin::json {

// Fails (kInvalidArgument) on NaN or infinite numbers, which JSON cannot carry.
Result<std::string> Canonicalize(const nlohmann::json& value);

// ECMAScript Number.prototype.toString for a finite double (RFC 8785 section 3.2.2.3).
std::string FormatNumber(double d);

}  // namespace kexin::json

#endif  // KEXIN_JSON_CANONICAL_H_
