#include "psp/adyen/adyen_webhooks.hpp"

#include <cstdio>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/crypto.hpp"
#include "core/standard_webhooks.hpp"
#include "net/json.hpp"
#include "psp/adyen/adyen_amounts.hpp"
#include "psp/adyen/adyen_time.hpp"
#include "psp/connector_support.hpp"

namespace pay::psp {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string json_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  v.Accept(w);
  return {buffer.GetString(), buffer.GetSize()};
}

/// The signed fields of an item; nullopt when amount is not {value:int, currency:string}.
std::optional<adyen_signed_fields> signed_fields_of(const rapidjson::Value& item) {
  adyen_signed_fields f;
  f.psp_reference = string_member(item, "pspReference");
  f.original_reference = string_member(item, "originalReference");
  f.merchant_account = string_member(item, "merchantAccountCode");
  f.merchant_reference = string_member(item, "merchantReference");
  f.event_code = string_member(item, "eventCode");
  f.success = string_member(item, "success");
  auto amount = item.FindMember("amount");
  if (amount == item.MemberEnd() || !amount->value.IsObject()) return std::nullopt;
  auto value = amount->value.FindMember("value");
  if (value == amount->value.MemberEnd() || !value->value.IsInt64()) return std::nullopt;
  f.value = value->value.GetInt64();
  f.currency = string_member(amount->value, "currency");
  return f;
}

std::string error_json(std::string_view decline_code, std::string_view reason,
                       std::string_view code) {
  net::json_writer w;
  w.begin_object();
  w.field("type", "card_error");
  w.field("code", code);
  if (!decline_code.empty()) w.field("decline_code", decline_code);
  w.field("message", reason.empty() ? std::string_view("Refused") : reason);
  w.end_object();
  return w.take();
}

}  // namespace

std::string adyen_signing_string(const adyen_signed_fields& f) {
  std::string s;
  for (const auto* part :
       {&f.psp_reference, &f.original_reference, &f.merchant_account, &f.merchant_reference}) {
    s += *part;
    s += ':';
  }
  s += std::to_string(f.value);
  s += ':';
  s += f.currency;
  s += ':';
  s += f.event_code;
  s += ':';
  s += f.success;
  return s;
}

std::optional<std::string> adyen_hmac_key_bytes(std::string_view key_hex) {
  if (key_hex.size() != 64) return std::nullopt;
  std::string out;
  out.reserve(32);
  for (std::size_t i = 0; i < key_hex.size(); i += 2) {
    int hi = hex_digit(key_hex[i]);
    int lo = hex_digit(key_hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string adyen_hmac_signature(std::string_view key_hex, std::string_view signing_string) {
  auto key = adyen_hmac_key_bytes(key_hex);
  if (!key) return {};
  auto hex = core::hmac_sha256_hex(*key, signing_string);
  std::string raw;
  raw.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    raw.push_back(static_cast<char>(hex_digit(hex[i]) * 16 + hex_digit(hex[i + 1])));
  return core::base64_encode(raw);
}

std::string adyen_decline_code(std::string_view reason) {
  struct entry {
    std::string_view reason;
    std::string_view code;
  };
  // Adyen's refusalReason texts (README: refusal reasons) to Stripe's decline codes.
  static constexpr entry table[] = {
      {"Refused", "generic_decline"},
      {"Referral", "call_issuer"},
      {"Acquirer Error", "processing_error"},
      {"Blocked Card", "restricted_card"},
      {"Expired Card", "expired_card"},
      {"Invalid Amount", "invalid_amount"},
      {"Invalid Card Number", "incorrect_number"},
      {"Issuer Unavailable", "issuer_not_available"},
      {"Not supported", "card_not_supported"},
      {"3D Not Authenticated", "authentication_required"},
      {"Not enough balance", "insufficient_funds"},
      {"Acquirer Fraud", "fraudulent"},
      {"FRAUD", "fraudulent"},
      {"FRAUD-CANCELLED", "fraudulent"},
      {"Cancelled", "generic_decline"},
      {"Shopper Cancelled", "generic_decline"},
      {"CVC Declined", "incorrect_cvc"},
      {"Withdrawal amount exceeded", "withdrawal_count_limit_exceeded"},
  };
  auto lower = [](std::string_view s) { return engine_currency(s); };
  auto r = lower(reason);
  for (const auto& e : table)
    if (lower(e.reason) == r) return std::string(e.code);
  return "generic_decline";
}

std::optional<core::psp_event> parse_adyen_item_json(std::string_view item_json,
                                                     std::string payload) {
  rapidjson::Document item;
  if (net::parse_json_object(item_json, item) != net::json_error::none) return std::nullopt;
  auto f = signed_fields_of(item);
  if (!f || f->event_code.empty() || f->psp_reference.empty()) return std::nullopt;
  auto reason = string_member(item, "reason");
  bool success = f->success == "true";

  core::psp_event e;
  e.id = f->event_code + ":" + f->psp_reference + ":" + f->success;
  e.psp_type = f->event_code + ":" + f->success;
  e.created = parse_adyen_event_date(string_member(item, "eventDate")).value_or(0);
  e.object_id = f->psp_reference;
  e.payload = std::move(payload);
  e.kind = core::psp_event_kind::other;

  auto amount = from_adyen_minor(f->value, f->currency);
  auto currency = engine_currency(f->currency);
  auto additional = item.FindMember("additionalData");
  std::string action;
  if (additional != item.MemberEnd())
    action = string_member(additional->value, "modification.action");

  auto intent = [&](std::string id, core::intent_status status) {
    core::psp_intent i;
    i.id = std::move(id);
    i.status = status;
    i.psp_status = e.psp_type;
    i.amount = *amount;
    i.currency = currency;
    if (!f->merchant_reference.empty()) i.engine_reference = f->merchant_reference;
    e.object_id = i.id;
    e.kind = core::psp_event_kind::intent_changed;
    e.intent = std::move(i);
  };
  auto modification_failed = [&](const std::string& code) {
    intent(f->original_reference, core::intent_status::authorized);
    e.intent->modification_failed = true;
    e.intent->last_payment_error_json = error_json({}, reason, code);
  };
  auto refund = [&](core::refund_status status) {
    core::psp_refund r;
    r.id = f->psp_reference;
    r.status = status;
    r.amount = *amount;
    r.currency = currency;
    r.payment_intent = f->original_reference;
    if (!f->merchant_reference.empty()) r.engine_reference = f->merchant_reference;
    e.kind = core::psp_event_kind::refund_changed;
    e.refund = std::move(r);
  };
  const auto& code = f->event_code;
  bool has_original = !f->original_reference.empty();

  if (code == "REPORT_AVAILABLE") {
    if (!success || reason.empty()) return e;
    e.kind = core::psp_event_kind::report_available;
    e.object_id = reason;
    return e;
  }
  // Everything below carries an amount the engine books: one it cannot
  // express exactly is recorded as `other`, never rounded.
  if (!amount) return e;
  if (code == "AUTHORISATION") {
    intent(f->psp_reference,
           success ? core::intent_status::authorized : core::intent_status::created);
    if (success) {
      e.intent->amount_capturable = *amount;
    } else {
      e.intent->last_payment_error_json =
          error_json(adyen_decline_code(reason), reason, "card_declined");
    }
  } else if (code == "CAPTURE" && has_original) {
    if (success) {
      intent(f->original_reference, core::intent_status::captured);
      e.intent->amount_received = *amount;
      e.intent->amount_capturable = 0;
    } else {
      modification_failed("capture_failed");
    }
  } else if (code == "CAPTURE_FAILED" && has_original) {
    // The capture failed after Adyen had confirmed it (success is "true"):
    // the engine reverses its booking and the authorisation stands.
    modification_failed("capture_failed");
  } else if ((code == "CANCELLATION" || (code == "CANCEL_OR_REFUND" && action == "cancel")) &&
             has_original) {
    if (success) {
      intent(f->original_reference, core::intent_status::canceled);
      e.intent->amount_capturable = 0;
    } else {
      modification_failed("cancel_failed");
    }
  } else if (code == "EXPIRE") {
    intent(has_original ? f->original_reference : f->psp_reference, core::intent_status::expired);
    e.intent->amount_capturable = 0;
  } else if ((code == "REFUND" || (code == "CANCEL_OR_REFUND" && action == "refund")) &&
             has_original) {
    refund(success ? core::refund_status::succeeded : core::refund_status::failed);
  } else if (code == "REFUND_FAILED" && has_original) {
    refund(core::refund_status::failed);
  } else if (code == "NOTIFICATION_OF_CHARGEBACK" || code == "CHARGEBACK" ||
             code == "CHARGEBACK_REVERSED" || code == "SECOND_CHARGEBACK") {
    // A dispute is known by its payment: one dispute per payment, its
    // movements by the notification that moved the money.
    core::psp_dispute d;
    d.id = has_original ? f->original_reference : f->psp_reference;
    d.payment_intent = d.id;
    if (!f->merchant_reference.empty()) d.engine_reference = f->merchant_reference;
    d.amount = *amount;
    d.currency = currency;
    d.psp_status = code;
    d.created = e.created;
    if (additional != item.MemberEnd()) {
      d.reason = string_member(additional->value, "chargebackReasonCode");
      if (auto due =
              parse_adyen_event_date(string_member(additional->value, "defensePeriodEndsAt")))
        d.evidence_due_by = *due;
    }
    if (d.reason.empty()) d.reason = reason;
    auto moved = [&](std::int64_t signed_amount) {
      d.movements.push_back(core::dispute_money_movement{code + ":" + f->psp_reference,
                                                         signed_amount, 0, currency, e.created});
    };
    if (code == "NOTIFICATION_OF_CHARGEBACK") {
      d.status = core::dispute_status::needs_response;
    } else if (code == "CHARGEBACK") {
      d.status = core::dispute_status::needs_response;
      moved(-*amount);
    } else if (code == "CHARGEBACK_REVERSED") {
      d.status = core::dispute_status::won;
      moved(*amount);
    } else {
      // The issuer charged back again after a reversal: final, money gone.
      d.status = core::dispute_status::lost;
      moved(-*amount);
    }
    e.object_id = d.id;
    e.kind = core::psp_event_kind::dispute_changed;
    e.dispute = std::move(d);
  }
  return e;
}

adyen_webhooks::adyen_webhooks(std::vector<std::string> hmac_keys, bool live)
    : keys_(std::move(hmac_keys)), live_(live) {}

bool adyen_webhooks::configured() const {
  return !keys_.empty();
}

core::webhook_verdict adyen_webhooks::verify(const core::header_lookup& /*headers*/,
                                             std::string_view body, std::int64_t /*now_s*/) const {
  if (keys_.empty()) return {false, "not_configured"};
  rapidjson::Document doc;
  if (net::parse_json_object(body, doc) != net::json_error::none) return {false, "malformed"};
  auto live = doc.FindMember("live");
  if (live == doc.MemberEnd() || !live->value.IsString()) return {false, "malformed"};
  if (string_member(doc, "live") != (live_ ? "true" : "false")) return {false, "live_mismatch"};
  auto items = doc.FindMember("notificationItems");
  if (items == doc.MemberEnd() || !items->value.IsArray() || items->value.Empty())
    return {false, "malformed"};
  for (const auto& wrapper : items->value.GetArray()) {
    if (!wrapper.IsObject()) return {false, "malformed"};
    auto item = wrapper.FindMember("NotificationRequestItem");
    if (item == wrapper.MemberEnd() || !item->value.IsObject()) return {false, "malformed"};
    auto f = signed_fields_of(item->value);
    if (!f) return {false, "malformed"};
    auto additional = item->value.FindMember("additionalData");
    std::string given;
    if (additional != item->value.MemberEnd())
      given = string_member(additional->value, "hmacSignature");
    if (given.empty()) return {false, "missing_signature"};
    auto signing = adyen_signing_string(*f);
    bool match = false;
    for (const auto& key : keys_)
      // Every key is tried, so the time taken does not tell which one matched.
      match = core::constant_time_equal(adyen_hmac_signature(key, signing), given) || match;
    if (!match) return {false, "no_matching_signature"};
  }
  return {true, "ok"};
}

std::string_view adyen_webhooks::signature_header() const {
  return "additionalData.hmacSignature";
}

std::vector<core::psp_event> adyen_webhooks::parse(std::string_view body) const {
  std::vector<core::psp_event> out;
  rapidjson::Document doc;
  if (net::parse_json_object(body, doc) != net::json_error::none) return out;
  auto one = [&](const rapidjson::Value& wrapper) {
    if (!wrapper.IsObject()) return;
    auto item = wrapper.FindMember("NotificationRequestItem");
    if (item == wrapper.MemberEnd() || !item->value.IsObject()) return;
    auto text = json_text(item->value);
    if (auto e = parse_adyen_item_json(text, "{\"NotificationRequestItem\":" + text + "}"))
      out.push_back(std::move(*e));
  };
  if (auto items = doc.FindMember("notificationItems");
      items != doc.MemberEnd() && items->value.IsArray()) {
    for (const auto& wrapper : items->value.GetArray()) one(wrapper);
  } else {
    one(doc);
  }
  return out;
}

core::webhook_answer adyen_webhooks::accepted(std::size_t, std::size_t) const {
  core::webhook_answer a;
  a.status = 200;
  a.content_type = "text/plain";
  a.body = "[accepted]";
  return a;
}

}  // namespace pay::psp
