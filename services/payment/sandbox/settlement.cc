#include "services/payment/sandbox/settlement.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "services/payment/catalog.h"
#include "services/payment/connectors/provider_api.pb.h"

namespace qcash::payment::sandbox {
namespace {

namespace wire = ::qcash::payment::provider::v1;

constexpr int kPlantsPerDayMax = 1000;
constexpr int kLateDaysMax = 30;

absl::TimeZone Jst() { return absl::FixedTimeZone(9 * 3600); }

std::string Day(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

bool ParseDay(const std::string& text, absl::CivilDay* day) {
  return text.size() == 10 && absl::ParseCivilTime(text, day) && Day(*day) == text;
}

void Reply(httplib::Response& res, int status, absl::string_view code, absl::string_view text) {
  wire::Error error;
  error.set_code(std::string(code));
  error.set_message(std::string(text));
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(error, &json);
  res.status = status;
  res.set_content(json, "application/json");
}

struct Line {
  std::string transaction_id;
  std::string merchant_reference;
  int64_t amount_yen = 0;
  absl::CivilDay paid_day;
};

}  // namespace

int64_t SandboxFeeYen(const std::string& provider, int64_t amount_yen) {
  struct Fee {
    const char* provider;
    int64_t basis_points;  // 1/100 of a percent
    int64_t fixed_yen;
  };
  static constexpr Fee kFees[] = {
      {"card", 360, 0},          {"paypal", 360, 40}, {"atone", 390, 0},
      {"paidy", 350, 0},         {"linepay", 345, 0}, {"au", 350, 0},
      {"bank_transfer", 0, 165}, {"konbini", 0, 190}, {"paygent", 0, 150},
  };
  for (const Fee& fee : kFees) {
    if (provider == fee.provider) {
      return std::min(amount_yen, amount_yen * fee.basis_points / 10'000 + fee.fixed_yen);
    }
  }
  return 0;
}

void SettlementDesk::RecordPaid(const std::string& provider, const std::string& payment_id,
                                const std::string& merchant_reference, int64_t amount_yen,
                                absl::Time paid_at) {
  MutexLock lock(&mu_);
  Paid p;
  p.payment_id = payment_id;
  p.merchant_reference = merchant_reference;
  p.amount_yen = amount_yen;
  p.paid_day = absl::ToCivilDay(paid_at, Jst());
  p.settle_day = p.paid_day;
  // A closed day's report never changes: a payment after the cut goes to the next open day.
  while (closed_.count({provider, p.settle_day}) > 0) ++p.settle_day;
  paid_[provider].push_back(std::move(p));
}

bool SettlementDesk::Servable(const std::string& provider, absl::CivilDay day) {
  return day < absl::ToCivilDay(absl::Now(), Jst()) || closed_.count({provider, day}) > 0;
}

std::string SettlementDesk::Report(const std::string& provider, absl::CivilDay day) {
  std::vector<Line> lines;
  {
    MutexLock lock(&mu_);
    // Where each of the provider's late plants moved its line: (reference) -> new day.
    std::map<std::string, absl::CivilDay> moved;
    for (const auto& [key, plants] : plants_) {
      if (key.first != provider) continue;
      for (const Plant& plant : plants) {
        if (plant.kind == "late") moved[plant.merchant_reference] = key.second + plant.days;
      }
    }
    static const std::vector<Plant> kNone;
    auto found = plants_.find({provider, day});
    const std::vector<Plant>& here = found == plants_.end() ? kNone : found->second;
    auto planted = [&](const std::string& kind, const std::string& reference) -> const Plant* {
      for (const Plant& plant : here) {
        if (plant.kind == kind && plant.merchant_reference == reference) return &plant;
      }
      return nullptr;
    };
    for (const Paid& p : paid_[provider]) {
      auto move = moved.find(p.merchant_reference);
      const absl::CivilDay settles = move == moved.end() ? p.settle_day : move->second;
      if (settles != day || planted("omit", p.merchant_reference) != nullptr) continue;
      Line line{p.payment_id, p.merchant_reference, p.amount_yen, p.paid_day};
      if (const Plant* amount = planted("amount", p.merchant_reference)) {
        line.amount_yen = std::max<int64_t>(1, line.amount_yen + amount->amount_delta);
      }
      lines.push_back(line);
      if (planted("duplicate", p.merchant_reference) != nullptr) lines.push_back(line);
    }
    for (const Plant& plant : here) {
      if (plant.kind != "unknown") continue;
      lines.push_back({absl::StrCat("pay_unknown_", plant.serial),
                       absl::StrCat("co_unknown_", plant.serial), 1000, day});
    }
  }
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    return a.transaction_id < b.transaction_id;
  });
  std::string csv =
      "settlement_date,transaction_id,merchant_reference,type,amount,fee,net,currency,"
      "paid_date\n";
  for (const Line& line : lines) {
    const int64_t fee = SandboxFeeYen(provider, line.amount_yen);
    absl::StrAppend(&csv, Day(day), ",", line.transaction_id, ",", line.merchant_reference,
                    ",payment,", line.amount_yen, ",", fee, ",", line.amount_yen - fee, ",JPY,",
                    Day(line.paid_day), "\n");
  }
  return csv;
}

void SettlementDesk::Register(httplib::Server& server, const Verifier& verify) {
  server.Post(R"(/providers/([a-z_]+)/v1/settlements)",
              [this, verify](const httplib::Request& req, httplib::Response& res) {
                if (verify(req.matches[1], req, res)) ServeApi(req.matches[1], req, res);
              });
  server.Get(R"(/sandbox/settlements/([a-z_]+)/([0-9-]+)\.csv)",
             [this](const httplib::Request& req, httplib::Response& res) {
               ServeDownload(req.matches[1], req.matches[2], res);
             });
  server.Post(R"(/sandbox/settlements/([a-z_]+)/([0-9-]+)/plant)",
              [this](const httplib::Request& req, httplib::Response& res) {
                PlantOne(req.matches[1], req.matches[2], req, res);
              });
  server.Post(R"(/sandbox/settlements/([a-z_]+)/([0-9-]+)/close)",
              [this](const httplib::Request& req, httplib::Response& res) {
                Close(req.matches[1], req.matches[2], res);
              });
}

void SettlementDesk::ServeApi(const std::string& provider, const httplib::Request& req,
                              httplib::Response& res) {
  wire::SettlementReportRef ref;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  absl::CivilDay day;
  if (!google::protobuf::util::JsonStringToMessage(req.body, &ref, options).ok() ||
      !ParseDay(ref.date(), &day)) {
    Reply(res, 400, "invalid_request", "date: YYYY-MM-DD");
    return;
  }
  {
    MutexLock lock(&mu_);
    if (!Servable(provider, day)) {
      Reply(res, 404, "not_settled", "this day is not settled yet");
      return;
    }
  }
  res.set_content(Report(provider, day), "text/csv; charset=utf-8");
}

void SettlementDesk::ServeDownload(const std::string& provider, const std::string& date,
                                   httplib::Response& res) {
  absl::CivilDay day;
  if (FindProvider(provider) == nullptr || !ParseDay(date, &day)) {
    Reply(res, 404, "not_found", "a provider of the sandbox and a YYYY-MM-DD day");
    return;
  }
  res.set_header("Content-Disposition",
                 absl::StrCat("attachment; filename=\"", provider, "-", date, ".csv\""));
  res.set_content(Report(provider, day), "text/csv; charset=utf-8");
}

void SettlementDesk::PlantOne(const std::string& provider, const std::string& date,
                              const httplib::Request& req, httplib::Response& res) {
  absl::CivilDay day;
  if (FindProvider(provider) == nullptr || !ParseDay(date, &day)) {
    Reply(res, 404, "not_found", "a provider of the sandbox and a YYYY-MM-DD day");
    return;
  }
  Plant plant;
  plant.kind = req.has_param("kind") ? req.get_param_value("kind") : "";
  plant.merchant_reference = req.has_param("order") ? req.get_param_value("order") : "";
  int days = 1, delta = 1;
  if (req.has_param("days") && !absl::SimpleAtoi(req.get_param_value("days"), &days)) days = 0;
  if (req.has_param("amount_delta") &&
      !absl::SimpleAtoi(req.get_param_value("amount_delta"), &delta)) {
    delta = 0;
  }
  const bool needs_order = plant.kind != "unknown";
  if ((plant.kind != "omit" && plant.kind != "amount" && plant.kind != "unknown" &&
       plant.kind != "duplicate" && plant.kind != "late") ||
      (needs_order && plant.merchant_reference.empty()) || days < 1 || days > kLateDaysMax ||
      (delta != 1 && delta != -1)) {
    Reply(res, 400, "invalid_request",
          "kind=omit|amount|unknown|duplicate|late, order=<order id> (all but unknown), "
          "days=1..30 (late), amount_delta=1|-1 (amount)");
    return;
  }
  plant.days = days;
  plant.amount_delta = delta;
  {
    MutexLock lock(&mu_);
    std::vector<Plant>& plants = plants_[{provider, day}];
    if (static_cast<int>(plants.size()) >= kPlantsPerDayMax) {
      Reply(res, 409, "too_many", "at most 1000 discrepancies a day");
      return;
    }
    if (plant.kind == "unknown") plant.serial = ++unknown_serial_;
    plants.push_back(plant);
  }
  Log(LogLevel::kInfo, "sandbox_settlement_planted",
      {{"provider", provider}, {"date", date}, {"kind", plant.kind}});
  res.set_content(absl::StrCat("{\"planted\":\"", plant.kind, "\"}"), "application/json");
}

void SettlementDesk::Close(const std::string& provider, const std::string& date,
                           httplib::Response& res) {
  absl::CivilDay day;
  if (FindProvider(provider) == nullptr || !ParseDay(date, &day)) {
    Reply(res, 404, "not_found", "a provider of the sandbox and a YYYY-MM-DD day");
    return;
  }
  {
    MutexLock lock(&mu_);
    closed_.insert({provider, day});
  }
  res.set_content("{\"closed\":true}", "application/json");
}

}  // namespace qcash::payment::sandbox
