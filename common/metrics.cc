#include "common/metrics.h"

#include <atomic>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace qcash::metrics {
namespace {

std::atomic<uint64_t> dropped_series{0};

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrFormat("%.9g", v);
}

std::string EscapeLabel(const std::string& value) {
  return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

// `{a="x",b="y"}` plus an optional extra label (le for buckets); "" when there are none.
std::string LabelText(const std::vector<std::string>& names, const Labels& values,
                      const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"", EscapeLabel(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : ",", extra_name, "=\"", extra_value, "\"");
  }
  return out.empty() ? "" : absl::StrCat("{", out, "}");
}

void Header(std::string* out, const std::string& name, const std::string& help, const char* type) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

template <typename Map>
bool Admit(Map& map, const Labels& labels) {
  if (map.count(labels) != 0 || map.size() < kSeriesMax) return true;
  CountDroppedSeries();
  return false;
}

}  // namespace

void CountDroppedSeries() { dropped_series.fetch_add(1); }

const std::vector<double>& LatencyBuckets() {
  static const auto* const kBuckets =
      new std::vector<double>{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                              0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *kBuckets;
}

void Counter::Add(const Labels& labels, double value) {
  MutexLock lock(&mu_);
  if (Admit(values_, labels)) values_[labels] += value;
}

void Counter::Render(std::string* out) const {
  Header(out, name_, help_, "counter");
  MutexLock lock(&mu_);
  for (const auto& [labels, value] : values_) {
    absl::StrAppend(out, name_, LabelText(label_names_, labels), " ", Number(value), "\n");
  }
}

void Gauge::Set(const Labels& labels, double value) {
  MutexLock lock(&mu_);
  if (Admit(values_, labels)) values_[labels] = value;
}

void Gauge::SetOnly(const Labels& labels, double value) {
  MutexLock lock(&mu_);
  values_.clear();
  values_[labels] = value;
}

void Gauge::Add(const Labels& labels, double delta) {
  MutexLock lock(&mu_);
  if (Admit(values_, labels)) values_[labels] += delta;
}

void Gauge::Render(std::string* out) const {
  Header(out, name_, help_, "gauge");
  MutexLock lock(&mu_);
  for (const auto& [labels, value] : values_) {
    absl::StrAppend(out, name_, LabelText(label_names_, labels), " ", Number(value), "\n");
  }
}

void Histogram::Observe(const Labels& labels, double value) {
  MutexLock lock(&mu_);
  if (!Admit(series_, labels)) return;
  Series& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      s.buckets[i] += 1;
      break;
    }
  }
  s.sum += value;
  s.count += 1;
}

void Histogram::Render(std::string* out) const {
  Header(out, name_, help_, "histogram");
  MutexLock lock(&mu_);
  for (const auto& [labels, s] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      absl::StrAppend(out, name_, "_bucket",
                      LabelText(label_names_, labels, "le", Number(bounds_[i])), " ", cumulative,
                      "\n");
    }
    absl::StrAppend(out, name_, "_bucket", LabelText(label_names_, labels, "le", "+Inf"), " ",
                    s.count, "\n");
    absl::StrAppend(out, name_, "_sum", LabelText(label_names_, labels), " ", Number(s.sum), "\n");
    absl::StrAppend(out, name_, "_count", LabelText(label_names_, labels), " ", s.count, "\n");
  }
}

Registry& Registry::Global() {
  static Registry* const registry = new Registry();
  return *registry;
}

Counter* Registry::NewCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names) {
  auto metric = std::make_unique<Counter>(name, help, std::move(label_names));
  Counter* raw = metric.get();
  MutexLock lock(&mu_);
  metrics_.push_back(std::move(metric));
  return raw;
}

Gauge* Registry::NewGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names) {
  auto metric = std::make_unique<Gauge>(name, help, std::move(label_names));
  Gauge* raw = metric.get();
  MutexLock lock(&mu_);
  metrics_.push_back(std::move(metric));
  return raw;
}

Histogram* Registry::NewHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds) {
  auto metric = std::make_unique<Histogram>(name, help, std::move(label_names), std::move(bounds));
  Histogram* raw = metric.get();
  MutexLock lock(&mu_);
  metrics_.push_back(std::move(metric));
  return raw;
}

std::string Registry::Render() const {
  std::string out;
  {
    MutexLock lock(&mu_);
    for (const auto& metric : metrics_) metric->Render(&out);
  }
  absl::StrAppend(&out,
                  "# HELP qcash_metrics_dropped_series_total Label combinations refused by the "
                  "series bound.\n# TYPE qcash_metrics_dropped_series_total counter\n"
                  "qcash_metrics_dropped_series_total ",
                  dropped_series.load(), "\n");
  return out;
}

}  // namespace qcash::metrics
