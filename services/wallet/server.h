// The gRPC face of the wallet: qcash.wallet.v1.WalletService on the callback API. Thin and
// boring by design: take the caller the authorization interceptor admitted by the wallet's
// table (services/wallet/policy.h), translate the request to a domain Op, hand it to the Wallet,
// translate the answer back. No rule of the domain lives here.
#ifndef QCASH_SERVICES_WALLET_SERVER_H_
#define QCASH_SERVICES_WALLET_SERVER_H_

#include "common/thread_pool.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/wallet.h"
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
#include "qcash/wallet/v1/test_clock.grpc.pb.h"
#include "services/wallet/test_clock.h"
#endif

namespace qcash::wallet {

namespace pb = ::qcash::wallet::v1;

class WalletServer final : public pb::WalletService::CallbackService {
 public:
  // `reads` runs the calls that block on Redis or PostgreSQL reads. Serve it with
  // AccessPolicy() among the ServeOptions' access tables (services/wallet/policy.h).
  WalletServer(Wallet* wallet, ThreadPool* reads) : wallet_(wallet), reads_(reads) {}

  grpc::ServerUnaryReactor* OpenWallet(grpc::CallbackServerContext* context,
                                       const pb::OpenWalletRequest* request,
                                       pb::OpenWalletResponse* response) override;
  grpc::ServerUnaryReactor* GetBalance(grpc::CallbackServerContext* context,
                                       const pb::GetBalanceRequest* request,
                                       pb::GetBalanceResponse* response) override;
  // Many sellers' balances: the hits from one trip of the cache's reader, the misses from
  // PostgreSQL in one query. Besides the contract's errors, UNAVAILABLE when the database is.
  grpc::ServerUnaryReactor* GetBalances(grpc::CallbackServerContext* context,
                                        const pb::GetBalancesRequest* request,
                                        pb::GetBalancesResponse* response) override;
  grpc::ServerUnaryReactor* Credit(grpc::CallbackServerContext* context,
                                   const pb::CreditRequest* request,
                                   pb::CreditResponse* response) override;
  grpc::ServerUnaryReactor* Spend(grpc::CallbackServerContext* context,
                                  const pb::SpendRequest* request,
                                  pb::SpendResponse* response) override;
  grpc::ServerUnaryReactor* Hold(grpc::CallbackServerContext* context,
                                 const pb::HoldRequest* request,
                                 pb::HoldResponse* response) override;
  grpc::ServerUnaryReactor* CaptureHold(grpc::CallbackServerContext* context,
                                        const pb::CaptureHoldRequest* request,
                                        pb::CaptureHoldResponse* response) override;
  grpc::ServerUnaryReactor* ReleaseHold(grpc::CallbackServerContext* context,
                                        const pb::ReleaseHoldRequest* request,
                                        pb::ReleaseHoldResponse* response) override;
  grpc::ServerUnaryReactor* ExecuteBatch(grpc::CallbackServerContext* context,
                                         const pb::ExecuteBatchRequest* request,
                                         pb::ExecuteBatchResponse* response) override;
  grpc::ServerUnaryReactor* GetHold(grpc::CallbackServerContext* context,
                                    const pb::GetHoldRequest* request,
                                    pb::GetHoldResponse* response) override;
  grpc::ServerUnaryReactor* ListHolds(grpc::CallbackServerContext* context,
                                      const pb::ListHoldsRequest* request,
                                      pb::ListHoldsResponse* response) override;
  grpc::ServerUnaryReactor* ChargeFromInternalFunds(
      grpc::CallbackServerContext* context, const pb::ChargeFromInternalFundsRequest* request,
      pb::ChargeFromInternalFundsResponse* response) override;
  grpc::ServerUnaryReactor* CreditInternalFunds(grpc::CallbackServerContext* context,
                                                const pb::CreditInternalFundsRequest* request,
                                                pb::CreditInternalFundsResponse* response) override;
  grpc::ServerUnaryReactor* CloseWallet(grpc::CallbackServerContext* context,
                                        const pb::CloseWalletRequest* request,
                                        pb::CloseWalletResponse* response) override;
  grpc::ServerUnaryReactor* ClawBack(grpc::CallbackServerContext* context,
                                     const pb::ClawBackRequest* request,
                                     pb::ClawBackResponse* response) override;
  grpc::ServerUnaryReactor* ListHistory(grpc::CallbackServerContext* context,
                                        const pb::ListHistoryRequest* request,
                                        pb::ListHistoryResponse* response) override;
  grpc::ServerUnaryReactor* GetEntryLots(grpc::CallbackServerContext* context,
                                         const pb::GetEntryLotsRequest* request,
                                         pb::GetEntryLotsResponse* response) override;
  grpc::ServerUnaryReactor* ListLots(grpc::CallbackServerContext* context,
                                     const pb::ListLotsRequest* request,
                                     pb::ListLotsResponse* response) override;
  grpc::ServerUnaryReactor* ReleaseExpiredHolds(grpc::CallbackServerContext* context,
                                                const pb::ReleaseExpiredHoldsRequest* request,
                                                pb::ReleaseExpiredHoldsResponse* response) override;
  // The issuer's books (services/wallet/books.h).
  grpc::ServerUnaryReactor* GetBalanceAt(grpc::CallbackServerContext* context,
                                         const pb::GetBalanceAtRequest* request,
                                         pb::GetBalanceAtResponse* response) override;
  grpc::ServerUnaryReactor* GetPlatformBalancesAt(
      grpc::CallbackServerContext* context, const pb::GetPlatformBalancesAtRequest* request,
      pb::GetPlatformBalancesAtResponse* response) override;
  grpc::ServerUnaryReactor* GetBaseDateReport(grpc::CallbackServerContext* context,
                                              const pb::GetBaseDateReportRequest* request,
                                              pb::GetBaseDateReportResponse* response) override;
  // The seller's monthly statement and activity (services/wallet/statements.h).
  grpc::ServerUnaryReactor* GetMonthlyStatement(grpc::CallbackServerContext* context,
                                                const pb::GetMonthlyStatementRequest* request,
                                                pb::GetMonthlyStatementResponse* response) override;
  grpc::ServerUnaryReactor* GetMonthlyActivity(grpc::CallbackServerContext* context,
                                               const pb::GetMonthlyActivityRequest* request,
                                               pb::GetMonthlyActivityResponse* response) override;

 private:
  Wallet* const wallet_;
  ThreadPool* const reads_;
};

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
// TEST-ONLY, development builds only (DESIGN.md section 7): sets the SettableClock that dates
// the wallet's batches and is the books' "now". main.cc registers it only when
// QCASH_WALLET_TEST_CLOCK=1 together with QCASH_INSECURE_DEV=1, with TestClockAccessPolicy()
// among the access tables.
class TestClockServer final : public pb::WalletTestClock::CallbackService {
 public:
  explicit TestClockServer(SettableClock* clock) : clock_(clock) {}

  grpc::ServerUnaryReactor* SetTime(grpc::CallbackServerContext* context,
                                    const pb::SetTimeRequest* request,
                                    pb::SetTimeResponse* response) override;

 private:
  SettableClock* const clock_;
};
#endif

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_SERVER_H_
