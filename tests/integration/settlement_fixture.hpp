#pragma once

// Shared by the settlement, reconciliation and ledger property tests: the
// real sandbox PSP delivering signed webhooks to the real engine, two
// merchants, PostgreSQL, and helpers that drive payments as a shopper, a
// merchant and the PSP would.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "core/reconciliation.hpp"
#include "net/form.hpp"
#include "psp/stripe/webhook_signature.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

namespace pay::settlement_test {

using namespace std::chrono_literals;

inline std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string today() {
  return core::utc_day_of(now_s());
}

/// A sandbox sending webhooks to an engine, two merchants, an admin token.
struct settlement_fixture {
  const std::string secret = "whsec_" + core::random_token(32);
  const std::string admin = "adm_" + core::random_token(32);
  test::scratch_database db;
  test::test_merchant shop_a = test::make_merchant(db, "shop-a");
  test::test_merchant shop_b = test::make_merchant(db, "shop-b");
  std::unique_ptr<test::sandbox_process> sandbox;
  std::unique_ptr<test::engine_process> engine;
  std::map<std::string, std::string> engine_env;

  /// `extra_env` is added to (and overrides) the engine's environment.
  explicit settlement_fixture(const std::map<std::string, std::string>& extra_env = {}) {
    auto port = test::free_port();
    std::map<std::string, std::string> sandbox_env{
        {"SANDBOX_WEBHOOK_URL",
         "http://127.0.0.1:" + std::to_string(port) + "/v1/webhooks/sandbox"},
        {"SANDBOX_WEBHOOK_SECRET", secret},
        {"SANDBOX_WEBHOOK_BACKOFF_BASE_MS", "50"},
        {"SANDBOX_WEBHOOK_BACKOFF_MAX_MS", "500"},
        {"SANDBOX_WEBHOOK_ATTEMPTS_MAX", "40"},
        {"SANDBOX_OBJECTS_MAX", "1000000"}};
    sandbox = std::make_unique<test::sandbox_process>(sandbox_env);
    engine_env = {{"PAYMENTS_PORT", std::to_string(port)},
                  {"PAYMENTS_WEBHOOK_SECRET", secret},
                  {"PAYMENTS_ADMIN_TOKEN", admin},
                  {"PAYMENTS_PSP_BASE_URL", sandbox->base_url()},
                  {"PAYMENTS_PSP_SECRET_KEY", sandbox->secret_key()},
                  {"PAYMENTS_RECONCILIATION_TIME", "off"}};
    for (const auto& [k, v] : extra_env) engine_env[k] = v;
    engine = std::make_unique<test::engine_process>(db.url(), engine_env);
  }

  std::string url(const std::string& path) const { return engine->base_url() + path; }

  net::client_result merchant_call(const test::test_merchant& m, const std::string& method,
                                   const std::string& path, const std::string& json = {}) {
    return test::http(method, url(path), json, {{"Authorization", "Bearer " + m.api_key}},
                      json.empty() ? std::string() : "application/json");
  }

  net::client_result admin_call(const std::string& method, const std::string& path,
                                const std::string& json = {}) {
    return test::http(method, url(path), json, {{"Authorization", "Bearer " + admin}},
                      json.empty() ? std::string() : "application/json");
  }

  net::client_result psp_call(const std::string& method, const std::string& path,
                              const std::string& form = {}) {
    return test::http(method, sandbox->base_url() + path, form,
                      {{"Authorization", "Bearer " + sandbox->secret_key()}},
                      form.empty() ? std::string() : "application/x-www-form-urlencoded");
  }

  rapidjson::Document create(const test::test_merchant& m, std::int64_t amount,
                             const std::string& capture_method,
                             const std::string& currency = "usd") {
    auto r = merchant_call(m, "POST", "/v1/payment_intents",
                           R"({"amount":)" + std::to_string(amount) + R"(,"currency":")" +
                               currency + R"(","capture_method":")" + capture_method + R"("})");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// Confirms at the sandbox as the shopper's browser does; answers the status.
  int confirm(const rapidjson::Document& pi, const std::string& pm) {
    auto body = net::encode_form(
        {{"payment_method", pm}, {"client_secret", pi["client_secret"].GetString()}});
    auto r = test::http(
        "POST",
        sandbox->base_url() + "/v1/payment_intents/" + pi["psp_reference"].GetString() + "/confirm",
        body, {{"Authorization", "Bearer " + sandbox->publishable_key()}},
        "application/x-www-form-urlencoded");
    REQUIRE(r.answered);
    return r.response.status;
  }

  void finish_3ds(const std::string& psp_id, bool approve) {
    auto r = psp_call("POST", "/_sandbox/3ds/" + psp_id + (approve ? "/approve" : "/fail"));
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
  }

  /// The engine's intent (a pending one is refreshed from the PSP on read).
  rapidjson::Document intent(const test::test_merchant& m, const std::string& id) {
    auto r = merchant_call(m, "GET", "/v1/payment_intents/" + id);
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// Reads the intent until its status is `status` (bounded).
  rapidjson::Document wait_status(const test::test_merchant& m, const std::string& id,
                                  const std::string& status) {
    auto until = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      auto doc = intent(m, id);
      if (doc["status"].GetString() == status || std::chrono::steady_clock::now() > until)
        return doc;
      std::this_thread::sleep_for(20ms);
    }
  }

  /// A paid automatic payment of `amount`, captured in the engine's books.
  std::string paid(const test::test_merchant& m, std::int64_t amount,
                   const std::string& currency = "usd") {
    auto pi = create(m, amount, "automatic", currency);
    REQUIRE(confirm(pi, "pm_card_visa") == 200);
    std::string id = pi["id"].GetString();
    auto after = wait_status(m, id, "captured");
    REQUIRE(after["status"].GetString() == std::string("captured"));
    return id;
  }

  net::client_result refund(const test::test_merchant& m, const std::string& id,
                            std::int64_t amount) {
    return merchant_call(
        m, "POST", "/v1/refunds",
        R"({"payment_intent":")" + id + R"(","amount":)" + std::to_string(amount) + "}");
  }

  /// Runs the sandbox's settlement; answers the new payouts' ids.
  std::vector<std::string> settle() {
    auto r = psp_call("POST", "/_sandbox/settlement/run");
    REQUIRE(r.response.status == 200);
    auto doc = test::parse_json(r.response.body);
    std::vector<std::string> ids;
    for (const auto& p : doc["data"].GetArray()) ids.emplace_back(p["id"].GetString());
    return ids;
  }

  std::int64_t count(const std::string& sql, const std::vector<storage::pg_param>& params = {}) {
    return db.count(sql, params);
  }

  /// Waits (bounded) until `sql` counts `expected`.
  bool eventually(const std::string& sql, std::int64_t expected,
                  std::chrono::milliseconds limit = 20s,
                  const std::vector<storage::pg_param>& params = {}) {
    return db.eventually(sql, expected, limit, params);
  }

  /// Waits until every payout in `ids` is booked.
  void wait_booked(const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      INFO("payout " << id);
      REQUIRE(eventually("SELECT count(*) FROM settlement_payouts WHERE psp_payout_id = $1", 1, 30s,
                         {id}));
    }
  }

  /// The balance of an account key in a currency, on its normal side
  /// (debit-normal accounts only: receivable, bank, fees).
  std::int64_t debit_balance(const std::string& key, const std::string& currency = "usd") {
    return count(
        "SELECT coalesce(sum(e.debit - e.credit), 0)::bigint FROM ledger_entries e JOIN "
        "ledger_accounts a ON a.id = e.account_id WHERE a.key = $1 AND a.currency = $2",
        {key, currency});
  }

  /// Every currency's debits equal its credits, over all entries.
  bool trial_balanced() {
    return count(
               "SELECT count(*) FROM (SELECT currency FROM ledger_entries GROUP BY currency "
               "HAVING sum(debit) <> sum(credit)) x") == 0;
  }

  /// The sandbox's JSON of one of its objects.
  rapidjson::Document psp_object(const std::string& path) {
    auto r = psp_call("GET", path);
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// POST /v1/admin/reconciliation/runs.
  rapidjson::Document reconcile(const std::string& day, bool rerun = false) {
    auto r = admin_call(
        "POST", "/v1/admin/reconciliation/runs",
        R"({"date":")" + day + R"(","psp":"sandbox","rerun":)" + (rerun ? "true" : "false") + "}");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// A run's differences as "kind/object" strings, sorted.
  static std::vector<std::string> kinds_of(const rapidjson::Document& run) {
    std::vector<std::string> out;
    for (const auto& d : run["differences"].GetArray())
      out.push_back(std::string(d["kind"].GetString()) + "/" + d["object"].GetString());
    std::sort(out.begin(), out.end());
    return out;
  }

  /// Delivers `body` to the engine, signed as the sandbox signs.
  net::client_result deliver(const test::engine_process& to, const std::string& body) {
    return test::http("POST", to.base_url() + "/v1/webhooks/sandbox", body,
                      {{"Stripe-Signature", psp::make_stripe_signature_header(
                                                std::vector<std::string>{secret}, now_s(), body)}},
                      "application/json");
  }

  /// The sandbox's newest event of `type` about `object_id`, as JSON text.
  std::string psp_event(const std::string& type, const std::string& object_id) {
    auto doc = psp_object("/v1/events?limit=100&type=" + type);
    for (const auto& e : doc["data"].GetArray())
      if (std::string(e["data"]["object"]["id"].GetString()) == object_id) {
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        e.Accept(writer);
        return {buffer.GetString(), buffer.GetSize()};
      }
    FAIL("no " << type << " event about " << object_id);
    return {};
  }
};

}  // namespace pay::settlement_test

#endif  // PSP_SANDBOX_BIN
