// The engine with PayPal as a PSP (issue 15), over real HTTP, against real
// PostgreSQL and the psp-sandbox binary speaking Stripe's and PayPal's wire
// formats: an intent created with "psp":"paypal" is an order; the buyer
// approves it at the sandbox; the sandbox's RSA-signed CHECKOUT.ORDER.APPROVED
// reaches POST /v1/webhooks/paypal and the engine confirms the order
// (authorize for manual capture, capture for automatic) once, with one PSP
// key per intent; captures, refunds and a denied capture are booked as for
// the other PSPs; withdrawals read from Transaction Search are settled and
// the day reconciles with zero differences.

#include <catch2/catch.hpp>

#ifdef PSP_SANDBOX_BIN

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <rapidjson/document.h>

#include "core/reconciliation.hpp"
#include "core/standard_webhooks.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

const std::string stripe_secret = "whsec_paypal_engine_test_secret";
const std::string admin_token = "adm_paypal_engine_test_token_0123456789abcdef";

using test::str;

struct paypal_fixture : test::merchant_engine {
  explicit paypal_fixture(std::map<std::string, std::string> engine_env = {})
      : merchant_engine("paypal", stripe_secret,
                        {{"SANDBOX_PAYPAL_WEBHOOK_URL", "/v1/webhooks/paypal"}}) {
    start_engine(test::paypal_engine_env(sandbox, port,
                                         {
                                             {"PAYMENTS_WEBHOOK_SECRET", stripe_secret},
                                             {"PAYMENTS_ADMIN_TOKEN", admin_token},
                                             {"PAYMENTS_PAYPAL_PAYOUT_POLL_S", "1"},
                                         }));
    if (!engine_env.empty()) restart(engine_env);
  }

  /// Starts the engine again on the same port (the sandbox's webhooks go
  /// there), with `env` added.
  void restart(const std::map<std::string, std::string>& env = {}) {
    std::map<std::string, std::string> all{{"PAYMENTS_WEBHOOK_SECRET", stripe_secret},
                                           {"PAYMENTS_ADMIN_TOKEN", admin_token}};
    for (const auto& [k, v] : env) all[k] = v;
    start_engine(test::paypal_engine_env(sandbox, port, all));
  }

  net::header basic() const {
    return {"Authorization", "Basic " + core::base64_encode(sandbox.paypal_client_id() + ":" +
                                                            sandbox.paypal_client_secret())};
  }

  /// The buyer approves the intent's order at the sandbox, paying with
  /// `funding` (balance, deny_capture, pending_capture).
  void approve(const rapidjson::Document& pi, const std::string& funding = "balance") {
    auto order = str(pi, "psp_reference");
    auto r =
        test::http("POST", sandbox.paypal_base_url() + "/_sandbox/orders/" + order + "/approve",
                   R"({"funding":")" + funding + R"("})", {basic()}, "application/json");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
  }

  /// Sets the sandbox's PayPal mode faults (JSON knobs, e.g. error_percent).
  void paypal_faults(const std::string& knobs) {
    auto r = test::http("POST", sandbox.base_url() + "/_sandbox/faults",
                        R"({"psp":"paypal",)" + knobs.substr(1),
                        {{"Authorization", "Bearer " + sandbox.secret_key()}}, "application/json");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
  }

  /// The order as the sandbox holds it.
  rapidjson::Document order(const std::string& id) {
    auto token =
        test::http("POST", sandbox.paypal_base_url() + "/v1/oauth2/token",
                   "grant_type=client_credentials", {basic()}, "application/x-www-form-urlencoded");
    REQUIRE(token.response.status == 200);
    auto access = str(test::parse_json(token.response.body), "access_token");
    auto r = test::http("GET", sandbox.paypal_base_url() + "/v2/checkout/orders/" + id, {},
                        {{"Authorization", "Bearer " + access}});
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }
};

std::size_t array_size(const rapidjson::Value& order, const char* list) {
  const auto& units = order["purchase_units"];
  if (!units.IsArray() || units.Empty()) return 0;
  const auto& unit = units[0];
  if (!unit.HasMember("payments") || !unit["payments"].HasMember(list)) return 0;
  return unit["payments"][list].Size();
}

}  // namespace

TEST_CASE(
    "A PayPal intent: the buyer approves, the engine authorizes the order from "
    "CHECKOUT.ORDER.APPROVED, then it is captured and partly refunded, booked like any PSP's") {
  paypal_fixture f;
  auto pi =
      f.create(R"({"amount":2500,"currency":"eur","capture_method":"manual","psp":"paypal"})");
  auto id = str(pi, "id");
  CHECK(str(pi, "psp") == "paypal");
  CHECK(str(pi, "status") == "created");
  // The approve link is the client secret: the checkout page sends the buyer there.
  CHECK(str(pi, "client_secret").find("/paypal/checkoutnow?token=") != std::string::npos);

  f.approve(pi);
  REQUIRE(f.status_becomes(id, "authorized"));
  CHECK(f.journals(id, "authorization") == 1);
  auto authorized = f.get("/v1/payment_intents/" + id);
  CHECK(authorized["amount_capturable"].GetInt64() == 2500);
  // The confirmation is a normal transition with its audit row, caused by the event.
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND to_status = "
                   "'authorized' AND cause LIKE '%CHECKOUT.ORDER.APPROVED%engine confirmed%'",
                   {id}) == 1);
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE psp = 'paypal' AND event_type = "
                      "'CHECKOUT.ORDER.APPROVED' AND processed_at IS NOT NULL",
                      1, 20s));

  auto capture = f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":2000})",
                        "capture-1");
  INFO(capture.response.body);
  REQUIRE(capture.response.status == 200);
  CHECK(str(test::parse_json(capture.response.body), "status") == "captured");
  CHECK(f.journals(id, "capture") == 1);

  auto refund = f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":700})", "re-1");
  INFO(refund.response.body);
  REQUIRE(refund.response.status == 200);
  CHECK(f.status_becomes(id, "partially_refunded"));
  CHECK(f.journals(id, "refund") == 1);
  // PayPal's later events (capture completed, refunded) book nothing twice.
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE psp = 'paypal' AND event_type = "
                      "'PAYMENT.CAPTURE.REFUNDED' AND processed_at IS NOT NULL",
                      1, 20s));
  std::this_thread::sleep_for(300ms);
  CHECK(f.journals(id, "capture") == 1);
  CHECK(f.journals(id, "refund") == 1);
  CHECK(f.db.count("SELECT count(*) FROM refunds WHERE intent_id = $1", {id}) == 1);
  CHECK(f.books_balance());
}

TEST_CASE(
    "An automatic-capture PayPal intent is captured once, whether the status read or the event "
    "confirms it first") {
  paypal_fixture f;
  auto pi = f.create(R"({"amount":1999,"currency":"jpy","psp":"paypal"})");
  auto id = str(pi, "id");
  f.approve(pi);
  // Reads race the webhook: each may confirm, with the same PSP key.
  for (int i = 0; i < 5; ++i) f.get("/v1/payment_intents/" + id);
  REQUIRE(f.status_becomes(id, "captured"));
  auto captured = f.get("/v1/payment_intents/" + id);
  CHECK(captured["amount_received"].GetInt64() == 1999);
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE psp = 'paypal' AND event_type = "
                      "'PAYMENT.CAPTURE.COMPLETED' AND processed_at IS NOT NULL",
                      1, 20s));
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE psp = 'paypal' AND event_type = "
                      "'CHECKOUT.ORDER.APPROVED' AND processed_at IS NOT NULL",
                      1, 20s));
  auto order = f.order(str(captured, "psp_reference"));
  CHECK(array_size(order, "captures") == 1);
  CHECK(f.journals(id, "capture") == 1);
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND to_status = "
                   "'captured'",
                   {id}) == 1);
  CHECK(f.books_balance());
}

TEST_CASE(
    "A PayPal capture denied at confirmation leaves the intent created with last_payment_error and "
    "books nothing") {
  paypal_fixture f;
  auto pi = f.create(R"({"amount":1200,"currency":"eur","psp":"paypal"})");
  auto id = str(pi, "id");
  f.approve(pi, "deny_capture");
  REQUIRE(f.db.eventually(
      "SELECT count(*) FROM payment_intents WHERE id = $1 AND status = 'created' AND "
      "last_payment_error IS NOT NULL",
      1, 20s, {id}));
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                   "'payment_failed'",
                   {id}) >= 1);
  CHECK(f.db.count("SELECT count(*) FROM ledger_transactions WHERE intent_id = $1", {id}) == 0);
  // Read again, the declined order is not confirmed a second time.
  f.get("/v1/payment_intents/" + id);
  auto order = f.order(str(pi, "psp_reference"));
  CHECK(array_size(order, "captures") == 1);
  CHECK(f.books_balance());
}

TEST_CASE(
    "A PayPal intent canceled before the buyer approves is canceled without money moving, and an "
    "approval after it is not confirmed") {
  paypal_fixture f;
  auto pi = f.create(R"({"amount":900,"currency":"usd","psp":"paypal"})");
  auto id = str(pi, "id");
  auto cancel = f.post("/v1/payment_intents/" + id + "/cancel", "{}", "cancel-1");
  INFO(cancel.response.body);
  REQUIRE(cancel.response.status == 200);
  CHECK(str(test::parse_json(cancel.response.body), "status") == "canceled");
  f.approve(pi);
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE psp = 'paypal' AND event_type = "
                      "'CHECKOUT.ORDER.APPROVED' AND processed_at IS NOT NULL",
                      1, 20s));
  auto order = f.order(str(pi, "psp_reference"));
  CHECK(str(order, "status") == "APPROVED");
  CHECK(f.status_becomes(id, "canceled"));
  CHECK(f.db.count("SELECT count(*) FROM ledger_transactions WHERE intent_id = $1", {id}) == 0);
}

TEST_CASE(
    "PayPal withdrawals read from Transaction Search are settled, and the day reconciles with "
    "zero differences") {
  paypal_fixture f;
  auto pi = f.create(R"({"amount":4000,"currency":"eur","psp":"paypal"})");
  auto id = str(pi, "id");
  f.approve(pi);
  REQUIRE(f.status_becomes(id, "captured"));
  auto refund = f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":1000})", "re");
  INFO(refund.response.body);
  REQUIRE(refund.response.status == 200);
  REQUIRE(f.status_becomes(id, "partially_refunded"));

  auto settle = test::http("POST", f.sandbox.paypal_base_url() + "/_sandbox/settle", "{}",
                           {f.basic()}, "application/json");
  INFO(settle.response.body);
  REQUIRE(settle.response.status == 200);
  REQUIRE(f.db.eventually("SELECT count(*) FROM settlement_payouts WHERE psp = 'paypal'", 1, 20s));
  CHECK(f.db.count("SELECT count(*) FROM settlement_items WHERE psp = 'paypal' AND matched AND "
                   "intent_id = $1",
                   {id}) == 2);
  CHECK(f.db.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'") == 1);
  CHECK(f.books_balance());

  auto today = core::utc_day_of(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  auto run = test::http("POST", f.engine->base_url() + "/v1/admin/reconciliation/runs",
                        R"({"date":")" + today + R"(","psp":"paypal"})",
                        {{"Authorization", "Bearer " + admin_token}}, "application/json");
  INFO(run.response.body);
  REQUIRE(run.response.status == 200);
  auto doc = test::parse_json(run.response.body);
  CHECK(doc["differences_count"].GetInt64() == 0);
  CHECK(doc["psp_records"].GetInt64() >= 3);
  // The payout is booked once, however often the PSP's list is read.
  std::this_thread::sleep_for(1500ms);
  CHECK(f.db.count("SELECT count(*) FROM settlement_payouts WHERE psp = 'paypal'") == 1);
}

TEST_CASE(
    "A crash after PayPal confirmed the order and before the engine recorded it: after the "
    "restart the intent is captured, once") {
  paypal_fixture f{{{"PAYMENTS_FAILPOINT", "after_psp_confirm"}}};
  auto pi = f.create(R"({"amount":3100,"currency":"eur","psp":"paypal"})");
  auto id = str(pi, "id");
  f.approve(pi);
  // The approval event makes the engine confirm; it dies before recording.
  REQUIRE(f.engine->process().wait(20s) == 137);
  CHECK(f.db.count("SELECT count(*) FROM payment_intents WHERE id = $1 AND status = 'created'",
                   {id}) == 1);
  f.restart();
  // The event is delivered again (or the poll reads the order): recorded once.
  f.get("/v1/payment_intents/" + id);
  REQUIRE(f.status_becomes(id, "captured"));
  auto order = f.order(str(pi, "psp_reference"));
  CHECK(array_size(order, "captures") == 1);
  CHECK(f.journals(id, "capture") == 1);
  CHECK(f.books_balance());
}

TEST_CASE(
    "A PayPal approval that arrives while PayPal is down waits for it instead of being "
    "dead-lettered, and the order is confirmed once PayPal answers again") {
  // Two attempts per event: a failure that counted against the attempt
  // budget would dead-letter the approval within a second.
  paypal_fixture f{{{"PAYMENTS_WEBHOOK_ATTEMPTS_MAX", "2"}}};
  auto pi = f.create(R"({"amount":2600,"currency":"eur","psp":"paypal"})");
  auto id = str(pi, "id");
  f.paypal_faults(R"({"error_percent":100})");
  f.approve(pi);
  // The engine's confirm fails (5xx, then its breaker opens) for a while.
  REQUIRE(f.db.eventually(
      "SELECT count(*) FROM webhook_inbox WHERE psp = 'paypal' AND attempts >= 3", 1, 20s));
  CHECK(f.db.count("SELECT count(*) FROM webhook_inbox WHERE dead_lettered_at IS NOT NULL") == 0);
  CHECK(f.db.count("SELECT count(*) FROM dead_letters") == 0);
  CHECK(f.db.count("SELECT count(*) FROM payment_intents WHERE id = $1 AND status = 'created'",
                   {id}) == 1);
  // PayPal is back: the waiting approval is confirmed, once.
  f.paypal_faults(R"({"error_percent":0})");
  REQUIRE(f.status_becomes(id, "captured"));
  CHECK(array_size(f.order(str(pi, "psp_reference")), "captures") == 1);
  CHECK(f.journals(id, "capture") == 1);
  CHECK(f.db.count("SELECT count(*) FROM dead_letters") == 0);
  CHECK(f.books_balance());
}

#endif  // PSP_SANDBOX_BIN
