// Provenance reads (DESIGN.md section 8): which lots a journal entry created, consumed,
// reserved or returned, and a seller's lots. The lots and the journal's lot arrays are written
// by the ledger's batches (store.cc ApplyBatch); this file only reads them, with plain queries
// on the read pool, so that asking where a yen came from never touches a batch's locks.
#ifndef QCASH_SERVICES_WALLET_PROVENANCE_H_
#define QCASH_SERVICES_WALLET_PROVENANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg.h"
#include "services/wallet/ledger.h"
#include "services/wallet/store.h"

namespace qcash::wallet {

// One lot's share in an entry, with the lot as it is now.
struct LotUse {
  LotRecord lot;
  int64_t amount_yen = 0;
};

struct EntryLots {
  HistoryEntry entry;
  std::vector<LotUse> lots;  // in the order the entry took them (its lot arrays' order)
};

// The seller's journal entry `entry_seq` and the lots it names. An entry written before lots
// existed, or one that moves no Qcash (internal funds credit), names none.
// REQUIRES: entry_seq > 0. Errors: NOT_FOUND (WALLET_NOT_FOUND, ENTRY_NOT_FOUND); the
// database's; INTERNAL when the entry names a lot that does not exist (the audit's concern).
absl::StatusOr<EntryLots> GetEntryLots(PgConnection& conn, const std::string& seller_id,
                                       int64_t entry_seq);

struct LotQuery {
  std::string seller_id;
  int page_size = 50;         // at most this many lots
  int64_t before_lot_id = 0;  // 0: from the newest lot; else only lots with a smaller id
  bool open_only = false;     // only lots with Qcash left (available or held)
};

// The seller's lots, newest (highest lot_id) first. Errors: NOT_FOUND (WALLET_NOT_FOUND) when
// the seller has no wallet; the database's.
absl::StatusOr<std::vector<LotRecord>> ListLots(PgConnection& conn, const LotQuery& query);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_PROVENANCE_H_
