// The provider sandbox: a DEVELOPMENT TOOL that plays every payment provider of the Qcash
// provider protocol (services/payment/connectors/provider_api.proto) on one loopback HTTP
// port, for the local run (scripts/up.d/20-payment.sh) and the integration tests. No money
// moves here. Every answer carries `X-Qcash-Sandbox: 1`, and the payment service refuses
// such answers unless QCASH_PAYMENT_DEV_SANDBOX=1.
//
// What it plays:
//   POST /providers/<p>/v1/payments[/lookup|/cancel]  the provider API (signed requests, P7)
//   GET  /pay/<payment id>              redirect family (and net banking's bank page): the
//                                       provider's page with 支払う (Pay) / 支払わない
//                                       (Decline) buttons
//   POST /pay/<payment id>              the button: decides, notifies, 303 to the return URL
//   POST /sandbox/orders/<order>/complete   counter family: the seller paid at the counter
//   POST /sandbox/orders/<order>/notify     (re)deliver signed notifications on request:
//        count=N (1..1000) copies, events=latest|all, order=forward|reverse, parallel=K
//   POST /sandbox/orders/<order>/reverse    the provider takes the payment back after it was
//        paid (issue 16): a new signed event "payment.reversed" (the payment as it is, still
//        "paid", and Event.reversal) with
//          kind=chargeback|default|refund   (default chargeback)
//          amount=<yen>                     (default: what is left of the payment; more than
//                                            is left is sent as asked: a provider's mistake,
//                                            which the payment service refuses)
//          reversal_id=<1..64 of [A-Za-z0-9_.-]>  (default rev_<random>; a known id sends the
//                                            same reversal again as a new event, with its
//                                            kind and amount: a redelivery under a new event id)
//          notify=sync|async|none           (default sync, as the other endpoints)
//          any_status=1                     reverse a payment that is not paid (a misbehaving
//                                            provider: a reversal of an order never paid)
//        Answers JSON {"event_id","reversal_id","kind","amount_yen","reversed_yen","delivery"}.
//        Redeliver it (duplicates) with .../notify?events=latest&count=N&parallel=K; deliver it
//        before the paid event by paying and reversing with notify=none, then
//        .../notify?events=all&order=reverse (newest first).
//        Refused 409 when the payment is not paid (without any_status=1) or nothing is left.
//        A card order is paid by the call that creates it (tok_visa), so it can be reversed at
//        once; a counter order once /complete paid it; a redirect order once /pay/<id> did.
//   POST /providers/<p>/v1/settlements   the provider API's settlement report of a day
//                                       (signed request {"date":"YYYY-MM-DD"}; text/csv, or
//                                       404 while the day is not over in JST nor closed)
//   GET  /sandbox/settlements/<p>/<YYYY-MM-DD>.csv   the same report as a plain download,
//                                       for operators' tests (any day, as it stands now)
//   POST /sandbox/settlements/<p>/<YYYY-MM-DD>/plant   plants a discrepancy in that day's
//        report: kind=omit|amount|duplicate|late with order=<order id> (late: days=N, the
//        line moves N days later; amount: amount_delta=1|-1), or kind=unknown
//   POST /sandbox/settlements/<p>/<YYYY-MM-DD>/close   closes the day: the provider API
//                                       serves it, and later payments settle the next day
//   (settlement.h: how days, fees and discrepancies work)
//   GET  /healthz
// Decisions and completions notify synchronously by default (notify=sync): the answer comes
// after the webhook answered. notify=async delivers in the background with retries,
// notify=none not at all. Card payments decide at once and notify asynchronously, as card
// providers do. State is in memory: a restart forgets every payment.
#ifndef QCASH_SERVICES_PAYMENT_SANDBOX_SANDBOX_H_
#define QCASH_SERVICES_PAYMENT_SANDBOX_SANDBOX_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/thread_pool.h"
#include "services/payment/sandbox/settlement.h"
#include "services/payment/secrets.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace qcash::payment::sandbox {

class Sandbox {
 public:
  struct Options {
    std::string public_url;    // how browsers reach the sandbox, e.g. http://127.0.0.1:18080
    std::string webhook_base;  // notifications go to <webhook_base>/webhooks/<provider>
    ProviderSecrets secrets;
    absl::Duration skew = absl::Seconds(300);
    int async_attempts_max = 5;
  };

  explicit Sandbox(Options options);
  ~Sandbox();  // finishes background deliveries
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Installs every route on `server`.
  void Register(httplib::Server& server);

 private:
  struct Event {
    std::string event_id;
    std::string body;  // the signed JSON, fixed when the event happened
  };
  struct Payment {
    std::string payment_id;
    std::string provider;
    std::string product;
    std::string merchant_reference;
    int64_t amount_yen = 0;
    std::string status;  // pending | paid | declined | cancelled | expired
    std::string return_url;
    std::string description;
    std::string decline_reason;
    int64_t pay_by_unix = 0;
    std::string institution, payment_number, confirmation_number, payee_name, instructions_url;
    std::vector<Event> events;
    int64_t reversed_yen = 0;  // the reversals sent so far (each id once)
    struct SentReversal {
      std::string kind;
      int64_t amount_yen = 0;
    };
    std::map<std::string, SentReversal> reversals;  // by reversal id
  };
  struct DeliveryReport {
    int attempted = 0;
    int succeeded = 0;            // 2xx answers
    std::map<int, int> statuses;  // HTTP status (0: no answer) -> count
  };

  void CreatePayment(const std::string& provider, const httplib::Request& req,
                     httplib::Response& res);
  void LookupOrCancel(const std::string& provider, bool cancel, const httplib::Request& req,
                      httplib::Response& res);
  void ShowPayPage(const std::string& payment_id, httplib::Response& res);
  void Decide(const std::string& payment_id, const httplib::Request& req, httplib::Response& res);
  void Complete(const std::string& order_id, const httplib::Request& req, httplib::Response& res);
  void Notify(const std::string& order_id, const httplib::Request& req, httplib::Response& res);
  void Reverse(const std::string& order_id, const httplib::Request& req, httplib::Response& res);

  // Authenticates a provider API request. False (and `res` filled) when it does not verify.
  bool Verify(const std::string& provider, const httplib::Request& req, httplib::Response& res);
  // Moves a pending payment to `status` with a new event. Returns false when not pending.
  bool Settle(Payment& p, const std::string& status, const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireIfDue(Payment& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddEvent(Payment& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A "payment.reversed" event of `p` with this reversal.
  void AddReversalEvent(Payment& p, const std::string& reversal_id, const std::string& kind,
                        int64_t amount_yen) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string PaymentJson(const Payment& p) const;
  Payment* FindByReference(const std::string& order_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends `events` (each `count` times, `parallel` at once) and reports the answers.
  DeliveryReport Deliver(const std::string& provider, const std::vector<Event>& events, int count,
                         int parallel);
  // notify=sync|async|none for the newest event of `p`.
  std::string NotifyNewest(const std::string& provider, const Event& event,
                           const std::string& mode);

  const Options options_;
  Mutex mu_;
  std::map<std::string, Payment> payments_ ABSL_GUARDED_BY(mu_);  // by payment id
  std::map<std::pair<std::string, std::string>, std::string> by_reference_
      ABSL_GUARDED_BY(mu_);                 // (provider, merchant reference) -> payment id
  std::unique_ptr<ThreadPool> background_;  // async deliveries
  SettlementDesk settlement_;               // issue 16: the settlement reports
};

}  // namespace qcash::payment::sandbox

#endif  // QCASH_SERVICES_PAYMENT_SANDBOX_SANDBOX_H_
