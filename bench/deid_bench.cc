// deid_bench: the figures of issue 4.
//  1. UCI Adult (30,162 rows, 8 quasi-identifiers with ARX's hierarchies, k=5, 0% suppression,
//     loss metric): search time and end-to-end time, in process (RunDeid) and as a command
//     (`kexin deid`, process start included), minimum and median over repeated runs.
//  2. Synthetic rows (default 10,000,000) drawn from Adult's rows with ages jittered, the same 8
//     quasi-identifiers, k=10: wall time and peak memory of `kexin deid`, which read the file
//     twice and keep only the distinct combinations in memory.
// Run from the repository root (bash bench/deid_bench.sh does).
// Usage: deid_bench [--adult-dir DIR] [--kexin PATH] [--rows N] [--runs N] [--skip-synthetic]
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/file.h"
#include "deid/deid.h"

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kQis = {
    "sex",       "age",       "race", "marital-status", "education", "native-country",
    "workclass", "occupation"};

std::string WriteConfig(const std::string& dir, const std::string& adult_dir, int k) {
  std::string path = dir + "/adult.toml";
  std::ofstream f(path);
  f << "[privacy]\nk = " << k << "\nmax_suppression = 0\nmetric = \"loss\"\n\n";
  for (const auto& q : kQis) {
    f << "[columns." << q << "]\nrole = \"quasi\"\nhierarchy = \"" << adult_dir
      << "/adult_hierarchy_" << q << ".csv\"\n";
  }
  f << "[columns.salary-class]\nrole = \"insensitive\"\n";
  return path;
}

struct Run {
  double seconds = 0;
  long max_rss_kib = 0;
  int status = -1;
};

Run Spawn(const std::vector<std::string>& args) {
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  Run r;
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.max_rss_kib = ru.ru_maxrss;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string adult_dir = "examples/deid/adult";
  if (const char* e = std::getenv("KEXIN_ADULT_DIR")) adult_dir = e;
  std::string kexin = "build/ci/kexin";
  uint64_t rows = 10'000'000;
  int runs = 20;
  bool synthetic = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--adult-dir" && i + 1 < argc)
      adult_dir = argv[++i];
    else if (a == "--kexin" && i + 1 < argc)
      kexin = argv[++i];
    else if (a == "--rows" && i + 1 < argc)
      rows = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--runs" && i + 1 < argc)
      runs = std::atoi(argv[++i]);
    else if (a == "--skip-synthetic")
      synthetic = false;
    else {
      std::fprintf(stderr,
                   "usage: deid_bench [--adult-dir DIR] [--kexin PATH] [--rows N] "
                   "[--runs N] [--skip-synthetic]\n");
      return 2;
    }
  }
  adult_dir = std::filesystem::absolute(adult_dir).string();
  std::string dir =
      std::filesystem::temp_directory_path() / ("kexin-deid-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string input = adult_dir + "/adult.csv";

  // 1. Adult, in process.
  kexin::deid::DeidOptions o;
  o.config_path = WriteConfig(dir, adult_dir, 5);
  std::vector<double> search, total;
  kexin::deid::DeidResult last;
  for (int i = 0; i < runs; ++i) {
    auto r = kexin::deid::RunDeid(input, dir + "/adult-out.csv", o);
    if (!r.ok()) {
      std::fprintf(stderr, "deid_bench: %s\n", r.status().ToString().c_str());
      return 1;
    }
    search.push_back(r->search.seconds * 1000);
    total.push_back(r->total_seconds * 1000);
    last = *r;
  }
  std::printf(
      "adult: %llu rows, %zu quasi-identifiers, %llu distinct combinations, k=5, 0%% "
      "suppression, loss metric, 1 thread\n",
      static_cast<unsigned long long>(last.rows_in), kQis.size(),
      static_cast<unsigned long long>(last.distinct_combinations));
  std::printf("  optimum: levels [");
  for (size_t i = 0; i < last.search.best.levels.size(); ++i) {
    std::printf("%s%d", i ? "," : "", last.search.best.levels[i]);
  }
  std::printf(
      "], loss %.4f; %llu of %llu nodes checked (%llu by one small class, %llu rolled up)\n",
      last.search.best.utility, static_cast<unsigned long long>(last.search.checks),
      static_cast<unsigned long long>(last.search.lattice_size),
      static_cast<unsigned long long>(last.search.witness_rejections),
      static_cast<unsigned long long>(last.search.rollups));
  std::printf(
      "  search:     min %.2f ms, median %.2f ms over %d runs (floor 15 ms; ARX 28.4 ms "
      "published, 21.3 ms measured here)\n",
      *std::min_element(search.begin(), search.end()), Median(search), runs);
  std::printf("  in process: min %.1f ms, median %.1f ms (read, search, write, report)\n",
              *std::min_element(total.begin(), total.end()), Median(total));
  if (access(kexin.c_str(), X_OK) == 0) {
    std::vector<double> cli;
    long rss = 0;
    for (int i = 0; i < std::max(3, runs / 4); ++i) {
      Run r = Spawn(
          {kexin, "deid", input, "-o", dir + "/adult-cli.csv", "--config", o.config_path, "-q"});
      if (r.status != 0) {
        std::fprintf(stderr, "deid_bench: kexin deid exited %d\n", r.status);
        return 1;
      }
      cli.push_back(r.seconds * 1000);
      rss = std::max(rss, r.max_rss_kib);
    }
    std::printf(
        "  command:    min %.1f ms, median %.1f ms end to end (floor 300 ms), peak %.1f MiB\n",
        *std::min_element(cli.begin(), cli.end()), Median(cli), rss / 1024.0);
  } else {
    std::printf("  command: skipped (%s not found; pass --kexin PATH)\n", kexin.c_str());
  }

  // 2. Synthetic rows.
  if (synthetic && access(kexin.c_str(), X_OK) == 0) {
    auto text = kexin::ReadFile(input);
    if (!text.ok()) return 1;
    std::vector<std::vector<std::string>> base;
    size_t pos = text->find('\n') + 1;
    while (pos < text->size()) {
      size_t end = text->find('\n', pos);
      std::string line = text->substr(pos, end - pos);
      std::vector<std::string> cells;
      size_t s = 0;
      for (size_t i = 0; i <= line.size(); ++i) {
        if (i == line.size() || line[i] == ';') {
          cells.push_back(line.substr(s, i - s));
          s = i + 1;
        }
      }
      base.push_back(std::move(cells));
      pos = end + 1;
    }
    std::string big = dir + "/synthetic.csv";
    auto gen_start = Clock::now();
    {
      std::ofstream f(big);
      f << "sex;age;race;marital-status;education;native-country;workclass;occupation;"
           "salary-class\n";
      std::mt19937_64 rng(42);
      std::string line;
      for (uint64_t r = 0; r < rows; ++r) {
        const auto& b = base[rng() % base.size()];
        int age = std::clamp(std::atoi(b[1].c_str()) + static_cast<int>(rng() % 7) - 3, 17, 90);
        line.clear();
        line += b[0] + ';' + std::to_string(age);
        for (size_t c = 2; c < b.size(); ++c) line += ';' + b[c];
        line += '\n';
        f << line;
      }
    }
    double gen_s = std::chrono::duration<double>(Clock::now() - gen_start).count();
    uint64_t bytes = std::filesystem::file_size(big);
    std::string config = WriteConfig(dir, adult_dir, 10);
    Run r = Spawn({kexin, "deid", big, "-o", dir + "/synthetic-out.csv", "--config", config,
                   "--report", dir + "/synthetic-report.json", "-q"});
    if (r.status != 0) {
      std::fprintf(stderr, "deid_bench: kexin deid on synthetic data exited %d\n", r.status);
      return 1;
    }
    auto report = kexin::ReadFile(dir + "/synthetic-report.json");
    std::string combos = "?";
    if (report.ok()) {
      size_t p = report->find("\"distinct_combinations\": ");
      if (p != std::string::npos)
        combos = report->substr(p + 25, report->find_first_of(",\n", p + 25) - p - 25);
    }
    std::printf(
        "synthetic: %llu rows (%.0f MB, generated in %.1f s), 8 quasi-identifiers, %s "
        "distinct combinations, k=10, 1 thread\n",
        static_cast<unsigned long long>(rows), bytes / 1e6, gen_s, combos.c_str());
    std::printf("  kexin deid: %.1f s end to end (floor 60 s), %.1f MB/s, peak memory %.1f MiB\n",
                r.seconds, bytes / 1e6 / r.seconds, r.max_rss_kib / 1024.0);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
