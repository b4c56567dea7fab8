#include "outbound/counters.h"

#include <set>

#include "base/clock.h"

namespace kexin::outbound {

namespace {
const std::set<std::string, std::less<>>& ExemptBases() {
  static const std::set<std::string, std::less<>> k = {"art3",   "art4",   "art5_1",
                                                       "art5_2", "art5_3", "art6"};
  return k;
}
}  // namespace

std::string CounterBasis(std::string_view exemption) {
  return ExemptBases().count(exemption) ? std::string(exemption) : "counted";
}

Status RecordTransfer(store::Store* store, const TransferRecord& r) {
  if (r.basis != "counted" && ExemptBases().count(r.basis) == 0) {
    return InvalidArgument("unknown counter basis '" + r.basis +
                           "' (expected counted, art3, art4, art5_1, art5_2, art5_3 or art6)");
  }
  if (r.year < 2000 || r.year > 9999) {
    return InvalidArgument("year " + std::to_string(r.year) + " is out of range");
  }
  if (r.id.empty() || r.handler.empty())
    return InvalidArgument("a transfer needs an id and a handler");
  // Sums of a year's rows must stay far from INT64_MAX.
  constexpr uint64_t kMax = uint64_t{1} << 62;
  if (r.people > kMax || r.sensitive_people > kMax) {
    return InvalidArgument("people counts above 2^62 are not accepted");
  }
  auto seen = store->Query("SELECT handler, date FROM outbound_transfers WHERE id = $1", {r.id});
  if (!seen.ok()) return seen.status().WithContext("recording the transfer of " + r.handler);
  if (!seen->empty()) {
    return FailedPrecondition("transfer " + r.id + " is already recorded (handler " +
                              store::AsText((*seen)[0][0]) + ", " + store::AsText((*seen)[0][1]) +
                              "); a transfer is counted once");
  }
  Status s = store->Exec(
      "INSERT INTO outbound_transfers (id, handler, year, date, basis, route, destination, people,"
      " sensitive_people, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      {r.id, r.handler, int64_t{r.year}, r.date, r.basis, r.route, r.destination,
       static_cast<int64_t>(r.people), static_cast<int64_t>(r.sensitive_people), NowRfc3339()});
  return s.ok() ? s : s.WithContext("recording the transfer of " + r.handler);
}

Result<YearCounters> ReadCounters(store::Store* store, const std::string& handler, int year) {
  YearCounters c;
  c.handler = handler;
  c.year = year;
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, store->Query("SELECT basis, COUNT(*), CAST(SUM(people) AS BIGINT), "
                              "CAST(SUM(sensitive_people) AS BIGINT) FROM "
                              "outbound_transfers WHERE handler = $1 AND year = $2 GROUP BY basis "
                              "ORDER BY basis",
                              {handler, int64_t{year}}));
  for (const auto& r : rows) {
    CounterRow row;
    row.basis = store::AsText(r[0]);
    int64_t t = store::AsInt(r[1]), p = store::AsInt(r[2]), s = store::AsInt(r[3]);
    if (t < 0 || p < 0 || s < 0) {
      return Corruption("outbound_transfers rows (" + handler + ", " + std::to_string(year) + ", " +
                        row.basis + ") holds a negative count");
    }
    row.transfers = static_cast<uint64_t>(t);
    row.people = static_cast<uint64_t>(p);
    row.sensitive_people = static_cast<uint64_t>(s);
    c.rows.push_back(row);
  }
  return c;
}

PriorCounts PriorFromCounters(const YearCounters& counters, const HandlerSettings& settings) {
  PriorCounts p;
  for (const auto& r : counters.rows) {
    if (r.basis != "counted" && !settings.count_exempt_transfers) continue;
    p.people = SatAdd(p.people, r.people);
    p.sensitive_people = SatAdd(p.sensitive_people, r.sensitive_people);
  }
  p.source = "node counters for " + std::to_string(counters.year) +
             (settings.count_exempt_transfers ? ", exempt transfers included"
                                              : ", exempt transfers not counted");
  return p;
}

}  // namespace kexin::outbound
