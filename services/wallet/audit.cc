#include "services/wallet/audit.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qcash::wallet {
namespace {

constexpr int kProblemsMax = 50;

// Seller accounts whose stored balance differs from the journal's credits - debits. The
// receivable account (5) is stored negated, as the seller's debt (wallets.debt_yen).
constexpr const char* kBalancesMatchJournal = R"sql(
WITH flows AS (
  SELECT seller_id, credit_account AS account, amount_yen AS delta
    FROM journal WHERE credit_account < 100
  UNION ALL
  SELECT seller_id, debit_account, -amount_yen FROM journal WHERE debit_account < 100
), sums AS (
  SELECT seller_id,
         coalesce(sum(delta) FILTER (WHERE account = 1), 0) AS available,
         coalesce(sum(delta) FILTER (WHERE account = 2), 0) AS held,
         coalesce(sum(delta) FILTER (WHERE account = 3), 0) AS qmoney,
         coalesce(sum(delta) FILTER (WHERE account = 4), 0) AS pending,
         coalesce(sum(delta) FILTER (WHERE account = 5), 0) AS receivable
    FROM flows GROUP BY seller_id
)
SELECT coalesce(w.seller_id, s.seller_id),
       coalesce(w.available_yen, 0), coalesce(s.available, 0),
       coalesce(w.held_yen, 0), coalesce(s.held, 0),
       coalesce(w.qmoney_yen, 0), coalesce(s.qmoney, 0),
       coalesce(w.pending_yen, 0), coalesce(s.pending, 0),
       coalesce(w.debt_yen, 0), -coalesce(s.receivable, 0)
  FROM wallets w FULL JOIN sums s ON s.seller_id = w.seller_id
 WHERE w.seller_id IS NULL
    OR coalesce(w.available_yen, 0) <> coalesce(s.available, 0)
    OR coalesce(w.held_yen, 0) <> coalesce(s.held, 0)
    OR coalesce(w.qmoney_yen, 0) <> coalesce(s.qmoney, 0)
    OR coalesce(w.pending_yen, 0) <> coalesce(s.pending, 0)
    OR coalesce(w.debt_yen, 0) <> -coalesce(s.receivable, 0)
 LIMIT 50
)sql";

// Platform balances from the journal.
constexpr const char* kPlatformBalances = R"sql(
SELECT account, sum(delta)::bigint FROM (
  SELECT credit_account AS account, amount_yen AS delta FROM journal WHERE credit_account >= 100
  UNION ALL
  SELECT debit_account, -amount_yen FROM journal WHERE debit_account >= 100
) f GROUP BY account ORDER BY account
)sql";

constexpr const char* kSellerTotal = R"sql(
SELECT coalesce(sum(available_yen::numeric + held_yen + qmoney_yen + pending_yen - debt_yen),
                0)::bigint,
       count(*),
       count(*) FILTER (WHERE available_yen < 0 OR held_yen < 0 OR qmoney_yen < 0
                              OR pending_yen < 0 OR debt_yen < 0)
  FROM wallets
)sql";

// Journals with gaps, or whose newest entry disagrees with the stored balances.
constexpr const char* kJournalContinuity = R"sql(
WITH j AS (
  SELECT seller_id, count(*) AS n, max(seq) AS last, min(seq) AS first
    FROM journal GROUP BY seller_id
)
SELECT w.seller_id, coalesce(j.n, 0), coalesce(j.last, 0), w.last_seq
  FROM wallets w LEFT JOIN j ON j.seller_id = w.seller_id
 WHERE coalesce(j.n, 0) <> w.last_seq OR coalesce(j.last, 0) <> w.last_seq
    OR coalesce(j.first, 1) <> 1
 LIMIT 50
)sql";

constexpr const char* kNewestEntryMatches = R"sql(
SELECT w.seller_id FROM wallets w JOIN journal e
    ON e.seller_id = w.seller_id AND e.seq = w.last_seq
 WHERE e.available_after <> w.available_yen OR e.held_after <> w.held_yen
    OR e.qmoney_after <> w.qmoney_yen OR e.pending_after <> w.pending_yen
    OR e.debt_after <> w.debt_yen
 LIMIT 50
)sql";

constexpr const char* kHeldMatchesHolds = R"sql(
SELECT w.seller_id, w.held_yen, coalesce(h.pending, 0) FROM wallets w
  LEFT JOIN (SELECT seller_id, sum(amount_yen) AS pending FROM holds WHERE state = 1
              GROUP BY seller_id) h ON h.seller_id = w.seller_id
 WHERE w.held_yen <> coalesce(h.pending, 0)
 LIMIT 50
)sql";

constexpr const char* kUnknownAccounts = R"sql(
SELECT seller_id, seq FROM journal
 WHERE debit_account NOT IN (1, 2, 3, 4, 5, 101, 102, 103, 104, 105)
    OR credit_account NOT IN (1, 2, 3, 4, 5, 101, 102, 103, 104, 105)
 LIMIT 50
)sql";

// 7. Wallets whose lots do not sum to their available and held balances.
constexpr const char* kLotsMatchBalances = R"sql(
SELECT w.seller_id, w.available_yen, coalesce(l.available, 0), w.held_yen, coalesce(l.held, 0)
  FROM wallets w
  LEFT JOIN (SELECT seller_id, sum(available_yen) AS available, sum(held_yen) AS held
               FROM lots GROUP BY seller_id) l ON l.seller_id = w.seller_id
 WHERE w.available_yen <> coalesce(l.available, 0) OR w.held_yen <> coalesce(l.held, 0)
 LIMIT 50
)sql";

// 8. Open lots (wallets.open_lots, what the ledger reads) without an origin of the same paid
// or free kind, with nothing (or less than nothing) left, or listed twice.
constexpr const char* kOpenLotsHaveOrigins = R"sql(
SELECT b.seller_id, b.lot_id,
       CASE WHEN o.lot_id IS NULL THEN 'has no origin in lot_origins'
            WHEN o.paid <> b.paid THEN 'is listed as ' || CASE WHEN b.paid THEN 'paid' ELSE 'free' END
                                       || ' but its origin says otherwise'
            WHEN b.available_yen < 0 OR b.held_yen < 0 OR b.available_yen + b.held_yen = 0
              THEN 'is listed with ' || b.available_yen || '/' || b.held_yen || ' yen left'
            ELSE 'is listed twice' END
  FROM lot_balances b
  LEFT JOIN lot_origins o ON o.seller_id = b.seller_id AND o.lot_id = b.lot_id
 WHERE o.lot_id IS NULL OR o.paid <> b.paid OR b.available_yen < 0 OR b.held_yen < 0
    OR b.available_yen + b.held_yen = 0
    OR (SELECT count(*) FROM lot_balances d
         WHERE d.seller_id = b.seller_id AND d.lot_id = b.lot_id) > 1
 LIMIT 50
)sql";

// 9. Per lot: amount - consumed (AD_SPEND 3, AD_CAPTURE 5, FORFEIT 11, CLAWBACK 12,
// DEBT_RECOVERY 14) = available + held.
// A consumed lot that does not exist shows with a NULL amount.
constexpr const char* kLotsMatchConsumption = R"sql(
WITH used AS (
  SELECT j.seller_id, u.lot_id, sum(u.amount) AS used
    FROM journal j CROSS JOIN LATERAL unnest(j.lot_ids, j.lot_amounts) AS u(lot_id, amount)
   WHERE j.entry_type IN (3, 5, 11, 12, 14)
   GROUP BY j.seller_id, u.lot_id
)
SELECT coalesce(l.seller_id, u.seller_id), coalesce(l.lot_id, u.lot_id), l.amount_yen,
       coalesce(u.used, 0), l.available_yen + l.held_yen
  FROM lots l FULL JOIN used u ON u.seller_id = l.seller_id AND u.lot_id = l.lot_id
 WHERE l.lot_id IS NULL
    OR l.amount_yen - coalesce(u.used, 0) <> l.available_yen + l.held_yen
 LIMIT 50
)sql";

// 10. Entries whose lot arrays disagree with their amount, paid part or type. A DEBT entry
// (13) names no lots (its Qcash was spent already); a DEBT_RECOVERY (14) names exactly the lot
// of the credit it follows.
constexpr const char* kEntriesMatchLots = R"sql(
SELECT j.seller_id, j.seq, j.entry_type, j.amount_yen, s.total, j.paid_yen, s.paid, s.missing,
       array_to_string(j.lot_ids, ',')
  FROM journal j CROSS JOIN LATERAL (
    SELECT coalesce(sum(u.amount), 0) AS total,
           coalesce(sum(u.amount) FILTER (WHERE l.paid), 0) AS paid,
           count(*) FILTER (WHERE l.lot_id IS NULL) AS missing
      FROM unnest(j.lot_ids, j.lot_amounts) AS u(lot_id, amount)
      LEFT JOIN lots l ON l.seller_id = j.seller_id AND l.lot_id = u.lot_id) s
 WHERE (cardinality(j.lot_ids) > 0 OR j.entry_type IN (12, 14))
   AND (j.entry_type IN (10, 13) OR s.total <> j.amount_yen OR s.paid <> j.paid_yen
        OR s.missing > 0
        OR (j.entry_type IN (1, 2, 9) AND j.lot_ids <> ARRAY[j.seq])
        OR (j.entry_type = 14 AND j.lot_ids <> ARRAY[j.seq - 1]))
 LIMIT 50
)sql";

// 11. Lot 0 and the opening origin go together.
constexpr const char* kOpeningLots = R"sql(
SELECT seller_id, lot_id, origin FROM lots WHERE (lot_id = 0) <> (origin = 9) LIMIT 50
)sql";

// 12. The debt chain: each entry's debt_after is the previous entry's (0 before the first)
// plus what it moved out of the receivable account (DEBT) minus what it moved in
// (DEBT_RECOVERY); only those two types touch it, DEBT from receivable to provider clearing
// and DEBT_RECOVERY from available to receivable.
constexpr const char* kDebtChain = R"sql(
SELECT seller_id, seq, entry_type, debt_after, expected FROM (
  SELECT seller_id, seq, entry_type, debit_account, credit_account, debt_after,
         coalesce(lag(debt_after) OVER (PARTITION BY seller_id ORDER BY seq), 0)
           + CASE WHEN debit_account = 5 THEN amount_yen ELSE 0 END
           - CASE WHEN credit_account = 5 THEN amount_yen ELSE 0 END AS expected
    FROM journal) j
 WHERE debt_after <> expected OR debt_after < 0
    OR ((debit_account = 5 OR credit_account = 5) AND entry_type NOT IN (13, 14))
    OR (entry_type = 13 AND (debit_account <> 5 OR credit_account <> 101))
    OR (entry_type = 14 AND (debit_account <> 1 OR credit_account <> 5))
    OR (entry_type = 12 AND (debit_account <> 1 OR credit_account <> 101))
 LIMIT 50
)sql";

// Checks 7 to 12, appending what they find to `problems`. Errors: the database's.
absl::Status AuditLots(PgConnection& conn, std::vector<std::string>* problems) {
  auto balances = conn.Exec(kLotsMatchBalances);
  if (!balances.ok()) return balances.status();
  for (int i = 0; i < balances->rows(); ++i) {
    problems->push_back(absl::StrCat("seller ", balances->Get(i, 0), ": available ",
                                     balances->Get(i, 1), " and held ", balances->Get(i, 3),
                                     " yen but its lots have ", balances->Get(i, 2),
                                     " available and ", balances->Get(i, 4), " held"));
  }

  auto open = conn.Exec(kOpenLotsHaveOrigins);
  if (!open.ok()) return open.status();
  for (int i = 0; i < open->rows(); ++i) {
    problems->push_back(absl::StrCat("seller ", open->Get(i, 0), " open lot ", open->Get(i, 1), " ",
                                     open->Get(i, 2)));
  }

  auto consumed = conn.Exec(kLotsMatchConsumption);
  if (!consumed.ok()) return consumed.status();
  for (int i = 0; i < consumed->rows(); ++i) {
    if (consumed->IsNull(i, 2)) {
      problems->push_back(absl::StrCat("seller ", consumed->Get(i, 0), ": the journal consumed ",
                                       consumed->Get(i, 3), " yen from lot ", consumed->Get(i, 1),
                                       ", which does not exist"));
      continue;
    }
    problems->push_back(absl::StrCat("seller ", consumed->Get(i, 0), " lot ", consumed->Get(i, 1),
                                     ": amount ", consumed->Get(i, 2), " - consumed ",
                                     consumed->Get(i, 3), " yen but it has ", consumed->Get(i, 4),
                                     " available + held"));
  }

  auto entries = conn.Exec(kEntriesMatchLots);
  if (!entries.ok()) return entries.status();
  for (int i = 0; i < entries->rows(); ++i) {
    problems->push_back(absl::StrCat(
        "seller ", entries->Get(i, 0), " entry ", entries->Get(i, 1), " (type ", entries->Get(i, 2),
        ", amount ", entries->Get(i, 3), ", paid ", entries->Get(i, 5), ") names lots {",
        entries->Get(i, 8), "} summing to ", entries->Get(i, 4), " (paid ", entries->Get(i, 6),
        ", missing lots ", entries->Get(i, 7), ")"));
  }

  auto debts = conn.Exec(kDebtChain);
  if (!debts.ok()) return debts.status();
  for (int i = 0; i < debts->rows(); ++i) {
    problems->push_back(absl::StrCat("seller ", debts->Get(i, 0), " entry ", debts->Get(i, 1),
                                     " (type ", debts->Get(i, 2), ") says debt ", debts->Get(i, 3),
                                     " yen after it, the chain ", debts->Get(i, 4),
                                     " (or it moves the receivable account "
                                     "and is not a DEBT or DEBT_RECOVERY)"));
  }

  auto opening = conn.Exec(kOpeningLots);
  if (!opening.ok()) return opening.status();
  for (int i = 0; i < opening->rows(); ++i) {
    problems->push_back(absl::StrCat("seller ", opening->Get(i, 0), " lot ", opening->Get(i, 1),
                                     " has origin ", opening->Get(i, 2),
                                     ": lot 0 is the opening lot (origin 9) and only it"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string AuditReport::ToString() const {
  std::string out = absl::StrCat(ok() ? "ledger audit: OK" : "ledger audit: FAILED",
                                 "\n  wallets: ", wallets, "\n  journal entries: ", entries,
                                 "\n  sum over all accounts: ", total_yen, " yen\n");
  for (const auto& [account, balance] : platform_balances) {
    absl::StrAppend(&out, "  platform account ", account, ": ", balance, " yen\n");
  }
  for (const std::string& p : problems) absl::StrAppend(&out, "  PROBLEM: ", p, "\n");
  return out;
}

absl::StatusOr<AuditReport> AuditLedger(PgConnection& conn) {
  AuditReport report;
  // One snapshot for every check, so that the figures agree with each other while writers go
  // on; any early return rolls it back (~PgTransaction).
  auto tx = PgTransaction::Begin(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!tx.ok()) return tx.status();

  auto mismatched = conn.Exec(kBalancesMatchJournal);
  if (!mismatched.ok()) return mismatched.status();
  for (int i = 0; i < mismatched->rows(); ++i) {
    report.problems.push_back(absl::StrCat(
        "seller ", mismatched->Get(i, 0), ": stored balances (available ", mismatched->Get(i, 1),
        ", held ", mismatched->Get(i, 3), ", qmoney ", mismatched->Get(i, 5), ", pending ",
        mismatched->Get(i, 7), ", debt ", mismatched->Get(i, 9), ") differ from the journal's (",
        mismatched->Get(i, 2), ", ", mismatched->Get(i, 4), ", ", mismatched->Get(i, 6), ", ",
        mismatched->Get(i, 8), ", ", mismatched->Get(i, 10), ")"));
  }

  auto platform = conn.Exec(kPlatformBalances);
  if (!platform.ok()) return platform.status();
  int64_t platform_total = 0;
  for (int i = 0; i < platform->rows(); ++i) {
    const int64_t balance = platform->GetInt64(i, 1);
    report.platform_balances[static_cast<int>(platform->GetInt64(i, 0))] = balance;
    platform_total += balance;
  }

  auto sellers = conn.Exec(kSellerTotal);
  if (!sellers.ok()) return sellers.status();
  report.total_yen = sellers->GetInt64(0, 0) + platform_total;
  report.wallets = sellers->GetInt64(0, 1);
  if (sellers->GetInt64(0, 2) != 0) {
    report.problems.push_back(absl::StrCat(sellers->Get(0, 2), " wallets have a negative balance"));
  }
  if (report.total_yen != 0) {
    report.problems.push_back(
        absl::StrCat("the accounts sum to ", report.total_yen, " yen instead of 0"));
  }

  auto entries = conn.Exec("SELECT count(*) FROM journal");
  if (!entries.ok()) return entries.status();
  report.entries = entries->GetInt64(0, 0);

  auto gaps = conn.Exec(kJournalContinuity);
  if (!gaps.ok()) return gaps.status();
  for (int i = 0; i < gaps->rows(); ++i) {
    report.problems.push_back(absl::StrCat("seller ", gaps->Get(i, 0), ": journal has ",
                                           gaps->Get(i, 1), " entries up to seq ", gaps->Get(i, 2),
                                           " but the wallet says last_seq ", gaps->Get(i, 3)));
  }

  auto newest = conn.Exec(kNewestEntryMatches);
  if (!newest.ok()) return newest.status();
  for (int i = 0; i < newest->rows(); ++i) {
    report.problems.push_back(absl::StrCat("seller ", newest->Get(i, 0),
                                           ": newest journal entry's balances differ from the "
                                           "stored balances"));
  }

  auto holds = conn.Exec(kHeldMatchesHolds);
  if (!holds.ok()) return holds.status();
  for (int i = 0; i < holds->rows(); ++i) {
    report.problems.push_back(absl::StrCat("seller ", holds->Get(i, 0), ": held ", holds->Get(i, 1),
                                           " yen but pending holds sum to ", holds->Get(i, 2)));
  }

  auto unknown = conn.Exec(kUnknownAccounts);
  if (!unknown.ok()) return unknown.status();
  for (int i = 0; i < unknown->rows(); ++i) {
    report.problems.push_back(absl::StrCat("seller ", unknown->Get(i, 0), " entry ",
                                           unknown->Get(i, 1), " moves an unknown account"));
  }

  if (absl::Status s = AuditLots(conn, &report.problems); !s.ok()) return s;

  if (report.problems.size() > kProblemsMax) report.problems.resize(kProblemsMax);
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  return report;
}

}  // namespace qcash::wallet
