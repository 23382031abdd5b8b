// Provider notifications (services/payment/connectors/qcash_protocol.h ParseQcashNotification,
// and under it signature.h VerifySignature, P7): what a payment provider POSTs to
// /webhooks/<provider> and the gateway passes on raw. Input, one field per line: a mode, the
// X-Qcash-Timestamp value, the X-Qcash-Signature value, the clock (unix seconds), then the body.
// Mode '1' replaces the signature with the correct one for the timestamp and body, so that the
// fuzzer reaches the JSON parsing behind the MAC; other modes send the headers as given (a
// forger's view), mode '2' with the header names in mixed case.
// Properties: an accepted notification carries a correct MAC over exactly this timestamp and
// body, a timestamp within the skew, an event id of 1..128 bytes, a merchant reference and a
// known status; changing any byte of an accepted body makes it INVALID_SIGNATURE; every refusal
// has one of the documented codes and reasons.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "fuzz/fuzz_check.h"
#include "services/payment/connectors/qcash_protocol.h"
#include "services/payment/signature.h"

namespace {

namespace payment = qcash::payment;

constexpr absl::string_view kSecret = "whsec_fuzz_0123456789abcdef0123456789abcdef";

void CheckRefusal(const absl::Status& status) {
  static const std::set<std::string> kUnauthenticated = {"MISSING_SIGNATURE", "INVALID_SIGNATURE",
                                                         "STALE_TIMESTAMP"};
  const std::string reason = qcash::ReasonOf(status);
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    FUZZ_CHECK(kUnauthenticated.count(reason) == 1);
  } else {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(reason == "MALFORMED_NOTIFICATION");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> f = qcash::fuzz::SplitFields(
      absl::string_view(reinterpret_cast<const char*>(data), size), "\n", 5);
  if (f.size() < 5) return 0;
  const std::string& mode = f[0];
  std::string timestamp = f[1];
  std::string signature = f[2];
  int64_t now_s = 0;
  if (!absl::SimpleAtoi(f[3], &now_s) || now_s < 0 || now_s > (int64_t{1} << 40))
    now_s = 1'800'000'000;
  const std::string& body = f[4];
  const absl::Time now = absl::FromUnixSeconds(now_s);
  int64_t timestamp_s = 0;
  const bool timestamp_digits =
      !timestamp.empty() && timestamp.size() <= 12 &&
      std::all_of(timestamp.begin(), timestamp.end(), absl::ascii_isdigit) &&
      absl::SimpleAtoi(timestamp, &timestamp_s);
  if (mode == "1" && timestamp_digits) signature = payment::Sign(kSecret, timestamp_s, body);

  std::map<std::string, std::string> headers;
  if (mode == "2") {
    headers["X-Qcash-Timestamp"] = timestamp;
    headers["X-QCASH-SIGNATURE"] = signature;
  } else {
    headers[std::string(payment::kTimestampHeader)] = timestamp;
    headers[std::string(payment::kSignatureHeader)] = signature;
  }
  headers["content-type"] = "application/json";

  auto notification =
      payment::ParseQcashNotification(kSecret, payment::kSkewDefault, body, headers, now);
  if (!notification.ok()) {
    CheckRefusal(notification.status());
    return 0;
  }
  // Authentic: the MAC over exactly this timestamp and body, and fresh.
  FUZZ_CHECK(timestamp_digits);
  const std::string given = absl::AsciiStrToLower(absl::StripAsciiWhitespace(signature));
  FUZZ_CHECK(given == payment::Sign(kSecret, timestamp_s, body));
  FUZZ_CHECK(absl::AbsDuration(now - absl::FromUnixSeconds(timestamp_s)) <= payment::kSkewDefault);
  FUZZ_CHECK(payment::VerifySignature(kSecret, headers, body, now, payment::kSkewDefault).ok());
  // Well-formed: what the payment service relies on.
  FUZZ_CHECK(!notification->event_id.empty() && notification->event_id.size() <= 128);
  FUZZ_CHECK(!notification->payment.merchant_reference.empty());
  FUZZ_CHECK(notification->type.size() <= 64);
  // Any change to the body, or another secret, breaks the MAC.
  std::string tampered = body;
  if (tampered.empty()) {
    tampered = " ";
  } else {
    tampered[tampered.size() / 2] ^= 0x01;
  }
  const absl::Status changed =
      payment::VerifySignature(kSecret, headers, tampered, now, payment::kSkewDefault);
  FUZZ_CHECK(qcash::ReasonOf(changed) == "INVALID_SIGNATURE");
  const absl::Status other_secret =
      payment::VerifySignature("another secret", headers, body, now, payment::kSkewDefault);
  FUZZ_CHECK(qcash::ReasonOf(other_secret) == "INVALID_SIGNATURE");
  return 0;
}
