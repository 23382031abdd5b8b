#include "common/status.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/grpc_status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

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

// Facts for the seller's message travel as ErrorInfo metadata both ways, bounded.
TEST(GrpcStatusTest, MetadataTravelsAsErrorInfoMetadata) {
  absl::Status wrong = PermissionDenied(common::v1::CALLER_NOT_ALLOWED, "wrong");
  wrong = WithMetadata(std::move(wrong), "attempts_left", "3");
  wrong = WithMetadata(std::move(wrong), "locked_until", "2026-11-30T18:00:00Z");
  wrong = WithRetryAfter(std::move(wrong), absl::Seconds(2));
  const std::map<std::string, std::string> expected = {{"attempts_left", "3"},
                                                       {"locked_until", "2026-11-30T18:00:00Z"}};
  EXPECT_EQ(MetadataOf(wrong), expected);
  const grpc::Status wire = ToGrpcStatus(wrong, "payment.qcash");
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(wire.error_details()));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.metadata().at("attempts_left"), "3");
  EXPECT_EQ(info.metadata().at("retry_after_ms"), "2000");
  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(ReasonOf(back), "CALLER_NOT_ALLOWED");
  EXPECT_EQ(MetadataOf(back), expected) << "retry_after_ms is not metadata of its own";
  EXPECT_EQ(RetryAfterOf(back), absl::Seconds(2));
  // WithMessage keeps it; a message change is not a new failure.
  EXPECT_EQ(MetadataOf(WithMessage(back, "other")), expected);
}

TEST(GrpcStatusTest, MetadataIsBounded) {
  const absl::Status base = Unavailable(common::v1::OVERLOADED, "x");
  EXPECT_TRUE(MetadataOf(WithMetadata(base, "Upper", "v")).empty());
  EXPECT_TRUE(MetadataOf(WithMetadata(base, "", "v")).empty());
  EXPECT_TRUE(MetadataOf(WithMetadata(base, std::string(33, 'a'), "v")).empty());
  EXPECT_TRUE(MetadataOf(WithMetadata(base, "retry_after_ms", "5")).empty());
  EXPECT_TRUE(MetadataOf(WithMetadata(base, "k", std::string(129, 'v'))).empty());
  EXPECT_EQ(MetadataOf(WithMetadata(base, "k", "2026-11-30T18:00:00Z")).size(), 1u);
  EXPECT_TRUE(MetadataOf(WithMetadata(base, "k", "line\nbreak")).empty());
  EXPECT_TRUE(MetadataOf(WithMetadata(absl::OkStatus(), "k", "v")).empty());
  absl::Status many = base;
  for (char c = 'a'; c <= 'h'; ++c) many = WithMetadata(std::move(many), std::string(1, c), "v");
  EXPECT_EQ(MetadataOf(many).size(), kStatusMetadataMax);
  // A peer's oversized or malformed metadata is dropped on the way in.
  google::rpc::ErrorInfo info;
  info.set_reason("OVERLOADED");
  (*info.mutable_metadata())["good_key"] = "1";
  (*info.mutable_metadata())["Bad-Key"] = "2";
  (*info.mutable_metadata())["long_value"] = std::string(1000, 'x');
  google::rpc::Status details;
  details.set_code(grpc::StatusCode::UNAVAILABLE);
  details.add_details()->PackFrom(info);
  const absl::Status back =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "m", details.SerializeAsString()));
  EXPECT_EQ(MetadataOf(back), (std::map<std::string, std::string>{{"good_key", "1"}}));
}

// A batch item's google.rpc.Status is exactly the trailer's details of the same failure.
TEST(GrpcStatusTest, RpcStatusIsTheTrailersDetails) {
  const absl::Status invalid = InvalidArgument(common::v1::INVALID_SELLER_ID, "bad seller id");
  const google::rpc::Status item = ToRpcStatus(invalid, "wallet.qcash");
  EXPECT_EQ(item.code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(item.message(), "bad seller id");
  ASSERT_EQ(item.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(item.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "INVALID_SELLER_ID");
  EXPECT_EQ(info.domain(), "wallet.qcash");
  EXPECT_EQ(item.SerializeAsString(), ToGrpcStatus(invalid, "wallet.qcash").error_details());
  const google::rpc::Status ok = ToRpcStatus(absl::OkStatus(), "wallet.qcash");
  EXPECT_EQ(ok.code(), 0);
  EXPECT_TRUE(ok.message().empty());
  EXPECT_EQ(ok.details_size(), 0);
}

TEST(GrpcStatusTest, StatusWithoutReasonGetsUnspecified) {
  const grpc::Status wire = ToGrpcStatus(absl::InternalError("boom"), "wallet.qcash");
  EXPECT_EQ(ReasonOf(FromGrpcStatus(wire)), "UNSPECIFIED");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), "x").ok());
}

}  // namespace
}  // namespace qcash
