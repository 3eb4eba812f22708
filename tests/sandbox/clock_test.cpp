// The test clock: POST /_sandbox/clock/advance moves every sandbox
// timestamp, and Stripe's automatic cancel of an uncaptured intent after 7
// days happens when the clock passes it (with its webhook), or lazily when
// the intent is read.
#include <catch2/catch.hpp>

#include <chrono>

#include "sandbox_harness.hpp"

using namespace sandbox_test;

namespace {

constexpr std::int64_t day_s = 86'400;

std::int64_t wall_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

pay::net::client_result advance(sandbox_process& sb, const std::string& json) {
  return sb.post("/_sandbox/clock/advance", json, {{"Content-Type", "application/json"}});
}

/// An uncaptured (requires_capture) intent.
rapidjson::Document authorized(sandbox_process& sb) {
  auto pi = create_intent(sb, "amount=1200&currency=usd&capture_method=manual");
  auto done = expect_json(
      sb.post("/v1/payment_intents/" + str(pi, "id") + "/confirm", "payment_method=pm_card_visa"));
  REQUIRE(str(done, "status") == "requires_capture");
  return done;
}

}  // namespace

TEST_CASE("the test clock starts at wall time and moves forward by the seconds given") {
  sandbox_process sb;
  auto before = expect_json(sb.get("/_sandbox/clock"));
  CHECK(num(before, "offset_s") == 0);
  CHECK(std::abs(num(before, "now") - wall_s()) < 5);
  auto moved = expect_json(advance(sb, R"({"seconds":3600})"));
  CHECK(num(moved, "offset_s") == 3600);
  CHECK(std::abs(num(moved, "now") - (wall_s() + 3600)) < 5);
  // New objects carry the sandbox's time.
  auto pi = create_intent(sb, "amount=100&currency=usd");
  CHECK(std::abs(num(pi, "created") - (wall_s() + 3600)) < 5);
  auto again = expect_json(advance(sb, "seconds=60"));
  CHECK(num(again, "offset_s") == 3660);
}

TEST_CASE(
    "the test clock refuses a step that is not a positive bounded integer, and needs the "
    "secret key") {
  sandbox_process sb;
  for (auto bad : {R"({"seconds":0})", R"({"seconds":-5})", R"({"seconds":"x"})", R"({})",
                   R"({"seconds":31708801})", R"({"seconds":5,"other":1})"}) {
    INFO(bad);
    auto r = advance(sb, bad);
    CHECK(r.response.status == 400);
  }
  CHECK(num(expect_json(sb.get("/_sandbox/clock")), "offset_s") == 0);
  auto anon = sb.post("/_sandbox/clock/advance", R"({"seconds":5})",
                      {{"Content-Type", "application/json"}}, "sk_test_wrong");
  CHECK(anon.response.status == 401);
}

TEST_CASE("an uncaptured charge tells its capture deadline, 7 days after the authorisation") {
  sandbox_process sb;
  auto pi = authorized(sb);
  auto ch = expect_json(sb.get("/v1/charges/" + str(pi, "latest_charge")));
  CHECK(num(ch, "payment_method_details.card.capture_before") == num(ch, "created") + 7 * day_s);
  CHECK(str(ch, "payment_method_details.card.network") == "visa");
  // The intent embeds its charge (API 2020-08-27), deadline included.
  const auto& charges = at(pi, "charges.data");
  REQUIRE(charges.IsArray());
  REQUIRE(charges.Size() == 1);
  CHECK(num(charges[0], "payment_method_details.card.capture_before") ==
        num(ch, "payment_method_details.card.capture_before"));
  auto captured = expect_json(sb.post("/v1/payment_intents/" + str(pi, "id") + "/capture", ""));
  auto after = expect_json(sb.get("/v1/charges/" + str(captured, "latest_charge")));
  CHECK_FALSE(at(after, "payment_method_details.card").HasMember("capture_before"));
}

TEST_CASE("advancing past 7 days cancels an uncaptured intent automatically, with its webhook") {
  webhook_receiver rx;
  sandbox_process sb({"--webhook-url", rx.url(), "--webhook-secret", webhook_secret,
                      "--webhook-backoff-base-ms", "20"});
  auto pi = authorized(sb);
  auto paid = create_intent(sb, "amount=500&currency=usd&payment_method=pm_card_visa&confirm=true");
  REQUIRE(str(paid, "status") == "succeeded");
  expect_json(advance(sb, R"({"seconds":518400})"));  // 6 days: not yet
  CHECK(str(expect_json(sb.get("/v1/payment_intents/" + str(pi, "id"))), "status") ==
        "requires_capture");
  expect_json(advance(sb, R"({"seconds":172800})"));  // 8 days in all
  auto gone = expect_json(sb.get("/v1/payment_intents/" + str(pi, "id")));
  CHECK(str(gone, "status") == "canceled");
  CHECK(str(gone, "cancellation_reason") == "automatic");
  CHECK(num(gone, "amount_capturable") == 0);
  CHECK(num(gone, "canceled_at") >= wall_s() + 8 * day_s - 5);
  // A captured payment is not touched.
  CHECK(str(expect_json(sb.get("/v1/payment_intents/" + str(paid, "id"))), "status") ==
        "succeeded");
  REQUIRE(rx.wait_for([&](const auto& ds) {
    for (const auto& d : ds)
      if (d.type == "payment_intent.canceled" && d.body.find(str(pi, "id")) != std::string::npos)
        return true;
    return false;
  }));
  std::size_t canceled = 0;
  for (const auto& d : rx.deliveries())
    if (d.type == "payment_intent.canceled") {
      ++canceled;
      auto event = parse(d.body);
      CHECK(str(event, "data.object.cancellation_reason") == "automatic");
    }
  CHECK(canceled == 1);
  // A capture now fails as for any canceled intent.
  auto late = sb.post("/v1/payment_intents/" + str(pi, "id") + "/capture", "");
  CHECK(late.response.status == 400);
}
