#include "services/payment/qsign_vault.h"

#include <utility>

#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/order.h"
#include "services/payment/order_flow.h"

namespace qcash::payment {
namespace {

metrics::Counter* QsignChecks() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_qsign_checks_total",
      "Q-sign password sets and checks by result: ok, wrong, locked, not_set, limited (the "
      "seller's limit), busy (no hashing slot) (P3).",
      {"result"});
  return counter;
}

// A change of the Q-sign row made meanwhile makes RecordCheck read it again; each round is
// one guarded UPDATE, and changes of one seller's row are limited by the seller's window.
constexpr int kQsignUpdateRoundsMax = 8;

}  // namespace

QsignVault::QsignVault(OrderStore* store, const Clock* clock, const PaymentOptions& options)
    : store_(store),
      clock_(clock),
      lock_(options.qsign_lock),
      throttle_(options.qsign_throttle),
      hash_slots_(options.password_hashes_max, options.password_hash_wait,
                  options.password_hash_retry_after) {}

absl::StatusOr<std::string> QsignVault::Problem(const std::string& seller_id) {
  return store_->Run([&](OrderStore::Session& session) -> absl::StatusOr<std::string> {
    auto row = session.LoadQsign(seller_id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return std::string("QSIGN_PASSWORD_NOT_SET");
    if (IsLocked((*row)->attempts, clock_->Now())) return std::string("QSIGN_LOCKED");
    return std::string();
  });
}

absl::StatusOr<std::optional<QsignRow>> QsignVault::Admit(OrderStore::Session& session,
                                                          const std::string& seller_id,
                                                          bool require_password) {
  auto row = session.LoadQsign(seller_id);
  if (!row.ok()) return row.status();
  if (!row->has_value() && require_password) {
    QsignChecks()->Add({"not_set"});
    return FailedPrecondition(payment::v1::QSIGN_PASSWORD_NOT_SET,
                              "set a Q-sign password before paying with Qmoney or pending "
                              "settlement");
  }
  if (row->has_value() && IsLocked((*row)->attempts, clock_->Now())) {
    QsignChecks()->Add({"locked"});
    return LockedStatus((*row)->attempts.locked_until);
  }
  // Counted before any hash: concurrent calls cannot buy more guesses than the window holds.
  auto count = session.CountQsignCheck(seller_id, throttle_);
  if (!count.ok()) return count.status();
  if (absl::Status s = ThrottleStatus(count->window, count->now, throttle_); !s.ok()) {
    QsignChecks()->Add({"limited"});
    return s;
  }
  return std::move(*row);
}

absl::StatusOr<bool> QsignVault::VerifyInSlot(const std::string& hash,
                                              const std::string& password) {
  auto slot = hash_slots_.Acquire();
  if (!slot.ok()) {
    QsignChecks()->Add({"busy"});
    return slot.status();
  }
  return VerifyQsignPassword(hash, password);
}

absl::Status QsignVault::RecordCheck(const std::string& seller_id, QsignRow row, bool matches) {
  return store_->Run([&](OrderStore::Session& session) -> absl::Status {
    for (int round = 0; round < kQsignUpdateRoundsMax; ++round) {
      const absl::Time now = clock_->Now();
      if (IsLocked(row.attempts, now)) {
        // Another check locked the seller while this one hashed: the lock wins (P3).
        QsignChecks()->Add({"locked"});
        return LockedStatus(row.attempts.locked_until);
      }
      if (matches && row.attempts.failed == 0) {
        QsignChecks()->Add({"ok"});
        return absl::OkStatus();  // nothing to write
      }
      const QsignAttempts next =
          matches ? AfterRightPassword(row.attempts) : AfterWrongPassword(row.attempts, now, lock_);
      auto stored = session.StoreQsignAttempts(seller_id, next, row.version);
      if (!stored.ok()) return stored.status();
      if (*stored) {
        QsignChecks()->Add({matches ? "ok" : "wrong"});
        if (matches) return absl::OkStatus();
        if (IsLocked(next, now)) {
          Log(LogLevel::kWarn, "qsign_locked",
              {{"seller_id", seller_id},
               {"lockouts", next.lockouts},
               {"lock_s", absl::ToInt64Seconds(next.locked_until - now)}});
          return LockedStatus(next.locked_until);
        }
        return WrongPasswordStatus(next);
      }
      // The row changed while this call hashed (another check, or a new password): apply
      // the rule to the row as it is now, unless the password itself is another one.
      auto reread = session.LoadQsign(seller_id);
      if (!reread.ok()) return reread.status();
      if (!reread->has_value() || (*reread)->password_hash != row.password_hash) {
        return Aborted(common::v1::DATABASE_CONFLICT,
                       "the Q-sign password changed meanwhile; retry");
      }
      row = std::move(**reread);
    }
    return Aborted(common::v1::DATABASE_CONFLICT,
                   "the Q-sign password is checked concurrently; retry");
  });
}

absl::Status QsignVault::CheckPassword(const std::string& seller_id, const std::string& password) {
  auto row = store_->Run([&](OrderStore::Session& session) {
    return Admit(session, seller_id, /*require_password=*/true);
  });
  if (!row.ok()) return row.status();
  // Released: argon2id runs with no connection held and no transaction open.
  auto matches = VerifyInSlot((*row)->password_hash, password);
  if (!matches.ok()) return matches.status();
  return RecordCheck(seller_id, std::move(**row), *matches);
}

absl::StatusOr<bool> QsignVault::SetPassword(const std::string& caller,
                                             const std::string& seller_id,
                                             const std::string& idempotency_key,
                                             const std::string& current_password,
                                             const std::string& new_password) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (absl::Status s = CheckIdempotencyKey(idempotency_key); !s.ok()) return s;
  if (absl::Status s = ValidateQsignPassword(new_password); !s.ok()) return s;
  struct Admitted {
    bool replay = false;
    std::optional<QsignRow> row;
  };
  auto admitted = store_->Run([&](OrderStore::Session& session) -> absl::StatusOr<Admitted> {
    // A replayed key answers the stored success and changes nothing.
    auto replay = FindReplay(session, caller, seller_id, idempotency_key, "qsign", "");
    if (!replay.ok()) return replay.status();
    if (*replay) return Admitted{true, std::nullopt};
    auto current = session.LoadQsign(seller_id);
    if (!current.ok()) return current.status();
    if (current->has_value() && current_password.empty() &&
        !IsLocked((*current)->attempts, clock_->Now())) {
      return InvalidArgument(payment::v1::MISSING_QSIGN_PASSWORD,
                             "changing the Q-sign password needs the current one");
    }
    auto row = Admit(session, seller_id, /*require_password=*/false);
    if (!row.ok()) return row.status();
    return Admitted{false, std::move(*row)};
  });
  if (!admitted.ok()) return admitted.status();
  if (admitted->replay) return true;
  std::optional<QsignRow>& row = admitted->row;
  // Released: no connection is held while argon2id runs.
  if (row.has_value()) {
    auto matches = VerifyInSlot(row->password_hash, current_password);
    if (!matches.ok()) return matches.status();
    if (!*matches) return RecordCheck(seller_id, std::move(*row), false);
  }
  absl::StatusOr<std::string> hash;
  {
    auto slot = hash_slots_.Acquire();
    if (!slot.ok()) {
      QsignChecks()->Add({"busy"});
      return slot.status();
    }
    hash = HashQsignPassword(new_password);
  }
  if (!hash.ok()) return hash.status();
  absl::Status stored = store_->Transact([&](OrderStore::Session& session) -> absl::Status {
    if (row.has_value()) {
      // Only if nothing changed since the current password was checked (no lock, no other
      // new password): otherwise the caller retries with the same key and is checked again.
      auto replaced = session.StoreQsignHash(seller_id, *hash, row->version);
      if (!replaced.ok()) return replaced.status();
      if (!*replaced) {
        return Aborted(common::v1::DATABASE_CONFLICT,
                       "the Q-sign password changed meanwhile; retry");
      }
    } else {
      auto created = session.CreateQsign(seller_id, *hash);
      if (!created.ok()) return created.status();
      if (!*created) {
        // Another call set the first password meanwhile: changing it needs that one now.
        return Aborted(common::v1::DATABASE_CONFLICT, "the password was set concurrently; retry");
      }
    }
    auto recorded = session.InsertRequestKey(caller, seller_id, idempotency_key, {"qsign", "", ""});
    if (!recorded.ok()) return recorded.status();
    if (!*recorded) return Aborted(common::v1::DATABASE_CONFLICT, "retry with the same key");
    return absl::OkStatus();
  });
  if (!stored.ok()) return stored;
  QsignChecks()->Add({"ok"});
  Log(LogLevel::kInfo, "qsign_password_set",
      {{"seller_id", seller_id}, {"changed", row.has_value()}});
  return false;
}

}  // namespace qcash::payment
