// Module `contract` (state part): the Dataspace Protocol contract negotiation state machine.
//
// States and messages as in the DSP (2025-1): a negotiation moves between REQUESTED, OFFERED,
// ACCEPTED, AGREED, VERIFIED, FINALIZED and TERMINATED only through the messages listed in
// Next(); kInitial is kexin's local state of a negotiation whose first message has not been
// acknowledged yet and never appears on the wire. Table and rationale: docs/contract.md#states.
// Thread-safety: pure functions.
#ifndef KEXIN_CONTRACT_STATE_H_
#define KEXIN_CONTRACT_STATE_H_

#include <optional>
#include <string_view>

#include "kexin/status.h"

namespace kexin::contract {

enum class State { kInitial, kRequested, kOffered, kAccepted, kAgreed, kVerified, kFinalized,
                   kTerminated };
enum class Side { kProvider, kConsumer };

// The DSP negotiation messages that change state.
enum class MessageType {
  kRequest,        // ContractRequestMessage (consumer -> provider)
  kOffer,          // ContractOfferMessage (provider -> consumer)
  kAccepted,       // ContractNegotiationEventMessage ACCEPTED (consumer -> provider)
  kAgreement,      // ContractAgreementMessage (provider -> consumer)
  kVerification,   // ContractAgreementVerificationMessage (consumer -> provider)
  kFinalized,      // ContractNegotiationEventMessage FINALIZED (provider -> consumer)
  kTermination,    // ContractNegotiationTerminationMessage (either side)
};

std::string_view StateName(State s);  // "REQUESTED", ..., "INITIAL"
std::optional<State> ParseState(std::string_view name);
std::string_view SideName(Side s);  // "provider" / "consumer"
std::optional<Side> ParseSide(std::string_view name);
std::string_view MessageTypeName(MessageType t);  // "ContractRequestMessage", "ACCEPTED", ...

// The side that may send `t` (kTermination: either, returns nullopt).
std::optional<Side> SenderOf(MessageType t);
bool IsFinal(State s);  // FINALIZED or TERMINATED

// The state a negotiation enters when `t` sent by `sender` is applied in state `from`
// (on the receiver when it arrives, on the sender when the receiver acknowledges it).
// kFailedPrecondition names the message and state when the transition is not allowed;
// kPermissionDenied when `sender` may not send `t`.
Result<State> Next(State from, MessageType t, Side sender);

// The ledger entry type recorded when a negotiation enters `s`: "contract.requested", ...
std::string_view LedgerType(State s);

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_STATE_H_
