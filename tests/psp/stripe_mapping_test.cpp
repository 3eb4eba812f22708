// The Stripe provider's translation of Stripe's words into engine terms, and
// its webhook bundle (verify, parse, answer) and checkout front end.

#include <catch2/catch.hpp>
#include <string>

#include "psp/stripe/stripe_connector.hpp"
#include "psp/stripe/stripe_events.hpp"
#include "psp/stripe/stripe_mapping.hpp"
#include "psp/stripe/stripe_provider.hpp"
#include "psp/stripe/webhook_signature.hpp"

using namespace pay;
using core::intent_status;

namespace {

std::string intent_event(const std::string& type, const std::string& status) {
  return R"({"id":"evt_1","object":"event","type":")" + type +
         R"(","created":1700000000,"data":{"object":{"id":"pi_1","object":"payment_intent",)"
         R"("amount":1000,"currency":"usd","status":")" +
         status + R"(","amount_capturable":1000,"amount_received":0,"capture_method":"manual"}}})";
}

}  // namespace

TEST_CASE("Every Stripe PaymentIntent status maps to one engine status, and nothing else does") {
  CHECK(psp::stripe_intent_status("requires_payment_method") == intent_status::created);
  CHECK(psp::stripe_intent_status("requires_confirmation") == intent_status::created);
  CHECK(psp::stripe_intent_status("requires_action") == intent_status::requires_action);
  CHECK(psp::stripe_intent_status("processing") == intent_status::processing);
  CHECK(psp::stripe_intent_status("requires_capture") == intent_status::authorized);
  CHECK(psp::stripe_intent_status("succeeded") == intent_status::captured);
  CHECK(psp::stripe_intent_status("canceled") == intent_status::canceled);
  CHECK_FALSE(psp::stripe_intent_status("captured").has_value());
  CHECK_FALSE(psp::stripe_intent_status("").has_value());
}

TEST_CASE("Stripe refund, payout and balance transaction words map to engine enums") {
  CHECK(psp::stripe_refund_status("pending") == core::refund_status::pending);
  CHECK(psp::stripe_refund_status("requires_action") == core::refund_status::pending);
  CHECK(psp::stripe_refund_status("succeeded") == core::refund_status::succeeded);
  CHECK(psp::stripe_refund_status("failed") == core::refund_status::failed);
  CHECK(psp::stripe_refund_status("canceled") == core::refund_status::canceled);
  CHECK_FALSE(psp::stripe_refund_status("").has_value());
  CHECK(psp::stripe_payout_status("paid") == core::payout_status::paid);
  CHECK(psp::stripe_payout_status("in_transit") == core::payout_status::in_transit);
  CHECK_FALSE(psp::stripe_payout_status("lost").has_value());
  CHECK(psp::stripe_balance_tx_type("charge") == core::balance_tx_type::charge);
  CHECK(psp::stripe_balance_tx_type("refund") == core::balance_tx_type::refund);
  CHECK(psp::stripe_balance_tx_type("refund_failure") == core::balance_tx_type::refund);
  CHECK(psp::stripe_balance_tx_type("payout") == core::balance_tx_type::payout);
  CHECK(psp::stripe_balance_tx_type("stripe_fee") == core::balance_tx_type::other);
}

TEST_CASE("A Stripe event becomes an engine event kind with the intent in engine terms") {
  auto e = psp::parse_stripe_event(
      intent_event("payment_intent.amount_capturable_updated", "requires_capture"));
  REQUIRE(e.has_value());
  CHECK(e->kind == core::psp_event_kind::intent_changed);
  CHECK(e->psp_type == "payment_intent.amount_capturable_updated");
  REQUIRE(e->intent.has_value());
  CHECK(e->intent->status == intent_status::authorized);
  CHECK(e->intent->psp_status == "requires_capture");
  CHECK(e->intent->capture == core::capture_method::manual);
  CHECK(e->object_id == "pi_1");
  CHECK(e->payload == intent_event("payment_intent.amount_capturable_updated", "requires_capture"));

  auto paid = psp::parse_stripe_event(
      R"({"id":"evt_2","type":"payout.paid","data":{"object":{"id":"po_1","object":"payout"}}})");
  REQUIRE(paid.has_value());
  CHECK(paid->kind == core::psp_event_kind::payout_paid);
  CHECK(paid->object_id == "po_1");
  auto failed = psp::parse_stripe_event(
      R"({"id":"evt_3","type":"payout.failed","data":{"object":{"id":"po_2","object":"payout"}}})");
  REQUIRE(failed.has_value());
  CHECK(failed->kind == core::psp_event_kind::payout_failed);
  auto charge = psp::parse_stripe_event(
      R"({"id":"evt_4","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge"}}})");
  REQUIRE(charge.has_value());
  CHECK(charge->kind == core::psp_event_kind::other);
  auto refund = psp::parse_stripe_event(
      R"({"id":"evt_5","type":"refund.updated","data":{"object":{"id":"re_1","object":"refund",)"
      R"("amount":300,"currency":"usd","status":"failed","payment_intent":"pi_1"}}})");
  REQUIRE(refund.has_value());
  CHECK(refund->kind == core::psp_event_kind::refund_changed);
  REQUIRE(refund->refund.has_value());
  CHECK(refund->refund->status == core::refund_status::failed);
}

TEST_CASE("An intent event with a status Stripe does not document is no event") {
  CHECK_FALSE(psp::parse_stripe_event(intent_event("payment_intent.succeeded", "done")));
}

TEST_CASE("The Stripe webhook bundle verifies Stripe-Signature, parses one event, answers 200") {
  const std::string secret = "whsec_mapping_test_secret";
  psp::stripe_webhooks hooks{{secret}, 300};
  CHECK(hooks.configured());
  CHECK_FALSE(psp::stripe_webhooks({}, 300).configured());
  auto body = intent_event("payment_intent.succeeded", "succeeded");
  const std::int64_t now = 1'700'000'000;
  std::string header =
      psp::make_stripe_signature_header(std::vector<std::string>{secret}, now, body);
  auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    if (name == "Stripe-Signature") return std::string_view(header);
    return std::nullopt;
  };
  CHECK(hooks.verify(lookup, body, now).ok);
  auto bad = hooks.verify(lookup, body + " ", now);
  CHECK_FALSE(bad.ok);
  CHECK(bad.reason == "no_matching_signature");
  CHECK(hooks.verify(lookup, body, now + 301).reason == "timestamp_outside_tolerance");
  auto none =
      hooks.verify([](std::string_view) { return std::optional<std::string_view>{}; }, body, now);
  CHECK(none.reason == "missing_header");

  auto events = hooks.parse(body);
  REQUIRE(events.size() == 1);
  CHECK(events[0].intent->status == intent_status::captured);
  CHECK(hooks.parse("{not json").empty());
  auto answer = hooks.accepted(1, 1);
  CHECK(answer.status == 200);
  CHECK(answer.body == R"({"received":true,"duplicate":true})");
  CHECK(hooks.accepted(1, 0).body == R"({"received":true,"duplicate":false})");
}

TEST_CASE("The Stripe provider's checkout front end names its card form and CSP origins") {
  psp::stripe_provider_options o;
  o.name = "sandbox";
  o.api.secret_key = "sk_test_x";
  o.api.base_url = "http://127.0.0.1:8090";
  o.sandbox_public_url = "http://127.0.0.1:8090/some/path";
  o.publishable_key = "pk_test_x";
  auto sandbox = psp::make_stripe_provider(o);
  CHECK(sandbox.name == "sandbox");
  CHECK(sandbox.kind == "stripe");
  CHECK(sandbox.checkout.kind == "sandbox");
  CHECK(sandbox.checkout.origin == "http://127.0.0.1:8090");
  CHECK(sandbox.checkout.iframe_url == "http://127.0.0.1:8090/js/iframe.html");
  CHECK(sandbox.checkout.frame_src == std::vector<std::string>{"http://127.0.0.1:8090"});
  CHECK(sandbox.checkout.publishable_key == "pk_test_x");
  // Stripe's documented window for uncaptured payments, declared here and
  // not in core.
  REQUIRE(sandbox.auth_window);
  CHECK(sandbox.auth_window->validity_s == 7 * 86'400);

  o.checkout_js = psp::stripe_checkout_js::stripe;
  auto stripe = psp::make_stripe_provider(o);
  CHECK(stripe.checkout.kind == "stripe");
  CHECK(stripe.checkout.script_url == "https://js.stripe.com/v3/");
  CHECK(stripe.checkout.script_src == std::vector<std::string>{"https://js.stripe.com"});

  o.api.secret_key.clear();
  CHECK_THROWS_AS(psp::make_stripe_provider(o), std::invalid_argument);
}

TEST_CASE("Stripe's automatic cancel of an uncaptured intent is an expiry, other cancels are not") {
  CHECK(psp::stripe_intent_status("canceled", "automatic") == intent_status::expired);
  CHECK(psp::stripe_intent_status("canceled", "") == intent_status::canceled);
  CHECK(psp::stripe_intent_status("canceled", "requested_by_customer") == intent_status::canceled);
  CHECK(psp::stripe_intent_status("requires_capture", "automatic") == intent_status::authorized);
  std::string error;
  auto pi = psp::parse_stripe_intent(
      R"({"id":"pi_1","object":"payment_intent","amount":1000,"currency":"usd",)"
      R"("status":"canceled","cancellation_reason":"automatic","amount_capturable":0,)"
      R"("amount_received":0,"capture_method":"manual"})",
      error);
  REQUIRE(pi);
  CHECK(pi->status == intent_status::expired);
  CHECK(pi->psp_status == "canceled");
}

TEST_CASE("An intent's embedded charge tells Stripe's capture deadline and the card network") {
  std::string error;
  auto pi = psp::parse_stripe_intent(
      R"({"id":"pi_1","object":"payment_intent","amount":1000,"currency":"usd",)"
      R"("status":"requires_capture","amount_capturable":1000,"amount_received":0,)"
      R"("capture_method":"manual","latest_charge":"ch_1","charges":{"object":"list","data":[)"
      R"({"id":"ch_1","object":"charge","payment_method_details":{"type":"card","card":)"
      R"({"brand":"visa","network":"Visa","capture_before":1700604800}}}]}})",
      error);
  REQUIRE(pi);
  CHECK(pi->capture_before == 1700604800);
  CHECK(pi->card_network == "visa");
  CHECK(pi->latest_charge == "ch_1");
  auto plain = psp::parse_stripe_intent(
      R"({"id":"pi_1","object":"payment_intent","amount":1000,"currency":"usd",)"
      R"("status":"requires_capture","amount_capturable":1000,"amount_received":0})",
      error);
  REQUIRE(plain);
  CHECK_FALSE(plain->capture_before);
  CHECK_FALSE(plain->card_network);
}
