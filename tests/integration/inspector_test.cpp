// The actor inspector: the registry in process, then its JSON views, the
// console's files and paymentsctl against a real engine, a real sandbox PSP
// and real PostgreSQL.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <rapidjson/document.h>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/inspector.hpp"
#include "actors/messages.hpp"
#include "core/ids.hpp"
#include "net/form.hpp"
#include "psp/stripe/webhook_signature.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;
namespace insp = pay::actors::inspector;

namespace {

const std::string admin = "adm_" + core::random_token(32);
const std::string webhook_secret = "whsec_" + core::random_token(32);

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A merchant, the sandbox PSP and an engine with an admin token.
struct inspector_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "inspected");
  test::sandbox_process sandbox;
  std::unique_ptr<test::engine_process> engine;

  explicit inspector_fixture(std::map<std::string, std::string> env = {}) {
    env["PAYMENTS_PSP_BASE_URL"] = sandbox.base_url();
    env["PAYMENTS_PSP_SECRET_KEY"] = sandbox.secret_key();
    env["PAYMENTS_ADMIN_TOKEN"] = admin;
    env["PAYMENTS_WEBHOOK_SECRET"] = webhook_secret;
    engine = std::make_unique<test::engine_process>(db.url(), env);
  }

  std::string url(const std::string& path) const { return engine->base_url() + path; }

  net::client_result admin_get(const std::string& path) {
    return test::http("GET", url(path), {}, {{"Authorization", "Bearer " + admin}});
  }

  rapidjson::Document admin_json(const std::string& path) {
    auto r = admin_get(path);
    REQUIRE(r.answered);
    INFO(path << ": " << r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// A manual-capture intent, created through the merchant API.
  rapidjson::Document create_intent(std::int64_t amount) {
    auto r = test::http("POST", url("/v1/payment_intents"),
                        R"({"amount":)" + std::to_string(amount) +
                            R"(,"currency":"eur","capture_method":"manual"})",
                        {{"Authorization", "Bearer " + merchant.api_key}}, "application/json");
    REQUIRE(r.answered);
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// Confirms with a test card at the sandbox (as the shopper's browser does)
  /// and captures through the engine, so the intent has postings.
  void authorize_and_capture(const rapidjson::Document& pi) {
    std::string psp_id = pi["psp_reference"].GetString();
    auto body = net::encode_form(
        {{"payment_method", "pm_card_visa"}, {"client_secret", pi["client_secret"].GetString()}});
    auto confirmed =
        test::http("POST", sandbox.base_url() + "/v1/payment_intents/" + psp_id + "/confirm", body,
                   {{"Authorization", "Bearer " + sandbox.publishable_key()}},
                   "application/x-www-form-urlencoded");
    INFO(confirmed.response.body);
    REQUIRE(confirmed.response.status == 200);
    auto captured = test::http(
        "POST", url("/v1/payment_intents/" + std::string(pi["id"].GetString()) + "/capture"), "{}",
        {{"Authorization", "Bearer " + merchant.api_key}}, "application/json");
    INFO(captured.response.body);
    REQUIRE(captured.response.status == 200);
  }

  /// A signed webhook about a PSP object the engine never heard of.
  void deliver_unknown_event(const std::string& event_id) {
    auto body = R"({"id":")" + event_id +
                R"(","object":"event","api_version":"2020-08-27","created":)" +
                std::to_string(now_s()) +
                R"(,"type":"payment_intent.succeeded","data":{"object":{"id":"pi_unknown_)" +
                core::random_token(12) +
                R"(","object":"payment_intent","amount":100,"amount_capturable":0,)"
                R"("amount_received":100,"currency":"usd","capture_method":"automatic",)"
                R"("status":"succeeded","metadata":{}}}})";
    auto t = now_s();
    auto header =
        "t=" + std::to_string(t) + ",v1=" + psp::compute_stripe_signature(webhook_secret, t, body);
    auto r = test::http("POST", url("/v1/webhooks/sandbox"), body, {{"Stripe-Signature", header}},
                        "application/json");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
  }
};

/// The actor of `key` in an actors listing, if listed.
const rapidjson::Value* listed(const rapidjson::Document& doc, const std::string& key) {
  for (const auto& a : doc["data"].GetArray())
    if (a["key"].GetString() == key) return &a;
  return nullptr;
}

/// paymentsctl run to the end; its exit status and what it printed.
struct ctl_run {
  int status = -1;
  std::string output;
};

ctl_run paymentsctl(const std::vector<std::string>& args, std::map<std::string, std::string> env) {
  test::child_process p(PAYMENTSCTL_BIN, args, env);
  ctl_run out;
  out.status = p.wait(30s);
  out.output = p.output();
  return out;
}

/// A non-loopback IPv4 address of this machine, if it has one.
std::optional<std::string> non_loopback_address() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (auto* i = all; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    if (std::string(text).rfind("127.", 0) != 0) found = text;
  }
  freeifaddrs(all);
  return found;
}

}  // namespace

TEST_CASE("The inspector registry lists registered actors and forgets them when they stop") {
  auto key = "pi_registry_" + core::random_token(8);
  {
    insp::registration reg;
    CHECK_FALSE(reg);
    CHECK_FALSE(insp::find(insp::kind::payment_intent, key));
    reg.enroll(insp::kind::payment_intent, key);
    CHECK(reg);
    reg.set_state("authorized", 3);
    reg->handled.fetch_add(5);
    auto found = insp::find(insp::kind::payment_intent, key);
    REQUIRE(found);
    CHECK(found->state == "authorized");
    CHECK(found->version == 3);
    CHECK(found->handled == 5);
    reg->mailbox.store(4);
    std::uint64_t intents = 0;
    std::uint64_t deepest = 0;
    for (const auto& k : insp::summarize())
      if (k.kind == insp::kind::payment_intent) {
        intents = k.live;
        deepest = k.mailbox_max;
      }
    CHECK(intents >= 1);
    CHECK(deepest >= 4);
    CHECK_FALSE(insp::find(insp::kind::storage, key));
    auto all = insp::list(insp::kind::payment_intent, 1000);
    CHECK(all.total >= 1);
    bool seen = false;
    for (const auto& a : all.actors) seen = seen || a.key == key;
    CHECK(seen);
  }
  CHECK_FALSE(insp::find(insp::kind::payment_intent, key));
}

namespace {

/// An actor that publishes like the engine's actors do, and notes the
/// deepest mailbox it saw.
struct probed_state {
  insp::registration probe;
  int handled = 0;
};

std::atomic<std::uint64_t> deepest_mailbox{0};

caf::behavior probed(caf::stateful_actor<probed_state>* self, std::string key, int expected) {
  self->state.probe.enroll("test_probe", std::move(key));
  return {
      [self, expected](actors::tick_atom) {
        self->state.probe.on_message(self);
        auto depth = self->state.probe->mailbox.load();
        if (depth > deepest_mailbox.load()) deepest_mailbox.store(depth);
        // Hold the first message so the others queue up behind it.
        if (self->state.handled++ == 0) std::this_thread::sleep_for(300ms);
        if (self->state.handled == expected) self->quit();
      },
  };
}

}  // namespace

TEST_CASE(
    "A CAF actor publishes its messages and mailbox depth and leaves the registry when it stops") {
  auto key = "probe_" + core::random_token(8);
  deepest_mailbox = 0;
  {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    auto actor = sys.spawn(probed, key, 6);
    for (int i = 0; i < 6; ++i) caf::anon_send(actor, actors::tick_atom::value);
    // Seen while alive: the queued messages were counted by the actor itself.
    std::optional<insp::actor_view> seen;
    for (int i = 0; i < 100 && !seen; ++i) {
      seen = insp::find("test_probe", key);
      if (!seen) std::this_thread::sleep_for(10ms);
    }
    REQUIRE(seen);
    CHECK(seen->kind == "test_probe");
  }  // the system waits for the actor, which quits after six messages
  CHECK(deepest_mailbox.load() >= 4);
  CHECK_FALSE(insp::find("test_probe", key));
}

TEST_CASE("The inspector listing keeps infrastructure actors ahead of a crowd of intent actors") {
  std::vector<std::unique_ptr<insp::registration>> crowd;
  for (int i = 0; i < 20; ++i) {
    crowd.push_back(std::make_unique<insp::registration>());
    crowd.back()->enroll(insp::kind::payment_intent, "pi_crowd_" + std::to_string(i));
  }
  // Leaving in any order keeps the lists intact.
  crowd.erase(crowd.begin() + 7);
  crowd.erase(crowd.begin());
  crowd.pop_back();
  insp::registration gateway;
  gateway.enroll(insp::kind::psp_gateway, "crowd_psp", true);
  auto page = insp::list("", 5);
  REQUIRE(page.actors.size() == 5);
  CHECK(page.actors.front().kind == insp::kind::psp_gateway);
  std::uint64_t intents = 0;
  for (const auto& [kind, n] : page.counts)
    if (kind == insp::kind::payment_intent) intents = n;
  CHECK(intents >= 17);
  for (int i : {0, 7, 19})
    CHECK_FALSE(insp::find(insp::kind::payment_intent, "pi_crowd_" + std::to_string(i)));
  for (int i : {1, 6, 8, 18})
    CHECK(insp::find(insp::kind::payment_intent, "pi_crowd_" + std::to_string(i)));
}

TEST_CASE("Gateway latency percentiles come from the recent window only") {
  insp::latency_window w;
  for (int i = 1; i <= 100; ++i) w.add(i);
  auto s = w.samples();
  std::sort(s.begin(), s.end());
  CHECK(insp::percentile(s, 50) == 50);
  CHECK(insp::percentile(s, 99) == 99);
  for (std::size_t i = 0; i < core::limits::inspector_latency_window; ++i) w.add(1000);
  s = w.samples();
  std::sort(s.begin(), s.end());
  CHECK(s.size() == core::limits::inspector_latency_window);
  CHECK(insp::percentile(s, 50) == 1000);
  CHECK(insp::percentile({}, 99) == 0);
}

TEST_CASE("The actors view lists a live payment intent actor with its FSM state and version") {
  inspector_fixture f;
  auto pi = f.create_intent(1234);
  std::string id = pi["id"].GetString();

  auto doc = f.admin_json("/v1/admin/actors?kind=payment_intent");
  const auto* actor = listed(doc, id);
  REQUIRE(actor != nullptr);
  CHECK(std::string((*actor)["kind"].GetString()) == "payment_intent");
  CHECK(std::string((*actor)["state"].GetString()) == pi["status"].GetString());
  CHECK((*actor)["version"].GetInt64() == pi["version"].GetInt64());
  CHECK((*actor)["messages_handled"].GetUint64() >= 1);
  CHECK(std::string((*actor)["last_message"].GetString()) == "create");
  CHECK((*actor)["mailbox_depth"].IsUint64());
  CHECK((*actor)["restarts"].GetUint64() == 0);
  CHECK(doc["counts"]["payment_intent"].GetUint64() >= 1);

  // Every kind of long-lived actor is there, with counts per kind.
  auto all = f.admin_json("/v1/admin/actors");
  CHECK(all["counts"]["intent_router"].GetUint64() == 1);
  CHECK(all["counts"]["psp_gateway"].GetUint64() == 1);
  CHECK(all["counts"]["storage"].GetUint64() == 2);
  CHECK(all["counts"]["webhook_worker"].GetUint64() == 1);
  CHECK(all["counts"]["webhook_supervisor"].GetUint64() == 1);
  CHECK(listed(all, "router") != nullptr);

  auto limited = f.admin_json("/v1/admin/actors?limit=2");
  CHECK(limited["data"].Size() == 2);
  CHECK(limited["has_more"].IsTrue());

  CHECK(f.admin_get("/v1/admin/actors?limit=0").response.status == 400);
  CHECK(f.admin_get("/v1/admin/actors?limit=100000").response.status == 400);
  auto anonymous = test::http("GET", f.url("/v1/admin/actors"));
  CHECK(anonymous.response.status == 401);
  auto merchant = test::http("GET", f.url("/v1/admin/actors"), {},
                             {{"Authorization", "Bearer " + f.merchant.api_key}});
  CHECK(merchant.response.status == 401);
  CHECK(f.admin_get("/v1/admin/actors").response.header_value("Cache-Control") ==
        std::optional<std::string_view>("no-store"));
}

TEST_CASE("The intent view shows state, version, live actor, audit timeline and postings") {
  inspector_fixture f;
  auto pi = f.create_intent(2500);
  std::string id = pi["id"].GetString();
  f.authorize_and_capture(pi);

  auto doc = f.admin_json("/v1/admin/intents/" + id);
  CHECK(std::string(doc["id"].GetString()) == id);
  CHECK(std::string(doc["merchant"].GetString()) == f.merchant.id);
  CHECK(std::string(doc["state"].GetString()) == "captured");
  CHECK(doc["version"].GetInt64() >= 2);
  REQUIRE(doc["actor"].IsObject());
  CHECK(std::string(doc["actor"]["state"].GetString()) == "captured");
  CHECK(doc["actor"]["version"].GetInt64() == doc["version"].GetInt64());

  std::vector<std::string> actions;
  for (const auto& e : doc["timeline"]["data"].GetArray())
    actions.push_back(e["action"].GetString());
  REQUIRE_FALSE(actions.empty());
  CHECK(actions.front() == "create");
  CHECK(std::find(actions.begin(), actions.end(), "capture") != actions.end());

  std::int64_t debits = 0;
  std::int64_t credits = 0;
  for (const auto& t : doc["postings"]["data"].GetArray())
    for (const auto& e : t["entries"].GetArray()) {
      debits += e["debit"].GetInt64();
      credits += e["credit"].GetInt64();
    }
  CHECK(debits > 0);
  CHECK(debits == credits);

  auto missing = f.admin_get("/v1/admin/intents/pi_does_not_exist");
  CHECK(missing.response.status == 404);
}

TEST_CASE("The gateways view reports breaker state and recent PSP latency") {
  inspector_fixture f;
  f.create_intent(700);
  auto doc = f.admin_json("/v1/admin/gateways");
  REQUIRE(doc["data"].Size() == 1);
  const auto& g = doc["data"][0];
  CHECK(std::string(g["psp"].GetString()) == "sandbox");
  CHECK(std::string(g["breaker_state"].GetString()) == "closed");
  CHECK(g["consecutive_failures"].GetUint64() == 0);
  CHECK(g["in_flight"].GetUint64() == 0);
  CHECK(g["latency"]["samples"].GetUint64() >= 1);
  CHECK(g["latency"]["p50_ms"].GetInt64() >= 0);
  CHECK(g["latency"]["p99_ms"].GetInt64() >= g["latency"]["p50_ms"].GetInt64());
}

TEST_CASE("The gateways view counts a slow PSP call in flight and its latency afterwards") {
  inspector_fixture f;
  auto faults =
      test::http("POST", f.sandbox.base_url() + "/_sandbox/faults", R"({"latency_ms":400})",
                 {{"Authorization", "Bearer " + f.sandbox.secret_key()}}, "application/json");
  REQUIRE(faults.response.status == 200);
  // Plain HTTP on the other thread: Catch2's assertions belong to this one.
  auto slow = std::async(std::launch::async, [&f] {
    return test::http("POST", f.url("/v1/payment_intents"),
                      R"({"amount":900,"currency":"eur","capture_method":"manual"})",
                      {{"Authorization", "Bearer " + f.merchant.api_key}}, "application/json");
  });
  std::uint64_t in_flight = 0;
  for (int i = 0; i < 100 && in_flight == 0; ++i) {
    auto doc = f.admin_json("/v1/admin/gateways");
    in_flight = doc["data"][0]["in_flight"].GetUint64();
    if (in_flight == 0) std::this_thread::sleep_for(10ms);
  }
  CHECK(in_flight == 1);
  CHECK(slow.get().response.status == 200);
  auto doc = f.admin_json("/v1/admin/gateways");
  const auto& g = doc["data"][0];
  CHECK(g["in_flight"].GetUint64() == 0);
  CHECK(g["latency"]["samples"].GetUint64() == 1);
  CHECK(g["latency"]["p50_ms"].GetInt64() >= 400);
  CHECK(g["latency"]["max_ms"].GetInt64() >= 400);
}

TEST_CASE("The gateways view shows an open breaker with its failures when the PSP is down") {
  test::scratch_database db;
  auto merchant = test::make_merchant(db, "breaker");
  // No PSP listens on port 9: every call fails at connect.
  test::engine_process engine(db.url(), {{"PAYMENTS_ADMIN_TOKEN", admin},
                                         {"PAYMENTS_BREAKER_FAILURES", "2"},
                                         {"PAYMENTS_BREAKER_OPEN_MS", "60000"}});
  for (int i = 0; i < 2; ++i) {
    auto r = test::http("POST", engine.base_url() + "/v1/payment_intents",
                        R"({"amount":100,"currency":"usd","capture_method":"manual"})",
                        {{"Authorization", "Bearer " + merchant.api_key}}, "application/json");
    CHECK(r.response.status == 503);
  }
  auto r = test::http("GET", engine.base_url() + "/v1/admin/gateways", {},
                      {{"Authorization", "Bearer " + admin}});
  REQUIRE(r.response.status == 200);
  auto doc = test::parse_json(r.response.body);
  const auto& g = doc["data"][0];
  CHECK(std::string(g["breaker_state"].GetString()) == "open");
  CHECK(g["trips"].GetUint64() == 1);
  CHECK(g["consecutive_failures"].GetUint64() >= 2);
  CHECK(g["retry_after_ms"].GetInt64() > 0);
}

TEST_CASE("The console is served with strict headers and without inline script") {
  inspector_fixture f;
  auto page = test::http("GET", f.url("/inspector"));
  REQUIRE(page.response.status == 200);
  CHECK(page.response.header_value("Content-Type").value_or("").starts_with("text/html"));
  auto csp = std::string(page.response.header_value("Content-Security-Policy").value_or(""));
  CHECK(csp.starts_with("default-src 'self'"));
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(page.response.header_value("X-Frame-Options") == std::optional<std::string_view>("DENY"));
  CHECK(page.response.body.find("<script src=\"/inspector/app.js\"") != std::string::npos);
  CHECK(page.response.body.find("<script>") == std::string::npos);
  CHECK(page.response.body.find("http://") == std::string::npos);
  CHECK(page.response.body.find("https://") == std::string::npos);

  auto js = test::http("GET", f.url("/inspector/app.js"));
  REQUIRE(js.response.status == 200);
  CHECK(js.response.header_value("Content-Type").value_or("").starts_with("text/javascript"));
  CHECK(js.response.body.find("sessionStorage") != std::string::npos);
  auto css = test::http("GET", f.url("/inspector/app.css"));
  CHECK(css.response.status == 200);
  CHECK(test::http("GET", f.url("/inspector/secret.txt")).response.status == 404);
  CHECK(test::http("GET", f.url("/inspector/..%2Fapp.js")).response.status == 404);
}

TEST_CASE("The console refuses non-loopback clients unless remote access is allowed") {
  auto address = non_loopback_address();
  if (!address) {
    WARN("this machine has no non-loopback IPv4 address; only loopback is checked");
    inspector_fixture f;
    CHECK(test::http("GET", f.url("/inspector")).response.status == 200);
    return;
  }
  {
    inspector_fixture f(std::map<std::string, std::string>{{"PAYMENTS_LISTEN", "0.0.0.0"}});
    auto remote = "http://" + *address + ":" + std::to_string(f.engine->port());
    auto refused = test::http("GET", remote + "/inspector");
    CHECK(refused.response.status == 403);
    CHECK(refused.response.body.find("inspector_loopback_only") != std::string::npos);
    CHECK(test::http("GET", remote + "/inspector/app.js").response.status == 403);
    CHECK(test::http("GET", f.url("/inspector")).response.status == 200);
  }
  {
    inspector_fixture f({{"PAYMENTS_LISTEN", "0.0.0.0"}, {"PAYMENTS_INSPECTOR_REMOTE", "true"}});
    auto remote = "http://" + *address + ":" + std::to_string(f.engine->port());
    CHECK(test::http("GET", remote + "/inspector").response.status == 200);
  }
}

TEST_CASE("paymentsctl prints the live views as tables and as JSON") {
  inspector_fixture f;
  auto pi = f.create_intent(4200);
  std::string id = pi["id"].GetString();
  f.authorize_and_capture(pi);
  std::map<std::string, std::string> env{{"PAYMENTS_ENGINE_URL", f.engine->base_url()},
                                         {"PAYMENTS_ADMIN_TOKEN", admin}};

  auto actors = paymentsctl({"actors", "--kind", "payment_intent"}, env);
  INFO(actors.output);
  CHECK(actors.status == 0);
  CHECK(actors.output.find("KIND") != std::string::npos);
  CHECK(actors.output.find(id) != std::string::npos);
  CHECK(actors.output.find("captured") != std::string::npos);

  auto intent = paymentsctl({"intent", id}, env);
  INFO(intent.output);
  CHECK(intent.status == 0);
  CHECK(intent.output.find(id) != std::string::npos);
  CHECK(intent.output.find("captured") != std::string::npos);
  CHECK(intent.output.find("audit timeline") != std::string::npos);
  CHECK(intent.output.find("psp_receivable") != std::string::npos);

  auto json = paymentsctl({"intent", id, "--json"}, env);
  REQUIRE(json.status == 0);
  auto doc = test::parse_json(json.output);
  CHECK(std::string(doc["state"].GetString()) == "captured");

  for (const auto& command : {"actors", "gateways", "webhooks", "dead-letters", "trial-balance"}) {
    auto table = paymentsctl({command}, env);
    INFO(command << ": " << table.output);
    CHECK(table.status == 0);
    auto as_json = paymentsctl({command, "--json"}, env);
    INFO(as_json.output);
    CHECK(as_json.status == 0);
    CHECK(test::parse_json(as_json.output).IsObject());
  }
  auto balance = paymentsctl({"trial-balance"}, env);
  CHECK((balance.output.find("EUR") != std::string::npos ||
         balance.output.find("eur") != std::string::npos));
  CHECK(balance.output.find("the ledger balances") != std::string::npos);
  CHECK(paymentsctl({"gateways"}, env).output.find("sandbox") != std::string::npos);

  auto missing = paymentsctl({"intent", "pi_nope"}, env);
  CHECK(missing.status == 1);
  CHECK(missing.output.find("404") != std::string::npos);
}

TEST_CASE("paymentsctl takes the admin token from the environment only") {
  inspector_fixture f;
  auto no_token = paymentsctl(
      {"actors"}, {{"PAYMENTS_ENGINE_URL", f.engine->base_url()}, {"PAYMENTS_ADMIN_TOKEN", ""}});
  CHECK(no_token.status == 1);
  CHECK(no_token.output.find("PAYMENTS_ADMIN_TOKEN") != std::string::npos);
  auto flag = paymentsctl({"actors", "--admin-token", admin},
                          {{"PAYMENTS_ENGINE_URL", f.engine->base_url()}});
  CHECK(flag.status == 2);
  auto wrong = paymentsctl({"actors"}, {{"PAYMENTS_ENGINE_URL", f.engine->base_url()},
                                        {"PAYMENTS_ADMIN_TOKEN", "adm_wrong"}});
  CHECK(wrong.status == 1);
  CHECK(wrong.output.find("401") != std::string::npos);
}

TEST_CASE("paymentsctl lists a dead letter and replays it") {
  inspector_fixture f({{"PAYMENTS_WEBHOOK_DEADLINE_MS", "200"},
                       {"PAYMENTS_WEBHOOK_BACKOFF_BASE_MS", "20"},
                       {"PAYMENTS_WEBHOOK_BACKOFF_CEILING_MS", "50"}});
  auto event_id = "evt_inspector_" + core::random_token(10);
  f.deliver_unknown_event(event_id);
  std::map<std::string, std::string> env{{"PAYMENTS_ENGINE_URL", f.engine->base_url()},
                                         {"PAYMENTS_ADMIN_TOKEN", admin}};
  std::string dead_id;
  for (int i = 0; i < 100 && dead_id.empty(); ++i) {
    auto list = paymentsctl({"dead-letters", "--json"}, env);
    REQUIRE(list.status == 0);
    auto doc = test::parse_json(list.output);
    for (const auto& d : doc["data"].GetArray())
      if (d["event_id"].GetString() == event_id) dead_id = d["id"].GetString();
    if (dead_id.empty()) std::this_thread::sleep_for(100ms);
  }
  REQUIRE_FALSE(dead_id.empty());
  auto table = paymentsctl({"dead-letters"}, env);
  CHECK(table.output.find(event_id) != std::string::npos);

  auto replayed = paymentsctl({"dead-letters", "--replay", dead_id}, env);
  INFO(replayed.output);
  CHECK(replayed.status == 0);
  CHECK(replayed.output.find("replayed 1 dead letter(s) " + dead_id) != std::string::npos);
  CHECK(paymentsctl({"dead-letters", "--replay", dead_id, "--replay-all"}, env).status == 2);
}

TEST_CASE(
    "The console in Chromium logs in, opens a live intent's timeline and replays a dead "
    "letter") {
  inspector_fixture f({{"PAYMENTS_WEBHOOK_DEADLINE_MS", "200"},
                       {"PAYMENTS_WEBHOOK_BACKOFF_BASE_MS", "20"},
                       {"PAYMENTS_WEBHOOK_BACKOFF_CEILING_MS", "50"},
                       {"PAYMENTS_INTENT_IDLE_MS", "600000"}});
  auto pi = f.create_intent(1999);
  std::string id = pi["id"].GetString();
  f.authorize_and_capture(pi);
  // Company for the screenshots: intents in other states.
  f.create_intent(500);
  f.create_intent(12000);
  f.deliver_unknown_event("evt_browser_" + core::random_token(10));
  std::string dead_id;
  for (int i = 0; i < 100 && dead_id.empty(); ++i) {
    auto doc = f.admin_json("/v1/admin/dead_letters");
    if (doc["data"].Size() > 0) dead_id = doc["data"][0]["id"].GetString();
    if (dead_id.empty()) std::this_thread::sleep_for(100ms);
  }
  REQUIRE_FALSE(dead_id.empty());

  test::child_process node(NODE_BIN, {INSPECTOR_BROWSER_TEST},
                           {{"ENGINE_URL", f.engine->base_url()},
                            {"ADMIN_TOKEN", admin},
                            {"INTENT_ID", id},
                            {"DEAD_LETTER_ID", dead_id},
                            {"SCREENSHOT_DIR", INSPECTOR_SCREENSHOT_DIR}});
  auto status = node.wait(120s);
  INFO(node.output());
  CHECK(status == 0);
  CHECK(node.output().find("all steps passed") != std::string::npos);
}

#endif  // PSP_SANDBOX_BIN
