// The engine with Adyen as a second PSP, over real HTTP, against real
// PostgreSQL and the psp-sandbox binary speaking both Stripe's and Adyen's
// wire formats: intents name their PSP, an Adyen session is paid through the
// sandbox's client endpoint, Adyen's signed notification batches reach
// POST /v1/webhooks/adyen, asynchronous captures answer 202 capture_pending
// and are booked only when Adyen confirms them, and a Stripe-format intent
// lives beside an Adyen one.

#include <catch2/catch.hpp>

#ifdef PSP_SANDBOX_BIN

#include <chrono>
#include <string>

#include <rapidjson/document.h>

#include "core/reconciliation.hpp"
#include "net/json.hpp"
#include "psp/adyen/adyen_webhooks.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

const std::string stripe_secret = "whsec_adyen_engine_test_secret";
const std::string admin_token = "adm_adyen_engine_test_token_0123456789abcdef";

using test::str;

struct adyen_fixture : test::merchant_engine {
  explicit adyen_fixture(std::string modification_delay_ms = "30")
      : merchant_engine("adyen", stripe_secret,
                        {{"SANDBOX_ADYEN_WEBHOOK_URL", "/v1/webhooks/adyen"}},
                        {"--adyen-modification-delay-ms", modification_delay_ms}) {
    start_engine(test::adyen_engine_env(sandbox, port,
                                        {
                                            {"PAYMENTS_WEBHOOK_SECRET", stripe_secret},
                                            {"PAYMENTS_ADMIN_TOKEN", admin_token},
                                        }));
  }

  /// Pays the intent's Adyen session as the card component would, with a
  /// test card; answers Adyen's resultCode.
  std::string pay(const rapidjson::Document& pi, const std::string& holder = "Jo Shopper") {
    auto secret = test::parse_json(str(pi, "client_secret"));
    auto body =
        "{\"sessionData\":" + net::json_quote(str(secret, "sessionData")) +
        R"(,"paymentMethod":{"type":"scheme","encryptedCardNumber":"test_4111111145551142",)"
        R"("encryptedExpiryMonth":"test_03","encryptedExpiryYear":"test_2030",)"
        R"("encryptedSecurityCode":"test_737","holderName":)" +
        net::json_quote(holder) + "}}";
    auto r = test::http("POST",
                        sandbox.base_url() + "/adyen/checkoutshopper/v1/sessions/" +
                            str(secret, "id") + "/payments?clientKey=" + sandbox.adyen_client_key(),
                        body, {}, "application/json");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return str(test::parse_json(r.response.body), "resultCode");
  }

  /// POSTs one notification item to the engine as Adyen would: in a batch,
  /// signed with the account's HMAC key. Answers the HTTP status.
  int notify(const std::string& event_code, const std::string& success,
             const std::string& psp_reference, const std::string& original_reference,
             const std::string& merchant_reference, std::int64_t value) {
    psp::adyen_signed_fields fields{psp_reference,
                                    original_reference,
                                    sandbox.adyen_merchant_account(),
                                    merchant_reference,
                                    value,
                                    "EUR",
                                    event_code,
                                    success};
    auto signature =
        psp::adyen_hmac_signature(sandbox.adyen_hmac_key(), psp::adyen_signing_string(fields));
    auto item =
        "{\"eventCode\":" + net::json_quote(event_code) +
        ",\"success\":" + net::json_quote(success) +
        ",\"pspReference\":" + net::json_quote(psp_reference) +
        ",\"originalReference\":" + net::json_quote(original_reference) +
        ",\"merchantAccountCode\":" + net::json_quote(sandbox.adyen_merchant_account()) +
        ",\"merchantReference\":" + net::json_quote(merchant_reference) +
        ",\"amount\":{\"value\":" + std::to_string(value) +
        ",\"currency\":\"EUR\"},\"eventDate\":\"2026-12-06T12:00:00+00:00\",\"reason\":" +
        net::json_quote(success == "true" ? "" : "Insufficient balance on merchant account") +
        ",\"additionalData\":{\"hmacSignature\":" + net::json_quote(signature) + "}}";
    auto r = test::http(
        "POST", engine->base_url() + "/v1/webhooks/adyen",
        "{\"live\":\"false\",\"notificationItems\":[{\"NotificationRequestItem\":" + item + "}]}",
        {}, "application/json");
    INFO(r.response.body);
    return r.response.status;
  }
};

}  // namespace

TEST_CASE(
    "An Adyen intent beside a Stripe-format one: paid through Adyen's session, captured with 202 "
    "capture_pending, booked only on Adyen's CAPTURE notification, then refunded") {
  adyen_fixture f{"600"};
  auto other = f.create(R"({"amount":1500,"currency":"eur"})");
  CHECK(str(other, "psp") == "sandbox");
  auto pi = f.create(R"({"amount":2500,"currency":"eur","capture_method":"manual","psp":"adyen"})");
  auto id = str(pi, "id");
  CHECK(str(pi, "psp") == "adyen");
  CHECK(str(pi, "status") == "created");

  REQUIRE(f.pay(pi) == "Authorised");
  REQUIRE(f.status_becomes(id, "authorized"));
  CHECK(f.journals(id, "authorization") == 1);
  auto authorized = f.get("/v1/payment_intents/" + id);
  CHECK(authorized["amount_capturable"].GetInt64() == 2500);
  // Adyen's payment pspReference replaced the session id.
  CHECK(str(authorized, "psp_reference").rfind("CS", 0) != 0);

  auto capture = f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":2000})",
                        "capture-1");
  INFO(capture.response.body);
  REQUIRE(capture.response.status == 202);
  CHECK(str(test::parse_json(capture.response.body), "status") == "capture_pending");
  CHECK(f.journals(id, "capture") == 0);
  // Adyen has not confirmed yet: another capture or a cancel is refused.
  auto again = f.post("/v1/payment_intents/" + id + "/capture", "{}", "capture-2");
  CHECK(again.response.status == 400);
  CHECK(again.response.body.find("invalid_state") != std::string::npos);
  auto cancel = f.post("/v1/payment_intents/" + id + "/cancel", "{}", "cancel-1");
  CHECK(cancel.response.status == 400);
  // The retry of the capture answers what it answered.
  auto retried = f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":2000})",
                        "capture-1");
  CHECK(retried.response.status == 202);

  REQUIRE(f.status_becomes(id, "captured"));
  auto captured = f.get("/v1/payment_intents/" + id);
  CHECK(captured["amount_received"].GetInt64() == 2000);
  CHECK(captured["amount_capturable"].GetInt64() == 0);
  CHECK(f.journals(id, "capture") == 1);

  auto refund = f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":700})", "re-1");
  INFO(refund.response.body);
  REQUIRE(refund.response.status == 200);
  auto refund_id = str(test::parse_json(refund.response.body), "id");
  CHECK(f.db.eventually("SELECT count(*) FROM refunds WHERE id = $1 AND status = 'succeeded'", 1,
                        20s, {refund_id}));
  CHECK(f.status_becomes(id, "partially_refunded"));
  CHECK(f.journals(id, "refund") == 1);

  // The audit log holds every step, in order, each a new version.
  auto events = f.get("/v1/payment_intents/" + id + "/events");
  std::string actions;
  for (const auto& e : events["data"].GetArray()) actions += str(e, "action") + " ";
  CHECK(actions.find("capture_requested") != std::string::npos);
  CHECK(actions.find("capture ") != std::string::npos);
  CHECK(f.books_balance());
}

TEST_CASE("An automatic-capture Adyen intent is captured with its authorisation") {
  adyen_fixture f;
  auto pi = f.create(R"({"amount":1999,"currency":"jpy","psp":"adyen"})");
  auto id = str(pi, "id");
  REQUIRE(f.pay(pi) == "Authorised");
  REQUIRE(f.status_becomes(id, "captured"));
  auto captured = f.get("/v1/payment_intents/" + id);
  CHECK(captured["amount_received"].GetInt64() == 1999);
  // Walked authorized, then captured, in one write: booked as one capture.
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND to_status IN "
                   "('authorized', 'captured')",
                   {id}) == 2);
  CHECK(f.journals(id, "capture") == 1);
  CHECK(f.books_balance());
}

TEST_CASE(
    "A refused Adyen payment leaves the intent payable with last_payment_error, and the next card "
    "pays it") {
  adyen_fixture f;
  auto pi = f.create(R"({"amount":1200,"currency":"eur","capture_method":"manual","psp":"adyen"})");
  auto id = str(pi, "id");
  CHECK(f.pay(pi, "DECLINED") == "Refused");
  CHECK(f.db.eventually(
      "SELECT count(*) FROM payment_intents WHERE id = $1 AND status = 'created' AND "
      "last_payment_error IS NOT NULL",
      1, 20s, {id}));
  REQUIRE(f.pay(pi) == "Authorised");
  CHECK(f.status_becomes(id, "authorized"));
  // The decline and the authorisation each left an audit row.
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                   "'payment_failed'",
                   {id}) == 1);
}

TEST_CASE("A create or link naming no configured PSP is refused before any PSP call") {
  adyen_fixture f;
  auto r = f.post("/v1/payment_intents", R"({"amount":100,"currency":"eur","psp":"paypal"})");
  CHECK(r.response.status == 400);
  CHECK(r.response.body.find("\"param\":\"psp\"") != std::string::npos);
  auto link = f.post("/v1/payment_links", R"({"amount":100,"currency":"eur","psp":"nope"})");
  CHECK(link.response.status == 400);
  auto ok = f.post("/v1/payment_links", R"({"amount":100,"currency":"eur","psp":"adyen"})");
  INFO(ok.response.body);
  REQUIRE(ok.response.status == 200);
  CHECK(str(test::parse_json(ok.response.body), "psp") == "adyen");
  CHECK(f.db.count("SELECT count(*) FROM payment_intents") == 0);
}

TEST_CASE("A tampered Adyen notification batch is refused and nothing of it is stored") {
  adyen_fixture f;
  auto pi = f.create(R"({"amount":1000,"currency":"eur","capture_method":"manual","psp":"adyen"})");
  REQUIRE(f.pay(pi) == "Authorised");
  REQUIRE(f.status_becomes(str(pi, "id"), "authorized"));
  auto stored = f.db.count("SELECT count(*) FROM webhook_inbox WHERE psp = 'adyen'");
  auto r = test::http("GET", f.sandbox.base_url() + "/adyen/_sandbox/notifications", {},
                      {{"X-API-Key", f.sandbox.adyen_api_key()}});
  REQUIRE(r.response.status == 200);
  auto items = test::parse_json(r.response.body);
  REQUIRE(items["items"].Size() >= 1);
  // A second, good item and a copy of the first with a changed amount.
  std::string good = net::canonical_json(items["items"][0]);
  std::string bad = good;
  auto at = bad.find("\"value\":1000");
  REQUIRE(at != std::string::npos);
  bad.replace(at, 12, "\"value\":9000");
  auto body = "{\"live\":\"false\",\"notificationItems\":[{\"NotificationRequestItem\":" + good +
              "},{\"NotificationRequestItem\":" + bad + "}]}";
  auto refused =
      test::http("POST", f.engine->base_url() + "/v1/webhooks/adyen", body, {}, "application/json");
  CHECK(refused.response.status == 400);
  CHECK(f.db.count("SELECT count(*) FROM webhook_inbox WHERE psp = 'adyen'") == stored);
  // The untampered batch is accepted the way Adyen expects.
  auto accepted = test::http("POST", f.engine->base_url() + "/v1/webhooks/adyen",
                             "{\"live\":\"false\",\"notificationItems\":[{"
                             "\"NotificationRequestItem\":" +
                                 good + "}]}",
                             {}, "application/json");
  CHECK(accepted.response.status == 200);
  CHECK(accepted.response.body == "[accepted]");
}

TEST_CASE(
    "An Adyen settlement report books its payout from the REPORT_AVAILABLE notification, and the "
    "day reconciles with zero differences") {
  adyen_fixture f;
  auto pi = f.create(R"({"amount":4000,"currency":"eur","psp":"adyen"})");
  auto id = str(pi, "id");
  REQUIRE(f.pay(pi) == "Authorised");
  REQUIRE(f.status_becomes(id, "captured"));
  auto refund = f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":1000})", "re");
  REQUIRE(refund.response.status == 200);
  auto refund_id = str(test::parse_json(refund.response.body), "id");
  REQUIRE(f.db.eventually("SELECT count(*) FROM refunds WHERE id = $1 AND status = 'succeeded'", 1,
                          20s, {refund_id}));

  auto settle = test::http("POST", f.sandbox.base_url() + "/adyen/_sandbox/settle", "{}",
                           {{"X-API-Key", f.sandbox.adyen_api_key()}}, "application/json");
  INFO(settle.response.body);
  REQUIRE(settle.response.status == 200);
  REQUIRE(f.db.eventually("SELECT count(*) FROM settlement_payouts WHERE psp = 'adyen'", 1, 20s));
  CHECK(f.db.count("SELECT count(*) FROM settlement_items WHERE psp = 'adyen' AND matched AND "
                   "intent_id = $1",
                   {id}) == 2);
  CHECK(f.db.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'") == 1);
  CHECK(f.books_balance());
  // The report event is processed once.
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE psp = 'adyen' AND event_type LIKE "
                      "'REPORT_AVAILABLE%' AND processed_at IS NOT NULL",
                      1, 20s));

  auto today = core::utc_day_of(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  auto run = test::http("POST", f.engine->base_url() + "/v1/admin/reconciliation/runs",
                        R"({"date":")" + today + R"(","psp":"adyen"})",
                        {{"Authorization", "Bearer " + admin_token}}, "application/json");
  INFO(run.response.body);
  REQUIRE(run.response.status == 200);
  auto doc = test::parse_json(run.response.body);
  CHECK(doc["differences_count"].GetInt64() == 0);
  CHECK(doc["psp_records"].GetInt64() >= 3);
}

TEST_CASE(
    "A cancel Adyen confirms later answers 202 cancel_pending, and the CANCELLATION releases the "
    "hold") {
  adyen_fixture f{"600"};
  auto pi = f.create(R"({"amount":3000,"currency":"eur","capture_method":"manual","psp":"adyen"})");
  auto id = str(pi, "id");
  REQUIRE(f.pay(pi) == "Authorised");
  REQUIRE(f.status_becomes(id, "authorized"));
  auto cancel = f.post("/v1/payment_intents/" + id + "/cancel", "{}", "cancel-1");
  INFO(cancel.response.body);
  REQUIRE(cancel.response.status == 202);
  CHECK(str(test::parse_json(cancel.response.body), "status") == "cancel_pending");
  CHECK(f.journals(id, "hold_release") == 0);
  REQUIRE(f.status_becomes(id, "canceled"));
  CHECK(f.journals(id, "hold_release") == 1);
  CHECK(f.books_balance());
}

TEST_CASE(
    "A pending capture goes back to authorized only on Adyen's refusal, and a late "
    "AUTHORISATION is older news") {
  // Adyen's own CAPTURE comes long after this test is done.
  adyen_fixture f{"60000"};
  auto pi = f.create(R"({"amount":2200,"currency":"eur","capture_method":"manual","psp":"adyen"})");
  auto id = str(pi, "id");
  REQUIRE(f.pay(pi) == "Authorised");
  REQUIRE(f.status_becomes(id, "authorized"));
  auto payment = str(f.get("/v1/payment_intents/" + id), "psp_reference");
  auto capture = f.post("/v1/payment_intents/" + id + "/capture", "{}", "capture-1");
  REQUIRE(capture.response.status == 202);

  // An authorisation news arriving now (another attempt's, delivered late)
  // would walk capture_pending back to authorized: it is older news, ignored.
  REQUIRE(f.notify("AUTHORISATION", "true", "LATEAUTH00000001", "", id, 2200) == 200);
  CHECK(f.db.eventually(
      "SELECT count(*) FROM webhook_inbox WHERE psp = 'adyen' AND event_id = $1 AND "
      "outcome = 'ignored_stale'",
      1, 20s, {std::string("AUTHORISATION:LATEAUTH00000001:true")}));
  CHECK(str(f.get("/v1/payment_intents/" + id), "status") == "capture_pending");

  REQUIRE(f.notify("CAPTURE", "false", "CAPTUREREF000001", payment, id, 2200) == 200);
  REQUIRE(f.status_becomes(id, "authorized"));
  auto back = f.get("/v1/payment_intents/" + id);
  CHECK(back["amount_capturable"].GetInt64() == 2200);
  CHECK(back["amount_received"].GetInt64() == 0);
  CHECK(back["last_payment_error"].IsObject());
  CHECK(f.journals(id, "capture") == 0);
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                   "'capture_failed'",
                   {id}) == 1);
  // The merchant may capture again: the engine admits it and asks Adyen
  // (whose sandbox, which never refused, answers that it is captured already).
  auto again = f.post("/v1/payment_intents/" + id + "/capture", "{}", "capture-2");
  CHECK(again.response.body.find("invalid_state") == std::string::npos);
  CHECK(again.response.body.find("The PSP refused the request") != std::string::npos);
}

TEST_CASE("A merchant's default PSP, set with paymentsctl, takes creates that name none") {
  adyen_fixture f;
  test::child_process ctl(
      PAYMENTSCTL_BIN, {"merchant", "ensure", "--name", "adyen", "--default-psp", "adyen"},
      {{"PAYMENTS_DATABASE_URL", f.db.url()}, {"PAYMENTS_API_KEY", f.merchant.api_key}});
  REQUIRE(ctl.wait(30s) == 0);
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE merchant_id = $1 AND action = "
                   "'merchant_default_psp'",
                   {f.merchant.id}) == 1);
  // The engine reads the default with the merchant's key on each request.
  auto pi = f.create(R"({"amount":900,"currency":"eur"})");
  CHECK(str(pi, "psp") == "adyen");
  // A request that names a PSP wins.
  auto other = f.create(R"({"amount":900,"currency":"eur","psp":"sandbox"})");
  CHECK(str(other, "psp") == "sandbox");
}

#endif

TEST_CASE(
    "An Adyen refund booked when Adyen accepted it and confirmed, then REFUND_FAILED, is "
    "reversed") {
  adyen_fixture f;
  auto pi = f.create(R"({"amount":3000,"currency":"eur","psp":"adyen"})");
  auto id = str(pi, "id");
  // The sandbox fails this holder's refunds after confirming them.
  REQUIRE(f.pay(pi, "refund failed") == "Authorised");
  REQUIRE(f.status_becomes(id, "captured"));

  auto refund =
      f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":3000})", "re-1");
  INFO(refund.response.body);
  REQUIRE(refund.response.status == 200);
  auto refund_id = str(test::parse_json(refund.response.body), "id");
  // Booked at acceptance (pending), then Adyen's REFUND true, then REFUND_FAILED.
  CHECK(f.journals(id, "refund") == 1);
  CHECK(f.db.eventually("SELECT count(*) FROM refunds WHERE id = $1 AND status = 'failed'", 1, 20s,
                        {refund_id}));
  REQUIRE(f.status_becomes(id, "captured"));
  auto after = f.get("/v1/payment_intents/" + id);
  CHECK(after["amount_refunded"].GetInt64() == 0);
  CHECK(f.db.count("SELECT count(*) FROM ledger_transactions r JOIN ledger_transactions o ON o.id "
                   "= r.reverses WHERE o.refund_id = $1",
                   {refund_id}) == 1);
  CHECK(f.db.count("SELECT coalesce(sum(e.debit - e.credit), 0)::bigint FROM ledger_entries e JOIN "
                   "ledger_accounts a ON a.id = e.account_id WHERE a.key = $1",
                   {"refunds:" + f.merchant.id}) == 0);
  CHECK(f.books_balance());
  // The money can be refunded again.
  auto again = f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":1000})", "re-2");
  CHECK(again.response.status == 200);
}

TEST_CASE(
    "A confirmed Adyen capture that fails afterwards (CAPTURE_FAILED) is reversed: authorized "
    "again, its booking mirrored, the hold back, the merchant told") {
  adyen_fixture f;
  auto pi = f.create(R"({"amount":3000,"currency":"eur","capture_method":"manual","psp":"adyen"})");
  auto id = str(pi, "id");
  // The sandbox fails this holder's captures after confirming them.
  REQUIRE(f.pay(pi, "capture failed") == "Authorised");
  REQUIRE(f.status_becomes(id, "authorized"));
  auto capture = f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":2000})",
                        "capture-1");
  INFO(capture.response.body);
  REQUIRE(capture.response.status == 202);
  // CAPTURE true books the capture; CAPTURE_FAILED reverses it.
  REQUIRE(
      f.db.eventually("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                      "'capture_reversed'",
                      1, 20s, {id}));
  REQUIRE(f.status_becomes(id, "authorized"));
  auto after = f.get("/v1/payment_intents/" + id);
  CHECK(after["amount_received"].GetInt64() == 0);
  CHECK(after["amount_capturable"].GetInt64() == 3000);
  CHECK(f.journals(id, "capture") == 1);
  CHECK(f.db.count("SELECT count(*) FROM ledger_transactions r JOIN ledger_transactions o ON o.id "
                   "= r.reverses WHERE o.intent_id = $1 AND o.kind = 'capture'",
                   {id}) == 1);
  auto balance = [&](const std::string& key) {
    return f.db.count(
        "SELECT coalesce(sum(e.debit - e.credit), 0)::bigint FROM ledger_entries e JOIN "
        "ledger_accounts a ON a.id = e.account_id JOIN ledger_transactions t ON t.id = "
        "e.transaction_id WHERE a.key = $1 AND t.intent_id = $2",
        {key, id});
  };
  CHECK(balance("merchant_revenue:" + f.merchant.id) == 0);
  CHECK(balance("psp_receivable:adyen") == 0);
  CHECK(balance("auth_holds:" + f.merchant.id) == 3000);
  CHECK(f.books_balance());
  CHECK(f.db.count("SELECT count(*) FROM outbound_events WHERE object_id = $1 AND type = "
                   "'payment_intent.capture_failed'",
                   {id}) == 1);
  // Another CAPTURE_FAILED for it changes nothing: the capture is reversed once.
  CHECK(f.notify("CAPTURE_FAILED", "true", "CAPREFAGAIN00001", str(after, "psp_reference"), id,
                 2000) == 200);
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE event_id LIKE "
                      "'CAPTURE_FAILED:CAPREFAGAIN00001%' AND processed_at IS NOT NULL",
                      1, 20s));
  CHECK(f.db.count("SELECT count(*) FROM ledger_transactions WHERE intent_id = $1 AND reverses IS "
                   "NOT NULL",
                   {id}) == 1);
  CHECK(f.get("/v1/payment_intents/" + id)["amount_capturable"].GetInt64() == 3000);
}

TEST_CASE(
    "An automatic Adyen capture that fails afterwards leaves the intent authorized with its hold "
    "booked") {
  adyen_fixture f;
  auto pi = f.create(R"({"amount":1800,"currency":"eur","psp":"adyen"})");
  auto id = str(pi, "id");
  REQUIRE(f.pay(pi, "capture failed") == "Authorised");
  REQUIRE(
      f.db.eventually("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                      "'capture_reversed'",
                      1, 20s, {id}));
  REQUIRE(f.status_becomes(id, "authorized"));
  auto after = f.get("/v1/payment_intents/" + id);
  CHECK(after["amount_received"].GetInt64() == 0);
  CHECK(after["amount_capturable"].GetInt64() == 1800);
  // The automatic capture booked no hold; the reversal books one.
  CHECK(f.db.count("SELECT coalesce(sum(e.debit - e.credit), 0)::bigint FROM ledger_entries e JOIN "
                   "ledger_accounts a ON a.id = e.account_id JOIN ledger_transactions t ON t.id = "
                   "e.transaction_id WHERE a.key = $1 AND t.intent_id = $2",
                   {"auth_holds:" + f.merchant.id, id}) == 1800);
  CHECK(f.books_balance());
}

TEST_CASE("Adyen chargeback notifications open, reverse and finally lose a dispute, booked once") {
  adyen_fixture f;
  auto pi = f.create(R"({"amount":2500,"currency":"eur","psp":"adyen"})");
  auto id = str(pi, "id");
  REQUIRE(f.pay(pi) == "Authorised");
  REQUIRE(f.status_becomes(id, "captured"));
  // The payment's pspReference, from the AUTHORISATION the sandbox sent.
  std::string psp_reference;
  auto sent = test::http("GET", f.sandbox.base_url() + "/adyen/_sandbox/notifications", {},
                         {{"X-API-Key", f.sandbox.adyen_api_key()}});
  REQUIRE(sent.response.status == 200);
  auto items = test::parse_json(sent.response.body);
  for (const auto& item : items["items"].GetArray())
    if (str(item, "eventCode") == "AUTHORISATION" && str(item, "merchantReference") == id)
      psp_reference = str(item, "pspReference");
  REQUIRE_FALSE(psp_reference.empty());
  auto chargeback = [&](const std::string& code) {
    auto r = test::http(
        "POST", f.sandbox.base_url() + "/adyen/_sandbox/chargeback",
        R"({"payment":)" + net::json_quote(psp_reference) + R"(,"code":")" + code + R"("})",
        {{"X-API-Key", f.sandbox.adyen_api_key()}}, "application/json");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
  };
  auto balance = [&](const std::string& key) {
    return f.db.count(
        "SELECT coalesce(sum(e.debit - e.credit), 0)::bigint FROM ledger_entries e JOIN "
        "ledger_accounts a ON a.id = e.account_id WHERE a.key = $1 AND a.currency = 'eur'",
        {key});
  };
  auto mch = f.merchant.id;

  // Opened: no money yet.
  chargeback("NOTIFICATION_OF_CHARGEBACK");
  REQUIRE(f.db.eventually(
      "SELECT count(*) FROM disputes WHERE intent_id = $1 AND status = 'needs_response'", 1, 20s,
      {id}));
  CHECK(balance("disputes:" + mch) == 0);
  // The chargeback takes the money.
  chargeback("CHARGEBACK");
  REQUIRE(f.db.eventually("SELECT count(*) FROM disputes WHERE intent_id = $1 AND funds_withdrawn",
                          1, 20s, {id}));
  CHECK(balance("disputes:" + mch) == 2500);
  auto list = f.get("/v1/disputes?payment_intent=" + id);
  REQUIRE(list["data"].Size() == 1);
  CHECK(str(list["data"][0], "psp") == "adyen");
  CHECK(list["data"][0]["evidence_due_by"].IsInt64());
  // Adyen takes evidence in its Customer Area, not by this API.
  auto evidence = f.post("/v1/disputes/" + str(list["data"][0], "id") + "/evidence",
                         R"({"evidence":{"customer_name":"Jo"}})");
  CHECK(evidence.response.status == 400);
  // Reversed: won, the money is back.
  chargeback("CHARGEBACK_REVERSED");
  REQUIRE(f.db.eventually("SELECT count(*) FROM disputes WHERE intent_id = $1 AND status = 'won'",
                          1, 20s, {id}));
  REQUIRE(f.db.eventually("SELECT count(*) FROM disputes WHERE intent_id = $1 AND funds_reinstated",
                          1, 20s, {id}));
  CHECK(balance("disputes:" + mch) == 0);
  // A second chargeback: lost for good, the money gone and realised as a loss.
  chargeback("SECOND_CHARGEBACK");
  REQUIRE(f.db.eventually("SELECT count(*) FROM disputes WHERE intent_id = $1 AND status = 'lost'",
                          1, 20s, {id}));
  CHECK(balance("disputes:" + mch) == 0);
  CHECK(balance("dispute_losses:" + mch) == 2500);
  CHECK(f.db.count("SELECT count(*) FROM dispute_movements") == 3);
  CHECK(f.books_balance());
}
