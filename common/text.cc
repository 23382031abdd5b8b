#include "common/text.h"

#include <algorithm>

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
    return InvalidArgument("INVALID_SELLER_ID",
                           "seller_id must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
  }
  return absl::OkStatus();
}

absl::Status CheckIdempotencyKey(absl::string_view key) {
  if (key.empty() || key.size() > kIdempotencyKeyLengthMax || !IsPrintableAscii(key)) {
    return InvalidArgument("INVALID_IDEMPOTENCY_KEY",
                           "idempotency_key must be 1 to 128 printable ASCII characters");
  }
  return absl::OkStatus();
}

bool IsPrintableAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool IsCleanText(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return false;
    const size_t n = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xE  ? 3
                     : (c >> 3) == 0x1E ? 4
                                        : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace qcash
