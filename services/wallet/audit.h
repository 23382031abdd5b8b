// The ledger audit: proves from the journal alone that the stored balances are right.
//
// Checks, each over the whole database:
//   1. every seller account: stored balance = credits - debits over the journal (the
//      receivable account 5 is stored negated: wallets.debt_yen = -(credits - debits));
//   2. the sum over all accounts (stored seller balances + platform balances derived from the
//      journal) is zero;
//   3. no seller balance (nor debt) is negative;
//   4. every seller's journal is 1..last_seq without gaps, and its newest entry's balances
//      equal the stored ones;
//   5. every wallet's held amount equals the sum of its pending holds;
//   6. every journal row moves between two known accounts;
// and the lots (DESIGN.md section 8; docs/LEDGER.md "Lots"):
//   7. every wallet's lots sum to its available and its held balance;
//   8. every open lot of a wallet (wallets.open_lots, what batches read) has its origin in
//      lot_origins, of the same paid or free kind, something left, and is listed once;
//   9. per lot: its amount minus what AD_SPEND, AD_CAPTURE, FORFEIT, CLAWBACK and
//      DEBT_RECOVERY entries consumed from it (their lot arrays) equals its available + held,
//      and every consumed lot exists;
//  10. per entry with lot arrays (one that moves Qcash, written after lots existed): the lot
//      amounts sum to amount_yen, paid_yen is the part in paid lots, every lot it names
//      exists, a credit names exactly its own lot, a DEBT_RECOVERY exactly the lot of the
//      credit it follows, and an INTERNAL_FUNDS_CREDIT or a DEBT names none;
//  11. lot 0 is the opening lot (origin 9), and only lot 0 is;
//  12. the debt chain (DESIGN.md section 9): every entry's debt_after is the previous one's
//      plus its DEBT minus its DEBT_RECOVERY, never negative, and only DEBT (receivable ->
//      provider clearing) and DEBT_RECOVERY (available -> receivable) move the receivable.
// Run by `qcashctl audit` and at the end of every integration test.
#ifndef QCASH_SERVICES_WALLET_AUDIT_H_
#define QCASH_SERVICES_WALLET_AUDIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg.h"

namespace qcash::wallet {

struct AuditReport {
  int64_t wallets = 0;
  int64_t entries = 0;
  int64_t total_yen = 0;                     // must be 0
  std::map<int, int64_t> platform_balances;  // account number -> credits - debits
  std::vector<std::string> problems;         // empty when the ledger is sound

  bool ok() const { return problems.empty() && total_yen == 0; }
  std::string ToString() const;
};

// Runs every check in one REPEATABLE READ transaction (one consistent snapshot).
// Errors: the database's; a failed check is a problem in the report, not an error.
absl::StatusOr<AuditReport> AuditLedger(PgConnection& conn);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_AUDIT_H_
