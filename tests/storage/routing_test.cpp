#include <catch2/catch.hpp>

#include "storage/routing.hpp"
#include "tests/support/harness.hpp"

using namespace pay;

TEST_CASE("Routing rules are stored as versions with an audit event each, and old ones stay") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "routing-store");
  auto conn = db.connect();

  auto none = storage::load_routing(conn, m.id);
  REQUIRE(none);
  CHECK(none->version == 0);
  CHECK(none->rules == core::routing_rules{});

  core::routing_rules rules;
  core::routing_rule eur;
  eur.currency = "eur";
  eur.amount_min = 100;
  eur.amount_max = 5000;
  eur.payment_method_type = "card";
  eur.psps = {{"adyen", 3}, {"sandbox", 1}};
  rules.rules = {eur};
  rules.default_psps = {{"sandbox", 1}};
  auto v1 = storage::replace_routing(conn, m.id, rules, "api");
  REQUIRE(v1);
  CHECK(v1->version == 1);
  CHECK(v1->rules == rules);
  CHECK(v1->actor == "api");

  auto v2 = storage::replace_routing(conn, m.id, core::routing_rules{}, "api");
  REQUIRE(v2);
  CHECK(v2->version == 2);
  CHECK(v2->rules.rules.empty());
  auto current = storage::load_routing(conn, m.id);
  REQUIRE(current);
  CHECK(current->version == 2);

  CHECK(db.query("SELECT count(*) FROM audit_events WHERE merchant_id = '" + m.id +
                 "' AND action = 'merchant_routing'")
            .int64(0, 0) == 2);
  CHECK(db.query("SELECT count(*) FROM routing_rules WHERE merchant_id = '" + m.id + "'")
            .int64(0, 0) == 1);
  // Append-only: a stored version cannot be changed or removed.
  CHECK_FALSE(conn.exec("UPDATE routing_rules SET currency = 'usd'").ok());
  CHECK_FALSE(conn.exec("DELETE FROM routing_versions").ok());
}

TEST_CASE("A create's routing attempts are recorded once and read back in order") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "routing-attempts");
  auto conn = db.connect();
  storage::routing_attempt first{"pi_routingattempt000000001",
                                 0,
                                 m.id,
                                 "sandbox",
                                 {"sandbox", "adyen"},
                                 "default list",
                                 false};
  storage::routing_attempt second{
      "pi_routingattempt000000001", 1,    m.id, "adyen", {"sandbox", "adyen"},
      "sandbox breaker open",       false};
  REQUIRE(storage::record_routing_attempt(conn, first));
  REQUIRE(storage::record_routing_attempt(conn, second));
  // A retry that lost the answer of its own insert records nothing new.
  auto changed = second;
  changed.psp = "sandbox";
  REQUIRE(storage::record_routing_attempt(conn, changed));

  auto plan = storage::load_routing_plan(conn, m.id, "pi_routingattempt000000001");
  REQUIRE(plan);
  REQUIRE(plan->attempts.size() == 2);
  CHECK(plan->attempts[0].psp == "sandbox");
  CHECK(plan->attempts[1].psp == "adyen");
  CHECK(plan->attempts[1].candidates == std::vector<std::string>{"sandbox", "adyen"});
  CHECK(plan->attempts[1].reason == "sandbox breaker open");
  // Another merchant sees none of them.
  auto other = test::make_merchant(db, "routing-other");
  auto theirs = storage::load_routing_plan(conn, other.id, "pi_routingattempt000000001");
  REQUIRE(theirs);
  CHECK(theirs->attempts.empty());

  REQUIRE(storage::record_routing_orphan(
      conn, {"pi_routingattempt000000001", 0, "canceled", std::string("pi_stripe_1")}));
  REQUIRE(storage::record_routing_orphan(conn, {"pi_routingattempt000000001", 0, "expires", {}}));
  CHECK(db.query("SELECT outcome FROM routing_orphans").text(0, 0) == "canceled");
  auto recent = storage::recent_routing_attempts(conn, m.id, 10);
  REQUIRE(recent);
  CHECK(recent->size() == 2);
}

TEST_CASE(
    "The orphan rescan's query finds attempts followed by a possible-orphan failover, past the "
    "grace window, not yet handled, with their PSP key and create") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "routing-orphans");
  auto conn = db.connect();
  core::psp_create_intent req;
  req.amount = 4200;
  req.currency = "eur";
  req.capture = core::capture_method::manual;
  req.description = "Blue mug";
  req.metadata_json = R"({"order":"7"})";
  req.engine_intent_id = "pi_routingorphan0000000001";
  req.return_url = "http://127.0.0.1/";
  auto attempt = [&](const std::string& id, std::int32_t n, const std::string& psp, bool may) {
    storage::routing_attempt a{id, n, m.id, psp, {"sandbox", "adyen"}, "x", may};
    a.psp_key = "pe_key-" + id + "-" + std::to_string(n);
    auto r = req;
    r.engine_intent_id = id;
    a.request = r;
    REQUIRE(storage::record_routing_attempt(conn, a));
  };
  // One create failed over after a timeout (orphan at attempt 0), another
  // after an open breaker (nothing made: no orphan).
  attempt("pi_routingorphan0000000001", 0, "sandbox", false);
  attempt("pi_routingorphan0000000001", 1, "adyen", true);
  attempt("pi_routingorphan0000000002", 0, "sandbox", false);
  attempt("pi_routingorphan0000000002", 1, "adyen", false);
  // A row recorded before migration 0017 has no key: skipped.
  conn.exec(
      "INSERT INTO routing_attempts (intent_id, attempt, merchant_id, psp, candidates, reason, "
      "previous_may_exist) VALUES ('pi_routingorphan0000000003', 0, $1, 'sandbox', "
      "'sandbox,adyen', 'x', false), ('pi_routingorphan0000000003', 1, $1, 'adyen', "
      "'sandbox,adyen', 'x', true)",
      {m.id});

  // Inside the grace window: nothing yet.
  auto early = storage::due_routing_orphans(conn, 60'000, 10);
  REQUIRE(early);
  CHECK(early->empty());
  auto due = storage::due_routing_orphans(conn, 0, 10);
  REQUIRE(due);
  REQUIRE(due->size() == 1);
  const auto& o = due->front();
  CHECK(o.intent_id == "pi_routingorphan0000000001");
  CHECK(o.attempt == 0);
  CHECK(o.psp == "sandbox");
  CHECK(o.psp_key == "pe_key-pi_routingorphan0000000001-0");
  REQUIRE(o.request);
  CHECK(o.request->amount == 4200);
  CHECK(o.request->currency == "eur");
  CHECK(o.request->capture == core::capture_method::manual);
  CHECK(o.request->description == std::optional<std::string>("Blue mug"));
  CHECK(o.request->metadata_json == R"({"order":"7"})");
  CHECK(o.request->engine_intent_id == "pi_routingorphan0000000001");
  CHECK(o.request->return_url == "http://127.0.0.1/");

  auto counts = storage::count_routing_orphans(conn);
  REQUIRE(counts);
  CHECK(counts->found == 2);
  CHECK(counts->pending == 2);
  // Handled: no longer due, and counted by outcome.
  REQUIRE(storage::record_routing_orphan(
      conn, {"pi_routingorphan0000000001", 0, "canceled", std::string("pi_stripe_9")}));
  auto after = storage::due_routing_orphans(conn, 0, 10);
  REQUIRE(after);
  CHECK(after->empty());
  counts = storage::count_routing_orphans(conn);
  REQUIRE(counts);
  CHECK(counts->canceled == 1);
  CHECK(counts->expires == 0);
  CHECK(counts->pending == 1);  // the pre-0017 one, which the rescan cannot resend
}
