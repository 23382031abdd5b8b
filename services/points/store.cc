#include "services/points/store.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"

namespace qcash::points {
namespace {

std::string Micros(absl::Time t) { return absl::StrCat(absl::ToUnixMicros(t)); }

// An instant parameter as SQL: 'epoch' + n microseconds keeps it exact and zone-free.
#define QCASH_TS(n) "('epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond')"
#define QCASH_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

// Inserted in event id order, so two concurrent calls with overlapping ids wait for each
// other in the same order instead of deadlocking.
constexpr PgStatement kInsertEvents = {
    "points_insert_events",
    "WITH input AS ("
    " SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
    "  $7::smallint[], $8::smallint[], $9::bigint[], $10::bigint[], $11::text[])"
    "  AS u(event_id, seller_id, product_no, product_name, category, component, sale_type,"
    "       points, occurred_us, request_hash)),"
    "ins AS ("
    " INSERT INTO point_events (caller, event_id, seller_id, product_no, product_name,"
    "  category, component, sale_type, points, occurred_at, request_hash)"
    " SELECT $1::text, event_id, seller_id, product_no, product_name, category, component,"
    "  sale_type, points, 'epoch'::timestamptz + occurred_us * interval '1 microsecond',"
    "  request_hash FROM input ORDER BY event_id"
    " ON CONFLICT (caller, event_id) DO NOTHING RETURNING event_id)"
    "SELECT event_id FROM ins"};

constexpr PgStatement kEventHashes = {"points_event_hashes",
                                      "SELECT event_id, request_hash FROM point_events "
                                      "WHERE caller = $1::text AND event_id = ANY($2::text[])"};

constexpr PgStatement kSumPoints = {
    "points_sum",
    "SELECT coalesce(sum(points), 0)::bigint,"
    " coalesce(sum(points) FILTER (WHERE component = 1), 0)::bigint,"
    " coalesce(sum(points) FILTER (WHERE component = 2), 0)::bigint,"
    " coalesce(sum(points) FILTER (WHERE component = 3), 0)::bigint "
    "FROM point_events WHERE seller_id = $1::text"
    " AND occurred_at >= " QCASH_TS(2) " AND occurred_at < " QCASH_TS(3)};

#define QCASH_CONVERSION_COLUMNS \
  "seller_id, points_month, conversion_id, state, month_total_points, converted_points, "     \
  "wallet_key, caller, idem_key, request_hash, " QCASH_MICROS("requested_at") ", "             \
  "wallet_entry_seq, failure_reason"

constexpr PgStatement kLockByKey = {"points_lock_conversion_by_key",
                                    "SELECT " QCASH_CONVERSION_COLUMNS
                                    " FROM conversions "
                                    "WHERE seller_id = $1::text AND caller = $2::text"
                                    " AND idem_key = $3::text FOR UPDATE"};

constexpr PgStatement kLockConversion = {
    "points_lock_conversion",
    "SELECT " QCASH_CONVERSION_COLUMNS
    " FROM conversions "
    "WHERE seller_id = $1::text AND points_month = $2::integer FOR UPDATE"};

constexpr PgStatement kGetConversion = {
    "points_get_conversion", "SELECT " QCASH_CONVERSION_COLUMNS
                             " FROM conversions "
                             "WHERE seller_id = $1::text AND points_month = $2::integer"};

// A page of the seller's conversions that completed or are in progress (a refused one credited
// nothing and may be requested again), newest points month first, on the primary key
// (seller_id, points_month). 0 means no bound.
constexpr PgStatement kListConversions = {"points_list_conversions",
                                          "SELECT " QCASH_CONVERSION_COLUMNS
                                          " FROM conversions "
                                          "WHERE seller_id = $1::text AND state IN (1, 2)"
                                          " AND ($2::integer = 0 OR points_month < $2::integer)"
                                          " AND ($3::integer = 0 OR points_month >= $3::integer)"
                                          " AND ($4::integer = 0 OR points_month <= $4::integer) "
                                          "ORDER BY points_month DESC LIMIT $5::integer"};

constexpr PgStatement kInsertIntent = {
    "points_insert_intent",
    "INSERT INTO conversions (seller_id, points_month, conversion_id, state, "
    " month_total_points, converted_points, wallet_key, caller, idem_key, request_hash, "
    " requested_at, attempts, lease_until) "
    "VALUES ($1::text, $2::integer, $3::text, 1, $4::bigint, $5::bigint, $6::text, $7::text,"
    " $8::text, $9::text, " QCASH_TS(10) ", 1, now() + $11::bigint * interval '1 millisecond') "
    "ON CONFLICT DO NOTHING RETURNING 1"};

constexpr PgStatement kClaim = {
    "points_claim_conversion",
    "UPDATE conversions SET state = 1, caller = $3::text, idem_key = $4::text,"
    " request_hash = $5::text, requested_at = " QCASH_TS(6) ","
    " lease_until = now() + $7::bigint * interval '1 millisecond', attempts = attempts + 1,"
    " failure_reason = '', updated_at = now() "
    "WHERE seller_id = $1::text AND points_month = $2::integer"
    " AND (state = 3 OR (state = 1 AND (lease_until IS NULL OR lease_until < now()))) "
    "RETURNING 1"};

constexpr PgStatement kStale = {"points_stale_conversions",
                                "SELECT " QCASH_CONVERSION_COLUMNS
                                " FROM conversions "
                                "WHERE state = 1 AND (lease_until IS NULL OR lease_until < now()) "
                                "ORDER BY updated_at LIMIT $1::integer"};

constexpr PgStatement kComplete = {
    "points_complete_conversion",
    "UPDATE conversions SET state = 2, wallet_entry_seq = $3::bigint, completed_at = now(),"
    " updated_at = now(), lease_until = NULL, failure_reason = '' "
    "WHERE seller_id = $1::text AND points_month = $2::integer AND state IN (1, 3) "
    "RETURNING 1"};

constexpr PgStatement kFail = {
    "points_fail_conversion",
    "UPDATE conversions SET state = 3, failure_reason = $3::text, lease_until = NULL,"
    " updated_at = now() "
    "WHERE seller_id = $1::text AND points_month = $2::integer AND state = 1"};

constexpr PgStatement kRelease = {
    "points_release_conversion",
    "UPDATE conversions SET lease_until = NULL, updated_at = now() "
    "WHERE seller_id = $1::text AND points_month = $2::integer AND state = 1"};

// S4: the latest name and category of each product in the range are what the seller sees
// and what the filters match.
#define QCASH_LATEST(col) "(array_agg(" col " ORDER BY occurred_at DESC, event_id DESC))[1]"

constexpr PgStatement kListProducts = {
    "points_list_products",
    "SELECT product_no, " QCASH_LATEST("product_name") ", " QCASH_LATEST("category") ","
    " sum(points)::bigint,"
    " coalesce(sum(points) FILTER (WHERE component = 1), 0)::bigint,"
    " coalesce(sum(points) FILTER (WHERE component = 2), 0)::bigint,"
    " coalesce(sum(points) FILTER (WHERE component = 3), 0)::bigint,"
    " coalesce(sum(points) FILTER (WHERE component = 1 AND sale_type = 1), 0)::bigint,"
    " count(*) FILTER (WHERE component = 1 AND sale_type = 1),"
    " coalesce(sum(points) FILTER (WHERE component = 1 AND sale_type = 2), 0)::bigint,"
    " count(*) FILTER (WHERE component = 1 AND sale_type = 2) "
    "FROM point_events WHERE seller_id = $1::text"
    " AND occurred_at >= " QCASH_TS(2) " AND occurred_at < " QCASH_TS(3)
    " AND ($4::text = '' OR product_no = $4::text) AND product_no > $5::text "
    "GROUP BY product_no "
    "HAVING ($6::text = '' OR " QCASH_LATEST("category") " = $6::text)"
    " AND ($7::text = '' OR strpos(lower(" QCASH_LATEST("product_name") "), lower($7::text)) > 0) "
    "ORDER BY product_no LIMIT $8::integer"};

// width_bucket() places each event in its JST day by the day starts the service computed.
constexpr PgStatement kShippingByDay = {
    "points_shipping_by_day",
    "WITH b AS (SELECT array_agg('epoch'::timestamptz + x * interval '1 microsecond' ORDER BY x)"
    " AS bounds FROM unnest($3::bigint[]) AS x) "
    "SELECT e.sale_type, width_bucket(e.occurred_at, b.bounds) - 1, sum(e.points)::bigint, "
    " count(*) "
    "FROM point_events e, b WHERE e.seller_id = $1::text AND e.product_no = $2::text"
    " AND e.component = 1 AND e.occurred_at >= " QCASH_TS(4) " AND e.occurred_at < " QCASH_TS(
        5) " GROUP BY 1, 2 ORDER BY 1, 2"};

ConversionRecord ReadConversion(const PgResult& r, int row) {
  ConversionRecord c;
  c.seller_id = std::string(r.Get(row, 0));
  c.points_month = MonthFromNumber(r.GetInt64(row, 1));
  c.conversion_id = std::string(r.Get(row, 2));
  c.state = static_cast<ConversionState>(r.GetInt64(row, 3));
  c.month_total_points = r.GetInt64(row, 4);
  c.converted_points = r.GetInt64(row, 5);
  c.wallet_key = std::string(r.Get(row, 6));
  c.caller = std::string(r.Get(row, 7));
  c.idempotency_key = std::string(r.Get(row, 8));
  c.request_hash = std::string(r.Get(row, 9));
  c.requested_at = absl::FromUnixMicros(r.GetInt64(row, 10));
  c.wallet_entry_seq = r.GetInt64(row, 11);
  c.failure_reason = std::string(r.Get(row, 12));
  return c;
}

absl::StatusOr<absl::optional<ConversionRecord>> OneConversion(absl::StatusOr<PgResult> result) {
  if (!result.ok()) return result.status();
  if (result->rows() == 0) return absl::optional<ConversionRecord>();
  return absl::optional<ConversionRecord>(ReadConversion(*result, 0));
}

std::string MonthParam(absl::CivilMonth month) { return absl::StrCat(MonthNumber(month)); }

}  // namespace

absl::StatusOr<std::vector<bool>> RecordEvents(PgConnection& conn, const std::string& caller,
                                               const std::vector<const PointEvent*>& events,
                                               const std::vector<std::string>& hashes) {
  PgArrayLiteral ids, sellers, products, names, categories, components, sale_types, points,
      occurred, request_hashes;
  for (size_t i = 0; i < events.size(); ++i) {
    const PointEvent& e = *events[i];
    ids.AddText(e.event_id);
    sellers.AddText(e.seller_id);
    products.AddText(e.product_no);
    names.AddText(e.product_name);
    categories.AddText(e.category);
    components.AddInt(e.component);
    sale_types.AddInt(e.sale_type);
    points.AddInt(e.points);
    occurred.AddInt(absl::ToUnixMicros(e.occurred_at));
    request_hashes.AddText(hashes[i]);
  }
  // One transaction: either every new event of the call is recorded or none is.
  return WithTransaction(conn, [&](PgConnection& conn) -> absl::StatusOr<std::vector<bool>> {
    auto inserted = conn.Exec(
        kInsertEvents, {caller, ids.Finish(), sellers.Finish(), products.Finish(), names.Finish(),
                        categories.Finish(), components.Finish(), sale_types.Finish(),
                        points.Finish(), occurred.Finish(), request_hashes.Finish()});
    if (!inserted.ok()) return inserted.status();
    absl::flat_hash_set<std::string> new_ids;
    for (int row = 0; row < inserted->rows(); ++row)
      new_ids.insert(std::string(inserted->Get(row, 0)));

    std::vector<bool> replayed(events.size(), false);
    if (new_ids.size() != events.size()) {
      PgArrayLiteral old_ids;
      for (const PointEvent* e : events) {
        if (!new_ids.contains(e->event_id)) old_ids.AddText(e->event_id);
      }
      // READ COMMITTED: this statement sees the rows a concurrent call committed while our
      // insert waited for it.
      auto stored = conn.Exec(kEventHashes, {caller, old_ids.Finish()});
      if (!stored.ok()) return stored.status();
      absl::flat_hash_map<std::string, std::string> stored_hash;
      for (int row = 0; row < stored->rows(); ++row) {
        stored_hash[std::string(stored->Get(row, 0))] = std::string(stored->Get(row, 1));
      }
      for (size_t i = 0; i < events.size(); ++i) {
        if (new_ids.contains(events[i]->event_id)) continue;
        auto it = stored_hash.find(events[i]->event_id);
        if (it == stored_hash.end()) {
          // Neither inserted nor found: cannot happen under a unique key; refuse to guess.
          return Aborted(common::v1::DATABASE_CONFLICT,
                         "an event id vanished under its insert; retry");
        }
        if (it->second != hashes[i]) {
          return InvalidArgument(
              points::v1::EVENT_ID_REUSED,
              absl::StrCat("events[", i, "]: event id '", events[i]->event_id,
                           "' was recorded before with different content; nothing of this call "
                           "was recorded"));
        }
        replayed[i] = true;
      }
    }
    return replayed;
  });
}

absl::StatusOr<Totals> SumPoints(PgConnection& conn, const std::string& seller_id,
                                 const TimeRange& range) {
  auto r = conn.Exec(kSumPoints, {seller_id, Micros(range.start), Micros(range.end)});
  if (!r.ok()) return r.status();
  Totals t;
  t.total = r->GetInt64(0, 0);
  t.shipping = r->GetInt64(0, 1);
  t.claim = r->GetInt64(0, 2);
  t.review = r->GetInt64(0, 3);
  return t;
}

absl::StatusOr<absl::optional<ConversionRecord>> LockConversionByKey(PgConnection& conn,
                                                                     const std::string& seller_id,
                                                                     const std::string& caller,
                                                                     const std::string& key) {
  return OneConversion(conn.Exec(kLockByKey, {seller_id, caller, key}));
}

absl::StatusOr<absl::optional<ConversionRecord>> LockConversion(PgConnection& conn,
                                                                const std::string& seller_id,
                                                                absl::CivilMonth month) {
  return OneConversion(conn.Exec(kLockConversion, {seller_id, MonthParam(month)}));
}

absl::StatusOr<absl::optional<ConversionRecord>> GetConversion(PgConnection& conn,
                                                               const std::string& seller_id,
                                                               absl::CivilMonth month) {
  return OneConversion(conn.Exec(kGetConversion, {seller_id, MonthParam(month)}));
}

absl::StatusOr<std::vector<ConversionRecord>> ListConversions(PgConnection& conn,
                                                              const ConversionQuery& query) {
  auto r = conn.Exec(kListConversions, {query.seller_id, absl::StrCat(query.before_month),
                                        absl::StrCat(query.from_month),
                                        absl::StrCat(query.to_month), absl::StrCat(query.limit)});
  if (!r.ok()) return r.status();
  std::vector<ConversionRecord> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int row = 0; row < r->rows(); ++row) out.push_back(ReadConversion(*r, row));
  return out;
}

absl::StatusOr<bool> InsertIntent(PgConnection& conn, const ConversionRecord& c,
                                  std::chrono::milliseconds lease) {
  auto r = conn.Exec(
      kInsertIntent,
      {c.seller_id, MonthParam(c.points_month), c.conversion_id, absl::StrCat(c.month_total_points),
       absl::StrCat(c.converted_points), c.wallet_key, c.caller, c.idempotency_key, c.request_hash,
       Micros(c.requested_at), absl::StrCat(lease.count())});
  if (!r.ok()) return r.status();
  return r->rows() == 1;
}

absl::StatusOr<bool> ClaimConversion(PgConnection& conn, const ConversionRecord& c,
                                     std::chrono::milliseconds lease) {
  auto r = conn.Exec(kClaim, {c.seller_id, MonthParam(c.points_month), c.caller, c.idempotency_key,
                              c.request_hash, Micros(c.requested_at), absl::StrCat(lease.count())});
  if (!r.ok()) return r.status();
  return r->rows() == 1;
}

absl::StatusOr<std::vector<ConversionRecord>> StaleConversions(PgConnection& conn, int limit) {
  auto r = conn.Exec(kStale, {absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  std::vector<ConversionRecord> out;
  out.reserve(r->rows());
  for (int row = 0; row < r->rows(); ++row) out.push_back(ReadConversion(*r, row));
  return out;
}

absl::StatusOr<bool> CompleteConversion(PgConnection& conn, const std::string& seller_id,
                                        absl::CivilMonth month, int64_t wallet_entry_seq) {
  auto r = conn.Exec(kComplete, {seller_id, MonthParam(month), absl::StrCat(wallet_entry_seq)});
  if (!r.ok()) return r.status();
  return r->rows() == 1;
}

absl::Status FailConversion(PgConnection& conn, const std::string& seller_id,
                            absl::CivilMonth month, const std::string& reason) {
  return conn.Exec(kFail, {seller_id, MonthParam(month), reason}).status();
}

absl::Status ReleaseConversion(PgConnection& conn, const std::string& seller_id,
                               absl::CivilMonth month) {
  return conn.Exec(kRelease, {seller_id, MonthParam(month)}).status();
}

absl::StatusOr<std::vector<ProductRow>> ListProducts(PgConnection& conn,
                                                     const std::string& seller_id,
                                                     const TimeRange& range,
                                                     const ProductFilter& filter,
                                                     const std::string& after, int limit) {
  auto r = conn.Exec(kListProducts,
                     {seller_id, Micros(range.start), Micros(range.end), filter.product_no, after,
                      filter.category, filter.product_name_contains, absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  std::vector<ProductRow> rows;
  rows.reserve(r->rows());
  for (int row = 0; row < r->rows(); ++row) {
    ProductRow p;
    p.product_no = std::string(r->Get(row, 0));
    p.product_name = std::string(r->Get(row, 1));
    p.category = std::string(r->Get(row, 2));
    p.totals.total = r->GetInt64(row, 3);
    p.totals.shipping = r->GetInt64(row, 4);
    p.totals.claim = r->GetInt64(row, 5);
    p.totals.review = r->GetInt64(row, 6);
    p.shipping_general_points = r->GetInt64(row, 7);
    p.shipping_general_events = r->GetInt64(row, 8);
    p.shipping_reservation_points = r->GetInt64(row, 9);
    p.shipping_reservation_events = r->GetInt64(row, 10);
    rows.push_back(std::move(p));
  }
  return rows;
}

absl::StatusOr<std::vector<ShippingBucket>> ShippingByDay(PgConnection& conn,
                                                          const std::string& seller_id,
                                                          const std::string& product_no,
                                                          const std::vector<absl::Time>& day_starts,
                                                          absl::Time range_end) {
  PgArrayLiteral bounds;
  for (absl::Time t : day_starts) bounds.AddInt(absl::ToUnixMicros(t));
  auto r = conn.Exec(kShippingByDay, {seller_id, product_no, bounds.Finish(),
                                      Micros(day_starts.front()), Micros(range_end)});
  if (!r.ok()) return r.status();
  std::vector<ShippingBucket> out;
  out.reserve(r->rows());
  for (int row = 0; row < r->rows(); ++row) {
    ShippingBucket b;
    b.sale_type = static_cast<int16_t>(r->GetInt64(row, 0));
    b.day_index = r->GetInt64(row, 1);
    b.points = r->GetInt64(row, 2);
    b.events = r->GetInt64(row, 3);
    out.push_back(b);
  }
  return out;
}

}  // namespace qcash::points

#undef QCASH_LATEST
#undef QCASH_CONVERSION_COLUMNS
#undef QCASH_MICROS
#undef QCASH_TS
