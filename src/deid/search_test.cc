// The search is checked against an independent reference: rows kept as strings, generalized
// through Hierarchy::Generalize, grouped with std::map, and every model and the loss metric
// recomputed from their definitions. On small lattices every node is evaluated by the reference,
// so "optimal" is checked, not assumed.
#include "deid/search.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "base/file.h"

namespace kexin::deid {
namespace {

struct Table {
  std::vector<std::vector<std::string>> qi;    // rows x quasi-identifiers
  std::vector<std::string> sens;               // one sensitive value per row (may be unused)
  std::vector<std::unique_ptr<Hierarchy>> qh;  // per quasi-identifier
  std::unique_ptr<Hierarchy> sh;               // sensitive hierarchy
};

std::unique_ptr<Hierarchy> MakeTreeHierarchy(int values, int fanout, int height, const char* p) {
  std::string text;
  for (int v = 0; v < values; ++v) {
    text += fmt::format("{}{}", p, v);
    int group = v;
    for (int l = 1; l < height - 1; ++l) {
      group /= fanout;
      text += fmt::format(";{}{}_{}", p, l, group);
    }
    text += ";*\n";
  }
  return std::move(ParseHierarchyCsv(text, "test", ';')).value();
}

Table RandomTable(std::mt19937& rng, int rows, int qis, bool sensitive) {
  Table t;
  std::vector<int> values;
  for (int i = 0; i < qis; ++i) {
    int n = 2 + rng() % 7;
    int h = 2 + rng() % 3;
    values.push_back(n);
    t.qh.push_back(MakeTreeHierarchy(n, 2, h, i % 2 ? "a" : "b"));
  }
  t.sh = MakeTreeHierarchy(6, 2, 4, "s");
  for (int r = 0; r < rows; ++r) {
    std::vector<std::string> row;
    for (int i = 0; i < qis; ++i) {
      // Skewed values so that some classes are small and others large.
      int v = std::min<int>(
          values[i] - 1,
          static_cast<int>(std::abs(std::normal_distribution<>(0, values[i] / 2.0)(rng))));
      row.push_back(fmt::format("{}{}", i % 2 ? "a" : "b", v));
    }
    t.qi.push_back(std::move(row));
    if (sensitive) t.sens.push_back(fmt::format("s{}", rng() % (1 + rng() % 6)));
  }
  return t;
}

Dataset Encode(const Table& t, bool sensitive) {
  std::vector<std::string> names;
  std::vector<const Hierarchy*> hs;
  for (size_t i = 0; i < t.qh.size(); ++i) {
    names.push_back("q" + std::to_string(i));
    hs.push_back(t.qh[i].get());
  }
  std::vector<std::string> sn;
  std::vector<const Hierarchy*> sh;
  if (sensitive) sn.push_back("s"), sh.push_back(t.sh.get());
  Dataset d(names, hs, sn, sh);
  for (size_t r = 0; r < t.qi.size(); ++r) {
    std::vector<std::string_view> q(t.qi[r].begin(), t.qi[r].end());
    std::vector<std::string_view> s;
    if (sensitive) s.push_back(t.sens[r]);
    EXPECT_TRUE(d.AddRow(q, s, r + 2).ok());
  }
  d.Finish();
  return d;
}

struct Ref {
  bool accepted = false;
  uint64_t suppressed = 0;
  double loss = 0;
};

// The reference: straight from the definitions.
Ref Reference(const Table& t, const std::vector<int>& levels, const PrivacyModel& m) {
  const size_t n = t.qi.size(), nq = t.qh.size();
  std::vector<std::vector<std::vector<std::string>>> gen(n);  // row -> attr -> levels
  for (size_t r = 0; r < n; ++r) {
    gen[r].resize(nq);
    for (size_t i = 0; i < nq; ++i) EXPECT_TRUE(t.qh[i]->Generalize(t.qi[r][i], &gen[r][i]).ok());
  }
  std::map<std::vector<std::string>, std::vector<size_t>> classes;
  for (size_t r = 0; r < n; ++r) {
    std::vector<std::string> key;
    for (size_t i = 0; i < nq; ++i) key.push_back(gen[r][i][levels[i]]);
    classes[key].push_back(r);
  }
  std::map<std::string, double> global;
  for (size_t r = 0; r < n && !t.sens.empty(); ++r) global[t.sens[r]] += 1.0 / n;
  std::vector<bool> supp(n, false);
  Ref ref;
  for (const auto& [key, rows] : classes) {
    bool ok = rows.size() >= m.k;
    if (ok && m.diversity != Diversity::kNone) {
      std::map<std::string, uint64_t> counts;
      for (size_t r : rows) counts[t.sens[r]]++;
      if (m.diversity == Diversity::kDistinct) ok = counts.size() >= m.l;
      if (m.diversity == Diversity::kEntropy) {
        double h = 0;
        for (auto& [v, c] : counts)
          h -= double(c) / rows.size() * std::log(double(c) / rows.size());
        ok = h >= std::log(m.l) - 1e-12;
      }
      if (m.diversity == Diversity::kRecursive) {
        std::vector<uint64_t> c;
        for (auto& [v, x] : counts) c.push_back(x);
        std::sort(c.rbegin(), c.rend());
        size_t l = static_cast<size_t>(m.l);
        if (c.size() < l) {
          ok = false;
        } else {
          uint64_t tail = 0;
          for (size_t i = l - 1; i < c.size(); ++i) tail += c[i];
          ok = c[0] < m.c * tail;
        }
      }
    }
    if (ok && m.closeness != Closeness::kNone) {
      std::map<std::string, double> p;
      for (size_t r : rows) p[t.sens[r]] += 1.0 / rows.size();
      double d = 0;
      if (m.closeness == Closeness::kEqual) {
        for (auto& [v, q] : global) d += 0.5 * std::fabs((p.count(v) ? p[v] : 0) - q);
      } else {
        // Hierarchical EMD: walk the tree level by level with string node names.
        int h = t.sh->height();
        int tree = h - 1;
        std::map<std::string, double> extra;
        std::map<std::string, std::vector<std::string>> lv;
        for (auto& [v, q] : global) {
          EXPECT_TRUE(t.sh->Generalize(v, &lv[v]).ok());
          extra[v] = (p.count(v) ? p[v] : 0) - q;
        }
        for (int l = 1; l <= tree; ++l) {
          std::map<std::string, double> pos, neg, next;
          std::set<std::string> visited;
          for (auto& [v, q] : global) {
            (void)q;
            const std::string& child = lv[v][l - 1];
            const std::string& parent = lv[v][l];
            if (!visited.insert(child).second) continue;
            double x = extra[child];
            if (x > 0)
              pos[parent] += x;
            else
              neg[parent] -= x;
            next[parent] += x;
          }
          for (auto& [node, x] : next) {
            d += double(l) / tree * std::min(pos[node], neg[node]);
          }
          extra = next;
        }
      }
      ok = d <= m.t + 1e-12;
    }
    if (!ok) {
      for (size_t r : rows) supp[r] = true;
      ref.suppressed += rows.size();
    }
  }
  ref.accepted = ref.suppressed <= m.max_suppression * n + 1e-12;
  // Loss: per attribute, mean over rows of (leaves under the value - 1) / (domain - 1), 1 for
  // suppressed rows; combined as prod(1 + loss_i)^(1/n) - 1.
  double prod = 1;
  for (size_t i = 0; i < nq; ++i) {
    std::set<std::string> domain;
    for (size_t r = 0; r < n; ++r) domain.insert(t.qi[r][i]);
    std::map<std::string, std::set<std::string>> leaves;
    for (size_t r = 0; r < n; ++r) leaves[gen[r][i][levels[i]]].insert(t.qi[r][i]);
    double sum = 0;
    for (size_t r = 0; r < n; ++r) {
      if (supp[r]) {
        sum += 1;
      } else if (domain.size() > 1) {
        sum += (leaves[gen[r][i][levels[i]]].size() - 1.0) / (domain.size() - 1.0);
      }
    }
    prod *= 1 + sum / n;
  }
  ref.loss = std::pow(prod, 1.0 / nq) - 1;
  return ref;
}

std::vector<std::vector<int>> AllNodes(const Table& t) {
  std::vector<std::vector<int>> nodes(1);
  for (const auto& h : t.qh) {
    std::vector<std::vector<int>> next;
    for (const auto& n : nodes) {
      for (int l = 0; l < h->height(); ++l) {
        next.push_back(n);
        next.back().push_back(l);
      }
    }
    nodes = std::move(next);
  }
  return nodes;
}

void ExpectOptimal(const Table& t, const PrivacyModel& m, bool sensitive, const std::string& what) {
  SCOPED_TRACE(what + ": " + DescribeModel(m) + fmt::format(", suppression {}", m.max_suppression));
  Dataset d = Encode(t, sensitive);
  auto a = Anonymizer::Create(d, m, Metric::kLoss);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  SearchResult s = a->Search();
  bool any = false;
  double best = 0;
  for (const auto& node : AllNodes(t)) {
    Ref r = Reference(t, node, m);
    NodeResult c = a->Check(node);
    ASSERT_EQ(c.accepted, r.accepted) << "node check disagrees with the reference";
    ASSERT_EQ(c.suppressed_rows, r.suppressed);
    if (r.accepted) {
      ASSERT_NEAR(c.utility, r.loss, 1e-9);
      if (!any || r.loss < best) best = r.loss;
      any = true;
    }
  }
  ASSERT_EQ(s.found, any);
  if (!any) return;
  Ref chosen = Reference(t, s.best.levels, m);
  EXPECT_TRUE(chosen.accepted);
  EXPECT_NEAR(chosen.loss, best, 1e-9) << "the search's node is not optimal";
  EXPECT_NEAR(s.best.utility, best, 1e-9);
  EXPECT_LE(s.checks, s.lattice_size);
}

TEST(SearchTest, KAnonymityIsOptimalOnRandomTables) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 25; ++trial) {
    Table t = RandomTable(rng, 40 + rng() % 200, 2 + rng() % 3, false);
    for (uint64_t k : {2u, 3u, 5u, 10u}) {
      for (double supp : {0.0, 0.05, 0.2}) {
        PrivacyModel m;
        m.k = k;
        m.max_suppression = supp;
        ExpectOptimal(t, m, false, fmt::format("trial {}", trial));
      }
    }
  }
}

TEST(SearchTest, DiversityAndClosenessAreOptimalOnRandomTables) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 12; ++trial) {
    Table t = RandomTable(rng, 60 + rng() % 150, 2 + rng() % 2, true);
    std::vector<PrivacyModel> models;
    PrivacyModel m;
    m.k = 2;
    m.diversity = Diversity::kDistinct, m.l = 2;
    models.push_back(m);
    m.diversity = Diversity::kEntropy, m.l = 1.8;
    models.push_back(m);
    m.diversity = Diversity::kRecursive, m.l = 2, m.c = 3;
    models.push_back(m);
    m.diversity = Diversity::kNone;
    m.closeness = Closeness::kEqual, m.t = 0.3;
    models.push_back(m);
    m.closeness = Closeness::kHierarchical, m.t = 0.2;
    models.push_back(m);
    for (PrivacyModel model : models) {
      for (double supp : {0.0, 0.1}) {
        model.max_suppression = supp;
        ExpectOptimal(t, model, true, fmt::format("trial {}", trial));
      }
    }
  }
}

TEST(SearchTest, ImpossibleModelFindsNothing) {
  std::mt19937 rng(3);
  Table t = RandomTable(rng, 50, 2, true);
  for (auto& s : t.sens) s = "s1";
  Dataset d = Encode(t, true);
  PrivacyModel m;
  m.diversity = Diversity::kDistinct;
  m.l = 2;
  auto a = Anonymizer::Create(d, m, Metric::kLoss);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->Search().found);
}

TEST(SearchTest, CreateRejectsModelsThatCannotApply) {
  std::mt19937 rng(5);
  Table t = RandomTable(rng, 20, 2, false);
  Dataset d = Encode(t, false);
  PrivacyModel m;
  m.k = 21;
  auto a = Anonymizer::Create(d, m, Metric::kLoss);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("larger than the number of rows (20)"), std::string::npos);
  m.k = 2;
  m.diversity = Diversity::kDistinct;
  m.l = 2;
  a = Anonymizer::Create(d, m, Metric::kLoss);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("sensitive"), std::string::npos);
}

TEST(SearchTest, AdultMatchesExhaustiveSearch) {
  // CTest sets KEXIN_SOURCE_DIR; run by hand, the source tree is found from this file's path.
  const char* src = std::getenv("KEXIN_SOURCE_DIR");
  std::string root =
      src ? src : std::string(__FILE__).substr(0, std::string(__FILE__).rfind("/src/"));
  std::string base = root + "/examples/deid/adult/";
  auto text = ReadFile(base + "adult.csv");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const std::vector<std::string> qis = {
      "sex",       "age",       "race", "marital-status", "education", "native-country",
      "workclass", "occupation"};
  std::vector<std::unique_ptr<Hierarchy>> hs;
  std::vector<const Hierarchy*> hp;
  for (const auto& q : qis) {
    auto h = LoadHierarchyCsv(base + "adult_hierarchy_" + q + ".csv");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    hs.push_back(std::move(h).value());
    hp.push_back(hs.back().get());
  }
  Dataset d(qis, hp, {}, {});
  size_t pos = text->find('\n') + 1, row = 2;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    std::string_view line(text->data() + pos, end - pos);
    std::vector<std::string_view> cells;
    size_t s = 0;
    for (size_t i = 0; i <= line.size(); ++i) {
      if (i == line.size() || line[i] == ';') {
        cells.push_back(line.substr(s, i - s));
        s = i + 1;
      }
    }
    cells.resize(8);
    ASSERT_TRUE(d.AddRow(cells, {}, row++).ok());
    pos = end + 1;
  }
  d.Finish();
  EXPECT_EQ(d.rows(), 30162u);
  // Exhaustive search costs seconds here: a few representative settings.
  for (auto [metric, supp] : std::vector<std::pair<Metric, double>>{
           {Metric::kLoss, 0.0}, {Metric::kLoss, 0.02}, {Metric::kPrecision, 0.0}}) {
    {
      PrivacyModel m;
      m.k = 5;
      m.max_suppression = supp;
      auto a = Anonymizer::Create(d, m, metric);
      ASSERT_TRUE(a.ok());
      SearchResult s = a->Search();
      SearchResult e = a->Exhaustive();
      ASSERT_TRUE(s.found && e.found);
      EXPECT_NEAR(s.best.utility, e.best.utility, 1e-9 * std::max(1.0, e.best.utility))
          << MetricName(metric) << " suppression " << supp;
      EXPECT_LT(s.checks, s.lattice_size / 4) << "pruning should avoid most checks";
    }
  }
}

}  // namespace
}  // namespace kexin::deid
