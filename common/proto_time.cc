#include "common/proto_time.h"

#include "common/status.h"

namespace qcash {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    seconds -= 1;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

void SetTimestampIfAny(absl::Time t, google::protobuf::Timestamp* out) {
  if (t != absl::InfinitePast() && t != absl::InfiniteFuture()) SetTimestamp(t, out);
}

std::optional<absl::Time> TimeOf(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < -62'135'596'800 || ts.seconds() > 253'402'300'799 || ts.nanos() < 0 ||
      ts.nanos() > 999'999'999) {
    return std::nullopt;
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace qcash
