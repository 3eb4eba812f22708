// PayPal's wire format in the engine's terms: amounts as decimal strings
// with PayPal's exponents both ways, timestamps, orders and refunds mapped to
// intents and refunds, error bodies to failures, Transaction Search rows to
// balance transactions and payouts, and PayPal-Request-Id derivation.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "psp/paypal/paypal_amounts.hpp"
#include "psp/paypal/paypal_connector.hpp"
#include "psp/paypal/paypal_orders.hpp"
#include "psp/paypal/paypal_time.hpp"

using namespace pay::psp;
using pay::core::balance_tx_type;
using pay::core::capture_method;
using pay::core::intent_status;
using pay::core::psp_failure_kind;
using pay::core::refund_status;

namespace {

rapidjson::Document json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE(d.IsObject());
  return d;
}

std::optional<pay::core::psp_intent> order(const std::string& text) {
  auto d = json(text);
  std::string error;
  auto i = paypal_intent_of_order(d, error);
  if (!i) INFO(error);
  return i;
}

std::string units(const std::string& payments, const std::string& value = "25.99") {
  return R"("purchase_units":[{"custom_id":"pi_1","invoice_id":"pi_1","amount":{"currency_code":"EUR","value":")" +
         value + R"("},"payments":{)" + payments + "}}]";
}

}  // namespace

TEST_CASE("PayPal amounts: decimal strings at PayPal's exponent - exact both ways") {
  CHECK(to_paypal_value(2599, "eur") == "25.99");
  CHECK(to_paypal_value(5, "usd") == "0.05");
  CHECK(to_paypal_value(100, "USD") == "1.00");
  CHECK(to_paypal_value(1500, "jpy") == "1500");
  // HUF and TWD: two decimals in ISO 4217, none at PayPal.
  CHECK(to_paypal_value(150000, "huf") == "1500");
  CHECK_FALSE(to_paypal_value(150050, "huf"));
  CHECK(to_paypal_value(9900, "twd") == "99");
  CHECK_FALSE(to_paypal_value(9950, "twd"));
  // Currencies PayPal does not support, or the engine does not know.
  CHECK_FALSE(paypal_supports_currency("inr"));
  CHECK_FALSE(to_paypal_value(100, "inr"));
  CHECK_FALSE(to_paypal_value(100, "bhd"));
  CHECK_FALSE(to_paypal_value(100, "xyz"));
  CHECK(paypal_supports_currency("EUR"));
  CHECK(paypal_decimals("jpy") == 0);
  CHECK(paypal_decimals("eur") == 2);

  CHECK(from_paypal_value("25.99", "EUR") == 2599);
  CHECK(from_paypal_value("25.9", "EUR") == 2590);
  CHECK(from_paypal_value("25", "EUR") == 2500);
  CHECK(from_paypal_value(".5", "EUR") == 50);
  CHECK(from_paypal_value("-0.90", "EUR") == -90);
  CHECK(from_paypal_value("1500", "JPY") == 1500);
  CHECK(from_paypal_value("1500", "HUF") == 150000);
  CHECK_FALSE(from_paypal_value("15.5", "JPY"));    // DECIMALS_NOT_SUPPORTED
  CHECK_FALSE(from_paypal_value("15.50", "HUF"));   // HUF has none at PayPal
  CHECK_FALSE(from_paypal_value("25.999", "EUR"));  // DECIMAL_PRECISION
  CHECK_FALSE(from_paypal_value("", "EUR"));
  CHECK_FALSE(from_paypal_value("1.", "EUR"));
  CHECK_FALSE(from_paypal_value("1e3", "EUR"));
  CHECK_FALSE(from_paypal_value("+1", "EUR"));
  CHECK_FALSE(from_paypal_value("99999999999999999999", "EUR"));
  CHECK_FALSE(from_paypal_value("1.00", "INR"));
  for (std::int64_t v : {1LL, 99LL, 100LL, 123456789LL})
    for (const char* c : {"eur", "jpy", "huf", "usd", "twd"})
      if (auto s = to_paypal_value(v, c)) CHECK(from_paypal_value(*s, c) == v);
}

TEST_CASE("PayPal timestamps: RFC 3339 with Z - +HH:MM or +HHMM and back") {
  auto t = parse_paypal_time("2024-06-01T12:34:56Z");
  REQUIRE(t);
  CHECK(*t == 1717245296);
  CHECK(parse_paypal_time("2024-06-01T12:34:56.123Z") == t);
  CHECK(parse_paypal_time("2024-06-01T14:34:56+02:00") == t);
  CHECK(parse_paypal_time("2024-06-01T05:34:56-0700") == t);
  CHECK_FALSE(parse_paypal_time("2024-06-01 12:34:56Z"));
  CHECK_FALSE(parse_paypal_time("2024-06-01T12:34:56"));
  CHECK_FALSE(parse_paypal_time("2024-13-01T12:34:56Z"));
  CHECK(format_paypal_time(*t) == "2024-06-01T12:34:56Z");
  CHECK(format_paypal_time(0) == "1970-01-01T00:00:00Z");
}

TEST_CASE("PayPal orders map onto the engine's intent states") {
  SECTION("a new order: created, the payer-action link as client secret") {
    auto i = order(
        R"({"id":"O1","intent":"CAPTURE","status":"PAYER_ACTION_REQUIRED",)" + units("") +
        R"(,"links":[{"href":"http://x/self","rel":"self"},{"href":"http://x/paypal/checkoutnow?token=O1","rel":"payer-action"}]})");
    REQUIRE(i);
    CHECK(i->id == "O1");
    CHECK(i->status == intent_status::created);
    CHECK(i->client_secret == "http://x/paypal/checkoutnow?token=O1");
    CHECK(i->capture == capture_method::automatic);
    CHECK(i->amount == 2599);
    CHECK(i->currency == "eur");
    CHECK(i->engine_reference == "pi_1");
    CHECK_FALSE(i->needs_confirmation);
  }
  SECTION("approved: created and needs confirmation") {
    auto i = order(R"({"id":"O1","intent":"AUTHORIZE","status":"APPROVED",)" + units("") + "}");
    REQUIRE(i);
    CHECK(i->status == intent_status::created);
    CHECK(i->needs_confirmation);
    CHECK(i->capture == capture_method::manual);
  }
  SECTION("authorized, then partially captured") {
    auto a = order(
        R"({"id":"O1","intent":"AUTHORIZE","status":"COMPLETED",)" +
        units(
            R"("authorizations":[{"id":"A1","status":"CREATED","amount":{"currency_code":"EUR","value":"25.99"}}])") +
        "}");
    REQUIRE(a);
    CHECK(a->status == intent_status::authorized);
    CHECK(a->amount_capturable == 2599);
    auto c = order(
        R"({"id":"O1","intent":"AUTHORIZE","status":"COMPLETED",)" +
        units(
            R"("authorizations":[{"id":"A1","status":"CAPTURED","amount":{"currency_code":"EUR","value":"25.99"}}],"captures":[{"id":"C1","status":"COMPLETED","amount":{"currency_code":"EUR","value":"10.00"}}])") +
        "}");
    REQUIRE(c);
    CHECK(c->status == intent_status::captured);
    CHECK(c->amount_received == 1000);
    CHECK(c->amount_capturable == 0);
    CHECK(c->latest_charge == "C1");
    auto json_doc = json(
        R"({"id":"O1","status":"COMPLETED",)" +
        units(
            R"("authorizations":[{"id":"A1","status":"CAPTURED"}],"captures":[{"id":"C0","status":"DECLINED"},{"id":"C1","status":"PARTIALLY_REFUNDED"}])") +
        "}");
    CHECK(paypal_authorization_id(json_doc) == "A1");
    CHECK(paypal_capture_id(json_doc) == "C1");
  }
  SECTION("a declined order capture: created with the last payment error") {
    auto i = order(
        R"({"id":"O1","intent":"CAPTURE","status":"COMPLETED",)" +
        units(
            R"("captures":[{"id":"C1","status":"DECLINED","amount":{"currency_code":"EUR","value":"25.99"},"processor_response":{"response_code":"0500"}}])") +
        "}");
    REQUIRE(i);
    CHECK(i->status == intent_status::created);
    REQUIRE(i->last_payment_error_json);
    CHECK(i->last_payment_error_json->find("do_not_honor") != std::string::npos);
  }
  SECTION("a pending capture: processing (order) or capture_pending (authorization)") {
    auto o = order(R"({"id":"O1","status":"COMPLETED",)" +
                   units(R"("captures":[{"id":"C1","status":"PENDING"}])") + "}");
    REQUIRE(o);
    CHECK(o->status == intent_status::processing);
    auto a = order(
        R"({"id":"O1","status":"COMPLETED",)" +
        units(
            R"("authorizations":[{"id":"A1","status":"CREATED","amount":{"currency_code":"EUR","value":"25.99"}}],"captures":[{"id":"C1","status":"PENDING"}])") +
        "}");
    REQUIRE(a);
    CHECK(a->status == intent_status::capture_pending);
  }
  SECTION("voided, expired, denied") {
    auto v = order(R"({"id":"O1","status":"COMPLETED",)" +
                   units(R"("authorizations":[{"id":"A1","status":"VOIDED"}])") + "}");
    REQUIRE(v);
    CHECK(v->status == intent_status::canceled);
    auto e = order(R"({"id":"O1","status":"COMPLETED",)" +
                   units(R"("authorizations":[{"id":"A1","status":"EXPIRED"}])") + "}");
    REQUIRE(e);
    CHECK(e->status == intent_status::expired);
    auto d = order(R"({"id":"O1","status":"COMPLETED",)" +
                   units(R"("authorizations":[{"id":"A1","status":"DENIED"}])") + "}");
    REQUIRE(d);
    CHECK(d->status == intent_status::created);
    CHECK(d->last_payment_error_json);
    auto ov = order(R"({"id":"O1","status":"VOIDED",)" + units("") + "}");
    REQUIRE(ov);
    CHECK(ov->status == intent_status::canceled);
  }
  SECTION("not an order the engine can read") {
    std::string error;
    auto d = json(R"({"id":"O1","status":"WEIRD",)" + units("") + "}");
    CHECK_FALSE(paypal_intent_of_order(d, error));
    auto inexact = json(R"({"id":"O1","status":"CREATED",)" + units("", "1.234") + "}");
    CHECK_FALSE(paypal_intent_of_order(inexact, error));
    auto none = json(R"({"id":"O1","status":"CREATED"})");
    CHECK_FALSE(paypal_intent_of_order(none, error));
  }
}

TEST_CASE("PayPal refunds map onto the engine's refund states") {
  auto text = [](const std::string& status) {
    return R"({"id":"R1","status":")" + status +
           R"(","amount":{"currency_code":"JPY","value":"500"},"custom_id":"re_1","supplementary_data":{"related_ids":{"order_id":"O1","capture_id":"C1"}}})";
  };
  std::string error;
  auto d = json(text("COMPLETED"));
  auto r = paypal_refund_of(d, {}, error);
  REQUIRE(r);
  CHECK(r->id == "R1");
  CHECK(r->status == refund_status::succeeded);
  CHECK(r->amount == 500);
  CHECK(r->currency == "jpy");
  CHECK(r->payment_intent == "O1");
  CHECK(r->engine_reference == "re_1");
  CHECK(paypal_refund_of(json(text("PENDING")), {}, error)->status == refund_status::pending);
  CHECK(paypal_refund_of(json(text("FAILED")), {}, error)->status == refund_status::failed);
  CHECK(paypal_refund_of(json(text("CANCELLED")), {}, error)->status == refund_status::canceled);
  CHECK_FALSE(paypal_refund_of(json(text("ODD")), {}, error));
  CHECK(paypal_refund_of(d, "O9", error)->payment_intent == "O9");
}

TEST_CASE("PayPal errors map onto the engine's failure kinds - with the debug id") {
  auto body = [](const std::string& name, const std::string& issue) {
    return R"({"name":")" + name +
           R"(","message":"The requested action could not be performed.","debug_id":"dbg123","details":[{"issue":")" +
           issue + R"(","description":"Something about )" + issue + R"(."}]})";
  };
  auto declined = paypal_failure_of(422, body("UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED"));
  CHECK(declined.kind == psp_failure_kind::declined);
  CHECK(declined.code == "INSTRUMENT_DECLINED");
  CHECK_FALSE(declined.decline_code.empty());
  CHECK(declined.message.find("dbg123") != std::string::npos);
  CHECK(paypal_failure_of(422, body("UNPROCESSABLE_ENTITY", "TRANSACTION_REFUSED")).kind ==
        psp_failure_kind::declined);
  auto captured = paypal_failure_of(422, body("UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED"));
  CHECK(captured.kind == psp_failure_kind::rejected);
  CHECK(captured.code == "ORDER_ALREADY_CAPTURED");
  CHECK(captured.type == "UNPROCESSABLE_ENTITY");
  CHECK(paypal_failure_of(400, body("INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER")).kind ==
        psp_failure_kind::rejected);
  CHECK(paypal_failure_of(404, body("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")).kind ==
        psp_failure_kind::rejected);
  CHECK(paypal_failure_of(403, body("NOT_AUTHORIZED", "PERMISSION_DENIED")).kind ==
        psp_failure_kind::rejected);
  CHECK(paypal_failure_of(
            401, R"({"error":"invalid_client","error_description":"Client Authentication failed"})")
            .kind == psp_failure_kind::rejected);
  CHECK(paypal_failure_of(409, body("RESOURCE_CONFLICT", "PREVIOUS_REQUEST_IN_PROGRESS")).kind ==
        psp_failure_kind::retryable);
  CHECK(paypal_failure_of(429, "").kind == psp_failure_kind::retryable);
  auto down = paypal_failure_of(503, "<html>", "hdr-debug-9");
  CHECK(down.kind == psp_failure_kind::retryable);
  CHECK(down.message.find("hdr-debug-9") != std::string::npos);
  CHECK(paypal_failure_of(500, body("INTERNAL_SERVER_ERROR", "INTERNAL_SERVICE_ERROR")).kind ==
        psp_failure_kind::retryable);
}

TEST_CASE("PayPal-Request-Id: the key itself up to 108 characters - else a stable hash") {
  CHECK(paypal_request_id("idem-1") == "idem-1");
  std::string k108(108, 'k');
  CHECK(paypal_request_id(k108) == k108);
  std::string k200(200, 'k');
  auto id = paypal_request_id(k200);
  CHECK(id.size() <= 108);
  CHECK(id == paypal_request_id(k200));
  CHECK(id != paypal_request_id(std::string(200, 'j')));
}

TEST_CASE("Transaction Search rows become charges and refunds paid by the next withdrawal") {
  std::string body = R"({"transaction_details":[
    {"transaction_info":{"transaction_id":"C1","paypal_reference_id":"O1","transaction_event_code":"T0006","transaction_initiation_date":"2024-06-01T10:00:00+0000","transaction_amount":{"currency_code":"EUR","value":"25.99"},"fee_amount":{"currency_code":"EUR","value":"-1.40"},"transaction_status":"S","custom_field":"pi_1"}},
    {"transaction_info":{"transaction_id":"R1","paypal_reference_id":"O1","transaction_event_code":"T1107","transaction_initiation_date":"2024-06-01T11:00:00+0000","transaction_amount":{"currency_code":"EUR","value":"-5.00"},"transaction_status":"S"}},
    {"transaction_info":{"transaction_id":"C2","paypal_reference_id":"O2","transaction_event_code":"T0006","transaction_initiation_date":"2024-06-01T11:30:00+0000","transaction_amount":{"currency_code":"JPY","value":"1500"},"fee_amount":{"currency_code":"JPY","value":"-53"},"transaction_status":"S"}},
    {"transaction_info":{"transaction_id":"W1","transaction_event_code":"T0400","transaction_initiation_date":"2024-06-01T12:00:00+0000","transaction_amount":{"currency_code":"EUR","value":"-19.59"},"transaction_status":"S"}},
    {"transaction_info":{"transaction_id":"C3","paypal_reference_id":"O3","transaction_event_code":"T0006","transaction_initiation_date":"2024-06-01T13:00:00+0000","transaction_amount":{"currency_code":"EUR","value":"3.00"},"fee_amount":{"currency_code":"EUR","value":"-0.59"},"transaction_status":"S"}},
    {"transaction_info":{"transaction_id":"P1","paypal_reference_id":"O4","transaction_event_code":"T0006","transaction_initiation_date":"2024-06-01T13:00:00+0000","transaction_amount":{"currency_code":"EUR","value":"3.00"},"transaction_status":"P"}}
  ],"page":1,"total_pages":1,"total_items":6})";
  std::size_t pages = 0;
  std::string error;
  auto rows = parse_paypal_transactions(body, pages, error);
  INFO(error);
  REQUIRE(rows);
  CHECK(pages == 1);
  REQUIRE(rows->size() == 6);
  auto view = paypal_settlement_of(*rows);
  REQUIRE(view.payouts.size() == 1);
  CHECK(view.payouts[0].id == "W1");
  CHECK(view.payouts[0].amount == 1959);
  CHECK(view.payouts[0].currency == "eur");
  CHECK(view.payouts[0].status == pay::core::payout_status::paid);
  REQUIRE(view.transactions.size() == 4);  // the pending row moved no money
  const auto& c1 = view.transactions[0];
  CHECK(c1.id == "C1");
  CHECK(c1.type == balance_tx_type::charge);
  CHECK(c1.amount == 2599);
  CHECK(c1.fee == 140);
  CHECK(c1.net == 2459);
  CHECK(c1.payment_intent == "O1");
  CHECK(c1.payout == "W1");
  const auto& r1 = view.transactions[1];
  CHECK(r1.type == balance_tx_type::refund);
  CHECK(r1.amount == -500);
  CHECK(r1.source == "R1");
  CHECK(r1.payout == "W1");
  CHECK(view.transactions[2].currency == "jpy");
  CHECK_FALSE(view.transactions[2].payout);  // no JPY withdrawal yet
  CHECK_FALSE(view.transactions[3].payout);  // after the withdrawal
  CHECK_FALSE(parse_paypal_transactions("{}", pages, error));
  CHECK_FALSE(parse_paypal_transactions(
      R"({"transaction_details":[{"transaction_info":{"transaction_id":"X","transaction_event_code":"T0006","transaction_initiation_date":"2024-06-01T13:00:00+0000","transaction_amount":{"currency_code":"EUR","value":"3.001"}}}]})",
      pages, error));
}
