// Module `contract` (agreement part): the odrl:Agreement both nodes sign.
//
// The agreement is DSP's Agreement object: @id, @type "Agreement", target (the dataset),
// assigner and assignee ("urn:kexin:node:<hex Ed25519 public key>" of provider and consumer),
// timestamp, and the offer's permission/prohibition/obligation rules copied unchanged. Its
// RFC 8785 canonical form is hashed (SHA-256, hex) and signed with Ed25519 by the provider, then
// countersigned over the same bytes by the consumer. Format: docs/contract.md#agreement.
// Thread-safety: pure functions.
#ifndef KEXIN_CONTRACT_AGREEMENT_H_
#define KEXIN_CONTRACT_AGREEMENT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "crypto/crypto.h"
#include "kexin/status.h"

namespace kexin::contract {

// "urn:kexin:node:<hex>" for a node's public key.
std::string NodeUrn(const std::string& public_key_hex);

nlohmann::json BuildAgreement(const std::string& id, const std::string& target,
                              const std::string& provider_key_hex,
                              const std::string& consumer_key_hex, const std::string& timestamp,
                              const nlohmann::json& offer);

// The RFC 8785 bytes that are hashed and signed.
Result<std::string> AgreementBytes(const nlohmann::json& agreement);
// Lowercase hex SHA-256 of AgreementBytes.
Result<std::string> AgreementHash(const nlohmann::json& agreement);
// Base64 Ed25519 signature over AgreementBytes.
Result<std::string> SignAgreement(const crypto::SigningKey& key, const nlohmann::json& agreement);
// kCorruption when `signature_b64` is not `public_key_hex`'s signature of the agreement;
// kInvalidArgument when the key or signature is not well-formed.
Status VerifyAgreement(const std::string& public_key_hex, const nlohmann::json& agreement,
                       const std::string& signature_b64);

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_AGREEMENT_H_
