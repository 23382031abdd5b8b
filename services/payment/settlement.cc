#include "services/payment/settlement.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/catalog.h"
#include "services/payment/secrets.h"

namespace qcash::payment {
namespace {

constexpr int64_t kSummaryDaysMax = 366;
constexpr size_t kOperatorLengthMax = 128;
constexpr size_t kReasonLengthMax = 1000;
constexpr size_t kKeyLengthMax = 128;
constexpr size_t kFileNameMax = 255;
constexpr absl::string_view kImporter = "importer";

metrics::Counter* Imports() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_settlement_imports_total",
      "Settlement report imports by provider and result (imported, replayed, refused, failed).",
      {"provider", "result"});
  return counter;
}

metrics::Gauge* OpenMismatches() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_payment_settlement_open_mismatches",
      "Open settlement mismatches by provider and kind.", {"provider", "kind"});
  return gauge;
}

metrics::Gauge* OldestOpenAge() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_payment_settlement_oldest_open_mismatch_age_seconds",
      "Age of the oldest open settlement mismatch (since the payment or the import that found "
      "it; 0 when none).");
  return gauge;
}

metrics::Gauge* LastImport() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_payment_settlement_last_import_timestamp_seconds",
      "When a settlement report of the provider was last imported (Unix seconds).", {"provider"});
  return gauge;
}

// Ids, names and reasons are text a person reads: printable, no control characters.
bool IsText(absl::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

absl::Status CheckProvider(const std::string& provider) {
  if (FindProvider(provider) == nullptr) {
    return InvalidArgument(payment::v1::UNKNOWN_PROVIDER,
                           absl::StrCat("no provider '", provider.substr(0, 64), "'"));
  }
  return absl::OkStatus();
}

}  // namespace

void CountImport(const std::string& provider, absl::string_view result) {
  // Label values from a fixed set: an unknown provider is counted as "unknown".
  const std::string label = FindProvider(provider) == nullptr ? "unknown" : provider;
  Imports()->Add({label, std::string(result)});
}

Settlement::Settlement(PgPool* pool, const Clock* clock, SettlementOptions options)
    : pool_(pool), clock_(clock), options_(options) {}

absl::StatusOr<Settlement::ImportResult> Settlement::Import(
    const std::string& provider, const std::string& file_name, const std::string& content,
    const std::string& imported_by, std::optional<absl::CivilDay> fetched_day) {
  if (absl::Status s = CheckProvider(provider); !s.ok()) return s;
  if (file_name.size() > kFileNameMax || !IsText(file_name)) {
    return WithMetadata(InvalidArgument(payment::v1::INVALID_SETTLEMENT_REPORT,
                                        "file_name: at most 255 bytes of text"),
                        "line", "0");
  }
  auto lines = ParseSettlementReport(content);
  if (!lines.ok()) return lines.status();
  const std::string sha256 = Sha256Hex(content);
  const absl::Time now = clock_->Now();
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  PgConnection& conn = **lease;
  return WithTransaction(conn, [&](PgConnection& tx) -> absl::StatusOr<ImportResult> {
    if (absl::Status s = settlement_store::LockProvider(tx, provider); !s.ok()) return s;
    ImportResult result;
    auto known = settlement_store::FindReport(tx, provider, sha256);
    if (!known.ok()) return known.status();
    if (known->has_value()) {
      // The same file again: nothing changes; the answer is the first import's.
      result.report_id = (*known)->report_id;
      result.replayed = true;
      result.lines = (*known)->lines;
      result.matched = (*known)->matched;
      result.mismatches = (*known)->mismatches;
      auto kinds = settlement_store::ReportKinds(tx, result.report_id);
      if (!kinds.ok()) return kinds.status();
      result.by_kind = std::move(*kinds);
      if (fetched_day.has_value()) {
        if (absl::Status s =
                settlement_store::RecordFetch(tx, provider, *fetched_day, result.report_id);
            !s.ok()) {
          return s;
        }
      }
      return result;
    }
    auto report_id = settlement_store::InsertReport(
        tx, provider, file_name, sha256, static_cast<int64_t>(content.size()), imported_by, now);
    if (!report_id.ok()) return report_id.status();
    result.report_id = *report_id;
    result.lines = static_cast<int64_t>(lines->size());
    std::set<std::string> in_this_file;
    for (const SettlementLine& line : *lines) {
      LineFacts facts;
      facts.transaction_seen = in_this_file.count(line.transaction_id) > 0;
      if (!facts.transaction_seen) {
        auto seen = settlement_store::TransactionSeen(tx, provider, line.transaction_id);
        if (!seen.ok()) return seen.status();
        facts.transaction_seen = *seen;
      }
      in_this_file.insert(line.transaction_id);
      auto order = settlement_store::FindOrderForLine(tx, provider, line);
      if (!order.ok()) return order.status();
      if (order->has_value()) {
        facts.order = LineFacts::OrderFacts{(*order)->amount_yen, (*order)->state,
                                            (*order)->paid_at, (*order)->settled};
      }
      const MismatchKind kind = ClassifyLine(line, facts, options_.due);
      const std::string order_id = order->has_value() ? (*order)->order_id : "";
      if (absl::Status s =
              settlement_store::InsertLine(tx, result.report_id, provider, line, order_id, kind);
          !s.ok()) {
        return s;
      }
      if (SettlesOrder(kind)) {
        auto settled = settlement_store::SettleOrder(tx, order_id, line, now);
        if (!settled.ok()) return settled.status();
        // The order was read FOR UPDATE as not settled: the update cannot miss it.
        if (!*settled) return absl::InternalError("a settled order was settled again");
        auto closed = settlement_store::CloseNotSettled(
            tx, order_id, std::string(kImporter),
            absl::StrCat("settled on ", FormatDay(line.settlement_date), " by report ",
                         result.report_id, " line ", line.line_number),
            absl::StrCat("settlement-report:", result.report_id, ":", line.line_number));
        if (!closed.ok()) return closed.status();
      }
      if (kind == MismatchKind::kNone) {
        result.matched += 1;
        continue;
      }
      SettlementMismatchRecord m;
      m.kind = kind;
      m.provider = provider;
      m.transaction_id = line.transaction_id;
      m.order_id = order_id;
      m.seller_id = order->has_value() ? (*order)->seller_id : "";
      m.expected_yen = order->has_value() ? (*order)->amount_yen : 0;
      m.settled_yen = line.amount_yen;
      m.fee_yen = line.fee_yen;
      m.settlement_date = FormatDay(line.settlement_date);
      m.report_id = result.report_id;
      m.line_number = line.line_number;
      // A late settlement is wrong since the payment; the others since this import.
      m.since = kind == MismatchKind::kSettledLate ? (*order)->paid_at : now;
      auto id = settlement_store::InsertMismatch(tx, m);
      if (!id.ok()) return id.status();
      result.mismatches += 1;
      result.by_kind[kind] += 1;
    }
    // The overdue check runs with every import, in the same transaction.
    auto overdue =
        settlement_store::OpenOverdue(tx, now - options_.due, options_.overdue_batch_max);
    if (!overdue.ok()) return overdue.status();
    for (const auto& [p, n] : *overdue) {
      result.mismatches += n;
      result.by_kind[MismatchKind::kNotSettled] += n;
    }
    if (absl::Status s = settlement_store::FinishReport(
            tx, result.report_id,
            StoredReport{result.report_id, result.lines, result.matched, result.mismatches});
        !s.ok()) {
      return s;
    }
    if (fetched_day.has_value()) {
      if (absl::Status s =
              settlement_store::RecordFetch(tx, provider, *fetched_day, result.report_id);
          !s.ok()) {
        return s;
      }
    }
    return result;
  });
}

absl::StatusOr<int64_t> Settlement::CheckOverdue() {
  const absl::Time now = clock_->Now();
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto opened =
      settlement_store::OpenOverdue(**lease, now - options_.due, options_.overdue_batch_max);
  if (!opened.ok()) return opened.status();
  int64_t total = 0;
  for (const auto& [provider, n] : *opened) {
    total += n;
    Log(LogLevel::kWarn, "settlement_overdue", {{"provider", provider}, {"orders", n}});
  }
  return total;
}

absl::StatusOr<Settlement::Page> Settlement::List(const std::string& provider,
                                                  const std::vector<int>& kinds,
                                                  bool include_resolved,
                                                  const std::optional<MismatchCursor>& after,
                                                  int page_size) {
  if (!provider.empty()) {
    if (absl::Status s = CheckProvider(provider); !s.ok()) return s;
  }
  if (kinds.size() > kMismatchKinds) {
    return InvalidArgument(payment::v1::INVALID_MISMATCH_KIND, "at most the six kinds");
  }
  std::vector<int16_t> kind_values;
  for (int kind : kinds) {
    if (kind < 1 || kind > kMismatchKinds) {
      return InvalidArgument(payment::v1::INVALID_MISMATCH_KIND,
                             absl::StrCat("unknown mismatch kind ", kind));
    }
    kind_values.push_back(static_cast<int16_t>(kind));
  }
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto rows = settlement_store::ListMismatches(**lease, provider, kind_values, include_resolved,
                                               after, page_size + 1);
  if (!rows.ok()) return rows.status();
  Page page;
  page.mismatches = std::move(*rows);
  if (page.mismatches.size() > static_cast<size_t>(page_size)) {
    page.mismatches.resize(static_cast<size_t>(page_size));
    const SettlementMismatchRecord& last = page.mismatches.back();
    page.next = MismatchCursor{absl::ToUnixMicros(last.since), last.mismatch_id};
  }
  return page;
}

absl::StatusOr<Settlement::Resolved> Settlement::Resolve(const std::string& caller,
                                                         const std::string& idempotency_key,
                                                         int64_t mismatch_id,
                                                         const std::string& who,
                                                         const std::string& why) {
  if (idempotency_key.empty() || idempotency_key.size() > kKeyLengthMax ||
      !IsText(idempotency_key)) {
    return InvalidArgument(common::v1::INVALID_IDEMPOTENCY_KEY,
                           "idempotency_key: 1..128 characters of text");
  }
  if (who.empty() || who.size() > kOperatorLengthMax || !IsText(who)) {
    return InvalidArgument(payment::v1::MISSING_OPERATOR,
                           "operator: who resolves it, 1..128 characters of text");
  }
  if (why.empty() || why.size() > kReasonLengthMax || !IsText(why)) {
    return InvalidArgument(payment::v1::MISSING_RESOLUTION_REASON,
                           "reason: why, 1..1000 characters of text");
  }
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  PgConnection& conn = **lease;
  auto resolved = WithTransaction(conn, [&](PgConnection& tx) -> absl::StatusOr<Resolved> {
    auto m = settlement_store::LoadMismatch(tx, mismatch_id, /*for_update=*/true);
    if (!m.ok()) return m.status();
    if (!m->has_value()) {
      return NotFound(payment::v1::MISMATCH_NOT_FOUND,
                      absl::StrCat("no settlement mismatch ", mismatch_id));
    }
    auto key_owner = settlement_store::MismatchOfResolutionKey(tx, idempotency_key);
    if (!key_owner.ok()) return key_owner.status();
    if (key_owner->has_value() && **key_owner != mismatch_id) {
      return InvalidArgument(payment::v1::IDEMPOTENCY_KEY_REUSED,
                             "this idempotency key resolved another mismatch");
    }
    if ((*m)->resolved()) {
      if ((*m)->resolution_key == idempotency_key) return Resolved{std::move(**m), true};
      return FailedPrecondition(
          payment::v1::MISMATCH_ALREADY_RESOLVED,
          absl::StrCat("mismatch ", mismatch_id, " was resolved by ", (*m)->resolved_by));
    }
    auto done =
        settlement_store::ResolveMismatch(tx, mismatch_id, who, why, caller, idempotency_key);
    if (!done.ok()) return done.status();
    if (!*done) return absl::AbortedError("the mismatch changed meanwhile; retry");
    auto after = settlement_store::LoadMismatch(tx, mismatch_id, /*for_update=*/false);
    if (!after.ok()) return after.status();
    return Resolved{std::move(**after), false};
  });
  if (resolved.ok() && !resolved->replayed) {
    Log(LogLevel::kInfo, "settlement_mismatch_resolved",
        {{"mismatch_id", mismatch_id}, {"operator", who}, {"caller", caller}});
  }
  return resolved;
}

absl::StatusOr<std::vector<Settlement::ProviderSummary>> Settlement::Summarize(
    const std::string& from, const std::string& to) {
  auto from_day = ParseDay(from);
  if (!from_day.ok()) return from_day.status();
  auto to_day = ParseDay(to);
  if (!to_day.ok()) return to_day.status();
  if (*to_day < *from_day || *to_day - *from_day > kSummaryDaysMax) {
    return InvalidArgument(payment::v1::INVALID_SETTLEMENT_DATE,
                           "to_date must be from_date or up to 366 days after it");
  }
  const absl::Time start = absl::FromCivil(*from_day, Jst());
  const absl::Time end = absl::FromCivil(*to_day + 1, Jst());
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto rows = settlement_store::Summary(**lease, start, end);
  if (!rows.ok()) return rows.status();
  std::vector<ProviderSummary> out;
  for (ProviderSettlementRow& row : *rows) {
    ProviderSummary s;
    s.net_yen = row.settled_yen - row.fee_yen;
    s.unsettled_yen = row.paid_yen - row.settled_yen;
    s.row = std::move(row);
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<OrderSettlement> Settlement::OfOrder(const std::string& order_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return settlement_store::LoadOrderSettlement(**lease, order_id);
}

absl::StatusOr<std::vector<absl::CivilDay>> Settlement::FetchedDays(const std::string& provider,
                                                                    absl::CivilDay from) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return settlement_store::FetchedDays(**lease, provider, from);
}

absl::Status Settlement::PublishMetrics() {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto stats = settlement_store::OpenStats(**lease);
  if (!stats.ok()) return stats.status();
  auto last = settlement_store::LastImports(**lease);
  if (!last.ok()) return last.status();
  const absl::Time now = clock_->Now();
  absl::Time oldest = absl::InfiniteFuture();
  // Every provider and kind is published, 0 when none is open, so a resolved series drops
  // to 0 instead of keeping its last value.
  std::map<std::pair<std::string, int>, int64_t> open;
  for (const OpenMismatchStats& s : *stats) {
    open[{s.provider, static_cast<int>(s.kind)}] = s.count;
    oldest = std::min(oldest, s.oldest_since);
  }
  for (const std::string& provider : AllProviders()) {
    for (int kind = 1; kind <= kMismatchKinds; ++kind) {
      auto it = open.find({provider, kind});
      OpenMismatches()->Set(
          {provider, std::string(MismatchKindName(static_cast<MismatchKind>(kind)))},
          it == open.end() ? 0.0 : static_cast<double>(it->second));
    }
  }
  OldestOpenAge()->Set(
      {}, oldest == absl::InfiniteFuture() ? 0.0 : absl::ToDoubleSeconds(now - oldest));
  for (const auto& [provider, at] : *last) {
    if (FindProvider(provider) != nullptr) {
      LastImport()->Set({provider}, static_cast<double>(absl::ToUnixSeconds(at)));
    }
  }
  return absl::OkStatus();
}

}  // namespace qcash::payment
