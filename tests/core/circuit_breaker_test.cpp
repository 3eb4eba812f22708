#include "core/circuit_breaker.hpp"

#include <catch2/catch.hpp>

using namespace pay::core;

namespace {

/// A breaker that trips on 3 consecutive failures only (rate rule disabled).
breaker_config consecutive_only() {
  breaker_config config;
  config.consecutive_failures_max = 3;
  config.window_calls = 0;
  config.open_ms = 1'000;
  config.half_open_probes = 1;
  return config;
}

/// Runs one admitted call at `now_ms` with the given outcome.
void call(circuit_breaker& breaker, std::int64_t now_ms, bool succeeds) {
  REQUIRE(breaker.try_acquire(now_ms));
  if (succeeds) {
    breaker.on_success(now_ms);
  } else {
    breaker.on_failure(now_ms);
  }
}

}  // namespace

TEST_CASE("a new breaker is closed and admits calls") {
  circuit_breaker breaker(breaker_config{});
  CHECK(breaker.state(0) == breaker_state::closed);
  CHECK(breaker.try_acquire(0));
  CHECK(breaker.retry_after_ms(0) == 0);
  CHECK(breaker.trips() == 0);
}

TEST_CASE("the breaker trips after the maximum of consecutive failures") {
  circuit_breaker breaker(consecutive_only());
  call(breaker, 0, false);
  call(breaker, 1, false);
  CHECK(breaker.state(1) == breaker_state::closed);
  call(breaker, 2, false);
  CHECK(breaker.state(2) == breaker_state::open);
  CHECK(breaker.trips() == 1);
  CHECK_FALSE(breaker.try_acquire(3));
}

TEST_CASE("a success resets the consecutive failure count") {
  circuit_breaker breaker(consecutive_only());
  call(breaker, 0, false);
  call(breaker, 1, false);
  call(breaker, 2, true);
  call(breaker, 3, false);
  call(breaker, 4, false);
  CHECK(breaker.state(4) == breaker_state::closed);
  call(breaker, 5, false);
  CHECK(breaker.state(5) == breaker_state::open);
}

TEST_CASE("the default config trips after five consecutive failures") {
  circuit_breaker breaker(breaker_config{});
  for (int i = 0; i < 4; ++i) call(breaker, i, false);
  CHECK(breaker.state(4) == breaker_state::closed);
  call(breaker, 4, false);
  CHECK(breaker.state(4) == breaker_state::open);
}

TEST_CASE("the failure rate trips the breaker only once the window holds min_calls") {
  breaker_config config;
  config.consecutive_failures_max = 0;  // rate rule only
  config.failure_rate_percent = 50;
  config.window_calls = 10;
  config.min_calls = 6;
  circuit_breaker breaker(config);
  // Alternate failure, success: 50% failures from the first call on.
  call(breaker, 0, false);
  call(breaker, 1, true);
  call(breaker, 2, false);
  call(breaker, 3, true);
  CHECK(breaker.state(3) == breaker_state::closed);  // 4 calls < min_calls
  call(breaker, 4, false);
  CHECK(breaker.state(4) == breaker_state::closed);  // 5 calls < min_calls
  call(breaker, 5, true);
  CHECK(breaker.state(5) == breaker_state::closed);  // only failures trip
  call(breaker, 6, false);                           // 4 of 7 failed: 57%
  CHECK(breaker.state(6) == breaker_state::open);
  CHECK(breaker.trips() == 1);
}

TEST_CASE("a failure rate below the threshold keeps the breaker closed") {
  breaker_config config;
  config.consecutive_failures_max = 0;
  config.failure_rate_percent = 50;
  config.window_calls = 10;
  config.min_calls = 4;
  circuit_breaker breaker(config);
  // Pattern S S F, repeated: one third failures.
  for (int i = 0; i < 30; ++i) call(breaker, i, i % 3 != 2);
  CHECK(breaker.state(30) == breaker_state::closed);
  CHECK(breaker.trips() == 0);
}

TEST_CASE("the failure rate looks only at the last window_calls outcomes") {
  breaker_config config;
  config.consecutive_failures_max = 0;
  config.failure_rate_percent = 50;
  config.window_calls = 4;
  config.min_calls = 4;
  circuit_breaker breaker(config);
  call(breaker, 0, false);
  for (int i = 1; i <= 4; ++i) call(breaker, i, true);  // the failure slides out
  call(breaker, 5, false);                              // 1 of 4: 25%
  CHECK(breaker.state(5) == breaker_state::closed);
  call(breaker, 6, false);  // 2 of 4: 50%
  CHECK(breaker.state(6) == breaker_state::open);
}

TEST_CASE("an open breaker refuses calls until open_ms has passed") {
  circuit_breaker breaker(consecutive_only());
  for (int i = 0; i < 3; ++i) call(breaker, 100, false);
  CHECK_FALSE(breaker.try_acquire(100));
  CHECK_FALSE(breaker.try_acquire(1'099));
  CHECK(breaker.state(1'099) == breaker_state::open);
  CHECK(breaker.state(1'100) == breaker_state::half_open);
  CHECK(breaker.try_acquire(1'100));
}

TEST_CASE("retry_after_ms counts down the open period") {
  circuit_breaker breaker(consecutive_only());
  for (int i = 0; i < 3; ++i) call(breaker, 100, false);
  CHECK(breaker.retry_after_ms(100) == 1'000);
  CHECK(breaker.retry_after_ms(600) == 500);
  CHECK(breaker.retry_after_ms(1'099) == 1);
  CHECK(breaker.retry_after_ms(1'100) == 0);
  CHECK(breaker.retry_after_ms(5'000) == 0);
}

TEST_CASE("a half-open breaker admits only half_open_probes calls at once") {
  auto config = consecutive_only();
  config.half_open_probes = 2;
  circuit_breaker breaker(config);
  for (int i = 0; i < 3; ++i) call(breaker, 0, false);
  CHECK(breaker.try_acquire(1'000));
  CHECK(breaker.try_acquire(1'000));
  CHECK_FALSE(breaker.try_acquire(1'000));
  CHECK_FALSE(breaker.try_acquire(1'500));
  CHECK(breaker.state(1'500) == breaker_state::half_open);
}

TEST_CASE("a probe success closes the breaker with a fresh window") {
  circuit_breaker breaker(consecutive_only());
  for (int i = 0; i < 3; ++i) call(breaker, 0, false);
  REQUIRE(breaker.try_acquire(1'000));
  breaker.on_success(1'010);
  CHECK(breaker.state(1'010) == breaker_state::closed);
  CHECK(breaker.try_acquire(1'011));
  // The old failures are forgotten: it takes three new ones to trip again.
  breaker.on_failure(1'020);
  call(breaker, 1'030, false);
  CHECK(breaker.state(1'030) == breaker_state::closed);
  call(breaker, 1'040, false);
  CHECK(breaker.state(1'040) == breaker_state::open);
  CHECK(breaker.trips() == 2);
}

TEST_CASE("a probe failure reopens the breaker and counts a trip") {
  circuit_breaker breaker(consecutive_only());
  for (int i = 0; i < 3; ++i) call(breaker, 0, false);
  CHECK(breaker.trips() == 1);
  REQUIRE(breaker.try_acquire(1'000));
  breaker.on_failure(1'200);
  CHECK(breaker.state(1'200) == breaker_state::open);
  CHECK(breaker.trips() == 2);
  CHECK(breaker.retry_after_ms(1'200) == 1'000);
  CHECK_FALSE(breaker.try_acquire(2'199));
  CHECK(breaker.try_acquire(2'200));
}

TEST_CASE("a probe that was never made gives its slot back and leaves the breaker half open") {
  circuit_breaker breaker(consecutive_only());
  for (int i = 0; i < 3; ++i) call(breaker, 0, false);
  REQUIRE(breaker.try_acquire(1'000));
  CHECK_FALSE(breaker.try_acquire(1'000));  // the one probe slot is taken
  breaker.release();                        // refused while it queued
  CHECK(breaker.state(1'001) == breaker_state::half_open);
  CHECK(breaker.trips() == 1);
  CHECK(breaker.try_acquire(1'001));  // the slot is free again
}

TEST_CASE("a call that was never made does not reset the consecutive failures") {
  circuit_breaker breaker(consecutive_only());
  call(breaker, 0, false);
  call(breaker, 1, false);
  REQUIRE(breaker.try_acquire(2));
  breaker.release();
  CHECK(breaker.consecutive_failures() == 2);
  call(breaker, 3, false);
  CHECK(breaker.state(3) == breaker_state::open);
}

TEST_CASE("outcomes of calls admitted before the breaker opened are ignored") {
  circuit_breaker breaker(consecutive_only());
  REQUIRE(breaker.try_acquire(0));  // a slow call still in flight
  for (int i = 0; i < 3; ++i) call(breaker, 0, false);
  breaker.on_success(10);  // the slow call returns while open
  CHECK(breaker.state(10) == breaker_state::open);
  CHECK(breaker.retry_after_ms(10) == 990);
  breaker.on_failure(20);
  CHECK(breaker.trips() == 1);
  CHECK(breaker.retry_after_ms(20) == 980);
}

TEST_CASE("breaker state names equal the enumerator names") {
  CHECK(to_string(breaker_state::closed) == "closed");
  CHECK(to_string(breaker_state::open) == "open");
  CHECK(to_string(breaker_state::half_open) == "half_open");
}
