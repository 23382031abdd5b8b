#include "services/wallet/server.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/authorization.h"
#include "common/grpc_status.h"
#include "common/proto_time.h"
#include "common/service_call.h"
#include "common/status.h"
#include "common/text.h"
#include "qcash/wallet/v1/error_reason.pb.h"
#include "services/wallet/enums.h"
#include "services/wallet/page_token.h"
#include "services/wallet/policy.h"  // kCreditSourcePointsConversion
#include "services/wallet/statements.h"

namespace qcash::wallet {
namespace {

constexpr absl::string_view kDomain = "wallet.qcash";
constexpr int kPageSizeDefault = 50;
constexpr int kPageSizeMax = 500;
// ExecuteBatch: the most operations one call may carry (wallet.proto).
constexpr int kBatchOperationsMax = 1000;

// The page size a list call asked for: kPageSizeDefault for 0 (unset).
// Errors: INVALID_ARGUMENT (INVALID_PAGE_SIZE) outside [0, kPageSizeMax].
absl::StatusOr<int> PageSizeOf(int32_t requested) {
  if (requested < 0 || requested > kPageSizeMax) {
    return InvalidArgument(pb::INVALID_PAGE_SIZE,
                           absl::StrCat("page_size must be in [0, ", kPageSizeMax, "]"));
  }
  return requested == 0 ? kPageSizeDefault : requested;
}
constexpr int kBalancesMax = 1'000;  // seller ids per GetBalances call (wallet.proto)

grpc::Status ToGrpc(const absl::Status& status) { return ToGrpcStatus(status, kDomain); }

void FillBalance(const Balance& b, pb::Balance* out) {
  out->set_seller_id(b.seller_id);
  out->set_available_yen(b.available_yen);
  out->set_held_yen(b.held_yen);
  out->set_total_yen(b.total_yen());
  out->set_qmoney_yen(b.qmoney_yen);
  out->set_pending_settlement_yen(b.pending_yen);
  out->set_version(b.version);
  out->set_state(ToProto(b.state));
  out->set_debt_yen(b.debt_yen);
}

// One seller's answer of GetBalances: OK with the balance, or the error GetBalance gives.
void FillBalanceResult(const absl::StatusOr<Balance>& balance, pb::GetBalancesResponse* out) {
  pb::BalanceResult* result = out->add_results();
  *result->mutable_status() = ToRpcStatus(balance.status(), kDomain);
  if (balance.ok()) FillBalance(*balance, result->mutable_balance());
}

void FillHold(const HoldRecord& hold, pb::HoldInfo* out) {
  out->set_seller_id(hold.seller_id);
  out->set_hold_id(hold.hold_id);
  out->set_amount_yen(hold.amount_yen);
  out->set_product(AdProductToProto(hold.product));
  out->set_booking_reference(hold.reference);
  out->set_state(ToProto(hold.state));
  out->set_captured_yen(hold.captured_yen);
  SetTimestamp(hold.created_at, out->mutable_created_at());
  SetTimestamp(hold.expires_at, out->mutable_expires_at());
  if (hold.resolved_at != absl::InfinitePast()) {
    SetTimestamp(hold.resolved_at, out->mutable_resolved_at());
  }
}

void FillHistoryEntry(const HistoryEntry& e, pb::HistoryEntry* out) {
  out->set_seq(e.seq);
  out->set_type(ToProto(e.type));
  out->set_amount_yen(e.amount_yen);
  out->set_debit_account(ToProto(e.debit));
  out->set_credit_account(ToProto(e.credit));
  out->set_available_after_yen(e.available_after_yen);
  out->set_held_after_yen(e.held_after_yen);
  out->set_qmoney_after_yen(e.qmoney_after_yen);
  out->set_pending_settlement_after_yen(e.pending_after_yen);
  out->set_product(AdProductToProto(e.product));
  out->set_reference(e.reference);
  out->set_hold_id(e.hold_id);
  SetTimestamp(e.created_at, out->mutable_created_at());
  for (const LotPart& part : e.lots) {
    pb::LotPart* lot = out->add_lots();
    lot->set_lot_id(part.lot_id);
    lot->set_amount_yen(part.amount_yen);
  }
  out->set_paid_yen(e.paid_yen);
  out->set_origin(ToProto(e.origin));
  out->set_payment_method(e.payment_method);
  out->set_price_paid_yen(e.price_paid_yen);
  out->set_points_month(e.points_month);
  out->set_debt_after_yen(e.debt_after_yen);
}

void FillLot(const LotRecord& lot, pb::Lot* out) {
  out->set_seller_id(lot.seller_id);
  out->set_lot_id(lot.lot_id);
  out->set_origin(ToProto(lot.origin));
  out->set_paid(lot.paid());
  out->set_amount_yen(lot.amount_yen);
  out->set_available_yen(lot.available_yen);
  out->set_held_yen(lot.held_yen);
  out->set_reference(lot.reference);
  out->set_payment_method(lot.payment_method);
  out->set_price_paid_yen(lot.price_paid_yen);
  out->set_points_month(lot.points_month);
  SetTimestamp(lot.created_at, out->mutable_created_at());
}

void FillMutation(const OpResult& r, pb::Mutation* out) {
  FillBalance(r.balance, out->mutable_balance());
  out->set_entry_seq(r.entry_seq);
  out->set_replayed(r.outcome == Outcome::kReplayed);
}

// A credit's answer: what of it paid the seller's debt (OpResult::amount_yen of a credit).
void FillCreditMutation(const OpResult& r, pb::Mutation* out) {
  FillMutation(r, out);
  out->set_debt_recovered_yen(r.amount_yen);
}

static_assert(kCreditSourcePointsConversion == pb::CREDIT_SOURCE_POINTS_CONVERSION,
              "the wallet's table names the conversion source by its number");

}  // namespace

// The call's deadline; infinite when the client set none.
static absl::Time CallDeadline(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

// Submits one mutation as the caller the interceptor admitted; `fill` writes the response on
// success.
static grpc::ServerUnaryReactor* Mutate(Wallet* wallet, grpc::CallbackServerContext* context, Op op,
                                        absl::AnyInvocable<void(const OpResult&)> fill) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = AdmittedCaller(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  op.caller = std::move(*caller);
  wallet->Submit(
      std::move(op),
      [reactor, fill = std::move(fill)](absl::StatusOr<OpResult> result) mutable {
        if (!result.ok()) {
          reactor->Finish(ToGrpc(result.status()));
          return;
        }
        fill(*result);
        reactor->Finish(grpc::Status::OK);
      },
      CallDeadline(*context));
  return reactor;
}

// Runs an admitted read on the read pool, so that database waits never hold a gRPC thread;
// `read` returns its status.
static grpc::ServerUnaryReactor* Read(ThreadPool* reads, grpc::CallbackServerContext* context,
                                      absl::AnyInvocable<absl::Status() &&> read) {
  return RunAdmitted(context, reads, kDomain, [read = std::move(read)](const std::string&) mutable {
    return std::move(read)();
  });
}

grpc::ServerUnaryReactor* WalletServer::OpenWallet(grpc::CallbackServerContext* context,
                                                   const pb::OpenWalletRequest* request,
                                                   pb::OpenWalletResponse* response) {
  Op op;
  op.type = OpType::kOpen;
  op.seller_id = request->seller_id();
  op.idempotency_key = request->idempotency_key();
  return Mutate(wallet_, context, std::move(op), [response](const OpResult& r) {
    FillMutation(r, response->mutable_result());
    response->set_created(r.created);
  });
}

grpc::ServerUnaryReactor* WalletServer::GetBalance(grpc::CallbackServerContext* context,
                                                   const pb::GetBalanceRequest* request,
                                                   pb::GetBalanceResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = AdmittedCaller(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  // The cache's reader answers a hit and finishes the call from its own thread; a miss goes
  // to PostgreSQL on the read pool. This thread never waits on Redis.
  wallet_->CachedBalances(
      {request->seller_id()}, [this, reactor, request, response](Cache::CachedBalances cached) {
        if (cached[0].has_value()) {
          FillBalance(*cached[0], response->mutable_balance());
          reactor->Finish(grpc::Status::OK);
          return;
        }
        FinishOnPool(reads_, reactor, kDomain, [this, request, response]() -> absl::Status {
          auto balance = wallet_->LoadBalance(request->seller_id());
          if (!balance.ok()) return balance.status();
          FillBalance(*balance, response->mutable_balance());
          return absl::OkStatus();
        });
      });
  return reactor;
}

grpc::ServerUnaryReactor* WalletServer::GetBalances(grpc::CallbackServerContext* context,
                                                    const pb::GetBalancesRequest* request,
                                                    pb::GetBalancesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = AdmittedCaller(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  if (request->seller_ids().empty()) {
    reactor->Finish(ToGrpc(InvalidArgument(pb::EMPTY_BATCH, "seller_ids is empty")));
    return reactor;
  }
  if (request->seller_ids_size() > kBalancesMax) {
    reactor->Finish(ToGrpc(InvalidArgument(
        pb::BATCH_TOO_LARGE, absl::StrCat("at most ", kBalancesMax, " seller_ids per call"))));
    return reactor;
  }
  // The hits of every id from the cache's reader (one MGET with whatever other reads are
  // queued), then the misses from PostgreSQL in one query on the read pool.
  wallet_->CachedBalances(
      {request->seller_ids().begin(), request->seller_ids().end()},
      [this, reactor, request, response](Cache::CachedBalances cached) mutable {
        const bool all_hits =
            std::all_of(cached.begin(), cached.end(), [](const auto& b) { return b.has_value(); });
        if (all_hits) {
          for (const std::optional<Balance>& b : cached) FillBalanceResult(*b, response);
          reactor->Finish(grpc::Status::OK);
          return;
        }
        FinishOnPool(reads_, reactor, kDomain,
                     [this, request, response, cached = std::move(cached)]() -> absl::Status {
                       std::vector<std::string> missed;
                       for (int i = 0; i < request->seller_ids_size(); ++i) {
                         if (!cached[i].has_value()) missed.push_back(request->seller_ids(i));
                       }
                       auto loaded = wallet_->LoadBalances(missed);
                       if (!loaded.ok()) return loaded.status();
                       size_t next = 0;  // into `loaded`, in the order of `missed`
                       for (const std::optional<Balance>& b : cached) {
                         if (b.has_value()) {
                           FillBalanceResult(*b, response);
                         } else {
                           FillBalanceResult((*loaded)[next++], response);
                         }
                       }
                       return absl::OkStatus();
                     });
      });
  return reactor;
}

grpc::ServerUnaryReactor* WalletServer::Credit(grpc::CallbackServerContext* context,
                                               const pb::CreditRequest* request,
                                               pb::CreditResponse* response) {
  Op op;
  op.type = OpType::kCredit;
  op.seller_id = request->seller_id();
  op.idempotency_key = request->idempotency_key();
  op.amount_yen = request->amount_yen();
  op.source = DomainOf(request->source());
  op.reference = request->reference();
  op.payment_method = request->payment_method();
  op.price_paid_yen = request->price_paid_yen();
  op.points_month = request->points_month();
  return Mutate(wallet_, context, std::move(op), [response](const OpResult& r) {
    FillCreditMutation(r, response->mutable_result());
  });
}

// The ad-booking service's four operations, as one RPC each and as ExecuteBatch's operations:
// the request as a domain Op, and the answer into the response.
static Op SpendOp(const pb::SpendRequest& request) {
  Op op;
  op.type = OpType::kSpend;
  op.seller_id = request.seller_id();
  op.idempotency_key = request.idempotency_key();
  op.amount_yen = request.amount_yen();
  op.product = DomainOf(request.product());
  op.reference = request.booking_reference();
  return op;
}

static void FillSpend(const OpResult& r, pb::SpendResponse* response) {
  FillMutation(r, response->mutable_result());
}

static Op HoldOp(const pb::HoldRequest& request) {
  Op op;
  op.type = OpType::kHold;
  op.seller_id = request.seller_id();
  op.idempotency_key = request.idempotency_key();
  op.amount_yen = request.amount_yen();
  op.product = DomainOf(request.product());
  op.reference = request.booking_reference();
  op.hold_ttl_s = request.ttl_seconds();
  return op;
}

static void FillHoldResponse(const OpResult& r, pb::HoldResponse* response) {
  FillMutation(r, response->mutable_result());
  response->set_hold_id(r.hold_id);
  SetTimestamp(r.expires_at, response->mutable_expires_at());
}

static Op CaptureOp(const pb::CaptureHoldRequest& request) {
  Op op;
  op.type = OpType::kCapture;
  op.seller_id = request.seller_id();
  op.idempotency_key = request.idempotency_key();
  op.hold_id = request.hold_id();
  op.amount_yen = request.amount_yen();
  return op;
}

static void FillCapture(const OpResult& r, pb::CaptureHoldResponse* response) {
  FillMutation(r, response->mutable_result());
  response->set_captured_yen(r.amount_yen);
  response->set_returned_yen(r.amount2_yen);
}

static Op ReleaseOp(const pb::ReleaseHoldRequest& request) {
  Op op;
  op.type = OpType::kRelease;
  op.seller_id = request.seller_id();
  op.idempotency_key = request.idempotency_key();
  op.hold_id = request.hold_id();
  return op;
}

static void FillRelease(const OpResult& r, pb::ReleaseHoldResponse* response) {
  FillMutation(r, response->mutable_result());
  response->set_released_yen(r.amount_yen);
}

grpc::ServerUnaryReactor* WalletServer::Spend(grpc::CallbackServerContext* context,
                                              const pb::SpendRequest* request,
                                              pb::SpendResponse* response) {
  return Mutate(wallet_, context, SpendOp(*request),
                [response](const OpResult& r) { FillSpend(r, response); });
}

grpc::ServerUnaryReactor* WalletServer::Hold(grpc::CallbackServerContext* context,
                                             const pb::HoldRequest* request,
                                             pb::HoldResponse* response) {
  return Mutate(wallet_, context, HoldOp(*request),
                [response](const OpResult& r) { FillHoldResponse(r, response); });
}

grpc::ServerUnaryReactor* WalletServer::CaptureHold(grpc::CallbackServerContext* context,
                                                    const pb::CaptureHoldRequest* request,
                                                    pb::CaptureHoldResponse* response) {
  return Mutate(wallet_, context, CaptureOp(*request),
                [response](const OpResult& r) { FillCapture(r, response); });
}

grpc::ServerUnaryReactor* WalletServer::ReleaseHold(grpc::CallbackServerContext* context,
                                                    const pb::ReleaseHoldRequest* request,
                                                    pb::ReleaseHoldResponse* response) {
  return Mutate(wallet_, context, ReleaseOp(*request),
                [response](const OpResult& r) { FillRelease(r, response); });
}

// One ExecuteBatch call in progress: answered when its last operation is.
struct BatchCall {
  BatchCall(grpc::ServerUnaryReactor* r, pb::ExecuteBatchResponse* out, size_t operations)
      : reactor(r), response(out), remaining(operations) {}
  grpc::ServerUnaryReactor* const reactor;
  pb::ExecuteBatchResponse* const response;
  std::atomic<size_t> remaining;
};

grpc::ServerUnaryReactor* WalletServer::ExecuteBatch(grpc::CallbackServerContext* context,
                                                     const pb::ExecuteBatchRequest* request,
                                                     pb::ExecuteBatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = AdmittedCaller(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  const int n = request->operations_size();
  if (n == 0) {
    reactor->Finish(ToGrpc(InvalidArgument(pb::EMPTY_BATCH, "the batch has no operations")));
    return reactor;
  }
  if (n > kBatchOperationsMax) {
    reactor->Finish(ToGrpc(InvalidArgument(
        pb::BATCH_TOO_LARGE, absl::StrCat("a batch holds at most ", kBatchOperationsMax,
                                          " operations; this one has ", n))));
    return reactor;
  }
  // The whole call is refused, before anything is applied, when an operation is of no kind.
  std::vector<Op> ops;
  ops.reserve(n);
  for (int i = 0; i < n; ++i) {
    const pb::BatchOperation& operation = request->operations(i);
    switch (operation.operation_case()) {
      case pb::BatchOperation::kSpend:
        ops.push_back(SpendOp(operation.spend()));
        break;
      case pb::BatchOperation::kHold:
        ops.push_back(HoldOp(operation.hold()));
        break;
      case pb::BatchOperation::kCapture:
        ops.push_back(CaptureOp(operation.capture()));
        break;
      case pb::BatchOperation::kRelease:
        ops.push_back(ReleaseOp(operation.release()));
        break;
      default:
        reactor->Finish(ToGrpc(InvalidArgument(
            pb::UNKNOWN_OPERATION,
            absl::StrCat("operation ", i, " is none of spend, hold, capture and release"))));
        return reactor;
    }
    ops.back().caller = *caller;
  }
  // Every result has its place before any operation can answer: each callback then writes
  // only its own element, from whichever lane thread answers it.
  for (int i = 0; i < n; ++i) response->add_results();
  auto call = std::make_shared<BatchCall>(reactor, response, static_cast<size_t>(n));
  std::vector<Committer::Callback> done;
  done.reserve(n);
  for (int i = 0; i < n; ++i) {
    const pb::BatchOperation::OperationCase kind = request->operations(i).operation_case();
    done.emplace_back([call, i, kind](absl::StatusOr<OpResult> result) {
      pb::BatchResult* out = call->response->mutable_results(i);
      if (!result.ok()) {
        *out->mutable_status() = ToRpcStatus(result.status(), kDomain);
      } else {
        switch (kind) {
          case pb::BatchOperation::kSpend:
            FillSpend(*result, out->mutable_spend());
            break;
          case pb::BatchOperation::kHold:
            FillHoldResponse(*result, out->mutable_hold());
            break;
          case pb::BatchOperation::kCapture:
            FillCapture(*result, out->mutable_capture());
            break;
          default:
            FillRelease(*result, out->mutable_release());
            break;
        }
      }
      // The last answer finishes the call; acq_rel so that it sees every other's writes.
      if (call->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        call->reactor->Finish(grpc::Status::OK);
      }
    });
  }
  wallet_->SubmitMany(std::move(ops), std::move(done), CallDeadline(*context));
  return reactor;
}

grpc::ServerUnaryReactor* WalletServer::GetHold(grpc::CallbackServerContext* context,
                                                const pb::GetHoldRequest* request,
                                                pb::GetHoldResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    if (request->hold_id() <= 0) {
      return InvalidArgument(pb::INVALID_HOLD_ID, "hold_id must be positive");
    }
    auto hold = wallet_->GetHold(request->seller_id(), request->hold_id());
    if (!hold.ok()) return hold.status();
    FillHold(*hold, response->mutable_hold());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WalletServer::ListHolds(grpc::CallbackServerContext* context,
                                                  const pb::ListHoldsRequest* request,
                                                  pb::ListHoldsResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    HoldQuery query;
    query.seller_id = request->seller_id();
    const absl::StatusOr<int> page_size = PageSizeOf(request->page_size());
    if (!page_size.ok()) return page_size.status();
    query.page_size = *page_size + 1;  // one more tells whether another page follows
    for (int state : request->states()) {
      const std::optional<HoldState> known = FromProto(static_cast<pb::HoldState>(state));
      if (!known.has_value()) {
        return InvalidArgument(pb::INVALID_HOLD_STATE, absl::StrCat("unknown hold state ", state));
      }
      query.states.push_back(*known);
    }
    // The same set in any order or repeated is the same filter, so its token stays valid.
    std::sort(query.states.begin(), query.states.end());
    query.states.erase(std::unique(query.states.begin(), query.states.end()), query.states.end());
    if (request->product() != pb::AD_PRODUCT_UNSPECIFIED) {
      const std::optional<AdProduct> product = FromProto(request->product());
      if (!product.has_value()) {
        return InvalidArgument(pb::UNKNOWN_AD_PRODUCT,
                               absl::StrCat("unknown ad product ", request->product()));
      }
      query.product = static_cast<int16_t>(*product);
    }
    query.reference = request->booking_reference();
    if (query.reference.size() > kReferenceLengthMax || !IsCleanText(query.reference)) {
      return InvalidArgument(pb::INVALID_REFERENCE,
                             absl::StrCat("booking_reference must be at most ", kReferenceLengthMax,
                                          " bytes of UTF-8 text without control characters"));
    }
    // The filters a token is bound to: equal text exactly when the filters are equal (the
    // reference is last, so whatever it holds cannot be mistaken for another field).
    std::string filters;
    for (HoldState state : query.states) {
      absl::StrAppend(&filters, static_cast<int>(state), ",");
    }
    absl::StrAppend(&filters, ";", query.product, ";", query.reference);
    auto before = DecodeHoldsPageToken(request->page_token(), filters);
    if (!before.ok()) return before.status();
    query.before_hold_id = *before;
    auto holds = wallet_->ListHolds(query);
    if (!holds.ok()) return holds.status();
    const size_t shown = std::min(holds->size(), static_cast<size_t>(*page_size));
    for (size_t i = 0; i < shown; ++i) FillHold((*holds)[i], response->add_holds());
    // Hold ids are journal seqs (positive), so the cursor is always a valid token.
    if (holds->size() > shown) {
      response->set_next_page_token(EncodeHoldsPageToken((*holds)[shown - 1].hold_id, filters));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WalletServer::ChargeFromInternalFunds(
    grpc::CallbackServerContext* context, const pb::ChargeFromInternalFundsRequest* request,
    pb::ChargeFromInternalFundsResponse* response) {
  Op op;
  op.type = OpType::kChargeFromFunds;
  op.seller_id = request->seller_id();
  op.idempotency_key = request->idempotency_key();
  op.amount_yen = request->amount_yen();
  op.funds = DomainOf(request->source());
  op.reference = request->order_id();
  return Mutate(wallet_, context, std::move(op), [response](const OpResult& r) {
    FillCreditMutation(r, response->mutable_result());
  });
}

grpc::ServerUnaryReactor* WalletServer::CreditInternalFunds(
    grpc::CallbackServerContext* context, const pb::CreditInternalFundsRequest* request,
    pb::CreditInternalFundsResponse* response) {
  Op op;
  op.type = OpType::kCreditFunds;
  op.seller_id = request->seller_id();
  op.idempotency_key = request->idempotency_key();
  op.amount_yen = request->amount_yen();
  op.funds = DomainOf(request->account());
  op.reference = request->settlement_reference();
  return Mutate(wallet_, context, std::move(op),
                [response](const OpResult& r) { FillMutation(r, response->mutable_result()); });
}

grpc::ServerUnaryReactor* WalletServer::CloseWallet(grpc::CallbackServerContext* context,
                                                    const pb::CloseWalletRequest* request,
                                                    pb::CloseWalletResponse* response) {
  Op op;
  op.type = OpType::kClose;
  op.seller_id = request->seller_id();
  op.idempotency_key = request->idempotency_key();
  op.reference = request->reason();
  return Mutate(wallet_, context, std::move(op), [response](const OpResult& r) {
    FillMutation(r, response->mutable_result());
    response->set_forfeited_yen(r.amount_yen);
  });
}

grpc::ServerUnaryReactor* WalletServer::ClawBack(grpc::CallbackServerContext* context,
                                                 const pb::ClawBackRequest* request,
                                                 pb::ClawBackResponse* response) {
  Op op;
  op.type = OpType::kClawBack;
  op.seller_id = request->seller_id();
  op.idempotency_key = request->idempotency_key();
  op.amount_yen = request->amount_yen();
  op.reference = request->order_id();
  op.reversal_reference = request->reversal_reference();
  op.kind = DomainOf(request->kind());
  return Mutate(wallet_, context, std::move(op), [response](const OpResult& r) {
    FillMutation(r, response->mutable_result());
    response->set_clawed_back_yen(r.amount_yen);
    response->set_debt_yen(r.amount2_yen);
  });
}

grpc::ServerUnaryReactor* WalletServer::ListHistory(grpc::CallbackServerContext* context,
                                                    const pb::ListHistoryRequest* request,
                                                    pb::ListHistoryResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    HistoryQuery query;
    query.seller_id = request->seller_id();
    const absl::StatusOr<int> page_size = PageSizeOf(request->page_size());
    if (!page_size.ok()) return page_size.status();
    query.page_size = *page_size + 1;  // one more tells whether another page follows
    auto before = DecodeHistoryPageToken(request->page_token());
    if (!before.ok()) return before.status();
    query.before_seq = *before;
    for (int type : request->types()) {
      const std::optional<EntryType> known = FromProto(static_cast<pb::EntryType>(type));
      if (!known.has_value()) {
        return InvalidArgument(pb::INVALID_ENTRY_TYPE, absl::StrCat("unknown entry type ", type));
      }
      query.types.push_back(static_cast<int16_t>(*known));
    }
    if (request->has_from()) {
      auto from = FromTimestamp(request->from(), pb::INVALID_TIME_RANGE);
      if (!from.ok()) return from.status();
      query.from = *from;
    }
    if (request->has_to()) {
      auto to = FromTimestamp(request->to(), pb::INVALID_TIME_RANGE);
      if (!to.ok()) return to.status();
      query.to = *to;
    }
    if (query.from >= query.to) {
      return InvalidArgument(pb::INVALID_TIME_RANGE, "`from` must be before `to`");
    }
    auto entries = wallet_->ListHistory(query);
    if (!entries.ok()) return entries.status();
    const size_t shown = std::min(entries->size(), static_cast<size_t>(*page_size));
    for (size_t i = 0; i < shown; ++i) {
      FillHistoryEntry((*entries)[i], response->add_entries());
    }
    if (entries->size() > shown) {
      response->set_next_page_token(EncodeHistoryPageToken((*entries)[shown - 1].seq));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WalletServer::GetEntryLots(grpc::CallbackServerContext* context,
                                                     const pb::GetEntryLotsRequest* request,
                                                     pb::GetEntryLotsResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    if (request->entry_seq() <= 0) {
      return InvalidArgument(pb::INVALID_ENTRY_SEQ, "entry_seq must be positive");
    }
    auto found = wallet_->GetEntryLots(request->seller_id(), request->entry_seq());
    if (!found.ok()) return found.status();
    FillHistoryEntry(found->entry, response->mutable_entry());
    for (const LotUse& use : found->lots) {
      pb::LotUse* out = response->add_lots();
      FillLot(use.lot, out->mutable_lot());
      out->set_amount_yen(use.amount_yen);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WalletServer::ListLots(grpc::CallbackServerContext* context,
                                                 const pb::ListLotsRequest* request,
                                                 pb::ListLotsResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    LotQuery query;
    query.seller_id = request->seller_id();
    query.open_only = request->open_only();
    const absl::StatusOr<int> page_size = PageSizeOf(request->page_size());
    if (!page_size.ok()) return page_size.status();
    query.page_size = *page_size + 1;  // one more tells whether another page follows
    auto before = DecodeLotsPageToken(request->page_token());
    if (!before.ok()) return before.status();
    query.before_lot_id = *before;
    auto lots = wallet_->ListLots(query);
    if (!lots.ok()) return lots.status();
    const size_t shown = std::min(lots->size(), static_cast<size_t>(*page_size));
    for (size_t i = 0; i < shown; ++i) FillLot((*lots)[i], response->add_lots());
    // Lot ids are unique per seller and 0 is the smallest, so a lot follows the last shown
    // only when that one's id is positive: the cursor is always a valid token.
    if (lots->size() > shown) {
      response->set_next_page_token(EncodeLotsPageToken((*lots)[shown - 1].lot_id));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WalletServer::ReleaseExpiredHolds(
    grpc::CallbackServerContext* context, const pb::ReleaseExpiredHoldsRequest* request,
    pb::ReleaseExpiredHoldsResponse* response) {
  return Read(reads_, context, [this, response]() -> absl::Status {
    auto released = wallet_->SweepExpiredHolds();
    if (!released.ok()) return released.status();
    response->set_released(*released);
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------- the issuer's books

grpc::ServerUnaryReactor* WalletServer::GetBalanceAt(grpc::CallbackServerContext* context,
                                                     const pb::GetBalanceAtRequest* request,
                                                     pb::GetBalanceAtResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    if (!request->has_at()) return InvalidArgument(pb::INVALID_TIME, "`at` is required");
    auto at = FromTimestamp(request->at(), pb::INVALID_TIME);
    if (!at.ok()) return at.status();
    auto found = wallet_->books()->BalanceAt(request->seller_id(), *at);
    if (!found.ok()) return found.status();
    FillBalance(found->balance, response->mutable_balance());
    response->set_last_entry_seq(found->last_entry_seq);
    response->set_paid_unused_yen(found->paid_unused_yen);
    response->set_free_unused_yen(found->free_unused_yen);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WalletServer::GetPlatformBalancesAt(
    grpc::CallbackServerContext* context, const pb::GetPlatformBalancesAtRequest* request,
    pb::GetPlatformBalancesAtResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    if (!request->has_at()) return InvalidArgument(pb::INVALID_TIME, "`at` is required");
    auto at = FromTimestamp(request->at(), pb::INVALID_TIME);
    if (!at.ok()) return at.status();
    auto f = wallet_->books()->PlatformAt(*at);
    if (!f.ok()) return f.status();
    *response->mutable_at() = request->at();
    auto add = [](auto* list, Account account, int64_t yen) {
      pb::AccountBalance* b = list->Add();
      b->set_account(ToProto(account));
      b->set_balance_yen(yen);
    };
    add(response->mutable_platform(), Account::kProviderClearing, f->provider_clearing_yen);
    add(response->mutable_platform(), Account::kPointsProgramme, f->points_programme_yen);
    add(response->mutable_platform(), Account::kAdRevenue, f->ad_revenue_yen);
    add(response->mutable_platform(), Account::kForfeiture, f->forfeiture_yen);
    add(response->mutable_platform(), Account::kSettlement, f->settlement_yen);
    add(response->mutable_sellers(), Account::kSellerAvailable, f->seller_available_yen);
    add(response->mutable_sellers(), Account::kSellerHeld, f->seller_held_yen);
    add(response->mutable_sellers(), Account::kSellerQmoney, f->seller_qmoney_yen);
    add(response->mutable_sellers(), Account::kSellerPending, f->seller_pending_yen);
    add(response->mutable_sellers(), Account::kSellerReceivable, f->seller_receivable_yen);
    response->set_paid_unused_yen(f->paid_unused_yen());
    response->set_free_unused_yen(f->free_unused_yen());
    response->set_paid_issued_yen(f->paid_issued_yen);
    response->set_paid_used_yen(f->paid_used_yen);
    response->set_paid_forfeited_yen(f->paid_forfeited_yen);
    response->set_free_issued_yen(f->free_issued_yen);
    response->set_free_used_yen(f->free_used_yen);
    response->set_free_forfeited_yen(f->free_forfeited_yen);
    response->set_entries(f->entries);
    response->set_paid_clawed_back_yen(f->paid_clawed_back_yen);
    response->set_free_clawed_back_yen(f->free_clawed_back_yen);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WalletServer::GetBaseDateReport(
    grpc::CallbackServerContext* context, const pb::GetBaseDateReportRequest* request,
    pb::GetBaseDateReportResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    auto r = wallet_->books()->Report(request->base_date());
    if (!r.ok()) return r.status();
    pb::BaseDateReport* out = response->mutable_report();
    out->set_base_date(absl::FormatCivilTime(r->period.base_date));
    SetTimestamp(r->period.start, out->mutable_period_start());
    SetTimestamp(r->period.end, out->mutable_period_end());
    out->set_paid_unused_previous_yen(r->paid_unused_previous_yen);
    out->set_paid_issued_yen(r->paid_issued_yen);
    out->set_paid_used_yen(r->paid_used_yen);
    out->set_paid_forfeited_yen(r->paid_forfeited_yen);
    out->set_paid_recovered_yen(r->paid_recovered_yen);
    out->set_paid_unused_yen(r->paid_unused_yen);
    out->set_above_threshold(r->above_threshold);
    out->set_deposit_required_yen(r->deposit_required_yen);
    out->set_free_unused_previous_yen(r->free_unused_previous_yen);
    out->set_free_issued_yen(r->free_issued_yen);
    out->set_free_used_yen(r->free_used_yen);
    out->set_free_forfeited_yen(r->free_forfeited_yen);
    out->set_free_unused_yen(r->free_unused_yen);
    out->set_paid_before_lots_yen(r->paid_before_lots_yen);
    out->set_paid_clawed_back_yen(r->paid_clawed_back_yen);
    out->set_free_clawed_back_yen(r->free_clawed_back_yen);
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------- statements

grpc::ServerUnaryReactor* WalletServer::GetMonthlyStatement(
    grpc::CallbackServerContext* context, const pb::GetMonthlyStatementRequest* request,
    pb::GetMonthlyStatementResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    auto period = ParseMonth(request->month());
    if (!period.ok()) return period.status();
    if (request->page_size() < 0 || request->page_size() > kStatementPageSizeMax) {
      return InvalidArgument(pb::INVALID_PAGE_SIZE,
                             absl::StrCat("page_size must be in [0, ", kStatementPageSizeMax, "]"));
    }
    StatementQuery query;
    query.seller_id = request->seller_id();
    query.period = *period;
    query.page_size = request->page_size() == 0 ? kStatementPageSizeDefault : request->page_size();
    auto after = DecodeStatementPageToken(request->page_token(), period->Name());
    if (!after.ok()) return after.status();
    query.after_seq = *after;
    auto st = wallet_->GetMonthlyStatement(query);
    if (!st.ok()) return st.status();
    response->set_month(st->period.Name());
    SetTimestamp(st->period.start, response->mutable_period_start());
    SetTimestamp(st->period.end, response->mutable_period_end());
    response->set_closed(st->closed);
    for (const StatementLine& line : st->lines) {
      pb::StatementLine* out = response->add_lines();
      out->set_entry_seq(line.entry_seq);
      out->set_type(ToProto(line.type));
      SetTimestamp(line.created_at, out->mutable_created_at());
      out->set_product(AdProductToProto(line.product));
      out->set_reference(line.reference);
      out->set_amount_yen(line.amount_yen);
      out->set_paid_yen(line.paid_yen);
      out->set_free_yen(line.free_yen());
    }
    if (st->next_after_seq > 0) {
      response->set_next_page_token(
          EncodeStatementPageToken(st->period.Name(), st->next_after_seq));
    }
    response->set_line_count(st->line_count);
    response->set_total_yen(st->total_yen);
    response->set_free_yen(st->free_yen);
    response->set_taxable_yen(st->taxable_yen());
    response->set_tax_rate_percent(kConsumptionTaxPercent);
    response->set_tax_yen(st->tax_yen());
    for (const StatementProductTotal& t : st->products) {
      pb::StatementProductTotal* out = response->add_products();
      out->set_product(AdProductToProto(t.product));
      out->set_lines(t.lines);
      out->set_amount_yen(t.amount_yen);
      out->set_paid_yen(t.paid_yen);
      out->set_free_yen(t.free_yen());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WalletServer::GetMonthlyActivity(
    grpc::CallbackServerContext* context, const pb::GetMonthlyActivityRequest* request,
    pb::GetMonthlyActivityResponse* response) {
  return Read(reads_, context, [this, request, response]() -> absl::Status {
    if (request->months() < 0 || request->months() > kActivityMonthsMax) {
      return InvalidArgument(pb::INVALID_MONTH,
                             absl::StrCat("months must be in [0, ", kActivityMonthsMax, "]"));
    }
    const int months = request->months() == 0 ? kActivityMonthsDefault : request->months();
    auto activity = wallet_->GetMonthlyActivity(request->seller_id(), months);
    if (!activity.ok()) return activity.status();
    for (const MonthActivity& a : *activity) {
      pb::MonthActivity* out = response->add_months();
      out->set_month(a.period.Name());
      out->set_partial(a.partial);
      out->set_charged_yen(a.charged_yen);
      out->set_converted_yen(a.converted_yen);
      out->set_spent_yen(a.spent_yen());
      for (const auto& [product, yen] : a.spent) {
        pb::ProductAmount* p = out->add_spent();
        p->set_product(AdProductToProto(product));
        p->set_amount_yen(yen);
      }
      out->set_forfeited_yen(a.forfeited_yen);
      out->set_clawed_back_yen(a.clawed_back_yen);
      out->set_debt_recovered_yen(a.debt_recovered_yen);
    }
    return absl::OkStatus();
  });
}

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
grpc::ServerUnaryReactor* TestClockServer::SetTime(grpc::CallbackServerContext* context,
                                                   const pb::SetTimeRequest* request,
                                                   pb::SetTimeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = AdmittedCaller(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  if (!request->has_time()) {
    reactor->Finish(ToGrpc(InvalidArgument(pb::INVALID_TIME, "time is required")));
    return reactor;
  }
  auto t = FromTimestamp(request->time(), pb::INVALID_TIME);
  if (!t.ok()) {
    reactor->Finish(ToGrpc(t.status()));
    return reactor;
  }
  clock_->Set(*t);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}
#endif

}  // namespace qcash::wallet
