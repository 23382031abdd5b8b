// A model-based test of the ledger rules (DESIGN.md W2-W5, sections 3 and 4; the contract in
// proto/qcash/wallet/v1/wallet.proto).
//
// Random sequences of batches of operations on a few sellers are applied twice:
//   - to ApplyOps(), through a LedgerSnapshot built the way store.cc's LoadSnapshot builds it
//     (wallets being opened are inserted first, then the wallets, holds, pending holds of
//     closing wallets and idempotency records the batch names are read), with the LedgerWrites
//     committed to an in-memory copy of the tables with the constraints of the schema;
//   - to Model below: a small reference written from the documents, one op at a time, that
//     shares no code with ledger.cc (not ValidateOp, not the hold-id arithmetic; only the
//     contract's enum numbers from ledger.h).
// After every op the outcome (status code and reason, or the whole response) must agree, and
// after every batch the stored wallets, holds, the journal entry by entry (W6: type, accounts,
// amount, product, reference, hold; gapless seqs; balances after each entry equal to the sum
// of the entries) and the conservation of money (seller accounts + platform accounts = what
// was there at the start) must agree too. Claw-backs (DESIGN.md section 9) are among the ops:
// the model takes a reversed order's Qcash from available and owes the rest, and every later
// credit of Qcash pays that debt first; the receivable account is replayed with the others. A
// failing sequence is shrunk (whole batches, single ops, batch splits, amounts, time steps) and
// printed as a readable reproduction with its seed.
//
// QCASH_MODEL_SEEDS=n runs n sequences (default 2,000); QCASH_MODEL_SEED=s runs only seed s
// and prints its trace; QCASH_MODEL_OPS=n bounds the ops per sequence (default 60).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {
namespace {

using Int128 = __int128;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
const absl::Time kStart = absl::FromUnixSeconds(1'900'000'000);

// ------------------------------------------------------------------------------ requests

// One request as a caller sends it. A capture, release or expiry names its hold either by the
// index of the hold request that made it (so that shrinking keeps the link) or by a number.
struct Request {
  OpType type = OpType::kOpen;
  std::string seller;
  std::string caller;
  std::string key;  // empty only for expiry
  int64_t amount_yen = 0;
  int16_t code = 0;
  std::string reference;
  int hold_ref = -1;     // index of the hold request in the sequence, or -1
  int64_t hold_id = 0;   // used when hold_ref is -1 or did not make a hold
  int64_t ttl_s = 0;     // hold
  std::string reversal;  // claw-back: the provider's reversal id (code: its kind)
  int id = 0;            // index in the sequence, set when it is generated
};

struct Batch {
  int64_t advance_s = 0;  // the clock moves this far before the batch
  std::vector<Request> requests;
};

// A seller that exists before the sequence starts, with balances near the int64 limit.
struct Preload {
  std::string seller;
  int64_t available_yen = 0;
  int64_t held_yen = 0;  // always 0: a held amount needs a hold row
  int64_t qmoney_yen = 0;
  int64_t pending_yen = 0;
};

struct Sequence {
  uint64_t seed = 0;
  std::vector<Preload> preloads;
  std::vector<Batch> batches;
};

// ------------------------------------------------------------------------ the reference

// What a call answers: an error (code and reason) or the response fields of its RPC.
struct Response {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string reason;
  bool replayed = false;
  // On success:
  int64_t available_yen = 0, held_yen = 0, qmoney_yen = 0, pending_yen = 0, version = 0;
  int64_t debt_yen = 0;
  bool closed = false;
  int64_t entry_seq = 0;
  bool created = false;                          // open
  int64_t hold_id = 0;                           // hold
  absl::Time expires_at = absl::InfinitePast();  // hold
  int64_t amount_yen = 0;   // capture: captured; release/expiry: released; close: forfeited;
                            // claw-back: taken from available; credits: debt recovered
  int64_t amount2_yen = 0;  // capture: returned to available; claw-back: became debt
};

std::string Describe(const Response& r, OpType type) {
  if (r.code != absl::StatusCode::kOk) {
    return absl::StrCat(absl::StatusCodeToString(r.code), "/", r.reason);
  }
  std::string s =
      absl::StrCat(r.replayed ? "REPLAYED" : "OK", " avail=", r.available_yen, " held=", r.held_yen,
                   " qmoney=", r.qmoney_yen, " pending=", r.pending_yen, " debt=", r.debt_yen,
                   " v=", r.version, r.closed ? " closed" : "", " seq=", r.entry_seq);
  switch (type) {
    case OpType::kOpen:
      absl::StrAppend(&s, " created=", r.created);
      break;
    case OpType::kHold:
      absl::StrAppend(&s, " hold_id=", r.hold_id, " expires=+",
                      absl::ToInt64Seconds(r.expires_at - kStart), "s");
      break;
    case OpType::kCapture:
      absl::StrAppend(&s, " captured=", r.amount_yen, " returned=", r.amount2_yen);
      break;
    case OpType::kRelease:
    case OpType::kExpire:
      absl::StrAppend(&s, " released=", r.amount_yen);
      break;
    case OpType::kClose:
      absl::StrAppend(&s, " forfeited=", r.amount_yen);
      break;
    case OpType::kCredit:
    case OpType::kChargeFromFunds:
      absl::StrAppend(&s, " recovered=", r.amount_yen);
      break;
    case OpType::kClawBack:
      absl::StrAppend(&s, " clawed_back=", r.amount_yen, " debt=", r.amount2_yen);
      break;
    default:
      break;
  }
  return s;
}

// The fields of `type`'s response that the contract exposes; others are not compared.
bool SameResponse(const Response& a, const Response& b, OpType type) {
  if (a.code != b.code || a.reason != b.reason) return false;
  if (a.code != absl::StatusCode::kOk) return true;
  if (a.replayed != b.replayed || a.available_yen != b.available_yen || a.held_yen != b.held_yen ||
      a.qmoney_yen != b.qmoney_yen || a.pending_yen != b.pending_yen || a.version != b.version ||
      a.debt_yen != b.debt_yen || a.closed != b.closed || a.entry_seq != b.entry_seq) {
    return false;
  }
  switch (type) {
    case OpType::kOpen:
      return a.created == b.created;
    case OpType::kHold:
      return a.hold_id == b.hold_id && a.expires_at == b.expires_at;
    case OpType::kCapture:
      return a.amount_yen == b.amount_yen && a.amount2_yen == b.amount2_yen;
    case OpType::kRelease:
    case OpType::kExpire:
    case OpType::kClose:
    case OpType::kCredit:  // Mutation.debt_recovered_yen
    case OpType::kChargeFromFunds:
      return a.amount_yen == b.amount_yen;
    case OpType::kClawBack:
      return a.amount_yen == b.amount_yen && a.amount2_yen == b.amount2_yen;
    default:
      return true;
  }
}

Response Error(absl::StatusCode code, std::string reason) {
  Response r;
  r.code = code;
  r.reason = std::move(reason);
  return r;
}

// The rules, one call at a time, as the documents state them. Deliberately naive: maps,
// int128 sums, no batching, nothing shared with ledger.cc.
class Model {
 public:
  struct Hold {
    int64_t amount_yen = 0;
    HoldState state = HoldState::kPending;
    int64_t captured_yen = 0;
    absl::Time expires_at;
    int16_t product = 0;
    std::string reference;
  };
  // One movement as W6 shows it: the seller's seq, what moved where, and what for.
  struct Entry {
    int64_t seq = 0;
    EntryType type = EntryType::kCharge;
    Account debit = Account::kSellerAvailable;
    Account credit = Account::kSellerAvailable;
    int64_t amount_yen = 0;
    int16_t product = 0;
    std::string reference;
    int64_t hold_id = 0;
  };
  struct Wallet {
    bool closed = false;
    int64_t available_yen = 0, held_yen = 0, qmoney_yen = 0, pending_yen = 0;
    int64_t debt_yen = 0;  // DESIGN.md section 9: what a reversal took beyond what was there
    int64_t version = 0;
    int64_t entries = 0;  // journal entries so far: the next one gets seq entries + 1
    std::map<int64_t, Hold> holds;
    std::vector<Entry> journal;
  };

  explicit Model(const std::vector<Preload>& preloads) {
    for (const Preload& p : preloads) {
      Wallet& w = wallets_[p.seller];
      w.available_yen = p.available_yen;
      w.qmoney_yen = p.qmoney_yen;
      w.pending_yen = p.pending_yen;
      start_total_ += Int128{p.available_yen} + p.qmoney_yen + p.pending_yen;
    }
  }

  // `hold_id` is the request's resolved hold id.
  Response Apply(const Request& q, int64_t hold_id, absl::Time now) {
    if (std::optional<Response> invalid = Validate(q, hold_id)) return *invalid;
    const int64_t ttl_s = q.type == OpType::kHold && q.ttl_s == 0 ? 72 * 3600 : q.ttl_s;
    const std::string content =
        absl::StrCat(static_cast<int>(q.type), "|", q.seller, "|", q.amount_yen, "|", q.code, "|",
                     q.reference, "|", hold_id, "|", ttl_s, "|", q.reversal);
    // Section 4: a key is scoped to its caller; same key and same request answers the
    // original response, a different request is refused. Only successes are recorded.
    if (!q.key.empty()) {
      auto it = keys_.find({q.caller, q.key});
      if (it != keys_.end()) {
        if (it->second.first != content) {
          return Error(absl::StatusCode::kInvalidArgument, "IDEMPOTENCY_KEY_REUSED");
        }
        Response replay = it->second.second;
        replay.replayed = true;
        return replay;
      }
    }
    Response r = Mutate(q, hold_id, ttl_s, now);
    if (r.code == absl::StatusCode::kOk && !q.key.empty()) keys_[{q.caller, q.key}] = {content, r};
    return r;
  }

  const std::map<std::string, Wallet>& wallets() const { return wallets_; }
  // Platform accounts, signed: what came in from outside is negative, what left is positive.
  Int128 provider() const { return provider_; }
  Int128 points() const { return points_; }
  Int128 settlement() const { return settlement_; }
  Int128 ad_revenue() const { return ad_revenue_; }
  Int128 forfeiture() const { return forfeiture_; }
  Int128 start_total() const { return start_total_; }
  // What is left to take back of the seller's charge `order` (0 when none credited it).
  int64_t ChargeLeft(const std::string& seller, const std::string& order) const {
    auto it = charges_.find({seller, order});
    return it == charges_.end() ? 0 : it->second.first - it->second.second;
  }

 private:
  static bool IsVoucher(int64_t yen) {
    for (int64_t d : {100, 500, 1'000, 3'000, 5'000, 10'000, 30'000, 50'000, 100'000, 300'000,
                      500'000, 1'000'000}) {
      if (yen == d) return true;
    }
    return false;
  }

  // The stateless rules of each RPC's contract (W2, W3, S3, bounds).
  static std::optional<Response> Validate(const Request& q, int64_t hold_id) {
    auto invalid = [](const char* reason) {
      return std::optional<Response>(Error(absl::StatusCode::kInvalidArgument, reason));
    };
    const bool amount_ok = q.amount_yen >= 1 && q.amount_yen <= 1'000'000'000'000;
    switch (q.type) {
      case OpType::kCredit:
        if (!amount_ok) return invalid("INVALID_AMOUNT");
        if (q.code == 1 && !IsVoucher(q.amount_yen)) return invalid("UNKNOWN_DENOMINATION");
        if (q.code == 2 && q.amount_yen % 100 != 0) return invalid("INVALID_CONVERSION_AMOUNT");
        if (q.reference.empty()) return invalid("MISSING_REFERENCE");
        return std::nullopt;
      case OpType::kSpend:
      case OpType::kHold:
        if (!amount_ok) return invalid("INVALID_AMOUNT");
        if (q.code < 1 || q.code > 8) return invalid("UNKNOWN_AD_PRODUCT");
        if (q.type == OpType::kHold && (q.ttl_s < 0 || q.ttl_s > 30 * 24 * 3600)) {
          return invalid("INVALID_HOLD_TTL");
        }
        if (q.reference.empty()) return invalid("MISSING_REFERENCE");
        return std::nullopt;
      case OpType::kCapture:
        if (hold_id <= 0) return invalid("INVALID_HOLD_ID");
        if (!amount_ok) return invalid("INVALID_AMOUNT");
        return std::nullopt;
      case OpType::kRelease:
      case OpType::kExpire:
        if (hold_id <= 0) return invalid("INVALID_HOLD_ID");
        return std::nullopt;
      case OpType::kChargeFromFunds:
        if (!IsVoucher(q.amount_yen)) return invalid("UNKNOWN_DENOMINATION");
        if (q.reference.empty()) return invalid("MISSING_REFERENCE");
        return std::nullopt;
      case OpType::kCreditFunds:
        if (!amount_ok) return invalid("INVALID_AMOUNT");
        if (q.reference.empty()) return invalid("MISSING_REFERENCE");
        return std::nullopt;
      case OpType::kClawBack:
        if (!amount_ok) return invalid("INVALID_AMOUNT");
        if (q.code < 1 || q.code > 3) return invalid("UNKNOWN_REVERSAL_KIND");
        if (q.reference.empty() || q.reversal.empty()) return invalid("MISSING_REFERENCE");
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }

  Response Ok(const Wallet& w) const {
    Response r;
    r.available_yen = w.available_yen;
    r.held_yen = w.held_yen;
    r.qmoney_yen = w.qmoney_yen;
    r.pending_yen = w.pending_yen;
    r.version = w.version;
    r.debt_yen = w.debt_yen;
    r.closed = w.closed;
    return r;
  }

  // A credit of Qcash whose lot `reference` names: the first one is the order's charge (a
  // claw-back finds it by its order id), whatever later ones name the same.
  void RememberCharge(const std::string& seller, const std::string& reference, int64_t yen) {
    charges_.try_emplace({seller, reference}, yen, 0);
  }

  // DESIGN.md section 9: while the seller owes, a credit of Qcash pays the debt first.
  int64_t Recover(Wallet& w, int64_t credited, const std::string& reference) {
    const int64_t recovered = std::min(credited, w.debt_yen);
    if (recovered == 0) return 0;
    w.available_yen -= recovered;
    w.debt_yen -= recovered;
    Add(w, EntryType::kDebtRecovery, Account::kSellerAvailable, Account::kSellerReceivable,
        recovered, 0, reference, 0);
    return recovered;
  }

  static int64_t Add(Wallet& w, EntryType type, Account debit, Account credit, int64_t amount_yen,
                     int16_t product, const std::string& reference, int64_t hold_id) {
    w.entries += 1;
    w.journal.push_back({w.entries, type, debit, credit, amount_yen, product, reference, hold_id});
    return w.entries;
  }

  Response Mutate(const Request& q, int64_t hold_id, int64_t ttl_s, absl::Time now) {
    auto found = wallets_.find(q.seller);
    if (q.type == OpType::kOpen) {
      // Opening a wallet that exists returns it with `created` false (also when closed).
      const bool created = found == wallets_.end();
      Wallet& w = wallets_[q.seller];
      Response r = Ok(w);
      r.created = created;
      return r;
    }
    if (found == wallets_.end()) return Error(absl::StatusCode::kNotFound, "WALLET_NOT_FOUND");
    Wallet& w = found->second;
    if (w.closed && q.type != OpType::kClawBack) {
      return Error(absl::StatusCode::kFailedPrecondition, "WALLET_CLOSED");  // W5
    }
    auto precondition = [](const char* reason) {
      return Error(absl::StatusCode::kFailedPrecondition, reason);
    };
    const Int128 qcash = Int128{w.available_yen} + w.held_yen;
    Response r;
    switch (q.type) {
      case OpType::kCredit:
        if (qcash + q.amount_yen > kMax) return precondition("BALANCE_LIMIT_EXCEEDED");
        w.available_yen += q.amount_yen;
        (q.code == 1 ? provider_ : points_) -= q.amount_yen;
        r.entry_seq = q.code == 1 ? Add(w, EntryType::kCharge, Account::kProviderClearing,
                                        Account::kSellerAvailable, q.amount_yen, 0, q.reference, 0)
                                  : Add(w, EntryType::kPointsConversion, Account::kPointsProgramme,
                                        Account::kSellerAvailable, q.amount_yen, 0, q.reference, 0);
        if (q.code == 1) RememberCharge(q.seller, q.reference, q.amount_yen);
        r.amount_yen = Recover(w, q.amount_yen, q.reference);
        break;
      case OpType::kSpend:
        if (w.available_yen < q.amount_yen) return precondition("INSUFFICIENT_FUNDS");
        w.available_yen -= q.amount_yen;
        ad_revenue_ += q.amount_yen;
        r.entry_seq = Add(w, EntryType::kAdSpend, Account::kSellerAvailable, Account::kAdRevenue,
                          q.amount_yen, q.code, q.reference, 0);
        break;
      case OpType::kHold: {
        if (w.available_yen < q.amount_yen) return precondition("INSUFFICIENT_FUNDS");
        w.available_yen -= q.amount_yen;
        w.held_yen += q.amount_yen;
        r.hold_id = w.entries + 1;  // the hold's id is the seq of its journal entry
        r.entry_seq = Add(w, EntryType::kAdHold, Account::kSellerAvailable, Account::kSellerHeld,
                          q.amount_yen, q.code, q.reference, r.hold_id);
        r.expires_at = now + absl::Seconds(ttl_s);
        w.holds[r.hold_id] =
            Hold{q.amount_yen, HoldState::kPending, 0, r.expires_at, q.code, q.reference};
        break;
      }
      case OpType::kCapture:
      case OpType::kRelease:
      case OpType::kExpire: {
        auto h = w.holds.find(hold_id);
        if (h == w.holds.end()) return Error(absl::StatusCode::kNotFound, "HOLD_NOT_FOUND");
        Hold& hold = h->second;
        if (hold.state != HoldState::kPending) return precondition("HOLD_ALREADY_RESOLVED");
        const bool due = now >= hold.expires_at;
        if (q.type == OpType::kCapture) {
          if (due) return precondition("HOLD_EXPIRED");
          if (q.amount_yen > hold.amount_yen) return precondition("CAPTURE_EXCEEDS_HOLD");
          hold.state = HoldState::kCaptured;
          hold.captured_yen = q.amount_yen;
          w.held_yen -= hold.amount_yen;
          w.available_yen += hold.amount_yen - q.amount_yen;
          ad_revenue_ += q.amount_yen;
          r.entry_seq = Add(w, EntryType::kAdCapture, Account::kSellerHeld, Account::kAdRevenue,
                            q.amount_yen, hold.product, hold.reference, hold_id);
          if (hold.amount_yen > q.amount_yen) {
            Add(w, EntryType::kAdHoldRemainder, Account::kSellerHeld, Account::kSellerAvailable,
                hold.amount_yen - q.amount_yen, hold.product, hold.reference, hold_id);
          }
          r.amount_yen = q.amount_yen;
          r.amount2_yen = hold.amount_yen - q.amount_yen;
        } else {
          if (q.type == OpType::kExpire && !due) return precondition("HOLD_NOT_DUE");
          hold.state = q.type == OpType::kRelease ? HoldState::kReleased : HoldState::kExpired;
          w.held_yen -= hold.amount_yen;
          w.available_yen += hold.amount_yen;
          r.entry_seq =
              Add(w, q.type == OpType::kRelease ? EntryType::kAdRelease : EntryType::kAdHoldExpired,
                  Account::kSellerHeld, Account::kSellerAvailable, hold.amount_yen, hold.product,
                  hold.reference, hold_id);
          r.amount_yen = hold.amount_yen;
        }
        break;
      }
      case OpType::kChargeFromFunds: {
        int64_t& funds = q.code == 1 ? w.qmoney_yen : w.pending_yen;
        if (funds < q.amount_yen) return precondition("INSUFFICIENT_FUNDS");
        if (qcash + q.amount_yen > kMax) return precondition("BALANCE_LIMIT_EXCEEDED");
        funds -= q.amount_yen;
        w.available_yen += q.amount_yen;
        r.entry_seq = Add(w, EntryType::kInternalFundsCharge,
                          q.code == 1 ? Account::kSellerQmoney : Account::kSellerPending,
                          Account::kSellerAvailable, q.amount_yen, 0, q.reference, 0);
        RememberCharge(q.seller, q.reference, q.amount_yen);
        r.amount_yen = Recover(w, q.amount_yen, q.reference);
        break;
      }
      case OpType::kClawBack: {
        // DESIGN.md section 9: from available first, never from held; the rest is debt. A
        // closed wallet has nothing: all of it is debt.
        auto charge = charges_.find({q.seller, q.reference});
        if (charge == charges_.end()) {
          return Error(absl::StatusCode::kNotFound, "CHARGE_NOT_FOUND");
        }
        if (q.amount_yen > charge->second.first - charge->second.second) {
          return precondition("CLAWBACK_EXCEEDS_CHARGE");
        }
        const int64_t take = w.closed ? 0 : std::min(q.amount_yen, w.available_yen);
        const int64_t debt = q.amount_yen - take;
        if (Int128{w.debt_yen} + debt > kMax) return precondition("BALANCE_LIMIT_EXCEEDED");
        charge->second.second += q.amount_yen;
        provider_ += q.amount_yen;
        if (take > 0) {
          w.available_yen -= take;
          r.entry_seq = Add(w, EntryType::kClawBack, Account::kSellerAvailable,
                            Account::kProviderClearing, take, 0, q.reference, 0);
        }
        if (debt > 0) {
          w.debt_yen += debt;
          const int64_t seq = Add(w, EntryType::kDebt, Account::kSellerReceivable,
                                  Account::kProviderClearing, debt, 0, q.reference, 0);
          if (r.entry_seq == 0) r.entry_seq = seq;
        }
        r.amount_yen = take;
        r.amount2_yen = debt;
        break;
      }
      case OpType::kCreditFunds: {
        int64_t& funds = q.code == 1 ? w.qmoney_yen : w.pending_yen;
        if (Int128{funds} + q.amount_yen > kMax) return precondition("BALANCE_LIMIT_EXCEEDED");
        funds += q.amount_yen;
        settlement_ -= q.amount_yen;
        r.entry_seq = Add(w, EntryType::kInternalFundsCredit, Account::kSettlement,
                          q.code == 1 ? Account::kSellerQmoney : Account::kSellerPending,
                          q.amount_yen, 0, q.reference, 0);
        break;
      }
      case OpType::kClose: {
        // W5: pending holds are voided, all Qcash (held and available) forfeited; Qmoney and
        // pending settlement stay. One entry per pending hold, one for what was available.
        int64_t forfeited = 0;
        for (auto& [id, hold] : w.holds) {
          if (hold.state != HoldState::kPending) continue;
          hold.state = HoldState::kForfeited;
          forfeited += hold.amount_yen;
          const int64_t seq =
              Add(w, EntryType::kForfeit, Account::kSellerHeld, Account::kForfeiture,
                  hold.amount_yen, hold.product, hold.reference, id);
          if (r.entry_seq == 0) r.entry_seq = seq;
        }
        if (w.available_yen > 0) {
          const int64_t seq = Add(w, EntryType::kForfeit, Account::kSellerAvailable,
                                  Account::kForfeiture, w.available_yen, 0, q.reference, 0);
          if (r.entry_seq == 0) r.entry_seq = seq;
          forfeited += w.available_yen;
        }
        forfeiture_ += forfeited;
        w.available_yen = 0;
        w.held_yen = 0;
        w.closed = true;
        r.amount_yen = forfeited;
        break;
      }
      default:
        return Error(absl::StatusCode::kInternal, "MODEL_UNKNOWN_OP");
    }
    w.version += 1;
    Response out = Ok(w);
    out.entry_seq = r.entry_seq;
    out.hold_id = r.hold_id;
    out.expires_at = r.expires_at;
    out.amount_yen = r.amount_yen;
    out.amount2_yen = r.amount2_yen;
    return out;
  }

  std::map<std::string, Wallet> wallets_;
  std::map<std::pair<std::string, std::string>, std::pair<std::string, Response>> keys_;
  // (seller, order) -> (credited, taken back so far)
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> charges_;
  Int128 provider_ = 0, points_ = 0, settlement_ = 0, ad_revenue_ = 0, forfeiture_ = 0;
  Int128 start_total_ = 0;
};

// ------------------------------------------------------------- the tables, in memory

// The wallet database as store.cc uses it: LoadSnapshot() reads what a batch names the way
// store.cc does, Commit() writes LedgerWrites with the checks of the schema and of the write
// statement (CHECK constraints, primary keys, the version guard, qcash_assert).
class Tables {
 public:
  explicit Tables(const std::vector<Preload>& preloads) {
    for (const Preload& p : preloads) {
      WalletRecord w;
      w.seller_id = p.seller;
      w.available_yen = p.available_yen;
      w.held_yen = p.held_yen;
      w.qmoney_yen = p.qmoney_yen;
      w.pending_yen = p.pending_yen;
      wallets_[p.seller] = w;
      if (w.available_yen + w.held_yen > 0) {  // as the migration to lots made it
        LotRecord lot;
        lot.seller_id = p.seller;
        lot.lot_id = 0;
        lot.origin = LotOrigin::kOpening;
        lot.amount_yen = w.available_yen + w.held_yen;
        lot.available_yen = w.available_yen;
        lot.held_yen = w.held_yen;
        open_lots_[p.seller].push_back(lot);
        lot.available_yen = lot.held_yen = 0;
        lots_[LotKey(p.seller, 0)] = lot;
      }
    }
  }

  LedgerSnapshot LoadSnapshot(const std::vector<const Op*>& ops, absl::Time now) {
    const auto [sellers, opened, closing, holds, keys, charges] = RowsOf(ops);
    LedgerSnapshot s;
    s.now = now;
    auto reservations = [&](const HoldKey& key) {  // kLoadReservations: the hold's entry
      for (const JournalEntry& e : journal_) {
        if (e.seller_id == key.first && e.seq == key.second) s.reservations[key] = e.lots;
      }
    };
    for (const std::string& seller : opened) {  // INSERT ... ON CONFLICT DO NOTHING RETURNING
      if (wallets_.count(seller) != 0) continue;
      WalletRecord w;
      w.seller_id = seller;
      wallets_[seller] = w;
      s.created.insert(seller);
      created_.insert(seller);
    }
    for (const std::string& seller : sellers) {
      auto it = wallets_.find(seller);
      if (it == wallets_.end()) continue;
      s.wallets[seller] = it->second;
      // wallets.open_lots, as store.cc reads it: lot_id, paid or free, available, held.
      std::vector<LotRecord>& open = s.lots[seller];
      for (const LotRecord& stored : open_lots_[seller]) {
        LotRecord lot;
        lot.seller_id = seller;
        lot.lot_id = stored.lot_id;
        lot.origin = stored.paid() ? LotOrigin::kVoucher : LotOrigin::kPointsConversion;
        lot.available_yen = stored.available_yen;
        lot.held_yen = stored.held_yen;
        lot.amount_yen = lot.remaining_yen();
        open.push_back(lot);
      }
    }
    for (const HoldKey& key : holds) {
      auto it = holds_.find(key);
      if (it != holds_.end()) {
        s.holds[key] = it->second;
        reservations(key);
      }
    }
    for (const auto& [key, hold] : holds_) {
      if (closing.count(key.first) != 0 && hold.state == HoldState::kPending) {
        s.holds[key] = hold;
        reservations(key);
      }
    }
    for (const RecordKey& key : keys) {
      auto it = records_.find(key);
      if (it != records_.end()) s.records[key] = it->second;
    }
    for (const ChargeKey& key : charges) {  // kLoadCharges: every named order, found or not
      LedgerSnapshot::Charge& charge = s.charges[key];
      for (const auto& [lot_key, lot] : lots_) {  // by lot_id: the first that matches
        if (lot_key.first == key.first && lot.reference == key.second &&
            lot.origin != LotOrigin::kPointsConversion && lot.origin != LotOrigin::kOpening) {
          charge.lot_id = lot.lot_id;
          charge.amount_yen = lot.amount_yen;
          break;
        }
      }
      for (const JournalEntry& e : journal_) {
        if (e.seller_id == key.first && e.reference == key.second &&
            (e.type == EntryType::kClawBack || e.type == EntryType::kDebt)) {
          charge.clawed_back_yen += e.amount_yen;
        }
      }
    }
    return s;
  }

  // Returns "" or what the database would have refused.
  std::string Commit(const LedgerWrites& writes) {
    for (const auto& change : writes.wallets) {
      auto it = wallets_.find(change.wallet.seller_id);
      if (it == wallets_.end() || it->second.version != change.old_version) {
        return absl::StrCat("ledger rows changed under their locks: wallet ",
                            change.wallet.seller_id);
      }
      const WalletRecord& w = change.wallet;
      if (w.available_yen < 0 || w.held_yen < 0 || w.qmoney_yen < 0 || w.pending_yen < 0 ||
          w.debt_yen < 0) {
        return absl::StrCat("CHECK violated: negative balance in wallet ", w.seller_id);
      }
      if (change.closed !=
          (it->second.state == WalletState::kOpen && w.state == WalletState::kClosed)) {
        return absl::StrCat("closing flag wrong for wallet ", w.seller_id);
      }
      it->second = w;
      for (size_t i = 1; i < change.open_lots.size(); ++i) {
        if (change.open_lots[i - 1].lot_id >= change.open_lots[i].lot_id) {
          return absl::StrCat("open lots of ", w.seller_id, " not in lot_id order");
        }
      }
      for (const LotRecord& lot : change.open_lots) {
        if (lot.remaining_yen() <= 0 || lot.available_yen < 0 || lot.held_yen < 0) {
          return absl::StrCat("open lot ", lot.lot_id, " of ", w.seller_id, " has nothing left");
        }
      }
      open_lots_[w.seller_id] = change.open_lots;
    }
    for (const JournalEntry& e : writes.journal) {
      if (e.amount_yen <= 0) return absl::StrCat("CHECK violated: journal amount ", e.amount_yen);
      if (e.debt_after_yen < 0) return "CHECK violated: journal debt_after";
      if (e.debit == e.credit) return "CHECK violated: debit = credit";
      for (const JournalEntry& old : journal_) {
        if (old.seller_id == e.seller_id && old.seq == e.seq) {
          return absl::StrCat("journal primary key (", e.seller_id, ", ", e.seq, ") taken");
        }
      }
      journal_.push_back(e);
    }
    for (const HoldRecord& h : writes.new_holds) {
      if (h.amount_yen <= 0 || h.captured_yen < 0 || h.captured_yen > h.amount_yen) {
        return absl::StrCat("CHECK violated: hold ", h.hold_id);
      }
      if (!holds_.emplace(HoldKey(h.seller_id, h.hold_id), h).second) {
        return absl::StrCat("holds primary key (", h.seller_id, ", ", h.hold_id, ") taken");
      }
    }
    for (const HoldRecord& h : writes.resolved_holds) {
      auto it = holds_.find(HoldKey(h.seller_id, h.hold_id));
      if (it == holds_.end() || it->second.state != HoldState::kPending) {
        return absl::StrCat("ledger rows changed under their locks: hold ", h.hold_id);
      }
      if (h.captured_yen < 0 || h.captured_yen > it->second.amount_yen) {
        return absl::StrCat("CHECK violated: hold ", h.hold_id);
      }
      it->second.state = h.state;
      it->second.captured_yen = h.captured_yen;
    }
    for (const std::string& seller : writes.unopened) {  // DELETE FROM wallets
      auto it = wallets_.find(seller);
      if (it == wallets_.end() || created_.count(seller) == 0) {
        return absl::StrCat("deleting wallet ", seller, " which this batch did not insert");
      }
      wallets_.erase(it);
    }
    created_.clear();
    for (const LotRecord& lot : writes.new_lots) {  // lot_origins: the lot's facts only
      if (lot.amount_yen <= 0) return absl::StrCat("CHECK violated: lot ", lot.lot_id);
      LotRecord origin = lot;
      origin.available_yen = origin.held_yen = 0;
      if (!lots_.emplace(LotKey(lot.seller_id, lot.lot_id), origin).second) {
        return absl::StrCat("lots primary key (", lot.seller_id, ", ", lot.lot_id, ") taken");
      }
    }
    for (const LedgerWrites::ClawBackRecord& c : writes.clawbacks) {  // table clawbacks
      if (c.amount_yen <= 0 || c.clawed_back_yen < 0 || c.debt_yen < 0 ||
          c.clawed_back_yen + c.debt_yen != c.amount_yen || c.kind == ReversalKind::kNone) {
        return absl::StrCat("CHECK violated: clawback of ", c.seller_id, "/", c.entry_seq);
      }
      if (!clawbacks_.insert({c.seller_id, c.entry_seq}).second) {
        return absl::StrCat("clawbacks primary key (", c.seller_id, ", ", c.entry_seq, ") taken");
      }
    }
    for (const IdempotencyRecord& k : writes.records) {
      // Stored as the columns of idempotency_keys, read back as LoadSnapshot reads them.
      IdempotencyRecord row;
      row.caller = k.caller;
      row.key = k.key;
      row.seller_id = k.seller_id;
      row.type = k.type;
      row.request_hash = k.request_hash;
      row.result.entry_seq = k.result.entry_seq;
      row.result.hold_id = k.result.hold_id;
      row.result.amount_yen = k.result.amount_yen;
      row.result.amount2_yen = k.result.amount2_yen;
      row.result.created = k.result.created;
      row.result.balance = k.result.balance;
      row.result.balance.seller_id = k.seller_id;
      row.result.expires_at = k.result.expires_at;
      if (!records_.emplace(RecordKey(k.caller, k.key), row).second) {
        return absl::StrCat("idempotency_keys primary key (", k.caller, ", ", k.key, ") taken");
      }
    }
    return "";
  }

  // What the audit proves about lots and the chain (audit.cc, qcashctl verify): every wallet's
  // open lots hold exactly its available and held Qcash and have their origins, each
  // lot's remaining amount is its amount less what the journal says was consumed from it,
  // every entry's paid_yen is the paid part of its lots, and every seller's chain links.
  // Returns "" or the first problem.
  std::string CheckLotsAndChain() const {
    std::map<std::string, std::pair<int64_t, int64_t>> sums;  // available, held
    std::map<LotKey, int64_t> remaining;                      // the view `lots`
    for (const auto& [seller, open] : open_lots_) {
      for (const LotRecord& lot : open) {
        auto origin = lots_.find(LotKey(seller, lot.lot_id));
        if (origin == lots_.end() || origin->second.paid() != lot.paid()) {
          return absl::StrCat("open lot ", lot.lot_id, " of ", seller, " has no such origin");
        }
        sums[seller].first += lot.available_yen;
        sums[seller].second += lot.held_yen;
        remaining[LotKey(seller, lot.lot_id)] = lot.remaining_yen();
      }
    }
    for (const auto& [key, lot] : lots_) {
      if (wallets_.count(key.first) == 0) return absl::StrCat("lot ", lot.lot_id, " of no wallet");
    }
    for (const auto& [seller, w] : wallets_) {
      const auto sum = sums[seller];
      if (sum.first != w.available_yen || sum.second != w.held_yen) {
        return absl::StrCat("the lots of ", seller, " hold ", sum.first, "/", sum.second,
                            ", the wallet ", w.available_yen, "/", w.held_yen);
      }
    }
    std::map<LotKey, int64_t> consumed;
    std::map<std::string, std::string> heads;
    for (const JournalEntry& e : journal_) {
      const bool consumes = e.type == EntryType::kAdSpend || e.type == EntryType::kAdCapture ||
                            e.type == EntryType::kForfeit || e.type == EntryType::kClawBack ||
                            e.type == EntryType::kDebtRecovery;
      int64_t sum = 0, paid = 0;
      for (const LotPart& part : e.lots) {
        sum += part.amount_yen;
        auto lot = lots_.find(LotKey(e.seller_id, part.lot_id));
        if (lot == lots_.end()) return absl::StrCat("entry ", e.seq, " names no lot");
        if (lot->second.paid()) paid += part.amount_yen;
        if (consumes) consumed[lot->first] += part.amount_yen;
      }
      // A settlement credit moves no Qcash; a debt records Qcash that was spent already.
      const bool moves_lots =
          e.type != EntryType::kInternalFundsCredit && e.type != EntryType::kDebt;
      if (!moves_lots && !e.lots.empty()) {
        return absl::StrCat("entry ", e.seller_id, "/", e.seq, " names lots it cannot move");
      }
      if (e.type == EntryType::kDebtRecovery &&
          (e.lots.size() != 1 || e.lots[0].lot_id != e.seq - 1)) {
        return absl::StrCat("entry ", e.seller_id, "/", e.seq,
                            " recovers a debt from another lot than its credit's");
      }
      if ((moves_lots && sum != e.amount_yen) || paid != e.paid_yen) {
        return absl::StrCat("entry ", e.seller_id, "/", e.seq, " names lots of ", sum, " (paid ",
                            paid, ") for ", e.amount_yen, " (paid ", e.paid_yen, ")");
      }
      std::string& head = heads[e.seller_id];
      if (e.hash != EntryHash(head, e)) {
        return absl::StrCat("entry ", e.seller_id, "/", e.seq, " breaks the chain");
      }
      head = e.hash;
    }
    for (const auto& [key, lot] : lots_) {
      const int64_t left = remaining.count(key) > 0 ? remaining.at(key) : 0;
      if (lot.amount_yen - consumed[key] != left) {
        return absl::StrCat("lot ", key.first, "/", key.second, ": ", lot.amount_yen, " less ",
                            consumed[key], " consumed is not the ", left, " left");
      }
    }
    for (const auto& [seller, w] : wallets_) {
      if (w.chain_head != heads[seller]) return absl::StrCat("chain head of ", seller, " wrong");
    }
    return "";
  }

  const std::map<std::string, WalletRecord>& wallets() const { return wallets_; }
  const std::map<HoldKey, HoldRecord>& holds() const { return holds_; }
  const std::vector<JournalEntry>& journal() const { return journal_; }

 private:
  std::map<std::string, WalletRecord> wallets_;
  std::map<HoldKey, HoldRecord> holds_;
  std::map<RecordKey, IdempotencyRecord> records_;
  std::vector<JournalEntry> journal_;
  std::set<std::string> created_;  // inserted by the batch being committed
  using LotKey = std::pair<std::string, int64_t>;
  std::map<LotKey, LotRecord> lots_;                         // lot_origins
  std::map<std::string, std::vector<LotRecord>> open_lots_;  // wallets.open_lots
  std::set<std::pair<std::string, int64_t>> clawbacks_;      // the table's primary key
};

Response FromLedger(const Op& op, const OpResult& r) {
  absl::Status status = OutcomeStatus(r.outcome, op);
  if (!status.ok()) return Error(status.code(), ReasonOf(status));
  Response out;
  out.replayed = r.outcome == Outcome::kReplayed;
  out.available_yen = r.balance.available_yen;
  out.held_yen = r.balance.held_yen;
  out.qmoney_yen = r.balance.qmoney_yen;
  out.pending_yen = r.balance.pending_yen;
  out.version = r.balance.version;
  out.debt_yen = r.balance.debt_yen;
  out.closed = r.balance.state == WalletState::kClosed;
  out.entry_seq = r.entry_seq;
  out.created = r.created;
  out.hold_id = r.hold_id;
  out.expires_at = r.expires_at;
  out.amount_yen = r.amount_yen;
  out.amount2_yen = r.amount2_yen;
  return out;
}

// ----------------------------------------------------------------------------- running

std::string Describe(const Request& q) {
  std::string s = absl::StrCat("#", q.id, " ", q.seller, " ", OpTypeName(q.type));
  switch (q.type) {
    case OpType::kCredit:
      absl::StrAppend(&s,
                      q.code == 1   ? " charge "
                      : q.code == 2 ? " conversion "
                                    : " source?",
                      q.amount_yen);
      break;
    case OpType::kSpend:
    case OpType::kHold:
      absl::StrAppend(&s, " ", q.amount_yen, " product=", q.code);
      if (q.type == OpType::kHold) absl::StrAppend(&s, " ttl=", q.ttl_s, "s");
      break;
    case OpType::kCapture:
      absl::StrAppend(&s, " ", q.amount_yen);
      break;
    case OpType::kChargeFromFunds:
    case OpType::kCreditFunds:
      absl::StrAppend(&s, q.code == 1 ? " qmoney " : " pending ", q.amount_yen);
      break;
    case OpType::kClawBack:
      absl::StrAppend(&s, " ", q.amount_yen, " kind=", q.code, " reversal=\"", q.reversal, "\"");
      break;
    default:
      break;
  }
  if (q.type == OpType::kCapture || q.type == OpType::kRelease || q.type == OpType::kExpire) {
    if (q.hold_ref >= 0) {
      absl::StrAppend(&s, " hold=<made by #", q.hold_ref, ", else ", q.hold_id, ">");
    } else {
      absl::StrAppend(&s, " hold=", q.hold_id);
    }
  }
  if (!q.reference.empty()) absl::StrAppend(&s, " ref=\"", q.reference, "\"");
  if (!q.key.empty()) absl::StrAppend(&s, " key=", q.caller, "/", q.key);
  return s;
}

Op ToOp(const Request& q, int64_t hold_id) {
  Op op;
  op.type = q.type;
  op.seller_id = q.seller;
  op.caller = q.caller;
  op.idempotency_key = q.key;
  op.amount_yen = q.amount_yen;
  // The model keeps one number per request; the ledger's Op has a typed field per enum.
  switch (q.type) {
    case OpType::kCredit:
      op.source = static_cast<CreditSource>(q.code);
      break;
    case OpType::kSpend:
    case OpType::kHold:
      op.product = static_cast<AdProduct>(q.code);
      break;
    case OpType::kChargeFromFunds:
    case OpType::kCreditFunds:
      op.funds = static_cast<FundsAccount>(q.code);
      break;
    case OpType::kClawBack:
      op.kind = static_cast<ReversalKind>(q.code);
      op.reversal_reference = q.reversal;
      break;
    default:
      break;
  }
  op.reference = q.reference;
  op.hold_id = hold_id;
  op.hold_ttl_s = q.ttl_s;
  return op;
}

struct Failure {
  std::string message;                      // empty: the sequence passed
  std::string trace;                        // every op with both answers
  std::map<std::string, int64_t> outcomes;  // "op:OK", "spend:INSUFFICIENT_FUNDS", ...
};

std::string Money(Int128 v) {
  if (v >= std::numeric_limits<int64_t>::min() && v <= kMax) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  const bool negative = v < 0;
  if (negative) v = -v;
  std::string digits;
  while (v > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return (negative ? "-" : "") + digits;
}

// Checks the stored tables against the model after a batch; returns "" when they agree.
std::string CompareState(const Model& model, const Tables& tables,
                         const std::vector<Preload>& preloads) {
  std::ostringstream out;
  for (const auto& [seller, w] : tables.wallets()) {
    if (model.wallets().count(seller) == 0) {
      out << "wallet " << seller << " exists in the tables but was never opened\n";
    }
  }
  for (const auto& [seller, m] : model.wallets()) {
    auto it = tables.wallets().find(seller);
    if (it == tables.wallets().end()) {
      out << "wallet " << seller << " is missing from the tables\n";
      continue;
    }
    const WalletRecord& w = it->second;
    if (w.available_yen != m.available_yen || w.held_yen != m.held_yen ||
        w.qmoney_yen != m.qmoney_yen || w.pending_yen != m.pending_yen || w.version != m.version ||
        w.debt_yen != m.debt_yen || (w.state == WalletState::kClosed) != m.closed ||
        w.last_seq != m.entries) {
      out << "wallet " << seller << ": stored avail=" << w.available_yen << " held=" << w.held_yen
          << " qmoney=" << w.qmoney_yen << " pending=" << w.pending_yen << " debt=" << w.debt_yen
          << " v=" << w.version << " closed=" << (w.state == WalletState::kClosed)
          << " last_seq=" << w.last_seq << "; model avail=" << m.available_yen
          << " held=" << m.held_yen << " qmoney=" << m.qmoney_yen << " pending=" << m.pending_yen
          << " debt=" << m.debt_yen << " v=" << m.version << " closed=" << m.closed
          << " entries=" << m.entries << "\n";
    }
    int64_t pending_holds = 0;
    for (const auto& [id, mh] : m.holds) {
      auto h = tables.holds().find(HoldKey(seller, id));
      if (h == tables.holds().end()) {
        out << "hold " << seller << "/" << id << " is missing from the tables\n";
        continue;
      }
      if (h->second.amount_yen != mh.amount_yen || h->second.state != mh.state ||
          h->second.captured_yen != mh.captured_yen || h->second.expires_at != mh.expires_at) {
        out << "hold " << seller << "/" << id << ": stored amount=" << h->second.amount_yen
            << " state=" << static_cast<int>(h->second.state)
            << " captured=" << h->second.captured_yen << "; model amount=" << mh.amount_yen
            << " state=" << static_cast<int>(mh.state) << " captured=" << mh.captured_yen << "\n";
      }
      if (mh.state == HoldState::kPending) pending_holds += mh.amount_yen;
    }
    if (pending_holds != m.held_yen) {
      out << "model of " << seller << ": held " << m.held_yen << " but pending holds sum to "
          << pending_holds << "\n";
    }
  }
  for (const auto& [key, hold] : tables.holds()) {
    auto m = model.wallets().find(key.first);
    if (m == model.wallets().end() || m->second.holds.count(key.second) == 0) {
      out << "hold " << key.first << "/" << key.second << " is stored but the model has none\n";
    }
  }

  // W6: the movements, entry by entry.
  std::map<std::string, size_t> next_entry;
  for (const JournalEntry& e : tables.journal()) {
    auto m = model.wallets().find(e.seller_id);
    size_t& i = next_entry[e.seller_id];
    if (m == model.wallets().end() || i >= m->second.journal.size()) {
      out << "journal " << e.seller_id << "/" << e.seq << ": an entry the model did not make\n";
      continue;
    }
    const Model::Entry& x = m->second.journal[i++];
    if (e.seq != x.seq || e.type != x.type || e.debit != x.debit || e.credit != x.credit ||
        e.amount_yen != x.amount_yen || e.product != x.product || e.reference != x.reference ||
        e.hold_id != x.hold_id) {
      out << "journal " << e.seller_id << "/" << e.seq
          << ": stored type=" << static_cast<int>(e.type) << " " << static_cast<int>(e.debit)
          << "->" << static_cast<int>(e.credit) << " amount=" << e.amount_yen
          << " product=" << e.product << " ref=\"" << e.reference << "\" hold=" << e.hold_id
          << "; model seq=" << x.seq << " type=" << static_cast<int>(x.type) << " "
          << static_cast<int>(x.debit) << "->" << static_cast<int>(x.credit)
          << " amount=" << x.amount_yen << " product=" << x.product << " ref=\"" << x.reference
          << "\" hold=" << x.hold_id << "\n";
    }
  }
  for (const auto& [seller, m] : model.wallets()) {
    if (next_entry[seller] != m.journal.size()) {
      out << "journal " << seller << ": " << next_entry[seller]
          << " entries stored, the model made " << m.journal.size() << "\n";
    }
  }

  // Double entry: replaying the journal from the preloaded balances gives every entry's
  // balances-after and every stored balance; platform accounts are derived from it.
  struct Running {
    int64_t available = 0, held = 0, qmoney = 0, pending = 0, seq = 0;
    int64_t receivable = 0;  // credits - debits: never positive; the debt is its negation
  };
  std::map<std::string, Running> running;
  for (const Preload& p : preloads) {
    running[p.seller] = {p.available_yen, p.held_yen, p.qmoney_yen, p.pending_yen, 0, 0};
  }
  std::map<Account, Int128> platform;
  for (const JournalEntry& e : tables.journal()) {
    Running& r = running[e.seller_id];
    if (e.seq != r.seq + 1)
      out << "journal of " << e.seller_id << ": seq " << e.seq << " after " << r.seq << "\n";
    r.seq = e.seq;
    for (auto [account, sign] : {std::pair<Account, int>{e.debit, -1}, {e.credit, +1}}) {
      switch (account) {
        case Account::kSellerAvailable:
          r.available += sign * e.amount_yen;
          break;
        case Account::kSellerHeld:
          r.held += sign * e.amount_yen;
          break;
        case Account::kSellerQmoney:
          r.qmoney += sign * e.amount_yen;
          break;
        case Account::kSellerPending:
          r.pending += sign * e.amount_yen;
          break;
        case Account::kSellerReceivable:
          r.receivable += sign * e.amount_yen;
          break;
        default:
          platform[account] += sign * Int128{e.amount_yen};
      }
    }
    if (e.available_after_yen != r.available || e.held_after_yen != r.held ||
        e.qmoney_after_yen != r.qmoney || e.pending_after_yen != r.pending ||
        e.debt_after_yen != -r.receivable) {
      out << "journal " << e.seller_id << "/" << e.seq << ": balances after disagree with the sum "
          << "of the entries\n";
    }
    if (r.available < 0 || r.held < 0 || r.qmoney < 0 || r.pending < 0 || r.receivable > 0) {
      out << "journal " << e.seller_id << "/" << e.seq << ": a seller account went negative\n";
    }
  }
  Int128 sellers = 0;
  for (const auto& [seller, w] : tables.wallets()) {
    const Running& r = running[seller];
    if (w.available_yen != r.available || w.held_yen != r.held || w.qmoney_yen != r.qmoney ||
        w.pending_yen != r.pending || w.debt_yen != -r.receivable || w.last_seq != r.seq) {
      out << "wallet " << seller << ": stored balances are not the sum of its journal\n";
    }
    sellers += Int128{w.available_yen} + w.held_yen + w.qmoney_yen + w.pending_yen - w.debt_yen;
  }
  const std::pair<Account, Int128> expected[] = {
      {Account::kProviderClearing, model.provider()}, {Account::kPointsProgramme, model.points()},
      {Account::kSettlement, model.settlement()},     {Account::kAdRevenue, model.ad_revenue()},
      {Account::kForfeiture, model.forfeiture()},
  };
  Int128 platform_sum = 0;
  for (const auto& [account, value] : expected) {
    platform_sum += platform[account];
    if (platform[account] != value) {
      out << "platform account " << static_cast<int>(account) << ": journal says "
          << Money(platform[account]) << ", model " << Money(value) << "\n";
    }
  }
  if (platform.size() != 5) out << "the journal names an unknown account\n";
  // Conservation: nothing is created or lost; what the sellers hold is what they started
  // with, plus what came in (charges, conversions, settlement), minus what left (ad revenue,
  // forfeiture, claw-backs) and what they owe (the receivable).
  if (sellers + platform_sum != model.start_total()) {
    out << "money not conserved: sellers " << Money(sellers) << " + platform "
        << Money(platform_sum) << " != " << Money(model.start_total()) << "\n";
  }
  return out.str();
}

// Runs `seq` on both sides; stops at the first disagreement.
Failure RunSequence(const Sequence& seq, bool trace_all = false) {
  Failure f;
  Model model(seq.preloads);
  Tables tables(seq.preloads);
  std::map<int, int64_t> hold_ids;  // request id -> hold id the model gave it
  absl::Time now = kStart;
  std::ostringstream trace;
  for (size_t b = 0; b < seq.batches.size(); ++b) {
    const Batch& batch = seq.batches[b];
    now += absl::Seconds(batch.advance_s);
    trace << "batch " << b << " at +" << absl::ToInt64Seconds(now - kStart) << "s:\n";
    // The model first, one request at a time; it also resolves hold references.
    std::vector<int64_t> resolved;
    std::vector<Response> expected;
    for (const Request& q : batch.requests) {
      int64_t hold_id = q.hold_id;
      if (q.hold_ref >= 0) {
        auto it = hold_ids.find(q.hold_ref);
        if (it != hold_ids.end()) hold_id = it->second;
      }
      resolved.push_back(hold_id);
      expected.push_back(model.Apply(q, hold_id, now));
      if (q.type == OpType::kHold && expected.back().code == absl::StatusCode::kOk &&
          !expected.back().replayed) {
        hold_ids[q.id] = expected.back().hold_id;
      }
    }
    // The ledger: validation as Wallet::Submit does it, then the valid ops as one batch.
    std::vector<Op> ops(batch.requests.size());
    std::vector<std::optional<Response>> refused(batch.requests.size());
    std::vector<const Op*> valid;
    for (size_t i = 0; i < batch.requests.size(); ++i) {
      ops[i] = ToOp(batch.requests[i], resolved[i]);
      absl::Status s = ValidateOp(ops[i]);
      if (!s.ok()) {
        refused[i] = Error(s.code(), ReasonOf(s));
        continue;
      }
      if (ops[i].type != OpType::kExpire) ops[i].request_hash = RequestHash(ops[i]);
      valid.push_back(&ops[i]);
    }
    LedgerSnapshot snapshot = tables.LoadSnapshot(valid, now);
    LedgerWrites writes;
    std::vector<OpResult> results = ApplyOps(valid, snapshot, &writes);
    size_t next = 0;
    for (size_t i = 0; i < batch.requests.size(); ++i) {
      const Request& q = batch.requests[i];
      Response actual;
      if (refused[i]) {
        actual = *refused[i];
      } else {
        const OpResult& r = results.at(next++);
        actual = FromLedger(ops[i], r);
        if (actual.code == absl::StatusCode::kOk && r.balance.seller_id != q.seller) {
          f.message = absl::StrCat("#", q.id, ": the balance names seller ", r.balance.seller_id);
        }
      }
      const bool same = SameResponse(expected[i], actual, q.type);
      f.outcomes[absl::StrCat(OpTypeName(q.type), ":",
                              actual.code != absl::StatusCode::kOk ? actual.reason
                              : actual.replayed                    ? "REPLAYED"
                                                                   : "OK")] += 1;
      trace << "  " << Describe(q) << "\n      model:  " << Describe(expected[i], q.type) << "\n";
      if (!same || trace_all) trace << "      ledger: " << Describe(actual, q.type) << "\n";
      if (!same && f.message.empty()) {
        f.message =
            absl::StrCat("#", q.id, " ", OpTypeName(q.type), ": the ledger answered ",
                         Describe(actual, q.type), ", the model ", Describe(expected[i], q.type));
      }
    }
    if (f.message.empty()) {
      std::string refused_write = tables.Commit(writes);
      if (!refused_write.empty()) f.message = absl::StrCat("batch ", b, ": ", refused_write);
    }
    if (f.message.empty()) {
      std::string lots = tables.CheckLotsAndChain();
      if (!lots.empty()) f.message = absl::StrCat("after batch ", b, ": ", lots);
    }
    if (f.message.empty()) {
      std::string state = CompareState(model, tables, seq.preloads);
      if (!state.empty()) f.message = absl::StrCat("after batch ", b, ": ", state);
    }
    if (!f.message.empty()) break;
  }
  f.trace = trace.str();
  return f;
}

// ------------------------------------------------------------------------- generating

class Generator {
 public:
  Generator(uint64_t seed, int ops_max) : rng_(seed), ops_max_(ops_max) { seq_.seed = seed; }

  Sequence Make() {
    const int sellers = 1 + Below(3);
    for (int i = 0; i < sellers; ++i) sellers_.push_back(absl::StrCat("s", i));
    if (Below(6) == 0) {  // near the int64 limit: BALANCE_LIMIT_EXCEEDED becomes reachable
      Preload p;
      p.seller = "rich";
      p.available_yen = kMax - static_cast<int64_t>(Below(2) ? Below(6'000) : Below(2'000'001));
      p.qmoney_yen = kMax - static_cast<int64_t>(Below(5'000));
      p.pending_yen = static_cast<int64_t>(Below(2'000'000));
      seq_.preloads.push_back(p);
      sellers_.push_back(p.seller);
    }
    model_ = std::make_unique<Model>(seq_.preloads);
    for (const std::string& seller : sellers_) {
      if (seller != "rich" && Below(8) != 0) to_open_.push_back(seller);
    }
    const int ops = 1 + Below(ops_max_);
    while (next_id_ < ops) {
      Batch batch;
      const int roll = Below(10);
      batch.advance_s = roll < 4 ? 0 : roll < 8 ? 1 + Below(4) : roll < 9 ? Below(20) : 73 * 3600;
      now_ += absl::Seconds(batch.advance_s);
      const int size = std::min(ops - next_id_, Below(3) == 0 ? 1 : 1 + Below(8));
      for (int i = 0; i < size; ++i) {
        Request q = Next();
        q.id = next_id_++;
        // Keep the generator's model in step, to pick amounts near the edges.
        int64_t hold_id = q.hold_id;
        if (q.hold_ref >= 0 && hold_ids_.count(q.hold_ref)) hold_id = hold_ids_[q.hold_ref];
        Response r = model_->Apply(q, hold_id, now_);
        if (q.type == OpType::kHold && r.code == absl::StatusCode::kOk && !r.replayed) {
          hold_ids_[q.id] = r.hold_id;
          holds_.push_back({q.id, q.seller, q.amount_yen});
        }
        if (!q.key.empty()) keyed_.push_back(q);
        const bool charge =
            (q.type == OpType::kCredit && q.code == 1) || q.type == OpType::kChargeFromFunds;
        if (charge && r.code == absl::StatusCode::kOk) charged_.emplace_back(q.seller, q.reference);
        batch.requests.push_back(q);
      }
      seq_.batches.push_back(std::move(batch));
    }
    return seq_;
  }

 private:
  struct MadeHold {
    int id;
    std::string seller;
    int64_t amount_yen;
  };

  int Below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  const std::string& AnySeller() { return sellers_[Below(static_cast<int>(sellers_.size()))]; }

  int64_t Available(const std::string& seller, bool funds_qmoney = false, bool funds = false) {
    auto it = model_->wallets().find(seller);
    if (it == model_->wallets().end()) return 0;
    if (funds) return funds_qmoney ? it->second.qmoney_yen : it->second.pending_yen;
    return it->second.available_yen;
  }

  // An amount that is sometimes exactly what is there, one more, or anything.
  int64_t Around(int64_t there) {
    switch (Below(6)) {
      case 0:
        return there > 0 ? there : 1 + Below(3'000);
      case 1:
        return there == kMax ? there : there + 1;
      case 2:
        return there > 1 ? there - 1 : 1 + Below(3'000);
      default:
        return 1 + Below(3'000);
    }
  }

  std::string Key() {
    if (!used_keys_.empty() && Below(6) == 0) {
      return used_keys_[Below(static_cast<int>(used_keys_.size()))];
    }
    std::string key = absl::StrCat("k", next_id_);
    used_keys_.push_back(key);
    return key;
  }

  // Changes one field the request's RPC carries (proto/qcash/wallet/v1/wallet.proto).
  void ChangeContent(Request& q) {
    const bool has_amount = q.type == OpType::kCredit || q.type == OpType::kSpend ||
                            q.type == OpType::kHold || q.type == OpType::kCapture ||
                            q.type == OpType::kChargeFromFunds || q.type == OpType::kCreditFunds ||
                            q.type == OpType::kClawBack;
    const bool has_reference = has_amount && q.type != OpType::kCapture;
    switch (Below(6)) {
      case 0:
        if (has_amount) {
          q.amount_yen = q.type == OpType::kChargeFromFunds ? (q.amount_yen == 100 ? 500 : 100)
                                                            : q.amount_yen + 100;
          return;
        }
        break;
      case 1:
        if (has_reference || q.type == OpType::kClose) {
          q.reference += "x";
          return;
        }
        break;
      case 2:
        if (q.type == OpType::kSpend || q.type == OpType::kHold) {
          q.type = q.type == OpType::kSpend ? OpType::kHold : OpType::kSpend;
          q.ttl_s = 0;  // a spend has no TTL; a hold then takes the default
          return;
        }
        break;
      case 3:
        if (q.type == OpType::kCapture || q.type == OpType::kRelease) {
          q.hold_ref = -1;
          q.hold_id = 1 + Below(9);
          return;
        }
        break;
      case 4:
        if (q.type == OpType::kClawBack) {
          q.reversal += "x";  // another reversal of the same order under the same key
          return;
        }
        if (q.type == OpType::kHold) {
          q.ttl_s = q.ttl_s == 0 ? 72 * 3600 : 0;  // the same request: 0 means the default
          return;
        }
        break;
      default:
        break;
    }
    q.seller = AnySeller();
  }

  Request Next() {
    if (!to_open_.empty() && Below(2) == 0) {  // most wallets open early, some ops first
      Request q;
      q.type = OpType::kOpen;
      q.seller = to_open_.back();
      q.caller = "settlement";
      q.key = Key();
      to_open_.pop_back();
      return q;
    }
    const int roll = Below(1'000);
    // Replays of an earlier request: as it was, or with the same key and other content.
    if (!keyed_.empty() && roll < 120) {
      Request q = keyed_[Below(static_cast<int>(keyed_.size()))];
      if (roll < 30) {
        ChangeContent(q);  // the same key for a different request
      } else if (roll < 45) {
        q.key = Key();  // the same request again under a new key: a second, separate call
      }
      return q;
    }
    Request q;
    q.seller = AnySeller();
    q.key = Key();
    q.reference = absl::StrCat("ref-", next_id_ % 7);
    if (roll < 170) {
      q.type = OpType::kOpen;
      q.caller = Below(2) ? "settlement" : "gateway";
      q.reference.clear();
    } else if (roll < 370) {
      q.type = OpType::kCredit;
      if (Below(3) != 0) {
        q.caller = "payment";
        q.code = 1;
        static constexpr int64_t kVouchers[] = {100, 500, 1'000, 3'000, 5'000, 1'000'000};
        q.amount_yen = kVouchers[Below(6)];
      } else {
        q.caller = "points";
        q.code = 2;
        q.amount_yen = 100 * (1 + Below(50));
      }
      if (Below(25) == 0) q.amount_yen += 1 + Below(99);  // not a voucher, not whole hundreds
      if (Below(40) == 0) q.amount_yen = -q.amount_yen;
      if (Below(40) == 0) q.reference.clear();
    } else if (roll < 460) {
      q.type = OpType::kSpend;
      q.caller = "adbooking";
      q.code = static_cast<int16_t>(1 + Below(8));
      q.amount_yen = Around(Available(q.seller));
      if (Below(40) == 0) q.amount_yen = 0;
      if (Below(40) == 0) q.code = 9;
    } else if (roll < 610) {
      q.type = OpType::kHold;
      q.caller = "adbooking";
      q.code = static_cast<int16_t>(1 + Below(8));
      q.amount_yen = Around(Available(q.seller));
      const int ttl = Below(10);
      q.ttl_s = ttl < 3 ? 1 + Below(4) : ttl < 8 ? 0 : 30 * 24 * 3600;
      if (Below(40) == 0) q.ttl_s = -1;
      if (Below(40) == 0) q.ttl_s = 30 * 24 * 3600 + 1;
    } else if (roll < 840) {
      const int kind = Below(10);
      q.type = kind < 5 ? OpType::kCapture : kind < 8 ? OpType::kRelease : OpType::kExpire;
      q.caller = q.type == OpType::kExpire ? "wallet-sweeper" : "adbooking";
      if (q.type == OpType::kExpire) q.key.clear();
      q.reference.clear();
      int64_t held = 1 + Below(3'000);
      if (!holds_.empty() && Below(5) != 0) {
        const MadeHold& h = holds_[Below(static_cast<int>(holds_.size()))];
        q.hold_ref = h.id;
        q.hold_id = 1 + Below(9);
        if (Below(8) != 0) q.seller = h.seller;
        held = h.amount_yen;
      } else {
        q.hold_id = Below(30) == 0 ? 0 : 1 + Below(9);
      }
      if (q.type == OpType::kCapture) {
        q.amount_yen = Around(held);
        if (Below(40) == 0) q.amount_yen = 0;
      }
    } else if (roll < 910) {
      q.type = OpType::kChargeFromFunds;
      q.caller = "payment";
      q.code = static_cast<int16_t>(1 + Below(2));
      static constexpr int64_t kVouchers[] = {100, 500, 1'000, 3'000, 5'000};
      q.amount_yen = kVouchers[Below(5)];
      if (Below(30) == 0) q.amount_yen = 1'234;
    } else if (roll < 950) {
      // DESIGN.md section 9: a reversal of one of the seller's orders (the references charges
      // use), for about what is left of it, or an order never charged.
      q.type = OpType::kClawBack;
      q.caller = "payment";
      q.code = static_cast<int16_t>(1 + Below(3));
      q.reversal = absl::StrCat("rv-", next_id_);
      if (!charged_.empty() && Below(4) != 0) {  // mostly an order that was charged
        const auto& [seller, order] = charged_[Below(static_cast<int>(charged_.size()))];
        q.reference = order;
        if (Below(8) != 0) q.seller = seller;
      }
      q.amount_yen = Around(model_->ChargeLeft(q.seller, q.reference));
      if (Below(3) == 0) q.amount_yen = 1 + Below(500);
      if (Below(40) == 0) q.code = 0;
      if (Below(40) == 0) q.reversal.clear();
      if (Below(40) == 0) q.amount_yen = 0;
    } else if (roll < 985) {
      q.type = OpType::kCreditFunds;
      q.caller = "settlement";
      q.code = static_cast<int16_t>(1 + Below(2));
      q.amount_yen = 1 + Below(6'000);
      const int64_t funds = Available(q.seller, q.code == 1, true);
      if (Below(4) == 0 && funds > kMax - 10'000) q.amount_yen = kMax - funds + Below(3) - 1;
      if (q.amount_yen <= 0) q.amount_yen = 1;
      if (Below(40) == 0) q.amount_yen = 1'000'000'000'001;
    } else {
      q.type = OpType::kClose;
      q.caller = "settlement";
      q.reference = Below(2) ? "" : "shop exit";
    }
    return q;
  }

  std::mt19937_64 rng_;
  const int ops_max_;
  Sequence seq_;
  std::vector<std::string> sellers_;
  std::unique_ptr<Model> model_;
  absl::Time now_ = kStart;
  int next_id_ = 0;
  std::map<int, int64_t> hold_ids_;
  std::vector<std::pair<std::string, std::string>> charged_;  // (seller, order) charged
  std::vector<MadeHold> holds_;
  std::vector<Request> keyed_;
  std::vector<std::string> used_keys_;
  std::vector<std::string> to_open_;
};

// ------------------------------------------------------------------------ shrinking

// Delta debugging on the structure: drops whole batches, then single requests, then makes
// amounts and time steps smaller, as long as the sequence still fails. Bounded in runs.
Sequence Shrink(Sequence seq, int* runs) {
  auto fails = [&](const Sequence& s) {
    ++*runs;
    return !RunSequence(s).message.empty();
  };
  constexpr int kRunsMax = 20'000;
  bool progress = true;
  while (progress && *runs < kRunsMax) {
    progress = false;
    for (size_t b = 0; b < seq.batches.size() && *runs < kRunsMax;) {
      Sequence t = seq;
      t.batches.erase(t.batches.begin() + static_cast<std::ptrdiff_t>(b));
      if (fails(t)) {
        seq = std::move(t);
        progress = true;
      } else {
        ++b;
      }
    }
    for (size_t b = 0; b < seq.batches.size(); ++b) {
      for (size_t i = 0; i < seq.batches[b].requests.size() && *runs < kRunsMax;) {
        Sequence t = seq;
        auto& requests = t.batches[b].requests;
        requests.erase(requests.begin() + static_cast<std::ptrdiff_t>(i));
        if (requests.empty()) t.batches.erase(t.batches.begin() + static_cast<std::ptrdiff_t>(b));
        if (fails(t)) {
          const bool batch_gone = requests.empty();
          seq = std::move(t);
          progress = true;
          if (batch_gone) break;
        } else {
          ++i;
        }
      }
    }
    // Splitting a batch in two: does the failure need the ops to share a batch?
    for (size_t b = 0; b < seq.batches.size() && *runs < kRunsMax; ++b) {
      const auto& requests = seq.batches[b].requests;
      for (size_t cut = 1; cut < requests.size(); ++cut) {
        Sequence t = seq;
        Batch tail;
        tail.requests.assign(t.batches[b].requests.begin() + static_cast<std::ptrdiff_t>(cut),
                             t.batches[b].requests.end());
        t.batches[b].requests.resize(cut);
        t.batches.insert(t.batches.begin() + static_cast<std::ptrdiff_t>(b) + 1, tail);
        if (fails(t)) {
          seq = std::move(t);
          progress = true;
          break;
        }
      }
    }
    for (Batch& batch : seq.batches) {
      if (batch.advance_s != 0 && *runs < kRunsMax) {
        for (int64_t smaller : {int64_t{0}, batch.advance_s / 2}) {
          Sequence t = seq;
          const size_t b = static_cast<size_t>(&batch - seq.batches.data());
          t.batches[b].advance_s = smaller;
          if (smaller != batch.advance_s && fails(t)) {
            batch.advance_s = smaller;
            progress = true;
            break;
          }
        }
      }
      for (size_t i = 0; i < batch.requests.size() && *runs < kRunsMax; ++i) {
        const int64_t amount = batch.requests[i].amount_yen;
        const size_t b = static_cast<size_t>(&batch - seq.batches.data());
        for (int64_t smaller : {int64_t{100}, int64_t{1}, amount / 2}) {
          if (smaller >= amount || smaller <= 0) continue;
          Sequence t = seq;
          t.batches[b].requests[i].amount_yen = smaller;
          if (fails(t)) {
            batch.requests[i].amount_yen = smaller;
            progress = true;
            break;
          }
        }
      }
    }
  }
  return seq;
}

// --------------------------------------------------------------------------- the test

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoll(value, nullptr, 10);
}

constexpr uint64_t kFirstSeed = 20'261'130;

TEST(LedgerModelTest, ApplyOpsAgreesWithTheReferenceModel) {
  const int ops_max =
      static_cast<int>(std::clamp<int64_t>(EnvInt("QCASH_MODEL_OPS", 60), 1, 10'000));
  std::vector<uint64_t> seeds;
  const bool one = std::getenv("QCASH_MODEL_SEED") != nullptr;
  if (one) {
    seeds.push_back(static_cast<uint64_t>(EnvInt("QCASH_MODEL_SEED", 0)));
  } else {
    const int64_t n = std::clamp<int64_t>(EnvInt("QCASH_MODEL_SEEDS", 2'000), 1, 100'000'000);
    for (int64_t i = 0; i < n; ++i) seeds.push_back(kFirstSeed + static_cast<uint64_t>(i));
  }
  int64_t ops = 0, batches = 0;
  std::map<std::string, int64_t> outcomes;
  for (uint64_t seed : seeds) {
    Sequence seq = Generator(seed, ops_max).Make();
    for (const Batch& b : seq.batches) ops += static_cast<int64_t>(b.requests.size());
    batches += static_cast<int64_t>(seq.batches.size());
    Failure f = RunSequence(seq, one);
    for (const auto& [outcome, count] : f.outcomes) outcomes[outcome] += count;
    if (one) std::cout << "seed " << seed << ":\n" << f.trace;
    if (f.message.empty()) continue;
    int runs = 0;
    Sequence small = Shrink(seq, &runs);
    Failure g = RunSequence(small, /*trace_all=*/true);
    int small_ops = 0;
    for (const Batch& b : small.batches) small_ops += static_cast<int>(b.requests.size());
    std::string preloads;
    for (const Preload& p : small.preloads) {
      absl::StrAppend(&preloads, "preloaded wallet ", p.seller, ": avail=", p.available_yen,
                      " qmoney=", p.qmoney_yen, " pending=", p.pending_yen, "\n");
    }
    FAIL() << "seed " << seed << " fails: " << f.message << "\nshrunk in " << runs << " runs to "
           << small.batches.size() << " batches, " << small_ops
           << " ops, failing with: " << g.message << "\n"
           << preloads << g.trace << "replay: QCASH_MODEL_SEED=" << seed
           << " QCASH_MODEL_OPS=" << ops_max << " wallet_model_test";
  }
  std::cout << "model: " << seeds.size() << " sequences, " << batches << " batches, " << ops
            << " ops agreed; outcomes:";
  for (const auto& [outcome, count] : outcomes) std::cout << " " << outcome << "=" << count;
  std::cout << "\n";
}

}  // namespace
}  // namespace qcash::wallet
