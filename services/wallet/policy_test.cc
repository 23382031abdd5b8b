// DESIGN.md section 2: who may move money.
#include "services/wallet/policy.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace qcash::wallet {
namespace {

TEST(PolicyTest, OnlyPaymentCreditsCharges) {
  EXPECT_TRUE(Authorize("payment", Permission::kCreditCharge).ok());
  for (const char* caller : {"points", "adbooking", "gateway", "settlement", "ops", "nobody"}) {
    const absl::Status s = Authorize(caller, Permission::kCreditCharge);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << caller;
    EXPECT_EQ(ReasonOf(s), "CALLER_NOT_ALLOWED");
  }
}

TEST(PolicyTest, OnlyPointsCreditsConversions) {
  EXPECT_TRUE(Authorize("points", Permission::kCreditConversion).ok());
  EXPECT_FALSE(Authorize("payment", Permission::kCreditConversion).ok());
  EXPECT_FALSE(Authorize("gateway", Permission::kCreditConversion).ok());
}

TEST(PolicyTest, OnlyAdBookingSpends) {
  EXPECT_TRUE(Authorize("adbooking", Permission::kAdBooking).ok());
  EXPECT_FALSE(Authorize("gateway", Permission::kAdBooking).ok());
  EXPECT_FALSE(Authorize("payment", Permission::kAdBooking).ok());
}

TEST(PolicyTest, InternalFundsAndClosing) {
  EXPECT_TRUE(Authorize("payment", Permission::kChargeFromFunds).ok());
  EXPECT_FALSE(Authorize("gateway", Permission::kChargeFromFunds).ok());
  EXPECT_TRUE(Authorize("settlement", Permission::kCreditFunds).ok());
  EXPECT_FALSE(Authorize("payment", Permission::kCreditFunds).ok());
  EXPECT_TRUE(Authorize("settlement", Permission::kClose).ok());
  EXPECT_FALSE(Authorize("adbooking", Permission::kClose).ok());
}

TEST(PolicyTest, OnlyOperatorsReleaseExpiredHoldsByHand) {
  EXPECT_TRUE(Authorize("ops", Permission::kSweep).ok());
  EXPECT_FALSE(Authorize("adbooking", Permission::kSweep).ok());
  EXPECT_FALSE(Authorize("gateway", Permission::kSweep).ok());
}

TEST(PolicyTest, OnlyOperatorsReadTheBooksAndSetTheTestClock) {
  EXPECT_TRUE(Authorize("ops", Permission::kBooks).ok());
  EXPECT_TRUE(Authorize("ops", Permission::kSetTestClock).ok());
  for (const char* caller : {"payment", "points", "adbooking", "settlement", "gateway"}) {
    EXPECT_FALSE(Authorize(caller, Permission::kBooks).ok()) << caller;
    EXPECT_FALSE(Authorize(caller, Permission::kSetTestClock).ok()) << caller;
  }
}

TEST(PolicyTest, EveryKnownServiceReads) {
  for (const char* caller : {"payment", "points", "adbooking", "settlement", "gateway", "ops"}) {
    EXPECT_TRUE(Authorize(caller, Permission::kRead).ok()) << caller;
  }
  EXPECT_FALSE(Authorize("", Permission::kRead).ok());
}

// GetBalances acts for no single seller, so the gateway (which reads only the seller of the
// token it forwards) may not call it; every other service and operators may.
TEST(PolicyTest, EveryServiceButTheGatewayReadsManySellers) {
  for (const char* caller : {"payment", "points", "adbooking", "settlement", "ops"}) {
    EXPECT_TRUE(Authorize(caller, Permission::kReadMany).ok()) << caller;
  }
  EXPECT_FALSE(Authorize("gateway", Permission::kReadMany).ok());
  EXPECT_FALSE(Authorize("nobody", Permission::kReadMany).ok());
}

}  // namespace
}  // namespace qcash::wallet
