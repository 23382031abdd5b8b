// The provider sandbox's settlement desk (issue 16): what each provider pays out per JST day,
// as the settlement report of services/payment/connectors/provider_api.proto, built from the
// payments the sandbox knows as paid. DEVELOPMENT TOOL, like the rest of the sandbox.
//
// Every paid payment is settled on the JST day it was paid, unless that day was closed
// already (then on the next open day). A day's report is served by the provider API once the
// day is over (JST) or was closed on request; the operators' download serves any day as it
// stands. Lines are sorted by transaction id, so a day's report is the same bytes every time
// it is asked for (until a discrepancy is planted in it).
//
// Fees (deterministic, per provider: rate of the amount, rounded down, plus a fixed part,
// at most the amount): card 3.60%; paypal 3.60% + 40 yen; atone 3.90%; paidy 3.50%;
// linepay 3.45%; au 3.50%; bank_transfer 165 yen; konbini 190 yen; paygent 150 yen.
//
// Discrepancies planted on request (kind=, one per request, in the day given):
//   omit       the order's line is left out (a paid order never settled)
//   amount     the order's amount is one yen more (amount_delta=-1 for one yen less)
//   unknown    a line for a transaction and an order reference no one knows
//   duplicate  the order's line appears twice
//   late       the order's line moves to a later day (days=N, default 1)
#ifndef QCASH_SERVICES_PAYMENT_SANDBOX_SETTLEMENT_H_
#define QCASH_SERVICES_PAYMENT_SANDBOX_SETTLEMENT_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace qcash::payment::sandbox {

// The fee of `amount_yen` at `provider` (the table above).
int64_t SandboxFeeYen(const std::string& provider, int64_t amount_yen);

class SettlementDesk {
 public:
  // Authenticates a provider API request as the sandbox does for every call (false, and the
  // answer filled, when it does not verify).
  using Verifier = std::function<bool(const std::string& provider, const httplib::Request& req,
                                      httplib::Response& res)>;

  SettlementDesk() = default;
  SettlementDesk(const SettlementDesk&) = delete;
  SettlementDesk& operator=(const SettlementDesk&) = delete;

  // A payment became paid at `paid_at`: it settles on that JST day, or the next open one.
  void RecordPaid(const std::string& provider, const std::string& payment_id,
                  const std::string& merchant_reference, int64_t amount_yen, absl::Time paid_at)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Installs the routes (sandbox.h lists them).
  void Register(httplib::Server& server, const Verifier& verify);

  // The report of `provider` for `day`, as the CSV text.
  std::string Report(const std::string& provider, absl::CivilDay day) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Paid {
    std::string payment_id;
    std::string merchant_reference;
    int64_t amount_yen = 0;
    absl::CivilDay paid_day;
    absl::CivilDay settle_day;
  };
  struct Plant {
    std::string kind;  // omit | amount | unknown | duplicate | late
    std::string merchant_reference;
    int64_t amount_delta = 1;
    int days = 1;
    int serial = 0;  // unknown: which one
  };
  using Key = std::pair<std::string, absl::CivilDay>;  // provider, day

  void ServeApi(const std::string& provider, const httplib::Request& req, httplib::Response& res);
  void ServeDownload(const std::string& provider, const std::string& date, httplib::Response& res);
  void PlantOne(const std::string& provider, const std::string& date, const httplib::Request& req,
                httplib::Response& res);
  void Close(const std::string& provider, const std::string& date, httplib::Response& res);
  bool Servable(const std::string& provider, absl::CivilDay day) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Mutex mu_;
  std::map<std::string, std::vector<Paid>> paid_ ABSL_GUARDED_BY(mu_);  // by provider
  std::set<Key> closed_ ABSL_GUARDED_BY(mu_);
  std::map<Key, std::vector<Plant>> plants_ ABSL_GUARDED_BY(mu_);
  int unknown_serial_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace qcash::payment::sandbox

#endif  // QCASH_SERVICES_PAYMENT_SANDBOX_SETTLEMENT_H_
