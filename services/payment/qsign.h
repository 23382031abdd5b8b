// The Q-sign password (Qサインパスワード, P3): the seller's second password that authorizes
// paying with Qmoney or pending settlement. It is not the login password. Only a salted,
// slow hash is stored (argon2id via libsodium's crypto_pwhash_str), and five wrong passwords
// in a row lock the internal-funds methods for a while; each further lockout within a day of
// the previous one lasts twice as long (30 min, 1 h, 2 h, ... at most 24 h).
//
// This file holds the rules, pure and tested without I/O (qsign_test.cc); qsign_vault.cc applies
// them. Who decides (DESIGN.md section 7): PostgreSQL alone. The attempt counter, the lock and
// the per-seller limit live only in the payment database. Redis holds no copy: an earlier
// version mirrored the lock there ("failed|locked_until") so that a locked seller could be
// turned away without a database round trip, which let whoever can write Redis lock any
// seller out. A Redis value could at most be a hint to confirm in PostgreSQL, and confirming
// costs the same primary-key read the hint was meant to save, so the mirror is gone.
//
// Cost (issue 10): argon2id takes 64 MiB and tens of milliseconds of CPU. It runs with no
// database transaction open and no pooled connection held (load, release, hash, then a
// version-guarded update: a change made meanwhile is re-read and the rule applied again), in
// a bounded number of slots (QsignHashSlots) that a call waits for only briefly, and every set
// or check of a seller first takes a place in that seller's window (QsignThrottle), durable in
// PostgreSQL, so that concurrency cannot buy an attacker more guesses than the window allows.
#ifndef QCASH_SERVICES_PAYMENT_QSIGN_H_
#define QCASH_SERVICES_PAYMENT_QSIGN_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace qcash::payment {

// P3: wrong passwords in a row that lock the internal-funds methods.
inline constexpr int kQsignAttemptsMax = 5;
inline constexpr absl::Duration kQsignLockDefault = absl::Minutes(30);
inline constexpr absl::Duration kQsignLockMaxDefault = absl::Hours(24);
// A lockout that starts within this time after the previous lock ended escalates.
inline constexpr absl::Duration kQsignLockoutMemory = absl::Hours(24);
inline constexpr size_t kQsignPasswordLengthMin = 8;
inline constexpr size_t kQsignPasswordLengthMax = 128;

// 8..128 bytes of UTF-8 text without control characters.
// Errors: INVALID_ARGUMENT (INVALID_QSIGN_PASSWORD); the message never echoes the password.
absl::Status ValidateQsignPassword(absl::string_view password);

// The argon2id hash string (salt and parameters included) of `password`.
// Errors: INTERNAL (HASH_FAILED) when libsodium cannot allocate its memory.
absl::StatusOr<std::string> HashQsignPassword(absl::string_view password);

// True when `password` matches `hash` (constant time inside libsodium).
bool VerifyQsignPassword(absl::string_view hash, absl::string_view password);

// How long locks last.
struct QsignLockPolicy {
  absl::Duration first_lock = kQsignLockDefault;  // the first lockout of a streak
  absl::Duration lock_max = kQsignLockMaxDefault;
};

// The lock state of one seller's Q-sign password, as stored in qsign_credentials.
struct QsignAttempts {
  int64_t failed = 0;  // wrong passwords in a row
  // The end of the latest lock, kept after it has passed (it dates the streak); InfinitePast
  // when the seller was never locked.
  absl::Time locked_until = absl::InfinitePast();
  int64_t lockouts = 0;  // lockouts in the current streak, the latest included
};

bool IsLocked(const QsignAttempts& attempts, absl::Time now);

// How long the `lockouts`-th lockout of a streak lasts: first_lock doubled for each earlier
// lockout of the streak, at most lock_max. REQUIRES: lockouts >= 1.
absl::Duration LockDuration(int64_t lockouts, const QsignLockPolicy& policy);

// After a wrong password at `now`: the count goes up (starting again at 1 once a lock has
// ended), and reaching kQsignAttemptsMax locks until now + LockDuration(streak), where the
// streak goes on when the previous lock ended less than kQsignLockoutMemory ago.
// REQUIRES: !IsLocked(attempts, now) (a locked seller's password is not checked).
QsignAttempts AfterWrongPassword(const QsignAttempts& attempts, absl::Time now,
                                 const QsignLockPolicy& policy);

// After the right password: the count of wrong ones in a row starts again. The streak is
// kept: the lock that follows a right password still escalates (an attacker who holds the
// session gains nothing from the seller's own successful payments).
QsignAttempts AfterRightPassword(const QsignAttempts& attempts);

// The status a locked seller gets. FAILED_PRECONDITION (QSIGN_LOCKED).
absl::Status LockedStatus(absl::Time locked_until);

// The status of a wrong password that did not lock. PERMISSION_DENIED (WRONG_QSIGN_PASSWORD).
absl::Status WrongPasswordStatus(const QsignAttempts& attempts);

// The per-seller limit on setting and checking the password: at most `checks_max` in a fixed
// window of `window`, counted in PostgreSQL before any hash is computed.
struct QsignThrottlePolicy {
  int checks_max = 10;
  absl::Duration window = absl::Minutes(1);
};

// A seller's window as the database counted it, this check included.
struct QsignWindow {
  absl::Time start;
  int64_t checks = 0;
};

// OK when the check counted in `window` is within the limit; otherwise RESOURCE_EXHAUSTED
// (QSIGN_RATE_LIMITED) with the time until the window ends as the retry delay.
absl::Status ThrottleStatus(const QsignWindow& window, absl::Time now,
                            const QsignThrottlePolicy& policy);

// At most `slots` argon2id computations at once (64 MiB of memory each). A caller waits at
// most `wait` for a slot: past that it gets UNAVAILABLE (QSIGN_BUSY) with a retry delay, so a
// burst of password checks costs those callers a retry instead of stalling every worker
// thread of the service behind the hashes.
class QsignHashSlots {
 public:
  // REQUIRES: slots >= 1, wait >= 0.
  QsignHashSlots(int slots, absl::Duration wait, absl::Duration retry_after);
  QsignHashSlots(const QsignHashSlots&) = delete;
  QsignHashSlots& operator=(const QsignHashSlots&) = delete;

  // Holds a slot until destroyed.
  class Slot {
   public:
    explicit Slot(QsignHashSlots* owner) : owner_(owner) {}
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    QsignHashSlots* owner_;
  };

  // A slot. Errors: UNAVAILABLE (QSIGN_BUSY, with a retry delay) when none came free in time.
  absl::StatusOr<Slot> Acquire();

 private:
  void Release() ABSL_LOCKS_EXCLUDED(mu_);
  bool SlotFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_use_ < slots_; }

  const int slots_;                   // constant
  const absl::Duration wait_;         // constant
  const absl::Duration retry_after_;  // constant
  Mutex mu_;
  CondVar freed_;  // signalled when a slot is released
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_QSIGN_H_
