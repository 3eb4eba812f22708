#include "core/backoff.hpp"

#include <catch2/catch.hpp>
#include <limits>

using namespace pay::core;

TEST_CASE("backoff caps double from the base and stop at the ceiling") {
  const backoff_policy policy{.base_ms = 100, .ceiling_ms = 60'000};
  CHECK(backoff_cap_ms(policy, 0) == 100);
  CHECK(backoff_cap_ms(policy, 1) == 200);
  CHECK(backoff_cap_ms(policy, 2) == 400);
  CHECK(backoff_cap_ms(policy, 9) == 51'200);
  CHECK(backoff_cap_ms(policy, 10) == 60'000);
  CHECK(backoff_cap_ms(policy, 11) == 60'000);
}

TEST_CASE("backoff caps do not overflow for huge attempts") {
  const backoff_policy policy{};
  CHECK(backoff_cap_ms(policy, 62) == policy.ceiling_ms);
  CHECK(backoff_cap_ms(policy, 63) == policy.ceiling_ms);
  CHECK(backoff_cap_ms(policy, 64) == policy.ceiling_ms);
  CHECK(backoff_cap_ms(policy, 100) == policy.ceiling_ms);
  CHECK(backoff_cap_ms(policy, std::numeric_limits<std::uint32_t>::max()) == policy.ceiling_ms);

  const backoff_policy unbounded{.base_ms = 3,
                                 .ceiling_ms = std::numeric_limits<std::int64_t>::max()};
  CHECK(backoff_cap_ms(unbounded, 61) == (std::int64_t{3} << 61));
  CHECK(backoff_cap_ms(unbounded, 62) == unbounded.ceiling_ms);
  CHECK(backoff_cap_ms(unbounded, 63) == unbounded.ceiling_ms);
}

TEST_CASE("the default policy uses the named limits") {
  const backoff_policy policy{};
  CHECK(policy.base_ms == limits::backoff_base_ms);
  CHECK(policy.ceiling_ms == limits::backoff_ceiling_ms);
  CHECK(policy.attempts_max == limits::retry_attempts_max);
  CHECK(policy.deadline_ms == limits::retry_deadline_ms);
}

TEST_CASE("full jitter delays equal random modulo cap plus one and stay within the cap") {
  const backoff_policy policy{};
  CHECK(full_jitter_delay_ms(policy, 0, 0) == 0);
  CHECK(full_jitter_delay_ms(policy, 0, 100) == 100);
  CHECK(full_jitter_delay_ms(policy, 0, 101) == 0);
  CHECK(full_jitter_delay_ms(policy, 3, 12'345) == 12'345 % 801);
  for (std::uint32_t attempt = 0; attempt < 70; ++attempt) {
    const auto cap = backoff_cap_ms(policy, attempt);
    for (std::uint64_t random :
         {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{999'999'937},
          std::numeric_limits<std::uint64_t>::max(), std::uint64_t{0x9e3779b97f4a7c15}}) {
      const auto delay = full_jitter_delay_ms(policy, attempt, random);
      CHECK(delay >= 0);
      CHECK(delay <= cap);
      CHECK(static_cast<std::uint64_t>(delay) == random % (static_cast<std::uint64_t>(cap) + 1));
    }
  }
}

TEST_CASE("full jitter works at an int64-max ceiling") {
  const backoff_policy policy{.base_ms = 1, .ceiling_ms = std::numeric_limits<std::int64_t>::max()};
  const auto delay = full_jitter_delay_ms(policy, 100, std::numeric_limits<std::uint64_t>::max());
  CHECK(delay >= 0);
}

TEST_CASE("retrying stops once the attempt budget is spent") {
  const backoff_policy policy{.attempts_max = 3};
  CHECK(next_retry(policy, 0, 0, 100) == retry_verdict::retry);
  CHECK(next_retry(policy, 2, 0, 100) == retry_verdict::retry);
  CHECK(next_retry(policy, 3, 0, 100) == retry_verdict::give_up_attempts);
  CHECK(next_retry(policy, 4, 0, 100) == retry_verdict::give_up_attempts);
}

TEST_CASE("retrying stops when the next attempt would pass the deadline") {
  const backoff_policy policy{.deadline_ms = 10'000};
  CHECK(next_retry(policy, 1, 9'000, 1'000) == retry_verdict::retry);
  CHECK(next_retry(policy, 1, 9'000, 1'001) == retry_verdict::give_up_deadline);
  CHECK(next_retry(policy, 1, 10'001, 0) == retry_verdict::give_up_deadline);
  CHECK(next_retry(policy, 1, std::numeric_limits<std::int64_t>::max(), 1) ==
        retry_verdict::give_up_deadline);
}

TEST_CASE("the attempt budget is checked before the deadline") {
  const backoff_policy policy{.attempts_max = 1, .deadline_ms = 10};
  CHECK(next_retry(policy, 1, 1'000, 1'000) == retry_verdict::give_up_attempts);
}

TEST_CASE("retry verdict names equal the enumerator names") {
  CHECK(to_string(retry_verdict::retry) == "retry");
  CHECK(to_string(retry_verdict::give_up_attempts) == "give_up_attempts");
  CHECK(to_string(retry_verdict::give_up_deadline) == "give_up_deadline");
}

TEST_CASE("plan_retry draws the full-jitter delay of the failed attempt from the given random") {
  pay::core::backoff_policy p{100, 60'000, 5, 3'600'000};
  auto first = pay::core::plan_retry(p, 1, 0, 12345);
  CHECK(first.verdict == pay::core::retry_verdict::retry);
  CHECK(first.delay_ms == 12345 % 101);  // cap 100 ms after the first failure
  auto third = pay::core::plan_retry(p, 3, 0, 12345);
  CHECK(third.delay_ms == 12345 % 401);  // cap 400 ms after the third
  CHECK(pay::core::plan_retry(p, 3, 0, 12345).delay_ms == third.delay_ms);  // deterministic
}

TEST_CASE("plan_retry gives up after the attempt budget and at the deadline") {
  pay::core::backoff_policy p{100, 60'000, 3, 10'000};
  CHECK(pay::core::plan_retry(p, 2, 0, 7).verdict == pay::core::retry_verdict::retry);
  CHECK(pay::core::plan_retry(p, 3, 0, 7).verdict == pay::core::retry_verdict::give_up_attempts);
  CHECK(pay::core::plan_retry(p, 1, 9'999, 99).verdict ==
        pay::core::retry_verdict::give_up_deadline);
}
