// The page token of ListProductPoints and ListPastServicePoints: an opaque cursor (the product
// number the next page starts after) that the points service issues and takes back. Kept apart
// so that the fuzz target (fuzz/page_token_fuzz.cc) and tests reach it without a database.
#ifndef QCASH_SERVICES_POINTS_PAGE_TOKEN_H_
#define QCASH_SERVICES_POINTS_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qcash::points {

// REQUIRES: `product_no` is 1..kProductNoLengthMax printable ASCII characters (rules.h).
std::string EncodeProductPageToken(absl::string_view product_no);

// "" for the empty token (the first page), else the product number of a token
// EncodeProductPageToken issued. Errors: INVALID_ARGUMENT (INVALID_PAGE_TOKEN).
absl::StatusOr<std::string> DecodeProductPageToken(absl::string_view token);

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_PAGE_TOKEN_H_
