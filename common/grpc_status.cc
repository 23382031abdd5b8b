#include "common/grpc_status.h"

#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace qcash {

google::rpc::Status ToRpcStatus(const absl::Status& status, absl::string_view domain) {
  google::rpc::Status details;
  if (status.ok()) return details;
  std::string reason = ReasonOf(status);
  if (reason.empty()) reason = common::v1::ErrorReason_Name(common::v1::UNSPECIFIED);
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain(std::string(domain));
  if (std::optional<absl::Duration> delay = RetryAfterOf(status)) {
    (*info.mutable_metadata())["retry_after_ms"] = absl::StrCat(absl::ToInt64Milliseconds(*delay));
  }
  for (const auto& [key, value] : MetadataOf(status)) (*info.mutable_metadata())[key] = value;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  details.add_details()->PackFrom(info);
  return details;
}

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      ToRpcStatus(status, domain).SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      google::rpc::ErrorInfo info;
      if (any.UnpackTo(&info)) {
        absl::Status out = ReceivedError(code, info.reason(), status.error_message());
        out.SetPayload("type.qcash/domain", absl::Cord(info.domain()));
        int64_t retry_after_ms = 0;
        auto delay = info.metadata().find("retry_after_ms");
        if (delay != info.metadata().end() && absl::SimpleAtoi(delay->second, &retry_after_ms) &&
            retry_after_ms > 0) {
          out = WithRetryAfter(std::move(out), absl::Milliseconds(retry_after_ms));
        }
        // The rest of the metadata, bounded by WithMetadata (a peer writes it): in key order.
        const std::map<std::string, std::string> metadata(info.metadata().begin(),
                                                          info.metadata().end());
        for (const auto& [key, value] : metadata) out = WithMetadata(std::move(out), key, value);
        return out;
      }
    }
  }
  return absl::Status(code, status.error_message());
}

}  // namespace qcash
