#include "services/wallet/client/wallet_client.h"

#include <gtest/gtest.h>

namespace qcash::wallet {
namespace {

// Issue 15: the link behind an ad application's Qcash charge button.
TEST(ChargeLinkTest, NeedAndPercentEncodedReturn) {
  EXPECT_EQ(ChargeLink("https://qcash.example.jp", 1'200, "https://ads.example.jp/apply?id=7"),
            "https://qcash.example.jp/charge?need=1200&return="
            "https%3A%2F%2Fads.example.jp%2Fapply%3Fid%3D7");
  // Every reserved or unsafe character is encoded, so the return URL stays one query value.
  EXPECT_EQ(ChargeLink("https://q.example/", 0, "https://a.example/p q&r=s#t+u~v"),
            "https://q.example/charge?need=0&return="
            "https%3A%2F%2Fa.example%2Fp%20q%26r%3Ds%23t%2Bu~v");
  EXPECT_EQ(ChargeLink("https://q.example", 5, "https://a.example/広告"),
            "https://q.example/charge?need=5&return=https%3A%2F%2Fa.example%2F%E5%BA%83%E5%91%8A");
  EXPECT_EQ(ChargeLink("https://q.example", -3, ""), "https://q.example/charge?need=0");
}

}  // namespace
}  // namespace qcash::wallet
