// Drives complete contract negotiations between two running kexin nodes
// (bench/negotiation_bench.sh). It replaced a Python driver that used about 0.4 ms of CPU per
// negotiation on the same two cores as the nodes it measures.
//
// Usage: negotiation_driver CONSUMER_URL TOKEN CONSUMER_STORE PEER DATASET OFFER POLICY_FILE N
//                           CONCURRENCY
// CONSUMER_STORE is the consumer's SQLite file or a postgresql:// URL. Starts N negotiations
// through POST /v1/negotiations from CONCURRENCY threads, each on one kept-alive HTTP
// connection, then waits until all N are FINALIZED (or TERMINATED) in the consumer's store. Prints
// one JSON line: n, concurrency, seconds, negotiations_per_second, start_seconds, finalized,
// terminated, failed_starts, driver_cpu_seconds. Exit 0 when every negotiation finalized, 1
// otherwise (a start refused, a negotiation terminated, or none finished for 60 s), 2 on bad
// arguments.
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Target {
  std::string host, port;
};

bool ParseUrl(const std::string& url, Target* t) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) return false;
  std::string rest = url.substr(prefix.size());
  rest = rest.substr(0, rest.find('/'));
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  t->host = rest.substr(0, colon);
  t->port = rest.substr(colon + 1);
  return !t->host.empty() && !t->port.empty();
}

int64_t CountState(kexin::store::Store& s, const char* state) {
  auto rows = s.Query("SELECT COUNT(*) FROM negotiations WHERE state = $1", {std::string(state)});
  if (!rows.ok() || rows->empty()) {
    std::cerr << "negotiation_driver: counting " << state
              << " negotiations: " << (rows.ok() ? "no row" : rows.status().ToString()) << "\n";
    std::exit(1);
  }
  return std::get<int64_t>((*rows)[0][0]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 10) {
    std::cerr << "usage: negotiation_driver CONSUMER_URL TOKEN CONSUMER_STORE PEER DATASET OFFER"
                 " POLICY_FILE N CONCURRENCY\n";
    return 2;
  }
  const std::string url = argv[1], token = argv[2], db = argv[3];
  Target target;
  if (!ParseUrl(url, &target)) {
    std::cerr << "negotiation_driver: CONSUMER_URL '" << url << "' must be http://host:port\n";
    return 2;
  }
  std::ifstream pf(argv[7]);
  json policy = json::parse(pf, nullptr, false);
  if (!pf || policy.is_discarded()) {
    std::cerr << "negotiation_driver: " << argv[7] << ": not a readable JSON file\n";
    return 2;
  }
  const int n = std::atoi(argv[8]), conc = std::atoi(argv[9]);
  if (n <= 0 || conc <= 0) {
    std::cerr << "negotiation_driver: N and CONCURRENCY must be positive\n";
    return 2;
  }
  const std::string body =
      json{{"peer", argv[4]}, {"dataset", argv[5]}, {"offer", argv[6]}, {"policy", policy}}.dump();
  auto store = kexin::store::Store::Open(db.rfind("postgresql://", 0) == 0 ? db : "sqlite:" + db);
  if (!store.ok()) {
    std::cerr << "negotiation_driver: " << store.status().ToString() << "\n";
    return 1;
  }
  const int64_t base_final = CountState(**store, "FINALIZED");
  const int64_t base_term = CountState(**store, "TERMINATED");

  std::atomic<int> next{0}, failed{0};
  std::mutex err_mu;
  std::string first_error;
  auto fail = [&](const std::string& what) {
    ++failed;
    std::lock_guard<std::mutex> lock(err_mu);
    if (first_error.empty()) first_error = what;
  };
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < conc; ++t) {
    threads.emplace_back([&] {
      boost::asio::io_context io;
      beast::tcp_stream stream(io);
      bool connected = false;
      beast::flat_buffer buffer;
      while (next.fetch_add(1) < n) {
        try {
          if (!connected) {
            tcp::resolver resolver(io);
            stream.connect(resolver.resolve(target.host, target.port));
            connected = true;
          }
          http::request<http::string_body> req{http::verb::post, "/v1/negotiations", 11};
          req.set(http::field::host, target.host + ":" + target.port);
          req.set(http::field::authorization, "Bearer " + token);
          req.set(http::field::content_type, "application/json");
          req.body() = body;
          req.prepare_payload();
          http::write(stream, req);
          http::response<http::string_body> res;
          http::read(stream, buffer, res);
          if (res.result_int() != 201) fail(std::to_string(res.result_int()) + " " + res.body());
          if (!res.keep_alive()) {
            beast::error_code ec;
            stream.socket().shutdown(tcp::socket::shutdown_both, ec);
            stream.close();
            connected = false;
          }
        } catch (const std::exception& e) {
          fail(std::string("POST /v1/negotiations: ") + e.what());
          stream.close();
          connected = false;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const double started = Seconds(t0);
  if (failed > 0) {
    std::cerr << "negotiation_driver: " << failed.load()
              << " starts failed, first: " << first_error.substr(0, 300) << "\n";
  }
  const int64_t want = n - failed.load();
  int64_t done = 0, term = 0, last = -1;
  auto last_change = Clock::now();
  while (true) {
    done = CountState(**store, "FINALIZED") - base_final;
    term = CountState(**store, "TERMINATED") - base_term;
    if (done + term >= want) break;
    if (done != last) {
      last = done;
      last_change = Clock::now();
    } else if (Seconds(last_change) > 60) {
      std::cerr << "negotiation_driver: stuck at " << done << " of " << want << " finalized\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double secs = Seconds(t0);
  json out = {{"n", n},
              {"concurrency", conc},
              {"seconds", std::round(secs * 1000) / 1000},
              {"negotiations_per_second", std::round(10 * done / secs) / 10},
              {"start_seconds", std::round(started * 1000) / 1000},
              {"finalized", done},
              {"terminated", term},
              {"failed_starts", failed.load()},
              {"driver_cpu_seconds", std::round(CpuSeconds() * 100) / 100}};
  std::cout << out.dump() << "\n";
  return term == 0 && failed == 0 ? 0 : 1;
}
