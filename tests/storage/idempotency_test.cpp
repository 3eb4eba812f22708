#include <catch2/catch.hpp>

#include "core/idempotency.hpp"
#include "storage/idempotency.hpp"
#include "tests/support/harness.hpp"

using namespace pay;

namespace {

storage::idempotency_request request(const std::string& merchant, const std::string& key) {
  return {merchant,
          key,
          "POST",
          "/v1/payment_intents",
          core::request_fingerprint("POST", "/v1/payment_intents", "{}"),
          20'000};
}

}  // namespace

TEST_CASE("Keys older than the retention expire, newer and running ones stay") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "expiry");
  auto conn = db.connect();
  auto old_done = storage::idempotency_begin(conn, request(m.id, "old-finished"));
  auto old_running = storage::idempotency_begin(conn, request(m.id, "old-running"));
  auto fresh = storage::idempotency_begin(conn, request(m.id, "fresh"));
  REQUIRE(old_done);
  REQUIRE(old_running);
  REQUIRE(fresh);
  REQUIRE(storage::idempotency_finish(conn, old_done->id, 200, "{}"));
  db.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key LIKE "
      "'old-%'");
  db.query(
      "UPDATE idempotency_keys SET locked_until = now() + interval '1 minute' WHERE key = "
      "'old-running'");

  auto expired = storage::idempotency_expire(conn, 24);
  REQUIRE(expired);
  CHECK(*expired == 1);
  auto left = db.query("SELECT key FROM idempotency_keys ORDER BY key");
  REQUIRE(left.size() == 2);
  CHECK(left.text(0, 0) == "fresh");
  CHECK(left.text(1, 0) == "old-running");
}

TEST_CASE("A claimed key answers replay, mismatch or in flight as its record says") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "claims");
  auto conn = db.connect();
  auto first = storage::idempotency_begin(conn, request(m.id, "k"));
  REQUIRE(first);
  CHECK(first->state == storage::idempotency_state::fresh);
  auto busy = storage::idempotency_begin(conn, request(m.id, "k"));
  REQUIRE(busy);
  CHECK(busy->state == storage::idempotency_state::in_flight);
  auto other = request(m.id, "k");
  other.fingerprint = core::request_fingerprint("POST", "/v1/payment_intents", "{\"a\":1}");
  auto mismatch = storage::idempotency_begin(conn, other);
  REQUIRE(mismatch);
  CHECK(mismatch->state == storage::idempotency_state::mismatch);
  REQUIRE(storage::idempotency_release(conn, first->id));
  auto resumed = storage::idempotency_begin(conn, request(m.id, "k"));
  REQUIRE(resumed);
  CHECK(resumed->state == storage::idempotency_state::resume);
  REQUIRE(storage::idempotency_finish(conn, first->id, 201, "{\"ok\":true}"));
  auto replay = storage::idempotency_begin(conn, request(m.id, "k"));
  REQUIRE(replay);
  CHECK(replay->state == storage::idempotency_state::replay);
  CHECK(replay->response_status == 201);
  CHECK(replay->response_body == "{\"ok\":true}");
}
