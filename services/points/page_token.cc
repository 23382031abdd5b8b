#include "services/points/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "services/points/rules.h"

namespace qcash::points {
namespace {

constexpr absl::string_view kPrefix = "after:";

}  // namespace

std::string EncodeProductPageToken(absl::string_view product_no) {
  return absl::WebSafeBase64Escape(absl::StrCat(kPrefix, product_no));
}

absl::StatusOr<std::string> DecodeProductPageToken(absl::string_view token) {
  if (token.empty()) return std::string();
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text) || !absl::StartsWith(text, kPrefix) ||
      !IsPrintableAscii(text.substr(kPrefix.size()), kProductNoLengthMax) ||
      // Only the exact text issued: the decoder skips whitespace inside the token
      // (fuzz/page_token_fuzz.cc found such tokens accepted).
      EncodeProductPageToken(text.substr(kPrefix.size())) != token) {
    return InvalidArgument(points::v1::INVALID_PAGE_TOKEN,
                           "page_token is not one this service issued");
  }
  return text.substr(kPrefix.size());
}

}  // namespace qcash::points
