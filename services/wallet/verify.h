// The tamper-evident journal's verifier and its anchors (DESIGN.md section 8, docs/LEDGER.md
// "Tamper-evident journal").
//
// Every journal row carries hash = EntryHash(hash of the seller's previous row, row) (ledger.h),
// and wallets.chain_head is the hash of the seller's newest row. VerifyJournal() recomputes
// every chain from the rows as stored and names the first entry of each seller where the
// stored chain and its recomputation part. That finds a row edited underneath the service, a
// row deleted or a head moved; it cannot find a whole chain rewritten consistently by someone
// who can write every row (a superuser). That needs an outside copy of the chains' heads: the
// heads digest, one SHA-256 over every seller's (seller_id, last seq, head), which the wallet
// logs and exports periodically (an anchor) and which HeadsDigestAt() recomputes for any
// past instant, so that an anchor kept elsewhere can be checked against the journal.
#ifndef QCASH_SERVICES_WALLET_VERIFY_H_
#define QCASH_SERVICES_WALLET_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg.h"

namespace qcash::wallet {

// What is wrong at the first broken entry of a seller's chain.
enum class ChainFault : int16_t {
  // The row's hash is NULL (a row written before the chain existed and never backfilled).
  kHashNull = 1,
  // The row's hash is not EntryHash(previous row's hash, the row as stored): the row's content
  // was edited, or the previous row was rewritten with a fresh hash (the link to it broke).
  kHashMismatch = 2,
  // An entry is missing: a gap in the seqs, or the wallet's last_seq lies past the journal.
  kMissingEntry = 3,
  // wallets.chain_head / last_seq differ from the newest row's hash / seq.
  kHeadMismatch = 4,
  // Journal rows of a seller that has no wallet.
  kWalletMissing = 5,
};
const char* ChainFaultName(ChainFault fault);

struct ChainBreak {
  std::string seller_id;
  int64_t seq = 0;  // the first broken entry (for kMissingEntry: the first missing seq)
  ChainFault fault = ChainFault::kHashMismatch;
  std::string detail;
};

// One seller's chain head: the digest's input.
struct ChainHead {
  std::string seller_id;
  int64_t last_seq = 0;
  std::string hash;  // 32 bytes
};

// The heads digest: SHA-256 over the Fingerprint encoding (common/hash.h) of the tag
// "qcash-journal-heads-v1" and, for every seller with at least one entry in byte order of
// seller_id, its id, last seq and head. Streams: memory does not grow with the sellers.
class HeadsDigest {
 public:
  HeadsDigest();
  ~HeadsDigest();
  HeadsDigest(const HeadsDigest&) = delete;
  HeadsDigest& operator=(const HeadsDigest&) = delete;

  // REQUIRES: heads are added in byte order of seller_id, each seller once.
  void Add(const ChainHead& head);
  // The digest as 64 lowercase hex characters. REQUIRES: called once, last.
  std::string Hex();

  int64_t sellers() const { return sellers_; }
  int64_t entries() const { return entries_; }  // the sum of the heads' seqs

 private:
  void* ctx_;  // EVP_MD_CTX
  int64_t sellers_ = 0;
  int64_t entries_ = 0;
};

// An anchor: the heads digest of the journal as of `at`.
struct HeadsAnchor {
  std::string digest_hex;
  int64_t sellers = 0;  // sellers with an entry at or before `at`
  int64_t entries = 0;  // the sum of their heads' seqs
  absl::Time at;
};

// The heads digest as of `at`: for every seller with a wallet, its last entry created at or
// before `at`. One query over wallets with one index probe per seller (journal_seller_time),
// read in pages through a cursor. An entry whose transaction had read its time but not yet
// committed when this runs is missed: ask only about instants every batch has finished by
// (the ledger's statements time out after 10 s; the wallet's anchor job settles 60 s).
// REQUIRES: no transaction open on `conn` (it opens a REPEATABLE READ READ ONLY one).
// Errors: the database's.
absl::StatusOr<HeadsAnchor> HeadsDigestAt(PgConnection& conn, absl::Time at);

struct VerifyOptions {
  int page_rows = 2000;          // journal rows per round trip (bounds memory)
  size_t head_batch = 500;       // sellers whose wallet heads are looked up per round trip
  size_t breaks_max = 1000;      // broken sellers reported (all are counted)
  std::optional<absl::Time> at;  // also compute the heads digest as of this instant
};

struct VerifyReport {
  int64_t entries = 0;  // journal rows read
  int64_t sellers = 0;  // sellers with journal rows
  int64_t broken_sellers = 0;
  std::vector<ChainBreak> breaks;  // the first per broken seller, by seller_id; <= breaks_max
  std::string heads_digest;        // of wallets' heads now (HeadsDigest), hex
  int64_t heads_sellers = 0;
  std::optional<HeadsAnchor> at;  // VerifyOptions::at's digest

  bool sound() const { return broken_sellers == 0; }
  std::string ToString() const;
};

// Reads every seller's journal in seq order in one REPEATABLE READ READ ONLY snapshot, in pages
// of options.page_rows through a cursor, recomputes every row's hash with EntryHash() from the
// row as stored, checks seqs run 1, 2, 3... and that each wallet's last_seq and chain_head are
// its newest row's, and reports the first broken entry of each seller. Also computes the
// heads digest of the same snapshot (and as of options.at).
// REQUIRES: no transaction open on `conn`. Errors: the database's.
absl::StatusOr<VerifyReport> VerifyJournal(PgConnection& conn, const VerifyOptions& options = {});

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_VERIFY_H_
