// libFuzzer target for the table module: the CSV RecordParser and the sniffing and encoding
// helpers.
//
// Input layout: byte 0 is the CSV delimiter, the rest is the chunk text. The expected field count
// comes from the first record, as TableReader does with a header. Besides memory safety the target
// checks invariants that must hold for every input (each delivered record has exactly the expected
// field count, split decoding equals whole decoding, the two UTF-8 validators agree, ...) and traps
// when one fails. Set KEXIN_FUZZ_JSONL=1 to also run the JSONL RecordParser on the text.
//
// Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "table/encoding.h"
#include "table/table_reader.h"

namespace {

using kexin::Status;
using kexin::table::Encoding;
using kexin::table::Format;
using kexin::table::Gb18030Decoder;
using kexin::table::RecordParser;
using kexin::table::TableInfo;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void FuzzCsvParser(char delimiter, std::string_view text) {
  // Expected fields from the first record (quote-aware, like TableReader's sniffing).
  size_t end = 0;
  bool quoted = false;
  while (end < text.size() && (quoted || text[end] != '\n')) {
    if (text[end] == '"') quoted = !quoted;
    ++end;
  }
  std::vector<std::string> first = kexin::table::SplitCsvLine(text.substr(0, end), delimiter);
  TableInfo info;
  info.format = Format::kCsv;
  info.delimiter = delimiter;
  for (size_t i = 0; i < first.size(); ++i) info.columns.push_back("col_" + std::to_string(i + 1));
  const size_t want = info.columns.size();
  // Cells of valid UTF-8 text are valid UTF-8 when the delimiter is ASCII (a byte >= 0x80 can
  // split a multi-byte sequence; SniffDelimiter only picks ASCII).
  const bool valid_utf8 =
      static_cast<unsigned char>(delimiter) < 0x80 && kexin::table::IsValidUtf8(text);

  auto parser = RecordParser::Create(info);
  for (bool lenient : {false, true}) {
    uint64_t delivered = 0;
    uint64_t last_index = 0;
    Status s = parser->Parse(text, lenient,
                             [&](uint64_t index, const std::vector<std::string_view>& cells) {
                               Check(cells.size() == want);
                               Check(delivered == 0 || index > last_index);
                               last_index = index;
                               ++delivered;
                               size_t bytes = 0;
                               for (std::string_view c : cells) {
                                 bytes += c.size();
                                 if (valid_utf8) Check(kexin::table::IsValidUtf8(c));
                               }
                               Check(bytes <= text.size());
                             });
    Check(parser->skipped() <= parser->records());
    Check(parser->records() <= text.size() + 1);
    if (s.ok()) {
      Check(delivered + parser->skipped() + parser->blank() == parser->records());
      if (!lenient) Check(parser->skipped() == 0);
    } else {
      Check(s.code() == kexin::StatusCode::kDataError ||
            s.code() == kexin::StatusCode::kResourceExhausted);
      Check(parser->failed_record() < parser->records());
      Check(s.message().rfind("record " + std::to_string(parser->failed_record()) + ": ", 0) == 0);
    }
  }
}

void FuzzJsonlParser(std::string_view text) {
  TableInfo info;
  info.format = Format::kJsonl;
  auto parser = RecordParser::Create(info);
  for (bool lenient : {false, true}) {
    std::string sink;
    Status s =
        parser->Parse(text, lenient, [&](uint64_t, const std::vector<std::string_view>& cells) {
          Check(cells.size() <= parser->columns().size());
          for (std::string_view c : cells) sink.append(c);  // touch every byte of every cell
        });
    Check(parser->skipped() <= parser->records());
    if (!s.ok()) Check(parser->failed_record() < parser->records());
  }
}

void FuzzEncoding(std::string_view text, size_t split) {
  // The simdjson validator and the scalar one must agree.
  const bool valid = kexin::table::IsValidUtf8(text);
  const size_t bad = kexin::table::FirstInvalidUtf8(text);
  Check(valid == (bad == text.size()));
  if (valid) Check(kexin::table::IsValidUtf8(text, /*allow_truncated_tail=*/true));
  if (!valid) Check(bad < text.size());

  const bool gb = kexin::table::IsValidGb18030(text, false);
  if (gb) Check(kexin::table::IsValidGb18030(text, true));

  auto enc = kexin::table::DetectEncoding(text, "fuzz.csv");
  if (enc.ok()) {
    if (enc.value() == Encoding::kUtf8) Check(kexin::table::IsValidUtf8(text, true));
    if (enc.value() == Encoding::kGb18030) Check(kexin::table::IsValidGb18030(text, true));
  } else {
    Check(enc.status().code() == kexin::StatusCode::kDataError);
    Check(enc.status().message().rfind("fuzz.csv", 0) == 0);
  }

  // Whole-buffer decoding versus decoding in two pieces split at `split`.
  Gb18030Decoder whole;
  std::string out_whole;
  Status sw = whole.Decode(text, true, 0, &out_whole);
  if (sw.ok()) Check(kexin::table::IsValidUtf8(out_whole));
  Gb18030Decoder parts;
  std::string out_parts;
  split = text.empty() ? 0 : split % (text.size() + 1);
  Status s1 = parts.Decode(text.substr(0, split), false, 0, &out_parts);
  Status s2 = s1.ok() ? parts.Decode(text.substr(split), true, split, &out_parts) : s1;
  if (sw.ok()) {
    Check(s2.ok());
    Check(out_parts == out_whole);
  } else {
    Check(!s2.ok());
    Check(sw.code() == kexin::StatusCode::kDataError);
  }
  // The decoder is reusable after Reset.
  whole.Reset();
  std::string again;
  Status sa = whole.Decode(text, true, 0, &again);
  Check(sa.ok() == sw.ok());
  if (sa.ok()) Check(again == out_whole);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const bool kJsonl = std::getenv("KEXIN_FUZZ_JSONL") != nullptr;
  const char delimiter = static_cast<char>(data[0]);
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  FuzzCsvParser(delimiter, text);
  if (kJsonl) FuzzJsonlParser(text);

  std::vector<std::string> cells = kexin::table::SplitCsvLine(text, delimiter);
  Check(!cells.empty());
  kexin::table::LooksLikeHeader(cells);
  char sniffed = kexin::table::SniffDelimiter(text);
  Check(sniffed == ',' || sniffed == ';' || sniffed == '\t' || sniffed == '|');

  FuzzEncoding(text, static_cast<unsigned char>(data[0]) * 7u);
  return 0;
}
