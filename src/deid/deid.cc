#include "deid/deid.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "scan/scanner.h"

namespace kexin::deid {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string_view StripRecordPrefix(std::string_view m) {
  if (m.rfind("record ", 0) == 0) {
    size_t colon = m.find(": ");
    if (colon != std::string_view::npos) return m.substr(colon + 2);
  }
  return m;
}

using RowFn = std::function<Status(uint64_t row, const std::vector<std::string_view>& cells)>;

// Streams every record of `path` to `fn` with its row number (the header is row 1). Errors from
// the reader, the parser or `fn` come back as "FILE:ROW: message".
Status ForEachRecord(const std::string& path, const table::ReadOptions& ro, const RowFn& fn,
                     table::TableInfo* info_out) {
  KEXIN_ASSIGN_OR_RETURN(auto reader, table::TableReader::Open(path, ro));
  const table::TableInfo& info = reader->info();
  if (info_out) *info_out = info;
  auto parser = table::RecordParser::Create(info);
  uint64_t before = info.has_header ? 1 : 0;
  table::Chunk chunk;
  Status fn_status;
  while (true) {
    auto got = reader->Next(&chunk);
    if (!got.ok()) {
      uint64_t row = before + 1 + reader->lines_after_last_chunk();
      return Status(got.status().code(),
                    fmt::format("{}:{}: {}", path, row, got.status().message()));
    }
    if (!*got) break;
    Status s = parser->Parse(chunk.data, false,
                             [&](uint64_t record, const std::vector<std::string_view>& cells) {
                               if (!fn_status.ok()) return;
                               fn_status = fn(before + record + 1, cells);
                             });
    if (!s.ok()) {
      return Status(s.code(), fmt::format("{}:{}: {}", path, before + parser->failed_record() + 1,
                                          StripRecordPrefix(s.message())));
    }
    if (!fn_status.ok()) return Status(fn_status.code(), path + ":" + fn_status.message());
    before += parser->records();
  }
  return Status::Ok();
}

// Buffered output to a temporary file that becomes `path` only on Commit().
class AtomicWriter {
 public:
  ~AtomicWriter() {
    if (fd_ >= 0) {
      ::close(fd_);
      if (!in_place_) ::unlink(tmp_.c_str());
    }
    if (prepared_) ::unlink(tmp_.c_str());
  }
  Status Open(const std::string& path) {
    path_ = path;
    struct stat st {};
    bool exists = ::stat(path.c_str(), &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
      // A FIFO, a device or /dev/stdout: written in place, never replaced by a file.
      fd_ = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
      if (fd_ < 0) return ErrnoError(path, errno);
      in_place_ = true;
      return Status::Ok();
    }
    std::filesystem::path p(path);
    std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
    tmp_ = dir + "/." + p.filename().string() + ".tmp.XXXXXX";
    fd_ = ::mkstemp(tmp_.data());
    if (fd_ < 0) {
      return IoError("cannot create a temporary file in " + dir + ": " + std::strerror(errno));
    }
    // A replaced file keeps its permissions; a new one gets 0644 less the umask.
    ::fchmod(fd_, exists ? (st.st_mode & 07777) : (0644 & ~CurrentUmask()));
    return Status::Ok();
  }
  Status Append(std::string_view s) {
    buf_.append(s);
    return buf_.size() >= (1u << 20) ? Flush() : Status::Ok();
  }
  std::string& buffer() { return buf_; }
  Status MaybeFlush() { return buf_.size() >= (1u << 20) ? Flush() : Status::Ok(); }
  // Flushes and syncs the temporary file (or closes an in-place output).
  Status Prepare() {
    KEXIN_RETURN_IF_ERROR(Flush());
    int fd = fd_;
    fd_ = -1;
    if (in_place_) return ::close(fd) == 0 ? Status::Ok() : ErrnoError(path_, errno);
    prepared_ = true;  // the destructor removes the temporary file unless published
    if (::fsync(fd) != 0) {
      int e = errno;
      ::close(fd);
      return ErrnoError(path_, e);
    }
    if (::close(fd) != 0) return ErrnoError(path_, errno);
    return Status::Ok();
  }
  // Renames the prepared file into place.
  Status Publish() {
    if (!prepared_) return Status::Ok();
    prepared_ = false;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp_.c_str());
      return ErrnoError(path_, e);
    }
    return Status::Ok();
  }

 private:
  static mode_t CurrentUmask() {
    mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }
  Status Flush() {
    size_t off = 0;
    while (off < buf_.size()) {
      ssize_t w = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(path_, errno);
      }
      off += static_cast<size_t>(w);
    }
    buf_.clear();
    return Status::Ok();
  }
  std::string path_, tmp_, buf_;
  int fd_ = -1;
  bool in_place_ = false;
  bool prepared_ = false;
};

void AppendCsvCell(std::string* out, std::string_view v, char delimiter) {
  bool quote = v.find_first_of(std::string{delimiter, '"', '\n', '\r'}) != std::string_view::npos;
  if (!quote) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// JSON string per RFC 8259; the text is valid UTF-8 (the reader guarantees it).
void AppendJsonString(std::string* out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(v.substr(start, i - start));
    start = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(v.substr(start));
  out->push_back('"');
}

std::string TreatmentName(const ColumnConfig& c) {
  switch (c.role) {
    case Role::kQuasi:
      return "generalize";
    case Role::kSensitive:
      return "keep";
    default:
      break;
  }
  std::string s(OperatorName(c.op.kind));
  if (c.op.kind == OperatorKind::kPseudonymize || c.op.kind == OperatorKind::kFormatPreserving) {
    s += c.op.hash == KeyedHash::kBlake2b ? " (keyed blake2b)" : " (hmac-sha256)";
  }
  return s;
}

}  // namespace

Result<DeidResult> RunDeid(const std::string& input, const std::string& output,
                           const DeidOptions& options) {
  const auto start = Clock::now();
  DeidResult result;
  result.input = input;
  result.output = output;
  if (output.empty()) return InvalidArgument("no output file (-o OUTPUT)");
  {
    std::error_code ec;
    if (std::filesystem::exists(output, ec) && std::filesystem::equivalent(input, output, ec)) {
      return InvalidArgument("the output must not be the input file: " + output);
    }
  }

  if (!options.report_path.empty()) {
    std::error_code ec;
    for (const std::string* other : {&input, &output}) {
      if (options.report_path == *other ||
          (std::filesystem::exists(options.report_path, ec) &&
           std::filesystem::exists(*other, ec) &&
           std::filesystem::equivalent(options.report_path, *other, ec))) {
        return InvalidArgument("the report " + options.report_path + " would overwrite " + *other);
      }
    }
  }
  DeidConfig cfg;
  if (!options.config_path.empty()) {
    KEXIN_ASSIGN_OR_RETURN(cfg, LoadDeidConfig(options.config_path));
  }
  if (options.k) cfg.model.k = *options.k, cfg.model_given = true;
  if (options.l) {
    cfg.model.l = *options.l;
    if (cfg.model.diversity == Diversity::kNone) cfg.model.diversity = Diversity::kDistinct;
    cfg.model_given = true;
  }
  if (options.t) {
    cfg.model.t = *options.t;
    if (cfg.model.closeness == Closeness::kNone) cfg.model.closeness = Closeness::kEqual;
    cfg.model_given = true;
  }
  if (options.max_suppression) cfg.model.max_suppression = *options.max_suppression;
  if (options.metric) cfg.metric = *options.metric;
  if (options.key_file) cfg.key_file = options.key_file, cfg.key_env.reset();
  if (options.key_env) cfg.key_env = options.key_env, cfg.key_file.reset();

  std::optional<PseudonymKey> key;
  if (cfg.key_file) {
    KEXIN_ASSIGN_OR_RETURN(key, PseudonymKey::FromFile(*cfg.key_file));
  } else if (cfg.key_env) {
    KEXIN_ASSIGN_OR_RETURN(key, PseudonymKey::FromEnv(*cfg.key_env));
  }

  // Columns and roles.
  KEXIN_ASSIGN_OR_RETURN(auto reader, table::TableReader::Open(input, options.read));
  const table::TableInfo info = reader->info();
  reader.reset();
  result.format = std::string(table::FormatName(info.format));
  result.encoding = std::string(table::EncodingName(info.encoding));
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < info.columns.size(); ++i) index.emplace(info.columns[i], i);
  for (const auto& [name, c] : cfg.columns) {
    if (!index.count(name)) {
      std::string cols;
      for (const auto& n : info.columns) cols += (cols.empty() ? "" : ", ") + n;
      return InvalidArgument(
          fmt::format("{}: unknown column \"{}\" (the table has: {})",
                      options.config_path.empty() ? "config" : options.config_path, name, cols));
    }
  }
  std::vector<ColumnConfig> roles(info.columns.size());
  bool all_configured = true;
  for (size_t i = 0; i < info.columns.size(); ++i) {
    auto it = cfg.columns.find(info.columns[i]);
    if (it != cfg.columns.end()) {
      roles[i] = it->second;
    } else {
      all_configured = false;
      roles[i].source = "default";
    }
  }
  if (!all_configured) {
    auto rules = scan::DefaultRules();
    if (!rules.ok()) return rules.status();
    KEXIN_ASSIGN_OR_RETURN(auto detectors, scan::DetectorSet::Build(*rules));
    scan::ScanOptions so;
    so.read = options.read;
    KEXIN_ASSIGN_OR_RETURN(auto scanned, scan::ScanFile(input, *detectors, so));
    for (const auto& col : scanned.columns) {
      auto it = index.find(col.name);
      if (it == index.end() || cfg.columns.count(col.name) || !col.category) continue;
      if (auto r = RoleForCategory(*col.category, key.has_value())) {
        r->op.hash = cfg.hash;
        roles[it->second] = *r;
      }
    }
  }

  // Operators and hierarchies.
  std::vector<std::optional<ValueOperator>> ops(roles.size());
  std::vector<std::unique_ptr<Hierarchy>> hierarchies(roles.size());
  std::vector<size_t> qi_cols, sens_cols;
  for (size_t i = 0; i < roles.size(); ++i) {
    const ColumnConfig& c = roles[i];
    if (c.role == Role::kDirect || c.role == Role::kInsensitive) {
      auto op = ValueOperator::Create(c.op, key ? &*key : nullptr);
      if (!op.ok()) return op.status().WithContext("column " + info.columns[i]);
      ops[i] = std::move(op).value();
    } else if (c.role == Role::kQuasi) {
      KEXIN_ASSIGN_OR_RETURN(hierarchies[i], MakeHierarchy(c, cfg.base_dir, info.columns[i]));
      qi_cols.push_back(i);
    } else {
      if (!c.hierarchy.empty()) {
        KEXIN_ASSIGN_OR_RETURN(hierarchies[i], MakeHierarchy(c, cfg.base_dir, info.columns[i]));
      }
      sens_cols.push_back(i);
    }
  }
  if (!qi_cols.empty() && !cfg.model_given) {
    cfg.model.k = 5;
    result.model_default = true;
    result.warnings.push_back("no privacy model was given: 5-anonymity applied");
  }
  result.model = cfg.model;
  result.metric = cfg.metric;
  result.suppressed_rows = cfg.suppressed_rows;

  // Pass one: the frequency table.
  auto names = [&](const std::vector<size_t>& cols) {
    std::vector<std::string> n;
    for (size_t i : cols) n.push_back(info.columns[i]);
    return n;
  };
  auto hier = [&](const std::vector<size_t>& cols) {
    std::vector<const Hierarchy*> h;
    for (size_t i : cols) h.push_back(hierarchies[i].get());
    return h;
  };
  Dataset data(names(qi_cols), hier(qi_cols), names(sens_cols), hier(sens_cols));
  std::vector<std::string_view> qv(qi_cols.size()), sv(sens_cols.size());
  auto t_read = Clock::now();
  uint64_t rows = 0;
  if (!qi_cols.empty() || !sens_cols.empty()) {
    KEXIN_RETURN_IF_ERROR(ForEachRecord(
        input, options.read,
        [&](uint64_t row, const std::vector<std::string_view>& cells) -> Status {
          static const std::string_view kEmpty;
          for (size_t i = 0; i < qi_cols.size(); ++i) {
            qv[i] = qi_cols[i] < cells.size() ? cells[qi_cols[i]] : kEmpty;
          }
          for (size_t j = 0; j < sens_cols.size(); ++j) {
            sv[j] = sens_cols[j] < cells.size() ? cells[sens_cols[j]] : kEmpty;
          }
          ++rows;
          return data.AddRow(qv, sv, row);
        },
        nullptr));
    data.Finish();
  }
  result.read_seconds = Since(t_read);
  result.distinct_combinations = data.cells();

  // Search.
  std::vector<int> levels(qi_cols.size(), 0);
  std::vector<bool> suppressed;
  if (!qi_cols.empty()) {
    if (rows == 0) return DataError(input + ": the table has no rows to anonymize");
    if (result.model_default && cfg.model.k > rows) {
      return InvalidArgument(fmt::format(
          "{} has {} rows, fewer than the default k = 5 applied because no privacy model was "
          "given: pass --k",
          input, rows));
    }
    KEXIN_ASSIGN_OR_RETURN(auto anonymizer, Anonymizer::Create(data, cfg.model, cfg.metric));
    result.search = anonymizer.Search();
    result.searched = true;
    if (!result.search.found) {
      return FailedPrecondition(fmt::format(
          "no generalization of {} satisfies {} with at most {:.2f}% of the rows suppressed: "
          "allow more suppression, lower the requirements or give coarser hierarchies",
          input, DescribeModel(cfg.model), cfg.model.max_suppression * 100));
    }
    levels = result.search.best.levels;
    anonymizer.Check(levels, &suppressed);
    result.risk_after =
        MeasureRisk(anonymizer.ClassSizes(levels, cfg.suppressed_rows == SuppressedRows::kMask),
                    cfg.population, cfg.risk_threshold);
    auto raw = Anonymizer::Create(data, PrivacyModel{}, cfg.metric);
    if (raw.ok()) {
      auto sizes = raw->ClassSizes(std::vector<int>(qi_cols.size(), 0));
      result.risk_before = MeasureRisk(sizes, cfg.population, cfg.risk_threshold);
      if (cfg.metric == Metric::kDiscernibility) {
        for (uint64_t n : sizes) result.utility_before += static_cast<double>(n) * n;
      }
    }
  }

  // Column outcomes.
  for (size_t i = 0; i < roles.size(); ++i) {
    ColumnOutcome o;
    o.name = info.columns[i];
    o.role = roles[i].role;
    o.source = roles[i].source;
    o.treatment = TreatmentName(roles[i]);
    if (hierarchies[i]) o.hierarchy = hierarchies[i]->Describe();
    result.columns.push_back(std::move(o));
  }
  for (size_t q = 0; q < qi_cols.size(); ++q) {
    ColumnOutcome& o = result.columns[qi_cols[q]];
    const EncodedAttribute& a = data.qi(q);
    o.level = levels[q];
    o.height = a.height;
    for (size_t c = 0; c < a.labels[levels[q]].size() && o.examples.size() < 5; ++c) {
      o.examples.push_back(a.labels[levels[q]][c]);
    }
  }

  // Pass two: write the transformed table.
  auto t_write = Clock::now();
  AtomicWriter out;
  KEXIN_RETURN_IF_ERROR(out.Open(output));
  std::string& buf = out.buffer();
  const bool csv = info.format == table::Format::kCsv;
  const char delim = info.delimiter;
  if (csv && info.has_header) {
    for (size_t i = 0; i < info.columns.size(); ++i) {
      if (i) buf.push_back(delim);
      AppendCsvCell(&buf, info.columns[i], delim);
    }
    buf.push_back('\n');
  }
  std::vector<int> qi_pos(roles.size(), -1);
  for (size_t q = 0; q < qi_cols.size(); ++q) qi_pos[qi_cols[q]] = static_cast<int>(q);
  std::vector<bool> is_sensitive(roles.size(), false);
  for (size_t j : sens_cols) is_sensitive[j] = true;
  std::vector<std::string> cell_out(roles.size());
  uint64_t written = 0, rows_in = 0;
  KEXIN_RETURN_IF_ERROR(ForEachRecord(
      input, options.read,
      [&](uint64_t row, const std::vector<std::string_view>& cells) -> Status {
        ++rows_in;
        if (cells.size() > roles.size()) {
          return DataError(fmt::format(
              "{}: more fields than the {} columns read from the start of the file (a JSONL key "
              "that first appears here is not supported)",
              row, roles.size()));
        }
        bool supp = false;
        if (!qi_cols.empty()) {
          static const std::string_view kEmpty;
          for (size_t i = 0; i < qi_cols.size(); ++i) {
            qv[i] = qi_cols[i] < cells.size() ? cells[qi_cols[i]] : kEmpty;
          }
          for (size_t j = 0; j < sens_cols.size(); ++j) {
            sv[j] = sens_cols[j] < cells.size() ? cells[sens_cols[j]] : kEmpty;
          }
          int64_t cell = data.FindCell(qv, sv);
          if (cell < 0) {
            return DataError(fmt::format("{}: the row changed between the two passes", row));
          }
          supp = suppressed[cell];
          if (supp && cfg.suppressed_rows == SuppressedRows::kRemove) return Status::Ok();
        }
        if (!csv) buf.push_back('{');
        for (size_t i = 0; i < roles.size(); ++i) {
          std::string_view v = i < cells.size() ? cells[i] : std::string_view();
          std::string_view result_value;
          std::string& tmp = cell_out[i];
          if (supp && is_sensitive[i]) {
            // The suppressed records form one group that no model checked: their sensitive
            // values go too, or a lone suppressed record would still show its diagnosis.
            result_value = "";
          } else if (qi_pos[i] >= 0) {
            if (supp) {
              result_value = "*";
            } else {
              const EncodedAttribute& a = data.qi(qi_pos[i]);
              int l = levels[qi_pos[i]];
              result_value = a.labels[l][a.gen[l][a.codes0.find(v)->second]];
            }
          } else if (ops[i]) {
            if (ops[i]->spec().kind == OperatorKind::kKeep) {
              result_value = v;
            } else {
              tmp = ops[i]->Apply(v);
              result_value = tmp;
            }
          } else {
            result_value = v;
          }
          if (csv) {
            if (i) buf.push_back(delim);
            AppendCsvCell(&buf, result_value, delim);
          } else {
            if (i) buf.push_back(',');
            AppendJsonString(&buf, info.columns[i]);
            buf.push_back(':');
            AppendJsonString(&buf, result_value);
          }
        }
        buf.append(csv ? "\n" : "}\n");
        ++written;
        return out.MaybeFlush();
      },
      nullptr));
  result.rows_in = rows_in;
  result.rows_out = written;
  if (info.encoding != table::Encoding::kUtf8) {
    result.warnings.push_back("the input was " + result.encoding + "; the output is UTF-8");
  }
  // The report is complete on disk before the output replaces anything, so a report that cannot
  // be written leaves the old output in place.
  AtomicWriter report;
  if (!options.report_path.empty()) KEXIN_RETURN_IF_ERROR(report.Open(options.report_path));
  KEXIN_RETURN_IF_ERROR(out.Prepare());
  result.write_seconds = Since(t_write);
  result.total_seconds = Since(start);
  if (!options.report_path.empty()) {
    const std::string& rp = options.report_path;
    bool html = (rp.size() >= 5 && rp.compare(rp.size() - 5, 5, ".html") == 0) ||
                (rp.size() >= 4 && rp.compare(rp.size() - 4, 4, ".htm") == 0);
    KEXIN_RETURN_IF_ERROR(report.Append(html ? DeidReportHtml(result) : DeidReportJson(result)));
    KEXIN_RETURN_IF_ERROR(report.Prepare());
    KEXIN_RETURN_IF_ERROR(report.Publish());
  }
  KEXIN_RETURN_IF_ERROR(out.Publish());
  return result;
}

}  // namespace kexin::deid
