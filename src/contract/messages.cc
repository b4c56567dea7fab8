#include "contract/messages.h"

#include <cctype>
#include <cstdio>
#include <cstring>

#include "contract/negotiation_store.h"
#include "crypto/crypto.h"
#include "server/api.h"

namespace kexin::contract {
namespace {

using nlohmann::json;

json Base(std::string_view type) {
  return json{{"@context", json::array({std::string(kDspContext)})}, {"@type", type}};
}

Status Field(std::string_view type, std::string_view name, std::string_view what) {
  return InvalidArgument(std::string(type) + ": field '" + std::string(name) + "' " +
                         std::string(what));
}

Result<std::string> OptString(const json& j, std::string_view type, const char* name,
                              bool required) {
  auto it = j.find(name);
  if (it == j.end()) {
    if (required) return Field(type, name, "is required");
    return std::string();
  }
  if (!it->is_string()) return Field(type, name, "must be a string");
  const std::string& v = it->get_ref<const std::string&>();
  if (required && v.empty()) return Field(type, name, "must not be empty");
  // Process ids end up in the URLs this node sends to (signed): only URL-safe characters.
  if (std::string_view(name).size() > 3 &&
      std::string_view(name).substr(std::strlen(name) - 3) == "Pid") {
    if (v.size() > 200) return Field(type, name, "is longer than 200 characters");
    for (unsigned char c : v) {
      if (!std::isalnum(c) && c != ':' && c != '-' && c != '.' && c != '_') {
        return Field(type, name, "may only hold letters, digits and : - . _");
      }
    }
  }
  return v;
}

Status CheckOffer(const json& offer, std::string_view type) {
  if (!offer.is_object()) return Field(type, "offer", "must be an object");
  auto t = offer.find("@type");
  if (t == offer.end() || *t != "Offer") return Field(type, "offer.@type", "must be \"Offer\"");
  auto id = offer.find("@id");
  if (id == offer.end() || !id->is_string() || id->get_ref<const std::string&>().empty())
    return Field(type, "offer.@id", "must be a non-empty string");
  if (!offer.contains("permission") && !offer.contains("prohibition"))
    return Field(type, "offer", "needs a permission or a prohibition");
  for (const char* rules : {"permission", "prohibition", "obligation"}) {
    auto r = offer.find(rules);
    if (r == offer.end()) continue;
    if (!r->is_array() || r->empty())
      return Field(type, std::string("offer.") + rules, "must be a non-empty array");
    for (const auto& rule : *r) {
      if (!rule.is_object() || !rule.contains("action"))
        return Field(type, std::string("offer.") + rules, "has a rule without an action");
    }
  }
  auto target = offer.find("target");
  if (target != offer.end() && !target->is_string())
    return Field(type, "offer.target", "must be a string");
  return Status::Ok();
}

}  // namespace

Result<Message> ParseMessage(std::string_view body, std::string_view expected_type) {
  auto parsed = server::ParseJsonLimited(body, std::string(expected_type) + ": body");
  if (!parsed.ok()) return parsed.status();
  return ParseMessageJson(*parsed, expected_type);
}

Result<Message> ParseMessageJson(const json& j, std::string_view expected_type) {
  if (!j.is_object())
    return InvalidArgument(std::string(expected_type) + ": body is not an object");
  const std::string_view type = expected_type;
  auto ctx = j.find("@context");
  bool has_context = false;
  if (ctx != j.end() && ctx->is_array()) {
    for (const auto& c : *ctx) {
      if (!c.is_string()) return Field(type, "@context", "must be an array of strings");
      if (c == kDspContext) has_context = true;
    }
  }
  if (!has_context) {
    return Field(type, "@context",
                 "must be an array containing \"" + std::string(kDspContext) + "\"");
  }
  auto t = j.find("@type");
  if (t == j.end() || !t->is_string() || *t != expected_type) {
    return Field(type, "@type", "must be \"" + std::string(expected_type) + "\"");
  }
  Message m;
  if (type == "ContractRequestMessage") {
    m.type = MessageType::kRequest;
    KEXIN_ASSIGN_OR_RETURN(m.consumer_pid, OptString(j, type, "consumerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.provider_pid, OptString(j, type, "providerPid", false));
    KEXIN_ASSIGN_OR_RETURN(m.callback_address, OptString(j, type, "callbackAddress", false));
    if (m.provider_pid.empty() == m.callback_address.empty()) {
      return Field(type, "callbackAddress",
                   "is required in an initial request (no providerPid) and only there");
    }
    if (!j.contains("offer")) return Field(type, "offer", "is required");
    m.offer = j.at("offer");
    KEXIN_RETURN_IF_ERROR(CheckOffer(m.offer, type));
  } else if (type == "ContractOfferMessage") {
    m.type = MessageType::kOffer;
    KEXIN_ASSIGN_OR_RETURN(m.provider_pid, OptString(j, type, "providerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.consumer_pid, OptString(j, type, "consumerPid", false));
    KEXIN_ASSIGN_OR_RETURN(m.callback_address, OptString(j, type, "callbackAddress", false));
    if (m.consumer_pid.empty() == m.callback_address.empty()) {
      return Field(type, "callbackAddress",
                   "is required in an initial offer (no consumerPid) and only there");
    }
    if (!j.contains("offer")) return Field(type, "offer", "is required");
    m.offer = j.at("offer");
    KEXIN_RETURN_IF_ERROR(CheckOffer(m.offer, type));
    if (!m.offer.contains("target")) return Field(type, "offer.target", "is required");
  } else if (type == "ContractNegotiationEventMessage") {
    KEXIN_ASSIGN_OR_RETURN(m.provider_pid, OptString(j, type, "providerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.consumer_pid, OptString(j, type, "consumerPid", true));
    KEXIN_ASSIGN_OR_RETURN(std::string ev, OptString(j, type, "eventType", true));
    if (ev == "ACCEPTED") {
      m.type = MessageType::kAccepted;
    } else if (ev == "FINALIZED") {
      m.type = MessageType::kFinalized;
    } else {
      return Field(type, "eventType", "must be \"ACCEPTED\" or \"FINALIZED\"");
    }
  } else if (type == "ContractAgreementMessage") {
    m.type = MessageType::kAgreement;
    KEXIN_ASSIGN_OR_RETURN(m.provider_pid, OptString(j, type, "providerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.consumer_pid, OptString(j, type, "consumerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.provider_signature, OptString(j, type, "kexin:signature", true));
    auto a = j.find("agreement");
    if (a == j.end() || !a->is_object()) return Field(type, "agreement", "must be an object");
    if (a->value("@type", "") != "Agreement")
      return Field(type, "agreement.@type", "must be \"Agreement\"");
    for (const char* f : {"@id", "target", "assigner", "assignee", "timestamp"}) {
      auto v = a->find(f);
      if (v == a->end() || !v->is_string())
        return Field(type, std::string("agreement.") + f, "must be a string");
    }
    if (!a->contains("permission") && !a->contains("prohibition"))
      return Field(type, "agreement", "needs a permission or a prohibition");
    m.agreement = *a;
  } else if (type == "ContractAgreementVerificationMessage") {
    m.type = MessageType::kVerification;
    KEXIN_ASSIGN_OR_RETURN(m.provider_pid, OptString(j, type, "providerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.consumer_pid, OptString(j, type, "consumerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.consumer_signature, OptString(j, type, "kexin:signature", true));
    KEXIN_ASSIGN_OR_RETURN(m.agreement_hash, OptString(j, type, "kexin:agreementHash", true));
  } else if (type == "ContractNegotiationTerminationMessage") {
    m.type = MessageType::kTermination;
    KEXIN_ASSIGN_OR_RETURN(m.provider_pid, OptString(j, type, "providerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.consumer_pid, OptString(j, type, "consumerPid", true));
    KEXIN_ASSIGN_OR_RETURN(m.code, OptString(j, type, "code", false));
    auto r = j.find("reason");
    if (r != j.end()) {
      if (!r->is_array() || r->empty()) return Field(type, "reason", "must be a non-empty array");
      m.reason = *r;
    }
  } else {
    return InvalidArgument("unknown negotiation message type '" + std::string(type) + "'");
  }
  return m;
}

json RequestMessage(const std::string& consumer_pid, const std::string& provider_pid,
                    const json& offer, const std::string& callback_address) {
  json j = Base("ContractRequestMessage");
  j["consumerPid"] = consumer_pid;
  if (!provider_pid.empty()) j["providerPid"] = provider_pid;
  j["offer"] = offer;
  if (!callback_address.empty()) j["callbackAddress"] = callback_address;
  return j;
}

json OfferMessage(const std::string& provider_pid, const std::string& consumer_pid,
                  const json& offer, const std::string& callback_address) {
  json j = Base("ContractOfferMessage");
  j["providerPid"] = provider_pid;
  if (!consumer_pid.empty()) j["consumerPid"] = consumer_pid;
  j["offer"] = offer;
  if (!callback_address.empty()) j["callbackAddress"] = callback_address;
  return j;
}

json EventMessage(const std::string& provider_pid, const std::string& consumer_pid,
                  std::string_view event_type) {
  json j = Base("ContractNegotiationEventMessage");
  j["providerPid"] = provider_pid;
  j["consumerPid"] = consumer_pid;
  j["eventType"] = event_type;
  return j;
}

json AgreementMessage(const std::string& provider_pid, const std::string& consumer_pid,
                      const json& agreement, const std::string& provider_signature) {
  json j = Base("ContractAgreementMessage");
  j["providerPid"] = provider_pid;
  j["consumerPid"] = consumer_pid;
  j["agreement"] = agreement;
  j["kexin:signature"] = provider_signature;
  return j;
}

json VerificationMessage(const std::string& provider_pid, const std::string& consumer_pid,
                         const std::string& agreement_hash, const std::string& consumer_signature) {
  json j = Base("ContractAgreementVerificationMessage");
  j["providerPid"] = provider_pid;
  j["consumerPid"] = consumer_pid;
  j["kexin:agreementHash"] = agreement_hash;
  j["kexin:signature"] = consumer_signature;
  return j;
}

json TerminationMessage(const std::string& provider_pid, const std::string& consumer_pid,
                        const std::string& code, const std::string& reason) {
  json j = Base("ContractNegotiationTerminationMessage");
  j["providerPid"] = provider_pid;
  j["consumerPid"] = consumer_pid;
  if (!code.empty()) j["code"] = code;
  if (!reason.empty()) j["reason"] = json::array({reason});
  return j;
}

json NegotiationAck(const std::string& provider_pid, const std::string& consumer_pid, State state) {
  json j = Base("ContractNegotiation");
  j["providerPid"] = provider_pid;
  j["consumerPid"] = consumer_pid;
  j["state"] = StateName(state);
  return j;
}

json NegotiationError(const std::string& provider_pid, const std::string& consumer_pid,
                      std::string_view code, std::string_view reason) {
  json j = Base("ContractNegotiationError");
  j["providerPid"] = provider_pid;
  j["consumerPid"] = consumer_pid;
  j["code"] = code;
  j["reason"] = json::array({reason});
  j["error"] = {{"code", code}, {"message", reason}};
  return j;
}

std::string NewUrn() {
  // RFC 9562 version 7: 48-bit Unix milliseconds, then 74 random bits. Ids made close in time sort
  // close together, so the rows and index entries of active negotiations share the B-tree's last
  // pages instead of dirtying a random page each (docs/contract.md#states).
  uint8_t b[16];
  crypto::RandomBytes(b, sizeof b);
  const uint64_t ms = static_cast<uint64_t>(NowMs());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[48];
  std::snprintf(out, sizeof out,
                "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                b[13], b[14], b[15]);
  return out;
}

}  // namespace kexin::contract
