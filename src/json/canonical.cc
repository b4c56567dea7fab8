#include "json/canonical.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "base/utf8.h"

namespace kexin::json {
namespace {

std::u16string Utf16(const std::string& s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = utf8::Next(s, &i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (cp >> 10));
      out += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

void String(const std::string& s, std::string* out) {
  *out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          *out += "\\u00";
          *out += kHex[c >> 4];
          *out += kHex[c & 15];
        } else {
          *out += static_cast<char>(c);
        }
    }
  }
  *out += '"';
}

Status Write(const nlohmann::json& v, std::string* out) {
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::null:
      *out += "null";
      return Status::Ok();
    case T::boolean:
      *out += v.get<bool>() ? "true" : "false";
      return Status::Ok();
    // RFC 8785 numbers are IEEE-754 doubles: integers beyond 2^53 are written as the double
    // they round to, exactly as other implementations do.
    case T::number_integer: {
      int64_t i = v.get<int64_t>();
      *out += (i > (int64_t{1} << 53) || i < -(int64_t{1} << 53))
                  ? FormatNumber(static_cast<double>(i))
                  : std::to_string(i);
      return Status::Ok();
    }
    case T::number_unsigned: {
      uint64_t u = v.get<uint64_t>();
      *out += u > (uint64_t{1} << 53) ? FormatNumber(static_cast<double>(u)) : std::to_string(u);
      return Status::Ok();
    }
    case T::number_float: {
      double d = v.get<double>();
      if (!std::isfinite(d)) return InvalidArgument("JSON cannot represent NaN or infinity");
      *out += FormatNumber(d);
      return Status::Ok();
    }
    case T::string:
      String(v.get_ref<const std::string&>(), out);
      return Status::Ok();
    case T::array: {
      *out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) *out += ',';
        first = false;
        KEXIN_RETURN_IF_ERROR(Write(e, out));
      }
      *out += ']';
      return Status::Ok();
    }
    case T::object: {
      std::vector<std::pair<std::u16string, const std::string*>> keys;
      for (auto it = v.begin(); it != v.end(); ++it) keys.push_back({Utf16(it.key()), &it.key()});
      std::sort(keys.begin(), keys.end());
      *out += '{';
      bool first = true;
      for (const auto& [k16, k] : keys) {
        if (!first) *out += ',';
        first = false;
        String(*k, out);
        *out += ':';
        KEXIN_RETURN_IF_ERROR(Write(v.at(*k), out));
      }
      *out += '}';
      return Status::Ok();
    }
    default:
      return InvalidArgument("JSON value of unsupported type (binary or discarded)");
  }
}

}  // namespace

std::string FormatNumber(double d) {
  if (d == 0) return "0";  // also -0
  std::string out;
  if (d < 0) {
    out = "-";
    d = -d;
  }
  // Shortest round-trip digits and exponent: d = 0.digits * 10^n in ECMAScript's terms.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp10 = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits += c;
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int k = static_cast<int>(digits.size());
  int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    int e2 = n - 1;
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += e2 >= 0 ? "e+" : "e-";
    out += std::to_string(std::abs(e2));
  }
  return out;
}

Result<std::string> Canonicalize(const nlohmann::json& value) {
  std::string out;
  KEXIN_RETURN_IF_ERROR(Write(value, &out));
  return out;
}

}  // namespace kexin::json
