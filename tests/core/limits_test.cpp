#include "core/limits.hpp"

#include <catch2/catch.hpp>

using namespace pay::core;

TEST_CASE("limits hold the documented values") {
  CHECK(limits::http_body_bytes_max == 64 * 1024);
  CHECK(limits::amount_minor_max == 99'999'999);
  CHECK(limits::idempotency_key_length_max == 255);
  CHECK(limits::webhook_tolerance_s == 300);
  CHECK(limits::retry_deadline_ms == 3'600'000);
}

TEST_CASE("related limits are consistent with each other") {
  CHECK(limits::list_limit_default <= limits::list_limit_max);
  CHECK(limits::backoff_base_ms <= limits::backoff_ceiling_ms);
  CHECK(limits::backoff_ceiling_ms <= limits::retry_deadline_ms);
  CHECK(limits::breaker_min_calls <= limits::breaker_window_calls);
  CHECK(limits::breaker_failure_rate_percent > 0);
  CHECK(limits::breaker_failure_rate_percent <= 100);
  CHECK(limits::db_reconnect_backoff_base_ms <= limits::db_reconnect_backoff_ceiling_ms);
  CHECK(limits::http_header_bytes_max < limits::http_body_bytes_max);
}

TEST_CASE(
    "deadlines nest: two PSP calls fit in an actor request, which fits in the HTTP deadline") {
  CHECK(2 * limits::psp_call_timeout_ms < limits::actor_request_timeout_ms);
  CHECK(limits::actor_request_timeout_ms < limits::http_request_deadline_ms);
}

TEST_CASE(
    "authorization expiry limits: the warning fits in the longest validity, the scan is "
    "bounded") {
  CHECK(limits::authorization_validity_max_s == 31 * 86'400);
  CHECK(limits::authorization_warning_lead_s == 86'400);
  CHECK(limits::authorization_warning_lead_s < limits::authorization_validity_max_s);
  CHECK(limits::expiry_scan_period_ms == 60'000);
  CHECK(limits::expiry_scan_batch_max == 100);
  CHECK(limits::sandbox_clock_advance_max_s >= 8 * 86'400);  // Stripe's 7 days and then some
}
