#include "common/status.h"

#include <gtest/gtest.h>

#include "common/grpc_status.h"

namespace qcash {
namespace {

TEST(StatusTest, ErrorCarriesCodeMessageAndReason) {
  absl::Status s = FailedPrecondition("INSUFFICIENT_FUNDS", "not enough");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "not enough");
  EXPECT_EQ(ReasonOf(s), "INSUFFICIENT_FUNDS");
}

TEST(StatusTest, LibraryStatusHasNoReason) {
  EXPECT_EQ(ReasonOf(absl::InternalError("x")), "");
  EXPECT_EQ(ReasonOf(absl::OkStatus()), "");
}

TEST(GrpcStatusTest, RoundTripKeepsCodeMessageAndReason) {
  const absl::Status original = Aborted("IDEMPOTENCY_KEY_IN_FLIGHT", "retry");
  const grpc::Status wire = ToGrpcStatus(original, "wallet.qcash");
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(wire.error_message(), "retry");
  EXPECT_FALSE(wire.error_details().empty());
  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ReasonOf(back), "IDEMPOTENCY_KEY_IN_FLIGHT");
}

// A retry delay survives the trip over gRPC as ErrorInfo metadata "retry_after_ms".
TEST(GrpcStatusTest, RetryAfterTravelsAsErrorInfoMetadata) {
  const absl::Status busy =
      WithRetryAfter(Unavailable("QSIGN_BUSY", "retry"), absl::Milliseconds(1500));
  EXPECT_EQ(RetryAfterOf(busy), absl::Milliseconds(1500));
  EXPECT_EQ(RetryAfterOf(Unavailable("X", "y")), std::nullopt);
  const absl::Status back = FromGrpcStatus(ToGrpcStatus(busy, "payment.qcash"));
  EXPECT_EQ(ReasonOf(back), "QSIGN_BUSY");
  EXPECT_EQ(RetryAfterOf(back), absl::Milliseconds(1500));
  EXPECT_TRUE(WithRetryAfter(absl::OkStatus(), absl::Seconds(1)).ok());
}

TEST(GrpcStatusTest, StatusWithoutReasonGetsUnspecified) {
  const grpc::Status wire = ToGrpcStatus(absl::InternalError("boom"), "wallet.qcash");
  EXPECT_EQ(ReasonOf(FromGrpcStatus(wire)), "UNSPECIFIED");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), "x").ok());
}

}  // namespace
}  // namespace qcash
