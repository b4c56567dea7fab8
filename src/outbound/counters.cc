#include "outbound/counters.h"

#include <set>

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

Status RecordTransfer(store::Store* store, const std::string& handler, int year,
                      const std::string& basis, uint64_t people, uint64_t sensitive_people) {
  if (basis != "counted" && ExemptBases().count(basis) == 0) {
    return InvalidArgument("unknown counter basis '" + basis +
                           "' (expected counted, art3, art4, art5_1, art5_2, art5_3 or art6)");
  }
  if (year < 2000 || year > 9999) {
    return InvalidArgument("year " + std::to_string(year) + " is out of range");
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX) / 2;
  if (people > kMax || sensitive_people > kMax) {
    return InvalidArgument("people counts above " + std::to_string(kMax) + " are not accepted");
  }
  // One statement: atomic on both backends, so concurrent records add up.
  Status s = store->Exec(
      "INSERT INTO outbound_counters (handler, year, basis, transfers, people, sensitive_people) "
      "VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (handler, year, basis) DO UPDATE SET "
      "transfers = outbound_counters.transfers + 1, "
      "people = outbound_counters.people + excluded.people, "
      "sensitive_people = outbound_counters.sensitive_people + excluded.sensitive_people",
      {handler, int64_t{year}, basis, static_cast<int64_t>(people),
       static_cast<int64_t>(sensitive_people)});
  return s.ok() ? s : s.WithContext("recording the transfer of " + handler);
}

Result<YearCounters> ReadCounters(store::Store* store, const std::string& handler, int year) {
  YearCounters c;
  c.handler = handler;
  c.year = year;
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, store->Query("SELECT basis, transfers, people, sensitive_people FROM "
                              "outbound_counters WHERE handler = $1 AND year = $2 ORDER BY basis",
                              {handler, int64_t{year}}));
  for (const auto& r : rows) {
    CounterRow row;
    row.basis = store::AsText(r[0]);
    int64_t t = store::AsInt(r[1]), p = store::AsInt(r[2]), s = store::AsInt(r[3]);
    if (t < 0 || p < 0 || s < 0) {
      return Corruption("outbound_counters row (" + handler + ", " + std::to_string(year) + ", " +
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
