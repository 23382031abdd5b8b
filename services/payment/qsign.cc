#include "services/payment/qsign.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "common/text.h"

namespace qcash::payment {
namespace {

}  // namespace

absl::Status ValidateQsignPassword(absl::string_view password) {
  if (password.size() < kQsignPasswordLengthMin || password.size() > kQsignPasswordLengthMax ||
      !IsCleanText(password)) {
    return InvalidArgument(
        "INVALID_QSIGN_PASSWORD",
        absl::StrCat("the Q-sign password must be ", kQsignPasswordLengthMin, " to ",
                     kQsignPasswordLengthMax, " bytes of text without control characters"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> HashQsignPassword(absl::string_view password) {
  if (sodium_init() < 0) std::abort();
  char hash[crypto_pwhash_STRBYTES];
  // Interactive limits (2 passes, 64 MiB): a guess costs an attacker that much memory-hard
  // work, and a seller waits well under a second.
  if (crypto_pwhash_str_alg(hash, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("HASH_FAILED", "argon2id could not allocate its memory");
  }
  return std::string(hash);
}

bool VerifyQsignPassword(absl::string_view hash, absl::string_view password) {
  if (sodium_init() < 0) std::abort();
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  char stored[crypto_pwhash_STRBYTES] = {};
  std::copy(hash.begin(), hash.end(), stored);
  return crypto_pwhash_str_verify(stored, password.data(), password.size()) == 0;
}

bool IsLocked(const QsignAttempts& attempts, absl::Time now) { return attempts.locked_until > now; }

QsignAttempts AfterWrongPassword(const QsignAttempts& attempts, absl::Time now,
                                 absl::Duration lock) {
  QsignAttempts next = attempts;
  if (next.locked_until != absl::InfinitePast() && next.locked_until <= now) {
    next = QsignAttempts();  // the lock has ended: a fresh count
  }
  next.failed += 1;
  if (next.failed >= kQsignAttemptsMax) next.locked_until = now + lock;
  return next;
}

absl::Status LockedStatus(absl::Time locked_until) {
  return FailedPrecondition(
      "QSIGN_LOCKED",
      absl::StrCat("Qmoney and pending settlement are locked after ", kQsignAttemptsMax,
                   " wrong Q-sign passwords until ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", locked_until, absl::UTCTimeZone())));
}

absl::Status WrongPasswordStatus(const QsignAttempts& attempts) {
  return PermissionDenied("WRONG_QSIGN_PASSWORD", absl::StrCat("wrong Q-sign password; ",
                                                               kQsignAttemptsMax - attempts.failed,
                                                               " attempts left before the lock"));
}

std::string EncodeAttempts(const QsignAttempts& attempts) {
  const int64_t until_ms =
      attempts.locked_until == absl::InfinitePast() ? 0 : absl::ToUnixMillis(attempts.locked_until);
  return absl::StrCat(attempts.failed, "|", until_ms);
}

std::optional<QsignAttempts> DecodeAttempts(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '|');
  QsignAttempts attempts;
  int64_t until_ms = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &attempts.failed) ||
      !absl::SimpleAtoi(parts[1], &until_ms) || attempts.failed < 0 || until_ms < 0) {
    return std::nullopt;
  }
  if (until_ms > 0) attempts.locked_until = absl::FromUnixMillis(until_ms);
  return attempts;
}

}  // namespace qcash::payment
