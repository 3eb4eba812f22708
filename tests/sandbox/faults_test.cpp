// Fault injection: latency, 500/503, hangs, and webhook duplicates, reordering,
// delays and dropped first attempts; all seeded.
#include <catch2/catch.hpp>

#include "sandbox_harness.hpp"

using namespace sandbox_test;

namespace {

std::vector<std::string> webhook_args(const webhook_receiver& rx) {
  return {"--webhook-url",
          rx.url(),
          "--webhook-secret",
          webhook_secret,
          "--webhook-backoff-base-ms",
          "20"};
}

}  // namespace

TEST_CASE("fault knobs set at run time are reported back and bad ones are refused") {
  sandbox_process sb;
  auto set = expect_json(sb.post("/_sandbox/faults",
                                 "{\"latency_ms\": 5, \"error_percent\": 10, "
                                 "\"webhook_duplicate_percent\": 20}"));
  CHECK(num(set, "latency_ms") == 5);
  CHECK(num(set, "error_percent") == 10);
  CHECK(num(set, "webhook_duplicate_percent") == 20);
  auto got = expect_json(sb.get("/_sandbox/faults"));
  CHECK(num(got, "error_percent") == 10);
  auto bad = expect_json(sb.post("/_sandbox/faults", "{\"error_percent\": 101}"), 400);
  CHECK(str(bad, "error.param") == "error_percent");
  expect_json(sb.post("/_sandbox/faults", "{\"no_such_knob\": 1}"), 400);
  auto reset = expect_json(sb.post("/_sandbox/faults", "{\"reset\": true}"));
  CHECK(num(reset, "error_percent") == 0);
  expect_json(sb.get("/_sandbox/faults", ""), 401);
}

TEST_CASE("with error_percent 100 every API request fails with 500 or 503 and nothing is made") {
  sandbox_process sb({"--fault-error-percent", "100"});
  for (int i = 0; i < 6; ++i) {
    auto r = sb.post("/v1/payment_intents", "amount=100&currency=usd");
    REQUIRE(r.answered);
    CHECK((r.response.status == 500 || r.response.status == 503));
    auto err = parse(r.response.body);
    CHECK(str(err, "error.type") == "api_error");
    CHECK(r.response.header_value("Request-Id"));
  }
  auto state = expect_json(sb.get("/_sandbox/state"));
  CHECK(num(state, "objects.payment_intents") == 0);
}

TEST_CASE("the same seed reproduces the same sequence of injected errors") {
  auto statuses = [](const std::string& seed) {
    sandbox_process sb({"--seed", seed, "--fault-error-percent", "50"});
    std::vector<int> out;
    for (int i = 0; i < 20; ++i) {
      auto r = sb.get("/v1/events");
      REQUIRE(r.answered);
      out.push_back(r.response.status);
    }
    return out;
  };
  auto a = statuses("7");
  auto b = statuses("7");
  auto c = statuses("8");
  CHECK(a == b);
  CHECK(a != c);
  CHECK(std::count(a.begin(), a.end(), 200) > 0);
  CHECK(std::count(a.begin(), a.end(), 200) < 20);
}

TEST_CASE("an injected error leaves the idempotency key free for the retry") {
  sandbox_process sb({"--fault-error-percent", "100"});
  auto r = sb.post("/v1/payment_intents", "amount=100&currency=usd", {{"Idempotency-Key", "e1"}});
  REQUIRE(r.answered);
  CHECK(r.response.status >= 500);
  expect_json(sb.post("/_sandbox/faults", "{\"error_percent\": 0}"));
  auto ok = expect_json(
      sb.post("/v1/payment_intents", "amount=100&currency=usd", {{"Idempotency-Key", "e1"}}));
  CHECK(str(ok, "status") == "requires_payment_method");
}

TEST_CASE("latency delays every API answer by at least the configured time") {
  sandbox_process sb({"--fault-latency-ms", "300"});
  auto start = std::chrono::steady_clock::now();
  expect_json(sb.post("/v1/payment_intents", "amount=100&currency=usd"));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  CHECK(ms >= 300);
  // The control endpoints are never slowed.
  expect_json(sb.post("/_sandbox/faults", "{\"latency_ms\": 0}"));
  start = std::chrono::steady_clock::now();
  expect_json(sb.get("/v1/events"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(300));
}

TEST_CASE("a request in flight during latency makes a concurrent retry a 409 idempotency_error") {
  sandbox_process sb({"--fault-latency-ms", "1000"});
  pay::net::http_client client;
  pay::net::client_request req;
  req.method = "POST";
  req.url = sb.url("/v1/payment_intents");
  req.body = "amount=100&currency=usd";
  req.content_type = "application/x-www-form-urlencoded";
  req.headers = {{"Authorization", std::string("Bearer ") + secret_key},
                 {"Idempotency-Key", "slow-1"}};
  std::promise<pay::net::client_result> first;
  client.async_send(req, [&](pay::net::client_result r) { first.set_value(std::move(r)); });
  // Wait until the first request holds the key (it is reserved on arrival).
  REQUIRE(eventually([&] {
    auto state = sb.get("/_sandbox/state");
    return state.answered && parse(state.response.body)["idempotency_keys"].GetInt64() == 1;
  }));
  auto second = expect_json(sb.send(req), 409);
  CHECK(str(second, "error.type") == "idempotency_error");
  expect_json(first.get_future().get());
}

TEST_CASE("a hung answer outlasts the client's timeout and a retry with the same key replays it") {
  sandbox_process sb({"--fault-hang-percent", "100", "--fault-hang-ms", "3000"});
  auto hung = sb.post("/v1/payment_intents", "amount=100&currency=usd",
                      {{"Idempotency-Key", "hang-1"}}, secret_key, 300);
  CHECK_FALSE(hung.answered);
  CHECK(hung.timed_out);
  expect_json(sb.post("/_sandbox/faults", "{\"hang_percent\": 0}"));
  auto replay =
      sb.post("/v1/payment_intents", "amount=100&currency=usd", {{"Idempotency-Key", "hang-1"}});
  auto pi = expect_json(replay);
  CHECK(replay.response.header_value("Idempotent-Replayed"));
  auto list = expect_json(sb.get("/v1/events?type=payment_intent.created"));
  CHECK(at(list, "data").Size() == 1);
  CHECK(str(at(list, "data")[0], "data.object.id") == str(pi, "id"));
}

TEST_CASE("duplicated webhooks deliver the same event twice") {
  webhook_receiver rx;
  auto args = webhook_args(rx);
  args.insert(args.end(), {"--fault-webhook-duplicate-percent", "100"});
  sandbox_process sb(args);
  create_intent(sb, "amount=100&currency=usd");
  REQUIRE(rx.wait_for([](const auto& d) { return d.size() == 2; }));
  auto d = rx.deliveries();
  CHECK(d[0].event_id == d[1].event_id);
  CHECK(d[0].body == d[1].body);
}

TEST_CASE("out-of-order webhooks deliver a later event before an earlier one") {
  webhook_receiver rx;
  auto args = webhook_args(rx);
  args.insert(args.end(), {"--fault-webhook-out-of-order-percent", "100"});
  sandbox_process sb(args);
  create_intent(sb, "amount=100&currency=usd&payment_method=pm_card_visa&confirm=true");
  // payment_intent.created is held until charge.succeeded has been sent.
  REQUIRE(rx.wait_for([](const auto& d) { return d.size() == 3; }));
  auto d = rx.deliveries();
  CHECK(d[0].type == "charge.succeeded");
  CHECK(d[1].type == "payment_intent.created");
  CHECK(d[2].type == "payment_intent.succeeded");
}

TEST_CASE("delayed webhooks arrive no sooner than the delay") {
  webhook_receiver rx;
  auto args = webhook_args(rx);
  args.insert(args.end(), {"--fault-webhook-delay-ms", "400"});
  sandbox_process sb(args);
  auto start = std::chrono::steady_clock::now();
  create_intent(sb, "amount=100&currency=usd");
  REQUIRE(rx.wait_for([](const auto& d) { return d.size() == 1; }));
  CHECK(rx.deliveries()[0].at - start >= std::chrono::milliseconds(400));
}

TEST_CASE("a dropped first attempt is retried and then delivered") {
  webhook_receiver rx;
  sandbox_process sb(webhook_args(rx));
  expect_json(sb.post("/_sandbox/faults", "{\"webhook_drop_first_percent\": 100}"));
  create_intent(sb, "amount=100&currency=usd");
  REQUIRE(rx.wait_for([](const auto& d) { return d.size() == 1; }));
  CHECK(rx.requests_seen() == 1);  // the first attempt never reached the endpoint
  auto log = wait_for_attempts(sb, 2);
  REQUIRE(at(log, "data").Size() == 2);
  CHECK(str(at(log, "data")[0], "outcome") == "dropped");
  CHECK(str(at(log, "data")[1], "outcome") == "delivered");
  CHECK(num(at(log, "data")[1], "attempt") == 2);
}

TEST_CASE("a held answer is sent when the sandbox stops, and it still exits with 0") {
  sandbox_process sb({"--fault-hang-percent", "100", "--fault-hang-ms", "60000"});
  pay::net::http_client client;
  pay::net::client_request req;
  req.method = "POST";
  req.url = sb.url("/v1/payment_intents");
  req.body = "amount=100&currency=usd";
  req.content_type = "application/x-www-form-urlencoded";
  req.headers = {{"Authorization", std::string("Bearer ") + secret_key}};
  std::promise<pay::net::client_result> answer;
  client.async_send(req, [&](pay::net::client_result r) { answer.set_value(std::move(r)); });
  REQUIRE(eventually([&] {
    auto state = sb.get("/_sandbox/state");
    return state.answered &&
           parse(state.response.body)["objects"]["payment_intents"].GetInt64() == 1;
  }));
  CHECK(sb.stop() == 0);
  auto r = answer.get_future().get();
  REQUIRE(r.answered);
  CHECK(r.response.status == 200);
}

TEST_CASE("with processing_ms, confirm answers processing and the outcome follows by event") {
  sandbox_process sb({"--fault-processing-ms", "200"});
  auto ok = create_intent(sb, "amount=100&currency=usd&payment_method=pm_card_visa&confirm=true");
  CHECK(str(ok, "status") == "processing");
  auto declined = create_intent(
      sb, "amount=100&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true");
  CHECK(str(declined, "status") == "processing");
  REQUIRE(eventually([&] {
    return str(expect_json(sb.get("/v1/payment_intents/" + str(ok, "id"))), "status") ==
           "succeeded";
  }));
  REQUIRE(eventually([&] {
    return str(expect_json(sb.get("/v1/payment_intents/" + str(declined, "id"))), "status") ==
           "requires_payment_method";
  }));
  auto failed = expect_json(sb.get("/v1/payment_intents/" + str(declined, "id")));
  CHECK(str(failed, "last_payment_error.code") == "card_declined");
  auto processing = expect_json(sb.get("/v1/events?type=payment_intent.processing"));
  CHECK(at(processing, "data").Size() == 2);
  auto cancel = expect_json(sb.post("/v1/payment_intents/" + str(ok, "id") + "/cancel", ""), 400);
  CHECK(str(cancel, "error.code") == "payment_intent_unexpected_state");
}
