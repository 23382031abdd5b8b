#include "services/wallet/page_token.h"

#include "common/page_token.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {
namespace {

constexpr absl::string_view kKind = "seq";

}  // namespace

std::string EncodeHistoryPageToken(int64_t before_seq) {
  return PageTokenWriter(kKind).AddInt(before_seq).Finish();
}

absl::StatusOr<int64_t> DecodeHistoryPageToken(absl::string_view token) {
  if (token.empty()) return 0;
  std::optional<PageTokenReader> reader = PageTokenReader::Open(kKind, token, 1);
  int64_t seq = 0;
  if (!reader || !reader->NextInt(&seq) || seq <= 0) {
    return InvalidArgument(wallet::v1::INVALID_PAGE_TOKEN,
                           "page_token is not one this service issued");
  }
  return seq;
}

}  // namespace qcash::wallet
