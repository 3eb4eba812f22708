// Metrics and logs of the real engine: GET /metrics after real traffic
// against the sandbox PSP, checked by Debian's promtool; the scrape without
// a database; request ids across the engine and the PSP; and no secret in
// any log line of a full payment's life.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <rapidjson/document.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "net/form.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

const std::string webhook_secret = "whsec_" + core::random_token(32);
const std::string admin_token = "adm_" + core::random_token(32);

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Runs `command` through the shell with `input` on its stdin; answers its
/// exit status and what it wrote (stdout and stderr).
std::pair<int, std::string> run_with_input(const std::string& command, const std::string& input) {
  auto dir = test::make_temp_dir();
  auto in_path = dir + "/in";
  auto out_path = dir + "/out";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << input;
  }
  int status = std::system((command + " < " + in_path + " > " + out_path + " 2>&1").c_str());
  std::ifstream out(out_path);
  std::stringstream ss;
  ss << out.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
}

/// The samples of an exposition: "name{labels}" -> value.
std::map<std::string, double> samples_of(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    auto value = line.substr(space + 1);
    out[line.substr(0, space)] = value == "+Inf" ? 1e300 : std::stod(value);
  }
  return out;
}

/// An engine and the sandbox delivering its webhooks to it.
struct observed_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "observed");
  std::unique_ptr<test::sandbox_process> sandbox;
  std::unique_ptr<test::engine_process> engine;

  observed_fixture() {
    auto port = test::free_port();
    sandbox = std::make_unique<test::sandbox_process>(std::map<std::string, std::string>{
        {"SANDBOX_WEBHOOK_URL",
         "http://127.0.0.1:" + std::to_string(port) + "/v1/webhooks/sandbox"},
        {"SANDBOX_WEBHOOK_SECRET", webhook_secret},
        {"SANDBOX_WEBHOOK_BACKOFF_BASE_MS", "50"},
        {"SANDBOX_WEBHOOK_BACKOFF_MAX_MS", "500"}});
    engine = std::make_unique<test::engine_process>(
        db.url(),
        std::map<std::string, std::string>{{"PAYMENTS_PORT", std::to_string(port)},
                                           {"PAYMENTS_WEBHOOK_SECRET", webhook_secret},
                                           {"PAYMENTS_ADMIN_TOKEN", admin_token},
                                           {"PAYMENTS_PSP_BASE_URL", sandbox->base_url()},
                                           {"PAYMENTS_PSP_SECRET_KEY", sandbox->secret_key()}});
  }

  std::string url(const std::string& path) const { return engine->base_url() + path; }

  net::client_result post(const std::string& path, const std::string& json,
                          std::vector<net::header> extra = {}) {
    extra.emplace_back("Authorization", "Bearer " + merchant.api_key);
    return test::http("POST", url(path), json, extra, "application/json");
  }

  rapidjson::Document create(std::int64_t amount, const std::string& capture_method,
                             std::vector<net::header> extra = {}) {
    auto r = post("/v1/payment_intents",
                  R"({"amount":)" + std::to_string(amount) +
                      R"(,"currency":"usd","capture_method":")" + capture_method + R"("})",
                  std::move(extra));
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// Confirms at the sandbox as the shopper's browser does.
  void confirm(const rapidjson::Document& pi, const std::string& pm) {
    auto body = net::encode_form(
        {{"payment_method", pm}, {"client_secret", pi["client_secret"].GetString()}});
    auto r = test::http(
        "POST",
        sandbox->base_url() + "/v1/payment_intents/" + pi["psp_reference"].GetString() + "/confirm",
        body, {{"Authorization", "Bearer " + sandbox->publishable_key()}},
        "application/x-www-form-urlencoded");
    REQUIRE(r.answered);
  }

  /// Waits (bounded) until the intent, read through the API, has `status`.
  bool reaches(const std::string& id, const std::string& status) {
    auto until = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < until) {
      auto r = test::http("GET", url("/v1/payment_intents/" + id), {},
                          {{"Authorization", "Bearer " + merchant.api_key}});
      if (r.response.status == 200 &&
          std::string(test::parse_json(r.response.body)["status"].GetString()) == status)
        return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  net::client_result bad_signature_webhook() {
    auto body = R"({"id":"evt_bad_sig","object":"event","type":"payment_intent.succeeded",)"
                R"("data":{"object":{"id":"pi_x","object":"payment_intent"}}})";
    auto header =
        "t=" + std::to_string(now_s()) + ",v1=" +
        core::hmac_sha256_hex("whsec_not_the_secret", std::to_string(now_s()) + "." + body);
    return test::http("POST", url("/v1/webhooks/sandbox"), body, {{"Stripe-Signature", header}},
                      "application/json");
  }

  /// Delivers `body` signed with the engine's webhook secret.
  net::client_result signed_webhook(const std::string& body) {
    auto t = std::to_string(now_s());
    auto header = "t=" + t + ",v1=" + core::hmac_sha256_hex(webhook_secret, t + "." + body);
    return test::http("POST", url("/v1/webhooks/sandbox"), body, {{"Stripe-Signature", header}},
                      "application/json");
  }

  /// A payment's whole life: create, confirm at the PSP, authorised by
  /// webhook, capture, refund; then a declined card; answers the intent.
  rapidjson::Document full_flow(const std::string& request_id = {}) {
    std::vector<net::header> extra;
    if (!request_id.empty()) extra.emplace_back("X-Request-Id", request_id);
    auto pi = create(2500, "manual", extra);
    std::string id = pi["id"].GetString();
    confirm(pi, "pm_card_visa");
    REQUIRE(reaches(id, "authorized"));
    auto cap = post("/v1/payment_intents/" + id + "/capture", "{}", extra);
    INFO(cap.response.body);
    REQUIRE(cap.response.status == 200);
    auto refund = post("/v1/refunds", R"({"payment_intent":")" + id + R"(","amount":500})", extra);
    INFO(refund.response.body);
    REQUIRE(refund.response.status == 200);
    auto declined = create(900, "automatic");
    confirm(declined, "pm_card_chargeDeclined");
    auto until = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < until) {
      auto r =
          test::http("GET", url(std::string("/v1/payment_intents/") + declined["id"].GetString()),
                     {}, {{"Authorization", "Bearer " + merchant.api_key}});
      if (test::parse_json(r.response.body)["last_payment_error"].IsObject()) break;
      std::this_thread::sleep_for(50ms);
    }
    REQUIRE(bad_signature_webhook().response.status == 400);
    return pi;
  }

  std::string scrape() {
    auto r = test::http("GET", url("/metrics"));
    REQUIRE(r.response.status == 200);
    auto type = r.response.header_value("Content-Type").value_or("");
    CHECK(std::string(type).starts_with("text/plain; version=0.0.4"));
    return r.response.body;
  }
};

}  // namespace

TEST_CASE("GET /metrics after real traffic passes promtool check metrics and holds the series") {
  observed_fixture f;
  auto pi = f.full_flow();
  std::string id = pi["id"].GetString();
  // A method the client made up is counted as "other", never as a label of its own.
  test::http("BREW", f.url("/v1/payment_intents"));
  // An event delivered twice (the second is a duplicate), and a signed body
  // that is no event.
  const std::string payout = R"({"id":"evt_payout_twice","object":"event","type":"payout.paid",)"
                             R"("data":{"object":{"id":"po_1","object":"payout"}}})";
  REQUIRE(f.signed_webhook(payout).response.status == 200);
  REQUIRE(f.signed_webhook(payout).response.status == 200);
  REQUIRE(f.signed_webhook(R"({"hello":"world"})").response.status == 400);

  // The outcomes are counted after their commit; the webhook of the decline
  // may land a moment after the API saw it.
  std::map<std::string, double> s;
  auto until = std::chrono::steady_clock::now() + 10s;
  std::string text;
  const std::string declined =
      R"(payments_payment_outcomes_total{psp="sandbox",currency="usd",outcome="declined"})";
  do {
    text = f.scrape();
    s = samples_of(text);
    if (s[declined] >= 1) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < until);

  auto [rc, lint] = run_with_input("promtool check metrics", text);
  INFO(lint);
  CHECK(rc == 0);
  CHECK(lint.empty());

  auto outcome = [&](const std::string& o) {
    return s[R"(payments_payment_outcomes_total{psp="sandbox",currency="usd",outcome=")" + o +
             "\"}"];
  };
  CHECK(outcome("authorized") == 1);
  CHECK(outcome("captured") == 1);
  CHECK(outcome("refunded") == 1);
  INFO(text.substr(0, 3000));
  CHECK(outcome("declined") == 1);
  CHECK(
      s[R"(payments_http_requests_total{route="/v1/payment_intents",method="POST",status="200"})"] ==
      2);
  CHECK(
      s[R"(payments_http_requests_total{route="/v1/payment_intents/{id}/capture",method="POST",status="200"})"] ==
      1);
  CHECK(
      s[R"(payments_http_requests_total{route="/v1/webhooks/{psp}",method="POST",status="400"})"] ==
      2);
  CHECK(s[R"(payments_http_request_duration_seconds_count{route="/v1/refunds",method="POST"})"] ==
        1);
  CHECK(s[R"(payments_psp_call_duration_seconds_count{psp="sandbox",operation="create_intent"})"] ==
        2);
  CHECK(
      s[R"(payments_psp_call_duration_seconds_count{psp="sandbox",operation="capture_intent"})"] ==
      1);
  CHECK(
      s[R"(payments_psp_call_duration_seconds_bucket{psp="sandbox",operation="create_refund",le="+Inf"})"] ==
      1);
  CHECK(
      s[R"(payments_webhook_signature_failures_total{psp="sandbox",reason="no_matching_signature"})"] ==
      1);
  CHECK(s[R"(payments_webhook_receive_duration_seconds_count{psp="sandbox"})"] >= 3);
  CHECK(s[R"(payments_webhook_duplicates_total{psp="sandbox"})"] >= 1);
  CHECK(s[R"(payments_webhook_invalid_events_total{psp="sandbox"})"] == 1);
  CHECK(s[R"(payments_webhook_processing_duration_seconds_count{psp="sandbox"})"] >= 3);
  CHECK(s.count("payments_webhook_queue_depth") == 1);
  CHECK(s.count("payments_webhook_oldest_pending_age_seconds") == 1);
  CHECK(s["payments_dead_letters_open"] == 0);
  CHECK(s.count(R"(payments_ledger_trial_balance_difference_minor{currency="usd",book="real"})") ==
        1);
  CHECK(s[R"(payments_ledger_trial_balance_difference_minor{currency="usd",book="real"})"] == 0);
  CHECK(s[R"(payments_psp_circuit_breaker_state{psp="sandbox",state="closed"})"] == 1);
  CHECK(s[R"(payments_psp_circuit_breaker_state{psp="sandbox",state="open"})"] == 0);
  CHECK(s[R"(payments_actors_live{kind="payment_intent"})"] >= 2);
  CHECK(s.count(R"(payments_actor_mailbox_depth{kind="intent_router"})") == 1);
  CHECK(s[R"(payments_actors_live{kind="psp_gateway"})"] == 1);
  CHECK(s[R"(payments_actors_live{kind="webhook_worker"})"] == 1);
  CHECK(s.count("payments_intent_requests_pending") == 1);
  CHECK(s[R"(payments_scrape_errors_total{source="inbox_stats"})"] == 0);
  // No reconciliation has run here, so its family has no series yet.
  CHECK(text.find("payments_reconciliation_differences{") == std::string::npos);
  // Labels carry route patterns and names, never ids from a request.
  CHECK(text.find(id) == std::string::npos);
  CHECK(text.find("pi_") == std::string::npos);
  CHECK(text.find("BREW") == std::string::npos);
}

TEST_CASE("GET /metrics still answers when the database is unreachable, without its series") {
  observed_fixture f;
  f.create(1000, "manual");
  // Cut the engine off its database: no new connections, existing ones ended.
  auto admin = storage::pg_connection::connect(test::admin_database_url());
  REQUIRE(admin);
  auto off = admin->exec("ALTER DATABASE \"" + f.db.name() + "\" ALLOW_CONNECTIONS false");
  REQUIRE(off.ok());
  auto kill = admin->exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> "
      "pg_backend_pid()",
      {f.db.name()});
  REQUIRE(kill.ok());

  auto started = std::chrono::steady_clock::now();
  auto text = f.scrape();
  auto took = std::chrono::steady_clock::now() - started;
  auto back = admin->exec("ALTER DATABASE \"" + f.db.name() + "\" ALLOW_CONNECTIONS true");
  REQUIRE(back.ok());

  CHECK(took < 10s);
  auto s = samples_of(text);
  CHECK(s.count("payments_webhook_queue_depth") == 0);
  CHECK(s.count("payments_dead_letters_open") == 0);
  CHECK(s[R"(payments_scrape_errors_total{source="inbox_stats"})"] >= 1);
  CHECK(s[R"(payments_scrape_errors_total{source="trial_balance"})"] >= 1);
  // What does not need the database is still there.
  CHECK(s[R"(payments_psp_circuit_breaker_state{psp="sandbox",state="closed"})"] == 1);
  CHECK(
      s[R"(payments_http_requests_total{route="/v1/payment_intents",method="POST",status="200"})"] ==
      1);
  auto [rc, lint] = run_with_input("promtool check metrics", text);
  INFO(lint);
  CHECK(rc == 0);
}

TEST_CASE("A request id given by the client is logged with its intent and reaches the PSP") {
  observed_fixture f;
  const std::string rid = "req-observed-" + core::random_token(8);
  auto pi = f.create(1200, "manual", {{"X-Request-Id", rid}});
  std::string id = pi["id"].GetString();
  // Let the sandbox and engine flush their log lines.
  std::this_thread::sleep_for(200ms);
  auto engine_log = f.engine->process().output();
  auto sandbox_log = f.sandbox->process().output();

  bool access_line = false;
  bool psp_line = false;
  std::istringstream lines(engine_log);
  std::string line;
  while (std::getline(lines, line)) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    INFO(line);
    REQUIRE_FALSE(d.HasParseError());  // every line is one JSON object
    REQUIRE(d.IsObject());
    REQUIRE(d.HasMember("time"));
    REQUIRE(d.HasMember("level"));
    REQUIRE(d.HasMember("msg"));
    auto has = [&](const char* k, const std::string& v) {
      return d.HasMember(k) && d[k].IsString() && d[k].GetString() == v;
    };
    if (has("msg", "request") && has("request_id", rid) && has("intent_id", id) &&
        has("merchant_id", f.merchant.id) && has("route", "/v1/payment_intents"))
      access_line = true;
    // Our id next to the PSP's own Request-Id.
    if (has("msg", "psp call") && has("request_id", rid) && d.HasMember("psp_request_id") &&
        std::string(d["psp_request_id"].GetString()).starts_with("req_"))
      psp_line = true;
  }
  CHECK(access_line);
  CHECK(psp_line);
  // The sandbox saw our id on the create call.
  CHECK(sandbox_log.find("\"client_request_id\":\"" + rid + "\"") != std::string::npos);
}

TEST_CASE("No secret, client secret, API key, webhook secret or admin token appears in any log") {
  observed_fixture f;
  auto pi = f.full_flow();
  std::string client_secret = pi["client_secret"].GetString();
  REQUIRE(client_secret.find("_secret_") != std::string::npos);
  auto admin = test::http("GET", f.url("/v1/admin/dead_letters"), {},
                          {{"Authorization", "Bearer " + admin_token}});
  CHECK(admin.response.status == 200);
  auto refused = test::http("GET", f.url("/v1/admin/dead_letters"), {},
                            {{"Authorization", "Bearer " + admin_token + "x"}});
  CHECK(refused.response.status == 401);
  std::this_thread::sleep_for(200ms);
  auto logs = f.engine->process().output() + f.sandbox->process().output();
  REQUIRE(logs.find("\"msg\":\"request\"") != std::string::npos);  // the logs were captured

  const std::pair<const char*, std::string> secrets[] = {
      {"merchant API key", f.merchant.api_key}, {"PSP secret key", f.sandbox->secret_key()},
      {"webhook secret", webhook_secret},       {"admin token", admin_token},
      {"client secret", client_secret},
  };
  for (const auto& [what, value] : secrets) {
    INFO(what);
    REQUIRE(value.size() >= 16);
    CHECK(logs.find(value) == std::string::npos);
  }
  // Nor any client secret of any intent, whatever its id.
  CHECK(logs.find("_secret_") == std::string::npos);
}

#endif  // PSP_SANDBOX_BIN
