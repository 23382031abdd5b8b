// common/text.h: the seller id, idempotency key, printable-ASCII and clean-text checks that
// every service applies to what crosses its API. Each is compared with a reference written
// here from the rule the header states; a check that accepts text its rule forbids (or refuses
// text it allows) breaks the target.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "common/text.h"
#include "fuzz/fuzz_check.h"

namespace {

bool InSellerIdAlphabet(char c) {
  return absl::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
             .find(c) != absl::string_view::npos;
}

bool ReferencePrintable(absl::string_view text) {
  for (char c : text) {
    const auto b = static_cast<uint8_t>(c);
    if (b < 0x20 || b > 0x7E) return false;
  }
  return true;
}

// Unicode general category Cc: U+0000..U+001F, U+007F..U+009F.
bool IsControl(uint32_t cp) { return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);

  const bool seller_id = !text.empty() && text.size() <= qcash::kSellerIdLengthMax &&
                         std::all_of(text.begin(), text.end(), InSellerIdAlphabet);
  FUZZ_CHECK(qcash::IsValidSellerId(text) == seller_id);
  const absl::Status seller_status = qcash::CheckSellerId(text);
  FUZZ_CHECK(seller_status.ok() == seller_id);
  if (!seller_status.ok()) {
    FUZZ_CHECK(seller_status.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(qcash::ReasonOf(seller_status) == "INVALID_SELLER_ID");
  }

  const bool printable = ReferencePrintable(text);
  FUZZ_CHECK(qcash::IsPrintableAscii(text) == printable);

  const bool key = !text.empty() && text.size() <= qcash::kIdempotencyKeyLengthMax && printable;
  const absl::Status key_status = qcash::CheckIdempotencyKey(text);
  FUZZ_CHECK(key_status.ok() == key);
  if (!key_status.ok()) {
    FUZZ_CHECK(key_status.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(qcash::ReasonOf(key_status) == "INVALID_IDEMPOTENCY_KEY");
  }

  // "Valid UTF-8 without control characters": what PostgreSQL (UTF8) and proto3 strings take.
  std::vector<uint32_t> code_points;
  const bool utf8 = qcash::fuzz::DecodeUtf8Strict(text, &code_points);
  const bool clean = utf8 && std::none_of(code_points.begin(), code_points.end(), IsControl);
  FUZZ_CHECK(qcash::IsValidUtf8(text) == utf8);
  FUZZ_CHECK(qcash::IsCleanText(text) == clean);
  return 0;
}
