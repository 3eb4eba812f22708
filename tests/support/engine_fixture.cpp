#include "tests/support/engine_fixture.hpp"

#include <catch2/catch.hpp>

namespace pay::test {

std::string str(const rapidjson::Value& v, const char* field) {
  REQUIRE(v.HasMember(field));
  REQUIRE(v[field].IsString());
  return v[field].GetString();
}

}  // namespace pay::test

#ifdef PSP_SANDBOX_BIN

#include <chrono>
#include <utility>

#include "core/ids.hpp"

namespace pay::test {

namespace {

/// How long status_becomes waits for an intent's status.
constexpr auto status_timeout = std::chrono::seconds(20);

std::map<std::string, std::string> sandbox_env(const std::string& engine_base,
                                               const std::string& webhook_secret,
                                               const std::map<std::string, std::string>& webhooks) {
  std::map<std::string, std::string> env{
      {"SANDBOX_WEBHOOK_URL", engine_base + "/v1/webhooks/sandbox"},
      {"SANDBOX_WEBHOOK_SECRET", webhook_secret},
  };
  for (const auto& [name, path] : webhooks) env[name] = engine_base + path;
  return env;
}

}  // namespace

merchant_engine::merchant_engine(const std::string& merchant_name,
                                 const std::string& webhook_secret,
                                 const std::map<std::string, std::string>& sandbox_webhooks,
                                 std::vector<std::string> sandbox_args)
    : merchant(make_merchant(db, merchant_name)),
      sandbox(sandbox_env(base, webhook_secret, sandbox_webhooks), std::move(sandbox_args)) {}

void merchant_engine::start_engine(const std::map<std::string, std::string>& env) {
  // The old engine must release the port before the new one binds it.
  engine.reset();
  engine = std::make_unique<engine_process>(db.url(), env);
}

net::client_result merchant_engine::post(const std::string& path, const std::string& json,
                                         const std::string& idempotency_key) {
  std::vector<net::header> headers{{"Authorization", "Bearer " + merchant.api_key}};
  if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
  return http("POST", engine->base_url() + path, json, headers, "application/json");
}

rapidjson::Document merchant_engine::get(const std::string& path) {
  auto r =
      http("GET", engine->base_url() + path, {}, {{"Authorization", "Bearer " + merchant.api_key}});
  INFO(r.response.body);
  REQUIRE(r.response.status == 200);
  return parse_json(r.response.body);
}

rapidjson::Document merchant_engine::create(const std::string& json,
                                            const std::string& idempotency_key) {
  auto r = post("/v1/payment_intents", json,
                idempotency_key.empty() ? "create-" + core::random_token(8) : idempotency_key);
  INFO(r.response.body);
  REQUIRE(r.response.status == 200);
  return parse_json(r.response.body);
}

bool merchant_engine::status_becomes(const std::string& id, const std::string& status) {
  return db.eventually("SELECT count(*) FROM payment_intents WHERE id = $1 AND status = $2", 1,
                       status_timeout, {id, status});
}

std::int64_t merchant_engine::journals(const std::string& id, const std::string& kind) {
  return db.count("SELECT count(*) FROM ledger_transactions WHERE intent_id = $1 AND kind = $2",
                  {id, kind});
}

bool merchant_engine::books_balance() {
  return db.count(
             "SELECT count(*) FROM (SELECT currency FROM ledger_entries GROUP BY currency "
             "HAVING sum(debit) <> sum(credit)) unbalanced") == 0;
}

}  // namespace pay::test

#endif  // PSP_SANDBOX_BIN
