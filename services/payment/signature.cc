#include "services/payment/signature.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {
namespace {

constexpr absl::string_view kVersionPrefix = "v1=";
constexpr size_t kTimestampDigitsMax = 12;

void Mac(absl::string_view secret, absl::string_view timestamp, absl::string_view body,
         unsigned char out[crypto_auth_hmacsha256_BYTES]) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(timestamp.data()),
                                timestamp.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>("."), 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  crypto_auth_hmacsha256_final(&state, out);
  sodium_memzero(&state, sizeof(state));
}

}  // namespace

std::string Sign(absl::string_view secret, int64_t timestamp_s, absl::string_view body) {
  if (sodium_init() < 0) std::abort();
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  Mac(secret, absl::StrCat(timestamp_s), body, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
  return absl::StrCat(kVersionPrefix, hex);
}

std::string HeaderValue(const std::map<std::string, std::string>& headers, absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

absl::Status VerifySignature(absl::string_view secret,
                             const std::map<std::string, std::string>& headers,
                             absl::string_view body, absl::Time now, absl::Duration skew) {
  if (sodium_init() < 0) std::abort();
  const std::string timestamp =
      std::string(absl::StripAsciiWhitespace(HeaderValue(headers, kTimestampHeader)));
  const std::string signature =
      std::string(absl::StripAsciiWhitespace(HeaderValue(headers, kSignatureHeader)));
  int64_t timestamp_s = 0;
  if (timestamp.empty() || timestamp.size() > kTimestampDigitsMax ||
      !std::all_of(timestamp.begin(), timestamp.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(timestamp, &timestamp_s)) {
    return Unauthenticated(payment::v1::MISSING_SIGNATURE,
                           absl::StrCat(kTimestampHeader, " must be unix seconds"));
  }
  if (!absl::StartsWith(signature, kVersionPrefix) ||
      signature.size() != kVersionPrefix.size() + crypto_auth_hmacsha256_BYTES * 2) {
    return Unauthenticated(payment::v1::MISSING_SIGNATURE,
                           absl::StrCat(kSignatureHeader, " must be v1=<64 hex digits>"));
  }
  unsigned char given[crypto_auth_hmacsha256_BYTES];
  size_t given_length = 0;
  const absl::string_view hex = absl::string_view(signature).substr(kVersionPrefix.size());
  if (sodium_hex2bin(given, sizeof(given), hex.data(), hex.size(), nullptr, &given_length,
                     nullptr) != 0 ||
      given_length != sizeof(given)) {
    return Unauthenticated(payment::v1::MISSING_SIGNATURE,
                           absl::StrCat(kSignatureHeader, " must be v1=<64 hex digits>"));
  }
  unsigned char expected[crypto_auth_hmacsha256_BYTES];
  Mac(secret, timestamp, body, expected);
  if (sodium_memcmp(given, expected, sizeof(expected)) != 0) {
    return Unauthenticated(payment::v1::INVALID_SIGNATURE, "the signature does not match the body");
  }
  // P7: bounded clock skew, checked only on an authentic message so that the answer says
  // nothing about the timing to a forger.
  const absl::Duration age = now - absl::FromUnixSeconds(timestamp_s);
  if (absl::AbsDuration(age) > skew) {
    return Unauthenticated(
        payment::v1::STALE_TIMESTAMP,
        absl::StrCat("the signed timestamp is ", absl::FormatDuration(age), " from now; at most ",
                     absl::FormatDuration(skew), " is accepted"));
  }
  return absl::OkStatus();
}

}  // namespace qcash::payment
