// Prometheus metrics: counters, gauges and histograms in one process-wide registry, rendered
// in the text exposition format (served on a separate port by common/metrics_http.h).
//
// Cardinality is bounded by construction: label values come from fixed sets (RPC method names,
// status codes, statement names, outcomes), never from sellers, orders or keys; and each metric
// keeps at most kSeriesMax label combinations (further ones are counted in
// qcash_metrics_dropped_series_total instead of growing without bound).
#ifndef QCASH_COMMON_METRICS_H_
#define QCASH_COMMON_METRICS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace qcash::metrics {

inline constexpr size_t kSeriesMax = 2000;

using Labels = std::vector<std::string>;

class Metric {
 public:
  virtual ~Metric() = default;
  virtual void Render(std::string* out) const = 0;
};

class Counter final : public Metric {
 public:
  Counter(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  // REQUIRES: labels.size() == label_names.size(); value >= 0.
  void Add(const Labels& labels, double value = 1);
  void Render(std::string* out) const override;

 private:
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  mutable Mutex mu_;
  std::map<Labels, double> values_ ABSL_GUARDED_BY(mu_);
};

class Gauge final : public Metric {
 public:
  Gauge(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  void Set(const Labels& labels, double value);
  // Set(), and drops every other series: for an info-style gauge whose label value changes
  // (the latest journal anchor's digest), so that only the current one is exported.
  void SetOnly(const Labels& labels, double value);
  void Add(const Labels& labels, double delta);
  void Render(std::string* out) const override;

 private:
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  mutable Mutex mu_;
  std::map<Labels, double> values_ ABSL_GUARDED_BY(mu_);
};

class Histogram final : public Metric {
 public:
  // `bounds`: upper bounds of the buckets, increasing (seconds for latencies).
  Histogram(std::string name, std::string help, std::vector<std::string> label_names,
            std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  void Observe(const Labels& labels, double value);
  void Render(std::string* out) const override;

 private:
  struct Series {
    std::vector<uint64_t> buckets;  // not cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
  mutable Mutex mu_;
  std::map<Labels, Series> series_ ABSL_GUARDED_BY(mu_);
};

// Latency buckets from 100 us to 10 s.
const std::vector<double>& LatencyBuckets();

// The process-wide registry. Metrics live as long as the process.
class Registry {
 public:
  static Registry& Global();

  Counter* NewCounter(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names = {});
  Gauge* NewGauge(const std::string& name, const std::string& help,
                  std::vector<std::string> label_names = {});
  Histogram* NewHistogram(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names,
                          std::vector<double> bounds = LatencyBuckets());

  // Every metric in the text exposition format, in registration order.
  std::string Render() const;

 private:
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Metric>> metrics_ ABSL_GUARDED_BY(mu_);
};

// Counts label combinations refused by the kSeriesMax bound.
void CountDroppedSeries();

}  // namespace qcash::metrics

#endif  // QCASH_COMMON_METRICS_H_
