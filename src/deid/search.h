// Privacy models, utility metrics and the globally optimal full-domain generalization search.
//
// A node of the generalization lattice gives one level per quasi-identifier. Checking a node groups
// the data into equivalence classes (rows equal on every generalized quasi-identifier), tests each
// class against the privacy models, suppresses the rows of classes that fail, and accepts the node
// when the suppressed share is within the limit. Search() finds the accepted node with the least
// utility loss:
//  1. It learns which nodes are accepted with few checks, the way ARX's Flash does: paths are
//     built upwards from the untagged nodes of each lattice level, binary-searched for the first
//     accepted node, and every check tags the node's generalizations (accepted) or
//     specializations (rejected) using monotonicity. Monotonicity holds for k-anonymity with any
//     suppression limit and for every model without suppression; otherwise every node is checked.
//  2. Loss and precision without suppression are exact functions of the levels and lower bounds
//     with it; candidates are taken in order of that bound and the search stops when the bound
//     reaches the best value found, so the result is the global optimum.
// A check reuses the classes of an already-checked specialization when the models need no
// sensitive values (k-anonymity alone): generalizing 2,000 classes is cheaper than 18,000 cells.
// Exhaustive() checks every node; tests compare the two.
//
// Thread-safety: an Anonymizer is used by one thread; the Dataset it reads may be shared.
#ifndef KEXIN_DEID_SEARCH_H_
#define KEXIN_DEID_SEARCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "deid/dataset.h"
#include "kexin/status.h"

namespace kexin::deid {

enum class Diversity { kNone, kDistinct, kEntropy, kRecursive };
enum class Closeness { kNone, kEqual, kHierarchical };
enum class Metric { kLoss, kDiscernibility, kPrecision };

struct PrivacyModel {
  uint64_t k = 1;  // k-anonymity; 1 means off
  // l-diversity of every sensitive attribute: at least l distinct values (kDistinct), entropy at
  // least log(l) (kEntropy), or r1 < c * (r_l + ... + r_m) over the sorted counts (kRecursive).
  Diversity diversity = Diversity::kNone;
  double l = 0;
  double c = 0;
  // t-closeness of every sensitive attribute: earth mover's distance between a class's and the
  // table's distribution at most t; equal ground distance, or the hierarchy's (needs one).
  Closeness closeness = Closeness::kNone;
  double t = 1;
  double max_suppression = 0;  // share of rows that may be suppressed, 0..1
};

std::string_view MetricName(Metric m);             // "loss", "discernibility", "precision"
std::string DescribeModel(const PrivacyModel& m);  // "5-anonymity, distinct 2-diversity"

struct NodeResult {
  std::vector<int> levels;
  bool accepted = false;
  uint64_t suppressed_rows = 0;
  uint64_t classes = 0;         // equivalence classes that were kept
  uint64_t smallest_class = 0;  // among kept classes (0 when none)
  double utility = 0;           // the metric's value (lower is better)
};

struct SearchResult {
  bool found = false;  // false: no node satisfies the models within the suppression limit
  NodeResult best;
  uint64_t lattice_size = 0;
  uint64_t checks = 0;              // nodes whose classes were computed
  uint64_t rollups = 0;             // of those, computed from a checked specialization's classes
  uint64_t witness_rejections = 0;  // of those, rejected by counting one small class only
  double seconds = 0;               // wall time of the search
};

class Anonymizer {
 public:
  // Errors: kInvalidArgument for a model that cannot apply (l-diversity or t-closeness without a
  // sensitive attribute, hierarchical t-closeness without a hierarchy, k larger than the rows).
  static Result<Anonymizer> Create(const Dataset& data, const PrivacyModel& model, Metric metric);

  SearchResult Search();
  SearchResult Exhaustive();
  // Checks one node from the raw cells and, when `suppressed` is given, marks per cell whether
  // its rows are suppressed at this node.
  NodeResult Check(const std::vector<int>& levels, std::vector<bool>* suppressed = nullptr);
  // Sizes of the equivalence classes kept at `levels`; with `include_suppressed`, suppressed rows
  // (which all become "*") form one more class. For risk measures.
  std::vector<uint64_t> ClassSizes(const std::vector<int>& levels, bool include_suppressed = true);

 private:
  struct Classes;
  Anonymizer(const Dataset& data, const PrivacyModel& model, Metric metric);
  NodeResult Evaluate(const std::vector<int>& levels, const Classes* from, Classes* out,
                      std::vector<bool>* suppressed);
  double LowerBound(const std::vector<int>& levels) const;
  bool Monotone() const;

  const Dataset* data_;
  PrivacyModel model_;
  Metric metric_;
  std::vector<std::vector<double>> level_share_;  // per QI, per level: Σ rows × share / rows
};

}  // namespace kexin::deid

#endif  // KEXIN_DEID_SEARCH_H_
