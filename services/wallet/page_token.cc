#include "services/wallet/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {

std::string EncodeHistoryPageToken(int64_t before_seq) {
  return absl::WebSafeBase64Escape(absl::StrCat("seq:", before_seq));
}

absl::StatusOr<int64_t> DecodeHistoryPageToken(absl::string_view token) {
  if (token.empty()) return 0;
  std::string text;
  int64_t seq = 0;
  if (!absl::WebSafeBase64Unescape(token, &text) || text.rfind("seq:", 0) != 0 ||
      !absl::SimpleAtoi(text.substr(4), &seq) || seq <= 0 ||
      // Only the exact text issued: the decoder skips whitespace and SimpleAtoi takes "+7" and
      // "007" (fuzz/page_token_fuzz.cc found such tokens accepted).
      EncodeHistoryPageToken(seq) != token) {
    return InvalidArgument(wallet::v1::INVALID_PAGE_TOKEN,
                           "page_token is not one this service issued");
  }
  return seq;
}

}  // namespace qcash::wallet
