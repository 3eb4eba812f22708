// PayPal webhooks: the offline verification (CRC32, signed string,
// RSA-SHA256 with the certificate of PAYPAL-CERT-URL) against the worked
// example (tests/data/paypal/webhook-test-vectors.json), every tampering
// refused, and the parse of each event type into the engine's events.
#include "psp/paypal/paypal_webhooks.hpp"

#include <rapidjson/document.h>

#include <unistd.h>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "psp/paypal/paypal_time.hpp"

using namespace pay::psp;
using pay::core::intent_status;
using pay::core::psp_event_kind;
using pay::core::refund_status;

namespace {

rapidjson::Document vectors() {
  std::ifstream in(std::string(PAY_TEST_DATA_DIR) + "/paypal/webhook-test-vectors.json");
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  rapidjson::Document d;
  d.Parse(s.str().c_str());
  REQUIRE(d.IsObject());
  return d;
}

std::string str(const rapidjson::Value& v, const char* name) {
  return v[name].GetString();
}

struct delivery {
  std::map<std::string, std::string> headers;
  std::string body;
  pay::core::header_lookup lookup() const {
    return [this](std::string_view name) -> std::optional<std::string_view> {
      for (const auto& [k, v] : headers)
        if (k.size() == name.size() &&
            std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            }))
          return std::string_view(v);
      return std::nullopt;
    };
  }
};

delivery example(const rapidjson::Document& d) {
  delivery x;
  for (const auto& h : d["headers"].GetObject())
    x.headers[h.name.GetString()] = h.value.GetString();
  x.body = str(d, "raw_body");
  return x;
}

std::int64_t example_time() {
  return *parse_paypal_time("2024-06-01T12:35:10Z");
}

paypal_webhook_options example_options(const rapidjson::Document& d) {
  paypal_webhook_options o;
  o.webhook_id = str(d, "webhook_id");
  o.cert_hosts = {"psp-sandbox.invalid"};
  o.cert_cn_suffix = ".simulator.invalid";
  o.cert_chain_check = false;
  return o;
}

/// A verifier holding the example's certificate for its URL.
std::unique_ptr<paypal_webhooks> example_verifier(const rapidjson::Document& d,
                                                  paypal_webhook_options o) {
  auto w = std::make_unique<paypal_webhooks>(std::move(o), nullptr);
  std::string error;
  REQUIRE(w->add_certificate(str(d["headers"], "PAYPAL-CERT-URL"), str(d, "cert_pem"),
                             example_time(), error));
  return w;
}

}  // namespace

TEST_CASE("PayPal's CRC32 is zlib's - written unsigned and the signed string joins with '|'") {
  auto d = vectors();
  auto x = example(d);
  CHECK(paypal_crc32(x.body) == 2705199349u);
  CHECK(std::to_string(paypal_crc32(x.body)) == str(d, "crc32_decimal"));
  CHECK(paypal_crc32("") == 0u);
  CHECK(paypal_crc32("123456789") == 0xCBF43926u);  // the CRC-32 check value
  CHECK(paypal_signed_string(x.headers["PAYPAL-TRANSMISSION-ID"],
                             x.headers["PAYPAL-TRANSMISSION-TIME"], str(d, "webhook_id"),
                             x.body) == str(d, "signed_string"));
}

TEST_CASE("The worked PayPal webhook verifies offline with its certificate") {
  auto d = vectors();
  auto w = example_verifier(d, example_options(d));
  auto x = example(d);
  CHECK(w->configured());
  auto v = w->verify(x.lookup(), x.body, example_time());
  CHECK(v.reason == "ok");
  CHECK(v.ok);
  CHECK(w->signature_header() == "PAYPAL-TRANSMISSION-SIG");
}

TEST_CASE("A tampered PayPal webhook does not verify") {
  auto d = vectors();
  auto w = example_verifier(d, example_options(d));
  auto now = example_time();
  SECTION("body") {
    auto x = example(d);
    x.body.replace(x.body.find("25.99"), 5, "95.99");
    CHECK(w->verify(x.lookup(), x.body, now).reason == "no_matching_signature");
  }
  SECTION("transmission id") {
    auto x = example(d);
    x.headers["PAYPAL-TRANSMISSION-ID"].back() = '0';
    CHECK(w->verify(x.lookup(), x.body, now).reason == "no_matching_signature");
  }
  SECTION("transmission time, still fresh") {
    auto x = example(d);
    x.headers["PAYPAL-TRANSMISSION-TIME"] = "2024-06-01T12:34:57Z";
    CHECK(w->verify(x.lookup(), x.body, now).reason == "no_matching_signature");
  }
  SECTION("signature") {
    auto x = example(d);
    auto& sig = x.headers["PAYPAL-TRANSMISSION-SIG"];
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    CHECK_FALSE(w->verify(x.lookup(), x.body, now).ok);
  }
  SECTION("the simulator's WEBHOOK_ID instead of ours") {
    auto o = example_options(d);
    o.webhook_id = "WEBHOOK_ID";
    auto w2 = example_verifier(d, o);
    auto x = example(d);
    CHECK(w2->verify(x.lookup(), x.body, now).reason == "no_matching_signature");
  }
  SECTION("a certificate URL on a host that is not allowed") {
    auto x = example(d);
    x.headers["PAYPAL-CERT-URL"] =
        "https://evil.example/v1/notifications/certs/CERT-simulator-0001";
    CHECK(w->verify(x.lookup(), x.body, now).reason == "cert_url_not_allowed");
    x.headers["PAYPAL-CERT-URL"] = "http://psp-sandbox.invalid/v1/notifications/certs/CERT-1";
    CHECK(w->verify(x.lookup(), x.body, now).reason == "cert_url_not_allowed");  // http, not https
  }
  SECTION("another certificate") {
    // A certificate that is not the signer's: the example's URL is answered
    // by a verifier that never saw the right key (nothing to download).
    auto x = example(d);
    x.headers["PAYPAL-CERT-URL"] = "https://psp-sandbox.invalid:1/v1/notifications/certs/CERT-2";
    auto o = example_options(d);
    o.cert_hosts = {"psp-sandbox.invalid:1"};
    paypal_webhooks fresh(o, nullptr);
    CHECK(fresh.verify(x.lookup(), x.body, now).reason == "cert_unavailable");
  }
  SECTION("too old or too new") {
    auto x = example(d);
    CHECK(w->verify(x.lookup(), x.body, now + pay::core::limits::paypal_webhook_tolerance_s + 60)
              .reason == "stale");
    CHECK(w->verify(x.lookup(), x.body, now - pay::core::limits::paypal_webhook_tolerance_s - 60)
              .reason == "stale");
  }
  SECTION("missing headers and a foreign algorithm") {
    auto x = example(d);
    x.headers.erase("PAYPAL-TRANSMISSION-SIG");
    CHECK(w->verify(x.lookup(), x.body, now).reason == "missing_header");
    auto y = example(d);
    y.headers["PAYPAL-AUTH-ALGO"] = "SHA1withRSA";
    CHECK(w->verify(y.lookup(), y.body, now).reason == "unsupported_algorithm");
  }
}

TEST_CASE("A PayPal signing certificate is checked before it is cached") {
  auto d = vectors();
  auto url = str(d["headers"], "PAYPAL-CERT-URL");
  std::string error;
  SECTION("PayPal's CN suffix by default: the simulator's certificate is not PayPal's") {
    auto o = example_options(d);
    o.cert_cn_suffix = ".paypal.com";
    paypal_webhooks w(o, nullptr);
    CHECK_FALSE(w.add_certificate(url, str(d, "cert_pem"), example_time(), error));
    CHECK(error.find("CN") != std::string::npos);
  }
  SECTION("a chain to no trusted root is refused; trusting the certificate itself passes") {
    auto o = example_options(d);
    o.cert_chain_check = true;
    paypal_webhooks untrusted(o, nullptr);
    CHECK_FALSE(untrusted.add_certificate(url, str(d, "cert_pem"), example_time(), error));
    auto path = (std::filesystem::temp_directory_path() /
                 ("paypal-test-ca-" + std::to_string(::getpid()) + ".pem"))
                    .string();
    std::ofstream(path) << str(d, "cert_pem");
    o.cert_ca_file = path;
    paypal_webhooks trusted(o, nullptr);
    CHECK(trusted.add_certificate(url, str(d, "cert_pem"), example_time(), error));
    std::remove(path.c_str());
  }
  SECTION("outside its validity dates") {
    paypal_webhooks w(example_options(d), nullptr);
    CHECK_FALSE(w.add_certificate(url, str(d, "cert_pem"),
                                  *parse_paypal_time("2060-01-01T00:00:00Z"), error));
  }
  SECTION("not PEM, or not an allowed URL") {
    paypal_webhooks w(example_options(d), nullptr);
    CHECK_FALSE(w.add_certificate(url, "not a certificate", example_time(), error));
    CHECK_FALSE(
        w.add_certificate("https://other.invalid/cert", str(d, "cert_pem"), example_time(), error));
  }
  SECTION("no webhook id: not configured, everything refused") {
    auto o = example_options(d);
    o.webhook_id.clear();
    paypal_webhooks w(o, nullptr);
    CHECK_FALSE(w.configured());
    auto x = example(d);
    CHECK(w.verify(x.lookup(), x.body, example_time()).reason == "not_configured");
  }
  SECTION("bad cert host configuration") {
    auto o = example_options(d);
    o.cert_hosts = {"host/with/path"};
    CHECK_THROWS_AS(paypal_webhooks(o, nullptr), std::invalid_argument);
    o.cert_hosts = {"host"};
    o.verify = paypal_verification::api;
    CHECK_THROWS_AS(paypal_webhooks(o, nullptr), std::invalid_argument);
  }
}

namespace {

std::string event(const std::string& type, const std::string& resource) {
  return R"({"id":"WH-1","event_version":"1.0","create_time":"2024-06-01T12:34:55.123Z","resource_type":"x","event_type":")" +
         type + R"(","summary":"s","resource":)" + resource + "}";
}

std::string payment(const std::string& id, const std::string& status, const std::string& value,
                    bool of_authorization, const std::string& extra = {}) {
  return R"({"id":")" + id + R"(","status":")" + status +
         R"(","amount":{"currency_code":"EUR","value":")" + value + R"("},"custom_id":"pi_1",)" +
         extra + R"("supplementary_data":{"related_ids":{"order_id":"ORDER1")" +
         (of_authorization ? R"(,"authorization_id":"AUTH1")" : "") + "}}}";
}

const char* approved_order =
    R"({"id":"ORDER1","intent":"AUTHORIZE","status":"APPROVED","purchase_units":[{"custom_id":"pi_1","amount":{"currency_code":"EUR","value":"25.99"}}]})";

}  // namespace

TEST_CASE("Each PayPal event type parses into the engine's event") {
  SECTION("CHECKOUT.ORDER.APPROVED: created, needs confirmation") {
    auto e = parse_paypal_event(event("CHECKOUT.ORDER.APPROVED", approved_order));
    REQUIRE(e);
    CHECK(e->id == "WH-1");
    CHECK(e->psp_type == "CHECKOUT.ORDER.APPROVED");
    CHECK(e->created == *parse_paypal_time("2024-06-01T12:34:55Z"));
    REQUIRE(e->kind == psp_event_kind::intent_changed);
    CHECK(e->object_id == "ORDER1");
    CHECK(e->intent->status == intent_status::created);
    CHECK(e->intent->needs_confirmation);
    CHECK(e->intent->amount == 2599);
    CHECK(e->intent->currency == "eur");
    CHECK(e->intent->engine_reference == "pi_1");
  }
  SECTION("PAYMENT.AUTHORIZATION.CREATED: authorized for its amount") {
    auto e = parse_paypal_event(
        event("PAYMENT.AUTHORIZATION.CREATED", payment("AUTH1", "CREATED", "25.99", false)));
    REQUIRE(e);
    REQUIRE(e->kind == psp_event_kind::intent_changed);
    CHECK(e->intent->id == "ORDER1");
    CHECK(e->intent->status == intent_status::authorized);
    CHECK(e->intent->amount_capturable == 2599);
  }
  SECTION("PAYMENT.AUTHORIZATION.VOIDED: canceled") {
    auto e = parse_paypal_event(
        event("PAYMENT.AUTHORIZATION.VOIDED", payment("AUTH1", "VOIDED", "25.99", false)));
    REQUIRE(e);
    CHECK(e->intent->status == intent_status::canceled);
    CHECK(e->intent->amount_capturable == 0);
  }
  SECTION("PAYMENT.CAPTURE.COMPLETED: captured, this capture's amount received") {
    auto e = parse_paypal_event(
        event("PAYMENT.CAPTURE.COMPLETED", payment("CAP1", "COMPLETED", "10.00", true)));
    REQUIRE(e);
    CHECK(e->intent->id == "ORDER1");
    CHECK(e->intent->status == intent_status::captured);
    CHECK(e->intent->amount_received == 1000);
    CHECK(e->intent->amount_capturable == 0);
    CHECK(e->intent->latest_charge == "CAP1");
  }
  SECTION("PAYMENT.CAPTURE.PENDING: capture_pending of an authorization, processing otherwise") {
    auto a = parse_paypal_event(
        event("PAYMENT.CAPTURE.PENDING", payment("CAP1", "PENDING", "10.00", true)));
    REQUIRE(a);
    CHECK(a->intent->status == intent_status::capture_pending);
    auto o = parse_paypal_event(
        event("PAYMENT.CAPTURE.PENDING", payment("CAP1", "PENDING", "10.00", false)));
    REQUIRE(o);
    CHECK(o->intent->status == intent_status::processing);
  }
  SECTION("PAYMENT.CAPTURE.DENIED/DECLINED: back to authorized, or created with the error") {
    auto a = parse_paypal_event(
        event("PAYMENT.CAPTURE.DENIED", payment("CAP1", "DECLINED", "10.00", true)));
    REQUIRE(a);
    CHECK(a->intent->status == intent_status::authorized);
    CHECK(a->intent->modification_failed);
    REQUIRE(a->intent->last_payment_error_json);
    auto o = parse_paypal_event(event(
        "PAYMENT.CAPTURE.DECLINED", payment("CAP1", "DECLINED", "10.00", false,
                                            R"("processor_response":{"response_code":"5120"},)")));
    REQUIRE(o);
    CHECK(o->intent->status == intent_status::created);
    CHECK_FALSE(o->intent->modification_failed);
    REQUIRE(o->intent->last_payment_error_json);
    CHECK(o->intent->last_payment_error_json->find("\"decline_code\":\"insufficient_funds\"") !=
          std::string::npos);
  }
  SECTION("PAYMENT.CAPTURE.REFUNDED: the refund, for the order") {
    auto e = parse_paypal_event(
        event("PAYMENT.CAPTURE.REFUNDED", payment("REF1", "COMPLETED", "5.00", false)));
    REQUIRE(e);
    REQUIRE(e->kind == psp_event_kind::refund_changed);
    CHECK(e->refund->id == "REF1");
    CHECK(e->refund->status == refund_status::succeeded);
    CHECK(e->refund->amount == 500);
    CHECK(e->refund->payment_intent == "ORDER1");
    CHECK(e->refund->engine_reference == "pi_1");
  }
  SECTION("others, and events tied to no order, are `other`") {
    auto e = parse_paypal_event(
        event("CUSTOMER.DISPUTE.CREATED", R"({"dispute_id":"PP-D-1","id":"PP-D-1"})"));
    REQUIRE(e);
    CHECK(e->kind == psp_event_kind::other);
    auto lone = parse_paypal_event(event(
        "PAYMENT.CAPTURE.COMPLETED",
        R"({"id":"CAP9","status":"COMPLETED","amount":{"currency_code":"EUR","value":"1.00"}})"));
    REQUIRE(lone);
    CHECK(lone->kind == psp_event_kind::other);
    auto inexact = parse_paypal_event(
        event("PAYMENT.CAPTURE.COMPLETED", payment("CAP1", "COMPLETED", "10.001", true)));
    REQUIRE(inexact);
    CHECK(inexact->kind == psp_event_kind::other);
  }
  SECTION("not an event") {
    CHECK_FALSE(parse_paypal_event("{}"));
    CHECK_FALSE(parse_paypal_event("not json"));
    CHECK_FALSE(parse_paypal_event(R"({"id":"WH-1","event_type":"X"})"));
  }
  SECTION("the worked example: one event, payload the whole body") {
    auto d = vectors();
    paypal_webhooks w(example_options(d), nullptr);
    auto events = w.parse(str(d, "raw_body"));
    REQUIRE(events.size() == 1);
    CHECK(events[0].payload == str(d, "raw_body"));
    CHECK(events[0].id == "WH-2AB34567CD890123E-4FG56789HJ012340K");
    auto a = w.accepted(1, 0);
    CHECK(a.status == 200);
    CHECK(a.body == "{}");
  }
}
