// Payment links and the hosted checkout page's endpoints over real HTTP: a
// real paymentsd, a real psp-sandbox and a scratch PostgreSQL database per
// test. The page itself, in a browser, is tests/js/checkout_browser.test.js.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <rapidjson/document.h>
#include <thread>

#include "net/form.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

using test::str;

/// A merchant, the sandbox PSP and an engine whose checkout page uses it.
struct links_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "shop");
  test::sandbox_process sandbox;
  std::unique_ptr<test::engine_process> engine;

  explicit links_fixture(std::map<std::string, std::string> env = {}) {
    env["PAYMENTS_PSP_BASE_URL"] = sandbox.base_url();
    env["PAYMENTS_PSP_SECRET_KEY"] = sandbox.secret_key();
    env["PAYMENTS_PSP_PUBLISHABLE_KEY"] = sandbox.publishable_key();
    engine = std::make_unique<test::engine_process>(db.url(), env);
  }

  std::string url(const std::string& path) const { return engine->base_url() + path; }

  net::client_result post(const std::string& path, const std::string& json,
                          const std::string& key = {}, const std::string& api_key = {}) {
    std::vector<net::header> headers{
        {"Authorization", "Bearer " + (api_key.empty() ? merchant.api_key : api_key)}};
    if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
    return test::http("POST", url(path), json, headers, "application/json");
  }

  net::client_result get(const std::string& path, const std::string& api_key = {}) {
    return test::http(
        "GET", url(path), {},
        {{"Authorization", "Bearer " + (api_key.empty() ? merchant.api_key : api_key)}});
  }

  rapidjson::Document create_link(const std::string& key = {}) {
    auto r = post("/v1/payment_links",
                  R"({"amount":1999,"currency":"eur","description":"Blue mug",)"
                  R"("capture_method":"manual"})",
                  key);
    REQUIRE(r.answered);
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return test::parse_json(r.response.body);
  }

  /// POST /pay/{link}/session as the page's script does, with a cookie or none.
  net::client_result session(const std::string& link_id, const std::string& cookie = {},
                             const std::string& origin = {}) {
    std::vector<net::header> headers;
    if (!cookie.empty()) headers.emplace_back("Cookie", "other=1; " + cookie);
    if (!origin.empty()) headers.emplace_back("Origin", origin);
    return test::http("POST", url("/pay/" + link_id + "/session"), {}, headers);
  }

  std::int64_t intents_of_merchant() {
    return db.query("SELECT count(*) FROM payment_intents").int64(0, 0);
  }
};

/// "pay_visit=<token>" from a Set-Cookie header.
std::string cookie_pair(const std::string& set_cookie) {
  return set_cookie.substr(0, set_cookie.find(';'));
}

}  // namespace

TEST_CASE("A payment link is created idempotently and only its merchant reads it") {
  links_fixture f;
  auto link = f.create_link("link-1");
  auto id = str(link, "id");
  CHECK(id.starts_with("plink_"));
  CHECK(str(link, "object") == "payment_link");
  CHECK(link["amount"].GetInt64() == 1999);
  CHECK(str(link, "currency") == "eur");
  CHECK(str(link, "capture_method") == "manual");
  CHECK(str(link, "description") == "Blue mug");
  CHECK(link["active"].GetBool());
  CHECK(str(link, "url") == f.engine->base_url() + "/pay/" + id);

  auto again = f.create_link("link-1");
  CHECK(str(again, "id") == id);
  CHECK(str(f.create_link("link-2"), "id") != id);
  CHECK(f.db.query("SELECT count(*) FROM payment_links").int64(0, 0) == 2);

  auto read = f.get("/v1/payment_links/" + id);
  REQUIRE(read.response.status == 200);
  CHECK(str(test::parse_json(read.response.body), "id") == id);
  auto list = test::parse_json(f.get("/v1/payment_links?limit=1").response.body);
  CHECK(list["data"].Size() == 1);
  CHECK(list["has_more"].GetBool());

  auto other = test::make_merchant(f.db, "other shop");
  CHECK(f.get("/v1/payment_links/" + id, other.api_key).response.status == 404);
  auto others = test::parse_json(f.get("/v1/payment_links", other.api_key).response.body);
  CHECK(others["data"].Size() == 0);
  CHECK(test::http("GET", f.url("/v1/payment_links/" + id)).response.status == 401);
}

TEST_CASE("A deactivated payment link makes no intent until its merchant turns it back on") {
  links_fixture f;
  auto id = str(f.create_link(), "id");
  auto off = f.post("/v1/payment_links/" + id, R"({"active":false})");
  INFO(off.response.body);
  REQUIRE(off.response.status == 200);
  CHECK_FALSE(test::parse_json(off.response.body)["active"].GetBool());
  CHECK(f.db.count("SELECT count(*) FROM payment_links WHERE NOT active") == 1);

  CHECK(test::http("GET", f.url("/pay/" + id)).response.status == 410);
  CHECK(f.session(id).response.status == 410);
  CHECK(f.intents_of_merchant() == 0);

  // Only `active` changes, only by its own merchant; bad bodies change nothing.
  CHECK(f.post("/v1/payment_links/" + id, R"({"amount":1})").response.status == 400);
  CHECK(f.post("/v1/payment_links/" + id, R"({"active":"yes"})").response.status == 400);
  CHECK(f.post("/v1/payment_links/" + id, R"({})").response.status == 400);
  auto other = test::make_merchant(f.db, "other shop");
  CHECK(
      f.post("/v1/payment_links/" + id, R"({"active":true})", {}, other.api_key).response.status ==
      404);
  CHECK(f.post("/v1/payment_links/plink_unknown", R"({"active":true})").response.status == 404);
  CHECK(f.db.count("SELECT count(*) FROM payment_links WHERE NOT active AND amount = 1999") == 1);

  auto on = f.post("/v1/payment_links/" + id, R"({"active":true})");
  REQUIRE(on.response.status == 200);
  CHECK(test::parse_json(on.response.body)["active"].GetBool());
  CHECK(test::http("GET", f.url("/pay/" + id)).response.status == 200);
  auto visit = f.session(id);
  INFO(visit.response.body);
  CHECK(visit.response.status == 200);
  CHECK(f.intents_of_merchant() == 1);
}

TEST_CASE("A payment link is validated as a payment intent is and nothing is stored") {
  links_fixture f;
  struct bad_case {
    std::string body;
    std::string param;
  };
  std::vector<bad_case> cases{
      {R"({"currency":"eur"})", "amount"},
      {R"({"amount":0,"currency":"eur"})", "amount"},
      {R"({"amount":100000000,"currency":"eur"})", "amount"},
      {R"({"amount":"12","currency":"eur"})", "amount"},
      {R"({"amount":100,"currency":"xyz"})", "currency"},
      {R"({"amount":100,"currency":"eur","capture_method":"later"})", "capture_method"},
      {R"({"amount":100,"currency":"eur","metadata":{"a":"b"}})", "metadata"},
      {R"({"amount":100,"currency":"eur","description":7})", "description"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = f.post("/v1/payment_links", c.body);
    REQUIRE(r.response.status == 400);
    auto err = test::parse_json(r.response.body);
    CHECK(str(err["error"], "param") == c.param);
  }
  CHECK(f.db.query("SELECT count(*) FROM payment_links").int64(0, 0) == 0);
}

TEST_CASE("The checkout page carries the security headers and no secret") {
  links_fixture f;
  auto id = str(f.create_link(), "id");
  auto page = test::http("GET", f.url("/pay/" + id));
  REQUIRE(page.response.status == 200);
  CHECK(page.response.content_type.starts_with("text/html"));
  auto csp = std::string(page.response.header_value("Content-Security-Policy").value_or(""));
  INFO(csp);
  CHECK(csp.find("frame-src " + f.sandbox.base_url() + ";") != std::string::npos);
  CHECK(csp.find("script-src 'self';") != std::string::npos);
  CHECK(csp.find("connect-src 'self' " + f.sandbox.base_url() + ";") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(page.response.header_value("X-Content-Type-Options").value_or("") == "nosniff");
  CHECK(page.response.header_value("Referrer-Policy").value_or("") == "no-referrer");
  CHECK(page.response.header_value("Cache-Control").value_or("") == "no-store");
  CHECK(page.response.body.find("<script src=\"/checkout/pay.js\"") != std::string::npos);
  CHECK(page.response.body.find("<script>") == std::string::npos);
  CHECK(page.response.body.find("_secret_") == std::string::npos);
  CHECK(f.intents_of_merchant() == 0);  // the page itself creates nothing

  auto script = test::http("GET", f.url("/checkout/pay.js"));
  CHECK(script.response.status == 200);
  CHECK(script.response.content_type.starts_with("text/javascript"));
  CHECK(script.response.header_value("X-Content-Type-Options").value_or("") == "nosniff");
  CHECK(test::http("GET", f.url("/checkout/nothing.js")).response.status == 404);

  auto unknown = test::http("GET", f.url("/pay/plink_000000000000000000000000"));
  CHECK(unknown.response.status == 404);
  CHECK(unknown.response.body == "This payment link does not exist.\n");
  CHECK(unknown.response.header_value("Content-Security-Policy"));
  CHECK(test::http("GET", f.url("/pay/not-a-link")).response.status == 404);
}

TEST_CASE("A visit creates one intent and its cookie resumes it") {
  links_fixture f;
  auto id = str(f.create_link(), "id");

  auto first = f.session(id);
  REQUIRE(first.response.status == 200);
  auto set_cookie = std::string(first.response.header_value("Set-Cookie").value_or(""));
  INFO(set_cookie);
  CHECK(set_cookie.starts_with("pay_visit="));
  CHECK(set_cookie.find("; HttpOnly") != std::string::npos);
  CHECK(set_cookie.find("; SameSite=Lax") != std::string::npos);
  CHECK(set_cookie.find("; Path=/pay/" + id) != std::string::npos);
  auto s1 = test::parse_json(first.response.body);
  auto secret = str(s1, "client_secret");
  CHECK(secret.find("_secret_") != std::string::npos);
  CHECK(str(s1["payment_link"], "amount_display") == "19.99 EUR");
  CHECK(str(s1, "status") == "created");
  CHECK_FALSE(s1["paid"].GetBool());
  CHECK(str(s1["psp"], "kind") == "sandbox");
  CHECK(str(s1["psp"], "origin") == f.sandbox.base_url());
  CHECK(str(s1["psp"], "publishable_key") == f.sandbox.publishable_key());
  CHECK(f.intents_of_merchant() == 1);

  // A reload: the same intent, no second one, no new cookie.
  auto cookie = cookie_pair(set_cookie);
  auto reload = f.session(id, cookie);
  REQUIRE(reload.response.status == 200);
  CHECK_FALSE(reload.response.header_value("Set-Cookie"));
  CHECK(str(test::parse_json(reload.response.body), "client_secret") == secret);
  CHECK(f.intents_of_merchant() == 1);

  auto intent = f.db.query(
      "SELECT metadata->>'payment_link', amount, capture_method "
      "FROM payment_intents");
  CHECK(intent.text(0, 0) == id);
  CHECK(intent.int64(0, 1) == 1999);
  CHECK(intent.text(0, 2) == "manual");
  // Only a hash of the visit is stored, never the cookie.
  auto token = cookie.substr(cookie.find('=') + 1);
  CHECK(f.db.query("SELECT count(*) FROM payment_link_visits WHERE visit_hash = $1", {token})
            .int64(0, 0) == 0);

  // Another browser: another visit, another intent.
  auto other = f.session(id);
  REQUIRE(other.response.status == 200);
  CHECK(str(test::parse_json(other.response.body), "client_secret") != secret);
  CHECK(f.intents_of_merchant() == 2);

  auto status = test::http("GET", f.url("/pay/" + id + "/status"), {}, {{"Cookie", cookie}});
  REQUIRE(status.response.status == 200);
  CHECK(str(test::parse_json(status.response.body), "status") == "created");
  CHECK(test::http("GET", f.url("/pay/" + id + "/status")).response.status == 404);
}

TEST_CASE("A visit whose intent could not be made yet resumes with its cookie") {
  links_fixture f;
  auto id = str(f.create_link(), "id");
  auto faults = [&](const std::string& json) {
    auto r =
        test::http("POST", f.sandbox.base_url() + "/_sandbox/faults", json,
                   {{"Authorization", "Bearer " + f.sandbox.secret_key()}}, "application/json");
    REQUIRE(r.response.status == 200);
  };
  faults(R"({"reset":true,"error_percent":100})");
  auto failed = f.session(id);
  INFO(failed.response.body);
  CHECK(failed.response.status == 503);
  auto set_cookie = std::string(failed.response.header_value("Set-Cookie").value_or(""));
  REQUIRE(set_cookie.starts_with("pay_visit="));
  faults(R"({"reset":true})");

  auto cookie = cookie_pair(set_cookie);
  net::client_result resumed;
  // The failed PSP call may have opened nothing or left the key leased for
  // a moment; the page retries the same way.
  for (int i = 0; i < 50; ++i) {
    resumed = f.session(id, cookie);
    if (resumed.response.status == 200) break;
    std::this_thread::sleep_for(100ms);
  }
  INFO(resumed.response.body);
  REQUIRE(resumed.response.status == 200);
  CHECK_FALSE(resumed.response.header_value("Set-Cookie"));
  CHECK(f.intents_of_merchant() == 1);
  auto again = f.session(id, cookie);
  CHECK(str(test::parse_json(again.response.body), "client_secret") ==
        str(test::parse_json(resumed.response.body), "client_secret"));
  CHECK(f.intents_of_merchant() == 1);
}

TEST_CASE("A checkout session started from another site is refused") {
  links_fixture f;
  auto id = str(f.create_link(), "id");
  auto r = f.session(id, {}, "http://evil.example");
  CHECK(r.response.status == 403);
  CHECK_FALSE(r.response.header_value("Set-Cookie"));
  CHECK(f.intents_of_merchant() == 0);
  CHECK(f.session(id, {}, f.engine->base_url()).response.status == 200);
  CHECK(f.intents_of_merchant() == 1);
}

TEST_CASE("The visit status turns paid once the PSP has authorised, read through the engine") {
  // No webhooks configured: the status endpoint reads through the intent
  // actor, which refreshes a pending intent from the PSP.
  links_fixture f;
  auto id = str(f.create_link(), "id");
  auto first = f.session(id);
  REQUIRE(first.response.status == 200);
  auto cookie = cookie_pair(std::string(first.response.header_value("Set-Cookie").value_or("")));
  auto secret = str(test::parse_json(first.response.body), "client_secret");
  auto psp_id = secret.substr(0, secret.find("_secret_"));

  auto confirm =
      test::http("POST", f.sandbox.base_url() + "/v1/payment_intents/" + psp_id + "/confirm",
                 net::encode_form({{"payment_method", "pm_card_visa"}, {"client_secret", secret}}),
                 {{"Authorization", "Bearer " + f.sandbox.publishable_key()}},
                 "application/x-www-form-urlencoded");
  REQUIRE(confirm.response.status == 200);

  std::string last;
  for (int i = 0; i < 100; ++i) {
    auto s = test::http("GET", f.url("/pay/" + id + "/status"), {}, {{"Cookie", cookie}});
    REQUIRE(s.response.status == 200);
    last = s.response.body;
    if (test::parse_json(last)["paid"].GetBool()) break;
    std::this_thread::sleep_for(50ms);
  }
  INFO(last);
  auto status = test::parse_json(last);
  CHECK(status["paid"].GetBool());
  CHECK(str(status, "status") == "authorized");
  // A paid visit gets no client secret any more.
  auto after = test::parse_json(f.session(id, cookie).response.body);
  CHECK(after["client_secret"].IsNull());
  CHECK(after["paid"].GetBool());
}

TEST_CASE("Configured for Stripe the page allows Stripe.js and its frames only") {
  links_fixture f(std::map<std::string, std::string>{{"PAYMENTS_CHECKOUT_PSP_JS", "stripe"}});
  auto id = str(f.create_link(), "id");
  auto page = test::http("GET", f.url("/pay/" + id));
  REQUIRE(page.response.status == 200);
  auto csp = std::string(page.response.header_value("Content-Security-Policy").value_or(""));
  INFO(csp);
  CHECK(csp.find("script-src 'self' https://js.stripe.com;") != std::string::npos);
  CHECK(csp.find("frame-src https://js.stripe.com https://hooks.stripe.com;") != std::string::npos);
  CHECK(csp.find("connect-src 'self' https://api.stripe.com;") != std::string::npos);
  CHECK(csp.find(f.sandbox.base_url()) == std::string::npos);
  auto session = f.session(id);
  REQUIRE(session.response.status == 200);
  auto s = test::parse_json(session.response.body);
  CHECK(str(s["psp"], "kind") == "stripe");
  CHECK(str(s["psp"], "script_url") == "https://js.stripe.com/v3/");
  CHECK(str(s["psp"], "publishable_key") == f.sandbox.publishable_key());
  CHECK_FALSE(s["psp"].HasMember("iframe_url"));
}

#endif  // PSP_SANDBOX_BIN
