#include "server/httpsig.h"

#include <cctype>
#include <cstring>
#include <map>

namespace kexin::server::httpsig {
namespace {

// The subset of RFC 8941 structured fields that signatures use: a dictionary whose members are
// inner lists of strings or byte sequences, with parameters whose values are strings, integers
// or tokens.
struct Item {
  enum class Type { kString, kInteger, kBytes, kToken, kBool, kInnerList } type = Type::kString;
  std::string text;  // string, token, or decoded bytes
  int64_t integer = 0;
  std::vector<Item> list;
  std::vector<Param> params;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool Dictionary(std::vector<std::pair<std::string, Item>>* out) {
    SkipSp();
    if (AtEnd()) return false;
    while (true) {
      std::string key;
      if (!Key(&key)) return false;
      Item item;
      if (Peek() == '=') {
        ++i_;
        if (!Member(&item)) return false;
      } else {
        item.type = Item::Type::kBool;
        item.integer = 1;
        if (!Params(&item.params)) return false;
      }
      out->emplace_back(std::move(key), std::move(item));
      SkipOws();
      if (AtEnd()) return true;
      if (Peek() != ',') return false;
      ++i_;
      SkipOws();
      if (AtEnd()) return false;
    }
  }

 private:
  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[i_]; }
  void SkipSp() {
    while (Peek() == ' ') ++i_;
  }
  void SkipOws() {
    while (Peek() == ' ' || Peek() == '\t') ++i_;
  }
  bool Key(std::string* key) {
    char c = Peek();
    if (!(std::islower(static_cast<unsigned char>(c)) || c == '*')) return false;
    while (!AtEnd()) {
      c = Peek();
      if (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '_' || c == '-' || c == '.' || c == '*') {
        key->push_back(c);
        ++i_;
      } else {
        break;
      }
    }
    return true;
  }
  bool Member(Item* item) {
    if (Peek() == '(') {
      ++i_;
      item->type = Item::Type::kInnerList;
      while (true) {
        SkipSp();
        if (Peek() == ')') {
          ++i_;
          break;
        }
        Item inner;
        if (!BareItem(&inner) || !Params(&inner.params)) return false;
        item->list.push_back(std::move(inner));
        if (Peek() != ' ' && Peek() != ')') return false;
      }
    } else if (!BareItem(item)) {
      return false;
    }
    return Params(&item->params);
  }
  bool Params(std::vector<Param>* params) {
    while (Peek() == ';') {
      ++i_;
      SkipSp();
      Param p;
      if (!Key(&p.name)) return false;
      if (Peek() == '=') {
        ++i_;
        Item v;
        if (!BareItem(&v)) return false;
        if (v.type == Item::Type::kInteger) {
          p.integer = v.integer;
        } else {
          p.string = v.text;
        }
      } else {
        p.integer = 1;  // boolean true
      }
      params->push_back(std::move(p));
    }
    return true;
  }
  bool BareItem(Item* item) {
    char c = Peek();
    if (c == '"') {
      ++i_;
      item->type = Item::Type::kString;
      while (true) {
        if (AtEnd()) return false;
        char d = s_[i_++];
        if (d == '\\') {
          if (AtEnd()) return false;
          char e = s_[i_++];
          if (e != '"' && e != '\\') return false;
          item->text.push_back(e);
        } else if (d == '"') {
          return true;
        } else if (d < 0x20 || d > 0x7e) {
          return false;
        } else {
          item->text.push_back(d);
        }
      }
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      item->type = Item::Type::kInteger;
      bool neg = c == '-';
      if (neg) ++i_;
      size_t start = i_;
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(Peek()))) {
        if (i_ - start >= 15) return false;  // RFC 8941: at most 15 digits
        v = v * 10 + (Peek() - '0');
        ++i_;
      }
      if (i_ == start) return false;
      if (Peek() == '.') return false;  // decimals are not used here
      item->integer = neg ? -v : v;
      return true;
    }
    if (c == ':') {
      ++i_;
      size_t end = s_.find(':', i_);
      if (end == std::string_view::npos) return false;
      auto bytes = crypto::Base64Decode(s_.substr(i_, end - i_));
      if (!bytes.ok()) return false;
      item->type = Item::Type::kBytes;
      item->text = *bytes;
      i_ = end + 1;
      return true;
    }
    if (c == '?') {
      ++i_;
      if (Peek() != '0' && Peek() != '1') return false;
      item->type = Item::Type::kBool;
      item->integer = Peek() == '1';
      ++i_;
      return true;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '*') {
      item->type = Item::Type::kToken;
      while (!AtEnd()) {
        char d = Peek();
        if (std::isalnum(static_cast<unsigned char>(d)) || std::strchr("!#$%&'*+-.^_`|~:/", d)) {
          item->text.push_back(d);
          ++i_;
        } else {
          break;
        }
      }
      return true;
    }
    return false;
  }

  std::string_view s_;
  size_t i_ = 0;
};

const Item* FindMember(const std::vector<std::pair<std::string, Item>>& dict,
                       std::string_view label) {
  for (const auto& [k, v] : dict) {
    if (k == label) return &v;
  }
  return nullptr;
}

VerifyResult Fail(std::string_view code, std::string message, Verified partial = {}) {
  VerifyResult r;
  r.error_code = std::string(code);
  r.message = std::move(message);
  r.verified = std::move(partial);
  return r;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

}  // namespace

std::string ContentDigest(std::string_view body) {
  return "sha-256=:" + crypto::Base64Encode(crypto::AsBytes(crypto::Sha256(body))) + ":";
}

std::string SerializeSignatureParams(const std::vector<std::string>& components,
                                     const std::vector<Param>& params) {
  std::string out = "(";
  for (size_t i = 0; i < components.size(); ++i) {
    if (i) out += ' ';
    out += '"';
    out += components[i];
    out += '"';
  }
  out += ')';
  for (const auto& p : params) {
    out += ';';
    out += p.name;
    out += '=';
    if (p.integer) {
      out += std::to_string(*p.integer);
    } else {
      out += '"';
      for (char c : p.string) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
  }
  return out;
}

std::string SignatureBase(const std::vector<Component>& components,
                          std::string_view serialized_params) {
  std::string out;
  for (const auto& c : components) {
    out += '"';
    out += c.name;
    out += "\": ";
    out += c.value;
    out += '\n';
  }
  out += "\"@signature-params\": ";
  out += serialized_params;
  return out;
}

namespace {
const std::vector<std::string>& KexinComponents() {
  static const std::vector<std::string> c = {"@method", "@target-uri", "content-digest"};
  return c;
}
}  // namespace

SignedHeaders Sign(const crypto::SigningKey& key, std::string_view method,
                   std::string_view target_uri, std::string_view body, int64_t created,
                   std::string_view nonce) {
  SignedHeaders h;
  h.content_digest = ContentDigest(body);
  std::string keyid = crypto::HexEncode(std::string_view(
      reinterpret_cast<const char*>(key.public_key().data()), key.public_key().size()));
  std::vector<Param> params = {{"created", created, ""},
                               {"nonce", std::nullopt, std::string(nonce)},
                               {"keyid", std::nullopt, keyid},
                               {"alg", std::nullopt, "ed25519"}};
  std::string serialized = SerializeSignatureParams(KexinComponents(), params);
  std::string base = SignatureBase({{"@method", std::string(method)},
                                    {"@target-uri", std::string(target_uri)},
                                    {"content-digest", h.content_digest}},
                                   serialized);
  crypto::Signature sig = key.Sign(base);
  h.signature_input = std::string(kLabel) + "=" + serialized;
  h.signature = std::string(kLabel) + "=:" +
                crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(sig.data()),
                                                      sig.size())) +
                ":";
  return h;
}

std::string NewNonce() { return crypto::RandomToken(16); }

VerifyResult Verify(const VerifyInput& in) {
  if (!in.signature_input || !in.signature) {
    return Fail(kMissingSignature,
                "request is not signed: Signature-Input and Signature headers are required");
  }
  std::vector<std::pair<std::string, Item>> inputs, sigs;
  if (!Parser(*in.signature_input).Dictionary(&inputs)) {
    return Fail(kBadSignature, "Signature-Input is not a valid structured-field dictionary");
  }
  if (!Parser(*in.signature).Dictionary(&sigs)) {
    return Fail(kBadSignature, "Signature is not a valid structured-field dictionary");
  }
  const Item* input = FindMember(inputs, kLabel);
  std::string label(kLabel);
  if (!input && !inputs.empty()) {
    label = inputs.front().first;
    input = &inputs.front().second;
  }
  if (!input || input->type != Item::Type::kInnerList) {
    return Fail(kBadSignature, "Signature-Input has no inner list of covered components");
  }
  const Item* sig = FindMember(sigs, label);
  if (!sig || sig->type != Item::Type::kBytes) {
    return Fail(kBadSignature, "Signature has no byte sequence labelled \"" + label + "\"");
  }

  Verified v;
  std::optional<int64_t> created;
  std::string alg;
  std::vector<Param> params_seen;
  for (const auto& p : input->params) {
    if (p.name == "created" && p.integer) created = p.integer;
    if (p.name == "nonce") v.nonce = p.string;
    if (p.name == "keyid") v.keyid = p.string;
    if (p.name == "alg") alg = p.string;
  }
  if (created) v.created = *created;
  std::vector<std::string> components;
  for (const auto& it : input->list) {
    if (it.type != Item::Type::kString || !it.params.empty()) {
      return Fail(kBadSignature, "covered components must be plain strings", v);
    }
    components.push_back(it.text);
  }
  if (components != KexinComponents()) {
    return Fail(kBadSignature,
                "covered components must be exactly (\"@method\" \"@target-uri\" "
                "\"content-digest\")",
                v);
  }
  if (alg != "ed25519") return Fail(kBadSignature, "alg must be \"ed25519\"", v);
  if (!created) return Fail(kBadSignature, "signature parameter created is missing", v);
  if (v.nonce.empty() || v.nonce.size() > 128) {
    return Fail(kBadSignature, "signature parameter nonce is missing or longer than 128", v);
  }
  if (v.keyid.size() != 64 || !IsLowerHex(v.keyid)) {
    return Fail(kBadSignature, "keyid must be an Ed25519 public key in 64 lowercase hex digits",
                v);
  }
  if (sig->text.size() != 64) return Fail(kBadSignature, "signature must be 64 bytes", v);
  if (v.created < in.now - in.window || v.created > in.now + in.window) {
    return Fail(kStaleSignature,
                "signature created=" + std::to_string(v.created) + " is outside now=" +
                    std::to_string(in.now) + " +-" + std::to_string(in.window) + " s",
                v);
  }
  if (!in.content_digest) return Fail(kBadDigest, "Content-Digest header is missing", v);
  std::vector<std::pair<std::string, Item>> digests;
  if (!Parser(*in.content_digest).Dictionary(&digests)) {
    return Fail(kBadDigest, "Content-Digest is not a valid structured-field dictionary", v);
  }
  const Item* sha = FindMember(digests, "sha-256");
  if (!sha || sha->type != Item::Type::kBytes) {
    return Fail(kBadDigest, "Content-Digest has no sha-256 member", v);
  }
  crypto::Hash body_hash = crypto::Sha256(in.body);
  if (sha->text != crypto::AsBytes(body_hash)) {
    return Fail(kBadDigest, "Content-Digest sha-256 does not match the body", v);
  }
  // The signed content-digest value is the header as received (sha-256 may be one of several).
  std::string serialized = SerializeSignatureParams(components, input->params);
  std::string base = SignatureBase({{"@method", std::string(in.method)},
                                    {"@target-uri", std::string(in.target_uri)},
                                    {"content-digest", std::string(*in.content_digest)}},
                                   serialized);
  auto key_bytes = crypto::HexDecode(v.keyid);
  if (!key_bytes.ok() || key_bytes->size() != 32) {
    return Fail(kBadSignature, "keyid is not a 32-byte key", v);
  }
  crypto::PublicKey pk;
  std::memcpy(pk.data(), key_bytes->data(), 32);
  crypto::Signature s;
  std::memcpy(s.data(), sig->text.data(), 64);
  if (!crypto::Verify(pk, base, s)) {
    return Fail(kBadSignature, "Ed25519 signature does not verify for keyid " + v.keyid, v);
  }
  VerifyResult ok;
  ok.verified = std::move(v);
  return ok;
}

}  // namespace kexin::server::httpsig
