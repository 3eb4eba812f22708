#include "core/idempotency.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/crypto.hpp"

using namespace pay::core;

TEST_CASE("the request fingerprint is the SHA-256 of method, path and body") {
  CHECK(request_fingerprint("POST", "/v1/payment_intents", "{}") ==
        sha256_hex("POST\n/v1/payment_intents\n{}"));
  CHECK(request_fingerprint("POST", "/v1/payment_intents", "{}").size() == 64);
}

TEST_CASE("the request fingerprint differs by method, path and body") {
  const auto base = request_fingerprint("POST", "/v1/refunds", R"({"amount":100})");
  CHECK(request_fingerprint("POST", "/v1/refunds", R"({"amount":100})") == base);
  CHECK(request_fingerprint("PUT", "/v1/refunds", R"({"amount":100})") != base);
  CHECK(request_fingerprint("POST", "/v1/refundz", R"({"amount":100})") != base);
  CHECK(request_fingerprint("POST", "/v1/refunds", R"({"amount":101})") != base);
}

TEST_CASE("the separators keep method, path and body apart") {
  CHECK(request_fingerprint("POST", "/a", "b") != request_fingerprint("POST", "/ab", ""));
}

TEST_CASE("idempotency keys of 1 to 255 printable characters are valid") {
  CHECK(valid_idempotency_key("a"));
  CHECK(valid_idempotency_key("3f2b1c9e-7a4d-4e8b-9c1a-0d2e3f4a5b6c"));
  CHECK(valid_idempotency_key(std::string(255, 'k')));
  CHECK(valid_idempotency_key("!~"));
}

TEST_CASE("empty, overlong and non-printable idempotency keys are refused") {
  CHECK_FALSE(valid_idempotency_key(""));
  CHECK_FALSE(valid_idempotency_key(std::string(256, 'k')));
  CHECK_FALSE(valid_idempotency_key("has space"));
  CHECK_FALSE(valid_idempotency_key("tab\there"));
  CHECK_FALSE(valid_idempotency_key("newline\n"));
  CHECK_FALSE(valid_idempotency_key(std::string("nul\0", 4)));
  CHECK_FALSE(valid_idempotency_key("del\x7f"));
  CHECK_FALSE(valid_idempotency_key("caf\xc3\xa9"));
}

TEST_CASE("recovery point names round-trip and equal the enumerator names") {
  CHECK(to_string(recovery_point::started) == "started");
  CHECK(to_string(recovery_point::psp_requested) == "psp_requested");
  CHECK(to_string(recovery_point::psp_called) == "psp_called");
  CHECK(to_string(recovery_point::finished) == "finished");
  for (auto point : all_recovery_points) CHECK(parse_recovery_point(to_string(point)) == point);
  CHECK_FALSE(parse_recovery_point("Started"));
  CHECK_FALSE(parse_recovery_point(""));
}

TEST_CASE("Operation kinds round-trip by name, and the instance id is stable and distinctive") {
  using pay::core::operation_kind;
  for (auto kind : {operation_kind::create, operation_kind::capture, operation_kind::cancel,
                    operation_kind::refund})
    CHECK(pay::core::parse_operation_kind(pay::core::to_string(kind)) == kind);
  CHECK_FALSE(pay::core::parse_operation_kind("Capture"));
  const auto& id = pay::core::instance_id();
  CHECK(id.rfind("paymentsd:", 0) == 0);
  CHECK(id.size() > 20);
  CHECK(&pay::core::instance_id() == &id);
  CHECK(pay::core::instance_id() == id);
}
