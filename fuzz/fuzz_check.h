// What every fuzz target shares: a check that aborts with a message (libFuzzer then saves the
// input as a crash reproducer), and a strict UTF-8 reference written apart from the code under
// test, straight from the Unicode standard's table of well-formed byte sequences (Unicode 15,
// table 3-7), so that a target compares two independent readings of the rule.
#ifndef QCASH_FUZZ_FUZZ_CHECK_H_
#define QCASH_FUZZ_FUZZ_CHECK_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

// Aborts when `condition` is false, naming it: a property of the target is broken.
#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace qcash::fuzz {

// The code points of `text` when it is well-formed UTF-8 (Unicode table 3-7), else false.
inline bool DecodeUtf8Strict(absl::string_view text, std::vector<uint32_t>* code_points) {
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  auto in = [](uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; };
  while (i < text.size()) {
    const uint8_t b0 = byte(i);
    if (b0 <= 0x7F) {
      code_points->push_back(b0);
      i += 1;
      continue;
    }
    // The allowed range of the second byte depends on the first (table 3-7).
    size_t n = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (in(b0, 0xC2, 0xDF)) {
      n = 2;
    } else if (b0 == 0xE0) {
      n = 3, lo = 0xA0;
    } else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) {
      n = 3;
    } else if (b0 == 0xED) {
      n = 3, hi = 0x9F;
    } else if (b0 == 0xF0) {
      n = 4, lo = 0x90;
    } else if (in(b0, 0xF1, 0xF3)) {
      n = 4;
    } else if (b0 == 0xF4) {
      n = 4, hi = 0x8F;
    } else {
      return false;
    }
    if (i + n > text.size() || !in(byte(i + 1), lo, hi)) return false;
    uint32_t cp = b0 & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
      if (!in(byte(i + k), 0x80, 0xBF)) return false;
      cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    code_points->push_back(cp);
    i += n;
  }
  return true;
}

inline bool IsUtf8Strict(absl::string_view text) {
  std::vector<uint32_t> ignored;
  return DecodeUtf8Strict(text, &ignored);
}

// Splits `data` at every occurrence of `separator` (a seed corpus stays readable text).
inline std::vector<std::string> SplitFields(absl::string_view data, absl::string_view separator,
                                            size_t fields_max) {
  std::vector<std::string> fields;
  while (fields.size() + 1 < fields_max) {
    const size_t at = data.find(separator);
    if (at == absl::string_view::npos) break;
    fields.emplace_back(data.substr(0, at));
    data.remove_prefix(at + separator.size());
  }
  fields.emplace_back(data);
  return fields;
}

}  // namespace qcash::fuzz

#endif  // QCASH_FUZZ_FUZZ_CHECK_H_
