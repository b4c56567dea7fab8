#include "contract/state.h"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

namespace kexin::contract {
namespace {

constexpr State kStates[] = {State::kInitial,  State::kRequested, State::kOffered,
                             State::kAccepted, State::kAgreed,    State::kVerified,
                             State::kFinalized, State::kTerminated};
constexpr MessageType kTypes[] = {MessageType::kRequest,      MessageType::kOffer,
                                  MessageType::kAccepted,     MessageType::kAgreement,
                                  MessageType::kVerification, MessageType::kFinalized,
                                  MessageType::kTermination};

// The DSP 2025-1 negotiation state machine written out independently of state.cc's table.
std::map<std::tuple<State, MessageType, Side>, State> Expected() {
  std::map<std::tuple<State, MessageType, Side>, State> m;
  const Side c = Side::kConsumer, p = Side::kProvider;
  m[{State::kInitial, MessageType::kRequest, c}] = State::kRequested;
  m[{State::kInitial, MessageType::kOffer, p}] = State::kOffered;
  m[{State::kRequested, MessageType::kOffer, p}] = State::kOffered;
  m[{State::kRequested, MessageType::kAgreement, p}] = State::kAgreed;
  m[{State::kOffered, MessageType::kRequest, c}] = State::kRequested;
  m[{State::kOffered, MessageType::kAccepted, c}] = State::kAccepted;
  m[{State::kAccepted, MessageType::kAgreement, p}] = State::kAgreed;
  m[{State::kAgreed, MessageType::kVerification, c}] = State::kVerified;
  m[{State::kVerified, MessageType::kFinalized, p}] = State::kFinalized;
  for (State s : {State::kRequested, State::kOffered, State::kAccepted, State::kAgreed,
                  State::kVerified}) {
    m[{s, MessageType::kTermination, c}] = State::kTerminated;
    m[{s, MessageType::kTermination, p}] = State::kTerminated;
  }
  return m;
}

TEST(ContractStateTest, EveryTransitionAllowedOrRefusedAsTheProtocolSays) {
  auto expected = Expected();
  int allowed = 0, refused = 0;
  for (State from : kStates) {
    for (MessageType t : kTypes) {
      for (Side sender : {Side::kConsumer, Side::kProvider}) {
        auto got = Next(from, t, sender);
        auto it = expected.find({from, t, sender});
        SCOPED_TRACE(std::string(StateName(from)) + " + " + std::string(MessageTypeName(t)) +
                     " from " + std::string(SideName(sender)));
        if (it != expected.end()) {
          ASSERT_TRUE(got.ok()) << got.status().ToString();
          EXPECT_EQ(*got, it->second);
          ++allowed;
        } else {
          ASSERT_FALSE(got.ok());
          auto want_sender = SenderOf(t);
          EXPECT_EQ(got.status().code(), want_sender && *want_sender != sender
                                             ? StatusCode::kPermissionDenied
                                             : StatusCode::kFailedPrecondition);
          ++refused;
        }
      }
    }
  }
  EXPECT_EQ(allowed, 19);
  EXPECT_EQ(refused, 8 * 7 * 2 - 19);
}

TEST(ContractStateTest, FinalStatesAcceptNothing) {
  for (State s : {State::kFinalized, State::kTerminated}) {
    EXPECT_TRUE(IsFinal(s));
    for (MessageType t : kTypes) {
      EXPECT_FALSE(Next(s, t, Side::kConsumer).ok());
      EXPECT_FALSE(Next(s, t, Side::kProvider).ok());
    }
  }
}

TEST(ContractStateTest, RefusalNamesMessageAndState) {
  auto r = Next(State::kRequested, MessageType::kFinalized, Side::kProvider);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "ContractNegotiationEventMessage FINALIZED is not allowed in state REQUESTED");
  auto w = Next(State::kAgreed, MessageType::kVerification, Side::kProvider);
  EXPECT_EQ(w.status().message(),
            "ContractAgreementVerificationMessage is sent by the consumer, not the provider");
}

TEST(ContractStateTest, NamesRoundTrip) {
  for (State s : kStates) EXPECT_EQ(ParseState(StateName(s)), s);
  EXPECT_FALSE(ParseState("requested").has_value());
  EXPECT_EQ(ParseSide("provider"), Side::kProvider);
  EXPECT_FALSE(ParseSide("broker").has_value());
  EXPECT_EQ(LedgerType(State::kFinalized), "contract.finalized");
  EXPECT_EQ(LedgerType(State::kAgreed), "contract.agreed");
}

}  // namespace
}  // namespace kexin::contract
