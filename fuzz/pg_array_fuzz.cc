// common/pg.h PgArrayLiteral: the array literal a batch's column travels in, as one text
// parameter, to unnest() on the server. The literal is read back here with PostgreSQL's own
// grammar for a one-dimensional array (src/backend/utils/adt/arrayfuncs.c, ReadArrayStr: quoted
// elements with backslash escapes, unquoted elements trimmed, NULL, commas between) and must
// give exactly the elements added, in order. A text parameter ends at its first NUL byte (libpq
// sends text parameters as C strings), so a value holding one must make the literal malformed
// for PostgreSQL, never a shorter well-formed array.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/pg.h"
#include "fuzz/fuzz_check.h"

namespace {

struct Element {
  bool quoted = false;
  bool null = false;
  std::string value;
};

bool IsArraySpace(char c) {  // array_isspace(): the scanner's whitespace
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// PostgreSQL's reading of a one-dimensional array literal, or nullopt when it would refuse it.
std::optional<std::vector<Element>> ReadArray(const std::string& text) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && IsArraySpace(text[i])) ++i;
  };
  skip_space();
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  ++i;
  std::vector<Element> elements;
  skip_space();
  if (i < text.size() && text[i] == '}') {
    ++i;
    skip_space();
    if (i != text.size()) return std::nullopt;
    return elements;
  }
  while (true) {
    skip_space();
    Element e;
    bool any = false;
    std::string trailing_space;  // unquoted: spaces count only when something follows them
    while (true) {
      if (i >= text.size()) return std::nullopt;
      const char c = text[i];
      if (c == '\0') return std::nullopt;
      if (c == '"') {
        if (any && !e.quoted) return std::nullopt;  // `a"b"`: PostgreSQL refuses
        if (e.quoted) return std::nullopt;          // a second quoted part
        e.quoted = true;
        any = true;
        ++i;
        while (true) {
          if (i >= text.size() || text[i] == '\0') return std::nullopt;
          if (text[i] == '\\') {
            ++i;
            if (i >= text.size() || text[i] == '\0') return std::nullopt;
            e.value.push_back(text[i++]);
          } else if (text[i] == '"') {
            ++i;
            break;
          } else {
            e.value.push_back(text[i++]);
          }
        }
        continue;
      }
      if (c == ',' || c == '}') break;
      if (c == '{') return std::nullopt;  // a nested array: not one dimension
      if (e.quoted) {
        if (!IsArraySpace(c)) return std::nullopt;  // `"a"b`
        ++i;
        continue;
      }
      if (IsArraySpace(c)) {
        trailing_space.push_back(c);
        ++i;
        continue;
      }
      if (c == '\\') {
        ++i;
        if (i >= text.size() || text[i] == '\0') return std::nullopt;
      }
      e.value += trailing_space;
      trailing_space.clear();
      e.value.push_back(text[i++]);
      any = true;
    }
    if (!any) return std::nullopt;  // an empty element: `{a,}` or `{,}`
    if (!e.quoted && e.value.size() == 4 && absl::AsciiStrToUpper(e.value) == "NULL") {
      e.null = true;
    }
    elements.push_back(std::move(e));
    if (text[i++] == '}') break;
  }
  skip_space();
  if (i != text.size()) return std::nullopt;
  return elements;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  qcash::PgArrayLiteral literal;
  std::vector<Element> expected;
  bool has_nul = false;
  while (input.remaining_bytes() > 0 && expected.size() < 64) {
    Element e;
    switch (input.ConsumeIntegralInRange<int>(0, 2)) {
      case 0: {
        e.quoted = true;
        e.value = input.ConsumeRandomLengthString(64);
        has_nul = has_nul || e.value.find('\0') != std::string::npos;
        literal.AddText(e.value);
        break;
      }
      case 1: {
        const int64_t v = input.ConsumeIntegral<int64_t>();
        e.value = absl::StrCat(v);
        literal.AddInt(v);
        break;
      }
      default: {
        const bool v = input.ConsumeBool();
        e.value = v ? "t" : "f";
        literal.AddBool(v);
        break;
      }
    }
    expected.push_back(std::move(e));
  }
  const std::string text = literal.Finish();
  if (has_nul) {
    // What the server receives: the parameter up to its first NUL.
    const std::string sent = text.substr(0, text.find('\0'));
    FUZZ_CHECK(!ReadArray(sent).has_value());
    return 0;
  }
  const std::optional<std::vector<Element>> read = ReadArray(text);
  FUZZ_CHECK(read.has_value());
  FUZZ_CHECK(read->size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    FUZZ_CHECK((*read)[i].value == expected[i].value);
    FUZZ_CHECK(!(*read)[i].null);
    FUZZ_CHECK((*read)[i].quoted == expected[i].quoted);
  }
  return 0;
}
