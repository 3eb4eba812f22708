// Adyen notifications: the HMAC scheme against the worked examples and
// Adyen's own library vectors (tests/data/adyen/webhook-test-vectors.json),
// batch verification, and the parse of every event code into the engine's
// events.
#include "psp/adyen/adyen_webhooks.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "core/crypto.hpp"
#include "core/standard_webhooks.hpp"

using namespace pay::psp;
using pay::core::dispute_status;
using pay::core::intent_status;
using pay::core::psp_event_kind;
using pay::core::refund_status;

namespace {

rapidjson::Document vectors() {
  std::ifstream in(std::string(PAY_TEST_DATA_DIR) + "/adyen/webhook-test-vectors.json");
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  rapidjson::Document d;
  d.Parse(s.str().c_str());
  REQUIRE(d.IsObject());
  return d;
}

std::string text(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return {b.GetString(), b.GetSize()};
}

std::string str(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? std::string() : std::string(it->value.GetString());
}

adyen_signed_fields fields_of(const rapidjson::Value& item) {
  adyen_signed_fields f;
  f.psp_reference = str(item, "pspReference");
  f.original_reference = str(item, "originalReference");
  f.merchant_account = str(item, "merchantAccountCode");
  f.merchant_reference = str(item, "merchantReference");
  f.value = item["amount"]["value"].GetInt64();
  f.currency = str(item["amount"], "currency");
  f.event_code = str(item, "eventCode");
  f.success = str(item, "success");
  return f;
}

const std::string key = "3F8B2A6C1D9E4F70A5B3C2D1E0F9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1";
const std::string other_key = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";

auto no_headers = [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; };

/// A signed item's JSON (the item itself) for `f`, with extras merged in.
std::string item_json(const adyen_signed_fields& f, const std::string& extra = {},
                      const std::string& k = key) {
  std::string s = "{\"pspReference\":\"" + f.psp_reference + "\"";
  if (!f.original_reference.empty()) s += ",\"originalReference\":\"" + f.original_reference + "\"";
  s += ",\"merchantAccountCode\":\"" + f.merchant_account + "\",\"merchantReference\":\"" +
       f.merchant_reference + "\",\"amount\":{\"currency\":\"" + f.currency +
       "\",\"value\":" + std::to_string(f.value) + "},\"eventCode\":\"" + f.event_code +
       "\",\"success\":\"" + f.success + "\",\"eventDate\":\"2024-06-01T14:34:50+02:00\"";
  if (!extra.empty()) s += "," + extra;
  if (extra.find("\"additionalData\"") == std::string::npos)
    s += ",\"additionalData\":{\"hmacSignature\":\"" +
         adyen_hmac_signature(k, adyen_signing_string(f)) + "\"}";
  return s + "}";
}

std::string batch(const std::vector<std::string>& items, const char* live = "false") {
  std::string s = std::string("{\"live\":\"") + live + "\",\"notificationItems\":[";
  for (std::size_t i = 0; i < items.size(); ++i)
    s += (i ? "," : "") + std::string("{\"NotificationRequestItem\":") + items[i] + "}";
  return s + "]}";
}

adyen_signed_fields fields(std::string code, std::string success, std::string psp,
                           std::string original = {}, std::int64_t value = 2599,
                           std::string currency = "EUR", std::string reference = "pi_engine_1") {
  adyen_signed_fields f;
  f.psp_reference = std::move(psp);
  f.original_reference = std::move(original);
  f.merchant_account = "ExampleShopECOM";
  f.merchant_reference = std::move(reference);
  f.value = value;
  f.currency = std::move(currency);
  f.event_code = std::move(code);
  f.success = std::move(success);
  return f;
}

pay::core::psp_event one(const std::string& item) {
  adyen_webhooks w({key}, false);
  auto events = w.parse(batch({item}));
  REQUIRE(events.size() == 1);
  return events[0];
}

}  // namespace

TEST_CASE("adyen HMAC: the three worked examples", "[adyen][hmac]") {
  auto d = vectors();
  auto key_hex = str(d, "hmac_key_hex");
  for (const auto& v : d["vectors"].GetArray()) {
    auto f = fields_of(v["item"]);
    CHECK(adyen_signing_string(f) == str(v, "signing_string"));
    CHECK(adyen_hmac_signature(key_hex, str(v, "signing_string")) == str(v, "hmacSignature"));
    // The classic bug: the key's text instead of its bytes.
    auto wrong = pay::core::hmac_sha256_hex(key_hex, str(v, "signing_string"));
    std::string raw;
    for (std::size_t i = 0; i < wrong.size(); i += 2)
      raw.push_back(static_cast<char>(std::stoi(wrong.substr(i, 2), nullptr, 16)));
    CHECK(pay::core::base64_encode(raw) == str(v, "wrong_if_key_not_hex_decoded"));
    CHECK(pay::core::base64_encode(raw) != str(v, "hmacSignature"));
  }
}

TEST_CASE("adyen HMAC: Adyen's own library vectors", "[adyen][hmac]") {
  auto d = vectors();
  for (const auto& v : d["cross_check_from_adyen_libraries"].GetArray())
    CHECK(adyen_hmac_signature(str(v, "hmac_key_hex"), str(v, "signing_string")) ==
          str(v, "hmacSignature"));
}

TEST_CASE("adyen HMAC keys must be 64 hex digits", "[adyen][hmac]") {
  CHECK(adyen_hmac_key_bytes(key)->size() == 32);
  CHECK_FALSE(adyen_hmac_key_bytes(key.substr(2)));
  CHECK_FALSE(adyen_hmac_key_bytes(key.substr(2) + "ZZ"));
  CHECK(adyen_hmac_signature("nothex", "x").empty());
}

TEST_CASE("adyen verify: the example batch passes, any tampering fails", "[adyen][verify]") {
  auto d = vectors();
  auto body = text(d["example_request_body"]);
  adyen_webhooks w({key}, false);
  CHECK(w.configured());
  CHECK(w.verify(no_headers, body, 0).ok);
  CHECK(w.signature_header() == "additionalData.hmacSignature");

  SECTION("a tampered amount") {
    auto bad = body;
    bad.replace(bad.find("2599"), 4, "2600");
    auto v = w.verify(no_headers, bad, 0);
    CHECK_FALSE(v.ok);
    CHECK(v.reason == "no_matching_signature");
  }
  SECTION("a tampered reference with ':' in the second item only") {
    auto bad = body;
    bad.replace(bad.find("order:1042"), 10, "order:1043");
    CHECK(w.verify(no_headers, bad, 0).reason == "no_matching_signature");
  }
  SECTION("a wrong key; rotation with the right one second") {
    adyen_webhooks wrong({other_key}, false);
    CHECK(wrong.verify(no_headers, body, 0).reason == "no_matching_signature");
    adyen_webhooks rotated({other_key, key}, false);
    CHECK(rotated.verify(no_headers, body, 0).ok);
  }
  SECTION("live must match the configuration") {
    adyen_webhooks live({key}, true);
    CHECK(live.verify(no_headers, body, 0).reason == "live_mismatch");
  }
  SECTION("no keys: refused") {
    adyen_webhooks none({}, false);
    CHECK_FALSE(none.configured());
    CHECK_FALSE(none.verify(no_headers, body, 0).ok);
  }
  SECTION("malformed bodies") {
    for (std::string b : {std::string("not json"), std::string("{}"),
                          std::string(R"({"live":"false","notificationItems":[]})"),
                          std::string(R"({"live":false,"notificationItems":[{}]})"),
                          std::string(R"({"live":"false","notificationItems":[{"x":1}]})")}) {
      auto v = w.verify(no_headers, b, 0);
      CHECK_FALSE(v.ok);
      CHECK(v.reason == "malformed");
    }
  }
}

TEST_CASE("adyen verify: one bad item refuses the whole batch", "[adyen][verify]") {
  adyen_webhooks w({key}, false);
  auto good = item_json(fields("AUTHORISATION", "true", "PSPREF0000000001"));
  auto bad = item_json(fields("AUTHORISATION", "true", "PSPREF0000000002"), {}, other_key);
  auto unsigned_item =
      item_json(fields("AUTHORISATION", "true", "PSPREF0000000003"), "\"additionalData\":{}");
  CHECK(w.verify(no_headers, batch({good, good}), 0).ok);
  CHECK(w.verify(no_headers, batch({good, bad}), 0).reason == "no_matching_signature");
  CHECK(w.verify(no_headers, batch({good, unsigned_item}), 0).reason == "missing_signature");
}

TEST_CASE("adyen parse: AUTHORISATION", "[adyen][parse]") {
  auto e = one(item_json(fields("AUTHORISATION", "true", "PSPREF0000000001")));
  CHECK(e.id == "AUTHORISATION:PSPREF0000000001:true");
  CHECK(e.psp_type == "AUTHORISATION:true");
  CHECK(e.created == 1717245290);  // 2024-06-01T14:34:50+02:00
  CHECK(e.kind == psp_event_kind::intent_changed);
  CHECK(e.object_id == "PSPREF0000000001");
  REQUIRE(e.intent);
  CHECK(e.intent->id == "PSPREF0000000001");
  CHECK(e.intent->status == intent_status::authorized);
  CHECK(e.intent->amount == 2599);
  CHECK(e.intent->currency == "eur");
  CHECK(e.intent->amount_capturable == 2599);
  CHECK_FALSE(e.intent->amount_received);
  CHECK(e.intent->engine_reference == "pi_engine_1");

  auto refused =
      one(item_json(fields("AUTHORISATION", "false", "PSPREF0000000002", {}, 1500, "JPY"),
                    "\"reason\":\"Not enough balance\""));
  CHECK(refused.id == "AUTHORISATION:PSPREF0000000002:false");
  REQUIRE(refused.intent);
  CHECK(refused.intent->status == intent_status::created);
  CHECK(refused.intent->amount == 1500);
  CHECK(refused.intent->currency == "jpy");
  REQUIRE(refused.intent->last_payment_error_json);
  CHECK(
      *refused.intent->last_payment_error_json ==
      R"({"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Not enough balance"})");
}

TEST_CASE("adyen parse: CAPTURE, CANCELLATION, CANCEL_OR_REFUND, EXPIRE", "[adyen][parse]") {
  auto cap = one(item_json(fields("CAPTURE", "true", "CAPREF0000000001", "PSPREF0000000001")));
  REQUIRE(cap.intent);
  CHECK(cap.kind == psp_event_kind::intent_changed);
  CHECK(cap.object_id == "PSPREF0000000001");
  CHECK(cap.intent->id == "PSPREF0000000001");
  CHECK(cap.intent->status == intent_status::captured);
  CHECK(cap.intent->amount_received == 2599);
  CHECK(cap.intent->amount_capturable == 0);
  CHECK_FALSE(cap.intent->modification_failed);

  auto cap_failed =
      one(item_json(fields("CAPTURE", "false", "CAPREF0000000002", "PSPREF0000000001"),
                    "\"reason\":\"Insufficient balance on payment\""));
  REQUIRE(cap_failed.intent);
  CHECK(cap_failed.intent->status == intent_status::authorized);
  CHECK(cap_failed.intent->modification_failed);
  CHECK(cap_failed.intent->last_payment_error_json->find("Insufficient balance") !=
        std::string::npos);

  auto cancel =
      one(item_json(fields("CANCELLATION", "true", "CANREF0000000001", "PSPREF0000000001")));
  REQUIRE(cancel.intent);
  CHECK(cancel.intent->status == intent_status::canceled);
  CHECK(cancel.intent->amount_capturable == 0);
  auto cancel_no =
      one(item_json(fields("CANCELLATION", "false", "CANREF0000000002", "PSPREF0000000001")));
  CHECK(cancel_no.intent->status == intent_status::authorized);
  CHECK(cancel_no.intent->modification_failed);

  auto cor_cancel =
      one(item_json(fields("CANCEL_OR_REFUND", "true", "REVREF0000000001", "PSPREF0000000001"),
                    "\"additionalData\":{\"modification.action\":\"cancel\"}"));
  REQUIRE(cor_cancel.intent);
  CHECK(cor_cancel.intent->status == intent_status::canceled);
  auto cor_refund =
      one(item_json(fields("CANCEL_OR_REFUND", "true", "REVREF0000000002", "PSPREF0000000001"),
                    "\"additionalData\":{\"modification.action\":\"refund\"}"));
  CHECK(cor_refund.kind == psp_event_kind::refund_changed);
  REQUIRE(cor_refund.refund);
  CHECK(cor_refund.refund->status == refund_status::succeeded);

  auto expire = one(item_json(fields("EXPIRE", "true", "PSPREF0000000001")));
  REQUIRE(expire.intent);
  CHECK(expire.intent->id == "PSPREF0000000001");
  CHECK(expire.intent->status == intent_status::expired);
  CHECK(expire.intent->amount_capturable == 0);
}

TEST_CASE("adyen parse: REFUND, REFUND_FAILED, REPORT_AVAILABLE, others", "[adyen][parse]") {
  auto r = one(item_json(fields("REFUND", "true", "REFREF0000000001", "PSPREF0000000001", 1000,
                                "EUR", "re_engine_1")));
  CHECK(r.kind == psp_event_kind::refund_changed);
  REQUIRE(r.refund);
  CHECK(r.refund->id == "REFREF0000000001");
  CHECK(r.refund->status == refund_status::succeeded);
  CHECK(r.refund->amount == 1000);
  CHECK(r.refund->currency == "eur");
  CHECK(r.refund->payment_intent == "PSPREF0000000001");
  CHECK(r.refund->engine_reference == "re_engine_1");
  auto r_no = one(item_json(fields("REFUND", "false", "REFREF0000000002", "PSPREF0000000001")));
  CHECK(r_no.refund->status == refund_status::failed);
  auto r_failed =
      one(item_json(fields("REFUND_FAILED", "true", "REFREF0000000001", "PSPREF0000000001")));
  CHECK(r_failed.kind == psp_event_kind::refund_changed);
  CHECK(r_failed.refund->status == refund_status::failed);

  auto report = one(item_json(
      fields("REPORT_AVAILABLE", "true", "settlement_detail_report_batch_1.csv", {}, 0, "EUR", ""),
      "\"reason\":\"https://ca-test.adyen.com/reports/download/x.csv\""));
  CHECK(report.kind == psp_event_kind::report_available);
  CHECK(report.object_id == "https://ca-test.adyen.com/reports/download/x.csv");

  // A capture that failed after Adyen confirmed it: the payment is
  // authorised again, as the PSP's refusal of an accepted modification.
  auto capture_failed =
      one(item_json(fields("CAPTURE_FAILED", "true", "CAPREF0000000001", "PSPREF0000000001")));
  CHECK(capture_failed.kind == psp_event_kind::intent_changed);
  REQUIRE(capture_failed.intent);
  CHECK(capture_failed.intent->id == "PSPREF0000000001");
  CHECK(capture_failed.intent->status == intent_status::authorized);
  CHECK(capture_failed.intent->modification_failed);

  for (const char* code : {"TECHNICAL_CANCEL", "REFUNDED_REVERSED"}) {
    auto o = one(item_json(fields(code, "true", "OTHREF0000000001", "PSPREF0000000001")));
    CHECK(o.kind == psp_event_kind::other);
    CHECK(o.object_id == "OTHREF0000000001");
    CHECK_FALSE(o.intent);
    CHECK_FALSE(o.refund);
  }
  // An amount the engine cannot express exactly is recorded, never rounded.
  auto inexact =
      one(item_json(fields("AUTHORISATION", "true", "PSPREF0000000009", {}, 50050, "ISK")));
  CHECK(inexact.kind == psp_event_kind::other);
  auto isk = one(item_json(fields("AUTHORISATION", "true", "PSPREF0000000010", {}, 50000, "ISK")));
  CHECK(isk.intent->amount == 500);
}

TEST_CASE("adyen parse: a batch gives one event per item, a stored item parses alone",
          "[adyen][parse]") {
  adyen_webhooks w({key}, false);
  auto d = vectors();
  auto events = w.parse(text(d["example_request_body"]));
  REQUIRE(events.size() == 2);
  CHECK(events[0].id == "AUTHORISATION:FT7GQ9KX2LPN8W63:true");
  CHECK(events[1].id == "CAPTURE:KZ2M4R8T6W0Y1B3D:true");
  CHECK(events[1].intent->engine_reference == "order:1042\\b");
  for (const auto& e : events) {
    CHECK(e.payload.starts_with("{\"NotificationRequestItem\":{"));
    auto again = w.parse(e.payload);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == e.id);
    CHECK(again[0].kind == e.kind);
    CHECK(again[0].payload == e.payload);
  }
  CHECK(w.parse("not json").empty());
  CHECK(w.parse(R"({"NotificationRequestItem":{"eventCode":"AUTHORISATION"}})").empty());
}

TEST_CASE("adyen accepted answers [accepted]", "[adyen][verify]") {
  adyen_webhooks w({key}, false);
  auto a = w.accepted(2, 1);
  CHECK(a.status == 200);
  CHECK(a.content_type == "text/plain");
  CHECK(a.body == "[accepted]");
}

TEST_CASE("adyen parse: chargeback notifications are one dispute per payment with its money",
          "[adyen][parse]") {
  adyen_webhooks w({key}, false);
  auto one = [&](const std::string& item) {
    auto events = w.parse(
        "{\"live\":\"false\",\"notificationItems\":[{\"NotificationRequestItem\":" + item + "}]}");
    REQUIRE(events.size() == 1);
    return events.front();
  };
  struct row {
    const char* code;
    dispute_status status;
    std::optional<std::int64_t> moved;  // the signed movement, if money moved
  };
  for (const auto& r : {row{"NOTIFICATION_OF_CHARGEBACK", dispute_status::needs_response, {}},
                        row{"CHARGEBACK", dispute_status::needs_response, -1000},
                        row{"CHARGEBACK_REVERSED", dispute_status::won, 1000},
                        row{"SECOND_CHARGEBACK", dispute_status::lost, -1000}}) {
    INFO(r.code);
    auto e = one(item_json(
        fields(r.code, "true", "CBREF0000000001", "PSPREF0000000001", 1000, "EUR", "pi_engine")));
    CHECK(e.kind == psp_event_kind::dispute_changed);
    REQUIRE(e.dispute);
    CHECK(e.dispute->id == "PSPREF0000000001");
    CHECK(e.dispute->payment_intent == std::optional<std::string>("PSPREF0000000001"));
    CHECK(e.dispute->engine_reference == std::optional<std::string>("pi_engine"));
    CHECK(e.dispute->status == r.status);
    CHECK(e.dispute->amount == 1000);
    CHECK(e.dispute->currency == "eur");
    if (r.moved) {
      REQUIRE(e.dispute->movements.size() == 1);
      CHECK(e.dispute->movements[0].amount == *r.moved);
      CHECK(e.dispute->movements[0].fee == 0);
      CHECK(e.dispute->movements[0].id == std::string(r.code) + ":CBREF0000000001");
    } else {
      CHECK(e.dispute->movements.empty());
    }
  }
}
