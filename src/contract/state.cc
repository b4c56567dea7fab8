#include "contract/state.h"

#include <array>
#include <string>

namespace kexin::contract {
namespace {

constexpr std::array<std::string_view, 8> kStateNames = {
    "INITIAL", "REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED", "TERMINATED"};

struct Edge {
  State from;
  MessageType msg;
  State to;
};

// DSP 2025-1 contract negotiation state machine (docs/contract.md#states). kInitial stands for
// "no negotiation yet": a consumer's request or a provider's initial offer creates one.
constexpr Edge kEdges[] = {
    {State::kInitial, MessageType::kRequest, State::kRequested},
    {State::kInitial, MessageType::kOffer, State::kOffered},
    {State::kRequested, MessageType::kOffer, State::kOffered},
    {State::kRequested, MessageType::kAgreement, State::kAgreed},
    {State::kOffered, MessageType::kRequest, State::kRequested},
    {State::kOffered, MessageType::kAccepted, State::kAccepted},
    {State::kAccepted, MessageType::kAgreement, State::kAgreed},
    {State::kAgreed, MessageType::kVerification, State::kVerified},
    {State::kVerified, MessageType::kFinalized, State::kFinalized},
};

}  // namespace

std::string_view StateName(State s) { return kStateNames[static_cast<size_t>(s)]; }

std::optional<State> ParseState(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<State>(i);
  }
  return std::nullopt;
}

std::string_view SideName(Side s) { return s == Side::kProvider ? "provider" : "consumer"; }

std::optional<Side> ParseSide(std::string_view name) {
  if (name == "provider") return Side::kProvider;
  if (name == "consumer") return Side::kConsumer;
  return std::nullopt;
}

std::string_view MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kRequest: return "ContractRequestMessage";
    case MessageType::kOffer: return "ContractOfferMessage";
    case MessageType::kAccepted: return "ContractNegotiationEventMessage ACCEPTED";
    case MessageType::kAgreement: return "ContractAgreementMessage";
    case MessageType::kVerification: return "ContractAgreementVerificationMessage";
    case MessageType::kFinalized: return "ContractNegotiationEventMessage FINALIZED";
    case MessageType::kTermination: return "ContractNegotiationTerminationMessage";
  }
  return "?";
}

std::optional<Side> SenderOf(MessageType t) {
  switch (t) {
    case MessageType::kRequest:
    case MessageType::kAccepted:
    case MessageType::kVerification:
      return Side::kConsumer;
    case MessageType::kOffer:
    case MessageType::kAgreement:
    case MessageType::kFinalized:
      return Side::kProvider;
    case MessageType::kTermination:
      return std::nullopt;
  }
  return std::nullopt;
}

bool IsFinal(State s) { return s == State::kFinalized || s == State::kTerminated; }

Result<State> Next(State from, MessageType t, Side sender) {
  auto expected = SenderOf(t);
  if (expected && *expected != sender) {
    return PermissionDenied(std::string(MessageTypeName(t)) + " is sent by the " +
                            std::string(SideName(*expected)) + ", not the " +
                            std::string(SideName(sender)));
  }
  if (t == MessageType::kTermination) {
    if (from != State::kInitial && !IsFinal(from)) return State::kTerminated;
  } else {
    for (const Edge& e : kEdges) {
      if (e.from == from && e.msg == t) return e.to;
    }
  }
  return FailedPrecondition(std::string(MessageTypeName(t)) + " is not allowed in state " +
                            std::string(StateName(from)));
}

std::string_view LedgerType(State s) {
  switch (s) {
    case State::kRequested: return "contract.requested";
    case State::kOffered: return "contract.offered";
    case State::kAccepted: return "contract.accepted";
    case State::kAgreed: return "contract.agreed";
    case State::kVerified: return "contract.verified";
    case State::kFinalized: return "contract.finalized";
    case State::kTerminated: return "contract.terminated";
    case State::kInitial: break;
  }
  return "contract.initial";
}

}  // namespace kexin::contract
