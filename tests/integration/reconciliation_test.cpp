// Daily reconciliation end to end: the engine compares the sandbox's balance
// transactions and payouts of a day with its books, stores each difference
// by kind, and answers the same run for the same day and PSP.

#ifdef PSP_SANDBOX_BIN

#include "tests/integration/settlement_fixture.hpp"

#include <cstdio>

using namespace pay;
using namespace pay::settlement_test;

TEST_CASE("Reconciliation of a clean day finds no difference and is idempotent per day and PSP") {
  settlement_fixture f;
  auto a = f.paid(f.shop_a, 10'000);
  f.paid(f.shop_b, 2'000, "eur");
  REQUIRE(f.refund(f.shop_a, a, 4'000).response.status == 200);
  auto manual = f.create(f.shop_b, 6'000, "manual");
  REQUIRE(f.confirm(manual, "pm_card_visa") == 200);
  std::string manual_id = manual["id"].GetString();
  REQUIRE(f.wait_status(f.shop_b, manual_id, "authorized")["status"].GetString() ==
          std::string("authorized"));
  REQUIRE(f.merchant_call(f.shop_b, "POST", "/v1/payment_intents/" + manual_id + "/capture",
                          R"({"amount_to_capture":2500})")
              .response.status == 200);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 2);  // usd and eur
  f.wait_booked(payouts);

  auto run = f.reconcile(today());
  INFO(test::parse_json(f.admin_call("GET", "/v1/admin/reconciliation/runs/" +
                                                std::string(run["id"].GetString()))
                            .response.body)["differences"]
           .Size());
  CHECK(run["differences"].Size() == 0);
  CHECK(run["differences_count"].GetInt64() == 0);
  // 3 charges, 1 refund, 3 fees, 2 payouts at the PSP; all matched.
  CHECK(run["psp_records"].GetInt64() == 9);
  CHECK(run["matched"].GetInt64() == 9);
  CHECK(run["counts"]["missing_in_ledger"].GetInt64() == 0);
  CHECK(run["sequence"].GetInt() == 1);

  // The same (day, psp) gives the same run; a rerun a new one, kept apart.
  auto again = f.reconcile(today());
  CHECK(std::string(again["id"].GetString()) == run["id"].GetString());
  auto rerun = f.reconcile(today(), true);
  CHECK(std::string(rerun["id"].GetString()) != run["id"].GetString());
  CHECK(rerun["sequence"].GetInt() == 2);
  CHECK(std::string(f.reconcile(today())["id"].GetString()) == rerun["id"].GetString());
  CHECK(f.count("SELECT count(*) FROM reconciliation_runs") == 2);

  auto got =
      f.admin_call("GET", "/v1/admin/reconciliation/runs/" + std::string(run["id"].GetString()));
  REQUIRE(got.response.status == 200);
  CHECK(std::string(test::parse_json(got.response.body)["date"].GetString()) == today());
  CHECK(f.admin_call("GET", "/v1/admin/reconciliation/runs/rcn_nope").response.status == 404);
}

TEST_CASE("Reconciliation reports exactly the seeded discrepancies by kind") {
  settlement_fixture f;
  auto deleted = f.paid(f.shop_a, 3'000);
  auto altered = f.paid(f.shop_b, 4'000);
  f.paid(f.shop_a, 5'000);
  // At the sandbox only: forget one charge, change another's amount, and
  // drop the payout.paid webhook.
  std::string psp_deleted = f.intent(f.shop_a, deleted)["psp_reference"].GetString();
  auto charge = f.psp_object("/v1/payment_intents/" + psp_deleted);
  std::string charge_id = charge["latest_charge"].GetString();
  REQUIRE(f.psp_call("POST", "/_sandbox/charges/" + charge_id + "/delete").response.status == 200);
  auto psp_altered = std::string(f.intent(f.shop_b, altered)["psp_reference"].GetString());
  auto altered_pi = f.psp_object("/v1/payment_intents/" + psp_altered);
  auto altered_charge =
      f.psp_object("/v1/charges/" + std::string(altered_pi["latest_charge"].GetString()));
  std::string bt = altered_charge["balance_transaction"].GetString();
  REQUIRE(
      f.psp_call("POST", "/_sandbox/balance_transactions/" + bt, "amount=4100").response.status ==
      200);
  REQUIRE(f.psp_call("POST", "/_sandbox/webhook_drops", "type=payout.paid").response.status == 200);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);

  auto run = f.reconcile(today());
  INFO(run["id"].GetString());
  // The altered charge is known: booking the missed payout settled it as
  // the engine captured it and put the PSP's extra 100 in suspense, so the
  // books explain the PSP's amount and it is no difference.
  CHECK(settlement_fixture::kinds_of(run) ==
        std::vector<std::string>{"missing_at_psp/charge", "missing_in_ledger/payout"});
  CHECK(f.count("SELECT amount FROM suspense_items WHERE type = 'charge' AND psp_intent_id = $1",
                {psp_altered}) == 100);
  CHECK(run["counts"]["amount_differs"].GetInt64() == 0);
  CHECK(run["counts"]["missing_at_psp"].GetInt64() == 1);
  CHECK(run["counts"]["missing_in_ledger"].GetInt64() == 1);
  CHECK(run["counts"]["currency_differs"].GetInt64() == 0);
  CHECK(run["counts"]["status_differs"].GetInt64() == 0);
  for (const auto& d : run["differences"].GetArray()) {
    std::string kind = d["kind"].GetString();
    if (kind == "missing_at_psp") {
      CHECK(std::string(d["our_reference"].GetString()) == deleted);
      CHECK(d["psp_reference"].IsNull());
      CHECK(d["our_amount"].GetInt64() == 3'000);
    } else {
      CHECK(std::string(d["psp_reference"].GetString()) == payouts[0]);
      CHECK(d["our_reference"].IsNull());
    }
  }
  // Stored, so the same run comes back with the same differences.
  auto stored = f.reconcile(today());
  CHECK(settlement_fixture::kinds_of(stored) == settlement_fixture::kinds_of(run));
  CHECK(f.count("SELECT count(*) FROM reconciliation_differences") == 2);

  // The latest run's differences are on /metrics, by kind, zeros included.
  auto scrape = test::http("GET", f.url("/metrics"), "", {});
  REQUIRE(scrape.response.status == 200);
  const auto& text = scrape.response.body;
  for (const auto& [kind, count] :
       std::vector<std::pair<std::string, int>>{{"amount_differs", 0},
                                                {"missing_at_psp", 1},
                                                {"missing_in_ledger", 1},
                                                {"currency_differs", 0},
                                                {"status_differs", 0}}) {
    auto line = "payments_reconciliation_differences{psp=\"sandbox\",kind=\"" + kind + "\"} " +
                std::to_string(count) + "\n";
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
  CHECK(text.find("payments_reconciliation_last_run_timestamp_seconds{psp=\"sandbox\"} ") !=
        std::string::npos);
}

TEST_CASE("Reconciliation shows a payout holding a charge the engine does not know") {
  settlement_fixture f;
  f.paid(f.shop_a, 5'000);
  auto direct = f.psp_call("POST", "/v1/payment_intents",
                           "amount=3000&currency=usd&confirm=true&payment_method=pm_card_visa");
  REQUIRE(direct.response.status == 200);
  std::string psp_id = test::parse_json(direct.response.body)["id"].GetString();
  auto payouts = f.settle();
  f.wait_booked(payouts);
  auto run = f.reconcile(today());
  // The unknown charge and its fee are missing in our books; the payout we
  // booked is short by that charge's net.
  CHECK(settlement_fixture::kinds_of(run) == std::vector<std::string>{"amount_differs/payout",
                                                                      "missing_in_ledger/charge",
                                                                      "missing_in_ledger/fee"});
}

TEST_CASE("Reconciliation refuses a bad day or an unknown PSP and needs the admin token") {
  settlement_fixture f;
  auto bad = f.admin_call("POST", "/v1/admin/reconciliation/runs", R"({"date":"2026-02-30"})");
  CHECK(bad.response.status == 400);
  auto none = f.admin_call("POST", "/v1/admin/reconciliation/runs", R"({})");
  CHECK(none.response.status == 400);
  auto psp = f.admin_call("POST", "/v1/admin/reconciliation/runs",
                          R"({"date":"2026-01-01","psp":"adyen"})");
  CHECK(psp.response.status == 404);
  auto anonymous = test::http("POST", f.url("/v1/admin/reconciliation/runs"),
                              R"({"date":"2026-01-01"})", {}, "application/json");
  CHECK(anonymous.response.status == 401);
  CHECK(f.count("SELECT count(*) FROM reconciliation_runs") == 0);
}

#endif  // PSP_SANDBOX_BIN

#ifdef PSP_SANDBOX_BIN

TEST_CASE("paymentsctl reconcile asks the engine and exits 3 when there are differences") {
  settlement_fixture f;
  f.paid(f.shop_a, 2'000);
  REQUIRE(f.psp_call("POST", "/_sandbox/webhook_drops", "type=payout.paid").response.status == 200);
  REQUIRE(f.settle().size() == 1);
  auto ctl = test::paymentsd_path();
  ctl = ctl.substr(0, ctl.rfind('/')) + "/paymentsctl";
  std::map<std::string, std::string> env{{"PAYMENTS_ENGINE_URL", f.engine->base_url()},
                                         {"PAYMENTS_ADMIN_TOKEN", f.admin}};
  test::child_process run(ctl, {"reconcile", "--date", today(), "--psp", "sandbox"}, env);
  CHECK(run.wait(30s) == 3);
  CHECK(run.output().find("\"missing_in_ledger\":1") != std::string::npos);
  CHECK(f.count("SELECT count(*) FROM reconciliation_runs WHERE trigger = 'cli'") == 1);
  test::child_process bad(ctl, {"reconcile", "--date", "tomorrow"}, env);
  CHECK(bad.wait(30s) == 1);
}

#endif  // PSP_SANDBOX_BIN

#ifdef PSP_SANDBOX_BIN

TEST_CASE("The scheduler reconciles the previous UTC day at the configured time") {
  // Ten seconds from now (the engine is up well before), UTC HH:MM:SS.
  auto at = now_s() + 10;
  auto into_day = at % 86'400;
  char when[16];
  std::snprintf(when, sizeof when, "%02lld:%02lld:%02lld", static_cast<long long>(into_day / 3600),
                static_cast<long long>(into_day % 3600 / 60),
                static_cast<long long>(into_day % 60));
  settlement_fixture f({{"PAYMENTS_RECONCILIATION_TIME", when}});
  REQUIRE(
      f.eventually("SELECT count(*) FROM reconciliation_runs WHERE trigger = 'schedule'", 1, 20s));
  // A copy: text() points into the rows, which go at the end of the statement.
  std::string day(f.db.query("SELECT day::text FROM reconciliation_runs").text(0, 0));
  CHECK(day == core::utc_day_of(at - 86'400));
}

#endif  // PSP_SANDBOX_BIN
