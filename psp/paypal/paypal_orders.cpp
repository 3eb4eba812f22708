#include "psp/paypal/paypal_orders.hpp"

#include "net/json.hpp"
#include "psp/paypal/paypal_amounts.hpp"

namespace pay::psp {

namespace {

using core::intent_status;

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return nullptr;
  return &it->value;
}

const rapidjson::Value* array_member(const rapidjson::Value& obj, const char* name) {
  auto* v = member(obj, name);
  return v != nullptr && v->IsArray() ? v : nullptr;
}

const rapidjson::Value* first_unit(const rapidjson::Value& order) {
  auto* units = array_member(order, "purchase_units");
  if (units == nullptr || units->Empty() || !(*units)[0].IsObject()) return nullptr;
  return &(*units)[0];
}

const rapidjson::Value* payments_list(const rapidjson::Value& order, const char* name) {
  auto* unit = first_unit(order);
  if (unit == nullptr) return nullptr;
  auto* payments = member(*unit, "payments");
  if (payments == nullptr) return nullptr;
  return array_member(*payments, name);
}

bool moved_money(const std::string& capture_status) {
  return capture_status == "COMPLETED" || capture_status == "PARTIALLY_REFUNDED" ||
         capture_status == "REFUNDED";
}

std::string link_of(const rapidjson::Value& obj, std::string_view rel) {
  auto* links = array_member(obj, "links");
  if (links == nullptr) return {};
  for (const auto& l : links->GetArray())
    if (paypal_string(l, "rel") == rel) return paypal_string(l, "href");
  return {};
}

}  // namespace

std::string paypal_string(const rapidjson::Value& obj, const char* name) {
  auto* v = member(obj, name);
  if (v == nullptr || !v->IsString()) return {};
  return {v->GetString(), v->GetStringLength()};
}

std::string paypal_decline_code(std::string_view code) {
  struct entry {
    std::string_view code;
    std::string_view decline;
  };
  // PayPal's processor response codes (README "Cards") to Stripe's decline codes.
  static constexpr entry table[] = {
      {"0500", "do_not_honor"},
      {"5100", "generic_decline"},
      {"5120", "insufficient_funds"},
      {"5180", "restricted_card"},
      {"5400", "expired_card"},
      {"9500", "fraudulent"},
      {"9520", "lost_card"},
      {"1330", "invalid_account"},
      {"00N7", "incorrect_cvc"},
      {"0580", "transaction_not_allowed"},
      {"5650", "authentication_required"},
  };
  for (const auto& e : table)
    if (e.code == code) return std::string(e.decline);
  return "generic_decline";
}

std::string paypal_payment_error_json(const rapidjson::Value& object, std::string_view code) {
  std::string response_code;
  if (auto* pr = member(object, "processor_response"))
    response_code = paypal_string(*pr, "response_code");
  std::string reason;
  if (auto* sd = member(object, "status_details")) reason = paypal_string(*sd, "reason");
  auto status = paypal_string(object, "status");
  net::json_writer w;
  w.begin_object();
  w.field("type", "card_error");
  w.field("code", code);
  w.field("decline_code", paypal_decline_code(response_code));
  std::string message = "PayPal answered " + (status.empty() ? std::string("a refusal") : status);
  if (!reason.empty()) message += " (" + reason + ")";
  if (!response_code.empty()) message += ", processor response " + response_code;
  w.field("message", message + ".");
  w.end_object();
  return w.take();
}

std::optional<std::pair<std::int64_t, std::string>> paypal_amount_of(const rapidjson::Value& obj,
                                                                     const char* name) {
  auto* a = member(obj, name);
  if (a == nullptr || !a->IsObject()) return std::nullopt;
  auto currency = paypal_string(*a, "currency_code");
  auto value = paypal_string(*a, "value");
  auto minor = from_paypal_value(value, currency);
  if (!minor) return std::nullopt;
  return std::pair{*minor, paypal_engine_currency(currency)};
}

std::string paypal_authorization_id(const rapidjson::Value& order) {
  auto* auths = payments_list(order, "authorizations");
  if (auths == nullptr || auths->Empty()) return {};
  return paypal_string((*auths)[0], "id");
}

std::string paypal_capture_id(const rapidjson::Value& order) {
  auto* caps = payments_list(order, "captures");
  std::string id;
  if (caps == nullptr) return id;
  for (const auto& c : caps->GetArray())
    if (moved_money(paypal_string(c, "status"))) id = paypal_string(c, "id");
  return id;
}

std::string paypal_related_order_id(const rapidjson::Value& object) {
  auto* sd = member(object, "supplementary_data");
  if (sd == nullptr) return {};
  auto* ids = member(*sd, "related_ids");
  if (ids == nullptr) return {};
  return paypal_string(*ids, "order_id");
}

std::optional<core::psp_intent> paypal_intent_of_order(const rapidjson::Value& order,
                                                       std::string& error) {
  core::psp_intent i;
  i.id = paypal_string(order, "id");
  auto status = paypal_string(order, "status");
  if (i.id.empty() || status.empty()) {
    error = "the order has no id or status";
    return std::nullopt;
  }
  i.psp_status = status;
  auto intent = paypal_string(order, "intent");
  if (intent == "AUTHORIZE")
    i.capture = core::capture_method::manual;
  else if (intent == "CAPTURE")
    i.capture = core::capture_method::automatic;
  auto* unit = first_unit(order);
  if (unit == nullptr) {
    error = "the order has no purchase unit";
    return std::nullopt;
  }
  auto amount = paypal_amount_of(*unit);
  if (!amount) {
    error = "the order's amount is missing or not exact in the engine's units";
    return std::nullopt;
  }
  i.amount = amount->first;
  i.currency = amount->second;
  auto custom = paypal_string(*unit, "custom_id");
  if (!custom.empty()) i.engine_reference = custom;

  if (status == "CREATED" || status == "SAVED" || status == "PAYER_ACTION_REQUIRED") {
    i.status = intent_status::created;
    auto link = link_of(order, "payer-action");
    if (link.empty()) link = link_of(order, "approve");
    if (!link.empty()) i.client_secret = link;
    i.amount_capturable = 0;
    i.amount_received = 0;
    return i;
  }
  if (status == "APPROVED") {
    i.status = intent_status::created;
    i.needs_confirmation = true;
    i.amount_capturable = 0;
    i.amount_received = 0;
    return i;
  }
  if (status == "VOIDED") {
    i.status = intent_status::canceled;
    i.amount_capturable = 0;
    return i;
  }
  if (status != "COMPLETED") {
    error = "unknown order status '" + status + "'";
    return std::nullopt;
  }

  auto* auths = payments_list(order, "authorizations");
  const rapidjson::Value* auth = auths != nullptr && !auths->Empty() ? &(*auths)[0] : nullptr;
  auto* caps = payments_list(order, "captures");
  std::int64_t received = 0;
  std::string last_capture, pending_capture;
  const rapidjson::Value* failed_capture = nullptr;
  if (caps != nullptr)
    for (const auto& c : caps->GetArray()) {
      auto cs = paypal_string(c, "status");
      if (moved_money(cs)) {
        auto a = paypal_amount_of(c);
        if (!a || a->second != i.currency) {
          error = "a capture's amount is missing, inexact or in another currency";
          return std::nullopt;
        }
        received += a->first;
        last_capture = paypal_string(c, "id");
      } else if (cs == "PENDING") {
        pending_capture = paypal_string(c, "id");
      } else if (cs == "DECLINED" || cs == "FAILED") {
        failed_capture = &c;
      }
    }
  if (!last_capture.empty()) {
    i.status = intent_status::captured;
    i.amount_received = received;
    i.amount_capturable = 0;
    i.latest_charge = last_capture;
    return i;
  }
  if (!pending_capture.empty()) {
    i.status = auth != nullptr ? intent_status::capture_pending : intent_status::processing;
    i.latest_charge = pending_capture;
    i.amount_received = 0;
    return i;
  }
  if (failed_capture != nullptr) {
    if (auth != nullptr) {
      i.status = intent_status::authorized;
      i.modification_failed = true;
      i.last_payment_error_json = paypal_payment_error_json(*failed_capture, "capture_failed");
    } else {
      i.status = intent_status::created;
      i.last_payment_error_json = paypal_payment_error_json(*failed_capture, "card_declined");
      i.amount_capturable = 0;
      i.amount_received = 0;
    }
    return i;
  }
  if (auth == nullptr) {
    error = "a COMPLETED order holds no authorization or capture";
    return std::nullopt;
  }
  auto as = paypal_string(*auth, "status");
  i.psp_status = status + "/" + as;
  if (as == "CREATED" || as == "PENDING") {
    auto a = paypal_amount_of(*auth);
    if (!a || a->second != i.currency) {
      error = "the authorization's amount is missing, inexact or in another currency";
      return std::nullopt;
    }
    i.status = intent_status::authorized;
    i.amount_capturable = a->first;
    i.amount_received = 0;
  } else if (as == "VOIDED") {
    i.status = intent_status::canceled;
    i.amount_capturable = 0;
  } else if (as == "EXPIRED") {
    i.status = intent_status::expired;
    i.amount_capturable = 0;
  } else if (as == "DENIED") {
    i.status = intent_status::created;
    i.last_payment_error_json = paypal_payment_error_json(*auth, "card_declined");
    i.amount_capturable = 0;
    i.amount_received = 0;
  } else {
    error = "unknown authorization status '" + as + "'";
    return std::nullopt;
  }
  return i;
}

std::optional<core::psp_refund> paypal_refund_of(const rapidjson::Value& refund,
                                                 const std::string& order_id, std::string& error) {
  core::psp_refund r;
  r.id = paypal_string(refund, "id");
  auto status = paypal_string(refund, "status");
  if (r.id.empty()) {
    error = "the refund has no id";
    return std::nullopt;
  }
  if (status == "COMPLETED")
    r.status = core::refund_status::succeeded;
  else if (status == "PENDING")
    r.status = core::refund_status::pending;
  else if (status == "FAILED")
    r.status = core::refund_status::failed;
  else if (status == "CANCELLED")
    r.status = core::refund_status::canceled;
  else {
    error = "unknown refund status '" + status + "'";
    return std::nullopt;
  }
  auto a = paypal_amount_of(refund);
  if (!a) {
    error = "the refund's amount is missing or not exact in the engine's units";
    return std::nullopt;
  }
  r.amount = a->first;
  r.currency = a->second;
  r.payment_intent = order_id.empty() ? paypal_related_order_id(refund) : order_id;
  auto custom = paypal_string(refund, "custom_id");
  if (!custom.empty()) r.engine_reference = custom;
  return r;
}

core::psp_failure paypal_failure_of(int http_status, std::string_view body,
                                    std::string_view debug_id_header) {
  core::psp_failure f;
  f.http_status = http_status;
  rapidjson::Document doc;
  std::string debug_id(debug_id_header);
  std::string description;
  if (net::parse_json_object(body, doc) == net::json_error::none) {
    f.type = paypal_string(doc, "name");
    f.message = paypal_string(doc, "message");
    if (f.type.empty()) f.type = paypal_string(doc, "error");  // OAuth's {error, error_description}
    if (f.message.empty()) f.message = paypal_string(doc, "error_description");
    if (auto d = paypal_string(doc, "debug_id"); !d.empty()) debug_id = d;
    if (auto* details = array_member(doc, "details"); details != nullptr && !details->Empty()) {
      const auto& first = (*details)[0];
      f.code = paypal_string(first, "issue");
      description = paypal_string(first, "description");
      auto field = paypal_string(first, "field");
      if (!field.empty()) f.param = field;
    }
  }
  if (http_status == 409 || http_status == 429 || http_status >= 500 || http_status < 400)
    f.kind = core::psp_failure_kind::retryable;
  else if (f.code == "INSTRUMENT_DECLINED" || f.code == "TRANSACTION_REFUSED")
    f.kind = core::psp_failure_kind::declined;
  else
    f.kind = core::psp_failure_kind::rejected;
  if (f.kind == core::psp_failure_kind::declined)
    f.decline_code =
        f.code == "INSTRUMENT_DECLINED" ? "generic_decline" : "transaction_not_allowed";
  std::string message = !description.empty() ? description : f.message;
  if (message.empty())
    message = "PayPal answered HTTP " + std::to_string(http_status) +
              (f.type.empty() ? " without an error body." : " (" + f.type + ").");
  if (!f.code.empty() && message.find(f.code) == std::string::npos)
    message = f.code + ": " + message;
  if (!debug_id.empty()) message += " (PayPal debug id " + debug_id + ")";
  f.message = std::move(message);
  return f;
}

}  // namespace pay::psp
