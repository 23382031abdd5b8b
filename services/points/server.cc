#include "services/points/server.h"

#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "common/authorization.h"
#include "common/grpc_status.h"
#include "common/proto_time.h"
#include "common/service_call.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "services/points/enums.h"

namespace qcash::points {
namespace {

constexpr absl::string_view kDomain = "points.qcash";

// The proto3 Timestamp range: 0001-01-01 .. 9999-12-31.
void SetMonth(absl::CivilMonth m, pb::Month* out) {
  out->set_year(static_cast<int32_t>(m.year()));
  out->set_month(m.month());
}

void SetDate(absl::CivilDay d, pb::Date* out) {
  out->set_year(static_cast<int32_t>(d.year()));
  out->set_month(d.month());
  out->set_day(d.day());
}

void SetTotals(const Totals& t, pb::PointTotals* out) {
  out->set_total_points(t.total);
  out->set_shipping_points(t.shipping);
  out->set_claim_points(t.claim);
  out->set_review_points(t.review);
}

void SetConversion(const ConversionRecord& c, pb::Conversion* out) {
  out->set_conversion_id(c.conversion_id);
  out->set_seller_id(c.seller_id);
  SetMonth(c.points_month, out->mutable_points_month());
  out->set_month_total_points(c.month_total_points);
  out->set_converted_points(c.converted_points);
  out->set_leftover_points(c.leftover_points());
  SetTimestamp(c.requested_at, out->mutable_requested_at());
  out->set_completed(c.state == ConversionState::kCompleted);
  out->set_wallet_entry_seq(c.wallet_entry_seq);
}

absl::StatusOr<absl::CivilMonth> MonthFrom(const pb::Month& m) {
  return MakeMonth(m.year(), m.month());
}

absl::StatusOr<PeriodQuery> PeriodFrom(const pb::Period& period) {
  PeriodQuery query;
  switch (period.kind_case()) {
    case pb::Period::kMonth: {
      auto month = MonthFrom(period.month());
      if (!month.ok()) return month.status();
      query.month = *month;
      break;
    }
    case pb::Period::kDates: {
      const pb::Date& f = period.dates().from();
      const pb::Date& t = period.dates().to();
      auto from = MakeDay(f.year(), f.month(), f.day(), "from");
      if (!from.ok()) return from.status();
      auto to = MakeDay(t.year(), t.month(), t.day(), "to");
      if (!to.ok()) return to.status();
      query.days = DayRange{*from, *to};
      break;
    }
    case pb::Period::KIND_NOT_SET:
      break;
    default:
      return InvalidArgument(pb::INVALID_PERIOD, "unknown kind of period");
  }
  return query;
}

ProductFilter FilterFrom(const pb::ProductFilter& f) {
  ProductFilter filter;
  filter.category = f.category();
  filter.product_no = f.product_no();
  filter.product_name_contains = f.product_name_contains();
  return filter;
}

void FillProductPage(const ProductPage& page, pb::ListProductPointsResponse* out) {
  SetDate(page.days.from, out->mutable_from());
  SetDate(page.days.to, out->mutable_to());
  for (const ProductRow& row : page.products) {
    pb::ProductPoints* p = out->add_products();
    p->set_product_no(row.product_no);
    p->set_product_name(row.product_name);
    p->set_category(row.category);
    SetTotals(row.totals, p->mutable_points());
    // S4: a sale type the product was not sold as in the period is not shown.
    if (row.shipping_general_events > 0) {
      auto* s = p->add_shipping_by_sale_type();
      s->set_sale_type(pb::SALE_TYPE_GENERAL);
      s->set_shipping_points(row.shipping_general_points);
      s->set_events(row.shipping_general_events);
    }
    if (row.shipping_reservation_events > 0) {
      auto* s = p->add_shipping_by_sale_type();
      s->set_sale_type(pb::SALE_TYPE_RESERVATION);
      s->set_shipping_points(row.shipping_reservation_points);
      s->set_events(row.shipping_reservation_events);
    }
  }
  out->set_next_page_token(page.next_page_token);
}

template <typename Request>
ProductQuery ProductQueryFrom(const Request& request, PeriodQuery period) {
  ProductQuery query;
  query.seller_id = request.seller_id();
  query.period = period;
  query.filter = FilterFrom(request.filter());
  query.page_size = request.page_size();
  query.page_token = request.page_token();
  return query;
}

// Runs `work` on the pool as the caller the interceptor admitted (its table says which
// permission each method needs and which act for the request's seller) and finishes with its
// status; a refused call finishes with its refusal.
grpc::ServerUnaryReactor* Run(ThreadPool* pool, grpc::CallbackServerContext* context,
                              AdmittedWork work) {
  return RunAdmitted(context, pool, kDomain, std::move(work));
}

}  // namespace

grpc::ServerUnaryReactor* PointsServer::RecordPointEvents(
    grpc::CallbackServerContext* context, const pb::RecordPointEventsRequest* request,
    pb::RecordPointEventsResponse* response) {
  return Run(work_, context, [this, request, response](const std::string& caller) -> absl::Status {
    if (request->events_size() > static_cast<int>(kEventsPerCallMax)) {
      return InvalidArgument(pb::TOO_MANY_EVENTS,
                             absl::StrCat("at most ", kEventsPerCallMax, " events per call"));
    }
    std::vector<PointEvent> events;
    events.reserve(request->events_size());
    for (int i = 0; i < request->events_size(); ++i) {
      const pb::PointEvent& in = request->events(i);
      PointEvent e;
      e.event_id = in.event_id();
      e.seller_id = in.seller_id();
      e.product_no = in.product_no();
      e.product_name = in.product_name();
      e.category = in.category();
      e.component = CodeOf(in.component());
      e.sale_type = CodeOf(in.sale_type());
      e.points = in.points();
      if (!in.has_occurred_at()) {
        return InvalidArgument(pb::INVALID_OCCURRED_AT,
                               absl::StrCat("events[", i, "]: occurred_at is required"));
      }
      auto at = FromTimestamp(in.occurred_at(), pb::INVALID_OCCURRED_AT);
      if (!at.ok()) {
        return InvalidArgument(pb::INVALID_OCCURRED_AT,
                               absl::StrCat("events[", i, "]: ", at.status().message()));
      }
      e.occurred_at = *at;
      events.push_back(std::move(e));
    }
    auto replayed = points_->RecordEvents(caller, events);
    if (!replayed.ok()) return replayed.status();
    for (size_t i = 0; i < events.size(); ++i) {
      auto* result = response->add_results();
      result->set_event_id(events[i].event_id);
      result->set_replayed((*replayed)[i]);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PointsServer::GetMonthSummary(grpc::CallbackServerContext* context,
                                                        const pb::GetMonthSummaryRequest* request,
                                                        pb::GetMonthSummaryResponse* response) {
  return Run(work_, context, [this, request, response](const std::string&) -> absl::Status {
    absl::optional<absl::CivilMonth> month;
    if (request->has_month()) {
      auto m = MonthFrom(request->month());
      if (!m.ok()) return m.status();
      month = *m;
    }
    auto summary = points_->GetSummary(request->seller_id(), month);
    if (!summary.ok()) return summary.status();
    SetMonth(summary->month, response->mutable_month());
    SetTotals(summary->points, response->mutable_points());
    auto* window = response->mutable_conversion();
    SetMonth(summary->points_month, window->mutable_points_month());
    SetTotals(summary->previous_month_points, window->mutable_previous_month_points());
    window->set_convertible_points(summary->verdict.convertible_points);
    window->set_state(ToProto(summary->verdict.state));
    SetTimestamp(summary->window.start, window->mutable_opens_at());
    SetTimestamp(summary->window.end, window->mutable_closes_at());
    if (summary->conversion.has_value()) {
      SetConversion(*summary->conversion, window->mutable_conversion());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PointsServer::ConvertPoints(grpc::CallbackServerContext* context,
                                                      const pb::ConvertPointsRequest* request,
                                                      pb::ConvertPointsResponse* response) {
  return Run(work_, context, [this, request, response](const std::string& caller) -> absl::Status {
    ConvertRequest convert;
    convert.caller = caller;
    convert.seller_id = request->seller_id();
    convert.idempotency_key = request->idempotency_key();
    if (request->has_points_month()) {
      auto m = MonthFrom(request->points_month());
      if (!m.ok()) return m.status();
      convert.points_month = *m;
    }
    auto result = points_->Convert(convert);
    if (!result.ok()) return result.status();
    SetConversion(result->conversion, response->mutable_conversion());
    response->set_replayed(result->replayed);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PointsServer::ListConversions(grpc::CallbackServerContext* context,
                                                        const pb::ListConversionsRequest* request,
                                                        pb::ListConversionsResponse* response) {
  return Run(work_, context, [this, request, response](const std::string&) -> absl::Status {
    ConversionListQuery query;
    query.seller_id = request->seller_id();
    query.page_size = request->page_size();
    query.page_token = request->page_token();
    if (request->has_from_month()) {
      auto m = MonthFrom(request->from_month());
      if (!m.ok()) return m.status();
      query.from_month = *m;
    }
    if (request->has_to_month()) {
      auto m = MonthFrom(request->to_month());
      if (!m.ok()) return m.status();
      query.to_month = *m;
    }
    auto page = points_->ListConversions(query);
    if (!page.ok()) return page.status();
    for (const ConversionRecord& c : page->conversions) {
      SetConversion(c, response->add_conversions());
    }
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PointsServer::ListProductPoints(
    grpc::CallbackServerContext* context, const pb::ListProductPointsRequest* request,
    pb::ListProductPointsResponse* response) {
  return Run(work_, context, [this, request, response](const std::string&) -> absl::Status {
    auto period = PeriodFrom(request->period());
    if (!period.ok()) return period.status();
    auto page = points_->ListProducts(View::kCurrent, ProductQueryFrom(*request, *period));
    if (!page.ok()) return page.status();
    FillProductPage(*page, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PointsServer::ListPastServicePoints(
    grpc::CallbackServerContext* context, const pb::ListPastServicePointsRequest* request,
    pb::ListProductPointsResponse* response) {
  return Run(work_, context, [this, request, response](const std::string&) -> absl::Status {
    auto period = PeriodFrom(request->period());
    if (!period.ok()) return period.status();
    auto page = points_->ListProducts(View::kPast, ProductQueryFrom(*request, *period));
    if (!page.ok()) return page.status();
    FillProductPage(*page, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PointsServer::GetProductShippingDetail(
    grpc::CallbackServerContext* context, const pb::GetProductShippingDetailRequest* request,
    pb::GetProductShippingDetailResponse* response) {
  return Run(work_, context, [this, request, response](const std::string&) -> absl::Status {
    auto period = PeriodFrom(request->period());
    if (!period.ok()) return period.status();
    auto detail = points_->GetShippingDetail(request->seller_id(), request->product_no(), *period);
    if (!detail.ok()) return detail.status();
    SetDate(detail->days.from, response->mutable_from());
    SetDate(detail->days.to, response->mutable_to());
    response->set_product_no(detail->product_no);
    for (const ShippingDetail::PerSaleType& per : detail->details) {
      auto* out = response->add_details();
      out->set_sale_type(ToProto(per.sale_type));
      out->set_shipping_points(per.points);
      out->set_events(per.events);
      for (const ShippingDetail::Day& day : per.days) {
        auto* d = out->add_days();
        SetDate(day.day, d->mutable_date());
        d->set_shipping_points(day.points);
        d->set_events(day.events);
      }
    }
    return absl::OkStatus();
  });
}

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
grpc::ServerUnaryReactor* TestClockServer::SetTime(grpc::CallbackServerContext* context,
                                                   const pb::SetTimeRequest* request,
                                                   pb::SetTimeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = AdmittedCaller(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status(), kDomain));
    return reactor;
  }
  if (!request->has_time()) {
    reactor->Finish(ToGrpcStatus(InvalidArgument(pb::INVALID_TIME, "time is required"), kDomain));
    return reactor;
  }
  auto t = FromTimestamp(request->time(), pb::INVALID_TIME);
  if (!t.ok()) {
    reactor->Finish(ToGrpcStatus(t.status(), kDomain));
    return reactor;
  }
  clock_->Set(*t);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}
#endif

}  // namespace qcash::points
