#include "services/wallet/verify.h"

#include <openssl/evp.h>

#include <algorithm>
#include <functional>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/hash.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {
namespace {

// Every journal column the canonical content covers, then the stored hash (NULL stays NULL).
// created_at in Unix microseconds: extract() is exact (numeric) since PostgreSQL 14.
constexpr char kJournalRows[] =
    "SELECT seller_id, seq, entry_type, debit_account, credit_account, amount_yen, "
    "available_after, held_after, qmoney_after, pending_after, product, reference, hold_id, "
    "caller, (extract(epoch FROM created_at) * 1000000)::bigint, "
    "array_to_string(lot_ids, ','), array_to_string(lot_amounts, ','), paid_yen, "
    "encode(hash, 'hex'), debt_after FROM journal ORDER BY seller_id, seq";
// The same for a journal from before migration 0006 (no debt column): every debt was 0, which
// the canonical form leaves out.
constexpr char kJournalRowsWithoutDebt[] =
    "SELECT seller_id, seq, entry_type, debit_account, credit_account, amount_yen, "
    "available_after, held_after, qmoney_after, pending_after, product, reference, hold_id, "
    "caller, (extract(epoch FROM created_at) * 1000000)::bigint, "
    "array_to_string(lot_ids, ','), array_to_string(lot_amounts, ','), paid_yen, "
    "encode(hash, 'hex'), 0::bigint FROM journal ORDER BY seller_id, seq";
constexpr char kHasDebtColumn[] =
    "SELECT count(*) FROM pg_attribute WHERE attrelid = 'journal'::regclass "
    "AND attname = 'debt_after' AND NOT attisdropped";

// The heads as wallets hold them now, in byte order of seller_id (the digest's order, the same
// whatever the database's collation).
constexpr char kWalletHeads[] =
    "SELECT seller_id, last_seq, encode(chain_head, 'hex') FROM wallets WHERE last_seq > 0 "
    "ORDER BY seller_id COLLATE \"C\"";

// Each wallet's last entry at or before an instant ($AT, Unix microseconds, spliced in as an
// integer: a cursor's query takes no parameters here). A seller's entries are in time order
// (the batch time is read under the wallet's lock), so the newest by time is the newest by seq.
constexpr char kHeadsAtSelect[] =
    "SELECT w.seller_id, h.seq, encode(h.hash, 'hex') FROM wallets w CROSS JOIN LATERAL ("
    " SELECT j.seq, j.hash FROM journal j WHERE j.seller_id = w.seller_id"
    " AND j.created_at <= 'epoch'::timestamptz + ";
constexpr char kHeadsAtRest[] =
    " * interval '1 microsecond' ORDER BY j.created_at DESC, j.seq DESC LIMIT 1) h "
    "ORDER BY w.seller_id COLLATE \"C\"";

constexpr PgStatement kLookupHeads = {
    "wallet_verify_heads",
    "SELECT seller_id, last_seq, encode(chain_head, 'hex') FROM wallets "
    "WHERE seller_id = ANY($1::text[])"};

// Wallets that claim entries (or a head) when the journal has none of theirs.
constexpr PgStatement kHeadsWithoutJournal = {
    "wallet_verify_heads_without_journal",
    "SELECT seller_id, last_seq FROM wallets w "
    "WHERE (w.last_seq > 0 OR w.chain_head IS NOT NULL) "
    "AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.seller_id = w.seller_id) "
    "ORDER BY seller_id LIMIT $1"};

constexpr char kBegin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

// Runs `query` through the cursor `name` in pages of `page_rows`, calling `row` for each row.
// REQUIRES: a transaction is open on `conn`.
absl::Status ForEachRow(PgConnection& conn, const char* name, const std::string& query,
                        int page_rows, const std::function<void(const PgResult&, int)>& row) {
  auto declared = conn.Exec(absl::StrCat("DECLARE ", name, " NO SCROLL CURSOR FOR ", query));
  if (!declared.ok()) return declared.status();
  const std::string fetch = absl::StrCat("FETCH FORWARD ", std::max(1, page_rows), " FROM ", name);
  for (;;) {
    auto page = conn.Exec(fetch);
    if (!page.ok()) return page.status();
    if (page->rows() == 0) break;
    for (int i = 0; i < page->rows(); ++i) row(*page, i);
  }
  return conn.Exec(absl::StrCat("CLOSE ", name)).status();
}

std::string Bytes(const PgResult& r, int row, int column) {
  if (r.IsNull(row, column)) return "";
  return absl::HexStringToBytes(r.Get(row, column));
}

// Reads "1,2,3" into `out`; false when an element is not an integer.
bool ParseInts(absl::string_view text, std::vector<int64_t>* out) {
  out->clear();
  if (text.empty()) return true;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(part, &v)) return false;
    out->push_back(v);
  }
  return true;
}

absl::StatusOr<HeadsAnchor> DigestOf(PgConnection& conn, const std::string& query, const char* name,
                                     absl::Time at) {
  HeadsDigest digest;
  absl::Status s = ForEachRow(conn, name, query, 2000, [&](const PgResult& r, int i) {
    digest.Add({std::string(r.Get(i, 0)), r.GetInt64(i, 1), Bytes(r, i, 2)});
  });
  if (!s.ok()) return s;
  HeadsAnchor anchor;
  anchor.sellers = digest.sellers();
  anchor.entries = digest.entries();
  anchor.digest_hex = digest.Hex();
  anchor.at = at;
  return anchor;
}

std::string HeadsAtQuery(absl::Time at) {
  return absl::StrCat(kHeadsAtSelect, absl::ToUnixMicros(at), "::bigint", kHeadsAtRest);
}

// One seller's chain as the walk has it so far.
struct SellerWalk {
  std::string seller_id;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  std::string last_hash;  // as stored
  bool broken = false;
};

class Walker {
 public:
  Walker(PgConnection& conn, const VerifyOptions& options, VerifyReport* report)
      : conn_(conn), options_(options), report_(report) {}

  void Row(const PgResult& r, int i) {
    ++report_->entries;
    const absl::string_view seller = r.Get(i, 0);
    if (!current_ || current_->seller_id != seller) {
      if (current_) pending_.push_back(std::move(*current_));
      if (pending_.size() >= options_.head_batch && status_.ok()) status_ = CheckHeads();
      current_ = SellerWalk{std::string(seller), r.GetInt64(i, 1), 0, "", false};
      ++report_->sellers;
    }
    SellerWalk& w = *current_;
    const int64_t seq = r.GetInt64(i, 1);
    const std::string stored = Bytes(r, i, 18);
    if (!w.broken) Check(w, r, i, seq, stored);
    w.last_seq = seq;
    w.last_hash = stored;
  }

  // Checks the heads of the sellers still pending and the wallets that have no journal.
  absl::Status Finish() {
    if (current_) pending_.push_back(std::move(*current_));
    current_.reset();
    if (status_.ok()) status_ = CheckHeads();
    if (!status_.ok()) return status_;
    auto orphans = conn_.Exec(kHeadsWithoutJournal,
                              {absl::StrCat(static_cast<int64_t>(options_.breaks_max) + 1)});
    if (!orphans.ok()) return orphans.status();
    for (int i = 0; i < orphans->rows(); ++i) {
      const int64_t last_seq = orphans->GetInt64(i, 1);
      if (last_seq > 0) {
        Break(std::string(orphans->Get(i, 0)), 1, ChainFault::kMissingEntry,
              absl::StrCat("the wallet's last_seq is ", last_seq, " but the journal has none"));
      } else {
        Break(std::string(orphans->Get(i, 0)), 0, ChainFault::kHeadMismatch,
              "the wallet has a chain_head but no entry");
      }
    }
    return absl::OkStatus();
  }

 private:
  void Check(SellerWalk& w, const PgResult& r, int i, int64_t seq, const std::string& stored) {
    const int64_t expected_seq = w.last_seq + 1;  // 1 for the seller's first row
    if (seq != expected_seq) {
      w.broken = true;
      Break(w.seller_id, expected_seq, ChainFault::kMissingEntry,
            absl::StrCat("seq ", expected_seq, " is missing (the next row is seq ", seq, ")"));
      return;
    }
    if (r.IsNull(i, 18)) {
      w.broken = true;
      Break(w.seller_id, seq, ChainFault::kHashNull, "the row has no hash");
      return;
    }
    JournalEntry e;
    e.seller_id = w.seller_id;
    e.seq = seq;
    e.type = static_cast<EntryType>(static_cast<int16_t>(r.GetInt64(i, 2)));
    e.debit = static_cast<Account>(static_cast<int16_t>(r.GetInt64(i, 3)));
    e.credit = static_cast<Account>(static_cast<int16_t>(r.GetInt64(i, 4)));
    e.amount_yen = r.GetInt64(i, 5);
    e.available_after_yen = r.GetInt64(i, 6);
    e.held_after_yen = r.GetInt64(i, 7);
    e.qmoney_after_yen = r.GetInt64(i, 8);
    e.pending_after_yen = r.GetInt64(i, 9);
    e.product = static_cast<int16_t>(r.GetInt64(i, 10));
    e.reference = std::string(r.Get(i, 11));
    e.hold_id = r.GetInt64(i, 12);
    e.caller = std::string(r.Get(i, 13));
    e.created_at = absl::FromUnixMicros(r.GetInt64(i, 14));
    e.debt_after_yen = r.GetInt64(i, 19);
    std::vector<int64_t> ids, amounts;
    // A NULL array element is dropped by array_to_string: the hash then differs, as it must.
    if (!ParseInts(r.Get(i, 15), &ids) || !ParseInts(r.Get(i, 16), &amounts) ||
        ids.size() != amounts.size()) {
      w.broken = true;
      Break(w.seller_id, seq, ChainFault::kHashMismatch, "lot_ids and lot_amounts do not pair");
      return;
    }
    for (size_t k = 0; k < ids.size(); ++k) e.lots.push_back({ids[k], amounts[k]});
    e.paid_yen = r.GetInt64(i, 17);
    if (EntryHash(w.last_hash, e) != stored) {
      w.broken = true;
      Break(w.seller_id, seq, ChainFault::kHashMismatch,
            seq == 1 ? "the row's content was edited (its hash does not match it)"
                     : "the row's content was edited, or the previous row was rewritten with a "
                       "fresh hash (its hash does not match it chained to the previous one)");
    }
  }

  absl::Status CheckHeads() {
    if (pending_.empty()) return absl::OkStatus();
    PgArrayLiteral ids;
    for (const SellerWalk& w : pending_) ids.AddText(w.seller_id);
    auto heads = conn_.Exec(kLookupHeads, {ids.Finish()});
    if (!heads.ok()) return heads.status();
    absl::flat_hash_map<std::string, std::pair<int64_t, std::string>> by_seller;
    for (int i = 0; i < heads->rows(); ++i) {
      by_seller[std::string(heads->Get(i, 0))] = {heads->GetInt64(i, 1), Bytes(*heads, i, 2)};
    }
    for (const SellerWalk& w : pending_) {
      if (w.broken) continue;  // its first break is reported already
      auto it = by_seller.find(w.seller_id);
      if (it == by_seller.end()) {
        Break(w.seller_id, w.first_seq, ChainFault::kWalletMissing,
              "journal rows of a seller without a wallet");
        continue;
      }
      const auto& [last_seq, head] = it->second;
      if (last_seq > w.last_seq) {
        Break(w.seller_id, w.last_seq + 1, ChainFault::kMissingEntry,
              absl::StrCat("the wallet's last_seq is ", last_seq, " but the journal ends at ",
                           w.last_seq));
      } else if (last_seq < w.last_seq) {
        Break(w.seller_id, last_seq + 1, ChainFault::kHeadMismatch,
              absl::StrCat("the journal runs to seq ", w.last_seq, " past the wallet's last_seq ",
                           last_seq));
      } else if (head != w.last_hash) {
        Break(w.seller_id, w.last_seq, ChainFault::kHeadMismatch,
              "the wallet's chain_head is not the newest row's hash");
      }
    }
    pending_.clear();
    return absl::OkStatus();
  }

  void Break(std::string seller_id, int64_t seq, ChainFault fault, std::string detail) {
    ++report_->broken_sellers;
    if (report_->breaks.size() < options_.breaks_max) {
      report_->breaks.push_back({std::move(seller_id), seq, fault, std::move(detail)});
    }
  }

  PgConnection& conn_;
  const VerifyOptions& options_;
  VerifyReport* report_;
  std::optional<SellerWalk> current_;
  std::vector<SellerWalk> pending_;  // sellers walked whose heads are not checked yet
  absl::Status status_;
};

}  // namespace

const char* ChainFaultName(ChainFault fault) {
  switch (fault) {
    case ChainFault::kHashNull:
      return "hash NULL";
    case ChainFault::kHashMismatch:
      return "content edited or link broken";
    case ChainFault::kMissingEntry:
      return "missing entry";
    case ChainFault::kHeadMismatch:
      return "chain head differs";
    case ChainFault::kWalletMissing:
      return "wallet missing";
    default:
      return "unknown";
  }
}

HeadsDigest::HeadsDigest() : ctx_(EVP_MD_CTX_new()) {
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  Fingerprint tag;
  tag.Add("qcash-journal-heads-v1");
  EVP_DigestUpdate(ctx, tag.Text().data(), tag.Text().size());
}

HeadsDigest::~HeadsDigest() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void HeadsDigest::Add(const ChainHead& head) {
  Fingerprint f;
  f.Add(head.seller_id).Add(head.last_seq).Add(head.hash);
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), f.Text().data(), f.Text().size());
  ++sellers_;
  entries_ += head.last_seq;
}

std::string HeadsDigest::Hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out, &size);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(out), static_cast<size_t>(size)));
}

absl::StatusOr<HeadsAnchor> HeadsDigestAt(PgConnection& conn, absl::Time at) {
  return WithTransaction(
      conn, [&](PgConnection& c) { return DigestOf(c, HeadsAtQuery(at), "qcash_heads_at", at); },
      kBegin);
}

absl::StatusOr<VerifyReport> VerifyJournal(PgConnection& conn, const VerifyOptions& options) {
  return WithTransaction(
      conn,
      [&](PgConnection& c) -> absl::StatusOr<VerifyReport> {
        VerifyReport report;
        Walker walker(c, options, &report);
        auto has_debt = c.Exec(kHasDebtColumn);
        if (!has_debt.ok()) return has_debt.status();
        const char* rows = has_debt->GetInt64(0, 0) > 0 ? kJournalRows : kJournalRowsWithoutDebt;
        absl::Status walked = ForEachRow(c, "qcash_verify_journal", rows, options.page_rows,
                                         [&](const PgResult& r, int i) { walker.Row(r, i); });
        if (!walked.ok()) return walked;
        if (absl::Status finished = walker.Finish(); !finished.ok()) return finished;
        std::sort(report.breaks.begin(), report.breaks.end(),
                  [](const ChainBreak& a, const ChainBreak& b) {
                    return std::tie(a.seller_id, a.seq) < std::tie(b.seller_id, b.seq);
                  });
        auto now = DigestOf(c, kWalletHeads, "qcash_verify_heads", absl::InfiniteFuture());
        if (!now.ok()) return now.status();
        report.heads_digest = now->digest_hex;
        report.heads_sellers = now->sellers;
        if (options.at) {
          auto at = DigestOf(c, HeadsAtQuery(*options.at), "qcash_verify_heads_at", *options.at);
          if (!at.ok()) return at.status();
          report.at = *at;
        }
        return report;
      },
      kBegin);
}

std::string VerifyReport::ToString() const {
  std::string out =
      absl::StrCat("entries checked: ", entries, "\nsellers: ", sellers,
                   "\nheads digest: ", heads_digest, " (", heads_sellers, " sellers)\n");
  if (at) {
    absl::StrAppend(&out, "heads digest at ",
                    absl::FormatTime(absl::RFC3339_full, at->at, absl::UTCTimeZone()), ": ",
                    at->digest_hex, " (", at->sellers, " sellers, ", at->entries, " entries)\n");
  }
  if (sound()) {
    absl::StrAppend(&out, "journal: sound\n");
  } else {
    absl::StrAppend(&out, "journal: BROKEN in ", broken_sellers,
                    " seller(s); first broken entries:\n");
    for (const ChainBreak& b : breaks) {
      absl::StrAppend(&out, "  seller ", b.seller_id, " seq ", b.seq, ": ", ChainFaultName(b.fault),
                      ": ", b.detail, "\n");
    }
    if (static_cast<int64_t>(breaks.size()) < broken_sellers) {
      absl::StrAppend(&out, "  ... and ", broken_sellers - static_cast<int64_t>(breaks.size()),
                      " more\n");
    }
  }
  return out;
}

}  // namespace qcash::wallet
