#include "deid/operators.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <charconv>
#include <cstdlib>

#include "base/file.h"
#include "crypto/crypto.h"
#include "scan/mask.h"
#include "scan/validators.h"

namespace kexin::deid {
namespace {

// Byte offsets of UTF-8 character starts, plus the end.
std::vector<size_t> CharStarts(std::string_view v) {
  std::vector<size_t> s;
  for (size_t i = 0; i < v.size(); ++i) {
    if ((static_cast<unsigned char>(v[i]) & 0xC0) != 0x80) s.push_back(i);
  }
  s.push_back(v.size());
  return s;
}

bool AllDigits(std::string_view v) {
  return !v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

std::string_view OperatorName(OperatorKind k) {
  switch (k) {
    case OperatorKind::kKeep:
      return "keep";
    case OperatorKind::kMask:
      return "mask";
    case OperatorKind::kRedact:
      return "redact";
    case OperatorKind::kReplace:
      return "replace";
    case OperatorKind::kPseudonymize:
      return "pseudonymize";
    case OperatorKind::kFormatPreserving:
      return "format_preserving";
    case OperatorKind::kTopBottom:
      return "top_bottom";
  }
  return "?";
}

Result<OperatorKind> ParseOperator(std::string_view name) {
  for (auto k :
       {OperatorKind::kKeep, OperatorKind::kMask, OperatorKind::kRedact, OperatorKind::kReplace,
        OperatorKind::kPseudonymize, OperatorKind::kFormatPreserving, OperatorKind::kTopBottom}) {
    if (OperatorName(k) == name) return k;
  }
  return InvalidArgument(fmt::format(
      "unknown operator \"{}\" (keep, mask, redact, replace, pseudonymize, format_preserving, "
      "top_bottom)",
      name));
}

Result<PseudonymKey> PseudonymKey::FromBytes(std::string bytes, const std::string& source) {
  // Exactly one line ending goes: a binary key may end in 0x0A or 0x0D itself.
  if (bytes.size() >= 2 && bytes.compare(bytes.size() - 2, 2, "\r\n") == 0) {
    bytes.resize(bytes.size() - 2);
  } else if (!bytes.empty() && bytes.back() == '\n') {
    bytes.pop_back();
  }
  if (bytes.size() < 16) {
    return InvalidArgument(fmt::format("pseudonym key from {} is shorter than 16 bytes", source));
  }
  PseudonymKey k;
  k.bytes_ = std::move(bytes);
  k.source_ = source;
  return k;
}

Result<PseudonymKey> PseudonymKey::FromFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    return Status(text.status().code(),
                  "cannot read pseudonym key file: " + text.status().message());
  }
  return FromBytes(std::move(text).value(), "file " + path);
}

Result<PseudonymKey> PseudonymKey::FromEnv(const std::string& variable) {
  const char* v = std::getenv(variable.c_str());
  if (!v || !*v) {
    return NotFound(fmt::format("environment variable {} (pseudonym key) is not set", variable));
  }
  return FromBytes(v, "environment " + variable);
}

Result<ValueOperator> ValueOperator::Create(const OperatorSpec& spec, const PseudonymKey* key) {
  ValueOperator op;
  op.spec_ = spec;
  if (spec.kind == OperatorKind::kPseudonymize || spec.kind == OperatorKind::kFormatPreserving) {
    if (!key) {
      return InvalidArgument(fmt::format(
          "operator {} needs a key: --key-file FILE, --key-env VAR or [key] in the config",
          OperatorName(spec.kind)));
    }
    op.key_ = key->bytes();
  }
  if (spec.kind == OperatorKind::kTopBottom && !spec.top && !spec.bottom) {
    return InvalidArgument("operator top_bottom needs top or bottom");
  }
  if ((spec.keep_prefix && *spec.keep_prefix < 0) || (spec.keep_suffix && *spec.keep_suffix < 0)) {
    return InvalidArgument("mask keep_prefix and keep_suffix must not be negative");
  }
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  return op;
}

std::string ValueOperator::KeyedDigest(std::string_view domain, std::string_view value) const {
  // The domain separates plain and format-preserving pseudonyms of the same value.
  std::string msg;
  msg.reserve(domain.size() + 1 + value.size());
  msg.append(domain).push_back('\0');
  msg.append(value);
  unsigned char out[32];
  if (spec_.hash == KeyedHash::kBlake2b) {
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(msg.data()),
                       msg.size(), reinterpret_cast<const unsigned char*>(key_.data()),
                       std::min<size_t>(key_.size(), crypto_generichash_KEYBYTES_MAX));
  } else {
    unsigned int len = sizeof out;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  }
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string ValueOperator::Mask(std::string_view value) const {
  auto starts = CharStarts(value);
  size_t chars = starts.size() - 1;
  int prefix, suffix;
  if (spec_.keep_prefix || spec_.keep_suffix) {
    prefix = spec_.keep_prefix.value_or(0);
    suffix = spec_.keep_suffix.value_or(0);
  } else if (chars == 18 && scan::IdCardCn(value) != scan::Strength::kNone) {
    prefix = 6, suffix = 4;
  } else if (chars == 11 && AllDigits(value)) {
    prefix = 3, suffix = 4;
  } else {
    std::string m = scan::MaskValue(value);
    if (spec_.mask_char != "*") {
      std::string out;
      for (char c : m) {
        if (c == '*')
          out += spec_.mask_char;
        else
          out.push_back(c);
      }
      return out;
    }
    return m;
  }
  if (static_cast<size_t>(prefix) + suffix >= chars) {
    // Nothing would be hidden: mask everything rather than reveal the value.
    std::string out;
    for (size_t i = 0; i < chars; ++i) out += spec_.mask_char;
    return out;
  }
  std::string out(value.substr(0, starts[prefix]));
  for (size_t i = prefix; i < chars - suffix; ++i) out += spec_.mask_char;
  out.append(value.substr(starts[chars - suffix]));
  return out;
}

std::string ValueOperator::FormatPreserving(std::string_view value) const {
  std::string d = KeyedDigest("kexin-fpe-v1", value);
  auto byte = [&](size_t i) { return static_cast<unsigned char>(d[i % d.size()]); };
  if (value.size() == 18 && scan::IdCardCn(value) != scan::Strength::kNone) {
    // Region kept (generalize it as a quasi-identifier if it must go), birth date and sequence
    // drawn from the keyed hash, check character recomputed.
    uint32_t day = (uint32_t{byte(0)} << 16 | uint32_t{byte(1)} << 8 | byte(2)) % (70 * 365);
    int y = 1940, m = 1;
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    while (true) {
      int ylen = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 366 : 365;
      if (day < static_cast<uint32_t>(ylen)) break;
      day -= ylen;
      ++y;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    while (true) {
      int mlen = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
      if (day < static_cast<uint32_t>(mlen)) break;
      day -= mlen;
      ++m;
    }
    std::string first17 = fmt::format("{}{:04}{:02}{:02}{:03}", value.substr(0, 6), y, m, day + 1,
                                      (byte(3) << 8 | byte(4)) % 1000);
    return first17 + scan::IdCardCheckChar(first17);
  }
  if (value.size() == 11 && AllDigits(value) && value[0] == '1') {
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i) x = x << 8 | byte(i);
    return fmt::format("{}{:08}", value.substr(0, 3), x % 100000000);
  }
  return "p_" + crypto::HexEncode(d).substr(0, 24);
}

std::string ValueOperator::Apply(std::string_view value) const {
  switch (spec_.kind) {
    case OperatorKind::kKeep:
      return std::string(value);
    case OperatorKind::kMask:
      return value.empty() ? std::string() : Mask(value);
    case OperatorKind::kRedact:
      return "";
    case OperatorKind::kReplace:
      return spec_.replacement;
    case OperatorKind::kPseudonymize:
      if (value.empty()) return "";
      return "p_" + crypto::HexEncode(KeyedDigest("kexin-pseudonym-v1", value)).substr(0, 24);
    case OperatorKind::kFormatPreserving:
      return value.empty() ? std::string() : FormatPreserving(value);
    case OperatorKind::kTopBottom: {
      double x;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), x);
      if (ec != std::errc() || p != value.data() + value.size()) return std::string(value);
      if (spec_.top && x >= *spec_.top) return fmt::format(">={}", *spec_.top);
      if (spec_.bottom && x <= *spec_.bottom) return fmt::format("<={}", *spec_.bottom);
      return std::string(value);
    }
  }
  return std::string(value);
}

}  // namespace kexin::deid
