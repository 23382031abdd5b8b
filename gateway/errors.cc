#include "gateway/errors.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "gateway/transcode.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::gateway {

int64_t RetryAfterSeconds(const absl::Status& status) {
  const std::optional<absl::Duration> delay = RetryAfterOf(status);
  if (!delay.has_value() || *delay <= absl::ZeroDuration()) return 0;
  return std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(*delay, absl::Seconds(1))));
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

namespace {

// Reason -> what the seller should do, in Japanese. Keys are names of ErrorReason values (of
// the gateway, a service or common; gateway_unit_test fails on any other). Reasons of internal
// failures (SQL, serialisation, invariants) are deliberately absent: they get the generic text of
// their status class, which asks the seller to retry or contact support with the request id.
struct ReasonMessage {
  absl::string_view reason;
  absl::string_view message;
};
constexpr ReasonMessage kReasonMessages[] = {
    // Identity and access.
    {"NO_TOKEN", "ログインしてください。"},
    {"TOKEN_INVALID", "ログイン情報が無効です。もう一度ログインしてください。"},
    {"TOKEN_EXPIRED", "ログインの有効期限が切れました。もう一度ログインしてください。"},
    {"TOKEN_NOT_YET_VALID",
     "ログイン情報がまだ有効ではありません。端末の時刻をご確認のうえ、もう一度ログインしてください"
     "。"},
    {"CSRF_TOKEN_INVALID",
     "ページの有効期限が切れました。ページを再読み込みしてから、もう一度お試しください。"},
    {"SELLER_ID_FROM_TOKEN",
     "ショップIDは指定できません。ログイン中のショップとして処理されます。"},
    {"SELLER_MISMATCH", "この操作は、ログイン中のショップでは行えません。"},
    {"SELLER_TOKEN_MISSING", "ログイン情報を確認できませんでした。もう一度ログインしてください。"},
    {"SELLER_TOKEN_INVALID", "ログイン情報を確認できませんでした。もう一度ログインしてください。"},
    {"RATE_LIMITED",
     "短時間にリクエストが集中しています。しばらく待ってから、もう一度お試しください。"},
    // The request itself.
    {"BODY_MISSING", "リクエストの本文がありません。JSON形式で送信してください。"},
    {"BODY_TOO_LARGE", "リクエストが大きすぎます。内容を減らして、もう一度お試しください。"},
    {"HEADERS_TOO_LARGE", "リクエストヘッダーが大きすぎます。"},
    {"MALFORMED_JSON", "リクエストの形式が正しくありません。項目名と値をご確認ください。"},
    {"DUPLICATE_JSON_KEY", "同じ項目が2回以上指定されています。各項目は1回だけ指定してください。"},
    {"INVALID_UTF8", "文字コードが正しくありません。UTF-8で送信してください。"},
    {"UNSUPPORTED_MEDIA_TYPE", "Content-Type: application/json で送信してください。"},
    {"UNKNOWN_PARAMETER", "使用できないパラメータが含まれています。"},
    {"INVALID_PARAMETER", "パラメータの値が正しくありません。"},
    {"NO_SUCH_PAGE", "ページが見つかりません。"},
    {"IDEMPOTENCY_KEY_MISMATCH", "Idempotency-Keyヘッダーと本文のキーが一致しません。"},
    {"IDEMPOTENCY_KEY_REUSED",
     "このキーは別の内容のリクエストで使用済みです。新しい操作には新しいキーを使ってください。"},
    {"IDEMPOTENCY_KEY_IN_FLIGHT",
     "同じ操作を処理中です。しばらく待ってから、結果をご確認ください。"},
    {"INVALID_IDEMPOTENCY_KEY", "Idempotency-Keyの形式が正しくありません。"},
    {"INVALID_PAGE_SIZE", "表示件数の指定が正しくありません。"},
    {"INVALID_PAGE_TOKEN",
     "ページの指定が正しくありません。最初のページから表示し直してください。"},
    {"INVALID_AMOUNT", "金額が正しくありません。"},
    {"AMOUNT_MISMATCH", "金額が一致しません。内容をご確認ください。"},
    {"UNKNOWN_DENOMINATION", "選択できないチャージ券です。一覧から選んでください。"},
    {"UNKNOWN_PAYMENT_METHOD", "選択できないお支払い方法です。一覧から選んでください。"},
    {"INVALID_TIME_RANGE", "期間の指定が正しくありません。"},
    {"INVALID_DATE_RANGE",
     "期間の指定が正しくありません。開始日と終了日をご確認ください（最長の期間を超えていないかもご"
     "確認ください）。"},
    {"INVALID_PERIOD", "期間の指定が正しくありません。"},
    {"INVALID_MONTH", "月の指定が正しくありません。"},
    {"MONTH_IN_FUTURE", "まだ来ていない月は指定できません。"},
    {"PERIOD_REQUIRED", "期間を指定してください。"},
    {"INVALID_FILTER", "絞り込み条件が正しくありません。"},
    {"INVALID_ENTRY_TYPE", "種類の指定が正しくありません。"},
    {"INVALID_ENTRY_SEQ", "明細の番号が正しくありません。"},
    {"USE_PAST_SERVICE_POINTS_VIEW",
     "2019年7月1日より前の期間は、過去のサービスポイント画面でご確認ください。"},
    {"USE_CURRENT_SERVICE_POINTS_VIEW",
     "2019年7月1日以降の期間は、現在のサービスポイント画面でご確認ください。"},
    {"INVALID_CONVERSION_AMOUNT", "交換するポイント数が正しくありません。"},
    {"POINTS_BELOW_MINIMUM", "交換できる最小ポイント数に達していません。"},
    {"OUTSIDE_CONVERSION_WINDOW",
     "現在はポイント交換の受付期間外です。受付期間内にお試しください。"},
    {"ALREADY_CONVERTED", "この期間のポイントはすでに交換済みです。"},
    {"CONVERSION_IN_PROGRESS",
     "ポイント交換を処理中です。しばらく待ってから、結果をご確認ください。"},
    {"MISSING_QSIGN_PASSWORD", "Qサインパスワードを入力してください。"},
    {"INVALID_QSIGN_PASSWORD", "Qサインパスワードの形式が正しくありません。"},
    {"UNEXPECTED_QSIGN_PASSWORD", "このお支払いにQサインパスワードは不要です。"},
    {"WRONG_QSIGN_PASSWORD", "Qサインパスワードが正しくありません。"},
    {"QSIGN_LOCKED",
     "Qサインパスワードの誤入力が続いたため、一時的にご利用いただけません。時間をおいてお試しくださ"
     "い。"},
    {"QSIGN_PASSWORD_NOT_SET", "Qサインパスワードが未設定です。設定してからお試しください。"},
    // The state of the wallet, orders and holds.
    {"INSUFFICIENT_FUNDS", "残高が足りません。チャージしてから、もう一度お試しください。"},
    {"BALANCE_LIMIT_EXCEEDED", "残高の上限を超えるため、チャージできません。"},
    {"WALLET_NOT_FOUND", "ウォレットがまだありません。チャージすると作成されます。"},
    {"WALLET_CLOSED", "このウォレットは利用停止中です。サポートにお問い合わせください。"},
    {"ORDER_NOT_FOUND", "注文が見つかりません。注文番号をご確認ください。"},
    {"UNKNOWN_ORDER", "注文が見つかりません。注文番号をご確認ください。"},
    {"INVALID_ORDER_ID", "注文番号が正しくありません。"},
    {"ORDER_ALREADY_PAID", "この注文はお支払い済みです。"},
    {"ORDER_CLOSED", "この注文はすでに終了しています。新しく注文してください。"},
    {"ORDER_IN_PROGRESS", "この注文は処理中です。しばらく待ってから、結果をご確認ください。"},
    {"ORDER_NOT_PAID", "この注文はまだお支払いが確認されていません。"},
    {"PAYMENT_NOT_FOUND", "お支払いが見つかりません。"},
    {"RECEIPT_NOT_AVAILABLE",
     "この注文はまだお支払いが確認されていないため、領収書を発行できません。お支払いの確認後に"
     "ダウンロードしてください。"},
    {"INVALID_RETURN_URL",
     "戻り先のリンクが正しくありません。広告申請画面のチャージボタンから、もう一度お進みくださ"
     "い。"},
    {"RETURN_URL_NOT_ALLOWED",
     "このリンクの戻り先は登録されていないため、ご利用いただけません。広告申請画面のチャージボタ"
     "ンから、もう一度お進みください。"},
    {"INVALID_NEEDED_AMOUNT",
     "必要な金額の指定が正しくありません。広告申請画面のチャージボタンから、もう一度お進みくださ"
     "い。"},
    // Pay-later while a reversed payment left a debt (DESIGN.md section 9). The provider-side
    // refusals of reversals (REVERSAL_EXCEEDS_ORDER) answer a provider's notification, never
    // a seller: they have no seller message.
    {"DEBT_OUTSTANDING",
     "未回収額があるため、後払い（Atone・ペイディ）はご利用いただけません。別のお支払い方法を"
     "お選びください。未回収額は、次回以降のチャージやサービスポイントの交換で精算されます。"},
    {"PROVIDER_NOT_CONFIGURED",
     "このお支払い方法は現在ご利用いただけません。別の方法をお選びください。"},
    {"PROVIDER_UNAVAILABLE",
     "決済サービスに接続できません。しばらく待ってから、もう一度お試しください。"},
    {"PROVIDER_REJECTED",
     "決済サービスでお支払いが承認されませんでした。お支払い方法をご確認ください。"},
    {"HOLD_NOT_FOUND", "広告費の仮押さえが見つかりません。"},
    {"ENTRY_NOT_FOUND", "指定の明細が見つかりません。"},
    {"HOLD_EXPIRED", "広告費の仮押さえの期限が切れました。"},
    {"HOLD_ALREADY_RESOLVED", "広告費の仮押さえはすでに確定または解除されています。"},
    // Capacity and dependencies.
    {"OVERLOADED", "ただいま混み合っています。しばらく待ってから、もう一度お試しください。"},
    {"UPSTREAM_BUSY", "ただいま混み合っています。しばらく待ってから、もう一度お試しください。"},
    {"SHUTTING_DOWN", "ただいま混み合っています。しばらく待ってから、もう一度お試しください。"},
};

// One per HTTP status class, for reasons the table does not know.
absl::string_view GenericMessage(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnauthenticated:
      return "ログインしてください。";
    case absl::StatusCode::kPermissionDenied:
      return "この操作を行う権限がありません。";
    case absl::StatusCode::kNotFound:
      return "お探しのものが見つかりません。";
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
      return "他の処理と重なりました。しばらく待ってから、もう一度お試しください。";
    case absl::StatusCode::kResourceExhausted:
      return "短時間にリクエストが集中しています。しばらく待ってから、もう一度お試しください。";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
      return "ただいまサービスを利用できません。しばらく待ってから、もう一度お試しください。";
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return "入力内容をご確認のうえ、もう一度お試しください。";
    default:
      return "エラーが発生しました。しばらく待ってからもう一度お試しいただき、解決しない場合は"
             "リクエストIDを添えてサポートにお問い合わせください。";
  }
}

// An identifier we pass on: 1-`max` characters, all of them `allowed`.
template <typename Allowed>
bool IsPlainIdentifier(absl::string_view text, size_t max, Allowed allowed) {
  if (text.empty() || text.size() > max) return false;
  for (char c : text) {
    if (!allowed(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsReason(absl::string_view text) {
  return IsPlainIdentifier(text, 64, [](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsDomain(absl::string_view text) {
  return IsPlainIdentifier(text, 64, [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

bool IsRequestId(absl::string_view text) {
  return IsPlainIdentifier(text, 64, [](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

}  // namespace

std::vector<absl::string_view> ReasonsWithMessages() {
  std::vector<absl::string_view> reasons;
  for (const ReasonMessage& entry : kReasonMessages) reasons.push_back(entry.reason);
  return reasons;
}

absl::string_view SellerMessage(absl::string_view reason, absl::StatusCode code) {
  for (const ReasonMessage& entry : kReasonMessages) {
    if (entry.reason == reason) return entry.message;
  }
  return GenericMessage(code);
}

std::string SellerMessageFor(const absl::Status& status, absl::string_view reason) {
  std::string plain(SellerMessage(reason, status.code()));
  const std::map<std::string, std::string> facts = MetadataOf(status);
  if (ReasonIs(status, payment::v1::WRONG_QSIGN_PASSWORD)) {
    int64_t left = 0;
    auto found = facts.find("attempts_left");
    if (found != facts.end() && absl::SimpleAtoi(found->second, &left) && left >= 1 && left <= 9) {
      return absl::StrCat(plain, "あと", left,
                          "回間違えると、Qmoney・精算予定金でのお支払いが一時的にご利用いただけ"
                          "なくなります。");
    }
  }
  if (ReasonIs(status, payment::v1::QSIGN_LOCKED)) {
    absl::Time until;
    std::string error;
    auto found = facts.find("locked_until");
    if (found != facts.end() &&
        absl::ParseTime(absl::RFC3339_full, found->second, &until, &error)) {
      static const absl::TimeZone* const kJapan = [] {
        auto* zone = new absl::TimeZone;
        // Japan has kept +09:00 all year since 1951: the fixed zone when no tzdata is there.
        if (!absl::LoadTimeZone("Asia/Tokyo", zone)) *zone = absl::FixedTimeZone(9 * 60 * 60);
        return zone;
      }();
      // Rounded up to the minute: the seller retries when the lock is surely over.
      const absl::Time shown =
          absl::Ceil(until - absl::UnixEpoch(), absl::Minutes(1)) + absl::UnixEpoch();
      return absl::StrCat(
          "Qサインパスワードの誤入力が続いたため、Qmoney・精算予定金でのお支払いは",
          absl::FormatTime("%Y/%m/%d %H:%M", shown, *kJapan),
          "（日本時間）までご利用いただけません。その時刻を過ぎてから、もう一度お試しください。");
    }
  }
  return plain;
}

std::string ErrorBody(const absl::Status& status, const std::string& domain,
                      const std::string& request_id) {
  google::rpc::Status body;
  body.set_code(static_cast<int>(status.code()));
  std::string reason = ReasonOf(status);
  if (!IsReason(reason)) reason = common::v1::ErrorReason_Name(common::v1::UNSPECIFIED);
  // Never status.message(): see the header.
  body.set_message(SellerMessageFor(status, reason));
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  const absl::optional<absl::Cord> origin = status.GetPayload("type.qcash/domain");
  const std::string origin_domain = origin.has_value() ? std::string(*origin) : "";
  info.set_domain(IsDomain(origin_domain) ? origin_domain : domain);
  if (IsRequestId(request_id)) (*info.mutable_metadata())["requestId"] = request_id;
  // The facts behind the message, for programs (bounded by common/status.h; only these).
  for (const auto& [key, value] : MetadataOf(status)) {
    if (key == "attempts_left") (*info.mutable_metadata())["attemptsLeft"] = value;
    if (key == "locked_until") (*info.mutable_metadata())["lockedUntil"] = value;
  }
  body.add_details()->PackFrom(info);
  return ToJson(body);
}

}  // namespace qcash::gateway
