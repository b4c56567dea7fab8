#include "server/metrics.h"

#include <cstdio>

namespace kexin::server {

Metrics::Metrics(const Router& router) {
  for (const auto& r : router.routes()) {
    auto s = std::make_unique<Series>();
    s->method = r.method;
    s->pattern = r.pattern;
    series_.push_back(std::move(s));
  }
  auto unmatched = std::make_unique<Series>();
  unmatched->method = "";
  unmatched->pattern = "unmatched";
  series_.push_back(std::move(unmatched));
}

void Metrics::Record(int route_index, int status, std::chrono::nanoseconds duration) {
  Series& s = *series_[route_index < 0 || route_index >= static_cast<int>(series_.size()) - 1
                           ? series_.size() - 1
                           : static_cast<size_t>(route_index)];
  if (status < 0 || status >= 600) status = 0;
  s.by_status[status].fetch_add(1, std::memory_order_relaxed);
  double secs = std::chrono::duration<double>(duration).count();
  size_t b = 0;
  while (b < kBuckets.size() && secs > kBuckets[b]) ++b;
  s.buckets[b].fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<uint64_t>(duration.count()), std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_relaxed);
}

namespace {
std::string Labels(const std::string& method, const std::string& pattern) {
  std::string out = "method=\"" + method + "\",route=\"";
  for (char c : pattern) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}
std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

std::string Metrics::Render(int64_t ledger_size, double uptime_seconds) const {
  std::string out;
  out += "# HELP kexin_http_requests_total HTTP requests answered, by route pattern and status.\n";
  out += "# TYPE kexin_http_requests_total counter\n";
  for (const auto& s : series_) {
    std::string labels = Labels(s->method, s->pattern);
    for (size_t st = 0; st < s->by_status.size(); ++st) {
      uint64_t n = s->by_status[st].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "kexin_http_requests_total{" + labels + ",status=\"" + std::to_string(st) + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  out += "# HELP kexin_http_request_duration_seconds Time from a request's last byte read to its "
         "response queued, by route pattern.\n";
  out += "# TYPE kexin_http_request_duration_seconds histogram\n";
  for (const auto& s : series_) {
    uint64_t count = s->count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::string labels = Labels(s->method, s->pattern);
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += s->buckets[b].load(std::memory_order_relaxed);
      std::string le = b < kBuckets.size() ? Num(kBuckets[b]) : "+Inf";
      out += "kexin_http_request_duration_seconds_bucket{" + labels + ",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "kexin_http_request_duration_seconds_sum{" + labels + "} " +
           Num(static_cast<double>(s->sum_ns.load(std::memory_order_relaxed)) / 1e9) + "\n";
    out += "kexin_http_request_duration_seconds_count{" + labels + "} " + std::to_string(count) +
           "\n";
  }
  out += "# HELP kexin_http_requests_in_flight Requests being handled now.\n";
  out += "# TYPE kexin_http_requests_in_flight gauge\n";
  out += "kexin_http_requests_in_flight " + std::to_string(in_flight.load()) + "\n";
  out += "# HELP kexin_http_connections_open Open client connections.\n";
  out += "# TYPE kexin_http_connections_open gauge\n";
  out += "kexin_http_connections_open " + std::to_string(connections.load()) + "\n";
  if (ledger_size >= 0) {
    out += "# HELP kexin_ledger_size Entries in the node's ledger.\n";
    out += "# TYPE kexin_ledger_size gauge\n";
    out += "kexin_ledger_size " + std::to_string(ledger_size) + "\n";
  }
  out += "# HELP kexin_uptime_seconds Seconds since the server started.\n";
  out += "# TYPE kexin_uptime_seconds gauge\n";
  out += "kexin_uptime_seconds " + Num(uptime_seconds) + "\n";
  return out;
}

}  // namespace kexin::server
