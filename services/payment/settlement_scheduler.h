// The scheduled settlement import inside the payment service (issue 16): every interval, for
// each configured provider, fetch the settlement report of each day of the look-back window
// not fetched yet (POST <provider>/v1/settlements, signed like every provider call; a 404
// means the day is not settled yet), import it (Settlement::Import), then run the overdue
// check and refresh the settlement metrics. No database connection is held while a provider
// is asked (DESIGN.md P5).
#ifndef QCASH_SERVICES_PAYMENT_SETTLEMENT_SCHEDULER_H_
#define QCASH_SERVICES_PAYMENT_SETTLEMENT_SCHEDULER_H_

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "services/payment/settlement.h"

namespace qcash::payment {

struct SettlementSchedule {
  absl::Duration interval = absl::Hours(1);
  int lookback_days = 7;  // today (JST) and the days before it
  // provider -> base URL and secret (the connectors' configuration, registry.h).
  std::map<std::string, std::string> provider_urls;
  std::map<std::string, std::string> secrets;
  bool allow_sandbox = false;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{30000};
};

// Fetches one day's report. Returns the CSV; NOT_FOUND while the day is not settled.
// Errors: UNAVAILABLE (PROVIDER_UNAVAILABLE, PROVIDER_AUTH_FAILED, PROVIDER_BAD_ANSWER: over
// the report size limit), FAILED_PRECONDITION (SANDBOX_REFUSED).
absl::StatusOr<std::string> FetchSettlementReport(const std::string& provider,
                                                  const std::string& base_url,
                                                  const std::string& secret, absl::CivilDay day,
                                                  const SettlementSchedule& schedule);

class SettlementScheduler {
 public:
  // REQUIRES: `settlement` outlives the scheduler.
  SettlementScheduler(Settlement* settlement, SettlementSchedule schedule);
  ~SettlementScheduler();  // Stop()
  SettlementScheduler(const SettlementScheduler&) = delete;
  SettlementScheduler& operator=(const SettlementScheduler&) = delete;

  void Start();
  void Stop();
  // One pass (what the loop runs every interval); exposed for tests.
  void RunOnce();

 private:
  Settlement* const settlement_;
  const SettlementSchedule schedule_;  // constant after construction
  Notification stop_;
  std::thread thread_;  // Start/Stop only (one caller)
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_SETTLEMENT_SCHEDULER_H_
