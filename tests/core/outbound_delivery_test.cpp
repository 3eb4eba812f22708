#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/outbound_delivery.hpp"
#include "core/standard_webhooks.hpp"

using namespace pay::core;

namespace {

outbound_response answered(int status) {
  outbound_response r;
  r.answered = true;
  r.status = status;
  return r;
}

}  // namespace

TEST_CASE(
    "Any 2xx answer delivers while other statuses and no answer and the deadline are retried") {
  delivery_policy p;
  CHECK(next_delivery_step(p, answered(200), 1, 0, 7).delivered);
  CHECK(next_delivery_step(p, answered(204), 1, 0, 7).delivered);
  for (int status : {301, 400, 410, 429, 500, 503}) {
    auto step = next_delivery_step(p, answered(status), 1, 0, 7);
    CHECK_FALSE(step.delivered);
    CHECK_FALSE(step.dead);
  }
  outbound_response timeout;
  timeout.timed_out = true;
  CHECK_FALSE(next_delivery_step(p, timeout, 1, 0, 7).delivered);
}

TEST_CASE("Retry delays are full jitter under a cap doubling from the base up to the ceiling") {
  delivery_policy p;
  p.backoff_base_ms = 1'000;
  p.backoff_ceiling_ms = 8'000;
  outbound_response down;
  // random = cap gives the cap itself (random % (cap + 1)).
  CHECK(next_delivery_step(p, down, 1, 0, 1'000).retry_in_ms == 1'000);
  CHECK(next_delivery_step(p, down, 2, 0, 2'000).retry_in_ms == 2'000);
  CHECK(next_delivery_step(p, down, 3, 0, 4'000).retry_in_ms == 4'000);
  CHECK(next_delivery_step(p, down, 10, 0, 8'000).retry_in_ms == 8'000);
  CHECK(next_delivery_step(p, down, 10, 0, 9'000).retry_in_ms == 9'000 % 8'001);
  CHECK(next_delivery_step(p, down, 1, 0, 0).retry_in_ms == 0);
}

TEST_CASE("A delivery whose next retry would leave the retry window is dead-lettered") {
  delivery_policy p;
  p.backoff_base_ms = 1'000;
  p.backoff_ceiling_ms = 1'000;
  p.retry_window_s = 60;
  outbound_response down;
  CHECK_FALSE(next_delivery_step(p, down, 5, 58'000, 1'000).dead);
  CHECK(next_delivery_step(p, down, 5, 59'500, 1'000).dead);
  // A success is a success, however late.
  CHECK(next_delivery_step(p, answered(200), 5, 120'000, 1'000).delivered);
}

TEST_CASE("The default policy retries for about three days within the attempt backstop") {
  delivery_policy p;
  outbound_response down;
  std::int64_t elapsed_ms = 0;
  std::int64_t attempts = 0;
  for (;;) {
    ++attempts;
    // The mean of full jitter is half the cap: random = cap / 2.
    auto cap = std::min<std::int64_t>(
        p.backoff_ceiling_ms, p.backoff_base_ms << std::min<std::int64_t>(attempts - 1, 20));
    auto step =
        next_delivery_step(p, down, attempts, elapsed_ms, static_cast<std::uint64_t>(cap / 2));
    if (step.dead) break;
    elapsed_ms += step.retry_in_ms;
  }
  CHECK(elapsed_ms > 2 * 86'400'000);
  CHECK(elapsed_ms <= 3 * 86'400'000);
  CHECK(attempts < static_cast<std::int64_t>(limits::outbound_attempts_max));
}

TEST_CASE(
    "An attempt is a signed POST carrying the event id and the timestamp and one signature per "
    "secret") {
  std::vector<std::string> secrets{make_standard_webhook_secret(), make_standard_webhook_secret()};
  auto req = delivery_request("https://shop.example/hooks", "evt_1", R"({"id":"evt_1"})", secrets,
                              1764036100, 2'500);
  CHECK(req.url == "https://shop.example/hooks");
  CHECK(req.body == R"({"id":"evt_1"})");
  CHECK(req.timeout_ms == 2'500);
  auto header = [&req](const std::string& name) {
    for (const auto& [k, v] : req.headers)
      if (k == name) return v;
    return std::string();
  };
  CHECK(header("webhook-id") == "evt_1");
  CHECK(header("webhook-timestamp") == "1764036100");
  auto sig = header("webhook-signature");
  CHECK(std::count(sig.begin(), sig.end(), ' ') == 1);
  for (const auto& s : secrets)
    CHECK(verify_standard_webhook(s, "evt_1", "1764036100", sig, req.body, 1764036100, 300));
}

TEST_CASE("Outbound limits hold their relations") {
  STATIC_REQUIRE(limits::outbound_backoff_base_ms <= limits::outbound_backoff_ceiling_ms);
  STATIC_REQUIRE(limits::outbound_lease_ms > limits::outbound_attempt_timeout_ms);
  STATIC_REQUIRE(limits::outbound_endpoint_disable_after_s > limits::outbound_retry_window_s);
  STATIC_REQUIRE(limits::webhook_secret_overlap_s_default <= limits::webhook_secret_overlap_s_max);
  STATIC_REQUIRE(limits::outbound_concurrency_per_endpoint >= 1);
}
