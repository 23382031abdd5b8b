#include "services/points/page_token.h"

#include "common/page_token.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "services/points/rules.h"

namespace qcash::points {
namespace {

constexpr absl::string_view kKind = "after";
constexpr absl::string_view kConversionKind = "conv";

}  // namespace

std::string EncodeProductPageToken(absl::string_view product_no) {
  return PageTokenWriter(kKind).AddText(product_no).Finish();
}

absl::StatusOr<std::string> DecodeProductPageToken(absl::string_view token) {
  if (token.empty()) return std::string();
  std::optional<PageTokenReader> reader = PageTokenReader::Open(kKind, token, 1);
  std::string product_no;
  if (!reader || !reader->NextText(&product_no) ||
      !IsPrintableAscii(product_no, kProductNoLengthMax)) {
    return InvalidArgument(points::v1::INVALID_PAGE_TOKEN,
                           "page_token is not one this service issued");
  }
  return product_no;
}

std::string EncodeConversionPageToken(int64_t before_month, int64_t from_month, int64_t to_month) {
  return PageTokenWriter(kConversionKind)
      .AddInt(before_month)
      .AddInt(from_month)
      .AddInt(to_month)
      .Finish();
}

absl::StatusOr<int64_t> DecodeConversionPageToken(absl::string_view token, int64_t from_month,
                                                  int64_t to_month) {
  if (token.empty()) return 0;
  std::optional<PageTokenReader> reader = PageTokenReader::Open(kConversionKind, token, 3);
  int64_t before_month = 0;
  int64_t token_from = 0;
  int64_t token_to = 0;
  if (!reader || !reader->NextInt(&before_month) || before_month <= 0 ||
      !reader->NextInt(&token_from) || token_from != from_month || !reader->NextInt(&token_to) ||
      token_to != to_month) {
    return InvalidArgument(points::v1::INVALID_PAGE_TOKEN,
                           "page_token is not one this service issued for this month range");
  }
  return before_month;
}

}  // namespace qcash::points
