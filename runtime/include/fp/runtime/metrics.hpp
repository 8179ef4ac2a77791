#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace fp::runtime {

/// Label values of one series, in the order of the family's label names.
using label_values = std::vector<std::string>;

/// A monotonically increasing counter (one series).
class counter {
public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down (one series).
class gauge {
public:
  void set(int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<int64_t> value_{0};
};

/// Cumulative histogram with fixed upper bounds (one series). Observations
/// are lock-free.
class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  /// Non-cumulative count of bucket i (i == bounds().size() is +Inf).
  uint64_t bucket(std::size_t i) const noexcept;
  uint64_t count() const noexcept;
  double sum() const noexcept;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0}; // sum kept in millionths for atomics
};

/// Default latency buckets in seconds (0.5 ms .. 10 s).
std::vector<double> default_latency_buckets();

/// Families of labelled series, rendered in the Prometheus text format
/// (version 0.0.4). Series are created on first use and live as long as the
/// registry; hot paths should keep the returned reference.
class metrics_registry {
public:
  counter& get_counter(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names = {},
                       label_values labels = {});
  gauge& get_gauge(std::string_view name, std::string_view help,
                   std::vector<std::string> label_names = {},
                   label_values labels = {});
  histogram& get_histogram(std::string_view name, std::string_view help,
                           std::vector<double> bounds,
                           std::vector<std::string> label_names = {},
                           label_values labels = {});

  /// A collector appends whole families (HELP/TYPE lines included) at scrape
  /// time, for values that are cheaper to read than to keep up to date.
  using collector = std::function<void(std::string& out)>;
  void add_collector(collector fn);

  /// The whole exposition text.
  std::string render() const;

private:
  enum class kind { counter, gauge, histogram };
  struct family {
    std::string name;
    std::string help;
    kind type;
    std::vector<std::string> label_names;
    std::vector<double> bounds;
    std::map<label_values, std::unique_ptr<counter>> counters;
    std::map<label_values, std::unique_ptr<gauge>> gauges;
    std::map<label_values, std::unique_ptr<histogram>> histograms;
  };
  family& family_for(std::string_view name, std::string_view help, kind type,
                     std::vector<std::string>& label_names);

  mutable std::mutex mtx_;
  std::map<std::string, family, std::less<>> families_;
  std::vector<collector> collectors_;
};

/// Appends `name{k="v",...}` with label values escaped per the text format.
void append_series_name(std::string& out, std::string_view name,
                        const std::vector<std::string>& label_names,
                        const label_values& labels);

} // namespace fp::runtime
