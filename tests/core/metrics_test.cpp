#include "core/metrics.hpp"

#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace pay::core;
using namespace pay::core::metrics;

TEST_CASE("a counter renders with HELP and TYPE lines and its _total name") {
  registry r;
  auto& c = r.add_counter("app_requests_total", "Requests served.", {"route", "status"});
  c.with({"/v1/x/{id}", "200"}).inc();
  c.with({"/v1/x/{id}", "200"}).inc(2);
  c.with({"/healthz", "200"}).inc();
  CHECK(r.render() ==
        "# HELP app_requests_total Requests served.\n"
        "# TYPE app_requests_total counter\n"
        "app_requests_total{route=\"/healthz\",status=\"200\"} 1\n"
        "app_requests_total{route=\"/v1/x/{id}\",status=\"200\"} 3\n");
}

TEST_CASE("a metric without labels renders without braces") {
  registry r;
  r.add_gauge("app_queue_depth", "Depth.").with({}).set(7);
  CHECK(r.render() ==
        "# HELP app_queue_depth Depth.\n# TYPE app_queue_depth gauge\n"
        "app_queue_depth 7\n");
}

TEST_CASE("label values are escaped and help text too") {
  registry r;
  auto& g = r.add_gauge("app_thing", "Line one\\two\nthree", {"v"});
  g.with({"a\"b\\c\nd"}).set(-1.5);
  CHECK(r.render() ==
        "# HELP app_thing Line one\\\\two\\nthree\n"
        "# TYPE app_thing gauge\n"
        "app_thing{v=\"a\\\"b\\\\c\\nd\"} -1.5\n");
}

TEST_CASE("a histogram renders cumulative buckets with +Inf then sum and count") {
  registry r;
  auto& h = r.add_histogram("app_latency_seconds", "Latency.", {"op"}, {0.1, 0.5, 1});
  auto& s = h.with({"get"});
  s.observe(0.05);
  s.observe(0.1);  // le is inclusive
  s.observe(0.3);
  s.observe(4);
  CHECK(r.render() ==
        "# HELP app_latency_seconds Latency.\n"
        "# TYPE app_latency_seconds histogram\n"
        "app_latency_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
        "app_latency_seconds_bucket{op=\"get\",le=\"0.5\"} 3\n"
        "app_latency_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
        "app_latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
        "app_latency_seconds_sum{op=\"get\"} 4.45\n"
        "app_latency_seconds_count{op=\"get\"} 4\n");
}

TEST_CASE("a histogram ignores NaN observations") {
  histogram_family f("h_seconds", "h", metric_type::histogram, {}, {1});
  f.with({}).observe(std::nan(""));
  auto snap = f.with({}).read();
  CHECK(snap.count == 0);
  CHECK(snap.sum == 0);
}

TEST_CASE("values are formatted as the exposition format wants") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(42) == "42");
  CHECK(format_value(0.25) == "0.25");
  CHECK(format_value(-3) == "-3");
  CHECK(format_value(1.0 / 0.0) == "+Inf");
  CHECK(format_value(-1.0 / 0.0) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
  CHECK(format_value(1e21) == "1e+21");
}

TEST_CASE("metric definitions that break the format are refused at registration") {
  registry r;
  CHECK_THROWS(r.add_counter("app_requests", "a counter must end in _total"));
  CHECK_THROWS(r.add_gauge("app_things_total", "only counters end in _total"));
  CHECK_THROWS(r.add_gauge("9lives", "bad name"));
  CHECK_THROWS(r.add_gauge("app_x", "bad label", {"__reserved"}));
  CHECK_THROWS(r.add_gauge("app_y", "bad label", {"a-b"}));
  CHECK_THROWS(r.add_histogram("app_h_seconds", "le is reserved", {"le"}, {1}));
  CHECK_THROWS(r.add_histogram("app_h2_seconds", "buckets ascend", {}, {1, 0.5}));
  CHECK_THROWS(r.add_histogram("app_h3_seconds", "buckets needed", {}, {}));
  r.add_gauge("app_once", "x");
  CHECK_THROWS(r.add_gauge("app_once", "registered twice"));
  CHECK(r.has("app_once"));
  CHECK_FALSE(r.has("app_requests"));
}

TEST_CASE("the wrong number of label values is refused") {
  registry r;
  auto& c = r.add_counter("app_c_total", "c", {"a", "b"});
  CHECK_THROWS(c.with({"only one"}));
}

TEST_CASE("label sets past the family limit share one overflow series") {
  registry r;
  auto& c = r.add_counter("app_many_total", "many", {"id"});
  for (std::size_t i = 0; i < limits::metrics_series_per_family_max + 10; ++i)
    c.with({std::to_string(i)}).inc();
  CHECK(c.size() == limits::metrics_series_per_family_max);
  CHECK(c.with({"overflowing"}).value() == 10);
  auto text = r.render();
  CHECK(text.find("app_many_total{id=\"_overflow\"} 10\n") != std::string::npos);
}

TEST_CASE("label values that concatenate alike are different series") {
  registry r;
  auto& c = r.add_counter("app_pair_total", "p", {"a", "b"});
  c.with({"ab", "c"}).inc();
  c.with({"a", "bc"}).inc(5);
  CHECK(c.with({"ab", "c"}).value() == 1);
  CHECK(c.with({"a", "bc"}).value() == 5);
  CHECK(c.size() == 2);
}

TEST_CASE("concurrent updates from many threads lose no increment") {
  registry r;
  auto& c = r.add_counter("app_conc_total", "c", {"route"});
  auto& h = r.add_histogram("app_conc_seconds", "h", {"route"}, {0.5});
  constexpr int threads = 8;
  constexpr int per_thread = 20000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        // A few label sets, created concurrently on first use.
        auto route = std::to_string((t + i) % 5);
        c.with({route}).inc();
        h.with({route}).observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  for (auto& th : pool) th.join();
  std::uint64_t total = 0;
  std::uint64_t observed = 0;
  double sum = 0;
  for (int k = 0; k < 5; ++k) {
    total += c.with({std::to_string(k)}).value();
    auto snap = h.with({std::to_string(k)}).read();
    observed += snap.count;
    sum += snap.sum;
  }
  CHECK(c.size() == 5);
  CHECK(total == threads * per_thread);
  CHECK(observed == threads * per_thread);
  CHECK(sum == Approx(threads * per_thread / 2 * 1.25));
}

TEST_CASE("a sampled family renders its samples sorted by label values") {
  sampled_family f{"app_balance_difference", "Difference.", metric_type::gauge, {"currency"}, {}};
  f.samples.push_back({{"usd"}, 0});
  f.samples.push_back({{"eur"}, -120});
  std::string out;
  render(out, f);
  CHECK(out ==
        "# HELP app_balance_difference Difference.\n"
        "# TYPE app_balance_difference gauge\n"
        "app_balance_difference{currency=\"eur\"} -120\n"
        "app_balance_difference{currency=\"usd\"} 0\n");
}

TEST_CASE("names and label names are checked against the exposition grammar") {
  CHECK(valid_metric_name("payments_http_requests_total"));
  CHECK(valid_metric_name("job:rate5m"));
  CHECK_FALSE(valid_metric_name(""));
  CHECK_FALSE(valid_metric_name("a b"));
  CHECK(valid_label_name("psp"));
  CHECK_FALSE(valid_label_name("job:x"));
  CHECK_FALSE(valid_label_name("1a"));
}
