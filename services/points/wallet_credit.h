// The points service's side of the wallet: WalletCredit over the wallet's client library
// (services/wallet/client), which retries UNAVAILABLE / ABORTED / DEADLINE_EXCEEDED with the
// same request, so the same idempotency key, a bounded number of times.
#ifndef QCASH_SERVICES_POINTS_WALLET_CREDIT_H_
#define QCASH_SERVICES_POINTS_WALLET_CREDIT_H_

#include <memory>
#include <string>

#include "services/points/points.h"
#include "services/wallet/client/wallet_client.h"

namespace qcash::points {

class WalletCreditClient final : public WalletCredit {
 public:
  // `client` calls the wallet as `points`, the only caller the wallet lets credit a
  // conversion.
  explicit WalletCreditClient(std::unique_ptr<wallet::WalletClient> client)
      : client_(std::move(client)) {}

  // Credit(source POINTS_CONVERSION). Errors: the wallet's final status (ReasonOf works).
  absl::StatusOr<Receipt> CreditConversion(const std::string& seller_id,
                                           const std::string& idempotency_key, int64_t amount_yen,
                                           const std::string& reference,
                                           const std::string& points_month) override;

 private:
  const std::unique_ptr<wallet::WalletClient> client_;
};

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_WALLET_CREDIT_H_
