// Stripe's wire format: form bodies, keys, error shape, Request-Id,
// idempotency and bounds.
#include <signal.h>

#include <catch2/catch.hpp>

#include "sandbox_harness.hpp"

using namespace sandbox_test;

TEST_CASE("a form body with raw and percent-encoded brackets sets metadata and method types") {
  sandbox_process sb;
  auto pi = create_intent(sb,
                          "amount=1000&currency=usd&metadata[order]=7&metadata%5Bcart%5D=a%20b&"
                          "payment_method_types%5B0%5D=card&description=two+words");
  CHECK(str(pi, "object") == "payment_intent");
  CHECK(str(pi, "metadata.order") == "7");
  CHECK(str(pi, "metadata.cart") == "a b");
  CHECK(str(pi, "description") == "two words");
  REQUIRE(at(pi, "payment_method_types").IsArray());
  CHECK(std::string(at(pi, "payment_method_types")[0].GetString()) == "card");
}

TEST_CASE("a request without an API key is refused with 401 in Stripe's error shape") {
  sandbox_process sb;
  auto err = expect_json(sb.get("/v1/events", ""), 401);
  CHECK(str(err, "error.type") == "invalid_request_error");
  CHECK(str(err, "error.message").find("did not provide an API key") != std::string::npos);
}

TEST_CASE("a wrong secret key is refused with 401 and the key is masked in the message") {
  sandbox_process sb;
  auto err = expect_json(sb.get("/v1/events", "sk_test_wrongwrongwrong1234"), 401);
  CHECK(str(err, "error.type") == "invalid_request_error");
  auto message = str(err, "error.message");
  CHECK(message.find("sk_test_****1234") != std::string::npos);
  CHECK(message.find("wrongwrong") == std::string::npos);
}

TEST_CASE("basic auth with the secret key as user is accepted") {
  sandbox_process sb;
  pay::net::client_request req;
  req.url = sb.url("/v1/events");
  auto creds = std::string(secret_key) + ":";
  auto b64 = run_command("printf '%s' '" + creds + "' | base64 -w0");
  req.headers.emplace_back("Authorization", "Basic " + b64);
  auto list = expect_json(sb.send(req));
  CHECK(str(list, "object") == "list");
}

TEST_CASE("every answer, success or error, carries a Request-Id header") {
  sandbox_process sb;
  auto ok = sb.post("/v1/payment_intents", "amount=100&currency=usd");
  auto bad = sb.get("/v1/payment_intents/pi_missing");
  auto unauth = sb.get("/v1/events", "");
  for (const auto* r : {&ok, &bad, &unauth}) {
    REQUIRE(r->answered);
    auto id = r->response.header_value("Request-Id");
    REQUIRE(id);
    CHECK(id->starts_with("req_"));
  }
  CHECK(*ok.response.header_value("Request-Id") != *bad.response.header_value("Request-Id"));
}

TEST_CASE("an unknown parameter is a 400 parameter_unknown naming the parameter") {
  sandbox_process sb;
  auto err = expect_json(sb.post("/v1/payment_intents", "amount=100&currency=usd&colour=red"), 400);
  CHECK(str(err, "error.type") == "invalid_request_error");
  CHECK(str(err, "error.code") == "parameter_unknown");
  CHECK(str(err, "error.param") == "colour");
}

TEST_CASE("a non-integer amount is a 400 parameter_invalid_integer") {
  sandbox_process sb;
  auto err = expect_json(sb.post("/v1/payment_intents", "amount=12.5&currency=usd"), 400);
  CHECK(str(err, "error.code") == "parameter_invalid_integer");
  CHECK(str(err, "error.param") == "amount");
}

TEST_CASE("zero, negative and too large amounts are refused with param amount") {
  sandbox_process sb;
  for (const char* amount : {"0", "-5"}) {
    auto err = expect_json(
        sb.post("/v1/payment_intents", std::string("currency=usd&amount=") + amount), 400);
    CHECK(str(err, "error.code") == "amount_too_small");
    CHECK(str(err, "error.param") == "amount");
  }
  auto err = expect_json(sb.post("/v1/payment_intents", "currency=usd&amount=100000000"), 400);
  CHECK(str(err, "error.code") == "amount_too_large");
}

TEST_CASE("a missing amount is a parameter_missing error") {
  sandbox_process sb;
  auto err = expect_json(sb.post("/v1/payment_intents", "currency=usd"), 400);
  CHECK(str(err, "error.code") == "parameter_missing");
  CHECK(str(err, "error.param") == "amount");
}

TEST_CASE("an unknown currency is refused with param currency") {
  sandbox_process sb;
  auto err = expect_json(sb.post("/v1/payment_intents", "amount=100&currency=xyz"), 400);
  CHECK(str(err, "error.type") == "invalid_request_error");
  CHECK(str(err, "error.param") == "currency");
}

TEST_CASE("a bad capture_method and a bad boolean are refused") {
  sandbox_process sb;
  auto err = expect_json(
      sb.post("/v1/payment_intents", "amount=100&currency=usd&capture_method=later"), 400);
  CHECK(str(err, "error.param") == "capture_method");
  err = expect_json(sb.post("/v1/payment_intents", "amount=100&currency=usd&confirm=yes"), 400);
  CHECK(str(err, "error.code") == "parameter_invalid_boolean");
}

TEST_CASE("an unknown payment intent id is a 404 resource_missing") {
  sandbox_process sb;
  auto err = expect_json(sb.get("/v1/payment_intents/pi_doesnotexist"), 404);
  CHECK(str(err, "error.type") == "invalid_request_error");
  CHECK(str(err, "error.code") == "resource_missing");
  for (const char* path : {"/v1/charges/ch_nope", "/v1/refunds/re_nope", "/v1/events/evt_nope",
                           "/v1/payouts/po_nope", "/v1/balance_transactions/txn_nope"}) {
    auto r = sb.get(path);
    REQUIRE(r.answered);
    CHECK(r.response.status == 404);
  }
}

TEST_CASE("an unrecognized URL is a 404 in Stripe's error shape") {
  sandbox_process sb;
  auto err = expect_json(sb.get("/v1/customers"), 404);
  CHECK(str(err, "error.message").find("Unrecognized request URL") != std::string::npos);
}

TEST_CASE("an oversized body is refused with 413 in Stripe's error shape") {
  sandbox_process sb;
  std::string body = "amount=100&currency=usd&description=" + std::string(70 * 1024, 'x');
  auto r = sb.post("/v1/payment_intents", body);
  REQUIRE(r.answered);
  CHECK(r.response.status == 413);
  auto err = parse(r.response.body);
  CHECK(str(err, "error.type") == "invalid_request_error");
  CHECK(r.response.header_value("Request-Id"));
}

TEST_CASE("a bad percent escape in the body is a 400") {
  sandbox_process sb;
  auto err = expect_json(sb.post("/v1/payment_intents", "amount=100&currency=usd%zz"), 400);
  CHECK(str(err, "error.type") == "invalid_request_error");
}

TEST_CASE("the same Idempotency-Key with the same parameters replays the first response") {
  sandbox_process sb;
  auto first = sb.post("/v1/payment_intents", "amount=500&currency=usd&metadata[a]=1",
                       {{"Idempotency-Key", "key-1"}});
  auto second = sb.post("/v1/payment_intents", "metadata[a]=1&currency=usd&amount=500",
                        {{"Idempotency-Key", "key-1"}});
  auto a = expect_json(first);
  auto b = expect_json(second);
  CHECK(str(a, "id") == str(b, "id"));
  CHECK(second.response.header_value("Idempotent-Replayed") ==
        std::optional<std::string_view>("true"));
  auto list = expect_json(sb.get("/v1/events?type=payment_intent.created"));
  CHECK(at(list, "data").Size() == 1);
}

TEST_CASE("the same Idempotency-Key with other parameters is an idempotency_error") {
  sandbox_process sb;
  expect_json(
      sb.post("/v1/payment_intents", "amount=500&currency=usd", {{"Idempotency-Key", "key-2"}}));
  auto err = expect_json(
      sb.post("/v1/payment_intents", "amount=501&currency=usd", {{"Idempotency-Key", "key-2"}}),
      400);
  CHECK(str(err, "error.type") == "idempotency_error");
}

TEST_CASE("an error answer is replayed for the same Idempotency-Key too") {
  sandbox_process sb;
  auto a = sb.post("/v1/payment_intents", "amount=-1&currency=usd", {{"Idempotency-Key", "k3"}});
  auto b = sb.post("/v1/payment_intents", "amount=-1&currency=usd", {{"Idempotency-Key", "k3"}});
  REQUIRE(a.answered);
  REQUIRE(b.answered);
  CHECK(a.response.status == 400);
  CHECK(b.response.status == 400);
  CHECK(a.response.body == b.response.body);
}

TEST_CASE("a publishable key cannot call secret-key endpoints") {
  sandbox_process sb;
  auto err = expect_json(
      sb.post("/v1/payment_intents", "amount=100&currency=usd", {}, publishable_key), 401);
  CHECK(str(err, "error.code") == "secret_key_required");
  err = expect_json(sb.get("/v1/events", publishable_key), 401);
  CHECK(str(err, "error.code") == "secret_key_required");
}

TEST_CASE("a full store refuses new objects with a clear error and keeps what it has") {
  sandbox_process sb({"--objects-max", "100"});
  std::string first_id;
  int created = 0;
  pay::net::client_result last;
  for (int i = 0; i < 100; ++i) {
    last = sb.post("/v1/payment_intents", "amount=100&currency=usd");
    REQUIRE(last.answered);
    if (last.response.status != 200) break;
    if (first_id.empty()) first_id = str(parse(last.response.body), "id");
    ++created;
  }
  CHECK(created > 10);
  CHECK(created < 100);
  auto err = parse(last.response.body);
  CHECK(str(err, "error.code") == "sandbox_objects_max_reached");
  CHECK(str(err, "error.message").find("--objects-max") != std::string::npos);
  auto kept = expect_json(sb.get("/v1/payment_intents/" + first_id));
  CHECK(str(kept, "id") == first_id);
}

TEST_CASE("--help lists every flag with its environment variable and default") {
  auto text = run_command(std::string(PSP_SANDBOX_BIN) + " --help");
  for (const char* flag : {"--listen (SANDBOX_LISTEN)",
                           "--port (SANDBOX_PORT)",
                           "--port-file",
                           "--secret-key (SANDBOX_SECRET_KEY)",
                           "--publishable-key (SANDBOX_PUBLISHABLE_KEY)",
                           "--webhook-url (SANDBOX_WEBHOOK_URL)",
                           "--webhook-secret (SANDBOX_WEBHOOK_SECRET)",
                           "--webhook-secret-next (SANDBOX_WEBHOOK_SECRET_NEXT)",
                           "--seed (SANDBOX_SEED)",
                           "--fee-percent-bp",
                           "--fee-fixed-minor",
                           "--settlement-interval-s",
                           "--objects-max",
                           "--fault-latency-ms",
                           "--fault-error-percent",
                           "--fault-hang-percent",
                           "--fault-webhook-duplicate-percent",
                           "--fault-webhook-out-of-order-percent",
                           "--fault-webhook-delay-ms",
                           "--fault-webhook-drop-first-percent",
                           "[default: 8090]",
                           "[default: 290]",
                           "[default: 30]"})
    CHECK(text.find(flag) != std::string::npos);
}

TEST_CASE("an unknown flag is a usage error with exit code 2") {
  auto out = run_command(std::string(PSP_SANDBOX_BIN) + " --no-such-flag 1 2>&1; echo rc=$?");
  CHECK(out.find("unknown flag") != std::string::npos);
  CHECK(out.find("rc=2") != std::string::npos);
}

TEST_CASE("flags can come from SANDBOX_ environment variables") {
  auto out =
      run_command("SANDBOX_PORT=notaport " + std::string(PSP_SANDBOX_BIN) + " 2>&1; echo rc=$?");
  CHECK(out.find("SANDBOX_PORT") != std::string::npos);
  CHECK(out.find("rc=2") != std::string::npos);
}

TEST_CASE("without keys the sandbox generates them and prints them once on stdout") {
  // The harness always passes keys; start one by hand without them.
  auto dir = run_command("mktemp -d");
  dir.erase(dir.find_last_not_of("\n") + 1);
  auto cmd = std::string(PSP_SANDBOX_BIN) + " --port 0 --port-file " + dir + "/port > " + dir +
             "/out 2> " + dir + "/err & echo $!";
  auto pid = std::stoi(run_command(cmd));
  bool up = eventually([&] { return !run_command("cat " + dir + "/port 2>/dev/null").empty(); });
  REQUIRE(up);
  auto out = run_command("cat " + dir + "/out");
  CHECK(out.find("SANDBOX_SECRET_KEY=sk_test_") != std::string::npos);
  CHECK(out.find("SANDBOX_PUBLISHABLE_KEY=pk_test_") != std::string::npos);
  auto key_start = out.find("sk_test_");
  auto key = out.substr(key_start, out.find('\n', key_start) - key_start);
  CHECK(run_command("grep -c '" + key + "' " + dir + "/err").starts_with("0"));
  ::kill(pid, SIGTERM);
  run_command("for i in $(seq 100); do kill -0 " + std::to_string(pid) +
              " 2>/dev/null || break; sleep 0.05; done; rm -rf " + dir);
}

TEST_CASE("SIGTERM stops the sandbox gracefully with exit code 0") {
  sandbox_process sb;
  expect_json(sb.post("/v1/payment_intents", "amount=100&currency=usd"));
  CHECK(sb.stop() == 0);
}

TEST_CASE("a scalar sent as an object and an object sent as a scalar are refused") {
  sandbox_process sb;
  auto err = expect_json(sb.post("/v1/payment_intents", "amount[x]=100&currency=usd"), 400);
  CHECK(str(err, "error.param") == "amount");
  err = expect_json(sb.post("/v1/payment_intents", "amount=100&currency=usd&metadata=oops"), 400);
  CHECK(str(err, "error.param") == "metadata");
}

TEST_CASE("the API answers CORS preflights and allows any origin, as api.stripe.com does") {
  sandbox_process sb;
  pay::net::client_request req;
  req.method = "OPTIONS";
  req.url = sb.url("/v1/payment_intents/pi_x/confirm");
  req.headers = {{"Origin", "http://localhost:8080"}, {"Access-Control-Request-Method", "POST"}};
  auto pre = sb.send(req);
  REQUIRE(pre.answered);
  CHECK(pre.response.status == 204);
  CHECK(pre.response.header_value("Access-Control-Allow-Origin") ==
        std::optional<std::string_view>("*"));
  CHECK(pre.response.header_value("Access-Control-Allow-Headers")->find("Authorization") !=
        std::string_view::npos);
  auto r = sb.get("/v1/events");
  CHECK(r.response.header_value("Access-Control-Allow-Origin") ==
        std::optional<std::string_view>("*"));
}
