// The wallet's client library: what another service (payment, points, the ad-booking service)
// links to use the wallet. It wraps the generated stub with what every caller needs and would
// otherwise get wrong:
//   - a deadline on every attempt;
//   - retries of UNAVAILABLE and ABORTED (and DEADLINE_EXCEEDED, since every mutation carries
//     an idempotency key) with the same request, so the same key, after an exponential backoff
//     with jitter, a bounded number of times: a retried mutation applies at most once;
//   - typed errors: ErrorKindOf(status) says which rule refused the call.
//
// Linking it from CMake:  target_link_libraries(my_service PRIVATE qcash_wallet_client)
//
//   auto wallet = qcash::wallet::WalletClient::Create(
//       {.target = "wallet:50051", .transport = *qcash::TransportConfigFromEnv(),
//        .caller = "adbooking"});
//   qcash::wallet::v1::HoldRequest hold;  ...
//   auto held = (*wallet)->Hold(hold);
//   if (!held.ok() && ErrorKindOf(held.status()) == WalletErrorKind::kInsufficientFunds) ...
#ifndef QCASH_SERVICES_WALLET_CLIENT_WALLET_CLIENT_H_
#define QCASH_SERVICES_WALLET_CLIENT_WALLET_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/grpc_client.h"
#include "common/server.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/client/refusal.h"

namespace qcash::wallet {

class WalletClient {
 public:
  struct Options {
    std::string target;         // host:port of the wallet
    TransportConfig transport;  // mTLS files, or plaintext development (Create's channel)
    std::string caller;         // this service's identity (Create's channel sends it only in
                                // plaintext development, common/grpc_client.h MakeChannel)
    RetryPolicy retry;
  };

  // Errors: INVALID_ARGUMENT when the TLS files cannot be read.
  static absl::StatusOr<std::unique_ptr<WalletClient>> Create(Options options);
  WalletClient(std::shared_ptr<grpc::Channel> channel, Options options);

  // Each call returns the response, or the final status after retries (see ErrorKindOf).
  absl::StatusOr<v1::OpenWalletResponse> OpenWallet(const v1::OpenWalletRequest& request);
  absl::StatusOr<v1::GetBalanceResponse> GetBalance(const v1::GetBalanceRequest& request);
  // Up to 1,000 sellers' balances in one call, each with its own status in the order asked
  // (WALLET_NOT_FOUND, INVALID_SELLER_ID for that seller alone): not for the gateway.
  absl::StatusOr<v1::GetBalancesResponse> GetBalances(const v1::GetBalancesRequest& request);
  absl::StatusOr<v1::CreditResponse> Credit(const v1::CreditRequest& request);
  absl::StatusOr<v1::SpendResponse> Spend(const v1::SpendRequest& request);
  absl::StatusOr<v1::HoldResponse> Hold(const v1::HoldRequest& request);
  absl::StatusOr<v1::CaptureHoldResponse> CaptureHold(const v1::CaptureHoldRequest& request);
  absl::StatusOr<v1::ReleaseHoldResponse> ReleaseHold(const v1::ReleaseHoldRequest& request);
  absl::StatusOr<v1::GetHoldResponse> GetHold(const v1::GetHoldRequest& request);
  // The seller's holds, newest first, by state, product and booking reference: so that the
  // caller need not remember which are still open. Pass next_page_token back with the same
  // filters.
  absl::StatusOr<v1::ListHoldsResponse> ListHolds(const v1::ListHoldsRequest& request);
  absl::StatusOr<v1::ChargeFromInternalFundsResponse> ChargeFromInternalFunds(
      const v1::ChargeFromInternalFundsRequest& request);
  absl::StatusOr<v1::CreditInternalFundsResponse> CreditInternalFunds(
      const v1::CreditInternalFundsRequest& request);
  absl::StatusOr<v1::CloseWalletResponse> CloseWallet(const v1::CloseWalletRequest& request);
  // Payment only, once per provider reversal: key "reversal:<provider>:<reversal_id>". The
  // answer says what left available (clawed_back_yen) and what became the seller's debt.
  absl::StatusOr<v1::ClawBackResponse> ClawBack(const v1::ClawBackRequest& request);
  absl::StatusOr<v1::ListHistoryResponse> ListHistory(const v1::ListHistoryRequest& request);
  // Provenance (DESIGN.md section 8): which lots an entry (a spend, a capture, ...) took, with
  // where each came from; and the seller's lots, newest first.
  absl::StatusOr<v1::GetEntryLotsResponse> GetEntryLots(const v1::GetEntryLotsRequest& request);
  absl::StatusOr<v1::ListLotsResponse> ListLots(const v1::ListLotsRequest& request);

  // The ad-booking service's operations in batches of up to 1,000 (spends, holds, captures,
  // releases; one seller or many), each with its own idempotency key. The response has one
  // result per operation, in order; BatchResultStatus(result) says whether it was applied and,
  // if not, why (ErrorKindOf works on it). A whole call that fails retryably is retried as
  // Invoke does, with the same keys; after it answers, the operations whose own result is
  // retryable (IDEMPOTENCY_KEY_IN_FLIGHT, OVERLOADED, COMMIT_OUTCOME_UNKNOWN, ...) are sent
  // again, alone, with the same keys, within the same bounded attempts: what was applied is
  // answered as a replay and applied once. The final status is that of the call when it never
  // answered.
  absl::StatusOr<v1::ExecuteBatchResponse> ExecuteBatch(const v1::ExecuteBatchRequest& request);

 private:
  template <typename Request, typename Response>
  absl::StatusOr<Response> Invoke(grpc::Status (v1::WalletService::Stub::*method)(
                                      grpc::ClientContext*, const Request&, Response*),
                                  const Request& request);

  const Options options_;
  std::unique_ptr<v1::WalletService::Stub> stub_;
};

// The outcome of one operation of ExecuteBatch: OK when it was applied (or replayed), else its
// error with the reason restored, as a call's status would be.
absl::Status BatchResultStatus(const v1::BatchResult& result);

// The charge link a paid-ad application page puts behind its Qcash charge button (issue 15,
// seed 000 ワンポイントアドバイス): Qcash's charge page, told what the application needs and
// where to send the seller back after the payment:
//
//   <qcash_base_url>/charge?need=<needed_yen>&return=<return_url, percent-encoded>
//
// e.g. ChargeLink("https://qcash.example.jp", 1200, "https://ads.example.jp/apply?id=7") ->
//   https://qcash.example.jp/charge?need=1200&return=https%3A%2F%2Fads.example.jp%2Fapply%3Fid%3D7
//
// The return URL's origin (scheme://host[:port]) MUST be one of the origins Qcash's operators
// allow in QCASH_PAYMENT_RETURN_ORIGINS of the payment service: Qcash is never an open
// redirect, and refuses any other return URL (RETURN_URL_NOT_ALLOWED; an absolute https URL
// without user information or fragment, at most 2,048 characters, or INVALID_RETURN_URL).
// A trailing "/" of `qcash_base_url` is dropped; `needed_yen` below 0 is sent as 0; an empty
// `return_url` leaves `return` out. No network: the link is only text.
std::string ChargeLink(absl::string_view qcash_base_url, int64_t needed_yen,
                       absl::string_view return_url);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_CLIENT_WALLET_CLIENT_H_
