#include "services/wallet/page_token.h"

#include "common/page_token.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {
namespace {

constexpr absl::string_view kKind = "seq";
constexpr absl::string_view kLotsKind = "lot";
constexpr absl::string_view kStatementKind = "stm";
constexpr absl::string_view kHoldsKind = "hld";

absl::Status NotIssued() {
  return InvalidArgument(wallet::v1::INVALID_PAGE_TOKEN,
                         "page_token is not one this service issued");
}

absl::StatusOr<int64_t> DecodeCursor(absl::string_view kind, absl::string_view token) {
  if (token.empty()) return 0;
  std::optional<PageTokenReader> reader = PageTokenReader::Open(kind, token, 1);
  int64_t cursor = 0;
  if (!reader || !reader->NextInt(&cursor) || cursor <= 0) return NotIssued();
  return cursor;
}

}  // namespace

std::string EncodeHistoryPageToken(int64_t before_seq) {
  return PageTokenWriter(kKind).AddInt(before_seq).Finish();
}

absl::StatusOr<int64_t> DecodeHistoryPageToken(absl::string_view token) {
  return DecodeCursor(kKind, token);
}

std::string EncodeLotsPageToken(int64_t before_lot_id) {
  return PageTokenWriter(kLotsKind).AddInt(before_lot_id).Finish();
}

absl::StatusOr<int64_t> DecodeLotsPageToken(absl::string_view token) {
  return DecodeCursor(kLotsKind, token);
}

std::string EncodeHoldsPageToken(int64_t before_hold_id, absl::string_view filters) {
  return PageTokenWriter(kHoldsKind).AddInt(before_hold_id).AddText(filters).Finish();
}

absl::StatusOr<int64_t> DecodeHoldsPageToken(absl::string_view token, absl::string_view filters) {
  if (token.empty()) return 0;
  std::optional<PageTokenReader> reader = PageTokenReader::Open(kHoldsKind, token, 2);
  int64_t before_hold_id = 0;
  std::string token_filters;
  if (!reader || !reader->NextInt(&before_hold_id) || before_hold_id <= 0 ||
      !reader->NextText(&token_filters) || token_filters != filters) {
    return NotIssued();
  }
  return before_hold_id;
}

std::string EncodeStatementPageToken(absl::string_view month, int64_t after_seq) {
  return PageTokenWriter(kStatementKind).AddInt(after_seq).AddText(month).Finish();
}

absl::StatusOr<int64_t> DecodeStatementPageToken(absl::string_view token, absl::string_view month) {
  if (token.empty()) return 0;
  std::optional<PageTokenReader> reader = PageTokenReader::Open(kStatementKind, token, 2);
  int64_t after_seq = 0;
  std::string token_month;
  // A token of another month would page that month's seqs through this one: refused.
  if (!reader || !reader->NextInt(&after_seq) || after_seq <= 0 ||
      !reader->NextText(&token_month) || token_month != month) {
    return NotIssued();
  }
  return after_seq;
}

}  // namespace qcash::wallet
