#include "common/metrics.h"

#include <gtest/gtest.h>

namespace qcash::metrics {
namespace {

TEST(MetricsTest, CounterAndGaugeRenderInExpositionFormat) {
  Counter counter("test_calls_total", "Calls.", {"method", "code"});
  counter.Add({"Spend", "OK"});
  counter.Add({"Spend", "OK"}, 2);
  counter.Add({"Spend", "FAILED_PRECONDITION"});
  std::string out;
  counter.Render(&out);
  EXPECT_NE(out.find("# TYPE test_calls_total counter"), std::string::npos) << out;
  EXPECT_NE(out.find("test_calls_total{method=\"Spend\",code=\"OK\"} 3\n"), std::string::npos)
      << out;
  Gauge gauge("test_holds", "Holds.", {});
  gauge.Set({}, 7);
  gauge.Add({}, -2);
  out.clear();
  gauge.Render(&out);
  EXPECT_NE(out.find("test_holds 5\n"), std::string::npos) << out;
}

TEST(MetricsTest, SetOnlyKeepsOneSeries) {
  Gauge info("test_anchor_info", "Anchor.", {"digest_prefix"});
  info.SetOnly({"aaaa"}, 1);
  info.SetOnly({"bbbb"}, 1);
  std::string out;
  info.Render(&out);
  EXPECT_EQ(out.find("aaaa"), std::string::npos) << out;
  EXPECT_NE(out.find("test_anchor_info{digest_prefix=\"bbbb\"} 1\n"), std::string::npos) << out;
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Histogram h("test_seconds", "Latency.", {"op"}, {0.01, 0.1, 1});
  h.Observe({"x"}, 0.005);
  h.Observe({"x"}, 0.05);
  h.Observe({"x"}, 5);
  std::string out;
  h.Render(&out);
  EXPECT_NE(out.find("test_seconds_bucket{op=\"x\",le=\"0.01\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("test_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("test_seconds_bucket{op=\"x\",le=\"1\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("test_seconds_bucket{op=\"x\",le=\"+Inf\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("test_seconds_count{op=\"x\"} 3\n"), std::string::npos) << out;
}

TEST(MetricsTest, SeriesAreBounded) {
  Counter counter("test_bounded_total", "Bounded.", {"key"});
  for (size_t i = 0; i < kSeriesMax + 10; ++i) counter.Add({std::to_string(i)});
  std::string out;
  counter.Render(&out);
  size_t lines = 0;
  for (size_t at = out.find("test_bounded_total{"); at != std::string::npos;
       at = out.find("test_bounded_total{", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, kSeriesMax);
  EXPECT_NE(Registry::Global().Render().find("qcash_metrics_dropped_series_total 10"),
            std::string::npos);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Counter counter("test_escape_total", "Escape.", {"v"});
  counter.Add({"a\"b\\c"});
  std::string out;
  counter.Render(&out);
  EXPECT_NE(out.find("test_escape_total{v=\"a\\\"b\\\\c\"} 1"), std::string::npos) << out;
}

}  // namespace
}  // namespace qcash::metrics
