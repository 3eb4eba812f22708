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
