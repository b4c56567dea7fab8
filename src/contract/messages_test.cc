#include "contract/messages.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "contract/agreement.h"
#include "contract/negotiation_store.h"
#include "crypto/crypto.h"

namespace kexin::contract {
namespace {

using nlohmann::json;

std::string SourceDir() {
  const char* d = std::getenv("KEXIN_SOURCE_DIR");
  return d ? d : ".";
}
std::string SpecsDir() {
  const char* d = std::getenv("KEXIN_DSP_SPECS");
  return d ? d : "/work/shared/specs/dsp";
}
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json SampleOffer() {
  return json::parse(R"({"@type":"Offer","@id":"offer-1","target":"reg-1",
    "permission":[{"action":"use","constraint":[{"leftOperand":"purpose","operator":"eq",
    "rightOperand":"credit-scoring"}]}]})");
}

// Validates messages with the official schemas (tests/dsp_validate.py, python3-jsonschema).
void ExpectSchemaValid(const std::vector<json>& messages) {
  std::string dir = ::testing::TempDir() + "/dsp_msgs_" + crypto::RandomToken(4);
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::string files;
  for (size_t i = 0; i < messages.size(); ++i) {
    std::string f = dir + "/m" + std::to_string(i) + ".json";
    std::ofstream(f) << messages[i].dump(2);
    files += " " + f;
  }
  std::string cmd = "python3 " + SourceDir() + "/tests/dsp_validate.py " + SpecsDir() + files;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(ContractMessagesTest, BuiltMessagesValidateAgainstOfficialSchemas) {
  auto key = crypto::SigningKey::Generate();
  json agreement = BuildAgreement("urn:uuid:a", "reg-1", std::string(64, 'a'), std::string(64, 'b'),
                                  "2026-12-03T20:00:00Z", SampleOffer());
  auto sig = SignAgreement(key, agreement);
  ASSERT_TRUE(sig.ok());
  std::vector<json> msgs = {
      RequestMessage("urn:uuid:c", "", SampleOffer(), "http://127.0.0.1:1/dsp/callback"),
      RequestMessage("urn:uuid:c", "urn:uuid:p", SampleOffer(), ""),
      OfferMessage("urn:uuid:p", "urn:uuid:c", SampleOffer(), ""),
      OfferMessage("urn:uuid:p", "", SampleOffer(), "http://127.0.0.1:1/dsp/callback"),
      EventMessage("urn:uuid:p", "urn:uuid:c", "ACCEPTED"),
      EventMessage("urn:uuid:p", "urn:uuid:c", "FINALIZED"),
      AgreementMessage("urn:uuid:p", "urn:uuid:c", agreement, *sig),
      VerificationMessage("urn:uuid:p", "urn:uuid:c", "00ff", *sig),
      TerminationMessage("urn:uuid:p", "urn:uuid:c", "rejected", "no"),
      NegotiationAck("urn:uuid:p", "urn:uuid:c", State::kAgreed),
      NegotiationError("urn:uuid:p", "urn:uuid:c", "policy_mismatch", "purpose differs"),
  };
  ExpectSchemaValid(msgs);
}

TEST(ContractMessagesTest, SchemaValidatorRejectsABrokenMessage) {
  // Guards the check above: a validator that accepts everything would make it worthless.
  json bad = NegotiationAck("urn:uuid:p", "urn:uuid:c", State::kAgreed);
  bad["state"] = "INITIAL";
  std::string f = ::testing::TempDir() + "/dsp_bad_" + crypto::RandomToken(4) + ".json";
  std::ofstream(f) << bad.dump();
  std::string cmd =
      "python3 " + SourceDir() + "/tests/dsp_validate.py " + SpecsDir() + " " + f + " > /dev/null";
  EXPECT_NE(std::system(cmd.c_str()), 0);
}

TEST(ContractMessagesTest, ParsesOfficialExamples) {
  const std::string ex = SpecsDir() + "/negotiation/example/";
  auto req = ParseMessage(ReadFile(ex + "contract-request-message_initial.json"),
                          "ContractRequestMessage");
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->consumer_pid, "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833");
  EXPECT_EQ(req->callback_address, "https://example.com/callback");
  EXPECT_TRUE(req->provider_pid.empty());
  auto ev = ParseMessage(ReadFile(ex + "contract-negotiation-event-message.json"),
                         "ContractNegotiationEventMessage");
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->type, MessageType::kAccepted);
  auto term = ParseMessage(ReadFile(ex + "contract-negotiation-termination-message.json"),
                           "ContractNegotiationTerminationMessage");
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(term->code, "99");
  auto offer = ParseMessage(ReadFile(ex + "contract-offer-message.json"), "ContractOfferMessage");
  ASSERT_TRUE(offer.ok()) << offer.status().ToString();
  // kexin requires its signature on agreements; the unsigned example is refused by name.
  auto agr =
      ParseMessage(ReadFile(ex + "contract-agreement-message.json"), "ContractAgreementMessage");
  ASSERT_FALSE(agr.ok());
  EXPECT_EQ(agr.status().message(),
            "ContractAgreementMessage: field 'kexin:signature' is required");
}

TEST(ContractMessagesTest, RefusalsNameTheField) {
  struct Case {
    std::string body, type, message;
  };
  const std::string ctx = R"("@context":["https://w3id.org/dspace/2025/1/context.jsonld"])";
  std::vector<Case> cases = {
      {"{", "ContractRequestMessage", "ContractRequestMessage: body: malformed JSON at byte 2"},
      {"[]", "ContractRequestMessage", "ContractRequestMessage: body is not an object"},
      {R"({"@type":"ContractRequestMessage"})", "ContractRequestMessage",
       "ContractRequestMessage: field '@context' must be an array containing "
       "\"https://w3id.org/dspace/2025/1/context.jsonld\""},
      {"{" + ctx + R"(,"@type":"ContractOfferMessage"})", "ContractRequestMessage",
       "ContractRequestMessage: field '@type' must be \"ContractRequestMessage\""},
      {"{" + ctx + R"(,"@type":"ContractRequestMessage","callbackAddress":"x"})",
       "ContractRequestMessage", "ContractRequestMessage: field 'consumerPid' is required"},
      {"{" + ctx + R"(,"@type":"ContractRequestMessage","consumerPid":"c","providerPid":"p",
        "callbackAddress":"x","offer":{}})",
       "ContractRequestMessage",
       "ContractRequestMessage: field 'callbackAddress' is required in an initial request (no "
       "providerPid) and only there"},
      {"{" + ctx + R"(,"@type":"ContractRequestMessage","consumerPid":"c","callbackAddress":"x",
        "offer":{"@type":"Offer","@id":"o"}})",
       "ContractRequestMessage",
       "ContractRequestMessage: field 'offer' needs a permission or a prohibition"},
      {"{" + ctx + R"(,"@type":"ContractNegotiationEventMessage","consumerPid":"c",
        "providerPid":"p","eventType":"AGREED"})",
       "ContractNegotiationEventMessage",
       "ContractNegotiationEventMessage: field 'eventType' must be \"ACCEPTED\" or \"FINALIZED\""},
      {"{" + ctx + R"(,"@type":"ContractAgreementVerificationMessage","consumerPid":"c",
        "providerPid":7})",
       "ContractAgreementVerificationMessage",
       "ContractAgreementVerificationMessage: field 'providerPid' must be a string"},
      {"{" + ctx + R"(,"@type":"ContractNegotiationTerminationMessage","consumerPid":"c",
        "providerPid":"p","reason":[]})",
       "ContractNegotiationTerminationMessage",
       "ContractNegotiationTerminationMessage: field 'reason' must be a non-empty array"},
  };
  for (const auto& c : cases) {
    auto r = ParseMessage(c.body, c.type);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(ContractAgreementTest, SignedByProviderCountersignedByConsumer) {
  auto provider = crypto::SigningKey::Generate();
  auto consumer = crypto::SigningKey::Generate();
  std::string pk = crypto::HexEncode(
      std::string_view(reinterpret_cast<const char*>(provider.public_key().data()), 32));
  std::string ck = crypto::HexEncode(
      std::string_view(reinterpret_cast<const char*>(consumer.public_key().data()), 32));
  json a = BuildAgreement("urn:uuid:a", "reg-1", pk, ck, "2026-12-03T20:00:00Z", SampleOffer());
  EXPECT_EQ(a["assigner"], "urn:kexin:node:" + pk);
  EXPECT_EQ(a["permission"], SampleOffer()["permission"]);
  EXPECT_FALSE(a.contains("target") && a["target"] != "reg-1");
  auto ps = SignAgreement(provider, a);
  auto cs = SignAgreement(consumer, a);
  ASSERT_TRUE(ps.ok() && cs.ok());
  EXPECT_TRUE(VerifyAgreement(pk, a, *ps).ok());
  EXPECT_TRUE(VerifyAgreement(ck, a, *cs).ok());
  EXPECT_EQ(VerifyAgreement(ck, a, *ps).code(), StatusCode::kCorruption);
  // Member order does not matter (RFC 8785), content does.
  json reordered = json::parse(a.dump());
  EXPECT_EQ(*AgreementHash(reordered), *AgreementHash(a));
  json tampered = a;
  tampered["permission"][0]["constraint"][0]["rightOperand"] = "marketing";
  EXPECT_NE(*AgreementHash(tampered), *AgreementHash(a));
  EXPECT_EQ(VerifyAgreement(pk, tampered, *ps).code(), StatusCode::kCorruption);
  EXPECT_EQ(VerifyAgreement("zz", a, *ps).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyAgreement(pk, a, "bm90IGEgc2ln").code(), StatusCode::kInvalidArgument);
}

TEST(ContractMessagesTest, NewUrnIsAVersion7UuidInTimeOrder) {
  const int64_t before = NowMs();
  std::string u = NewUrn();
  const int64_t after = NowMs();
  ASSERT_EQ(u.size(), 45u);
  EXPECT_EQ(u.substr(0, 9), "urn:uuid:");
  EXPECT_EQ(u[23], '7');
  EXPECT_TRUE(u[28] == '8' || u[28] == '9' || u[28] == 'a' || u[28] == 'b') << u;
  // The first 48 bits are the Unix time in milliseconds.
  const int64_t ms = std::stoll(u.substr(9, 8) + u.substr(18, 4), nullptr, 16);
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
  EXPECT_NE(NewUrn(), u);
  // Ids made later sort after (a different millisecond), so recent rows share B-tree pages.
  std::string later;
  do later = NewUrn();
  while (std::stoll(later.substr(9, 8) + later.substr(18, 4), nullptr, 16) == ms);
  EXPECT_LT(u, later);
}

}  // namespace
}  // namespace kexin::contract
