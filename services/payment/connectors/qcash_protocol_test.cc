#include "services/payment/connectors/qcash_protocol.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qcash::payment {
namespace {

constexpr absl::string_view kSecret = "paypal-dev-secret-for-unit-tests";

std::map<std::string, std::string> SignedHeaders(const std::string& body, int64_t ts) {
  return {{"x-qcash-timestamp", absl::StrCat(ts)}, {"x-qcash-signature", Sign(kSecret, ts, body)}};
}

// P7: an authentic notification parses into the event and the payment it reports.
TEST(QcashProtocolTest, P7ParsesAnAuthenticEvent) {
  const std::string body =
      R"({"event_id":"evt_1","type":"payment.paid","created_unix":"1700000000","payment":)"
      R"({"payment_id":"pay_1","merchant_reference":"co_00","amount_yen":"1000",)"
      R"("currency":"JPY","status":"paid","new_field_from_the_future":true}})";
  const absl::Time now = absl::FromUnixSeconds(1'700'000'010);
  auto n =
      ParseQcashNotification(kSecret, kSkewDefault, body, SignedHeaders(body, 1'700'000'000), now);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->event_id, "evt_1");
  EXPECT_EQ(n->payment.status, ProviderStatus::kPaid);
  EXPECT_EQ(n->payment.amount_yen, 1'000);
  EXPECT_EQ(n->payment.merchant_reference, "co_00");
  EXPECT_EQ(n->payment.payment_id, "pay_1");
}

TEST(QcashProtocolTest, P7RefusesWhatIsNotAnAuthenticWellFormedEvent) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  auto reason = [&](const std::string& body, const std::map<std::string, std::string>& headers) {
    return ReasonOf(ParseQcashNotification(kSecret, kSkewDefault, body, headers, now).status());
  };
  const std::string paid =
      R"({"event_id":"evt_1","payment":{"merchant_reference":"co_00","status":"paid"}})";
  EXPECT_EQ(reason(paid, SignedHeaders(paid + " ", 1'700'000'000)), "INVALID_SIGNATURE");
  EXPECT_EQ(reason(paid, SignedHeaders(paid, 1'699'999'000)), "STALE_TIMESTAMP");
  const std::string no_id = R"({"payment":{"merchant_reference":"co_00","status":"paid"}})";
  EXPECT_EQ(reason(no_id, SignedHeaders(no_id, 1'700'000'000)), "MALFORMED_NOTIFICATION");
  const std::string odd =
      R"({"event_id":"e","payment":{"merchant_reference":"co_00","status":"refunded"}})";
  EXPECT_EQ(reason(odd, SignedHeaders(odd, 1'700'000'000)), "MALFORMED_NOTIFICATION");
  const std::string not_json = "amount=1000";
  EXPECT_EQ(reason(not_json, SignedHeaders(not_json, 1'700'000'000)), "MALFORMED_NOTIFICATION");
}

TEST(QcashProtocolTest, ProviderStatuses) {
  EXPECT_EQ(*ParseProviderStatus("pending"), ProviderStatus::kPending);
  EXPECT_EQ(*ParseProviderStatus("paid"), ProviderStatus::kPaid);
  EXPECT_EQ(*ParseProviderStatus("declined"), ProviderStatus::kDeclined);
  EXPECT_EQ(*ParseProviderStatus("cancelled"), ProviderStatus::kCancelled);
  EXPECT_EQ(*ParseProviderStatus("expired"), ProviderStatus::kExpired);
  EXPECT_FALSE(ParseProviderStatus("PAID").ok());
}

}  // namespace
}  // namespace qcash::payment

namespace qcash::payment {
namespace {

// Issue 16: a "payment.reversed" event carries the reversal; one without a usable reversal is
// malformed.
TEST(QcashProtocolTest, ParsesAReversal) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'010);
  const std::string body =
      R"({"event_id":"evt_9","type":"payment.reversed","created_unix":"1700000000","payment":)"
      R"({"payment_id":"pay_1","merchant_reference":"co_00","amount_yen":"1000",)"
      R"("currency":"JPY","status":"paid"},"reversal":{"reversal_id":"rev_1",)"
      R"("kind":"default","amount_yen":"400","created_unix":"1700000000"}})";
  auto n =
      ParseQcashNotification(kSecret, kSkewDefault, body, SignedHeaders(body, 1'700'000'000), now);
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_TRUE(n->reversal.has_value());
  EXPECT_EQ(n->reversal->reversal_id, "rev_1");
  EXPECT_EQ(n->reversal->kind, ReversalKind::kDefault);
  EXPECT_EQ(n->reversal->amount_yen, 400);
  EXPECT_EQ(n->reversal->reversed_at, absl::FromUnixSeconds(1'700'000'000));
  EXPECT_EQ(n->payment.status, ProviderStatus::kPaid);

  const std::string paid =
      R"({"event_id":"evt_1","type":"payment.paid","payment":{"merchant_reference":"co_00",)"
      R"("status":"paid"},"reversal":{"reversal_id":"rev_1","kind":"default","amount_yen":"4"}})";
  auto plain =
      ParseQcashNotification(kSecret, kSkewDefault, paid, SignedHeaders(paid, 1'700'000'000), now);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->reversal.has_value()) << "only payment.reversed carries a reversal";

  for (const std::string reversal :
       {R"({"kind":"default","amount_yen":"4"})", R"({"reversal_id":"r","amount_yen":"4"})",
        R"({"reversal_id":"r","kind":"loss","amount_yen":"4"})",
        R"({"reversal_id":"r","kind":"refund","amount_yen":"0"})",
        R"({"reversal_id":"r:1","kind":"refund","amount_yen":"4"})"}) {
    const std::string bad = absl::StrCat(
        R"({"event_id":"e","type":"payment.reversed","payment":)",
        R"({"merchant_reference":"co_00","status":"paid"},"reversal":)", reversal, "}");
    EXPECT_EQ(ReasonOf(ParseQcashNotification(kSecret, kSkewDefault, bad,
                                              SignedHeaders(bad, 1'700'000'000), now)
                           .status()),
              "MALFORMED_NOTIFICATION")
        << reversal;
  }
}

}  // namespace
}  // namespace qcash::payment
