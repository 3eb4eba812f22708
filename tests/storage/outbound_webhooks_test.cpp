// The outbox and deliveries of outbound webhooks against real PostgreSQL:
// events are written in the intent write's transaction (and only then), one
// delivery per enabled subscribed endpoint of the same merchant; claims skip
// rows another claimer holds; attempts move deliveries on and the failure
// clock disables an endpoint; the outbox and the attempt log are append-only.

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "core/standard_webhooks.hpp"
#include "storage/intents.hpp"
#include "storage/outbound_webhooks.hpp"
#include "tests/support/harness.hpp"

using namespace pay;

namespace {

core::payment_intent new_intent(const std::string& merchant, const std::string& id) {
  core::payment_intent pi;
  pi.id = id;
  pi.merchant_id = merchant;
  pi.amount = 2000;
  pi.currency = "eur";
  pi.psp = "sandbox";
  pi.created = 1764036000;
  return pi;
}

core::audit_event step(std::optional<core::intent_status> from, core::intent_status to,
                       std::string action) {
  core::audit_event a;
  a.actor = "psp";
  a.action = std::move(action);
  a.from = from;
  a.to = to;
  a.cause = "test";
  return a;
}

/// Creates the intent, then moves it to authorized and captured in one write.
void create_and_capture(storage::pg_connection& conn, const std::string& merchant,
                        const std::string& id) {
  storage::intent_write create;
  create.intent = new_intent(merchant, id);
  create.audit = {step(std::nullopt, core::intent_status::created, "create")};
  REQUIRE(storage::write_intent(conn, create));
  storage::intent_write paid;
  paid.intent = new_intent(merchant, id);
  paid.intent.status = core::intent_status::captured;
  paid.intent.amount_received = 2000;
  paid.expected_version = 0;
  paid.audit = {step(core::intent_status::created, core::intent_status::authorized, "authorized"),
                step(core::intent_status::authorized, core::intent_status::captured, "capture")};
  REQUIRE(storage::write_intent(conn, paid));
}

storage::endpoint_fields fields(std::vector<std::string> events) {
  storage::endpoint_fields f;
  f.url = "https://shop.example/hooks";
  f.enabled_events = std::move(events);
  return f;
}

}  // namespace

TEST_CASE("An intent write appends its events and one delivery per enabled subscribed endpoint") {
  test::scratch_database db;
  auto a = test::make_merchant(db, "a");
  auto b = test::make_merchant(db, "b");
  auto conn = db.connect();
  auto all = storage::create_endpoint(conn, a.id, fields({"*"}));
  REQUIRE(all);
  CHECK(core::standard_webhook_key(all->secret.value_or("")));
  auto captured_only = storage::create_endpoint(conn, a.id, fields({"payment_intent.captured"}));
  REQUIRE(captured_only);
  auto off = storage::create_endpoint(conn, a.id, fields({"*"}));
  REQUIRE(off);
  storage::endpoint_fields disable;
  disable.enabled = false;
  REQUIRE(storage::update_endpoint(conn, a.id, off->id, disable));
  auto other = storage::create_endpoint(conn, b.id, fields({"*"}));
  REQUIRE(other);

  create_and_capture(conn, a.id, "pi_outbox_1");
  CHECK(db.count("SELECT count(*) FROM outbound_events WHERE object_id = 'pi_outbox_1'") == 2);
  CHECK(db.count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1", {all->id}) == 2);
  CHECK(db.count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1",
                 {captured_only->id}) == 1);
  CHECK(db.count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1", {off->id}) == 0);
  CHECK(db.count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1", {other->id}) ==
        0);
  auto page = storage::list_events(conn, a.id, 10, std::nullopt, std::nullopt);
  REQUIRE(page);
  REQUIRE(page->data.size() == 2);
  CHECK(page->data[0].type == "payment_intent.captured");
  CHECK(page->data[1].type == "payment_intent.authorized");
  CHECK(page->data[0].object_version == 1);
  CHECK_THAT(page->data[0].payload_json, Catch::Contains(R"("status":"captured")"));
  auto none = storage::list_events(conn, b.id, 10, std::nullopt, std::nullopt);
  REQUIRE(none);
  CHECK(none->data.empty());
}

TEST_CASE("A write that loses its compare-and-swap writes no event") {
  test::scratch_database db;
  auto a = test::make_merchant(db, "a");
  auto conn = db.connect();
  REQUIRE(storage::create_endpoint(conn, a.id, fields({"*"})));
  storage::intent_write create;
  create.intent = new_intent(a.id, "pi_cas");
  create.audit = {step(std::nullopt, core::intent_status::created, "create")};
  REQUIRE(storage::write_intent(conn, create));
  storage::intent_write stale;
  stale.intent = new_intent(a.id, "pi_cas");
  stale.intent.status = core::intent_status::authorized;
  stale.expected_version = 7;  // not the stored version
  stale.audit = {step(core::intent_status::created, core::intent_status::authorized, "authorized")};
  auto r = storage::write_intent(conn, stale);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == core::errc::version_conflict);
  CHECK(db.count("SELECT count(*) FROM outbound_events") == 0);
  CHECK(db.count("SELECT count(*) FROM webhook_deliveries") == 0);
}

TEST_CASE("Claims skip deliveries another claimer holds and attempts move them on") {
  test::scratch_database db;
  auto a = test::make_merchant(db, "a");
  auto conn = db.connect();
  auto ep = storage::create_endpoint(conn, a.id, fields({"*"}));
  REQUIRE(ep);
  create_and_capture(conn, a.id, "pi_claim");
  auto due = storage::due_endpoints(conn, 10);
  REQUIRE(due);
  CHECK(*due == std::vector<std::string>{ep->id});

  auto second = db.connect();
  auto first_claim = storage::claim_deliveries(conn, ep->id, 1, 60'000);
  REQUIRE(first_claim);
  REQUIRE(first_claim->size() == 1);
  CHECK(first_claim->front().secrets == std::vector<std::string>{*ep->secret});
  auto second_claim = storage::claim_deliveries(second, ep->id, 5, 60'000);
  REQUIRE(second_claim);
  REQUIRE(second_claim->size() == 1);  // the other one; the first is leased
  CHECK(second_claim->front().delivery_id != first_claim->front().delivery_id);
  auto nothing = storage::claim_deliveries(conn, ep->id, 5, 60'000);
  REQUIRE(nothing);
  CHECK(nothing->empty());

  storage::attempt_outcome ok;
  ok.delivery_id = first_claim->front().delivery_id;
  ok.endpoint_id = ep->id;
  ok.attempt = 1;
  ok.status = 200;
  ok.latency_ms = 12;
  ok.delivered = true;
  REQUIRE(storage::record_attempt(conn, ok));
  storage::attempt_outcome dead = ok;
  dead.delivery_id = second_claim->front().delivery_id;
  dead.status = 500;
  dead.error = "receiver broken";
  dead.delivered = false;
  dead.dead = true;
  dead.disable_after_s = 3600;
  auto disabled = storage::record_attempt(conn, dead);
  REQUIRE(disabled);
  CHECK_FALSE(*disabled);
  auto deliveries = storage::list_deliveries(conn, a.id, ep->id, 10, std::nullopt);
  REQUIRE(deliveries);
  REQUIRE(deliveries->data.size() == 2);
  std::set<std::string> states;
  for (const auto& d : deliveries->data) {
    states.insert(d.state);
    REQUIRE(d.attempt_history.size() == 1);
  }
  CHECK(states == std::set<std::string>{"delivered", "dead"});

  // Replaying the failed ones since long ago makes the dead one due again.
  auto replayed = storage::replay_failed(conn, a.id, ep->id, 0);
  REQUIRE(replayed);
  CHECK(*replayed == 1);
  auto again = storage::claim_deliveries(conn, ep->id, 5, 60'000);
  REQUIRE(again);
  CHECK(again->size() == 1);
}

TEST_CASE("An endpoint failing longer than the limit is disabled by the failure that crosses it") {
  test::scratch_database db;
  auto a = test::make_merchant(db, "a");
  auto conn = db.connect();
  auto ep = storage::create_endpoint(conn, a.id, fields({"*"}));
  REQUIRE(ep);
  create_and_capture(conn, a.id, "pi_disable");
  auto claimed = storage::claim_deliveries(conn, ep->id, 5, 60'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 2);
  storage::attempt_outcome fail;
  fail.delivery_id = claimed->front().delivery_id;
  fail.endpoint_id = ep->id;
  fail.attempt = 1;
  fail.error = "connection refused";
  fail.retry_in_ms = 1;
  fail.disable_after_s = 3600;
  auto first = storage::record_attempt(conn, fail);
  REQUIRE(first);
  CHECK_FALSE(*first);
  // Two hours of failing, as if the first failure were that old.
  db.query("UPDATE webhook_endpoints SET failing_since = now() - interval '2 hours'");
  fail.delivery_id = claimed->back().delivery_id;
  auto second = storage::record_attempt(conn, fail);
  REQUIRE(second);
  CHECK(*second);
  auto found = storage::find_endpoint(conn, a.id, ep->id);
  REQUIRE(found);
  CHECK(found->status == "disabled");
  CHECK(found->disabled_reason == "failing");
  auto due = storage::due_endpoints(conn, 10);
  REQUIRE(due);
  CHECK(due->empty());
}

TEST_CASE("A rolled secret signs beside its successor until its expiry and an older one stops") {
  test::scratch_database db;
  auto a = test::make_merchant(db, "a");
  auto conn = db.connect();
  auto ep = storage::create_endpoint(conn, a.id, fields({"*"}));
  REQUIRE(ep);
  auto rolled = storage::roll_endpoint_secret(conn, a.id, ep->id, 3600);
  REQUIRE(rolled);
  REQUIRE(rolled->secret);
  CHECK(*rolled->secret != *ep->secret);
  create_and_capture(conn, a.id, "pi_roll");
  auto claimed = storage::claim_deliveries(conn, ep->id, 1, 60'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  CHECK(claimed->front().secrets == std::vector<std::string>{*ep->secret, *rolled->secret});
  auto third = storage::roll_endpoint_secret(conn, a.id, ep->id, 0);
  REQUIRE(third);
  db.query("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second'");
  auto later = storage::claim_deliveries(conn, ep->id, 1, 60'000);
  REQUIRE(later);
  REQUIRE(later->size() == 1);
  CHECK(later->front().secrets == std::vector<std::string>{*third->secret});
}

TEST_CASE("The outbox and the attempt log refuse UPDATE and DELETE and TRUNCATE") {
  test::scratch_database db;
  auto a = test::make_merchant(db, "a");
  auto conn = db.connect();
  REQUIRE(storage::create_endpoint(conn, a.id, fields({"*"})));
  create_and_capture(conn, a.id, "pi_append");
  for (const char* sql : {"UPDATE outbound_events SET payload = '{}'",
                          "DELETE FROM outbound_events", "TRUNCATE outbound_events CASCADE",
                          "INSERT INTO webhook_delivery_attempts (delivery_id, "
                          "attempt, latency_ms) SELECT id, 1, 0 FROM "
                          "webhook_deliveries LIMIT 1"}) {
    auto r = conn.exec(sql);
    if (std::string_view(sql).starts_with("INSERT")) {
      CHECK(r.ok());
      continue;
    }
    INFO(sql);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error->kind == storage::db_error_kind::refused);
  }
  CHECK_FALSE(conn.exec("UPDATE webhook_delivery_attempts SET status = 1").ok());
  CHECK_FALSE(conn.exec("DELETE FROM webhook_delivery_attempts").ok());
  CHECK(db.count("SELECT count(*) FROM outbound_events") == 2);
}

TEST_CASE(
    "The operator's view counts each endpoint's deliveries and an audited replay revives "
    "only a failing or dead one") {
  test::scratch_database db;
  auto a = test::make_merchant(db, "a");
  auto b = test::make_merchant(db, "b");
  auto conn = db.connect();
  auto ep = storage::create_endpoint(conn, a.id, fields({"*"}));
  REQUIRE(ep);
  auto other = storage::create_endpoint(conn, b.id, fields({"*"}));
  REQUIRE(other);
  create_and_capture(conn, a.id, "pi_view");  // authorized and captured: two deliveries
  auto claimed = storage::claim_deliveries(conn, ep->id, 5, 60'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 2);
  storage::attempt_outcome dead;
  dead.delivery_id = claimed->front().delivery_id;
  dead.endpoint_id = ep->id;
  dead.attempt = 1;
  dead.error = "connect: Connection refused";
  dead.latency_ms = 3;
  dead.dead = true;
  dead.disable_after_s = 86'400;
  REQUIRE(storage::record_attempt(conn, dead));
  auto delivered = dead;
  delivered.delivery_id = claimed->back().delivery_id;
  delivered.error.reset();
  delivered.status = 200;
  delivered.dead = false;
  delivered.delivered = true;
  REQUIRE(storage::record_attempt(conn, delivered));

  auto view = storage::outbound_health_view(conn, 10, 10, 3);
  REQUIRE(view);
  CHECK(view->total == 2);
  REQUIRE(view->endpoints.size() == 2);
  const auto& mine =
      view->endpoints[0].merchant_id == a.id ? view->endpoints[0] : view->endpoints[1];
  CHECK(mine.endpoint_id == ep->id);
  CHECK(mine.pending == 0);
  CHECK(mine.dead == 1);
  CHECK(mine.oldest_undelivered_age_ms >= 0);
  CHECK(mine.recent.size() == 2);
  REQUIRE(mine.undelivered.size() == 1);
  CHECK(mine.undelivered[0].id == dead.delivery_id);
  REQUIRE(mine.undelivered[0].attempt_history.size() == 1);
  CHECK(mine.undelivered[0].attempt_history[0].error == "connect: Connection refused");

  // Delivered: refused, nothing audited.
  auto refused = storage::replay_delivery_as_admin(conn, delivered.delivery_id, "req_1");
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == core::errc::invalid_state);
  CHECK_FALSE(storage::replay_delivery_as_admin(conn, 999'999, "req_2"));
  CHECK(db.count("SELECT count(*) FROM audit_events WHERE actor = 'admin'") == 0);

  // Dead: pending again, due now, and one audit row in the same transaction.
  auto replayed = storage::replay_delivery_as_admin(conn, dead.delivery_id, "req_3");
  REQUIRE(replayed);
  CHECK(replayed->from_state == "dead");
  CHECK(replayed->merchant_id == a.id);
  auto audit = db.query(
      "SELECT merchant_id, actor, action, from_status, to_status, data->>'request_id', "
      "(data->>'delivery_id')::bigint FROM audit_events WHERE actor = 'admin'");
  REQUIRE(audit.size() == 1);
  CHECK(std::string(audit.text(0, 0)) == a.id);
  CHECK(std::string(audit.text(0, 1)) == "admin");
  CHECK(std::string(audit.text(0, 2)) == "webhook_delivery_replay");
  CHECK(std::string(audit.text(0, 3)) == "dead");
  CHECK(std::string(audit.text(0, 4)) == "pending");
  CHECK(std::string(audit.text(0, 5)) == "req_3");
  CHECK(audit.int64(0, 6) == dead.delivery_id);
  auto again = storage::claim_deliveries(conn, ep->id, 5, 60'000);
  REQUIRE(again);
  REQUIRE(again->size() == 1);
  CHECK(again->front().delivery_id == dead.delivery_id);

  // Pending but never attempted, and a disabled endpoint's: refused.
  create_and_capture(conn, a.id, "pi_view2");
  auto fresh = db.query(
      "SELECT id FROM webhook_deliveries WHERE attempts = 0 AND state = 'pending' LIMIT 1");
  REQUIRE(fresh.size() == 1);
  auto untried = storage::replay_delivery_as_admin(conn, fresh.int64(0, 0), "req_4");
  REQUIRE_FALSE(untried);
  CHECK(untried.err().code == core::errc::invalid_state);
  storage::endpoint_fields off;
  off.enabled = false;
  REQUIRE(storage::update_endpoint(conn, a.id, ep->id, off));
  auto on_disabled = storage::replay_delivery_as_admin(conn, dead.delivery_id, "req_5");
  REQUIRE_FALSE(on_disabled);
  CHECK(on_disabled.err().code == core::errc::invalid_state);
  CHECK(db.count("SELECT count(*) FROM audit_events WHERE actor = 'admin'") == 1);
}

TEST_CASE("A replay during an attempt in flight is not undone when the attempt succeeds") {
  test::scratch_database db;
  auto a = test::make_merchant(db, "a");
  auto conn = db.connect();
  auto ep = storage::create_endpoint(conn, a.id, fields({"payment_intent.captured"}));
  REQUIRE(ep);
  create_and_capture(conn, a.id, "pi_race");
  auto claimed = storage::claim_deliveries(conn, ep->id, 5, 60'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  const auto& d = claimed->front();
  // The receiver has the event; before the attempt is recorded the
  // merchant replays it.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto replayed = storage::replay_event(conn, a.id, d.event_id, std::nullopt);
  REQUIRE(replayed);
  CHECK(*replayed == 1);
  storage::attempt_outcome ok;
  ok.delivery_id = d.delivery_id;
  ok.endpoint_id = ep->id;
  ok.attempt = 1;
  ok.status = 200;
  ok.delivered = true;
  ok.claimed_window_start_ms = d.retry_window_start_ms;
  REQUIRE(storage::record_attempt(conn, ok));
  CHECK(db.count("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'") == 1);
  CHECK(db.count("SELECT count(*) FROM webhook_delivery_attempts") == 1);
  // The replay is due: the next claim sends it, and its success is recorded.
  auto again = storage::claim_deliveries(conn, ep->id, 5, 60'000);
  REQUIRE(again);
  REQUIRE(again->size() == 1);
  ok.attempt = 2;
  ok.claimed_window_start_ms = again->front().retry_window_start_ms;
  REQUIRE(storage::record_attempt(conn, ok));
  CHECK(db.count("SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'") == 1);
}
