// Refunds and events.
#include <catch2/catch.hpp>

#include "sandbox_harness.hpp"

using namespace sandbox_test;

namespace {

std::string paid_intent(sandbox_process& sb, std::int64_t amount) {
  auto pi = create_intent(sb, "amount=" + std::to_string(amount) +
                                  "&currency=usd&payment_method=pm_card_visa&confirm=true");
  REQUIRE(str(pi, "status") == "succeeded");
  return str(pi, "id");
}

}  // namespace

TEST_CASE("partial and multiple refunds are allowed up to the amount received, no further") {
  sandbox_process sb;
  auto id = paid_intent(sb, 1000);
  auto r1 = expect_json(sb.post("/v1/refunds", "payment_intent=" + id + "&amount=300"));
  CHECK(str(r1, "object") == "refund");
  CHECK(str(r1, "status") == "succeeded");
  CHECK(num(r1, "amount") == 300);
  CHECK(str(r1, "payment_intent") == id);
  auto r2 = expect_json(sb.post("/v1/refunds", "payment_intent=" + id + "&amount=600"));
  CHECK(num(r2, "amount") == 600);
  auto over = expect_json(sb.post("/v1/refunds", "payment_intent=" + id + "&amount=101"), 400);
  CHECK(str(over, "error.type") == "invalid_request_error");
  CHECK(str(over, "error.param") == "amount");
  auto rest = expect_json(sb.post("/v1/refunds", "payment_intent=" + id));
  CHECK(num(rest, "amount") == 100);
  auto none = expect_json(sb.post("/v1/refunds", "payment_intent=" + id + "&amount=1"), 400);
  CHECK(str(none, "error.code") == "charge_already_refunded");
  auto ch = expect_json(sb.get("/v1/charges/" + str(r1, "charge")));
  CHECK(num(ch, "amount_refunded") == 1000);
  CHECK(at(ch, "refunded").GetBool());
  CHECK(at(ch, "refunds.data").Size() == 3);
}

TEST_CASE("a refund is limited by the captured amount after a partial capture") {
  sandbox_process sb;
  auto pi = create_intent(
      sb,
      "amount=1000&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm=true");
  auto id = str(pi, "id");
  expect_json(sb.post("/v1/payment_intents/" + id + "/capture", "amount_to_capture=400"));
  expect_json(sb.post("/v1/refunds", "payment_intent=" + id + "&amount=401"), 400);
  auto r = expect_json(sb.post("/v1/refunds", "charge=" + str(pi, "latest_charge")));
  CHECK(num(r, "amount") == 400);
}

TEST_CASE("a refund of an intent that has not succeeded is refused") {
  sandbox_process sb;
  auto pi = create_intent(
      sb,
      "amount=1000&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm=true");
  auto err = expect_json(sb.post("/v1/refunds", "payment_intent=" + str(pi, "id")), 400);
  CHECK(str(err, "error.type") == "invalid_request_error");
  expect_json(sb.post("/v1/refunds", "payment_intent=pi_unknown"), 404);
  auto missing = expect_json(sb.post("/v1/refunds", "amount=5"), 400);
  CHECK(str(missing, "error.code") == "parameter_missing");
}

TEST_CASE("a refund can be retrieved by id") {
  sandbox_process sb;
  auto id = paid_intent(sb, 500);
  auto r = expect_json(sb.post("/v1/refunds", "payment_intent=" + id + "&reason=duplicate"));
  auto got = expect_json(sb.get("/v1/refunds/" + str(r, "id")));
  CHECK(str(got, "id") == str(r, "id"));
  CHECK(str(got, "reason") == "duplicate");
  CHECK(num(got, "amount") == 500);
}

TEST_CASE("every change makes an event, listed newest first") {
  sandbox_process sb;
  auto id = paid_intent(sb, 800);
  expect_json(sb.post("/v1/refunds", "payment_intent=" + id + "&amount=100"));
  auto list = expect_json(sb.get("/v1/events"));
  CHECK(str(list, "object") == "list");
  std::vector<std::string> types;
  for (const auto& e : at(list, "data").GetArray()) types.push_back(e["type"].GetString());
  std::vector<std::string> expected = {"refund.updated",   "charge.refunded",
                                       "refund.created",   "payment_intent.succeeded",
                                       "charge.succeeded", "payment_intent.created"};
  CHECK(types == expected);
  const auto& newest = at(list, "data")[1];
  CHECK(str(newest, "object") == "event");
  CHECK(str(newest, "data.object.object") == "charge");
  CHECK(num(newest, "data.object.amount_refunded") == 100);
  CHECK(str(newest, "api_version") == "2020-08-27");
}

TEST_CASE("events page with limit and starting_after") {
  sandbox_process sb;
  for (int i = 0; i < 5; ++i) create_intent(sb, "amount=100&currency=usd");
  auto page1 = expect_json(sb.get("/v1/events?limit=2"));
  CHECK(at(page1, "data").Size() == 2);
  CHECK(at(page1, "has_more").GetBool());
  auto last = std::string(at(page1, "data")[1]["id"].GetString());
  auto page2 = expect_json(sb.get("/v1/events?limit=2&starting_after=" + last));
  CHECK(at(page2, "data").Size() == 2);
  CHECK(std::string(at(page2, "data")[0]["id"].GetString()) != last);
  auto last2 = std::string(at(page2, "data")[1]["id"].GetString());
  auto page3 = expect_json(sb.get("/v1/events?limit=2&starting_after=" + last2));
  CHECK(at(page3, "data").Size() == 1);
  CHECK_FALSE(at(page3, "has_more").GetBool());
  auto bad = expect_json(sb.get("/v1/events?limit=0"), 400);
  CHECK(str(bad, "error.param") == "limit");
}

TEST_CASE("one event can be retrieved by id and events filter by type") {
  sandbox_process sb;
  auto id = paid_intent(sb, 100);
  auto list = expect_json(sb.get("/v1/events?type=payment_intent.succeeded"));
  REQUIRE(at(list, "data").Size() == 1);
  auto event_id = std::string(at(list, "data")[0]["id"].GetString());
  auto one = expect_json(sb.get("/v1/events/" + event_id));
  CHECK(str(one, "type") == "payment_intent.succeeded");
  CHECK(str(one, "data.object.id") == id);
  auto wildcard = expect_json(sb.get("/v1/events?type=payment_intent.*"));
  CHECK(at(wildcard, "data").Size() == 2);
}

TEST_CASE("events carry the request id and idempotency key that caused them") {
  sandbox_process sb;
  auto r = sb.post("/v1/payment_intents", "amount=100&currency=usd", {{"Idempotency-Key", "ik-9"}});
  expect_json(r);
  auto list = expect_json(sb.get("/v1/events"));
  const auto& e = at(list, "data")[0];
  CHECK(str(e, "request.id") == std::string(*r.response.header_value("Request-Id")));
  CHECK(str(e, "request.idempotency_key") == "ik-9");
}

TEST_CASE("manual capture, decline, 3-D Secure and cancel each emit their event types") {
  sandbox_process sb;
  create_intent(sb,
                "amount=100&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm="
                "true");
  sb.post("/v1/payment_intents",
          "amount=100&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true");
  auto three = create_intent(
      sb, "amount=100&currency=usd&payment_method=pm_card_authenticationRequired&confirm=true");
  expect_json(sb.post("/v1/payment_intents/" + str(three, "id") + "/cancel", ""));
  auto list = expect_json(sb.get("/v1/events?limit=100"));
  std::vector<std::string> types;
  for (const auto& e : at(list, "data").GetArray()) types.push_back(e["type"].GetString());
  for (const char* t : {"payment_intent.amount_capturable_updated", "charge.failed",
                        "payment_intent.payment_failed", "payment_intent.requires_action",
                        "payment_intent.canceled"})
    CHECK(std::find(types.begin(), types.end(), t) != types.end());
}
