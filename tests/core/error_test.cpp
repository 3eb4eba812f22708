#include "core/error.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace pay::core;

TEST_CASE("every error code's name equals its enumerator name and is unique") {
  std::set<std::string_view> names;
  for (auto code : all_errcs) names.insert(to_string(code));
  CHECK(names.size() == all_errcs.size());
  CHECK(to_string(errc::invalid_request) == "invalid_request");
  CHECK(to_string(errc::idempotency_key_reuse) == "idempotency_key_reuse");
  CHECK(to_string(errc::storage_unavailable) == "storage_unavailable");
  CHECK(to_string(errc::internal) == "internal");
  CHECK(to_string(errc::already_processed) == "already_processed");
}

TEST_CASE("error codes map to the documented HTTP statuses") {
  CHECK(http_status(errc::invalid_request) == 400);
  CHECK(http_status(errc::unauthorized) == 401);
  CHECK(http_status(errc::not_found) == 404);
  CHECK(http_status(errc::invalid_state) == 400);
  CHECK(http_status(errc::idempotency_key_reuse) == 422);
  CHECK(http_status(errc::idempotency_in_flight) == 409);
  CHECK(http_status(errc::version_conflict) == 409);
  CHECK(http_status(errc::psp_unavailable) == 503);
  CHECK(http_status(errc::psp_error) == 502);
  CHECK(http_status(errc::card_declined) == 402);
  CHECK(http_status(errc::storage_unavailable) == 503);
  CHECK(http_status(errc::limit_exceeded) == 400);
  CHECK(http_status(errc::internal) == 500);
}

TEST_CASE("error codes map to Stripe-like error types") {
  CHECK(error_type(errc::invalid_request) == "invalid_request_error");
  CHECK(error_type(errc::not_found) == "invalid_request_error");
  CHECK(error_type(errc::invalid_state) == "invalid_request_error");
  CHECK(error_type(errc::limit_exceeded) == "invalid_request_error");
  CHECK(error_type(errc::unauthorized) == "authentication_error");
  CHECK(error_type(errc::idempotency_key_reuse) == "idempotency_error");
  CHECK(error_type(errc::idempotency_in_flight) == "idempotency_error");
  CHECK(error_type(errc::card_declined) == "card_error");
  CHECK(error_type(errc::version_conflict) == "api_error");
  CHECK(error_type(errc::psp_unavailable) == "api_error");
  CHECK(error_type(errc::psp_error) == "api_error");
  CHECK(error_type(errc::storage_unavailable) == "api_error");
  CHECK(error_type(errc::internal) == "api_error");
}

TEST_CASE("a result holds either a value or an error") {
  result<std::string> ok = std::string("pi_123");
  REQUIRE(ok);
  CHECK(ok.has_value());
  CHECK(*ok == "pi_123");
  CHECK(ok->size() == 6);
  CHECK(ok.value() == "pi_123");

  result<std::string> failed = make_error(errc::not_found, "no such intent", "id");
  CHECK_FALSE(failed);
  CHECK_FALSE(failed.has_value());
  CHECK(failed.err().code == errc::not_found);
  CHECK(failed.err().message == "no such intent");
  CHECK(failed.err().param == "id");
}

TEST_CASE("a result's value can be moved out") {
  result<std::string> ok = std::string(100, 'x');
  std::string taken = std::move(ok).value();
  CHECK(taken.size() == 100);
}

TEST_CASE("a status is ok or carries an error") {
  status done = status::ok();
  CHECK(done);
  status failed = error{errc::version_conflict, "stale version", ""};
  REQUIRE_FALSE(failed);
  CHECK(failed.err() == error{errc::version_conflict, "stale version", ""});
}
