#include "services/payment/orders.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/wallet/client/refusal.h"

namespace qcash::payment {

Orders::Orders(OrderStore* store, OrderFlow* flow, QsignVault* vault, WalletPort* wallet,
               const ConnectorRegistry* connectors, const Clock* clock,
               ReturnOrigins return_origins)
    : store_(store),
      flow_(flow),
      vault_(vault),
      wallet_(wallet),
      connectors_(connectors),
      clock_(clock),
      return_origins_(std::move(return_origins)) {}

bool IsPayLater(Method method) { return method == Method::kAtone || method == Method::kPaidy; }

// ---------------------------------------------------------------------------- options (P4)

absl::StatusOr<Orders::ChargeOptions> Orders::ListChargeOptions(const OptionsRequest& request) {
  const std::string& seller_id = request.seller_id;
  const int64_t denomination_yen = request.denomination_yen;
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (denomination_yen != 0 && !IsDenomination(denomination_yen)) {
    return InvalidArgument(payment::v1::UNKNOWN_DENOMINATION,
                           absl::StrCat(denomination_yen, " is not a charge voucher"));
  }
  if (request.needed_yen < 0 || request.needed_yen > kNeededYenMax) {
    return InvalidArgument(payment::v1::INVALID_NEEDED_AMOUNT,
                           absl::StrCat("needed_yen must be in [0, ", kNeededYenMax, "]"));
  }
  std::optional<ReturnLink> return_link;
  if (!request.return_url.empty()) {
    auto link = return_origins_.Check(request.return_url);
    if (!link.ok()) return link.status();
    return_link = std::move(*link);
  }
  const int64_t price_yen = denomination_yen != 0 ? denomination_yen : kDenominationsYen[0];
  auto balance = wallet_->GetBalance(seller_id);
  if (!balance.ok() && wallet::IsDefiniteRefusal(balance.status())) return balance.status();
  if (balance.ok() && balance->closed) {
    return FailedPrecondition(payment::v1::WALLET_CLOSED,
                              "the shop has closed; it charges nothing (W5)");
  }
  auto qsign_problem = vault_->Problem(seller_id);
  if (!qsign_problem.ok()) return qsign_problem.status();
  ChargeOptions options;
  if (balance.ok()) {
    options.qcash_available_yen = balance->available_yen;
    options.debt_yen = balance->debt_yen;
  }
  options.needed_yen = request.needed_yen;
  options.shortfall_yen = std::max<int64_t>(0, request.needed_yen - options.qcash_available_yen);
  options.suggested_denomination_yen = CoveringDenomination(options.shortfall_yen);
  options.return_link = std::move(return_link);
  for (const MethodInfo& info : kMethods) {
    MethodAvailability m;
    m.info = &info;
    if (IsProviderFamily(info.family)) {
      m.available = connectors_->ForMethod(info.method) != nullptr;
      if (!m.available) {
        m.unavailable_reason = "PROVIDER_NOT_CONFIGURED";
      } else if (options.debt_yen > 0 && IsPayLater(info.method)) {
        m.available = false;  // DESIGN.md section 9
        m.unavailable_reason = "DEBT_OUTSTANDING";
      } else {
        m.denominations_yen.assign(kDenominationsYen.begin(), kDenominationsYen.end());
      }
    } else if (!balance.ok()) {
      m.unavailable_reason = "BALANCE_UNKNOWN";
    } else {
      m.funds_balance_yen =
          info.method == Method::kQmoney ? balance->qmoney_yen : balance->pending_settlement_yen;
      for (int64_t d : kDenominationsYen) {
        if (d <= m.funds_balance_yen) m.denominations_yen.push_back(d);  // P4
      }
      // The reason is the one that blocks (issue 15): with too little money a Q-sign password
      // would not help, so the funds come first, then a password not set, then the lock.
      if (m.funds_balance_yen < price_yen) {
        m.unavailable_reason = "INSUFFICIENT_FUNDS";  // P4
      } else if (!qsign_problem->empty()) {
        m.unavailable_reason = *qsign_problem;  // P3
        m.denominations_yen.clear();
      } else {
        m.available = true;
      }
    }
    options.methods.push_back(std::move(m));
  }
  return options;
}

// ---------------------------------------------------------------------------- orders

absl::StatusOr<Orders::OrderResult> Orders::CreateOrder(const CreateRequest& request) {
  auto method = ValidateCreate(request);
  if (!method.ok()) return method.status();
  std::string return_url;
  if (!request.return_url.empty()) {
    auto link = return_origins_.Check(request.return_url);
    if (!link.ok()) return link.status();
    return_url = std::move(link->url);
  }
  const std::string hash = CreateRequestHash(request);
  auto resume_existing = [&](const Order& existing) -> absl::StatusOr<OrderResult> {
    if (existing.request_hash != hash) {
      return InvalidArgument(payment::v1::IDEMPOTENCY_KEY_REUSED,
                             "this idempotency key was used for a different order");
    }
    auto resumed = flow_->Resume(existing, request.caller, request.payment_token);
    if (!resumed.ok()) return resumed.status();
    return OrderResult{std::move(*resumed), /*replayed=*/true};
  };
  auto find_existing = [&] {
    return store_->Run([&](OrderStore::Session& session) {
      return session.FindOrderByKey(request.seller_id, request.caller, request.idempotency_key);
    });
  };
  auto existing = find_existing();
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return resume_existing(**existing);

  // W5: a closed shop charges nothing; and the wallet must exist before money is taken.
  auto balance = wallet_->GetBalance(request.seller_id);
  if (!balance.ok()) return WalletError(balance.status());
  if (balance->closed) {
    return FailedPrecondition(payment::v1::WALLET_CLOSED,
                              "the shop has closed; it charges nothing (W5)");
  }
  const MethodInfo& info = **method;
  if (balance->debt_yen > 0 && IsPayLater(info.method)) {  // DESIGN.md section 9
    return FailedPrecondition(
        payment::v1::DEBT_OUTSTANDING,
        absl::StrCat(info.label, " is not offered while ", balance->debt_yen,
                     " yen taken back by a reversed payment are still owed (未回収額)"));
  }
  if (info.family == Family::kInternalFunds) {
    // The refusal names what actually blocks (issue 15): too little money first, since a
    // password would not help, then the password (not set, locked, wrong). The balance is the
    // seller's own and on the charge page anyway (ListChargeOptions), so checking it first
    // tells a wrong password nothing new, and a charge that cannot happen spends no attempt.
    const int64_t funds_yen =
        info.method == Method::kQmoney ? balance->qmoney_yen : balance->pending_settlement_yen;
    if (funds_yen < request.denomination_yen) {  // P4 (the wallet checks again, atomically)
      return FailedPrecondition(
          payment::v1::INSUFFICIENT_FUNDS,
          absl::StrCat(info.label, " does not cover ", request.denomination_yen, " yen"));
    }
    if (absl::Status s = vault_->CheckPassword(request.seller_id, request.qsign_password);
        !s.ok()) {
      return s;
    }
  } else if (connectors_->ForMethod(info.method) == nullptr) {
    return FailedPrecondition(payment::v1::PROVIDER_NOT_CONFIGURED,
                              "the method has no provider here");
  }

  const absl::Time now = clock_->Now();
  Order order;
  order.order_id = NewOrderId();
  order.seller_id = request.seller_id;
  order.caller = request.caller;
  order.idempotency_key = request.idempotency_key;
  order.request_hash = hash;
  order.amount_yen = request.denomination_yen;
  order.method = info.method;
  order.family = info.family;
  order.provider = std::string(info.provider);
  order.state = OrderState::kCreated;
  order.deadline = now + flow_->TtlOf(info.family);
  order.return_url = std::move(return_url);
  Transition created;
  created.actor = request.caller;
  created.reason =
      absl::StrCat("ordered ", DenominationLabel(order.amount_yen), " with ", info.label);
  auto inserted = store_->Run([&](OrderStore::Session& session) {
    return session.InsertOrder(order, *flow_->NextLook(order, OrderState::kCreated, now), created);
  });
  if (!inserted.ok()) return inserted.status();
  if (!*inserted) {  // the same key concurrently: one order, the other call resumes it
    auto raced = find_existing();
    if (!raced.ok()) return raced.status();
    if (!raced->has_value()) {
      return Aborted(common::v1::DATABASE_CONFLICT, "retry with the same key");
    }
    return resume_existing(**raced);
  }
  Log(LogLevel::kInfo, "order_created",
      {{"order_id", order.order_id},
       {"seller_id", order.seller_id},
       {"amount_yen", order.amount_yen},
       {"method", std::string(info.provider.empty() ? info.label : info.provider)}});
  auto resumed = flow_->Resume(std::move(order), request.caller, request.payment_token);
  if (!resumed.ok()) return resumed.status();
  return OrderResult{std::move(*resumed), /*replayed=*/false};
}

absl::StatusOr<Orders::OrderView> Orders::GetOrder(const std::string& seller_id,
                                                   const std::string& order_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (!CheckOrderId(order_id).ok()) return OrderNotFound();
  return store_->Run([&](OrderStore::Session& session) -> absl::StatusOr<OrderView> {
    auto order = LoadSellerOrder(session, seller_id, order_id);
    if (!order.ok()) return order.status();
    auto transitions = session.LoadTransitions(order_id);
    if (!transitions.ok()) return transitions.status();
    auto reversals = session.LoadReversals(seller_id, order_id);
    if (!reversals.ok()) return reversals.status();
    return OrderView{std::move(*order), std::move(*transitions), std::move(*reversals)};
  });
}

absl::StatusOr<Order> Orders::CompleteRedirect(const std::string& caller,
                                               const std::string& seller_id,
                                               const std::string& order_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (!CheckOrderId(order_id).ok()) return OrderNotFound();
  auto load = [&] {
    return store_->Run([&](OrderStore::Session& session) {
      return LoadSellerOrder(session, seller_id, order_id);
    });
  };
  auto order = load();
  if (!order.ok()) return order.status();
  if (order->family != Family::kRedirect) {
    return FailedPrecondition(payment::v1::NOT_A_REDIRECT_ORDER,
                              "only orders of the redirect family come back from a provider");
  }
  if (order->state == OrderState::kCreated || order->state == OrderState::kAwaitingPayment) {
    // Never trust the browser's word: ask the provider (P2, redirect-and-confirm).
    Connector* connector = connectors_->ForMethod(order->method);
    if (connector == nullptr) return NotConfigured(*order);
    auto payment = connector->Lookup(order_id);
    if (!payment.ok() && payment.status().code() != absl::StatusCode::kNotFound) {
      return payment.status();
    }
    order = store_->Run([&](OrderStore::Session& session) -> absl::StatusOr<Order> {
      if (payment.ok()) {
        auto moved = flow_->ApplyReport(session, *order, *payment, ReportContext::kObserved, caller,
                                        std::nullopt);
        if (!moved.ok()) return moved.status();
      }
      return LoadSellerOrder(session, seller_id, order_id);
    });
    if (!order.ok()) return order.status();
  }
  return flow_->Resume(std::move(*order), caller, std::nullopt);
}

absl::StatusOr<Orders::OrderResult> Orders::CancelOrder(const std::string& caller,
                                                        const std::string& seller_id,
                                                        const std::string& idempotency_key,
                                                        const std::string& order_id) {
  if (absl::Status s = CheckOrderRequest(seller_id, idempotency_key, order_id); !s.ok()) return s;
  const std::string hash = Fingerprint().Add("cancel").Add(seller_id).Add(order_id).Hex();
  const RequestKey key_record{"cancel", hash, order_id};
  auto load = [&] {
    return store_->Run([&](OrderStore::Session& session) {
      return LoadSellerOrder(session, seller_id, order_id);
    });
  };
  auto replay = store_->Run([&](OrderStore::Session& session) {
    return FindReplay(session, caller, seller_id, idempotency_key, "cancel", hash);
  });
  if (!replay.ok()) return replay.status();
  if (*replay) {
    auto order = load();
    if (!order.ok()) return order.status();
    return OrderResult{std::move(*order), /*replayed=*/true};
  }
  // Two rounds at most: the provider may report a change that moves the order first.
  for (int round = 0; round < 2; ++round) {
    auto order = load();
    if (!order.ok()) return order.status();
    switch (order->state) {
      case OrderState::kCancelled: {
        auto recorded = store_->Run([&](OrderStore::Session& session) {
          return session.InsertRequestKey(caller, seller_id, idempotency_key, key_record);
        });
        if (!recorded.ok()) return recorded.status();
        return OrderResult{std::move(*order), /*replayed=*/false};
      }
      case OrderState::kPaid:
      case OrderState::kCredited:
        return FailedPrecondition(payment::v1::ORDER_ALREADY_PAID,
                                  "the order is paid; after payment there is no cancellation (P5)");
      case OrderState::kFailed:
      case OrderState::kExpired:
        return FailedPrecondition(payment::v1::ORDER_CLOSED,
                                  absl::StrCat("the order is ", StateName(order->state)));
      default:
        break;
    }
    if (!IsProviderFamily(order->family)) {
      return FailedPrecondition(payment::v1::ORDER_IN_PROGRESS,
                                "the seller signed the internal-funds charge; it completes");
    }
    // The provider first (no lease held): it alone knows whether the seller paid meanwhile.
    Connector* connector = connectors_->ForMethod(order->method);
    if (connector == nullptr) return NotConfigured(*order);
    auto answer = ReportOf(connector->Cancel(order_id));
    if (!answer.ok()) return answer.status();
    const ProviderPayment report = std::move(*answer);
    const Decision decision =
        DecideOnReport(*order, report.status, ReportContext::kSellerCancel, report.decline_reason);
    if (!decision.to.has_value()) {
      return Unavailable(payment::v1::PROVIDER_UNAVAILABLE,
                         "the provider did not confirm the cancellation; retry with the same key");
    }
    if (*decision.to == OrderState::kCancelled) {
      OrderChange change;
      change.to = OrderState::kCancelled;
      change.actor = caller;
      change.reason = "cancelled by the seller; the provider confirmed";
      change.failure_reason = "CANCELLED_BY_SELLER";
      if (!report.payment_id.empty()) change.provider_payment_id = report.payment_id;
      // The move and the key in one transaction: a retry with the key finds both or neither.
      auto cancelled = store_->Transact([&](OrderStore::Session& session) -> absl::StatusOr<bool> {
        auto moved = flow_->Move(session, *order, std::move(change));
        if (!moved.ok()) return moved.status();
        if (!*moved) return false;
        auto recorded = session.InsertRequestKey(caller, seller_id, idempotency_key, key_record);
        if (!recorded.ok()) return recorded.status();
        return true;
      });
      if (!cancelled.ok()) return cancelled.status();
      if (!*cancelled) continue;  // it moved meanwhile: look again
      auto now_cancelled = load();
      if (!now_cancelled.ok()) return now_cancelled.status();
      return OrderResult{std::move(*now_cancelled), /*replayed=*/false};
    }
    // The seller paid (or the payment failed) before the cancel reached the provider.
    auto moved = store_->Run([&](OrderStore::Session& session) {
      return flow_->ApplyReport(session, *order, report, ReportContext::kSellerCancel,
                                ProviderActor(order->provider), std::nullopt);
    });
    if (!moved.ok()) return moved.status();
  }
  auto order = load();
  if (!order.ok()) return order.status();
  if (order->state == OrderState::kPaid) {
    flow_->Resume(*order, caller, std::nullopt).IgnoreError();  // credits; else reconciler
  }
  if (order->state == OrderState::kPaid || order->state == OrderState::kCredited) {
    return FailedPrecondition(
        payment::v1::ORDER_ALREADY_PAID,
        "the seller paid before the cancellation; the Qcash is being credited");
  }
  return FailedPrecondition(payment::v1::ORDER_CLOSED,
                            absl::StrCat("the order is ", StateName(order->state)));
}

absl::StatusOr<Orders::Receipt> Orders::IssueReceipt(const std::string& seller_id,
                                                     const std::string& order_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (!CheckOrderId(order_id).ok()) return OrderNotFound();
  // One transaction: the order read and the issue counted together. A paid order never moves
  // back, so the state read here still holds when the issue is recorded.
  return store_->Transact([&](OrderStore::Session& session) -> absl::StatusOr<Receipt> {
    auto order = LoadSellerOrder(session, seller_id, order_id);
    if (!order.ok()) return order.status();
    if (order->state != OrderState::kPaid && order->state != OrderState::kCredited) {
      return FailedPrecondition(
          payment::v1::RECEIPT_NOT_AVAILABLE,
          absl::StrCat("a receipt is for money received; the order is ", StateName(order->state)));
    }
    auto issue = session.IssueReceipt(seller_id, order_id);
    if (!issue.ok()) return issue.status();
    return Receipt{std::move(*order), *issue};
  });
}

absl::StatusOr<std::vector<Order>> Orders::ListOrders(const std::string& seller_id,
                                                      const std::optional<PageCursor>& after,
                                                      const std::vector<int16_t>& states,
                                                      int limit) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  return store_->Run([&](OrderStore::Session& session) {
    return session.ListOrders(seller_id, after, states, limit);
  });
}

}  // namespace qcash::payment
