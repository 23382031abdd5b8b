// The page tokens of the three services: payment's charge order history (order.h), the
// wallet's history, lots and monthly statements (services/wallet/page_token.h) and the points
// product lists (services/points/page_token.h). The first input byte picks the codec, the rest
// is the token.
// Properties: a token the decoder accepts is exactly the one the encoder issues for the cursor
// it decodes to (encode(decode(x)) == x: "not one this service issued" is refused), the cursor
// is one the encoder may be given, and a valid cursor made of the same bytes comes back from
// decode(encode(c)) unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "fuzz/fuzz_check.h"
#include "services/payment/order.h"
#include "services/points/page_token.h"
#include "services/points/rules.h"
#include "services/wallet/page_token.h"

namespace {

void CheckRefusal(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(qcash::ReasonOf(status) == "INVALID_PAGE_TOKEN");
}

void Payment(const std::string& token) {
  namespace payment = qcash::payment;
  auto cursor = payment::DecodePageToken(token);
  if (!cursor.ok()) {
    CheckRefusal(cursor.status());
  } else if (!cursor->has_value()) {
    FUZZ_CHECK(token.empty());
  } else {
    FUZZ_CHECK((*cursor)->created_at_us > 0);
    FUZZ_CHECK(payment::CheckOrderId((*cursor)->order_id).ok());
    FUZZ_CHECK(payment::EncodePageToken(**cursor) == token);
  }
  // The same bytes as a cursor: "<digits>:<order id>".
  const size_t colon = token.find(':');
  payment::PageCursor made;
  if (colon != std::string::npos && absl::SimpleAtoi(token.substr(0, colon), &made.created_at_us) &&
      made.created_at_us > 0 && payment::CheckOrderId(token.substr(colon + 1)).ok()) {
    made.order_id = token.substr(colon + 1);
    auto back = payment::DecodePageToken(payment::EncodePageToken(made));
    FUZZ_CHECK(back.ok() && back->has_value());
    FUZZ_CHECK((*back)->created_at_us == made.created_at_us);
    FUZZ_CHECK((*back)->order_id == made.order_id);
  }
}

void Wallet(const std::string& token) {
  namespace wallet = qcash::wallet;
  auto seq = wallet::DecodeHistoryPageToken(token);
  if (!seq.ok()) {
    CheckRefusal(seq.status());
  } else if (*seq == 0) {
    FUZZ_CHECK(token.empty());
  } else {
    FUZZ_CHECK(*seq > 0);
    FUZZ_CHECK(wallet::EncodeHistoryPageToken(*seq) == token);
  }
  // ListLots' tokens: the same properties, and never a history token as well.
  auto lot = wallet::DecodeLotsPageToken(token);
  if (!lot.ok()) {
    CheckRefusal(lot.status());
  } else if (*lot == 0) {
    FUZZ_CHECK(token.empty());
  } else {
    FUZZ_CHECK(*lot > 0);
    FUZZ_CHECK(wallet::EncodeLotsPageToken(*lot) == token);
    FUZZ_CHECK(!seq.ok());
  }
  // GetMonthlyStatement's tokens belong to one month: one accepted for a month is the token
  // issued for that month and seq, is never a history or lots token, and no other month's.
  for (const char* month : {"2026-10", "2026-11"}) {
    auto after = wallet::DecodeStatementPageToken(token, month);
    if (!after.ok()) {
      CheckRefusal(after.status());
    } else if (*after == 0) {
      FUZZ_CHECK(token.empty());
    } else {
      FUZZ_CHECK(*after > 0);
      FUZZ_CHECK(wallet::EncodeStatementPageToken(month, *after) == token);
      FUZZ_CHECK(!seq.ok() && !lot.ok());
      const char* other = month[6] == '0' ? "2026-11" : "2026-10";
      FUZZ_CHECK(!wallet::DecodeStatementPageToken(token, other).ok());
    }
  }
  int64_t made = 0;
  if (absl::SimpleAtoi(token, &made) && made > 0) {
    auto back_statement = wallet::DecodeStatementPageToken(
        wallet::EncodeStatementPageToken("2026-11", made), "2026-11");
    FUZZ_CHECK(back_statement.ok() && *back_statement == made);
    auto back = wallet::DecodeHistoryPageToken(wallet::EncodeHistoryPageToken(made));
    FUZZ_CHECK(back.ok() && *back == made);
    auto back_lot = wallet::DecodeLotsPageToken(wallet::EncodeLotsPageToken(made));
    FUZZ_CHECK(back_lot.ok() && *back_lot == made);
  }
}

void Points(const std::string& token) {
  namespace points = qcash::points;
  auto product_no = points::DecodeProductPageToken(token);
  if (!product_no.ok()) {
    CheckRefusal(product_no.status());
  } else if (product_no->empty()) {
    FUZZ_CHECK(token.empty());
  } else {
    FUZZ_CHECK(points::IsPrintableAscii(*product_no, points::kProductNoLengthMax));
    FUZZ_CHECK(points::EncodeProductPageToken(*product_no) == token);
  }
  if (points::IsPrintableAscii(token, points::kProductNoLengthMax)) {
    auto back = points::DecodeProductPageToken(points::EncodeProductPageToken(token));
    FUZZ_CHECK(back.ok() && *back == token);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string token(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      Payment(token);
      break;
    case 1:
      Wallet(token);
      break;
    default:
      Points(token);
      break;
  }
  return 0;
}
