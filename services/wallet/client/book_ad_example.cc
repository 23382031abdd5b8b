// How the ad-booking service books a paid ad with Qcash (W3): hold the price while the
// application is reviewed, then capture what the approved ad costs (possibly less; the rest goes
// back to the seller) — or release the hold if the application is rejected. Then it asks the
// wallet which holds are open and which lots paid for the capture (DESIGN.md section 8): free Qcash
// from points conversions first, then paid vouchers oldest first, each with where it came from.
// Last, it charges the day's clicks on the seller's keyword ads the way the ad-booking service
// settles them: all in one ExecuteBatch call, each click its own spend with its own key, and
// sends the same batch again, as after a lost answer, to show that nothing is charged twice.
//
//   qcash-book-ad-example <seller_id> [wallet host:port] [price_yen] [approved_yen] [clicks]
//
// `clicks` (default 3) at 10 yen each; 0 leaves the batch out.
//
// Transport from the environment as for every service (QCASH_INSECURE_DEV=1 locally, or
// QCASH_TLS_CERT/KEY/CA with the ad-booking certificate).
//
// When the seller's Qcash does not cover the price, it prints the charge link the application
// page puts behind its Qcash charge button (ChargeLink, issue 15): Qcash's charge page at
// QCASH_CHARGE_BASE_URL (default http://127.0.0.1:8080), back to QCASH_AD_RETURN_URL (default
// https://ads.example.jp/applications/<application id>), whose origin Qcash must allow in
// QCASH_PAYMENT_RETURN_ORIGINS.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/wallet/client/wallet_client.h"

namespace pb = ::qcash::wallet::v1;

namespace {

const char* OriginName(pb::LotOrigin origin) {
  switch (origin) {
    case pb::LOT_ORIGIN_VOUCHER:
      return "voucher";
    case pb::LOT_ORIGIN_POINTS_CONVERSION:
      return "points conversion";
    case pb::LOT_ORIGIN_QMONEY:
      return "voucher bought with Qmoney";
    case pb::LOT_ORIGIN_PENDING_SETTLEMENT:
      return "voucher bought with pending settlement";
    case pb::LOT_ORIGIN_OPENING:
      return "opening balance";
    default:
      return "unknown";
  }
}

// Prints the lots journal entry `seq` of `seller` took. Returns false when the wallet did not
// answer.
bool PrintLots(qcash::wallet::WalletClient& wallet, const std::string& seller, int64_t seq) {
  pb::GetEntryLotsRequest request;
  request.set_seller_id(seller);
  request.set_entry_seq(seq);
  auto lots = wallet.GetEntryLots(request);
  if (!lots.ok()) {
    std::fprintf(stderr, "which lots paid: %s\n", lots.status().ToString().c_str());
    return false;
  }
  std::printf("entry %lld (%lld yen, %lld of it paid Qcash) took:\n", static_cast<long long>(seq),
              static_cast<long long>(lots->entry().amount_yen()),
              static_cast<long long>(lots->entry().paid_yen()));
  for (const pb::LotUse& use : lots->lots()) {
    const pb::Lot& lot = use.lot();
    std::string detail = lot.reference();
    if (!lot.payment_method().empty()) {
      absl::StrAppend(&detail, ", paid by ", lot.payment_method(), " (", lot.price_paid_yen(),
                      " yen)");
    }
    if (!lot.points_month().empty()) absl::StrAppend(&detail, ", points of ", lot.points_month());
    std::printf("  %lld yen from lot %lld: %s, %s [%s]\n", static_cast<long long>(use.amount_yen()),
                static_cast<long long>(lot.lot_id()), OriginName(lot.origin()),
                lot.paid() ? "paid" : "free", detail.c_str());
  }
  return true;
}

// Prints the seller's open time-sale holds (the first page): the wallet remembers them, so the
// ad-booking service need not. Returns false when the wallet did not answer.
bool PrintOpenHolds(qcash::wallet::WalletClient& wallet, const std::string& seller) {
  pb::ListHoldsRequest request;
  request.set_seller_id(seller);
  request.add_states(pb::HOLD_STATE_PENDING);
  request.set_product(pb::AD_PRODUCT_TIME_SALE);
  auto holds = wallet.ListHolds(request);
  if (!holds.ok()) {
    std::fprintf(stderr, "open holds: %s\n", holds.status().ToString().c_str());
    return false;
  }
  std::printf("open time-sale holds:%s\n", holds->holds().empty() ? " none" : "");
  for (const pb::HoldInfo& hold : holds->holds()) {
    std::printf("  open hold %lld: %lld yen for %s\n", static_cast<long long>(hold.hold_id()),
                static_cast<long long>(hold.amount_yen()), hold.booking_reference().c_str());
  }
  if (!holds->next_page_token().empty()) std::printf("  (and more)\n");
  return true;
}

// Charges `clicks` keyword-ad clicks of 10 yen on `seller` in one ExecuteBatch call, keys
// derived from `day`, and prints what was charged and refused. Returns false when the wallet did
// not answer the call.
bool ChargeClicks(qcash::wallet::WalletClient& wallet, const std::string& seller,
                  const std::string& day, int clicks) {
  constexpr int64_t kClickYen = 10;
  pb::ExecuteBatchRequest batch;
  for (int i = 1; i <= clicks; ++i) {
    pb::SpendRequest* click = batch.add_operations()->mutable_spend();
    click->set_seller_id(seller);
    click->set_idempotency_key(absl::StrCat(day, "/click/", i));
    click->set_amount_yen(kClickYen);
    click->set_product(pb::AD_PRODUCT_PLUS_KEYWORD);
    click->set_booking_reference(absl::StrCat(day, "/keyword-clicks"));
  }
  // The second call is what a retry after a lost answer sends: the same keys, the same clicks.
  for (const char* round : {"charged", "sent again"}) {
    auto answered = wallet.ExecuteBatch(batch);
    if (!answered.ok()) {
      std::fprintf(stderr, "clicks: %s\n", answered.status().ToString().c_str());
      return false;
    }
    int applied = 0;
    int replayed = 0;
    int refused = 0;
    int64_t available = -1;
    for (const pb::BatchResult& result : answered->results()) {
      const absl::Status status = qcash::wallet::BatchResultStatus(result);
      if (!status.ok()) {
        ++refused;
        std::fprintf(stderr, "  a click was refused: %s\n", status.ToString().c_str());
        continue;
      }
      (result.spend().result().replayed() ? replayed : applied) += 1;
      available = result.spend().result().balance().available_yen();
    }
    std::printf("%d keyword clicks in one batch, %s: %d applied, %d replayed, %d refused", clicks,
                round, applied, replayed, refused);
    if (available >= 0) std::printf(": available %lld", static_cast<long long>(available));
    std::printf("\n");
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s <seller_id> [wallet host:port] [price_yen] [approved_yen] [clicks]\n",
                 argv[0]);
    return 2;
  }
  const std::string seller = argv[1];
  const std::string target = argc > 2 ? argv[2] : "127.0.0.1:25051";
  const int64_t price_yen = argc > 3 ? std::atoll(argv[3]) : 1'000;
  const int64_t approved_yen = argc > 4 ? std::atoll(argv[4]) : 800;
  const int clicks = argc > 5 ? std::atoi(argv[5]) : 3;
  auto transport = qcash::TransportConfigFromEnv();
  if (!transport.ok()) {
    std::fprintf(stderr, "%s\n", transport.status().ToString().c_str());
    return 2;
  }
  auto wallet = qcash::wallet::WalletClient::Create(
      {target, *transport, /*caller=*/"adbooking", qcash::RetryPolicy{}});
  if (!wallet.ok()) {
    std::fprintf(stderr, "%s\n", wallet.status().ToString().c_str());
    return 2;
  }
  // One booking = one application id; the idempotency keys derive from it, so a crash and a
  // retry of this program with the same application id books once.
  const std::string application = absl::StrCat("example-", absl::ToUnixMillis(absl::Now()));

  pb::HoldRequest hold;
  hold.set_seller_id(seller);
  hold.set_idempotency_key(application + "/hold");
  hold.set_amount_yen(price_yen);
  hold.set_product(pb::AD_PRODUCT_TIME_SALE);
  hold.set_booking_reference(application);
  hold.set_ttl_seconds(3600);
  auto held = (*wallet)->Hold(hold);
  if (!held.ok()) {
    if (qcash::wallet::ErrorKindOf(held.status()) ==
        qcash::wallet::WalletErrorKind::kInsufficientFunds) {
      const char* base = std::getenv("QCASH_CHARGE_BASE_URL");
      const char* back = std::getenv("QCASH_AD_RETURN_URL");
      const std::string return_url =
          back != nullptr && *back != '\0'
              ? std::string(back)
              : absl::StrCat("https://ads.example.jp/applications/", application);
      std::fprintf(stderr, "not enough Qcash for %lld yen: charge first\n",
                   static_cast<long long>(price_yen));
      std::printf("charge link: %s\n",
                  qcash::wallet::ChargeLink(
                      base != nullptr && *base != '\0' ? base : "http://127.0.0.1:8080", price_yen,
                      return_url)
                      .c_str());
    } else {
      std::fprintf(stderr, "hold failed: %s\n", held.status().ToString().c_str());
    }
    return 1;
  }
  std::printf("held %lld yen as hold %lld: available %lld, held %lld\n",
              static_cast<long long>(price_yen), static_cast<long long>(held->hold_id()),
              static_cast<long long>(held->result().balance().available_yen()),
              static_cast<long long>(held->result().balance().held_yen()));
  if (!PrintOpenHolds(**wallet, seller)) return 1;

  pb::CaptureHoldRequest capture;
  capture.set_seller_id(seller);
  capture.set_idempotency_key(application + "/capture");
  capture.set_hold_id(held->hold_id());
  capture.set_amount_yen(approved_yen);
  auto captured = (*wallet)->CaptureHold(capture);
  if (!captured.ok()) {
    std::fprintf(stderr, "capture failed: %s\n", captured.status().ToString().c_str());
    return 1;
  }
  std::printf("captured %lld yen, %lld back to available: available %lld, held %lld\n",
              static_cast<long long>(captured->captured_yen()),
              static_cast<long long>(captured->returned_yen()),
              static_cast<long long>(captured->result().balance().available_yen()),
              static_cast<long long>(captured->result().balance().held_yen()));
  // The capture's own entry is the first the capture wrote (its remainder, if any, follows).
  if (!PrintLots(**wallet, seller, captured->result().entry_seq())) return 1;
  if (clicks > 0 && !ChargeClicks(**wallet, seller, application, clicks)) return 1;
  return 0;
}
