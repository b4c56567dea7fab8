#include "scan/scanner.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "scan/column_stats.h"
#include "scan/mask.h"

namespace kexin::scan {
namespace {

using table::Chunk;
using table::RecordParser;
using table::TableReader;

std::string_view Trim(std::string_view v) {
  // Nearly every cell starts and ends with a printable character.
  if (!v.empty() && static_cast<unsigned char>(v.front()) > ' ' &&
      static_cast<unsigned char>(v.back()) > ' ')
    return v;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

int CurrentYear() {
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  return tm.tm_year + 1900;
}

// Remembers the detection result of recent short values of one column. Columns of few distinct
// values (gender, ethnicity, status, city) repeat the same cells millions of times; a hit costs a
// hash and a compare instead of the shape filter, dictionaries and validators. A column whose hit
// rate stays low after a trial switches the memo off.
class CellMemo {
 public:
  static constexpr size_t kMaxBytes = 40;
  struct Entry {
    uint64_t hash = 0;
    CellMatch match;
    bool text = false;
    // A hit needs nothing but counting (no distinct values, text search or examples to collect):
    // it only adds to `pending`, which Worker::Settle adds to the column's counts.
    bool quiet = false;
    uint8_t len = 0;
    uint64_t pending = 0;
    int year = 0;  // DateYear of the value when it matched a birth-year category weakly
    char bytes[kMaxBytes];
  };
  bool enabled() const { return enabled_; }
  std::vector<Entry>& entries() { return table_; }
  int confirmed = -1;  // see Worker::MaybeConfirm
  static uint64_t Hash(std::string_view v) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ v.size();
    size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
      uint64_t w;
      memcpy(&w, v.data() + i, 8);
      h = (h ^ w) * 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    }
    static_assert(std::endian::native == std::endian::little);
    // The remaining bytes zero-extended, as a little-endian word; for values of eight bytes or more
    // from an overlapping load of the last eight, shifted.
    uint64_t w = 0;
    const size_t rest = v.size() - i;
    if (v.size() >= 8) {
      if (rest != 0) {
        memcpy(&w, v.data() + v.size() - 8, 8);
        w >>= 8 * (8 - rest);
      }
    } else {
      memcpy(&w, v.data() + i, rest);
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
  }
  // bytes[0, v.size()) == v, for v of at most kMaxBytes: eight bytes at a time, no library call.
  static bool Equal(const char* bytes, std::string_view v) {
    size_t i = 0;
    const size_t n = v.size();
    uint64_t a, b;
    if (n >= 8) {
      for (; i + 8 <= n; i += 8) {
        memcpy(&a, bytes + i, 8);
        memcpy(&b, v.data() + i, 8);
        if (a != b) return false;
      }
      if (i == n) return true;
      memcpy(&a, bytes + n - 8, 8);  // the last eight bytes, overlapping those compared
      memcpy(&b, v.data() + n - 8, 8);
      return a == b;
    }
    uint32_t c, d;
    if (n >= 4) {
      memcpy(&c, bytes, 4);
      memcpy(&d, v.data(), 4);
      if (c != d) return false;
      memcpy(&c, bytes + n - 4, 4);
      memcpy(&d, v.data() + n - 4, 4);
      return c == d;
    }
    for (; i < n; ++i) {
      if (bytes[i] != v[i]) return false;
    }
    return true;
  }
  // Returns the entry for v; *found tells a hit. Call Switch() when `trial_over` is set.
  Entry* Find(std::string_view v, uint64_t h, bool* found, bool* trial_over) {
    if (table_.empty()) table_.resize(kSlots);
    Entry& e = table_[h & (kSlots - 1)];
    *found = e.len == v.size() && e.hash == h && Equal(e.bytes, v);
    *trial_over = false;
    if (lookups_ < kTrial) {
      ++lookups_;
      if (*found) ++hits_;
      *trial_over = lookups_ == kTrial && hits_ * 2 < lookups_;
    }
    return &e;
  }
  // Too few repeats: switch off, after the caller settled the pending counts. The caller may still
  // fill in the entry Find returned, so it gets a spare one rather than a slot being freed.
  Entry* SwitchOff(const Entry& e) {
    enabled_ = false;
    spare_ = e;
    table_.clear();
    table_.shrink_to_fit();
    return &spare_;
  }

 private:
  static constexpr size_t kSlots = 512;
  static constexpr uint64_t kTrial = 4096;
  std::vector<Entry> table_;
  Entry spare_;
  uint64_t lookups_ = 0, hits_ = 0;
  bool enabled_ = true;
};

// Work of one thread: its own parser, scratch and per-column evidence.
class Worker {
 public:
  explicit Worker(const DetectorSet& d, const table::TableInfo& info)
      : det_(d), parser_(RecordParser::Create(info)), scratch_(d.NewScratch()) {
    for (size_t i = 0; i < d.size(); ++i) {
      const CategoryRule& r = d.rules().categories[i];
      if (r.counts_individuals) counting_ |= uint64_t{1} << i;
      if (r.column_check == "birth_years") date_bit_ |= uint64_t{1} << i;
    }
  }

  struct Outcome {
    uint64_t index = 0, records = 0, skipped = 0, blank = 0, failed_record = 0;
    Status status;
  };

  Outcome Process(const Chunk& chunk, bool lenient) {
    Outcome o;
    o.index = chunk.index;
    chunk_ = chunk.index;
    // Records come in batches small enough to stay in cache and are scanned column by column: the
    // column's evidence, memo and validators stay hot over a run of its cells. Columns are
    // independent, so this gives the same evidence as scanning row by row.
    o.status =
        parser_->ParseBatches(chunk.data, lenient, kBatchRows,
                              [this](const std::string_view* cells, size_t rows, size_t columns) {
                                if (cols_.size() < columns) {
                                  cols_.resize(columns, ColumnStats(det_.size()));
                                  memos_.resize(columns);
                                }
                                for (size_t c = 0; c < columns; ++c) {
                                  ColumnStats& s = cols_[c];
                                  CellMemo& memo = memos_[c];
                                  for (size_t r = 0; r < rows; ++r)
                                    Cell(s, memo, cells[r * columns + c]);
                                }
                              });
    o.records = parser_->records();
    o.skipped = parser_->skipped();
    o.blank = parser_->blank();
    o.failed_record = parser_->failed_record();
    return o;
  }

  std::vector<ColumnStats>& columns() {
    for (size_t c = 0; c < cols_.size(); ++c) SettleAll(cols_[c], memos_[c]);
    return cols_;
  }
  const std::vector<std::string>& names() const { return parser_->columns(); }

 private:
  // A column is confirmed as category i once at least kConfirmAfter of its values were seen, 98% of
  // them matched i strongly and no other category matched more than 2%; from then on each value is
  // first checked against i alone and only values that do not match it go through every detector.
  // Other categories are still counted on every value that is not i, so their counts become lower
  // bounds (they miss values that also match i, which were at most 2% before confirmation).
  static constexpr uint64_t kConfirmAfter = 16384;
  // 32 rows of a typical table (cells and their bytes) fit in the L1 data cache: callgrind's cache
  // simulation on a 50 MB benchmark table counted 9.2 M L1 misses at 32 rows against 11.9 M at 256.
  static constexpr size_t kBatchRows = 32;

  // Adds the counts of quiet memo hits not yet counted.
  void Settle(ColumnStats& s, CellMemo::Entry& e) {
    const uint64_t k = e.pending;
    if (k == 0) return;
    e.pending = 0;
    for (uint64_t bits = e.match.strong; bits; bits &= bits - 1)
      s.strong[__builtin_ctzll(bits)] += k;
    for (uint64_t bits = e.match.weak & ~e.match.strong; bits; bits &= bits - 1)
      s.weak[__builtin_ctzll(bits)] += k;
    if (e.match.weak & date_bit_) {
      const int y = e.year;
      if (s.years == 0 || y < s.min_year) s.min_year = y;
      if (s.years == 0 || y > s.max_year) s.max_year = y;
      s.year_sum += static_cast<uint64_t>(y) * k;
      s.years += k;
    }
  }
  void SettleAll(ColumnStats& s, CellMemo& memo) {
    for (CellMemo::Entry& e : memo.entries()) Settle(s, e);
  }
  // Whether a hit on this match needs only its counts (see CellMemo::Entry::quiet).
  bool Quiet(const ColumnStats& s, const CellMatch& m, bool text) const {
    if (text || (m.strong & counting_) != 0) return false;
    for (uint64_t bits = m.strong | m.weak; bits; bits &= bits - 1) {
      if (s.examples[__builtin_ctzll(bits)].size() < 3) return false;
    }
    return true;
  }

  void MaybeConfirm(ColumnStats& s, CellMemo& memo) {
    int* confirmed = &memo.confirmed;
    if (*confirmed >= 0 || s.non_empty < kConfirmAfter || (s.non_empty & 4095) != 0) return;
    SettleAll(s, memo);
    // Only an unrivalled category: i matched 98% of values and no other category more than 2%,
    // so values that match i and another category cannot decide between them.
    const double n = static_cast<double>(s.non_empty);
    int candidate = -1;
    for (size_t i = 0; i < s.strong.size(); ++i) {
      double share = static_cast<double>(s.strong[i] + s.weak[i]) / n;
      if (det_.CanMatchOne(i) && static_cast<double>(s.strong[i]) >= 0.98 * n) {
        if (candidate >= 0) return;
        candidate = static_cast<int>(i);
      } else if (share > 0.02) {
        return;
      }
    }
    *confirmed = candidate;
  }

  void Cell(ColumnStats& s, CellMemo& memo, std::string_view raw) {
    ++s.values;
    std::string_view v = Trim(raw);
    if (v.empty()) return;
    ++s.non_empty;
    s.bytes += v.size();
    CellMatch m;
    bool text;
    MaybeConfirm(s, memo);
    CellMemo::Entry* e = nullptr;
    if (memo.confirmed >= 0 && !(memo.enabled() && v.size() <= CellMemo::kMaxBytes) &&
        det_.MatchOne(static_cast<size_t>(memo.confirmed), v) == Strength::kStrong) {
      m.strong = uint64_t{1} << memo.confirmed;
      text = false;
    } else if (memo.enabled() && v.size() <= CellMemo::kMaxBytes) {
      uint64_t h = CellMemo::Hash(v);
      bool found, trial_over;
      e = memo.Find(v, h, &found, &trial_over);
      if (found && e->quiet && !trial_over) {
        ++e->pending;
        return;
      }
      if (trial_over) {
        SettleAll(s, memo);
        e = memo.SwitchOff(*e);
      }
      if (found) {
        m = e->match;
        text = e->text;
      } else {
        Settle(s, *e);  // the value it held is being replaced
        m = det_.Match(v, scratch_.get());
        text = m.strong == 0 && m.text;
        e->hash = h;
        e->match = m;
        e->text = text;
        e->len = static_cast<uint8_t>(v.size());
        e->year = (m.weak & date_bit_) ? (m.year ? m.year : DateYear(v)) : 0;
        memcpy(e->bytes, v.data(), v.size());
      }
    } else {
      m = det_.Match(v, scratch_.get());
      text = m.strong == 0 && m.text;
    }
    for (uint64_t bits = m.strong | m.weak; bits; bits &= bits - 1) {
      int i = __builtin_ctzll(bits);
      uint64_t bit = uint64_t{1} << i;
      if (m.strong & bit) {
        ++s.strong[i];
        if (counting_ & bit) s.distinct[i].Add(det_.NormalizedHash(i, v));
      } else {
        ++s.weak[i];
      }
      if (s.examples[i].size() < 3) s.AddExample(i, chunk_, MaskValue(v));
    }
    if (m.weak & date_bit_) {
      int y = m.year ? m.year : DateYear(v);
      if (s.years == 0 || y < s.min_year) s.min_year = y;
      if (s.years == 0 || y > s.max_year) s.max_year = y;
      s.year_sum += static_cast<uint64_t>(y);
      ++s.years;
    }
    if (e != nullptr) e->quiet = memo.enabled() && Quiet(s, m, text);
    if (text) {
      ++s.text_cells;
      spans_.clear();
      det_.FindEmbedded(v, scratch_.get(), [&](int cat, std::string_view span) {
        ++s.embedded[cat];
        size_t from = static_cast<size_t>(span.data() - v.data());
        spans_.push_back(
            {{from, from + span.size()}, det_.rules().categories[static_cast<size_t>(cat)].id});
        if ((counting_ >> cat) & 1) s.distinct[cat].Add(det_.NormalizedHash(cat, span));
      });
      if (!spans_.empty()) {
        ++s.cells_with_embedded;
        int ft = det_.free_text_index();
        if (ft >= 0 && s.examples[ft].size() < 3)
          s.AddExample(static_cast<size_t>(ft), chunk_, MaskFreeText(v, spans_));
      }
    }
  }

  const DetectorSet& det_;
  std::unique_ptr<RecordParser> parser_;
  std::unique_ptr<DetectorSet::Scratch> scratch_;
  std::vector<ColumnStats> cols_;
  std::vector<CellMemo> memos_;
  std::vector<std::pair<std::pair<size_t, size_t>, std::string>> spans_;
  uint64_t counting_ = 0, date_bit_ = 0;
  uint64_t chunk_ = 0;  // index of the chunk being scanned
};

// A bounded queue of chunks between the reading thread and the workers.
class ChunkQueue {
 public:
  explicit ChunkQueue(size_t cap) : cap_(cap) {}
  bool Push(Chunk c) {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] { return q_.size() < cap_ || closed_; });
    if (closed_) return false;
    q_.push_back(std::move(c));
    not_empty_.notify_one();
    return true;
  }
  bool Pop(Chunk* c) {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    *c = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Chunk> q_;
  size_t cap_;
  bool closed_ = false;
};

class Progress {
 public:
  Progress(const ScanOptions& o, uint64_t total) : fn_(o.progress), total_(total) {}
  void Add(uint64_t bytes) {
    done_ += bytes;
    if (!fn_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    fn_(done_, total_);
  }

 private:
  std::function<void(uint64_t, uint64_t)> fn_;
  uint64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

// Message of a parser error without its "record N: " prefix.
std::string StripRecordPrefix(const std::string& m) {
  if (m.rfind("record ", 0) == 0) {
    size_t p = m.find(": ");
    if (p != std::string::npos) return m.substr(p + 2);
  }
  return m;
}

}  // namespace

bool HeaderHints(const CategoryRule& rule, std::string_view header, bool negative) {
  std::string h;
  for (char c : header) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-' || c == ' ' || c == '.') c = '_';
    h += c;
  }
  for (const auto& hint : negative ? rule.negative_header_hints : rule.header_hints) {
    bool ascii = std::all_of(hint.begin(), hint.end(),
                             [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!ascii) {
      if (h.find(hint) != std::string::npos) return true;
      continue;
    }
    if (h == hint || h.rfind(hint + "_", 0) == 0 ||
        (h.size() > hint.size() &&
         h.compare(h.size() - hint.size() - 1, std::string::npos, "_" + hint) == 0) ||
        h.find("_" + hint + "_") != std::string::npos) {
      return true;
    }
  }
  return false;
}

ColumnResult DecideColumn(const DetectorSet& det, const std::string& name, size_t index,
                          const ColumnStats& s) {
  const Rules& rules = det.rules();
  ColumnResult r;
  r.name = name;
  r.index = index;
  r.values = s.values;
  r.non_empty = s.non_empty;
  r.level = rules.no_pi_level;
  r.cells_with_embedded = s.cells_with_embedded;
  const double n = static_cast<double>(std::max<uint64_t>(s.non_empty, 1));
  for (size_t i = 0; i < det.size(); ++i) {
    uint64_t c = s.strong[i] + s.weak[i];
    if (c) r.matches.push_back({rules.categories[i].id, c, s.examples[i]});
    if (s.embedded[i]) r.embedded.push_back({rules.categories[i].id, s.embedded[i], {}});
  }
  auto by_count = [](const CategoryCount& a, const CategoryCount& b) { return a.count > b.count; };
  std::stable_sort(r.matches.begin(), r.matches.end(), by_count);
  std::stable_sort(r.embedded.begin(), r.embedded.end(), by_count);

  bool any_hint = false;
  std::vector<bool> hinted(det.size());
  for (size_t i = 0; i < det.size(); ++i) {
    hinted[i] = HeaderHints(rules.categories[i], name);
    any_hint = any_hint || hinted[i];
  }
  int best = -1;
  double best_ratio = 0, best_any = 0;
  int weak_only = -1;  // a category whose matches were all weak and not counted
  std::string why_not;
  for (size_t i = 0; i < det.size(); ++i) {
    const CategoryRule& rule = rules.categories[i];
    if (rule.is_free_text) continue;
    bool negative = HeaderHints(rule, name, true);
    uint64_t count = s.strong[i];
    if (s.weak[i]) {
      bool eligible = hinted[i] && !negative;
      if (!eligible && !negative && rule.column_check == "birth_years" && s.years) {
        double mean = static_cast<double>(s.year_sum) / static_cast<double>(s.years);
        int now = CurrentYear();
        eligible = s.min_year >= 1900 && s.max_year <= now && s.max_year - s.min_year >= 15 &&
                   now - mean >= 10 && now - mean <= 90;
      }
      if (eligible)
        count += s.weak[i];
      else if (s.strong[i] == 0 &&
               (weak_only < 0 || s.weak[i] > s.weak[static_cast<size_t>(weak_only)]))
        weak_only = static_cast<int>(i);
    }
    double ratio = static_cast<double>(count) / n;
    best_any = std::max(best_any, ratio);
    double need = hinted[i] ? rule.hinted_min_ratio : rule.min_ratio;
    if (negative && !hinted[i]) need = std::max(need, 0.95);  // the header argues against it
    if (ratio < need || count == 0) continue;
    if (best < 0 || ratio > best_ratio + 0.02) {
      best = static_cast<int>(i);
      best_ratio = ratio;
    }
  }
  if (best >= 0) {
    const CategoryRule& rule = rules.categories[best];
    r.category = rule.id;
    r.match_ratio = best_ratio;
    r.header_hint = hinted[best];
    double conf = rule.confidence * best_ratio;
    if (hinted[best])
      conf += 0.1;
    else if (any_hint)
      conf -= 0.1;
    r.confidence = std::clamp(conf, 0.0, 1.0);
    r.pi_category = rule.pi_category;
    r.sensitive = rule.sensitive;
    r.level = rule.level;
    if (rule.counts_individuals) {
      r.distinct = s.distinct[best].Count();
      r.distinct_exact = s.distinct[best].exact();
    }
    char buf[160];
    snprintf(buf, sizeof buf, "%.1f%% of %llu non-empty values are %s%s", best_ratio * 100,
             static_cast<unsigned long long>(s.non_empty), rule.id.c_str(),
             hinted[best] ? "; the header agrees" : "");
    r.reason = buf;
    return r;
  }
  int ft = det.free_text_index();
  if (ft >= 0 && s.text_cells && s.cells_with_embedded &&
      static_cast<double>(s.cells_with_embedded) >=
          rules.free_text_min_ratio * static_cast<double>(s.text_cells)) {
    const CategoryRule& rule = rules.categories[ft];
    r.category = rule.id;
    r.match_ratio = static_cast<double>(s.cells_with_embedded) / static_cast<double>(s.text_cells);
    r.header_hint = hinted[ft];
    r.confidence = std::clamp(rule.confidence + (hinted[ft] ? 0.1 : 0.0), 0.0, 1.0);
    r.pi_category = rule.pi_category;
    r.level = rule.level;
    r.sensitive = rule.sensitive;
    uint64_t people = 0;
    bool exact = true;
    for (const auto& e : r.embedded) {
      const CategoryRule* er = rules.Find(e.category);
      if (rules.LevelRank(er->level) > rules.LevelRank(r.level)) r.level = er->level;
      r.sensitive = r.sensitive || er->sensitive;
      size_t ei = static_cast<size_t>(er - rules.categories.data());
      if (er->counts_individuals) {
        people = std::max(people, s.distinct[ei].Count());
        exact = exact && s.distinct[ei].exact();
      }
    }
    if (people) {
      r.distinct = people;
      r.distinct_exact = exact;
    }
    r.matches.insert(r.matches.begin(), {rule.id, s.cells_with_embedded, s.examples[ft]});
    r.reason = std::to_string(s.cells_with_embedded) + " of " + std::to_string(s.text_cells) +
               " text values hold identifiers inside";
    return r;
  }
  if (s.non_empty == 0) {
    r.reason = "empty column";
  } else if (best_any == 0 && weak_only >= 0) {
    r.reason = std::to_string(s.weak[static_cast<size_t>(weak_only)]) + " values fit " +
               rules.categories[static_cast<size_t>(weak_only)].id +
               " only weakly and neither the header nor the values' distribution supports it";
  } else if (best_any > 0) {
    char buf[160];
    snprintf(buf, sizeof buf, "best candidate matched only %.1f%% of values", best_any * 100);
    r.reason = buf;
    r.match_ratio = best_any;
  } else {
    r.reason = "no value matched a detector";
  }
  return r;
}

void GradeTable(const Rules& rules, TableResult* t) {
  t->level = rules.no_pi_level;
  t->level_reasons.clear();
  t->individuals.clear();
  for (const auto& c : t->columns) {
    if (!c.category) continue;
    const CategoryRule* rule = rules.Find(*c.category);
    if (!c.pi_category.empty()) t->contains_pi = true;
    if (c.sensitive) t->contains_sensitive_pi = true;
    if (rules.LevelRank(c.level) > rules.LevelRank(t->level)) t->level = c.level;
    if (c.distinct) {
      t->individuals.push_back({*c.category, c.name, *c.distinct, c.distinct_exact, c.sensitive});
      t->individuals_estimate = std::max(t->individuals_estimate, *c.distinct);
    }
    (void)rule;
  }
  for (const auto& c : t->columns) {
    if (c.category && c.level == t->level) {
      t->level_reasons.push_back("column '" + c.name + "' holds " + *c.category + " (" + c.level +
                                 ")");
    }
  }
  uint64_t sensitive_people = 0;
  for (const auto& i : t->individuals) {
    uint64_t n = i.distinct;
    // A sample sees each person about once when values are nearly all distinct: scale up.
    if (t->sampled && t->rows_estimated && t->rows_scanned > 0 &&
        static_cast<double>(i.distinct) >= 0.9 * static_cast<double>(t->rows_scanned)) {
      n = static_cast<uint64_t>(static_cast<double>(i.distinct) /
                                static_cast<double>(t->rows_scanned) *
                                static_cast<double>(*t->rows_estimated));
      t->individuals_extrapolated = std::max(t->individuals_extrapolated, n);
    }
    if (i.sensitive) sensitive_people = std::max(sensitive_people, n);
  }
  const uint64_t people = std::max(t->individuals_estimate, t->individuals_extrapolated);
  const std::string how = t->individuals_extrapolated > t->individuals_estimate
                              ? " (extrapolated from the sample)"
                              : "";
  int important = rules.LevelRank(rules.important_level);
  if (important >= 0 && rules.LevelRank(t->level) < important) {
    if (people >= rules.important_individuals) {
      t->level = rules.important_level;
      t->level_reasons = {"personal information of about " + std::to_string(people) +
                          " individuals" + how + " (threshold " +
                          std::to_string(rules.important_individuals) + ")"};
    } else if (sensitive_people >= rules.important_sensitive_individuals) {
      t->level = rules.important_level;
      t->level_reasons = {"sensitive personal information of about " +
                          std::to_string(sensitive_people) + " individuals" + how + " (threshold " +
                          std::to_string(rules.important_sensitive_individuals) + ")"};
    }
  }
  if (t->level_reasons.empty()) t->level_reasons.push_back("no personal or sensitive data found");
  if (t->sampled) {
    t->level_reasons.push_back(
        "graded from a sample: rows not read may hold more; run --full for a complete grading");
  }
}

Result<TableResult> ScanFile(const std::string& path, const DetectorSet& det,
                             const ScanOptions& opts) {
  auto t0 = std::chrono::steady_clock::now();
  table::ReadOptions ro = opts.read;
  constexpr uint64_t kSmallFile = 8 << 20;
  KEXIN_ASSIGN_OR_RETURN(auto probe, TableReader::Open(path, ro));
  const table::TableInfo info = probe->info();
  bool full = opts.full || info.file_bytes <= kSmallFile;
  int threads = full ? std::max(1, opts.threads) : 1;
  if (!full) ro.chunk_bytes = std::min<size_t>(ro.chunk_bytes, 64 * 1024);
  if (!full) {
    KEXIN_ASSIGN_OR_RETURN(probe, TableReader::Open(path, ro));
  }
  TableReader& reader = *probe;

  TableResult result;
  result.info = info;
  result.threads = threads;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) workers.push_back(std::make_unique<Worker>(det, info));
  std::vector<Worker::Outcome> outcomes;
  Status read_error;
  uint64_t read_error_chunk = 0;
  Progress progress(opts, info.file_bytes);

  if (!full) {
    // Head chunk, strict; then blocks spread through the file, lenient at their edges.
    Chunk chunk;
    auto head = reader.Next(&chunk);
    if (!head.ok()) {
      uint64_t row = (info.has_header ? 1 : 0) + reader.lines_after_last_chunk() + 1;
      return Status(head.status().code(),
                    path + ":" + std::to_string(row) + ": " + head.status().message());
    }
    bool got = *head;
    uint64_t head_bytes = chunk.data.size();
    if (got) outcomes.push_back(workers[0]->Process(chunk, false));
    uint64_t head_rows = got ? outcomes.back().records : 0;
    uint64_t target = opts.sample_rows ? opts.sample_rows : det.rules().sample_rows;
    result.sampled = true;
    if (got && outcomes.back().status.ok() && head_rows > 0) {
      double avg = static_cast<double>(head_bytes) / static_cast<double>(head_rows);
      uint64_t body = info.file_bytes - info.data_offset;
      result.rows_estimated = static_cast<uint64_t>(static_cast<double>(body) / avg);
      constexpr int kBlocks = 32;
      uint64_t remaining = target > head_rows ? target - head_rows : 0;
      size_t block =
          static_cast<size_t>(std::max(4096.0, avg * static_cast<double>(remaining) / kBlocks));
      for (int k = 1; k <= kBlocks && remaining > 0; ++k) {
        uint64_t off = info.data_offset + head_bytes + (body - head_bytes) * k / (kBlocks + 1);
        Chunk c;
        auto ok = reader.ReadAt(off, block, &c);
        if (!ok.ok())
          return ok.status().WithContext(path + ": sample block at byte " + std::to_string(off));
        if (!*ok) {
          result.warnings.push_back("the sample block at byte " + std::to_string(off) +
                                    " holds no complete row (a row longer than the block?)");
          continue;
        }
        c.index = static_cast<uint64_t>(k);
        Worker::Outcome o = workers[0]->Process(c, true);
        result.rows_skipped += o.skipped;
        if (o.records > 0 && o.skipped == o.records) {
          result.warnings.push_back("no row of the sample block at byte " + std::to_string(off) +
                                    " parsed");
        }
        result.bytes_scanned += c.data.size();
        outcomes.push_back(o);
      }
    }
    result.bytes_scanned += head_bytes;
  } else if (threads == 1) {
    Chunk chunk;
    while (true) {
      auto got = reader.Next(&chunk);
      if (!got.ok()) {
        read_error = got.status();
        read_error_chunk = chunk.index + 1;
        break;
      }
      if (!*got) break;
      outcomes.push_back(workers[0]->Process(chunk, false));
      result.bytes_scanned += chunk.data.size();
      progress.Add(chunk.file_bytes);
      if (!outcomes.back().status.ok()) break;
    }
  } else {
    ChunkQueue queue(static_cast<size_t>(threads) * 2);
    std::mutex mu;
    bool failed = false;
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&, i] {
        Chunk c;
        while (queue.Pop(&c)) {
          Worker::Outcome o = workers[i]->Process(c, false);
          std::lock_guard<std::mutex> l(mu);
          failed = failed || !o.status.ok();
          outcomes.push_back(std::move(o));
        }
      });
    }
    uint64_t next = 0;
    while (true) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (failed) break;
      }
      Chunk chunk;
      auto got = reader.Next(&chunk);
      if (!got.ok()) {
        read_error = got.status();
        read_error_chunk = next;
        break;
      }
      if (!*got) break;
      next = chunk.index + 1;
      result.bytes_scanned += chunk.data.size();
      progress.Add(chunk.file_bytes);
      if (!queue.Push(std::move(chunk))) break;
    }
    queue.Close();
    for (auto& th : pool) th.join();
  }

  // Errors, with absolute row numbers: records of earlier chunks plus the header.
  std::sort(outcomes.begin(), outcomes.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  uint64_t before = info.has_header ? 1 : 0;
  for (const auto& o : outcomes) {
    if (!o.status.ok()) {
      return Status(o.status.code(), path + ":" + std::to_string(before + o.failed_record + 1) +
                                         ": " + StripRecordPrefix(o.status.message()));
    }
    before += o.records;
    result.rows_scanned += o.records - o.skipped - o.blank;
  }
  if (!read_error.ok()) {
    (void)read_error_chunk;
    uint64_t row = before + 1 + reader.lines_after_last_chunk();
    return Status(read_error.code(),
                  path + ":" + std::to_string(row) + ": " + read_error.message());
  }
  if (!result.sampled) result.rows_estimated.reset();

  // Merge per-thread evidence by column name (JSONL workers may discover keys in other orders).
  std::vector<std::string> names = info.columns;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < names.size(); ++i) index[names[i]] = i;
  std::vector<ColumnStats> merged(names.size(), ColumnStats(det.size()));
  for (auto& w : workers) {
    const auto& wn = w->names();
    auto& cols = w->columns();
    for (size_t c = 0; c < cols.size() && c < wn.size(); ++c) {
      auto [it, inserted] = index.try_emplace(wn[c], names.size());
      if (inserted) {
        names.push_back(wn[c]);
        merged.emplace_back(det.size());
      }
      if (merged[it->second].values == 0) {
        merged[it->second] = std::move(cols[c]);  // the first worker's evidence: no copy
      } else {
        merged[it->second].Merge(cols[c]);
      }
    }
  }
  for (size_t i = 0; i < names.size(); ++i)
    result.columns.push_back(DecideColumn(det, names[i], i, merged[i]));
  result.info.columns = names;
  GradeTable(det.rules(), &result);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace kexin::scan
