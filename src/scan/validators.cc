#include "scan/validators.h"

#include <arpa/inet.h>
#if defined(__SSSE3__)
#include <tmmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_set>

#include "base/utf8.h"

namespace kexin::scan {
namespace {

constexpr Strength kNo = Strength::kNone;
constexpr Strength kYes = Strength::kStrong;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool AllDigits(std::string_view v) {
  for (char c : v) {
    if (!IsDigit(c)) return false;
  }
  return !v.empty();
}
int Num(std::string_view v) {
  int n = 0;
  for (char c : v) n = n * 10 + (c - '0');
  return n;
}

// GB/T 2260 province-level prefixes that appear in ID numbers and credit codes.
bool ValidProvince(int p) {
  return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
         (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
         (p >= 81 && p <= 83);
}

int TodayYmd() {
  static const int today = [] {
    time_t t = time(nullptr);
    struct tm tm;
    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
  }();
  return today;
}

bool RealDate(int y, int m, int d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  int max = kDays[m - 1];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) max = 29;
  return d <= max;
}

// Decodes UTF-8 (already validated by the reader) into code points.
// Decodes UTF-8 into code points; returns cap + 1 when the text holds more than cap of them.
size_t DecodeUtf8(std::string_view s, char32_t* out, size_t cap) {
  size_t n = 0, i = 0;
  while (i < s.size() && n < cap) out[n++] = utf8::Next(s, &i);
  return i < s.size() ? cap + 1 : n;
}

bool IsHan(char32_t c) { return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF); }

// A set of BMP characters as a bitmap: one bit test per lookup, no hashing.
class CharSet {
 public:
  explicit CharSet(std::string_view utf8) : bits_(0x10000 / 64, 0) {
    std::array<char32_t, 2048> buf;
    size_t n = DecodeUtf8(utf8, buf.data(), buf.size());
    for (size_t i = 0; i < n && i < buf.size(); ++i) {
      if (buf[i] < 0x10000) bits_[buf[i] >> 6] |= uint64_t{1} << (buf[i] & 63);
    }
  }
  bool count(char32_t c) const { return c < 0x10000 && ((bits_[c >> 6] >> (c & 63)) & 1); }

 private:
  std::vector<uint64_t> bits_;
};

const CharSet& Surnames() {
  static const CharSet s(
      "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
      "吕"
      "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万"
      "钱"
      "严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁"
      "尚"
      "符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆"
      "农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋"
      "商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储栗燕楚鄢劳谌奚皮粟冼"
      "蔺楼盘满闻位厉伊仝区郜阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿狄计索宣晋相初门容敬扈晁芮都"
      "阙浦戈伏鹿薄邸雍辜羊乌母裘亓修邰赫杭况宿鲜印逯隆茹诸战慕危亢嵇哈湛宾戎勾茅於呼居揭干但尉"
      "冶斯束檀衣信展阴昝智幸奉植衡富尧闭");
  return s;
}

bool IsCompoundSurname(char32_t a, char32_t b) {
  static const std::vector<uint64_t> pairs = [] {
    static const char* const kCompound[] = {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
        "司徒", "夏侯", "令狐", "端木", "西门", "南宫", "独孤", "澹台", "公冶", "呼延", "赫连",
        "万俟", "闻人", "轩辕", "百里", "钟离", "宗政", "濮阳", "第五", "太史", "申屠", "拓跋"};
    std::vector<uint64_t> v;
    for (const char* c : kCompound) {
      char32_t cp[3];
      DecodeUtf8(c, cp, 3);
      v.push_back((uint64_t{cp[0]} << 32) | cp[1]);
    }
    return v;
  }();
  uint64_t key = (uint64_t{a} << 32) | b;
  for (uint64_t p : pairs) {
    if (p == key) return true;
  }
  return false;
}

// Characters that end place, company and product names but not personal names.
const CharSet& NonNameEndings() {
  static const CharSet s(
      "市省区县路街号司店厂院局部校镇村州城站场馆楼园湖山河江桥港所厅处队病症炎癌瘤");
  return s;
}

// Major cities whose names begin with a surname character (南京, 武汉, 成都 ...).
constexpr std::string_view kCities[] = {
    "北京", "上海", "天津", "重庆", "广州", "深圳", "杭州",   "南京",   "武汉",     "成都",
    "西安", "苏州", "长沙", "郑州", "青岛", "沈阳", "东莞",   "佛山",   "合肥",     "福州",
    "厦门", "济南", "昆明", "大连", "温州", "无锡", "常州",   "南昌",   "贵阳",     "太原",
    "兰州", "海口", "银川", "西宁", "拉萨", "长春", "石家庄", "哈尔滨", "乌鲁木齐", "呼和浩特",
    "徐州", "泉州", "烟台", "洛阳", "唐山", "保定", "潍坊",   "扬州",   "镇江",     "嘉兴",
    "绍兴", "台州", "湖州", "丽水", "衢州", "舟山", "柳州",   "珠海",   "汕头",     "湛江",
    "江门", "惠州", "中山", "香港", "澳门", "台北"};

// v decoded as cp[0..n). Names are checked on every cell of a name column, so the first two
// characters go through a sorted table of the cities' first two before any string comparison.
bool IsCityName(std::string_view v, const char32_t* cp, size_t n) {
  static const std::vector<uint64_t> prefixes = [] {
    std::vector<uint64_t> p;
    for (std::string_view c : kCities) {
      char32_t two[3];
      DecodeUtf8(c, two, 2);
      p.push_back((uint64_t{two[0]} << 32) | two[1]);
    }
    std::sort(p.begin(), p.end());
    return p;
  }();
  if (v.size() != 6 && v.size() != 9 && v.size() != 12) return false;
  if (n < 2 ||
      !std::binary_search(prefixes.begin(), prefixes.end(), (uint64_t{cp[0]} << 32) | cp[1]))
    return false;
  for (std::string_view c : kCities) {
    if (v == c) return true;
  }
  return false;
}

bool ParseCnMobileDigits(std::string_view d) {
  // 1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8} | 1(?:610\d|740[0-5])\d{6}
  if (d.size() != 11 || d[0] != '1' || !AllDigits(d)) return false;
  char a = d[1], b = d[2];
  switch (a) {
    case '3':
    case '8':
      return true;
    case '4':
      return b == '5' || b == '7';
    case '5':
    case '9':
      return b != '4';
    case '6':
      if (b == '2' || b == '5' || b == '6' || b == '7') return true;
      return b == '1' && d[3] == '0';
    case '7':
      if (b != '4' && b != '9') return true;
      return b == '4' && d[3] == '0' && d[4] >= '0' && d[4] <= '5';
    default:
      return false;
  }
}

}  // namespace

namespace {
// The class of one byte, as ShapeOf reports it.
constexpr uint16_t ByteClass(int c) {
  if (c >= '0' && c <= '9') return kDigit;
  if (c >= 'A' && c <= 'Z') return kUpper;
  if (c >= 'a' && c <= 'z') return kLower;
  if (c >= 0x80) return kNonAscii;
  if (c == ' ' || c == '\t') return kSpace;
  if (c == '@') return kAt;
  if (c == '.') return kDot;
  if (c == ':') return kColon;
  if (c == '-') return kDash;
  if (c == '+') return kPlus;
  if (c == '/') return kSlash;
  if (c == ',') return kComma;
  if (c == '(' || c == ')') return kParen;
  if (c == '_') return kUnderscore;
  return kOtherAscii;
}

uint32_t ShapeScalar(const char* p, size_t n) {
  static constexpr std::array<uint16_t, 256> kClass = [] {
    std::array<uint16_t, 256> t{};
    for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = ByteClass(c);
    return t;
  }();
  uint32_t cls = 0;
  for (size_t i = 0; i < n; ++i) cls |= kClass[static_cast<unsigned char>(p[i])];
  return cls;
}

#if defined(__SSSE3__)
// Sixteen bytes at a time. Each byte's classes are found by two table lookups (pshufb) on its low
// and high nibble, ANDed: a class is a set of (high, low) nibble pairs, so it is split into parts
// that are each one high nibble times a set of low nibbles, one bit per part, in two bytes of
// bits (A and B). Bytes >= 0x80 find 0 in the high-nibble tables and are counted by their top bit;
// an ASCII byte in no part is kOtherAscii.
//   A: 0 digit (3, 0-9), 1 upper (4, 1-F), 2 upper (5, 0-A), 3 lower (6, 1-F), 4 lower (7, 0-A),
//      5 space (2, 0), 6 tab (0, 9), 7 '@' (4, 0)
//   B: 0 '.' (2, E), 1 ':' (3, A), 2 '-' (2, D), 3 '+' (2, B), 4 '/' (2, F), 5 ',' (2, C),
//      6 '(' ')' (2, 8-9), 7 '_' (5, F)
struct NibbleTables {
  __m128i lo_a, hi_a, lo_b, hi_b;
};
NibbleTables MakeNibbleTables() {
  alignas(16) uint8_t lo_a[16] = {}, hi_a[16] = {}, lo_b[16] = {}, hi_b[16] = {};
  auto part = [](uint8_t* lo, uint8_t* hi, int bit, int high, int from, int to) {
    hi[high] |= static_cast<uint8_t>(1u << bit);
    for (int l = from; l <= to; ++l) lo[l] |= static_cast<uint8_t>(1u << bit);
  };
  part(lo_a, hi_a, 0, 3, 0x0, 0x9);
  part(lo_a, hi_a, 1, 4, 0x1, 0xF);
  part(lo_a, hi_a, 2, 5, 0x0, 0xA);
  part(lo_a, hi_a, 3, 6, 0x1, 0xF);
  part(lo_a, hi_a, 4, 7, 0x0, 0xA);
  part(lo_a, hi_a, 5, 2, 0x0, 0x0);
  part(lo_a, hi_a, 6, 0, 0x9, 0x9);
  part(lo_a, hi_a, 7, 4, 0x0, 0x0);
  part(lo_b, hi_b, 0, 2, 0xE, 0xE);
  part(lo_b, hi_b, 1, 3, 0xA, 0xA);
  part(lo_b, hi_b, 2, 2, 0xD, 0xD);
  part(lo_b, hi_b, 3, 2, 0xB, 0xB);
  part(lo_b, hi_b, 4, 2, 0xF, 0xF);
  part(lo_b, hi_b, 5, 2, 0xC, 0xC);
  part(lo_b, hi_b, 6, 2, 0x8, 0x9);
  part(lo_b, hi_b, 7, 5, 0xF, 0xF);
  auto load = [](const uint8_t* t) { return _mm_load_si128(reinterpret_cast<const __m128i*>(t)); };
  return {load(lo_a), load(hi_a), load(lo_b), load(hi_b)};
}
// The classes of a byte of part bits: each of the 8 bits stands for the class in `classes`.
constexpr std::array<uint16_t, 256> PartsTable(const std::array<uint16_t, 8>& classes) {
  std::array<uint16_t, 256> t{};
  for (int m = 0; m < 256; ++m)
    for (int b = 0; b < 8; ++b)
      if (m & (1 << b)) t[static_cast<size_t>(m)] |= classes[static_cast<size_t>(b)];
  return t;
}
constexpr std::array<uint16_t, 256> kPartsA =
    PartsTable({kDigit, kUpper, kUpper, kLower, kLower, kSpace, kSpace, kAt});
constexpr std::array<uint16_t, 256> kPartsB =
    PartsTable({kDot, kColon, kDash, kPlus, kSlash, kComma, kParen, kUnderscore});

// The OR of all sixteen lanes of a (low byte) and of b (high byte).
uint32_t OrLanes(__m128i a, __m128i b) {
  __m128i v = _mm_or_si128(_mm_unpacklo_epi8(a, b), _mm_unpackhi_epi8(a, b));  // a0 b0 a1 b1 ...
  v = _mm_or_si128(v, _mm_srli_si128(v, 8));
  v = _mm_or_si128(v, _mm_srli_si128(v, 4));
  v = _mm_or_si128(v, _mm_srli_si128(v, 2));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(v)) & 0xFFFF;
}

uint32_t ShapeSimd(const char* p, size_t n) {
  static const NibbleTables t = MakeNibbleTables();
  const __m128i low4 = _mm_set1_epi8(0x0F);
  __m128i acc_a = _mm_setzero_si128(), acc_b = _mm_setzero_si128();
  int high = 0, other = 0;
  auto block = [&](__m128i b) {
    const __m128i lo = _mm_and_si128(b, low4);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), low4);
    const __m128i a = _mm_and_si128(_mm_shuffle_epi8(t.lo_a, lo), _mm_shuffle_epi8(t.hi_a, hi));
    const __m128i c = _mm_and_si128(_mm_shuffle_epi8(t.lo_b, lo), _mm_shuffle_epi8(t.hi_b, hi));
    acc_a = _mm_or_si128(acc_a, a);
    acc_b = _mm_or_si128(acc_b, c);
    const int top = _mm_movemask_epi8(b);
    high |= top;
    other |= _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(a, c), _mm_setzero_si128())) & ~top;
  };
  if (n >= 16) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    // The last sixteen bytes overlap those seen: classes are a union.
    if (i < n) block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
  } else {
    // Two overlapping loads fill all sixteen lanes with bytes of the value.
    uint64_t first, last;
    memcpy(&first, p, 8);
    memcpy(&last, p + n - 8, 8);
    block(_mm_set_epi64x(static_cast<long long>(last), static_cast<long long>(first)));
  }
  const uint32_t parts = OrLanes(acc_a, acc_b);
  return kPartsA[parts & 0xFF] | kPartsB[parts >> 8] | (high ? kNonAscii : 0u) |
         (other ? kOtherAscii : 0u);
}
#endif
}  // namespace

Shape ShapeOf(std::string_view v) {
  Shape s;
  s.bytes = static_cast<uint32_t>(v.size());
#if defined(__SSSE3__)
  s.classes = v.size() >= 8 ? ShapeSimd(v.data(), v.size()) : ShapeScalar(v.data(), v.size());
#else
  s.classes = ShapeScalar(v.data(), v.size());
#endif
  return s;
}

bool LuhnValid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

char IdCardCheckChar(std::string_view first17) {
  static constexpr int kW[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kW[i];
  return "10X98765432"[sum % 11];
}

Strength IdCardCn(std::string_view v) {
  if (v.size() != 18 || !AllDigitsSwar(v.substr(0, 17))) return kNo;
  char last = v[17] == 'x' ? 'X' : v[17];
  if (!IsDigit(last) && last != 'X') return kNo;
  if (!ValidProvince(Num(v.substr(0, 2))) || v.substr(2, 2) == "00" || v.substr(4, 2) == "00")
    return kNo;
  int y = Num(v.substr(6, 4)), m = Num(v.substr(10, 2)), d = Num(v.substr(12, 2));
  if (y < 1900 || !RealDate(y, m, d) || y * 10000 + m * 100 + d > TodayYmd()) return kNo;
  return IdCardCheckChar(v) == last ? kYes : kNo;
}

Strength UsccCn(std::string_view v) {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  static constexpr int kW[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  static const std::array<int8_t, 256> kValue = [] {
    std::array<int8_t, 256> t;
    t.fill(-1);
    for (size_t i = 0; i < kAlphabet.size(); ++i)
      t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  if (v.size() != 18 || !AllDigits(v.substr(2, 6))) return kNo;
  int p = Num(v.substr(2, 2));
  if (!ValidProvince(p) && p != 10) return kNo;
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    int k = kValue[static_cast<unsigned char>(v[i])];
    if (k < 0) return kNo;
    sum += k * kW[i];
  }
  int check = (31 - sum % 31) % 31;
  return kAlphabet[static_cast<size_t>(check)] == v[17] ? kYes : kNo;
}

Strength OrgCodeCn(std::string_view v) {
  static constexpr int kW[8] = {3, 7, 9, 10, 5, 8, 4, 2};
  if (v.size() == 10 && v[8] == '-') {
    std::string s(v.substr(0, 8));
    s += v[9];
    return OrgCodeCn(s);
  }
  if (v.size() != 9) return kNo;
  int sum = 0;
  for (int i = 0; i < 8; ++i) {
    char c = v[i];
    int val = IsDigit(c) ? c - '0' : (c >= 'A' && c <= 'Z') ? c - 'A' + 10 : -1;
    if (val < 0) return kNo;
    sum += val * kW[i];
  }
  int c = 11 - sum % 11;
  char want = c == 10 ? 'X' : c == 11 ? '0' : static_cast<char>('0' + c);
  return v[8] == want ? kYes : kNo;
}

Strength BankCard(std::string_view v) {
  // Spaces and dashes are dropped; anything else but a digit, or more than 19 digits, fails. Most
  // values have no separator and are checked in place.
  char buf[19];
  if (!AllDigitsSwar(v)) {
    size_t n = 0;
    for (char c : v) {
      if (IsDigit(c)) {
        if (n == sizeof buf) return kNo;
        buf[n++] = c;
      } else if (c != ' ' && c != '-') {
        return kNo;
      }
    }
    v = std::string_view(buf, n);
  }
  const size_t n = v.size();
  if (n < 13 || n > 19) return kNo;
  if (v[0] < '3' || v[0] > '6') return kNo;
  if (v[0] == '6' && v[1] == '2' && n < 16) return kNo;
  // Luhn, eight digits at a time from the right (SWAR): in each little-endian word the bytes at
  // even offsets are second from the right of their pair, so doubled (2d, less 9 when d >= 5).
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kEven = 0x00FF00FF00FF00FFULL;
  auto word_sum = [&](size_t end) {
    uint64_t w;
    memcpy(&w, v.data() + end - 8, 8);
    const uint64_t d = w - 0x30 * kOnes;  // digits 0-9 per byte (all bytes are digits)
    const uint64_t ge5 = ((d + 0x7B * kOnes) >> 7) & kOnes & kEven;
    const uint64_t lanes = d + (d & kEven) - 9 * ge5;  // each byte 0-9
    return static_cast<int>((lanes * kOnes) >> 56);
  };
  static constexpr int kDoubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
  int sum = word_sum(n);
  size_t i = n - 8;  // digits left, the last of them not doubled
  if (i >= 8) {
    sum += word_sum(i);
    i -= 8;
  }
  for (; i >= 2; i -= 2) sum += (v[i - 1] - '0') + kDoubled[v[i - 2] - '0'];
  if (i == 1) sum += v[0] - '0';
  return sum % 10 == 0 ? kYes : kNo;
}

Strength MobileCn(std::string_view v) {
  if (v.empty() || v.size() > 20) return kNo;
  char buf[24];
  size_t n = 0;
  for (char c : v) {
    if (IsDigit(c)) {
      if (n == 15) return kNo;  // more digits than "0086" + 11
      buf[n++] = c;
    } else if (c != ' ' && c != '-' && !(c == '+' && n == 0)) {
      return kNo;
    }
  }
  std::string_view d(buf, n);
  if (d.size() == 13 && d.substr(0, 2) == "86")
    d.remove_prefix(2);
  else if (d.size() == 15 && d.substr(0, 4) == "0086")
    d.remove_prefix(4);
  if (v[0] == '+' && d.size() != 11) return kNo;
  return ParseCnMobileDigits(d) ? kYes : kNo;
}

Strength LandlineCn(std::string_view v) {
  char buf[24];
  size_t n = 0;
  size_t separators = 0;
  for (char c : v) {
    if (IsDigit(c)) {
      if (n == sizeof(buf) || (n == 0 && c != '0')) return kNo;  // numbers start with 0
      buf[n++] = c;
    } else if (c == '-' || c == ' ' || c == '(' || c == ')') {
      ++separators;
    } else {
      return kNo;
    }
  }
  if (separators > 3) return kNo;
  std::string_view d(buf, n);
  if (d.size() < 10 || d.size() > 12 || d[0] != '0') return kNo;
  size_t area;
  if (d[1] == '1' && d[2] == '0')
    area = 3;  // 010 Beijing
  else if (d[1] == '2')
    area = 3;  // 02x
  else if (d[1] >= '3' && d[1] <= '9')
    area = 4;
  else
    return kNo;
  size_t sub = d.size() - area;
  if (sub < 7 || sub > 8 || d[area] == '0' || d[area] == '1') return kNo;
  return kYes;
}

Strength Email(std::string_view v) {
  size_t at = v.find('@');
  if (at == 0 || at == std::string_view::npos || at > 64 || v.size() > 254) return kNo;
  // Byte classes: bit 0 allowed in the local part, bit 1 a letter, bit 2 a digit or '-'.
  static constexpr auto kEmail = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
      const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      const bool digit = c >= '0' && c <= '9';
      if (letter || digit || c == '.' || c == '_' || c == '%' || c == '+' || c == '-') t[c] |= 1;
      if (letter) t[c] |= 2;
      if (digit || c == '-') t[c] |= 4;
    }
    return t;
  }();
  auto cls = [](char c) { return kEmail[static_cast<unsigned char>(c)]; };
  std::string_view local = v.substr(0, at), domain = v.substr(at + 1);
  uint8_t all = 1;
  for (char c : local) all &= cls(c);
  if (!all) return kNo;
  if (local.front() == '.' || local.back() == '.') return kNo;
  size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || domain.size() - dot - 1 < 2) return kNo;
  // Up to the last dot: letters, digits, '-' and single dots (not first); after it letters only.
  for (size_t i = 0; i < dot; ++i) {
    char c = domain[i];
    if ((cls(c) & 6) == 0 && !(c == '.' && i > 0 && domain[i - 1] != '.')) return kNo;
  }
  if (domain[dot - 1] == '.') return kNo;
  uint8_t letters = 2;
  for (size_t i = dot + 1; i < domain.size(); ++i) letters &= cls(domain[i]);
  return letters ? kYes : kNo;
}

Strength PassportCn(std::string_view v) {
  auto upper_no_io = [](char c) { return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O'; };
  if (v.size() == 9) {
    if ((v[0] == 'E' || v[0] == 'G') && AllDigits(v.substr(1))) return kYes;
    if (v[0] == 'E' && upper_no_io(v[1]) && AllDigits(v.substr(2))) return kYes;
  }
  if (v.size() == 9 &&
      (v.substr(0, 2) == "SE" || v.substr(0, 2) == "DE" || v.substr(0, 2) == "PE") &&
      AllDigits(v.substr(2))) {
    return kYes;
  }
  return kNo;
}

Strength HkMacauPermit(std::string_view v) {
  if (v.size() == 9 && (v[0] == 'H' || v[0] == 'M' || v[0] == 'C') && AllDigits(v.substr(1))) {
    return kYes;
  }
  return kNo;
}

Strength LicensePlateCn(std::string_view v) {
  static const CharSet provinces("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼");
  static const CharSet suffixes("挂学警港澳");
  char32_t cp[12];
  size_t n = DecodeUtf8(v, cp, 12);
  if (n < 7 || n > 10) return kNo;
  if (!provinces.count(cp[0])) return kNo;
  auto letter = [](char32_t c) { return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O'; };
  auto digit = [](char32_t c) { return c >= '0' && c <= '9'; };
  if (!letter(cp[1])) return kNo;
  size_t i = 2;
  if (i < n && (cp[i] == 0xB7 || cp[i] == ' ' || cp[i] == 0x2022)) ++i;  // "京A·12345"
  size_t rest = n - i;
  bool tail = rest == 6 && suffixes.count(cp[n - 1]);
  if (rest == 5 || tail) {
    for (size_t k = i; k < i + 5; ++k) {
      if (!letter(cp[k]) && !digit(cp[k])) return kNo;
    }
    return kYes;
  }
  if (rest == 6) {  // new-energy
    auto ne = [](char32_t c) {
      return c == 'D' || c == 'A' || c == 'B' || c == 'C' || c == 'E' || c == 'F' || c == 'G' ||
             c == 'H' || c == 'J' || c == 'K';
    };
    bool small = ne(cp[i]) && (letter(cp[i + 1]) || digit(cp[i + 1])) && digit(cp[i + 2]) &&
                 digit(cp[i + 3]) && digit(cp[i + 4]) && digit(cp[i + 5]);
    bool large = digit(cp[i]) && digit(cp[i + 1]) && digit(cp[i + 2]) && digit(cp[i + 3]) &&
                 digit(cp[i + 4]) && ne(cp[i + 5]);
    return small || large ? kYes : kNo;
  }
  return kNo;
}

Strength Vin(std::string_view v) {
  static constexpr int kW[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
  if (v.size() != 17) return kNo;
  int sum = 0, digits = 0;
  for (int i = 0; i < 17; ++i) {
    char c = v[i];
    int val;
    if (IsDigit(c)) {
      val = c - '0';
      ++digits;
    } else if (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q') {
      // Transliteration: A-H = 1-8, J-N = 1-5, P = 7, R = 9, S-Z = 2-9.
      static constexpr int kT[26] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4,
                                     5, 0, 7, 0, 9, 2, 3, 4, 5, 6, 7, 8, 9};
      val = kT[c - 'A'];
    } else {
      return kNo;
    }
    sum += val * kW[i];
  }
  if (digits == 17 || digits < 5) return kNo;  // all-digit strings are order numbers, not VINs
  int r = sum % 11;
  char want = r == 10 ? 'X' : static_cast<char>('0' + r);
  return v[8] == want ? kYes : kNo;
}

Strength IpAddress(std::string_view v) {
  if (v.size() > 45 || v.size() < 7) return kNo;
  if (v.find(':') != std::string_view::npos) {
    char buf[48];
    std::memcpy(buf, v.data(), v.size());
    buf[v.size()] = 0;
    unsigned char out[16];
    return inet_pton(AF_INET6, buf, out) == 1 ? kYes : kNo;
  }
  // Exactly four decimal octets 0-255 without leading zeros.
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int value = 0;
    while (i < v.size() && IsDigit(v[i]) && i - start < 3) value = value * 10 + (v[i++] - '0');
    size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && v[start] == '0')) return kNo;
    ++parts;
    if (i == v.size()) break;
    if (v[i] != '.' || parts == 4) return kNo;
    ++i;
  }
  return parts == 4 ? kYes : kNo;
}

Strength MacAddress(std::string_view v) {
  auto hex = [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  if (v.size() == 17) {
    char sep = v[2];
    if (sep != ':' && sep != '-') return kNo;
    for (int i = 0; i < 17; ++i) {
      if (i % 3 == 2 ? v[i] != sep : !hex(v[i])) return kNo;
    }
    return kYes;
  }
  if (v.size() == 14) {  // Cisco 0011.2233.4455
    for (int i = 0; i < 14; ++i) {
      if (i % 5 == 4 ? v[i] != '.' : !hex(v[i])) return kNo;
    }
    return kYes;
  }
  return kNo;
}

int DateYear(std::string_view v) {
  int y, m, d;
  if (v.size() == 10 && (v[4] == '-' || v[4] == '/' || v[4] == '.') && v[7] == v[4] &&
      IsDigit(v[0]) && IsDigit(v[1]) && IsDigit(v[2]) && IsDigit(v[3]) && IsDigit(v[5]) &&
      IsDigit(v[6]) && IsDigit(v[8]) && IsDigit(v[9])) {
    // The common "2024-01-31", decided without searching (the general case below agrees).
    y = Num(v.substr(0, 4)), m = Num(v.substr(5, 2)), d = Num(v.substr(8, 2));
  } else if (v.size() == 8 && AllDigits(v)) {
    y = Num(v.substr(0, 4)), m = Num(v.substr(4, 2)), d = Num(v.substr(6, 2));
  } else if (v.size() >= 8 && v.size() <= 10 && AllDigits(v.substr(0, 4)) &&
             (v[4] == '-' || v[4] == '/' || v[4] == '.')) {
    char sep = v[4];
    size_t s2 = v.find(sep, 5);
    if (s2 == std::string_view::npos || s2 < 6 || s2 > 7) return 0;
    std::string_view ms = v.substr(5, s2 - 5), ds = v.substr(s2 + 1);
    if (!AllDigits(ms) || !AllDigits(ds) || ds.size() < 1 || ds.size() > 2) return 0;
    y = Num(v.substr(0, 4)), m = Num(ms), d = Num(ds);
  } else if (v.size() >= 11 && v.size() <= 17 && AllDigits(v.substr(0, 4)) &&
             v.substr(4, 3) == "\xE5\xB9\xB4") {                                             // 年
    size_t mo = v.find("\xE6\x9C\x88", 7);                                                   // 月
    if (mo == std::string_view::npos || v.substr(v.size() - 3) != "\xE6\x97\xA5") return 0;  // 日
    std::string_view ms = v.substr(7, mo - 7), ds = v.substr(mo + 3, v.size() - 3 - mo - 3);
    if (!AllDigits(ms) || !AllDigits(ds) || ms.size() > 2 || ds.size() > 2) return 0;
    y = Num(v.substr(0, 4)), m = Num(ms), d = Num(ds);
  } else {
    return 0;
  }
  if (y < 1800 || y > 2200 || !RealDate(y, m, d)) return 0;
  return y;
}

Strength Date(std::string_view v) { return DateYear(v) ? Strength::kWeak : kNo; }

Strength GeoCoordinate(std::string_view v) {
  // A decimal "[-]d{1,3}.d+" between optional spaces, parsed once: its whole part and the number of
  // fraction digits decide each of the limits below.
  struct Decimal {
    bool ok = false;
    uint32_t whole = 0;  // wraps harmlessly on long digit runs, which fail anyway
    size_t frac = 0;
  };
  auto parse = [](std::string_view s) {
    Decimal d;
    size_t b = 0, e = s.size();
    while (b < e && s[b] == ' ') ++b;
    while (e > b && s[e - 1] == ' ') --e;
    if (b < e && s[b] == '-') ++b;
    size_t i = b;
    while (i < e && IsDigit(s[i])) d.whole = d.whole * 10 + static_cast<uint32_t>(s[i++] - '0');
    if (i == b || i - b > 3 || i == e || s[i] != '.') return d;
    const size_t dot = i++;
    while (i < e && IsDigit(s[i])) ++i;
    d.frac = i - dot - 1;
    d.ok = i == e && d.frac > 0;
    return d;
  };
  size_t comma = v.find(',');
  if (comma != std::string_view::npos) {
    const Decimal a = parse(v.substr(0, comma)), b = parse(v.substr(comma + 1));
    if (!a.ok || !b.ok || a.frac < 3 || b.frac < 3) return kNo;
    // lat,lng, or lng,lat (common in China)
    return (a.whole <= 90 && b.whole <= 180) || (a.whole <= 180 && b.whole <= 90) ? kYes : kNo;
  }
  const Decimal d = parse(v);
  return d.ok && d.frac >= 4 && d.whole <= 180 ? Strength::kWeak : kNo;
}

Strength PersonNameCn(std::string_view v) {
  char32_t cp[20];
  size_t n = DecodeUtf8(v, cp, 20);
  if (n < 2 || n > 16) return kNo;
  // Minority names written with a middle dot: 买买提·艾力.
  size_t dots = 0, han = 0;
  for (size_t i = 0; i < n; ++i) {
    if (cp[i] == 0xB7 || cp[i] == 0x2022 || cp[i] == 0x30FB)
      ++dots;
    else if (IsHan(cp[i]))
      ++han;
    else
      return kNo;
  }
  if (dots > 0) {
    if (cp[0] == 0xB7 || cp[n - 1] == 0xB7 || han < 4 || dots > 3) return kNo;
    return kYes;
  }
  if (n > 4 || NonNameEndings().count(cp[n - 1])) return kNo;
  if (IsCityName(v, cp, n)) return kNo;
  const auto& sur = Surnames();
  if (n >= 3 && IsCompoundSurname(cp[0], cp[1])) return kYes;
  if (!sur.count(cp[0])) return kNo;
  if (n == 4 && !sur.count(cp[1])) return kNo;  // four characters: two surnames + given name
  return kYes;
}

Strength AddressCn(std::string_view v) {
  // Per BMP character: bit 0 Han, bit 1 administrative marker, bit 2 street marker (Han too), bit
  // 3 a non-Han character an address may hold. One table lookup per character.
  static const std::vector<uint8_t> kClass = [] {
    std::vector<uint8_t> t(0x10000, 0);
    for (char32_t c = 0; c < 0x10000; ++c) {
      if (IsHan(c)) t[c] = 1;
    }
    char32_t cp[32];
    size_t n = DecodeUtf8("省市区县旗州盟", cp, 32);
    for (size_t i = 0; i < n; ++i) t[cp[i]] |= 2;
    n = DecodeUtf8("路街道巷号村镇乡弄里苑栋楼室园庄", cp, 32);
    for (size_t i = 0; i < n; ++i) t[cp[i]] |= (t[cp[i]] & 2) ? 0 : 4;
    for (char32_t c : {U'-', U'#', U' ', U'(', U')', char32_t{0xFF08}, char32_t{0xFF09}}) t[c] |= 8;
    for (char32_t c = '0'; c <= '9'; ++c) t[c] |= 8;
    for (char32_t c = 'A'; c <= 'Z'; ++c) t[c] |= 8;
    return t;
  }();
  // The four counts packed in one word, 16 bits each (at most 480 characters are counted): Han,
  // administrative markers, street markers, characters that are not allowed. A character adds
  // kAdd[its class].
  static constexpr auto kAdd = [] {
    std::array<uint64_t, 16> a{};
    for (unsigned k = 0; k < 16; ++k) {
      a[k] = (k & 1) | (uint64_t{(k >> 1) & 1} << 16) | (uint64_t{(k >> 2) & 1} << 32) |
             (uint64_t{(k & 9) == 0} << 48);
    }
    return a;
  }();
  const uint8_t* cls = kClass.data();
  // One pass, decoding as it goes (three-byte sequences, nearly all of an address, inline).
  size_t n = 0;
  uint64_t counts = 0;
  for (size_t i = 0; i < v.size();) {
    if (++n > 120) return kNo;
    char32_t c;
    unsigned char b = static_cast<unsigned char>(v[i]);
    if (b < 0x80) {  // digits and letters of house numbers
      c = b;
      ++i;
    } else if ((b & 0xF0) == 0xE0 && i + 2 < v.size()) {
      c = (char32_t{b & 0x0Fu} << 12) |
          (char32_t{static_cast<unsigned char>(v[i + 1]) & 0x3Fu} << 6) |
          (static_cast<unsigned char>(v[i + 2]) & 0x3Fu);
      i += 3;
    } else {
      c = utf8::Next(v, &i);
    }
    counts += kAdd[c < 0x10000 ? cls[c] : 0];
    if ((counts >> 48) > 2) return kNo;
  }
  const size_t han = counts & 0xFFFF, admins = (counts >> 16) & 0xFFFF,
               streets = (counts >> 32) & 0xFFFF;
  if (n < 6 || han < 4) return kNo;
  // A first marker must come after at least one character (a place name before 市/区/路).
  if (admins >= 1 && streets >= 1) return kYes;
  if (admins >= 2 && n >= 5) return kYes;
  return kNo;
}

const std::vector<ValidatorInfo>& BuiltinValidators() {
  constexpr uint32_t kAlnum = kDigit | kUpper;
  constexpr auto len = [](std::initializer_list<int> ns) {
    uint64_t m = 0;
    for (int n : ns) m |= uint64_t{1} << n;
    return m;
  };
  static const std::vector<ValidatorInfo> v = {
      {"gb11643", IdCardCn, 18, 18, kDigit, kDigit | kUpper | kLower, true, len({18})},
      {"gb32100", UsccCn, 18, 18, kDigit, kAlnum, true, len({18})},
      {"gb11714", OrgCodeCn, 9, 10, kDigit, kAlnum | kDash, false, len({9})},
      {"luhn_card", BankCard, 13, 23, kDigit, kDigit | kSpace | kDash, true,
       len({13, 14, 15, 16, 17, 18, 19})},
      {"mobile_cn", MobileCn, 11, 20, kDigit, kDigit | kSpace | kDash | kPlus, true,
       len({11, 13, 15})},
      {"landline_cn", LandlineCn, 10, 16, kDigit, kDigit | kSpace | kDash | kParen, true,
       len({10, 11, 12})},
      {"email", Email, 6, 254, kAt | kDot,
       kDigit | kUpper | kLower | kAt | kDot | kDash | kPlus | kUnderscore | kOtherAscii, true, 0},
      {"passport_cn", PassportCn, 9, 9, kDigit | kUpper, kAlnum, true, 0},
      {"hk_macau_permit", HkMacauPermit, 9, 9, kDigit | kUpper, kAlnum, true, 0},
      {"license_plate_cn", LicensePlateCn, 8, 20, kNonAscii | kUpper, kAlnum | kNonAscii | kSpace,
       true, 0},
      {"vin", Vin, 17, 17, kDigit | kUpper, kAlnum, true, 0},  // all digits: an order number
      {"ip_address", IpAddress, 3, 45, 0, kDigit | kDot | kColon | kUpper | kLower, true, 0},
      {"mac_address", MacAddress, 14, 17, 0, kDigit | kUpper | kLower | kColon | kDash | kDot, true,
       0},
      {"date", Date, 8, 17, kDigit, kDigit | kDash | kSlash | kDot | kNonAscii, false, len({8})},
      {"geo_coordinate", GeoCoordinate, 6, 40, kDigit | kDot,
       kDigit | kDot | kDash | kComma | kSpace, false, 0},
      {"person_name_cn", PersonNameCn, 6, 60, kNonAscii, kNonAscii, false, 0},
      {"address_cn", AddressCn, 18, 480, kNonAscii,
       kNonAscii | kDigit | kUpper | kDash | kSpace | kOtherAscii | kParen, false, 0},
  };
  return v;
}

const ValidatorInfo* FindValidator(std::string_view name) {
  for (const auto& v : BuiltinValidators()) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

}  // namespace kexin::scan
