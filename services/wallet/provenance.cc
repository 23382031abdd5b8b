#include "services/wallet/provenance.h"

#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {
namespace {

// The columns every lot query reads, in ReadLot's order.
#define QCASH_LOT_COLUMNS                                                            \
  "lot_id, origin, amount_yen, available_yen, held_yen, reference, payment_method, " \
  "price_paid_yen, points_month, (extract(epoch FROM created_at) * 1000000)::bigint"

// The lots an entry names: a handful (one per credit it took from), by primary key.
constexpr PgStatement kLotsById = {
    "wallet_lots_by_id",
    "SELECT " QCASH_LOT_COLUMNS " FROM lots WHERE seller_id = $1 AND lot_id = ANY($2::bigint[])"};

// A page of the seller's lots, newest first, on the primary key (seller_id, lot_id).
constexpr PgStatement kListLots = {
    "wallet_list_lots", "SELECT " QCASH_LOT_COLUMNS
                        " FROM lots WHERE seller_id = $1 AND ($2::bigint = 0 OR lot_id < $2) "
                        "AND (NOT $3::boolean OR available_yen + held_yen > 0) "
                        "ORDER BY lot_id DESC LIMIT $4"};

#undef QCASH_LOT_COLUMNS

LotRecord ReadLot(const PgResult& r, int row, const std::string& seller_id) {
  LotRecord lot;
  lot.seller_id = seller_id;
  lot.lot_id = r.GetInt64(row, 0);
  lot.origin = static_cast<LotOrigin>(r.GetInt64(row, 1));
  lot.amount_yen = r.GetInt64(row, 2);
  lot.available_yen = r.GetInt64(row, 3);
  lot.held_yen = r.GetInt64(row, 4);
  lot.reference = std::string(r.Get(row, 5));
  lot.payment_method = std::string(r.Get(row, 6));
  lot.price_paid_yen = r.GetInt64(row, 7);
  lot.points_month = std::string(r.Get(row, 8));
  lot.created_at = absl::FromUnixMicros(r.GetInt64(row, 9));
  return lot;
}

}  // namespace

absl::StatusOr<EntryLots> GetEntryLots(PgConnection& conn, const std::string& seller_id,
                                       int64_t entry_seq) {
  // The history's own query reads the row (one entry: the newest with seq < entry_seq + 1),
  // so the entry reads exactly as ListHistory shows it. Sequences have no gaps (the audit's
  // check 4), so any other seq means there is no such entry.
  HistoryQuery query;
  query.seller_id = seller_id;
  query.page_size = 1;
  // entry_seq + 1 would overflow at the top of the range; there 0 (from the newest) reads the
  // same row, since no seq is above it.
  query.before_seq = entry_seq == std::numeric_limits<int64_t>::max() ? 0 : entry_seq + 1;
  auto entries = ListHistory(conn, query);  // NOT_FOUND (WALLET_NOT_FOUND) without a wallet
  if (!entries.ok()) return entries.status();
  if (entries->empty() || entries->front().seq != entry_seq) {
    return NotFound(v1::ENTRY_NOT_FOUND,
                    absl::StrCat("seller ", seller_id, " has no journal entry ", entry_seq));
  }
  EntryLots out;
  out.entry = std::move(entries->front());
  if (out.entry.lots.empty()) return out;

  PgArrayLiteral ids;
  for (const LotPart& part : out.entry.lots) ids.AddInt(part.lot_id);
  auto r = conn.Exec(kLotsById, {seller_id, ids.Finish()});
  if (!r.ok()) return r.status();
  absl::flat_hash_map<int64_t, LotRecord> lots;
  for (int i = 0; i < r->rows(); ++i) {
    LotRecord lot = ReadLot(*r, i, seller_id);
    lots.emplace(lot.lot_id, std::move(lot));
  }
  out.lots.reserve(out.entry.lots.size());
  for (const LotPart& part : out.entry.lots) {
    auto it = lots.find(part.lot_id);
    if (it == lots.end()) {
      // Lots are never deleted (a trigger refuses it): only an edit underneath gets here.
      return Internal(v1::LOTS_DISAGREE,
                      absl::StrCat("seller ", seller_id, " entry ", entry_seq, " names lot ",
                                   part.lot_id, ", which does not exist; run qcashctl audit"));
    }
    out.lots.push_back(LotUse{it->second, part.amount_yen});
  }
  return out;
}

absl::StatusOr<std::vector<LotRecord>> ListLots(PgConnection& conn, const LotQuery& query) {
  auto r =
      conn.Exec(kListLots, {query.seller_id, absl::StrCat(query.before_lot_id),
                            query.open_only ? "true" : "false", absl::StrCat(query.page_size)});
  if (!r.ok()) return r.status();
  std::vector<LotRecord> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadLot(*r, i, query.seller_id));
  if (out.empty()) {
    if (absl::Status s = CheckWalletExists(conn, query.seller_id); !s.ok()) return s;
  }
  return out;
}

}  // namespace qcash::wallet
