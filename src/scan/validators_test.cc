#include "scan/validators.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "scan/mask.h"

namespace kexin::scan {
namespace {

constexpr Strength kYes = Strength::kStrong;
constexpr Strength kNo = Strength::kNone;
constexpr Strength kWeak = Strength::kWeak;

TEST(IdCardCnTest, ReferenceVectorsAreValid) {
  EXPECT_EQ(IdCardCn("11010519491231002X"), kYes);
  EXPECT_EQ(IdCardCn("11010519491231002x"), kYes);
  EXPECT_EQ(IdCardCn("360426199101010071"), kYes);
  EXPECT_EQ(IdCardCheckChar("11010519491231002"), 'X');
}

TEST(IdCardCnTest, RejectsBadCheckDateRegionAndShape) {
  EXPECT_EQ(IdCardCn("110105194912310021"), kNo);  // wrong check char
  EXPECT_EQ(IdCardCn("360426199101010072"), kNo);
  // Impossible birth date 1949-02-30 with a correct check char for its digits.
  std::string bad_date = "11010519490230002";
  EXPECT_EQ(IdCardCn(bad_date + IdCardCheckChar(bad_date)), kNo);
  // Born in the future.
  std::string future = "11010521990101002";
  EXPECT_EQ(IdCardCn(future + IdCardCheckChar(future)), kNo);
  // Unknown province 99 and county 00.
  std::string region = "99010519491231002";
  EXPECT_EQ(IdCardCn(region + IdCardCheckChar(region)), kNo);
  std::string county = "11010019491231002";
  EXPECT_EQ(IdCardCn(county + IdCardCheckChar(county)), kNo);
  EXPECT_EQ(IdCardCn("11010519491231002"), kNo);    // 17 chars
  EXPECT_EQ(IdCardCn("11010519491231002XX"), kNo);  // 19 chars
  EXPECT_EQ(IdCardCn("11010519491231A02X"), kNo);
}

TEST(UsccCnTest, CheckCharacter) {
  EXPECT_EQ(UsccCn("91110000600037341L"), kYes);
  EXPECT_EQ(UsccCn("91110000600037341M"), kNo);
  EXPECT_EQ(UsccCn("91110000600037341I"), kNo);  // I is not in the alphabet
  EXPECT_EQ(UsccCn("9111000060003734"), kNo);
}

TEST(OrgCodeCnTest, ReferenceVector) {
  EXPECT_EQ(OrgCodeCn("60003734-1"), kYes);
  EXPECT_EQ(OrgCodeCn("600037341"), kYes);
  EXPECT_EQ(OrgCodeCn("60003734-2"), kNo);
}

TEST(BankCardTest, LuhnAndIin) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_EQ(BankCard("4111111111111111"), kYes);
  EXPECT_EQ(BankCard("4111 1111 1111 1111"), kYes);
  EXPECT_EQ(BankCard("4111111111111112"), kNo);
  EXPECT_EQ(BankCard("6222020200112233440"), LuhnValid("6222020200112233440") ? kYes : kNo);
  EXPECT_EQ(BankCard("1111111111111117"), kNo);  // IIN must start 3-6
  EXPECT_EQ(BankCard("411111111111"), kNo);      // too short
}

TEST(MobileCnTest, PrefixTable) {
  EXPECT_EQ(MobileCn("13812345678"), kYes);
  EXPECT_EQ(MobileCn("+8613812345678"), kYes);
  EXPECT_EQ(MobileCn("86 138 1234 5678"), kYes);
  EXPECT_EQ(MobileCn("138-1234-5678"), kYes);
  EXPECT_EQ(MobileCn("19912345678"), kYes);
  EXPECT_EQ(MobileCn("16612345678"), kYes);
  EXPECT_EQ(MobileCn("17401234567"), kYes);
  EXPECT_EQ(MobileCn("15412345678"), kNo);  // 154 is not allocated
  EXPECT_EQ(MobileCn("12345678901"), kNo);
  EXPECT_EQ(MobileCn("1381234567"), kNo);
  EXPECT_EQ(MobileCn("+8513812345678"), kNo);
  EXPECT_EQ(MobileCn(""), kNo);  // regression: read v[0] of an empty value
}

TEST(LandlineCnTest, AreaCodes) {
  EXPECT_EQ(LandlineCn("010-62345678"), kYes);
  EXPECT_EQ(LandlineCn("(021)52345678"), kYes);
  EXPECT_EQ(LandlineCn("0755-8234567"), kYes);
  EXPECT_EQ(LandlineCn("0571 88234567"), kYes);
  EXPECT_EQ(LandlineCn("010-02345678"), kNo);  // subscriber numbers do not start with 0
  EXPECT_EQ(LandlineCn("110-62345678"), kNo);
  EXPECT_EQ(LandlineCn("13812345678"), kNo);
}

TEST(EmailTest, Shapes) {
  EXPECT_EQ(Email("zhang.san@example.com"), kYes);
  EXPECT_EQ(Email("a+b@mail.example.cn"), kYes);
  EXPECT_EQ(Email("@example.com"), kNo);
  EXPECT_EQ(Email("a@b"), kNo);
  EXPECT_EQ(Email("a@b.c"), kNo);
  EXPECT_EQ(Email("a..@b.com"), kNo);
  EXPECT_EQ(Email("a@b..com"), kNo);
}

TEST(DocumentNumbersTest, PassportAndPermits) {
  EXPECT_EQ(PassportCn("E12345678"), kYes);
  EXPECT_EQ(PassportCn("EA1234567"), kYes);
  EXPECT_EQ(PassportCn("G12345678"), kYes);
  EXPECT_EQ(PassportCn("SE1234567"), kYes);
  EXPECT_EQ(PassportCn("EI1234567"), kNo);
  EXPECT_EQ(PassportCn("X12345678"), kNo);
  EXPECT_EQ(HkMacauPermit("H12345678"), kYes);
  EXPECT_EQ(HkMacauPermit("C12345678"), kYes);
  EXPECT_EQ(HkMacauPermit("H1234567"), kNo);
}

TEST(LicensePlateCnTest, OrdinaryAndNewEnergy) {
  EXPECT_EQ(LicensePlateCn("京A12345"), kYes);
  EXPECT_EQ(LicensePlateCn("京A·12345"), kYes);
  EXPECT_EQ(LicensePlateCn("粤B1234学"), kNo);   // only 4 characters before the suffix
  EXPECT_EQ(LicensePlateCn("粤BD12345"), kYes);  // new energy, small car
  EXPECT_EQ(LicensePlateCn("沪A12345D"), kYes);  // new energy, large car
  EXPECT_EQ(LicensePlateCn("京I12345"), kNo);    // no I
  EXPECT_EQ(LicensePlateCn("北A12345"), kNo);    // not a province abbreviation
}

TEST(VinTest, CheckDigit) {
  EXPECT_EQ(Vin("1HGCM82633A004352"), kYes);
  EXPECT_EQ(Vin("1HGCM82643A004352"), kNo);
  EXPECT_EQ(Vin("1HGCM82633A00435"), kNo);
  EXPECT_EQ(Vin("12345678901234567"), kNo);  // all digits: an order number, not a VIN
}

TEST(NetworkTest, IpAndMac) {
  EXPECT_EQ(IpAddress("192.168.1.20"), kYes);
  EXPECT_EQ(IpAddress("2001:db8::1"), kYes);
  EXPECT_EQ(IpAddress("256.1.1.1"), kNo);
  EXPECT_EQ(IpAddress("1.2.3"), kNo);
  EXPECT_EQ(MacAddress("a4:5e:60:12:34:56"), kYes);
  EXPECT_EQ(MacAddress("A4-5E-60-12-34-56"), kYes);
  EXPECT_EQ(MacAddress("a45e.6012.3456"), kYes);
  EXPECT_EQ(MacAddress("a4:5e:60:12:34"), kNo);
  EXPECT_EQ(MacAddress("g4:5e:60:12:34:56"), kNo);
}

TEST(DateTest, FormatsAndCalendar) {
  EXPECT_EQ(Date("1990-02-28"), kWeak);
  EXPECT_EQ(Date("1990/2/28"), kWeak);
  EXPECT_EQ(Date("19900228"), kWeak);
  EXPECT_EQ(Date("1990年2月28日"), kWeak);
  EXPECT_EQ(DateYear("2000-02-29"), 2000);
  EXPECT_EQ(Date("1990-02-30"), kNo);
  EXPECT_EQ(Date("1900-02-29"), kNo);
  EXPECT_EQ(Date("1990-13-01"), kNo);
}

TEST(GeoCoordinateTest, PairsAreStrongSinglesWeak) {
  EXPECT_EQ(GeoCoordinate("39.904211,116.407395"), kYes);
  EXPECT_EQ(GeoCoordinate("116.407395,39.904211"), kYes);
  EXPECT_EQ(GeoCoordinate("39.9042"), kWeak);
  EXPECT_EQ(GeoCoordinate("1234.56"), kNo);
  EXPECT_EQ(GeoCoordinate("39.9,116.4"), kNo);  // too coarse to be precise location
}

TEST(PersonNameCnTest, SurnamesAndMinorityNames) {
  EXPECT_EQ(PersonNameCn("张伟"), kYes);
  EXPECT_EQ(PersonNameCn("欧阳娜娜"), kYes);
  EXPECT_EQ(PersonNameCn("司马光"), kYes);
  EXPECT_EQ(PersonNameCn("买买提·艾力"), kYes);
  EXPECT_EQ(PersonNameCn("北京"), kNo);        // 北 is not a surname
  EXPECT_EQ(PersonNameCn("王府井大街"), kNo);  // too long, not compound
  EXPECT_EQ(PersonNameCn("张家口市"), kNo);
  EXPECT_EQ(PersonNameCn("高血压"), kYes);  // shape alone fits; the column ratio decides
  EXPECT_EQ(PersonNameCn("李病"), kNo);
  EXPECT_EQ(PersonNameCn("Zhang"), kNo);
}

TEST(AddressCnTest, AdministrativeAndStreetMarkers) {
  EXPECT_EQ(AddressCn("北京市朝阳区建国路88号"), kYes);
  EXPECT_EQ(AddressCn("浙江省杭州市西湖区"), kYes);
  EXPECT_EQ(AddressCn("有机大米五公斤装"), kNo);
  EXPECT_EQ(AddressCn("北京"), kNo);
}

TEST(ShapeTest, ClassesAndRegistry) {
  Shape s = ShapeOf("ab@C.1");
  EXPECT_EQ(s.bytes, 6u);
  EXPECT_EQ(s.classes, kLower | kAt | kUpper | kDot | kDigit);
  EXPECT_NE(FindValidator("gb11643"), nullptr);
  EXPECT_EQ(FindValidator("nope"), nullptr);
  // Every registered validator accepts what it claims: its shape filter must admit a valid value.
  for (const char* v : {"11010519491231002X", "91110000600037341L", "13812345678"}) {
    Shape sh = ShapeOf(v);
    int admitted = 0;
    for (const auto& info : BuiltinValidators()) {
      bool pass = sh.bytes >= info.min_bytes && sh.bytes <= info.max_bytes &&
                  (sh.classes & info.required) == info.required &&
                  (sh.classes & ~info.allowed) == 0;
      if (pass && info.fn(v) == kYes) ++admitted;
    }
    EXPECT_GE(admitted, 1) << v;
  }
}

// ShapeOf (sixteen bytes at a time where the CPU allows) against a byte-by-byte classification
// written from the CharClass documentation, on every length up to 70 and bytes drawn mostly from
// the boundaries of the classes.
TEST(ShapeTest, AgreesWithAByteByByteClassification) {
  auto reference = [](std::string_view v) {
    uint32_t cls = 0;
    for (char ch : v) {
      const int c = static_cast<unsigned char>(ch);
      if (c >= '0' && c <= '9')
        cls |= kDigit;
      else if (c >= 'A' && c <= 'Z')
        cls |= kUpper;
      else if (c >= 'a' && c <= 'z')
        cls |= kLower;
      else if (c >= 0x80)
        cls |= kNonAscii;
      else if (c == ' ' || c == '\t')
        cls |= kSpace;
      else if (c == '@')
        cls |= kAt;
      else if (c == '.')
        cls |= kDot;
      else if (c == ':')
        cls |= kColon;
      else if (c == '-')
        cls |= kDash;
      else if (c == '+')
        cls |= kPlus;
      else if (c == '/')
        cls |= kSlash;
      else if (c == ',')
        cls |= kComma;
      else if (c == '(' || c == ')')
        cls |= kParen;
      else if (c == '_')
        cls |= kUnderscore;
      else
        cls |= kOtherAscii;
    }
    return cls;
  };
  const std::string edges = std::string("09/:AZ@[az`{\t \n\r\x7f\x80\xff\x01.-+,()_*#") + '\0';
  std::mt19937_64 rng(11);
  std::string v;
  for (int iter = 0; iter < 400000; ++iter) {
    v.clear();
    const size_t n = rng() % 71;
    const bool single = rng() % 4 == 0;  // one rare byte in an otherwise plain value
    for (size_t i = 0; i < n; ++i) {
      if (single) {
        v += static_cast<char>('0' + rng() % 10);
      } else {
        v += rng() % 3 == 0 ? static_cast<char>(rng() & 0xFF) : edges[rng() % edges.size()];
      }
    }
    if (single && n > 0) v[rng() % n] = static_cast<char>(rng() & 0xFF);
    ASSERT_EQ(ShapeOf(v).classes, reference(v)) << "length " << n << " iteration " << iter;
    ASSERT_EQ(ShapeOf(v).bytes, n);
  }
  for (int c = 0; c < 256; ++c) {  // every byte, alone and at each position of 17
    for (size_t at = 0; at < 17; ++at) {
      std::string w(17, 'x');
      w[at] = static_cast<char>(c);
      ASSERT_EQ(ShapeOf(w).classes, reference(w)) << "byte " << c << " at " << at;
      ASSERT_EQ(ShapeOf(w.substr(at, 1)).classes, reference(w.substr(at, 1))) << "byte " << c;
    }
  }
}

// The detector skips a validator for all-digit values of lengths outside its digit_lengths, so
// no such value may match it: valid-looking digit strings of every other length are refused.
TEST(ValidatorsTest, DigitLengthsCoverEveryAllDigitMatch) {
  uint64_t x = 42;
  auto next = [&x] {  // splitmix64: deterministic
    uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  for (const auto& info : BuiltinValidators()) {
    for (int len = 1; len < 64; ++len) {
      if ((info.digit_lengths >> len) & 1) continue;
      for (int t = 0; t < 3000; ++t) {
        std::string v;
        for (int i = 0; i < len; ++i) v += static_cast<char>('0' + next() % 10);
        v[0] = "0123456789"[t % 10];
        ASSERT_EQ(info.fn(v), Strength::kNone) << info.name << " " << v;
      }
    }
  }
  // And the lengths listed are real: known matches of digits alone.
  EXPECT_EQ((FindValidator("gb11643")->digit_lengths >> 18) & 1, 1u);
  EXPECT_EQ(IdCardCn("110105194912310003"), kYes);
  EXPECT_EQ(MobileCn("8613812345678"), kYes);
  EXPECT_EQ(MobileCn("008613812345678"), kYes);
  EXPECT_NE(Date("19491231"), Strength::kNone);
}

TEST(MaskTest, NeverShowsTheWholeValue) {
  EXPECT_EQ(MaskValue("11010519491231002X"), "1101**********002X");
  EXPECT_EQ(MaskValue("zhang@example.com"), "z***@example.com");
  EXPECT_EQ(MaskValue("张三丰"), "张**");
  EXPECT_EQ(MaskValue("男"), "*");
  EXPECT_EQ(MaskValue("13812345678"), "13*******78");
}

}  // namespace
}  // namespace kexin::scan
