// The wallet's domain: operations on a seller's Qcash, the rules they must satisfy, the
// double-entry ledger that applies them (DESIGN.md section 3), and what each outcome means to
// the caller. No gRPC and no SQL here: server.cc translates the protobuf contract to these
// types; store.cc loads the rows a batch needs under row locks, and writes back what
// ApplyOps() decided, in the same transaction, so every check and its write are atomic.
#ifndef QCASH_SERVICES_WALLET_LEDGER_H_
#define QCASH_SERVICES_WALLET_LEDGER_H_

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/text.h"

namespace qcash::wallet {

// W2: the twelve charge voucher denominations; price in yen = Qcash credited.
inline constexpr std::array<int64_t, 12> kDenominationsYen = {
    100, 500, 1'000, 3'000, 5'000, 10'000, 30'000, 50'000, 100'000, 300'000, 500'000, 1'000'000};

// Upper bound of any single amount: far above any real ad or settlement, far below overflow.
inline constexpr int64_t kAmountMaxYen = 1'000'000'000'000;  // one trillion yen

// S3: conversions are whole hundreds of points.
inline constexpr int64_t kConversionUnitPoints = 100;

inline constexpr int64_t kHoldTtlDefaultS = 72 * 3600;
inline constexpr int64_t kHoldTtlMinS = 1;
inline constexpr int64_t kHoldTtlMaxS = 30 * 24 * 3600;

inline constexpr size_t kReferenceLengthMax = 128;
inline constexpr size_t kCloseReasonLengthMax = 256;

bool IsDenomination(int64_t amount_yen);

// The numbers are the ledger schema's and qcash.wallet.v1's, and never change; enums.h
// converts to and from the contract and fails the build if a number differs.
enum class AdProduct : int16_t {
  kNone = 0,  // not an ad operation (or entry); never a product
  kGroupBuying = 1,
  kPlusKeyword = 2,
  kPlusCategory = 3,
  kTimeSale = 4,
  kTodaysSpecial = 5,
  kPowerRankUp = 6,
  kQspecialPremium = 7,
  kPremiumDisplay = 8,
};
bool IsAdProduct(int64_t code);

// kNone (0) in each: not set (the op's type does not use it, or a request named a value the
// domain does not have); ValidateOp refuses it where the type needs one.
enum class CreditSource : int16_t { kNone = 0, kCharge = 1, kPointsConversion = 2 };
enum class FundsAccount : int16_t { kNone = 0, kQmoney = 1, kPendingSettlement = 2 };
enum class WalletState : int16_t { kOpen = 1, kClosed = 2 };
// Why a provider took a charge's payment back (qcash.wallet.v1.ReversalKind; kClawBack).
enum class ReversalKind : int16_t { kNone = 0, kChargeback = 1, kDefault = 2, kRefund = 3 };

// Where a lot of Qcash came from (numbers as in the `lots` table and qcash.wallet.v1.LotOrigin;
// checked in enums.h). Every origin but kPointsConversion was bought with money: paid.
enum class LotOrigin : int16_t {
  kNone = 0,
  kVoucher = 1,
  kPointsConversion = 2,
  kQmoney = 3,
  kPendingSettlement = 4,
  kOpening = 9,  // the balance of a wallet when lots were introduced (lot_id 0)
};
inline bool IsPaid(LotOrigin origin) { return origin != LotOrigin::kPointsConversion; }

enum class OpType : int16_t {
  kOpen = 1,
  kCredit = 2,
  kSpend = 3,
  kHold = 4,
  kCapture = 5,
  kRelease = 6,
  kExpire = 7,  // the sweeper's release of a hold past its expiry; no idempotency key
  kChargeFromFunds = 8,
  kCreditFunds = 9,
  kClose = 10,
  kClawBack = 11,  // a payment reversal after credit (DESIGN.md section 9)
};
absl::string_view OpTypeName(OpType type);

// One operation on one seller's wallet, as the ledger applies it.
struct Op {
  OpType type = OpType::kOpen;
  std::string seller_id;
  std::string caller;           // the authenticated identity of the calling service
  std::string idempotency_key;  // empty only for kExpire
  int64_t amount_yen = 0;
  // Each names what only some types need; the others leave it at kNone (0), and ValidateOp
  // refuses a type whose field is kNone or a value the enum does not have.
  AdProduct product = AdProduct::kNone;       // kSpend, kHold (W3)
  CreditSource source = CreditSource::kNone;  // kCredit (W2 charge or S3 conversion)
  FundsAccount funds = FundsAccount::kNone;   // kChargeFromFunds, kCreditFunds (P1)
  ReversalKind kind = ReversalKind::kNone;    // kClawBack
  std::string reference;   // booking reference, order id, conversion id, settlement id, reason
  int64_t hold_id = 0;     // kCapture, kRelease, kExpire
  int64_t hold_ttl_s = 0;  // kHold
  // kClawBack: the provider's id of the reversal (`reference` is the charge's order id).
  std::string reversal_reference;
  // kCredit: the lot's provenance (DESIGN.md section 8). Not part of RequestHash(): they
  // describe the credit, and the lot keeps those of the request that applied.
  std::string payment_method;  // charge: as the payment service names it; may be empty
  int64_t price_paid_yen = 0;  // charge: what the seller paid; ValidateOp fills 0 with amount
  std::string points_month;    // conversion: "YYYY-MM"; may be empty
  // RequestHash() of the above, filled in once the op is validated; empty for kExpire.
  std::string request_hash;
};

// Checks the rules that need no state: ids and key formats, amounts > 0 and bounded,
// denominations (W2), conversion units (S3), ad products (W3), hold TTLs, references.
// Fills defaults (hold TTL). Errors: INVALID_ARGUMENT with the reason of the broken rule.
absl::Status ValidateOp(Op& op);

// The fingerprint that tells "the same request" from "a different request with the same
// idempotency key": every field of `op` except the key itself.
std::string RequestHash(const Op& op);

struct Balance {
  std::string seller_id;
  int64_t available_yen = 0;
  int64_t held_yen = 0;
  int64_t qmoney_yen = 0;
  int64_t pending_yen = 0;
  int64_t version = 0;
  WalletState state = WalletState::kOpen;
  int64_t debt_yen = 0;  // 未回収額: the negated balance of the seller's receivable account

  int64_t total_yen() const { return available_yen + held_yen; }
};

// The ledger's verdict on one operation, as ApplyOps() decides it; OutcomeStatus() says what
// the caller gets for each. Only this process uses the numbers (they are stored nowhere).
enum class Outcome : int16_t {
  kApplied = 0,
  kReplayed = 1,
  kKeyReused = 2,
  kWalletNotFound = 3,
  kWalletClosed = 4,
  kInsufficientFunds = 5,
  kHoldNotFound = 6,
  kHoldResolved = 7,
  kHoldExpired = 8,
  kCaptureExceedsHold = 9,
  kBalanceLimit = 10,
  kHoldNotDue = 11,
  kLotsDisagree = 12,           // the seller's lots do not add up to the balance a debit takes from
  kChargeNotFound = 13,         // claw-back: no credited charge of the seller has the order id
  kClawBackExceedsCharge = 14,  // claw-back: more than the charge left after earlier ones
};

struct OpResult {
  Outcome outcome = Outcome::kApplied;
  Balance balance;        // right after the operation (applied or replayed)
  int64_t entry_seq = 0;  // the seller's journal seq of the first entry written, 0 if none
  int64_t hold_id = 0;
  int64_t amount_yen = 0;   // hold: held; capture: captured; release/expire: released;
                            // close: forfeited; claw-back: taken from available; credit and
                            // charge from funds: the part that paid the debt (DEBT_RECOVERY)
  int64_t amount2_yen = 0;  // capture: the remainder returned to available; claw-back: the
                            // part that became debt
  bool created = false;     // open: a new wallet
  absl::Time expires_at = absl::InfinitePast();  // hold
};

// OK for kApplied and kReplayed; otherwise the status the caller gets, with its reason.
absl::Status OutcomeStatus(Outcome outcome, const Op& op);

// ---------------------------------------------------------------------------- the ledger

// Ledger accounts (numbers as in the journal and qcash.wallet.v1.Account; checked in enums.h).
enum class Account : int16_t {
  kSellerAvailable = 1,
  kSellerHeld = 2,
  kSellerQmoney = 3,
  kSellerPending = 4,
  kSellerReceivable = 5,  // what the seller owes after a claw-back (未回収額); never positive
  kProviderClearing = 101,
  kPointsProgramme = 102,
  kAdRevenue = 103,
  kForfeiture = 104,
  kSettlement = 105,
};

// Journal entry types (numbers as in the journal and qcash.wallet.v1.EntryType; checked in
// enums.h).
enum class EntryType : int16_t {
  kCharge = 1,
  kPointsConversion = 2,
  kAdSpend = 3,
  kAdHold = 4,
  kAdCapture = 5,
  kAdHoldRemainder = 6,
  kAdRelease = 7,
  kAdHoldExpired = 8,
  kInternalFundsCharge = 9,
  kInternalFundsCredit = 10,
  kForfeit = 11,
  kClawBack = 12,      // available -> provider clearing: a reversed charge taken back
  kDebt = 13,          // receivable -> provider clearing: the part already spent (no lots)
  kDebtRecovery = 14,  // available -> receivable: a later credit pays the debt back
};

enum class HoldState : int16_t {
  kPending = 1,
  kCaptured = 2,
  kReleased = 3,
  kExpired = 4,
  kForfeited = 5,
};

// One lot's share in a journal entry.
struct LotPart {
  int64_t lot_id = 0;
  int64_t amount_yen = 0;
  friend bool operator==(const LotPart& a, const LotPart& b) {
    return a.lot_id == b.lot_id && a.amount_yen == b.amount_yen;
  }
};

// A row of `lots`: Qcash from one credit and what is left of it.
struct LotRecord {
  std::string seller_id;
  int64_t lot_id = 0;  // the journal seq of the credit; 0: the opening lot
  LotOrigin origin = LotOrigin::kVoucher;
  int64_t amount_yen = 0;     // as created
  int64_t available_yen = 0;  // neither consumed nor reserved
  int64_t held_yen = 0;       // reserved by pending holds
  std::string reference;
  std::string payment_method;
  int64_t price_paid_yen = 0;
  std::string points_month;
  absl::Time created_at;

  bool paid() const { return IsPaid(origin); }
  int64_t remaining_yen() const { return available_yen + held_yen; }
};

// THE order in which debits take Qcash from lots (DESIGN.md section 8; docs/LEDGER.md says
// why): free lots (points conversions) before paid ones, and within each the oldest first.
// Holds reserve in this order too; a capture consumes its reservations in the order they were
// made.
bool ConsumedBefore(const LotRecord& a, const LotRecord& b);

// A row of `wallets`: the running balances of the seller's four accounts.
struct WalletRecord {
  std::string seller_id;
  WalletState state = WalletState::kOpen;
  int64_t available_yen = 0;
  int64_t held_yen = 0;
  int64_t qmoney_yen = 0;
  int64_t pending_yen = 0;
  int64_t debt_yen = 0;    // 未回収額 (>= 0): the negated balance of the receivable account
  int64_t version = 0;     // +1 per applied operation
  int64_t last_seq = 0;    // seq of the newest journal entry
  std::string chain_head;  // the hash of the newest journal entry (32 bytes; empty if none)

  Balance ToBalance() const;
};

struct HoldRecord {
  std::string seller_id;
  int64_t hold_id = 0;  // the journal seq of the hold's entry
  int64_t amount_yen = 0;
  int16_t product = 0;
  std::string reference;
  HoldState state = HoldState::kPending;
  int64_t captured_yen = 0;
  absl::Time created_at;
  absl::Time expires_at;
  absl::Time resolved_at = absl::InfinitePast();  // InfinitePast while pending
};

// One immutable movement: amount_yen > 0 from debit to credit account, with the seller's
// balances right after it.
struct JournalEntry {
  std::string seller_id;
  int64_t seq = 0;
  EntryType type = EntryType::kCharge;
  Account debit = Account::kSellerAvailable;
  Account credit = Account::kSellerAvailable;
  int64_t amount_yen = 0;
  int64_t available_after_yen = 0;
  int64_t held_after_yen = 0;
  int64_t qmoney_after_yen = 0;
  int64_t pending_after_yen = 0;
  int64_t debt_after_yen = 0;  // the seller's debt (WalletRecord::debt_yen) right after it
  int16_t product = 0;
  std::string reference;
  int64_t hold_id = 0;
  std::string caller;
  // The lots the entry created, consumed, reserved or returned, in the order taken, and the
  // part of amount_yen in paid lots.
  std::vector<LotPart> lots;
  int64_t paid_yen = 0;
  absl::Time created_at;
  std::string hash;  // EntryHash(previous entry's hash, this entry)
};

// The tamper-evident chain (DESIGN.md section 8): SHA-256 (32 bytes) over the hash of the
// seller's previous entry (empty for seq 1) and CanonicalEntry(entry). One chain per seller,
// so that an entry's hash needs only the row its batch already holds locked.
std::string EntryHash(absl::string_view previous_hash, const JournalEntry& entry);
// Every field of the entry but its hash, each length-prefixed ("<bytes>:<text>;") or as
// "i<decimal>;", after the tag "qcash-journal-v1;": created_at in Unix microseconds, then
// paid_yen, the number of lots, and each lot's id and amount; then debt_after_yen, only when
// it is not 0. An entry without debt (every entry written before claw-backs existed) keeps
// its canonical form byte for byte, so existing chains still verify; the lot count before it
// says where the lots end, so the optional field cannot be mistaken for a lot.
std::string CanonicalEntry(const JournalEntry& entry);

// The durable record of an applied idempotent operation: what a replay answers.
struct IdempotencyRecord {
  std::string caller;
  std::string key;
  std::string seller_id;
  OpType type = OpType::kOpen;
  std::string request_hash;
  OpResult result;
};

using HoldKey = std::pair<std::string, int64_t>;        // (seller_id, hold_id)
using ChargeKey = std::pair<std::string, std::string>;  // (seller_id, order id)
using RecordKey = std::pair<std::string, std::string>;  // (caller, idempotency key)

// The rows a batch names, which its snapshot must hold (sorted, so that rows are locked in
// one order by every transaction): the wallets of its sellers, the wallets it opens, those it
// closes (whose pending holds it also needs), the holds it names and its idempotency records.
struct BatchRows {
  std::set<std::string> sellers, opened, closing;
  std::set<HoldKey> holds;
  std::set<RecordKey> keys;
  std::set<ChargeKey> charges;  // the orders claw-backs name
};
BatchRows RowsOf(const std::vector<const Op*>& ops);

// What a batch reads, as loaded under row locks; ApplyOps() updates it as it goes, so later
// operations of the batch see the effects of earlier ones.
struct LedgerSnapshot {
  absl::Time now;  // the transaction's time
  absl::flat_hash_map<std::string, WalletRecord> wallets;
  // Wallets this transaction inserted for an OpenWallet of the batch; ApplyOps() treats each
  // as absent until that open is applied, and removes it from the set then.
  absl::flat_hash_set<std::string> created;
  absl::flat_hash_map<HoldKey, HoldRecord> holds;  // those the batch names, and every pending
                                                   // hold of a wallet being closed
  absl::flat_hash_map<RecordKey, IdempotencyRecord> records;  // those of the batch's keys
  // For every wallet of `wallets`: its open lots (wallets.open_lots: the lots with Qcash left,
  // with lot_id, origin as paid or free, available_yen and held_yen; no other field), by
  // lot_id. Lots created by the batch are added as it goes.
  absl::flat_hash_map<std::string, std::vector<LotRecord>> lots;
  // The lots each hold of `holds` reserved (its journal entry's lots), in the order taken.
  absl::flat_hash_map<HoldKey, std::vector<LotPart>> reservations;
  // For every order a claw-back of the batch names: the lot its credit created and what the
  // earlier claw-backs of the order took (CLAWBACK and DEBT entries with it as reference).
  // lot_id 0: no credited charge has the order id (a lot created by the batch fills it in).
  struct Charge {
    int64_t lot_id = 0;
    int64_t amount_yen = 0;       // the lot as created: what the charge credited
    int64_t clawed_back_yen = 0;  // taken back so far, from available or as debt
  };
  absl::flat_hash_map<ChargeKey, Charge> charges;
};

// What a batch must write, in the same transaction that read the snapshot.
struct LedgerWrites {
  struct WalletChange {
    WalletRecord wallet;               // the final state
    int64_t old_version = 0;           // as read: the update applies only if still so
    bool closed = false;               // closed by this batch
    std::vector<LotRecord> open_lots;  // the lots with Qcash left, by lot_id
  };
  std::vector<WalletChange> wallets;
  std::vector<JournalEntry> journal;
  std::vector<HoldRecord> new_holds;       // created by this batch (in their final state)
  std::vector<HoldRecord> resolved_holds;  // existing pending holds this batch resolved
  std::vector<IdempotencyRecord> records;
  std::vector<LotRecord> new_lots;  // created by this batch (their origins; what is left of
                                    // them is in their wallet's open_lots)
  // Wallets the store inserted for this batch (LedgerSnapshot::created) whose open was refused
  // (IDEMPOTENCY_KEY_REUSED): their rows must be deleted, since a failed call has no effect.
  std::vector<std::string> unopened;
  // The operators' record of each applied claw-back (table `clawbacks`): what the journal,
  // whose reference is the order id, does not carry.
  struct ClawBackRecord {
    std::string seller_id;
    int64_t entry_seq = 0;
    std::string order_id;
    std::string reversal_reference;
    ReversalKind kind = ReversalKind::kNone;
    int64_t amount_yen = 0;
    int64_t clawed_back_yen = 0;
    int64_t debt_yen = 0;
    std::string caller;
  };
  std::vector<ClawBackRecord> clawbacks;

  bool empty() const {
    return wallets.empty() && journal.empty() && new_holds.empty() && resolved_holds.empty() &&
           records.empty() && new_lots.empty() && unopened.empty() && clawbacks.empty();
  }
};

// Applies `ops` in order to `snapshot` by the rules of the ledger: a recorded idempotency key
// replays (or is refused as reused); no seller account goes below zero or above int64; a hold
// resolves once; a closed wallet refuses everything but a claw-back (whose whole amount then
// becomes debt). A claw-back takes from available (its order's lot first), never from held,
// and owes the rest on the receivable account; every later credit of Qcash pays that debt
// first (DEBT_RECOVERY, from the credit's new lot). Returns one result per op, and in
// `writes` everything to store. A refused op changes nothing. Pure: no I/O.
// Every entry names the lots it took from (free before paid, oldest first: ConsumedBefore)
// and carries its hash in the seller's chain; a debit whose seller's lots do not add up to
// what it takes from is refused (kLotsDisagree).
// REQUIRES: every op passed ValidateOp() and has its request_hash; `snapshot` holds the rows
// of every wallet, hold and idempotency key the ops name, the open lots of every wallet and
// the reservations of its holds, and for every claw-back its order's charge (`charges`).
std::vector<OpResult> ApplyOps(const std::vector<const Op*>& ops, LedgerSnapshot& snapshot,
                               LedgerWrites* writes);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_LEDGER_H_
