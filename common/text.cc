#include "common/text.h"

#include <algorithm>
#include <cstdint>

#include "common/status.h"

namespace qcash {

bool IsValidSellerId(absl::string_view seller_id) {
  if (seller_id.empty() || seller_id.size() > kSellerIdLengthMax) return false;
  return std::all_of(seller_id.begin(), seller_id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

absl::Status CheckSellerId(absl::string_view seller_id) {
  if (!IsValidSellerId(seller_id)) {
    return InvalidArgument(common::v1::INVALID_SELLER_ID,
                           "seller_id must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
  }
  return absl::OkStatus();
}

absl::Status CheckIdempotencyKey(absl::string_view key) {
  if (key.empty() || key.size() > kIdempotencyKeyLengthMax || !IsPrintableAscii(key)) {
    return InvalidArgument(common::v1::INVALID_IDEMPOTENCY_KEY,
                           "idempotency_key must be 1 to 128 printable ASCII characters");
  }
  return absl::OkStatus();
}

bool IsPrintableAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

namespace {

// The code point of the well-formed sequence at `text[*at]`, advancing `*at` past it; -1 when the
// bytes there are not one (table 3-7: the second byte's range depends on the first).
int32_t NextCodePoint(absl::string_view text, size_t* at) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(*at);
  if (b0 < 0x80) {
    *at += 1;
    return b0;
  }
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return -1;  // a continuation byte, C0/C1 (overlong) or F5..FF
  }
  if (*at + n > text.size() || byte(*at + 1) < lo || byte(*at + 1) > hi) return -1;
  int32_t cp = b0 & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(*at + k) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (byte(*at + k) & 0x3F);
  }
  *at += n;
  return cp;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  for (size_t at = 0; at < text.size();) {
    if (NextCodePoint(text, &at) < 0) return false;
  }
  return true;
}

bool IsCleanText(absl::string_view text) {
  for (size_t at = 0; at < text.size();) {
    const int32_t cp = NextCodePoint(text, &at);
    // Control characters are Unicode's category Cc: C0, DEL and C1 (U+0080..U+009F).
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
  }
  return true;
}

}  // namespace qcash
