// The token bucket and the bounded per-key limiter, driven by a fake clock.

#include <catch2/catch.hpp>

#include <string>

#include "core/rate_limiter.hpp"

using namespace pay::core;

TEST_CASE("rate limiter: a bucket allows its burst, then refuses until a token refills") {
  token_bucket b(rate_limit{3, 1'000}, 0);
  auto first = b.take(0);
  CHECK(first.allowed);
  CHECK(first.limit == 3);
  CHECK(first.remaining == 2);
  CHECK(first.reset_s == 1);
  CHECK(b.take(0).allowed);
  auto last = b.take(0);
  CHECK(last.allowed);
  CHECK(last.remaining == 0);
  CHECK(last.reset_s == 3);
  auto refused = b.take(0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.remaining == 0);
  CHECK(refused.retry_after_s == 1);
  CHECK_FALSE(b.take(999).allowed);
  CHECK(b.take(1'000).allowed);  // one token back after refill_ms
  CHECK_FALSE(b.take(1'000).allowed);
}

TEST_CASE("rate limiter: a slow refill says how long to wait, rounded up to seconds") {
  token_bucket b(rate_limit{1, 6'000}, 0);
  CHECK(b.take(0).allowed);
  auto refused = b.take(1'500);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 5);  // 4.5 s left
  CHECK(b.take(6'000).allowed);
}

TEST_CASE("rate limiter: a long idle time refills to the burst, never beyond") {
  token_bucket b(rate_limit{2, 1'000}, 0);
  CHECK(b.take(0).allowed);
  CHECK(b.take(0).allowed);
  auto later = b.take(INT64_C(1) << 40);
  CHECK(later.allowed);
  CHECK(later.remaining == 1);
}

TEST_CASE("rate limiter: a clock stepping back gives no tokens") {
  token_bucket b(rate_limit{1, 1'000}, 10'000);
  CHECK(b.take(10'000).allowed);
  CHECK_FALSE(b.take(0).allowed);
  CHECK_FALSE(b.take(10'500).allowed);
}

TEST_CASE("rate limiter: keys have their own buckets") {
  rate_limiter l(rate_limit{1, 60'000}, 100);
  CHECK(l.take("a", 0).allowed);
  CHECK_FALSE(l.take("a", 0).allowed);
  CHECK(l.take("b", 0).allowed);
  CHECK(l.tracked_keys() == 2);
}

TEST_CASE("rate limiter: the table never holds more than keys_max keys") {
  rate_limiter l(rate_limit{1, 60'000}, 3);
  for (int i = 0; i < 1'000; ++i) l.take("client-" + std::to_string(i), 0);
  CHECK(l.tracked_keys() == 3);
  // The most recently seen keys are kept: their buckets are still empty.
  CHECK_FALSE(l.take("client-999", 0).allowed);
  // A key seen again moves to the front and survives new arrivals.
  l.take("client-998", 0);
  l.take("x", 0);
  l.take("y", 0);
  CHECK_FALSE(l.take("client-998", 0).allowed);
  CHECK(l.tracked_keys() == 3);
}
