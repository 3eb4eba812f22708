// PaymentIntents: statuses and transitions, test payment methods, charges,
// 3-D Secure, and confirmation with the publishable key.
#include <catch2/catch.hpp>

#include "sandbox_harness.hpp"

using namespace sandbox_test;

namespace {

std::string confirm_path(const std::string& id) {
  return "/v1/payment_intents/" + id + "/confirm";
}

}  // namespace

TEST_CASE("a new payment intent requires a payment method and carries a client secret") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=1234&currency=EUR");
  auto id = str(pi, "id");
  CHECK(id.starts_with("pi_"));
  CHECK(str(pi, "status") == "requires_payment_method");
  CHECK(str(pi, "currency") == "eur");
  CHECK(str(pi, "capture_method") == "automatic");
  CHECK(str(pi, "client_secret").starts_with(id + "_secret_"));
  CHECK(num(pi, "amount_capturable") == 0);
  CHECK(num(pi, "amount_received") == 0);
  CHECK(is_null(pi, "latest_charge"));
  CHECK(is_null(pi, "last_payment_error"));
  auto again = expect_json(sb.get("/v1/payment_intents/" + id));
  CHECK(str(again, "id") == id);
}

TEST_CASE("a payment method without confirm leaves the intent in requires_confirmation") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=100&currency=usd&payment_method=pm_card_visa");
  CHECK(str(pi, "status") == "requires_confirmation");
  auto done = expect_json(sb.post(confirm_path(str(pi, "id")), ""));
  CHECK(str(done, "status") == "succeeded");
}

TEST_CASE("confirming with pm_card_visa and automatic capture succeeds with a captured charge") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=2000&currency=usd");
  auto done = expect_json(sb.post(confirm_path(str(pi, "id")), "payment_method=pm_card_visa"));
  CHECK(str(done, "status") == "succeeded");
  CHECK(num(done, "amount_received") == 2000);
  CHECK(num(done, "amount_capturable") == 0);
  CHECK(str(done, "payment_method").starts_with("pm_"));
  auto charge_id = str(done, "latest_charge");
  CHECK(charge_id.starts_with("ch_"));
  auto ch = expect_json(sb.get("/v1/charges/" + charge_id));
  CHECK(str(ch, "object") == "charge");
  CHECK(str(ch, "status") == "succeeded");
  CHECK(at(ch, "captured").GetBool());
  CHECK(num(ch, "amount_captured") == 2000);
  CHECK(str(ch, "payment_intent") == str(pi, "id"));
  CHECK(str(ch, "balance_transaction").starts_with("txn_"));
  CHECK(str(ch, "payment_method_details.card.last4") == "4242");
}

TEST_CASE("create with confirm=true and a payment method succeeds in one call") {
  sandbox_process sb;
  auto pi =
      create_intent(sb, "amount=700&currency=usd&payment_method=pm_card_mastercard&confirm=true");
  CHECK(str(pi, "status") == "succeeded");
  CHECK(num(pi, "amount_received") == 700);
}

TEST_CASE("manual capture authorises, then a partial capture releases the remainder") {
  sandbox_process sb;
  auto pi = create_intent(
      sb,
      "amount=1000&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm=true");
  auto id = str(pi, "id");
  CHECK(str(pi, "status") == "requires_capture");
  CHECK(num(pi, "amount_capturable") == 1000);
  CHECK(num(pi, "amount_received") == 0);
  auto ch = expect_json(sb.get("/v1/charges/" + str(pi, "latest_charge")));
  CHECK_FALSE(at(ch, "captured").GetBool());
  auto captured =
      expect_json(sb.post("/v1/payment_intents/" + id + "/capture", "amount_to_capture=600"));
  CHECK(str(captured, "status") == "succeeded");
  CHECK(num(captured, "amount_received") == 600);
  CHECK(num(captured, "amount_capturable") == 0);
  ch = expect_json(sb.get("/v1/charges/" + str(pi, "latest_charge")));
  CHECK(at(ch, "captured").GetBool());
  CHECK(num(ch, "amount_captured") == 600);
  auto again = expect_json(sb.post("/v1/payment_intents/" + id + "/capture", ""), 400);
  CHECK(str(again, "error.code") == "payment_intent_unexpected_state");
}

TEST_CASE("capturing more than the capturable amount is refused") {
  sandbox_process sb;
  auto pi = create_intent(
      sb,
      "amount=1000&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm=true");
  auto err = expect_json(
      sb.post("/v1/payment_intents/" + str(pi, "id") + "/capture", "amount_to_capture=1001"), 400);
  CHECK(str(err, "error.code") == "amount_too_large");
  CHECK(str(err, "error.param") == "amount_to_capture");
  auto full = expect_json(sb.post("/v1/payment_intents/" + str(pi, "id") + "/capture", ""));
  CHECK(num(full, "amount_received") == 1000);
}

TEST_CASE(
    "a declined card answers 402 card_error and the intent returns to requires_payment_method") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=1000&currency=usd");
  auto id = str(pi, "id");
  auto err = expect_json(sb.post(confirm_path(id), "payment_method=pm_card_chargeDeclined"), 402);
  CHECK(str(err, "error.type") == "card_error");
  CHECK(str(err, "error.code") == "card_declined");
  CHECK(str(err, "error.decline_code") == "generic_decline");
  CHECK(str(err, "error.charge").starts_with("ch_"));
  CHECK(str(err, "error.payment_intent.id") == id);
  auto after = expect_json(sb.get("/v1/payment_intents/" + id));
  CHECK(str(after, "status") == "requires_payment_method");
  CHECK(str(after, "last_payment_error.code") == "card_declined");
  CHECK(str(after, "last_payment_error.type") == "card_error");
  auto ch = expect_json(sb.get("/v1/charges/" + str(after, "latest_charge")));
  CHECK(str(ch, "status") == "failed");
  CHECK(str(ch, "failure_code") == "card_declined");
  // A new payment method may be tried after a decline.
  auto retry = expect_json(sb.post(confirm_path(id), "payment_method=pm_card_visa"));
  CHECK(str(retry, "status") == "succeeded");
  CHECK(is_null(retry, "last_payment_error"));
}

TEST_CASE("the insufficient funds card is declined with decline_code insufficient_funds") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=1000&currency=usd");
  auto err = expect_json(sb.post(confirm_path(str(pi, "id")),
                                 "payment_method=pm_card_chargeDeclinedInsufficientFunds"),
                         402);
  CHECK(str(err, "error.decline_code") == "insufficient_funds");
}

TEST_CASE("an unknown payment method is a 404 with param payment_method") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=1000&currency=usd");
  auto err = expect_json(sb.post(confirm_path(str(pi, "id")), "payment_method=pm_card_bogus"), 404);
  CHECK(str(err, "error.param") == "payment_method");
}

TEST_CASE("an authentication-required card asks for 3-D Secure and approval completes it") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=1500&currency=usd");
  auto id = str(pi, "id");
  auto action =
      expect_json(sb.post(confirm_path(id), "payment_method=pm_card_authenticationRequired"));
  CHECK(str(action, "status") == "requires_action");
  CHECK(str(action, "next_action.type") == "redirect_to_url");
  auto url = str(action, "next_action.redirect_to_url.url");
  CHECK(url.starts_with(sb.url("/3ds/" + id)));
  auto page = sb.get(url.substr(url.find("/3ds/")), "");
  REQUIRE(page.answered);
  CHECK(page.response.status == 200);
  CHECK(page.response.body.find("3-D Secure") != std::string::npos);
  auto done = expect_json(sb.post("/_sandbox/3ds/" + id + "/approve", ""));
  CHECK(str(done, "status") == "succeeded");
  CHECK(num(done, "amount_received") == 1500);
  CHECK(is_null(done, "next_action"));
}

TEST_CASE("failing 3-D Secure returns the intent to requires_payment_method") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=1500&currency=usd");
  auto id = str(pi, "id");
  expect_json(sb.post(confirm_path(id), "payment_method=pm_card_authenticationRequired"));
  auto failed = expect_json(sb.post("/_sandbox/3ds/" + id + "/fail",
                                    "client_secret=" + str(pi, "client_secret"), {}, ""));
  CHECK(str(failed, "status") == "requires_payment_method");
  CHECK(str(failed, "last_payment_error.code") == "payment_intent_authentication_failure");
  auto again = expect_json(sb.post("/_sandbox/3ds/" + id + "/approve", ""), 400);
  CHECK(str(again, "error.code") == "payment_intent_unexpected_state");
}

TEST_CASE("the 3-D Secure endpoints refuse a wrong client secret without the secret key") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=1500&currency=usd");
  auto id = str(pi, "id");
  expect_json(sb.post(confirm_path(id), "payment_method=pm_card_authenticationRequired"));
  expect_json(sb.post("/_sandbox/3ds/" + id + "/approve", "client_secret=wrong", {}, ""), 401);
}

TEST_CASE("canceling an authorised intent releases it and it cannot be captured afterwards") {
  sandbox_process sb;
  auto pi = create_intent(
      sb, "amount=900&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm=true");
  auto id = str(pi, "id");
  auto canceled = expect_json(
      sb.post("/v1/payment_intents/" + id + "/cancel", "cancellation_reason=abandoned"));
  CHECK(str(canceled, "status") == "canceled");
  CHECK(str(canceled, "cancellation_reason") == "abandoned");
  CHECK(num(canceled, "amount_capturable") == 0);
  CHECK(num(canceled, "canceled_at") > 0);
  auto err = expect_json(sb.post("/v1/payment_intents/" + id + "/capture", ""), 400);
  CHECK(str(err, "error.code") == "payment_intent_unexpected_state");
  err = expect_json(sb.post("/v1/payment_intents/" + id + "/cancel", ""), 400);
  CHECK(str(err, "error.code") == "payment_intent_unexpected_state");
}

TEST_CASE("a succeeded intent can be neither confirmed nor canceled") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=100&currency=usd&payment_method=pm_card_visa&confirm=true");
  auto id = str(pi, "id");
  auto err = expect_json(sb.post(confirm_path(id), "payment_method=pm_card_visa"), 400);
  CHECK(str(err, "error.code") == "payment_intent_unexpected_state");
  CHECK(str(err, "error.payment_intent.status") == "succeeded");
  err = expect_json(sb.post("/v1/payment_intents/" + id + "/cancel", ""), 400);
  CHECK(str(err, "error.code") == "payment_intent_unexpected_state");
}

TEST_CASE("the publishable key with the client secret confirms and retrieves, as Stripe.js does") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=100&currency=usd");
  auto id = str(pi, "id");
  auto secret = str(pi, "client_secret");
  auto seen = expect_json(
      sb.get("/v1/payment_intents/" + id + "?client_secret=" + secret, publishable_key));
  CHECK(str(seen, "id") == id);
  auto wrong = expect_json(
      sb.post(confirm_path(id), "client_secret=" + id + "_secret_nope&payment_method=pm_card_visa",
              {}, publishable_key),
      400);
  CHECK(str(wrong, "error.param") == "client_secret");
  auto missing = expect_json(
      sb.post(confirm_path(id), "payment_method=pm_card_visa", {}, publishable_key), 400);
  CHECK(str(missing, "error.param") == "client_secret");
  auto ok = expect_json(sb.post(confirm_path(id),
                                "client_secret=" + secret + "&payment_method=pm_card_visa", {},
                                publishable_key));
  CHECK(str(ok, "status") == "succeeded");
}

TEST_CASE("the publishable key may also travel as the key form parameter") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=100&currency=usd");
  auto body = "key=" + std::string(publishable_key) + "&client_secret=" + str(pi, "client_secret") +
              "&payment_method=pm_card_visa";
  auto ok = expect_json(sb.post(confirm_path(str(pi, "id")), body, {}, ""));
  CHECK(str(ok, "status") == "succeeded");
}

TEST_CASE("raw test card numbers confirm through the iframe path with their outcomes") {
  sandbox_process sb;
  auto confirm_card = [&](const std::string& number) {
    auto pi = create_intent(sb, "amount=1000&currency=usd");
    auto body = "client_secret=" + str(pi, "client_secret") +
                "&payment_method_data[type]=card&payment_method_data[card][number]=" + number +
                "&payment_method_data[card][exp_month]=12&payment_method_data[card][exp_year]=34"
                "&payment_method_data%5Bcard%5D%5Bcvc%5D=123";
    return sb.post(confirm_path(str(pi, "id")), body, {}, publishable_key);
  };
  auto ok = expect_json(confirm_card("4242424242424242"));
  CHECK(str(ok, "status") == "succeeded");
  auto declined = expect_json(confirm_card("4000000000000002"), 402);
  CHECK(str(declined, "error.decline_code") == "generic_decline");
  auto funds = expect_json(confirm_card("4000000000009995"), 402);
  CHECK(str(funds, "error.decline_code") == "insufficient_funds");
  auto three_ds = expect_json(confirm_card("4000002500003155"));
  CHECK(str(three_ds, "status") == "requires_action");
  auto bad = expect_json(confirm_card("4242424242424241"), 402);
  CHECK(str(bad, "error.code") == "incorrect_number");
}

TEST_CASE("an expiry month out of range is a card_error invalid_expiry_month") {
  sandbox_process sb;
  auto pi = create_intent(sb, "amount=1000&currency=usd");
  auto body = std::string(
      "payment_method_data[type]=card&payment_method_data[card][number]=4242424242424242"
      "&payment_method_data[card][exp_month]=13&payment_method_data[card][exp_year]=2034");
  auto err = expect_json(sb.post(confirm_path(str(pi, "id")), body), 402);
  CHECK(str(err, "error.code") == "invalid_expiry_month");
}
