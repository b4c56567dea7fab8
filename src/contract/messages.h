// Module `contract` (messages part): the DSP contract negotiation messages on the wire.
//
// Builders produce JSON that validates against the official DSP 2025-1 schemas
// (shared/specs/dsp/negotiation); Parse checks an incoming body's @context, @type and required
// fields and names the field at fault. kexin's additions (agreement signatures) are extra members
// named "kexin:..." which the schemas allow. Format: docs/contract.md#messages.
// Thread-safety: pure functions.
#ifndef KEXIN_CONTRACT_MESSAGES_H_
#define KEXIN_CONTRACT_MESSAGES_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "contract/state.h"
#include "kexin/status.h"

namespace kexin::contract {

inline constexpr std::string_view kDspContext = "https://w3id.org/dspace/2025/1/context.jsonld";

// One incoming negotiation message, after Parse.
struct Message {
  MessageType type = MessageType::kRequest;
  std::string provider_pid;        // "" when absent (initial request)
  std::string consumer_pid;        // "" when absent (initial offer)
  std::string callback_address;    // request / initial offer
  nlohmann::json offer;            // request / offer: the MessageOffer
  nlohmann::json agreement;        // agreement: the odrl:Agreement
  std::string provider_signature;  // agreement: "kexin:signature" (base64 Ed25519)
  std::string consumer_signature;  // verification: "kexin:signature"
  std::string agreement_hash;      // verification: "kexin:agreementHash" (hex SHA-256)
  std::string code;                // termination
  nlohmann::json reason;           // termination: array
};

// Parses `body` expected to be `expected_type` ("ContractRequestMessage", ...). For
// ContractNegotiationEventMessage the eventType decides between kAccepted and kFinalized.
// kInvalidArgument names the missing or mistyped field.
Result<Message> ParseMessage(std::string_view body, std::string_view expected_type);
// The same for a body already parsed (with server::ParseJsonLimited).
Result<Message> ParseMessageJson(const nlohmann::json& body, std::string_view expected_type);

nlohmann::json RequestMessage(const std::string& consumer_pid, const std::string& provider_pid,
                              const nlohmann::json& offer, const std::string& callback_address);
nlohmann::json OfferMessage(const std::string& provider_pid, const std::string& consumer_pid,
                            const nlohmann::json& offer, const std::string& callback_address);
nlohmann::json EventMessage(const std::string& provider_pid, const std::string& consumer_pid,
                            std::string_view event_type);  // "ACCEPTED" / "FINALIZED"
nlohmann::json AgreementMessage(const std::string& provider_pid, const std::string& consumer_pid,
                                const nlohmann::json& agreement,
                                const std::string& provider_signature);
nlohmann::json VerificationMessage(const std::string& provider_pid, const std::string& consumer_pid,
                                   const std::string& agreement_hash,
                                   const std::string& consumer_signature);
nlohmann::json TerminationMessage(const std::string& provider_pid, const std::string& consumer_pid,
                                  const std::string& code, const std::string& reason);
// The ContractNegotiation acknowledgement.
nlohmann::json NegotiationAck(const std::string& provider_pid, const std::string& consumer_pid,
                              State state);
// The ContractNegotiationError body; also carries kexin's {"error":{"code","message"}}.
nlohmann::json NegotiationError(const std::string& provider_pid, const std::string& consumer_pid,
                                std::string_view code, std::string_view reason);

// "urn:uuid:<random v4 uuid>"
std::string NewUrn();

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_MESSAGES_H_
