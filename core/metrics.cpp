#include "core/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <stdexcept>

namespace pay::core::metrics {

std::string_view to_string(metric_type t) {
  switch (t) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

namespace {

bool name_char(char c, bool first, bool colon_ok) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (colon_ok && c == ':') return true;
  return alpha || (!first && c >= '0' && c <= '9');
}

/// The label values' hashes combined in order, so ("ab","c") and ("a","bc")
/// differ (std::hash of a string_view is a fast word-at-a-time hash).
std::uint64_t hash_values(std::span<const std::string_view> values) {
  std::uint64_t h = 0x9e3779b97f4a7c15ull;
  for (auto v : values) {
    h ^= std::hash<std::string_view>{}(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  }
  return h;
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_header(std::string& out, const std::string& name, const std::string& help,
                   metric_type type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += escape_help(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += to_string(type);
  out += '\n';
}

void append_sample(std::string& out, std::string_view name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, double v,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  append_labels(out, names, values, extra_name, extra_value);
  out += ' ';
  out += format_value(v);
  out += '\n';
}

void render_series(std::string& out, const std::string& name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const counter& c) {
  append_sample(out, name, names, values, static_cast<double>(c.value()));
}

void render_series(std::string& out, const std::string& name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const gauge& g) {
  append_sample(out, name, names, values, g.value());
}

void render_series(std::string& out, const std::string& name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const histogram& h) {
  auto snap = h.read();
  auto bounds = h.bounds();
  auto bucket = name + "_bucket";
  for (std::size_t i = 0; i < bounds.size(); ++i)
    append_sample(out, bucket, names, values, static_cast<double>(snap.cumulative[i]), "le",
                  format_value(bounds[i]));
  append_sample(out, bucket, names, values, static_cast<double>(snap.count), "le", "+Inf");
  append_sample(out, name + "_sum", names, values, snap.sum);
  append_sample(out, name + "_count", names, values, static_cast<double>(snap.count));
}

}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Shortest text that reads back as the same double; integers print plain.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc{}) return "NaN";
  return std::string(buf, end);
}

// ---- histogram ---------------------------------------------------------------

histogram::histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;
  auto at = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets_seconds() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

// ---- families ------------------------------------------------------------------

family_base::family_base(std::string name, std::string help, metric_type type,
                         std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

template <class M>
family<M>::series::series(std::uint64_t h, std::vector<std::string> v,
                          std::span<const double> bounds)
    : hash(h), values(std::move(v)), metric([&]() -> M {
        if constexpr (std::is_same_v<M, histogram>)
          return M(bounds);
        else
          return M();
      }()) {}

template <class M>
family<M>::family(std::string name, std::string help, metric_type type,
                  std::vector<std::string> label_names, std::vector<double> bounds)
    : family_base(std::move(name), std::move(help), type, std::move(label_names)),
      bounds_(std::move(bounds)),
      table_(std::make_unique<std::array<std::atomic<series*>, slots>>()) {
  for (auto& slot : *table_) slot.store(nullptr, std::memory_order_relaxed);
}

template <class M>
family<M>::~family() {
  for (auto& slot : *table_) delete slot.load(std::memory_order_relaxed);
  delete overflow_.load(std::memory_order_relaxed);
}

template <class M>
typename family<M>::series* family<M>::find(std::uint64_t hash,
                                            std::span<const std::string_view> values) const {
  // Linear probing; slots are filled once and never emptied, so the first
  // empty slot on the probe path proves the series does not exist (yet).
  for (std::size_t i = 0; i < slots; ++i) {
    auto* s = (*table_)[(hash + i) & (slots - 1)].load(std::memory_order_acquire);
    if (s == nullptr) return nullptr;
    if (s->hash == hash &&
        std::equal(s->values.begin(), s->values.end(), values.begin(), values.end(),
                   [](const std::string& a, std::string_view b) { return a == b; }))
      return s;
  }
  return nullptr;
}

template <class M>
typename family<M>::series& family<M>::overflow() {
  if (auto* s = overflow_.load(std::memory_order_acquire)) return *s;
  // Called with create_mutex_ held.
  std::vector<std::string> values(label_names_.size(), std::string(overflow_label_value));
  auto* s = new series(0, std::move(values), bounds_);
  overflow_.store(s, std::memory_order_release);
  return *s;
}

template <class M>
M& family<M>::with(std::initializer_list<std::string_view> values) {
  return with(std::span<const std::string_view>(values.begin(), values.size()));
}

template <class M>
M& family<M>::with(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size())
    throw std::invalid_argument("metric " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label values");
  auto hash = hash_values(values);
  if (auto* s = find(hash, values)) return s->metric;
  std::lock_guard guard{create_mutex_};
  if (auto* s = find(hash, values)) return s->metric;
  if (size_.load(std::memory_order_relaxed) >= limits::metrics_series_per_family_max)
    return overflow().metric;
  auto* s = new series(hash, std::vector<std::string>(values.begin(), values.end()), bounds_);
  for (std::size_t i = 0; i < slots; ++i) {
    auto& slot = (*table_)[(hash + i) & (slots - 1)];
    if (slot.load(std::memory_order_relaxed) == nullptr) {
      slot.store(s, std::memory_order_release);
      size_.fetch_add(1, std::memory_order_release);
      return s->metric;
    }
  }
  delete s;  // unreachable: the table holds twice the series limit
  return overflow().metric;
}

template <class M>
void family<M>::render(std::string& out) const {
  append_header(out, name_, help_, type_);
  std::vector<const series*> all;
  for (const auto& slot : *table_)
    if (auto* s = slot.load(std::memory_order_acquire)) all.push_back(s);
  std::sort(all.begin(), all.end(),
            [](const series* a, const series* b) { return a->values < b->values; });
  if (auto* o = overflow_.load(std::memory_order_acquire)) all.push_back(o);
  for (const auto* s : all) render_series(out, name_, label_names_, s->values, s->metric);
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

void render(std::string& out, const sampled_family& f) {
  append_header(out, f.name, f.help, f.type);
  auto samples = f.samples;
  std::sort(samples.begin(), samples.end(),
            [](const sample& a, const sample& b) { return a.label_values < b.label_values; });
  for (const auto& s : samples) append_sample(out, f.name, f.label_names, s.label_values, s.value);
}

// ---- registry ------------------------------------------------------------------

void registry::check_new(const std::string& name, const std::vector<std::string>& labels,
                         metric_type t, std::size_t bound_count) {
  // Programming errors: metric definitions are fixed at compile time.
  if (!valid_metric_name(name)) throw std::invalid_argument("bad metric name: " + name);
  if (t == metric_type::counter && !name.ends_with("_total"))
    throw std::invalid_argument("a counter's name ends in _total: " + name);
  if (t != metric_type::counter && name.ends_with("_total"))
    throw std::invalid_argument("only counters end in _total: " + name);
  if (t == metric_type::histogram && bound_count == 0)
    throw std::invalid_argument("a histogram needs buckets: " + name);
  for (const auto& l : labels) {
    if (!valid_label_name(l)) throw std::invalid_argument("bad label name: " + l);
    if (t == metric_type::histogram && l == "le")
      throw std::invalid_argument("a histogram cannot have an le label: " + name);
  }
  for (const auto& f : families_)
    if (f->name() == name) throw std::invalid_argument("metric registered twice: " + name);
}

counter_family& registry::add_counter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  std::lock_guard guard{mutex_};
  check_new(name, label_names, metric_type::counter, 0);
  auto f = std::make_unique<counter_family>(std::move(name), std::move(help), metric_type::counter,
                                            std::move(label_names));
  auto& out = *f;
  families_.push_back(std::move(f));
  return out;
}

gauge_family& registry::add_gauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  std::lock_guard guard{mutex_};
  check_new(name, label_names, metric_type::gauge, 0);
  auto f = std::make_unique<gauge_family>(std::move(name), std::move(help), metric_type::gauge,
                                          std::move(label_names));
  auto& out = *f;
  families_.push_back(std::move(f));
  return out;
}

histogram_family& registry::add_histogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  std::lock_guard guard{mutex_};
  if (!std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end())
    throw std::invalid_argument("histogram buckets must ascend strictly: " + name);
  check_new(name, label_names, metric_type::histogram, bounds.size());
  auto f =
      std::make_unique<histogram_family>(std::move(name), std::move(help), metric_type::histogram,
                                         std::move(label_names), std::move(bounds));
  auto& out = *f;
  families_.push_back(std::move(f));
  return out;
}

std::string registry::render() const {
  std::lock_guard guard{mutex_};
  std::string out;
  for (const auto& f : families_) f->render(out);
  return out;
}

bool registry::has(std::string_view name) const {
  std::lock_guard guard{mutex_};
  for (const auto& f : families_)
    if (f->name() == name) return true;
  return false;
}

}  // namespace pay::core::metrics
