#include "services/payment/server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/page_token.h"
#include "common/proto_time.h"
#include "common/service_call.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/enums.h"

namespace qcash::payment {
namespace {

constexpr absl::string_view kDomain = "payment.qcash";
constexpr int kOrdersPageDefault = 20;
constexpr int kStuckPageDefault = 50;
constexpr int kPageMax = 100;
constexpr int64_t kStuckMinAgeDefaultS = 60;

absl::StatusOr<int> PageSize(int32_t requested, int fallback) {
  if (requested < 0 || requested > kPageMax) {
    return InvalidArgument(pb::INVALID_PAGE_SIZE,
                           absl::StrCat("page_size must be in [0, ", kPageMax, "]"));
  }
  return requested == 0 ? fallback : requested;
}

// One more row than the page tells whether another page follows.
template <typename Repeated>
std::string FillPage(const std::vector<Order>& orders, int page_size, Repeated* out) {
  const size_t shown = std::min(orders.size(), static_cast<size_t>(page_size));
  for (size_t i = 0; i < shown; ++i) FillOrder(orders[i], out->Add());
  if (orders.size() <= shown) return "";
  const Order& last = orders[shown - 1];
  return EncodePageToken({absl::ToUnixMicros(last.created_at), last.order_id});
}

// The domain's MismatchKind is the contract's, number for number.
static_assert(static_cast<int>(MismatchKind::kNotSettled) == pb::MISMATCH_KIND_NOT_SETTLED);
static_assert(static_cast<int>(MismatchKind::kSettledNotCredited) ==
              pb::MISMATCH_KIND_SETTLED_NOT_CREDITED);
static_assert(static_cast<int>(MismatchKind::kAmountMismatch) == pb::MISMATCH_KIND_AMOUNT_MISMATCH);
static_assert(static_cast<int>(MismatchKind::kUnknownTransaction) ==
              pb::MISMATCH_KIND_UNKNOWN_TRANSACTION);
static_assert(static_cast<int>(MismatchKind::kDuplicate) == pb::MISMATCH_KIND_DUPLICATE);
static_assert(static_cast<int>(MismatchKind::kSettledLate) == pb::MISMATCH_KIND_SETTLED_LATE);
static_assert(kMismatchKinds == pb::MismatchKind_MAX);

constexpr int kMismatchPageDefault = 50;
constexpr int kMismatchPageMax = 500;

std::string EncodeMismatchToken(const MismatchCursor& cursor) {
  return PageTokenWriter("m").AddInt(cursor.since_us).AddInt(cursor.mismatch_id).Finish();
}

absl::StatusOr<std::optional<MismatchCursor>> DecodeMismatchToken(absl::string_view token) {
  if (token.empty()) return std::optional<MismatchCursor>();
  std::optional<PageTokenReader> reader = PageTokenReader::Open("m", token, 2);
  MismatchCursor cursor;
  if (!reader || !reader->NextInt(&cursor.since_us) || !reader->NextInt(&cursor.mismatch_id) ||
      cursor.mismatch_id <= 0) {
    return InvalidArgument(pb::INVALID_PAGE_TOKEN, "page_token is not one this service issued");
  }
  return std::optional<MismatchCursor>(cursor);
}

// The wire form of a mismatch; its age is from `since` to `now` (the answer's time).
void FillMismatch(const SettlementMismatchRecord& m, absl::Time now, pb::SettlementMismatch* out) {
  out->set_mismatch_id(m.mismatch_id);
  out->set_kind(static_cast<pb::MismatchKind>(m.kind));
  out->set_provider(m.provider);
  out->set_transaction_id(m.transaction_id);
  out->set_order_id(m.order_id);
  out->set_seller_id(m.seller_id);
  out->set_expected_yen(m.expected_yen);
  out->set_settled_yen(m.settled_yen);
  out->set_fee_yen(m.fee_yen);
  out->set_settlement_date(m.settlement_date);
  out->set_report_id(m.report_id);
  out->set_line_number(m.line_number);
  SetTimestampIfAny(m.since, out->mutable_since());
  out->set_age_seconds(std::max<int64_t>(0, absl::ToInt64Seconds(now - m.since)));
  SetTimestampIfAny(m.detected_at, out->mutable_detected_at());
  out->set_resolved(m.resolved());
  if (m.resolved()) SetTimestampIfAny(m.resolved_at, out->mutable_resolved_at());
  out->set_resolved_by(m.resolved_by);
  out->set_resolution(m.resolution);
}

// Runs `work` (given the caller the interceptor admitted by the payment table,
// services/payment/policy.h) on the worker pool; its status finishes the call. A refused call
// finishes with its refusal.
constexpr auto& Run = RunAdmitted;

}  // namespace

void FillOrder(const Order& order, pb::ChargeOrder* out) {
  out->set_order_id(order.order_id);
  out->set_seller_id(order.seller_id);
  out->set_denomination(DenominationOf(order.amount_yen));
  out->set_amount_yen(order.amount_yen);
  out->set_method(ToProto(order.method));
  out->set_family(ToProto(order.family));
  out->set_state(ToProto(order.state));
  out->set_failure_reason(order.failure_reason);
  SetTimestampIfAny(order.created_at, out->mutable_created_at());
  SetTimestampIfAny(order.deadline, out->mutable_deadline());
  SetTimestampIfAny(order.paid_at, out->mutable_paid_at());
  SetTimestampIfAny(order.credited_at, out->mutable_credited_at());
  out->set_wallet_entry_seq(order.wallet_entry_seq);
  out->set_attention(order.attention);
  out->set_return_url(order.return_url);
  out->set_reversed_yen(order.reversed_yen);
  pb::NextAction* next = out->mutable_next_action();
  next->set_kind(pb::NextAction::KIND_NONE);
  if (order.state == OrderState::kAwaitingPayment && order.family == Family::kRedirect) {
    next->set_kind(pb::NextAction::KIND_REDIRECT);
    next->set_redirect_url(order.redirect_url);
  } else if (order.state == OrderState::kAwaitingPayment && order.family == Family::kCounter) {
    next->set_kind(pb::NextAction::KIND_PAY_AT_COUNTER);
    pb::PaymentInstructions* ins = next->mutable_instructions();
    ins->set_institution(order.instructions.institution);
    ins->set_payment_number(order.instructions.payment_number);
    ins->set_confirmation_number(order.instructions.confirmation_number);
    ins->set_payee_name(order.instructions.payee_name);
    ins->set_url(order.instructions.url);
    SetTimestampIfAny(order.instructions.pay_by, ins->mutable_pay_by());
  }
}

grpc::ServerUnaryReactor* PaymentServer::ListChargeOptions(
    grpc::CallbackServerContext* context, const pb::ListChargeOptionsRequest* request,
    pb::ListChargeOptionsResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string&) -> absl::Status {
               Orders::OptionsRequest query;
               query.seller_id = request->seller_id();
               query.denomination_yen = request->denomination();
               query.needed_yen = request->needed_yen();
               query.return_url = request->return_url();
               auto options = payments_->orders->ListChargeOptions(query);
               if (!options.ok()) return options.status();
               for (int64_t yen : kDenominationsYen) {
                 pb::DenominationOption* d = response->add_denominations();
                 d->set_denomination(DenominationOf(yen));
                 d->set_price_yen(yen);
                 d->set_label(DenominationLabel(yen));
               }
               for (const Orders::MethodAvailability& m : options->methods) {
                 pb::MethodOption* out = response->add_methods();
                 out->set_method(ToProto(m.info->method));
                 out->set_family(ToProto(m.info->family));
                 out->set_label(std::string(m.info->label));
                 out->set_available(m.available);
                 out->set_unavailable_reason(m.unavailable_reason);
                 for (int64_t yen : m.denominations_yen) {
                   out->add_available_denominations(DenominationOf(yen));
                 }
                 out->set_funds_balance_yen(m.funds_balance_yen);
               }
               response->set_qcash_available_yen(options->qcash_available_yen);
               response->set_debt_yen(options->debt_yen);
               response->set_needed_yen(options->needed_yen);
               response->set_shortfall_yen(options->shortfall_yen);
               response->set_suggested_denomination(
                   options->suggested_denomination_yen == 0
                       ? pb::DENOMINATION_UNSPECIFIED
                       : DenominationOf(options->suggested_denomination_yen));
               if (options->return_link.has_value()) {
                 response->mutable_return_link()->set_url(options->return_link->url);
                 response->mutable_return_link()->set_origin(options->return_link->origin);
               }
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* PaymentServer::CreateChargeOrder(
    grpc::CallbackServerContext* context, const pb::CreateChargeOrderRequest* request,
    pb::CreateChargeOrderResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string& caller) -> absl::Status {
               CreateRequest create;
               create.seller_id = request->seller_id();
               create.caller = caller;
               create.idempotency_key = request->idempotency_key();
               create.denomination_yen = request->denomination();
               // An unknown number stays as sent, for UNKNOWN_PAYMENT_METHOD to name it.
               const std::optional<Method> method = FromProto(request->method());
               create.method_code =
                   method.has_value() ? static_cast<int64_t>(*method) : int64_t{request->method()};
               create.payment_token = request->payment_token();
               create.qsign_password = request->qsign_password();
               create.return_url = request->return_url();
               auto result = payments_->orders->CreateOrder(create);
               if (!result.ok()) return result.status();
               FillOrder(result->order, response->mutable_order());
               response->set_replayed(result->replayed);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* PaymentServer::GetChargeOrder(grpc::CallbackServerContext* context,
                                                        const pb::GetChargeOrderRequest* request,
                                                        pb::GetChargeOrderResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string&) -> absl::Status {
               auto view = payments_->orders->GetOrder(request->seller_id(), request->order_id());
               if (!view.ok()) return view.status();
               pb::ChargeOrder* out = response->mutable_order();
               FillOrder(view->order, out);
               auto settled = payments_->settlement->OfOrder(view->order.order_id);
               if (!settled.ok()) return settled.status();
               if (settled->settled_at != absl::InfinitePast()) {
                 SetTimestamp(settled->settled_at, out->mutable_settled_at());
               }
               out->set_settled_yen(settled->settled_yen);
               out->set_fee_yen(settled->fee_yen);
               for (const Transition& t : view->transitions) {
                 pb::Transition* tr = out->add_transitions();
                 if (t.from.has_value()) tr->set_from(ToProto(*t.from));
                 tr->set_to(ToProto(t.to));
                 tr->set_actor(t.actor);
                 tr->set_reason(t.reason);
                 SetTimestampIfAny(t.at, tr->mutable_at());
               }
               for (const Reversal& r : view->reversals) {
                 pb::Reversal* rv = out->add_reversals();
                 rv->set_reversal_id(r.reversal_id);
                 rv->set_kind(ToProto(r.kind));
                 rv->set_amount_yen(r.amount_yen);
                 rv->set_state(ToProto(r.state));
                 SetTimestampIfAny(r.reversed_at, rv->mutable_reversed_at());
                 SetTimestampIfAny(r.received_at, rv->mutable_received_at());
                 SetTimestampIfAny(r.applied_at, rv->mutable_applied_at());
                 rv->set_clawed_back_yen(r.clawed_back_yen);
                 rv->set_debt_yen(r.debt_yen);
                 rv->set_wallet_entry_seq(r.wallet_entry_seq);
               }
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* PaymentServer::CompleteRedirect(
    grpc::CallbackServerContext* context, const pb::CompleteRedirectRequest* request,
    pb::CompleteRedirectResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string& caller) -> absl::Status {
               auto order = payments_->orders->CompleteRedirect(caller, request->seller_id(),
                                                                request->order_id());
               if (!order.ok()) return order.status();
               FillOrder(*order, response->mutable_order());
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* PaymentServer::CancelChargeOrder(
    grpc::CallbackServerContext* context, const pb::CancelChargeOrderRequest* request,
    pb::CancelChargeOrderResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string& caller) -> absl::Status {
               auto result = payments_->orders->CancelOrder(
                   caller, request->seller_id(), request->idempotency_key(), request->order_id());
               if (!result.ok()) return result.status();
               FillOrder(result->order, response->mutable_order());
               response->set_replayed(result->replayed);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* PaymentServer::ListChargeOrders(
    grpc::CallbackServerContext* context, const pb::ListChargeOrdersRequest* request,
    pb::ListChargeOrdersResponse* response) {
  return Run(
      context, workers_, kDomain, [this, request, response](const std::string&) -> absl::Status {
        auto page_size = PageSize(request->page_size(), kOrdersPageDefault);
        if (!page_size.ok()) return page_size.status();
        auto after = DecodePageToken(request->page_token());
        if (!after.ok()) return after.status();
        std::vector<int16_t> states;
        if (request->states_size() > 7) {
          return InvalidArgument(pb::INVALID_ORDER_STATE, "at most the seven states");
        }
        for (int state : request->states()) {
          const std::optional<OrderState> known = FromProto(static_cast<pb::OrderState>(state));
          if (!known.has_value()) {
            return InvalidArgument(pb::INVALID_ORDER_STATE,
                                   absl::StrCat("unknown order state ", state));
          }
          states.push_back(static_cast<int16_t>(*known));
        }
        auto orders =
            payments_->orders->ListOrders(request->seller_id(), *after, states, *page_size + 1);
        if (!orders.ok()) return orders.status();
        response->set_next_page_token(FillPage(*orders, *page_size, response->mutable_orders()));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PaymentServer::IssueReceipt(grpc::CallbackServerContext* context,
                                                      const pb::IssueReceiptRequest* request,
                                                      pb::IssueReceiptResponse* response) {
  return Run(
      context, workers_, kDomain, [this, request, response](const std::string&) -> absl::Status {
        auto receipt = payments_->orders->IssueReceipt(request->seller_id(), request->order_id());
        if (!receipt.ok()) return receipt.status();
        FillOrder(receipt->order, response->mutable_order());
        response->set_receipt_number(absl::StrCat("R-", receipt->order.order_id));
        response->set_issue_number(static_cast<int32_t>(receipt->issue.issue_number));
        SetTimestampIfAny(receipt->issue.first_issued_at, response->mutable_first_issued_at());
        SetTimestampIfAny(receipt->issue.issued_at, response->mutable_issued_at());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PaymentServer::SetQsignPassword(
    grpc::CallbackServerContext* context, const pb::SetQsignPasswordRequest* request,
    pb::SetQsignPasswordResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string& caller) -> absl::Status {
               auto replayed = payments_->qsign->SetPassword(
                   caller, request->seller_id(), request->idempotency_key(),
                   request->current_password(), request->new_password());
               if (!replayed.ok()) return replayed.status();
               response->set_replayed(*replayed);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* PaymentServer::HandleProviderNotification(
    grpc::CallbackServerContext* context, const pb::HandleProviderNotificationRequest* request,
    pb::HandleProviderNotificationResponse* response) {
  return Run(
      context, workers_, kDomain, [this, request, response](const std::string&) -> absl::Status {
        const std::map<std::string, std::string> headers(request->headers().begin(),
                                                         request->headers().end());
        auto result =
            payments_->notifications->Handle(request->provider(), request->body(), headers);
        if (!result.ok()) return result.status();
        switch (result->disposition) {
          case NotificationIntake::Disposition::kApplied:
            response->set_disposition(pb::HandleProviderNotificationResponse::DISPOSITION_APPLIED);
            break;
          case NotificationIntake::Disposition::kDuplicate:
            response->set_disposition(
                pb::HandleProviderNotificationResponse::DISPOSITION_DUPLICATE);
            break;
          case NotificationIntake::Disposition::kNoEffect:
          default:
            response->set_disposition(
                pb::HandleProviderNotificationResponse::DISPOSITION_NO_EFFECT);
            break;
        }
        response->set_notification_id(result->notification_id);
        response->set_order_id(result->order_id);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PaymentServer::ListStuckOrders(grpc::CallbackServerContext* context,
                                                         const pb::ListStuckOrdersRequest* request,
                                                         pb::ListStuckOrdersResponse* response) {
  return Run(
      context, workers_, kDomain, [this, request, response](const std::string&) -> absl::Status {
        auto page_size = PageSize(request->page_size(), kStuckPageDefault);
        if (!page_size.ok()) return page_size.status();
        auto after = DecodePageToken(request->page_token());
        if (!after.ok()) return after.status();
        if (request->min_age_seconds() < 0 || request->min_age_seconds() > 86'400 * 365) {
          return InvalidArgument(pb::INVALID_MIN_AGE, "min_age_seconds must be in [0, one year]");
        }
        const int64_t min_age_s =
            request->min_age_seconds() == 0 ? kStuckMinAgeDefaultS : request->min_age_seconds();
        auto orders = payments_->operator_queries->ListStuck(absl::Seconds(min_age_s), *after,
                                                             *page_size + 1);
        if (!orders.ok()) return orders.status();
        response->set_next_page_token(FillPage(*orders, *page_size, response->mutable_orders()));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PaymentServer::RetryCredit(grpc::CallbackServerContext* context,
                                                     const pb::RetryCreditRequest* request,
                                                     pb::RetryCreditResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string& caller) -> absl::Status {
               auto order = payments_->operator_queries->RetryCredit(
                   caller, request->seller_id(), request->idempotency_key(), request->order_id());
               if (!order.ok()) return order.status();
               FillOrder(*order, response->mutable_order());
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* PaymentServer::ImportSettlementReport(
    grpc::CallbackServerContext* context, const pb::ImportSettlementReportRequest* request,
    pb::ImportSettlementReportResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string& caller) -> absl::Status {
               auto result = payments_->settlement->Import(
                   request->provider(), request->file_name(), request->content(), caller);
               if (!result.ok()) {
                 CountImport(request->provider(),
                             absl::IsInvalidArgument(result.status()) ? "refused" : "failed");
                 return result.status();
               }
               CountImport(request->provider(), result->replayed ? "replayed" : "imported");
               response->set_report_id(result->report_id);
               response->set_replayed(result->replayed);
               response->set_lines(result->lines);
               response->set_matched(result->matched);
               response->set_mismatches(result->mismatches);
               for (const auto& [kind, count] : result->by_kind) {
                 pb::MismatchCount* c = response->add_by_kind();
                 c->set_kind(static_cast<pb::MismatchKind>(kind));
                 c->set_count(count);
               }
               return payments_->settlement->PublishMetrics();
             });
}

grpc::ServerUnaryReactor* PaymentServer::ListSettlementMismatches(
    grpc::CallbackServerContext* context, const pb::ListSettlementMismatchesRequest* request,
    pb::ListSettlementMismatchesResponse* response) {
  return Run(
      context, workers_, kDomain, [this, request, response](const std::string&) -> absl::Status {
        if (request->page_size() < 0 || request->page_size() > kMismatchPageMax) {
          return InvalidArgument(pb::INVALID_PAGE_SIZE,
                                 absl::StrCat("page_size must be in [0, ", kMismatchPageMax, "]"));
        }
        const int page_size =
            request->page_size() == 0 ? kMismatchPageDefault : request->page_size();
        auto after = DecodeMismatchToken(request->page_token());
        if (!after.ok()) return after.status();
        const std::vector<int> kinds(request->kinds().begin(), request->kinds().end());
        auto page = payments_->settlement->List(request->provider(), kinds,
                                                request->include_resolved(), *after, page_size);
        if (!page.ok()) return page.status();
        const absl::Time now = payments_->settlement->Now();
        for (const SettlementMismatchRecord& m : page->mismatches) {
          FillMismatch(m, now, response->add_mismatches());
        }
        if (page->next.has_value()) {
          response->set_next_page_token(EncodeMismatchToken(*page->next));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PaymentServer::ResolveSettlementMismatch(
    grpc::CallbackServerContext* context, const pb::ResolveSettlementMismatchRequest* request,
    pb::ResolveSettlementMismatchResponse* response) {
  return Run(context, workers_, kDomain,
             [this, request, response](const std::string& caller) -> absl::Status {
               auto resolved = payments_->settlement->Resolve(
                   caller, request->idempotency_key(), request->mismatch_id(), request->operator_(),
                   request->reason());
               if (!resolved.ok()) return resolved.status();
               FillMismatch(resolved->mismatch, payments_->settlement->Now(),
                            response->mutable_mismatch());
               response->set_replayed(resolved->replayed);
               return payments_->settlement->PublishMetrics();
             });
}

grpc::ServerUnaryReactor* PaymentServer::GetSettlementSummary(
    grpc::CallbackServerContext* context, const pb::GetSettlementSummaryRequest* request,
    pb::GetSettlementSummaryResponse* response) {
  return Run(
      context, workers_, kDomain, [this, request, response](const std::string&) -> absl::Status {
        auto summary = payments_->settlement->Summarize(request->from_date(), request->to_date());
        if (!summary.ok()) return summary.status();
        for (const Settlement::ProviderSummary& s : *summary) {
          pb::ProviderSettlement* out = response->add_providers();
          out->set_provider(s.row.provider);
          out->set_paid_orders(s.row.paid_orders);
          out->set_paid_yen(s.row.paid_yen);
          out->set_settled_orders(s.row.settled_orders);
          out->set_settled_yen(s.row.settled_yen);
          out->set_fee_yen(s.row.fee_yen);
          out->set_net_yen(s.net_yen);
          out->set_unsettled_yen(s.unsettled_yen);
          out->set_reversed_yen(s.row.reversed_yen);
          out->set_open_mismatches(s.row.open_mismatches);
        }
        return absl::OkStatus();
      });
}

}  // namespace qcash::payment
