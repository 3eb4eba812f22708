// The engine's HTTP foundation over real HTTP, against a real paymentsd and a
// real PostgreSQL database made for each test.

#include <catch2/catch.hpp>

#include <signal.h>

#include <rapidjson/document.h>
#include <future>
#include <thread>

#include "tests/support/harness.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

rapidjson::Document parse(const std::string& body) {
  return test::parse_json(body);
}

/// Asserts the one error shape and returns the error's code.
std::string error_code(const net::client_result& r) {
  INFO("body: " << r.response.body);
  auto doc = parse(r.response.body);
  REQUIRE(doc.IsObject());
  REQUIRE(doc.HasMember("error"));
  const auto& e = doc["error"];
  REQUIRE(e["type"].IsString());
  REQUIRE(e["message"].IsString());
  CHECK(std::string(e["message"].GetString()).size() > 10);
  return e["code"].GetString();
}

std::vector<net::header> bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

void insert_intent(const test::scratch_database& db, const std::string& id,
                   const std::string& merchant_id, std::int64_t amount, int seconds_ago) {
  db.query(
      "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
      "psp, created_at) VALUES ($1, $2, 'created', $3, 'usd', 'manual', 'sandbox', "
      "now() - make_interval(secs => $4))",
      {id, merchant_id, std::to_string(amount), std::to_string(seconds_ago)});
}

/// One engine on one scratch database with two merchants.
struct engine_fixture {
  test::scratch_database db;
  test::test_merchant alice = test::make_merchant(db, "alice");
  test::test_merchant bob = test::make_merchant(db, "bob");
  test::engine_process engine{db.url()};

  std::string url(const std::string& path) const { return engine.base_url() + path; }
};

}  // namespace

TEST_CASE("healthz answers 200 and readyz reports the database and migrations") {
  engine_fixture f;
  auto health = test::http("GET", f.url("/healthz"));
  REQUIRE(health.answered);
  CHECK(health.response.status == 200);

  auto ready = test::http("GET", f.url("/readyz"));
  REQUIRE(ready.answered);
  CHECK(ready.response.status == 200);
  auto doc = parse(ready.response.body);
  CHECK(std::string(doc["database"].GetString()) == "ok");
  CHECK(std::string(doc["migrations"].GetString()) == "applied");
}

TEST_CASE("A request without an API key gets 401 in the error shape") {
  engine_fixture f;
  auto r = test::http("GET", f.url("/v1/payment_intents"));
  REQUIRE(r.answered);
  CHECK(r.response.status == 401);
  CHECK(error_code(r) == "unauthorized");
  auto doc = parse(r.response.body);
  CHECK(std::string(doc["error"]["type"].GetString()) == "authentication_error");
}

TEST_CASE("A wrong API key or a malformed Authorization header gets 401") {
  engine_fixture f;
  for (const auto& value : {std::string("Bearer sk_test_wrongwrongwrongwrong"),
                            std::string("Basic ") + f.alice.api_key, std::string("Bearer")}) {
    auto r = test::http("GET", f.url("/v1/payment_intents"), {}, {{"Authorization", value}});
    REQUIRE(r.answered);
    CHECK(r.response.status == 401);
    CHECK(error_code(r) == "unauthorized");
  }
}

TEST_CASE(
    "A merchant sees only its own intents, and another merchant's id is 404 like an unknown one") {
  engine_fixture f;
  insert_intent(f.db, "pi_alice1000000000000000000", f.alice.id, 1000, 10);
  insert_intent(f.db, "pi_bob100000000000000000000", f.bob.id, 2000, 5);

  auto alice_list = test::http("GET", f.url("/v1/payment_intents"), {}, bearer(f.alice.api_key));
  REQUIRE(alice_list.response.status == 200);
  auto doc = parse(alice_list.response.body);
  REQUIRE(doc["data"].Size() == 1);
  CHECK(std::string(doc["data"][0]["id"].GetString()) == "pi_alice1000000000000000000");
  CHECK(doc["data"][0]["amount"].GetInt64() == 1000);

  auto own = test::http("GET", f.url("/v1/payment_intents/pi_alice1000000000000000000"), {},
                        bearer(f.alice.api_key));
  CHECK(own.response.status == 200);

  auto foreign = test::http("GET", f.url("/v1/payment_intents/pi_bob100000000000000000000"), {},
                            bearer(f.alice.api_key));
  auto unknown =
      test::http("GET", f.url("/v1/payment_intents/pi_nobody"), {}, bearer(f.alice.api_key));
  CHECK(foreign.response.status == 404);
  CHECK(unknown.response.status == 404);
  CHECK(error_code(foreign) == error_code(unknown));
  // Nothing in the answer tells the two cases apart but the id echoed back.
  auto strip = [](std::string body, const std::string& id) {
    return body.replace(body.find(id), id.size(), "ID");
  };
  CHECK(strip(foreign.response.body, "pi_bob100000000000000000000") ==
        strip(unknown.response.body, "pi_nobody"));

  auto foreign_cursor = test::http("GET", f.url("/v1/payment_intents?starting_after=pi_bob_1"), {},
                                   bearer(f.alice.api_key));
  CHECK(foreign_cursor.response.status == 404);
}

TEST_CASE("The intent list pages newest first with limit and starting_after") {
  engine_fixture f;
  for (int i = 0; i < 5; ++i)
    insert_intent(f.db, "pi_page_" + std::to_string(i), f.alice.id, 100 + i, 100 - i);
  auto first = test::http("GET", f.url("/v1/payment_intents?limit=2"), {}, bearer(f.alice.api_key));
  REQUIRE(first.response.status == 200);
  auto doc = parse(first.response.body);
  REQUIRE(doc["data"].Size() == 2);
  CHECK(std::string(doc["data"][0]["id"].GetString()) == "pi_page_4");
  CHECK(std::string(doc["data"][1]["id"].GetString()) == "pi_page_3");
  CHECK(doc["has_more"].GetBool());

  auto rest = test::http("GET", f.url("/v1/payment_intents?limit=10&starting_after=pi_page_3"), {},
                         bearer(f.alice.api_key));
  auto rest_doc = parse(rest.response.body);
  REQUIRE(rest_doc["data"].Size() == 3);
  CHECK(std::string(rest_doc["data"][2]["id"].GetString()) == "pi_page_0");
  CHECK_FALSE(rest_doc["has_more"].GetBool());

  for (const auto& bad : {"0", "101", "ten", "-1"}) {
    auto r = test::http("GET", f.url(std::string("/v1/payment_intents?limit=") + bad), {},
                        bearer(f.alice.api_key));
    CHECK(r.response.status == 400);
    CHECK(error_code(r) == "invalid_request");
  }
}

TEST_CASE("An unknown route gets 404 and a known route with another method gets 405 with Allow") {
  engine_fixture f;
  auto missing = test::http("GET", f.url("/v1/no_such_thing"), {}, bearer(f.alice.api_key));
  CHECK(missing.response.status == 404);
  CHECK(error_code(missing) == "route_not_found");

  auto wrong = test::http("DELETE", f.url("/v1/payment_intents"), {}, bearer(f.alice.api_key));
  CHECK(wrong.response.status == 405);
  CHECK(error_code(wrong) == "method_not_allowed");
  REQUIRE(wrong.response.header_value("Allow"));
  CHECK(*wrong.response.header_value("Allow") == "GET, POST");
}

TEST_CASE("Without a key, even an unknown route answers 401, revealing nothing") {
  engine_fixture f;
  auto r = test::http("GET", f.url("/v1/no_such_thing"));
  CHECK(r.response.status == 401);
  CHECK(error_code(r) == "unauthorized");
}

namespace {

std::int64_t intent_rows(const test::scratch_database& db) {
  return db.query("SELECT count(*) FROM payment_intents").int64(0, 0);
}

std::int64_t key_rows(const test::scratch_database& db) {
  return db.query("SELECT count(*) FROM idempotency_keys").int64(0, 0);
}

}  // namespace

TEST_CASE("A body that is not JSON by its content type gets 415 and writes nothing") {
  engine_fixture f;
  auto r = test::http("POST", f.url("/v1/payment_intents"), "amount=100&currency=usd",
                      bearer(f.alice.api_key), "application/x-www-form-urlencoded");
  CHECK(r.response.status == 415);
  CHECK(error_code(r) == "unsupported_media_type");
  CHECK(intent_rows(f.db) == 0);
}

TEST_CASE("Malformed or over-deep JSON gets 400 and writes nothing") {
  engine_fixture f;
  auto headers = bearer(f.alice.api_key);
  headers.emplace_back("Idempotency-Key", "malformed-1");
  auto broken = test::http("POST", f.url("/v1/payment_intents"), R"({"amount": 100,)", headers,
                           "application/json");
  CHECK(broken.response.status == 400);
  CHECK(error_code(broken) == "invalid_json");

  auto trailing = test::http("POST", f.url("/v1/payment_intents"), R"({"amount":1} x)", headers,
                             "application/json");
  CHECK(trailing.response.status == 400);
  CHECK(error_code(trailing) == "invalid_json");

  std::string deep = std::string(40, '[') + std::string(40, ']');
  auto too_deep = test::http("POST", f.url("/v1/payment_intents"), R"({"metadata":)" + deep + "}",
                             headers, "application/json");
  CHECK(too_deep.response.status == 400);
  CHECK(error_code(too_deep) == "json_too_deep");

  auto array =
      test::http("POST", f.url("/v1/payment_intents"), "[1,2]", headers, "application/json");
  CHECK(array.response.status == 400);
  CHECK(intent_rows(f.db) == 0);
  CHECK(key_rows(f.db) == 0);  // invalid requests never claim the key
}

TEST_CASE("Each invalid field of a new intent gets 400 naming the field, and writes nothing") {
  engine_fixture f;
  struct bad_case {
    const char* body;
    const char* param;
  };
  const bad_case cases[] = {
      {R"({"currency":"usd"})", "amount"},
      {R"({"amount":0,"currency":"usd"})", "amount"},
      {R"({"amount":-5,"currency":"usd"})", "amount"},
      {R"({"amount":12.5,"currency":"usd"})", "amount"},
      {R"({"amount":"100","currency":"usd"})", "amount"},
      {R"({"amount":100000000,"currency":"usd"})", "amount"},
      {R"({"amount":100})", "currency"},
      {R"({"amount":100,"currency":"xyz"})", "currency"},
      {R"({"amount":100,"currency":"usd","capture_method":"later"})", "capture_method"},
      {R"({"amount":100,"currency":"usd","metadata":{"k":1}})", "metadata[k]"},
      {R"({"amount":100,"currency":"usd","metadata":"x"})", "metadata"},
      {R"({"amount":100,"currency":"usd","surprise":true})", "surprise"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = test::http("POST", f.url("/v1/payment_intents"), c.body, bearer(f.alice.api_key),
                        "application/json");
    CHECK(r.response.status == 400);
    CHECK(error_code(r) == "invalid_request");
    auto doc = parse(r.response.body);
    REQUIRE(doc["error"].HasMember("param"));
    CHECK(std::string(doc["error"]["param"].GetString()) == c.param);
  }
  std::string long_key(41, 'k');
  auto long_meta =
      test::http("POST", f.url("/v1/payment_intents"),
                 R"({"amount":100,"currency":"usd","metadata":{")" + long_key + R"(":"v"}})",
                 bearer(f.alice.api_key), "application/json");
  CHECK(long_meta.response.status == 400);
  auto bad_key = bearer(f.alice.api_key);
  bad_key.emplace_back("Idempotency-Key", std::string(256, 'x'));
  auto too_long_key = test::http("POST", f.url("/v1/payment_intents"),
                                 R"({"amount":100,"currency":"usd"})", bad_key, "application/json");
  CHECK(too_long_key.response.status == 400);
  CHECK(intent_rows(f.db) == 0);
}

TEST_CASE("A body over the limit gets 413 and the server keeps serving") {
  engine_fixture f;
  std::string big(70 * 1024, 'x');
  auto r = test::http("POST", f.url("/v1/payment_intents"), big, bearer(f.alice.api_key),
                      "application/json");
  REQUIRE(r.answered);
  CHECK(r.response.status == 413);
  CHECK(error_code(r) == "body_too_large");
  CHECK(test::http("GET", f.url("/healthz")).response.status == 200);
}

TEST_CASE("Headers over the limit get 431 and malformed HTTP gets 400, without crashing") {
  engine_fixture f;
  std::string huge_header =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n";
  auto too_big = test::raw_exchange(f.engine.port(), huge_header);
  CHECK(too_big.starts_with("HTTP/1.1 431"));

  auto garbage = test::raw_exchange(f.engine.port(), "THIS IS NOT HTTP\r\n\r\n");
  CHECK(garbage.starts_with("HTTP/1.1 400"));
  CHECK(garbage.find("malformed_http") != std::string::npos);

  CHECK(test::http("GET", f.url("/healthz")).response.status == 200);
}

TEST_CASE("Pipelined requests on one keep-alive connection are answered in order") {
  engine_fixture f;
  std::string auth = "Authorization: Bearer " + f.alice.api_key + "\r\n";
  std::string requests =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n\r\n"
      "GET /v1/payment_intents HTTP/1.1\r\nHost: x\r\n" +
      auth +
      "X-Request-Id: second\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: third\r\n" +
      auth + "Connection: close\r\n\r\n";
  auto out = test::raw_exchange(f.engine.port(), requests);
  auto first = out.find("Request-Id: first");
  auto second = out.find("Request-Id: second");
  auto third = out.find("Request-Id: third");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  REQUIRE(third != std::string::npos);
  CHECK(first < second);
  CHECK(second < third);
  CHECK(out.find("HTTP/1.1 200") < second);
  CHECK(out.find("HTTP/1.1 404") > second);
}

TEST_CASE("Every answer carries a Request-Id, the client's when it sent a plain one") {
  engine_fixture f;
  auto given = test::http("GET", f.url("/healthz"), {}, {{"X-Request-Id", "trace-42"}});
  REQUIRE(given.response.header_value("Request-Id"));
  CHECK(*given.response.header_value("Request-Id") == "trace-42");
  auto made = test::http("GET", f.url("/healthz"), {}, {{"X-Request-Id", "bad id\twith tab"}});
  REQUIRE(made.response.header_value("Request-Id"));
  CHECK(made.response.header_value("Request-Id")->starts_with("req_"));
}

TEST_CASE("SIGTERM lets an in-flight request finish, then the engine exits cleanly") {
  engine_fixture f;
  insert_intent(f.db, "pi_slow", f.alice.id, 500, 1);
  // Hold a lock that makes the list query wait, so the request is in flight.
  auto locker = f.db.connect();
  REQUIRE(locker.exec("BEGIN").ok());
  REQUIRE(locker.exec("LOCK TABLE payment_intents IN ACCESS EXCLUSIVE MODE").ok());

  auto pending = std::async(std::launch::async, [&] {
    return test::http("GET", f.url("/v1/payment_intents"), {}, bearer(f.alice.api_key));
  });
  std::this_thread::sleep_for(300ms);  // let the request reach the database
  f.engine.process().send_signal(SIGTERM);
  std::this_thread::sleep_for(200ms);
  CHECK(f.engine.process().running());  // still draining
  REQUIRE(locker.exec("COMMIT").ok());

  auto r = pending.get();
  REQUIRE(r.answered);
  CHECK(r.response.status == 200);
  CHECK(r.response.body.find("pi_slow") != std::string::npos);
  CHECK(f.engine.process().wait(10s) == 0);
  CHECK(f.engine.process().output().find("\"msg\":\"stopped\"") != std::string::npos);
}

TEST_CASE("The engine's --help lists every option with its default and hides secrets") {
  test::child_process p{test::paymentsd_path(), {"--help"}, {}};
  REQUIRE(p.wait(10s) == 0);
  auto help = p.output();
  for (const auto* option : {"--listen", "--port", "--database-url-file", "--http-threads",
                             "--storage-connections", "--drain-ms", "--log-level"})
    CHECK(help.find(option) != std::string::npos);
  CHECK(help.find("default: 8080") != std::string::npos);
  CHECK(help.find("(secret: env or file only)") != std::string::npos);
}

TEST_CASE("A secret given on the command line is refused, never used") {
  test::child_process p{
      test::paymentsd_path(), {"--database-url", "postgresql://user:hunter2@127.0.0.1/x"}, {}};
  CHECK(p.wait(10s) == 2);
  CHECK(p.output().find("is a secret") != std::string::npos);
  CHECK(p.output().find("hunter2") == std::string::npos);
}

TEST_CASE("SIGINT stops the engine cleanly even when it was started with SIGINT ignored") {
  test::scratch_database db;
  // Start the engine the way a background shell job starts it: SIGINT ignored.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction before {};
  sigaction(SIGINT, &ignore, &before);
  test::engine_process engine{db.url()};
  sigaction(SIGINT, &before, nullptr);
  engine.process().send_signal(SIGINT);
  CHECK(engine.process().wait(10s) == 0);
  CHECK(engine.process().output().find("\"signal\":\"SIGINT\"") != std::string::npos);
}
