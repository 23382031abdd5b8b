#include "services/wallet/client/wallet_client.h"

#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace qcash::wallet {
namespace {

// RFC 3986 percent-encoding of a query value: only unreserved characters stay as they are.
std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  return out;
}

}  // namespace

std::string ChargeLink(absl::string_view qcash_base_url, int64_t needed_yen,
                       absl::string_view return_url) {
  absl::ConsumeSuffix(&qcash_base_url, "/");
  std::string link =
      absl::StrCat(qcash_base_url, "/charge?need=", needed_yen < 0 ? int64_t{0} : needed_yen);
  if (!return_url.empty()) absl::StrAppend(&link, "&return=", PercentEncode(return_url));
  return link;
}

absl::StatusOr<std::unique_ptr<WalletClient>> WalletClient::Create(Options options) {
  auto channel = MakeChannel(options.target, options.transport, options.caller);
  if (!channel.ok()) return channel.status();
  return std::make_unique<WalletClient>(std::move(*channel), std::move(options));
}

WalletClient::WalletClient(std::shared_ptr<grpc::Channel> channel, Options options)
    : options_(std::move(options)), stub_(v1::WalletService::NewStub(std::move(channel))) {}

template <typename Request, typename Response>
absl::StatusOr<Response> WalletClient::Invoke(grpc::Status (v1::WalletService::Stub::*method)(
                                                  grpc::ClientContext*, const Request&, Response*),
                                              const Request& request) {
  absl::Status last;
  for (int attempt = 0; attempt < options_.retry.attempts_max; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(Backoff(options_.retry, attempt));
    grpc::ClientContext context;
    PrepareContext(&context, options_.retry);
    Response response;
    const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (status.ok()) return response;
    last = FromGrpcStatus(status);
    // Reads have no key but change nothing, so they are as safe to repeat as keyed mutations.
    if (!IsRetryable(last, /*idempotent=*/true)) return last;
  }
  return last;
}

absl::StatusOr<v1::OpenWalletResponse> WalletClient::OpenWallet(
    const v1::OpenWalletRequest& request) {
  return Invoke(&v1::WalletService::Stub::OpenWallet, request);
}
absl::StatusOr<v1::GetBalanceResponse> WalletClient::GetBalance(
    const v1::GetBalanceRequest& request) {
  return Invoke(&v1::WalletService::Stub::GetBalance, request);
}
absl::StatusOr<v1::GetBalancesResponse> WalletClient::GetBalances(
    const v1::GetBalancesRequest& request) {
  return Invoke(&v1::WalletService::Stub::GetBalances, request);
}
absl::StatusOr<v1::CreditResponse> WalletClient::Credit(const v1::CreditRequest& request) {
  return Invoke(&v1::WalletService::Stub::Credit, request);
}
absl::StatusOr<v1::SpendResponse> WalletClient::Spend(const v1::SpendRequest& request) {
  return Invoke(&v1::WalletService::Stub::Spend, request);
}
absl::StatusOr<v1::HoldResponse> WalletClient::Hold(const v1::HoldRequest& request) {
  return Invoke(&v1::WalletService::Stub::Hold, request);
}
absl::StatusOr<v1::CaptureHoldResponse> WalletClient::CaptureHold(
    const v1::CaptureHoldRequest& request) {
  return Invoke(&v1::WalletService::Stub::CaptureHold, request);
}
absl::StatusOr<v1::ReleaseHoldResponse> WalletClient::ReleaseHold(
    const v1::ReleaseHoldRequest& request) {
  return Invoke(&v1::WalletService::Stub::ReleaseHold, request);
}
absl::StatusOr<v1::GetHoldResponse> WalletClient::GetHold(const v1::GetHoldRequest& request) {
  return Invoke(&v1::WalletService::Stub::GetHold, request);
}
absl::StatusOr<v1::ListHoldsResponse> WalletClient::ListHolds(const v1::ListHoldsRequest& request) {
  return Invoke(&v1::WalletService::Stub::ListHolds, request);
}
absl::StatusOr<v1::ChargeFromInternalFundsResponse> WalletClient::ChargeFromInternalFunds(
    const v1::ChargeFromInternalFundsRequest& request) {
  return Invoke(&v1::WalletService::Stub::ChargeFromInternalFunds, request);
}
absl::StatusOr<v1::CreditInternalFundsResponse> WalletClient::CreditInternalFunds(
    const v1::CreditInternalFundsRequest& request) {
  return Invoke(&v1::WalletService::Stub::CreditInternalFunds, request);
}
absl::StatusOr<v1::CloseWalletResponse> WalletClient::CloseWallet(
    const v1::CloseWalletRequest& request) {
  return Invoke(&v1::WalletService::Stub::CloseWallet, request);
}
absl::StatusOr<v1::ClawBackResponse> WalletClient::ClawBack(const v1::ClawBackRequest& request) {
  return Invoke(&v1::WalletService::Stub::ClawBack, request);
}
absl::StatusOr<v1::ListHistoryResponse> WalletClient::ListHistory(
    const v1::ListHistoryRequest& request) {
  return Invoke(&v1::WalletService::Stub::ListHistory, request);
}
absl::StatusOr<v1::GetEntryLotsResponse> WalletClient::GetEntryLots(
    const v1::GetEntryLotsRequest& request) {
  return Invoke(&v1::WalletService::Stub::GetEntryLots, request);
}
absl::StatusOr<v1::ListLotsResponse> WalletClient::ListLots(const v1::ListLotsRequest& request) {
  return Invoke(&v1::WalletService::Stub::ListLots, request);
}

absl::Status BatchResultStatus(const v1::BatchResult& result) {
  return FromRpcStatus(result.status());
}

absl::StatusOr<v1::ExecuteBatchResponse> WalletClient::ExecuteBatch(
    const v1::ExecuteBatchRequest& request) {
  auto answered = Invoke(&v1::WalletService::Stub::ExecuteBatch, request);
  if (!answered.ok()) return answered;
  v1::ExecuteBatchResponse response = std::move(*answered);
  if (response.results_size() != request.operations_size()) {
    return absl::InternalError("the wallet answered a batch with a different number of results");
  }
  // The operations to send again: those whose own answer says "retry with the same key".
  for (int attempt = 1; attempt < options_.retry.attempts_max; ++attempt) {
    std::vector<int> again;
    for (int i = 0; i < response.results_size(); ++i) {
      if (IsRetryable(BatchResultStatus(response.results(i)), /*idempotent=*/true)) {
        again.push_back(i);
      }
    }
    if (again.empty()) break;
    std::this_thread::sleep_for(Backoff(options_.retry, attempt));
    v1::ExecuteBatchRequest retry;
    for (int i : again) *retry.add_operations() = request.operations(i);
    auto retried = Invoke(&v1::WalletService::Stub::ExecuteBatch, retry);
    // The call failed as a whole: the earlier answers stand, the retryable ones say "retry".
    if (!retried.ok() || retried->results_size() != retry.operations_size()) break;
    for (size_t k = 0; k < again.size(); ++k) {
      *response.mutable_results(again[k]) =
          std::move(*retried->mutable_results(static_cast<int>(k)));
    }
  }
  return response;
}

}  // namespace qcash::wallet
