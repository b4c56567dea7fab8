// Value operators: masking by shape and by configuration, redaction, replacement, keyed pseudonyms
// (checked against HMAC-SHA256 and BLAKE2b computed outside kexin), format-preserving pseudonyms
// of ID and mobile numbers, top/bottom coding, and the pseudonym key's sources and errors.
#include "deid/operators.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>

#include "scan/validators.h"

namespace kexin::deid {
namespace {

// 31 bytes; the expected digests below were computed from it outside kexin.
constexpr char kKey[] = "kexin-test-key-0123456789abcdef";
constexpr char kOtherKey[] = "another-key-for-the-test-000000";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

PseudonymKey Key(const std::string& bytes = kKey) {
  auto k = PseudonymKey::FromBytes(bytes, "test");
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return std::move(k).value();
}

ValueOperator Op(const OperatorSpec& spec, const PseudonymKey* key = nullptr) {
  auto op = ValueOperator::Create(spec, key);
  EXPECT_TRUE(op.ok()) << op.status().ToString();
  return std::move(op).value();
}

OperatorSpec Spec(OperatorKind kind) {
  OperatorSpec s;
  s.kind = kind;
  return s;
}

bool IsPseudonym(const std::string& s) {
  if (s.size() != 26 || s.substr(0, 2) != "p_") return false;
  return s.find_first_not_of("0123456789abcdef", 2) == std::string::npos;
}

// A temporary directory removed with its files at the end of the test.
class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/kexin_operators_test.XXXXXX";
    EXPECT_NE(mkdtemp(t), nullptr);
    dir_ = t;
  }
  ~TempDir() {
    for (const auto& f : files_) std::remove(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& bytes) {
    std::string path = dir_ + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    files_.push_back(path);
    return path;
  }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::string> files_;
};

// ---- Names ----

TEST(OperatorNameTest, RoundTripsAndRejectsUnknown) {
  for (auto k :
       {OperatorKind::kKeep, OperatorKind::kMask, OperatorKind::kRedact, OperatorKind::kReplace,
        OperatorKind::kPseudonymize, OperatorKind::kFormatPreserving, OperatorKind::kTopBottom}) {
    auto parsed = ParseOperator(OperatorName(k));
    ASSERT_TRUE(parsed.ok()) << OperatorName(k);
    EXPECT_EQ(*parsed, k);
  }
  auto bad = ParseOperator("hash");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(bad.status().message(), "hash")) << bad.status().message();
}

// ---- Mask ----

TEST(MaskTest, DefaultsByShape) {
  auto m = Op(Spec(OperatorKind::kMask));
  EXPECT_EQ(m.Apply("11010519491231002X"), "110105********002X");
  EXPECT_EQ(m.Apply("13812345678"), "138****5678");
  std::string email = m.Apply("zhangsan@example.com");
  EXPECT_EQ(email, "z***@example.com");
  // Names count UTF-8 characters: the surname stays, every other character is one '*'.
  EXPECT_EQ(m.Apply("张三丰"), "张**");
  EXPECT_EQ(m.Apply("张三"), "张*");
  EXPECT_EQ(m.Apply("欧阳娜娜"), "欧***");
  EXPECT_EQ(m.Apply(""), "");
  // Anything else: nothing in the middle survives.
  std::string other = m.Apply("ABCDEFGHIJKL");
  EXPECT_EQ(other.size(), 12u);
  EXPECT_EQ(other.substr(3, 6), "******") << other;
  EXPECT_EQ(m.Apply("x"), "*");
}

TEST(MaskTest, InvalidIdNumberIsNotMaskedAsAnId) {
  // Wrong check character: not an ID number, so not the 6 + 4 shape (which would reveal more).
  auto m = Op(Spec(OperatorKind::kMask));
  std::string out = m.Apply("110105194912310021");
  EXPECT_NE(out, "110105********0021");
  EXPECT_EQ(out.size(), 18u);
}

TEST(MaskTest, ConfigurablePrefixSuffixAndChar) {
  OperatorSpec s = Spec(OperatorKind::kMask);
  s.keep_prefix = 2;
  s.keep_suffix = 1;
  s.mask_char = "#";
  auto m = Op(s);
  EXPECT_EQ(m.Apply("abcdefg"), "ab####g");
  EXPECT_EQ(m.Apply("11010519491231002X"), "11###############X");
  // UTF-8 characters, and a multi-byte mask character.
  s.keep_prefix = 1;
  s.keep_suffix = 0;
  s.mask_char = "＊";
  EXPECT_EQ(Op(s).Apply("张三丰"), "张＊＊");
  // Only one side given: the other keeps nothing.
  OperatorSpec only_suffix = Spec(OperatorKind::kMask);
  only_suffix.keep_suffix = 4;
  EXPECT_EQ(Op(only_suffix).Apply("13812345678"), "*******5678");
  // The mask character also applies to the default shapes.
  OperatorSpec dflt = Spec(OperatorKind::kMask);
  dflt.mask_char = "x";
  EXPECT_EQ(Op(dflt).Apply("张三丰"), "张xx");
}

TEST(MaskTest, PrefixAndSuffixCoveringTheValueMaskEverything) {
  OperatorSpec s = Spec(OperatorKind::kMask);
  s.keep_prefix = 2;
  s.keep_suffix = 1;
  auto m = Op(s);
  EXPECT_EQ(m.Apply("abc"), "***");
  EXPECT_EQ(m.Apply("ab"), "**");
  EXPECT_EQ(m.Apply("张三"), "**");
  s.keep_prefix = 10;
  s.keep_suffix = 10;
  EXPECT_EQ(Op(s).Apply("13812345678"), "***********");
}

TEST(MaskTest, NegativeKeepRejected) {
  OperatorSpec s = Spec(OperatorKind::kMask);
  s.keep_prefix = -1;
  auto op = ValueOperator::Create(s, nullptr);
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), StatusCode::kInvalidArgument);
  s.keep_prefix = 1;
  s.keep_suffix = -2;
  op = ValueOperator::Create(s, nullptr);
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), StatusCode::kInvalidArgument);
}

// ---- Redact, replace, keep ----

TEST(SimpleOperatorsTest, RedactReplaceKeep) {
  EXPECT_EQ(Op(Spec(OperatorKind::kRedact)).Apply("11010519491231002X"), "");
  EXPECT_EQ(Op(Spec(OperatorKind::kRedact)).Apply(""), "");
  EXPECT_EQ(Op(Spec(OperatorKind::kReplace)).Apply("secret"), "*");
  OperatorSpec r = Spec(OperatorKind::kReplace);
  r.replacement = "[已删除]";
  EXPECT_EQ(Op(r).Apply("13812345678"), "[已删除]");
  EXPECT_EQ(Op(Spec(OperatorKind::kKeep)).Apply("13812345678"), "13812345678");
}

// ---- Pseudonyms ----

TEST(PseudonymTest, KnownAnswerHmacSha256) {
  // printf 'kexin-pseudonym-v1\0%s' 11010519491231002X |
  //   openssl dgst -sha256 -hmac 'kexin-test-key-0123456789abcdef'
  //   = d74e99fb5eb18d1aa36e1b9041b161abcd1bf3c48ac6f01f5d6895f010c4a051
  // python3: hmac.new(key, b"kexin-pseudonym-v1\0" + value, hashlib.sha256).hexdigest()[:24]
  PseudonymKey key = Key();
  auto p = Op(Spec(OperatorKind::kPseudonymize), &key);
  EXPECT_EQ(p.Apply("11010519491231002X"), "p_d74e99fb5eb18d1aa36e1b90");
  EXPECT_EQ(p.Apply("13812345678"), "p_ce70cde5ba7addc67a2df1dc");
  EXPECT_EQ(p.Apply("张三"), "p_200762c3b8382b6711d6bed4");
}

TEST(PseudonymTest, KnownAnswerBlake2b) {
  // python3: hashlib.blake2b(b"kexin-pseudonym-v1\0" + value, key=key, digest_size=32)
  PseudonymKey key = Key();
  OperatorSpec s = Spec(OperatorKind::kPseudonymize);
  s.hash = KeyedHash::kBlake2b;
  auto p = Op(s, &key);
  EXPECT_EQ(p.Apply("11010519491231002X"), "p_676c23f49e64de4b274142f4");
  EXPECT_EQ(p.Apply("13812345678"), "p_95daa18c467bd4411ad4f834");
}

TEST(PseudonymTest, DeterministicPerKeyAndHash) {
  PseudonymKey key = Key(), other = Key(kOtherKey);
  auto a = Op(Spec(OperatorKind::kPseudonymize), &key);
  auto a2 = Op(Spec(OperatorKind::kPseudonymize), &key);
  auto b = Op(Spec(OperatorKind::kPseudonymize), &other);
  OperatorSpec bs = Spec(OperatorKind::kPseudonymize);
  bs.hash = KeyedHash::kBlake2b;
  auto c = Op(bs, &key);
  std::set<std::string> seen;
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string v = fmt::format("{}{:08}", 130 + rng() % 70, rng() % 100000000);
    std::string pa = a.Apply(v);
    EXPECT_TRUE(IsPseudonym(pa)) << pa;
    EXPECT_EQ(pa, a.Apply(v));
    EXPECT_EQ(pa, a2.Apply(v)) << "a second operator with the same key";
    EXPECT_NE(pa, b.Apply(v)) << "another key";
    EXPECT_NE(pa, c.Apply(v)) << "blake2b";
    EXPECT_TRUE(IsPseudonym(c.Apply(v)));
    EXPECT_FALSE(Contains(pa, v));
    seen.insert(v + "|" + pa);
  }
  // Distinct values, distinct pseudonyms.
  std::set<std::string> ps;
  for (const auto& s : seen) ps.insert(s.substr(s.find('|') + 1));
  EXPECT_EQ(ps.size(), seen.size());
  EXPECT_EQ(a.Apply(""), "");
}

TEST(PseudonymTest, OutputNeverContainsTheInput) {
  PseudonymKey key = Key();
  auto p = Op(Spec(OperatorKind::kPseudonymize), &key);
  // Short values could appear in 24 hex characters by chance; hex-looking inputs are the risk.
  for (const char* v : {"11010519491231002X", "13812345678", "zhangsan@example.com", "张三丰",
                        "deadbeefcafe", "p_d74e99fb5eb18d1aa36e1b90"}) {
    std::string out = p.Apply(v);
    EXPECT_FALSE(Contains(out, v)) << v << " -> " << out;
    EXPECT_FALSE(Contains(out, kKey));
  }
}

TEST(PseudonymTest, NeedsAKey) {
  for (auto kind : {OperatorKind::kPseudonymize, OperatorKind::kFormatPreserving}) {
    auto op = ValueOperator::Create(Spec(kind), nullptr);
    ASSERT_FALSE(op.ok()) << OperatorName(kind);
    EXPECT_EQ(op.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(op.status().message(), "key")) << op.status().message();
  }
  // Operators without keys do not need one.
  for (auto kind :
       {OperatorKind::kKeep, OperatorKind::kMask, OperatorKind::kRedact, OperatorKind::kReplace}) {
    EXPECT_TRUE(ValueOperator::Create(Spec(kind), nullptr).ok()) << OperatorName(kind);
  }
}

// ---- Format-preserving pseudonyms ----

TEST(FormatPreservingTest, IdNumberStaysAValidIdWithItsRegion) {
  PseudonymKey key = Key(), other = Key(kOtherKey);
  auto f = Op(Spec(OperatorKind::kFormatPreserving), &key);
  auto g = Op(Spec(OperatorKind::kFormatPreserving), &other);
  const std::vector<std::string> ids = {"11010519491231002X", "440305195907210499",
                                        "510107199502190619", "330106199411030628",
                                        "310104197609126240", "44030519880104000X"};
  for (const auto& id : ids) {
    ASSERT_NE(scan::IdCardCn(id), scan::Strength::kNone) << "test data: " << id;
    std::string out = f.Apply(id);
    SCOPED_TRACE(id + " -> " + out);
    ASSERT_EQ(out.size(), 18u);
    EXPECT_NE(scan::IdCardCn(out), scan::Strength::kNone);
    EXPECT_EQ(out[17], scan::IdCardCheckChar(out.substr(0, 17)));
    EXPECT_EQ(out.substr(0, 6), id.substr(0, 6));
    EXPECT_NE(out, id);
    EXPECT_EQ(out, f.Apply(id));
    EXPECT_NE(out, g.Apply(id));
  }
}

TEST(FormatPreservingTest, ManyRandomIdsAreValid) {
  PseudonymKey key = Key();
  auto f = Op(Spec(OperatorKind::kFormatPreserving), &key);
  std::mt19937 rng(11);
  std::set<std::string> outs;
  for (int i = 0; i < 3000; ++i) {
    std::string first17 = fmt::format("110105{:04}{:02}{:02}{:03}", 1950 + rng() % 60,
                                      1 + rng() % 12, 1 + rng() % 28, rng() % 1000);
    std::string id = first17 + scan::IdCardCheckChar(first17);
    std::string out = f.Apply(id);
    ASSERT_NE(scan::IdCardCn(out), scan::Strength::kNone) << id << " -> " << out;
    ASSERT_EQ(out.substr(0, 6), "110105");
    outs.insert(out);
  }
  // Birth dates and sequence numbers come from the hash: few collisions among 3000.
  EXPECT_GT(outs.size(), 2990u);
}

TEST(FormatPreservingTest, MobileKeepsPrefixAndLength) {
  PseudonymKey key = Key(), other = Key(kOtherKey);
  auto f = Op(Spec(OperatorKind::kFormatPreserving), &key);
  auto g = Op(Spec(OperatorKind::kFormatPreserving), &other);
  for (const char* m : {"13812345678", "19579754323", "18075291703", "13000000000"}) {
    std::string out = f.Apply(m);
    SCOPED_TRACE(std::string(m) + " -> " + out);
    ASSERT_EQ(out.size(), 11u);
    EXPECT_EQ(out.find_first_not_of("0123456789"), std::string::npos);
    EXPECT_EQ(out.substr(0, 3), std::string(m).substr(0, 3));
    EXPECT_NE(out, m);
    EXPECT_EQ(out, f.Apply(m));
    EXPECT_NE(out, g.Apply(m));
  }
}

TEST(FormatPreservingTest, OtherValuesFallBackToPlainPseudonyms) {
  PseudonymKey key = Key();
  auto f = Op(Spec(OperatorKind::kFormatPreserving), &key);
  // python3: hmac.new(key, b"kexin-fpe-v1\0hello", hashlib.sha256).hexdigest()[:24]
  EXPECT_EQ(f.Apply("hello"), "p_7bee093eb98ea35a67ce3e93");
  for (const char* v : {"110105194912310021",  // an 18-character non-ID (bad check character)
                        "23812345678",         // 11 digits not starting with 1
                        "1381234567", "张三", "zhangsan@example.com"}) {
    std::string out = f.Apply(v);
    EXPECT_TRUE(IsPseudonym(out)) << v << " -> " << out;
    EXPECT_EQ(out, f.Apply(v));
  }
  EXPECT_EQ(f.Apply(""), "");
}

// ---- Top/bottom coding ----

TEST(TopBottomTest, CodesTheTails) {
  OperatorSpec s = Spec(OperatorKind::kTopBottom);
  s.top = 90;
  s.bottom = 18;
  auto t = Op(s);
  EXPECT_EQ(t.Apply("95"), ">=90");
  EXPECT_EQ(t.Apply("90"), ">=90");
  EXPECT_EQ(t.Apply("89.9"), "89.9");
  EXPECT_EQ(t.Apply("50"), "50");
  EXPECT_EQ(t.Apply("18"), "<=18");
  EXPECT_EQ(t.Apply("-3"), "<=18");
  EXPECT_EQ(t.Apply("abc"), "abc") << "non-numbers pass unchanged";
  EXPECT_EQ(t.Apply(""), "");
  OperatorSpec only_top = Spec(OperatorKind::kTopBottom);
  only_top.top = 100000.5;
  EXPECT_EQ(Op(only_top).Apply("250000"), ">=100000.5");
  EXPECT_EQ(Op(only_top).Apply("-1e9"), "-1e9");
}

TEST(TopBottomTest, NeedsALimit) {
  auto op = ValueOperator::Create(Spec(OperatorKind::kTopBottom), nullptr);
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), StatusCode::kInvalidArgument);
}

// ---- Keys ----

TEST(PseudonymKeyTest, FromFileStripsTrailingNewline) {
  TempDir d;
  auto k = PseudonymKey::FromFile(d.Write("k.key", std::string(kKey) + "\n"));
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->bytes(), kKey);
  EXPECT_TRUE(Contains(k->source(), "k.key")) << k->source();
  auto crlf = PseudonymKey::FromFile(d.Write("crlf.key", std::string(kKey) + "\r\n"));
  ASSERT_TRUE(crlf.ok());
  EXPECT_EQ(crlf->bytes(), kKey);
  // Raw bytes, including NUL and high bytes, are kept.
  std::string raw(
      "\x00\x01\xff\xfe"
      "0123456789abcdef",
      20);
  auto bin = PseudonymKey::FromFile(d.Write("bin.key", raw));
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ(bin->bytes(), raw);
  // A key from a file gives the same pseudonyms as the same bytes given directly.
  PseudonymKey direct = Key();
  EXPECT_EQ(Op(Spec(OperatorKind::kPseudonymize), &*k).Apply("x"),
            Op(Spec(OperatorKind::kPseudonymize), &direct).Apply("x"));
}

TEST(PseudonymKeyTest, TooShortRejectedWithoutShowingTheKey) {
  TempDir d;
  const std::string secret = "S3cr3t-15-bytes";  // 15 bytes
  ASSERT_EQ(secret.size(), 15u);
  auto k = PseudonymKey::FromFile(d.Write("short.key", secret + "\n"));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(k.status().message(), "short.key")) << k.status().message();
  EXPECT_TRUE(Contains(k.status().message(), "16")) << k.status().message();
  EXPECT_FALSE(Contains(k.status().message(), secret)) << k.status().message();
  // Exactly 16 bytes is enough.
  EXPECT_TRUE(PseudonymKey::FromFile(d.Write("ok.key", "0123456789abcdef")).ok());
  auto empty = PseudonymKey::FromFile(d.Write("empty.key", ""));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  auto b = PseudonymKey::FromBytes(secret, "test");
  ASSERT_FALSE(b.ok());
  EXPECT_FALSE(Contains(b.status().message(), secret));
}

TEST(PseudonymKeyTest, MissingFileIsNotFound) {
  TempDir d;
  const std::string path = d.path() + "/nosuch.key";
  auto k = PseudonymKey::FromFile(path);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), StatusCode::kNotFound) << k.status().ToString();
  EXPECT_TRUE(Contains(k.status().message(), path)) << k.status().message();
}

TEST(PseudonymKeyTest, UnreadableFileIsPermissionDeniedWithoutShowingTheKey) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  TempDir d;
  std::string path = d.Write("secret.key", kKey);
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  auto k = PseudonymKey::FromFile(path);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), StatusCode::kPermissionDenied) << k.status().ToString();
  EXPECT_TRUE(Contains(k.status().message(), path)) << k.status().message();
  EXPECT_FALSE(Contains(k.status().message(), kKey));
}

TEST(PseudonymKeyTest, FromEnv) {
  const char* var = "KEXIN_OPERATORS_TEST_KEY";
  unsetenv(var);
  auto unset = PseudonymKey::FromEnv(var);
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(unset.status().message(), var)) << unset.status().message();
  setenv(var, "", 1);
  auto empty = PseudonymKey::FromEnv(var);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kNotFound);
  setenv(var, "tiny-key", 1);
  auto shorter = PseudonymKey::FromEnv(var);
  ASSERT_FALSE(shorter.ok());
  EXPECT_EQ(shorter.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(shorter.status().message(), var)) << shorter.status().message();
  EXPECT_FALSE(Contains(shorter.status().message(), "tiny-key"));
  setenv(var, kKey, 1);
  auto ok = PseudonymKey::FromEnv(var);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->bytes(), kKey);
  EXPECT_TRUE(Contains(ok->source(), var));
  unsetenv(var);
}

}  // namespace
}  // namespace kexin::deid
