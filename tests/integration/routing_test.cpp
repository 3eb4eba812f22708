// Routing between PSPs and failover at create (issue 15), over real HTTP,
// against real PostgreSQL and the psp-sandbox binary speaking Stripe's and
// Adyen's wire formats: rules by currency send payments to the right PSP,
// bad rules are refused and store nothing, and with the Stripe mode failing
// every call new creates complete at Adyen within one breaker trip, a
// retried create answers the same intent, and creates move back to Stripe
// when it recovers.

#include <catch2/catch.hpp>

#ifdef PSP_SANDBOX_BIN

#include <chrono>
#include <csignal>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <rapidjson/document.h>

#include "core/ids.hpp"
#include "core/limits.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

const std::string stripe_secret = "whsec_routing_test_secret";
const std::string admin_token = "adm_routing_test_token_0123456789abcdef";

using test::str;

struct routing_fixture : test::merchant_engine {
  explicit routing_fixture(std::map<std::string, std::string> extra = {})
      : merchant_engine("routing", stripe_secret,
                        {{"SANDBOX_ADYEN_WEBHOOK_URL", "/v1/webhooks/adyen"}}) {
    start(std::move(extra));
  }

  /// Starts the engine (a test that kills it starts the next one).
  void start(std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> env{
        {"PAYMENTS_WEBHOOK_SECRET", stripe_secret},
        {"PAYMENTS_ADMIN_TOKEN", admin_token},
        // A short breaker: two failures open it for 1.5 s.
        {"PAYMENTS_BREAKER_FAILURES", "2"},
        {"PAYMENTS_BREAKER_OPEN_MS", "1500"},
    };
    for (auto& [k, v] : extra) env[k] = v;
    start_engine(test::adyen_engine_env(sandbox, port, std::move(env)));
  }

  /// The sandbox's Adyen sessions, all merchants.
  std::int64_t adyen_sessions() {
    auto r = test::http("GET", sandbox.base_url() + "/_sandbox/state", {},
                        {{"Authorization", "Bearer " + sandbox.secret_key()}});
    REQUIRE(r.response.status == 200);
    auto doc = test::parse_json(r.response.body);
    return doc["adyen"]["sessions"].GetInt64();
  }

  net::client_result get_raw(const std::string& path, const std::string& bearer) {
    return test::http("GET", engine->base_url() + path, {},
                      {{"Authorization", "Bearer " + bearer}});
  }

  rapidjson::Document set_rules(const std::string& json) {
    auto r = post("/v1/routing", json);
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  void set_faults(const std::string& json) {
    auto r = test::http("POST", sandbox.base_url() + "/_sandbox/faults", json,
                        {{"Authorization", "Bearer " + sandbox.secret_key()}}, "application/json");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
  }

  std::int64_t count(const std::string& sql) {
    auto conn = db.connect();
    auto r = conn.exec(sql, {merchant.id});
    REQUIRE(r.ok());
    return r.rows.int64(0, 0);
  }
};

}  // namespace

TEST_CASE("Routing rules by currency send new payments to the right PSP, and bad rules are refused",
          "[routing]") {
  routing_fixture f;
  auto empty = f.get("/v1/routing");
  CHECK(empty["version"].GetInt64() == 0);
  CHECK(empty["rules"].Size() == 0);

  auto set = f.set_rules(R"({"rules":[{"currency":"eur","psps":["adyen","stripe"]},)"
                         R"({"amount_min":100000,"psps":[{"psp":"stripe","weight":1}]}],)"
                         R"("default_psps":["stripe","adyen"]})");
  CHECK(set["version"].GetInt64() == 1);
  // The alias is stored as its account's name.
  CHECK(str(set["rules"][1]["psps"][0], "psp") == "sandbox");

  auto eur = f.create(R"({"amount":1500,"currency":"eur"})", "eur-" + core::random_token(8));
  CHECK(str(eur, "psp") == "adyen");
  auto usd = f.create(R"({"amount":1500,"currency":"usd"})", "usd-" + core::random_token(8));
  CHECK(str(usd, "psp") == "sandbox");
  // A request that names its PSP is not routed.
  auto named = f.create(R"({"amount":1500,"currency":"eur","psp":"stripe"})",
                        "named-" + core::random_token(8));
  CHECK(str(named, "psp") == "sandbox");

  // The audit row says where the create was routed and why.
  auto events = f.get("/v1/payment_intents/" + str(eur, "id") + "/events");
  REQUIRE(events["data"].Size() >= 1);
  std::string causes;
  for (const auto& e : events["data"].GetArray()) causes += str(e, "cause") + "\n";
  CHECK(causes.find("routed to adyen: rule 0") != std::string::npos);

  // Bad rules: refused with the field named, nothing stored.
  auto refused = [&](const std::string& json, const std::string& param) {
    auto r = f.post("/v1/routing", json);
    INFO(r.response.body);
    CHECK(r.response.status == 400);
    auto body = test::parse_json(r.response.body);
    CHECK(str(body["error"], "param") == param);
  };
  refused(R"({"rules":[{"currency":"eur","psps":["paypal"]}]})", "rules[0].psps[0].psp");
  refused(R"({"rules":[{"amount_min":10,"amount_max":5,"psps":["adyen"]}]})",
          "rules[0].amount_min");
  refused(R"({"rules":[{"currency":"eur","psps":[]}]})", "rules[0].psps");
  refused(R"({"rules":[{"psps":["adyen","adyen"]}]})", "rules[0].psps[1].psp");
  refused(R"({"rules":[{"psps":[{"psp":"adyen","weight":0}]}]})", "rules[0].psps[0].weight");
  refused(R"({"rules":[{"country":"de","psps":["adyen"]}]})", "rules[0].country");
  refused(R"({"default_psps":["nowhere"]})", "default_psps[0].psp");
  auto after = f.get("/v1/routing");
  CHECK(after["version"].GetInt64() == 1);
  CHECK(after["rules"].Size() == 2);
  CHECK(after["recent_decisions"].Size() >= 2);

  // One audit event per replace.
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE merchant_id = $1 "
                "AND action = 'merchant_routing'") == 1);
  f.set_rules(R"({"default_psps":["adyen"]})");
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE merchant_id = $1 "
                "AND action = 'merchant_routing'") == 2);
  auto by_default = f.create(R"({"amount":700,"currency":"eur"})", "dflt-" + core::random_token(8));
  CHECK(str(by_default, "psp") == "adyen");
}

TEST_CASE(
    "Routing rules another engine process stores apply within routing_rules_cache_ttl_s and "
    "rules replaced through this engine at once",
    "[routing]") {
  routing_fixture f;
  // No rules: routed to the merchant's default (and the rules, none, cached).
  auto first = f.create(R"({"amount":900,"currency":"eur"})", "ttl0-" + core::random_token(8));
  CHECK(str(first, "psp") == "sandbox");
  // Another engine process replaces the rules: here only the database shows it.
  f.db.query(
      "INSERT INTO routing_versions (merchant_id, version, default_psps, actor) "
      "VALUES ($1, 1, 'adyen:1', 'another engine')",
      {f.merchant.id});
  const auto written = std::chrono::steady_clock::now();
  const auto ttl = std::chrono::seconds(core::limits::routing_rules_cache_ttl_s);
  std::string psp;
  for (int n = 1; std::chrono::steady_clock::now() - written < ttl + 3s; ++n) {
    auto pi = f.create(R"({"amount":900,"currency":"eur"})",
                       "ttl" + std::to_string(n) + "-" + core::random_token(8));
    psp = str(pi, "psp");
    if (psp == "adyen") break;
    std::this_thread::sleep_for(100ms);
  }
  const auto took = std::chrono::steady_clock::now() - written;
  CHECK(psp == "adyen");
  CHECK(took <= ttl + 1s);
  // Rules replaced through this engine apply to the very next create, and
  // GET /v1/routing shows them at once.
  f.set_rules(R"({"default_psps":["stripe"]})");
  CHECK(f.get("/v1/routing")["version"].GetInt64() == 2);
  auto back = f.create(R"({"amount":900,"currency":"eur"})", "ttlb-" + core::random_token(8));
  CHECK(str(back, "psp") == "sandbox");
}

TEST_CASE(
    "With Stripe failing, new creates complete at Adyen within one breaker trip, a retry "
    "answers the same intent, and creates move back once Stripe recovers",
    "[routing]") {
  routing_fixture f;
  f.set_rules(R"({"default_psps":["stripe","adyen"]})");
  auto first = f.create(R"({"amount":1000,"currency":"eur"})", "before-" + core::random_token(8));
  CHECK(str(first, "psp") == "sandbox");

  f.set_faults(R"({"psp":"stripe","error_percent":100})");
  std::set<std::string> ids{str(first, "id")};
  std::vector<std::pair<std::string, std::string>> made;  // key, id
  for (int i = 0; i < 6; ++i) {
    auto key = "outage-" + std::to_string(i) + "-" + core::random_token(8);
    auto pi = f.create(R"({"amount":1000,"currency":"eur"})", key);
    INFO("create " << i);
    CHECK(str(pi, "psp") == "adyen");
    CHECK(str(pi, "status") == "created");
    ids.insert(str(pi, "id"));
    made.emplace_back(key, str(pi, "id"));
  }
  // A retry of a failed-over create answers the same intent, at Adyen.
  for (const auto& [key, id] : made) {
    auto again = f.create(R"({"amount":1000,"currency":"eur"})", key);
    CHECK(str(again, "id") == id);
    CHECK(str(again, "psp") == "adyen");
  }
  // The audit row names the PSP left and why.
  auto events = f.get("/v1/payment_intents/" + made.front().second + "/events");
  std::string causes;
  for (const auto& e : events["data"].GetArray()) causes += str(e, "cause") + "\n";
  INFO(causes);
  CHECK(causes.find("routed to adyen: sandbox ") != std::string::npos);
  // Later creates found the breaker open: no call to Stripe at all.
  auto metrics = test::http("GET", f.engine->base_url() + "/metrics", {}, {}).response.body;
  CHECK(metrics.find("payments_routing_failovers_total{psp=\"sandbox\",to=\"adyen\",reason=\""
                     "breaker_open\"}") != std::string::npos);
  CHECK(metrics.find("payments_routing_decisions_total{psp=\"adyen\",reason=\"failover\"} 6") !=
        std::string::npos);
  // Every attempt was recorded before its PSP call.
  CHECK(f.count("SELECT count(*) FROM routing_attempts WHERE merchant_id = $1 AND attempt = 1 "
                "AND psp = 'adyen'") == 6);

  // The inspector shows the last decisions.
  auto decisions = f.get_raw("/v1/admin/routing/decisions", admin_token);
  REQUIRE(decisions.response.status == 200);
  CHECK(decisions.response.body.find(made.back().second) != std::string::npos);

  // Stripe recovers: once the breaker lets a probe through, creates go back.
  f.set_faults(R"({"psp":"stripe","reset":true})");
  std::this_thread::sleep_for(1600ms);
  auto back = f.create(R"({"amount":1000,"currency":"eur"})", "after-" + core::random_token(8));
  CHECK(str(back, "psp") == "sandbox");
  ids.insert(str(back, "id"));

  // Nothing doubled: one engine intent per key.
  auto list = f.get("/v1/payment_intents?limit=100");
  CHECK(list["data"].Size() == ids.size());
  CHECK(f.count("SELECT count(*) FROM payment_intents WHERE merchant_id = $1") ==
        static_cast<std::int64_t>(ids.size()));
}

TEST_CASE(
    "A failed-over create whose engine died after Adyen made the session resumes at "
    "Adyen on retry: one intent, one session",
    "[routing]") {
  routing_fixture f{{{"PAYMENTS_FAILPOINT", "after_psp_create"}}};
  f.set_rules(R"({"default_psps":["stripe","adyen"]})");
  f.set_faults(R"({"psp":"stripe","error_percent":100})");
  const std::string body = R"({"amount":2500,"currency":"eur"})";
  auto lost = f.post("/v1/payment_intents", body, "crash-after-failover");
  CHECK_FALSE(lost.answered);
  CHECK(f.engine->process().wait(10s) == 137);
  CHECK(f.adyen_sessions() == 1);
  CHECK(f.count("SELECT count(*) FROM payment_intents WHERE merchant_id = $1") == 0);
  CHECK(f.count("SELECT count(*) FROM routing_attempts WHERE merchant_id = $1") == 2);

  // Stripe is back, but the create continues where it last was: at Adyen,
  // with that attempt's key, so Adyen answers the session it made.
  f.set_faults(R"({"psp":"stripe","reset":true})");
  f.start();
  auto retried = f.create(body, "crash-after-failover");
  CHECK(str(retried, "psp") == "adyen");
  CHECK(f.adyen_sessions() == 1);
  CHECK(f.count("SELECT count(*) FROM payment_intents WHERE merchant_id = $1") == 1);
  CHECK(f.count("SELECT count(*) FROM routing_attempts WHERE merchant_id = $1") == 2);
  auto again = f.create(body, "crash-after-failover");
  CHECK(str(again, "id") == str(retried, "id"));

  // The Stripe attempt got a 5xx, so it may have made an intent: the engine
  // sends that create again with its key and cancels what Stripe answers.
  auto orphan_handled = [&] {
    for (int i = 0; i < 50; ++i) {
      if (f.count("SELECT count(*) FROM routing_orphans o JOIN routing_attempts a USING "
                  "(intent_id, attempt) WHERE a.merchant_id = $1 AND a.psp = 'sandbox' "
                  "AND o.outcome = 'canceled'") == 1)
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  CHECK(orphan_handled());

  // The canceled orphan's own events (created, canceled) name the engine's
  // intent, which lives at Adyen: past the grace window they are recorded
  // as a routing orphan's, not retried for ever, and the inbox drains.
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE psp = 'sandbox' AND outcome = "
                      "'routing_orphan' AND event_type IN ('payment_intent.created', "
                      "'payment_intent.canceled')",
                      2, 30s));
  CHECK(
      f.db.eventually("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL AND "
                      "dead_lettered_at IS NULL",
                      0, 30s));
}

TEST_CASE(
    "An event naming an engine intent that exists at no PSP keeps waiting past the grace window, "
    "and the engine keeps running",
    "[routing]") {
  routing_fixture f;
  // A PSP intent carrying an engine id the engine never made (as a create
  // still committing would): its events name that id.
  auto made = test::http("POST", f.sandbox.base_url() + "/v1/payment_intents",
                         "amount=1000&currency=eur&metadata[engine_intent_id]=pi_"
                         "NoSuchEngineIntent0000000",
                         {{"Authorization", "Bearer " + f.sandbox.secret_key()}},
                         "application/x-www-form-urlencoded");
  INFO(made.response.body);
  REQUIRE(made.response.status == 200);
  // Past the grace window (5 s) the worker asks every other PSP for the id,
  // finds it nowhere, and keeps the event waiting: a failed attempt is
  // recorded after the window, and the event stays unprocessed.
  CHECK(f.db.eventually(
      "SELECT count(*) FROM (SELECT 1 FROM webhook_attempts a JOIN webhook_inbox i ON i.id = "
      "a.inbox_id WHERE i.psp = 'sandbox' AND i.event_type = 'payment_intent.created' AND "
      "i.processed_at IS NULL AND a.at > i.received_at + interval '5500 milliseconds' LIMIT 1) x",
      1, 60s));
  auto ready = test::http("GET", f.engine->base_url() + "/readyz", {}, {});
  CHECK(ready.response.status == 200);
  CHECK(f.db.count("SELECT count(*) FROM webhook_inbox WHERE outcome IN ('routing_orphan', "
                   "'foreign')") == 0);
}

TEST_CASE(
    "An orphan a failed-over create left at Stripe, not canceled before the engine died and "
    "Stripe was down, is found and canceled by the restarted engine's rescan, recorded once",
    "[routing][orphan]") {
  routing_fixture f;
  f.set_rules(R"({"default_psps":["stripe","adyen"]})");
  // Stripe makes the intent but holds its answer past the engine's PSP
  // timeout (5 s): the create fails over to Adyen, and the Stripe intent
  // is an orphan.
  f.set_faults(R"({"psp":"stripe","hang_percent":100,"hang_ms":8000})");
  const std::string body = R"({"amount":4200,"currency":"eur"})";
  auto answer = std::async(std::launch::async, [&] {
    return test::http(
        "POST", f.engine->base_url() + "/v1/payment_intents", body,
        {{"Authorization", "Bearer " + f.merchant.api_key}, {"Idempotency-Key", "orphan-rescan-1"}},
        "application/json");
  });
  // While the create waits on Stripe, Stripe goes down altogether, so the
  // engine's background cancel (right after the create answers) fails.
  std::this_thread::sleep_for(1500ms);
  f.set_faults(R"({"psp":"stripe","hang_percent":0,"error_percent":100})");
  auto created = answer.get();
  INFO(created.response.body);
  REQUIRE(created.response.status == 200);
  auto pi = test::parse_json(created.response.body);
  CHECK(str(pi, "psp") == "adyen");
  const auto intent_id = str(pi, "id");
  CHECK(f.count("SELECT count(*) FROM routing_attempts WHERE merchant_id = $1 AND "
                "previous_may_exist") == 1);
  // The background cancel has run and failed (Stripe answers 5xx): nothing
  // is recorded. Then the engine dies.
  std::this_thread::sleep_for(1500ms);
  const std::string orphans =
      "SELECT count(*) FROM routing_orphans o JOIN routing_attempts a USING (intent_id, attempt) "
      "WHERE a.merchant_id = $1";
  CHECK(f.count(orphans) == 0);
  f.engine->process().send_signal(SIGKILL);
  CHECK(f.engine->process().wait(10s) == 128 + SIGKILL);

  // Stripe recovers; a restarted engine's rescan (no grace window here)
  // sends the Stripe create again with that attempt's key, so Stripe
  // answers the intent it made then, and cancels it.
  f.set_faults(R"({"psp":"stripe","reset":true})");
  auto sandbox_state = [&] {
    auto r = test::http("GET", f.sandbox.base_url() + "/_sandbox/state", {},
                        {{"Authorization", "Bearer " + f.sandbox.secret_key()}});
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  };
  CHECK(sandbox_state()["objects"]["payment_intents"].GetInt64() == 1);
  f.start({{"PAYMENTS_ORPHAN_SCAN_MS", "200"}, {"PAYMENTS_ORPHAN_GRACE_MS", "0"}});
  CHECK(f.db.eventually("SELECT count(*) FROM routing_orphans WHERE outcome = 'canceled'", 1, 30s));
  REQUIRE(f.count(orphans) == 1);
  auto conn = f.db.connect();
  auto row = conn.exec(
      "SELECT o.intent_id, o.attempt, a.psp, o.psp_reference FROM routing_orphans o "
      "JOIN routing_attempts a USING (intent_id, attempt)",
      {});
  REQUIRE(row.ok());
  REQUIRE(row.rows.size() == 1);
  CHECK(row.rows.text(0, 0) == intent_id);
  CHECK(row.rows.int64(0, 1) == 0);
  CHECK(row.rows.text(0, 2) == "sandbox");
  const auto ref = std::string(row.rows.text(0, 3));

  // Canceled at Stripe: the very intent the first attempt made (no second
  // one), carrying the engine's id.
  auto at_stripe = test::http("GET", f.sandbox.base_url() + "/v1/payment_intents/" + ref, {},
                              {{"Authorization", "Bearer " + f.sandbox.secret_key()}});
  INFO(at_stripe.response.body);
  REQUIRE(at_stripe.response.status == 200);
  auto spi = test::parse_json(at_stripe.response.body);
  CHECK(str(spi, "status") == "canceled");
  CHECK(std::string(spi["metadata"]["engine_intent_id"].GetString()) == intent_id);
  CHECK(sandbox_state()["objects"]["payment_intents"].GetInt64() == 1);

  // Recorded once: later passes find nothing more to do, and /metrics says so.
  std::this_thread::sleep_for(1s);
  CHECK(f.count(orphans) == 1);
  auto metrics = test::http("GET", f.engine->base_url() + "/metrics");
  REQUIRE(metrics.response.status == 200);
  CHECK(metrics.response.body.find("payments_routing_orphans{state=\"canceled\"} 1") !=
        std::string::npos);
  CHECK(metrics.response.body.find("payments_routing_orphans{state=\"pending\"} 0") !=
        std::string::npos);
  CHECK(metrics.response.body.find(
            "payments_routing_orphan_passes_total{psp=\"sandbox\",result=\"handled\"} 1") !=
        std::string::npos);
  // The Adyen intent is untouched.
  auto read = f.get("/v1/payment_intents/" + intent_id);
  CHECK(str(read, "psp") == "adyen");
  CHECK(str(read, "status") != "canceled");
}

TEST_CASE(
    "A payment link that names no PSP is routed at each visit: rules send EUR to Adyen, and with "
    "Stripe failing every call a session's create fails over",
    "[routing][links]") {
  routing_fixture f;
  f.set_rules(R"({"rules":[{"currency":"eur","psps":["adyen"]}],)"
              R"("default_psps":["stripe","adyen"]})");
  auto make_link = [&](const std::string& json) {
    auto r = f.post("/v1/payment_links", json, "link-" + core::random_token(8));
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return str(test::parse_json(r.response.body), "id");
  };
  // A shopper opens the link: the session makes the visit's intent.
  auto visit = [&](const std::string& link) {
    auto r = test::http("POST", f.engine->base_url() + "/pay/" + link + "/session", {}, {});
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    auto conn = f.db.connect();
    auto q = conn.exec(
        "SELECT i.psp, i.id FROM payment_link_visits v JOIN payment_intents i ON i.id = "
        "v.intent_id WHERE v.link_id = $1 ORDER BY v.created_at DESC LIMIT 1",
        {link});
    REQUIRE(q.ok());
    REQUIRE(q.rows.size() == 1);
    return std::make_pair(std::string(q.rows.text(0, 0)), std::string(q.rows.text(0, 1)));
  };
  auto causes_of = [&](const std::string& intent_id) {
    auto events = f.get("/v1/payment_intents/" + intent_id + "/events");
    std::string causes;
    for (const auto& e : events["data"].GetArray()) causes += str(e, "cause") + "\n";
    return causes;
  };

  // EUR goes to Adyen by rule 0.
  auto eur = make_link(R"({"amount":1500,"currency":"eur"})");
  auto [eur_psp, eur_id] = visit(eur);
  CHECK(eur_psp == "adyen");
  CHECK(causes_of(eur_id).find("routed to adyen: rule 0") != std::string::npos);
  // USD matches no rule: the default list, Stripe first.
  auto usd = make_link(R"({"amount":1500,"currency":"usd"})");
  CHECK(visit(usd).first == "sandbox");
  // A link that names its PSP keeps it, whatever the rules say.
  auto named = make_link(R"({"amount":1500,"currency":"eur","psp":"stripe"})");
  CHECK(visit(named).first == "sandbox");

  // Stripe fails every call: a new visit of the USD link fails over to
  // Adyen, recorded as a routed create's attempts are.
  f.set_faults(R"({"psp":"stripe","error_percent":100})");
  auto [over_psp, over_id] = visit(usd);
  CHECK(over_psp == "adyen");
  INFO(causes_of(over_id));
  CHECK(causes_of(over_id).find("routed to adyen: sandbox ") != std::string::npos);
  CHECK(f.count("SELECT count(*) FROM routing_attempts WHERE merchant_id = $1 AND intent_id = '" +
                over_id + "' AND attempt = 1 AND psp = 'adyen'") == 1);
  // The named link's visit does not fail over: it answers Stripe's failure.
  auto failed = test::http("POST", f.engine->base_url() + "/pay/" + named + "/session", {}, {});
  CHECK(failed.response.status == 503);
  f.set_faults(R"({"psp":"stripe","reset":true})");
}

TEST_CASE(
    "A PSP no longer configured is skipped, with an audit note, when another of the list is: "
    "a retry resumes at the next PSP instead of answering 503",
    "[routing]") {
  routing_fixture f{{{"PAYMENTS_FAILPOINT", "after_psp_create"}}};
  f.set_rules(R"({"default_psps":["adyen","stripe"]})");
  const std::string body = R"({"amount":3100,"currency":"eur"})";
  // The engine dies after Adyen made the session, before the intent's row.
  auto lost = f.post("/v1/payment_intents", body, "gone-psp");
  CHECK_FALSE(lost.answered);
  CHECK(f.engine->process().wait(10s) == 137);
  CHECK(f.count("SELECT count(*) FROM routing_attempts WHERE merchant_id = $1 AND psp = "
                "'adyen'") == 1);

  // Restarted without Adyen: the retry continues at Stripe, the next PSP of
  // its stored list, with a new attempt that says why.
  f.start({{"PAYMENTS_ADYEN_API_KEY", ""}});
  auto retried = f.create(body, "gone-psp");
  CHECK(str(retried, "psp") == "sandbox");
  CHECK(f.count("SELECT count(*) FROM routing_attempts WHERE merchant_id = $1 AND attempt = 1 "
                "AND psp = 'sandbox' AND reason = 'adyen not configured' AND "
                "previous_may_exist") == 1);
  auto causes_of = [&](const std::string& id) {
    auto events = f.get("/v1/payment_intents/" + id + "/events");
    std::string causes;
    for (const auto& e : events["data"].GetArray()) causes += str(e, "cause") + "\n";
    return causes;
  };
  auto causes = causes_of(str(retried, "id"));
  INFO(causes);
  CHECK(causes.find("routed to sandbox: adyen not configured") != std::string::npos);
  CHECK(causes.find("adyen skipped: not configured") != std::string::npos);
  CHECK(str(f.create(body, "gone-psp"), "id") == str(retried, "id"));

  // A new create: the rules' Adyen is skipped, and the audit says so.
  auto fresh = f.create(body, "gone-psp-fresh");
  CHECK(str(fresh, "psp") == "sandbox");
  CHECK(causes_of(str(fresh, "id")).find("adyen skipped: not configured") != std::string::npos);
}

TEST_CASE(
    "A retry that resumes at a PSP whose breaker is now open still counts what the dead try made "
    "there as an orphan, and the rescan handles it",
    "[routing][orphan]") {
  routing_fixture f{{{"PAYMENTS_FAILPOINT", "after_psp_create"}}};
  f.set_rules(R"({"default_psps":["adyen","stripe"]})");
  const std::string body = R"({"amount":2700,"currency":"eur"})";
  // The engine dies after Adyen made the session, before the intent's row.
  auto lost = f.post("/v1/payment_intents", body, "resume-open");
  CHECK_FALSE(lost.answered);
  CHECK(f.engine->process().wait(10s) == 137);
  CHECK(f.adyen_sessions() == 1);

  // Restarted; Adyen fails, and two creates naming it open its breaker.
  f.start({{"PAYMENTS_ORPHAN_SCAN_MS", "200"}, {"PAYMENTS_ORPHAN_GRACE_MS", "0"}});
  f.set_faults(R"({"psp":"adyen","error_percent":100})");
  for (int i = 0; i < 2; ++i)
    CHECK(f.post("/v1/payment_intents", R"({"amount":100,"currency":"eur","psp":"adyen"})")
              .response.status == 503);
  // The retry resumes at Adyen, is refused at once (breaker open, Adyen not
  // called) and fails over to Stripe; Adyen's session from the dead try is
  // a possible orphan all the same.
  auto retried = f.create(body, "resume-open");
  CHECK(str(retried, "psp") == "sandbox");
  CHECK(f.count("SELECT count(*) FROM routing_attempts WHERE merchant_id = $1 AND attempt = 1 "
                "AND psp = 'sandbox' AND previous_may_exist") == 1);
  // Adyen recovers: the rescan finds the session (same key) and, as Adyen
  // refuses to cancel a session, records that it lapses by itself.
  f.set_faults(R"({"psp":"adyen","reset":true})");
  CHECK(
      f.db.eventually("SELECT count(*) FROM routing_orphans WHERE attempt = 0 AND outcome = "
                      "'expires' AND psp_reference IS NOT NULL",
                      1, 60s));
  CHECK(f.adyen_sessions() == 1);
}

#endif
