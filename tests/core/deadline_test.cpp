#include "core/deadline.hpp"

#include <catch2/catch.hpp>

using namespace pay::core;
using namespace std::chrono_literals;

TEST_CASE("a call without a deadline gets its configured timeout") {
  auto now = std::chrono::steady_clock::now();
  CHECK(call_timeout_ms(5'000, deadline_point{}, now, 100) == 5'000);
}

TEST_CASE("a call's timeout is cut to what its request has left") {
  auto now = std::chrono::steady_clock::now();
  CHECK(call_timeout_ms(5'000, now + 1'500ms, now, 100) == 1'500);
  CHECK(call_timeout_ms(5'000, now + 9'000ms, now, 100) == 5'000);
  CHECK(call_timeout_ms(5'000, now + 5'000ms, now, 100) == 5'000);
}

TEST_CASE("a call with less than the minimum left, or a passed deadline, is not made") {
  auto now = std::chrono::steady_clock::now();
  CHECK(call_timeout_ms(5'000, now + 99ms, now, 100) == 0);
  CHECK(call_timeout_ms(5'000, now + 100ms, now, 100) == 100);
  CHECK(call_timeout_ms(5'000, now, now, 100) == 0);
  CHECK(call_timeout_ms(5'000, now - 1s, now, 100) == 0);
  CHECK(call_timeout_ms(5'000, now - 1s, now, 0) == 0);
}
