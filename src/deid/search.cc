#include "deid/search.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <limits>
#include <memory>
#include <numeric>
#include <unordered_map>

namespace kexin::deid {

struct Anonymizer::Classes {
  std::vector<int> levels;
  std::vector<uint32_t> rep;   // a representative cell of each class
  std::vector<uint64_t> size;  // rows in each class
};

namespace {

constexpr double kEps = 1e-12;

int BitWidth(size_t n) {
  int b = 0;
  while ((size_t{1} << b) < n + 1) ++b;
  return std::max(b, 1);
}

// Open-addressing map from a packed class key to a class index, cleared in O(1) between checks.
template <typename Key>
class KeyTable {
 public:
  void Reset(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    if (cap > keys_.size()) {
      keys_.assign(cap, 0);
      vals_.assign(cap, 0);
      stamps_.assign(cap, 0);
      stamp_ = 0;
    }
    mask_ = keys_.size() - 1;
    if (++stamp_ == 0) {
      std::fill(stamps_.begin(), stamps_.end(), 0);
      stamp_ = 1;
    }
  }
  // Returns the value for `key`, inserting `next` when absent.
  uint32_t FindOrInsert(Key key, uint32_t next, bool* inserted) {
    uint64_t h = static_cast<uint64_t>(key) ^ static_cast<uint64_t>(key >> 63 >> 1);
    h *= 0x9E3779B97F4A7C15ull;
    for (size_t i = (h ^ (h >> 29)) & mask_;; i = (i + 1) & mask_) {
      if (stamps_[i] != stamp_) {
        stamps_[i] = stamp_;
        keys_[i] = key;
        vals_[i] = next;
        *inserted = true;
        return next;
      }
      if (keys_[i] == key) {
        *inserted = false;
        return vals_[i];
      }
    }
  }

 private:
  std::vector<Key> keys_;
  std::vector<uint32_t> vals_;
  std::vector<uint32_t> stamps_;
  uint32_t stamp_ = 0;
  size_t mask_ = 0;
};

using U128 = unsigned __int128;

}  // namespace

std::string_view MetricName(Metric m) {
  switch (m) {
    case Metric::kLoss:
      return "loss";
    case Metric::kDiscernibility:
      return "discernibility";
    case Metric::kPrecision:
      return "precision";
  }
  return "?";
}

std::string DescribeModel(const PrivacyModel& m) {
  std::vector<std::string> parts;
  if (m.k > 1) parts.push_back(fmt::format("{}-anonymity", m.k));
  switch (m.diversity) {
    case Diversity::kNone:
      break;
    case Diversity::kDistinct:
      parts.push_back(fmt::format("distinct {}-diversity", m.l));
      break;
    case Diversity::kEntropy:
      parts.push_back(fmt::format("entropy {}-diversity", m.l));
      break;
    case Diversity::kRecursive:
      parts.push_back(fmt::format("recursive ({},{})-diversity", m.c, m.l));
      break;
  }
  if (m.closeness == Closeness::kEqual)
    parts.push_back(fmt::format("{}-closeness (equal distance)", m.t));
  if (m.closeness == Closeness::kHierarchical) {
    parts.push_back(fmt::format("{}-closeness (hierarchical distance)", m.t));
  }
  if (parts.empty()) return "none";
  std::string s = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) s += ", " + parts[i];
  return s;
}

Anonymizer::Anonymizer(const Dataset& data, const PrivacyModel& model, Metric metric)
    : data_(&data), model_(model), metric_(metric) {
  double n = static_cast<double>(std::max<uint64_t>(data.rows(), 1));
  for (size_t i = 0; i < data.num_qi(); ++i) {
    const EncodedAttribute& a = data.qi(i);
    double domain = static_cast<double>(a.labels[0].size());
    std::vector<double> per_level(a.height, 0);
    for (int l = 0; l < a.height; ++l) {
      double sum = 0;
      for (size_t c0 = 0; c0 < a.freq0.size(); ++c0) {
        double share = domain > 1 ? (a.leaves[l][a.gen[l][c0]] - 1) / (domain - 1) : 0;
        sum += a.freq0[c0] * share;
      }
      per_level[l] = sum / n;
    }
    level_share_.push_back(std::move(per_level));
  }
}

Result<Anonymizer> Anonymizer::Create(const Dataset& data, const PrivacyModel& model,
                                      Metric metric) {
  if (data.num_qi() == 0) return InvalidArgument("no quasi-identifier to generalize");
  if (data.rows() == 0) return InvalidArgument("the table has no rows");
  if (model.k < 1) return InvalidArgument("k must be at least 1");
  if (model.k > data.rows()) {
    return InvalidArgument(
        fmt::format("k = {} is larger than the number of rows ({})", model.k, data.rows()));
  }
  if (!(model.max_suppression >= 0 && model.max_suppression <= 1)) {
    return InvalidArgument("the suppression limit must be between 0 and 1");
  }
  bool needs_sensitive = model.diversity != Diversity::kNone || model.closeness != Closeness::kNone;
  if (needs_sensitive && data.num_sensitive() == 0) {
    return InvalidArgument("l-diversity and t-closeness need a column with role \"sensitive\"");
  }
  if (model.diversity != Diversity::kNone && !(model.l >= 1)) {
    return InvalidArgument("l must be at least 1");
  }
  if (model.diversity == Diversity::kRecursive && !(model.c > 0)) {
    return InvalidArgument("recursive (c,l)-diversity needs c > 0");
  }
  if (model.closeness != Closeness::kNone && !(model.t >= 0 && model.t <= 1)) {
    return InvalidArgument("t must be between 0 and 1");
  }
  if (model.closeness == Closeness::kHierarchical) {
    for (size_t j = 0; j < data.num_sensitive(); ++j) {
      if (data.sensitive(j).height < 2) {
        return InvalidArgument(
            fmt::format("hierarchical t-closeness needs a hierarchy for sensitive column \"{}\"",
                        data.sensitive(j).name));
      }
    }
  }
  double lattice = 1;
  for (size_t i = 0; i < data.num_qi(); ++i) lattice *= data.qi(i).height;
  if (lattice > 5e7) {
    return ResourceExhausted(
        fmt::format("the generalization lattice has {:.0f} nodes (limit 50,000,000): use fewer "
                    "quasi-identifiers or shorter hierarchies",
                    lattice));
  }
  return Anonymizer(data, model, metric);
}

bool Anonymizer::Monotone() const {
  bool only_k = model_.diversity == Diversity::kNone && model_.closeness == Closeness::kNone;
  return only_k || model_.max_suppression == 0;
}

double Anonymizer::LowerBound(const std::vector<int>& levels) const {
  switch (metric_) {
    case Metric::kLoss: {
      double prod = 1;
      for (size_t i = 0; i < levels.size(); ++i) prod *= 1 + level_share_[i][levels[i]];
      return std::pow(prod, 1.0 / levels.size()) - 1;
    }
    case Metric::kPrecision: {
      double sum = 0;
      for (size_t i = 0; i < levels.size(); ++i) {
        int h = data_->qi(i).height;
        sum += h > 1 ? static_cast<double>(levels[i]) / (h - 1) : 0;
      }
      return sum / levels.size();
    }
    case Metric::kDiscernibility:
      return static_cast<double>(data_->rows());
  }
  return 0;
}

namespace {

// Per-class test of the sensitive-value models.
class SensitiveCheck {
 public:
  SensitiveCheck(const Dataset& data, const PrivacyModel& model) : data_(data), model_(model) {}

  // ok[c] &= whether class c satisfies l-diversity and t-closeness for every sensitive column.
  void Apply(const std::vector<uint32_t>& class_of_cell, size_t classes, std::vector<bool>* ok) {
    for (size_t j = 0; j < data_.num_sensitive(); ++j) {
      // (class, value) -> rows, gathered per class.
      table_.Reset(class_of_cell.size());
      entries_.clear();
      size_t qi = data_.num_qi();
      for (size_t cell = 0; cell < class_of_cell.size(); ++cell) {
        uint64_t key = (uint64_t{class_of_cell[cell]} << 32) | data_.codes(cell)[qi + j];
        bool inserted;
        uint32_t e = table_.FindOrInsert(key, static_cast<uint32_t>(entries_.size()), &inserted);
        if (inserted) entries_.push_back({class_of_cell[cell], data_.codes(cell)[qi + j], 0});
        entries_[e].count += data_.count(cell);
      }
      std::vector<uint32_t> start(classes + 1, 0);
      for (const auto& e : entries_) start[e.cls + 1]++;
      for (size_t c = 0; c < classes; ++c) start[c + 1] += start[c];
      sorted_.resize(entries_.size());
      std::vector<uint32_t> pos(start.begin(), start.end() - 1);
      for (const auto& e : entries_) sorted_[pos[e.cls]++] = e;
      for (size_t c = 0; c < classes; ++c) {
        if (!(*ok)[c]) continue;
        (*ok)[c] = ClassOk(j, &sorted_[start[c]], start[c + 1] - start[c]);
      }
    }
  }

 private:
  struct Entry {
    uint32_t cls;
    uint32_t code;
    uint64_t count;
  };

  bool ClassOk(size_t j, Entry* e, size_t m) {
    uint64_t total = 0;
    for (size_t i = 0; i < m; ++i) total += e[i].count;
    switch (model_.diversity) {
      case Diversity::kNone:
        break;
      case Diversity::kDistinct:
        if (static_cast<double>(m) < model_.l) return false;
        break;
      case Diversity::kEntropy: {
        double h = 0;
        for (size_t i = 0; i < m; ++i) {
          double p = static_cast<double>(e[i].count) / total;
          h -= p * std::log(p);
        }
        if (h < std::log(model_.l) - kEps) return false;
        break;
      }
      case Diversity::kRecursive: {
        size_t l = static_cast<size_t>(std::ceil(model_.l));
        if (m < l) return false;
        std::sort(e, e + m, [](const Entry& a, const Entry& b) { return a.count > b.count; });
        uint64_t tail = 0;
        for (size_t i = l - 1; i < m; ++i) tail += e[i].count;
        if (!(static_cast<double>(e[0].count) < model_.c * static_cast<double>(tail))) return false;
        break;
      }
    }
    if (model_.closeness != Closeness::kNone) {
      double d = model_.closeness == Closeness::kEqual ? EqualDistance(j, e, m, total)
                                                       : HierarchicalDistance(j, e, m, total);
      if (d > model_.t + kEps) return false;
    }
    return true;
  }

  double EqualDistance(size_t j, const Entry* e, size_t m, uint64_t total) const {
    const auto& freq = data_.sensitive(j).freq0;
    double n = static_cast<double>(data_.rows());
    double sum = 1;  // Σ over values not in the class of q, written as 1 - Σ_in q
    for (size_t i = 0; i < m; ++i) {
      double p = static_cast<double>(e[i].count) / total;
      double q = freq[e[i].code] / n;
      sum += std::fabs(p - q) - q;
    }
    return 0.5 * sum;
  }

  // Li, Li and Venkatasubramanian's EMD with the hierarchy as ground distance: each internal node
  // moves min(positive, negative) extra mass between its subtrees at cost height/tree height.
  double HierarchicalDistance(size_t j, const Entry* e, size_t m, uint64_t total) {
    const EncodedAttribute& a = data_.sensitive(j);
    double n = static_cast<double>(data_.rows());
    extra_.assign(a.labels[0].size(), 0);
    for (size_t c = 0; c < a.freq0.size(); ++c) extra_[c] = -(a.freq0[c] / n);
    for (size_t i = 0; i < m; ++i) extra_[e[i].code] += static_cast<double>(e[i].count) / total;
    bool single_root = a.labels[a.height - 1].size() == 1;
    int tree_height = single_root ? a.height - 1 : a.height;
    double cost = 0;
    std::vector<double> level_extra = extra_;
    std::vector<uint32_t> parent_of(a.freq0.size());
    std::iota(parent_of.begin(), parent_of.end(), 0);
    for (int l = 1; l <= tree_height; ++l) {
      size_t nodes = l < a.height ? a.labels[l].size() : 1;
      pos_.assign(nodes, 0);
      neg_.assign(nodes, 0);
      // Children of level l are the level l-1 nodes; map them through any level-0 member.
      std::vector<double> next(nodes, 0);
      std::vector<char> seen(level_extra.size(), 0);
      for (size_t c0 = 0; c0 < a.freq0.size(); ++c0) {
        uint32_t child = l - 1 == 0 ? static_cast<uint32_t>(c0) : a.gen[l - 1][c0];
        if (seen[child]) continue;
        seen[child] = 1;
        uint32_t parent = l < a.height ? a.gen[l][c0] : 0;
        double x = level_extra[child];
        if (x > 0)
          pos_[parent] += x;
        else
          neg_[parent] -= x;
        next[parent] += x;
      }
      for (size_t p = 0; p < nodes; ++p) {
        cost += static_cast<double>(l) / tree_height * std::min(pos_[p], neg_[p]);
      }
      level_extra.swap(next);
    }
    return cost;
  }

  const Dataset& data_;
  const PrivacyModel& model_;
  KeyTable<uint64_t> table_;
  std::vector<Entry> entries_, sorted_;
  std::vector<double> extra_, pos_, neg_;
};

// Groups the source items (cells, or the classes of a specialization) into the classes of a node.
struct Grouper {
  KeyTable<uint64_t> t64;
  KeyTable<U128> t128;
  std::unordered_map<std::string, uint32_t> wide;
  std::vector<uint32_t> class_of_item;
};

}  // namespace

NodeResult Anonymizer::Evaluate(const std::vector<int>& levels, const Classes* from, Classes* out,
                                std::vector<bool>* suppressed) {
  static thread_local Grouper g;
  const Dataset& d = *data_;
  const size_t nq = d.num_qi();
  out->levels = levels;
  out->rep.clear();
  out->size.clear();

  std::vector<const uint32_t*> gen(nq);
  std::vector<int> shift(nq);
  int bits = 0;
  for (size_t i = 0; i < nq; ++i) {
    gen[i] = d.qi(i).gen[levels[i]].data();
    shift[i] = bits;
    bits += BitWidth(d.qi(i).labels[levels[i]].size());
  }
  const size_t items = from ? from->rep.size() : d.cells();
  g.class_of_item.resize(items);
  auto add = [&](size_t item, uint32_t cls, bool inserted) {
    uint32_t rep = from ? from->rep[item] : static_cast<uint32_t>(item);
    uint64_t n = from ? from->size[item] : d.count(item);
    if (inserted) {
      out->rep.push_back(rep);
      out->size.push_back(0);
    }
    out->size[cls] += n;
    g.class_of_item[item] = cls;
  };
  auto rep_codes = [&](size_t item) { return d.codes(from ? from->rep[item] : item); };
  if (bits <= 64) {
    g.t64.Reset(items);
    for (size_t item = 0; item < items; ++item) {
      const uint32_t* c = rep_codes(item);
      uint64_t key = 0;
      for (size_t i = 0; i < nq; ++i) key |= uint64_t{gen[i][c[i]]} << shift[i];
      bool inserted;
      uint32_t cls = g.t64.FindOrInsert(key, static_cast<uint32_t>(out->rep.size()), &inserted);
      add(item, cls, inserted);
    }
  } else if (bits <= 128) {
    g.t128.Reset(items);
    for (size_t item = 0; item < items; ++item) {
      const uint32_t* c = rep_codes(item);
      U128 key = 0;
      for (size_t i = 0; i < nq; ++i) key |= U128{gen[i][c[i]]} << shift[i];
      bool inserted;
      uint32_t cls = g.t128.FindOrInsert(key, static_cast<uint32_t>(out->rep.size()), &inserted);
      add(item, cls, inserted);
    }
  } else {
    g.wide.clear();
    std::string key(nq * 4, '\0');
    for (size_t item = 0; item < items; ++item) {
      const uint32_t* c = rep_codes(item);
      for (size_t i = 0; i < nq; ++i) {
        uint32_t v = gen[i][c[i]];
        std::memcpy(&key[i * 4], &v, 4);
      }
      auto [it, inserted] = g.wide.emplace(key, static_cast<uint32_t>(out->rep.size()));
      add(item, it->second, inserted);
    }
  }

  const size_t classes = out->rep.size();
  std::vector<bool> ok(classes);
  for (size_t c = 0; c < classes; ++c) ok[c] = out->size[c] >= model_.k;
  if (model_.diversity != Diversity::kNone || model_.closeness != Closeness::kNone) {
    // Sensitive models need the cells of each class; `from` is never used for them.
    SensitiveCheck check(d, model_);
    check.Apply(g.class_of_item, classes, &ok);
  }

  NodeResult r;
  r.levels = levels;
  const uint64_t n = d.rows();
  uint64_t kept_classes = 0, smallest = 0;
  for (size_t c = 0; c < classes; ++c) {
    if (!ok[c]) {
      r.suppressed_rows += out->size[c];
    } else {
      ++kept_classes;
      if (smallest == 0 || out->size[c] < smallest) smallest = out->size[c];
    }
  }
  r.classes = kept_classes;
  r.smallest_class = smallest;
  r.accepted = static_cast<double>(r.suppressed_rows) <=
               model_.max_suppression * static_cast<double>(n) + kEps;
  if (suppressed) {
    suppressed->assign(items, false);
    for (size_t item = 0; item < items; ++item) (*suppressed)[item] = !ok[g.class_of_item[item]];
  }
  if (!r.accepted) return r;

  const double supp = static_cast<double>(r.suppressed_rows);
  switch (metric_) {
    case Metric::kLoss: {
      double prod = 1;
      for (size_t i = 0; i < nq; ++i) {
        const EncodedAttribute& a = d.qi(i);
        const int l = levels[i];
        double domain = static_cast<double>(a.labels[0].size());
        double sum = supp;
        if (domain > 1) {
          for (size_t c = 0; c < classes; ++c) {
            if (!ok[c]) continue;
            uint32_t code = a.gen[l][d.codes(out->rep[c])[i]];
            sum += out->size[c] * ((a.leaves[l][code] - 1) / (domain - 1));
          }
        }
        prod *= 1 + sum / n;
      }
      r.utility = std::pow(prod, 1.0 / nq) - 1;
      break;
    }
    case Metric::kPrecision: {
      double sum = 0;
      for (size_t i = 0; i < nq; ++i) {
        int h = d.qi(i).height;
        double share = h > 1 ? static_cast<double>(levels[i]) / (h - 1) : 0;
        sum += (share * (n - supp) + supp) / n;
      }
      r.utility = sum / nq;
      break;
    }
    case Metric::kDiscernibility: {
      double sum = supp * n;
      for (size_t c = 0; c < classes; ++c) {
        if (ok[c]) sum += static_cast<double>(out->size[c]) * out->size[c];
      }
      r.utility = sum;
      break;
    }
  }
  return r;
}

NodeResult Anonymizer::Check(const std::vector<int>& levels, std::vector<bool>* suppressed) {
  Classes cls;
  return Evaluate(levels, nullptr, &cls, suppressed);
}

std::vector<uint64_t> Anonymizer::ClassSizes(const std::vector<int>& levels,
                                             bool include_suppressed) {
  Classes cls;
  std::vector<bool> supp_cells;
  NodeResult r = Evaluate(levels, nullptr, &cls, &supp_cells);
  std::vector<uint64_t> sizes;
  // Kept classes: those with a cell not suppressed (a class is kept or suppressed as a whole).
  std::vector<bool> kept(cls.rep.size(), false);
  for (size_t c = 0; c < cls.rep.size(); ++c) kept[c] = !supp_cells[cls.rep[c]];
  for (size_t c = 0; c < cls.rep.size(); ++c) {
    if (kept[c]) sizes.push_back(cls.size[c]);
  }
  if (include_suppressed && r.suppressed_rows > 0) sizes.push_back(r.suppressed_rows);
  return sizes;
}

namespace {

// The order of results: lower utility, then the lower sum of levels, then the levels compared
// left to right (the node's position in the lattice).
bool Better(const NodeResult& a, const NodeResult& b) {
  if (a.utility < b.utility - kEps) return true;
  if (a.utility > b.utility + kEps) return false;
  int sa = std::accumulate(a.levels.begin(), a.levels.end(), 0);
  int sb = std::accumulate(b.levels.begin(), b.levels.end(), 0);
  if (sa != sb) return sa < sb;
  return a.levels < b.levels;
}

struct Lattice {
  std::vector<int> heights;
  std::vector<uint64_t> stride;
  uint64_t size = 1;

  explicit Lattice(std::vector<int> h) : heights(std::move(h)) {
    stride.resize(heights.size());
    for (size_t i = heights.size(); i-- > 0;) {
      stride[i] = size;
      size *= heights[i];
    }
  }
  std::vector<int> Levels(uint64_t id) const {
    std::vector<int> l(heights.size());
    for (size_t i = 0; i < heights.size(); ++i)
      l[i] = static_cast<int>((id / stride[i]) % heights[i]);
    return l;
  }
  int Level(uint64_t id, size_t i) const { return static_cast<int>((id / stride[i]) % heights[i]); }
};

// Per quasi-identifier and generalized value, the set of cells holding it, as bitsets built on
// demand from the level-0 sets. The cells of one class at a node are the AND of one set per
// quasi-identifier, so counting a witness's class costs a few thousand word operations.
class CellBits {
 public:
  static constexpr size_t kMaxBytes = size_t{64} << 20;

  static bool Fits(const Dataset& d) {
    size_t words = (d.cells() + 63) / 64, total = 0;
    for (size_t i = 0; i < d.num_qi(); ++i) total += d.qi(i).labels[0].size() * words * 8;
    return total <= kMaxBytes / 2;  // level-0 sets, plus as much again for coarser levels
  }

  explicit CellBits(const Dataset& d) : d_(d), words_((d.cells() + 63) / 64) {
    bits0_.resize(d.num_qi());
    for (size_t i = 0; i < d.num_qi(); ++i) bits0_[i].assign(d.qi(i).labels[0].size() * words_, 0);
    for (size_t c = 0; c < d.cells(); ++c) {
      const uint32_t* codes = d.codes(c);
      for (size_t i = 0; i < d.num_qi(); ++i) {
        bits0_[i][codes[i] * words_ + c / 64] |= uint64_t{1} << (c % 64);
      }
    }
  }

  // Rows in the class of `cell` at `levels`, counted up to `limit`.
  uint64_t ClassRows(uint32_t cell, const std::vector<int>& levels, uint64_t limit) {
    const uint32_t* codes = d_.codes(cell);
    sets_.clear();
    for (size_t i = 0; i < d_.num_qi(); ++i) {
      const EncodedAttribute& a = d_.qi(i);
      if (a.labels[levels[i]].size() <= 1) continue;  // "*": every cell matches
      sets_.push_back(Set(i, levels[i], a.gen[levels[i]][codes[i]]));
    }
    uint64_t rows = 0;
    for (size_t w = 0; w < words_; ++w) {
      uint64_t x = ~uint64_t{0};
      for (const uint64_t* s : sets_) {
        x &= s[w];
        if (!x) break;
      }
      while (x) {
        rows += d_.count(w * 64 + __builtin_ctzll(x));
        if (rows >= limit) return rows;
        x &= x - 1;
      }
    }
    return rows;
  }

 private:
  const uint64_t* Set(size_t i, int level, uint32_t code) {
    if (level == 0) return &bits0_[i][code * words_];
    uint64_t key = (uint64_t{i} << 48) | (uint64_t(level) << 32) | code;
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second.data();
    std::vector<uint64_t> bits(words_, 0);
    const EncodedAttribute& a = d_.qi(i);
    for (size_t c0 = 0; c0 < a.labels[0].size(); ++c0) {
      if (a.gen[level][c0] != code) continue;
      const uint64_t* src = &bits0_[i][c0 * words_];
      for (size_t w = 0; w < words_; ++w) bits[w] |= src[w];
    }
    return cache_.emplace(key, std::move(bits)).first->second.data();
  }

  const Dataset& d_;
  size_t words_;
  std::vector<std::vector<uint64_t>> bits0_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> cache_;
  std::vector<const uint64_t*> sets_;
};

}  // namespace

SearchResult Anonymizer::Search() {
  auto start = std::chrono::steady_clock::now();
  std::vector<int> heights;
  for (size_t i = 0; i < data_->num_qi(); ++i) heights.push_back(data_->qi(i).height);
  Lattice lat(heights);
  const size_t nq = heights.size();
  SearchResult result;
  result.lattice_size = lat.size;

  std::vector<double> lb(lat.size);
  std::vector<int> sum(lat.size);
  int max_sum = 0;
  for (uint64_t id = 0; id < lat.size; ++id) {
    auto l = lat.Levels(id);
    lb[id] = LowerBound(l);
    sum[id] = std::accumulate(l.begin(), l.end(), 0);
    max_sum = std::max(max_sum, sum[id]);
  }
  auto order = [&](uint64_t a, uint64_t b) {
    if (lb[a] != lb[b]) return lb[a] < lb[b];
    if (sum[a] != sum[b]) return sum[a] < sum[b];
    return a < b;
  };

  enum : uint8_t { kUnknown = 0, kAccepted = 1, kRejected = 2 };
  std::vector<uint8_t> tag(lat.size, kUnknown);
  std::unordered_map<uint64_t, NodeResult> checked;
  const bool monotone = Monotone();
  const bool rollup = model_.diversity == Diversity::kNone && model_.closeness == Closeness::kNone;
  std::deque<Classes> cache;
  constexpr size_t kCache = 8;

  // The best utility of an accepted node checked so far. A node whose lower bound reaches it
  // cannot be the optimum, nor can its generalizations (bounds grow with generalization), so
  // whether they are accepted does not matter and they are never checked.
  double best_utility = std::numeric_limits<double>::infinity();
  auto relevant = [&](uint64_t id) { return lb[id] <= best_utility + kEps; };
  std::vector<uint64_t> stack;
  auto tag_closure = [&](uint64_t id, uint8_t value) {
    stack.assign(1, id);
    tag[id] = value;
    while (!stack.empty()) {
      uint64_t x = stack.back();
      stack.pop_back();
      for (size_t i = 0; i < nq; ++i) {
        int l = lat.Level(x, i);
        uint64_t y;
        if (value == kAccepted) {
          if (l + 1 >= heights[i]) continue;
          y = x + lat.stride[i];
        } else {
          if (l == 0) continue;
          y = x - lat.stride[i];
        }
        if (tag[y] != value) {
          tag[y] = value;
          stack.push_back(y);
        }
      }
    }
  };
  // With k-anonymity alone and no suppression one class smaller than k rejects a node. The
  // representatives of such classes found so far ("witnesses") are tried first: counting the rows
  // that generalize like the witness compares codes without hashing and stops at k.
  const bool witnesses_apply = rollup && model_.max_suppression == 0;
  std::vector<uint32_t> witnesses;
  constexpr size_t kWitnesses = 32;
  std::unique_ptr<CellBits> bits;
  if (witnesses_apply && CellBits::Fits(*data_)) bits = std::make_unique<CellBits>(*data_);
  auto witness_rejects = [&](const std::vector<int>& levels, const Classes* from) {
    const Dataset& d = *data_;
    if (bits) {
      for (size_t w = 0; w < witnesses.size(); ++w) {
        if (bits->ClassRows(witnesses[w], levels, model_.k) < model_.k) {
          std::rotate(witnesses.begin(), witnesses.begin() + w, witnesses.begin() + w + 1);
          return true;
        }
      }
      return false;
    }
    std::vector<std::pair<size_t, const uint32_t*>> attrs;  // (distinct labels, gen table)
    for (size_t i = 0; i < nq; ++i) {
      size_t labels = d.qi(i).labels[levels[i]].size();
      if (labels > 1) attrs.push_back({i, d.qi(i).gen[levels[i]].data()});
    }
    std::sort(attrs.begin(), attrs.end(), [&](const auto& a, const auto& b) {
      return d.qi(a.first).labels[levels[a.first]].size() >
             d.qi(b.first).labels[levels[b.first]].size();
    });
    const size_t items = from ? from->rep.size() : d.cells();
    uint32_t target[64];
    if (attrs.size() > 64) return false;
    for (size_t w = 0; w < witnesses.size(); ++w) {
      const uint32_t* wc = d.codes(witnesses[w]);
      for (size_t a = 0; a < attrs.size(); ++a) target[a] = attrs[a].second[wc[attrs[a].first]];
      uint64_t count = 0;
      for (size_t item = 0; item < items && count < model_.k; ++item) {
        const uint32_t* c = d.codes(from ? from->rep[item] : item);
        size_t a = 0;
        while (a < attrs.size() && attrs[a].second[c[attrs[a].first]] == target[a]) ++a;
        if (a == attrs.size()) count += from ? from->size[item] : d.count(item);
      }
      if (count < model_.k) {
        std::rotate(witnesses.begin(), witnesses.begin() + w, witnesses.begin() + w + 1);
        return true;
      }
    }
    return false;
  };
  auto check = [&](uint64_t id) {
    auto levels = lat.Levels(id);
    const Classes* from = nullptr;
    if (rollup) {
      for (const Classes& c : cache) {
        bool below = true;
        for (size_t i = 0; i < nq && below; ++i) below = c.levels[i] <= levels[i];
        if (below && (!from || c.rep.size() < from->rep.size())) from = &c;
      }
    }
    if (witnesses_apply && witness_rejects(levels, from)) {
      ++result.checks;
      ++result.witness_rejections;
      tag_closure(id, kRejected);
      return;
    }
    Classes out;
    NodeResult r = Evaluate(levels, from, &out, nullptr);
    if (witnesses_apply && !r.accepted) {
      // The smallest class is the likeliest to stay small at other nodes.
      size_t smallest = 0;
      for (size_t c = 1; c < out.size.size(); ++c) {
        if (out.size[c] < out.size[smallest]) smallest = c;
      }
      witnesses.insert(witnesses.begin(), out.rep[smallest]);
      if (witnesses.size() > kWitnesses) witnesses.pop_back();
    }
    ++result.checks;
    if (from) ++result.rollups;
    if (rollup) {
      cache.push_back(std::move(out));
      if (cache.size() > kCache) cache.pop_front();
    }
    if (monotone) {
      tag_closure(id, r.accepted ? kAccepted : kRejected);
    } else {
      tag[id] = r.accepted ? kAccepted : kRejected;
    }
    if (r.accepted && r.utility < best_utility) best_utility = r.utility;
    checked.emplace(id, std::move(r));
  };

  if (monotone) {
    std::vector<std::vector<uint64_t>> by_level(max_sum + 1);
    for (uint64_t id = 0; id < lat.size; ++id) by_level[sum[id]].push_back(id);
    std::vector<uint64_t> path;
    for (auto& nodes : by_level) {
      std::sort(nodes.begin(), nodes.end(), order);
      for (uint64_t id : nodes) {
        if (tag[id] != kUnknown || !relevant(id)) continue;
        path.assign(1, id);
        for (uint64_t cur = id;;) {
          uint64_t best = lat.size;
          for (size_t i = 0; i < nq; ++i) {
            if (lat.Level(cur, i) + 1 >= heights[i]) continue;
            uint64_t y = cur + lat.stride[i];
            if (tag[y] == kUnknown && relevant(y) && (best == lat.size || order(y, best))) best = y;
          }
          if (best == lat.size) break;
          path.push_back(best);
          cur = best;
        }
        int lo = 0, hi = static_cast<int>(path.size()) - 1;
        while (lo <= hi) {
          // A better node may have been found meanwhile: nodes whose bound reaches it are moot.
          while (hi >= lo && !relevant(path[hi])) --hi;
          if (hi < lo) break;
          int mid = (lo + hi) / 2;
          if (tag[path[mid]] == kUnknown) check(path[mid]);
          if (tag[path[mid]] == kAccepted)
            hi = mid - 1;
          else
            lo = mid + 1;
        }
      }
    }
  } else {
    for (uint64_t id = 0; id < lat.size; ++id) check(id);
  }

  // Accepted nodes in order of their lower bound; stop once the bound reaches the best value.
  std::vector<uint64_t> candidates;
  for (uint64_t id = 0; id < lat.size; ++id) {
    if (tag[id] == kAccepted) candidates.push_back(id);
  }
  std::sort(candidates.begin(), candidates.end(), order);
  const bool exact_bound = model_.max_suppression == 0 && metric_ != Metric::kDiscernibility;
  for (uint64_t id : candidates) {
    if (result.found && lb[id] > result.best.utility + kEps) break;
    NodeResult r;
    auto it = checked.find(id);
    if (it != checked.end()) {
      r = it->second;
    } else if (exact_bound) {
      r.levels = lat.Levels(id);
      r.accepted = true;
      r.utility = lb[id];
    } else {
      check(id);
      auto c = checked.find(id);
      if (c == checked.end()) continue;  // rejected by a witness
      r = c->second;
    }
    if (!r.accepted) continue;  // tagged by inference but rejected on its own (non-monotone)
    if (!result.found || Better(r, result.best)) {
      result.found = true;
      result.best = r;
    }
  }
  if (result.found && result.best.classes == 0 && result.best.smallest_class == 0) {
    result.best = Check(result.best.levels);  // fill in the class figures
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

SearchResult Anonymizer::Exhaustive() {
  auto start = std::chrono::steady_clock::now();
  std::vector<int> heights;
  for (size_t i = 0; i < data_->num_qi(); ++i) heights.push_back(data_->qi(i).height);
  Lattice lat(heights);
  SearchResult result;
  result.lattice_size = lat.size;
  for (uint64_t id = 0; id < lat.size; ++id) {
    NodeResult r = Check(lat.Levels(id));
    ++result.checks;
    if (!r.accepted) continue;
    if (!result.found || Better(r, result.best)) {
      result.found = true;
      result.best = r;
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace kexin::deid
