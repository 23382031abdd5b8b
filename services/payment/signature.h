// Authenticating what crosses the boundary to a payment provider (P7): HMAC-SHA256 over
// "<timestamp>.<raw body>" with the provider's secret, sent as
//   X-Qcash-Timestamp: <unix seconds>
//   X-Qcash-Signature: v1=<64 lowercase hex>
// The same scheme signs our requests to a provider and the provider's notifications to us.
// The timestamp is inside the MAC, so a captured message cannot be re-dated; a replay within
// the skew bound is caught by the event-id deduplication of the notification store.
#ifndef QCASH_SERVICES_PAYMENT_SIGNATURE_H_
#define QCASH_SERVICES_PAYMENT_SIGNATURE_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qcash::payment {

// Header names in lowercase (HTTP/2 and gRPC metadata are lowercase; lookups fold case).
inline constexpr absl::string_view kTimestampHeader = "x-qcash-timestamp";
inline constexpr absl::string_view kSignatureHeader = "x-qcash-signature";
// Every response of the development sandbox carries this header (value "1").
inline constexpr absl::string_view kSandboxHeader = "x-qcash-sandbox";

inline constexpr absl::Duration kSkewDefault = absl::Seconds(300);

// "v1=<hex>" for `body` signed at `timestamp_s` with `secret`.
std::string Sign(absl::string_view secret, int64_t timestamp_s, absl::string_view body);

// The value of header `name` in `headers`, whose names may be in any case; "" if absent.
std::string HeaderValue(const std::map<std::string, std::string>& headers, absl::string_view name);

// Checks the signature headers of `body` against `secret` at time `now`, first the MAC, then
// the freshness (|now - timestamp| <= skew). Constant-time comparison.
// Errors: UNAUTHENTICATED with MISSING_SIGNATURE (a header absent or malformed),
// INVALID_SIGNATURE (the MAC does not match), STALE_TIMESTAMP (authentic but too old or too
// far in the future).
absl::Status VerifySignature(absl::string_view secret,
                             const std::map<std::string, std::string>& headers,
                             absl::string_view body, absl::Time now, absl::Duration skew);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_SIGNATURE_H_
