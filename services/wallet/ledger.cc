#include "services/wallet/ledger.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {
namespace {

absl::Status CheckAmount(int64_t amount_yen) {
  if (amount_yen <= 0) {
    return InvalidArgument(wallet::v1::INVALID_AMOUNT,
                           absl::StrCat("amount_yen must be positive, got ", amount_yen));
  }
  if (amount_yen > kAmountMaxYen) {
    return InvalidArgument(
        wallet::v1::INVALID_AMOUNT,
        absl::StrCat("amount_yen must be at most ", kAmountMaxYen, ", got ", amount_yen));
  }
  return absl::OkStatus();
}

absl::Status CheckReference(absl::string_view reference, bool required, size_t length_max) {
  if (required && reference.empty()) {
    return InvalidArgument(wallet::v1::MISSING_REFERENCE,
                           "a reference (booking, order or settlement id) "
                           "is required");
  }
  if (reference.size() > length_max || !IsCleanText(reference)) {
    return InvalidArgument(wallet::v1::INVALID_REFERENCE,
                           absl::StrCat("the reference must be at most ", length_max,
                                        " bytes of UTF-8 text without control characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckHoldId(int64_t hold_id) {
  if (hold_id <= 0) return InvalidArgument(wallet::v1::INVALID_HOLD_ID, "hold_id must be positive");
  return absl::OkStatus();
}

absl::Status CheckDenomination(int64_t amount_yen) {
  if (!IsDenomination(amount_yen)) {
    return InvalidArgument(wallet::v1::UNKNOWN_DENOMINATION,
                           absl::StrCat(amount_yen,
                                        " yen is not a charge voucher denomination "
                                        "(100, 500, 1,000 ... 1,000,000)"));
  }
  return absl::OkStatus();
}

absl::Status CheckFundsAccount(FundsAccount funds) {
  if (funds != FundsAccount::kQmoney && funds != FundsAccount::kPendingSettlement) {
    return InvalidArgument(wallet::v1::UNKNOWN_FUNDS_ACCOUNT,
                           "the funds account must be QMONEY or PENDING_SETTLEMENT");
  }
  return absl::OkStatus();
}

// The provenance fields of a credit (DESIGN.md section 8): each only for its source.
absl::Status CheckProvenance(Op& op) {
  const bool charge = op.source == CreditSource::kCharge;
  const std::string& method = op.payment_method;
  const bool method_ok = method.size() <= 32 && (charge || method.empty()) &&
                         std::all_of(method.begin(), method.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                         });
  if (!method_ok) {
    return InvalidArgument(wallet::v1::INVALID_PAYMENT_METHOD,
                           "payment_method is for charges only: up to 32 lowercase letters, "
                           "digits and '_'");
  }
  if (op.price_paid_yen < 0 || op.price_paid_yen > kAmountMaxYen ||
      (!charge && op.price_paid_yen != 0)) {
    return InvalidArgument(wallet::v1::INVALID_AMOUNT,
                           absl::StrCat("price_paid_yen is for charges only, 0 to ", kAmountMaxYen,
                                        ", got ", op.price_paid_yen));
  }
  if (charge && op.price_paid_yen == 0) op.price_paid_yen = op.amount_yen;  // 1 Qcash = 1 JPY
  const std::string& month = op.points_month;
  auto digit = [&](size_t i) { return month[i] >= '0' && month[i] <= '9'; };
  const bool month_ok =
      month.empty() || (!charge && month.size() == 7 && digit(0) && digit(1) && digit(2) &&
                        digit(3) && month[4] == '-' && digit(5) && digit(6) &&
                        month.substr(5) >= "01" && month.substr(5) <= "12");
  if (!month_ok) {
    return InvalidArgument(wallet::v1::INVALID_POINTS_MONTH,
                           "points_month is for conversions only, as YYYY-MM");
  }
  return absl::OkStatus();
}

absl::Status ValidateByType(Op& op) {
  switch (op.type) {
    case OpType::kOpen:
      return absl::OkStatus();
    case OpType::kCredit: {
      if (absl::Status s = CheckAmount(op.amount_yen); !s.ok()) return s;
      if (op.source == CreditSource::kCharge) {
        if (absl::Status s = CheckDenomination(op.amount_yen); !s.ok()) return s;  // W2
      } else if (op.source == CreditSource::kPointsConversion) {
        if (op.amount_yen % kConversionUnitPoints != 0) {  // S3
          return InvalidArgument(
              wallet::v1::INVALID_CONVERSION_AMOUNT,
              absl::StrCat("points convert in whole hundreds, got ", op.amount_yen));
        }
      } else {
        return InvalidArgument(wallet::v1::UNKNOWN_CREDIT_SOURCE,
                               "the credit source must be CHARGE or POINTS_CONVERSION");
      }
      if (absl::Status s = CheckProvenance(op); !s.ok()) return s;
      return CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
    }
    case OpType::kSpend:
    case OpType::kHold: {
      if (absl::Status s = CheckAmount(op.amount_yen); !s.ok()) return s;
      if (!IsAdProduct(static_cast<int64_t>(op.product))) {  // W3
        return InvalidArgument(wallet::v1::UNKNOWN_AD_PRODUCT,
                               absl::StrCat("unknown ad product ", static_cast<int>(op.product),
                                            "; Qcash pays for the eight products of W3"));
      }
      if (op.type == OpType::kHold) {
        if (op.hold_ttl_s == 0) op.hold_ttl_s = kHoldTtlDefaultS;
        if (op.hold_ttl_s < kHoldTtlMinS || op.hold_ttl_s > kHoldTtlMaxS) {
          return InvalidArgument(wallet::v1::INVALID_HOLD_TTL,
                                 absl::StrCat("ttl_seconds must be in [", kHoldTtlMinS, ", ",
                                              kHoldTtlMaxS, "], got ", op.hold_ttl_s));
        }
      }
      return CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
    }
    case OpType::kCapture:
      if (absl::Status s = CheckHoldId(op.hold_id); !s.ok()) return s;
      return CheckAmount(op.amount_yen);
    case OpType::kRelease:
    case OpType::kExpire:
      return CheckHoldId(op.hold_id);
    case OpType::kChargeFromFunds: {
      if (absl::Status s = CheckFundsAccount(op.funds); !s.ok()) return s;
      if (absl::Status s = CheckDenomination(op.amount_yen); !s.ok()) return s;  // W2
      return CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
    }
    case OpType::kCreditFunds: {
      if (absl::Status s = CheckFundsAccount(op.funds); !s.ok()) return s;
      if (absl::Status s = CheckAmount(op.amount_yen); !s.ok()) return s;
      return CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
    }
    case OpType::kClose:
      return CheckReference(op.reference, /*required=*/false, kCloseReasonLengthMax);
    case OpType::kClawBack: {
      if (absl::Status s = CheckAmount(op.amount_yen); !s.ok()) return s;
      if (op.kind != ReversalKind::kChargeback && op.kind != ReversalKind::kDefault &&
          op.kind != ReversalKind::kRefund) {
        return InvalidArgument(wallet::v1::UNKNOWN_REVERSAL_KIND,
                               "the reversal kind must be CHARGEBACK, DEFAULT or REFUND");
      }
      if (absl::Status s = CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
          !s.ok()) {
        return s;
      }
      return CheckReference(op.reversal_reference, /*required=*/true, kReferenceLengthMax);
    }
    default:
      return InvalidArgument(wallet::v1::UNKNOWN_OPERATION, "unknown operation");
  }
}

}  // namespace

bool IsDenomination(int64_t amount_yen) {
  return std::find(kDenominationsYen.begin(), kDenominationsYen.end(), amount_yen) !=
         kDenominationsYen.end();
}

bool IsAdProduct(int64_t code) {
  return code >= static_cast<int64_t>(AdProduct::kGroupBuying) &&
         code <= static_cast<int64_t>(AdProduct::kPremiumDisplay);
}

absl::string_view OpTypeName(OpType type) {
  switch (type) {
    case OpType::kOpen:
      return "open";
    case OpType::kCredit:
      return "credit";
    case OpType::kSpend:
      return "spend";
    case OpType::kHold:
      return "hold";
    case OpType::kCapture:
      return "capture";
    case OpType::kRelease:
      return "release";
    case OpType::kExpire:
      return "expire";
    case OpType::kChargeFromFunds:
      return "charge_from_funds";
    case OpType::kCreditFunds:
      return "credit_funds";
    case OpType::kClose:
      return "close";
    case OpType::kClawBack:
      return "claw_back";
    default:
      return "unknown";
  }
}

absl::Status ValidateOp(Op& op) {
  if (absl::Status s = CheckSellerId(op.seller_id); !s.ok()) return s;
  if (op.type == OpType::kExpire) {
    if (!op.idempotency_key.empty()) {
      return InvalidArgument(common::v1::INVALID_IDEMPOTENCY_KEY, "expiry is not keyed");
    }
  } else if (absl::Status s = CheckIdempotencyKey(op.idempotency_key); !s.ok()) {
    return s;
  }
  return ValidateByType(op);
}

namespace {

// The one number RequestHash() has always fingerprinted for the type's enum (before Op had a
// field per enum), so that the hashes stored with idempotency records in PostgreSQL and Redis
// still match a retry after an upgrade.
int16_t StoredCodeOf(const Op& op) {
  switch (op.type) {
    case OpType::kCredit:
      return static_cast<int16_t>(op.source);
    case OpType::kSpend:
    case OpType::kHold:
      return static_cast<int16_t>(op.product);
    case OpType::kChargeFromFunds:
    case OpType::kCreditFunds:
      return static_cast<int16_t>(op.funds);
    case OpType::kClawBack:
      return static_cast<int16_t>(op.kind);
    default:
      return 0;
  }
}

}  // namespace

std::string RequestHash(const Op& op) {
  Fingerprint fp;
  fp.Add(static_cast<int64_t>(op.type))
      .Add(op.seller_id)
      .Add(op.caller)
      .Add(op.amount_yen)
      .Add(int64_t{StoredCodeOf(op)})
      .Add(op.reference)
      .Add(op.hold_id)
      .Add(op.hold_ttl_s);
  // Only claw-backs have a second reference: every other type's hash stays as stored.
  if (op.type == OpType::kClawBack) fp.Add(op.reversal_reference);
  return fp.Hex();
}

absl::Status OutcomeStatus(Outcome outcome, const Op& op) {
  switch (outcome) {
    case Outcome::kApplied:
    case Outcome::kReplayed:
      return absl::OkStatus();
    case Outcome::kKeyReused:
      return InvalidArgument(wallet::v1::IDEMPOTENCY_KEY_REUSED,
                             absl::StrCat("idempotency key ", op.idempotency_key,
                                          " was already used for a different request"));
    case Outcome::kWalletNotFound:
      return NotFound(wallet::v1::WALLET_NOT_FOUND,
                      absl::StrCat("no wallet for seller ", op.seller_id));
    case Outcome::kWalletClosed:
      return FailedPrecondition(wallet::v1::WALLET_CLOSED,
                                absl::StrCat("the wallet of seller ", op.seller_id,
                                             " is closed; its Qcash was forfeited (W5)"));
    case Outcome::kInsufficientFunds:
      return FailedPrecondition(wallet::v1::INSUFFICIENT_FUNDS,
                                absl::StrCat("seller ", op.seller_id, " has less than ",
                                             op.amount_yen, " yen available"));
    case Outcome::kHoldNotFound:
      return NotFound(wallet::v1::HOLD_NOT_FOUND,
                      absl::StrCat("no hold ", op.hold_id, " for seller ", op.seller_id));
    case Outcome::kHoldResolved:
      return FailedPrecondition(wallet::v1::HOLD_ALREADY_RESOLVED,
                                absl::StrCat("hold ", op.hold_id,
                                             " was already captured, "
                                             "released or expired"));
    case Outcome::kHoldExpired:
      return FailedPrecondition(wallet::v1::HOLD_EXPIRED,
                                absl::StrCat("hold ", op.hold_id, " has expired"));
    case Outcome::kCaptureExceedsHold:
      return FailedPrecondition(wallet::v1::CAPTURE_EXCEEDS_HOLD,
                                absl::StrCat("capturing ", op.amount_yen,
                                             " yen exceeds the amount of hold ", op.hold_id));
    case Outcome::kBalanceLimit:
      return FailedPrecondition(wallet::v1::BALANCE_LIMIT_EXCEEDED,
                                "the balance would exceed the largest representable amount");
    case Outcome::kHoldNotDue:
      return FailedPrecondition(wallet::v1::HOLD_NOT_DUE,
                                absl::StrCat("hold ", op.hold_id, " has not expired yet"));
    case Outcome::kChargeNotFound:
      return NotFound(wallet::v1::CHARGE_NOT_FOUND,
                      absl::StrCat("no credited charge of seller ", op.seller_id, " has order id ",
                                   op.reference));
    case Outcome::kClawBackExceedsCharge:
      return FailedPrecondition(
          wallet::v1::CLAWBACK_EXCEEDS_CHARGE,
          absl::StrCat("taking back ", op.amount_yen, " yen exceeds what order ", op.reference,
                       " credited, counting its earlier claw-backs"));
    case Outcome::kLotsDisagree:
      return Internal(wallet::v1::LOTS_DISAGREE,
                      absl::StrCat("the lots of seller ", op.seller_id,
                                   " do not add up to the balance; nothing was changed"));
    default:
      return Internal(wallet::v1::UNKNOWN_OUTCOME,
                      absl::StrCat("unknown ledger outcome ", static_cast<int>(outcome)));
  }
}

}  // namespace qcash::wallet

namespace qcash::wallet {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Room left below int64 for the seller's Qcash (available + held) or one funds account.
bool Fits(int64_t balance_yen, int64_t amount_yen) { return balance_yen <= kInt64Max - amount_yen; }

Account FundsAccountOf(FundsAccount funds) {
  return funds == FundsAccount::kQmoney ? Account::kSellerQmoney : Account::kSellerPending;
}

// The lots of one entry, in the order taken, and the part of them that is paid.
struct Lots {
  std::vector<LotPart> parts;
  int64_t paid_yen = 0;
  void Add(const LotRecord& lot, int64_t amount_yen) {
    parts.push_back({lot.lot_id, amount_yen});
    if (lot.paid()) paid_yen += amount_yen;
  }
};

// The application of one batch to a snapshot.
class BatchApplier {
 public:
  BatchApplier(LedgerSnapshot& snapshot, LedgerWrites* writes)
      : snapshot_(snapshot), writes_(writes) {
    for (const auto& [seller, lots] : snapshot_.lots) loaded_.insert(seller);
  }

  OpResult Apply(const Op& op) {
    if (!op.idempotency_key.empty()) {
      auto it = snapshot_.records.find(RecordKey(op.caller, op.idempotency_key));
      if (it != snapshot_.records.end()) {
        OpResult replay;
        if (it->second.request_hash != op.request_hash) {
          replay.outcome = Outcome::kKeyReused;
          return replay;
        }
        replay = it->second.result;
        replay.outcome = Outcome::kReplayed;
        return replay;
      }
    }
    auto found = snapshot_.wallets.find(op.seller_id);
    if (found == snapshot_.wallets.end()) return Refused(Outcome::kWalletNotFound);
    // The store inserts the row of a wallet being opened before the batch runs; until the
    // batch's open is applied, that wallet does not exist for the ops queued before it.
    if (op.type != OpType::kOpen && snapshot_.created.contains(op.seller_id)) {
      return Refused(Outcome::kWalletNotFound);
    }
    WalletRecord& w = found->second;
    OpResult result;
    if (op.type == OpType::kOpen) {
      result.created = snapshot_.created.erase(op.seller_id) > 0;
    } else {
      // W5; a claw-back still applies: a closed wallet's whole amount becomes its debt.
      if (w.state != WalletState::kOpen && op.type != OpType::kClawBack) {
        return Refused(Outcome::kWalletClosed);
      }
      const Outcome outcome = Mutate(op, w, &result);
      if (outcome != Outcome::kApplied) return Refused(outcome);
      w.version += 1;
    }
    result.outcome = Outcome::kApplied;
    result.balance = w.ToBalance();
    if (!op.idempotency_key.empty()) {
      IdempotencyRecord record{op.caller, op.idempotency_key, op.seller_id,
                               op.type,   op.request_hash,    result};
      writes_->records.push_back(record);
      snapshot_.records.emplace(RecordKey(op.caller, op.idempotency_key), std::move(record));
    }
    return result;
  }

  // Emits the final state of every wallet and hold the batch changed.
  void Finish() {
    for (const auto& [seller, old_version] : old_versions_) {
      LedgerWrites::WalletChange& change = writes_->wallets.emplace_back();
      change.wallet = snapshot_.wallets.at(seller);
      change.old_version = old_version;
      change.closed = closed_.contains(seller);
      for (const LotRecord& lot : snapshot_.lots[seller]) {
        if (lot.remaining_yen() > 0) change.open_lots.push_back(lot);
      }
      std::sort(change.open_lots.begin(), change.open_lots.end(),
                [](const LotRecord& a, const LotRecord& b) { return a.lot_id < b.lot_id; });
    }
    for (const HoldKey& key : new_holds_) writes_->new_holds.push_back(snapshot_.holds.at(key));
    for (const HoldKey& key : resolved_holds_) {
      writes_->resolved_holds.push_back(snapshot_.holds.at(key));
    }
    for (const auto& [seller, lots] : snapshot_.lots) {
      for (const LotRecord& lot : lots) {
        if (new_lots_.count(LotKey(seller, lot.lot_id)) > 0) writes_->new_lots.push_back(lot);
      }
    }
    auto by_key = [](const LotRecord& a, const LotRecord& b) {
      return std::tie(a.seller_id, a.lot_id) < std::tie(b.seller_id, b.lot_id);
    };
    std::sort(writes_->new_lots.begin(), writes_->new_lots.end(), by_key);
    // No op of the batch could touch these (Apply() refuses them until opened).
    writes_->unopened.assign(snapshot_.created.begin(), snapshot_.created.end());
    std::sort(writes_->unopened.begin(), writes_->unopened.end());
  }

 private:
  static OpResult Refused(Outcome outcome) {
    OpResult r;
    r.outcome = outcome;
    return r;
  }

  // Checks `op` against `w` and, if allowed, changes `w` and writes the journal. Every check
  // comes before the first change, so a refusal changes nothing.
  Outcome Mutate(const Op& op, WalletRecord& w, OpResult* result) {
    switch (op.type) {
      case OpType::kCredit: {  // W2 charge or S3 conversion: platform -> available
        if (!Fits(w.available_yen + w.held_yen, op.amount_yen)) return Outcome::kBalanceLimit;
        const bool charge = op.source == CreditSource::kCharge;
        Touch(w);
        w.available_yen += op.amount_yen;
        const Lots lots =
            NewLot(w, op, charge ? LotOrigin::kVoucher : LotOrigin::kPointsConversion);
        result->entry_seq =
            Journal(w, op, charge ? EntryType::kCharge : EntryType::kPointsConversion,
                    charge ? Account::kProviderClearing : Account::kPointsProgramme,
                    Account::kSellerAvailable, op.amount_yen, 0, op.reference, 0, lots);
        result->amount_yen = RecoverDebt(w, op, result->entry_seq);
        return Outcome::kApplied;
      }
      case OpType::kSpend: {  // W3: available -> ad revenue
        if (w.available_yen < op.amount_yen) return Outcome::kInsufficientFunds;
        if (!LotsAgree(w)) return Outcome::kLotsDisagree;
        Touch(w);
        w.available_yen -= op.amount_yen;
        const Lots lots = TakeAvailable(w, op.amount_yen, /*reserve=*/false);
        result->entry_seq =
            Journal(w, op, EntryType::kAdSpend, Account::kSellerAvailable, Account::kAdRevenue,
                    op.amount_yen, static_cast<int16_t>(op.product), op.reference, 0, lots);
        return Outcome::kApplied;
      }
      case OpType::kHold: {  // W3: available -> held, with an expiry
        if (w.available_yen < op.amount_yen) return Outcome::kInsufficientFunds;
        if (!LotsAgree(w)) return Outcome::kLotsDisagree;
        Touch(w);
        w.available_yen -= op.amount_yen;
        w.held_yen += op.amount_yen;
        const int64_t hold_id = w.last_seq + 1;
        const Lots lots = TakeAvailable(w, op.amount_yen, /*reserve=*/true);
        snapshot_.reservations[HoldKey(op.seller_id, hold_id)] = lots.parts;
        Journal(w, op, EntryType::kAdHold, Account::kSellerAvailable, Account::kSellerHeld,
                op.amount_yen, static_cast<int16_t>(op.product), op.reference, hold_id, lots);
        HoldRecord hold;
        hold.seller_id = op.seller_id;
        hold.hold_id = hold_id;
        hold.amount_yen = op.amount_yen;
        hold.product = static_cast<int16_t>(op.product);
        hold.reference = op.reference;
        hold.created_at = snapshot_.now;
        hold.expires_at = snapshot_.now + absl::Seconds(op.hold_ttl_s);
        const HoldKey key(op.seller_id, hold_id);
        snapshot_.holds[key] = hold;
        new_holds_.push_back(key);
        result->entry_seq = hold_id;
        result->hold_id = hold_id;
        result->amount_yen = op.amount_yen;
        result->expires_at = hold.expires_at;
        return Outcome::kApplied;
      }
      case OpType::kCapture:
      case OpType::kRelease:
      case OpType::kExpire:
        return ResolveHold(op, w, result);
      case OpType::kChargeFromFunds: {  // P1: Qmoney / pending settlement -> available
        const Account source = FundsAccountOf(op.funds);
        int64_t& funds = source == Account::kSellerQmoney ? w.qmoney_yen : w.pending_yen;
        if (funds < op.amount_yen) return Outcome::kInsufficientFunds;
        if (!Fits(w.available_yen + w.held_yen, op.amount_yen)) return Outcome::kBalanceLimit;
        Touch(w);
        funds -= op.amount_yen;
        w.available_yen += op.amount_yen;
        const Lots lots = NewLot(
            w, op,
            source == Account::kSellerQmoney ? LotOrigin::kQmoney : LotOrigin::kPendingSettlement);
        result->entry_seq =
            Journal(w, op, EntryType::kInternalFundsCharge, source, Account::kSellerAvailable,
                    op.amount_yen, 0, op.reference, 0, lots);
        result->amount_yen = RecoverDebt(w, op, result->entry_seq);
        return Outcome::kApplied;
      }
      case OpType::kCreditFunds: {  // settlement -> Qmoney / pending settlement
        const Account target = FundsAccountOf(op.funds);
        int64_t& funds = target == Account::kSellerQmoney ? w.qmoney_yen : w.pending_yen;
        if (!Fits(funds, op.amount_yen)) return Outcome::kBalanceLimit;
        Touch(w);
        funds += op.amount_yen;
        result->entry_seq = Journal(w, op, EntryType::kInternalFundsCredit, Account::kSettlement,
                                    target, op.amount_yen, 0, op.reference, 0, Lots{});
        return Outcome::kApplied;
      }
      case OpType::kClose:
        return Close(op, w, result);
      case OpType::kClawBack:
        return ClawBack(op, w, result);
      default:
        return Outcome::kWalletNotFound;  // unreachable: ValidateOp admits no other type
    }
  }

  // DESIGN.md section 9: a reversed charge leaves available first (the order's own lot first,
  // while it has Qcash available, then the usual order), never held: holds already granted
  // stay valid. The rest, already spent, becomes the seller's debt on the receivable account.
  // Both entries name the order as their reference, which is how the next claw-back of the
  // same order knows what was taken already.
  Outcome ClawBack(const Op& op, WalletRecord& w, OpResult* result) {
    auto found = snapshot_.charges.find(ChargeKey(op.seller_id, op.reference));
    if (found == snapshot_.charges.end() || found->second.lot_id == 0) {
      return Outcome::kChargeNotFound;
    }
    LedgerSnapshot::Charge& charge = found->second;
    if (op.amount_yen > charge.amount_yen - charge.clawed_back_yen) {
      return Outcome::kClawBackExceedsCharge;
    }
    // A closed wallet has no Qcash (W5 forfeited it): all of it is debt.
    const int64_t take =
        w.state == WalletState::kOpen ? std::min(op.amount_yen, w.available_yen) : 0;
    const int64_t debt = op.amount_yen - take;
    if (take > 0 && !LotsAgree(w)) return Outcome::kLotsDisagree;
    if (!Fits(w.debt_yen, debt)) return Outcome::kBalanceLimit;
    Touch(w);
    charge.clawed_back_yen += op.amount_yen;
    if (take > 0) {
      w.available_yen -= take;
      const Lots lots = TakeAvailable(w, take, /*reserve=*/false, charge.lot_id);
      result->entry_seq = Journal(w, op, EntryType::kClawBack, Account::kSellerAvailable,
                                  Account::kProviderClearing, take, 0, op.reference, 0, lots);
    }
    if (debt > 0) {
      w.debt_yen += debt;
      const int64_t seq = Journal(w, op, EntryType::kDebt, Account::kSellerReceivable,
                                  Account::kProviderClearing, debt, 0, op.reference, 0, Lots{});
      if (result->entry_seq == 0) result->entry_seq = seq;
    }
    result->amount_yen = take;
    result->amount2_yen = debt;
    writes_->clawbacks.push_back({op.seller_id, result->entry_seq, op.reference,
                                  op.reversal_reference, op.kind, op.amount_yen, take, debt,
                                  op.caller});
    return Outcome::kApplied;
  }

  // A credit just wrote its entry (seq `lot_id`) and created its lot whole; while the seller
  // owes a debt, the credit pays it first: min(credit, debt) leaves that new lot for the
  // receivable account (DEBT_RECOVERY), so it never becomes available to spend. Answers what
  // it recovered.
  int64_t RecoverDebt(WalletRecord& w, const Op& op, int64_t lot_id) {
    if (w.debt_yen == 0) return 0;
    LotRecord* lot = FindLot(op.seller_id, lot_id);
    const int64_t recovered = std::min(lot->available_yen, w.debt_yen);
    if (recovered == 0) return 0;
    lot->available_yen -= recovered;
    w.available_yen -= recovered;
    w.debt_yen -= recovered;
    Lots lots;
    lots.Add(*lot, recovered);
    Journal(w, op, EntryType::kDebtRecovery, Account::kSellerAvailable, Account::kSellerReceivable,
            recovered, 0, op.reference, 0, lots);
    return recovered;
  }

  // Capture (W3: held -> ad revenue, the rest back), release and expiry (held -> available).
  Outcome ResolveHold(const Op& op, WalletRecord& w, OpResult* result) {
    auto it = snapshot_.holds.find(HoldKey(op.seller_id, op.hold_id));
    if (it == snapshot_.holds.end()) return Outcome::kHoldNotFound;
    HoldRecord& hold = it->second;
    if (hold.state != HoldState::kPending) return Outcome::kHoldResolved;  // resolves once
    const bool due = hold.expires_at <= snapshot_.now;
    if (op.type == OpType::kCapture && due) return Outcome::kHoldExpired;
    if (op.type == OpType::kCapture && op.amount_yen > hold.amount_yen) {
      return Outcome::kCaptureExceedsHold;
    }
    if (op.type == OpType::kExpire && !due) return Outcome::kHoldNotDue;
    const std::vector<LotPart> reserved = ReservationsOf(hold);
    if (!ReservationsHeld(op.seller_id, reserved)) return Outcome::kLotsDisagree;
    Touch(w);
    const HoldKey key(op.seller_id, op.hold_id);
    if (std::find(new_holds_.begin(), new_holds_.end(), key) == new_holds_.end()) {
      resolved_holds_.push_back(key);
    }
    hold.resolved_at = snapshot_.now;
    result->hold_id = hold.hold_id;
    if (op.type == OpType::kCapture) {
      const int64_t rest = hold.amount_yen - op.amount_yen;
      hold.state = HoldState::kCaptured;
      hold.captured_yen = op.amount_yen;
      w.held_yen -= op.amount_yen;
      // The capture consumes the reservations in the order they were made; the rest returns.
      Lots consumed, returned;
      int64_t left = op.amount_yen;
      for (const LotPart& part : reserved) {
        const int64_t take = std::min(left, part.amount_yen);
        left -= take;
        if (take > 0) consumed.Add(Unreserve(op.seller_id, part.lot_id, take, false), take);
        if (part.amount_yen > take) {
          returned.Add(Unreserve(op.seller_id, part.lot_id, part.amount_yen - take, true),
                       part.amount_yen - take);
        }
      }
      result->entry_seq =
          Journal(w, op, EntryType::kAdCapture, Account::kSellerHeld, Account::kAdRevenue,
                  op.amount_yen, hold.product, hold.reference, hold.hold_id, consumed);
      if (rest > 0) {
        w.held_yen -= rest;
        w.available_yen += rest;
        Journal(w, op, EntryType::kAdHoldRemainder, Account::kSellerHeld, Account::kSellerAvailable,
                rest, hold.product, hold.reference, hold.hold_id, returned);
      }
      result->amount_yen = op.amount_yen;
      result->amount2_yen = rest;
      return Outcome::kApplied;
    }
    const bool release = op.type == OpType::kRelease;
    hold.state = release ? HoldState::kReleased : HoldState::kExpired;
    w.held_yen -= hold.amount_yen;
    w.available_yen += hold.amount_yen;
    Lots returned;
    for (const LotPart& part : reserved) {
      returned.Add(Unreserve(op.seller_id, part.lot_id, part.amount_yen, true), part.amount_yen);
    }
    result->entry_seq = Journal(w, op, release ? EntryType::kAdRelease : EntryType::kAdHoldExpired,
                                Account::kSellerHeld, Account::kSellerAvailable, hold.amount_yen,
                                hold.product, hold.reference, hold.hold_id, returned);
    result->amount_yen = hold.amount_yen;
    return Outcome::kApplied;
  }

  // W5: pending holds are voided and all Qcash, held and available, is forfeited.
  Outcome Close(const Op& op, WalletRecord& w, OpResult* result) {
    std::vector<HoldRecord*> pending;
    for (auto& [key, hold] : snapshot_.holds) {
      if (key.first == op.seller_id && hold.state == HoldState::kPending) pending.push_back(&hold);
    }
    std::sort(pending.begin(), pending.end(),
              [](const HoldRecord* a, const HoldRecord* b) { return a->hold_id < b->hold_id; });
    if (!LotsAgree(w)) return Outcome::kLotsDisagree;
    for (const HoldRecord* hold : pending) {
      if (!ReservationsHeld(op.seller_id, ReservationsOf(*hold))) return Outcome::kLotsDisagree;
    }
    Touch(w);
    for (HoldRecord* hold : pending) {
      const HoldKey key(hold->seller_id, hold->hold_id);
      if (std::find(new_holds_.begin(), new_holds_.end(), key) == new_holds_.end()) {
        resolved_holds_.push_back(key);
      }
      hold->state = HoldState::kForfeited;
      hold->resolved_at = snapshot_.now;
      w.held_yen -= hold->amount_yen;
      Lots forfeited;
      for (const LotPart& part : ReservationsOf(*hold)) {
        forfeited.Add(Unreserve(op.seller_id, part.lot_id, part.amount_yen, false),
                      part.amount_yen);
      }
      const int64_t seq =
          Journal(w, op, EntryType::kForfeit, Account::kSellerHeld, Account::kForfeiture,
                  hold->amount_yen, hold->product, hold->reference, hold->hold_id, forfeited);
      if (result->entry_seq == 0) result->entry_seq = seq;
      result->amount_yen += hold->amount_yen;
    }
    if (w.available_yen > 0) {
      const int64_t amount = w.available_yen;
      w.available_yen = 0;
      const Lots lots = TakeAvailable(w, amount, /*reserve=*/false);
      const int64_t seq = Journal(w, op, EntryType::kForfeit, Account::kSellerAvailable,
                                  Account::kForfeiture, amount, 0, op.reference, 0, lots);
      if (result->entry_seq == 0) result->entry_seq = seq;
      result->amount_yen += amount;
    }
    w.state = WalletState::kClosed;
    closed_.insert(op.seller_id);
    return Outcome::kApplied;
  }

  // Remembers the version `w` had before the batch changed it.
  void Touch(const WalletRecord& w) { old_versions_.try_emplace(w.seller_id, w.version); }

  // Appends one entry with the seller's balances as they are now and the lots it took, chained
  // to the seller's previous entry; returns its seq.
  int64_t Journal(WalletRecord& w, const Op& op, EntryType type, Account debit, Account credit,
                  int64_t amount_yen, int16_t product, const std::string& reference,
                  int64_t hold_id, const Lots& lots) {
    w.last_seq += 1;
    JournalEntry& e = writes_->journal.emplace_back();
    e.seller_id = op.seller_id;
    e.seq = w.last_seq;
    e.type = type;
    e.debit = debit;
    e.credit = credit;
    e.amount_yen = amount_yen;
    e.available_after_yen = w.available_yen;
    e.held_after_yen = w.held_yen;
    e.qmoney_after_yen = w.qmoney_yen;
    e.pending_after_yen = w.pending_yen;
    e.debt_after_yen = w.debt_yen;
    e.product = product;
    e.reference = reference;
    e.hold_id = hold_id;
    e.caller = op.caller;
    e.lots = lots.parts;
    e.paid_yen = lots.paid_yen;
    e.created_at = snapshot_.now;
    e.hash = EntryHash(w.chain_head, e);
    w.chain_head = e.hash;
    return w.last_seq;
  }

  // ---- lots (DESIGN.md section 8)

  // The lot a credit creates: its id is the seq of the entry about to be written.
  Lots NewLot(const WalletRecord& w, const Op& op, LotOrigin origin) {
    LotRecord lot;
    lot.seller_id = op.seller_id;
    lot.lot_id = w.last_seq + 1;
    lot.origin = origin;
    lot.amount_yen = op.amount_yen;
    lot.available_yen = op.amount_yen;
    lot.reference = op.reference;
    lot.payment_method = op.payment_method;
    lot.price_paid_yen = op.type == OpType::kCredit ? op.price_paid_yen : op.amount_yen;
    lot.points_month = op.points_month;
    lot.created_at = snapshot_.now;
    new_lots_.insert(LotKey(lot.seller_id, lot.lot_id));
    // A claw-back later in the batch may name this charge's order: it now has its lot.
    if (origin != LotOrigin::kPointsConversion) {
      auto charge = snapshot_.charges.find(ChargeKey(op.seller_id, op.reference));
      if (charge != snapshot_.charges.end() && charge->second.lot_id == 0) {
        charge->second.lot_id = lot.lot_id;
        charge->second.amount_yen = lot.amount_yen;
      }
    }
    Lots lots;
    lots.Add(lot, lot.amount_yen);
    snapshot_.lots[op.seller_id].push_back(std::move(lot));
    return lots;
  }

  // True when the seller's loaded lots hold exactly its available and held Qcash.
  bool LotsAgree(const WalletRecord& w) const {
    int64_t available = 0, held = 0;
    auto it = snapshot_.lots.find(w.seller_id);
    if (it != snapshot_.lots.end()) {
      for (const LotRecord& lot : it->second) {
        available += lot.available_yen;
        held += lot.held_yen;
      }
    }
    return loaded_.contains(w.seller_id) && available == w.available_yen && held == w.held_yen;
  }

  // Takes `amount_yen` of available Qcash from the lots in ConsumedBefore order: consumed, or
  // reserved (moved to the lots' held part) for a hold. A claw-back names its charge's lot as
  // `first_lot`: what is left available of it goes first.
  // REQUIRES: LotsAgree(w) before the op changed w, and amount_yen <= what was available.
  Lots TakeAvailable(const WalletRecord& w, int64_t amount_yen, bool reserve,
                     int64_t first_lot = -1) {
    std::vector<LotRecord*> order;
    for (LotRecord& lot : snapshot_.lots[w.seller_id]) {
      if (lot.available_yen > 0) order.push_back(&lot);
    }
    std::sort(order.begin(), order.end(), [first_lot](const LotRecord* a, const LotRecord* b) {
      if ((a->lot_id == first_lot) != (b->lot_id == first_lot)) return a->lot_id == first_lot;
      return ConsumedBefore(*a, *b);
    });
    Lots lots;
    int64_t left = amount_yen;
    for (LotRecord* lot : order) {
      if (left == 0) break;
      const int64_t take = std::min(left, lot->available_yen);
      lot->available_yen -= take;
      if (reserve) lot->held_yen += take;
      left -= take;
      lots.Add(*lot, take);
    }
    return lots;
  }

  // What `hold` reserved. A hold placed before lots existed reserved from the opening lot.
  std::vector<LotPart> ReservationsOf(const HoldRecord& hold) const {
    auto it = snapshot_.reservations.find(HoldKey(hold.seller_id, hold.hold_id));
    if (it == snapshot_.reservations.end() || it->second.empty()) {
      return {LotPart{0, hold.amount_yen}};
    }
    return it->second;
  }

  LotRecord* FindLot(const std::string& seller, int64_t lot_id) {
    auto it = snapshot_.lots.find(seller);
    if (it == snapshot_.lots.end()) return nullptr;
    for (LotRecord& lot : it->second) {
      if (lot.lot_id == lot_id) return &lot;
    }
    return nullptr;
  }

  // True when every reserved part is still held by its lot.
  bool ReservationsHeld(const std::string& seller, const std::vector<LotPart>& parts) {
    absl::flat_hash_map<int64_t, int64_t> needed;
    for (const LotPart& part : parts) needed[part.lot_id] += part.amount_yen;
    for (const auto& [lot_id, amount] : needed) {
      const LotRecord* lot = FindLot(seller, lot_id);
      if (lot == nullptr || lot->held_yen < amount) return false;
    }
    return true;
  }

  // Moves `amount_yen` out of a lot's held part: back to available, or consumed.
  // REQUIRES: ReservationsHeld() for the part.
  const LotRecord& Unreserve(const std::string& seller, int64_t lot_id, int64_t amount_yen,
                             bool to_available) {
    LotRecord* lot = FindLot(seller, lot_id);
    lot->held_yen -= amount_yen;
    if (to_available) lot->available_yen += amount_yen;
    return *lot;
  }

  LedgerSnapshot& snapshot_;
  LedgerWrites* const writes_;
  std::map<std::string, int64_t> old_versions_;  // ordered: deterministic writes
  absl::flat_hash_set<std::string> closed_;
  std::vector<HoldKey> new_holds_;
  std::vector<HoldKey> resolved_holds_;
  using LotKey = std::pair<std::string, int64_t>;
  absl::flat_hash_set<std::string> loaded_;  // sellers whose open lots the snapshot holds
  std::set<LotKey> new_lots_;
};

}  // namespace

bool ConsumedBefore(const LotRecord& a, const LotRecord& b) {
  if (a.paid() != b.paid()) return !a.paid();  // free Qcash first
  return a.lot_id < b.lot_id;                  // then the oldest
}

std::string CanonicalEntry(const JournalEntry& e) {
  Fingerprint c;
  c.Add("qcash-journal-v1")
      .Add(e.seller_id)
      .Add(e.seq)
      .Add(int64_t{static_cast<int16_t>(e.type)})
      .Add(int64_t{static_cast<int16_t>(e.debit)})
      .Add(int64_t{static_cast<int16_t>(e.credit)})
      .Add(e.amount_yen)
      .Add(e.available_after_yen)
      .Add(e.held_after_yen)
      .Add(e.qmoney_after_yen)
      .Add(e.pending_after_yen)
      .Add(int64_t{e.product})
      .Add(e.reference)
      .Add(e.hold_id)
      .Add(e.caller)
      .Add(absl::ToUnixMicros(e.created_at))
      .Add(e.paid_yen)
      .Add(static_cast<int64_t>(e.lots.size()));
  for (const LotPart& part : e.lots) c.Add(part.lot_id).Add(part.amount_yen);
  // Only entries with a debt carry it: every other entry hashes as it always has.
  if (e.debt_after_yen != 0) c.Add(e.debt_after_yen);
  return c.Text();
}

std::string EntryHash(absl::string_view previous_hash, const JournalEntry& entry) {
  return Sha256(absl::StrCat(previous_hash, CanonicalEntry(entry)));
}

Balance WalletRecord::ToBalance() const {
  Balance b;
  b.seller_id = seller_id;
  b.available_yen = available_yen;
  b.held_yen = held_yen;
  b.qmoney_yen = qmoney_yen;
  b.pending_yen = pending_yen;
  b.debt_yen = debt_yen;
  b.version = version;
  b.state = state;
  return b;
}

std::vector<OpResult> ApplyOps(const std::vector<const Op*>& ops, LedgerSnapshot& snapshot,
                               LedgerWrites* writes) {
  BatchApplier batch(snapshot, writes);
  std::vector<OpResult> results;
  results.reserve(ops.size());
  for (const Op* op : ops) {
    results.push_back(batch.Apply(*op));
    if (results.back().outcome == Outcome::kApplied ||
        results.back().outcome == Outcome::kReplayed) {
      results.back().balance.seller_id = op->seller_id;
    }
  }
  batch.Finish();
  return results;
}

BatchRows RowsOf(const std::vector<const Op*>& ops) {
  BatchRows rows;
  for (const Op* op : ops) {
    rows.sellers.insert(op->seller_id);
    if (op->type == OpType::kOpen) rows.opened.insert(op->seller_id);
    if (op->type == OpType::kClose) rows.closing.insert(op->seller_id);
    if (op->hold_id > 0) rows.holds.emplace(op->seller_id, op->hold_id);
    if (!op->idempotency_key.empty()) rows.keys.emplace(op->caller, op->idempotency_key);
    if (op->type == OpType::kClawBack) rows.charges.emplace(op->seller_id, op->reference);
  }
  return rows;
}

}  // namespace qcash::wallet
