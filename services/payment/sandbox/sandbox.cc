#include "services/payment/sandbox/sandbox.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <sodium.h>

#include <algorithm>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/log.h"
#include "services/payment/catalog.h"
#include "services/payment/connectors/provider_api.pb.h"
#include "services/payment/signature.h"

namespace qcash::payment::sandbox {
namespace {

namespace wire = ::qcash::payment::provider::v1;

constexpr int kNotifyCountMax = 1000;
constexpr int kParallelMax = 16;

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  hex.pop_back();
  return hex;
}

std::string RandomDigits(int n) {
  std::string digits;
  for (int i = 0; i < n; ++i) digits.push_back(static_cast<char>('0' + randombytes_uniform(10)));
  return digits;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

bool FromJson(const std::string& json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(json, message, options).ok();
}

void ReplyError(httplib::Response& res, int status, absl::string_view code,
                absl::string_view message) {
  wire::Error error;
  error.set_code(std::string(code));
  error.set_message(std::string(message));
  res.status = status;
  res.set_content(ToJson(error), "application/json");
}

std::string Html(absl::string_view text) {
  return absl::StrReplaceAll(text,
                             {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string Yen(int64_t yen) {
  std::string digits = absl::StrCat(yen);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

std::string ProviderLabel(const std::string& provider) {
  const MethodInfo* info = FindProvider(provider);
  return info == nullptr ? provider : std::string(info->label);
}

std::string Page(absl::string_view title, absl::string_view body) {
  return absl::StrCat(
      "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>", Html(title),
      " — サンドボックス</title></head><body style=\"font-family:sans-serif;max-width:40em\">"
      "<p style=\"background:#b00;color:#fff;padding:.5em\">開発用サンドボックス — "
      "DEVELOPMENT SANDBOX: no real payment happens here.</p>",
      body, "</body></html>");
}

std::string Param(const httplib::Request& req, const std::string& key,
                  const std::string& fallback) {
  return req.has_param(key.c_str()) ? req.get_param_value(key.c_str()) : fallback;
}

}  // namespace

Sandbox::Sandbox(Options options)
    : options_(std::move(options)), background_(std::make_unique<ThreadPool>(4, 1000)) {}

Sandbox::~Sandbox() { background_.reset(); }

void Sandbox::Register(httplib::Server& server) {
  server.set_default_headers({{std::string(kSandboxHeader), "1"}});
  server.set_payload_max_length(64 * 1024);
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Post(R"(/providers/([a-z_]+)/v1/payments)",
              [this](const httplib::Request& req, httplib::Response& res) {
                if (Verify(req.matches[1], req, res)) CreatePayment(req.matches[1], req, res);
              });
  server.Post(R"(/providers/([a-z_]+)/v1/payments/(lookup|cancel))",
              [this](const httplib::Request& req, httplib::Response& res) {
                if (Verify(req.matches[1], req, res)) {
                  LookupOrCancel(req.matches[1], req.matches[2] == "cancel", req, res);
                }
              });
  settlement_.Register(server,
                       [this](const std::string& provider, const httplib::Request& req,
                              httplib::Response& res) { return Verify(provider, req, res); });
  server.Get(R"(/pay/(pay_[0-9a-f]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               ShowPayPage(req.matches[1], res);
             });
  server.Post(R"(/pay/(pay_[0-9a-f]+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                Decide(req.matches[1], req, res);
              });
  server.Post(R"(/sandbox/orders/(co_[0-9a-f]+)/complete)",
              [this](const httplib::Request& req, httplib::Response& res) {
                Complete(req.matches[1], req, res);
              });
  server.Post(R"(/sandbox/orders/(co_[0-9a-f]+)/notify)",
              [this](const httplib::Request& req, httplib::Response& res) {
                Notify(req.matches[1], req, res);
              });
  server.Post(R"(/sandbox/orders/(co_[0-9a-f]+)/reverse)",
              [this](const httplib::Request& req, httplib::Response& res) {
                Reverse(req.matches[1], req, res);
              });
}

bool Sandbox::Verify(const std::string& provider, const httplib::Request& req,
                     httplib::Response& res) {
  auto secret = options_.secrets.find(provider);
  if (secret == options_.secrets.end()) {
    ReplyError(res, 404, "unknown_provider", "the sandbox does not play this provider");
    return false;
  }
  std::map<std::string, std::string> headers;
  for (const auto& [key, value] : req.headers) headers[key] = value;
  absl::Status verified =
      VerifySignature(secret->second, headers, req.body, absl::Now(), options_.skew);
  if (!verified.ok()) {
    ReplyError(res, 401, "unauthenticated", verified.message());
    return false;
  }
  return true;
}

std::string Sandbox::PaymentJson(const Payment& p) const {
  wire::Payment out;
  out.set_payment_id(p.payment_id);
  out.set_merchant_reference(p.merchant_reference);
  out.set_amount_yen(p.amount_yen);
  out.set_currency("JPY");
  out.set_status(p.status);
  if (p.status == "pending" && !p.return_url.empty()) {
    out.set_redirect_url(absl::StrCat(options_.public_url, "/pay/", p.payment_id));
  }
  out.mutable_instructions()->set_institution(p.institution);
  out.mutable_instructions()->set_payment_number(p.payment_number);
  out.mutable_instructions()->set_confirmation_number(p.confirmation_number);
  out.mutable_instructions()->set_payee_name(p.payee_name);
  out.mutable_instructions()->set_url(p.instructions_url);
  out.set_decline_reason(p.decline_reason);
  out.set_pay_by_unix(p.pay_by_unix);
  return ToJson(out);
}

void Sandbox::AddEvent(Payment& p) {
  wire::Event event;
  event.set_event_id(absl::StrCat("evt_", RandomHex(12)));
  event.set_type(absl::StrCat("payment.", p.status));
  event.set_created_unix(absl::ToUnixSeconds(absl::Now()));
  wire::Payment snapshot;
  (void)FromJson(PaymentJson(p), &snapshot);
  *event.mutable_payment() = snapshot;
  p.events.push_back({event.event_id(), ToJson(event)});
}

void Sandbox::AddReversalEvent(Payment& p, const std::string& reversal_id, const std::string& kind,
                               int64_t amount_yen) {
  wire::Event event;
  event.set_event_id(absl::StrCat("evt_", RandomHex(12)));
  event.set_type("payment.reversed");
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  event.set_created_unix(now_s);
  wire::Payment snapshot;
  (void)FromJson(PaymentJson(p), &snapshot);
  *event.mutable_payment() = snapshot;
  wire::Reversal* reversal = event.mutable_reversal();
  reversal->set_reversal_id(reversal_id);
  reversal->set_kind(kind);
  reversal->set_amount_yen(amount_yen);
  reversal->set_created_unix(now_s);
  p.events.push_back({event.event_id(), ToJson(event)});
}

bool Sandbox::Settle(Payment& p, const std::string& status, const std::string& reason) {
  ExpireIfDue(p);
  if (p.status != "pending") return false;
  p.status = status;
  p.decline_reason = reason;
  AddEvent(p);
  if (status == "paid") {
    settlement_.RecordPaid(p.provider, p.payment_id, p.merchant_reference, p.amount_yen,
                           absl::Now());
  }
  return true;
}

void Sandbox::ExpireIfDue(Payment& p) {
  if (p.status == "pending" && p.pay_by_unix > 0 &&
      absl::ToUnixSeconds(absl::Now()) > p.pay_by_unix) {
    p.status = "expired";
    AddEvent(p);
  }
}

Sandbox::Payment* Sandbox::FindByReference(const std::string& order_id) {
  for (auto& [key, id] : by_reference_) {
    if (key.second == order_id) return &payments_[id];
  }
  return nullptr;
}

void Sandbox::CreatePayment(const std::string& provider, const httplib::Request& req,
                            httplib::Response& res) {
  wire::CreatePayment create;
  if (!FromJson(req.body, &create) || create.merchant_reference().empty() ||
      create.amount_yen() <= 0 || create.currency() != "JPY") {
    ReplyError(res, 400, "invalid_request", "merchant_reference, amount_yen, currency JPY");
    return;
  }
  std::string answer;
  Event card_event;
  bool card_decided = false;
  {
    MutexLock lock(&mu_);
    auto known = by_reference_.find({provider, create.merchant_reference()});
    if (known != by_reference_.end()) {  // idempotent per merchant reference
      Payment& p = payments_[known->second];
      if (p.amount_yen != create.amount_yen()) {
        ReplyError(res, 409, "reference_reused", "this merchant reference has another amount");
        return;
      }
      ExpireIfDue(p);
      res.set_content(PaymentJson(p), "application/json");
      return;
    }
    Payment p;
    p.payment_id = absl::StrCat("pay_", RandomHex(12));
    p.provider = provider;
    p.product = create.method();
    p.merchant_reference = create.merchant_reference();
    p.amount_yen = create.amount_yen();
    p.description = create.description();
    p.pay_by_unix = create.pay_by_unix();
    p.status = "pending";
    const MethodInfo* info = FindProvider(provider);
    const Family family = info != nullptr ? info->family : Family::kRedirect;
    if (family == Family::kInstant) {
      // Well-known test tokens, as card providers publish them.
      const std::string& token = create.payment_token();
      if (token == "tok_visa" || token == "tok_mastercard" || token == "tok_jcb") {
        p.status = "paid";
      } else if (token == "tok_chargeDeclined") {
        p.status = "declined";
        p.decline_reason = "card_declined";
      } else {
        ReplyError(res, 400, "invalid_token",
                   "use tok_visa, tok_mastercard, tok_jcb or "
                   "tok_chargeDeclined");
        return;
      }
      card_decided = true;
    } else if (family == Family::kRedirect) {
      p.return_url = create.return_url();
      if (p.return_url.empty()) {
        ReplyError(res, 400, "invalid_request", "a redirect payment needs its return_url");
        return;
      }
    } else if (provider == "bank_transfer") {
      p.institution = "サンドボックス銀行 本店営業部 (Sandbox Bank, head office)";
      p.payment_number = absl::StrCat("普通 ", RandomDigits(7));
      p.payee_name = "キユーキヤツシユ(カ";
    } else if (provider == "konbini") {
      p.institution = "コンビニ / ATM / Pay-easy 収納機関番号 58091";
      p.payment_number = RandomDigits(11);      // 受付番号 / お客様番号
      p.confirmation_number = RandomDigits(4);  // 確認番号
    } else {
      p.institution = "PAYGENT ネットバンキング";
      p.payment_number = RandomDigits(12);
      p.instructions_url = absl::StrCat(options_.public_url, "/pay/", p.payment_id);
    }
    AddEvent(p);
    if (p.status == "paid") {
      settlement_.RecordPaid(provider, p.payment_id, p.merchant_reference, p.amount_yen,
                             absl::Now());
    }
    by_reference_[{provider, p.merchant_reference}] = p.payment_id;
    answer = PaymentJson(p);
    card_event = p.events.back();
    payments_[p.payment_id] = std::move(p);
  }
  Log(LogLevel::kInfo, "sandbox_payment_created",
      {{"provider", provider}, {"order_id", create.merchant_reference()}});
  if (card_decided) (void)NotifyNewest(provider, card_event, "async");
  res.set_content(answer, "application/json");
}

void Sandbox::LookupOrCancel(const std::string& provider, bool cancel, const httplib::Request& req,
                             httplib::Response& res) {
  wire::PaymentRef ref;
  if (!FromJson(req.body, &ref) || ref.merchant_reference().empty()) {
    ReplyError(res, 400, "invalid_request", "merchant_reference is required");
    return;
  }
  MutexLock lock(&mu_);
  auto known = by_reference_.find({provider, ref.merchant_reference()});
  if (known == by_reference_.end()) {
    ReplyError(res, 404, "not_found", "no payment for this merchant reference");
    return;
  }
  Payment& p = payments_[known->second];
  if (cancel) {
    (void)Settle(p, "cancelled", "");  // a paid payment stays paid: the answer says so
  } else {
    ExpireIfDue(p);
  }
  res.set_content(PaymentJson(p), "application/json");
}

void Sandbox::ShowPayPage(const std::string& payment_id, httplib::Response& res) {
  MutexLock lock(&mu_);
  auto it = payments_.find(payment_id);
  if (it == payments_.end()) {
    res.status = 404;
    res.set_content(Page("見つかりません", "<h1>支払いが見つかりません (no such payment)</h1>"),
                    "text/html; charset=utf-8");
    return;
  }
  Payment& p = it->second;
  ExpireIfDue(p);
  std::string body = absl::StrCat(
      "<h1>", Html(ProviderLabel(p.provider)), "</h1><p>", Html(p.description), " &mdash; <b>",
      Yen(p.amount_yen), "円</b></p><p>注文番号 (order): ", Html(p.merchant_reference), "</p>");
  if (p.status != "pending") {
    absl::StrAppend(&body, "<p>この支払いは終了しています (status: ", Html(p.status), ")</p>");
  } else {
    absl::StrAppend(&body, "<form method=\"post\" action=\"/pay/", p.payment_id,
                    "\"><button name=\"decision\" value=\"pay\">支払う (Pay)</button> "
                    "<button name=\"decision\" value=\"decline\">支払わない (Decline)</button>"
                    "</form>");
  }
  res.set_content(Page(ProviderLabel(p.provider), body), "text/html; charset=utf-8");
}

void Sandbox::Decide(const std::string& payment_id, const httplib::Request& req,
                     httplib::Response& res) {
  const std::string decision = Param(req, "decision", "");
  const std::string mode = Param(req, "notify", "sync");
  if ((decision != "pay" && decision != "decline") ||
      (mode != "sync" && mode != "async" && mode != "none")) {
    res.status = 400;
    res.set_content(Page("エラー", "<p>decision=pay|decline, notify=sync|async|none</p>"),
                    "text/html; charset=utf-8");
    return;
  }
  std::string provider, return_url;
  Event event;
  {
    MutexLock lock(&mu_);
    auto it = payments_.find(payment_id);
    if (it == payments_.end() || it->second.provider == "card") {
      res.status = 404;
      res.set_content(Page("見つかりません", "<p>no such payment to decide here</p>"),
                      "text/html; charset=utf-8");
      return;
    }
    Payment& p = it->second;
    if (!Settle(p, decision == "pay" ? "paid" : "declined",
                decision == "pay" ? "" : "declined_by_customer")) {
      res.status = 409;
      res.set_content(
          Page("終了",
               absl::StrCat("<p>この支払いは終了しています (status: ", Html(p.status), ")</p>")),
          "text/html; charset=utf-8");
      return;
    }
    provider = p.provider;
    return_url = p.return_url;
    event = p.events.back();
  }
  const std::string delivered = NotifyNewest(provider, event, mode);
  res.set_header("X-Qcash-Sandbox-Delivery", delivered);
  if (return_url.empty()) {
    // Net banking's page: the seller paid in their bank; nothing to return to.
    res.set_content(
        Page(ProviderLabel(provider),
             absl::StrCat("<p>", decision == "pay" ? "支払いました (paid)" : "支払いません",
                          "</p>")),
        "text/html; charset=utf-8");
    return;
  }
  res.set_redirect(return_url, 303);
}

void Sandbox::Complete(const std::string& order_id, const httplib::Request& req,
                       httplib::Response& res) {
  const std::string mode = Param(req, "notify", "sync");
  if (mode != "sync" && mode != "async" && mode != "none") {
    ReplyError(res, 400, "invalid_request", "notify=sync|async|none");
    return;
  }
  std::string provider, answer;
  Event event;
  {
    MutexLock lock(&mu_);
    Payment* p = FindByReference(order_id);
    if (p == nullptr) {
      ReplyError(res, 404, "not_found", "no payment for this order");
      return;
    }
    if (!Settle(*p, "paid", "")) {
      ReplyError(res, 409, "not_pending", absl::StrCat("the payment is ", p->status));
      return;
    }
    provider = p->provider;
    event = p->events.back();
    answer = PaymentJson(*p);
  }
  res.set_header("X-Qcash-Sandbox-Delivery", NotifyNewest(provider, event, mode));
  res.set_content(answer, "application/json");
}

void Sandbox::Notify(const std::string& order_id, const httplib::Request& req,
                     httplib::Response& res) {
  int count = 1, parallel = 1;
  const std::string events_param = Param(req, "events", "latest");
  const std::string order_param = Param(req, "order", "forward");
  if (!absl::SimpleAtoi(Param(req, "count", "1"), &count) || count < 1 || count > kNotifyCountMax ||
      !absl::SimpleAtoi(Param(req, "parallel", "1"), &parallel) || parallel < 1 ||
      parallel > kParallelMax || (events_param != "latest" && events_param != "all") ||
      (order_param != "forward" && order_param != "reverse")) {
    ReplyError(res, 400, "invalid_request",
               "count=1..1000, parallel=1..16, events=latest|all, order=forward|reverse");
    return;
  }
  std::string provider;
  std::vector<Event> events;
  {
    MutexLock lock(&mu_);
    Payment* p = FindByReference(order_id);
    if (p == nullptr) {
      ReplyError(res, 404, "not_found", "no payment for this order");
      return;
    }
    provider = p->provider;
    if (events_param == "latest") {
      events.push_back(p->events.back());
    } else {
      events = p->events;
    }
  }
  // reverse: newest first, so older events arrive after newer ones (out of order).
  if (order_param == "reverse") std::reverse(events.begin(), events.end());
  const DeliveryReport report = Deliver(provider, events, count, parallel);
  std::string statuses;
  for (const auto& [status, n] : report.statuses) {
    absl::StrAppend(&statuses, statuses.empty() ? "" : ",", "\"", status, "\":", n);
  }
  res.set_content(absl::StrCat("{\"attempted\":", report.attempted, ",\"succeeded\":",
                               report.succeeded, ",\"statuses\":{", statuses, "}}"),
                  "application/json");
}

void Sandbox::Reverse(const std::string& order_id, const httplib::Request& req,
                      httplib::Response& res) {
  const std::string mode = Param(req, "notify", "sync");
  std::string kind = Param(req, "kind", "chargeback");
  const std::string any_status = Param(req, "any_status", "0");
  std::string reversal_id = Param(req, "reversal_id", absl::StrCat("rev_", RandomHex(8)));
  int64_t amount_yen = 0;
  const bool amount_given = req.has_param("amount");
  const bool id_ok = !reversal_id.empty() && reversal_id.size() <= 64 &&
                     std::all_of(reversal_id.begin(), reversal_id.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                     });
  if ((mode != "sync" && mode != "async" && mode != "none") ||
      (kind != "chargeback" && kind != "default" && kind != "refund") ||
      (any_status != "0" && any_status != "1") || !id_ok ||
      (amount_given && (!absl::SimpleAtoi(Param(req, "amount", ""), &amount_yen) ||
                        amount_yen < 1 || amount_yen > 1'000'000'000))) {
    ReplyError(res, 400, "invalid_request",
               "kind=chargeback|default|refund, amount=1..1000000000, reversal_id=1..64 of "
               "[A-Za-z0-9_.-], notify=sync|async|none, any_status=0|1");
    return;
  }
  std::string provider;
  Event event;
  int64_t reversed_yen = 0;
  {
    MutexLock lock(&mu_);
    Payment* p = FindByReference(order_id);
    if (p == nullptr) {
      ReplyError(res, 404, "not_found", "no payment for this order");
      return;
    }
    if (p->status != "paid" && any_status != "1") {
      ReplyError(res, 409, "not_paid",
                 absl::StrCat("the payment is ", p->status, "; only a paid one is reversed"));
      return;
    }
    auto known = p->reversals.find(reversal_id);
    if (known != p->reversals.end()) {
      // The same reversal again: its own kind and amount, under a new event id.
      kind = known->second.kind;
      amount_yen = known->second.amount_yen;
    } else {
      if (!amount_given) amount_yen = p->amount_yen - p->reversed_yen;
      if (amount_yen <= 0) {
        ReplyError(res, 409, "nothing_left", "the whole payment was reversed already");
        return;
      }
      p->reversals[reversal_id] = {kind, amount_yen};
      p->reversed_yen += amount_yen;
    }
    AddReversalEvent(*p, reversal_id, kind, amount_yen);
    provider = p->provider;
    event = p->events.back();
    reversed_yen = p->reversed_yen;
  }
  Log(LogLevel::kInfo, "sandbox_payment_reversed",
      {{"provider", provider},
       {"order_id", order_id},
       {"reversal_id", reversal_id},
       {"amount_yen", amount_yen}});
  const std::string delivery = NotifyNewest(provider, event, mode);
  res.set_header("X-Qcash-Sandbox-Delivery", delivery);
  res.set_content(
      absl::StrCat("{\"event_id\":\"", event.event_id, "\",\"reversal_id\":\"", reversal_id,
                   "\",\"kind\":\"", kind, "\",\"amount_yen\":", amount_yen,
                   ",\"reversed_yen\":", reversed_yen, ",\"delivery\":\"", delivery, "\"}"),
      "application/json");
}

Sandbox::DeliveryReport Sandbox::Deliver(const std::string& provider,
                                         const std::vector<Event>& events, int count,
                                         int parallel) {
  auto secret = options_.secrets.find(provider);
  if (secret == options_.secrets.end()) return DeliveryReport();
  const std::string path = absl::StrCat("/webhooks/", provider);
  // Every copy of an event is re-signed at sending time, as providers do on redelivery; the
  // event id stays the same.
  std::vector<const Event*> sends;
  for (const Event& event : events) {
    for (int i = 0; i < count; ++i) sends.push_back(&event);
  }
  struct Shared {
    Mutex mu;
    DeliveryReport report ABSL_GUARDED_BY(mu);
  } shared;  // the senders add to one report
  auto send_range = [&](size_t begin, size_t step) {
    const size_t scheme = options_.webhook_base.find("://");
    const size_t slash =
        options_.webhook_base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    httplib::Client client(options_.webhook_base.substr(0, slash));
    const std::string prefix =
        slash == std::string::npos ? "" : options_.webhook_base.substr(slash);
    client.set_connection_timeout(std::chrono::seconds(2));
    client.set_read_timeout(std::chrono::seconds(10));
    for (size_t i = begin; i < sends.size(); i += step) {
      const int64_t now_s = absl::ToUnixSeconds(absl::Now());
      httplib::Headers headers = {
          {std::string(kTimestampHeader), absl::StrCat(now_s)},
          {std::string(kSignatureHeader), Sign(secret->second, now_s, sends[i]->body)}};
      auto result = client.Post(absl::StrCat(prefix, path).c_str(), headers, sends[i]->body,
                                "application/json");
      const int status = result ? result->status : 0;
      MutexLock lock(&shared.mu);
      shared.report.attempted += 1;
      shared.report.succeeded += status >= 200 && status < 300 ? 1 : 0;
      shared.report.statuses[status] += 1;
    }
  };
  const size_t threads = std::min<size_t>(static_cast<size_t>(parallel), sends.size());
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(send_range, t, threads);
  send_range(0, std::max<size_t>(threads, 1));
  for (std::thread& w : workers) w.join();
  MutexLock lock(&shared.mu);
  return shared.report;
}

std::string Sandbox::NotifyNewest(const std::string& provider, const Event& event,
                                  const std::string& mode) {
  if (mode == "none") return "none";
  if (mode == "sync") {
    const DeliveryReport report = Deliver(provider, {event}, 1, 1);
    return report.succeeded == 1 ? "delivered" : "failed";
  }
  const int attempts_max = options_.async_attempts_max;
  const bool queued = background_->Post([this, provider, event, attempts_max] {
    // A provider retries until the webhook answers 2xx, a bounded number of times.
    for (int attempt = 0; attempt < attempts_max; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
      if (Deliver(provider, {event}, 1, 1).succeeded == 1) return;
    }
    Log(LogLevel::kWarn, "sandbox_delivery_gave_up", {{"event_id", event.event_id}});
  });
  return queued ? "queued" : "dropped";
}

}  // namespace qcash::payment::sandbox
