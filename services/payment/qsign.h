// The Q-sign password (Qサインパスワード, P3): the seller's second password that authorizes
// paying with Qmoney or pending settlement. It is not the login password. Only a salted,
// slow hash is stored (argon2id via libsodium's crypto_pwhash_str), and five wrong passwords
// in a row lock the internal-funds methods for a while.
//
// This file holds the rules; payments.cc applies them with the database row locked, so two
// concurrent guesses cannot both slip under the limit, and mirrors the counter into Redis so
// that a locked seller is turned away without touching PostgreSQL or hashing anything.
#ifndef QCASH_SERVICES_PAYMENT_QSIGN_H_
#define QCASH_SERVICES_PAYMENT_QSIGN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qcash::payment {

// P3: wrong passwords in a row that lock the internal-funds methods.
inline constexpr int kQsignAttemptsMax = 5;
inline constexpr absl::Duration kQsignLockDefault = absl::Minutes(30);
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

// The lock state of one seller's Q-sign password.
struct QsignAttempts {
  int64_t failed = 0;  // wrong passwords in a row
  absl::Time locked_until = absl::InfinitePast();
};

bool IsLocked(const QsignAttempts& attempts, absl::Time now);

// After a wrong password at `now`: the count goes up (starting again at 1 once a lock has
// ended), and reaching kQsignAttemptsMax locks until now + lock.
QsignAttempts AfterWrongPassword(const QsignAttempts& attempts, absl::Time now,
                                 absl::Duration lock);

// The status a locked seller gets. FAILED_PRECONDITION (QSIGN_LOCKED).
absl::Status LockedStatus(absl::Time locked_until);

// The status of a wrong password that did not lock. PERMISSION_DENIED (WRONG_QSIGN_PASSWORD).
absl::Status WrongPasswordStatus(const QsignAttempts& attempts);

// Redis mirror of QsignAttempts: "failed|locked_until_unix_ms".
std::string EncodeAttempts(const QsignAttempts& attempts);
std::optional<QsignAttempts> DecodeAttempts(absl::string_view text);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_QSIGN_H_
