#include "common/status.h"

#include <gtest/gtest.h>

#include "common/grpc_status.h"

namespace qcash {
namespace {

TEST(StatusTest, ErrorCarriesCodeMessageAndReason) {
  absl::Status s = Unavailable(common::v1::OVERLOADED, "busy");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "busy");
  EXPECT_EQ(ReasonOf(s), "OVERLOADED");  // AIP-193: the enum value's name
  EXPECT_TRUE(ReasonIs(s, common::v1::OVERLOADED));
  EXPECT_FALSE(ReasonIs(s, common::v1::SHUTTING_DOWN));
  EXPECT_FALSE(ReasonIs(absl::OkStatus(), common::v1::UNSPECIFIED));
}

// The zero value is "no reason", which the wire shows as UNSPECIFIED.
TEST(StatusTest, ZeroValueIsNoReason) {
  EXPECT_EQ(ReasonOf(Internal(common::v1::UNSPECIFIED, "x")), "");
}

TEST(StatusTest, WithMessageKeepsCodeReasonAndRetryDelay) {
  const absl::Status busy =
      WithRetryAfter(Unavailable(common::v1::OVERLOADED, "internal text"), absl::Seconds(2));
  const absl::Status out = WithMessage(busy, "other text");
  EXPECT_EQ(out.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(out.message(), "other text");
  EXPECT_EQ(ReasonOf(out), "OVERLOADED");
  EXPECT_EQ(RetryAfterOf(out), absl::Seconds(2));
}

// A reason received from another service is kept when this one's enum (here, for the test,
// the common one) names it, and otherwise replaced by the fallback, named in the message.
TEST(StatusTest, RelayKeepsKnownReasonsAndReplacesOthers) {
  absl::Status known =
      ReceivedError(absl::StatusCode::kPermissionDenied, "CALLER_NOT_ALLOWED", "m");
  known.SetPayload("type.qcash/domain", absl::Cord("wallet.qcash"));
  const absl::Status kept = Relay(known, common::v1::DATABASE_ERROR);
  EXPECT_EQ(kept.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(kept), "CALLER_NOT_ALLOWED");
  EXPECT_EQ(kept.message(), "m");
  EXPECT_FALSE(kept.GetPayload("type.qcash/domain").has_value()) << "the relay answers as itself";
  const absl::Status foreign =
      Relay(ReceivedError(absl::StatusCode::kInvalidArgument, "INVALID_REFERENCE", "too long"),
            common::v1::DATABASE_ERROR);
  EXPECT_EQ(foreign.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(foreign), "DATABASE_ERROR");
  EXPECT_EQ(foreign.message(), "too long (INVALID_REFERENCE)");
}

TEST(StatusTest, LibraryStatusHasNoReason) {
  EXPECT_EQ(ReasonOf(absl::InternalError("x")), "");
  EXPECT_EQ(ReasonOf(absl::OkStatus()), "");
}

TEST(GrpcStatusTest, RoundTripKeepsCodeMessageAndReason) {
  const absl::Status original = Aborted(common::v1::DATABASE_CONFLICT, "retry");
  const grpc::Status wire = ToGrpcStatus(original, "wallet.qcash");
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(wire.error_message(), "retry");
  EXPECT_FALSE(wire.error_details().empty());
  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ReasonOf(back), "DATABASE_CONFLICT");
}

// A retry delay survives the trip over gRPC as ErrorInfo metadata "retry_after_ms".
TEST(GrpcStatusTest, RetryAfterTravelsAsErrorInfoMetadata) {
  const absl::Status busy =
      WithRetryAfter(Unavailable(common::v1::OVERLOADED, "retry"), absl::Milliseconds(1500));
  EXPECT_EQ(RetryAfterOf(busy), absl::Milliseconds(1500));
  EXPECT_EQ(RetryAfterOf(Unavailable(common::v1::OVERLOADED, "y")), std::nullopt);
  const absl::Status back = FromGrpcStatus(ToGrpcStatus(busy, "payment.qcash"));
  EXPECT_EQ(ReasonOf(back), "OVERLOADED");
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
