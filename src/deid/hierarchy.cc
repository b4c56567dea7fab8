#include "deid/hierarchy.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "base/file.h"

namespace kexin::deid {
namespace {

// Built-in hierarchies keep an empty (missing) value empty at level 0 and suppress it above.
bool EmptyLevels(std::string_view value, int height, std::vector<std::string>* levels) {
  if (!value.empty()) return false;
  levels->assign(height, "*");
  (*levels)[0].clear();
  return true;
}

std::vector<std::string_view> SplitLine(std::string_view line, char delimiter) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = line.find(delimiter, start);
    if (pos == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, pos - start));
    start = pos + 1;
  }
}

class TableHierarchy : public Hierarchy {
 public:
  TableHierarchy(std::string name, int height) : name_(std::move(name)), height_(height) {}
  int height() const override { return height_; }
  Status Generalize(std::string_view value, std::vector<std::string>* levels) const override {
    auto it = rows_.find(std::string(value));
    if (it == rows_.end()) {
      return DataError(fmt::format("value \"{}\" is not in hierarchy {}", value, name_));
    }
    *levels = it->second;
    return Status::Ok();
  }
  std::string Describe() const override { return "file " + name_; }

  std::unordered_map<std::string, std::vector<std::string>> rows_;

 private:
  std::string name_;
  int height_;
};

class DateHierarchyImpl : public Hierarchy {
 public:
  int height() const override { return 4; }
  Status Generalize(std::string_view value, std::vector<std::string>* levels) const override {
    if (EmptyLevels(value, height(), levels)) return Status::Ok();
    int y = 0, m = 0, d = 0;
    if (!ParseDate(value, &y, &m, &d)) {
      return DataError(fmt::format("value \"{}\" is not a date (YYYY-MM-DD)", value));
    }
    levels->assign(
        {std::string(value), fmt::format("{:04}-{:02}", y, m), fmt::format("{:04}", y), "*"});
    return Status::Ok();
  }
  std::string Describe() const override { return "builtin date (day, month, year, *)"; }

 private:
  static bool Digits(std::string_view s, int* out) {
    if (s.empty() || s.size() > 4) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  }
  static bool ParseDate(std::string_view v, int* y, int* m, int* d) {
    std::vector<std::string_view> parts;
    if (v.size() == 8 && v.find_first_not_of("0123456789") == std::string_view::npos) {
      parts = {v.substr(0, 4), v.substr(4, 2), v.substr(6, 2)};
    } else if (v.find("年") != std::string_view::npos) {
      size_t a = v.find("年"), b = v.find("月");
      if (b == std::string_view::npos) return false;
      size_t c = v.find("日");
      parts = {v.substr(0, a), v.substr(a + 3, b - a - 3),
               v.substr(b + 3, c == std::string_view::npos ? std::string_view::npos : c - b - 3)};
    } else {
      char sep = v.find('-') != std::string_view::npos ? '-' : '/';
      parts = SplitLine(v, sep);
    }
    if (parts.size() != 3 || parts[0].size() != 4) return false;
    if (!Digits(parts[0], y) || !Digits(parts[1], m) || !Digits(parts[2], d)) return false;
    static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*m < 1 || *m > 12 || *d < 1 || *d > kDays[*m - 1]) return false;
    bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    return !(*m == 2 && *d == 29 && !leap);
  }
};

class IntervalHierarchyImpl : public Hierarchy {
 public:
  IntervalHierarchyImpl(std::vector<double> widths, double origin)
      : widths_(std::move(widths)), origin_(origin) {}
  int height() const override { return static_cast<int>(widths_.size()) + 2; }
  Status Generalize(std::string_view value, std::vector<std::string>* levels) const override {
    if (EmptyLevels(value, height(), levels)) return Status::Ok();
    double x = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), x);
    if (ec != std::errc() || p != value.data() + value.size() || !std::isfinite(x)) {
      return DataError(fmt::format("value \"{}\" is not a number", value));
    }
    levels->clear();
    levels->emplace_back(value);
    // The bucket of the finest width decides every coarser one by integer division, so the
    // hierarchy is functional whatever the rounding. The tolerance puts 0.3 with width 0.1 in
    // [0.3, 0.4) rather than [0.2, 0.3): a value within a billionth of a bucket's width below a
    // boundary goes to the bucket above it.
    double q = (x - origin_) / widths_[0];
    double b = std::floor(q + 1e-9 * std::max(1.0, std::fabs(q)));
    if (std::fabs(b) > 9e15) return DataError(fmt::format("value \"{}\" is out of range", value));
    int64_t bucket = static_cast<int64_t>(b);
    for (double w : widths_) {
      int64_t ratio = static_cast<int64_t>(std::llround(w / widths_[0]));
      int64_t k = bucket >= 0 ? bucket / ratio : -((-bucket + ratio - 1) / ratio);  // floor
      double lo = origin_ + static_cast<double>(k) * w;
      levels->push_back(fmt::format("[{:.15g}, {:.15g})", lo, lo + w));
    }
    levels->push_back("*");
    return Status::Ok();
  }
  std::string Describe() const override {
    std::string s = "builtin intervals of width";
    for (double w : widths_) s += fmt::format(" {}", w);
    return s;
  }

 private:
  std::vector<double> widths_;
  double origin_;
};

class RegionCodeHierarchyImpl : public Hierarchy {
 public:
  int height() const override { return 5; }
  Status Generalize(std::string_view value, std::vector<std::string>* levels) const override {
    if (EmptyLevels(value, height(), levels)) return Status::Ok();
    if (value.size() < 6 ||
        value.substr(0, 6).find_first_not_of("0123456789") != std::string_view::npos) {
      return DataError(
          fmt::format("value \"{}\" does not start with a six-digit region code", value));
    }
    std::string county(value.substr(0, 6));
    levels->assign({std::string(value), county, county.substr(0, 4) + "00",
                    county.substr(0, 2) + "0000", "*"});
    return Status::Ok();
  }
  std::string Describe() const override {
    return "builtin region code (county, city, province, *)";
  }
};

class AddressHierarchyImpl : public Hierarchy {
 public:
  int height() const override { return 5; }
  Status Generalize(std::string_view value, std::vector<std::string>* levels) const override {
    if (EmptyLevels(value, height(), levels)) return Status::Ok();
    // Province: ends at 省 or 自治区, or a municipality's 市 (北京/上海/天津/重庆).
    static const std::vector<std::string_view> kMunicipalities = {"北京", "上海", "天津", "重庆"};
    size_t province = std::string_view::npos;
    bool municipality = false;
    for (auto m : kMunicipalities) {
      if (value.substr(0, m.size()) == m) {
        municipality = true;
        province = value.substr(0, m.size() + 3) == std::string(m) + "市" ? m.size() + 3 : m.size();
      }
    }
    if (!municipality) province = EndOf(value, 0, {"省", "自治区", "特别行政区"});
    size_t after_province = province == std::string_view::npos ? 0 : province;
    size_t city =
        municipality ? province : EndOf(value, after_province, {"市", "自治州", "盟", "地区"});
    size_t after_city = city == std::string_view::npos ? after_province : city;
    size_t district = EndOf(value, after_city, {"区", "县", "旗", "市"});
    if (province == std::string_view::npos && city == std::string_view::npos &&
        district == std::string_view::npos) {
      return DataError(
          fmt::format("value \"{}\" is not a Chinese address (no 省, 市, 区 or 县)", value));
    }
    std::string p =
        province == std::string_view::npos ? "*" : std::string(value.substr(0, province));
    std::string c = city == std::string_view::npos ? p : std::string(value.substr(0, city));
    std::string d = district == std::string_view::npos ? c : std::string(value.substr(0, district));
    levels->assign({std::string(value), d, c, p, "*"});
    return Status::Ok();
  }
  std::string Describe() const override { return "builtin address (district, city, province, *)"; }

 private:
  // End (byte offset) of the first unit suffix found after `from`, or npos.
  static size_t EndOf(std::string_view v, size_t from,
                      std::initializer_list<std::string_view> units) {
    size_t best = std::string_view::npos;
    for (auto u : units) {
      size_t pos = v.find(u, from);
      // A unit must follow at least one character of name.
      if (pos != std::string_view::npos && pos > from &&
          (best == std::string_view::npos || pos + u.size() < best)) {
        best = pos + u.size();
      }
    }
    return best;
  }
};

class FlatHierarchyImpl : public Hierarchy {
 public:
  int height() const override { return 2; }
  Status Generalize(std::string_view value, std::vector<std::string>* levels) const override {
    levels->assign({std::string(value), "*"});
    return Status::Ok();
  }
  std::string Describe() const override { return "builtin flat (value, *)"; }
};

}  // namespace

Result<std::unique_ptr<Hierarchy>> ParseHierarchyCsv(std::string_view text, const std::string& name,
                                                     char delimiter) {
  std::unique_ptr<TableHierarchy> h;
  // For the functional check: the value each level-l value generalizes to at level l+1.
  std::vector<std::unordered_map<std::string, std::string>> parent;
  size_t line_no = 0;
  size_t pos = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto cells = SplitLine(line, delimiter);
    if (!h) {
      h = std::make_unique<TableHierarchy>(name, static_cast<int>(cells.size()));
      parent.resize(cells.size());
    }
    if (static_cast<int>(cells.size()) != h->height()) {
      return DataError(fmt::format("{}:{}: ragged hierarchy: {} levels, the first row has {}", name,
                                   line_no, cells.size(), h->height()));
    }
    std::vector<std::string> levels(cells.begin(), cells.end());
    for (size_t l = 0; l + 1 < levels.size(); ++l) {
      auto [it, inserted] = parent[l].emplace(levels[l], levels[l + 1]);
      if (!inserted && it->second != levels[l + 1]) {
        return DataError(fmt::format(
            "{}:{}: hierarchy is not functional: \"{}\" at level {} generalizes to \"{}\" here "
            "and to \"{}\" on an earlier line",
            name, line_no, levels[l], l, levels[l + 1], it->second));
      }
    }
    std::string key = levels[0];
    if (!h->rows_.emplace(std::move(key), std::move(levels)).second) {
      return DataError(fmt::format("{}:{}: duplicate value \"{}\"", name, line_no, cells[0]));
    }
  }
  if (!h) return DataError(name + ": empty hierarchy");
  return std::unique_ptr<Hierarchy>(std::move(h));
}

Result<std::unique_ptr<Hierarchy>> LoadHierarchyCsv(const std::string& path, char delimiter) {
  KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseHierarchyCsv(text, path, delimiter);
}

std::unique_ptr<Hierarchy> DateHierarchy() { return std::make_unique<DateHierarchyImpl>(); }

Result<std::unique_ptr<Hierarchy>> IntervalHierarchy(std::vector<double> widths, double origin) {
  if (widths.empty()) return InvalidArgument("interval hierarchy: no widths");
  for (size_t i = 0; i < widths.size(); ++i) {
    if (!(widths[i] > 0) || !std::isfinite(widths[i])) {
      return InvalidArgument(
          fmt::format("interval hierarchy: width {} must be positive", widths[i]));
    }
    if (i > 0) {
      double ratio = widths[i] / widths[i - 1];
      if (widths[i] <= widths[i - 1] || std::fabs(ratio - std::round(ratio)) > 1e-9) {
        return InvalidArgument(
            fmt::format("interval hierarchy: width {} must be a multiple of the width {} below it",
                        widths[i], widths[i - 1]));
      }
    }
  }
  return std::unique_ptr<Hierarchy>(
      std::make_unique<IntervalHierarchyImpl>(std::move(widths), origin));
}

std::unique_ptr<Hierarchy> RegionCodeHierarchy() {
  return std::make_unique<RegionCodeHierarchyImpl>();
}
std::unique_ptr<Hierarchy> AddressHierarchy() { return std::make_unique<AddressHierarchyImpl>(); }
std::unique_ptr<Hierarchy> FlatHierarchy() { return std::make_unique<FlatHierarchyImpl>(); }

}  // namespace kexin::deid
