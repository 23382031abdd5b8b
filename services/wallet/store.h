// The wallet's SQL: every statement the service runs against its PostgreSQL database.
//
// Mutations go through ApplyBatch(): one transaction locks the rows a batch names, lets the
// ledger (ledger.h, ApplyOps) decide, and writes the outcome set-based, before any other
// transaction can touch those rows. Reads are plain queries on the same tables.
#ifndef QCASH_SERVICES_WALLET_STORE_H_
#define QCASH_SERVICES_WALLET_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {

// Applies `ops` in order in one transaction (two round trips, one WAL flush) and returns one
// result per op. A refused op (insufficient funds, ...) has its outcome and changes nothing;
// the others still apply. Errors: the database's (common/pg.h); then nothing was applied,
// except that on UNAVAILABLE the outcome is unknown (the commit may have happened).
// The batch's time is the database's clock once its rows are locked, so that one seller's
// entries are in time order; `fixed_now` replaces it (a test clock, development builds only).
absl::StatusOr<std::vector<OpResult>> ApplyBatch(
    PgConnection& conn, const std::vector<const Op*>& ops,
    std::optional<absl::Time> fixed_now = std::nullopt);

// The wallet's balances as stored. Errors: NOT_FOUND (WALLET_NOT_FOUND), the database's.
absl::StatusOr<Balance> LoadBalance(PgConnection& conn, const std::string& seller_id);

// The balances of those of `seller_ids` that have a wallet, in one statement, in no particular
// order; a seller without a wallet has no entry, a seller named twice one. Errors: the
// database's.
absl::StatusOr<std::vector<Balance>> LoadBalances(PgConnection& conn,
                                                  const std::vector<std::string>& seller_ids);

struct HistoryQuery {
  std::string seller_id;
  int page_size = 50;
  int64_t before_seq = 0;      // 0: from the newest entry
  std::vector<int16_t> types;  // empty: all
  absl::Time from = absl::InfinitePast();
  absl::Time to = absl::InfiniteFuture();
};

// A journal row as the history shows it (seller_id, caller and hash are not read back), and
// for a credit (CHARGE, POINTS_CONVERSION, INTERNAL_FUNDS_CHARGE) the origin of the lot it
// created (lot_origins, lot_id = its seq), for the history's words: kNone for other entries
// and for credits written before lots existed.
struct HistoryEntry : JournalEntry {
  LotOrigin origin = LotOrigin::kNone;
  std::string payment_method;
  int64_t price_paid_yen = 0;
  std::string points_month;
};

// Up to page_size entries with seq < before_seq (if set), newest first, matching the filters.
// Errors: NOT_FOUND (WALLET_NOT_FOUND) when the seller has no wallet; the database's.
absl::StatusOr<std::vector<HistoryEntry>> ListHistory(PgConnection& conn, const HistoryQuery& q);

// OK when the seller has a wallet (open or closed). Errors: NOT_FOUND (WALLET_NOT_FOUND); the
// database's.
absl::Status CheckWalletExists(PgConnection& conn, const std::string& seller_id);

// Errors: NOT_FOUND (HOLD_NOT_FOUND); the database's.
absl::StatusOr<HoldRecord> GetHold(PgConnection& conn, const std::string& seller_id,
                                   int64_t hold_id);

struct HoldQuery {
  std::string seller_id;
  int page_size = 50;             // at most this many holds
  int64_t before_hold_id = 0;     // 0: from the newest hold; else only smaller hold ids
  std::vector<HoldState> states;  // empty: every state
  int16_t product = 0;            // 0: every product
  std::string reference;          // empty: every booking reference; else exactly this one
};

// The seller's holds, newest (highest hold_id) first. Errors: NOT_FOUND (WALLET_NOT_FOUND)
// when the seller has no wallet; the database's.
absl::StatusOr<std::vector<HoldRecord>> ListHolds(PgConnection& conn, const HoldQuery& q);

struct DueHold {
  std::string seller_id;
  int64_t hold_id = 0;
};

// Pending holds whose expiry has passed, oldest first, at most `limit`.
absl::StatusOr<std::vector<DueHold>> DueHolds(PgConnection& conn, int limit);

// Pending holds (a gauge for operators).
absl::StatusOr<int64_t> CountPendingHolds(PgConnection& conn);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_STORE_H_
