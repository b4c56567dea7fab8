#include "table/table_reader.h"

#include <gtest/gtest.h>
#include <iconv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define KEXIN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEXIN_TEST_ASAN 1
#endif
#endif
#ifndef KEXIN_TEST_ASAN
#define KEXIN_TEST_ASAN 0
#endif

namespace kexin::table {
namespace {

using Rows = std::vector<std::vector<std::string>>;

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Writes `content` to a fresh file under the test temp directory and returns its path.
std::string WriteTemp(const std::string& name, std::string_view content) {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  std::string path =
      testing::TempDir() + "kexin_tr_" + info->test_suite_name() + "_" + info->name() + "_" + name;
  for (size_t i = testing::TempDir().size(); i < path.size(); ++i) {
    if (path[i] == '/') path[i] = '_';  // parameterized test names hold slashes
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  f.close();
  EXPECT_TRUE(f.good()) << path;
  return path;
}

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
  EXPECT_NE(rc, static_cast<size_t>(-1));
  out.resize(out.size() - oleft);
  return out;
}

std::unique_ptr<TableReader> MustOpen(const std::string& path, const ReadOptions& opts = {}) {
  auto r = TableReader::Open(path, opts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

// Reads every chunk.
Result<std::vector<Chunk>> ReadChunks(TableReader* reader) {
  std::vector<Chunk> chunks;
  while (true) {
    Chunk c;
    KEXIN_ASSIGN_OR_RETURN(bool more, reader->Next(&c));
    if (!more) break;
    chunks.push_back(std::move(c));
  }
  return chunks;
}

Status ParseInto(RecordParser* parser, std::string_view data, bool lenient, Rows* rows) {
  return parser->Parse(data, lenient, [&](uint64_t, const std::vector<std::string_view>& cells) {
    rows->emplace_back(cells.begin(), cells.end());
  });
}

// Opens `path`, reads all chunks and parses every record.
struct Table {
  TableInfo info;
  std::vector<std::string> columns;  // the parser's (JSONL may add keys)
  Rows rows;
  size_t chunks = 0;
};

Result<Table> ReadTable(const std::string& path, const ReadOptions& opts = {}) {
  KEXIN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader, TableReader::Open(path, opts));
  Table t;
  t.info = reader->info();
  auto parser = RecordParser::Create(t.info);
  KEXIN_ASSIGN_OR_RETURN(std::vector<Chunk> chunks, ReadChunks(reader.get()));
  t.chunks = chunks.size();
  for (const Chunk& c : chunks) {
    KEXIN_RETURN_IF_ERROR(ParseInto(parser.get(), c.data, false, &t.rows));
  }
  t.columns = parser->columns();
  return t;
}

Table MustRead(const std::string& path, const ReadOptions& opts = {}) {
  auto r = ReadTable(path, opts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Table{};
}

TableInfo CsvInfo(std::vector<std::string> columns, char delimiter = ',') {
  TableInfo info;
  info.format = Format::kCsv;
  info.delimiter = delimiter;
  info.columns = std::move(columns);
  return info;
}

// --- RFC 4180 ---

TEST(TableReaderCsvTest, SimpleFileWithHeader) {
  Table t = MustRead(WriteTemp("a.csv", "id,name,phone\n1,alice,13800138000\n2,bob,13900139000\n"));
  EXPECT_EQ(t.info.format, Format::kCsv);
  EXPECT_EQ(t.info.encoding, Encoding::kUtf8);
  EXPECT_EQ(t.info.delimiter, ',');
  EXPECT_TRUE(t.info.has_header);
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"id", "name", "phone"}));
  EXPECT_EQ(t.info.data_offset, 14u);
  EXPECT_EQ(t.rows, (Rows{{"1", "alice", "13800138000"}, {"2", "bob", "13900139000"}}));
}

TEST(TableReaderCsvTest, QuotedFieldWithEmbeddedDelimiter) {
  Table t = MustRead(WriteTemp("a.csv", "name,addr\nalice,\"1 Main St, Springfield\"\n"));
  EXPECT_EQ(t.rows, (Rows{{"alice", "1 Main St, Springfield"}}));
}

TEST(TableReaderCsvTest, QuotedFieldWithEmbeddedNewline) {
  Table t = MustRead(
      WriteTemp("a.csv", "name,note\nalice,\"line one\nline two\r\nline three\"\nbob,plain\n"));
  EXPECT_EQ(t.rows, (Rows{{"alice", "line one\nline two\r\nline three"}, {"bob", "plain"}}));
}

TEST(TableReaderCsvTest, CrlfLineEndings) {
  Table t = MustRead(WriteTemp("a.csv", "id,name\r\n1,alice\r\n2,\"b,ob\"\r\n"));
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(t.rows, (Rows{{"1", "alice"}, {"2", "b,ob"}}));
}

TEST(TableReaderCsvTest, EscapedQuotes) {
  Table t =
      MustRead(WriteTemp("a.csv", "name,quote\nalice,\"she said \"\"hi\"\"\"\nbob,\"\"\"\"\n"));
  EXPECT_EQ(t.rows, (Rows{{"alice", "she said \"hi\""}, {"bob", "\""}}));
}

TEST(TableReaderCsvTest, EmptyFields) {
  Table t = MustRead(WriteTemp("a.csv", "a,b,c\n,,\n1,,3\n\"\",x,\n"));
  EXPECT_EQ(t.rows, (Rows{{"", "", ""}, {"1", "", "3"}, {"", "x", ""}}));
}

TEST(TableReaderCsvTest, MissingTrailingNewline) {
  Table t = MustRead(WriteTemp("a.csv", "a,b\n1,2\n3,4"));
  EXPECT_EQ(t.rows, (Rows{{"1", "2"}, {"3", "4"}}));
  Table q = MustRead(WriteTemp("b.csv", "a,b\n1,2\n3,\"x\ny\""));
  EXPECT_EQ(q.rows, (Rows{{"1", "2"}, {"3", "x\ny"}}));
}

TEST(TableReaderCsvTest, BlankLinesAreSkipped) {
  Table t = MustRead(WriteTemp("a.csv", "a,b\n1,2\n\n3,4\n\n"));
  EXPECT_EQ(t.rows, (Rows{{"1", "2"}, {"3", "4"}}));
}

TEST(TableReaderCsvTest, HeaderOnlyHasNoRecords) {
  Table t = MustRead(WriteTemp("a.csv", "name,email\n"));
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"name", "email"}));
  EXPECT_TRUE(t.rows.empty());
}

// --- Delimiters ---

struct DelimiterCase {
  char delimiter;
  const char* name;
};

class DelimiterSniffTest : public testing::TestWithParam<DelimiterCase> {};

TEST_P(DelimiterSniffTest, SniffsAndParses) {
  const char d = GetParam().delimiter;
  const std::string D(1, d);
  // The other candidates appear inside unquoted fields, so sniffing must prefer consistency.
  std::string others;
  for (char c : {',', ';', '\t', '|'}) {
    if (c != d) others += c;
  }
  std::string content = "name" + D + "addr" + D + "note\n" +                                 //
                        "alice" + D + "\"Main St" + D + " 1\"" + D + "a" + others + "b\n" +  //
                        "bob" + D + "Elm" + D + others + "\n" +                              //
                        "carol" + D + "Oak" + D + "e\n";
  Table t = MustRead(WriteTemp(std::string(GetParam().name) + ".csv", content));
  EXPECT_EQ(t.info.delimiter, d);
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"name", "addr", "note"}));
  EXPECT_EQ(t.rows, (Rows{{"alice", "Main St" + D + " 1", "a" + others + "b"},
                          {"bob", "Elm", others},
                          {"carol", "Oak", "e"}}));
  EXPECT_EQ(SniffDelimiter(content), d);
}

INSTANTIATE_TEST_SUITE_P(AllDelimiters, DelimiterSniffTest,
                         testing::Values(DelimiterCase{',', "comma"},
                                         DelimiterCase{';', "semicolon"},
                                         DelimiterCase{'\t', "tab"}, DelimiterCase{'|', "pipe"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TableReaderCsvTest, ForcedDelimiterOverridesSniffing) {
  ReadOptions opts;
  opts.delimiter = ';';
  Table t = MustRead(WriteTemp("a.csv", "a;b,c\n1;2,3\n"), opts);
  EXPECT_EQ(t.info.delimiter, ';');
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"a", "b,c"}));
  EXPECT_EQ(t.rows, (Rows{{"1", "2,3"}}));
}

TEST(SniffDelimiterTest, SingleColumnFallsBackToComma) {
  EXPECT_EQ(SniffDelimiter("name\nalice\nbob\n"), ',');
  EXPECT_EQ(SniffDelimiter(""), ',');
}

TEST(SniffDelimiterTest, SingleLineWithoutNewline) { EXPECT_EQ(SniffDelimiter("a|b|c"), '|'); }

// --- Header detection ---

TEST(TableReaderCsvTest, NoHeaderWhenFirstRowIsData) {
  Table t = MustRead(WriteTemp("a.csv", "10001,alice,13800138000\n10002,bob,13900139000\n"));
  EXPECT_FALSE(t.info.has_header);
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"col_1", "col_2", "col_3"}));
  EXPECT_EQ(t.info.data_offset, 0u);
  EXPECT_EQ(t.rows, (Rows{{"10001", "alice", "13800138000"}, {"10002", "bob", "13900139000"}}));
}

TEST(TableReaderCsvTest, ForcedHeaderOption) {
  ReadOptions on;
  on.header = true;
  Table t = MustRead(WriteTemp("a.csv", "1,2\n3,4\n"), on);
  EXPECT_TRUE(t.info.has_header);
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(t.rows, (Rows{{"3", "4"}}));

  ReadOptions off;
  off.header = false;
  Table u = MustRead(WriteTemp("b.csv", "name,phone\nalice,1\n"), off);
  EXPECT_FALSE(u.info.has_header);
  EXPECT_EQ(u.info.columns, (std::vector<std::string>{"col_1", "col_2"}));
  EXPECT_EQ(u.rows, (Rows{{"name", "phone"}, {"alice", "1"}}));
}

TEST(TableReaderCsvTest, HeaderNamesAreTrimmedDedupedAndFilled) {
  Table t = MustRead(WriteTemp("a.csv", " name ,,name,\"addr\"\nx,y,z,w\n"));
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"name", "col_2", "name_2", "addr"}));
}

TEST(LooksLikeHeaderTest, Heuristics) {
  EXPECT_TRUE(LooksLikeHeader({"id", "name", "phone"}));
  EXPECT_TRUE(LooksLikeHeader({"姓名", "身份证号", "手机号"}));
  EXPECT_TRUE(LooksLikeHeader({"addr1", "addr2"}));
  EXPECT_FALSE(LooksLikeHeader({"1", "alice"}));                     // a number
  EXPECT_FALSE(LooksLikeHeader({"2024-01-05", "alice"}));            // a date
  EXPECT_FALSE(LooksLikeHeader({"alice", "ID110101199003074514"}));  // long digit run
  EXPECT_FALSE(LooksLikeHeader({"alice", "alice"}));                 // repeated cell
  EXPECT_FALSE(LooksLikeHeader({"alice", "a@example.com"}));         // an email
}

TEST(SplitCsvLineTest, Fields) {
  EXPECT_EQ(SplitCsvLine("a,b,c", ','), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(SplitCsvLine("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(SplitCsvLine(",", ','), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(SplitCsvLine("\"a,b\",\"c\"\"d\"\r", ','), (std::vector<std::string>{"a,b", "c\"d"}));
  EXPECT_EQ(SplitCsvLine("a\tb", '\t'), (std::vector<std::string>{"a", "b"}));
}

// --- Encodings ---

TEST(TableReaderCsvTest, BomIsStrippedFromFirstHeaderName) {
  Table t = MustRead(WriteTemp("a.csv", "\xEF\xBB\xBFname,phone\nalice,13800138000\n"));
  EXPECT_EQ(t.info.encoding, Encoding::kUtf8Bom);
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"name", "phone"}));
  EXPECT_EQ(t.rows, (Rows{{"alice", "13800138000"}}));
}

TEST(TableReaderCsvTest, BomWithoutHeaderIsNotInFirstCell) {
  Table t = MustRead(WriteTemp("a.csv",
                               "\xEF\xBB\xBF"
                               "10001,13800138000\n10002,13900139000\n"));
  EXPECT_FALSE(t.info.has_header);
  EXPECT_EQ(t.info.data_offset, 3u);
  EXPECT_EQ(t.rows, (Rows{{"10001", "13800138000"}, {"10002", "13900139000"}}));
}

constexpr std::string_view kChineseCsv =
    "姓名,身份证号,手机号,地址\n"
    "张三,110101199003074514,13800138000,\"北京市朝阳区建国路88号, 2单元\"\n"
    "李四,11010119900307453X,13900139000,\"上海市\n浦东新区\"\n"
    "王五,440305199001010019,13700137000,Größe Maß 𠀀\n";

TEST(TableReaderCsvTest, Gb18030FileReadsLikeUtf8) {
  Table utf8 = MustRead(WriteTemp("utf8.csv", kChineseCsv));
  std::string gb = ToGb18030(kChineseCsv);
  ASSERT_NE(gb, std::string(kChineseCsv));
  Table gbk = MustRead(WriteTemp("gb.csv", gb));
  EXPECT_EQ(utf8.info.encoding, Encoding::kUtf8);
  EXPECT_EQ(gbk.info.encoding, Encoding::kGb18030);
  EXPECT_EQ(gbk.info.columns, (std::vector<std::string>{"姓名", "身份证号", "手机号", "地址"}));
  EXPECT_EQ(gbk.info.columns, utf8.info.columns);
  ASSERT_EQ(utf8.rows.size(), 3u);
  EXPECT_EQ(gbk.rows, utf8.rows);
  EXPECT_EQ(gbk.rows[1][3], "上海市\n浦东新区");
}

TEST(TableReaderCsvTest, Gb18030LargeFileInSmallChunks) {
  std::string utf8 = "姓名,手机号,备注\n";
  for (int i = 0; i < 6000; ++i) {
    utf8 += "张三" + std::to_string(i) + ",138" + std::to_string(10000000 + i) +
            ",\"多行\n备注 Größe " + std::to_string(i) + "\"\n";
  }
  ReadOptions opts;
  opts.chunk_bytes = 64;
  auto r = ReadTable(WriteTemp("gb.csv", ToGb18030(utf8)), opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.encoding, Encoding::kGb18030);
  EXPECT_GT(r->chunks, 1u);
  ASSERT_EQ(r->rows.size(), 6000u);
  EXPECT_EQ(r->rows[5999],
            (std::vector<std::string>{"张三5999", "13810005999", "多行\n备注 Größe 5999"}));
}

// --- JSONL ---

TEST(TableReaderJsonlTest, NestedObjectsFlattenToDottedPaths) {
  Table t = MustRead(WriteTemp("a.jsonl",
                               "{\"a\":{\"b\":1},\"c\":\"x\"}\n"
                               "{\"a\":{\"b\":2},\"c\":\"y\"}\n"));
  EXPECT_EQ(t.info.format, Format::kJsonl);
  EXPECT_FALSE(t.info.has_header);
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"a.b", "c"}));
  EXPECT_EQ(t.rows, (Rows{{"1", "x"}, {"2", "y"}}));
}

TEST(TableReaderJsonlTest, ArraysStayJsonTextAndScalarsAreText) {
  Table t = MustRead(
      WriteTemp("a.jsonl",
                "{\"tags\":[1, \"a\", {\"k\": "
                "null}],\"ok\":true,\"n\":null,\"f\":1.5,\"deep\":{\"x\":{\"y\":\"z\"}}}\n"));
  EXPECT_EQ(t.columns, (std::vector<std::string>{"tags", "ok", "n", "f", "deep.x.y"}));
  EXPECT_EQ(t.rows, (Rows{{"[1,\"a\",{\"k\":null}]", "true", "", "1.5", "z"}}));
}

TEST(TableReaderJsonlTest, DetectedByContentWithMissingKeys) {
  // .txt name: detected from the leading '{'. A record missing a key gets an empty cell.
  Table t =
      MustRead(WriteTemp("a.txt", "{\"a\":\"1\"}\n\n{\"b\":\"2\"}\r\n{\"a\":\"3\",\"b\":\"4\"}"));
  EXPECT_EQ(t.info.format, Format::kJsonl);
  EXPECT_EQ(t.info.columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.rows, (Rows{{"1", ""}, {"", "2"}, {"3", "4"}}));
}

TEST(JsonlRecordParserTest, KeysFirstSeenLaterBecomeColumns) {
  TableInfo info;
  info.format = Format::kJsonl;
  info.columns = {"a"};
  auto parser = RecordParser::Create(info);
  Rows rows;
  ASSERT_TRUE(
      ParseInto(parser.get(), "{\"a\":\"1\"}\n{\"b\":{\"c\":\"2\"}}\n{\"a\":\"3\"}\n", false, &rows)
          .ok());
  EXPECT_EQ(parser->columns(), (std::vector<std::string>{"a", "b.c"}));
  EXPECT_EQ(parser->records(), 3u);
  EXPECT_EQ(rows, (Rows{{"1"}, {"", "2"}, {"3", ""}}));
}

TEST(JsonlRecordParserTest, ManyShortNumbersInOneRecord) {
  // Regression (fixed): JsonlRecordParser::Store kept number and array text in
  // std::vector<std::string> pool_ and hands out string_views into it. When pool_ grows within one
  // record, the vector reallocates and short (SSO) strings move, so earlier cells of the record
  // dangle (heap-use-after-free under ASan; garbage cells once the freed memory is reused). Input:
  // one JSONL line with many numeric values, e.g. {"k0":0,"k1":1,...,"k39":39}.
  std::string line = "{";
  for (int i = 0; i < 40; ++i) {
    line += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  }
  line += "}\n";
  TableInfo info;
  info.format = Format::kJsonl;
  auto parser = RecordParser::Create(info);
  Rows rows;
  Status s = parser->Parse(line, false, [&](uint64_t, const std::vector<std::string_view>& cells) {
    // Reuse recently freed heap blocks (as any allocation in a real callback would) before
    // reading the cells.
    std::vector<std::unique_ptr<char[]>> scribble;
    for (size_t size = 32; size <= 4096; size *= 2) {
      for (int k = 0; k < 4; ++k) {
        scribble.emplace_back(new char[size]);
        std::fill_n(scribble.back().get(), size, 'Z');
      }
    }
    rows.emplace_back(cells.begin(), cells.end());
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].size(), 40u);
  std::vector<std::string> want;
  for (int i = 0; i < 40; ++i) want.push_back(std::to_string(i));
  if (rows[0] != want) {
    std::string got;
    for (const auto& c : rows[0]) got += "[" + c + "]";
    ADD_FAILURE()
        << "regression of a fixed bug: cells of numbers dangle after pool_ reallocation; got "
        << got;
  }
  EXPECT_EQ(rows[0], want);
}

TEST(TableReaderJsonlTest, FirstLineNotAnObjectFailsOpen) {
  std::string path = WriteTemp("a.jsonl", "[1,2,3]\n{\"a\":1}\n");
  auto r = TableReader::Open(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(r.status().message(), path + ":1:")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "expected a JSON object")) << r.status().message();
}

TEST(TableReaderJsonlTest, LaterLineNotAnObjectIsParseError) {
  std::string path = WriteTemp("a.jsonl", "{\"a\":1}\n{\"a\":2}\n\"just a string\"\n{\"a\":4}\n");
  // The reader sniffs only a prefix with the parser too, so the error may surface at Open.
  auto r = ReadTable(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(r.status().message(), "expected a JSON object")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), path + ":3:")) << r.status().message();

  TableInfo info;
  info.format = Format::kJsonl;
  auto parser = RecordParser::Create(info);
  Rows rows;
  Status s =
      ParseInto(parser.get(), "{\"a\":1}\n{\"a\":2}\n\"just a string\"\n{\"a\":4}\n", false, &rows);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(s.message(), "record 2: expected a JSON object");
  EXPECT_EQ(parser->failed_record(), 2u);
  EXPECT_EQ(rows.size(), 2u);
}

TEST(TableReaderJsonlTest, InvalidJsonNamesRecordAndLenientSkips) {
  TableInfo info;
  info.format = Format::kJsonl;
  auto parser = RecordParser::Create(info);
  std::string data = "{\"a\":1}\n{\"a\":\n[]\n{\"a\":3}\n";
  Rows rows;
  Status s = ParseInto(parser.get(), data, false, &rows);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "record 1: invalid JSON")) << s.message();
  EXPECT_EQ(parser->failed_record(), 1u);

  rows.clear();
  ASSERT_TRUE(ParseInto(parser.get(), data, true, &rows).ok());
  EXPECT_EQ(parser->records(), 4u);
  EXPECT_EQ(parser->skipped(), 2u);
  EXPECT_EQ(rows, (Rows{{"1"}, {"3"}}));
}

// --- Chunking ---

std::string BigCsvWithEmbeddedNewlines(int rows) {
  std::string s = "id,name,note,phone\n";
  for (int i = 0; i < rows; ++i) {
    s += std::to_string(i) + ",name" + std::to_string(i) + ",\"note " + std::to_string(i) +
         "\nsecond line, with comma\r\nand \"\"quotes\"\"\"," + std::to_string(13800000000LL + i) +
         "\n";
  }
  return s;
}

TEST(TableReaderChunkTest, TinyChunksNeverSplitRecords) {
  // > 64 KiB, so several reads and chunks are needed even though chunk_bytes is tiny.
  std::string content = BigCsvWithEmbeddedNewlines(5000);
  ASSERT_GT(content.size(), 200u * 1024);
  std::string path = WriteTemp("big.csv", content);

  Table whole = MustRead(path);
  ASSERT_EQ(whole.rows.size(), 5000u);
  EXPECT_EQ(whole.chunks, 1u);

  ReadOptions tiny;
  tiny.chunk_bytes = 64;
  auto reader = MustOpen(path, tiny);
  ASSERT_NE(reader, nullptr);
  auto chunks = ReadChunks(reader.get());
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  ASSERT_GT(chunks->size(), 1u);
  auto parser = RecordParser::Create(reader->info());
  Rows rows;
  uint64_t index = 0;
  uint64_t bytes = 0;
  for (const Chunk& c : *chunks) {
    EXPECT_EQ(c.index, index++);
    ASSERT_FALSE(c.data.empty());
    EXPECT_EQ(c.data.back(), '\n');
    bytes += c.file_bytes;
    Status s = ParseInto(parser.get(), c.data, false, &rows);
    ASSERT_TRUE(s.ok()) << "chunk " << c.index << ": " << s.ToString();
  }
  EXPECT_EQ(rows, whole.rows);
  EXPECT_EQ(bytes, content.size() - reader->info().data_offset);
}

TEST(TableReaderChunkTest, ChunkFileOffsetsAreFileBytePositions) {
  // BUG: Chunk::file_offset is documented as the file byte offset of the chunk's first record, but
  // the first chunk reports 0 instead of info().data_offset (the header's length), and every later
  // chunk is shifted by the same amount.
  std::string content = BigCsvWithEmbeddedNewlines(3000);
  ReadOptions tiny;
  tiny.chunk_bytes = 64;
  auto reader = MustOpen(WriteTemp("big.csv", content), tiny);
  ASSERT_NE(reader, nullptr);
  auto chunks = ReadChunks(reader.get());
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  ASSERT_GT(chunks->size(), 1u);
  uint64_t expected = reader->info().data_offset;
  ASSERT_GT(expected, 0u);
  for (const Chunk& c : *chunks) {
    if (c.file_offset != expected) {
      ADD_FAILURE() << "regression of a fixed bug: chunk " << c.index << " file_offset "
                    << c.file_offset << ", expected " << expected << " (data_offset not added)";
    }
    EXPECT_EQ(content.substr(c.file_offset, c.file_bytes), c.data);
    expected += c.file_bytes;
  }
}

TEST(TableReaderChunkTest, StrayQuoteInUnquotedFieldDoesNotBreakChunking) {
  // BUG: the parser treats a quote inside an unquoted field as literal (5" screen), but the
  // chunker counts every quote for parity, so one stray quote makes it think the rest of the file
  // is inside a quoted field: Next() fails with "unbalanced quote" at end of file.
  std::string content = "id,item,size\n1,monitor,27\" screen\n2,phone,6 inch\n";
  Rows expected = {{"1", "monitor", "27\" screen"}, {"2", "phone", "6 inch"}};
  // The parser alone accepts the data.
  auto parser = RecordParser::Create(CsvInfo({"id", "item", "size"}));
  Rows parsed;
  ASSERT_TRUE(ParseInto(parser.get(), content.substr(13), false, &parsed).ok());
  ASSERT_EQ(parsed, expected);

  auto r = ReadTable(WriteTemp("a.csv", content));
  if (!r.ok() && Contains(r.status().message(), "unbalanced quote")) {
    ADD_FAILURE() << "regression of a fixed bug: stray quote makes TableReader::Next fail: "
                  << r.status().ToString();
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, expected);
}

TEST(TableReaderChunkTest, StrayQuotesDoNotMoveChunkBoundaryIntoQuotedField) {
  // BUG: same cause as above. With an even number of stray quotes the file ends balanced, but
  // between them quote parity is inverted, so the chunker cuts a chunk at a newline inside a
  // quoted field and the parser then reports an unbalanced quote for a well-formed file.
  std::string content = "id,size,note\n0,27\" screen,plain\n";
  for (int i = 1; i < 4000; ++i) {
    content += std::to_string(i) + ",1,\"multi\nline " + std::to_string(i) + "\"\n";
  }
  content += "4000,6\" phone,plain\n";
  ReadOptions tiny;
  tiny.chunk_bytes = 64;
  auto r = ReadTable(WriteTemp("a.csv", content), tiny);
  if (!r.ok() && Contains(r.status().message(), "unbalanced quote")) {
    ADD_FAILURE() << "regression of a fixed bug: chunk cut inside a quoted field: "
                  << r.status().ToString();
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 4001u);
  EXPECT_EQ(r->rows[1], (std::vector<std::string>{"1", "1", "multi\nline 1"}));
}

// --- Error paths ---

TEST(TableReaderErrorTest, MissingFileIsNotFound) {
  std::string path = testing::TempDir() + "kexin_tr_does_not_exist.csv";
  auto r = TableReader::Open(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(r.status().message(), path)) << r.status().message();
}

TEST(TableReaderErrorTest, DirectoryIsInvalidArgument) {
  std::string dir = testing::TempDir() + "kexin_tr_dir";
  mkdir(dir.c_str(), 0755);
  auto r = TableReader::Open(dir, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status().message(), dir)) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "directory")) << r.status().message();
}

TEST(TableReaderErrorTest, UnreadableFileIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root can read any file";
  std::string path = WriteTemp("secret.csv", "a,b\n1,2\n");
  chmod(path.c_str(), 0);
  auto r = TableReader::Open(path, {});
  chmod(path.c_str(), 0644);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(r.status().message(), path)) << r.status().message();
}

TEST(TableReaderErrorTest, EmptyFileIsDataError) {
  std::string path = WriteTemp("empty.csv", "");
  auto r = TableReader::Open(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(r.status().message(), path)) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "empty")) << r.status().message();

  std::string blank = WriteTemp("blank.csv", " \r\n\n\t\n");
  auto b = TableReader::Open(blank, {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(b.status().message(), blank)) << b.status().message();
  EXPECT_TRUE(Contains(b.status().message(), "empty")) << b.status().message();
}

TEST(TableReaderErrorTest, BinaryFileIsDataError) {
  std::string path = WriteTemp("a.csv", std::string("PK\x03\x04\0\0\x08\0", 8));
  auto r = TableReader::Open(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(r.status().message(), "binary")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), path)) << r.status().message();
}

TEST(TableReaderErrorTest, RaggedRowNamesRecord) {
  std::string data = "1,2,3\n4,5,6\n7,8\n9,10,11\n";
  auto parser = RecordParser::Create(CsvInfo({"a", "b", "c"}));
  Rows rows;
  Status s = ParseInto(parser.get(), data, false, &rows);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "record 2: ")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "expected 3 fields, found 2")) << s.message();
  EXPECT_EQ(parser->failed_record(), 2u);
  EXPECT_EQ(rows.size(), 2u);

  // Too many fields as well, through the reader.
  std::string path = WriteTemp("a.csv", "a,b\n1,2\n3,4,5\n");
  auto r = ReadTable(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(r.status().message(), "record 1: expected 2 fields, found 3"))
      << r.status().message();
}

TEST(TableReaderErrorTest, RecordIndexCountsQuotedNewlinesAsOneRecord) {
  std::string data = "\"x\ny\",1\n\"p\nq\nr\",2\nbad\n";
  auto parser = RecordParser::Create(CsvInfo({"a", "b"}));
  Status s = parser->Parse(data, false, [](uint64_t, const std::vector<std::string_view>&) {});
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "record 2: expected 2 fields, found 1")) << s.message();
  EXPECT_EQ(parser->failed_record(), 2u);
}

TEST(TableReaderErrorTest, LenientCountsSkippedRecords) {
  std::string data = "1,2,3\n4,5\n6,7,8\n9\n10,11,12,13\n14,15,16\n";
  auto parser = RecordParser::Create(CsvInfo({"a", "b", "c"}));
  Rows rows;
  std::vector<uint64_t> indexes;
  Status s = parser->Parse(data, true, [&](uint64_t i, const std::vector<std::string_view>& c) {
    indexes.push_back(i);
    rows.emplace_back(c.begin(), c.end());
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(parser->records(), 6u);
  EXPECT_EQ(parser->skipped(), 3u);
  EXPECT_EQ(rows, (Rows{{"1", "2", "3"}, {"6", "7", "8"}, {"14", "15", "16"}}));
  EXPECT_EQ(indexes, (std::vector<uint64_t>{0, 2, 5}));

  // Counters restart with each Parse call.
  ASSERT_TRUE(parser->Parse("1,2,3\n", true, [](uint64_t, const auto&) {}).ok());
  EXPECT_EQ(parser->records(), 1u);
  EXPECT_EQ(parser->skipped(), 0u);
}

TEST(TableReaderErrorTest, LenientSkipsEveryInvalidUtf8Record) {
  // BUG: CsvRecordParser only locates the first invalid UTF-8 byte of the chunk, so in lenient
  // mode the second record with invalid UTF-8 is handed to the callback instead of being skipped.
  std::string data = "1,ok\n2,bad\xFF\n3,ok\n4,bad\xFE\n5,ok\n";
  auto parser = RecordParser::Create(CsvInfo({"a", "b"}));
  Rows rows;
  ASSERT_TRUE(ParseInto(parser.get(), data, true, &rows).ok());
  EXPECT_EQ(parser->records(), 5u);
  if (parser->skipped() == 1u) {
    ADD_FAILURE()
        << "regression of a fixed bug: only the first invalid UTF-8 record is skipped; record 3 ("
        << rows[2][1].size() << " bytes, invalid UTF-8) reached the callback";
  }
  EXPECT_EQ(parser->skipped(), 2u);
  EXPECT_EQ(rows, (Rows{{"1", "ok"}, {"3", "ok"}, {"5", "ok"}}));
}

TEST(TableReaderErrorTest, UnbalancedQuoteAtEofFromNext) {
  std::string path = WriteTemp("a.csv", "a,b\n1,2\n3,\"never closed\n4,5\n");
  auto reader = MustOpen(path);
  ASSERT_NE(reader, nullptr);
  Chunk c;
  Result<bool> r = reader->Next(&c);
  // The complete records before the open quote may come first.
  while (r.ok() && r.value()) r = reader->Next(&c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(r.status().message(), "unbalanced quote")) << r.status().message();
}

TEST(TableReaderErrorTest, UnbalancedQuoteInParser) {
  auto parser = RecordParser::Create(CsvInfo({"a", "b"}));
  Status s = parser->Parse("1,2\n3,\"open\n", false, [](uint64_t, const auto&) {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(s.message(), "record 1: unbalanced quote")) << s.message();
  EXPECT_EQ(parser->failed_record(), 1u);
}

TEST(TableReaderErrorTest, OverlongRecordIsResourceExhaustedWithSmallChunks) {
  std::string content = "id,text\n1,short\n2," + std::string(3 << 20, 'x') + "\n3,short\n";
  ReadOptions opts;
  opts.max_record_bytes = 1 << 20;
  opts.chunk_bytes = 64 * 1024;
  auto r = ReadTable(WriteTemp("long.csv", content), opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(r.status().message(), "1 MiB")) << r.status().message();
}

TEST(TableReaderErrorTest, OverlongRecordIsResourceExhaustedWithDefaultChunks) {
  // BUG: max_record_bytes is only checked while no record end has been read yet, in steps of
  // max(chunk_bytes, 64 KiB). With the default 4 MiB chunks a 3 MiB row is read whole and emitted
  // despite a 1 MiB limit.
  std::string content = "id,text\n1,short\n2," + std::string(3 << 20, 'x') + "\n3,short\n";
  ReadOptions opts;
  opts.max_record_bytes = 1 << 20;
  auto r = ReadTable(WriteTemp("long.csv", content), opts);
  if (r.ok()) {
    ADD_FAILURE()
        << "regression of a fixed bug: a 3 MiB row passed a 1 MiB max_record_bytes with default "
           "chunk_bytes ("
        << r->rows.size() << " rows read)";
  }
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

TEST(TableReaderErrorTest, OverlongLastRecordWithoutNewlineIsResourceExhausted) {
  // The last record has no trailing newline.
  std::string content = "id,text\n1,short\n2," + std::string(3 << 20, 'x');
  ReadOptions opts;
  opts.max_record_bytes = 1 << 20;
  opts.chunk_bytes = 64 * 1024;
  auto r = ReadTable(WriteTemp("long.csv", content), opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

TEST(TableReaderErrorTest, InvalidUtf8InLaterRowNamesRecord) {
  // The 64 KiB sniffed prefix is ASCII, so the file is UTF-8; a bad byte far later is found by the
  // parser, which names the record.
  std::string content = "id,name\n";
  for (int i = 0; i < 5000; ++i)
    content += std::to_string(i) + ",name number " + std::to_string(i) + "\n";
  ASSERT_GT(content.size(), 64u * 1024);
  content += "5000,bad\xC3\x28name\n5001,ok\n";
  auto reader = MustOpen(WriteTemp("a.csv", content));
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->info().encoding, Encoding::kUtf8);
  auto chunks = ReadChunks(reader.get());
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  auto parser = RecordParser::Create(reader->info());
  uint64_t before = 0;
  Status s;
  for (const Chunk& c : *chunks) {
    s = parser->Parse(c.data, false, [](uint64_t, const auto&) {});
    if (!s.ok()) break;
    before += parser->records();
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(before + parser->failed_record(), 5000u);
  EXPECT_TRUE(Contains(s.message(), "record " + std::to_string(parser->failed_record()) + ": "))
      << s.message();
  EXPECT_TRUE(Contains(s.message(), "invalid UTF-8 at byte 8 of the row")) << s.message();
}

TEST(TableReaderErrorTest, UndecodableFileIsDataError) {
  std::string path = WriteTemp("a.csv", "a,b\n1,\x80\xFF\n");
  auto r = TableReader::Open(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(r.status().message(), path + ":2:")) << r.status().message();
}

TEST(TableReaderErrorTest, Gb18030SingleRowWithoutNewline) {
  // BUG: Sniff compares the decoded UTF-8 length with the raw file size to decide whether the
  // first row was cut off at 64 KiB. GB18030 four-byte characters such as ö and ß decode to two
  // UTF-8 bytes, so a short one-row file reads as "first row is longer than 64 KiB".
  std::string gb = ToGb18030("Größe,Maß,Öl,Straße,Füße,Äöüß");
  std::string path = WriteTemp("gb.csv", gb);
  ReadOptions opts;
  opts.header = true;
  auto r = TableReader::Open(path, opts);
  if (!r.ok() && r.status().code() == StatusCode::kResourceExhausted) {
    ADD_FAILURE() << "regression of a fixed bug: " << r.status().ToString();
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()->info().encoding, Encoding::kGb18030);
  EXPECT_EQ(r.value()->info().columns,
            (std::vector<std::string>{"Größe", "Maß", "Öl", "Straße", "Füße", "Äöüß"}));
}

// --- ReadAt ---

TEST(TableReaderReadAtTest, ReadsWholeRecordsFromAnOffset) {
  std::string content = "id,name\n";
  for (int i = 0; i < 100; ++i)
    content += std::to_string(1000 + i) + ",n" + std::to_string(i) + "\n";
  auto reader = MustOpen(WriteTemp("a.csv", content));
  ASSERT_NE(reader, nullptr);
  Chunk c;
  auto r = reader->ReadAt(0, 1 << 20, &c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r.value());
  EXPECT_EQ(c.file_offset, reader->info().data_offset);
  EXPECT_EQ(c.data, content.substr(8));

  // From the middle of a record: starts at the next line.
  r = reader->ReadAt(100, 20, &c);
  ASSERT_TRUE(r.ok() && r.value());
  size_t next = content.find('\n', 100) + 1;
  EXPECT_EQ(c.file_offset, next);
  EXPECT_EQ(c.data.substr(0, 10), content.substr(next, 10));
  EXPECT_EQ(c.data.back(), '\n');

  r = reader->ReadAt(content.size(), 10, &c);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
}

}  // namespace
}  // namespace kexin::table
