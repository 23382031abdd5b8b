#include "gateway/errors.h"

#include "common/status.h"
#include "gateway/transcode.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace qcash::gateway {

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string ErrorBody(const absl::Status& status, const std::string& domain) {
  google::rpc::Status body;
  body.set_code(static_cast<int>(status.code()));
  body.set_message(std::string(status.message()));
  google::rpc::ErrorInfo info;
  const std::string reason = ReasonOf(status);
  info.set_reason(reason.empty() ? "UNSPECIFIED" : reason);
  const absl::optional<absl::Cord> origin = status.GetPayload("type.qcash/domain");
  info.set_domain(origin.has_value() ? std::string(*origin) : domain);
  body.add_details()->PackFrom(info);
  return ToJson(body);
}

}  // namespace qcash::gateway
