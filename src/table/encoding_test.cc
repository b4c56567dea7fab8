#include "table/encoding.h"

#include <gtest/gtest.h>
#include <iconv.h>

#include <cerrno>
#include <string>
#include <string_view>

namespace kexin::table {
namespace {

// Converts UTF-8 text to GB18030 with glibc iconv, independently of the code under test.
std::string ToGb18030(std::string_view utf8) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    ADD_FAILURE() << "iconv has no GB18030 converter";
    return "";
  }
  std::string out(utf8.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(utf8.data());
  size_t inleft = utf8.size();
  char* o = out.data();
  size_t oleft = out.size();
  size_t rc = iconv(cd, &in, &inleft, &o, &oleft);
  iconv_close(cd);
  EXPECT_NE(rc, static_cast<size_t>(-1)) << "iconv failed: errno " << errno;
  out.resize(out.size() - oleft);
  return out;
}

// Text mixing ASCII, GBK two-byte characters, four-byte GB18030 BMP characters (ö, ß, Ä) and a
// four-byte supplementary-plane character (𠀀, U+20000).
constexpr std::string_view kMixedUtf8 =
    "姓名,身份证号,手机号,地址\n"
    "张三,110101199003074514,13800138000,北京市朝阳区建国路88号\n"
    "李四,\"Größe, Maß\",€100,Äpfel 𠀀 \"引用\"\n";

TEST(EncodingNameTest, Names) {
  EXPECT_EQ(EncodingName(Encoding::kUtf8), "utf-8");
  EXPECT_EQ(EncodingName(Encoding::kUtf8Bom), "utf-8-bom");
  EXPECT_EQ(EncodingName(Encoding::kGb18030), "gb18030");
}

TEST(Gb18030HelperTest, ConversionProducesNonUtf8Bytes) {
  std::string gb = ToGb18030(kMixedUtf8);
  ASSERT_FALSE(gb.empty());
  EXPECT_NE(gb, std::string(kMixedUtf8));
  EXPECT_FALSE(IsValidUtf8(gb));
  EXPECT_TRUE(IsValidGb18030(gb, /*allow_truncated_tail=*/false));
}

TEST(DetectEncodingTest, PlainAsciiIsUtf8) {
  auto r = DetectEncoding("id,name\n1,alice\n", "a.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), Encoding::kUtf8);
}

TEST(DetectEncodingTest, Utf8Chinese) {
  auto r = DetectEncoding(kMixedUtf8, "a.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), Encoding::kUtf8);
}

TEST(DetectEncodingTest, Utf8PrefixCutInsideCharacter) {
  std::string s(kMixedUtf8);
  // "姓" is three bytes; cut after the first one and after the first two.
  EXPECT_EQ(DetectEncoding(s.substr(0, 1), "a.csv").value(), Encoding::kUtf8);
  EXPECT_EQ(DetectEncoding(s.substr(0, 2), "a.csv").value(), Encoding::kUtf8);
  // Every prefix of UTF-8 text is UTF-8 for detection purposes.
  for (size_t n = 1; n <= s.size(); ++n) {
    auto r = DetectEncoding(s.substr(0, n), "a.csv");
    ASSERT_TRUE(r.ok()) << "prefix " << n << ": " << r.status().ToString();
    EXPECT_EQ(r.value(), Encoding::kUtf8) << "prefix " << n;
  }
}

TEST(DetectEncodingTest, Utf8WithBom) {
  std::string s = "\xEF\xBB\xBF" + std::string(kMixedUtf8);
  auto r = DetectEncoding(s, "a.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), Encoding::kUtf8Bom);
  // A BOM alone is still UTF-8 with BOM.
  EXPECT_EQ(DetectEncoding("\xEF\xBB\xBF", "a.csv").value(), Encoding::kUtf8Bom);
}

TEST(DetectEncodingTest, BomFollowedByInvalidUtf8IsDataError) {
  std::string s =
      "\xEF\xBB\xBF"
      "ab\xFF"
      "cd\n";
  auto r = DetectEncoding(s, "bom.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find("bom.csv"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("BOM"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("byte 5"), std::string::npos) << r.status().message();
}

TEST(DetectEncodingTest, Gb18030Text) {
  std::string gb = ToGb18030(kMixedUtf8);
  auto r = DetectEncoding(gb, "gb.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), Encoding::kGb18030);
}

TEST(DetectEncodingTest, Gb18030PrefixCutInsideSequence) {
  std::string gb = ToGb18030(kMixedUtf8);
  // A prefix cut at any byte is still GB18030 (tail allowed) once it holds a non-ASCII byte that
  // is not valid UTF-8.
  for (size_t n = 1; n <= gb.size(); ++n) {
    auto r = DetectEncoding(std::string_view(gb).substr(0, n), "gb.csv");
    ASSERT_TRUE(r.ok()) << "prefix " << n << ": " << r.status().ToString();
  }
}

TEST(DetectEncodingTest, NulByteIsBinary) {
  std::string s("id,name\n1,al\0ice\n", 17);
  auto r = DetectEncoding(s, "data.bin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find("binary"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("data.bin"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("offset 12"), std::string::npos) << r.status().message();
}

TEST(DetectEncodingTest, ManyControlBytesAreBinary) {
  std::string s;
  for (int i = 0; i < 200; ++i) s += "\x01\x02\x03\x04xyz";
  auto r = DetectEncoding(s, "blob.dat");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find("binary"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("blob.dat"), std::string::npos) << r.status().message();
}

TEST(DetectEncodingTest, FewControlBytesAreTolerated) {
  // Tabs, CR, LF and form feeds are text; a single stray control byte in a long text is too.
  std::string s = "a\tb\r\nc\fd\n";
  for (int i = 0; i < 20; ++i) s += "some ordinary line of text, 1234567890\n";
  s += "\x1b";
  auto r = DetectEncoding(s, "a.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), Encoding::kUtf8);
}

TEST(DetectEncodingTest, NeitherUtf8NorGb18030IsDataError) {
  // 0x80 and 0xFF are invalid in both encodings.
  std::string s =
      "id,name\n1,ab\x80\xFF"
      "cd\n";
  auto r = DetectEncoding(s, "junk.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("junk.csv:2:"), std::string::npos) << m;  // names file and line
  EXPECT_NE(m.find("offset 12"), std::string::npos) << m;
  EXPECT_NE(m.find("GB18030"), std::string::npos) << m;
}

TEST(DetectEncodingTest, EmptyPrefixIsUtf8) {
  auto r = DetectEncoding("", "e.csv");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), Encoding::kUtf8);
}

TEST(IsValidUtf8Test, ValidText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8(kMixedUtf8));
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(IsValidUtf8Test, InvalidText) {
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("ab\xE4\xB8x"));  // cut-off sequence in the middle
}

TEST(IsValidUtf8Test, TruncatedTail) {
  std::string s = "abc\xE4\xB8\xAD";  // "abc中"
  ASSERT_TRUE(IsValidUtf8(s));
  for (size_t cut = 4; cut < s.size(); ++cut) {
    std::string_view p = std::string_view(s).substr(0, cut);
    EXPECT_FALSE(IsValidUtf8(p)) << cut;
    EXPECT_FALSE(IsValidUtf8(p, /*allow_truncated_tail=*/false)) << cut;
    EXPECT_TRUE(IsValidUtf8(p, /*allow_truncated_tail=*/true)) << cut;
  }
  std::string four = "x\xF0\x9F\x98\x80";  // U+1F600
  for (size_t cut = 2; cut < four.size(); ++cut) {
    EXPECT_TRUE(IsValidUtf8(std::string_view(four).substr(0, cut), true)) << cut;
  }
  // The tail allowance does not excuse an earlier error or a bad byte at the end.
  EXPECT_FALSE(
      IsValidUtf8("\xFF"
                  "abc\xE4",
                  true));
  EXPECT_FALSE(IsValidUtf8("abc\xFF", true));
  EXPECT_FALSE(IsValidUtf8("abc\xE4x", true));
}

TEST(FirstInvalidUtf8Test, Offsets) {
  EXPECT_EQ(FirstInvalidUtf8(""), 0u);
  EXPECT_EQ(FirstInvalidUtf8("abc"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("\xFF"), 0u);
  EXPECT_EQ(FirstInvalidUtf8("abcdefghijklmnop\xFF"), 16u);  // after the 8-byte ASCII fast path
  EXPECT_EQ(FirstInvalidUtf8("中文\x80"), 6u);
  EXPECT_EQ(FirstInvalidUtf8("ab\xE4\xB8"), 2u);  // truncated sequence at the end
  std::string s(kMixedUtf8);
  EXPECT_EQ(FirstInvalidUtf8(s), s.size());
}

TEST(IsValidGb18030Test, Sequences) {
  EXPECT_TRUE(IsValidGb18030("", false));
  EXPECT_TRUE(IsValidGb18030("ascii", false));
  EXPECT_TRUE(IsValidGb18030("\xD6\xD0\xCE\xC4", false));  // 中文
  EXPECT_TRUE(IsValidGb18030("\x81\x30\x81\x30", false));  // four-byte
  EXPECT_TRUE(IsValidGb18030("\x95\x32\x82\x36", false));  // U+20000
  EXPECT_FALSE(IsValidGb18030("\x80", false));
  EXPECT_FALSE(IsValidGb18030("\xFF", false));
  EXPECT_FALSE(IsValidGb18030("\x81\x20", false));          // bad trail byte
  EXPECT_FALSE(IsValidGb18030("\x81\x30\x20\x30", false));  // bad third byte
  EXPECT_FALSE(IsValidGb18030("\x81\x30\x81\x20", false));  // bad fourth byte
}

TEST(IsValidGb18030Test, TruncatedTail) {
  EXPECT_FALSE(IsValidGb18030("ab\xD6", false));
  EXPECT_TRUE(IsValidGb18030("ab\xD6", true));
  EXPECT_FALSE(IsValidGb18030("ab\x81\x30", false));
  EXPECT_TRUE(IsValidGb18030("ab\x81\x30", true));
  EXPECT_TRUE(IsValidGb18030("ab\x81\x30\x81", true));
  EXPECT_FALSE(
      IsValidGb18030("\x80"
                     "ab\xD6",
                     true));
}

TEST(Gb18030DecoderTest, DecodesWholeBuffer) {
  std::string gb = ToGb18030(kMixedUtf8);
  Gb18030Decoder dec;
  std::string out;
  Status s = dec.Decode(gb, /*at_end=*/true, 0, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out, kMixedUtf8);
}

TEST(Gb18030DecoderTest, AppendsToExistingOutput) {
  Gb18030Decoder dec;
  std::string out = "prefix:";
  ASSERT_TRUE(dec.Decode("\xD6\xD0", true, 0, &out).ok());
  EXPECT_EQ(out, "prefix:中");
}

TEST(Gb18030DecoderTest, SplitAtEveryBytePosition) {
  std::string gb = ToGb18030(kMixedUtf8);
  ASSERT_FALSE(gb.empty());
  for (size_t cut = 0; cut <= gb.size(); ++cut) {
    Gb18030Decoder dec;
    std::string out;
    Status a = dec.Decode(std::string_view(gb).substr(0, cut), /*at_end=*/false, 0, &out);
    ASSERT_TRUE(a.ok()) << "cut " << cut << ": " << a.ToString();
    Status b = dec.Decode(std::string_view(gb).substr(cut), /*at_end=*/true, cut, &out);
    ASSERT_TRUE(b.ok()) << "cut " << cut << ": " << b.ToString();
    EXPECT_EQ(out, kMixedUtf8) << "cut " << cut;
  }
}

TEST(Gb18030DecoderTest, ByteAtATime) {
  std::string gb = ToGb18030(kMixedUtf8);
  Gb18030Decoder dec;
  std::string out;
  for (size_t i = 0; i < gb.size(); ++i) {
    Status s = dec.Decode(std::string_view(gb).substr(i, 1), i + 1 == gb.size(), i, &out);
    ASSERT_TRUE(s.ok()) << "byte " << i << ": " << s.ToString();
  }
  EXPECT_EQ(out, kMixedUtf8);
}

TEST(Gb18030DecoderTest, InvalidSequenceNamesOffset) {
  Gb18030Decoder dec;
  std::string out;
  // "中" then a lead byte followed by a space (not a valid trail byte).
  Status s = dec.Decode(
      "\xD6\xD0"
      "ab\x81\x20"
      "cd",
      true, 100, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("invalid GB18030"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("byte 104"), std::string::npos) << s.message();
}

TEST(Gb18030DecoderTest, InvalidSequenceAfterPendingTailNamesOffset) {
  Gb18030Decoder dec;
  std::string out;
  ASSERT_TRUE(dec.Decode("ab\x81", false, 0, &out).ok());  // incomplete: kept
  EXPECT_EQ(out, "ab");
  Status s = dec.Decode("\x20", true, 3, &out);  // completes as an invalid pair
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("byte 2"), std::string::npos) << s.message();
}

TEST(Gb18030DecoderTest, IncompleteAtEndIsError) {
  Gb18030Decoder dec;
  std::string out;
  Status s = dec.Decode("ab\xD6", /*at_end=*/true, 0, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("incomplete"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("byte 2"), std::string::npos) << s.message();

  Gb18030Decoder dec2;
  std::string out2;
  ASSERT_TRUE(dec2.Decode("ab\x81\x30", false, 0, &out2).ok());
  Status t = dec2.Decode("", true, 4, &out2);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("incomplete"), std::string::npos) << t.message();
  EXPECT_NE(t.message().find("byte 2"), std::string::npos) << t.message();
}

TEST(Gb18030DecoderTest, ResetDropsPendingTail) {
  Gb18030Decoder dec;
  std::string out;
  ASSERT_TRUE(dec.Decode("x\xD6", false, 0, &out).ok());
  dec.Reset();
  out.clear();
  ASSERT_TRUE(dec.Decode("\xCE\xC4", true, 0, &out).ok());
  EXPECT_EQ(out, "文");
}

}  // namespace
}  // namespace kexin::table
