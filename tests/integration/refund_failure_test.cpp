// A refund that fails at the PSP after it was booked: the engine reverses its
// booking in the ledger, puts the intent back, shows the refund failed, and
// the day still reconciles with the PSP (whose refund_failure gave the money
// back).

#ifdef PSP_SANDBOX_BIN

#include "tests/integration/settlement_fixture.hpp"

using namespace pay;
using namespace pay::settlement_test;

namespace {

/// The engine's refund, read through the API.
rapidjson::Document refund_of(settlement_fixture& f, const test::test_merchant& m,
                              const std::string& id) {
  auto r = f.merchant_call(m, "GET", "/v1/refunds/" + id);
  INFO(r.response.body);
  REQUIRE(r.response.status == 200);
  return test::parse_json(r.response.body);
}

/// Waits (bounded) until the engine's refund has `status`.
rapidjson::Document wait_refund(settlement_fixture& f, const test::test_merchant& m,
                                const std::string& id, const std::string& status) {
  auto until = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    auto doc = refund_of(f, m, id);
    if (doc["status"].GetString() == status || std::chrono::steady_clock::now() > until) return doc;
    std::this_thread::sleep_for(20ms);
  }
}

/// What the ledger holds as refunded for the merchant (contra revenue,
/// debit-normal).
std::int64_t refunded_books(settlement_fixture& f, const test::test_merchant& m) {
  return f.debit_balance("refunds:" + m.id);
}

}  // namespace

TEST_CASE("A refund that fails after it was booked is reversed, and the day still reconciles") {
  settlement_fixture f;
  auto id = f.paid(f.shop_a, 10'000);
  auto first = f.refund(f.shop_a, id, 3'000);
  auto second = f.refund(f.shop_a, id, 7'000);
  REQUIRE(first.response.status == 200);
  REQUIRE(second.response.status == 200);
  auto failing = test::parse_json(second.response.body);
  std::string failing_id = failing["id"].GetString();
  REQUIRE(f.wait_status(f.shop_a, id, "refunded")["status"].GetString() == std::string("refunded"));
  CHECK(refunded_books(f, f.shop_a) == 10'000);
  auto receivable_before = f.debit_balance("psp_receivable:sandbox");

  // At the PSP, the second refund fails (the shopper's card was closed).
  std::string psp_refund = failing["psp_reference"].GetString();
  REQUIRE(f.psp_call("POST", "/_sandbox/refunds/" + psp_refund + "/fail").response.status == 200);

  auto after = f.wait_status(f.shop_a, id, "partially_refunded");
  CHECK(after["status"].GetString() == std::string("partially_refunded"));
  CHECK(after["amount_refunded"].GetInt64() == 3'000);
  CHECK(wait_refund(f, f.shop_a, failing_id, "failed")["status"].GetString() ==
        std::string("failed"));
  // The books: the failed refund's booking reversed (once, linked to it), the
  // money owed by the PSP again.
  CHECK(refunded_books(f, f.shop_a) == 3'000);
  CHECK(f.debit_balance("psp_receivable:sandbox") == receivable_before + 7'000);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions r JOIN ledger_transactions o ON o.id = "
                "r.reverses WHERE o.refund_id = $1 AND o.kind = 'refund'",
                {failing_id}) == 1);
  CHECK(f.trial_balanced());
  // One audit row says why; refund.failed and charge.refund.updated were
  // both delivered, the second one applied as no change.
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                "'refund_failed_partial'",
                {id}) == 1);
  CHECK(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_type IN ('refund.failed', "
                   "'charge.refund.updated') AND processed_at IS NOT NULL",
                   2));

  // Redelivering the failure changes nothing more.
  auto again = f.deliver(*f.engine, f.psp_event("refund.failed", psp_refund));
  CHECK(again.response.status == 200);
  std::this_thread::sleep_for(300ms);
  CHECK(refunded_books(f, f.shop_a) == 3'000);
  CHECK(f.intent(f.shop_a, id)["amount_refunded"].GetInt64() == 3'000);

  // The money can be refunded again, and a captured intent's news never
  // walks it back.
  REQUIRE(f.refund(f.shop_a, id, 7'000).response.status == 200);
  CHECK(f.wait_status(f.shop_a, id, "refunded")["status"].GetString() == std::string("refunded"));

  // Settled and reconciled: the PSP's refund and its refund_failure net to
  // nothing, as the engine's failed refund does. (Another sale, so the
  // day's payout is positive: every sale of the first is refunded.)
  f.paid(f.shop_b, 5'000);
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);
  auto run = f.reconcile(today());
  INFO(run["id"].GetString());
  CHECK(settlement_fixture::kinds_of(run).empty());
  CHECK(f.trial_balanced());
}

TEST_CASE("A whole refund that fails takes the intent back to captured, once") {
  settlement_fixture f;
  auto id = f.paid(f.shop_b, 4'000);
  auto r = f.refund(f.shop_b, id, 4'000);
  REQUIRE(r.response.status == 200);
  std::string psp_refund = test::parse_json(r.response.body)["psp_reference"].GetString();
  REQUIRE(f.wait_status(f.shop_b, id, "refunded")["status"].GetString() == std::string("refunded"));
  REQUIRE(f.psp_call("POST", "/_sandbox/refunds/" + psp_refund + "/fail").response.status == 200);
  CHECK(f.wait_status(f.shop_b, id, "captured")["status"].GetString() == std::string("captured"));
  CHECK(refunded_books(f, f.shop_b) == 0);
  // A second failure of the same refund is refused at the PSP and changes
  // nothing here.
  CHECK(f.psp_call("POST", "/_sandbox/refunds/" + psp_refund + "/fail").response.status == 400);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'reversal' AND intent_id = "
                "$1",
                {id}) == 1);
  CHECK(f.trial_balanced());
}

#endif
