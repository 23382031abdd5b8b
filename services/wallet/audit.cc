#include "services/wallet/audit.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qcash::wallet {
namespace {

constexpr int kProblemsMax = 50;

// Seller accounts whose stored balance differs from the journal's credits - debits.
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
         coalesce(sum(delta) FILTER (WHERE account = 4), 0) AS pending
    FROM flows GROUP BY seller_id
)
SELECT coalesce(w.seller_id, s.seller_id),
       coalesce(w.available_yen, 0), coalesce(s.available, 0),
       coalesce(w.held_yen, 0), coalesce(s.held, 0),
       coalesce(w.qmoney_yen, 0), coalesce(s.qmoney, 0),
       coalesce(w.pending_yen, 0), coalesce(s.pending, 0)
  FROM wallets w FULL JOIN sums s ON s.seller_id = w.seller_id
 WHERE w.seller_id IS NULL
    OR coalesce(w.available_yen, 0) <> coalesce(s.available, 0)
    OR coalesce(w.held_yen, 0) <> coalesce(s.held, 0)
    OR coalesce(w.qmoney_yen, 0) <> coalesce(s.qmoney, 0)
    OR coalesce(w.pending_yen, 0) <> coalesce(s.pending, 0)
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
SELECT coalesce(sum(available_yen::numeric + held_yen + qmoney_yen + pending_yen), 0)::bigint,
       count(*),
       count(*) FILTER (WHERE available_yen < 0 OR held_yen < 0 OR qmoney_yen < 0
                              OR pending_yen < 0)
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
 WHERE debit_account NOT IN (1, 2, 3, 4, 101, 102, 103, 104, 105)
    OR credit_account NOT IN (1, 2, 3, 4, 101, 102, 103, 104, 105)
 LIMIT 50
)sql";

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
        mismatched->Get(i, 7), ") differ from the journal's (", mismatched->Get(i, 2), ", ",
        mismatched->Get(i, 4), ", ", mismatched->Get(i, 6), ", ", mismatched->Get(i, 8), ")"));
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

  if (report.problems.size() > kProblemsMax) report.problems.resize(kProblemsMax);
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  return report;
}

}  // namespace qcash::wallet
