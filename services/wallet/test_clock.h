// The wallet's settable clock, for tests that drive a running process across base dates.
//
// The journal is dated by the database's clock, and the issuer's books (books.h) depend on
// dates: a base date's period ends at 24:00 JST, and entries at 23:59:59 and 00:00:00 JST
// fall on either side. A test configuration of a development build (QCASH_WALLET_TEST_CLOCK=1
// with QCASH_INSECURE_DEV=1, main.cc) dates every batch by this clock once it is set, through
// the qcash.wallet.v1.WalletTestClock service. Release builds contain none of it (DESIGN.md
// section 7).
#ifndef QCASH_SERVICES_WALLET_TEST_CLOCK_H_
#define QCASH_SERVICES_WALLET_TEST_CLOCK_H_

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace qcash::wallet {

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
// Reads the system clock until Set() is called; from then on it stands still at the instant
// last set. Thread-safe. Development builds only.
class SettableClock final : public Clock {
 public:
  absl::Time Now() const override ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return set_ ? now_ : absl::Now();
  }
  // The instant set, or nullopt before the first Set(): the time a ledger batch is given
  // (store.h ApplyBatch's fixed_now), so that an unset clock changes nothing.
  std::optional<absl::Time> Fixed() const ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return set_ ? std::optional<absl::Time>(now_) : std::nullopt;
  }
  void Set(absl::Time t) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    set_ = true;
    now_ = t;
  }

 private:
  mutable Mutex mu_;
  bool set_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};
#endif

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_TEST_CLOCK_H_
