// The rest of the money lifecycle end to end (issue 19), against the real
// sandbox PSP, the real engine and PostgreSQL: a payout that fails after it
// was paid is reversed and paid again; money the engine cannot attribute
// goes to suspense and an operator clears it; a payout whose payout.paid
// (or payout.failed) never arrived is caught up by reconciliation.

#ifdef PSP_SANDBOX_BIN

#include "tests/integration/settlement_fixture.hpp"

using namespace pay;
using namespace pay::settlement_test;

namespace {

/// The sandbox's fee rule (docs/sandbox.md), computed independently here.
std::int64_t fee_of(std::int64_t amount) {
  return (amount * 290 + 5000) / 10000 + 30;
}

std::int64_t credit_balance(settlement_fixture& f, const std::string& key) {
  return -f.debit_balance(key);
}

/// The sandbox's balance transaction of the charge of engine intent `id`.
std::string charge_bt(settlement_fixture& f, const test::test_merchant& m, const std::string& id) {
  std::string psp_id = f.intent(m, id)["psp_reference"].GetString();
  auto pi = f.psp_object("/v1/payment_intents/" + psp_id);
  auto charge = f.psp_object("/v1/charges/" + std::string(pi["latest_charge"].GetString()));
  return charge["balance_transaction"].GetString();
}

void alter_bt(settlement_fixture& f, const std::string& bt, const std::string& form) {
  auto r = f.psp_call("POST", "/_sandbox/balance_transactions/" + bt, form);
  INFO(r.response.body);
  REQUIRE(r.response.status == 200);
}

void fail_payout(settlement_fixture& f, const std::string& id) {
  auto r = f.psp_call("POST", "/_sandbox/payouts/" + id + "/fail");
  INFO(r.response.body);
  REQUIRE(r.response.status == 200);
  auto po = test::parse_json(r.response.body);
  CHECK(std::string(po["status"].GetString()) == "failed");
  CHECK(std::string(po["failure_code"].GetString()) == "account_closed");
}

}  // namespace

TEST_CASE("A payout that fails after it was paid is reversed and told and paid again") {
  settlement_fixture f;
  f.paid(f.shop_a, 5'000);
  f.paid(f.shop_b, 3'000);
  auto first = f.settle();
  REQUIRE(first.size() == 1);
  f.wait_booked(first);
  const auto net_a = 5'000 - fee_of(5'000);
  const auto net_b = 3'000 - fee_of(3'000);
  REQUIRE(f.debit_balance("bank:" + f.shop_a.id) == net_a);
  REQUIRE(f.debit_balance("bank:" + f.shop_b.id) == net_b);
  REQUIRE(f.debit_balance("psp_receivable:sandbox") == 0);

  fail_payout(f, first[0]);
  REQUIRE(f.eventually("SELECT count(*) FROM settlement_payout_failures", 1, 30s));
  // Each merchant's share is reversed: the money is back on the receivable.
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'reversal' AND reverses IN "
                "(SELECT transaction_id FROM settlement_journals)") == 2);
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == 0);
  CHECK(f.debit_balance("bank:" + f.shop_b.id) == 0);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 8'000);
  CHECK(f.count("SELECT reversed_net FROM settlement_payout_failures") == net_a + net_b);
  CHECK(f.count("SELECT count(*) FROM settlement_payout_failures WHERE failure_code = "
                "'account_closed'") == 1);
  CHECK(f.trial_balanced());
  // Audited and told to each merchant, once.
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE action = 'payout_failed'") == 2);
  CHECK(f.count("SELECT count(*) FROM outbound_events WHERE type = 'payout.failed'") == 2);
  CHECK(f.count("SELECT count(*) FROM outbound_events WHERE type = 'payout.failed' AND "
                "merchant_id = $1 AND payload::jsonb #>> '{data,object,amount}' = $2",
                {f.shop_a.id, std::to_string(net_a)}) == 1);

  // The same event again, and under another event id: nothing more.
  auto body = f.psp_event("payout.failed", first[0]);
  CHECK(f.deliver(*f.engine, body).response.status == 200);
  auto variant = body;
  auto at = variant.find("\"evt_");
  REQUIRE(at != std::string::npos);
  variant.replace(at + 1, 4, "evt_again_");
  CHECK(f.deliver(*f.engine, variant).response.status == 200);
  REQUIRE(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_type = 'payout.failed' AND "
                   "processed_at IS NOT NULL",
                   2, 30s));
  CHECK(f.count("SELECT count(*) FROM settlement_payout_failures") == 1);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'reversal'") == 2);
  CHECK(f.count("SELECT count(*) FROM outbound_events WHERE type = 'payout.failed'") == 2);

  // The PSP pays the failed money again in its next payout (its
  // payout_failure balance transaction): each merchant's share as booked.
  auto second = f.settle();
  REQUIRE(second.size() == 1);
  f.wait_booked(second);
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == net_a);
  CHECK(f.debit_balance("bank:" + f.shop_b.id) == net_b);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
  CHECK(f.debit_balance("psp_fees:sandbox") == fee_of(5'000) + fee_of(3'000));
  CHECK(f.count("SELECT count(*) FROM settlement_items WHERE type = 'payout_failure' AND matched "
                "AND repays_payout_id IS NOT NULL") == 1);
  CHECK(f.count("SELECT count(*) FROM suspense_items") == 0);
  CHECK(f.trial_balanced());

  // The PSP's failed payout and its repayment reconcile with the books.
  auto run = f.reconcile(today());
  INFO(run["id"].GetString());
  CHECK(settlement_fixture::kinds_of(run).empty());
}

TEST_CASE("A balance transaction the engine cannot attribute goes to suspense and is cleared") {
  settlement_fixture f;
  f.paid(f.shop_a, 5'000);
  // A payment made at the PSP directly, outside the engine.
  auto direct = f.psp_call("POST", "/v1/payment_intents",
                           "amount=3000&currency=usd&confirm=true&payment_method=pm_card_visa");
  REQUIRE(direct.response.status == 200);
  std::string psp_intent = test::parse_json(direct.response.body)["id"].GetString();
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);

  // Booked, not dropped: the amount owed to nobody yet, the net paid out.
  CHECK(f.count("SELECT count(*) FROM suspense_items") == 1);
  CHECK(credit_balance(f, "suspense:sandbox") == 3'000);
  CHECK(f.debit_balance("unattributed_cash:sandbox") == 3'000 - fee_of(3'000));
  CHECK(f.debit_balance("psp_fees:sandbox") == fee_of(5'000) + fee_of(3'000));
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == 5'000 - fee_of(5'000));
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
  CHECK(f.trial_balanced());

  // Listed for the operator with its PSP data.
  auto list = f.admin_call("GET", "/v1/admin/suspense");
  INFO(list.response.body);
  REQUIRE(list.response.status == 200);
  auto doc = test::parse_json(list.response.body);
  REQUIRE(doc["data"].Size() == 1);
  const auto& item = doc["data"][0];
  std::string id = item["id"].GetString();
  CHECK(std::string(item["status"].GetString()) == "open");
  CHECK(std::string(item["type"].GetString()) == "charge");
  CHECK(std::string(item["psp_payment_intent"].GetString()) == psp_intent);
  CHECK(std::string(item["payout"].GetString()) == payouts[0]);
  CHECK(item["amount"].GetInt64() == 3'000);
  CHECK(item["clearing"].IsNull());
  CHECK(f.merchant_call(f.shop_a, "GET", "/v1/admin/suspense").response.status == 401);

  // Bad decisions are refused and change nothing.
  auto path = "/v1/admin/suspense/" + id + "/clear";
  CHECK(f.admin_call("POST", path, R"({"account":"merchant_revenue:)" + f.shop_a.id + R"("})")
            .response.status == 400);
  CHECK(f.admin_call("POST", path, R"({"account":"nonsense","reason":"x"})").response.status ==
        400);
  CHECK(f.admin_call("POST", path, R"({"account":"suspense:sandbox","reason":"x"})")
            .response.status == 400);
  CHECK(
      f.admin_call("POST", path, R"({"account":"bank:mch_nobody","reason":"x"})").response.status ==
      404);
  CHECK(f.admin_call("POST", "/v1/admin/suspense/sus_nothing/clear",
                     R"({"account":"psp_fees:sandbox","reason":"x"})")
            .response.status == 404);
  CHECK(credit_balance(f, "suspense:sandbox") == 3'000);
  CHECK(f.count("SELECT count(*) FROM suspense_clearings") == 0);

  // The operator decides whose it is: cleared, booked and audited, once.
  auto cleared = f.admin_call("POST", path,
                              R"({"account":"merchant_revenue:)" + f.shop_a.id +
                                  R"(","reason":"phone order keyed on the PSP dashboard"})");
  INFO(cleared.response.body);
  REQUIRE(cleared.response.status == 200);
  auto c = test::parse_json(cleared.response.body);
  CHECK(std::string(c["status"].GetString()) == "cleared");
  CHECK(std::string(c["clearing"]["account"].GetString()) == "merchant_revenue:" + f.shop_a.id);
  CHECK(std::string(c["clearing"]["actor"].GetString()) == "admin");
  CHECK(credit_balance(f, "suspense:sandbox") == 0);
  CHECK(credit_balance(f, "merchant_revenue:" + f.shop_a.id) == 8'000);
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE action = 'suspense_cleared' AND "
                "merchant_id = $1",
                {f.shop_a.id}) == 1);
  auto again = f.admin_call("POST", path, R"({"account":"psp_fees:sandbox","reason":"twice"})");
  CHECK(again.response.status == 400);
  CHECK(f.count("SELECT count(*) FROM suspense_clearings") == 1);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'suspense_clearing'") == 1);
  auto open = test::parse_json(f.admin_call("GET", "/v1/admin/suspense").response.body);
  CHECK(open["data"].Size() == 0);
  auto all = test::parse_json(f.admin_call("GET", "/v1/admin/suspense?status=all").response.body);
  CHECK(all["data"].Size() == 1);
  CHECK(f.trial_balanced());
  CHECK_THROWS(f.db.query("UPDATE suspense_items SET amount = 0"));
  CHECK_THROWS(f.db.query("DELETE FROM suspense_clearings"));
}

TEST_CASE("Reconciliation books a paid payout whose payout.paid never arrived and says so") {
  settlement_fixture f;
  f.paid(f.shop_a, 4'000);
  REQUIRE(f.psp_call("POST", "/_sandbox/webhook_drops", "type=payout.paid").response.status == 200);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  CHECK(f.count("SELECT count(*) FROM settlement_payouts") == 0);

  auto run = f.reconcile(today());
  CHECK(settlement_fixture::kinds_of(run) == std::vector<std::string>{"missing_in_ledger/payout"});
  CHECK(std::string(run["differences"][0]["detail"].GetString()).find("booked it now") !=
        std::string::npos);
  CHECK(f.count("SELECT count(*) FROM settlement_payouts WHERE psp_payout_id = $1", {payouts[0]}) ==
        1);
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == 4'000 - fee_of(4'000));
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
  // Booked once: the next run is clean.
  auto rerun = f.reconcile(today(), true);
  CHECK(settlement_fixture::kinds_of(rerun).empty());
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'") == 1);
}

TEST_CASE("Reconciliation reverses a payout whose payout.failed never arrived") {
  settlement_fixture f;
  f.paid(f.shop_a, 6'000);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);
  REQUIRE(f.psp_call("POST", "/_sandbox/webhook_drops", "type=payout.failed").response.status ==
          200);
  fail_payout(f, payouts[0]);
  auto run = f.reconcile(today());
  CHECK(settlement_fixture::kinds_of(run) == std::vector<std::string>{"status_differs/payout"});
  CHECK(f.count("SELECT count(*) FROM settlement_payout_failures") == 1);
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == 0);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 6'000);
  auto rerun = f.reconcile(today(), true);
  CHECK(settlement_fixture::kinds_of(rerun).empty());
  CHECK(f.trial_balanced());
}

TEST_CASE(
    "A known charge that settles at another amount is settled as booked and the difference goes "
    "to suspense once") {
  settlement_fixture f;
  auto a = f.paid(f.shop_a, 4'000);
  auto b = f.paid(f.shop_b, 5'000);
  const std::string psp_a = f.intent(f.shop_a, a)["psp_reference"].GetString();
  // At the PSP only: shop A's charge settles 100 higher; shop B's fee is
  // 200 (the engine books no fee before the payout, so a fee is taken as
  // the PSP reports it and is no mismatch).
  alter_bt(f, charge_bt(f, f.shop_a, a), "amount=4100");
  alter_bt(f, charge_bt(f, f.shop_b, b), "fee=200");
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);

  // Shop A is settled as the engine captured; the 100 is nobody's yet.
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == 4'000 - fee_of(4'000));
  CHECK(f.debit_balance("bank:" + f.shop_b.id) == 5'000 - 200);
  CHECK(f.debit_balance("psp_fees:sandbox") == fee_of(4'000) + 200);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
  CHECK(credit_balance(f, "suspense:sandbox") == 100);
  CHECK(f.debit_balance("unattributed_cash:sandbox") == 100);
  CHECK(f.trial_balanced());
  // The PSP's line is recorded as the PSP sent it, matched to shop A.
  CHECK(f.count("SELECT amount FROM settlement_items WHERE intent_id = $1", {a}) == 4'100);
  CHECK(f.count("SELECT count(*) FROM settlement_items WHERE intent_id = $1 AND matched", {a}) ==
        1);

  auto list = f.admin_call("GET", "/v1/admin/suspense");
  INFO(list.response.body);
  REQUIRE(list.response.status == 200);
  auto doc = test::parse_json(list.response.body);
  REQUIRE(doc["data"].Size() == 1);
  const auto& item = doc["data"][0];
  CHECK(std::string(item["type"].GetString()) == "charge");
  CHECK(std::string(item["psp_payment_intent"].GetString()) == psp_a);
  CHECK(item["amount"].GetInt64() == 100);
  CHECK(item["fee"].GetInt64() == 0);
  CHECK(item["net"].GetInt64() == 100);
  CHECK(std::string(item["reason"].GetString()).find("the engine booked amount 4000") !=
        std::string::npos);
  std::string id = item["id"].GetString();

  // The payout's event again: booked once.
  auto body = f.psp_event("payout.paid", payouts[0]);
  auto variant = body;
  auto at = variant.find("\"evt_");
  REQUIRE(at != std::string::npos);
  variant.replace(at + 1, 4, "evt_again_");
  CHECK(f.deliver(*f.engine, variant).response.status == 200);
  REQUIRE(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_type = 'payout.paid' AND "
                   "processed_at IS NOT NULL",
                   2, 30s));
  CHECK(f.count("SELECT count(*) FROM suspense_items") == 1);
  CHECK(credit_balance(f, "suspense:sandbox") == 100);

  // Reconciliation is clean for the line: the books explain the PSP's 4100.
  auto run = f.reconcile(today());
  INFO(run["id"].GetString());
  CHECK(settlement_fixture::kinds_of(run).empty());

  // Cleared by an operator's decision, like any suspense item.
  auto cleared =
      f.admin_call("POST", "/v1/admin/suspense/" + id + "/clear",
                   R"({"account":"merchant_revenue:)" + f.shop_a.id +
                       R"(","reason":"the PSP settled a surcharge the shopper agreed to"})");
  INFO(cleared.response.body);
  REQUIRE(cleared.response.status == 200);
  CHECK(credit_balance(f, "suspense:sandbox") == 0);
  CHECK(credit_balance(f, "merchant_revenue:" + f.shop_a.id) == 4'100);
  auto rerun = f.reconcile(today(), true);
  CHECK(settlement_fixture::kinds_of(rerun).empty());
  CHECK(f.trial_balanced());
}

TEST_CASE(
    "A cleared suspense item whose payout fails takes its clearing back so suspense never goes "
    "below zero") {
  settlement_fixture f;
  f.paid(f.shop_a, 5'000);
  auto direct = f.psp_call("POST", "/v1/payment_intents",
                           "amount=3000&currency=usd&confirm=true&payment_method=pm_card_visa");
  REQUIRE(direct.response.status == 200);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);
  auto doc = test::parse_json(f.admin_call("GET", "/v1/admin/suspense").response.body);
  REQUIRE(doc["data"].Size() == 1);
  std::string id = doc["data"][0]["id"].GetString();
  auto path = "/v1/admin/suspense/" + id + "/clear";
  REQUIRE(f.admin_call("POST", path,
                       R"({"account":"merchant_revenue:)" + f.shop_a.id +
                           R"(","reason":"phone order keyed on the PSP dashboard"})")
              .response.status == 200);
  REQUIRE(credit_balance(f, "suspense:sandbox") == 0);
  REQUIRE(credit_balance(f, "merchant_revenue:" + f.shop_a.id) == 8'000);

  fail_payout(f, payouts[0]);
  REQUIRE(f.eventually("SELECT count(*) FROM settlement_payout_failures", 1, 30s));
  // The clearing is reversed with the line: the account it went to gives
  // it back, and suspense is zero, not -3000.
  CHECK(credit_balance(f, "suspense:sandbox") == 0);
  CHECK(f.count("SELECT count(*) FROM ledger_entries e JOIN ledger_accounts a ON a.id = "
                "e.account_id WHERE a.code = 'suspense' GROUP BY a.id HAVING sum(e.credit) < "
                "sum(e.debit)") == 0);
  CHECK(credit_balance(f, "merchant_revenue:" + f.shop_a.id) == 5'000);
  CHECK(f.debit_balance("unattributed_cash:sandbox") == 0);
  CHECK(f.debit_balance("bank:" + f.shop_a.id) == 0);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 5'000);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'reversal' AND reverses IN "
                "(SELECT transaction_id FROM suspense_clearings)") == 1);
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE action = 'suspense_clearing_reversed' "
                "AND merchant_id = $1",
                {f.shop_a.id}) == 1);
  CHECK(f.trial_balanced());
  // Shown as reversed, with where it had gone; no longer clearable.
  auto all = test::parse_json(f.admin_call("GET", "/v1/admin/suspense?status=all").response.body);
  REQUIRE(all["data"].Size() == 1);
  CHECK(std::string(all["data"][0]["status"].GetString()) == "reversed");
  CHECK(std::string(all["data"][0]["clearing"]["account"].GetString()) ==
        "merchant_revenue:" + f.shop_a.id);
  CHECK(f.admin_call("POST", path, R"({"account":"psp_fees:sandbox","reason":"again"})")
            .response.status == 400);

  // The failure's event again: nothing more is reversed.
  auto body = f.psp_event("payout.failed", payouts[0]);
  CHECK(f.deliver(*f.engine, body).response.status == 200);
  REQUIRE(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_type = 'payout.failed' AND "
                   "processed_at IS NOT NULL",
                   1, 30s));
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'reversal'") == 3);
  CHECK(credit_balance(f, "suspense:sandbox") == 0);
}

#endif  // PSP_SANDBOX_BIN
