#include "services/payment/order.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/page_token.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

absl::string_view StateName(OrderState state) {
  switch (state) {
    case OrderState::kCreated:
      return "CREATED";
    case OrderState::kAwaitingPayment:
      return "AWAITING_PAYMENT";
    case OrderState::kPaid:
      return "PAID";
    case OrderState::kCredited:
      return "CREDITED";
    case OrderState::kFailed:
      return "FAILED";
    case OrderState::kExpired:
      return "EXPIRED";
    case OrderState::kCancelled:
      return "CANCELLED";
    default:
      return "UNKNOWN";
  }
}

bool IsFinal(OrderState state) {
  switch (state) {
    case OrderState::kCredited:
    case OrderState::kFailed:
    case OrderState::kExpired:
    case OrderState::kCancelled:
      return true;
    default:
      return false;
  }
}

bool IsOrderState(int64_t code) {
  return code >= static_cast<int64_t>(OrderState::kCreated) &&
         code <= static_cast<int64_t>(OrderState::kCancelled);
}

bool CanTransition(Family family, OrderState from, OrderState to) {
  const bool internal = family == Family::kInternalFunds;
  switch (from) {
    case OrderState::kCreated:
      if (internal) {
        // The wallet moves the funds and credits Qcash in one transaction (P1, P4): there is
        // no PAID in between, and nothing to cancel once the seller signed with Q-sign (P3).
        return to == OrderState::kCredited || to == OrderState::kFailed;
      }
      return to == OrderState::kAwaitingPayment || to == OrderState::kPaid ||
             to == OrderState::kFailed || to == OrderState::kExpired ||
             to == OrderState::kCancelled;
    case OrderState::kAwaitingPayment:
      return !internal && (to == OrderState::kPaid || to == OrderState::kFailed ||
                           to == OrderState::kExpired || to == OrderState::kCancelled);
    case OrderState::kPaid:
      return to == OrderState::kCredited;  // P5: after payment, only the credit
    default:
      return false;  // final states never move
  }
}

absl::Status CheckOrderId(absl::string_view order_id) {
  if (order_id.size() != kOrderIdLength || order_id.substr(0, 3) != "co_" ||
      !std::all_of(order_id.begin() + 3, order_id.end(), IsLowerHex)) {
    return InvalidArgument(payment::v1::INVALID_ORDER_ID,
                           "order_id must be an id this service issued");
  }
  return absl::OkStatus();
}

absl::StatusOr<const MethodInfo*> ValidateCreate(const CreateRequest& request) {
  if (absl::Status s = CheckSellerId(request.seller_id); !s.ok()) return s;
  if (absl::Status s = CheckIdempotencyKey(request.idempotency_key); !s.ok()) return s;
  if (!IsDenomination(request.denomination_yen)) {  // W2
    return InvalidArgument(
        payment::v1::UNKNOWN_DENOMINATION,
        absl::StrCat(request.denomination_yen,
                     " is not a charge voucher; the twelve are 100, 500, 1,000, 3,000, 5,000, "
                     "10,000, 30,000, 50,000, 100,000, 300,000, 500,000 and 1,000,000 yen"));
  }
  const MethodInfo* method = FindMethod(request.method_code);
  if (method == nullptr) {  // P1
    return InvalidArgument(
        payment::v1::UNKNOWN_PAYMENT_METHOD,
        absl::StrCat("payment method ", request.method_code, " is not one of the eleven methods"));
  }
  if (method->method == Method::kCard) {
    if (request.payment_token.empty()) {
      return InvalidArgument(payment::v1::MISSING_PAYMENT_TOKEN,
                             "a card payment needs the token of the card provider's page");
    }
    if (request.payment_token.size() > kPaymentTokenLengthMax ||
        !IsPrintableAscii(request.payment_token)) {
      return InvalidArgument(payment::v1::INVALID_PAYMENT_TOKEN,
                             "payment_token must be 1 to 256 printable ASCII characters");
    }
  } else if (!request.payment_token.empty()) {
    return InvalidArgument(payment::v1::UNEXPECTED_PAYMENT_TOKEN,
                           "only a card payment takes a token");
  }
  if (method->family == Family::kInternalFunds) {
    if (request.qsign_password.empty()) {  // P3
      return InvalidArgument(payment::v1::MISSING_QSIGN_PASSWORD,
                             "Qmoney and pending settlement need the Q-sign password");
    }
  } else if (!request.qsign_password.empty()) {
    // A password sent where none is needed is a client bug that spreads a secret; refuse it.
    return InvalidArgument(payment::v1::UNEXPECTED_QSIGN_PASSWORD,
                           "only Qmoney and pending settlement take the Q-sign password");
  }
  return method;
}

std::string CreateRequestHash(const CreateRequest& request) {
  return Fingerprint()
      .Add("create")
      .Add(request.seller_id)
      .Add(request.denomination_yen)
      .Add(request.method_code)
      .Add(request.payment_token)
      .Hex();
}

std::string NewOrderId() {
  if (sodium_init() < 0) std::abort();
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof(bytes));
  char hex[sizeof(bytes) * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), bytes, sizeof(bytes));
  return absl::StrCat("co_", hex);
}

absl::string_view ProviderStatusName(ProviderStatus status) {
  switch (status) {
    case ProviderStatus::kPending:
      return "pending";
    case ProviderStatus::kPaid:
      return "paid";
    case ProviderStatus::kDeclined:
      return "declined";
    case ProviderStatus::kCancelled:
      return "cancelled";
    case ProviderStatus::kExpired:
      return "expired";
    case ProviderStatus::kNotFound:
      return "not_found";
    default:
      return "unknown";
  }
}

Decision DecideOnReport(const Order& order, ProviderStatus status, ReportContext context,
                        absl::string_view detail) {
  Decision d;
  const std::string said = absl::StrCat("provider reports ", ProviderStatusName(status),
                                        detail.empty() ? "" : ": ", detail);
  if (order.family == Family::kInternalFunds) return d;  // no provider involved
  switch (order.state) {
    case OrderState::kCreated:
    case OrderState::kAwaitingPayment:
      switch (status) {
        case ProviderStatus::kPending:
          if (context == ReportContext::kSellerCancel || context == ReportContext::kExpiry) {
            // We asked for a cancellation and the provider did not confirm it: stay open and
            // ask again rather than close an order the seller might still pay.
            return d;
          }
          if (order.state == OrderState::kCreated) d.to = OrderState::kAwaitingPayment;
          break;
        case ProviderStatus::kPaid:
          d.to = OrderState::kPaid;
          break;
        case ProviderStatus::kDeclined:
          d.to = OrderState::kFailed;
          break;
        case ProviderStatus::kCancelled:
        case ProviderStatus::kExpired:
        case ProviderStatus::kNotFound:
          if (context == ReportContext::kSellerCancel) {
            d.to = OrderState::kCancelled;
          } else if (context == ReportContext::kExpiry || status == ProviderStatus::kExpired) {
            d.to = OrderState::kExpired;  // our expiry asked for, or the provider's own
          } else if (status == ProviderStatus::kCancelled) {
            d.to = OrderState::kFailed;  // cancelled on the provider's side, not by us
          }
          // kNotFound while observing: the provider may not have seen the payment yet.
          break;
        default:
          break;
      }
      break;
    case OrderState::kPaid:
    case OrderState::kCredited:
      break;  // P5: a payment is never undone; older or repeated reports change nothing
    case OrderState::kFailed:
    case OrderState::kExpired:
    case OrderState::kCancelled:
      if (status == ProviderStatus::kPaid) {
        // The provider took money for an order that closed unpaid. Crediting would reopen a
        // final state; ignoring it would keep the seller's money. Operators decide.
        d.attention = absl::StrCat(
            "LATE_PAYMENT: the provider reports a payment for an order "
            "that is ",
            StateName(order.state));
      }
      break;
    default:
      break;
  }
  if (d.to.has_value()) d.reason = said;
  return d;
}

absl::string_view ReversalKindName(ReversalKind kind) {
  switch (kind) {
    case ReversalKind::kChargeback:
      return "chargeback";
    case ReversalKind::kDefault:
      return "default";
    case ReversalKind::kRefund:
      return "refund";
    default:
      return "unknown";
  }
}

std::optional<ReversalKind> ParseReversalKind(absl::string_view name) {
  if (name == "chargeback") return ReversalKind::kChargeback;
  if (name == "default") return ReversalKind::kDefault;
  if (name == "refund") return ReversalKind::kRefund;
  return std::nullopt;
}

absl::string_view ReversalStateName(ReversalState state) {
  switch (state) {
    case ReversalState::kWaitingForCredit:
      return "WAITING_FOR_CREDIT";
    case ReversalState::kApplying:
      return "APPLYING";
    case ReversalState::kApplied:
      return "APPLIED";
    default:
      return "UNKNOWN";
  }
}

bool IsValidReversalId(absl::string_view reversal_id) {
  if (reversal_id.empty() || reversal_id.size() > kReversalIdLengthMax) return false;
  return std::all_of(reversal_id.begin(), reversal_id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

std::string ReversalKey(absl::string_view provider, absl::string_view reversal_id) {
  return absl::StrCat("reversal:", provider, ":", reversal_id);
}

ReversalOutcome DecideOnReversal(const Order& order, bool known, int64_t amount_yen) {
  if (known) return ReversalOutcome::kKnown;
  // Subtraction, not addition: amount_yen comes from outside and may be near the int64 limit.
  if (amount_yen <= 0 || amount_yen > order.amount_yen - order.reversed_yen) {
    return ReversalOutcome::kExceedsOrder;
  }
  return order.state == OrderState::kCredited ? ReversalOutcome::kRecordApplying
                                              : ReversalOutcome::kRecordWaiting;
}

absl::Duration RetryBackoff(int64_t attempts, absl::Duration max) {
  absl::Duration wait = absl::Seconds(1);
  for (int64_t i = 1; i < attempts && wait < max; ++i) wait *= 2;
  return std::min(wait, max);
}

std::string EncodePageToken(const PageCursor& cursor) {
  return PageTokenWriter("o").AddInt(cursor.created_at_us).AddText(cursor.order_id).Finish();
}

absl::StatusOr<std::optional<PageCursor>> DecodePageToken(absl::string_view token) {
  if (token.empty()) return std::optional<PageCursor>();
  std::optional<PageTokenReader> reader = PageTokenReader::Open("o", token, 2);
  PageCursor cursor;
  if (!reader || !reader->NextInt(&cursor.created_at_us) || cursor.created_at_us <= 0 ||
      !reader->NextText(&cursor.order_id) || !CheckOrderId(cursor.order_id).ok()) {
    return InvalidArgument(payment::v1::INVALID_PAGE_TOKEN,
                           "page_token is not one this service issued");
  }
  return std::optional<PageCursor>(cursor);
}

}  // namespace qcash::payment
