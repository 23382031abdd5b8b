#include "tools/qcashctl/settlements.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_client.h"
#include "common/grpc_status.h"
#include "common/hash.h"
#include "common/proto_time.h"
#include "common/status.h"
#include "qcash/payment/v1/payment.grpc.pb.h"

namespace qcash::qcashctl {
namespace {

namespace pb = ::qcash::payment::v1;

constexpr size_t kFileBytesMax = 4 * 1024 * 1024;
constexpr int kPagesMax = 200;  // 500 a page: at most 100,000 mismatches listed

int Refused(const grpc::Status& status) {
  const absl::Status s = FromGrpcStatus(status);
  std::string detail;
  for (const auto& [key, value] : MetadataOf(s)) absl::StrAppend(&detail, " ", key, "=", value);
  std::fprintf(stderr, "%s%s%s\n", status.error_message().c_str(), detail.empty() ? "" : " (",
               detail.empty() ? "" : absl::StrCat(detail.substr(1), ")").c_str());
  return 1;
}

std::string KindName(pb::MismatchKind kind) {
  std::string name = pb::MismatchKind_Name(kind);
  absl::string_view short_name(name);
  if (absl::ConsumePrefix(&short_name, "MISMATCH_KIND_")) return std::string(short_name);
  return name;
}

// The operators' page speaks Japanese, as the rest of their pages do.
const char* KindLabel(pb::MismatchKind kind) {
  switch (kind) {
    case pb::MISMATCH_KIND_NOT_SETTLED:
      return "未入金（期日超過）";
    case pb::MISMATCH_KIND_SETTLED_NOT_CREDITED:
      return "入金あり・未チャージ";
    case pb::MISMATCH_KIND_AMOUNT_MISMATCH:
      return "金額不一致";
    case pb::MISMATCH_KIND_UNKNOWN_TRANSACTION:
      return "不明な取引";
    case pb::MISMATCH_KIND_DUPLICATE:
      return "重複入金";
    case pb::MISMATCH_KIND_SETTLED_LATE:
      return "入金遅延";
    default:
      return "不明";
  }
}

std::string Age(int64_t seconds) {
  if (seconds >= 86'400) return absl::StrCat(seconds / 86'400, "d", (seconds % 86'400) / 3600, "h");
  if (seconds >= 3600) return absl::StrCat(seconds / 3600, "h", (seconds % 3600) / 60, "m");
  if (seconds >= 60) return absl::StrCat(seconds / 60, "m", seconds % 60, "s");
  return absl::StrCat(seconds, "s");
}

std::string Stamp(const google::protobuf::Timestamp& ts) {
  const std::optional<absl::Time> t = TimeOf(ts);
  if (!t.has_value() || (ts.seconds() == 0 && ts.nanos() == 0)) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *t, absl::UTCTimeZone());
}

std::string Yen(int64_t yen) {
  const bool negative = yen < 0;
  std::string digits = absl::StrCat(negative ? -yen : yen);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return negative ? "-" + digits : digits;
}

std::string Html(absl::string_view text) {
  return absl::StrReplaceAll(
      text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&#39;"}});
}

std::string Csv(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

template <typename Request, typename Response>
grpc::Status Call(grpc::Status (pb::PaymentService::Stub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                  pb::PaymentService::Stub* stub, const Request& request, Response* response) {
  grpc::ClientContext context;
  PrepareContext(&context, RetryPolicy{});
  return (stub->*method)(&context, request, response);
}

int Import(pb::PaymentService::Stub* stub, const std::string& provider, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 1;
  }
  std::string content(kFileBytesMax + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > kFileBytesMax) {
    std::fprintf(stderr, "%s: a settlement report holds at most 4 MiB\n", path.c_str());
    return 1;
  }
  pb::ImportSettlementReportRequest request;
  request.set_provider(provider);
  request.set_file_name(path.substr(path.find_last_of('/') + 1).substr(0, 255));
  request.set_content(content);
  pb::ImportSettlementReportResponse response;
  const grpc::Status status =
      Call(&pb::PaymentService::Stub::ImportSettlementReport, stub, request, &response);
  if (!status.ok()) return Refused(status);
  std::printf("report %lld of %s: %s; %lld lines, %lld settled exactly, %lld mismatches\n",
              static_cast<long long>(response.report_id()), provider.c_str(),
              response.replayed() ? "imported before, nothing changed" : "imported",
              static_cast<long long>(response.lines()), static_cast<long long>(response.matched()),
              static_cast<long long>(response.mismatches()));
  for (const pb::MismatchCount& c : response.by_kind()) {
    std::printf("  %-22s %lld\n", KindName(c.kind()).c_str(), static_cast<long long>(c.count()));
  }
  return 0;
}

void PrintText(const std::vector<pb::SettlementMismatch>& list, bool all) {
  std::printf("%s settlement mismatches, oldest first, as of %s\n", all ? "all" : "open",
              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()).c_str());
  std::printf("%6s  %-21s %-13s %8s  %-35s %-28s %10s %10s %7s  %-10s %s\n", "id", "kind",
              "provider", "age", "order", "transaction", "expected", "settled", "fee", "date",
              "report:line");
  for (const pb::SettlementMismatch& m : list) {
    std::printf(
        "%6lld  %-21s %-13s %8s  %-35s %-28s %10s %10s %7s  %-10s %s\n",
        static_cast<long long>(m.mismatch_id()), KindName(m.kind()).c_str(), m.provider().c_str(),
        Age(m.age_seconds()).c_str(), m.order_id().empty() ? "-" : m.order_id().c_str(),
        m.transaction_id().empty() ? "-" : m.transaction_id().c_str(),
        Yen(m.expected_yen()).c_str(), Yen(m.settled_yen()).c_str(), Yen(m.fee_yen()).c_str(),
        m.settlement_date().empty() ? "-" : m.settlement_date().c_str(),
        m.report_id() == 0 ? "-" : absl::StrCat(m.report_id(), ":", m.line_number()).c_str());
    if (m.resolved()) {
      std::printf("        resolved %s by %s: %s\n", Stamp(m.resolved_at()).c_str(),
                  m.resolved_by().c_str(), m.resolution().c_str());
    }
  }
  std::printf("%zu mismatches\n", list.size());
}

void PrintCsv(const std::vector<pb::SettlementMismatch>& list) {
  std::printf(
      "mismatch_id,kind,provider,order_id,seller_id,transaction_id,expected_yen,settled_yen,"
      "fee_yen,settlement_date,report_id,line_number,since,age_seconds,resolved,resolved_at,"
      "resolved_by,resolution\n");
  for (const pb::SettlementMismatch& m : list) {
    std::printf("%lld,%s,%s,%s,%s,%s,%lld,%lld,%lld,%s,%lld,%lld,%s,%lld,%s,%s,%s,%s\n",
                static_cast<long long>(m.mismatch_id()), KindName(m.kind()).c_str(),
                Csv(m.provider()).c_str(), Csv(m.order_id()).c_str(), Csv(m.seller_id()).c_str(),
                Csv(m.transaction_id()).c_str(), static_cast<long long>(m.expected_yen()),
                static_cast<long long>(m.settled_yen()), static_cast<long long>(m.fee_yen()),
                m.settlement_date().c_str(), static_cast<long long>(m.report_id()),
                static_cast<long long>(m.line_number()), Stamp(m.since()).c_str(),
                static_cast<long long>(m.age_seconds()), m.resolved() ? "true" : "false",
                Stamp(m.resolved_at()).c_str(), Csv(m.resolved_by()).c_str(),
                Csv(m.resolution()).c_str());
  }
}

// The operators' page: one file, no scripts, no external requests (styles inline).
void PrintHtml(const std::vector<pb::SettlementMismatch>& list, bool all) {
  std::string rows;
  for (const pb::SettlementMismatch& m : list) {
    absl::StrAppend(
        &rows, "<tr", m.resolved() ? " class=\"resolved\"" : "", "><td>", m.mismatch_id(),
        "</td><td>", KindLabel(m.kind()), "<br><small>", KindName(m.kind()), "</small></td><td>",
        Html(m.provider()), "</td><td class=\"n\">", Html(Age(m.age_seconds())), "</td><td>",
        Html(m.order_id().empty() ? "-" : m.order_id()), "<br><small>", Html(m.seller_id()),
        "</small></td><td>", Html(m.transaction_id().empty() ? "-" : m.transaction_id()),
        "</td><td class=\"n\">", Yen(m.expected_yen()), " 円</td><td class=\"n\">",
        Yen(m.settled_yen()), " 円</td><td class=\"n\">", Yen(m.fee_yen()), " 円</td><td>",
        Html(m.settlement_date().empty() ? "-" : m.settlement_date()), "</td><td>",
        m.report_id() == 0 ? std::string("-") : absl::StrCat(m.report_id(), ":", m.line_number()),
        "</td><td>",
        m.resolved() ? absl::StrCat(Html(Stamp(m.resolved_at())), "<br>", Html(m.resolved_by()),
                                    ": ", Html(m.resolution()))
                     : std::string("未解決"),
        "</td></tr>\n");
  }
  const std::string now =
      absl::FormatTime("%Y-%m-%d %H:%M:%S JST", absl::Now(), absl::FixedTimeZone(9 * 3600));
  std::printf(
      "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>決済照合の不一致</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em;color:#222}\n"
      "table{border-collapse:collapse;min-width:60em}\n"
      "th,td{border:1px solid #bbb;padding:.3em .6em;vertical-align:top}\n"
      "th{background:#eee;text-align:left}\ntd.n{text-align:right;"
      "font-variant-numeric:tabular-nums}\nsmall{color:#666}\ntr.resolved{color:#888}\n"
      "</style>\n</head>\n<body>\n<h1>決済照合の不一致（settlement mismatches）</h1>\n"
      "<p>%s、%s時点、古い順。経過時間は支払い（未入金・入金遅延）または検出した取込からの時間。"
      "解決は <code>qcashctl settlements resolve &lt;id&gt; --operator 担当者 --reason 理由"
      "</code> で記録されます。</p>\n<p>件数: <strong>%zu</strong></p>\n<table>\n"
      "<tr><th>ID</th><th>種類</th><th>決済代行</th><th>経過</th><th>注文 / 加盟店</th>"
      "<th>取引ID</th><th>注文金額</th><th>入金額</th><th>手数料</th><th>入金日</th>"
      "<th>取込:行</th><th>解決</th></tr>\n%s</table>\n</body>\n</html>\n",
      all ? "すべての不一致（解決済みを含む）" : "未解決の不一致", now.c_str(), list.size(),
      rows.c_str());
}

int Mismatches(pb::PaymentService::Stub* stub, const std::vector<std::string>& args) {
  pb::ListSettlementMismatchesRequest request;
  std::string format = "text";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--all") {
      request.set_include_resolved(true);
    } else if (args[i] == "--provider" && i + 1 < args.size()) {
      request.set_provider(args[++i]);
    } else if (args[i] == "--format" && i + 1 < args.size()) {
      format = args[++i];
    } else {
      return 2;
    }
  }
  if (format != "text" && format != "csv" && format != "html") return 2;
  request.set_page_size(500);
  std::vector<pb::SettlementMismatch> list;
  for (int page = 0; page < kPagesMax; ++page) {
    pb::ListSettlementMismatchesResponse response;
    const grpc::Status status =
        Call(&pb::PaymentService::Stub::ListSettlementMismatches, stub, request, &response);
    if (!status.ok()) return Refused(status);
    for (const pb::SettlementMismatch& m : response.mismatches()) list.push_back(m);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  if (format == "text") PrintText(list, request.include_resolved());
  if (format == "csv") PrintCsv(list);
  if (format == "html") PrintHtml(list, request.include_resolved());
  return 0;
}

int Resolve(pb::PaymentService::Stub* stub, const std::vector<std::string>& args) {
  if (args.size() != 5 || args[1] != "--operator" || args[3] != "--reason") return 2;
  int64_t id = 0;
  if (!absl::SimpleAtoi(args[0], &id) || id <= 0) return 2;
  pb::ResolveSettlementMismatchRequest request;
  request.set_mismatch_id(id);
  request.set_operator_(args[2]);
  request.set_reason(args[4]);
  // The same command again is a replay; another operator or reason is another resolution.
  request.set_idempotency_key(absl::StrCat(
      "qcashctl-resolve/", id, "/", Sha256Hex(absl::StrCat(args[2], "\n", args[4])).substr(0, 32)));
  pb::ResolveSettlementMismatchResponse response;
  const grpc::Status status =
      Call(&pb::PaymentService::Stub::ResolveSettlementMismatch, stub, request, &response);
  if (!status.ok()) return Refused(status);
  const pb::SettlementMismatch& m = response.mismatch();
  std::printf("mismatch %lld (%s, %s) resolved %s by %s: %s%s\n",
              static_cast<long long>(m.mismatch_id()), KindName(m.kind()).c_str(),
              m.order_id().empty() ? m.transaction_id().c_str() : m.order_id().c_str(),
              Stamp(m.resolved_at()).c_str(), m.resolved_by().c_str(), m.resolution().c_str(),
              response.replayed() ? " (recorded before)" : "");
  return 0;
}

int Summary(pb::PaymentService::Stub* stub, const std::string& from, const std::string& to) {
  pb::GetSettlementSummaryRequest request;
  request.set_from_date(from);
  request.set_to_date(to);
  pb::GetSettlementSummaryResponse response;
  const grpc::Status status =
      Call(&pb::PaymentService::Stub::GetSettlementSummary, stub, request, &response);
  if (!status.ok()) return Refused(status);
  std::printf("orders paid %s .. %s (JST), per provider, in yen\n", from.c_str(), to.c_str());
  std::printf("%-14s %7s %12s %7s %12s %10s %12s %12s %10s %6s\n", "provider", "paid#", "paid",
              "settl#", "settled", "fees", "net", "unsettled", "reversed", "open");
  for (const pb::ProviderSettlement& p : response.providers()) {
    std::printf("%-14s %7lld %12s %7lld %12s %10s %12s %12s %10s %6lld\n", p.provider().c_str(),
                static_cast<long long>(p.paid_orders()), Yen(p.paid_yen()).c_str(),
                static_cast<long long>(p.settled_orders()), Yen(p.settled_yen()).c_str(),
                Yen(p.fee_yen()).c_str(), Yen(p.net_yen()).c_str(), Yen(p.unsettled_yen()).c_str(),
                Yen(p.reversed_yen()).c_str(), static_cast<long long>(p.open_mismatches()));
  }
  return 0;
}

}  // namespace

const char* SettlementsUsage() {
  return "  qcashctl settlements import <provider> <file>\n"
         "  qcashctl settlements mismatches [--provider P] [--all] [--format text|csv|html]\n"
         "  qcashctl settlements resolve <id> --operator WHO --reason WHY\n"
         "  qcashctl settlements summary <from YYYY-MM-DD> <to YYYY-MM-DD>\n";
}

int Settlements(const std::vector<std::string>& args, std::shared_ptr<grpc::Channel> payment) {
  auto stub = pb::PaymentService::NewStub(std::move(payment));
  int status = 2;
  if (args.size() == 3 && args[0] == "import") status = Import(stub.get(), args[1], args[2]);
  if (!args.empty() && args[0] == "mismatches") {
    status = Mismatches(stub.get(), std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (!args.empty() && args[0] == "resolve") {
    status = Resolve(stub.get(), std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args.size() == 3 && args[0] == "summary") status = Summary(stub.get(), args[1], args[2]);
  if (status == 2) std::fputs(SettlementsUsage(), stderr);
  return status;
}

}  // namespace qcash::qcashctl
