// What the payment domain needs from the wallet, without gRPC: the domain library stays free
// of transport code (STYLE.md), and wallet_adapter.cc implements this over the wallet's client
// library (services/wallet/client) in the server library.
//
// Errors keep the wallet's codes and ErrorInfo reasons (WALLET_NOT_FOUND, WALLET_CLOSED,
// INSUFFICIENT_FUNDS, ...), so the domain can tell a refusal for good (wallet::IsDefiniteRefusal)
// from a failure to retry (UNAVAILABLE after the client's own retries).
#ifndef QCASH_SERVICES_PAYMENT_WALLET_PORT_H_
#define QCASH_SERVICES_PAYMENT_WALLET_PORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "services/payment/catalog.h"
#include "services/payment/order.h"

namespace qcash::payment {

struct WalletBalance {
  int64_t available_yen = 0;
  int64_t qmoney_yen = 0;
  int64_t pending_settlement_yen = 0;
  bool closed = false;  // W5
  // 未回収額: what payment reversals took back after the seller had spent it (issue 16); the
  // pay-later methods are not offered while it is above 0 (DESIGN.md section 9).
  int64_t debt_yen = 0;
};

// The wallet's answer to a claw-back (issue 16).
struct ClawBackResult {
  int64_t clawed_back_yen = 0;  // taken from available
  int64_t debt_yen = 0;         // the rest: added to the seller's debt
  int64_t entry_seq = 0;        // the first journal entry written
};

enum class FundsSource { kQmoney, kPendingSettlement };

class WalletPort {
 public:
  virtual ~WalletPort() = default;

  // The seller's balances (may come from the wallet's cache).
  virtual absl::StatusOr<WalletBalance> GetBalance(const std::string& seller_id) = 0;

  // Credits a paid charge voucher: source CHARGE, amount = the denomination, reference and
  // idempotency key = the order id, so that any number of calls credit once (P5). `method` and
  // `price_paid_yen` are what the lot of the credit records about where the Qcash came from
  // (the wallet's provenance, DESIGN.md section 8). Returns the journal sequence number of the
  // credit entry.
  virtual absl::StatusOr<int64_t> CreditCharge(const std::string& seller_id,
                                               const std::string& order_id, int64_t amount_yen,
                                               Method method, int64_t price_paid_yen) = 0;

  // Moves `amount_yen` of Qmoney or pending settlement into Qcash in one ledger transaction
  // (P1, P4), idempotency key = the order id. Returns the journal sequence number.
  virtual absl::StatusOr<int64_t> ChargeFromInternalFunds(const std::string& seller_id,
                                                          const std::string& order_id,
                                                          int64_t amount_yen,
                                                          FundsSource source) = 0;

  // Takes back the Qcash of a reversed payment (DESIGN.md section 9): from available first,
  // the rest becomes the seller's debt. Idempotency key "reversal:<provider>:<reversal_id>"
  // (ReversalKey), so one reversal is applied once however often it is asked. Errors: the
  // wallet's refusals (CHARGE_NOT_FOUND, CLAWBACK_EXCEEDS_CHARGE, WALLET_NOT_FOUND, ...) as
  // definite refusals; WALLET_UNAVAILABLE when it could not be asked (retry).
  virtual absl::StatusOr<ClawBackResult> ClawBack(const std::string& seller_id,
                                                  const std::string& idempotency_key,
                                                  const std::string& order_id,
                                                  const std::string& reversal_id, ReversalKind kind,
                                                  int64_t amount_yen) = 0;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_WALLET_PORT_H_
