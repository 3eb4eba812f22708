// PSP webhooks end to end: signature checks against independently computed
// vectors, the durable inbox, the worker, dead letters and replay, and the
// sandbox's delivery faults, against real processes and PostgreSQL.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <signal.h>

#include <rapidjson/document.h>
#include <chrono>
#include <cstdio>
#include <thread>

#include "core/ids.hpp"
#include "net/form.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

rapidjson::Document parse(const std::string& body) {
  return test::parse_json(body);
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// HMAC-SHA256 computed by the openssl command line, independently of our code.
std::string openssl_hmac(const std::string& secret, const std::string& data) {
  auto dir = test::make_temp_dir();
  auto path = dir + "/payload";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
  }
  std::string cmd = "openssl dgst -sha256 -hmac '" + secret + "' -r " + path;
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[256] = {};
  auto n = std::fread(buf, 1, sizeof buf - 1, p);
  pclose(p);
  std::string out(buf, n);
  return out.substr(0, out.find(' '));
}

std::string signature_header(const std::string& secret, std::int64_t t, const std::string& body) {
  return "t=" + std::to_string(t) + ",v1=" + openssl_hmac(secret, std::to_string(t) + "." + body);
}

/// A Stripe-shaped event about one PSP payment intent.
std::string intent_event(const std::string& event_id, const std::string& type,
                         const std::string& psp_id, const std::string& status, std::int64_t amount,
                         std::int64_t capturable, std::int64_t received) {
  return R"({"id":")" + event_id + R"(","object":"event","api_version":"2020-08-27","created":)" +
         std::to_string(now_s()) + R"(,"type":")" + type + R"(","data":{"object":{"id":")" +
         psp_id + R"(","object":"payment_intent","amount":)" + std::to_string(amount) +
         R"(,"amount_capturable":)" + std::to_string(capturable) + R"(,"amount_received":)" +
         std::to_string(received) + R"(,"currency":"usd","capture_method":"manual","status":")" +
         status + R"(","client_secret":")" + psp_id +
         R"(_secret_x","last_payment_error":null,"latest_charge":null,"metadata":{}}}})";
}

const std::string secret = "whsec_" + core::random_token(32);
const std::string next_secret = "whsec_" + core::random_token(32);
const std::string admin = "adm_" + core::random_token(32);

/// An engine with webhook secrets and an admin token, and (optionally) a
/// sandbox delivering its events to it.
struct webhook_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "hooks");
  std::unique_ptr<test::sandbox_process> sandbox;
  std::unique_ptr<test::engine_process> engine;
  std::map<std::string, std::string> engine_env;

  explicit webhook_fixture(std::map<std::string, std::string> env = {}, bool with_sandbox = true,
                           std::map<std::string, std::string> sandbox_env = {}) {
    engine_env = std::move(env);
    engine_env.emplace("PAYMENTS_WEBHOOK_SECRET", secret);
    engine_env.emplace("PAYMENTS_ADMIN_TOKEN", admin);
    auto port = test::free_port();
    engine_env["PAYMENTS_PORT"] = std::to_string(port);
    if (with_sandbox) {
      sandbox_env.emplace("SANDBOX_WEBHOOK_URL",
                          "http://127.0.0.1:" + std::to_string(port) + "/v1/webhooks/sandbox");
      sandbox_env.emplace("SANDBOX_WEBHOOK_SECRET", secret);
      sandbox_env.emplace("SANDBOX_WEBHOOK_BACKOFF_BASE_MS", "50");
      sandbox_env.emplace("SANDBOX_WEBHOOK_BACKOFF_MAX_MS", "500");
      sandbox_env.emplace("SANDBOX_WEBHOOK_ATTEMPTS_MAX", "40");
      sandbox = std::make_unique<test::sandbox_process>(sandbox_env);
      engine_env["PAYMENTS_PSP_BASE_URL"] = sandbox->base_url();
      engine_env["PAYMENTS_PSP_SECRET_KEY"] = sandbox->secret_key();
    }
    start();
  }

  void start() { engine = std::make_unique<test::engine_process>(db.url(), engine_env); }

  std::string url(const std::string& path) const { return engine->base_url() + path; }

  net::client_result deliver(const std::string& body, const std::string& header) {
    return test::http("POST", url("/v1/webhooks/sandbox"), body, {{"Stripe-Signature", header}},
                      "application/json");
  }

  std::int64_t count(const std::string& sql, const std::vector<storage::pg_param>& params = {}) {
    return db.count(sql, params);
  }

  /// Waits (bounded) until `sql` counts `expected`.
  bool eventually(const std::string& sql, std::int64_t expected,
                  std::chrono::milliseconds limit = 15s,
                  const std::vector<storage::pg_param>& params = {}) {
    return db.eventually(sql, expected, limit, params);
  }

  rapidjson::Document create(std::int64_t amount, const std::string& capture_method) {
    auto r = test::http("POST", url("/v1/payment_intents"),
                        R"({"amount":)" + std::to_string(amount) +
                            R"(,"currency":"usd","capture_method":")" + capture_method + R"("})",
                        {{"Authorization", "Bearer " + merchant.api_key}}, "application/json");
    REQUIRE(r.response.status == 200);
    return parse(r.response.body);
  }

  void confirm(const rapidjson::Document& pi, const std::string& pm = "pm_card_visa") {
    auto body = net::encode_form(
        {{"payment_method", pm}, {"client_secret", pi["client_secret"].GetString()}});
    auto r = test::http(
        "POST",
        sandbox->base_url() + "/v1/payment_intents/" + pi["psp_reference"].GetString() + "/confirm",
        body, {{"Authorization", "Bearer " + sandbox->publishable_key()}},
        "application/x-www-form-urlencoded");
    REQUIRE(r.answered);
  }

  net::client_result admin_call(const std::string& method, const std::string& path) {
    return test::http(method, url(path), {}, {{"Authorization", "Bearer " + admin}});
  }

  void insert_intent(const std::string& id, const std::string& psp_reference) {
    db.query(
        "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
        "psp, psp_reference) VALUES ($1, $2, 'created', 1000, 'usd', 'manual', 'sandbox', $3)",
        {id, merchant.id, psp_reference});
  }
};

}  // namespace

TEST_CASE(
    "A webhook signed as Stripe signs, checked against openssl, is stored raw and answered 200") {
  webhook_fixture f{{}, false};
  auto body = intent_event("evt_sig_ok", "payment_intent.created", "pi_psp_sig",
                           "requires_payment_method", 1000, 0, 0);
  auto r = f.deliver(body, signature_header(secret, now_s(), body));
  REQUIRE(r.response.status == 200);
  CHECK(parse(r.response.body)["duplicate"].GetBool() == false);
  auto stored = f.db.query("SELECT encode(payload, 'escape'), signature FROM webhook_inbox");
  REQUIRE(stored.size() == 1);
  CHECK(stored.text(0, 0) == body);  // bytes exactly as received
}

TEST_CASE(
    "The PSP registry routes /v1/webhooks/stripe to the sandbox account and answers 404 for an "
    "unknown PSP") {
  webhook_fixture f{{}, false};
  f.insert_intent("pi_alias_engine", "pi_alias_psp");
  auto body = intent_event("evt_alias", "payment_intent.amount_capturable_updated", "pi_alias_psp",
                           "requires_capture", 1000, 1000, 0);
  auto r = test::http("POST", f.url("/v1/webhooks/stripe"), body,
                      {{"Stripe-Signature", signature_header(secret, now_s(), body)}},
                      "application/json");
  REQUIRE(r.response.status == 200);
  // Stored under the account's own name, so the worker finds the intent.
  CHECK(f.count("SELECT count(*) FROM webhook_inbox WHERE psp = 'sandbox'") == 1);
  CHECK(
      f.eventually("SELECT count(*) FROM payment_intents WHERE id = 'pi_alias_engine' AND status = "
                   "'authorized'",
                   1));

  auto unknown = test::http("POST", f.url("/v1/webhooks/paypal"), body,
                            {{"Stripe-Signature", signature_header(secret, now_s(), body)}},
                            "application/json");
  CHECK(unknown.response.status == 404);
  CHECK(parse(unknown.response.body)["error"]["code"].GetString() == std::string("unknown_psp"));
  CHECK(f.count("SELECT count(*) FROM webhook_inbox") == 1);
}

TEST_CASE("Bad signatures get 400, are counted, and are never stored") {
  webhook_fixture f{{}, false};
  auto body = intent_event("evt_sig_bad", "payment_intent.created", "pi_psp_bad",
                           "requires_payment_method", 1000, 0, 0);
  auto t = now_s();
  const std::string cases[] = {
      signature_header(secret, t, body + " "),                       // body tampered after signing
      signature_header("whsec_wrong_secret_value", t, body),         // wrong secret
      signature_header(secret, t - 301, body),                       // outside the 300 s tolerance
      "v1=" + openssl_hmac(secret, std::to_string(t) + "." + body),  // no timestamp
      "t=" + std::to_string(t) + ",v0=" + openssl_hmac(secret, std::to_string(t) + "." + body),
      "",  // missing header
  };
  for (const auto& header : cases) {
    INFO(header);
    auto r = f.deliver(body, header);
    CHECK(r.response.status == 400);
    CHECK(parse(r.response.body)["error"]["code"].GetString() == std::string("invalid_signature"));
  }
  CHECK(f.count("SELECT count(*) FROM webhook_inbox") == 0);
  auto stats = parse(f.admin_call("GET", "/v1/admin/webhooks").response.body);
  CHECK(stats["signature_failures"].GetUint64() == std::size(cases));
}

TEST_CASE("During secret rotation a header with several v1 values verifies when any one matches") {
  webhook_fixture f{{{"PAYMENTS_WEBHOOK_SECRET_NEXT", next_secret}}, false};
  auto body = intent_event("evt_rotate", "payment_intent.created", "pi_psp_rot",
                           "requires_payment_method", 1000, 0, 0);
  auto t = now_s();
  auto signed_payload = std::to_string(t) + "." + body;
  auto header = "t=" + std::to_string(t) + ",v1=" + openssl_hmac("whsec_old_one", signed_payload) +
                ",v1=" + openssl_hmac(next_secret, signed_payload);
  CHECK(f.deliver(body, header).response.status == 200);
}

TEST_CASE("A duplicate delivery is answered 200 and processed once") {
  webhook_fixture f{{}, false};
  f.insert_intent("pi_dup_engine", "pi_dup_psp");
  auto body = intent_event("evt_dup", "payment_intent.amount_capturable_updated", "pi_dup_psp",
                           "requires_capture", 1000, 1000, 0);
  auto first = f.deliver(body, signature_header(secret, now_s(), body));
  auto second = f.deliver(body, signature_header(secret, now_s(), body));
  CHECK(first.response.status == 200);
  CHECK(second.response.status == 200);
  CHECK(parse(second.response.body)["duplicate"].GetBool());
  CHECK(f.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NOT NULL", 1));
  CHECK(f.count("SELECT count(*) FROM webhook_inbox") == 1);
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE intent_id = 'pi_dup_engine' AND action = "
                "'authorized'") == 1);
  CHECK(f.db.query("SELECT status FROM payment_intents WHERE id = 'pi_dup_engine'").text(0, 0) ==
        "authorized");
}

TEST_CASE("A stale event is recorded as ignored and never applied backwards") {
  webhook_fixture f{{}, false};
  f.insert_intent("pi_stale_engine", "pi_stale_psp");
  auto captured = intent_event("evt_new", "payment_intent.succeeded", "pi_stale_psp", "succeeded",
                               1000, 0, 1000);
  REQUIRE(f.deliver(captured, signature_header(secret, now_s(), captured)).response.status == 200);
  CHECK(
      f.eventually("SELECT count(*) FROM payment_intents WHERE id = 'pi_stale_engine' AND status "
                   "= 'captured'",
                   1));
  auto older = intent_event("evt_old", "payment_intent.amount_capturable_updated", "pi_stale_psp",
                            "requires_capture", 1000, 1000, 0);
  REQUIRE(f.deliver(older, signature_header(secret, now_s(), older)).response.status == 200);
  CHECK(f.eventually("SELECT count(*) FROM webhook_inbox WHERE outcome = 'ignored_stale'", 1));
  CHECK(f.db.query("SELECT status FROM payment_intents WHERE id = 'pi_stale_engine'").text(0, 0) ==
        "captured");
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE intent_id = 'pi_stale_engine' AND action "
                "= 'ignored'") == 1);
}

TEST_CASE("An event that races ahead of its intent is kept and applied once the intent exists") {
  webhook_fixture f{{{"PAYMENTS_WEBHOOK_ATTEMPTS_MAX", "2"},
                     {"PAYMENTS_WEBHOOK_BACKOFF_BASE_MS", "20"},
                     {"PAYMENTS_WEBHOOK_BACKOFF_CEILING_MS", "50"}},
                    false};
  auto body = intent_event("evt_early", "payment_intent.amount_capturable_updated", "pi_early_psp",
                           "requires_capture", 1000, 1000, 0);
  REQUIRE(f.deliver(body, signature_header(secret, now_s(), body)).response.status == 200);
  // Waiting for its intent spends no attempt budget: well past 2 attempts it
  // is still kept, not dead-lettered.
  CHECK(f.eventually("SELECT count(*) FROM webhook_attempts WHERE attempt = 4", 1));
  CHECK(f.count("SELECT count(*) FROM dead_letters") == 0);
  f.insert_intent("pi_early_engine", "pi_early_psp");
  CHECK(
      f.eventually("SELECT count(*) FROM payment_intents WHERE id = 'pi_early_engine' AND status "
                   "= 'authorized'",
                   1));
  CHECK(f.count("SELECT count(*) FROM dead_letters") == 0);
}

TEST_CASE(
    "A poison event is dead-lettered after the retry limit with its history, and replay applies it "
    "once fixed") {
  webhook_fixture f{{{"PAYMENTS_WEBHOOK_ATTEMPTS_MAX", "3"},
                     {"PAYMENTS_WEBHOOK_BACKOFF_BASE_MS", "20"},
                     {"PAYMENTS_WEBHOOK_BACKOFF_CEILING_MS", "50"}},
                    false};
  // The PSP says it received more than the engine's intent is for: the
  // database refuses the write (a CHECK constraint) on every attempt.
  f.insert_intent("pi_poison_engine", "pi_poison_psp");
  auto body = intent_event("evt_poison", "payment_intent.succeeded", "pi_poison_psp", "succeeded",
                           5000, 0, 5000);
  REQUIRE(f.deliver(body, signature_header(secret, now_s(), body)).response.status == 200);
  REQUIRE(f.eventually("SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL", 1));

  auto listed = f.admin_call("GET", "/v1/admin/dead_letters");
  REQUIRE(listed.response.status == 200);
  auto doc = parse(listed.response.body);
  REQUIRE(doc["data"].Size() == 1);
  const auto& dl = doc["data"][0];
  CHECK(dl["event_id"].GetString() == std::string("evt_poison"));
  CHECK(dl["attempts"].Size() == 3);
  CHECK(test::http("GET", f.url("/v1/admin/dead_letters")).response.status == 401);
  CHECK(f.db.query("SELECT status FROM payment_intents WHERE id = 'pi_poison_engine'").text(0, 0) ==
        "created");

  // The cause is fixed (the intent's amount was wrong), then the dead letter replayed.
  f.db.query("UPDATE payment_intents SET amount = 5000 WHERE id = 'pi_poison_engine'");
  auto replayed = f.admin_call(
      "POST", std::string("/v1/admin/dead_letters/") + dl["id"].GetString() + "/replay");
  CHECK(replayed.response.status == 202);
  CHECK(
      f.eventually("SELECT count(*) FROM payment_intents WHERE id = 'pi_poison_engine' AND status "
                   "= 'captured'",
                   1));
  CHECK(f.eventually("SELECT count(*) FROM dead_letters WHERE resolved_at IS NOT NULL", 1));
  CHECK(f.count("SELECT count(*) FROM dead_letters") == 1);  // resolved, never deleted
  CHECK(f.admin_call("POST", "/v1/admin/dead_letters/dl_nope/replay").response.status == 404);
}

TEST_CASE(
    "A late payment_intent.created after requires_action is recorded as stale and not as a "
    "decline") {
  webhook_fixture f{{}, false};
  f.insert_intent("pi_late_engine", "pi_late_psp");
  auto action = intent_event("evt_action", "payment_intent.requires_action", "pi_late_psp",
                             "requires_action", 1000, 0, 0);
  REQUIRE(f.deliver(action, signature_header(secret, now_s(), action)).response.status == 200);
  CHECK(
      f.eventually("SELECT count(*) FROM payment_intents WHERE id = 'pi_late_engine' AND status = "
                   "'requires_action'",
                   1));
  auto created = intent_event("evt_created_late", "payment_intent.created", "pi_late_psp",
                              "requires_payment_method", 1000, 0, 0);
  REQUIRE(f.deliver(created, signature_header(secret, now_s(), created)).response.status == 200);
  CHECK(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_id = 'evt_created_late' AND "
                   "outcome = 'ignored_stale'",
                   1));
  CHECK(f.db.query("SELECT status FROM payment_intents WHERE id = 'pi_late_engine'").text(0, 0) ==
        "requires_action");
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE intent_id = 'pi_late_engine' AND action = "
                "'payment_failed'") == 0);
}

TEST_CASE("A late payment_intent.created after a decline keeps the decline's error") {
  webhook_fixture f{{}, false};
  f.insert_intent("pi_declined_engine", "pi_declined_psp");
  auto failed = intent_event("evt_failed", "payment_intent.payment_failed", "pi_declined_psp",
                             "requires_payment_method", 1000, 0, 0);
  const std::string error =
      R"({"type":"card_error","code":"card_declined","decline_code":"generic_decline",)"
      R"("message":"Your card was declined."})";
  auto at = failed.find(R"("last_payment_error":null)");
  REQUIRE(at != std::string::npos);
  failed.replace(at, 25, R"("last_payment_error":)" + error);
  REQUIRE(f.deliver(failed, signature_header(secret, now_s(), failed)).response.status == 200);
  CHECK(
      f.eventually("SELECT count(*) FROM payment_intents WHERE id = 'pi_declined_engine' AND "
                   "last_payment_error->>'code' = 'card_declined'",
                   1));
  auto created = intent_event("evt_created_after_decline", "payment_intent.created",
                              "pi_declined_psp", "requires_payment_method", 1000, 0, 0);
  REQUIRE(f.deliver(created, signature_header(secret, now_s(), created)).response.status == 200);
  CHECK(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_id = "
                   "'evt_created_after_decline' AND outcome = 'ignored_stale'",
                   1));
  CHECK(f.count("SELECT count(*) FROM payment_intents WHERE id = 'pi_declined_engine' AND "
                "last_payment_error->>'code' = 'card_declined' AND status = 'created'") == 1);
}

TEST_CASE(
    "Webhooks drive intents to the PSP's final state under duplicated, reordered, delayed and "
    "dropped deliveries") {
  webhook_fixture f{{},
                    true,
                    {{"SANDBOX_SEED", "7"},
                     {"SANDBOX_FAULT_WEBHOOK_DUPLICATE_PERCENT", "50"},
                     {"SANDBOX_FAULT_WEBHOOK_OUT_OF_ORDER_PERCENT", "50"},
                     {"SANDBOX_FAULT_WEBHOOK_DELAY_MS", "30"},
                     {"SANDBOX_FAULT_WEBHOOK_DROP_FIRST_PERCENT", "50"}}};
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto pi = f.create(1000 + i, i % 2 == 0 ? "automatic" : "manual");
    ids.push_back(pi["id"].GetString());
    f.confirm(pi);
  }
  // Automatic ones end captured, manual ones authorized: no GET, webhooks only.
  CHECK(f.eventually("SELECT count(*) FROM payment_intents WHERE status = 'captured'", 3, 30s));
  CHECK(f.eventually("SELECT count(*) FROM payment_intents WHERE status = 'authorized'", 3, 30s));
  CHECK(f.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL", 0, 30s));
  // Each transition exactly once per intent, whatever the deliveries did.
  for (const auto& id : ids) {
    CHECK(f.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                  "'authorized'",
                  {id}) == 1);
    CHECK(f.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = 'capture'",
                  {id}) <= 1);
  }
  CHECK(f.count("SELECT count(*) FROM (SELECT event_id FROM webhook_inbox GROUP BY event_id "
                "HAVING count(*) > 1) d") == 0);
}

TEST_CASE(
    "After kill -9 during a burst, every event the sandbox got a 200 for is processed exactly "
    "once") {
  webhook_fixture f;
  for (int i = 0; i < 8; ++i) f.confirm(f.create(500 + i, "automatic"));
  f.engine->process().send_signal(SIGKILL);
  CHECK(f.engine->process().wait(5s) >= 0);
  std::this_thread::sleep_for(300ms);  // deliveries fail while the engine is down
  f.start();                           // same port, same database
  CHECK(f.eventually("SELECT count(*) FROM payment_intents WHERE status = 'captured'", 8, 30s));
  CHECK(f.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL", 0, 30s));
  auto deliveries = test::http("GET", f.sandbox->base_url() + "/_sandbox/webhook_deliveries", {},
                               {{"Authorization", "Bearer " + f.sandbox->secret_key()}});
  REQUIRE(deliveries.response.status == 200);
  auto doc = parse(deliveries.response.body);
  const auto& list = doc.IsArray() ? doc : doc["data"];
  int acknowledged = 0;
  for (const auto& d : list.GetArray()) {
    if (!d.HasMember("status") || !d["status"].IsInt() || d["status"].GetInt() != 200) continue;
    ++acknowledged;
    CHECK(f.count("SELECT count(*) FROM webhook_inbox WHERE event_id = $1 AND processed_at IS NOT "
                  "NULL",
                  {d["event"].GetString()}) == 1);
  }
  CHECK(acknowledged > 0);
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE action = 'capture'") == 8);
}

TEST_CASE("An intent whose webhooks never come is polled at the PSP and reaches its state") {
  webhook_fixture f{{{"PAYMENTS_STUCK_INTENT_MS", "200"}, {"PAYMENTS_STUCK_POLL_MS", "100"}},
                    true,
                    {{"SANDBOX_WEBHOOK_URL", ""}}};
  auto pi = f.create(750, "manual");
  f.confirm(pi);
  CHECK(f.eventually("SELECT count(*) FROM payment_intents WHERE status = 'authorized'", 1, 10s));
  CHECK(f.count("SELECT count(*) FROM webhook_inbox") == 0);
}

TEST_CASE("The engine expires idempotency keys past their retention on its housekeeping tick") {
  webhook_fixture f{{{"PAYMENTS_STUCK_POLL_MS", "100"}}, false};
  f.db.query(
      "INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, created_at) "
      "VALUES ($1, 'ancient', 'POST', '/v1/payment_intents', repeat('a', 64), now() - interval "
      "'25 hours'), ($1, 'recent', 'POST', '/v1/payment_intents', repeat('b', 64), now())",
      {f.merchant.id});
  CHECK(f.eventually("SELECT count(*) FROM idempotency_keys WHERE key = 'ancient'", 0, 10s));
  CHECK(f.count("SELECT count(*) FROM idempotency_keys WHERE key = 'recent'") == 1);
}

namespace {

std::string refund_event(const std::string& event_id, const std::string& type,
                         const std::string& refund_id, const std::string& psp_intent,
                         std::int64_t amount, const std::string& status) {
  return R"({"id":")" + event_id + R"(","object":"event","created":)" + std::to_string(now_s()) +
         R"(,"type":")" + type + R"(","data":{"object":{"id":")" + refund_id +
         R"(","object":"refund","amount":)" + std::to_string(amount) +
         R"(,"currency":"usd","payment_intent":")" + psp_intent + R"(","status":")" + status +
         R"("}}})";
}

void insert_captured(webhook_fixture& f, const std::string& id, const std::string& psp_ref,
                     std::int64_t amount) {
  f.db.query(
      "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
      "psp, psp_reference, amount_received) VALUES ($1, $2, 'captured', $3, 'usd', 'manual', "
      "'sandbox', $4, $3)",
      {id, f.merchant.id, std::to_string(amount), psp_ref});
}

}  // namespace

TEST_CASE(
    "A refund made at the PSP directly is booked once from its webhook, with its transition and "
    "postings") {
  webhook_fixture f{{}, false};
  insert_captured(f, "pi_ext_engine", "pi_ext_psp", 1000);
  auto created =
      refund_event("evt_re_1", "refund.created", "re_ext_1", "pi_ext_psp", 400, "succeeded");
  REQUIRE(f.deliver(created, signature_header(secret, now_s(), created)).response.status == 200);
  CHECK(
      f.eventually("SELECT count(*) FROM payment_intents WHERE id = 'pi_ext_engine' AND status = "
                   "'partially_refunded' AND amount_refunded = 400",
                   1));
  CHECK(f.count("SELECT count(*) FROM refunds WHERE psp_reference = 're_ext_1' AND amount = 400") ==
        1);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE intent_id = 'pi_ext_engine' AND "
                "kind = 'refund'") == 1);

  // The same refund again (another event about it): recorded as ignored.
  auto updated =
      refund_event("evt_re_2", "refund.updated", "re_ext_1", "pi_ext_psp", 400, "succeeded");
  REQUIRE(f.deliver(updated, signature_header(secret, now_s(), updated)).response.status == 200);
  CHECK(
      f.eventually("SELECT count(*) FROM webhook_inbox WHERE event_id = 'evt_re_2' AND outcome = "
                   "'ignored_no_change'",
                   1));
  CHECK(f.count("SELECT amount_refunded FROM payment_intents WHERE id = 'pi_ext_engine'") == 400);
  CHECK(f.count("SELECT count(*) FROM refunds") == 1);
}

TEST_CASE("A booked refund's status change from the PSP is recorded on the refund") {
  webhook_fixture f{{}, false};
  insert_captured(f, "pi_st_engine", "pi_st_psp", 1000);
  f.db.query(
      "INSERT INTO refunds (id, merchant_id, intent_id, amount, currency, status, psp_reference) "
      "VALUES ('re_ours', $1, 'pi_st_engine', 300, 'usd', 'pending', 're_psp_st')",
      {f.merchant.id});
  auto updated =
      refund_event("evt_st", "refund.updated", "re_psp_st", "pi_st_psp", 300, "succeeded");
  REQUIRE(f.deliver(updated, signature_header(secret, now_s(), updated)).response.status == 200);
  CHECK(f.eventually("SELECT count(*) FROM refunds WHERE id = 're_ours' AND status = 'succeeded'",
                     1));
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE intent_id = 'pi_st_engine' AND action = "
                "'refund_status'") == 1);
  CHECK(f.count("SELECT count(*) FROM refunds") == 1);
}

TEST_CASE(
    "A PSP refund larger than what the intent can refund goes to the dead letters, not the books") {
  webhook_fixture f{{{"PAYMENTS_WEBHOOK_ATTEMPTS_MAX", "2"},
                     {"PAYMENTS_WEBHOOK_BACKOFF_BASE_MS", "20"},
                     {"PAYMENTS_WEBHOOK_BACKOFF_CEILING_MS", "50"}},
                    false};
  insert_captured(f, "pi_big_engine", "pi_big_psp", 500);
  auto body = refund_event("evt_big", "refund.created", "re_big", "pi_big_psp", 900, "succeeded");
  REQUIRE(f.deliver(body, signature_header(secret, now_s(), body)).response.status == 200);
  CHECK(f.eventually("SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL", 1));
  CHECK(f.count("SELECT count(*) FROM refunds") == 0);
  CHECK(f.count("SELECT amount_refunded FROM payment_intents WHERE id = 'pi_big_engine'") == 0);
}

TEST_CASE("A refund made through the API is booked once although its webhooks also arrive") {
  webhook_fixture f;
  auto pi = f.create(1500, "automatic");
  std::string id = pi["id"].GetString();
  f.confirm(pi);
  REQUIRE(f.eventually("SELECT count(*) FROM payment_intents WHERE status = 'captured'", 1));
  auto r =
      test::http("POST", f.url("/v1/refunds"), R"({"payment_intent":")" + id + R"(","amount":600})",
                 {{"Authorization", "Bearer " + f.merchant.api_key}}, "application/json");
  REQUIRE(r.response.status == 200);
  // The sandbox's refund events arrive and are settled...
  REQUIRE(
      f.eventually("SELECT least(count(*), 1) FROM webhook_inbox WHERE event_type LIKE "
                   "'refund.%'",
                   1, 10s));
  CHECK(f.eventually(
      "SELECT count(*) FROM webhook_inbox WHERE event_type LIKE 'refund.%' AND "
      "processed_at IS NOT NULL",
      f.count("SELECT count(*) FROM webhook_inbox WHERE event_type LIKE 'refund.%'"), 10s));
  CHECK(f.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL", 0, 10s));
  // ...without a second booking.
  CHECK(f.count("SELECT count(*) FROM refunds") == 1);
  CHECK(f.count("SELECT amount_refunded FROM payment_intents WHERE id = $1", {id}) == 600);
  CHECK(f.count("SELECT count(*) FROM ledger_transactions WHERE intent_id = $1 AND kind = 'refund'",
                {id}) == 1);
}

TEST_CASE("A signed body that is not an event gets 400, is counted, and is never stored") {
  webhook_fixture f{{}, false};
  for (const std::string& body : {std::string("{not json"), std::string(R"({"id":"evt_x"})"),
                                  std::string(R"({"id":"evt_y","type":"x","data":{}})")}) {
    INFO(body);
    auto r = f.deliver(body, signature_header(secret, now_s(), body));
    CHECK(r.response.status == 400);
    CHECK(parse(r.response.body)["error"]["code"].GetString() == std::string("invalid_event"));
  }
  CHECK(f.count("SELECT count(*) FROM webhook_inbox") == 0);
  auto stats = parse(f.admin_call("GET", "/v1/admin/webhooks").response.body);
  CHECK(stats["invalid_events"].GetUint64() == 3);
}

TEST_CASE(
    "Events about a PSP intent another system made on the same account are recorded as foreign "
    "and not retried") {
  webhook_fixture f{
      {{"PAYMENTS_WEBHOOK_BACKOFF_BASE_MS", "50"}, {"PAYMENTS_WEBHOOK_BACKOFF_CEILING_MS", "500"}}};
  // Made at the sandbox directly, as another system sharing the PSP account
  // would: no engine id in its metadata.
  auto made = test::http("POST", f.sandbox->base_url() + "/v1/payment_intents",
                         net::encode_form({{"amount", "1200"},
                                           {"currency", "usd"},
                                           {"capture_method", "manual"},
                                           {"payment_method_types[0]", "card"}}),
                         {{"Authorization", "Bearer " + f.sandbox->secret_key()}},
                         "application/x-www-form-urlencoded");
  REQUIRE(made.response.status == 200);
  auto foreign = parse(made.response.body);
  std::string psp_id = foreign["id"].GetString();
  auto confirmed =
      test::http("POST", f.sandbox->base_url() + "/v1/payment_intents/" + psp_id + "/confirm",
                 net::encode_form({{"payment_method", "pm_card_visa"},
                                   {"client_secret", foreign["client_secret"].GetString()}}),
                 {{"Authorization", "Bearer " + f.sandbox->publishable_key()}},
                 "application/x-www-form-urlencoded");
  REQUIRE(confirmed.response.status == 200);
  // After the grace window (limits::webhook_foreign_grace_ms) and one PSP
  // lookup each, every intent event of it is done as `foreign`.
  auto deadline = std::chrono::steady_clock::now() + 40s;
  std::int64_t done = 0, open = 1;
  while (std::chrono::steady_clock::now() < deadline) {
    done =
        f.count("SELECT count(*) FROM webhook_inbox WHERE object_id = $1 AND outcome = 'foreign'",
                {psp_id});
    open =
        f.count("SELECT count(*) FROM webhook_inbox WHERE object_id = $1 AND processed_at IS NULL",
                {psp_id});
    if (done >= 2 && open == 0) break;
    std::this_thread::sleep_for(200ms);
  }
  CHECK(done >= 2);  // payment_intent.created and .amount_capturable_updated at least
  CHECK(open == 0);
  CHECK(f.count("SELECT count(*) FROM dead_letters") == 0);
  CHECK(f.count("SELECT count(*) FROM payment_intents") == 0);  // nothing made of it
  // Terminal: no attempt is scheduled for them any more.
  auto attempts = f.count(
      "SELECT count(*) FROM webhook_attempts a JOIN webhook_inbox i ON i.id = a.inbox_id WHERE "
      "i.object_id = $1",
      {psp_id});
  std::this_thread::sleep_for(1s);
  CHECK(f.count("SELECT count(*) FROM webhook_attempts a JOIN webhook_inbox i ON i.id = "
                "a.inbox_id WHERE i.object_id = $1",
                {psp_id}) == attempts);
  // The engine's own intents on the same account are applied as ever.
  auto mine = f.create(1300, "manual");
  f.confirm(mine);
  CHECK(f.eventually("SELECT count(*) FROM payment_intents WHERE id = $1 AND status = 'authorized'",
                     1, 15s, {std::string(mine["id"].GetString())}));
  // And counted where operators look.
  auto metrics = test::http("GET", f.url("/metrics"), {}, {});
  CHECK(metrics.response.body.find("payments_webhook_foreign_total{psp=\"sandbox\"}") !=
        std::string::npos);
}

#endif  // PSP_SANDBOX_BIN
