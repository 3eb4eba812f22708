// Operations as resumable records (issue "every retry answers what
// happened"): a retry with the same Idempotency-Key finishes what the first
// attempt started and answers what actually happened, after a crash at each
// failpoint, a PSP answer that never came, or a failed PSP read. Real
// paymentsd, psp-sandbox (delivering its webhooks to the engine) and
// PostgreSQL.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <rapidjson/document.h>
#include <chrono>
#include <future>
#include <thread>

#include "core/ids.hpp"
#include "net/form.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

const std::string secret = "whsec_" + core::random_token(32);

// In this test binary every scratch database is checked when it is dropped:
// each intent version has its audit row.
const bool audit_checked = (test::check_audit_versions_on_drop(true), true);

using test::str;

/// An engine on a fixed port (so it can be restarted under the sandbox's
/// webhook URL) and a sandbox delivering its events to it.
struct operations_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "ops");
  std::uint16_t port = test::free_port();
  test::sandbox_process sandbox{{
      {"SANDBOX_WEBHOOK_URL", "http://127.0.0.1:" + std::to_string(port) + "/v1/webhooks/sandbox"},
      {"SANDBOX_WEBHOOK_SECRET", secret},
      {"SANDBOX_WEBHOOK_BACKOFF_BASE_MS", "50"},
      {"SANDBOX_WEBHOOK_BACKOFF_MAX_MS", "300"},
      {"SANDBOX_WEBHOOK_ATTEMPTS_MAX", "60"},
  }};
  std::unique_ptr<test::engine_process> engine;

  explicit operations_fixture(std::map<std::string, std::string> env = {}) { start(env); }

  /// Starts the engine; a test that kills it starts the next one without
  /// the failpoint. The idempotency lease is the default (30 s): a retry
  /// that is not answered 409 proves the dead holder's lease was taken over.
  void start(std::map<std::string, std::string> env = {}) {
    env["PAYMENTS_PORT"] = std::to_string(port);
    env["PAYMENTS_WEBHOOK_SECRET"] = secret;
    env["PAYMENTS_PSP_BASE_URL"] = sandbox.base_url();
    env["PAYMENTS_PSP_SECRET_KEY"] = sandbox.secret_key();
    engine.reset();
    engine = std::make_unique<test::engine_process>(db.url(), env);
  }

  net::client_result post(const std::string& path, const std::string& json,
                          const std::string& key = {}) {
    std::vector<net::header> headers{{"Authorization", "Bearer " + merchant.api_key}};
    if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
    return test::http("POST", engine->base_url() + path, json, headers, "application/json");
  }

  rapidjson::Document create(std::int64_t amount, const std::string& capture_method) {
    auto r = post("/v1/payment_intents",
                  R"({"amount":)" + std::to_string(amount) +
                      R"(,"currency":"usd","capture_method":")" + capture_method + R"("})",
                  "create-" + core::random_token(8));
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  void confirm(const rapidjson::Document& pi, const std::string& pm = "pm_card_visa") {
    auto body =
        net::encode_form({{"payment_method", pm}, {"client_secret", str(pi, "client_secret")}});
    auto r = test::http(
        "POST", sandbox.base_url() + "/v1/payment_intents/" + str(pi, "psp_reference") + "/confirm",
        body, {{"Authorization", "Bearer " + sandbox.publishable_key()}},
        "application/x-www-form-urlencoded");
    REQUIRE(r.answered);
  }

  /// Waits (bounded) until the engine's row for `id` has `status`.
  bool status_becomes(const std::string& id, const std::string& status) {
    return db.eventually("SELECT count(*) FROM payment_intents WHERE id = $1 AND status = $2", 1,
                         20s, {id, status});
  }

  rapidjson::Document psp_intent(const std::string& psp_id) {
    auto r = test::http("GET", sandbox.base_url() + "/v1/payment_intents/" + psp_id, {},
                        {{"Authorization", "Bearer " + sandbox.secret_key()}});
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  void set_faults(const std::string& json) {
    auto r = test::http("POST", sandbox.base_url() + "/_sandbox/faults", json,
                        {{"Authorization", "Bearer " + sandbox.secret_key()}}, "application/json");
    REQUIRE(r.response.status == 200);
  }

  /// The value of one series of the engine's /metrics ("name{labels}"); 0
  /// while it has none.
  double metric(const std::string& series) {
    auto r = test::http("GET", engine->base_url() + "/metrics");
    REQUIRE(r.response.status == 200);
    auto at = r.response.body.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stod(r.response.body.substr(at + series.size() + 2));
  }

  /// The engine died at its failpoint, as kill -9 would leave it.
  void expect_crash() { CHECK(engine->process().wait(10s) == 137); }

  /// An authorised manual-capture intent the engine knows as authorized.
  rapidjson::Document authorized(std::int64_t amount) {
    auto pi = create(amount, "manual");
    confirm(pi);
    REQUIRE(status_becomes(str(pi, "id"), "authorized"));
    return pi;
  }
};

}  // namespace

TEST_CASE(
    "A capture the PSP made before the engine died answers 200 captured on retry, at once, though "
    "the webhook recorded it first") {
  operations_fixture f{{{"PAYMENTS_FAILPOINT", "after_psp_capture"}}};
  auto pi = f.authorized(5000);
  auto id = str(pi, "id");
  auto lost =
      f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":3000})", "cap-1");
  CHECK_FALSE(lost.answered);
  f.expect_crash();
  f.start();
  // The PSP's webhook records the capture before the merchant retries.
  REQUIRE(f.status_becomes(id, "captured"));
  auto retried =
      f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":3000})", "cap-1");
  INFO(retried.response.body);
  REQUIRE(retried.response.status == 200);
  auto doc = test::parse_json(retried.response.body);
  CHECK(str(doc, "status") == "captured");
  CHECK(doc["amount_received"].GetInt64() == 3000);
  CHECK(f.psp_intent(str(pi, "psp_reference"))["amount_received"].GetInt64() == 3000);
  // The answer is stored: a further retry replays it byte for byte.
  auto replay =
      f.post("/v1/payment_intents/" + id + "/capture", R"({"amount_to_capture":3000})", "cap-1");
  CHECK(replay.response.body == retried.response.body);
  CHECK(replay.response.header_value("Idempotent-Replayed"));
}

TEST_CASE("A cancel the PSP made before the engine died answers 200 canceled on retry") {
  operations_fixture f{{{"PAYMENTS_FAILPOINT", "after_psp_cancel"}}};
  auto pi = f.authorized(2100);
  auto id = str(pi, "id");
  auto lost = f.post("/v1/payment_intents/" + id + "/cancel", "{}", "cancel-1");
  CHECK_FALSE(lost.answered);
  f.expect_crash();
  f.start();
  REQUIRE(f.status_becomes(id, "canceled"));
  auto retried = f.post("/v1/payment_intents/" + id + "/cancel", "{}", "cancel-1");
  INFO(retried.response.body);
  REQUIRE(retried.response.status == 200);
  CHECK(str(test::parse_json(retried.response.body), "status") == "canceled");
}

TEST_CASE(
    "A refund the PSP made before the engine died, booked by the webhook, answers 200 with that "
    "refund on retry and is booked once") {
  operations_fixture f{{{"PAYMENTS_FAILPOINT", "after_psp_refund"}}};
  auto pi = f.create(4000, "automatic");
  auto id = str(pi, "id");
  f.confirm(pi);
  REQUIRE(f.status_becomes(id, "captured"));
  std::string body = R"({"payment_intent":")" + id + R"(","amount":1500})";
  auto lost = f.post("/v1/refunds", body, "refund-1");
  CHECK_FALSE(lost.answered);
  f.expect_crash();
  f.start();
  REQUIRE(f.status_becomes(id, "partially_refunded"));
  REQUIRE(f.db.count("SELECT count(*) FROM refunds WHERE intent_id = $1", {id}) == 1);
  auto booked = f.db.query("SELECT id, psp_reference FROM refunds WHERE intent_id = $1", {id});
  auto retried = f.post("/v1/refunds", body, "refund-1");
  INFO(retried.response.body);
  REQUIRE(retried.response.status == 200);
  auto doc = test::parse_json(retried.response.body);
  CHECK(str(doc, "id") == booked.text(0, 0));
  CHECK(doc["amount"].GetInt64() == 1500);
  CHECK(f.db.count("SELECT count(*) FROM refunds WHERE intent_id = $1", {id}) == 1);
  CHECK(f.db.count("SELECT count(*) FROM idempotency_keys WHERE key = 'refund-1' AND "
                   "recovery_point = 'finished' AND response_status = 200") == 1);
  CHECK(f.psp_intent(str(pi, "psp_reference"))["amount_received"].GetInt64() == 4000);
}

TEST_CASE(
    "A capture refused while the PSP cannot be read is a retryable 503, and the retry captures") {
  // The shopper paid, but the engine has not heard yet (the webhook is
  // held back) and its PSP read fails: "status is created" would be false.
  operations_fixture f;
  f.set_faults(R"({"webhook_delay_ms":60000})");
  auto pi = f.create(2500, "manual");
  auto id = str(pi, "id");
  f.confirm(pi);
  f.set_faults(R"({"error_percent":100,"webhook_delay_ms":60000})");
  auto first = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cap-fresh");
  INFO(first.response.body);
  CHECK(first.response.status == 503);
  CHECK(first.response.header_value("Retry-After"));
  CHECK(f.db.count("SELECT count(*) FROM idempotency_keys WHERE key = 'cap-fresh' AND "
                   "recovery_point = 'finished'") == 0);
  f.set_faults(R"({"reset":true})");
  auto retried = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cap-fresh");
  INFO(retried.response.body);
  REQUIRE(retried.response.status == 200);
  CHECK(str(test::parse_json(retried.response.body), "status") == "captured");
}

TEST_CASE(
    "A capture whose PSP answer came after the PSP timeout answers 503, and the retry answers "
    "200 captured") {
  operations_fixture f;
  auto pi = f.authorized(3300);
  auto id = str(pi, "id");
  // The sandbox captures, then holds its answer past the engine's 5 s PSP
  // timeout; its webhook records the capture before the merchant retries.
  f.set_faults(R"({"hang_percent":100,"hang_ms":7000})");
  auto first = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cap-slow");
  INFO(first.response.body);
  CHECK(first.response.status == 503);
  f.set_faults(R"({"reset":true})");
  REQUIRE(f.status_becomes(id, "captured"));
  std::this_thread::sleep_for(2500ms);  // the held answer is released
  auto retried = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cap-slow");
  INFO(retried.response.body);
  REQUIRE(retried.response.status == 200);
  auto doc = test::parse_json(retried.response.body);
  CHECK(str(doc, "status") == "captured");
  CHECK(doc["amount_received"].GetInt64() == 3300);
}

TEST_CASE("A key held by a request of a process that died is taken over at once, not after 409s") {
  operations_fixture f{{{"PAYMENTS_FAILPOINT", "after_psp_create"}}};
  std::string body = R"({"amount":900,"currency":"eur"})";
  auto lost = f.post("/v1/payment_intents", body, "create-crash");
  CHECK_FALSE(lost.answered);
  f.expect_crash();
  f.start();
  auto started = std::chrono::steady_clock::now();
  auto retried = f.post("/v1/payment_intents", body, "create-crash");
  INFO(retried.response.body);
  REQUIRE(retried.response.status == 200);
  CHECK(std::chrono::steady_clock::now() - started < 10s);  // the lease is 30 s
  CHECK(f.db.count("SELECT count(*) FROM payment_intents") == 1);
}

TEST_CASE("A declined confirmation is a new version with its own audit row and decline code") {
  operations_fixture f;
  auto pi = f.create(1200, "automatic");
  auto id = str(pi, "id");
  f.confirm(pi, "pm_card_chargeDeclinedInsufficientFunds");
  REQUIRE(f.db.eventually(
      "SELECT count(*) FROM payment_intents WHERE id = $1 AND last_payment_error IS NOT NULL", 1,
      20s, {id}));
  auto version = f.db.count("SELECT version FROM payment_intents WHERE id = $1", {id});
  CHECK(version >= 1);
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                   "'payment_failed' AND data::text LIKE '%insufficient_funds%'",
                   {id}) >= 1);
  // Every version 0..N has an audit row.
  CHECK(f.db.count("SELECT count(*) FROM generate_series(0, $2::bigint) v WHERE NOT EXISTS "
                   "(SELECT 1 FROM audit_events a WHERE a.intent_id = $1 AND a.version = v)",
                   {id, std::to_string(version)}) == 0);
}

TEST_CASE(
    "At its bound of live intent actors a merchant's creates stop its least recently used idle "
    "actors instead of being refused - only actors with work in flight make it answer 503") {
  operations_fixture f{{{"PAYMENTS_INTENT_ACTORS_PER_MERCHANT", "3"}}};
  // Ten creates in a row: each intent's actor stays idle for a minute, so
  // from the fourth on the bound is reached (answered 503 before).
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(str(f.create(1000 + i, "manual"), "id"));
  CHECK(f.metric(R"(payments_intent_actors_passivated_total{bound="merchant"})") == 7);
  // A passivated intent is served by a fresh actor from the database.
  auto read = test::http("GET", f.engine->base_url() + "/v1/payment_intents/" + ids.front(), {},
                         {{"Authorization", "Bearer " + f.merchant.api_key}});
  REQUIRE(read.response.status == 200);
  CHECK(test::parse_json(read.response.body)["amount"].GetInt64() == 1000);

  // Three creates held at the PSP: every actor of the merchant is busy, so a
  // fourth cannot make room and is refused (for this merchant only).
  f.set_faults(R"({"latency_ms":2500})");
  std::vector<std::future<net::client_result>> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(std::async(std::launch::async, [&f, i] {
      return f.post("/v1/payment_intents",
                    R"({"amount":)" + std::to_string(500 + i) +
                        R"(,"currency":"usd","capture_method":"manual"})",
                    "held-" + std::to_string(i));
    }));
  std::this_thread::sleep_for(800ms);
  auto refused = f.post("/v1/payment_intents",
                        R"({"amount":900,"currency":"usd","capture_method":"manual"})", "refused");
  INFO(refused.response.body);
  CHECK(refused.response.status == 503);
  CHECK(refused.response.body.find("overloaded") != std::string::npos);
  f.set_faults(R"({"reset":true})");
  for (auto& h : held) CHECK(h.get().response.status == 200);
  // Once they are done the same request (same key: nothing was made) is served.
  auto again = f.post("/v1/payment_intents",
                      R"({"amount":900,"currency":"usd","capture_method":"manual"})", "refused");
  INFO(again.response.body);
  CHECK(again.response.status == 200);
  CHECK(f.db.count("SELECT count(*) FROM payment_intents") == 14);
}

TEST_CASE(
    "A capture whose PSP answers after the request's deadline answers 503 at the deadline, its "
    "PSP call ends with it, and the retry with the same key answers 200 captured") {
  // The request's deadline (1.5 s) is shorter than the PSP timeout (5 s) and
  // than the sandbox's latency (3 s): the deadline, not the PSP timeout,
  // bounds the call.
  operations_fixture f{{{"PAYMENTS_REQUEST_DEADLINE_MS", "1500"}}};
  auto pi = f.authorized(3300);
  auto id = str(pi, "id");
  const std::string calls =
      R"(payments_psp_call_duration_seconds_count{psp="sandbox",operation="capture_intent"})";
  REQUIRE(f.metric(calls) == 0);
  f.set_faults(R"({"latency_ms":3000})");
  auto started = std::chrono::steady_clock::now();
  auto first = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cap-deadline");
  auto answered_after = std::chrono::steady_clock::now() - started;
  INFO(first.response.body);
  CHECK((first.response.status == 503 || first.response.status == 504));
  CHECK(answered_after < 2500ms);
  // The gateway's call was cut to the deadline: it has ended (as a timeout)
  // by now, not when the PSP's answer comes at 3 s.
  bool ended = false;
  while (!ended && std::chrono::steady_clock::now() - started < 2200ms) {
    ended = f.metric(calls) == 1;
    if (!ended) std::this_thread::sleep_for(50ms);
  }
  CHECK(ended);
  f.set_faults(R"({"reset":true})");
  std::this_thread::sleep_for(2000ms);  // the sandbox has done the late call
  auto retried = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cap-deadline");
  INFO(retried.response.body);
  REQUIRE(retried.response.status == 200);
  auto doc = test::parse_json(retried.response.body);
  CHECK(str(doc, "status") == "captured");
  CHECK(doc["amount_received"].GetInt64() == 3300);
  CHECK(f.psp_intent(str(pi, "psp_reference"))["amount_received"].GetInt64() == 3300);
}

TEST_CASE(
    "A capture still queued for a PSP slot when its request's deadline passes is never sent, and "
    "the "
    "retry with the same key makes it") {
  operations_fixture f{
      {{"PAYMENTS_REQUEST_DEADLINE_MS", "1500"}, {"PAYMENTS_PSP_CONCURRENCY_MAX", "1"}}};
  auto pending = f.create(700, "manual");
  auto pi = f.authorized(2100);
  auto id = str(pi, "id");
  auto psp_id = str(pi, "psp_reference");
  f.set_faults(R"({"latency_ms":3000})");
  // A read of the pending intent refreshes it from the PSP and holds the one
  // PSP slot for the sandbox's 3 s (a read carries no request deadline).
  auto read = std::async(std::launch::async, [&] {
    return test::http("GET", f.engine->base_url() + "/v1/payment_intents/" + str(pending, "id"), {},
                      {{"Authorization", "Bearer " + f.merchant.api_key}});
  });
  std::this_thread::sleep_for(300ms);
  auto started = std::chrono::steady_clock::now();
  auto first = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cap-queued");
  INFO(first.response.body);
  CHECK((first.response.status == 503 || first.response.status == 504));
  CHECK(std::chrono::steady_clock::now() - started < 2500ms);
  read.wait();
  // Long after the slot came free (3 s) and the sandbox's latency passed
  // again: the queued capture was answered at its deadline, not made then.
  std::this_thread::sleep_for(5500ms);
  CHECK(str(f.psp_intent(psp_id), "status") == "requires_capture");
  CHECK(f.metric(R"(payments_psp_calls_refused_total{psp="sandbox",reason="deadline"})") == 1);
  f.set_faults(R"({"reset":true})");
  auto retried = f.post("/v1/payment_intents/" + id + "/capture", "{}", "cap-queued");
  INFO(retried.response.body);
  REQUIRE(retried.response.status == 200);
  CHECK(str(test::parse_json(retried.response.body), "status") == "captured");
  CHECK(str(f.psp_intent(psp_id), "status") == "succeeded");
}

#endif
