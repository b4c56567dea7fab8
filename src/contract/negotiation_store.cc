#include "contract/negotiation_store.h"

#include <algorithm>
#include <chrono>

#include "base/clock.h"

namespace kexin::contract {
namespace {

using store::AsInt;
using store::AsText;
using store::Value;

// A negotiation's row and its terms (migration 8), in FromRow's order.
constexpr const char* kSelect =
    "SELECT n.id, n.side, n.peer_pid, n.peer_name, n.peer_key, n.peer_url, n.state,"
    " n.pending_state, n.dataset, n.offer_id, t.offer, n.manual, n.decision, t.agreement,"
    " n.agreement_hash, n.provider_signature, n.consumer_signature, n.reason, n.version,"
    " n.created, n.updated FROM negotiations n LEFT JOIN negotiation_terms t"
    " ON t.negotiation_id = n.id";

std::string Pending(const Negotiation& n) {
  return n.pending ? std::string(StateName(*n.pending)) : std::string();
}

Negotiation::Columns ColumnsOf(const Negotiation& n) {
  return {n.peer_pid,
          n.peer_url,
          std::string(StateName(n.state)),
          Pending(n),
          n.decision,
          n.agreement_hash,
          n.provider_signature,
          n.consumer_signature,
          n.reason,
          n.offer_id,
          n.manual};
}

Result<Negotiation> FromRow(const store::Row& r) {
  Negotiation n;
  n.id = AsText(r[0]);
  auto side = ParseSide(AsText(r[1]));
  auto state = ParseState(AsText(r[6]));
  if (!side || !state) return Corruption("negotiation " + n.id + ": bad side or state in store");
  n.side = *side;
  n.peer_pid = AsText(r[2]);
  n.peer_name = AsText(r[3]);
  n.peer_key = AsText(r[4]);
  n.peer_url = AsText(r[5]);
  n.state = *state;
  if (!AsText(r[7]).empty()) n.pending = ParseState(AsText(r[7]));
  n.dataset = AsText(r[8]);
  n.offer_id = AsText(r[9]);
  n.stored_offer = AsText(r[10]);
  n.offer = nlohmann::json::parse(n.stored_offer, nullptr, false);
  n.manual = AsInt(r[11]) != 0;
  n.decision = AsText(r[12]);
  n.stored_agreement = AsText(r[13]);
  if (!n.stored_agreement.empty())
    n.agreement = nlohmann::json::parse(n.stored_agreement, nullptr, false);
  n.agreement_hash = AsText(r[14]);
  n.provider_signature = AsText(r[15]);
  n.consumer_signature = AsText(r[16]);
  n.reason = AsText(r[17]);
  n.version = AsInt(r[18]);
  n.created = AsText(r[19]);
  n.updated = AsText(r[20]);
  if (n.offer.is_discarded() || n.agreement.is_discarded())
    return Corruption("negotiation " + n.id + ": stored JSON does not parse");
  n.stored = ColumnsOf(n);
  return n;
}

std::string AgreementText(const Negotiation& n) {
  return n.agreement.is_null() ? std::string() : n.agreement.dump();
}

Result<std::optional<Negotiation>> One(Result<std::vector<store::Row>> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Negotiation>();
  KEXIN_ASSIGN_OR_RETURN(Negotiation n, FromRow((*rows)[0]));
  return std::optional<Negotiation>(std::move(n));
}

OutboxItem OutboxFromRow(const store::Row& r) {
  OutboxItem o;
  o.id = AsText(r[0]);
  o.negotiation_id = AsText(r[1]);
  o.kind = AsText(r[2]);
  o.url = AsText(r[3]);
  o.body = AsText(r[4]);
  o.attempts = AsInt(r[5]);
  o.next_attempt_ms = AsInt(r[6]);
  o.status = AsText(r[7]);
  o.last_error = AsText(r[8]);
  return o;
}

constexpr const char* kOutboxColumns =
    "id, negotiation_id, kind, url, body, attempts, next_attempt, status, last_error";

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status InsertNegotiation(store::Store& s, Negotiation& n) {
  n.created = n.updated = NowRfc3339();
  n.version = 1;
  KEXIN_RETURN_IF_ERROR(
      s.Exec("INSERT INTO negotiations (id, side, peer_pid, peer_name, peer_key, peer_url, state,"
             " pending_state, dataset, offer_id, manual, decision, agreement_hash,"
             " provider_signature, consumer_signature, reason, version, created, updated) VALUES"
             " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)",
             {n.id, std::string(SideName(n.side)), n.peer_pid, n.peer_name, n.peer_key, n.peer_url,
              std::string(StateName(n.state)), Pending(n), n.dataset, n.offer_id, int64_t{n.manual},
              n.decision, n.agreement_hash, n.provider_signature, n.consumer_signature, n.reason,
              n.version, n.created, n.updated}));
  std::string offer = n.offer.dump(), agreement = AgreementText(n);
  KEXIN_RETURN_IF_ERROR(
      s.Exec("INSERT INTO negotiation_terms (negotiation_id, offer, agreement) VALUES ($1, $2, $3)",
             {n.id, offer, agreement}));
  n.stored_offer = std::move(offer);
  n.stored_agreement = std::move(agreement);
  n.stored = ColumnsOf(n);
  return Status::Ok();
}

Result<std::optional<Negotiation>> LoadNegotiation(store::Store& s, const std::string& id) {
  return One(s.Query(std::string(kSelect) + " WHERE n.id = $1", {id}));
}

Result<std::optional<Negotiation>> FindByPeerPid(store::Store& s, Side side,
                                                 const std::string& peer_key,
                                                 const std::string& peer_pid) {
  return One(s.Query(std::string(kSelect) +
                         " WHERE n.side = $1 AND n.peer_key = $2 AND n.peer_pid = $3"
                         " AND n.peer_pid <> ''",  // lets SQLite use the partial index
                     {std::string(SideName(side)), peer_key, peer_pid}));
}

Result<int64_t> CountOpenWithPeer(store::Store& s, Side side, const std::string& peer_key) {
  // The states listed (not "NOT IN" the final ones) so both backends seek the index per state.
  KEXIN_ASSIGN_OR_RETURN(
      auto rows,
      s.Query("SELECT COUNT(*) FROM negotiations WHERE side = $1 AND peer_key = $2 AND state IN"
              " ('INITIAL', 'REQUESTED', 'OFFERED', 'ACCEPTED', 'AGREED', 'VERIFIED')",
              {std::string(SideName(side)), peer_key}));
  return rows.empty() ? int64_t{0} : AsInt(rows[0][0]);
}

Status UpdateNegotiation(store::Store& s, Negotiation& n) {
  n.updated = NowRfc3339();
  // Only the columns that changed (SQLite rewrites the entries of every index over a column an
  // UPDATE sets, changed or not); a handful of distinct statements, each prepared once.
  Negotiation::Columns now = ColumnsOf(n);
  std::string sql = "UPDATE negotiations SET ";
  std::vector<store::Value> params;
  auto set = [&](const char* column, const std::string& value, const std::string& before) {
    if (value == before) return;
    params.push_back(value);
    sql += std::string(column) + "=$" + std::to_string(params.size()) + ", ";
  };
  set("peer_pid", now.peer_pid, n.stored.peer_pid);
  set("peer_url", now.peer_url, n.stored.peer_url);
  set("state", now.state, n.stored.state);
  set("pending_state", now.pending, n.stored.pending);
  set("decision", now.decision, n.stored.decision);
  set("agreement_hash", now.agreement_hash, n.stored.agreement_hash);
  set("provider_signature", now.provider_signature, n.stored.provider_signature);
  set("consumer_signature", now.consumer_signature, n.stored.consumer_signature);
  set("reason", now.reason, n.stored.reason);
  set("offer_id", now.offer_id, n.stored.offer_id);
  if (now.manual != n.stored.manual) {
    params.push_back(int64_t{now.manual});
    sql += "manual=$" + std::to_string(params.size()) + ", ";
  }
  params.push_back(n.version + 1);
  sql += "version=$" + std::to_string(params.size());
  params.push_back(n.updated);
  sql += ", updated=$" + std::to_string(params.size());
  params.push_back(n.id);
  sql += " WHERE id=$" + std::to_string(params.size());
  params.push_back(n.version);
  sql += " AND version=$" + std::to_string(params.size()) + " RETURNING id";
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query(sql, params));
  if (rows.empty()) {
    return FailedPrecondition("negotiation " + n.id + " changed concurrently; try again");
  }
  n.stored = std::move(now);
  ++n.version;
  std::string offer = n.offer.dump(), agreement = AgreementText(n);
  if (offer != n.stored_offer || agreement != n.stored_agreement) {
    KEXIN_RETURN_IF_ERROR(
        s.Exec("UPDATE negotiation_terms SET offer = $1, agreement = $2 WHERE negotiation_id = $3",
               {offer, agreement, n.id}));
    n.stored_offer = std::move(offer);
    n.stored_agreement = std::move(agreement);
  }
  return Status::Ok();
}

Result<std::vector<Negotiation>> ListNegotiations(store::Store& s, const std::string& state_filter,
                                                  int64_t limit, int64_t offset) {
  std::string sql = kSelect;
  std::vector<Value> params;
  if (!state_filter.empty()) {
    sql += " WHERE n.state = $1";
    params.push_back(state_filter);
  }
  sql += " ORDER BY n.created DESC, n.id LIMIT " + std::to_string(limit) + " OFFSET " +
         std::to_string(offset);
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query(sql, params));
  std::vector<Negotiation> out;
  for (const auto& r : rows) {
    KEXIN_ASSIGN_OR_RETURN(Negotiation n, FromRow(r));
    out.push_back(std::move(n));
  }
  return out;
}

Status AddEvent(store::Store& s, const std::string& negotiation_id, const std::string& type,
                State state, const nlohmann::json& body, bool claimed, int64_t* seq,
                std::string* time) {
  std::string now = NowRfc3339();
  KEXIN_ASSIGN_OR_RETURN(
      auto rows,
      s.Query("INSERT INTO negotiation_events (negotiation_id, seq, time, type, state, body,"
              " ledger_index) SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5,"
              " CASE WHEN $6 = 1 THEN -1 ELSE NULL END FROM"
              " negotiation_events WHERE negotiation_id = $1 RETURNING seq",
              {negotiation_id, now, type, std::string(StateName(state)), body.dump(),
               int64_t{claimed ? 1 : 0}}));
  if (seq && !rows.empty()) *seq = AsInt(rows[0][0]);
  if (time) *time = now;
  return Status::Ok();
}

Status ReleaseClaimedEvents(store::Store& s) {
  return s.Exec("UPDATE negotiation_events SET ledger_index = NULL WHERE ledger_index = -1");
}

Result<std::vector<Event>> ListEvents(store::Store& s, const std::string& negotiation_id) {
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         s.Query("SELECT seq, time, type, state, body, ledger_index FROM "
                                 "negotiation_events WHERE negotiation_id = $1 ORDER BY seq",
                                 {negotiation_id}));
  std::vector<Event> out;
  for (const auto& r : rows) {
    Event e;
    e.seq = AsInt(r[0]);
    e.time = AsText(r[1]);
    e.type = AsText(r[2]);
    e.state = AsText(r[3]);
    e.body = nlohmann::json::parse(AsText(r[4]), nullptr, false);
    if (std::holds_alternative<int64_t>(r[5])) e.ledger_index = AsInt(r[5]);
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<Event>> ClaimUnrecordedEvents(store::Store& s,
                                                 const std::string& negotiation_id) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query("UPDATE negotiation_events SET ledger_index = -1"
                                            " WHERE negotiation_id = $1 AND ledger_index IS NULL"
                                            " RETURNING seq, time, type, state, body",
                                            {negotiation_id}));
  std::vector<Event> out;
  for (const auto& r : rows) {
    Event e;
    e.seq = AsInt(r[0]);
    e.time = AsText(r[1]);
    e.type = AsText(r[2]);
    e.state = AsText(r[3]);
    e.body = nlohmann::json::parse(AsText(r[4]), nullptr, false);
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const Event& a, const Event& b) { return a.seq < b.seq; });
  return out;
}

Status SetEventLedgerIndex(store::Store& s, const std::string& negotiation_id, int64_t seq,
                           int64_t index) {
  return s.Exec(
      "UPDATE negotiation_events SET ledger_index = $1 WHERE negotiation_id = $2 AND seq = $3",
      {index, negotiation_id, seq});
}

Result<std::vector<std::string>> NegotiationsWithUnrecordedEvents(store::Store& s, int64_t limit) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query("SELECT DISTINCT negotiation_id FROM "
                                            "negotiation_events WHERE ledger_index IS NULL"
                                            " LIMIT " +
                                            std::to_string(limit)));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(AsText(r[0]));
  return out;
}

Result<std::optional<StoredReply>> FindReply(store::Store& s, const std::string& negotiation_id,
                                             const std::string& digest) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query("SELECT status, response FROM negotiation_messages"
                                            " WHERE negotiation_id = $1 AND digest = $2",
                                            {negotiation_id, digest}));
  if (rows.empty()) return std::optional<StoredReply>();
  return std::optional<StoredReply>(
      StoredReply{static_cast<int>(AsInt(rows[0][0])), AsText(rows[0][1])});
}

Status SaveReply(store::Store& s, const std::string& negotiation_id, const std::string& digest,
                 const StoredReply& reply) {
  return s.Exec(
      "INSERT INTO negotiation_messages (negotiation_id, digest, status, response, received)"
      " VALUES ($1, $2, $3, $4, $5)",
      {negotiation_id, digest, int64_t{reply.status}, reply.body, NowRfc3339()});
}

Status Enqueue(store::Store& s, const OutboxItem& o) {
  return s.Exec(std::string("INSERT INTO negotiation_outbox (") + kOutboxColumns +
                    ", created) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                {o.id, o.negotiation_id, o.kind, o.url, o.body, o.attempts, o.next_attempt_ms,
                 o.status, o.last_error, NowRfc3339()});
}

Result<std::vector<OutboxItem>> LeaseDue(store::Store& s, int64_t now_ms, int64_t lease_ms,
                                         int64_t limit,
                                         const std::vector<std::string>& skip_url_prefixes) {
  std::vector<store::Value> params = {now_ms + lease_ms, now_ms};
  std::string skip;
  for (const auto& prefix : skip_url_prefixes) {
    params.push_back(prefix);
    skip += " AND substr(url, 1, " + std::to_string(prefix.size()) + ") <> $" +
            std::to_string(params.size());
  }
  KEXIN_ASSIGN_OR_RETURN(
      auto rows,
      s.Query("UPDATE negotiation_outbox SET next_attempt = $1 WHERE id IN (SELECT id"
              " FROM negotiation_outbox WHERE status = 'pending' AND next_attempt <= $2" +
                  skip + " ORDER BY next_attempt LIMIT " + std::to_string(limit) +
                  ") AND status = 'pending' AND next_attempt <= $2 RETURNING " + kOutboxColumns,
              params));
  std::vector<OutboxItem> out;
  for (const auto& r : rows) out.push_back(OutboxFromRow(r));
  return out;
}

Status DeferOutbox(store::Store& s, const std::string& id, int64_t next_attempt_ms) {
  return s.Exec(
      "UPDATE negotiation_outbox SET next_attempt = $1 WHERE id = $2 AND"
      " status = 'pending'",
      {next_attempt_ms, id});
}

Result<bool> HasDue(store::Store& s, int64_t now_ms) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query("SELECT id FROM negotiation_outbox WHERE status ="
                                            " 'pending' AND next_attempt <= $1 LIMIT 1",
                                            {now_ms}));
  return !rows.empty();
}

Status RescheduleOutbox(store::Store& s, const OutboxItem& o) {
  return s.Exec(
      "UPDATE negotiation_outbox SET attempts=$1, next_attempt=$2, last_error=$3"
      " WHERE id=$4 AND status='pending'",
      {o.attempts, o.next_attempt_ms, o.last_error, o.id});
}

Status UpdateOutbox(store::Store& s, const OutboxItem& o) {
  return s.Exec(
      "UPDATE negotiation_outbox SET attempts=$1, next_attempt=$2, status=$3,"
      " last_error=$4 WHERE id=$5",
      {o.attempts, o.next_attempt_ms, o.status, o.last_error, o.id});
}

Result<bool> CompleteOutbox(store::Store& s, const std::string& id, int64_t attempts) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query("UPDATE negotiation_outbox SET status = 'done',"
                                            " attempts = $1, last_error = '' WHERE id = $2 AND"
                                            " status = 'pending' RETURNING id",
                                            {attempts, id}));
  return !rows.empty();
}

Result<std::optional<OutboxItem>> LoadOutbox(store::Store& s, const std::string& id) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query(std::string("SELECT ") + kOutboxColumns +
                                                " FROM negotiation_outbox WHERE id = $1",
                                            {id}));
  if (rows.empty()) return std::optional<OutboxItem>();
  return std::optional<OutboxItem>(OutboxFromRow(rows[0]));
}

Result<std::vector<OutboxItem>> ListOutbox(store::Store& s, const std::string& negotiation_id) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, s.Query(std::string("SELECT ") + kOutboxColumns +
                                                " FROM negotiation_outbox WHERE negotiation_id ="
                                                " $1 ORDER BY created, id",
                                            {negotiation_id}));
  std::vector<OutboxItem> out;
  for (const auto& r : rows) out.push_back(OutboxFromRow(r));
  return out;
}

Status CompletePendingOutbox(store::Store& s, const std::string& negotiation_id) {
  return s.Exec(
      "UPDATE negotiation_outbox SET status = 'done' WHERE negotiation_id = $1 AND"
      " status = 'pending'",
      {negotiation_id});
}

}  // namespace kexin::contract
