#include "services/wallet/client/refusal.h"

#include "common/status.h"
#include "gtest/gtest.h"
#include "qcash/common/v1/error_reason.pb.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {
namespace {

TEST(RefusalTest, AnAnswerOfTheWalletIsDefinite) {
  EXPECT_TRUE(IsDefiniteRefusal(FailedPrecondition(v1::WALLET_CLOSED, "")));
  EXPECT_TRUE(IsDefiniteRefusal(FailedPrecondition(v1::INSUFFICIENT_FUNDS, "")));
  EXPECT_TRUE(IsDefiniteRefusal(NotFound(v1::WALLET_NOT_FOUND, "")));
  EXPECT_TRUE(IsDefiniteRefusal(InvalidArgument(v1::IDEMPOTENCY_KEY_REUSED, "")));
  EXPECT_TRUE(IsDefiniteRefusal(PermissionDenied(common::v1::CALLER_NOT_ALLOWED, "")));
  EXPECT_TRUE(IsDefiniteRefusal(absl::UnauthenticatedError("")));
  EXPECT_TRUE(IsDefiniteRefusal(absl::OutOfRangeError("")));
  EXPECT_TRUE(IsDefiniteRefusal(absl::AlreadyExistsError("")));
}

TEST(RefusalTest, AnOpenOutcomeIsNot) {
  EXPECT_FALSE(IsDefiniteRefusal(absl::OkStatus()));
  EXPECT_FALSE(IsDefiniteRefusal(Unavailable(common::v1::DATABASE_UNAVAILABLE, "")));
  EXPECT_FALSE(IsDefiniteRefusal(absl::DeadlineExceededError("")));
  EXPECT_FALSE(IsDefiniteRefusal(Aborted(v1::IDEMPOTENCY_KEY_IN_FLIGHT, "")));
  EXPECT_FALSE(IsDefiniteRefusal(Internal(common::v1::DATABASE_ERROR, "")));
  EXPECT_FALSE(IsDefiniteRefusal(absl::UnknownError("")));
}

TEST(RefusalTest, ErrorKindNamesTheRule) {
  EXPECT_EQ(ErrorKindOf(absl::OkStatus()), WalletErrorKind::kNone);
  EXPECT_EQ(ErrorKindOf(FailedPrecondition(v1::INSUFFICIENT_FUNDS, "")),
            WalletErrorKind::kInsufficientFunds);
  EXPECT_EQ(ErrorKindOf(absl::DeadlineExceededError("")), WalletErrorKind::kUnavailable);
  EXPECT_EQ(ErrorKindOf(NotFound(v1::ENTRY_NOT_FOUND, "")), WalletErrorKind::kEntryNotFound);
  EXPECT_EQ(ErrorKindOf(InvalidArgument(v1::INVALID_ENTRY_SEQ, "")),
            WalletErrorKind::kInvalidRequest);
}

}  // namespace
}  // namespace qcash::wallet
