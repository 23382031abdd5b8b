#include "services/payment/policy.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace qcash::payment {
namespace {

TEST(PolicyTest, GatewayActsForSellersAndWebhooks) {
  for (Permission p : {Permission::kRead, Permission::kSeller, Permission::kNotify}) {
    EXPECT_TRUE(Authorize("gateway", p).ok());
  }
  EXPECT_EQ(ReasonOf(Authorize("gateway", Permission::kOperate)), "CALLER_NOT_ALLOWED");
}

TEST(PolicyTest, OperatorsReadAndUnblockButNeverBuy) {
  EXPECT_TRUE(Authorize("ops", Permission::kRead).ok());
  EXPECT_TRUE(Authorize("ops", Permission::kOperate).ok());
  EXPECT_EQ(Authorize("ops", Permission::kSeller).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize("ops", Permission::kNotify).code(), absl::StatusCode::kPermissionDenied);
}

TEST(PolicyTest, EveryoneElseIsRefused) {
  for (const char* caller : {"points", "wallet", "payment", "adbooking", "", "GATEWAY"}) {
    for (Permission p :
         {Permission::kRead, Permission::kSeller, Permission::kNotify, Permission::kOperate}) {
      EXPECT_EQ(Authorize(caller, p).code(), absl::StatusCode::kPermissionDenied) << caller;
    }
  }
}

}  // namespace
}  // namespace qcash::payment
