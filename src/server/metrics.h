// Module `server` (metrics): request counters and latency histograms per route, rendered in the
// Prometheus text format (docs/api.md#metrics). Recording is lock-free (relaxed atomics).
// Thread-safety: Record and Render may be called from any thread once SetRoutes has run.
#ifndef KEXIN_SERVER_METRICS_H_
#define KEXIN_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/api.h"

namespace kexin::server {

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.5,    2.5};
  explicit Metrics(const Router& router);
  // route_index is the index in router.routes(), or -1 for requests that matched no route.
  void Record(int route_index, int status, std::chrono::nanoseconds duration);
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> connections{0};
  // The exposition text; ledger_size < 0 omits the ledger gauge.
  std::string Render(int64_t ledger_size, double uptime_seconds) const;

 private:
  struct Series {
    std::string method, pattern;
    std::array<std::atomic<uint64_t>, 600> by_status{};
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<uint64_t> sum_ns{0}, count{0};
  };
  std::vector<std::unique_ptr<Series>> series_;  // one per route, then "unmatched"
};

}  // namespace kexin::server

#endif  // KEXIN_SERVER_METRICS_H_
