#include "services/points/page_token.h"

#include "common/page_token.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "services/points/rules.h"

namespace qcash::points {
namespace {

constexpr absl::string_view kKind = "after";

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

}  // namespace qcash::points
