#include "gateway/routes.h"

#include "qcash/points/v1/points.pb.h"
#include "qcash/wallet/v1/wallet.pb.h"

namespace qcash::gateway {

namespace points = ::qcash::points::v1;
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

      // Service points (S1-S5).
      {"GET", "/api/v1/points/summary", Upstream::kPoints,
       "/qcash.points.v1.PointsService/GetMonthSummary",
       points::GetMonthSummaryRequest::descriptor(), points::GetMonthSummaryResponse::descriptor(),
       "A month's service points, total and per component, and the points convertible this "
       "month (本月可以转换的积分, S3).",
       "Points"},
      {"POST", "/api/v1/points/conversions", Upstream::kPoints,
       "/qcash.points.v1.PointsService/ConvertPoints",
       points::ConvertPointsRequest::descriptor(), points::ConvertPointsResponse::descriptor(),
       "Converts last month's points into Qcash, whole hundreds only, once (S3).", "Points"},
      {"GET", "/api/v1/points/products", Upstream::kPoints,
       "/qcash.points.v1.PointsService/ListProductPoints",
       points::ListProductPointsRequest::descriptor(),
       points::ListProductPointsResponse::descriptor(),
       "Points per product from 2019-07-01, filtered by category, product number or name, "
       "with the shipping points of general and reservation sales (S4).",
       "Points"},
      {"GET", "/api/v1/points/products/{product_no}/shipping", Upstream::kPoints,
       "/qcash.points.v1.PointsService/GetProductShippingDetail",
       points::GetProductShippingDetailRequest::descriptor(),
       points::GetProductShippingDetailResponse::descriptor(),
       "One product's shipping points, general and reservation sales listed apart (S4).",
       "Points"},
      {"GET", "/api/v1/points/past", Upstream::kPoints,
       "/qcash.points.v1.PointsService/ListPastServicePoints",
       points::ListPastServicePointsRequest::descriptor(),
       points::ListProductPointsResponse::descriptor(),
       "Past service points (过去的服务积分): points per product before 2019-07-01 (S5).",
       "Points"},
  };
  return *kRoutes;
}

}  // namespace qcash::gateway
