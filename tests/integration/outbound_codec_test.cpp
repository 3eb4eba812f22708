// The outbound events carry the intent and the refund exactly as the API
// shows them: core's writer (which storage can use) and net's codec (which
// answers the API) must produce the same bytes.

#include <catch2/catch.hpp>

#include "core/outbound_events.hpp"
#include "net/checkout_requests.hpp"
#include "net/intent_codec.hpp"

using namespace pay;

TEST_CASE("An event's intent is byte for byte the intent the API answers") {
  core::payment_intent pi;
  pi.id = "pi_000000000000000000000042";
  pi.merchant_id = "mch_1";
  pi.status = core::intent_status::authorized;
  pi.amount = 99'999'999;
  pi.currency = "jpy";
  pi.capture = core::capture_method::manual;
  pi.amount_capturable = 99'999'999;
  pi.psp = "sandbox";
  pi.version = 3;
  pi.created = 1764036000;
  CHECK(core::intent_api_json(pi) == net::intent_json(pi));
  pi.description = std::string("quote \" backslash \\ newline \n tab \t ctl \x01 é 😀");
  pi.client_secret = "pi_x_secret_y";
  pi.psp_reference = "pi_psp";
  pi.metadata_json = R"({"order": "1001", "k": "v"})";
  pi.last_payment_error_json = R"({"code": "card_declined", "message": "Declined"})";
  CHECK(core::intent_api_json(pi) == net::intent_json(pi));
}

TEST_CASE("An event's refund is byte for byte the refund the API answers") {
  core::refund r;
  r.id = "re_000000000000000000000042";
  r.merchant_id = "mch_1";
  r.intent_id = "pi_000000000000000000000042";
  r.amount = 1000;
  r.currency = "eur";
  r.status = "succeeded";
  r.created = 1764036100;
  CHECK(core::refund_api_json(r) == net::refund_json(r));
  r.reason = "requested_by_customer";
  r.psp_reference = "re_psp\"x";
  CHECK(core::refund_api_json(r) == net::refund_json(r));
}
