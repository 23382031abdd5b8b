#include "services/payment/qsign.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/text.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {

absl::Status ValidateQsignPassword(absl::string_view password) {
  if (password.size() < kQsignPasswordLengthMin || password.size() > kQsignPasswordLengthMax ||
      !IsCleanText(password)) {
    return InvalidArgument(
        payment::v1::INVALID_QSIGN_PASSWORD,
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
    return Internal(payment::v1::HASH_FAILED, "argon2id could not allocate its memory");
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

absl::Duration LockDuration(int64_t lockouts, const QsignLockPolicy& policy) {
  absl::Duration lock = policy.first_lock;
  for (int64_t i = 1; i < lockouts && lock < policy.lock_max; ++i) lock *= 2;
  return std::min(lock, policy.lock_max);
}

QsignAttempts AfterWrongPassword(const QsignAttempts& attempts, absl::Time now,
                                 const QsignLockPolicy& policy) {
  QsignAttempts next = attempts;
  if (next.failed >= kQsignAttemptsMax) next.failed = 0;  // the lock has ended: a fresh count
  next.failed += 1;
  if (next.failed >= kQsignAttemptsMax) {
    const bool streak = attempts.locked_until != absl::InfinitePast() &&
                        now - attempts.locked_until < kQsignLockoutMemory;
    next.lockouts = streak ? attempts.lockouts + 1 : 1;
    next.locked_until = now + LockDuration(next.lockouts, policy);
  }
  return next;
}

QsignAttempts AfterRightPassword(const QsignAttempts& attempts) {
  QsignAttempts next = attempts;
  next.failed = 0;
  return next;
}

absl::Status LockedStatus(absl::Time locked_until) {
  const std::string until =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", locked_until, absl::UTCTimeZone());
  // The gateway words the seller's message from the metadata (in Japan time), never from
  // this English text.
  return WithMetadata(
      FailedPrecondition(payment::v1::QSIGN_LOCKED,
                         absl::StrCat("Qmoney and pending settlement are locked after ",
                                      kQsignAttemptsMax, " wrong Q-sign passwords until ", until)),
      "locked_until", until);
}

absl::Status WrongPasswordStatus(const QsignAttempts& attempts) {
  const int64_t left = kQsignAttemptsMax - attempts.failed;
  return WithMetadata(PermissionDenied(payment::v1::WRONG_QSIGN_PASSWORD,
                                       absl::StrCat("wrong Q-sign password; ", left,
                                                    " attempts left before the lock")),
                      "attempts_left", absl::StrCat(left));
}

absl::Status ThrottleStatus(const QsignWindow& window, absl::Time now,
                            const QsignThrottlePolicy& policy) {
  if (window.checks <= policy.checks_max) return absl::OkStatus();
  const absl::Duration left = std::max(window.start + policy.window - now, absl::Seconds(1));
  return WithRetryAfter(
      Error(absl::StatusCode::kResourceExhausted, payment::v1::QSIGN_RATE_LIMITED,
            absl::StrCat("at most ", policy.checks_max, " Q-sign password checks per ",
                         absl::FormatDuration(policy.window), "; retry later")),
      left);
}

QsignHashSlots::QsignHashSlots(int slots, absl::Duration wait, absl::Duration retry_after)
    : slots_(slots), wait_(wait), retry_after_(retry_after) {}

QsignHashSlots::Slot::~Slot() {
  if (owner_ != nullptr) owner_->Release();
}

absl::StatusOr<QsignHashSlots::Slot> QsignHashSlots::Acquire() {
  MutexLock lock(&mu_);
  if (!freed_.WaitFor(&mu_, wait_,
                      [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return SlotFree(); })) {
    return WithRetryAfter(Unavailable(payment::v1::QSIGN_BUSY,
                                      "too many Q-sign passwords are being checked; retry shortly"),
                          retry_after_);
  }
  ++in_use_;
  return Slot(this);
}

void QsignHashSlots::Release() {
  MutexLock lock(&mu_);
  --in_use_;
  freed_.Signal();
}

}  // namespace qcash::payment
