// The checkout API end to end: a real paymentsd, a real psp-sandbox and a
// real PostgreSQL database per test, all over real HTTP.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <signal.h>

#include <rapidjson/document.h>
#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "net/form.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

rapidjson::Document parse(const std::string& body) {
  return test::parse_json(body);
}

using test::str;

/// A merchant, the sandbox PSP and an engine talking to it.
struct checkout_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "shop");
  test::sandbox_process sandbox;
  std::unique_ptr<test::engine_process> engine;

  explicit checkout_fixture(std::map<std::string, std::string> env = {}) { start_engine(env); }

  void start_engine(std::map<std::string, std::string> env = {}) {
    env["PAYMENTS_PSP_BASE_URL"] = sandbox.base_url();
    env["PAYMENTS_PSP_SECRET_KEY"] = sandbox.secret_key();
    engine = std::make_unique<test::engine_process>(db.url(), env);
  }

  std::string url(const std::string& path) const { return engine->base_url() + path; }

  net::client_result post(const std::string& path, const std::string& json,
                          const std::string& idempotency_key = {}) {
    std::vector<net::header> headers{{"Authorization", "Bearer " + merchant.api_key}};
    if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
    return test::http("POST", url(path), json, headers, "application/json");
  }

  net::client_result get(const std::string& path) {
    return test::http("GET", url(path), {}, {{"Authorization", "Bearer " + merchant.api_key}});
  }

  rapidjson::Document create(std::int64_t amount, const std::string& capture_method,
                             const std::string& key = {}) {
    auto r = post("/v1/payment_intents",
                  R"({"amount":)" + std::to_string(amount) +
                      R"(,"currency":"usd","capture_method":")" + capture_method + R"("})",
                  key);
    REQUIRE(r.answered);
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return parse(r.response.body);
  }

  /// Confirms at the sandbox as the shopper's browser does: publishable key
  /// and client secret, never the secret key.
  void confirm_as_browser(const rapidjson::Document& intent, const std::string& payment_method) {
    auto psp_id = str(intent, "psp_reference");
    auto body = net::encode_form(
        {{"payment_method", payment_method}, {"client_secret", str(intent, "client_secret")}});
    auto r = test::http("POST", sandbox.base_url() + "/v1/payment_intents/" + psp_id + "/confirm",
                        body, {{"Authorization", "Bearer " + sandbox.publishable_key()}},
                        "application/x-www-form-urlencoded");
    REQUIRE(r.answered);
    INFO(r.response.body);
    REQUIRE((r.response.status == 200 || r.response.status == 402));
  }

  /// The sandbox's own record of one of its intents.
  rapidjson::Document psp_intent(const std::string& psp_id) {
    auto r = test::http("GET", sandbox.base_url() + "/v1/payment_intents/" + psp_id, {},
                        {{"Authorization", "Bearer " + sandbox.secret_key()}});
    REQUIRE(r.response.status == 200);
    return parse(r.response.body);
  }

  /// How many events of `type` the sandbox emitted (for `psp_id` when given).
  int psp_events(const std::string& type, const std::string& psp_id = {}) {
    auto r = test::http("GET", sandbox.base_url() + "/v1/events?limit=100&type=" + type, {},
                        {{"Authorization", "Bearer " + sandbox.secret_key()}});
    REQUIRE(r.response.status == 200);
    auto doc = parse(r.response.body);
    int n = 0;
    for (const auto& e : doc["data"].GetArray())
      if (psp_id.empty() || std::string(e["data"]["object"]["id"].GetString()) == psp_id) ++n;
    return n;
  }

  std::int64_t rows(const std::string& table) {
    return db.query("SELECT count(*) FROM " + table).int64(0, 0);
  }

  void set_faults(const std::string& json) {
    auto r = test::http("POST", sandbox.base_url() + "/_sandbox/faults", json,
                        {{"Authorization", "Bearer " + sandbox.secret_key()}}, "application/json");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
  }
};

std::vector<std::string> audit_actions(checkout_fixture& f, const std::string& id) {
  auto r = f.get("/v1/payment_intents/" + id + "/events");
  REQUIRE(r.response.status == 200);
  auto doc = parse(r.response.body);
  std::vector<std::string> out;
  for (const auto& e : doc["data"].GetArray()) out.push_back(e["action"].GetString());
  return out;
}

}  // namespace

TEST_CASE(
    "A manual payment is authorised in the browser, captured in part and refunded in two steps") {
  checkout_fixture f;
  auto pi = f.create(5000, "manual", "order-1");
  auto id = str(pi, "id");
  CHECK(str(pi, "status") == "created");
  CHECK(str(pi, "client_secret").find("_secret_") != std::string::npos);

  f.confirm_as_browser(pi, "pm_card_visa");
  auto authorized = parse(f.get("/v1/payment_intents/" + id).response.body);
  CHECK(str(authorized, "status") == "authorized");
  CHECK(authorized["amount_capturable"].GetInt64() == 5000);

  auto captured = f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":3000})",
                         "capture-1");
  REQUIRE(captured.response.status == 200);
  auto c = parse(captured.response.body);
  CHECK(str(c, "status") == "captured");
  CHECK(c["amount_received"].GetInt64() == 3000);
  CHECK(c["amount_capturable"].GetInt64() == 0);
  CHECK(f.psp_intent(str(pi, "psp_reference"))["amount_received"].GetInt64() == 3000);

  auto r1 =
      f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":1000})", "refund-1");
  REQUIRE(r1.response.status == 200);
  auto refund = parse(r1.response.body);
  CHECK(refund["amount"].GetInt64() == 1000);
  auto fetched = f.get("/v1/refunds/" + str(refund, "id"));
  CHECK(fetched.response.status == 200);
  CHECK(fetched.response.body == r1.response.body);

  auto over = f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":2001})");
  CHECK(over.response.status == 400);
  auto r2 = f.post("/v1/refunds", R"({"payment_intent":")" + id + R"("})", "refund-2");
  REQUIRE(r2.response.status == 200);
  CHECK(parse(r2.response.body)["amount"].GetInt64() == 2000);

  auto final_state = parse(f.get("/v1/payment_intents/" + id).response.body);
  CHECK(str(final_state, "status") == "refunded");
  CHECK(final_state["amount_refunded"].GetInt64() == 3000);
  CHECK(audit_actions(f, id) == std::vector<std::string>{"create", "authorized", "capture",
                                                         "refund_partial", "refund_full"});
  auto again = f.post("/v1/refunds", R"({"payment_intent":")" + id + R"("})");
  CHECK(again.response.status == 400);
}

TEST_CASE("An automatic capture is recorded as authorized, then captured") {
  checkout_fixture f;
  auto pi = f.create(1200, "automatic");
  f.confirm_as_browser(pi, "pm_card_visa");
  auto now = parse(f.get("/v1/payment_intents/" + str(pi, "id")).response.body);
  CHECK(str(now, "status") == "captured");
  CHECK(now["amount_received"].GetInt64() == 1200);
  CHECK(audit_actions(f, str(pi, "id")) ==
        std::vector<std::string>{"create", "authorized", "capture"});
}

TEST_CASE("A declined card leaves the intent payable with the PSP's error") {
  checkout_fixture f;
  auto pi = f.create(900, "manual");
  f.confirm_as_browser(pi, "pm_card_chargeDeclined");
  auto now = parse(f.get("/v1/payment_intents/" + str(pi, "id")).response.body);
  CHECK(str(now, "status") == "created");
  REQUIRE(now["last_payment_error"].IsObject());
  auto capture = f.post("/v1/payment_intents/" + str(pi, "id") + "/capture", "{}");
  CHECK(capture.response.status == 400);
  CHECK(parse(capture.response.body)["error"]["code"].GetString() == std::string("invalid_state"));
}

TEST_CASE("The same Idempotency-Key replays the same bytes, and other parameters get 422") {
  checkout_fixture f;
  std::string body = R"({"amount":700,"currency":"eur","metadata":{"order":"A-7"}})";
  auto first = f.post("/v1/payment_intents", body, "same-key");
  REQUIRE(first.response.status == 200);
  auto second = f.post("/v1/payment_intents", body, "same-key");
  CHECK(second.response.status == 200);
  CHECK(second.response.body == first.response.body);
  REQUIRE(second.response.header_value("Idempotent-Replayed"));
  CHECK(*second.response.header_value("Idempotent-Replayed") == "true");
  // The same meaning with keys in another order is the same request.
  auto reordered =
      f.post("/v1/payment_intents", R"({"metadata":{"order":"A-7"},"currency":"eur","amount":700})",
             "same-key");
  CHECK(reordered.response.body == first.response.body);

  auto other = f.post("/v1/payment_intents", R"({"amount":701,"currency":"eur"})", "same-key");
  CHECK(other.response.status == 422);
  CHECK(parse(other.response.body)["error"]["code"].GetString() ==
        std::string("idempotency_key_reuse"));
  CHECK(f.rows("payment_intents") == 1);
  CHECK(f.psp_events("payment_intent.created") == 1);
}

TEST_CASE("A request whose key is still running gets 409") {
  checkout_fixture f;
  f.set_faults(R"({"latency_ms":1500})");
  auto slow = std::async(std::launch::async, [&] {
    return f.post("/v1/payment_intents", R"({"amount":300,"currency":"usd"})", "busy-key");
  });
  std::this_thread::sleep_for(400ms);
  auto second = f.post("/v1/payment_intents", R"({"amount":300,"currency":"usd"})", "busy-key");
  CHECK(second.response.status == 409);
  CHECK(parse(second.response.body)["error"]["code"].GetString() ==
        std::string("idempotency_in_flight"));
  auto first = slow.get();
  CHECK(first.response.status == 200);
  CHECK(f.rows("payment_intents") == 1);
}

TEST_CASE(
    "A crash after the PSP call and before the write resumes on retry with one intent on each "
    "side") {
  checkout_fixture f{
      {{"PAYMENTS_FAILPOINT", "after_psp_create"}, {"PAYMENTS_IDEMPOTENCY_LEASE_MS", "500"}}};
  std::string body = R"({"amount":4200,"currency":"usd","capture_method":"manual"})";
  auto lost = f.post("/v1/payment_intents", body, "crash-key");
  CHECK_FALSE(lost.answered);  // the engine died mid-request
  CHECK(f.engine->process().wait(10s) == 137);
  CHECK(f.rows("payment_intents") == 0);
  CHECK(f.psp_events("payment_intent.created") == 1);

  f.start_engine({{"PAYMENTS_IDEMPOTENCY_LEASE_MS", "500"}});
  std::this_thread::sleep_for(600ms);  // the crashed request's lease lapses
  auto retried = f.post("/v1/payment_intents", body, "crash-key");
  REQUIRE(retried.response.status == 200);
  auto pi = parse(retried.response.body);
  CHECK(f.rows("payment_intents") == 1);
  CHECK(f.psp_events("payment_intent.created") == 1);
  CHECK(f.psp_intent(str(pi, "psp_reference"))["amount"].GetInt64() == 4200);

  auto replay = f.post("/v1/payment_intents", body, "crash-key");
  CHECK(replay.response.body == retried.response.body);
}

TEST_CASE("Fifty concurrent captures of one intent: one succeeds, one capture reaches the PSP") {
  checkout_fixture f;
  auto pi = f.create(2500, "manual");
  auto id = str(pi, "id");
  f.confirm_as_browser(pi, "pm_card_visa");
  std::vector<std::future<net::client_result>> calls;
  for (int i = 0; i < 50; ++i)
    calls.push_back(std::async(std::launch::async, [&f, &id, i] {
      return f.post("/v1/payment_intents/" + id + "/capture", "{}",
                    "concurrent-capture-" + std::to_string(i));
    }));
  int ok = 0, refused = 0;
  for (auto& c : calls) {
    auto r = c.get();
    REQUIRE(r.answered);
    if (r.response.status == 200)
      ++ok;
    else if (r.response.status == 400 &&
             parse(r.response.body)["error"]["code"].GetString() == std::string("invalid_state"))
      ++refused;
  }
  CHECK(ok == 1);
  CHECK(refused == 49);
  CHECK(f.psp_events("payment_intent.succeeded", str(pi, "psp_reference")) == 1);
  CHECK(f.psp_intent(str(pi, "psp_reference"))["amount_received"].GetInt64() == 2500);
}

TEST_CASE(
    "With the PSP failing, the breaker opens, fails fast without calling it, and closes after "
    "recovery") {
  checkout_fixture f{{{"PAYMENTS_BREAKER_FAILURES", "3"}, {"PAYMENTS_BREAKER_OPEN_MS", "1500"}}};
  f.set_faults(R"({"error_percent":100})");
  auto psp_requests = [&f] {
    auto out = f.sandbox.process().output();
    std::size_t n = 0;
    for (auto pos = out.find("\"path\":\"/v1/payment_intents\""); pos != std::string::npos;
         pos = out.find("\"path\":\"/v1/payment_intents\"", pos + 1))
      ++n;
    return n;
  };
  for (int i = 0; i < 3; ++i) {
    auto r = f.post("/v1/payment_intents", R"({"amount":100,"currency":"usd"})");
    CHECK(r.response.status == 503);
  }
  auto reached = psp_requests();
  auto fast = f.post("/v1/payment_intents", R"({"amount":100,"currency":"usd"})");
  CHECK(fast.response.status == 503);
  CHECK(parse(fast.response.body)["error"]["code"].GetString() == std::string("psp_unavailable"));
  CHECK(fast.response.header_value("Retry-After"));
  CHECK(psp_requests() == reached);       // refused without calling the PSP
  CHECK(f.rows("payment_intents") == 0);  // nothing half-written

  f.set_faults(R"({"reset":true})");
  std::this_thread::sleep_for(1600ms);
  auto recovered = f.post("/v1/payment_intents", R"({"amount":100,"currency":"usd"})");
  CHECK(recovered.response.status == 200);
  auto after = f.post("/v1/payment_intents", R"({"amount":100,"currency":"usd"})");
  CHECK(after.response.status == 200);
  CHECK(f.rows("payment_intents") == 2);
}

TEST_CASE(
    "Capturing more than is capturable, or an unknown or foreign intent, is refused and changes "
    "nothing") {
  checkout_fixture f;
  auto pi = f.create(1000, "manual");
  auto id = str(pi, "id");
  f.confirm_as_browser(pi, "pm_card_visa");
  auto too_much = f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":1001})");
  CHECK(too_much.response.status == 400);
  CHECK(parse(too_much.response.body)["error"]["param"].GetString() ==
        std::string("amount_to_capture"));
  CHECK(str(parse(f.get("/v1/payment_intents/" + id).response.body), "status") == "authorized");

  auto other = test::make_merchant(f.db, "other-shop");
  auto foreign = test::http("POST", f.url("/v1/payment_intents/" + id + "/capture"), "{}",
                            {{"Authorization", "Bearer " + other.api_key}}, "application/json");
  CHECK(foreign.response.status == 404);
  auto unknown = f.post("/v1/payment_intents/pi_doesnotexist/capture", "{}");
  CHECK(unknown.response.status == 404);
  auto foreign_refund =
      test::http("POST", f.url("/v1/refunds"), R"({"payment_intent":")" + id + R"("})",
                 {{"Authorization", "Bearer " + other.api_key}}, "application/json");
  CHECK(foreign_refund.response.status == 404);
  CHECK(f.psp_intent(str(pi, "psp_reference"))["amount_received"].GetInt64() == 0);
}

TEST_CASE("Canceling voids an authorisation at the PSP, and a canceled intent refuses capture") {
  checkout_fixture f;
  auto pi = f.create(800, "manual");
  auto id = str(pi, "id");
  f.confirm_as_browser(pi, "pm_card_visa");
  auto canceled = f.post("/v1/payment_intents/" + id + "/cancel", "{}", "cancel-1");
  REQUIRE(canceled.response.status == 200);
  CHECK(str(parse(canceled.response.body), "status") == "canceled");
  CHECK(str(f.psp_intent(str(pi, "psp_reference")), "status") == "canceled");
  auto capture = f.post("/v1/payment_intents/" + id + "/capture", "{}");
  CHECK(capture.response.status == 400);
  auto replay = f.post("/v1/payment_intents/" + id + "/cancel", "{}", "cancel-1");
  CHECK(replay.response.body == canceled.response.body);
}

TEST_CASE("An idle intent actor stops and a later command rehydrates it from the database") {
  checkout_fixture f{{{"PAYMENTS_INTENT_IDLE_MS", "200"}}};
  auto pi = f.create(600, "manual");
  auto id = str(pi, "id");
  f.confirm_as_browser(pi, "pm_card_visa");
  CHECK(str(parse(f.get("/v1/payment_intents/" + id).response.body), "status") == "authorized");
  std::this_thread::sleep_for(700ms);  // the actor passivates
  auto captured = f.post("/v1/payment_intents/" + id + "/capture", "{}");
  REQUIRE(captured.response.status == 200);
  CHECK(str(parse(captured.response.body), "status") == "captured");
}

TEST_CASE(
    "A write that loses the version compare-and-swap re-reads and decides again, never "
    "overwriting") {
  checkout_fixture f;
  auto pi = f.create(1500, "manual");
  auto id = str(pi, "id");
  f.confirm_as_browser(pi, "pm_card_visa");
  CHECK(str(parse(f.get("/v1/payment_intents/" + id).response.body), "status") == "authorized");
  // Another writer (another engine process) changes the row behind the actor's
  // back, with its audit row as every writer does.
  f.db.query(
      "WITH bumped AS (UPDATE payment_intents SET version = version + 1, description = 'other "
      "writer' WHERE id = $1 RETURNING merchant_id, id, version) INSERT INTO audit_events "
      "(merchant_id, intent_id, actor, action, version, cause) SELECT merchant_id, id, 'api', "
      "'describe', version, 'another engine process' FROM bumped",
      {id});
  auto bumped = f.db.query("SELECT version FROM payment_intents WHERE id = $1", {id}).int64(0, 0);

  auto captured = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cas-capture");
  REQUIRE(captured.response.status == 200);
  auto c = parse(captured.response.body);
  CHECK(str(c, "status") == "captured");
  CHECK(c["version"].GetInt64() == bumped + 1);  // written on top of the other writer's version
  // The other writer's change survives: the actor re-read instead of overwriting.
  CHECK(f.db.query("SELECT description FROM payment_intents WHERE id = $1", {id}).text(0, 0) ==
        "other writer");
  auto actions = audit_actions(f, id);
  CHECK(std::count(actions.begin(), actions.end(), "capture") == 1);
  CHECK(f.psp_events("payment_intent.succeeded", str(pi, "psp_reference")) == 1);
}

TEST_CASE(
    "When the database drops the engine's connections, the next request reconnects and succeeds") {
  checkout_fixture f;
  auto pi = f.create(400, "manual");
  auto killed = f.db.query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid "
      "<> pg_backend_pid()",
      {f.db.name()});
  CHECK(killed.int64(0, 0) >= 1);
  auto list = f.get("/v1/payment_intents");
  CHECK(list.response.status == 200);
  auto ready = test::http("GET", f.url("/readyz"));
  CHECK(ready.response.status == 200);
  auto again = f.get("/v1/payment_intents/" + str(pi, "id"));
  CHECK(again.response.status == 200);
}

TEST_CASE("Every money movement of a payment posts balanced ledger entries with its transition") {
  checkout_fixture f;
  auto pi = f.create(5000, "manual", "ledger-1");
  auto id = str(pi, "id");
  f.confirm_as_browser(pi, "pm_card_visa");
  REQUIRE(str(parse(f.get("/v1/payment_intents/" + id).response.body), "status") == "authorized");
  REQUIRE(f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":3000})")
              .response.status == 200);
  REQUIRE(f.post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":1000})")
              .response.status == 200);

  std::vector<std::string> kinds;
  auto tx = f.db.query(
      "SELECT kind FROM ledger_transactions WHERE intent_id = $1 ORDER BY created_at, id", {id});
  for (int i = 0; i < tx.size(); ++i) kinds.emplace_back(tx.text(i, 0));
  CHECK(std::count(kinds.begin(), kinds.end(), "authorization") == 1);
  CHECK(std::count(kinds.begin(), kinds.end(), "capture") == 1);
  CHECK(std::count(kinds.begin(), kinds.end(), "refund") == 1);

  // Debits equal credits per currency across the whole journal.
  auto unbalanced = f.db.query(
      "SELECT count(*) FROM (SELECT currency FROM ledger_entries GROUP BY currency HAVING "
      "sum(debit) <> sum(credit)) u");
  CHECK(unbalanced.int64(0, 0) == 0);
  auto balance = [&](const std::string& key) {
    return f.db
        .query(
            "SELECT coalesce(sum(e.debit) - sum(e.credit), 0) FROM ledger_entries e JOIN "
            "ledger_accounts a ON a.id = e.account_id WHERE a.key = $1",
            {key})
        .int64(0, 0);
  };
  // Receivable from the PSP = captured - refunded (nothing settled yet).
  CHECK(balance("psp_receivable:sandbox") == 3000 - 1000);
  CHECK(balance("merchant_revenue:" + f.merchant.id) == -3000);
  CHECK(balance("refunds:" + f.merchant.id) == 1000);
  // Every posting belongs to a transition recorded in the same transaction.
  CHECK(f.db.query("SELECT count(*) FROM ledger_transactions WHERE intent_id = $1 AND refund_id IS "
                   "NOT NULL",
                   {id})
            .int64(0, 0) == 1);
}

TEST_CASE(
    "The ledger endpoints show a merchant its own accounts and postings, and the trial balance to "
    "the admin") {
  checkout_fixture f{{{"PAYMENTS_ADMIN_TOKEN", "adm_ledger_test_token_of_32_chars_or_more"}}};
  auto pi = f.create(2000, "automatic");
  auto id = str(pi, "id");
  f.confirm_as_browser(pi, "pm_card_visa");
  REQUIRE(str(parse(f.get("/v1/payment_intents/" + id).response.body), "status") == "captured");

  auto accounts = f.get("/v1/ledger/accounts?limit=100");
  REQUIRE(accounts.response.status == 200);
  auto doc = parse(accounts.response.body);
  std::int64_t revenue_id = 0;
  for (const auto& a : doc["data"].GetArray()) {
    CHECK(a["merchant"].GetString() == f.merchant.id);  // only the merchant's own
    if (std::string(a["key"].GetString()) == "merchant_revenue:" + f.merchant.id) {
      revenue_id = a["id"].GetInt64();
      CHECK(a["balance"].GetInt64() == 2000);  // credit-normal, so positive
    }
  }
  REQUIRE(revenue_id != 0);
  auto entries = f.get("/v1/ledger/accounts/" + std::to_string(revenue_id) + "/entries");
  REQUIRE(entries.response.status == 200);
  CHECK(parse(entries.response.body)["data"].Size() == 1);

  auto txs = f.get("/v1/ledger/transactions?payment_intent=" + id);
  REQUIRE(txs.response.status == 200);
  auto tx_doc = parse(txs.response.body);
  // Seen in one refresh, the automatic capture has no hold in between: one capture.
  REQUIRE(tx_doc["data"].Size() == 1);
  CHECK(tx_doc["data"][0]["kind"].GetString() == std::string("capture"));
  CHECK(tx_doc["data"][0]["entries"].Size() >= 2);

  auto other = test::make_merchant(f.db, "someone-else");
  auto foreign =
      test::http("GET", f.url("/v1/ledger/accounts/" + std::to_string(revenue_id) + "/entries"), {},
                 {{"Authorization", "Bearer " + other.api_key}});
  CHECK(foreign.response.status == 404);
  auto foreign_tx = test::http("GET", f.url("/v1/ledger/transactions?payment_intent=" + id), {},
                               {{"Authorization", "Bearer " + other.api_key}});
  CHECK(foreign_tx.response.status == 404);

  CHECK(f.get("/v1/ledger/trial_balance").response.status == 401);  // a merchant key is not enough
  auto trial = test::http("GET", f.url("/v1/ledger/trial_balance"), {},
                          {{"Authorization", "Bearer adm_ledger_test_token_of_32_chars_or_more"}});
  REQUIRE(trial.response.status == 200);
  auto t = parse(trial.response.body);
  CHECK(t["balanced"].GetBool());
  REQUIRE(t["currencies"].Size() == 1);
  CHECK(t["currencies"][0]["debits"].GetInt64() == t["currencies"][0]["credits"].GetInt64());
}

TEST_CASE("SIGTERM stops the engine promptly while intent actors are alive") {
  checkout_fixture f;  // intent actors idle for 60 s by default
  for (int i = 0; i < 3; ++i) f.create(100 + i, "manual");
  auto started = std::chrono::steady_clock::now();
  f.engine->process().send_signal(SIGTERM);
  CHECK(f.engine->process().wait(10s) == 0);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}

#endif  // PSP_SANDBOX_BIN
