// services/points/rules.h ValidateEvent: what a point event from an upstream system must be
// (S1). The input is the event's fields, one per line: event_id, seller_id, product_no,
// product_name, category, component, sale_type, points, occurred_at and the service clock (unix
// seconds). The validator must accept exactly the events the rules it states allow, checked
// here field by field with references written from the header's words, and refuse the others
// with one of the reasons it documents.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "fuzz/fuzz_check.h"
#include "services/points/rules.h"

namespace {

namespace points = qcash::points;

bool Printable(const std::string& text, size_t length_max) {
  return !text.empty() && text.size() <= length_max &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

// 1..length_max bytes of well-formed UTF-8 without a control character (category Cc).
bool Clean(const std::string& text, size_t length_max) {
  std::vector<uint32_t> code_points;
  if (text.empty() || text.size() > length_max ||
      !qcash::fuzz::DecodeUtf8Strict(text, &code_points)) {
    return false;
  }
  return std::none_of(code_points.begin(), code_points.end(),
                      [](uint32_t cp) { return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F); });
}

bool SellerId(const std::string& text) {
  return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

int64_t Number(const std::string& text) {
  int64_t v = 0;
  return absl::SimpleAtoi(text, &v) ? v : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> f = qcash::fuzz::SplitFields(
      absl::string_view(reinterpret_cast<const char*>(data), size), "\n", 10);
  if (f.size() < 10) return 0;
  points::PointEvent event;
  event.event_id = f[0];
  event.seller_id = f[1];
  event.product_no = f[2];
  event.product_name = f[3];
  event.category = f[4];
  const int64_t component = Number(f[5]);
  const int64_t sale_type = Number(f[6]);
  if (component < INT16_MIN || component > INT16_MAX) return 0;
  if (sale_type < INT16_MIN || sale_type > INT16_MAX) return 0;
  event.component = static_cast<int16_t>(component);
  event.sale_type = static_cast<int16_t>(sale_type);
  event.points = Number(f[7]);
  // Times in seconds, kept where absl::Time and the arithmetic below are exact.
  const int64_t occurred_s =
      std::clamp<int64_t>(Number(f[8]), -(int64_t{1} << 40), int64_t{1} << 40);
  const int64_t now_s = std::clamp<int64_t>(Number(f[9]), -(int64_t{1} << 40), int64_t{1} << 40);
  event.occurred_at = absl::FromUnixSeconds(occurred_s);
  const absl::Time now = absl::FromUnixSeconds(now_s);

  const absl::Status status = points::ValidateEvent(event, now);
  const int64_t earliest_s = 1262304000;  // 2010-01-01T00:00:00Z
  const bool valid = Printable(event.event_id, 128) && SellerId(event.seller_id) &&
                     Printable(event.product_no, 64) && Clean(event.product_name, 256) &&
                     Clean(event.category, 128) && component >= 1 && component <= 3 &&
                     sale_type >= 1 && sale_type <= 2 && event.points != 0 &&
                     event.points >= -1'000'000 && event.points <= 1'000'000 &&
                     occurred_s >= earliest_s && occurred_s <= now_s + 600;
  FUZZ_CHECK(status.ok() == valid);
  if (!status.ok()) {
    static const std::set<std::string> kReasons = {
        "INVALID_EVENT_ID",  "INVALID_SELLER_ID", "INVALID_PRODUCT",     "INVALID_COMPONENT",
        "INVALID_SALE_TYPE", "INVALID_POINTS",    "INVALID_OCCURRED_AT", "OCCURRED_AT_IN_FUTURE"};
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(kReasons.count(qcash::ReasonOf(status)) == 1);
  } else {
    // The fingerprint of an accepted event is stable and tells its fields apart.
    FUZZ_CHECK(points::EventHash(event) == points::EventHash(event));
    points::PointEvent other = event;
    other.points = -other.points;
    FUZZ_CHECK(points::EventHash(other) != points::EventHash(event));
  }
  return 0;
}
