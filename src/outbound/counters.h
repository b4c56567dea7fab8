// Per-handler, per-calendar-year counters of people whose personal information a handler has sent
// abroad, kept in the node's store (table `outbound_counters`, store migration 2; layout in
// docs/outbound.md#counters). A year's rows start empty, so the counters reset on 1 January.
// Rows are split by the transfer's basis ("counted", or the exemption art3/art4/art5_1-3/art6) so
// that the handler setting count_exempt_transfers can be applied when the counters are read.
//
// Thread-safety: uses the caller's Store, one thread at a time; a record is one upsert statement,
// so concurrent recorders do not lose counts.
#ifndef KEXIN_OUTBOUND_COUNTERS_H_
#define KEXIN_OUTBOUND_COUNTERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kexin/status.h"
#include "outbound/outbound.h"
#include "store/store.h"

namespace kexin::outbound {

struct CounterRow {
  std::string basis;  // "counted", "art3", "art4", "art5_1", "art5_2", "art5_3", "art6"
  uint64_t transfers = 0, people = 0, sensitive_people = 0;
};

struct YearCounters {
  std::string handler;
  int year = 0;
  std::vector<CounterRow> rows;  // sorted by basis
};

// The basis a transfer is recorded under: its exemption when that is one of art3, art4,
// art5_1..3 or art6; "counted" otherwise (art5_4 and every non-exempt route).
std::string CounterBasis(std::string_view exemption);

// Adds one transfer. Errors: kInvalidArgument for an unknown basis or a year outside 2000-9999.
Status RecordTransfer(store::Store* store, const std::string& handler, int year,
                      const std::string& basis, uint64_t people, uint64_t sensitive_people);
Result<YearCounters> ReadCounters(store::Store* store, const std::string& handler, int year);

// People sent before this transfer, from the node's counters: the "counted" row, plus the exempt
// rows when settings.count_exempt_transfers.
PriorCounts PriorFromCounters(const YearCounters& counters, const HandlerSettings& settings);

}  // namespace kexin::outbound

#endif  // KEXIN_OUTBOUND_COUNTERS_H_
