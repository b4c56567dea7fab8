// The node's log of transfers abroad and the per-handler, per-calendar-year counters derived from
// it, kept in the node's store (table `outbound_transfers`, store migration 2; docs/outbound.md#
// counters). A year starts with no rows, so the counters reset on 1 January. Each transfer keeps
// its basis ("counted", or the exemption art3/art4/art5_1-3/art6) so the handler setting
// count_exempt_transfers is applied when the counters are read, and its id (the SHA-256 of the
// assessment it came from) so the same assessment is never counted twice.
//
// Thread-safety: uses the caller's Store, one thread at a time. A record is one INSERT, so
// concurrent recorders never lose counts; a duplicate id fails on the primary key.
#ifndef KEXIN_OUTBOUND_COUNTERS_H_
#define KEXIN_OUTBOUND_COUNTERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kexin/status.h"
#include "outbound/outbound.h"
#include "store/store.h"

namespace kexin::outbound {

struct TransferRecord {
  std::string id;       // unique: the assessment's SHA-256 (hex), or a random token
  std::string handler;  // Handler::id
  std::string date;     // YYYY-MM-DD
  int year = 0;         // the calendar year of `date`
  std::string basis;    // "counted", "art3", "art4", "art5_1", "art5_2", "art5_3", "art6"
  std::string route;    // RouteId, or "" when recorded by hand
  std::string destination;
  uint64_t people = 0, sensitive_people = 0;
};

struct CounterRow {
  std::string basis;
  uint64_t transfers = 0, people = 0, sensitive_people = 0;
};

struct YearCounters {
  std::string handler;
  int year = 0;
  std::vector<CounterRow> rows;  // one per basis, sorted by basis
};

// The basis a transfer is recorded under: its exemption when that is one of art3, art4,
// art5_1..3 or art6; "counted" otherwise (art5_4 and every non-exempt route).
std::string CounterBasis(std::string_view exemption);

// Adds one transfer. Errors: kInvalidArgument (unknown basis, year outside 2000-9999, counts
// above 2^62), kFailedPrecondition (a transfer with this id is already recorded).
Status RecordTransfer(store::Store* store, const TransferRecord& record);
Result<YearCounters> ReadCounters(store::Store* store, const std::string& handler, int year);

// People sent before this transfer, from the node's counters: the "counted" row, plus the exempt
// rows when settings.count_exempt_transfers.
PriorCounts PriorFromCounters(const YearCounters& counters, const HandlerSettings& settings);

}  // namespace kexin::outbound

#endif  // KEXIN_OUTBOUND_COUNTERS_H_
