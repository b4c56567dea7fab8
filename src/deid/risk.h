// Re-identification risk from equivalence class sizes (El Emam's models, as ARX reports them).
//  - prosecutor: the attacker knows the person is in the table; a record's risk is 1/|class|.
//  - journalist: the attacker does not know whether the person is in the table; with a population
//    of P people (sample fraction f = rows / P) a class of size s stands for about s / f people,
//    and the risk is 1 / max(s, s / f). Without a population it equals the prosecutor risk.
//  - marketer: the share of records an attacker re-identifies when matching every record:
//    mean over records of the journalist risk.
// "At risk": records whose prosecutor risk exceeds the threshold.
// Thread-safety: pure functions.
#ifndef KEXIN_DEID_RISK_H_
#define KEXIN_DEID_RISK_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace kexin::deid {

struct RiskSummary {
  uint64_t records = 0;
  uint64_t classes = 0;
  uint64_t smallest_class = 0;
  double average_class = 0;
  double prosecutor_highest = 0;
  double prosecutor_average = 0;
  double journalist_highest = 0;
  double journalist_average = 0;
  double marketer = 0;
  double threshold = 0;
  uint64_t records_at_risk = 0;
  double share_at_risk = 0;
  std::optional<double> population;
};

RiskSummary MeasureRisk(const std::vector<uint64_t>& class_sizes, std::optional<double> population,
                        double threshold);

}  // namespace kexin::deid

#endif  // KEXIN_DEID_RISK_H_
