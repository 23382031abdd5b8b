#include "services/payment/settlement_scheduler.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/connectors/provider_api.pb.h"
#include "services/payment/signature.h"

namespace qcash::payment {

absl::StatusOr<std::string> FetchSettlementReport(const std::string& provider,
                                                  const std::string& base_url,
                                                  const std::string& secret, absl::CivilDay day,
                                                  const SettlementSchedule& schedule) {
  const size_t scheme = base_url.find("://");
  const size_t slash = base_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string prefix = slash == std::string::npos ? "" : base_url.substr(slash);
  while (absl::EndsWith(prefix, "/")) prefix.pop_back();
  httplib::Client client(base_url.substr(0, slash));
  client.set_connection_timeout(schedule.connect_timeout);
  client.set_read_timeout(schedule.read_timeout);
  client.set_write_timeout(schedule.read_timeout);
  provider::v1::SettlementReportRef ref;
  ref.set_date(FormatDay(day));
  std::string body;
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(ref, &body, json);
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  // The answer is read up to the report's size limit and no further.
  httplib::Request request;
  request.method = "POST";
  request.path = absl::StrCat(prefix, "/v1/settlements");
  request.headers = {{std::string(kTimestampHeader), absl::StrCat(now_s)},
                     {std::string(kSignatureHeader), Sign(secret, now_s, body)},
                     {"Content-Type", "application/json"}};
  request.body = body;
  std::string content;
  bool too_large = false;
  request.content_receiver = [&content, &too_large](const char* data, size_t length, uint64_t,
                                                    uint64_t) {
    if (content.size() + length > kSettlementReportBytesMax) {
      too_large = true;
      return false;
    }
    content.append(data, length);
    return true;
  };
  httplib::Result result = client.send(request);
  if (too_large) {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER,
                       absl::StrCat(provider, ": the settlement report is over 4 MiB"));
  }
  if (!result) {
    return Unavailable(payment::v1::PROVIDER_UNAVAILABLE,
                       absl::StrCat(provider, ": ", httplib::to_string(result.error())));
  }
  const httplib::Response& response = *result;
  if (response.has_header(std::string(kSandboxHeader).c_str()) && !schedule.allow_sandbox) {
    return FailedPrecondition(payment::v1::SANDBOX_REFUSED,
                              absl::StrCat(provider, " answered from the development sandbox"));
  }
  if (response.status == 404) {
    return NotFound(payment::v1::PAYMENT_NOT_FOUND,
                    absl::StrCat(provider, ": ", FormatDay(day), " is not settled yet"));
  }
  if (response.status == 401 || response.status == 403) {
    return Unavailable(payment::v1::PROVIDER_AUTH_FAILED,
                       absl::StrCat(provider, " refused our credentials"));
  }
  if (response.status != 200) {
    return Unavailable(payment::v1::PROVIDER_UNAVAILABLE,
                       absl::StrCat(provider, " answered ", response.status));
  }
  return content;
}

SettlementScheduler::SettlementScheduler(Settlement* settlement, SettlementSchedule schedule)
    : settlement_(settlement), schedule_(std::move(schedule)) {}

SettlementScheduler::~SettlementScheduler() { Stop(); }

void SettlementScheduler::Start() {
  thread_ = std::thread([this] {
    do {
      RunOnce();
    } while (!stop_.WaitForNotificationWithTimeout(schedule_.interval));
  });
}

void SettlementScheduler::Stop() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void SettlementScheduler::RunOnce() {
  const absl::CivilDay today = JstDay(settlement_->Now());
  const absl::CivilDay first = today - (schedule_.lookback_days - 1);
  for (const auto& [provider, url] : schedule_.provider_urls) {
    if (stop_.HasBeenNotified()) return;
    auto secret = schedule_.secrets.find(provider);
    if (secret == schedule_.secrets.end()) continue;
    auto fetched = settlement_->FetchedDays(provider, first);
    if (!fetched.ok()) {
      Log(LogLevel::kWarn, "settlement_fetch_failed",
          {{"provider", provider}, {"error", fetched.status().ToString()}});
      return;  // the database is away: the next pass tries again
    }
    const std::set<absl::CivilDay> done(fetched->begin(), fetched->end());
    for (absl::CivilDay day = first; day <= today; ++day) {
      if (done.count(day) > 0 || stop_.HasBeenNotified()) continue;
      // No connection is leased while the provider answers.
      auto content = FetchSettlementReport(provider, url, secret->second, day, schedule_);
      if (!content.ok()) {
        if (!absl::IsNotFound(content.status())) {
          CountImport(provider, "failed");
          Log(LogLevel::kWarn, "settlement_fetch_failed",
              {{"provider", provider},
               {"date", FormatDay(day)},
               {"error", content.status().ToString()}});
          break;  // this provider is away: its later days wait for the next pass
        }
        continue;  // not settled yet
      }
      auto imported =
          settlement_->Import(provider, absl::StrCat(provider, "-", FormatDay(day), ".csv"),
                              *content, "scheduler", day);
      if (!imported.ok()) {
        CountImport(provider, absl::IsInvalidArgument(imported.status()) ? "refused" : "failed");
        Log(LogLevel::kError, "settlement_import_failed",
            {{"provider", provider},
             {"date", FormatDay(day)},
             {"error", imported.status().ToString()}});
        continue;
      }
      CountImport(provider, imported->replayed ? "replayed" : "imported");
      Log(LogLevel::kInfo, "settlement_imported",
          {{"provider", provider},
           {"date", FormatDay(day)},
           {"report_id", imported->report_id},
           {"lines", imported->lines},
           {"matched", imported->matched},
           {"mismatches", imported->mismatches}});
    }
  }
  auto overdue = settlement_->CheckOverdue();
  if (!overdue.ok()) {
    Log(LogLevel::kWarn, "settlement_overdue_check_failed",
        {{"error", overdue.status().ToString()}});
  }
  if (absl::Status s = settlement_->PublishMetrics(); !s.ok()) {
    Log(LogLevel::kWarn, "settlement_metrics_failed", {{"error", s.ToString()}});
  }
}

}  // namespace qcash::payment
