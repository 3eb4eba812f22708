#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"

/// A metrics registry and its Prometheus text exposition (format 0.0.4).
///
/// Pure: no I/O. Counters, gauges and histograms with fixed buckets, grouped
/// in families that share a name, help text and label names. Updating a
/// series is a relaxed atomic operation; finding a labelled series is a
/// lock-free probe of an insert-only hash table (a mutex is taken only the
/// first time a label set is seen, to create its series), so the hot path
/// never serialises requests. Callers that update one series often keep the
/// reference `with` returns: series live as long as their family.
namespace pay::core::metrics {

enum class metric_type { counter, gauge, histogram };

/// "counter", "gauge", "histogram".
std::string_view to_string(metric_type t);

/// True for a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool valid_metric_name(std::string_view name);

/// True for a valid label name: [a-zA-Z_][a-zA-Z0-9_]*, not starting "__".
bool valid_label_name(std::string_view name);

/// A label value as the exposition format writes it inside quotes:
/// backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

/// A HELP text as the exposition format writes it: backslash and newline escaped.
std::string escape_help(std::string_view help);

/// A sample value: integers without a fraction, "+Inf", "-Inf", "NaN".
std::string format_value(double v);

/// A monotonically increasing count.
class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down.
class gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted into fixed buckets (upper bounds, ascending, in the
/// base unit: seconds, bytes), with their sum.
class histogram {
 public:
  /// `bounds` must outlive the histogram (its family owns them).
  explicit histogram(std::span<const double> bounds);

  /// Counts `v` in the first bucket whose bound is >= v (+Inf past the
  /// last). NaN is not counted.
  void observe(double v) noexcept;

  struct snapshot {
    std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  /// The buckets made cumulative; count is the +Inf bucket, so the
  /// exposition is always self-consistent.
  snapshot read() const;

  std::span<const double> bounds() const noexcept { return bounds_; }

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  ///< bounds + 1 (+Inf)
  std::atomic<double> sum_{0};
};

/// Bucket bounds for latencies in seconds: 5 ms to 30 s.
std::vector<double> latency_buckets_seconds();

/// What every family has, whatever its metric type.
class family_base {
 public:
  family_base(std::string name, std::string help, metric_type type,
              std::vector<std::string> label_names);
  virtual ~family_base() = default;
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  metric_type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  /// Appends `# HELP`, `# TYPE` and every series, sorted by label values.
  virtual void render(std::string& out) const = 0;

 protected:
  std::string name_;
  std::string help_;
  metric_type type_;
  std::vector<std::string> label_names_;
};

/// The label value every label of the overflow series carries: past
/// limits::metrics_series_per_family_max label sets, updates land there
/// instead of growing the family without bound.
inline constexpr std::string_view overflow_label_value = "_overflow";

/// One family of series of metric `M`, keyed by label values.
template <class M>
class family final : public family_base {
 public:
  /// `bounds` only for histograms.
  family(std::string name, std::string help, metric_type type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});
  ~family() override;

  /// The series of these label values (one per label name, in order),
  /// created on first use. Lock-free when the series exists.
  M& with(std::initializer_list<std::string_view> values);
  M& with(std::span<const std::string_view> values);

  /// Series made so far (the overflow series not included).
  std::size_t size() const { return size_.load(std::memory_order_acquire); }

  void render(std::string& out) const override;

 private:
  struct series {
    std::uint64_t hash;
    std::vector<std::string> values;
    M metric;
    series(std::uint64_t h, std::vector<std::string> v, std::span<const double> bounds);
  };
  static constexpr std::size_t slots = 2 * limits::metrics_series_per_family_max;
  static_assert((slots & (slots - 1)) == 0, "the slot count must be a power of two");

  series* find(std::uint64_t hash, std::span<const std::string_view> values) const;
  series& overflow();

  std::vector<double> bounds_;
  std::unique_ptr<std::array<std::atomic<series*>, slots>> table_;
  std::atomic<std::size_t> size_{0};
  std::mutex create_mutex_;  ///< held only to create a series
  std::atomic<series*> overflow_{nullptr};
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

/// A value computed at scrape time (read from storage or asked of an
/// actor), not kept in the registry: a family rendered from a fresh list of
/// samples, so a value that could not be read this time is simply absent.
struct sample {
  std::vector<std::string> label_values;
  double value = 0;
};
struct sampled_family {
  std::string name;
  std::string help;
  metric_type type = metric_type::gauge;  ///< gauge or counter
  std::vector<std::string> label_names;
  std::vector<sample> samples;
};

/// Appends one sampled family in the exposition format.
void render(std::string& out, const sampled_family& f);

/// The families of one process. Registration happens at start-up (it takes
/// a mutex and refuses a name twice); families live as long as the registry.
class registry {
 public:
  counter_family& add_counter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  gauge_family& add_gauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  histogram_family& add_histogram(std::string name, std::string help,
                                  std::vector<std::string> label_names, std::vector<double> bounds);

  /// Every family in registration order.
  std::string render() const;

  /// True when a family of this name is registered.
  bool has(std::string_view name) const;

 private:
  void check_new(const std::string& name, const std::vector<std::string>& labels, metric_type t,
                 std::size_t bound_count);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<family_base>> families_;
};

/// The content type of the exposition.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace pay::core::metrics
