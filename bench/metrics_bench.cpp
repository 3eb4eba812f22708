// metrics_bench: cost of one metric update on the request path, as the
// engine makes it (label lookup by route, method and status, then the
// atomic add; a histogram observation), from 1 and from N threads at once,
// next to the same work behind one global mutex for comparison. Prints one
// JSON object per case: {"case","threads","ns_per_update"}. Reported, not
// asserted.
//
// Usage: metrics_bench [--updates N] [--threads N]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "core/metrics.hpp"

namespace {

using namespace pay::core::metrics;

constexpr std::string_view routes[] = {"/v1/payment_intents", "/v1/payment_intents/{id}",
                                       "/v1/payment_intents/{id}/capture", "/v1/refunds",
                                       "/v1/webhooks/{psp}"};

template <class Work>
double run(unsigned threads, long updates, Work work) {
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      while (!go.load()) {
      }
      for (long i = 0; i < updates; ++i) work(t, i);
    });
  auto start = std::chrono::steady_clock::now();
  go = true;
  for (auto& th : pool) th.join();
  auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start);
  return ns.count() / static_cast<double>(updates);  // wall time per update per thread
}

}  // namespace

int main(int argc, char** argv) {
  long updates = 2'000'000;
  unsigned threads = std::max(2u, std::thread::hardware_concurrency());
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--updates") updates = std::atol(argv[i + 1]);
    if (a == "--threads") threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  registry r;
  auto& requests = r.add_counter("bench_requests_total", "x", {"route", "method", "status"});
  auto& latency =
      r.add_histogram("bench_latency_seconds", "x", {"route", "method"}, latency_buckets_seconds());

  std::mutex global;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> locked;
  std::map<std::tuple<std::string, std::string>, std::vector<double>> locked_latency;

  auto registry_update = [&](unsigned t, long i) {
    auto route = routes[static_cast<std::size_t>(i + t) % std::size(routes)];
    requests.with({route, "POST", "200"}).inc();
    latency.with({route, "POST"}).observe(0.003 * static_cast<double>(i % 7));
  };
  auto mutex_update = [&](unsigned t, long i) {
    auto route = routes[static_cast<std::size_t>(i + t) % std::size(routes)];
    std::lock_guard guard{global};
    ++locked[{std::string(route), "POST", "200"}];
    auto& buckets = locked_latency[{std::string(route), "POST"}];
    buckets.resize(13);
    buckets[static_cast<std::size_t>(i % 7)] += 1;
  };
  for (unsigned n : {1u, threads}) {
    std::printf(
        "{\"case\":\"registry: labelled counter + histogram\",\"threads\":%u,"
        "\"ns_per_update\":%.1f}\n",
        n, run(n, updates, registry_update));
    std::printf(
        "{\"case\":\"baseline: std::map behind one global mutex, same two updates\",\"threads\":%u,"
        "\"ns_per_update\":%.1f}\n",
        n, run(n, updates, mutex_update));
  }
  return 0;
}
