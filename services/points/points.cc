#include "services/points/points.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/migrate.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "qcash/wallet/v1/error_reason.pb.h"
#include "services/points/page_token.h"
#include "services/wallet/client/refusal.h"

namespace qcash::points {

// Defined by qcash_embed_migrations() from migrations/*.sql.
const std::vector<Migration>& Migrations();

namespace {

// A decision lost a race with a concurrent request (its insert found a row committed
// meanwhile): decide again, at most this many times.
constexpr int kDecideAttemptsMax = 3;

absl::Status CheckFilter(const ProductFilter& filter) {
  if (!filter.product_no.empty() && !IsPrintableAscii(filter.product_no, kProductNoLengthMax)) {
    return InvalidArgument(v1::INVALID_FILTER,
                           "the product_no filter must be at most 64 printable ASCII characters");
  }
  if (!IsCleanText(filter.category, kCategoryLengthMax)) {
    return InvalidArgument(v1::INVALID_FILTER,
                           "the category filter must be at most 128 bytes of UTF-8 text");
  }
  if (!IsCleanText(filter.product_name_contains, kProductNameLengthMax)) {
    return InvalidArgument(v1::INVALID_FILTER,
                           "the product name filter must be at most 256 bytes of UTF-8 text");
  }
  return absl::OkStatus();
}

// What the seller gets when the wallet refused a conversion: the wallet's own reason where
// the seller can act on it, otherwise an internal error (a bug or a misconfiguration of ours).
absl::Status SellerFacingRefusal(const absl::Status& wallet_status) {
  if (ReasonIs(wallet_status, wallet::v1::WALLET_CLOSED)) {
    return FailedPrecondition(v1::WALLET_CLOSED,
                              "the shop's wallet is closed (W5): nothing was converted");
  }
  if (ReasonIs(wallet_status, wallet::v1::BALANCE_LIMIT_EXCEEDED)) {
    return FailedPrecondition(v1::BALANCE_LIMIT_EXCEEDED,
                              "the wallet cannot take this credit: nothing was converted");
  }
  if (ReasonIs(wallet_status, wallet::v1::WALLET_NOT_FOUND)) {
    return NotFound(v1::WALLET_NOT_FOUND,
                    "the seller has no Qcash wallet yet: nothing was converted; open the "
                    "wallet and convert again within the window");
  }
  return Internal(v1::WALLET_REJECTED, absl::StrCat("the wallet refused the conversion credit: ",
                                                    wallet_status.ToString()));
}

// Labels come from fixed sets only (never seller ids or keys).
metrics::Counter* EventsCounter() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_points_events_total", "Point events received, by result (recorded, replayed).",
      {"result"});
  return counter;
}

metrics::Counter* ConversionsCounter() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_points_conversion_wallet_calls_total",
      "Wallet credits of conversions, by outcome (completed, refused, unknown) and by who "
      "drove them (request, background).",
      {"outcome", "driver"});
  return counter;
}

}  // namespace

struct Points::Decision {
  ConversionRecord record;
  bool drive = false;     // this process holds the lease and must call the wallet
  bool replayed = false;  // answered for an earlier request with the same key
};

Points::Points(Options options, Calendar calendar, const Clock* clock, WalletCredit* wallet)
    : options_(std::move(options)), calendar_(calendar), clock_(clock), wallet_(wallet) {}

absl::StatusOr<std::unique_ptr<Points>> Points::Start(Options options, const Clock* clock,
                                                      WalletCredit* wallet) {
  auto calendar = Calendar::Load();
  if (!calendar.ok()) return calendar.status();
  {
    auto conn = PgConnection::Connect(options.database_url, "qcash-points-migrate");
    if (!conn.ok()) return conn.status();
    if (absl::Status s = ApplyMigrations(**conn, Migrations()); !s.ok()) return s;
  }
  std::unique_ptr<Points> points(new Points(std::move(options), *calendar, clock, wallet));
  const Options& kept = points->options_;
  points->pool_ = std::make_unique<PgPool>(kept.database_url, "qcash-points", kept.pool_size);
  Points* p = points.get();
  points->completer_ = std::thread([p] { p->CompleterLoop(); });
  return points;
}

Points::~Points() { Stop(); }

void Points::Stop() {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.SignalAll();
  if (completer_.joinable()) completer_.join();
}

// ---------------------------------------------------------------------------- events (S1)

absl::StatusOr<std::vector<bool>> Points::RecordEvents(const std::string& caller,
                                                       const std::vector<PointEvent>& events) {
  if (events.empty()) return InvalidArgument(v1::NO_EVENTS, "events must not be empty");
  if (events.size() > kEventsPerCallMax) {
    return InvalidArgument(
        v1::TOO_MANY_EVENTS,
        absl::StrCat("at most ", kEventsPerCallMax, " events per call, got ", events.size()));
  }
  const absl::Time now = clock_->Now();
  std::vector<std::string> hashes;
  hashes.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    if (absl::Status s = ValidateEvent(events[i], now); !s.ok()) {
      return WithMessage(s, absl::StrCat("events[", i, "]: ", s.message()));
    }
    hashes.push_back(EventHash(events[i]));
  }
  // An id twice in one call: the same content counts once, different content is a reuse.
  absl::flat_hash_map<std::string, size_t> first_index;
  std::vector<const PointEvent*> unique;
  std::vector<std::string> unique_hashes;
  std::vector<size_t> unique_of(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    auto [it, inserted] = first_index.emplace(events[i].event_id, unique.size());
    if (inserted) {
      unique.push_back(&events[i]);
      unique_hashes.push_back(hashes[i]);
    } else if (unique_hashes[it->second] != hashes[i]) {
      return InvalidArgument(v1::EVENT_ID_REUSED,
                             absl::StrCat("events[", i, "]: event id '", events[i].event_id,
                                          "' appears earlier in this call with different "
                                          "content"));
    }
    unique_of[i] = it->second;
  }
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto recorded = points::RecordEvents(**conn, caller, unique, unique_hashes);
  if (!recorded.ok()) return recorded.status();
  std::vector<bool> replayed(events.size());
  int64_t replays = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    // The second occurrence of an id within the call is a replay of the first.
    const bool repeat_in_call = unique[unique_of[i]] != &events[i];
    replayed[i] = repeat_in_call || (*recorded)[unique_of[i]];
    replays += replayed[i] ? 1 : 0;
  }
  EventsCounter()->Add({"recorded"}, static_cast<double>(events.size() - replays));
  EventsCounter()->Add({"replayed"}, static_cast<double>(replays));
  return replayed;
}

// ---------------------------------------------------------------------------- summary (S2, S3)

absl::StatusOr<MonthSummary> Points::GetSummary(const std::string& seller_id,
                                                absl::optional<absl::CivilMonth> month) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  const absl::CivilMonth current = calendar_.MonthOf(clock_->Now());
  MonthSummary summary;
  summary.month = month.value_or(current);
  if (summary.month > current) {
    return InvalidArgument(v1::MONTH_IN_FUTURE,
                           absl::StrCat(FormatMonth(summary.month),
                                        " has not begun (now: ", FormatMonth(current), " JST)"));
  }
  // S5: the summary is a current view.
  if (absl::Status s = CheckViewRange(View::kCurrent, DaysOfMonth(summary.month)); !s.ok()) {
    return s;
  }
  summary.points_month = summary.month - 1;
  summary.window = calendar_.MonthRange(summary.month);
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  // S2: each month is summed over its own instants only; nothing carries over.
  auto points = SumPoints(**conn, seller_id, summary.window);
  if (!points.ok()) return points.status();
  summary.points = *points;
  auto previous = SumPoints(**conn, seller_id, calendar_.MonthRange(summary.points_month));
  if (!previous.ok()) return previous.status();
  summary.previous_month_points = *previous;
  auto conversion = GetConversion(**conn, seller_id, summary.points_month);
  if (!conversion.ok()) return conversion.status();
  const ConversionRecord* record = conversion->has_value() ? &**conversion : nullptr;
  summary.verdict = DecideWindow(summary.month, current, previous->total, record);
  if (record != nullptr && record->state != ConversionState::kFailed) {
    summary.conversion = *record;
  }
  return summary;
}

// ---------------------------------------------------------------------------- conversion (S3)

absl::StatusOr<Points::Decision> Points::Decide(PgConnection& conn, const ConvertRequest& request,
                                                const std::string& request_hash) {
  const absl::Time now = clock_->Now();
  const absl::CivilMonth current = calendar_.MonthOf(now);
  // Every return below without a Commit() rolls the transaction back (~PgTransaction).
  auto tx = PgTransaction::Begin(conn);
  if (!tx.ok()) return tx.status();

  // Idempotency first: a retry answers for the month of the original request, whatever the
  // clock says now.
  auto by_key =
      LockConversionByKey(conn, request.seller_id, request.caller, request.idempotency_key);
  if (!by_key.ok()) return by_key.status();
  if (by_key->has_value()) {
    ConversionRecord record = **by_key;
    if (record.request_hash != request_hash) {
      return InvalidArgument(v1::IDEMPOTENCY_KEY_REUSED,
                             "this idempotency_key was used for a different conversion request");
    }
    if (record.state == ConversionState::kCompleted) {
      return Decision{std::move(record), /*drive=*/false, /*replayed=*/true};
    }
    if (record.state == ConversionState::kFailed) {
      // Asked again after a refusal: a new attempt, still only within the month's window.
      auto window = ConvertibleMonth(current, record.points_month);
      if (!window.ok()) {
        return window.status();
      }
      record.requested_at = now;
    }
    auto claimed = ClaimConversion(conn, record, options_.conversion_lease);
    if (!claimed.ok()) return claimed.status();
    if (absl::Status committed = tx->Commit(); !committed.ok()) return committed;
    if (!*claimed) {
      return Aborted(v1::CONVERSION_IN_PROGRESS,
                     "this conversion is being processed; retry with the same key shortly");
    }
    return Decision{std::move(record), /*drive=*/true, /*replayed=*/true};
  }

  // S3: during month M only M-1 converts.
  auto target = ConvertibleMonth(current, request.points_month);
  if (!target.ok()) {
    return target.status();
  }
  auto existing = LockConversion(conn, request.seller_id, *target);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    ConversionRecord record = **existing;
    switch (record.state) {
      case ConversionState::kCompleted:
        return FailedPrecondition(
            v1::ALREADY_CONVERTED,
            absl::StrCat("the points of ", FormatMonth(*target), " were already converted (",
                         record.converted_points, " points, conversion ", record.conversion_id,
                         "); 本月可以转换的积分 is 0"));
      case ConversionState::kPending:
        return Aborted(v1::CONVERSION_IN_PROGRESS,
                       absl::StrCat("the conversion of ", FormatMonth(*target),
                                    " is being processed; retry shortly"));
      case ConversionState::kFailed: {
        // A refused attempt (nothing credited) taken over by this request. The amount stays
        // as first fixed, so any late wallet answer of the earlier attempt matches it.
        record.caller = request.caller;
        record.idempotency_key = request.idempotency_key;
        record.request_hash = request_hash;
        record.requested_at = now;
        auto claimed = ClaimConversion(conn, record, options_.conversion_lease);
        if (!claimed.ok()) return claimed.status();
        if (absl::Status committed = tx->Commit(); !committed.ok()) return committed;
        if (!*claimed) {
          return Aborted(v1::CONVERSION_IN_PROGRESS,
                         "this conversion is being processed; retry shortly");
        }
        return Decision{std::move(record), /*drive=*/true, /*replayed=*/false};
      }
      default:
        return Internal(v1::UNKNOWN_CONVERSION_STATE, "a conversion row has an unknown state");
    }
  }

  auto totals = SumPoints(conn, request.seller_id, calendar_.MonthRange(*target));
  if (!totals.ok()) return totals.status();
  const int64_t converted = ConvertiblePoints(totals->total);
  if (converted == 0) {
    return FailedPrecondition(
        v1::POINTS_BELOW_MINIMUM,
        absl::StrCat("the service points of ", FormatMonth(*target), " total ", totals->total,
                     "; at least 100 are needed to convert (S3)"));
  }
  ConversionRecord record;
  record.seller_id = request.seller_id;
  record.points_month = *target;
  record.conversion_id = ConversionId(request.seller_id, *target);
  record.state = ConversionState::kPending;
  record.month_total_points = totals->total;
  record.converted_points = converted;
  record.wallet_key = WalletIdempotencyKey(request.seller_id, *target);
  record.caller = request.caller;
  record.idempotency_key = request.idempotency_key;
  record.request_hash = request_hash;
  record.requested_at = now;
  // Two guards of S3 before the write (the table's CHECKs are the third).
  if (record.converted_points % kConversionUnitPoints != 0 || record.leftover_points() < 0 ||
      record.leftover_points() >= kConversionUnitPoints) {
    return Internal(v1::CONVERSION_INVARIANT, "a conversion amount broke S3; nothing recorded");
  }
  auto inserted = InsertIntent(conn, record, options_.conversion_lease);
  if (!inserted.ok()) return inserted.status();
  if (!*inserted) {
    return Aborted(v1::DECIDE_AGAIN, "a concurrent request recorded this conversion first");
  }
  if (absl::Status committed = tx->Commit(); !committed.ok()) return committed;
  return Decision{std::move(record), /*drive=*/true, /*replayed=*/false};
}

absl::StatusOr<ConvertResult> Points::Convert(const ConvertRequest& request) {
  if (absl::Status s = CheckSellerId(request.seller_id); !s.ok()) return s;
  if (absl::Status s = CheckIdempotencyKey(request.idempotency_key); !s.ok()) return s;
  const std::string request_hash = ConvertRequestHash(request.seller_id, request.points_month);
  for (int attempt = 0; attempt < kDecideAttemptsMax; ++attempt) {
    absl::StatusOr<Decision> decision;
    {
      auto conn = pool_->Acquire();
      if (!conn.ok()) return conn.status();
      decision = Decide(**conn, request, request_hash);
    }  // the connection goes back before the wallet call: no transaction spans it
    if (!decision.ok()) {
      // Lost a race on the insert (our marker, or a unique key on the take-over): again.
      if (ReasonIs(decision.status(), v1::DECIDE_AGAIN) ||
          ReasonIs(decision.status(), common::v1::UNIQUE_VIOLATION)) {
        continue;
      }
      return decision.status();
    }
    if (!decision->drive) return ConvertResult{std::move(decision->record), decision->replayed};
    auto driven = Drive(std::move(decision->record), "request");
    if (!driven.ok()) return driven.status();
    return ConvertResult{std::move(*driven), decision->replayed};
  }
  return Aborted(v1::CONVERSION_IN_PROGRESS, "concurrent requests for this conversion; retry");
}

absl::StatusOr<ConversionRecord> Points::Drive(ConversionRecord intent, absl::string_view driver) {
  auto receipt =
      wallet_->CreditConversion(intent.seller_id, intent.wallet_key, intent.converted_points,
                                intent.conversion_id, FormatMonth(intent.points_month));
  if (receipt.ok()) {
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
    if (options_.exit_after_wallet_credit) {
      // TEST-ONLY failpoint (QCASH_POINTS_FAILPOINT=exit_after_wallet_credit), development
      // builds only: the crash between the wallet's credit and our record that the recovery
      // must survive.
      Log(LogLevel::kWarn, "failpoint_exit_after_wallet_credit",
          {{"seller_id", intent.seller_id}, {"conversion_id", intent.conversion_id}});
      _exit(kFailpointExitCode);
    }
#endif
    ConversionsCounter()->Add({"completed", std::string(driver)});
    auto conn = pool_->Acquire();
    if (!conn.ok()) return conn.status();  // the lease expires; the background step records it
    auto completed =
        CompleteConversion(**conn, intent.seller_id, intent.points_month, receipt->entry_seq);
    if (!completed.ok()) return completed.status();
    intent.state = ConversionState::kCompleted;
    intent.wallet_entry_seq = receipt->entry_seq;
    intent.failure_reason.clear();
    Log(LogLevel::kInfo, "conversion_completed",
        {{"seller_id", intent.seller_id},
         {"points_month", FormatMonth(intent.points_month)},
         {"conversion_id", intent.conversion_id},
         {"converted_points", intent.converted_points},
         {"wallet_entry_seq", receipt->entry_seq},
         {"wallet_replayed", receipt->replayed}});
    return intent;
  }
  const absl::Status refused = receipt.status();
  auto conn = pool_->Acquire();
  if (wallet::IsDefiniteRefusal(refused)) {
    std::string reason = ReasonOf(refused);
    if (reason.empty()) reason = "WALLET_REFUSED";
    if (conn.ok()) {
      if (absl::Status s = FailConversion(**conn, intent.seller_id, intent.points_month, reason);
          !s.ok()) {
        Log(LogLevel::kWarn, "conversion_fail_not_recorded",
            {{"conversion_id", intent.conversion_id}, {"error", s.ToString()}});
      }
    }
    ConversionsCounter()->Add({"refused", std::string(driver)});
    Log(LogLevel::kWarn, "conversion_refused",
        {{"seller_id", intent.seller_id},
         {"conversion_id", intent.conversion_id},
         {"reason", reason}});
    return SellerFacingRefusal(refused);
  }
  ConversionsCounter()->Add({"unknown", std::string(driver)});
  if (conn.ok()) {
    (void)ReleaseConversion(**conn, intent.seller_id, intent.points_month);
  }
  Log(LogLevel::kWarn, "conversion_outcome_unknown",
      {{"seller_id", intent.seller_id},
       {"conversion_id", intent.conversion_id},
       {"error", refused.ToString()}});
  return Unavailable(v1::WALLET_UNAVAILABLE,
                     "the wallet did not confirm the credit; the conversion is recorded and "
                     "will complete: retry with the same key");
}

absl::StatusOr<int> Points::CompleteStaleConversions() {
  std::vector<ConversionRecord> stale;
  {
    auto conn = pool_->Acquire();
    if (!conn.ok()) return conn.status();
    auto found = StaleConversions(**conn, options_.completer_batch_max);
    if (!found.ok()) return found.status();
    stale = std::move(*found);
  }
  int completed = 0;
  for (ConversionRecord& candidate : stale) {
    absl::optional<ConversionRecord> claimed;
    {
      auto conn = pool_->Acquire();
      if (!conn.ok()) return conn.status();
      auto tx = PgTransaction::Begin(**conn);
      if (!tx.ok()) return tx.status();
      auto locked = LockConversion(**conn, candidate.seller_id, candidate.points_month);
      if (!locked.ok()) return locked.status();
      if (locked->has_value() && (*locked)->state == ConversionState::kPending) {
        auto ok = ClaimConversion(**conn, **locked, options_.conversion_lease);
        if (!ok.ok()) return ok.status();
        if (*ok) claimed = **locked;
      }
      if (absl::Status committed = tx->Commit(); !committed.ok()) return committed;
    }
    if (!claimed.has_value()) continue;  // someone else is on it, or it finished meanwhile
    Log(LogLevel::kInfo, "conversion_resumed",
        {{"seller_id", claimed->seller_id}, {"conversion_id", claimed->conversion_id}});
    auto driven = Drive(std::move(*claimed), "background");
    if (driven.ok()) ++completed;
  }
  return completed;
}

void Points::CompleterLoop() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (cv_.WaitFor(&mu_, absl::FromChrono(options_.completer_interval),
                      [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; })) {
        return;
      }
    }
    auto done = CompleteStaleConversions();
    if (!done.ok()) {
      Log(LogLevel::kWarn, "completer_failed", {{"error", done.status().ToString()}});
    } else if (*done > 0) {
      Log(LogLevel::kInfo, "completer_completed", {{"conversions", *done}});
    }
  }
}

// ---------------------------------------------------------------------------- products (S4, S5)

absl::StatusOr<DayRange> Points::ResolvePeriod(View view, const PeriodQuery& period) {
  DayRange days;
  if (period.month.has_value()) {
    days = DaysOfMonth(*period.month);
  } else if (period.days.has_value()) {
    days = *period.days;
  } else if (view == View::kCurrent) {
    days = DaysOfMonth(calendar_.MonthOf(clock_->Now()));
  } else {
    return InvalidArgument(v1::PERIOD_REQUIRED,
                           "the past service points view (过去的服务积分) needs a month or a date "
                           "range up to 2019-06-30");
  }
  if (absl::Status s = CheckViewRange(view, days); !s.ok()) return s;
  return days;
}

absl::StatusOr<ConversionPage> Points::ListConversions(const ConversionListQuery& query) {
  if (absl::Status s = CheckSellerId(query.seller_id); !s.ok()) return s;
  if (query.page_size < 0 || query.page_size > kConversionPageSizeMax) {
    return InvalidArgument(v1::INVALID_PAGE_SIZE,
                           absl::StrCat("page_size must be 0 (default ", kConversionPageSizeDefault,
                                        ") to ", kConversionPageSizeMax));
  }
  if (query.from_month.has_value() && query.to_month.has_value() &&
      *query.from_month > *query.to_month) {
    return InvalidArgument(v1::INVALID_PERIOD,
                           absl::StrCat("from_month ", FormatMonth(*query.from_month),
                                        " is after to_month ", FormatMonth(*query.to_month)));
  }
  const int page_size = query.page_size == 0 ? kConversionPageSizeDefault : query.page_size;
  ConversionQuery rows;
  rows.seller_id = query.seller_id;
  rows.from_month = query.from_month.has_value() ? MonthNumber(*query.from_month) : 0;
  rows.to_month = query.to_month.has_value() ? MonthNumber(*query.to_month) : 0;
  auto before = DecodeConversionPageToken(query.page_token, rows.from_month, rows.to_month);
  if (!before.ok()) return before.status();
  rows.before_month = *before;
  rows.limit = page_size + 1;  // one more tells whether another page follows
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto found = points::ListConversions(**conn, rows);
  if (!found.ok()) return found.status();
  ConversionPage page;
  page.conversions = std::move(*found);
  if (page.conversions.size() > static_cast<size_t>(page_size)) {
    page.conversions.resize(static_cast<size_t>(page_size));
    page.next_page_token = EncodeConversionPageToken(
        MonthNumber(page.conversions.back().points_month), rows.from_month, rows.to_month);
  }
  return page;
}

absl::StatusOr<ProductPage> Points::ListProducts(View view, const ProductQuery& query) {
  if (absl::Status s = CheckSellerId(query.seller_id); !s.ok()) return s;
  if (absl::Status s = CheckFilter(query.filter); !s.ok()) return s;
  if (query.page_size < 0 || query.page_size > kPageSizeMax) {
    return InvalidArgument(
        v1::INVALID_PAGE_SIZE,
        absl::StrCat("page_size must be 0 (default ", kPageSizeDefault, ") to ", kPageSizeMax));
  }
  const int page_size = query.page_size == 0 ? kPageSizeDefault : query.page_size;
  auto after = DecodeProductPageToken(query.page_token);
  if (!after.ok()) return after.status();
  auto days = ResolvePeriod(view, query.period);
  if (!days.ok()) return days.status();
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto rows = points::ListProducts(**conn, query.seller_id, calendar_.DaysRange(*days),
                                   query.filter, *after, page_size + 1);
  if (!rows.ok()) return rows.status();
  ProductPage page;
  page.days = *days;
  page.products = std::move(*rows);
  if (page.products.size() > static_cast<size_t>(page_size)) {
    page.products.resize(page_size);
    page.next_page_token = EncodeProductPageToken(page.products.back().product_no);
  }
  return page;
}

absl::StatusOr<ShippingDetail> Points::GetShippingDetail(const std::string& seller_id,
                                                         const std::string& product_no,
                                                         const PeriodQuery& period) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (!IsPrintableAscii(product_no, kProductNoLengthMax)) {
    return InvalidArgument(v1::INVALID_PRODUCT,
                           "product_no must be 1 to 64 printable ASCII characters");
  }
  auto days = ResolvePeriod(View::kCurrent, period);
  if (!days.ok()) return days.status();
  std::vector<absl::Time> day_starts;
  for (absl::CivilDay d = days->from; d <= days->to; ++d) {
    day_starts.push_back(calendar_.StartOf(d));
  }
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto buckets =
      ShippingByDay(**conn, seller_id, product_no, day_starts, calendar_.StartOf(days->to + 1));
  if (!buckets.ok()) return buckets.status();
  ShippingDetail detail;
  detail.days = *days;
  detail.product_no = product_no;
  for (SaleType type : {SaleType::kGeneral, SaleType::kReservation}) {
    ShippingDetail::PerSaleType per;
    per.sale_type = type;
    for (const ShippingBucket& b : *buckets) {
      if (b.sale_type != static_cast<int16_t>(type)) continue;
      if (b.day_index < 0 || b.day_index >= static_cast<int64_t>(day_starts.size())) {
        return Internal(v1::DAY_OUT_OF_RANGE, "an event fell outside the queried days");
      }
      per.points += b.points;
      per.events += b.events;
      per.days.push_back({days->from + b.day_index, b.points, b.events});
    }
    // S4: only the sale types the product was sold as appear.
    if (per.events > 0) detail.details.push_back(std::move(per));
  }
  return detail;
}

}  // namespace qcash::points
