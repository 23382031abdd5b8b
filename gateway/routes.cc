#include "gateway/routes.h"

#include "qcash/wallet/v1/wallet.pb.h"

namespace qcash::gateway {

namespace wallet = ::qcash::wallet::v1;

const std::vector<Route>& Routes() {
  static const auto* const kRoutes = new std::vector<Route>{
      // Qcash (W1, W6).
      {"GET", "/api/v1/balance", Upstream::kWallet, "/qcash.wallet.v1.WalletService/GetBalance",
       wallet::GetBalanceRequest::descriptor(), wallet::GetBalanceResponse::descriptor(),
       "The seller's Qcash: available, held, total, Qmoney and pending settlement (W1).",
       "Qcash"},
      {"GET", "/api/v1/history", Upstream::kWallet, "/qcash.wallet.v1.WalletService/ListHistory",
       wallet::ListHistoryRequest::descriptor(), wallet::ListHistoryResponse::descriptor(),
       "Every movement, newest first, with the balance after it (W6, 詳細); filter by types and "
       "time range, page with page_token.",
       "Qcash"},
  };
  return *kRoutes;
}

}  // namespace qcash::gateway
