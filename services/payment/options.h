// The payment service's settings, in one place so that main.cc fills one struct; each part
// (orders, notifications, Q-sign vault, reconciler) copies what it needs at construction.
#ifndef QCASH_SERVICES_PAYMENT_OPTIONS_H_
#define QCASH_SERVICES_PAYMENT_OPTIONS_H_

#include <string>

#include "absl/time/time.h"
#include "services/payment/qsign.h"

namespace qcash::payment {

inline constexpr size_t kNotificationBodyLengthMax = 64 * 1024;
inline constexpr size_t kNotificationHeadersMax = 64;

struct PaymentOptions {
  std::string database_url;
  int database_pool_size = 16;
  // Where a provider sends the seller back to after its page (the gateway); the order id is
  // appended as ?order_id=...
  std::string return_url = "http://127.0.0.1:8080/charge/done";
  absl::Duration instant_ttl = absl::Minutes(15);
  absl::Duration redirect_ttl = absl::Minutes(30);
  absl::Duration counter_ttl = absl::Hours(72);
  // P3: the Q-sign password.
  QsignLockPolicy qsign_lock;
  QsignThrottlePolicy qsign_throttle;
  int password_hashes_max = 2;  // concurrent argon2id computations, 64 MiB each
  absl::Duration password_hash_wait = absl::Milliseconds(500);
  absl::Duration password_hash_retry_after = absl::Seconds(1);
  // P7: stored notifications are deleted this long after they were received, by the
  // reconciler every retention_interval, in batches of retention_batch_max rows (at most
  // retention_batches_max batches a pass). Rejected ones are never stored; at most
  // rejected_log_per_minute of them are logged.
  absl::Duration notification_retention = absl::Hours(24 * 90);
  absl::Duration retention_interval = absl::Hours(1);
  int retention_batch_max = 1000;
  int retention_batches_max = 10;
  int rejected_log_per_minute = 10;
  // Reconciler.
  absl::Duration reconcile_interval = absl::Seconds(1);
  int reconcile_batch_max = 100;
  absl::Duration claim_lease = absl::Seconds(30);
  absl::Duration poll_interval = absl::Minutes(5);  // ask the provider about waiting orders
  absl::Duration created_check_after = absl::Minutes(1);
  absl::Duration retry_backoff_max = absl::Seconds(60);
  // Settlement reconciliation (issue 16, services/payment/settlement*.h): the scheduled
  // import's period and look-back (today and the days before, JST), and the due period after
  // which a paid order with no settlement is NOT_SETTLED (and a later line SETTLED_LATE).
  absl::Duration settlement_interval = absl::Hours(1);
  int settlement_lookback_days = 7;
  absl::Duration settlement_due = absl::Hours(72);
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_OPTIONS_H_
