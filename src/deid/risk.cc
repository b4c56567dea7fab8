#include "deid/risk.h"

#include <algorithm>

namespace kexin::deid {

RiskSummary MeasureRisk(const std::vector<uint64_t>& class_sizes, std::optional<double> population,
                        double threshold) {
  RiskSummary r;
  r.threshold = threshold;
  r.population = population;
  for (uint64_t s : class_sizes) {
    if (s == 0) continue;
    r.records += s;
    ++r.classes;
    if (r.smallest_class == 0 || s < r.smallest_class) r.smallest_class = s;
  }
  if (r.records == 0) return r;
  double n = static_cast<double>(r.records);
  double fraction = population && *population > n ? n / *population : 1.0;
  double journalist_sum = 0;
  for (uint64_t s : class_sizes) {
    if (s == 0) continue;
    double size = static_cast<double>(s);
    double prosecutor = 1.0 / size;
    double journalist = 1.0 / std::max(size, size / fraction);
    r.prosecutor_highest = std::max(r.prosecutor_highest, prosecutor);
    r.journalist_highest = std::max(r.journalist_highest, journalist);
    journalist_sum += size * journalist;
    if (prosecutor > threshold) r.records_at_risk += s;
  }
  r.average_class = n / r.classes;
  r.prosecutor_average = r.classes / n;
  r.journalist_average = journalist_sum / n;
  r.marketer = journalist_sum / n;
  r.share_at_risk = r.records_at_risk / n;
  return r;
}

}  // namespace kexin::deid
