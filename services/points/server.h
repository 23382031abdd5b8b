// The gRPC face of the points service: qcash.points.v1.PointsService (and, in test
// configurations of development builds only, qcash.points.v1.PointsTestClock) on the callback
// API. Thin by design:
// take the caller the authorization interceptor admitted by the points table
// (services/points/policy.h), translate the request to domain types, run the domain call on a
// worker pool (every call waits on PostgreSQL, conversions also on the wallet), translate the
// answer back. No rule of the domain lives here.
#ifndef QCASH_SERVICES_POINTS_SERVER_H_
#define QCASH_SERVICES_POINTS_SERVER_H_

#include "common/thread_pool.h"
#include "qcash/points/v1/points.grpc.pb.h"
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
#include "qcash/points/v1/test_clock.grpc.pb.h"
#endif
#include "services/points/clock.h"
#include "services/points/points.h"

namespace qcash::points {

namespace pb = ::qcash::points::v1;

class PointsServer final : public pb::PointsService::CallbackService {
 public:
  // `work` runs the calls; it must outlive the server. Serve it with AccessPolicy() among the
  // ServeOptions' access tables (services/points/policy.h).
  PointsServer(Points* points, ThreadPool* work) : points_(points), work_(work) {}

  grpc::ServerUnaryReactor* RecordPointEvents(grpc::CallbackServerContext* context,
                                              const pb::RecordPointEventsRequest* request,
                                              pb::RecordPointEventsResponse* response) override;
  grpc::ServerUnaryReactor* GetMonthSummary(grpc::CallbackServerContext* context,
                                            const pb::GetMonthSummaryRequest* request,
                                            pb::GetMonthSummaryResponse* response) override;
  grpc::ServerUnaryReactor* ConvertPoints(grpc::CallbackServerContext* context,
                                          const pb::ConvertPointsRequest* request,
                                          pb::ConvertPointsResponse* response) override;
  grpc::ServerUnaryReactor* ListConversions(grpc::CallbackServerContext* context,
                                            const pb::ListConversionsRequest* request,
                                            pb::ListConversionsResponse* response) override;
  grpc::ServerUnaryReactor* ListProductPoints(grpc::CallbackServerContext* context,
                                              const pb::ListProductPointsRequest* request,
                                              pb::ListProductPointsResponse* response) override;
  grpc::ServerUnaryReactor* GetProductShippingDetail(
      grpc::CallbackServerContext* context, const pb::GetProductShippingDetailRequest* request,
      pb::GetProductShippingDetailResponse* response) override;
  grpc::ServerUnaryReactor* ListPastServicePoints(grpc::CallbackServerContext* context,
                                                  const pb::ListPastServicePointsRequest* request,
                                                  pb::ListProductPointsResponse* response) override;

 private:
  Points* const points_;
  ThreadPool* const work_;
};

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
// TEST-ONLY, development builds only (DESIGN.md section 7): sets the SettableClock the Points
// read. main.cc registers it only when QCASH_POINTS_TEST_CLOCK=1 together with
// QCASH_INSECURE_DEV=1, with TestClockAccessPolicy() among the access tables.
class TestClockServer final : public pb::PointsTestClock::CallbackService {
 public:
  explicit TestClockServer(SettableClock* clock) : clock_(clock) {}

  grpc::ServerUnaryReactor* SetTime(grpc::CallbackServerContext* context,
                                    const pb::SetTimeRequest* request,
                                    pb::SetTimeResponse* response) override;

 private:
  SettableClock* const clock_;
};
#endif

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_SERVER_H_
