#include "common/status.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/types/optional.h"

namespace qcash {
namespace {

constexpr absl::string_view kReasonUrl = "type.qcash/reason";
constexpr absl::string_view kRetryAfterUrl = "type.qcash/retry_after_ms";
constexpr absl::string_view kDomainUrl = "type.qcash/domain";
constexpr absl::string_view kMetadataUrlPrefix = "type.qcash/metadata/";

bool IsMetadataKey(absl::string_view key) {
  if (key.empty() || key.size() > 32 || key == "retry_after_ms") return false;
  return std::all_of(key.begin(), key.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

bool IsMetadataValue(absl::string_view value) {
  return value.size() <= kStatusMetadataValueMax &&
         std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

namespace internal_status {

absl::Status ErrorNamed(absl::StatusCode code, bool unspecified, absl::string_view reason,
                        absl::string_view message) {
  absl::Status status(code, message);
  if (!unspecified) status.SetPayload(kReasonUrl, absl::Cord(reason));
  return status;
}

absl::Status Renamed(const absl::Status& upstream, absl::string_view reason,
                     absl::string_view was) {
  absl::Status status =
      was.empty() ? upstream
                  : WithMessage(upstream, absl::StrCat(upstream.message(), " (", was, ")"));
  status.SetPayload(kReasonUrl, absl::Cord(reason));
  status.ErasePayload(kDomainUrl);
  return status;
}

}  // namespace internal_status

absl::Status ReceivedError(absl::StatusCode code, absl::string_view reason,
                           absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kReasonUrl, absl::Cord(reason));
  return status;
}

absl::Status WithMessage(const absl::Status& status, absl::string_view message) {
  absl::Status out(status.code(), message);
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

std::string ReasonOf(const absl::Status& status) {
  absl::optional<absl::Cord> reason = status.GetPayload(kReasonUrl);
  return reason.has_value() ? std::string(*reason) : std::string();
}

absl::Status WithRetryAfter(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(delay));
  status.SetPayload(kRetryAfterUrl, absl::Cord(absl::StrCat(ms)));
  return status;
}

std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  absl::optional<absl::Cord> text = status.GetPayload(kRetryAfterUrl);
  int64_t ms = 0;
  if (!text.has_value() || !absl::SimpleAtoi(std::string(*text), &ms) || ms <= 0) {
    return std::nullopt;
  }
  return absl::Milliseconds(ms);
}

absl::Status WithMetadata(absl::Status status, absl::string_view key, absl::string_view value) {
  if (status.ok() || !IsMetadataKey(key) || !IsMetadataValue(value)) return status;
  const std::string url = absl::StrCat(kMetadataUrlPrefix, key);
  if (!status.GetPayload(url).has_value() && MetadataOf(status).size() >= kStatusMetadataMax) {
    return status;
  }
  status.SetPayload(url, absl::Cord(value));
  return status;
}

std::map<std::string, std::string> MetadataOf(const absl::Status& status) {
  std::map<std::string, std::string> metadata;
  status.ForEachPayload([&metadata](absl::string_view url, const absl::Cord& payload) {
    if (absl::ConsumePrefix(&url, kMetadataUrlPrefix))
      metadata[std::string(url)] = std::string(payload);
  });
  return metadata;
}

}  // namespace qcash
