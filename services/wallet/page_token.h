// The page tokens of ListHistory, ListLots, ListHolds and GetMonthlyStatement. ListHistory's: an
// opaque cursor (the sequence number the next page starts before) that the wallet issues and takes
// back. Kept apart from the gRPC layer so that the fuzz target (fuzz/page_token_fuzz.cc) and tests
// reach it without a server.
#ifndef QCASH_SERVICES_WALLET_PAGE_TOKEN_H_
#define QCASH_SERVICES_WALLET_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qcash::wallet {

// REQUIRES: before_seq > 0.
std::string EncodeHistoryPageToken(int64_t before_seq);

// 0 for the empty token (the first page), else the cursor of a token EncodeHistoryPageToken
// issued. Errors: INVALID_ARGUMENT (INVALID_PAGE_TOKEN).
absl::StatusOr<int64_t> DecodeHistoryPageToken(absl::string_view token);

// The page token of ListLots: the lot id the next page starts before; a token of another kind
// (a history token) is refused. REQUIRES: before_lot_id > 0.
std::string EncodeLotsPageToken(int64_t before_lot_id);
// 0 for the empty token. Errors: INVALID_ARGUMENT (INVALID_PAGE_TOKEN).
absl::StatusOr<int64_t> DecodeLotsPageToken(absl::string_view token);

// The page token of ListHolds: the hold id the next page starts before, bound to the request's
// filters (`filters`, any text that is equal exactly when the filters are): a token used with
// other filters would skip or repeat holds, so it is refused. REQUIRES: before_hold_id > 0.
std::string EncodeHoldsPageToken(int64_t before_hold_id, absl::string_view filters);
// 0 for the empty token. Errors: INVALID_ARGUMENT (INVALID_PAGE_TOKEN: also a token of other
// filters or of another kind).
absl::StatusOr<int64_t> DecodeHoldsPageToken(absl::string_view token, absl::string_view filters);

// The page token of GetMonthlyStatement: the month it belongs to ("YYYY-MM") and the journal
// seq the next page starts after. REQUIRES: after_seq > 0.
std::string EncodeStatementPageToken(absl::string_view month, int64_t after_seq);
// 0 for the empty token; a token of another month or kind is refused. Errors: INVALID_ARGUMENT
// (INVALID_PAGE_TOKEN).
absl::StatusOr<int64_t> DecodeStatementPageToken(absl::string_view token, absl::string_view month);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_PAGE_TOKEN_H_
