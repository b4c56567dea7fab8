// Generalization hierarchies for quasi-identifiers (GB/T 37964 generalization; ARX's format).
//
// A hierarchy maps an original value (level 0) to one value per level up to the most general one
// (usually "*", full suppression). Levels are numbered 0..height()-1. Two kinds exist:
//  - a table loaded from a CSV file in ARX's format: one row per original value, one column per
//    level, ';' separated (../shared/data/adult/adult_hierarchy_*.csv);
//  - built-in rules computed from the value: dates (day, month, year, *), numbers in intervals of
//    growing width (ages), ID-number region codes (county, city, province, *) and Chinese
//    addresses (district, city, province, *), and a flat one (value, *).
// Every hierarchy must be functional: two values equal at level a are equal at every level above
// a. Tables are checked when loaded; built-ins are by construction. The search relies on it.
//
// Thread-safety: immutable after construction; safe to share between threads.
#ifndef KEXIN_DEID_HIERARCHY_H_
#define KEXIN_DEID_HIERARCHY_H_

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kexin/status.h"

namespace kexin::deid {

class Hierarchy {
 public:
  virtual ~Hierarchy() = default;
  // Number of levels including level 0 (the original value). At least 1.
  virtual int height() const = 0;
  // Fills `levels` (size height()) with the value at each level; levels[0] is `value` itself.
  // Errors (kDataError) name the value: not in the table, not a date, not a number.
  virtual Status Generalize(std::string_view value, std::vector<std::string>* levels) const = 0;
  // "file adult_hierarchy_age.csv", "builtin date", ... for reports.
  virtual std::string Describe() const = 0;
};

// Loads an ARX-format hierarchy. Errors name the file and line: ragged rows (a row with a
// different number of levels than the first), duplicate values, empty files, and values whose
// generalizations disagree (not functional).
Result<std::unique_ptr<Hierarchy>> LoadHierarchyCsv(const std::string& path, char delimiter = ';');
// The same from text (tests); `name` is used in messages.
Result<std::unique_ptr<Hierarchy>> ParseHierarchyCsv(std::string_view text, const std::string& name,
                                                     char delimiter = ';');

// Built-ins. Dates accept YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD and YYYY年M月D日: day, "YYYY-MM",
// "YYYY", "*".
std::unique_ptr<Hierarchy> DateHierarchy();
// Numbers (integers or decimals) in intervals: level i has width widths[i-1], aligned at
// multiples of the width from `origin` ("[20, 25)"); widths must grow and each must divide the
// next so the hierarchy is functional. A last level "*" is added.
Result<std::unique_ptr<Hierarchy>> IntervalHierarchy(std::vector<double> widths, double origin = 0);
// Six-digit region codes or 18-digit ID numbers: county "110105", city "110100", province
// "110000", "*".
std::unique_ptr<Hierarchy> RegionCodeHierarchy();
// Chinese addresses: district/county prefix, city prefix, province prefix, "*". A value with no
// recognisable unit at a level keeps the coarser prefix ("北京市朝阳区建国路1号" -> "北京市朝阳区",
// "北京市", "北京市", "*"; municipalities are their own city).
std::unique_ptr<Hierarchy> AddressHierarchy();
// value, "*".
std::unique_ptr<Hierarchy> FlatHierarchy();

}  // namespace kexin::deid

#endif  // KEXIN_DEID_HIERARCHY_H_
