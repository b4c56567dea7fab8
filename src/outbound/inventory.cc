#include "outbound/inventory.h"

#include <algorithm>

#include "scan/column_stats.h"

namespace kexin::outbound {

using nlohmann::json;

namespace {

void AddUnique(std::vector<std::string>* v, const std::string& s) {
  if (!s.empty() && std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
}

// A count from a scan report: a non-negative integer, or a data error naming the report and key.
Result<uint64_t> Count(const json& j, const char* key, const std::string& source) {
  const json& v = j.at(key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return DataError(source + ": \"" + key + "\" must be a non-negative integer, got " + v.dump());
  }
  return v.get<uint64_t>();
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<InventoryFile> FileFromJson(const json& f, const std::string& source) {
  InventoryFile out;
  out.path = f.at("path").get<std::string>();
  if (f.at("status").get<std::string>() != "ok") {
    std::string msg = f.contains("error") ? Str(f.at("error"), "message") : "";
    return FailedPrecondition(source + ": file " + out.path + " was not scanned (" + msg +
                              "); a transfer cannot be assessed from part of its data");
  }
  out.mode = f.at("mode").get<std::string>();
  KEXIN_ASSIGN_OR_RETURN(out.rows, Count(f, "rows_scanned", source));
  if (!f.at("rows_estimated").is_null()) {
    KEXIN_ASSIGN_OR_RETURN(uint64_t est, Count(f, "rows_estimated", source));
    out.rows_estimated = est;
  }
  out.level = f.at("level").get<std::string>();
  for (const auto& r : f.at("level_reasons")) out.level_reasons.push_back(r.get<std::string>());
  out.contains_pi = f.at("contains_pi").get<bool>();
  out.contains_sensitive_pi = f.at("contains_sensitive_pi").get<bool>();
  for (const auto& c : f.at("columns")) {
    InventoryColumn col;
    col.name = c.at("name").get<std::string>();
    if (c.at("category").is_string()) col.category = c.at("category").get<std::string>();
    if (c.at("pi_category").is_string()) col.pi_category = c.at("pi_category").get<std::string>();
    col.level = c.at("level").get<std::string>();
    col.sensitive = c.at("sensitive").get<bool>();
    if (!c.at("distinct").is_null()) {
      KEXIN_ASSIGN_OR_RETURN(uint64_t d, Count(c, "distinct", source));
      col.distinct = d;
    }
    for (const auto& e : c.at("evidence").at("embedded"))
      col.embedded.push_back(e.at("category").get<std::string>());
    out.columns.push_back(std::move(col));
  }
  bool sampled = out.mode == "sample";
  for (const auto& b : f.at("individuals").at("by_column")) {
    PeopleCount pc;
    pc.method = b.at("category").get<std::string>() + " in column '" +
                b.at("column").get<std::string>() + "'";
    KEXIN_ASSIGN_OR_RETURN(pc.distinct, Count(b, "distinct", source));
    pc.exact = b.at("exact").get<bool>();
    pc.sensitive = b.at("sensitive").get<bool>();
    // The scan's own extrapolation rule (docs/scan-report.md, "Table level").
    if (sampled && out.rows_estimated && out.rows > 0 && pc.distinct * 10 >= out.rows * 9) {
      pc.distinct = static_cast<uint64_t>(static_cast<double>(pc.distinct) / out.rows *
                                          static_cast<double>(*out.rows_estimated));
      pc.method += " (extrapolated from the sample)";
      pc.exact = false;
    } else if (sampled) {
      // A sample cannot tell how many people repeat outside it: the cautious count is one person
      // per row of the whole file.
      uint64_t upper = out.rows_estimated ? std::max(*out.rows_estimated, out.rows) : out.rows;
      if (upper > pc.distinct) {
        pc.distinct = upper;
        pc.method +=
            " (sampled: upper bound, one person per estimated row; scan with --full "
            "for an exact count)";
      }
      pc.exact = false;
    }
    out.counts.push_back(pc);
  }
  ComputePeople(&out);
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::vector<ColumnRef> Inventory::Columns() const {
  std::vector<ColumnRef> out;
  for (const auto& f : files) {
    for (const auto& c : f.columns) out.push_back({f.path, c.name, c.category, c.embedded});
  }
  return out;
}

void ComputePeople(InventoryFile* file) {
  file->people = 0;
  file->sensitive_people = 0;
  file->exact = file->mode != "sample";
  file->people_method.clear();
  file->sensitive_method.clear();
  if (!file->contains_pi) {
    file->people_method = "no personal information";
    return;
  }
  const PeopleCount* best = nullptr;
  for (const auto& c : file->counts) {
    if (best == nullptr || c.distinct > best->distinct) best = &c;
  }
  if (best != nullptr) {
    file->people = best->distinct;
    file->exact = file->exact && best->exact;
    file->people_method = "largest distinct count: " + best->method;
  } else {
    uint64_t rows = file->rows_estimated.value_or(file->rows);
    file->people = rows;
    file->exact = false;
    file->people_method =
        "no identifier, phone or name-with-birth-date column: rows (an upper bound)";
  }
  if (!file->contains_sensitive_pi) {
    file->sensitive_method = "no sensitive personal information";
    return;
  }
  // Sensitive columns without a distinct count (a diagnosis, an ethnicity) belong to every row's
  // person; only when every sensitive column carries identifiers is a smaller count justified.
  bool all_counted = true;
  for (const auto& c : file->columns) {
    if (c.sensitive && !c.distinct) all_counted = false;
  }
  const PeopleCount* sbest = nullptr;
  for (const auto& c : file->counts) {
    if (c.sensitive && (sbest == nullptr || c.distinct > sbest->distinct)) sbest = &c;
  }
  if (all_counted && sbest != nullptr) {
    file->sensitive_people = sbest->distinct;
    file->sensitive_method = "largest distinct count among sensitive columns: " + sbest->method;
  } else {
    file->sensitive_people = std::max<uint64_t>(file->people, 1);
    std::string col;
    for (const auto& c : file->columns) {
      if (c.sensitive && !c.distinct) {
        col = c.name;
        break;
      }
    }
    file->sensitive_method = "every person of the file: column '" + col + "' holds " +
                             "sensitive personal information without identifiers to count";
  }
}

void ComputeTotals(Inventory* inv) {
  inv->people = inv->sensitive_people = 0;
  inv->contains_pi = inv->contains_sensitive_pi = false;
  inv->exact = true;
  inv->sensitive_categories.clear();
  inv->pi_categories.clear();
  inv->important_reasons.clear();
  for (const auto& f : inv->files) {
    inv->people += f.people;
    inv->sensitive_people += f.sensitive_people;
    inv->contains_pi = inv->contains_pi || f.contains_pi;
    inv->contains_sensitive_pi = inv->contains_sensitive_pi || f.contains_sensitive_pi;
    inv->exact = inv->exact && f.exact;
    for (const auto& c : f.columns) {
      if (c.category.empty()) continue;
      AddUnique(&inv->pi_categories, c.pi_category);
      if (c.sensitive) AddUnique(&inv->sensitive_categories, c.category);
    }
    if (f.level == "important") {
      std::string why = f.level_reasons.empty() ? "" : " (" + f.level_reasons[0] + ")";
      inv->important_reasons.push_back("the scan grades " + f.path + " important" + why);
    }
  }
  inv->method =
      "per file, the largest of the distinct normalised identifiers per column (ID numbers, "
      "phones, e-mail, bank cards, passports, permits; counted by kexin scan) and the distinct "
      "(name, birth date) pairs; across files, the sum (an upper bound when a person appears in "
      "several files)";
  std::string used;
  for (const auto& f : inv->files) {
    if (f.people_method.empty()) continue;
    used += (used.empty() ? "" : "; ") + f.path + ": " + f.people_method;
  }
  if (!used.empty()) inv->method += ". Used here: " + used;
}

Result<Inventory> InventoryFromScanJson(const json& report, const std::string& source) {
  Inventory inv;
  inv.source = source;
  try {
    if (Str(report, "report") != "kexin.scan") {
      return DataError(source + ": not a kexin scan report (report = \"" + Str(report, "report") +
                       "\")");
    }
    if (report.at("schema_version").get<int>() != 1) {
      return DataError(source + ": unsupported scan report schema_version " +
                       report.at("schema_version").dump());
    }
    inv.scanned_at = Str(report, "generated_at");
    inv.rules = Str(report, "rules");
    for (const auto& f : report.at("files")) {
      KEXIN_ASSIGN_OR_RETURN(InventoryFile file, FileFromJson(f, source));
      if (file.mode == "sample") {
        inv.notes.push_back(file.path +
                            " was sampled: people counts are estimates; scan with --full for "
                            "counts near a threshold");
      }
      inv.files.push_back(std::move(file));
    }
  } catch (const json::exception& e) {
    return DataError(source + ": malformed scan report: " + e.what());
  }
  if (inv.files.empty()) return DataError(source + ": the scan report lists no files");
  ComputeTotals(&inv);
  return inv;
}

Status CountNameBirthPairs(InventoryFile* file, const table::ReadOptions& options) {
  std::string name_col, birth_col;
  for (const auto& c : file->columns) {
    if (c.category == "person_name" && name_col.empty()) name_col = c.name;
    if (c.category == "birth_date" && birth_col.empty()) birth_col = c.name;
  }
  if (name_col.empty() || birth_col.empty()) return Status::Ok();
  KEXIN_ASSIGN_OR_RETURN(auto reader, table::TableReader::Open(file->path, options));
  auto parser = table::RecordParser::Create(reader->info());
  scan::DistinctCounter counter;
  std::hash<std::string> hasher;
  table::Chunk chunk;
  uint64_t rows_before = 0;
  bool found = false;  // the scan's column names were found in the table (they always should be)
  while (true) {
    KEXIN_ASSIGN_OR_RETURN(bool more, reader->Next(&chunk));
    if (!more) break;
    // JSONL parsers learn keys as they go: look the columns up per chunk.
    int ni = -1, bi = -1;
    std::string key;
    Status s =
        parser->Parse(chunk.data, false, [&](uint64_t, const std::vector<std::string_view>& cells) {
          if (ni < 0 || bi < 0) {
            const auto& cols = parser->columns();
            for (size_t i = 0; i < cols.size(); ++i) {
              if (cols[i] == name_col) ni = static_cast<int>(i);
              if (cols[i] == birth_col) bi = static_cast<int>(i);
            }
            if (ni < 0 || bi < 0) return;
            found = true;
          }
          if (static_cast<size_t>(std::max(ni, bi)) >= cells.size()) return;
          std::string name = Trim(cells[static_cast<size_t>(ni)]);
          // Digit groups, each zero-padded to two digits, so 1990-1-5, 1990-01-05 and
          // 1990年1月5日 are one date.
          std::string digits, group;
          auto flush = [&] {
            if (group.size() == 1) digits.push_back('0');
            digits += group;
            group.clear();
          };
          for (char ch : cells[static_cast<size_t>(bi)]) {
            if (ch >= '0' && ch <= '9') {
              group.push_back(ch);
            } else if (!group.empty()) {
              flush();
            }
          }
          if (!group.empty()) flush();
          if (name.empty() || digits.empty()) return;
          key = name;
          key.push_back('\x1f');
          key += digits;
          counter.Add(hasher(key));
        });
    if (!s.ok()) {
      // Rows are numbered with the header as row 1 (table_reader.h).
      uint64_t row = rows_before + parser->failed_record() + (reader->info().has_header ? 2 : 1);
      return DataError(file->path + ":" + std::to_string(row) + ": " + s.message());
    }
    rows_before += parser->records();
  }
  if (!found) return Status::Ok();
  PeopleCount pc;
  pc.method = "person_name + birth_date pairs in columns '" + name_col + "', '" + birth_col + "'";
  pc.distinct = counter.Count();
  pc.exact = counter.exact();
  file->counts.push_back(pc);
  ComputePeople(file);
  return Status::Ok();
}

}  // namespace kexin::outbound
