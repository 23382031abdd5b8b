// qcashctl: the operator's command line for Qcash.
//
//   qcashctl health <host:port> [service]     exit 0 when the server answers SERVING
//   qcashctl audit [wallet-database-url]      the ledger audit (default
//   $QCASH_WALLET_DATABASE_URL);
//                                             exit 1 when the books do not balance
//   qcashctl verify [--anchor HEX --at RFC3339] [wallet-database-url]
//                                             recompute every seller's journal chain; exit 1
//                                             when one is broken or the anchor differs
//   qcashctl seller <seller-id>               the seller's accounts and recent journal
//   qcashctl holds release-expired            release every hold past its expiry now
//   qcashctl orders stuck [min-age-seconds]   charge orders that need a look: paid and not
//                                             credited, refused for good, or past deadline
//   qcashctl orders retry <seller> <order>    credit a paid order now (idempotent: the order
//                                             id stays the wallet's key)
//   qcashctl orders show <seller> <order>     one order: its state, its moves and the
//                                             provider's reversals with what the wallet took
//                                             back and what became the seller's debt
//   qcashctl balance --at <RFC3339> [seller]  balances at a past instant: the seller's
//                                             (GetBalanceAt) or, without a seller, the
//                                             platform's accounts (GetPlatformBalancesAt)
//   qcashctl report base-date <YYYY-03-31|YYYY-09-30> [--format csv|json|html]
//                                             the Payment Services Act base-date report
//                                             (default csv); html is the operators' page,
//                                             self-contained, on stdout
//   qcashctl settlements import|mismatches|resolve|summary ...
//                                             settlement reconciliation (issue 16; the
//                                             commands: tools/qcashctl/settlements.h)
//   qcashctl config                           the effective QCASH_* configuration of this
//                                             environment, secrets redacted (run it in a
//                                             service's pod to see that service's)
//
// Services: QCASHCTL_WALLET (default 127.0.0.1:25051), QCASHCTL_PAYMENT (127.0.0.1:25052).
// Transport: mTLS with the operator's certificate from QCASHCTL_TLS_CERT, QCASHCTL_TLS_KEY and
// QCASHCTL_TLS_CA (identity "ops"); plaintext with x-qcash-caller "ops" for a development run when
// they are unset.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/grpc_client.h"
#include "common/pg.h"
#include "common/proto_time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "qcash/payment/v1/payment.grpc.pb.h"
#include "services/wallet/audit.h"
#include "services/wallet/client/wallet_client.h"
#include "services/wallet/verify.h"
#include "tools/qcashctl/settlements.h"

extern char** environ;

namespace {

namespace pb = ::qcash::wallet::v1;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool Tls() { return !qcash::EnvString("QCASHCTL_TLS_CERT", "").empty(); }

std::shared_ptr<grpc::ChannelCredentials> Credentials() {
  if (!Tls()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(qcash::EnvString("QCASHCTL_TLS_CA", ""));
  options.pem_private_key = ReadFile(qcash::EnvString("QCASHCTL_TLS_KEY", ""));
  options.pem_cert_chain = ReadFile(qcash::EnvString("QCASHCTL_TLS_CERT", ""));
  return grpc::SslCredentials(options);
}

// A channel to `address` as the operator: over TLS its certificate says so; in plaintext (a
// development stack) the channel names "ops" in metadata (common/grpc_client.h MakeChannel).
std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  if (Tls()) return grpc::CreateChannel(address, Credentials());
  qcash::TransportConfig plaintext;
  plaintext.insecure_dev = true;
  return *qcash::MakeChannel(address, plaintext, "ops");  // plaintext reads no file: never fails
}

std::unique_ptr<qcash::wallet::WalletClient> Wallet() {
  qcash::wallet::WalletClient::Options options;
  options.target = qcash::EnvString("QCASHCTL_WALLET", "127.0.0.1:25051");
  options.caller = "ops";
  options.retry.attempts_max = 2;
  return std::make_unique<qcash::wallet::WalletClient>(Channel(options.target), options);
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return 2;
}

int Health(const std::string& address, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(Channel(address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", address.c_str(), status.error_message().c_str());
    return 1;
  }
  const bool serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  std::printf("%s: %s\n", address.c_str(), serving ? "SERVING" : "NOT_SERVING");
  return serving ? 0 : 1;
}

int Audit(const std::string& url) {
  if (url.empty()) {
    std::fprintf(stderr,
                 "qcashctl audit: no database URL (argument or QCASH_WALLET_DATABASE_URL)\n");
    return 2;
  }
  auto conn = qcash::PgConnection::Connect(url, "qcashctl");
  if (!conn.ok()) return Fail(conn.status());
  auto report = qcash::wallet::AuditLedger(**conn);
  if (!report.ok()) return Fail(report.status());
  std::fputs(report->ToString().c_str(), stdout);
  return report->ok() ? 0 : 1;
}

// qcashctl verify [--anchor HEX --at RFC3339] [url]: the tamper-evident journal
// (services/wallet/verify.h). With --anchor, also the heads digest as of --at (default: now)
// must equal HEX, the anchor an outside copy kept.
int Verify(const std::vector<std::string>& args) {
  std::string url = qcash::EnvString("QCASH_WALLET_DATABASE_URL", "");
  std::string anchor;
  qcash::wallet::VerifyOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--anchor" || args[i] == "--at") && i + 1 < args.size()) {
      const std::string& value = args[++i];
      if (args[i - 1] == "--anchor") {
        anchor = absl::AsciiStrToLower(value);
        continue;
      }
      absl::Time at;
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, value, &at, &error)) {
        std::fprintf(stderr, "qcashctl verify: --at %s: %s\n", value.c_str(), error.c_str());
        return 2;
      }
      options.at = at;
    } else if (!absl::StartsWith(args[i], "--")) {
      url = args[i];
    } else {
      std::fprintf(stderr, "qcashctl verify: unknown or incomplete option %s\n", args[i].c_str());
      return 2;
    }
  }
  if (url.empty()) {
    std::fprintf(stderr,
                 "qcashctl verify: no database URL (argument or QCASH_WALLET_DATABASE_URL)\n");
    return 2;
  }
  auto conn = qcash::PgConnection::Connect(url, "qcashctl");
  if (!conn.ok()) return Fail(conn.status());
  auto report = qcash::wallet::VerifyJournal(**conn, options);
  if (!report.ok()) return Fail(report.status());
  std::fputs(report->ToString().c_str(), stdout);
  bool anchor_ok = true;
  if (!anchor.empty()) {
    const std::string& got = report->at ? report->at->digest_hex : report->heads_digest;
    anchor_ok = got == anchor;
    std::printf("anchor: %s\n", anchor_ok ? "matches"
                                          : "DIFFERS (the journal was rewritten "
                                            "since the anchor, or --at is wrong)");
  }
  return report->sound() && anchor_ok ? 0 : 1;
}

// What an entry of a payment reversal means, for the operator reading `qcashctl seller`
// (DESIGN.md section 9); empty for every other type, whose name says it.
const char* EntryWords(pb::EntryType type) {
  switch (type) {
    case pb::ENTRY_TYPE_CLAWBACK:
      return "taken back: the provider reversed this order's payment";
    case pb::ENTRY_TYPE_DEBT:
      return "already spent: owed by the seller (未回収額)";
    case pb::ENTRY_TYPE_DEBT_RECOVERY:
      return "this credit paid the debt back";
    default:
      return "";
  }
}

std::string Time(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S JST", absl::FromUnixSeconds(ts.seconds()),
                          absl::FixedTimeZone(9 * 3600));
}

int Seller(const std::string& seller) {
  auto wallet = Wallet();
  pb::GetBalanceRequest read;
  read.set_seller_id(seller);
  auto balance = wallet->GetBalance(read);
  if (!balance.ok()) return Fail(balance.status());
  const pb::Balance& b = balance->balance();
  std::printf("seller %s  (%s, version %lld)\n", b.seller_id().c_str(),
              pb::WalletState_Name(b.state()).c_str(), static_cast<long long>(b.version()));
  std::printf("  available            %15lld yen\n", static_cast<long long>(b.available_yen()));
  std::printf("  held                 %15lld yen\n", static_cast<long long>(b.held_yen()));
  std::printf("  Qmoney               %15lld yen\n", static_cast<long long>(b.qmoney_yen()));
  std::printf("  pending settlement   %15lld yen\n",
              static_cast<long long>(b.pending_settlement_yen()));
  std::printf("  debt (未回収額)      %15lld yen%s\n", static_cast<long long>(b.debt_yen()),
              b.debt_yen() > 0 ? "  (the next charges and conversions pay it back first)" : "");
  pb::ListHistoryRequest history;
  history.set_seller_id(seller);
  history.set_page_size(20);
  auto entries = wallet->ListHistory(history);
  if (!entries.ok()) return Fail(entries.status());
  std::printf("recent journal (newest first):\n");
  for (const pb::HistoryEntry& e : entries->entries()) {
    std::printf("  %6lld  %s  %-32s %12lld  %-34s -> %-34s available %lld held %lld",
                static_cast<long long>(e.seq()), Time(e.created_at()).c_str(),
                pb::EntryType_Name(e.type()).c_str(), static_cast<long long>(e.amount_yen()),
                pb::Account_Name(e.debit_account()).c_str(),
                pb::Account_Name(e.credit_account()).c_str(),
                static_cast<long long>(e.available_after_yen()),
                static_cast<long long>(e.held_after_yen()));
    if (e.debt_after_yen() > 0)
      std::printf(" debt %lld", static_cast<long long>(e.debt_after_yen()));
    std::printf("  %s", e.reference().c_str());
    if (*EntryWords(e.type()) != '\0') std::printf("  (%s)", EntryWords(e.type()));
    std::printf("\n");
  }
  return 0;
}

int ReleaseExpiredHolds() {
  qcash::RetryPolicy policy;
  grpc::ClientContext context;
  qcash::PrepareContext(&context, policy);
  auto stub =
      pb::WalletService::NewStub(Channel(qcash::EnvString("QCASHCTL_WALLET", "127.0.0.1:25051")));
  pb::ReleaseExpiredHoldsRequest request;
  pb::ReleaseExpiredHoldsResponse response;
  const grpc::Status status = stub->ReleaseExpiredHolds(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.error_message().c_str());
    return 1;
  }
  std::printf("released %lld expired holds\n", static_cast<long long>(response.released()));
  return 0;
}

std::unique_ptr<qcash::payment::v1::PaymentService::Stub> Payment() {
  return qcash::payment::v1::PaymentService::NewStub(
      Channel(qcash::EnvString("QCASHCTL_PAYMENT", "127.0.0.1:25052")));
}

void PrintOrder(const qcash::payment::v1::ChargeOrder& o) {
  namespace ppb = ::qcash::payment::v1;
  std::printf("  %-24s %-20s %9lld yen  %-30s %-24s paid %s  %s\n", o.order_id().c_str(),
              o.seller_id().c_str(), static_cast<long long>(o.amount_yen()),
              ppb::PaymentMethod_Name(o.method()).c_str(), ppb::OrderState_Name(o.state()).c_str(),
              o.has_paid_at() ? Time(o.paid_at()).c_str() : "-", o.attention().c_str());
}

int StuckOrders(int64_t min_age_s) {
  auto stub = Payment();
  qcash::payment::v1::ListStuckOrdersRequest request;
  request.set_page_size(100);
  request.set_min_age_seconds(min_age_s);
  int shown = 0;
  for (int page = 0; page < 100; ++page) {
    grpc::ClientContext context;
    qcash::PrepareContext(&context, qcash::RetryPolicy{});
    qcash::payment::v1::ListStuckOrdersResponse response;
    const grpc::Status status = stub->ListStuckOrders(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.error_message().c_str());
      return 1;
    }
    for (const auto& order : response.orders()) {
      PrintOrder(order);
      ++shown;
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  std::printf("%d orders need a look\n", shown);
  return 0;
}

int ShowOrder(const std::string& seller, const std::string& order_id) {
  namespace ppb = ::qcash::payment::v1;
  auto stub = Payment();
  ppb::GetChargeOrderRequest request;
  request.set_seller_id(seller);
  request.set_order_id(order_id);
  grpc::ClientContext context;
  qcash::PrepareContext(&context, qcash::RetryPolicy{});
  ppb::GetChargeOrderResponse response;
  const grpc::Status status = stub->GetChargeOrder(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.error_message().c_str());
    return 1;
  }
  const ppb::ChargeOrder& o = response.order();
  PrintOrder(o);
  std::printf("  credited %s (journal entry %lld)  reversed %lld yen\n",
              o.has_credited_at() ? Time(o.credited_at()).c_str() : "-",
              static_cast<long long>(o.wallet_entry_seq()),
              static_cast<long long>(o.reversed_yen()));
  std::printf("moves:\n");
  for (const ppb::Transition& t : o.transitions()) {
    std::printf(
        "  %s  %-20s -> %-20s %-22s %s\n", Time(t.at()).c_str(),
        t.from() == ppb::ORDER_STATE_UNSPECIFIED ? "-" : ppb::OrderState_Name(t.from()).c_str(),
        ppb::OrderState_Name(t.to()).c_str(), t.actor().c_str(), t.reason().c_str());
  }
  std::printf("reversals:%s\n", o.reversals().empty() ? " none" : "");
  for (const ppb::Reversal& r : o.reversals()) {
    std::printf(
        "  %-24s %-26s %9lld yen  %-34s clawed back %lld yen, debt %lld yen, "
        "journal entry %lld, received %s, applied %s\n",
        r.reversal_id().c_str(), ppb::ReversalKind_Name(r.kind()).c_str(),
        static_cast<long long>(r.amount_yen()), ppb::ReversalState_Name(r.state()).c_str(),
        static_cast<long long>(r.clawed_back_yen()), static_cast<long long>(r.debt_yen()),
        static_cast<long long>(r.wallet_entry_seq()),
        r.has_received_at() ? Time(r.received_at()).c_str() : "-",
        r.has_applied_at() ? Time(r.applied_at()).c_str() : "-");
  }
  return 0;
}

int RetryCredit(const std::string& seller, const std::string& order_id) {
  auto stub = Payment();
  qcash::payment::v1::RetryCreditRequest request;
  request.set_seller_id(seller);
  request.set_order_id(order_id);
  request.set_idempotency_key(
      absl::StrCat("qcashctl-retry/", order_id, "/", absl::ToUnixSeconds(absl::Now())));
  grpc::ClientContext context;
  qcash::PrepareContext(&context, qcash::RetryPolicy{});
  qcash::payment::v1::RetryCreditResponse response;
  const grpc::Status status = stub->RetryCredit(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.error_message().c_str());
    return 1;
  }
  PrintOrder(response.order());
  return 0;
}

bool LooksSecret(const std::string& name) {
  for (const char* word : {"SECRET", "PASSWORD", "PASSWD", "PRIVATE", "TOKEN_KEY"}) {
    if (absl::StrContains(name, word)) return true;
  }
  return false;
}

int Config() {
  std::vector<std::string> lines;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    if (!absl::StartsWith(name, "QCASH")) continue;
    std::string value = entry.substr(eq + 1);
    // Paths of secret files are fine to show; the secrets themselves never.
    if (LooksSecret(name) && !absl::StartsWith(value, "/")) value = "***";
    if (absl::StrContains(name, "URL") || absl::StrContains(value, "://")) {
      value = qcash::RedactUrl(value);
    }
    lines.push_back(absl::StrCat(name, "=", value));
  }
  std::sort(lines.begin(), lines.end());
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  if (lines.empty()) std::printf("(no QCASH_* settings: every service uses its defaults)\n");
  return 0;
}

// ------------------------------------------------------------- the issuer's books

std::unique_ptr<pb::WalletService::Stub> WalletStub() {
  return pb::WalletService::NewStub(
      Channel(qcash::EnvString("QCASHCTL_WALLET", "127.0.0.1:25051")));
}

// 12345678 -> "12,345,678" (yen as operators read them).
std::string Yen(int64_t yen) {
  const uint64_t magnitude =
      yen < 0 ? uint64_t{0} - static_cast<uint64_t>(yen) : static_cast<uint64_t>(yen);
  const std::string digits = absl::StrCat(magnitude);
  std::string out = yen < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

int BalanceAt(const std::string& at_text, const std::string& seller) {
  absl::Time at;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, at_text, &at, &error)) {
    std::fprintf(stderr, "qcashctl balance: --at %s is not RFC 3339 (%s)\n", at_text.c_str(),
                 error.c_str());
    return 2;
  }
  auto stub = WalletStub();
  grpc::ClientContext context;
  qcash::PrepareContext(&context, qcash::RetryPolicy{});
  if (!seller.empty()) {
    pb::GetBalanceAtRequest request;
    request.set_seller_id(seller);
    qcash::SetTimestamp(at, request.mutable_at());
    pb::GetBalanceAtResponse response;
    const grpc::Status status = stub->GetBalanceAt(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.error_message().c_str());
      return 1;
    }
    const pb::Balance& b = response.balance();
    std::printf(
        "seller %s at %s  (%s, last entry %lld)\n", seller.c_str(),
        absl::FormatTime("%Y-%m-%d %H:%M:%E6S JST", at, absl::FixedTimeZone(9 * 3600)).c_str(),
        pb::WalletState_Name(b.state()).c_str(), static_cast<long long>(response.last_entry_seq()));
    std::printf("  available            %18s yen\n", Yen(b.available_yen()).c_str());
    std::printf("  held                 %18s yen\n", Yen(b.held_yen()).c_str());
    std::printf("  Qmoney               %18s yen\n", Yen(b.qmoney_yen()).c_str());
    std::printf("  pending settlement   %18s yen\n", Yen(b.pending_settlement_yen()).c_str());
    std::printf("  debt (未回収額)      %18s yen\n", Yen(b.debt_yen()).c_str());
    std::printf("  unused, paid lots    %18s yen\n", Yen(response.paid_unused_yen()).c_str());
    std::printf("  unused, free lots    %18s yen\n", Yen(response.free_unused_yen()).c_str());
    return 0;
  }
  pb::GetPlatformBalancesAtRequest request;
  qcash::SetTimestamp(at, request.mutable_at());
  pb::GetPlatformBalancesAtResponse response;
  const grpc::Status status = stub->GetPlatformBalancesAt(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.error_message().c_str());
    return 1;
  }
  std::printf(
      "the platform at %s  (%lld journal entries by then)\n",
      absl::FormatTime("%Y-%m-%d %H:%M:%E6S JST", at, absl::FixedTimeZone(9 * 3600)).c_str(),
      static_cast<long long>(response.entries()));
  for (const auto* list : {&response.platform(), &response.sellers()}) {
    for (const pb::AccountBalance& a : *list) {
      std::printf("  %-38s %18s yen\n", pb::Account_Name(a.account()).c_str(),
                  Yen(a.balance_yen()).c_str());
    }
  }
  std::printf("  %-38s %18s yen\n", "unused Qcash in paid lots",
              Yen(response.paid_unused_yen()).c_str());
  std::printf("  %-38s %18s yen\n", "unused Qcash in free lots",
              Yen(response.free_unused_yen()).c_str());
  std::printf("  %-38s %18s yen\n", "paid Qcash clawed back (reversals)",
              Yen(response.paid_clawed_back_yen()).c_str());
  std::printf("  %-38s %18s yen\n", "free Qcash clawed back (reversals)",
              Yen(response.free_clawed_back_yen()).c_str());
  return 0;
}

// One line of the report: its key (CSV, JSON), its label on the page, and its value.
struct ReportLine {
  const char* key;
  const char* label;
  int64_t yen;
};

std::vector<ReportLine> ReportLines(const pb::BaseDateReport& r) {
  return {
      {"paid_unused_previous_yen", "前回基準日未使用残高", r.paid_unused_previous_yen()},
      {"paid_issued_yen", "発行額", r.paid_issued_yen()},
      {"paid_used_yen", "回収額（広告利用）", r.paid_used_yen()},
      {"paid_forfeited_yen", "回収額（退店による失効）", r.paid_forfeited_yen()},
      {"paid_clawed_back_yen", "回収額（決済の取消・未回収額の充当）", r.paid_clawed_back_yen()},
      {"paid_recovered_yen", "回収額", r.paid_recovered_yen()},
      {"paid_before_lots_yen", "ロット導入前の増減", r.paid_before_lots_yen()},
      {"paid_unused_yen", "基準日未使用残高", r.paid_unused_yen()},
      {"deposit_required_yen", "発行保証金（要供託額）", r.deposit_required_yen()},
      {"free_unused_previous_yen", "前回基準日未使用残高（無償）", r.free_unused_previous_yen()},
      {"free_issued_yen", "発行額（無償）", r.free_issued_yen()},
      {"free_used_yen", "利用額（無償）", r.free_used_yen()},
      {"free_forfeited_yen", "失効額（無償）", r.free_forfeited_yen()},
      {"free_clawed_back_yen", "未回収額への充当（無償）", r.free_clawed_back_yen()},
      {"free_unused_yen", "基準日未使用残高（無償）", r.free_unused_yen()},
  };
}

std::string ReportTime(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S+09:00", absl::FromUnixSeconds(ts.seconds()),
                          absl::FixedTimeZone(9 * 3600));
}

void PrintReportCsv(const pb::BaseDateReport& r) {
  std::printf("field,value\n");
  std::printf("base_date,%s\n", r.base_date().c_str());
  std::printf("period_start,%s\n", ReportTime(r.period_start()).c_str());
  std::printf("period_end,%s\n", ReportTime(r.period_end()).c_str());
  for (const ReportLine& line : ReportLines(r)) {
    std::printf("%s,%lld\n", line.key, static_cast<long long>(line.yen));
  }
  std::printf("above_threshold,%s\n", r.above_threshold() ? "true" : "false");
}

void PrintReportJson(const pb::BaseDateReport& r) {
  std::printf(
      "{\n  \"base_date\": \"%s\",\n  \"period_start\": \"%s\",\n  \"period_end\": \"%s\",\n",
      r.base_date().c_str(), ReportTime(r.period_start()).c_str(),
      ReportTime(r.period_end()).c_str());
  for (const ReportLine& line : ReportLines(r)) {
    std::printf("  \"%s\": %lld,\n", line.key, static_cast<long long>(line.yen));
  }
  std::printf("  \"above_threshold\": %s\n}\n", r.above_threshold() ? "true" : "false");
}

// The operators' page: one file, no scripts, no external requests (styles inline).
void PrintReportHtml(const pb::BaseDateReport& r) {
  std::string rows_paid, rows_free;
  for (const ReportLine& line : ReportLines(r)) {
    const bool free = absl::StartsWith(line.key, "free_");
    const bool strong = std::string(line.key) == "paid_unused_yen" ||
                        std::string(line.key) == "deposit_required_yen";
    absl::StrAppend(free ? &rows_free : &rows_paid, "<tr", strong ? " class=\"total\"" : "",
                    "><th>", line.label, "</th><td>", Yen(line.yen), " 円</td></tr>\n");
  }
  std::printf(
      "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>基準日報告 %s</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em;color:#222}\n"
      "table{border-collapse:collapse;margin-bottom:1.5em;min-width:32em}\n"
      "th,td{border:1px solid #bbb;padding:.4em .8em}\nth{text-align:left;font-weight:normal}\n"
      "td{text-align:right;font-variant-numeric:tabular-nums}\n"
      "tr.total th,tr.total td{font-weight:bold}\n.above{color:#a00;font-weight:bold}\n"
      "</style>\n</head>\n<body>\n<h1>前払式支払手段（自家型）基準日報告</h1>\n"
      "<p>基準日: <strong>%s</strong>（期間: %s 〜 %s、日本時間）</p>\n"
      "<h2>有償発行分（前払式支払手段）</h2>\n<table>\n%s</table>\n"
      "<p>基準日未使用残高が 10,000,000 円を%s。</p>\n"
      "<h2>無償発行分（ポイント交換、前払式支払手段に当たらない）</h2>\n<table>\n%s</table>\n"
      "<p>回収額 = 広告利用 + 退店による失効。発行保証金 = "
      "基準日未使用残高の2分の1（1円未満切り上げ）。"
      "</p>\n</body>\n</html>\n",
      r.base_date().c_str(), r.base_date().c_str(), ReportTime(r.period_start()).c_str(),
      ReportTime(r.period_end()).c_str(), rows_paid.c_str(),
      r.above_threshold() ? "<span class=\"above\">超えています</span>: 発行保証金の供託が必要です"
                          : "超えていません: 発行保証金の供託は不要です",
      rows_free.c_str());
}

int BaseDateReport(const std::string& base_date, const std::string& format) {
  if (format != "csv" && format != "json" && format != "html") {
    std::fprintf(stderr, "qcashctl report: --format must be csv, json or html\n");
    return 2;
  }
  auto stub = WalletStub();
  grpc::ClientContext context;
  qcash::PrepareContext(&context, qcash::RetryPolicy{});
  pb::GetBaseDateReportRequest request;
  request.set_base_date(base_date);
  pb::GetBaseDateReportResponse response;
  const grpc::Status status = stub->GetBaseDateReport(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.error_message().c_str());
    return 1;
  }
  if (format == "csv") PrintReportCsv(response.report());
  if (format == "json") PrintReportJson(response.report());
  if (format == "html") PrintReportHtml(response.report());
  return 0;
}

void Usage() {
  std::fputs(
      "usage:\n"
      "  qcashctl health <host:port> [service]\n"
      "  qcashctl audit [wallet-database-url]\n"
      "  qcashctl verify [--anchor HEX --at RFC3339] [wallet-database-url]\n"
      "  qcashctl seller <seller-id>\n"
      "  qcashctl holds release-expired\n"
      "  qcashctl orders stuck [min-age-seconds]\n"
      "  qcashctl orders retry <seller-id> <order-id>\n"
      "  qcashctl orders show <seller-id> <order-id>\n"
      "  qcashctl balance --at <RFC3339> [seller-id]\n"
      "  qcashctl report base-date <YYYY-03-31|YYYY-09-30> [--format csv|json|html]\n"
      "  qcashctl config\n",
      stderr);
  std::fputs(qcash::qcashctl::SettlementsUsage(), stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage();
    return 2;
  }
  const std::string command = argv[1];
  if (command == "health" && argc >= 3) return Health(argv[2], argc >= 4 ? argv[3] : "");
  if (command == "audit") {
    return Audit(argc >= 3 ? argv[2] : qcash::EnvString("QCASH_WALLET_DATABASE_URL", ""));
  }
  if (command == "verify") return Verify(std::vector<std::string>(argv + 2, argv + argc));
  if (command == "seller" && argc == 3) return Seller(argv[2]);
  if (command == "holds" && argc == 3 && std::string(argv[2]) == "release-expired") {
    return ReleaseExpiredHolds();
  }
  if (command == "config") return Config();
  if (command == "balance" && (argc == 4 || argc == 5) && std::string(argv[2]) == "--at") {
    return BalanceAt(argv[3], argc == 5 ? argv[4] : "");
  }
  if (command == "report" && argc >= 4 && std::string(argv[2]) == "base-date") {
    if (argc == 4) return BaseDateReport(argv[3], "csv");
    if (argc == 6 && std::string(argv[4]) == "--format") return BaseDateReport(argv[3], argv[5]);
  }
  if (command == "orders" && argc >= 3 && std::string(argv[2]) == "stuck") {
    return StuckOrders(argc >= 4 ? std::atoll(argv[3]) : 60);
  }
  if (command == "orders" && argc == 5 && std::string(argv[2]) == "retry") {
    return RetryCredit(argv[3], argv[4]);
  }
  if (command == "orders" && argc == 5 && std::string(argv[2]) == "show") {
    return ShowOrder(argv[3], argv[4]);
  }
  if (command == "settlements") {  // issue 16: tools/qcashctl/settlements.h
    return qcash::qcashctl::Settlements(
        std::vector<std::string>(argv + 2, argv + argc),
        Channel(qcash::EnvString("QCASHCTL_PAYMENT", "127.0.0.1:25052")));
  }
  Usage();
  return 2;
}
