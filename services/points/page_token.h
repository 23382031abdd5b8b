// The page token of ListProductPoints and ListPastServicePoints: an opaque cursor (the product
// number the next page starts after) that the points service issues and takes back. Kept apart
// so that the fuzz target (fuzz/page_token_fuzz.cc) and tests reach it without a database.
#ifndef QCASH_SERVICES_POINTS_PAGE_TOKEN_H_
#define QCASH_SERVICES_POINTS_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qcash::points {

// REQUIRES: `product_no` is 1..kProductNoLengthMax printable ASCII characters (rules.h).
std::string EncodeProductPageToken(absl::string_view product_no);

// "" for the empty token (the first page), else the product number of a token
// EncodeProductPageToken issued. Errors: INVALID_ARGUMENT (INVALID_PAGE_TOKEN).
absl::StatusOr<std::string> DecodeProductPageToken(absl::string_view token);

// The page token of ListConversions: the points month (MonthNumber, 202401) the next page starts
// before, bound to the request's month range (`from_month`, `to_month`: MonthNumber or 0), so a
// token used with another range is refused. REQUIRES: before_month > 0.
std::string EncodeConversionPageToken(int64_t before_month, int64_t from_month, int64_t to_month);
// 0 for the empty token. Errors: INVALID_ARGUMENT (INVALID_PAGE_TOKEN: also a token of another
// range or of another kind).
absl::StatusOr<int64_t> DecodeConversionPageToken(absl::string_view token, int64_t from_month,
                                                  int64_t to_month);

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_PAGE_TOKEN_H_
