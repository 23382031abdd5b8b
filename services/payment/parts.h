// The parts of the payment service the gRPC layer calls, each with one job; main.cc builds
// them over one OrderStore, one Clock, the WalletPort and the ConnectorRegistry.
#ifndef QCASH_SERVICES_PAYMENT_PARTS_H_
#define QCASH_SERVICES_PAYMENT_PARTS_H_

#include "services/payment/notifications.h"
#include "services/payment/operator_queries.h"
#include "services/payment/orders.h"
#include "services/payment/qsign_vault.h"
#include "services/payment/settlement.h"

namespace qcash::payment {

// Non-owning; every pointer is set and outlives the server.
struct PaymentParts {
  Orders* orders = nullptr;
  QsignVault* qsign = nullptr;
  NotificationIntake* notifications = nullptr;
  OperatorQueries* operator_queries = nullptr;
  Settlement* settlement = nullptr;  // issue 16: settlement reconciliation
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_PARTS_H_
