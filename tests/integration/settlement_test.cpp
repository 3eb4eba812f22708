// Settlement end to end: the sandbox pays out, its payout.paid webhook
// reaches the engine, which fetches the payout's balance transactions and
// books each merchant's share once, against real processes and PostgreSQL.

#ifdef PSP_SANDBOX_BIN

#include "tests/integration/settlement_fixture.hpp"

#include <thread>

using namespace pay;
using namespace pay::settlement_test;

namespace {

/// The sandbox's fee rule (docs/sandbox.md), computed independently here.
std::int64_t fee_of(std::int64_t amount) {
  return (amount * 290 + 5000) / 10000 + 30;
}

}  // namespace

TEST_CASE("A payout books each merchant's gross off the receivable with fee and net once") {
  settlement_fixture f;
  auto a1 = f.paid(f.shop_a, 10'000);
  auto a2 = f.paid(f.shop_a, 2'500);
  auto b1 = f.paid(f.shop_b, 7'000);
  auto refund = f.refund(f.shop_a, a2, 1'000);
  INFO(refund.response.body);
  REQUIRE(refund.response.status == 200);
  REQUIRE(f.debit_balance("psp_receivable:sandbox") == 10'000 + 2'500 + 7'000 - 1'000);

  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);

  auto net_a = 10'000 - fee_of(10'000) + 2'500 - fee_of(2'500) - 1'000;
  auto net_b = 7'000 - fee_of(7'000);
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == net_a);
  CHECK(f.debit_balance("bank:" + f.shop_b.id) == net_b);
  CHECK(f.debit_balance("psp_fees:sandbox") == fee_of(10'000) + fee_of(2'500) + fee_of(7'000));
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
  CHECK(f.trial_balanced());
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'") == 2);
  CHECK(f.count("SELECT count(*) FROM settlement_items WHERE matched") == 4);
  auto payout = f.psp_object("/v1/payouts/" + payouts[0]);
  CHECK(payout["amount"].GetInt64() == net_a + net_b);
  CHECK(f.count("SELECT booked_net FROM settlement_payouts") == net_a + net_b);
  CHECK(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_type = 'payout.paid' AND "
                   "outcome = 'settled'",
                   1));

  // Each intent knows the payout that settled it; another merchant sees nothing.
  auto r = f.merchant_call(f.shop_a, "GET", "/v1/ledger/settlements?payment_intent=" + a2);
  REQUIRE(r.response.status == 200);
  auto doc = test::parse_json(r.response.body);
  CHECK(doc["settled"].GetBool());
  REQUIRE(doc["data"].Size() == 2);  // the charge and the refund
  for (const auto& s : doc["data"].GetArray()) CHECK(s["payout"].GetString() == payouts[0]);
  auto other = f.merchant_call(f.shop_b, "GET", "/v1/ledger/settlements?payment_intent=" + a2);
  REQUIRE(other.response.status == 200);
  CHECK(test::parse_json(other.response.body)["data"].Size() == 0);
  auto missing = f.merchant_call(f.shop_a, "GET", "/v1/ledger/settlements");
  CHECK(missing.response.status == 400);
  (void)a1;
  (void)b1;
}

TEST_CASE("A payout.paid delivered twice and under a second event id is booked once") {
  settlement_fixture f;
  f.paid(f.shop_a, 4'000);
  f.paid(f.shop_b, 3'000);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);
  auto entries = f.count("SELECT count(*) FROM ledger_entries");
  auto body = f.psp_event("payout.paid", payouts[0]);

  // The same event again: the inbox keeps it once.
  auto again = f.deliver(*f.engine, body);
  REQUIRE(again.response.status == 200);
  CHECK(test::parse_json(again.response.body)["duplicate"].GetBool());
  // Another event about the same payout (as a PSP may send): processed, not booked.
  auto renamed = body;
  auto at = renamed.find("\"evt_");
  REQUIRE(at != std::string::npos);
  renamed.replace(at + 1, 4, "evt_again_");
  REQUIRE(f.deliver(*f.engine, renamed).response.status == 200);
  REQUIRE(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_type = 'payout.paid' AND "
                   "processed_at IS NOT NULL",
                   2));
  CHECK(f.count("SELECT count(*) FROM settlement_payouts") == 1);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'") == 2);
  CHECK(f.count("SELECT count(*) FROM ledger_entries") == entries);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
}

TEST_CASE("Settlement reads the PSP through its gateway, whose metrics count each call") {
  settlement_fixture f;
  f.paid(f.shop_a, 2'500);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);
  auto scrape = test::http("GET", f.url("/metrics"), "", {});
  REQUIRE(scrape.response.status == 200);
  for (const std::string operation : {"retrieve_payout", "list_balance_transactions"}) {
    INFO(operation);
    auto series = "payments_psp_call_duration_seconds_count{psp=\"sandbox\",operation=\"" +
                  operation + "\"} ";
    auto at = scrape.response.body.find(series);
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(scrape.response.body.substr(at + series.size())) >= 1);
  }
}

TEST_CASE("Two engines racing on one payout book it once") {
  settlement_fixture f;
  // The sandbox's own delivery is dropped: the two engines get it from us.
  auto drop = f.psp_call("POST", "/_sandbox/webhook_drops", "type=payout.paid&count=1");
  REQUIRE(drop.response.status == 200);
  for (int i = 0; i < 6; ++i) f.paid(i % 2 ? f.shop_a : f.shop_b, 1'000 + 100 * i);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  auto body = f.psp_event("payout.paid", payouts[0]);
  auto env = f.engine_env;
  env["PAYMENTS_PORT"] = "0";
  test::engine_process second(f.db.url(), env);

  // Several distinct events about the same payout, delivered to both engines
  // at once, so their workers book concurrently.
  // Catch's assertions are not thread-safe: each sender keeps its answer's
  // status, checked once all have joined.
  std::vector<std::thread> senders;
  std::vector<int> statuses(4, 0);
  for (int i = 0; i < 4; ++i) {
    auto variant = body;
    auto at = variant.find("\"evt_");
    REQUIRE(at != std::string::npos);
    variant.replace(at + 1, 4, "evt_race" + std::to_string(i) + "_");
    senders.emplace_back([&f, &second, &statuses, variant, i] {
      statuses[static_cast<std::size_t>(i)] =
          f.deliver(i % 2 ? second : *f.engine, variant).response.status;
    });
  }
  for (auto& t : senders) t.join();
  for (int status : statuses) CHECK(status == 200);
  REQUIRE(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NOT NULL AND "
                   "event_type = 'payout.paid'",
                   4, 30s));
  CHECK(f.count("SELECT count(*) FROM settlement_payouts") == 1);
  CHECK(f.count("SELECT count(*) FROM settlement_journals") == 2);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'") == 2);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
  CHECK(f.trial_balanced());
  CHECK(f.count("SELECT count(*) FROM dead_letters") == 0);
}

TEST_CASE("A payout holding a charge the engine does not know records it unbooked") {
  settlement_fixture f;
  f.paid(f.shop_a, 5'000);
  // A payment made at the PSP directly, outside the engine.
  auto direct = f.psp_call("POST", "/v1/payment_intents",
                           "amount=3000&currency=usd&confirm=true&payment_method=pm_card_visa");
  INFO(direct.response.body);
  REQUIRE(direct.response.status == 200);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);
  CHECK(f.count("SELECT unmatched_count FROM settlement_payouts") == 1);
  CHECK(f.count("SELECT count(*) FROM settlement_items WHERE NOT matched AND type = 'charge'") ==
        1);
  CHECK(f.count("SELECT psp_amount - booked_net FROM settlement_payouts") == 3'000 - fee_of(3'000));
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == 5'000 - fee_of(5'000));
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
}

TEST_CASE("A payout whose PSP calls fail is retried with backoff and booked once they answer") {
  settlement_fixture f({{"PAYMENTS_WEBHOOK_BACKOFF_BASE_MS", "50"},
                        {"PAYMENTS_WEBHOOK_BACKOFF_CEILING_MS", "200"},
                        {"PAYMENTS_WEBHOOK_ATTEMPTS_MAX", "100"}});
  f.paid(f.shop_a, 6'000);
  auto faults = f.psp_call("POST", "/_sandbox/faults", "error_percent=100");
  REQUIRE(faults.response.status == 200);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  // The engine cannot read the payout: attempts pile up, nothing is booked.
  REQUIRE(
      f.eventually("SELECT (count(*) > 2)::int FROM webhook_attempts a JOIN webhook_inbox i ON "
                   "i.id = a.inbox_id WHERE i.event_type = 'payout.paid'",
                   1));
  CHECK(f.count("SELECT count(*) FROM settlement_payouts") == 0);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'") == 0);
  REQUIRE(f.psp_call("POST", "/_sandbox/faults", "reset=true").response.status == 200);
  f.wait_booked(payouts);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'") == 1);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
  CHECK(f.count("SELECT count(*) FROM dead_letters") == 0);
}

TEST_CASE("The settlement and reconciliation tables refuse UPDATE and DELETE") {
  test::scratch_database db;
  db.query(
      "INSERT INTO settlement_payouts (id, psp, psp_payout_id, currency, psp_amount, booked_net, "
      "psp_status, psp_created) VALUES ('stl_1', 'sandbox', 'po_1', 'usd', 10, 10, 'paid', now())");
  db.query(
      "INSERT INTO reconciliation_runs (id, psp, day, sequence, trigger, psp_records, our_records, "
      "matched, differences, started_at) VALUES ('rcn_1', 'sandbox', '2026-11-24', 1, 'api', 0, 0, "
      "0, 1, now())");
  db.query(
      "INSERT INTO reconciliation_differences (run_id, kind, object, detail) VALUES ('rcn_1', "
      "'missing_in_ledger', 'payout', 'x')");
  CHECK_THROWS(db.query("UPDATE settlement_payouts SET booked_net = 0"));
  CHECK_THROWS(db.query("DELETE FROM settlement_payouts"));
  CHECK_THROWS(db.query("DELETE FROM reconciliation_runs"));
  CHECK_THROWS(db.query("UPDATE reconciliation_differences SET detail = ''"));
  CHECK(db.query("SELECT count(*) FROM settlement_payouts").int64(0, 0) == 1);
  CHECK(db.query("SELECT count(*) FROM reconciliation_differences").int64(0, 0) == 1);
}

#endif  // PSP_SANDBOX_BIN
