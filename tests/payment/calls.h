// The calls the payment service's integration tests make on the payment service and the wallet
// of their stack, as the gateway and the other services would.
#ifndef QCASH_TESTS_PAYMENT_CALLS_H_
#define QCASH_TESTS_PAYMENT_CALLS_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "qcash/payment/v1/payment.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"

namespace qcash::testing {

// The stubs the calls below go through: a test binary's environment connects them at SetUp
// (ConnectCalls) and drops them at TearDown (DisconnectCalls).
struct PaymentCallStubs {
  std::unique_ptr<::qcash::payment::v1::PaymentService::Stub> payment;
  std::unique_ptr<::qcash::wallet::v1::WalletService::Stub> wallet;
};

inline PaymentCallStubs& CallStubs() {
  static PaymentCallStubs stubs;
  return stubs;
}

// Plaintext channels to the payment service and the wallet at their addresses (host:port).
inline void ConnectCalls(const std::string& payment_address, const std::string& wallet_address) {
  CallStubs().payment = ::qcash::payment::v1::PaymentService::NewStub(
      grpc::CreateChannel(payment_address, grpc::InsecureChannelCredentials()));
  CallStubs().wallet = ::qcash::wallet::v1::WalletService::NewStub(
      grpc::CreateChannel(wallet_address, grpc::InsecureChannelCredentials()));
}

inline void DisconnectCalls() {
  CallStubs().payment.reset();
  CallStubs().wallet.reset();
}

// One call on the payment service as `caller`.
template <typename Request, typename Response>
grpc::Status Pay(const std::string& caller,
                 Method<::qcash::payment::v1::PaymentService::Stub, Request, Response> method,
                 const Request& request, Response* response) {
  return CallOn(CallStubs().payment.get(), caller, method, request, response);
}

// One call on the wallet as `caller`.
template <typename Request, typename Response>
grpc::Status Wallet(const std::string& caller,
                    Method<::qcash::wallet::v1::WalletService::Stub, Request, Response> method,
                    const Request& request, Response* response) {
  return CallOn(CallStubs().wallet.get(), caller, method, request, response);
}

// Opens `seller`'s wallet, as the settlement service does.
inline void OpenWallet(const std::string& seller) {
  ::qcash::wallet::v1::OpenWalletRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(NewKey());
  ::qcash::wallet::v1::OpenWalletResponse response;
  const grpc::Status s = Wallet("settlement", &::qcash::wallet::v1::WalletService::Stub::OpenWallet,
                                request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

// `seller`'s balance as the gateway reads it.
inline ::qcash::wallet::v1::Balance Balance(const std::string& seller) {
  ::qcash::wallet::v1::GetBalanceRequest request;
  request.set_seller_id(seller);
  ::qcash::wallet::v1::GetBalanceResponse response;
  const grpc::Status s =
      Wallet("gateway", &::qcash::wallet::v1::WalletService::Stub::GetBalance, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response.balance();
}

// The seller's journal entries of these types whose reference is `order_id` (the first 500).
inline std::vector<::qcash::wallet::v1::HistoryEntry> EntriesOf(
    const std::string& seller, const std::string& order_id,
    const std::vector<::qcash::wallet::v1::EntryType>& types) {
  ::qcash::wallet::v1::ListHistoryRequest request;
  request.set_seller_id(seller);
  request.set_page_size(500);
  for (::qcash::wallet::v1::EntryType t : types) request.add_types(t);
  ::qcash::wallet::v1::ListHistoryResponse response;
  const grpc::Status s =
      Wallet("gateway", &::qcash::wallet::v1::WalletService::Stub::ListHistory, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<::qcash::wallet::v1::HistoryEntry> out;
  for (const auto& e : response.entries()) {
    if (e.reference() == order_id) out.push_back(e);
  }
  return out;
}

// The charge order as the gateway reads it.
inline ::qcash::payment::v1::ChargeOrder GetOrder(const std::string& seller,
                                                  const std::string& order_id) {
  ::qcash::payment::v1::GetChargeOrderRequest request;
  request.set_seller_id(seller);
  request.set_order_id(order_id);
  ::qcash::payment::v1::GetChargeOrderResponse response;
  const grpc::Status s = Pay("gateway", &::qcash::payment::v1::PaymentService::Stub::GetChargeOrder,
                             request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response.order();
}

}  // namespace qcash::testing

#endif  // QCASH_TESTS_PAYMENT_CALLS_H_
