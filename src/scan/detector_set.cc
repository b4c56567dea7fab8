#include "scan/detector_set.h"

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

#include "base/utf8.h"

namespace kexin::scan {
namespace {

bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string AsciiLower(std::string_view v) {
  std::string s(v);
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

Status CompileDb(const std::vector<std::string>& patterns, const std::vector<unsigned>& flags,
                 const std::vector<std::string>& names, hs_database** db) {
  std::vector<const char*> exprs;
  std::vector<unsigned> ids;
  for (size_t i = 0; i < patterns.size(); ++i) {
    exprs.push_back(patterns[i].c_str());
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       HS_MODE_BLOCK, nullptr, db, &err) != HS_SUCCESS) {
    std::string what = err->expression >= 0 ? names[static_cast<size_t>(err->expression)] : "rules";
    Status s =
        InvalidArgument("category '" + what + "': pattern does not compile: " + err->message);
    hs_free_compile_error(err);
    return s;
  }
  return Status::Ok();
}

struct HitContext {
  std::vector<std::pair<int, std::pair<size_t, size_t>>>* hits;
  const std::vector<int>* ids;
};

int OnHit(unsigned id, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
  auto* c = static_cast<HitContext*>(ctx);
  c->hits->push_back({(*c->ids)[id], {static_cast<size_t>(from), static_cast<size_t>(to)}});
  return c->hits->size() > 100000 ? 1 : 0;  // a pathological text stops here
}

// Byte classes for the text scans below: bit 0, characters identifiers are made of
// ([0-9A-Za-z.:_+-]); bit 1, characters of an embedded-search token (those and @ = %).
const std::array<uint8_t, 256>& TokenChars() {
  static const std::array<uint8_t, 256> t = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
      char ch = static_cast<char>(c);
      if (IsAlnum(ch) || ch == '.' || ch == ':' || ch == '_' || ch == '+' || ch == '-') t[c] = 3;
      if (ch == '@' || ch == '=' || ch == '%') t[c] = 2;
    }
    return t;
  }();
  return t;
}

// Whether v holds a run of at least `min` characters of [0-9A-Za-z.:_+-] (stops at the first).
bool HasTokenOf(std::string_view v, uint32_t min) {
  const auto& t = TokenChars();
  uint32_t run = 0;
  for (char c : v) {
    run = (t[static_cast<unsigned char>(c)] & 1) ? run + 1 : 0;
    if (run >= min) return true;
  }
  return min == 0;
}

}  // namespace

DetectorSet::Scratch::~Scratch() {
  if (cell_) hs_free_scratch(cell_);
  if (text_) hs_free_scratch(text_);
}

DetectorSet::~DetectorSet() {
  if (cell_db_) hs_free_database(cell_db_);
  if (text_db_) hs_free_database(text_db_);
}

Result<std::unique_ptr<DetectorSet>> DetectorSet::Build(const Rules& rules) {
  std::unique_ptr<DetectorSet> d(new DetectorSet(rules));
  KEXIN_RETURN_IF_ERROR(d->Compile().WithContext(rules.source));
  return d;
}

Status DetectorSet::Compile() {
  std::vector<std::string> cell_pats, text_pats, cell_names, text_names, all_pats, all_names;
  std::vector<std::pair<std::string, int>> dict_values;
  std::vector<unsigned> cell_flags, text_flags;
  for (size_t i = 0; i < rules_.categories.size(); ++i) {
    const CategoryRule& r = rules_.categories[i];
    Compiled c;
    c.weak = r.weak;
    if (r.is_free_text) {
      c.active = false;
      free_text_index_ = static_cast<int>(i);
    } else if (!r.validator.empty()) {
      c.validator = FindValidator(r.validator);
      c.date = c.validator != nullptr && c.validator->fn == &Date;
      c.min_bytes = c.validator->min_bytes;
      c.max_bytes = c.validator->max_bytes;
      c.required = c.validator->required;
      c.allowed = c.validator->allowed;
    } else if (!r.values.empty() || !r.suffixes.empty()) {
      c.dictionary = true;
      c.min_bytes = UINT32_MAX;
      c.max_bytes = 0;
      c.allowed = 0;
      for (const auto& v : r.values) {
        dict_values.push_back({AsciiLower(v), static_cast<int>(i)});
        c.min_bytes = std::min<uint32_t>(c.min_bytes, static_cast<uint32_t>(v.size()));
        c.max_bytes = std::max<uint32_t>(c.max_bytes, static_cast<uint32_t>(v.size()));
        c.allowed |= ShapeOf(v).classes | ShapeOf(AsciiLower(v)).classes;
      }
      if (!r.suffixes.empty()) {
        c.max_chars = r.max_chars ? r.max_chars : 12;
        for (const auto& suf : r.suffixes) {
          suffixes_.push_back({suf, utf8::Count(suf), static_cast<int>(i)});
          c.min_bytes = std::min<uint32_t>(c.min_bytes, static_cast<uint32_t>(suf.size()) + 1);
        }
        c.max_bytes = std::max<uint32_t>(c.max_bytes, c.max_chars * 4);
        c.allowed |= kNonAscii;
      }
    } else {
      c.regex = true;
      cell_pats.push_back("^(?:" + r.pattern + ")$");
      cell_flags.push_back(HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8);
      cell_names.push_back(r.id);
      cell_ids_.push_back(static_cast<int>(i));
    }
    if (r.embedded) {
      // Categories with a validator are found by tokenizing the text (FindEmbedded); their
      // pattern is still compiled below so a broken rule file is reported. Regex-only categories
      // are searched with Hyperscan.
      all_pats.push_back(r.pattern);
      all_names.push_back(r.id);
      if (c.validator != nullptr) {
        token_mask_ |= uint64_t{1} << i;
        if (c.validator->name == "license_plate_cn") plate_index_ = static_cast<int>(i);
      } else {
        text_pats.push_back(r.pattern);
        text_flags.push_back(HS_FLAG_SOM_LEFTMOST | HS_FLAG_UTF8);
        text_names.push_back(r.id);
        text_ids_.push_back(static_cast<int>(i));
      }
    }
    compiled_.push_back(std::move(c));
  }
  dict_store_.reserve(dict_values.size());
  for (const auto& [value, cat] : dict_values) dict_store_.push_back(value);
  for (size_t k = 0; k < dict_values.size(); ++k) {
    dict_[dict_store_[k]] |= uint64_t{1} << dict_values[k].second;
  }
  for (size_t i = 0; i < compiled_.size(); ++i) {
    const Compiled& c = compiled_[i];
    if (c.dictionary) dict_mask_ |= uint64_t{1} << i;
    if (c.weak) weak_mask_ |= uint64_t{1} << i;
    if (!c.active) continue;
    for (size_t n = 0; n < kMaxDispatch; ++n) {
      if (n >= c.min_bytes && n <= c.max_bytes) length_mask_[n] |= uint64_t{1} << i;
    }
    if (c.max_bytes >= kMaxDispatch) long_mask_ |= uint64_t{1} << i;
    for (size_t n = 0; n < kMaxDispatch; ++n) {
      if (c.validator == nullptr || ((c.validator->digit_lengths >> n) & 1))
        digit_mask_[n] |= uint64_t{1} << i;
    }
    for (uint32_t v = 0; v < 256; ++v) {
      uint32_t lo_allowed = c.allowed & 0xFF, lo_required = c.required & 0xFF;
      if ((v & ~lo_allowed) != 0 || (v & lo_required) != lo_required)
        exclude_lo_[v] |= uint64_t{1} << i;
    }
    for (uint32_t v = 0; v < 128; ++v) {
      uint32_t hi_allowed = c.allowed >> 8, hi_required = c.required >> 8;
      if ((v & ~hi_allowed) != 0 || (v & hi_required) != hi_required)
        exclude_hi_[v] |= uint64_t{1} << i;
    }
  }
  if (!cell_pats.empty())
    KEXIN_RETURN_IF_ERROR(CompileDb(cell_pats, cell_flags, cell_names, &cell_db_));
  if (!text_pats.empty())
    KEXIN_RETURN_IF_ERROR(CompileDb(text_pats, text_flags, text_names, &text_db_));
  // Patterns of validator categories are never scanned with; they are only checked, so a broken
  // rule file is reported. Parsing each one is enough for that and costs a fraction of compiling
  // them all into a database (which was most of a scan's start-up).
  for (size_t k = 0; k < all_pats.size(); ++k) {
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_expression_info(all_pats[k].c_str(), HS_FLAG_SOM_LEFTMOST | HS_FLAG_UTF8, &info, &err) !=
        HS_SUCCESS) {
      Status s = InvalidArgument("category '" + all_names[k] +
                                 "': pattern does not compile: " + err->message);
      hs_free_compile_error(err);
      return s;
    }
    free(info);  // allocated by Hyperscan's default allocator (malloc)
  }
  has_embedded_ = token_mask_ != 0 || text_db_ != nullptr;
  for (const Compiled& c : compiled_) {
    std::string_view v = c.validator ? c.validator->name : std::string_view();
    norm_.push_back(v == "mobile_cn"                         ? Norm::kMobileDigits
                    : v == "luhn_card" || v == "landline_cn" ? Norm::kDigits
                    : v == "email"                           ? Norm::kLower
                                                             : Norm::kUpperCompact);
  }
  return Status::Ok();
}

std::unique_ptr<DetectorSet::Scratch> DetectorSet::NewScratch() const {
  std::unique_ptr<Scratch> s(new Scratch());
  if (cell_db_) hs_alloc_scratch(cell_db_, &s->cell_);
  if (text_db_) hs_alloc_scratch(text_db_, &s->text_);
  return s;
}

CellMatch DetectorSet::Match(std::string_view cell, Scratch* scratch) const {
  CellMatch m;
  const Shape s = ShapeOf(cell);
  m.text = has_embedded_ && s.bytes >= rules_.free_text_min_bytes &&
           (s.classes & (kSpace | kNonAscii | kComma)) != 0 && (s.classes & (kDigit | kAt)) != 0 &&
           ((s.classes & kAt) != 0 || HasTokenOf(cell, rules_.free_text_min_token));
  bool run_regex = false;
  uint64_t dict_candidates = 0;
  uint64_t candidates = s.bytes < kMaxDispatch ? length_mask_[s.bytes] : long_mask_;
  candidates &= ~(exclude_lo_[s.classes & 0xFF] | exclude_hi_[(s.classes >> 8) & 0x7F]);
  if (s.classes == kDigit && s.bytes < kMaxDispatch) candidates &= digit_mask_[s.bytes];
  for (; candidates; candidates &= candidates - 1) {
    const size_t i = static_cast<size_t>(__builtin_ctzll(candidates));
    const Compiled& c = compiled_[i];
    // length_mask_ is exact below kMaxDispatch; long_mask_ only says the maximum is long enough.
    if (s.bytes >= kMaxDispatch && (s.bytes < c.min_bytes || s.bytes > c.max_bytes)) continue;
    Strength st = Strength::kNone;
    if (c.date) {
      m.year = DateYear(cell);  // the scanner needs the year too: decide once
      st = m.year ? Strength::kWeak : Strength::kNone;
    } else if (c.validator != nullptr) {
      st = c.validator->fn(cell);
    } else if (c.regex) {
      run_regex = true;
      continue;
    } else if (c.dictionary) {
      dict_candidates |= uint64_t{1} << i;
      continue;
    }
    if (st == Strength::kNone) continue;
    if (st == Strength::kStrong && !c.weak) {
      m.strong |= uint64_t{1} << i;
    } else {
      m.weak |= uint64_t{1} << i;
    }
  }
  if (dict_candidates) {
    uint64_t hit = 0;
    if ((s.classes & kUpper) != 0) {
      std::string lower = AsciiLower(cell);
      auto it = dict_.find(lower);
      if (it != dict_.end()) hit = it->second;
    } else {
      auto it = dict_.find(cell);
      if (it != dict_.end()) hit = it->second;
    }
    if (s.classes == kNonAscii && !suffixes_.empty()) {
      size_t chars = 0;
      for (const auto& suf : suffixes_) {
        if (cell.size() <= suf.text.size() || !((dict_candidates >> suf.category) & 1)) continue;
        if (memcmp(cell.data() + cell.size() - suf.text.size(), suf.text.data(), suf.text.size()) !=
            0)
          continue;
        if (chars == 0) chars = utf8::Count(cell);
        if (chars <= compiled_[suf.category].max_chars && chars > suf.chars)
          hit |= uint64_t{1} << suf.category;
      }
    }
    hit &= dict_candidates;
    m.strong |= hit & ~weak_mask_;
    m.weak |= hit & weak_mask_;
  }
  if (run_regex && cell_db_ != nullptr) {
    scratch->hits_.clear();
    HitContext ctx{&scratch->hits_, &cell_ids_};
    hs_scan(cell_db_, cell.data(), static_cast<unsigned>(cell.size()), 0, scratch->cell_, OnHit,
            &ctx);
    for (const auto& h : scratch->hits_) {
      if (compiled_[h.first].weak) {
        m.weak |= uint64_t{1} << h.first;
      } else {
        m.strong |= uint64_t{1} << h.first;
      }
    }
  }
  return m;
}

Strength DetectorSet::MatchOne(size_t i, std::string_view cell) const {
  const Compiled& c = compiled_[i];
  if (cell.size() < c.min_bytes || cell.size() > c.max_bytes) return Strength::kNone;
  // Validators check the whole format themselves; the shape filter only saves calls in Match.
  if (c.validator != nullptr) return c.validator->fn(cell);
  const Shape s = ShapeOf(cell);
  if ((s.classes & c.required) != c.required || (s.classes & ~c.allowed) != 0)
    return Strength::kNone;
  if (!c.dictionary) return Strength::kNone;
  const uint64_t bit = uint64_t{1} << i;
  auto it = (s.classes & kUpper) != 0 ? dict_.find(AsciiLower(cell)) : dict_.find(cell);
  if (it != dict_.end() && (it->second & bit)) return Strength::kStrong;
  if (s.classes == kNonAscii) {
    size_t chars = 0;
    for (const auto& suf : suffixes_) {
      if (suf.category != static_cast<int>(i) || cell.size() <= suf.text.size()) continue;
      if (memcmp(cell.data() + cell.size() - suf.text.size(), suf.text.data(), suf.text.size()) !=
          0)
        continue;
      if (chars == 0) chars = utf8::Count(cell);
      if (chars <= c.max_chars && chars > suf.chars) return Strength::kStrong;
    }
  }
  return Strength::kNone;
}

bool DetectorSet::IsTextCandidate(std::string_view cell) const {
  if (cell.size() < rules_.free_text_min_bytes || !has_embedded_) return false;
  const uint32_t cls = ShapeOf(cell).classes;
  return (cls & (kSpace | kNonAscii | kComma)) != 0 && (cls & (kDigit | kAt)) != 0 &&
         ((cls & kAt) != 0 || HasTokenOf(cell, rules_.free_text_min_token));
}

void DetectorSet::FindEmbedded(std::string_view text, Scratch* scratch,
                               const std::function<void(int, std::string_view)>& fn) const {
  if (!has_embedded_) return;
  auto& hits = scratch->hits_;
  hits.clear();
  // Tokens: maximal runs of identifier characters, trimmed of punctuation at their ends; each is
  // matched as a whole value against the validator categories.
  if (token_mask_ != 0) {
    const auto& chars = TokenChars();
    auto tok = [&chars](char c) { return (chars[static_cast<unsigned char>(c)] & 2) != 0; };
    size_t i = 0;
    const size_t n = text.size();
    while (i < n) {
      if (!tok(text[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < n && tok(text[j])) ++j;
      size_t a = i, b = j;
      while (a < b && (text[a] == '.' || text[a] == ':' || text[a] == '_' || text[a] == '-' ||
                       (text[a] == '+' && (a + 1 == b || !IsAlnum(text[a + 1]))))) {
        ++a;
      }
      while (b > a && (text[b - 1] == '.' || text[b - 1] == ':' || text[b - 1] == '_' ||
                       text[b - 1] == '+' || text[b - 1] == '-')) {
        --b;
      }
      if (b - a >= 5) {
        std::string_view token = text.substr(a, b - a);
        uint64_t m = Match(token, scratch).strong & token_mask_;
        if (m == 0 && plate_index_ >= 0 && a >= 3 && token[0] >= 'A' && token[0] <= 'Z' &&
            LicensePlateCn(text.substr(a - 3, b - a + 3)) == Strength::kStrong) {
          hits.push_back({plate_index_, {a - 3, b}});
        } else if (m != 0) {
          hits.push_back({__builtin_ctzll(m), {a, b}});  // the first (highest-priority) category
        } else if (token.find_first_of(":=") != std::string_view::npos) {
          // A label glued to a value ("phone:138...", "ID=1101..."): try the parts (a MAC or IPv6
          // address matched whole above).
          size_t from = a;
          for (size_t k = a; k <= b; ++k) {
            if (k < b && text[k] != ':' && text[k] != '=') continue;
            if (k - from >= 5) {
              uint64_t pm = Match(text.substr(from, k - from), scratch).strong & token_mask_;
              if (pm != 0) hits.push_back({__builtin_ctzll(pm), {from, k}});
            }
            from = k + 1;
          }
        }
      }
      i = j;
    }
  }
  if (text_db_ != nullptr) {
    size_t before = hits.size();
    HitContext ctx{&hits, &text_ids_};
    hs_scan(text_db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch->text_, OnHit,
            &ctx);
    // Keep regex hits on token boundaries.
    size_t kept = before;
    for (size_t k = before; k < hits.size(); ++k) {
      auto [from, to] = hits[k].second;
      if (from > 0 && IsAlnum(text[from - 1])) continue;
      if (to < text.size() && IsAlnum(text[to])) continue;
      hits[kept++] = hits[k];
    }
    hits.resize(kept);
  }
  std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
    return a.second.first != b.second.first ? a.second.first < b.second.first : a.first < b.first;
  });
  size_t covered_to = 0;
  for (size_t i = 0; i < hits.size(); ++i) {
    auto [from, to] = hits[i].second;
    if (from < covered_to) continue;
    // Among hits starting here or overlapping, the earliest category wins.
    int best = hits[i].first;
    size_t best_to = to;
    for (size_t j = i + 1; j < hits.size() && hits[j].second.first < best_to; ++j) {
      if (hits[j].first < best) {
        best = hits[j].first;
        from = hits[j].second.first;
        best_to = hits[j].second.second;
      }
    }
    fn(best, text.substr(from, best_to - from));
    covered_to = best_to;
  }
}

uint64_t DetectorSet::NormalizedHash(int category, std::string_view value) const {
  const Norm norm = norm_[static_cast<size_t>(category)];
  char buf[256];
  if (value.size() > sizeof buf) return std::hash<std::string>()(Normalize(category, value));
  const std::hash<std::string_view> hash;
  // Most values (ID, card and phone numbers) are digits only and normalise to themselves.
  if (AllDigitsSwar(value) && (norm != Norm::kMobileDigits || value.size() <= 11))
    return hash(value);
  size_t n = 0;
  if (norm == Norm::kDigits || norm == Norm::kMobileDigits) {
    for (char ch : value) {
      if (ch >= '0' && ch <= '9') buf[n++] = ch;
    }
    size_t start = norm == Norm::kMobileDigits && n > 11 ? n - 11 : 0;
    return hash(std::string_view(buf + start, n - start));
  }
  if (norm == Norm::kLower) {
    for (char ch : value)
      buf[n++] = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    return hash(std::string_view(buf, n));
  }
  // Upper case without spaces and dashes; most values (ID numbers) are already so.
  static const std::array<bool, 256> kChanges = [] {
    std::array<bool, 256> t{};
    t[' '] = t['-'] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    return t;
  }();
  size_t k = 0;
  while (k < value.size() && !kChanges[static_cast<unsigned char>(value[k])]) ++k;
  if (k == value.size()) return hash(value);
  for (char ch : value) {
    if (ch == ' ' || ch == '-') continue;
    buf[n++] = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  return hash(std::string_view(buf, n));
}

std::string DetectorSet::Normalize(int category, std::string_view value) const {
  const Compiled& c = compiled_[static_cast<size_t>(category)];
  std::string out;
  out.reserve(value.size());
  std::string_view v = c.validator ? c.validator->name : std::string_view();
  if (v == "mobile_cn" || v == "luhn_card" || v == "landline_cn") {
    for (char ch : value) {
      if (ch >= '0' && ch <= '9') out += ch;
    }
    if (v == "mobile_cn" && out.size() > 11) out.erase(0, out.size() - 11);
    return out;
  }
  if (v == "email") return AsciiLower(value);
  for (char ch : value) {
    if (ch == ' ' || ch == '-') continue;
    out += (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  return out;
}

}  // namespace kexin::scan
