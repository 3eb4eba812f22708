// Disputes end to end: the sandbox disputes a charge of its dispute test card
// and sends Stripe's dispute webhooks; the engine records the dispute, books
// its money, forwards evidence, and stays right under redelivered and
// reordered events. The books are checked after each step: the trial balance
// is zero and the day reconciles clean.

#ifdef PSP_SANDBOX_BIN

#include "tests/integration/settlement_fixture.hpp"

using namespace pay;
using namespace pay::settlement_test;

namespace {

/// A paid payment with the dispute test card; answers the engine's intent id.
std::string disputed_payment(settlement_fixture& f, const test::test_merchant& m,
                             std::int64_t amount) {
  auto pi = f.create(m, amount, "automatic");
  REQUIRE(f.confirm(pi, "pm_card_createDispute") == 200);
  std::string id = pi["id"].GetString();
  REQUIRE(f.wait_status(m, id, "captured")["status"].GetString() == std::string("captured"));
  return id;
}

/// The engine's one dispute of `intent`, once its funds were withdrawn.
rapidjson::Document dispute_of(settlement_fixture& f, const test::test_merchant& m,
                               const std::string& intent) {
  REQUIRE(f.eventually("SELECT count(*) FROM disputes WHERE intent_id = $1 AND funds_withdrawn", 1,
                       20s, {intent}));
  auto r = f.merchant_call(m, "GET", "/v1/disputes?payment_intent=" + intent);
  INFO(r.response.body);
  REQUIRE(r.response.status == 200);
  auto list = test::parse_json(r.response.body);
  REQUIRE(list["data"].Size() == 1);
  rapidjson::Document d;
  d.CopyFrom(list["data"][0], d.GetAllocator());
  return d;
}

std::string status_of(settlement_fixture& f, const test::test_merchant& m, const std::string& id) {
  auto r = f.merchant_call(m, "GET", "/v1/disputes/" + id);
  REQUIRE(r.response.status == 200);
  return test::parse_json(r.response.body)["status"].GetString();
}

/// Waits until the dispute's status is `status` (bounded).
bool wait_dispute(settlement_fixture& f, const std::string& id, const std::string& status) {
  return f.eventually("SELECT count(*) FROM disputes WHERE id = $1 AND status = $2", 1, 20s,
                      {id, status});
}

/// Every event the sandbox has about `object_id`, oldest first, as JSON texts.
std::vector<std::string> psp_events_about(settlement_fixture& f, const std::string& object_id) {
  auto doc = f.psp_object("/v1/events?limit=100");
  std::vector<std::string> out;
  for (const auto& e : doc["data"].GetArray())
    if (std::string(e["data"]["object"]["id"].GetString()) == object_id) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      e.Accept(writer);
      out.emplace_back(buffer.GetString(), buffer.GetSize());
    }
  std::reverse(out.begin(), out.end());
  return out;
}

/// `event` (JSON text) under a new event id, so the inbox takes it as new.
std::string renamed(const std::string& event) {
  auto doc = test::parse_json(event);
  auto id = "evt_" + core::random_token(24);
  doc["id"].SetString(id.c_str(), static_cast<rapidjson::SizeType>(id.size()), doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

void check_day_reconciles(settlement_fixture& f) {
  auto run = f.reconcile(today(), true);
  INFO(test::parse_json(f.admin_call("GET", "/v1/admin/reconciliation/runs/" +
                                                std::string(run["id"].GetString()))
                            .response.body)["differences"]
           .Size());
  for (const auto& d : run["differences"].GetArray()) UNSCOPED_INFO(d["detail"].GetString());
  CHECK(run["differences"].Size() == 0);
}

}  // namespace

TEST_CASE("A dispute opened, listed, evidence sent and won books its money and reinstates it") {
  settlement_fixture f;
  auto intent = disputed_payment(f, f.shop_a, 2'000);
  auto d = dispute_of(f, f.shop_a, intent);
  std::string id = d["id"].GetString();
  CHECK(id.starts_with("dp_"));
  CHECK(std::string(d["status"].GetString()) == "needs_response");
  CHECK(std::string(d["reason"].GetString()) == "fraudulent");
  CHECK(d["amount"].GetInt64() == 2'000);
  CHECK(d["fee"].GetInt64() == 1'500);
  CHECK(d["funds_withdrawn"].GetBool());
  CHECK_FALSE(d["funds_reinstated"].GetBool());
  REQUIRE(d["evidence_due_by"].IsInt64());
  CHECK(d["evidence_due_by"].GetInt64() > now_s() + 6 * 86'400);

  // Listed and filtered; the intent shows it; another merchant sees nothing.
  auto open = test::parse_json(
      f.merchant_call(f.shop_a, "GET", "/v1/disputes?status=needs_response").response.body);
  CHECK(open["data"].Size() == 1);
  CHECK(test::parse_json(
            f.merchant_call(f.shop_a, "GET", "/v1/disputes?status=won").response.body)["data"]
            .Size() == 0);
  CHECK(f.merchant_call(f.shop_a, "GET", "/v1/disputes?status=bogus").response.status == 400);
  CHECK(test::parse_json(f.merchant_call(f.shop_b, "GET", "/v1/disputes").response.body)["data"]
            .Size() == 0);
  CHECK(f.merchant_call(f.shop_b, "GET", "/v1/disputes/" + id).response.status == 404);
  auto pi = f.intent(f.shop_a, intent);
  REQUIRE(pi["disputes"].IsArray());
  REQUIRE(pi["disputes"].Size() == 1);
  CHECK(std::string(pi["disputes"][0]["id"].GetString()) == id);
  CHECK(std::string(pi["disputes"][0]["status"].GetString()) == "needs_response");
  CHECK(std::string(pi["status"].GetString()) == "captured");

  // Books: the sale to `disputes`, the 15.00 fee to psp_fees, both off the
  // receivable; balanced.
  auto merchant = f.shop_a.id;
  CHECK(f.debit_balance("disputes:" + merchant) == 2'000);
  CHECK(f.debit_balance("psp_fees:sandbox") == 1'500);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 2'000 - 3'500);
  CHECK(f.trial_balanced());
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action LIKE "
                "'dispute_%'",
                {intent}) >= 2);
  check_day_reconciles(f);

  // The operator sees it: the inspector's view and /metrics.
  auto admin = f.admin_call("GET", "/v1/admin/disputes");
  REQUIRE(admin.response.status == 200);
  auto open_all = test::parse_json(admin.response.body);
  REQUIRE(open_all["data"].Size() == 1);
  CHECK(std::string(open_all["data"][0]["id"].GetString()) == id);
  CHECK(open_all["data"][0]["seconds_left"].GetInt64() > 6 * 86'400);
  CHECK_FALSE(open_all["data"][0]["deadline_near"].GetBool());
  CHECK(f.merchant_call(f.shop_a, "GET", "/v1/admin/disputes").response.status == 401);
  auto metrics = test::http("GET", f.url("/metrics")).response.body;
  CHECK(metrics.find("payments_disputes_open{psp=\"sandbox\"} 1") != std::string::npos);
  CHECK(metrics.find("payments_dispute_deadline_seconds{psp=\"sandbox\"} ") != std::string::npos);

  // Bad evidence is refused and changes nothing.
  auto path = "/v1/disputes/" + id + "/evidence";
  auto unknown = f.merchant_call(f.shop_a, "POST", path, R"({"evidence":{"receipt_file":"x"}})");
  CHECK(unknown.response.status == 400);
  CHECK(unknown.response.body.find("evidence[receipt_file]") != std::string::npos);
  CHECK(f.merchant_call(f.shop_a, "POST", path, R"({"evidence":{}})").response.status == 400);
  CHECK(f.merchant_call(f.shop_a, "POST", path, R"({"evidence":{"customer_name":7}})")
            .response.status == 400);
  CHECK(f.merchant_call(
             f.shop_a, "POST", path,
             R"({"evidence":{"uncategorized_text":")" + std::string(20'001, 'x') + R"("}})")
            .response.status == 400);
  CHECK(status_of(f, f.shop_a, id) == "needs_response");

  // Good evidence goes to the PSP and the dispute is under review.
  auto sent = test::http(
      "POST", f.url(path),
      R"({"evidence":{"product_description":"A blue mug","customer_name":"Ann"}})",
      {{"Authorization", "Bearer " + f.shop_a.api_key}, {"Idempotency-Key", "evidence-1"}},
      "application/json");
  INFO(sent.response.body);
  REQUIRE(sent.response.status == 200);
  auto after = test::parse_json(sent.response.body);
  CHECK(std::string(after["status"].GetString()) == "under_review");
  CHECK(std::string(after["evidence"]["product_description"].GetString()) == "A blue mug");
  auto at_psp = f.psp_object("/v1/disputes/" + std::string(d["psp_dispute_id"].GetString()));
  CHECK(std::string(at_psp["status"].GetString()) == "under_review");
  CHECK(std::string(at_psp["evidence"]["customer_name"].GetString()) == "Ann");
  // Under review: no more evidence.
  auto again = f.merchant_call(f.shop_a, "POST", path, R"({"evidence":{"customer_name":"Bo"}})");
  CHECK(again.response.status == 400);
  CHECK(again.response.body.find("invalid_state") != std::string::npos);

  // Won: the amount comes back; the fee stays.
  auto closed = f.psp_call(
      "POST", "/_sandbox/disputes/" + std::string(d["psp_dispute_id"].GetString()) + "/close",
      "outcome=won");
  INFO(closed.response.body);
  REQUIRE(closed.response.status == 200);
  REQUIRE(wait_dispute(f, id, "won"));
  REQUIRE(f.eventually("SELECT count(*) FROM disputes WHERE id = $1 AND funds_reinstated", 1, 20s,
                       {id}));
  CHECK(f.debit_balance("disputes:" + merchant) == 0);
  CHECK(f.debit_balance("psp_fees:sandbox") == 1'500);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 2'000 - 1'500);
  CHECK(f.debit_balance("dispute_losses:" + merchant) == 0);
  CHECK(f.trial_balanced());
  CHECK(test::parse_json(f.admin_call("GET", "/v1/admin/disputes").response.body)["data"].Size() ==
        0);

  // Every event again, under new ids and in reverse order: nothing moves.
  auto events = psp_events_about(f, d["psp_dispute_id"].GetString());
  REQUIRE(events.size() >= 5);  // created, funds_withdrawn, updated, funds_reinstated, closed
  for (auto it = events.rbegin(); it != events.rend(); ++it)
    REQUIRE(f.deliver(*f.engine, renamed(*it)).response.status == 200);
  REQUIRE(f.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL", 0));
  CHECK(status_of(f, f.shop_a, id) == "won");
  CHECK(f.count("SELECT count(*) FROM dispute_movements WHERE dispute_id = $1", {id}) == 2);
  CHECK(f.debit_balance("disputes:" + merchant) == 0);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 2'000 - 1'500);
  CHECK(f.trial_balanced());

  // The payout holds the charge and both dispute adjustments; the books and
  // the PSP agree.
  auto payouts = f.settle();
  REQUIRE(payouts.size() == 1);
  f.wait_booked(payouts);
  CHECK(f.count("SELECT count(*) FROM settlement_items WHERE dispute_id = $1 AND matched", {id}) ==
        2);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 0);
  CHECK(f.trial_balanced());
  check_day_reconciles(f);
}

TEST_CASE("A lost dispute realises its loss once, whatever order its events arrive in") {
  settlement_fixture f;
  // The engine hears nothing until the dispute is closed: closed comes first.
  REQUIRE(f.psp_call("POST", "/_sandbox/webhook_drops", "type=charge.dispute.created")
              .response.status == 200);
  REQUIRE(f.psp_call("POST", "/_sandbox/webhook_drops", "type=charge.dispute.funds_withdrawn")
              .response.status == 200);
  auto intent = disputed_payment(f, f.shop_b, 3'000);
  std::string psp_intent = f.intent(f.shop_b, intent)["psp_reference"].GetString();
  auto list = f.psp_object("/v1/disputes?payment_intent=" + psp_intent);
  REQUIRE(list["data"].Size() == 1);
  std::string psp_dispute = list["data"][0]["id"].GetString();
  CHECK(f.count("SELECT count(*) FROM disputes") == 0);
  auto closed =
      f.psp_call("POST", "/_sandbox/disputes/" + psp_dispute + "/close", R"(outcome=lost)");
  REQUIRE(closed.response.status == 200);
  REQUIRE(f.eventually("SELECT count(*) FROM disputes WHERE status = 'lost'", 1));
  auto merchant = f.shop_b.id;
  CHECK(f.debit_balance("disputes:" + merchant) == 0);
  CHECK(f.debit_balance("dispute_losses:" + merchant) == 3'000);
  CHECK(f.debit_balance("psp_fees:sandbox") == 1'500);
  CHECK(f.debit_balance("psp_receivable:sandbox") == 3'000 - 4'500);
  CHECK(f.trial_balanced());

  // The dropped events arrive late, and again: nothing changes.
  for (int round = 0; round < 2; ++round)
    for (const auto& e : psp_events_about(f, psp_dispute))
      REQUIRE(f.deliver(*f.engine, renamed(e)).response.status == 200);
  REQUIRE(f.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL", 0));
  auto d = f.merchant_call(f.shop_b, "GET", "/v1/disputes?payment_intent=" + intent);
  auto doc = test::parse_json(d.response.body);
  REQUIRE(doc["data"].Size() == 1);
  std::string id = doc["data"][0]["id"].GetString();
  CHECK(std::string(doc["data"][0]["status"].GetString()) == "lost");
  CHECK(f.count("SELECT count(*) FROM dispute_movements WHERE dispute_id = $1", {id}) == 1);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'dispute_loss'") == 1);
  CHECK(f.debit_balance("dispute_losses:" + merchant) == 3'000);
  CHECK(f.debit_balance("disputes:" + merchant) == 0);
  CHECK(f.trial_balanced());

  // A closed dispute takes no evidence.
  auto late = f.merchant_call(f.shop_b, "POST", "/v1/disputes/" + id + "/evidence",
                              R"({"evidence":{"customer_name":"Ann"}})");
  CHECK(late.response.status == 400);
  check_day_reconciles(f);
}

TEST_CASE("Evidence after the due date is refused by the engine before the PSP is asked") {
  settlement_fixture f;
  auto intent = disputed_payment(f, f.shop_a, 1'000);
  auto d = dispute_of(f, f.shop_a, intent);
  std::string id = d["id"].GetString();
  std::string psp_dispute = d["psp_dispute_id"].GetString();
  // A newer update from the PSP moves the deadline into the past.
  auto events = psp_events_about(f, psp_dispute);
  REQUIRE_FALSE(events.empty());
  auto doc = test::parse_json(events.front());
  doc["created"].SetInt64(now_s() + 60);
  doc["type"].SetString("charge.dispute.updated");
  doc["data"]["object"]["evidence_details"]["due_by"].SetInt64(now_s() - 10);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  REQUIRE(f.deliver(*f.engine, renamed({buffer.GetString(), buffer.GetSize()})).response.status ==
          200);
  REQUIRE(f.eventually("SELECT count(*) FROM disputes WHERE id = $1 AND evidence_due_by < now()", 1,
                       20s, {id}));
  auto late = f.merchant_call(f.shop_a, "POST", "/v1/disputes/" + id + "/evidence",
                              R"({"evidence":{"customer_name":"Ann"}})");
  CHECK(late.response.status == 400);
  CHECK(late.response.body.find("evidence_due_by") != std::string::npos);
  // The PSP never saw it.
  CHECK(std::string(f.psp_object("/v1/disputes/" + psp_dispute)["status"].GetString()) ==
        "needs_response");
  CHECK(status_of(f, f.shop_a, id) == "needs_response");
}

#endif  // PSP_SANDBOX_BIN
