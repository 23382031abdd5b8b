// The Q-sign password (P3): setting and checking it, the per-seller limit on checks, the
// lockout that grows with each lock, and the bounded slots in which argon2id runs. No
// database connection is held while a password hashes (64 MiB and ~100 ms each): the row is
// read, released, hashed against, and the outcome applied guarded by the row's version.
#ifndef QCASH_SERVICES_PAYMENT_QSIGN_VAULT_H_
#define QCASH_SERVICES_PAYMENT_QSIGN_VAULT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/payment/options.h"
#include "services/payment/qsign.h"
#include "services/payment/store.h"

namespace qcash::payment {

class QsignVault {
 public:
  // REQUIRES: `store` and `clock` outlive this object.
  QsignVault(OrderStore* store, const Clock* clock, const PaymentOptions& options);
  QsignVault(const QsignVault&) = delete;
  QsignVault& operator=(const QsignVault&) = delete;

  // Checks `password` for the seller. OK when it matches. Errors: FAILED_PRECONDITION
  // (QSIGN_PASSWORD_NOT_SET, QSIGN_LOCKED), PERMISSION_DENIED (WRONG_QSIGN_PASSWORD),
  // RESOURCE_EXHAUSTED (QSIGN_RATE_LIMITED), UNAVAILABLE (QSIGN_BUSY), ABORTED
  // (DATABASE_CONFLICT), the database's.
  absl::Status CheckPassword(const std::string& seller_id, const std::string& password);

  // Sets or changes the seller's password (changing needs the current one). Returns whether
  // this was a replay of an earlier call with the same key. Errors: as CheckPassword for the
  // current password; INVALID_ARGUMENT (MISSING_QSIGN_PASSWORD, a weak new password,
  // IDEMPOTENCY_KEY_REUSED).
  absl::StatusOr<bool> SetPassword(const std::string& caller, const std::string& seller_id,
                                   const std::string& idempotency_key,
                                   const std::string& current_password,
                                   const std::string& new_password);

  // Why the seller cannot sign now: "" (it can), "QSIGN_PASSWORD_NOT_SET" or "QSIGN_LOCKED".
  absl::StatusOr<std::string> Problem(const std::string& seller_id);

 private:
  // The seller's row (none: no password set) once the seller is not locked and this set or
  // check is within the seller's limit (counted now).
  absl::StatusOr<std::optional<QsignRow>> Admit(OrderStore::Session& session,
                                                const std::string& seller_id,
                                                bool require_password);
  // Whether `password` matches `hash`, computed in a hashing slot.
  absl::StatusOr<bool> VerifyInSlot(const std::string& hash, const std::string& password);
  // Applies the outcome of a check made against `row` (version-guarded; a change made
  // meanwhile is re-read and the rule applied to it) and returns the check's status.
  absl::Status RecordCheck(const std::string& seller_id, QsignRow row, bool matches);

  OrderStore* const store_;
  const Clock* const clock_;
  const QsignLockPolicy lock_;
  const QsignThrottlePolicy throttle_;
  QsignHashSlots hash_slots_;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_QSIGN_VAULT_H_
