// The points service, assembled: event intake, monthly summaries, the conversion of last
// month's points into Qcash, the per-product views, and the background step that completes
// conversions left unfinished. The gRPC layer (server.cc) calls only this class; it knows
// nothing of gRPC itself: the wallet is reached through the WalletCredit interface and the
// time through the injected Clock.
//
// Conversion protocol (S3; exactly one credit per seller and month):
//   1. One short transaction decides: replay of the caller's key, the window, the amount, and
//      records the intent (a `conversions` row, pending, with a lease) before anything else.
//   2. Outside any transaction, the wallet is credited with the key derived from seller and
//      month (WalletIdempotencyKey), the amount and conversion id fixed in the intent.
//   3. The outcome is recorded: completed, or failed when the wallet refused (nothing was
//      credited), or the lease is released when the outcome is unknown.
// A crash between 2 and 3 leaves a pending intent whose lease expires; the background step then
// calls the wallet again with the same key and content, the wallet answers its stored result,
// and the intent completes. Any number of concurrent calls converge on one credit.
#ifndef QCASH_SERVICES_POINTS_POINTS_H_
#define QCASH_SERVICES_POINTS_POINTS_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/types/optional.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "services/points/calendar.h"
#include "services/points/clock.h"
#include "services/points/rules.h"
#include "services/points/store.h"

namespace qcash::points {

// The wallet as the points service needs it: one idempotent credit of a conversion.
class WalletCredit {
 public:
  struct Receipt {
    int64_t entry_seq = 0;  // the wallet journal's seq of the credit
    bool replayed = false;  // the wallet had applied this key before
  };
  virtual ~WalletCredit() = default;
  // Credits `amount_yen` (source POINTS_CONVERSION) with `idempotency_key` and `reference`;
  // `points_month` ("YYYY-MM", the month of the converted points) is what the credit's lot
  // records about its origin (the wallet's provenance, DESIGN.md section 8).
  // Errors: the wallet's, after its client's bounded retries (wallet::IsDefiniteRefusal tells
  // a refusal from an unknown outcome).
  virtual absl::StatusOr<Receipt> CreditConversion(const std::string& seller_id,
                                                   const std::string& idempotency_key,
                                                   int64_t amount_yen, const std::string& reference,
                                                   const std::string& points_month) = 0;
};

// A period as asked: a month, an inclusive date range, or nothing (the view's default).
struct PeriodQuery {
  absl::optional<absl::CivilMonth> month;
  absl::optional<DayRange> days;
};

struct MonthSummary {
  absl::CivilMonth month;
  Totals points;
  absl::CivilMonth points_month;  // month - 1: the month whose points convert during `month`
  Totals previous_month_points;
  WindowVerdict verdict;
  TimeRange window;                             // all of `month`
  absl::optional<ConversionRecord> conversion;  // of points_month, if converted or pending
};

struct ConvertRequest {
  std::string caller;
  std::string seller_id;
  std::string idempotency_key;
  absl::optional<absl::CivilMonth> points_month;
};

struct ConvertResult {
  ConversionRecord conversion;
  bool replayed = false;
};

struct ProductQuery {
  std::string seller_id;
  PeriodQuery period;
  ProductFilter filter;
  int page_size = 0;       // 0: the default
  std::string page_token;  // empty: the first page
};

struct ConversionListQuery {
  std::string seller_id;
  absl::optional<absl::CivilMonth> from_month;  // inclusive; unset: no lower bound
  absl::optional<absl::CivilMonth> to_month;    // inclusive; unset: no upper bound
  int page_size = 0;                            // 0: kConversionPageSizeDefault
  std::string page_token;                       // empty: the first page
};

struct ConversionPage {
  std::vector<ConversionRecord> conversions;  // newest points month first
  std::string next_page_token;                // empty on the last page
};

struct ProductPage {
  DayRange days;
  std::vector<ProductRow> products;
  std::string next_page_token;
};

struct ShippingDetail {
  DayRange days;
  std::string product_no;
  struct Day {
    absl::CivilDay day;
    int64_t points = 0;
    int64_t events = 0;
  };
  struct PerSaleType {
    SaleType sale_type = SaleType::kGeneral;
    int64_t points = 0;
    int64_t events = 0;
    std::vector<Day> days;
  };
  std::vector<PerSaleType> details;  // general first; only sale types that occurred
};

inline constexpr int kPageSizeDefault = 50;
// The exit status of the TEST-ONLY failpoint exit_after_wallet_credit.
inline constexpr int kFailpointExitCode = 86;
inline constexpr int kPageSizeMax = 500;
// ListConversions: a year of months by default, ten years at most.
inline constexpr int kConversionPageSizeDefault = 12;
inline constexpr int kConversionPageSizeMax = 120;

class Points {
 public:
  struct Options {
    std::string database_url;
    int pool_size = 16;
    // How long a process may drive one conversion before another may take over. Must exceed
    // the wallet client's worst case (attempts x attempt timeout + backoff), so that a live
    // call is not duplicated; a duplicate would still be harmless (same key, same content).
    std::chrono::milliseconds conversion_lease{30'000};
    std::chrono::milliseconds completer_interval{5'000};
    int completer_batch_max = 100;
    // TEST-ONLY failpoint, off by default: the process _exit()s right after the wallet
    // confirmed a conversion credit and before it is recorded (the crash-recovery test).
    bool exit_after_wallet_credit = false;
  };

  // Loads the time zone, connects, applies the migrations and starts the background step.
  // `clock` and `wallet` must outlive the Points.
  // Errors: INTERNAL (TIME_ZONE_DATA_MISSING), UNAVAILABLE (PostgreSQL), a migration's.
  static absl::StatusOr<std::unique_ptr<Points>> Start(Options options, const Clock* clock,
                                                       WalletCredit* wallet);
  ~Points();  // Stop()
  Points(const Points&) = delete;
  Points& operator=(const Points&) = delete;

  // S1: records `events` for `caller`, all or nothing; per event whether it was a replay.
  // Errors: see qcash.points.v1.PointsService.RecordPointEvents.
  absl::StatusOr<std::vector<bool>> RecordEvents(const std::string& caller,
                                                 const std::vector<PointEvent>& events);

  // S2, S3: the month's points and 本月可以转换的积分. `month` unset: the clock's month.
  absl::StatusOr<MonthSummary> GetSummary(const std::string& seller_id,
                                          absl::optional<absl::CivilMonth> month);

  // S3: converts last month's points (the protocol above).
  absl::StatusOr<ConvertResult> Convert(const ConvertRequest& request);

  // The seller's conversions (completed or in progress), newest points month first.
  // Errors: see qcash.points.v1.PointsService.ListConversions.
  absl::StatusOr<ConversionPage> ListConversions(const ConversionListQuery& query);

  // S4, S5: products of the current view (kCurrent) or the past view (kPast).
  absl::StatusOr<ProductPage> ListProducts(View view, const ProductQuery& query);

  // S4: one product's shipping points per sale type and day (current view).
  absl::StatusOr<ShippingDetail> GetShippingDetail(const std::string& seller_id,
                                                   const std::string& product_no,
                                                   const PeriodQuery& period);

  // Drives every pending conversion whose lease has expired to its outcome, at most
  // completer_batch_max. Returns how many completed. The background step calls this.
  absl::StatusOr<int> CompleteStaleConversions();

  // Stops the background step.
  void Stop();

  const Calendar& calendar() const { return calendar_; }

 private:
  Points(Options options, Calendar calendar, const Clock* clock, WalletCredit* wallet);

  struct Decision;
  absl::StatusOr<Decision> Decide(PgConnection& conn, const ConvertRequest& request,
                                  const std::string& request_hash);
  // Steps 2 and 3 for an intent this process holds the lease of.
  // `driver` ("request", "background") labels the metrics.
  absl::StatusOr<ConversionRecord> Drive(ConversionRecord intent, absl::string_view driver);
  absl::StatusOr<DayRange> ResolvePeriod(View view, const PeriodQuery& period);
  void CompleterLoop() ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  const Calendar calendar_;
  const Clock* const clock_;
  WalletCredit* const wallet_;
  std::unique_ptr<PgPool> pool_;

  Mutex mu_;
  CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread completer_;
};

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_POINTS_H_
