#include "services/points/wallet_credit.h"

namespace qcash::points {

absl::StatusOr<WalletCredit::Receipt> WalletCreditClient::CreditConversion(
    const std::string& seller_id, const std::string& idempotency_key, int64_t amount_yen,
    const std::string& reference, const std::string& points_month) {
  wallet::v1::CreditRequest request;
  request.set_seller_id(seller_id);
  request.set_idempotency_key(idempotency_key);
  request.set_amount_yen(amount_yen);
  request.set_source(wallet::v1::CREDIT_SOURCE_POINTS_CONVERSION);
  request.set_reference(reference);
  request.set_points_month(points_month);
  auto response = client_->Credit(request);
  if (!response.ok()) return response.status();
  Receipt receipt;
  receipt.entry_seq = response->result().entry_seq();
  receipt.replayed = response->result().replayed();
  return receipt;
}

}  // namespace qcash::points
