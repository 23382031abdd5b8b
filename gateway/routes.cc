#include "gateway/routes.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "qcash/payment/v1/payment.pb.h"
#include "qcash/points/v1/points.pb.h"
#include "qcash/wallet/v1/wallet.pb.h"

namespace qcash::gateway {

namespace payment = ::qcash::payment::v1;
namespace points = ::qcash::points::v1;
namespace wallet = ::qcash::wallet::v1;

const std::vector<Route>& Routes() {
  static const auto* const kRoutes = new std::vector<Route>{
      // Qcash (W1, W6).
      {"GET", "/api/v1/balance", Upstream::kWallet, "/qcash.wallet.v1.WalletService/GetBalance",
       wallet::GetBalanceRequest::descriptor(), wallet::GetBalanceResponse::descriptor(),
       "The seller's Qcash: available, held, total, Qmoney and pending settlement (W1), and the "
       "debt (未回収額) a reversed payment left, which the next credits pay back first.",
       "Qcash"},
      {"GET", "/api/v1/history", Upstream::kWallet, "/qcash.wallet.v1.WalletService/ListHistory",
       wallet::ListHistoryRequest::descriptor(), wallet::ListHistoryResponse::descriptor(),
       "Every movement, newest first, with the balance after it (W6, 詳細); filter by types and "
       "time range, page with page_token.",
       "Qcash"},
      {"GET", "/api/v1/history/lots", Upstream::kWallet,
       "/qcash.wallet.v1.WalletService/GetEntryLots", wallet::GetEntryLotsRequest::descriptor(),
       wallet::GetEntryLotsResponse::descriptor(),
       "Which lots one movement (entry_seq) created, consumed, reserved or returned, with where "
       "each lot's Qcash came from: a voucher and its payment method, a points conversion, "
       "Qmoney.",
       "Qcash"},
      {"GET", "/api/v1/statements/{month}", Upstream::kWallet,
       "/qcash.wallet.v1.WalletService/GetMonthlyStatement",
       wallet::GetMonthlyStatementRequest::descriptor(),
       wallet::GetMonthlyStatementResponse::descriptor(),
       "The monthly statement of ad usage (month YYYY-MM, JST): every ad spend and capture by "
       "product and booking reference, with the month's totals, the points-conversion "
       "discount, the amount subject to 10 % consumption tax and the tax (docs/INVOICES.md). "
       "The same as PDF and CSV: /documents/statements/{month}.pdf and .csv.",
       "Qcash"},
      {"GET", "/api/v1/activity", Upstream::kWallet,
       "/qcash.wallet.v1.WalletService/GetMonthlyActivity",
       wallet::GetMonthlyActivityRequest::descriptor(),
       wallet::GetMonthlyActivityResponse::descriptor(),
       "Per month (JST), charged, converted from points, spent per ad product, forfeited, "
       "taken back by payment reversals and paid to a debt: the last 12 months and the current "
       "one so far.",
       "Qcash"},

      // Charging (W2, P1-P7).
      {"GET", "/api/v1/charge/options", Upstream::kPayment,
       "/qcash.payment.v1.PaymentService/ListChargeOptions",
       payment::ListChargeOptionsRequest::descriptor(),
       payment::ListChargeOptionsResponse::descriptor(),
       "The twelve charge vouchers and the eleven payment methods, each with whether it is "
       "available to the seller now (P4; pay-later methods are not while the seller has a debt "
       "from a reversed payment), and that debt.",
       "Charge"},
      {"POST", "/api/v1/charge/orders", Upstream::kPayment,
       "/qcash.payment.v1.PaymentService/CreateChargeOrder",
       payment::CreateChargeOrderRequest::descriptor(),
       payment::CreateChargeOrderResponse::descriptor(),
       "Buys a charge voucher: the order and its next action (none, a redirect to the "
       "provider, or instructions for paying at a counter by a deadline).",
       "Charge"},
      {"GET", "/api/v1/charge/orders", Upstream::kPayment,
       "/qcash.payment.v1.PaymentService/ListChargeOrders",
       payment::ListChargeOrdersRequest::descriptor(),
       payment::ListChargeOrdersResponse::descriptor(),
       "The charge voucher purchase history (チャージ券の購入履歴, P6), newest first.", "Charge"},
      {"GET", "/api/v1/charge/orders/{order_id}", Upstream::kPayment,
       "/qcash.payment.v1.PaymentService/GetChargeOrder",
       payment::GetChargeOrderRequest::descriptor(), payment::GetChargeOrderResponse::descriptor(),
       "One charge order with its next action, every state transition and what the provider "
       "took back (reversals: chargeback, pay-later default, refund).",
       "Charge"},
      {"POST", "/api/v1/charge/orders/{order_id}/complete", Upstream::kPayment,
       "/qcash.payment.v1.PaymentService/CompleteRedirect",
       payment::CompleteRedirectRequest::descriptor(),
       payment::CompleteRedirectResponse::descriptor(),
       "The seller is back from the provider's page: the payment service asks the provider for "
       "the outcome (it never trusts the browser).",
       "Charge"},
      {"POST", "/api/v1/charge/orders/{order_id}/cancel", Upstream::kPayment,
       "/qcash.payment.v1.PaymentService/CancelChargeOrder",
       payment::CancelChargeOrderRequest::descriptor(),
       payment::CancelChargeOrderResponse::descriptor(),
       "Cancels an unpaid order; after payment there is no cancellation (P5).", "Charge"},
      {"PUT", "/api/v1/qsign-password", Upstream::kPayment,
       "/qcash.payment.v1.PaymentService/SetQsignPassword",
       payment::SetQsignPasswordRequest::descriptor(),
       payment::SetQsignPasswordResponse::descriptor(),
       "Sets or changes the Q-sign password (Qサインパスワード, P3); changing needs the current "
       "one.",
       "Charge"},

      // Service points (S1-S5).
      {"GET", "/api/v1/points/summary", Upstream::kPoints,
       "/qcash.points.v1.PointsService/GetMonthSummary",
       points::GetMonthSummaryRequest::descriptor(), points::GetMonthSummaryResponse::descriptor(),
       "A month's service points, total and per component, and the points convertible this "
       "month (本月可以转换的积分, S3).",
       "Points"},
      {"POST", "/api/v1/points/conversions", Upstream::kPoints,
       "/qcash.points.v1.PointsService/ConvertPoints", points::ConvertPointsRequest::descriptor(),
       points::ConvertPointsResponse::descriptor(),
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
       "One product's shipping points, general and reservation sales listed apart (S4).", "Points"},
      {"GET", "/api/v1/points/past", Upstream::kPoints,
       "/qcash.points.v1.PointsService/ListPastServicePoints",
       points::ListPastServicePointsRequest::descriptor(),
       points::ListProductPointsResponse::descriptor(),
       "Past service points (过去的服务积分): points per product before 2019-07-01 (S5).",
       "Points"},
  };
  return *kRoutes;
}

bool MatchPath(absl::string_view pattern, absl::string_view path,
               std::vector<std::string>* params) {
  std::vector<std::string> found;
  size_t at = 0;    // in `path`
  size_t from = 0;  // in `pattern`
  while (true) {
    const size_t pattern_end = std::min(pattern.find('/', from), pattern.size());
    const size_t path_end = std::min(path.find('/', at), path.size());
    const absl::string_view want = pattern.substr(from, pattern_end - from);
    const absl::string_view have = path.substr(at, path_end - at);
    if (absl::StartsWith(want, "{") && absl::EndsWith(want, "}")) {
      if (have.empty()) return false;
      found.emplace_back(have);
    } else if (want != have) {
      return false;
    }
    const bool pattern_done = pattern_end == pattern.size();
    const bool path_done = path_end == path.size();
    if (pattern_done || path_done) {
      if (pattern_done != path_done) return false;
      break;
    }
    from = pattern_end + 1;
    at = path_end + 1;
  }
  if (params != nullptr) *params = std::move(found);
  return true;
}

const Route* FindRoute(absl::string_view method, absl::string_view path,
                       std::vector<std::string>* params) {
  for (const Route& route : Routes()) {
    if (route.http_method == method && MatchPath(route.path, path, params)) return &route;
  }
  return nullptr;
}

const std::vector<std::string>& WebhookProviders() {
  static const auto* const kProviders = new std::vector<std::string>{
      "atone", "card", "paypal", "bank_transfer", "konbini", "paidy", "linepay", "au", "paygent"};
  return *kProviders;
}

bool IsWebhookProvider(const std::string& name) {
  for (const std::string& provider : WebhookProviders()) {
    if (provider == name) return true;
  }
  return false;
}

}  // namespace qcash::gateway
