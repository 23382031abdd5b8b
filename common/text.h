// The checks every service applies alike to the identifiers and text that cross its API, so
// that the wallet, payment and points services agree on what a seller id or a key is.
#ifndef QCASH_COMMON_TEXT_H_
#define QCASH_COMMON_TEXT_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qcash {

inline constexpr size_t kSellerIdLengthMax = 64;
inline constexpr size_t kIdempotencyKeyLengthMax = 128;

// Seller ids: 1..64 of [A-Za-z0-9_.-]. No braces, so they are safe inside Redis hash tags.
bool IsValidSellerId(absl::string_view seller_id);

// Errors: INVALID_ARGUMENT (INVALID_SELLER_ID).
absl::Status CheckSellerId(absl::string_view seller_id);

// Idempotency keys: 1..128 printable ASCII characters.
// Errors: INVALID_ARGUMENT (INVALID_IDEMPOTENCY_KEY).
absl::Status CheckIdempotencyKey(absl::string_view key);

// Only printable ASCII (0x20..0x7e); true for the empty text.
bool IsPrintableAscii(absl::string_view text);

// Well-formed UTF-8 as the Unicode standard defines it (table 3-7): no overlong form, no
// surrogate (U+D800..U+DFFF), nothing above U+10FFFF; what PostgreSQL (UTF8) and proto3 strings
// take. True for the empty text.
bool IsValidUtf8(absl::string_view text);

// Valid UTF-8 (IsValidUtf8) without control characters (category Cc: U+0000..U+001F and
// U+007F..U+009F); true for the empty text.
bool IsCleanText(absl::string_view text);

}  // namespace qcash

#endif  // QCASH_COMMON_TEXT_H_
