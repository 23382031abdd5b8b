// The points service's SQL: every statement it runs against its PostgreSQL database
// (migrations/0001_points.sql). Instants cross the boundary as Unix microseconds; which JST
// month or day they belong to is decided by the caller (calendar.h).
//
// Functions that take part in a caller's transaction say so; the others run on their own.
#ifndef QCASH_SERVICES_POINTS_STORE_H_
#define QCASH_SERVICES_POINTS_STORE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/pg.h"
#include "services/points/calendar.h"
#include "services/points/rules.h"

namespace qcash::points {

// ---------------------------------------------------------------------------- events

// Records `events` (ids distinct, each validated, with its EventHash in `hashes`) for
// `caller` in one transaction: new ids are inserted; an id recorded before must have the same
// hash. Returns, per event, whether it was recorded before (a replay).
// Errors: INVALID_ARGUMENT (EVENT_ID_REUSED, naming the index) and nothing is recorded; the
// database's (common/pg.h).
absl::StatusOr<std::vector<bool>> RecordEvents(PgConnection& conn, const std::string& caller,
                                               const std::vector<const PointEvent*>& events,
                                               const std::vector<std::string>& hashes);

// The seller's points in [range.start, range.end), per component.
absl::StatusOr<Totals> SumPoints(PgConnection& conn, const std::string& seller_id,
                                 const TimeRange& range);

// ---------------------------------------------------------------------------- conversions
//
// The conversion protocol (points.cc): decide and record the intent in one short transaction
// (the lock reads below), call the wallet outside any transaction, then record the outcome.
// Exactly one process drives a row at a time, by its lease; an expired lease is taken over.

// In the caller's transaction: the row of (seller, caller, key) / of (seller, month), locked
// FOR UPDATE; nullopt when there is none. Idempotency keys are scoped per seller and caller
// (migrations/0002): another seller's use of the same key is another key.
absl::StatusOr<absl::optional<ConversionRecord>> LockConversionByKey(PgConnection& conn,
                                                                     const std::string& seller_id,
                                                                     const std::string& caller,
                                                                     const std::string& key);
absl::StatusOr<absl::optional<ConversionRecord>> LockConversion(PgConnection& conn,
                                                                const std::string& seller_id,
                                                                absl::CivilMonth month);

struct ConversionQuery {
  std::string seller_id;
  int64_t before_month = 0;  // MonthNumber (202401); 0: from the newest
  int64_t from_month = 0;    // MonthNumber, inclusive; 0: no lower bound
  int64_t to_month = 0;      // MonthNumber, inclusive; 0: no upper bound
  int limit = 13;            // at most this many rows
};

// The seller's completed and in-progress conversions (not the refused ones), newest points
// month first. Errors: the database's.
absl::StatusOr<std::vector<ConversionRecord>> ListConversions(PgConnection& conn,
                                                              const ConversionQuery& query);

// The row of (seller, month) without a lock.
absl::StatusOr<absl::optional<ConversionRecord>> GetConversion(PgConnection& conn,
                                                               const std::string& seller_id,
                                                               absl::CivilMonth month);

// In the caller's transaction: inserts `record` as a pending intent whose lease runs for
// `lease`. False (and nothing written) when a row for the seller and month, or for the caller
// and key, exists (possibly committed meanwhile by a concurrent request).
absl::StatusOr<bool> InsertIntent(PgConnection& conn, const ConversionRecord& record,
                                  std::chrono::milliseconds lease);

// In the caller's transaction, on a row it holds locked: takes the lease to drive it, when the
// row is pending with no live lease, or failed (then it becomes pending again, requested by
// `caller` / `key` / `request_hash` at `requested_at`). False when it is not claimable.
absl::StatusOr<bool> ClaimConversion(PgConnection& conn, const ConversionRecord& record,
                                     std::chrono::milliseconds lease);

// Pending conversions whose lease has expired (or was released), oldest first, at most
// `limit`: the ones the background step completes.
absl::StatusOr<std::vector<ConversionRecord>> StaleConversions(PgConnection& conn, int limit);

// The wallet confirmed the credit: state completed (from pending, or from failed: a success
// always wins, since the wallet key guarantees it is the only credit of that month).
// Returns false if the row was already completed.
absl::StatusOr<bool> CompleteConversion(PgConnection& conn, const std::string& seller_id,
                                        absl::CivilMonth month, int64_t wallet_entry_seq);

// The wallet refused: pending -> failed with `reason`, lease released. A completed row stays.
absl::Status FailConversion(PgConnection& conn, const std::string& seller_id,
                            absl::CivilMonth month, const std::string& reason);

// The wallet's answer is unknown: releases the lease so that a retry or the background step
// drives the row again soon.
absl::Status ReleaseConversion(PgConnection& conn, const std::string& seller_id,
                               absl::CivilMonth month);

// ---------------------------------------------------------------------------- products (S4)

struct ProductFilter {
  std::string category;               // exact; empty: any
  std::string product_no;             // exact; empty: any
  std::string product_name_contains;  // case-insensitive substring; empty: any
};

struct ProductRow {
  std::string product_no;
  std::string product_name;  // the latest the range saw
  std::string category;      // likewise
  Totals totals;
  int64_t shipping_general_points = 0;
  int64_t shipping_general_events = 0;
  int64_t shipping_reservation_points = 0;
  int64_t shipping_reservation_events = 0;
};

// Products of the seller with events in `range` that match `filter`, product_no > `after`,
// ordered by product_no, at most `limit`.
absl::StatusOr<std::vector<ProductRow>> ListProducts(PgConnection& conn,
                                                     const std::string& seller_id,
                                                     const TimeRange& range,
                                                     const ProductFilter& filter,
                                                     const std::string& after, int limit);

struct ShippingBucket {
  int16_t sale_type = 0;
  int64_t day_index = 0;  // 0-based index into the day starts passed in
  int64_t points = 0;
  int64_t events = 0;
};

// The product's shipping points in [day_starts.front(), range_end), per sale type and per day,
// where day i is [day_starts[i], day_starts[i+1]) (the last one ends at range_end).
// REQUIRES: day_starts is non-empty and increasing.
absl::StatusOr<std::vector<ShippingBucket>> ShippingByDay(PgConnection& conn,
                                                          const std::string& seller_id,
                                                          const std::string& product_no,
                                                          const std::vector<absl::Time>& day_starts,
                                                          absl::Time range_end);

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_STORE_H_
