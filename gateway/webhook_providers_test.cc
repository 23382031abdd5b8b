// The gateway's list of webhook providers (routes.h) is the payment catalog's, no more, no less:
// a provider the catalog gains is not refused at the gateway, and a name the catalog does not
// know never reaches the payment service.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "gateway/routes.h"
#include "services/payment/catalog.h"

namespace qcash::gateway {
namespace {

TEST(WebhookProvidersTest, GatewayListIsThePaymentCatalogs) {
  std::set<std::string> catalog;
  for (const payment::MethodInfo& info : payment::kMethods) {
    if (!info.provider.empty()) catalog.insert(std::string(info.provider));
  }
  const std::set<std::string> gateway(WebhookProviders().begin(), WebhookProviders().end());
  EXPECT_EQ(gateway, catalog);
  EXPECT_EQ(gateway.size(), WebhookProviders().size()) << "a provider is listed twice";
  for (const std::string& provider : catalog) {
    EXPECT_TRUE(IsWebhookProvider(provider)) << provider;
    EXPECT_NE(payment::FindProvider(provider), nullptr) << provider;
  }
  for (const char* unknown : {"", "stripe", "Card", "card ", "qmoney", "../card"}) {
    EXPECT_FALSE(IsWebhookProvider(unknown)) << unknown;
    EXPECT_EQ(payment::FindProvider(unknown), nullptr) << unknown;
  }
}

}  // namespace
}  // namespace qcash::gateway
