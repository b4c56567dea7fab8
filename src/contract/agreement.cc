#include "contract/agreement.h"

#include <cstring>

#include "json/canonical.h"

namespace kexin::contract {

std::string NodeUrn(const std::string& public_key_hex) {
  return "urn:kexin:node:" + public_key_hex;
}

nlohmann::json BuildAgreement(const std::string& id, const std::string& target,
                              const std::string& provider_key_hex,
                              const std::string& consumer_key_hex, const std::string& timestamp,
                              const nlohmann::json& offer) {
  nlohmann::json a = {{"@id", id},
                      {"@type", "Agreement"},
                      {"target", target},
                      {"assigner", NodeUrn(provider_key_hex)},
                      {"assignee", NodeUrn(consumer_key_hex)},
                      {"timestamp", timestamp}};
  for (const char* k : {"profile", "permission", "prohibition", "obligation"}) {
    if (offer.contains(k)) a[k] = offer[k];
  }
  return a;
}

Result<std::string> AgreementBytes(const nlohmann::json& agreement) {
  return json::Canonicalize(agreement);
}

Result<std::string> AgreementHash(const nlohmann::json& agreement) {
  KEXIN_ASSIGN_OR_RETURN(std::string bytes, AgreementBytes(agreement));
  return crypto::HexEncode(crypto::Sha256(bytes));
}

Result<std::string> SignAgreement(const crypto::SigningKey& key, const nlohmann::json& agreement) {
  KEXIN_ASSIGN_OR_RETURN(std::string bytes, AgreementBytes(agreement));
  crypto::Signature sig = key.Sign(bytes);
  return crypto::Base64Encode(
      std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
}

Status VerifyAgreement(const std::string& public_key_hex, const nlohmann::json& agreement,
                       const std::string& signature_b64) {
  auto key_bytes = crypto::HexDecode(public_key_hex);
  if (!key_bytes.ok() || key_bytes->size() != 32)
    return InvalidArgument("agreement signer key is not 64 hex characters");
  auto sig_bytes = crypto::Base64Decode(signature_b64);
  if (!sig_bytes.ok() || sig_bytes->size() != 64)
    return InvalidArgument("agreement signature is not 64 bytes of base64");
  KEXIN_ASSIGN_OR_RETURN(std::string bytes, AgreementBytes(agreement));
  crypto::PublicKey pk;
  crypto::Signature sig;
  std::memcpy(pk.data(), key_bytes->data(), 32);
  std::memcpy(sig.data(), sig_bytes->data(), 64);
  if (!crypto::Verify(pk, bytes, sig)) {
    return Corruption("agreement signature does not verify under key " + public_key_hex);
  }
  return Status::Ok();
}

}  // namespace kexin::contract
