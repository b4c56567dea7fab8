// kexin-gen: writes the labelled synthetic table of src/testdata (every column's true category is
// known) as CSV or JSONL, in UTF-8 or GB18030, for accuracy tests and benchmarks.
//
//   kexin-gen -o t.csv --rows 5000 --labels t.labels.json
//   kexin-gen -o big.csv --bytes 1G --seed 7 --verbose
//
// Exit codes follow docs/exit-codes.md (2: usage error, 3: directory not found, 7: write failed).
#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "kexin/status.h"
#include "testdata/labelled_table.h"

namespace {

// Writes `text` to `path` through a temporary file renamed into place.
kexin::Status WriteText(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return kexin::ErrnoError(path, errno);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  int err = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    return kexin::ErrnoError(path, err);
  }
  return kexin::Status::Ok();
}

int Fail(const kexin::Status& s) {
  std::fprintf(stderr, "kexin-gen: %s\n", s.ToString().c_str());
  return kexin::ExitCodeFor(s);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kexin-gen: labelled synthetic table for kexin accuracy tests and benchmarks"};
  std::string output, labels, encoding = "utf-8", format = "csv", delimiter = ",";
  uint64_t rows = 1000, bytes = 0, seed = 1;
  bool verbose = false;
  app.add_option("-o,--output", output, "Output file")->required();
  auto* rows_opt = app.add_option("--rows", rows, "Number of data rows (default 1000)");
  app.add_option("--bytes", bytes, "Write rows until the file has at least this size (e.g. 1G)")
      ->transform(CLI::AsSizeValue(false))
      ->excludes(rows_opt);
  app.add_option("--seed", seed, "Random seed; the same seed gives the same file");
  app.add_option("--encoding", encoding, "utf-8 or gb18030")
      ->check(CLI::IsMember({"utf-8", "gb18030"}));
  app.add_option("--format", format, "csv or jsonl")->check(CLI::IsMember({"csv", "jsonl"}));
  app.add_option("--delimiter", delimiter, "CSV delimiter (one character; \\t for tab)");
  app.add_option("--labels", labels, "Also write the column labels as JSON to this file");
  app.add_flag("-v,--verbose", verbose, "Print size, rows and speed to standard error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage error, docs/exit-codes.md
  }
  if (delimiter == "\\t") delimiter = "\t";
  if (delimiter.size() != 1) {
    return Fail(
        kexin::InvalidArgument("--delimiter must be one character, got '" + delimiter + "'"));
  }

  kexin::testdata::GenOptions options;
  options.rows = rows;
  options.seed = seed;
  options.target_bytes = bytes;
  options.delimiter = delimiter[0];
  options.format = format == "jsonl" ? kexin::testdata::OutputFormat::kJsonl
                                     : kexin::testdata::OutputFormat::kCsv;
  options.encoding = encoding == "gb18030" ? kexin::testdata::OutputEncoding::kGb18030
                                           : kexin::testdata::OutputEncoding::kUtf8;

  const auto start = std::chrono::steady_clock::now();
  auto stats = kexin::testdata::Generate(output, options);
  if (!stats.ok()) return Fail(stats.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!labels.empty()) {
    kexin::Status s = WriteText(labels, kexin::testdata::LabelsJson());
    if (!s.ok()) return Fail(s);
  }
  if (verbose) {
    std::fprintf(stderr, "kexin-gen: %s: %llu bytes, %llu rows in %.2f s (%.0f MB/s)\n",
                 output.c_str(), static_cast<unsigned long long>(stats->bytes),
                 static_cast<unsigned long long>(stats->rows), seconds,
                 seconds > 0 ? static_cast<double>(stats->bytes) / 1e6 / seconds : 0.0);
  }
  return 0;
}
