// WalletPort over the wallet's client library (gRPC, caller identity `payment`): the client
// retries UNAVAILABLE and ABORTED with the same request, so the same idempotency key.
#ifndef QCASH_SERVICES_PAYMENT_WALLET_ADAPTER_H_
#define QCASH_SERVICES_PAYMENT_WALLET_ADAPTER_H_

#include <memory>
#include <string>

#include "services/payment/wallet_port.h"
#include "services/wallet/client/wallet_client.h"

namespace qcash::payment {

class WalletAdapter final : public WalletPort {
 public:
  explicit WalletAdapter(std::unique_ptr<wallet::WalletClient> client)
      : client_(std::move(client)) {}

  absl::StatusOr<WalletBalance> GetBalance(const std::string& seller_id) override;
  absl::StatusOr<int64_t> CreditCharge(const std::string& seller_id, const std::string& order_id,
                                       int64_t amount_yen, Method method,
                                       int64_t price_paid_yen) override;
  absl::StatusOr<int64_t> ChargeFromInternalFunds(const std::string& seller_id,
                                                  const std::string& order_id, int64_t amount_yen,
                                                  FundsSource source) override;
  absl::StatusOr<ClawBackResult> ClawBack(const std::string& seller_id,
                                          const std::string& idempotency_key,
                                          const std::string& order_id,
                                          const std::string& reversal_id, ReversalKind kind,
                                          int64_t amount_yen) override;

 private:
  const std::unique_ptr<wallet::WalletClient> client_;  // thread-safe
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_WALLET_ADAPTER_H_
