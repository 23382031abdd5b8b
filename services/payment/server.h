// The gRPC face of the payment service: qcash.payment.v1.PaymentService on the callback API.
// Thin by design: take the caller the authorization interceptor admitted by the payment table
// (services/payment/policy.h: the caller's permission, and that the seller token the gateway
// forwards names the seller of the request), translate the request, run the domain call on the
// worker pool (everything here waits on PostgreSQL, the wallet, a provider or argon2id, and must
// not hold a gRPC thread), translate the answer.
#ifndef QCASH_SERVICES_PAYMENT_SERVER_H_
#define QCASH_SERVICES_PAYMENT_SERVER_H_

#include "common/thread_pool.h"
#include "qcash/payment/v1/payment.grpc.pb.h"
#include "services/payment/parts.h"

namespace qcash::payment {

namespace pb = ::qcash::payment::v1;

class PaymentServer final : public pb::PaymentService::CallbackService {
 public:
  // REQUIRES: every pointer outlives the server. Serve it with AccessPolicy() among the
  // ServeOptions' access tables (services/payment/policy.h).
  PaymentServer(const PaymentParts* payments, ThreadPool* workers)
      : payments_(payments), workers_(workers) {}

  grpc::ServerUnaryReactor* ListChargeOptions(grpc::CallbackServerContext* context,
                                              const pb::ListChargeOptionsRequest* request,
                                              pb::ListChargeOptionsResponse* response) override;
  grpc::ServerUnaryReactor* CreateChargeOrder(grpc::CallbackServerContext* context,
                                              const pb::CreateChargeOrderRequest* request,
                                              pb::CreateChargeOrderResponse* response) override;
  grpc::ServerUnaryReactor* GetChargeOrder(grpc::CallbackServerContext* context,
                                           const pb::GetChargeOrderRequest* request,
                                           pb::GetChargeOrderResponse* response) override;
  grpc::ServerUnaryReactor* CompleteRedirect(grpc::CallbackServerContext* context,
                                             const pb::CompleteRedirectRequest* request,
                                             pb::CompleteRedirectResponse* response) override;
  grpc::ServerUnaryReactor* CancelChargeOrder(grpc::CallbackServerContext* context,
                                              const pb::CancelChargeOrderRequest* request,
                                              pb::CancelChargeOrderResponse* response) override;
  grpc::ServerUnaryReactor* ListChargeOrders(grpc::CallbackServerContext* context,
                                             const pb::ListChargeOrdersRequest* request,
                                             pb::ListChargeOrdersResponse* response) override;
  grpc::ServerUnaryReactor* IssueReceipt(grpc::CallbackServerContext* context,
                                         const pb::IssueReceiptRequest* request,
                                         pb::IssueReceiptResponse* response) override;
  grpc::ServerUnaryReactor* SetQsignPassword(grpc::CallbackServerContext* context,
                                             const pb::SetQsignPasswordRequest* request,
                                             pb::SetQsignPasswordResponse* response) override;
  grpc::ServerUnaryReactor* HandleProviderNotification(
      grpc::CallbackServerContext* context, const pb::HandleProviderNotificationRequest* request,
      pb::HandleProviderNotificationResponse* response) override;
  grpc::ServerUnaryReactor* ListStuckOrders(grpc::CallbackServerContext* context,
                                            const pb::ListStuckOrdersRequest* request,
                                            pb::ListStuckOrdersResponse* response) override;
  grpc::ServerUnaryReactor* RetryCredit(grpc::CallbackServerContext* context,
                                        const pb::RetryCreditRequest* request,
                                        pb::RetryCreditResponse* response) override;
  // Settlement reconciliation (issue 16; services/payment/settlement.h).
  grpc::ServerUnaryReactor* ImportSettlementReport(
      grpc::CallbackServerContext* context, const pb::ImportSettlementReportRequest* request,
      pb::ImportSettlementReportResponse* response) override;
  grpc::ServerUnaryReactor* ListSettlementMismatches(
      grpc::CallbackServerContext* context, const pb::ListSettlementMismatchesRequest* request,
      pb::ListSettlementMismatchesResponse* response) override;
  grpc::ServerUnaryReactor* ResolveSettlementMismatch(
      grpc::CallbackServerContext* context, const pb::ResolveSettlementMismatchRequest* request,
      pb::ResolveSettlementMismatchResponse* response) override;
  grpc::ServerUnaryReactor* GetSettlementSummary(
      grpc::CallbackServerContext* context, const pb::GetSettlementSummaryRequest* request,
      pb::GetSettlementSummaryResponse* response) override;

 private:
  const PaymentParts* const payments_;
  ThreadPool* const workers_;
};

// The wire form of an order, its next action included (exposed for tests).
void FillOrder(const Order& order, pb::ChargeOrder* out);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_SERVER_H_
