// Authorizations expire (issue 19): the engine's deadline per intent, its
// due-date scan, the PSP's own automatic cancel, the refusal of a capture
// after the deadline and the merchant's warning. Real paymentsd,
// psp-sandbox (its test clock moves Stripe's 7 days in a request; its
// webhooks reach the engine) and PostgreSQL; the ledger is checked after
// each flow.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <rapidjson/document.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>

#include "core/ids.hpp"
#include "net/checkout_requests.hpp"
#include "net/form.hpp"
#include "net/http_server.hpp"
#include "net/json.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

const std::string secret = "whsec_" + core::random_token(32);
constexpr std::int64_t day_s = 86'400;

const bool audit_checked = (test::check_audit_versions_on_drop(true), true);

using test::str;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// An engine on a fixed port (restartable under the sandbox's webhook URL)
/// and a sandbox delivering its events to it.
struct expiry_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "expiry");
  std::uint16_t port = test::free_port();
  test::sandbox_process sandbox{{
      {"SANDBOX_WEBHOOK_URL", "http://127.0.0.1:" + std::to_string(port) + "/v1/webhooks/sandbox"},
      {"SANDBOX_WEBHOOK_SECRET", secret},
      {"SANDBOX_WEBHOOK_BACKOFF_BASE_MS", "50"},
      {"SANDBOX_WEBHOOK_BACKOFF_MAX_MS", "300"},
      {"SANDBOX_WEBHOOK_ATTEMPTS_MAX", "60"},
  }};
  std::map<std::string, std::string> env;
  std::unique_ptr<test::engine_process> engine;

  explicit expiry_fixture(std::map<std::string, std::string> extra = {}) : env(std::move(extra)) {
    env["PAYMENTS_PORT"] = std::to_string(port);
    env["PAYMENTS_WEBHOOK_SECRET"] = secret;
    env["PAYMENTS_PSP_BASE_URL"] = sandbox.base_url();
    env["PAYMENTS_PSP_SECRET_KEY"] = sandbox.secret_key();
    env["PAYMENTS_OUTBOUND_POLL_MS"] = "100";
    env["PAYMENTS_OUTBOUND_BACKOFF_BASE_MS"] = "50";
    start();
  }

  void start() {
    engine.reset();
    engine = std::make_unique<test::engine_process>(db.url(), env);
  }

  void stop() {
    engine->process().send_signal(SIGTERM);
    CHECK(engine->process().wait(15s) == 0);
    engine.reset();
  }

  net::client_result api(const std::string& method, const std::string& path,
                         const std::string& json = {}, const std::string& key = {}) {
    std::vector<net::header> headers{{"Authorization", "Bearer " + merchant.api_key}};
    if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
    return test::http(method, engine->base_url() + path, json, headers,
                      json.empty() ? std::string{} : std::string("application/json"));
  }

  rapidjson::Document get(const std::string& id) {
    auto r = api("GET", "/v1/payment_intents/" + id);
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  net::client_result sandbox_call(const std::string& method, const std::string& path,
                                  const std::string& json = {}) {
    return test::http(method, sandbox.base_url() + path, json,
                      {{"Authorization", "Bearer " + sandbox.secret_key()}},
                      json.empty() ? std::string{} : std::string("application/json"));
  }

  void advance_clock(std::int64_t seconds) {
    auto r = sandbox_call("POST", "/_sandbox/clock/advance",
                          R"({"seconds":)" + std::to_string(seconds) + "}");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
  }

  /// An authorised manual-capture intent the engine knows as authorized:
  /// `extra` adds create fields (e.g. `,"merchant_initiated":true`), the
  /// shopper pays with `payment_method`.
  rapidjson::Document authorized(std::int64_t amount, const std::string& extra = {},
                                 const std::string& payment_method = "pm_card_visa") {
    auto r = api("POST", "/v1/payment_intents",
                 R"({"amount":)" + std::to_string(amount) +
                     R"(,"currency":"usd","capture_method":"manual")" + extra + "}",
                 "create-" + core::random_token(8));
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    auto pi = test::parse_json(r.response.body);
    auto body = net::encode_form(
        {{"payment_method", payment_method}, {"client_secret", str(pi, "client_secret")}});
    auto c = test::http(
        "POST", sandbox.base_url() + "/v1/payment_intents/" + str(pi, "psp_reference") + "/confirm",
        body, {{"Authorization", "Bearer " + sandbox.publishable_key()}},
        "application/x-www-form-urlencoded");
    REQUIRE(c.response.status == 200);
    REQUIRE(status_becomes(str(pi, "id"), "authorized"));
    return pi;
  }

  bool status_becomes(const std::string& id, const std::string& status,
                      std::chrono::milliseconds limit = 20s) {
    return db.eventually("SELECT count(*) FROM payment_intents WHERE id = $1 AND status = $2", 1,
                         limit, {id, status});
  }

  rapidjson::Document psp_intent(const std::string& psp_id) {
    auto r = sandbox_call("GET", "/v1/payment_intents/" + psp_id);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// The open authorisation holds of the merchant (memo account, debit normal).
  std::int64_t holds() {
    return db.count(
        "SELECT coalesce(sum(e.debit - e.credit), 0)::bigint FROM ledger_entries e JOIN "
        "ledger_accounts a ON a.id = e.account_id WHERE a.key = $1",
        {"auth_holds:" + merchant.id});
  }

  /// Every currency's entries sum to zero.
  bool trial_balanced() {
    return db.count(
               "SELECT count(*) FROM (SELECT currency FROM ledger_entries GROUP BY currency "
               "HAVING sum(debit) <> sum(credit)) unbalanced") == 0;
  }

  std::int64_t expiries(const std::string& id) {
    return db.count(
        "SELECT count(*) FROM audit_events WHERE intent_id = $1 AND to_status = 'expired' AND "
        "from_status = 'authorized'",
        {id});
  }

  std::int64_t hold_releases(const std::string& id) {
    return db.count(
        "SELECT count(*) FROM ledger_transactions WHERE intent_id = $1 AND kind = 'hold_release'",
        {id});
  }

  /// How many requests the sandbox logged for `path_part`.
  std::size_t sandbox_requests(const std::string& path_part) {
    auto out = sandbox.process().output();
    std::size_t n = 0;
    for (std::size_t at = out.find(path_part); at != std::string::npos;
         at = out.find(path_part, at + 1))
      ++n;
    return n;
  }

  std::string metrics() {
    auto r = test::http("GET", engine->base_url() + "/metrics");
    REQUIRE(r.response.status == 200);
    return r.response.body;
  }
};

}  // namespace

TEST_CASE(
    "An authorization left 8 sandbox days expires by Stripe's automatic cancel and releases "
    "its hold") {
  expiry_fixture f;
  auto pi = f.authorized(1500);
  const auto id = str(pi, "id");

  // The deadline is Stripe's own: the charge's capture_before, 7 days out.
  auto shown = f.get(id);
  REQUIRE(shown["expires_at"].IsInt64());
  const auto expires_at = shown["expires_at"].GetInt64();
  CHECK(expires_at >= unix_now() + 7 * day_s - 60);
  CHECK(expires_at <= unix_now() + 7 * day_s + 5);
  CHECK(f.holds() == 1500);

  f.advance_clock(8 * day_s);
  auto at_psp = f.psp_intent(str(pi, "psp_reference"));
  CHECK(str(at_psp, "status") == "canceled");
  CHECK(str(at_psp, "cancellation_reason") == "automatic");

  REQUIRE(f.status_becomes(id, "expired"));
  CHECK(f.get(id)["amount_capturable"].GetInt64() == 0);
  CHECK(f.expiries(id) == 1);
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND to_status = "
                   "'expired' AND actor = 'webhook'",
                   {id}) == 1);
  CHECK(f.hold_releases(id) == 1);
  CHECK(f.holds() == 0);
  CHECK(f.trial_balanced());
  CHECK(f.metrics().find(
            R"(payments_authorization_expiries_total{psp="sandbox",source="psp_event"} 1)") !=
        std::string::npos);

  // A capture now is refused, naming the time, and nothing is captured.
  auto refused = f.api("POST", "/v1/payment_intents/" + id + "/capture", "{}", "cap-late");
  INFO(refused.response.body);
  CHECK(refused.response.status == 400);
  CHECK(refused.response.body.find("invalid_state") != std::string::npos);
  CHECK(refused.response.body.find("The authorization expired at") != std::string::npos);
  CHECK(refused.response.body.find("it can no longer be captured.") != std::string::npos);
}

TEST_CASE(
    "With a short configured validity the engine's own timer expires the authorization, "
    "voids it at the PSP, and the deadline survives a restart") {
  expiry_fixture f{{{"PAYMENTS_AUTH_VALIDITY", "sandbox=4"}, {"PAYMENTS_EXPIRY_SCAN_MS", "200"}}};
  auto pi = f.authorized(2500);
  const auto id = str(pi, "id");
  auto shown = f.get(id);
  REQUIRE(shown["expires_at"].IsInt64());
  CHECK(shown["expires_at"].GetInt64() <= unix_now() + 4);
  CHECK(f.holds() == 2500);

  // The engine stops before the deadline and comes back after it: the
  // deadline is in the database, and the first scan finds it.
  f.stop();
  std::this_thread::sleep_for(5s);
  CHECK(f.db.count("SELECT count(*) FROM payment_intents WHERE id = $1 AND status = 'authorized'",
                   {id}) == 1);
  f.start();
  REQUIRE(f.status_becomes(id, "expired"));

  auto at_psp = f.psp_intent(str(pi, "psp_reference"));
  CHECK(str(at_psp, "status") == "canceled");
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = 'expire' "
                   "AND actor = 'scheduler'",
                   {id}) == 1);
  CHECK(f.expiries(id) == 1);
  CHECK(f.hold_releases(id) == 1);
  CHECK(f.holds() == 0);
  CHECK(f.trial_balanced());
  CHECK(f.metrics().find(
            R"(payments_authorization_expiries_total{psp="sandbox",source="engine_timer"} 1)") !=
        std::string::npos);

  // The PSP's cancel webhook arrives after: recorded as ignored, no second expiry.
  REQUIRE(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE event_type = "
                      "'payment_intent.canceled' AND processed_at IS NOT NULL AND "
                      "convert_from(payload, 'UTF8') LIKE $1",
                      1, 20s, {"%" + str(pi, "psp_reference") + "%"}));
  std::this_thread::sleep_for(1s);  // more scans
  CHECK(f.expiries(id) == 1);
  CHECK(f.hold_releases(id) == 1);
}

TEST_CASE(
    "A capture after the deadline is refused before the expiry scan ran, without a PSP "
    "call") {
  // The scan runs at start and then only every minute: the capture meets
  // the deadline, not the status.
  expiry_fixture f{{{"PAYMENTS_AUTH_VALIDITY", "sandbox=2"}}};
  auto pi = f.authorized(900);
  const auto id = str(pi, "id");
  std::this_thread::sleep_for(3s);
  const auto captures_before = f.sandbox_requests("/capture");
  auto refused = f.api("POST", "/v1/payment_intents/" + id + "/capture", "{}", "cap-1");
  INFO(refused.response.body);
  CHECK(refused.response.status == 400);
  auto body = test::parse_json(refused.response.body);
  CHECK(str(body["error"], "code") == "invalid_state");
  CHECK(str(body["error"], "message").starts_with("The authorization expired at 20"));
  CHECK(str(body["error"], "message").ends_with("; it can no longer be captured."));
  auto cancel = f.api("POST", "/v1/payment_intents/" + id + "/cancel", "{}", "cancel-1");
  CHECK(cancel.response.status == 400);
  CHECK(cancel.response.body.find("it can no longer be canceled.") != std::string::npos);
  CHECK(f.sandbox_requests("/capture") == captures_before);
  CHECK(f.sandbox_requests("/cancel") == 0);
  // Still authorized in the books: nothing was written.
  CHECK(f.get(id)["status"] == "authorized");
  CHECK(f.holds() == 900);
}

TEST_CASE("The merchant is warned once before an authorization expires") {
  std::mutex m;
  std::vector<std::string> bodies;
  net::http_server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  net::http_server receiver{o, [&](net::http_request req, net::responder respond) {
                              {
                                std::lock_guard g{m};
                                bodies.push_back(req.body);
                              }
                              net::http_response res;
                              res.status = 200;
                              res.body = "ok";
                              respond(std::move(res));
                            }};
  REQUIRE(receiver.start().empty());
  expiry_fixture f{{{"PAYMENTS_AUTH_VALIDITY", "sandbox=8"},
                    {"PAYMENTS_AUTH_EXPIRY_WARNING_S", "6"},
                    {"PAYMENTS_EXPIRY_SCAN_MS", "200"}}};
  auto ep = f.api(
      "POST", "/v1/webhook_endpoints",
      R"({"url":"http://127.0.0.1:)" + std::to_string(receiver.port()) +
          R"(/hooks","enabled_events":["payment_intent.authorization_expiring","payment_intent.expired"]})");
  INFO(ep.response.body);
  REQUIRE(ep.response.status == 200);
  auto pi = f.authorized(700);
  const auto id = str(pi, "id");
  REQUIRE(f.status_becomes(id, "expired", 30s));
  auto count_type = [&](const std::string& type) {
    std::lock_guard g{m};
    std::size_t n = 0;
    for (const auto& b : bodies)
      if (b.find("\"type\":\"" + type + "\"") != std::string::npos &&
          b.find(id) != std::string::npos)
        ++n;
    return n;
  };
  for (int i = 0; i < 100 && count_type("payment_intent.expired") == 0; ++i)
    std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(1s);
  CHECK(count_type("payment_intent.authorization_expiring") == 1);
  CHECK(count_type("payment_intent.expired") == 1);
  CHECK(f.db.count("SELECT count(*) FROM outbound_events WHERE object_id = $1 AND type = "
                   "'payment_intent.authorization_expiring'",
                   {id}) == 1);
  CHECK(f.db.count("SELECT count(*) FROM audit_events WHERE intent_id = $1 AND action = "
                   "'authorization_expiring'",
                   {id}) == 1);
  receiver.stop(0);
}

TEST_CASE("The engine's expiry and the PSP's automatic cancel racing expire the intent once") {
  expiry_fixture f{{{"PAYMENTS_AUTH_VALIDITY", "sandbox=3"}, {"PAYMENTS_EXPIRY_SCAN_MS", "100"}}};
  std::vector<rapidjson::Document> pis;
  for (int i = 0; i < 4; ++i) pis.push_back(f.authorized(100 + i));
  // Stripe's 7 days pass at the engine's deadline: both paths go at once.
  std::this_thread::sleep_for(2500ms);
  f.advance_clock(8 * day_s);
  std::int64_t total = 0;
  for (auto& pi : pis) {
    const auto id = str(pi, "id");
    REQUIRE(f.status_becomes(id, "expired"));
    total += pi["amount"].GetInt64();
  }
  // Let both sides finish: every canceled webhook processed.
  REQUIRE(f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL", 0, 20s));
  std::this_thread::sleep_for(1s);
  for (auto& pi : pis) {
    const auto id = str(pi, "id");
    INFO(id);
    CHECK(f.expiries(id) == 1);
    CHECK(f.hold_releases(id) == 1);
    CHECK(str(f.psp_intent(str(pi, "psp_reference")), "status") == "canceled");
  }
  CHECK(total > 0);
  CHECK(f.holds() == 0);
  CHECK(f.trial_balanced());
}

TEST_CASE(
    "merchant_initiated on create is a JSON boolean that is false when absent and refused "
    "otherwise") {
  auto parse = [](const std::string& json) {
    rapidjson::Document doc;
    REQUIRE(net::parse_json_object(json, doc) == net::json_error::none);
    return net::parse_create_intent(doc);
  };
  auto absent = parse(R"({"amount":100,"currency":"usd"})");
  REQUIRE(absent.has_value());
  CHECK_FALSE(absent->merchant_initiated);
  auto yes = parse(R"({"amount":100,"currency":"usd","merchant_initiated":true})");
  REQUIRE(yes.has_value());
  CHECK(yes->merchant_initiated);
  auto no = parse(R"({"amount":100,"currency":"usd","merchant_initiated":false})");
  REQUIRE(no.has_value());
  CHECK_FALSE(no->merchant_initiated);
  for (const char* bad : {R"("true")", "1", "0", R"("merchant")", "{}", "[true]"}) {
    INFO(bad);
    auto refused =
        parse(std::string(R"({"amount":100,"currency":"usd","merchant_initiated":)") + bad + "}");
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.err().code == core::errc::invalid_request);
    CHECK(refused.err().param == "merchant_initiated");
    CHECK(refused.err().message == "merchant_initiated must be a boolean (true or false).");
  }
}

TEST_CASE(
    "A merchant-initiated Visa authorization is valid 5 days while customer-initiated and "
    "merchant-initiated Mastercard ones get the PSP's 7") {
  expiry_fixture f;
  auto mit = f.authorized(1200, R"(,"merchant_initiated":true)");
  auto cit = f.authorized(1300);
  auto mit_mc = f.authorized(1400, R"(,"merchant_initiated":true)", "pm_card_mastercard");
  CHECK(mit["merchant_initiated"].GetBool());
  CHECK_FALSE(cit["merchant_initiated"].GetBool());

  // Visa's network rule: 5 days from the authorisation, earlier than
  // Stripe's capture_before.
  auto shown = f.get(str(mit, "id"));
  CHECK(shown["merchant_initiated"].GetBool());
  REQUIRE(shown["expires_at"].IsInt64());
  const auto mit_expires = shown["expires_at"].GetInt64();
  CHECK(mit_expires >= unix_now() + 5 * day_s - 60);
  CHECK(mit_expires <= unix_now() + 5 * day_s + 5);

  // Customer-initiated: Stripe's own window (capture_before, 7 days).
  for (const auto* pi : {&cit, &mit_mc}) {
    auto other = f.get(str(*pi, "id"));
    REQUIRE(other["expires_at"].IsInt64());
    CHECK(other["expires_at"].GetInt64() >= unix_now() + 7 * day_s - 60);
    CHECK(other["expires_at"].GetInt64() <= unix_now() + 7 * day_s + 5);
  }
  CHECK(f.db.count("SELECT count(*) FROM payment_intents WHERE merchant_initiated") == 2);

  CHECK(f.holds() == 1200 + 1300 + 1400);
  CHECK(f.trial_balanced());
}

TEST_CASE(
    "A bad merchant_initiated is refused before the PSP is called and a retry that changes it is "
    "an idempotency mismatch") {
  expiry_fixture f;
  const auto creates_before = f.sandbox_requests(R"("path":"/v1/payment_intents")");
  auto bad = f.api("POST", "/v1/payment_intents",
                   R"({"amount":900,"currency":"usd","merchant_initiated":"yes"})", "mit-bad");
  INFO(bad.response.body);
  CHECK(bad.response.status == 400);
  auto err = test::parse_json(bad.response.body);
  CHECK(str(err["error"], "param") == "merchant_initiated");
  CHECK(f.db.count("SELECT count(*) FROM payment_intents") == 0);
  CHECK(f.sandbox_requests(R"("path":"/v1/payment_intents")") == creates_before);

  auto first = f.api("POST", "/v1/payment_intents",
                     R"({"amount":900,"currency":"usd","merchant_initiated":true})", "mit-key");
  INFO(first.response.body);
  REQUIRE(first.response.status == 200);
  CHECK(test::parse_json(first.response.body)["merchant_initiated"].GetBool());
  auto changed = f.api("POST", "/v1/payment_intents",
                       R"({"amount":900,"currency":"usd","merchant_initiated":false})", "mit-key");
  INFO(changed.response.body);
  CHECK(changed.response.status == 422);
  CHECK(changed.response.body.find("idempotency_key_reuse") != std::string::npos);
  auto same = f.api("POST", "/v1/payment_intents",
                    R"({"amount":900,"currency":"usd","merchant_initiated":true})", "mit-key");
  CHECK(same.response.status == 200);
  CHECK(same.response.body == first.response.body);
  CHECK(f.db.count("SELECT count(*) FROM payment_intents WHERE merchant_initiated") == 1);
}

#endif  // PSP_SANDBOX_BIN
