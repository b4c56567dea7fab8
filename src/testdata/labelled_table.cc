#include "testdata/labelled_table.h"

#include <fcntl.h>
#include <iconv.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>

namespace kexin::testdata {
namespace {

__extension__ typedef unsigned __int128 Uint128;

// What generates a column's values.
enum class Kind {
  kIdCard,
  kOrderNo,
  kMobile,
  kEmail,
  kLandline,
  kBankCard,
  kBadId,
  kUscc,
  kBadUscc,
  kPassport,
  kPermit,
  kPlate,
  kVin,
  kAddress,
  kIp,
  kMac,
  kName,
  kBirthDate,
  kOrderDate,
  kGeo,
  kEthnicity,
  kReligion,
  kMedical,
  kGender,
  kFreeText,
  kPhoneModel,
  kAmount,
  kCity,
  kProduct,
  kStatus,
  kNotesClean,
  kEmpty,
};

struct ColumnSpec {
  const char* header;
  const char* category;  // "" for decoys
  const char* json_group;
  Kind kind;
};

// Output order. The person-name column is the 17th, so its header is also the name a reader gives
// a header-less 17th column.
constexpr ColumnSpec kSpecs[] = {
    {"编号", "id_card_cn", "", Kind::kIdCard},
    {"order_no", "", "", Kind::kOrderNo},
    {"手机号", "mobile_cn", "contact", Kind::kMobile},
    {"邮箱", "email", "contact", Kind::kEmail},
    {"联系电话", "landline_cn", "", Kind::kLandline},
    {"card", "bank_card", "", Kind::kBankCard},
    {"bad_id", "", "", Kind::kBadId},
    {"统一社会信用代码", "uscc_cn", "", Kind::kUscc},
    {"bad_uscc", "", "", Kind::kBadUscc},
    {"passport_no", "passport_cn", "", Kind::kPassport},
    {"通行证号", "hk_macau_permit", "", Kind::kPermit},
    {"车牌", "license_plate_cn", "", Kind::kPlate},
    {"vin", "vin", "", Kind::kVin},
    {"地址", "address_cn", "", Kind::kAddress},
    {"client_ip", "ip_address", "", Kind::kIp},
    {"device_mac", "mac_address", "", Kind::kMac},
    {"col_17", "person_name", "", Kind::kName},
    {"出生日期", "birth_date", "", Kind::kBirthDate},
    {"order_date", "", "", Kind::kOrderDate},
    {"坐标", "geo_coordinate", "", Kind::kGeo},
    {"民族", "ethnicity", "", Kind::kEthnicity},
    {"宗教信仰", "religion", "", Kind::kReligion},
    {"诊断", "medical_condition", "", Kind::kMedical},
    {"性别", "gender", "", Kind::kGender},
    {"备注", "free_text_with_pii", "", Kind::kFreeText},
    {"phone_model", "", "", Kind::kPhoneModel},
    {"amount", "", "", Kind::kAmount},
    {"city", "", "", Kind::kCity},
    {"product", "", "", Kind::kProduct},
    {"status", "", "", Kind::kStatus},
    {"notes_clean", "", "", Kind::kNotesClean},
    {"empty_col", "", "", Kind::kEmpty},
};
constexpr size_t kNumColumns = sizeof(kSpecs) / sizeof(kSpecs[0]);

// Share of positive cells left empty, per mille.
constexpr uint32_t kEmptyPerMille = 30;
// Share of ID numbers that repeat an earlier one (a returning customer), per mille.
constexpr uint32_t kRepeatIdPerMille = 100;
constexpr size_t kRecentIds = 256;
constexpr size_t kFlushBytes = size_t{4} << 20;

template <size_t N>
using Words = std::array<std::string_view, N>;

// Province-level prefixes of GB/T 2260 used in ID numbers and credit codes.
constexpr int kProvinces[] = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41,
                              42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65};
constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::string_view kPlateLetters = "ABCDEFGHJKLMNPQRSTUVWXYZ";
constexpr std::string_view kPlateAlnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
constexpr std::string_view kVinAlphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
constexpr std::string_view kVinLetters = "ABCDEFGHJKLMNPRSTUVWXYZ";
constexpr std::string_view kVinYears = "ABCDEFGHJKLMNPRSTVWXY";
constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kLowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kHexLower = "0123456789abcdef";

constexpr Words<33> kMobilePrefixes = {
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150",
    "151", "152", "153", "155", "156", "157", "158", "159", "180", "181", "182",
    "183", "184", "185", "186", "187", "188", "189", "170", "173", "177", "166"};
constexpr Words<10> kMobilePrefixes2 = {"171", "172", "175", "176", "178",
                                        "190", "191", "193", "198", "199"};
constexpr Words<4> kAreaCodes = {"010-", "021-", "0755-", "0571-"};
constexpr Words<4> kEmailDomains = {"@qq.com", "@163.com", "@example.cn", "@gmail.com"};
constexpr Words<12> kVinWmi = {"LSV", "LFV", "LGB", "LVS", "LBV", "LDC",
                               "LHG", "LSG", "WBA", "WVW", "JHM", "LNB"};
constexpr Words<6> kMacOui = {"a4:5e:60", "00:1a:2b", "3c:22:fb",
                              "f0:18:98", "b8:27:eb", "00:e0:4c"};
constexpr Words<12> kAddressAreas = {
    "北京市朝阳区",       "北京市海淀区",       "上海市浦东新区",     "上海市徐汇区",
    "浙江省杭州市西湖区", "广东省深圳市南山区", "广东省广州市天河区", "江苏省南京市鼓楼区",
    "四川省成都市武侯区", "湖北省武汉市洪山区", "陕西省西安市雁塔区", "重庆市渝中区"};
constexpr Words<12> kRoads = {"建国路",   "文三路",   "中山路",   "人民路", "解放大道", "长安街",
                              "南京东路", "科技园路", "天府大道", "珞喻路", "长江路",   "友谊路"};
constexpr Words<9> kMinorities = {"壮族", "回族",   "满族", "维吾尔族", "苗族",
                                  "彝族", "土家族", "藏族", "蒙古族"};
constexpr Words<6> kReligions = {"佛教", "道教", "伊斯兰教", "基督教", "天主教", "无宗教信仰"};
constexpr Words<12> kConditions = {"高血压", "糖尿病", "冠心病", "哮喘",       "肺炎",   "慢性胃炎",
                                   "抑郁症", "肺癌",   "乳腺癌", "甲状腺结节", "脂肪肝", "痛风"};
constexpr Words<3> kCompoundSurnames = {"欧阳", "司马", "诸葛"};
constexpr Words<9> kPhoneModels = {"iPhone 15 Pro", "HUAWEI Mate 60", "Xiaomi 14",
                                   "OPPO Reno11",   "vivo X100",      "Honor Magic6",
                                   "iPhone 14",     "Redmi K70",      "OnePlus 12"};
constexpr Words<10> kCities = {"北京", "上海", "广州", "深圳", "杭州",
                               "成都", "武汉", "南京", "西安", "重庆"};
constexpr Words<12> kProducts = {"有机大米5kg", "蓝牙耳机", "运动鞋",   "保温杯",
                                 "洗衣液2L",    "电动牙刷", "机械键盘", "儿童绘本",
                                 "咖啡豆500g",  "空气炸锅", "瑜伽垫",   "充电宝"};
constexpr Words<3> kStatuses = {"已支付", "未支付", "已退款"};
constexpr Words<8> kCleanNotes = {"订单共3件，运费12元",     "预计3天内发货",
                                  "满199减20，已使用优惠券", "第2次购买，老客户",
                                  "请于18点前送达",          "赠品2份，已随包裹寄出",
                                  "含税价，开具电子发票",    "备货中，约5个工作日"};
constexpr Words<8> kPlainRemarks = {"已发货，请注意查收",       "客户要求周末送货，已确认",
                                    "商品完好，已签收",         "退货申请已受理，请耐心等待",
                                    "用户反馈包装破损，已补发", "已电话回访，客户满意",
                                    "按约定时间上门安装",       "无"};

// Splits UTF-8 text into its characters.
std::vector<std::string_view> Chars(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

const std::vector<std::string_view>& Surnames() {
  static const auto* v = new std::vector<std::string_view>(Chars(
      "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
      "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱"
      "严"));
  return *v;
}

const std::vector<std::string_view>& GivenChars() {
  static const auto* v = new std::vector<std::string_view>(Chars(
      "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文斌宇浩凯健俊帆帅晨欣怡婷雪琳"
      "晗梓轩子涵博"));
  return *v;
}

const std::vector<std::string_view>& PlateProvinces() {
  static const auto* v = new std::vector<std::string_view>(
      Chars("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"));
  return *v;
}

// Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (*m <= 2));
}

const int64_t kBirthFirst = DaysFromCivil(1940, 1, 1);
const int64_t kBirthDays = DaysFromCivil(2010, 12, 31) - kBirthFirst + 1;
const int64_t kOrderFirst = DaysFromCivil(2023, 1, 1);
const int64_t kOrderDays = DaysFromCivil(2025, 12, 31) - kOrderFirst + 1;

char IdCheckChar(const char* first17) {
  static constexpr int kW[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kW[i];
  return "10X98765432"[sum % 11];
}

int UsccValue(char c) {
  static constexpr auto kValues = [] {
    std::array<int8_t, 256> t{};
    for (size_t i = 0; i < kUsccAlphabet.size(); ++i) {
      t[static_cast<unsigned char>(kUsccAlphabet[i])] = static_cast<int8_t>(i);
    }
    return t;
  }();
  return kValues[static_cast<unsigned char>(c)];
}

char UsccCheckChar(const char* first17) {
  static constexpr int kW[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += UsccValue(first17[i]) * kW[i];
  return kUsccAlphabet[static_cast<size_t>((31 - sum % 31) % 31)];
}

char VinCheckChar(const char* vin) {
  static constexpr int kW[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
  // A-H = 1-8, J-N = 1-5, P = 7, R = 9, S-Z = 2-9 (I, O, Q never occur).
  static constexpr int kT[26] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4,
                                 5, 0, 7, 0, 9, 2, 3, 4, 5, 6, 7, 8, 9};
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    char c = vin[i];
    int v = (c >= '0' && c <= '9') ? c - '0' : kT[c - 'A'];
    sum += v * kW[i];
  }
  int r = sum % 11;
  return r == 10 ? 'X' : static_cast<char>('0' + r);
}

char LuhnCheckDigit(const char* payload, size_t n) {
  int sum = 0;
  bool dbl = true;  // the payload's last digit is doubled once the check digit follows it
  for (size_t i = n; i-- > 0;) {
    int d = payload[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool NeedsQuotes(std::string_view v, char delim) {
  for (char c : v) {
    if (c == delim || c == '"' || c == '\n' || c == '\r') return true;
  }
  return false;
}

// The ASCII characters other than letters and digits that values of a kind may contain. Values
// never contain quotes or line breaks.
std::string_view KindPunctuation(Kind kind) {
  switch (kind) {
    case Kind::kGeo:
      return ",.";
    case Kind::kPhoneModel:
      return " ";
    case Kind::kAmount:
      return ".";
    case Kind::kIp:
      return ".:";
    case Kind::kMac:
      return ":-";
    case Kind::kBirthDate:
    case Kind::kOrderDate:
    case Kind::kLandline:
      return "-";
    case Kind::kEmail:
    case Kind::kFreeText:
      return "@.";
    default:
      return "";
  }
}

void AppendCsvField(std::string_view v, char delim, std::string* out) {
  if (!NeedsQuotes(v, delim)) {
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

void AppendJsonString(std::string_view v, std::string* out) {
  out->push_back('"');
  for (char c : v) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// Writes the output file: optional GB18030 conversion, a temporary name renamed into place.
class OutputFile {
 public:
  OutputFile(std::string path, OutputEncoding encoding)
      : path_(std::move(path)), encoding_(encoding) {}
  ~OutputFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
    if (cd_ != reinterpret_cast<iconv_t>(-1)) iconv_close(cd_);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  Status Open() {
    if (encoding_ == OutputEncoding::kGb18030) {
      cd_ = iconv_open("GB18030", "UTF-8");
      if (cd_ == reinterpret_cast<iconv_t>(-1)) {
        return ErrnoError(path_ + ": cannot convert to GB18030: iconv_open", errno);
      }
    }
    static std::atomic<uint64_t> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      tmp_ = path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
      fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return Status::Ok();
      if (errno != EEXIST) break;
    }
    return ErrnoError(path_, errno);
  }

  // Writes UTF-8 text made of whole characters.
  Status Write(std::string_view utf8) {
    if (encoding_ == OutputEncoding::kUtf8) return WriteRaw(utf8);
    char* in = const_cast<char*>(utf8.data());
    size_t in_left = utf8.size();
    while (in_left > 0) {
      converted_.resize(std::max<size_t>(in_left + in_left / 2, 64));
      char* out = converted_.data();
      size_t out_left = converted_.size();
      size_t r = iconv(cd_, &in, &in_left, &out, &out_left);
      const int err = errno;
      KEXIN_RETURN_IF_ERROR(
          WriteRaw(std::string_view(converted_.data(), converted_.size() - out_left)));
      if (r == static_cast<size_t>(-1) && err != E2BIG) {
        return Internal(path_ + ": cannot convert to GB18030 near byte " +
                        std::to_string(utf8.size() - in_left) + ": " + std::strerror(err));
      }
    }
    return Status::Ok();
  }

  Status Commit() {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      Status s = ErrnoError(path_, errno);
      ::unlink(tmp_.c_str());
      return s;
    }
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      Status s = ErrnoError(path_, errno);
      ::unlink(tmp_.c_str());
      return s;
    }
    return Status::Ok();
  }

  uint64_t written() const { return written_; }

 private:
  Status WriteRaw(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

  std::string path_;
  OutputEncoding encoding_;
  std::string tmp_;
  int fd_ = -1;
  iconv_t cd_ = reinterpret_cast<iconv_t>(-1);
  std::string converted_;
  uint64_t written_ = 0;
};

}  // namespace

const std::vector<LabelledColumn>& Columns() {
  static const auto* v = [] {
    auto* cols = new std::vector<LabelledColumn>();
    for (const ColumnSpec& s : kSpecs) {
      LabelledColumn c;
      c.header = s.header;
      c.category = s.category;
      c.decoy = c.category.empty();
      c.json_group = s.json_group;
      cols->push_back(std::move(c));
    }
    return cols;
  }();
  return *v;
}

int ColumnIndex(std::string_view header) {
  for (size_t i = 0; i < kNumColumns; ++i) {
    if (header == kSpecs[i].header) return static_cast<int>(i);
  }
  return -1;
}

std::string LabelsJson() {
  std::string out = "[\n";
  const auto& cols = Columns();
  for (size_t i = 0; i < cols.size(); ++i) {
    const LabelledColumn& c = cols[i];
    out += "  {\"header\": ";
    AppendJsonString(c.header, &out);
    out += ", \"category\": ";
    if (c.category.empty()) {
      out += "null";
    } else {
      AppendJsonString(c.category, &out);
    }
    out += c.decoy ? ", \"decoy\": true" : ", \"decoy\": false";
    out += ", \"jsonl_path\": ";
    AppendJsonString(c.JsonPath(), &out);
    out += i + 1 < cols.size() ? "},\n" : "}\n";
  }
  out += "]\n";
  return out;
}

// --- RowWriter ---

RowWriter::RowWriter(uint64_t seed)
    : state_(seed), row_(new char[kRowCapacity]), ends_(kNumColumns) {
  recent_ids_.reserve(kRecentIds);
}

uint64_t RowWriter::Next() {  // splitmix64
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t RowWriter::Uniform(uint64_t n) {
  return static_cast<uint64_t>((static_cast<Uint128>(Next()) * n) >> 64);
}

bool RowWriter::Chance(uint32_t per_mille) { return Uniform(1000) < per_mille; }

void RowWriter::Put(std::string_view s) {
  std::memcpy(row_.get() + len_, s.data(), s.size());
  len_ += s.size();
}

void RowWriter::Digits(int n) {
  // Each multiplication by 10 of a 64-bit fraction yields one uniform digit; 16 per draw keeps
  // enough bits for the last one.
  char tmp[32];
  while (n > 0) {
    uint64_t x = Next();
    const int k = std::min(n, 16);
    for (int i = 0; i < k; ++i) {
      Uint128 p = static_cast<Uint128>(x) * 10;
      tmp[i] = static_cast<char>('0' + static_cast<int>(p >> 64));
      x = static_cast<uint64_t>(p);
    }
    Put(std::string_view(tmp, static_cast<size_t>(k)));
    n -= k;
  }
}

void RowWriter::PutNumber(uint64_t v, int min_width) {
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  char tmp[24];
  char* end = tmp + sizeof tmp;
  char* p = end;
  while (v >= 100) {
    p -= 2;
    std::memcpy(p, kPairs + (v % 100) * 2, 2);
    v /= 100;
  }
  if (v >= 10) {
    p -= 2;
    std::memcpy(p, kPairs + v * 2, 2);
  } else {
    *--p = static_cast<char>('0' + v);
  }
  while (end - p < min_width) *--p = '0';
  Put(std::string_view(p, static_cast<size_t>(end - p)));
}

void RowWriter::Date(int first_day, int days, char sep) {
  int y, m, d;
  CivilFromDays(first_day + static_cast<int64_t>(Uniform(static_cast<uint64_t>(days))), &y, &m, &d);
  PutNumber(static_cast<uint64_t>(y), 4);
  if (sep) PutChar(sep);
  PutNumber(static_cast<uint64_t>(m), 2);
  if (sep) PutChar(sep);
  PutNumber(static_cast<uint64_t>(d), 2);
}

void RowWriter::IdCard(bool valid) {
  const size_t start = len_;
  PutNumber(static_cast<uint64_t>(kProvinces[Uniform(std::size(kProvinces))]), 2);
  PutNumber(1 + Uniform(20), 2);
  PutNumber(1 + Uniform(30), 2);
  Date(static_cast<int>(kBirthFirst), static_cast<int>(kBirthDays), 0);
  Digits(3);
  char check = IdCheckChar(row_.get() + start);
  if (!valid) {
    static constexpr std::string_view kChecks = "0123456789X";
    size_t k = kChecks.find(check);
    check = kChecks[(k + 1 + Uniform(10)) % kChecks.size()];
  }
  PutChar(check);
}

void RowWriter::Uscc(bool valid) {
  const size_t start = len_;
  Put("91");
  PutNumber(static_cast<uint64_t>(kProvinces[Uniform(std::size(kProvinces))]), 2);
  PutNumber(1 + Uniform(20), 2);
  PutNumber(Uniform(31), 2);
  for (int i = 0; i < 9; ++i) PutChar(kUsccAlphabet[Uniform(kUsccAlphabet.size())]);
  char check = UsccCheckChar(row_.get() + start);
  if (!valid) {
    size_t k = static_cast<size_t>(UsccValue(check));
    check = kUsccAlphabet[(k + 1 + Uniform(kUsccAlphabet.size() - 1)) % kUsccAlphabet.size()];
  }
  PutChar(check);
}

void RowWriter::Mobile() {
  if (Chance(850)) {
    Put(kMobilePrefixes[Uniform(kMobilePrefixes.size())]);
  } else {
    Put(kMobilePrefixes2[Uniform(kMobilePrefixes2.size())]);
  }
  Digits(8);
}

void RowWriter::Email() {
  PutChar(kLower[Uniform(kLower.size())]);
  const uint64_t n = 4 + Uniform(8);
  for (uint64_t i = 0; i < n; ++i) PutChar(kLowerDigits[Uniform(kLowerDigits.size())]);
  Put(kEmailDomains[Uniform(kEmailDomains.size())]);
}

void RowWriter::Name() {
  const auto& given = GivenChars();
  if (Chance(10)) {
    Put(kCompoundSurnames[Uniform(kCompoundSurnames.size())]);
  } else {
    const auto& sur = Surnames();
    Put(sur[Uniform(sur.size())]);
  }
  Put(given[Uniform(given.size())]);
  if (Chance(600)) Put(given[Uniform(given.size())]);
}

void RowWriter::Cell(size_t column) {
  const Kind kind = kSpecs[column].kind;
  const bool positive = kSpecs[column].category[0] != '\0';
  if (positive && Chance(kEmptyPerMille)) return;
  switch (kind) {
    case Kind::kIdCard: {
      if (!recent_ids_.empty() && Chance(kRepeatIdPerMille)) {
        Put(recent_ids_[Uniform(recent_ids_.size())]);
        return;
      }
      const size_t start = len_;
      IdCard(true);
      std::string_view id(row_.get() + start, len_ - start);
      if (recent_ids_.size() < kRecentIds) {
        recent_ids_.emplace_back(id);
      } else {
        recent_ids_[recent_next_++ % kRecentIds].assign(id);
      }
      return;
    }
    case Kind::kOrderNo:
      PutChar(static_cast<char>('1' + Uniform(9)));
      Digits(17);
      return;
    case Kind::kMobile:
      Mobile();
      return;
    case Kind::kEmail:
      Email();
      return;
    case Kind::kLandline:
      Put(kAreaCodes[Uniform(kAreaCodes.size())]);
      PutChar(static_cast<char>('2' + Uniform(7)));
      Digits(7);
      return;
    case Kind::kBankCard: {
      const size_t start = len_;
      if (Chance(800)) {
        Put("62");
        Digits(Chance(500) ? 13 : 16);
      } else {
        Put("4");
        Digits(14);
      }
      PutChar(LuhnCheckDigit(row_.get() + start, len_ - start));
      return;
    }
    case Kind::kBadId:
      IdCard(false);
      return;
    case Kind::kUscc:
      Uscc(true);
      return;
    case Kind::kBadUscc:
      Uscc(false);
      return;
    case Kind::kPassport:
      PutChar('E');
      if (Chance(500)) {
        Digits(8);
      } else {
        static constexpr std::string_view kNoIo = "ABCDEFGHJKLMNPQRSTUVWXYZ";
        PutChar(kNoIo[Uniform(kNoIo.size())]);
        Digits(7);
      }
      return;
    case Kind::kPermit:
      PutChar(Chance(500) ? 'C' : 'H');
      Digits(8);
      return;
    case Kind::kPlate: {
      const auto& prov = PlateProvinces();
      Put(prov[Uniform(prov.size())]);
      PutChar(kPlateLetters[Uniform(kPlateLetters.size())]);
      if (Chance(100)) {  // new-energy: D/A-K, a letter or digit, four digits
        static constexpr std::string_view kNewEnergy = "DABCEFGHJK";
        PutChar(kNewEnergy[Uniform(kNewEnergy.size())]);
        PutChar(kPlateAlnum[Uniform(kPlateAlnum.size())]);
        Digits(4);
      } else {
        for (int i = 0; i < 5; ++i) {
          if (Chance(700)) {
            Digits(1);
          } else {
            PutChar(kPlateLetters[Uniform(kPlateLetters.size())]);
          }
        }
      }
      return;
    }
    case Kind::kVin: {
      const size_t start = len_;
      Put(kVinWmi[Uniform(kVinWmi.size())]);
      for (int i = 0; i < 5; ++i) PutChar(kVinAlphabet[Uniform(kVinAlphabet.size())]);
      PutChar('0');  // check digit, set below
      PutChar(kVinYears[Uniform(kVinYears.size())]);
      PutChar(kVinLetters[Uniform(kVinLetters.size())]);
      Digits(6);
      row_[start + 8] = VinCheckChar(row_.get() + start);
      return;
    }
    case Kind::kAddress: {
      Put(kAddressAreas[Uniform(kAddressAreas.size())]);
      Put(kRoads[Uniform(kRoads.size())]);
      PutNumber(1 + Uniform(999), 1);
      Put("号");
      uint64_t r = Uniform(10);
      if (r < 4) {
        Put("院");
        PutNumber(1 + Uniform(20), 1);
        Put("号楼");
        PutNumber(1 + Uniform(30), 1);
        PutNumber(1 + Uniform(8), 2);
        Put("室");
      } else if (r < 7) {
        PutNumber(1 + Uniform(30), 1);
        Put("栋");
        PutNumber(1 + Uniform(28), 1);
        PutNumber(1 + Uniform(8), 2);
        Put("室");
      }
      return;
    }
    case Kind::kIp:
      if (Chance(950)) {
        uint64_t a = 1 + Uniform(223);
        if (a == 127) a = 128;
        PutNumber(a, 1);
        for (int i = 0; i < 3; ++i) {
          PutChar('.');
          PutNumber(Uniform(256), 1);
        }
      } else {
        auto hex = [this](uint64_t v) {
          char tmp[8];
          int n = 0;
          do {
            tmp[n++] = kHexLower[v & 15];
            v >>= 4;
          } while (v != 0);
          while (n > 0) PutChar(tmp[--n]);
        };
        if (Chance(500)) {
          Put("2001:db8::");
          hex(1 + Uniform(0xFFFF));
        } else {
          Put("240e:");
          hex(1 + Uniform(0xFFFF));
          PutChar(':');
          hex(Uniform(0x10000));
          PutChar(':');
          hex(Uniform(0x10000));
          Put("::");
          hex(1 + Uniform(0xFFFF));
        }
      }
      return;
    case Kind::kMac: {
      const bool upper = Chance(300);
      const char sep = upper ? '-' : ':';
      for (char c : kMacOui[Uniform(kMacOui.size())]) {
        if (c == ':')
          c = sep;
        else if (upper && c >= 'a' && c <= 'f')
          c = static_cast<char>(c - 'a' + 'A');
        PutChar(c);
      }
      static constexpr std::string_view kHexUpper = "0123456789ABCDEF";
      const std::string_view digits = upper ? kHexUpper : kHexLower;
      uint64_t bits = Next();
      for (int i = 0; i < 3; ++i) {
        PutChar(sep);
        PutChar(digits[bits & 15]);
        PutChar(digits[(bits >> 4) & 15]);
        bits >>= 8;
      }
      return;
    }
    case Kind::kName:
      Name();
      return;
    case Kind::kBirthDate:
      Date(static_cast<int>(kBirthFirst), static_cast<int>(kBirthDays), '-');
      return;
    case Kind::kOrderDate:
      Date(static_cast<int>(kOrderFirst), static_cast<int>(kOrderDays), '-');
      return;
    case Kind::kGeo:
      PutNumber(18 + Uniform(35), 1);
      PutChar('.');
      Digits(6);
      PutChar(',');
      PutNumber(73 + Uniform(62), 1);
      PutChar('.');
      Digits(6);
      return;
    case Kind::kEthnicity:
      Put(Chance(850) ? std::string_view("汉族") : kMinorities[Uniform(kMinorities.size())]);
      return;
    case Kind::kReligion:
      Put(kReligions[Uniform(kReligions.size())]);
      return;
    case Kind::kMedical:
      Put(kConditions[Uniform(kConditions.size())]);
      return;
    case Kind::kGender:
      Put(Chance(500) ? "男" : "女");
      return;
    case Kind::kFreeText:
      if (!Chance(400)) {
        Put(kPlainRemarks[Uniform(kPlainRemarks.size())]);
        return;
      }
      switch (Uniform(5)) {
        case 0:
          Put("客户");
          Name();
          Put("来电，身份证号");
          IdCard(true);
          Put("，请回电");
          Mobile();
          Put("。");
          return;
        case 1:
          Put("联系人手机");
          Mobile();
          Put("，已预约周三上门安装。");
          return;
        case 2:
          Put("发票请发送至邮箱");
          Email();
          Put("，谢谢。");
          return;
        case 3:
          Put("代办人身份证");
          IdCard(true);
          Put("，材料已核验。");
          return;
        default:
          Put("收件人电话");
          Mobile();
          Put("，请送货前联系。");
          return;
      }
    case Kind::kPhoneModel:
      Put(kPhoneModels[Uniform(kPhoneModels.size())]);
      return;
    case Kind::kAmount:
      PutNumber(1 + Uniform(9999), 1);
      PutChar('.');
      PutNumber(Uniform(100), 2);
      return;
    case Kind::kCity:
      Put(kCities[Uniform(kCities.size())]);
      return;
    case Kind::kProduct:
      Put(kProducts[Uniform(kProducts.size())]);
      return;
    case Kind::kStatus:
      Put(kStatuses[Uniform(kStatuses.size())]);
      return;
    case Kind::kNotesClean:
      Put(kCleanNotes[Uniform(kCleanNotes.size())]);
      return;
    case Kind::kEmpty:
      return;
  }
}

void RowWriter::Generate() {
  len_ = 0;
  for (size_t c = 0; c < kNumColumns; ++c) {
    Cell(c);
    ends_[c] = static_cast<uint32_t>(len_);
  }
}

void RowWriter::NextCells(std::vector<std::string_view>* cells) {
  Generate();
  cells->resize(kNumColumns);
  uint32_t begin = 0;
  for (size_t c = 0; c < kNumColumns; ++c) {
    (*cells)[c] = std::string_view(row_.get() + begin, ends_[c] - begin);
    begin = ends_[c];
  }
}

void RowWriter::AppendRow(std::string* out, char delim) {
  if (delim != quote_delim_) {
    // Columns whose values may hold this delimiter; only those are checked for quoting.
    quote_delim_ = delim;
    quote_check_ = 0;
    const unsigned char d = static_cast<unsigned char>(delim);
    const bool plain =
        (d >= '0' && d <= '9') || (d >= 'A' && d <= 'Z') || (d >= 'a' && d <= 'z') || d >= 0x80;
    for (size_t c = 0; c < kNumColumns; ++c) {
      std::string_view punct = KindPunctuation(kSpecs[c].kind);
      if (plain || punct.find(delim) != std::string_view::npos) quote_check_ |= uint64_t{1} << c;
    }
  }
  len_ = 0;
  for (size_t c = 0; c < kNumColumns; ++c) {
    if (c) PutChar(delim);
    const size_t start = len_;
    Cell(c);
    if ((quote_check_ >> c) & 1) {
      std::string_view v(row_.get() + start, len_ - start);
      if (NeedsQuotes(v, delim) && v.find('"') == std::string_view::npos) {
        std::memmove(row_.get() + start + 1, row_.get() + start, v.size());
        row_[start] = '"';
        ++len_;
        PutChar('"');
      } else if (NeedsQuotes(v, delim)) {
        std::string quoted;
        AppendCsvField(v, delim, &quoted);
        len_ = start;
        Put(quoted);
      }
    }
  }
  PutChar('\n');
  out->append(row_.get(), len_);
}

void RowWriter::AppendJsonRow(std::string* out) {
  Generate();
  out->push_back('{');
  uint32_t begin = 0;
  std::string_view group;
  for (size_t c = 0; c < kNumColumns; ++c) {
    const ColumnSpec& s = kSpecs[c];
    std::string_view v(row_.get() + begin, ends_[c] - begin);
    begin = ends_[c];
    if (group != s.json_group) {
      if (!group.empty()) out->push_back('}');
      if (c) out->push_back(',');
      group = s.json_group;
      if (!group.empty()) {
        AppendJsonString(group, out);
        out->append(":{");
      }
    } else if (c) {
      out->push_back(',');
    }
    AppendJsonString(s.header, out);
    out->push_back(':');
    if (s.kind == Kind::kAmount && !v.empty()) {
      out->append(v);  // a JSON number
    } else if (v.empty() && s.kind != Kind::kEmpty) {
      out->append("null");
    } else {
      AppendJsonString(v, out);
    }
  }
  if (!group.empty()) out->push_back('}');
  out->append("}\n");
}

// --- Files ---

Result<GenStats> Generate(const std::string& path, const GenOptions& options) {
  if (options.format == OutputFormat::kCsv &&
      (options.delimiter == '"' || options.delimiter == '\n' || options.delimiter == '\r' ||
       options.delimiter == '\0')) {
    return InvalidArgument(path + ": a CSV delimiter cannot be a quote, NUL or line break");
  }
  OutputFile file(path, options.encoding);
  KEXIN_RETURN_IF_ERROR(file.Open());
  std::string buf;
  buf.reserve(kFlushBytes + (size_t{64} << 10));
  if (options.format == OutputFormat::kCsv) {
    const auto& cols = Columns();
    for (size_t c = 0; c < cols.size(); ++c) {
      if (c) buf.push_back(options.delimiter);
      AppendCsvField(cols[c].header, options.delimiter, &buf);
    }
    buf.push_back('\n');
  }
  GenStats stats;
  RowWriter writer(options.seed);
  const bool exact_size = options.encoding == OutputEncoding::kUtf8;
  while (true) {
    if (options.target_bytes == 0) {
      if (stats.rows >= options.rows) break;
    } else if (file.written() + buf.size() >= options.target_bytes) {
      // The size after conversion is known only once converted: flush and look again.
      if (exact_size) break;
      KEXIN_RETURN_IF_ERROR(file.Write(buf));
      buf.clear();
      if (file.written() >= options.target_bytes) break;
    }
    if (options.format == OutputFormat::kCsv) {
      writer.AppendRow(&buf, options.delimiter);
    } else {
      writer.AppendJsonRow(&buf);
    }
    ++stats.rows;
    if (buf.size() >= kFlushBytes) {
      KEXIN_RETURN_IF_ERROR(file.Write(buf));
      buf.clear();
    }
  }
  KEXIN_RETURN_IF_ERROR(file.Write(buf));
  stats.bytes = file.written();
  KEXIN_RETURN_IF_ERROR(file.Commit());
  return stats;
}

Status WriteCsv(const std::string& path, const GenOptions& options) {
  GenOptions o = options;
  o.format = OutputFormat::kCsv;
  o.encoding = OutputEncoding::kUtf8;
  KEXIN_ASSIGN_OR_RETURN(GenStats stats, Generate(path, o));
  (void)stats;
  return Status::Ok();
}

}  // namespace kexin::testdata
