#include "net/checkout_requests.hpp"

#include <algorithm>
#include <initializer_list>

#include "core/ids.hpp"
#include "core/limits.hpp"
#include "core/money.hpp"
#include "core/utf8.hpp"
#include "net/json.hpp"

namespace pay::net {

namespace {

core::error bad(std::string message, std::string param) {
  return core::make_error(core::errc::invalid_request, std::move(message), std::move(param));
}

/// Refuses fields outside `allowed`, as Stripe does ("unknown parameter").
core::status only_fields(const rapidjson::Value& body,
                         std::initializer_list<std::string_view> allowed) {
  for (const auto& m : body.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      return bad("Received unknown parameter: " + std::string(name), std::string(name));
  }
  return core::status::ok();
}

const rapidjson::Value* field(const rapidjson::Value& body, const char* name) {
  auto it = body.FindMember(name);
  if (it == body.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

core::result<std::int64_t> amount_field(const rapidjson::Value& v, const std::string& param) {
  if (!v.IsInt64())
    return bad(param + " must be an integer number of minor units (e.g. 1099 for 10.99 USD).",
               param);
  auto validated = core::validate_amount(v.GetInt64());
  if (!validated) return bad(validated.err().message, param);
  return *validated;
}

core::result<std::optional<std::string>> short_string(const rapidjson::Value& body,
                                                      const char* name, std::size_t max) {
  const auto* v = field(body, name);
  if (v == nullptr) return std::optional<std::string>{};
  if (!v->IsString()) return bad(std::string(name) + " must be a string.", name);
  // Characters, as the message says: "é" is one, though two bytes. The
  // body's text is valid UTF-8 here (parse_json_object checked it).
  if (core::utf8_length({v->GetString(), v->GetStringLength()}) > max)
    return bad(std::string(name) + " must be at most " + std::to_string(max) + " characters.",
               name);
  return std::optional<std::string>{std::string(v->GetString(), v->GetStringLength())};
}

core::result<std::string> metadata_field(const rapidjson::Value& body) {
  const auto* v = field(body, "metadata");
  if (v == nullptr) return std::string("{}");
  if (!v->IsObject()) return bad("metadata must be an object of string values.", "metadata");
  constexpr auto keys_max = core::limits::metadata_keys_max - core::limits::metadata_keys_reserved;
  if (v->MemberCount() > keys_max)
    return bad("metadata can have at most " + std::to_string(keys_max) + " keys.", "metadata");
  for (const auto& m : v->GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    std::string param = "metadata[" + key + "]";
    if (key.empty() || core::utf8_length(key) > core::limits::metadata_key_length_max ||
        key.find_first_of("[]") != std::string::npos)
      return bad("metadata keys must be 1 to " +
                     std::to_string(core::limits::metadata_key_length_max) +
                     " characters, without square brackets.",
                 param);
    if (!m.value.IsString()) return bad("metadata values must be strings.", param);
    if (core::utf8_length({m.value.GetString(), m.value.GetStringLength()}) >
        core::limits::metadata_value_length_max)
      return bad("metadata values must be at most " +
                     std::to_string(core::limits::metadata_value_length_max) + " characters.",
                 param);
  }
  return canonical_json(*v);
}

}  // namespace

core::result<create_intent_params> parse_create_intent(const rapidjson::Value& body) {
  if (auto ok = only_fields(
          body, {"amount", "currency", "capture_method", "merchant_initiated", "description",
                 "metadata", "psp", "return_url", "payment_method_type"});
      !ok)
    return ok.err();
  create_intent_params p;
  const auto* amount = field(body, "amount");
  if (amount == nullptr) return bad("Missing required param: amount.", "amount");
  auto a = amount_field(*amount, "amount");
  if (!a) return a.err();
  p.amount = *a;

  const auto* currency = field(body, "currency");
  if (currency == nullptr) return bad("Missing required param: currency.", "currency");
  if (!currency->IsString()) return bad("currency must be a string.", "currency");
  auto cur = core::find_currency({currency->GetString(), currency->GetStringLength()});
  if (!cur) return bad("Invalid currency: not an ISO 4217 currency code.", "currency");
  p.currency = std::string(cur->code);

  if (const auto* cm = field(body, "capture_method")) {
    auto parsed = cm->IsString() ? core::parse_capture_method(cm->GetString()) : std::nullopt;
    if (!parsed) return bad("capture_method must be 'automatic' or 'manual'.", "capture_method");
    p.capture = *parsed;
  }
  // Strictly a JSON boolean: "true", 1 or "merchant" are refused, so a
  // client's typo never silently becomes a customer-initiated payment.
  if (const auto* mi = field(body, "merchant_initiated")) {
    if (!mi->IsBool())
      return bad("merchant_initiated must be a boolean (true or false).", "merchant_initiated");
    p.merchant_initiated = mi->GetBool();
  }
  auto description = short_string(body, "description", core::limits::description_length_max);
  if (!description) return description.err();
  p.description = *description;
  auto metadata = metadata_field(body);
  if (!metadata) return metadata.err();
  p.metadata_json = *metadata;
  auto psp = short_string(body, "psp", core::limits::psp_name_length_max);
  if (!psp) return psp.err();
  p.psp = *psp;
  auto return_url = short_string(body, "return_url", core::limits::url_length_max);
  if (!return_url) return return_url.err();
  if (*return_url &&
      !(return_url->value().starts_with("https://") || return_url->value().starts_with("http://")))
    return bad("return_url must be an http(s) URL.", "return_url");
  p.return_url = *return_url;
  auto method =
      short_string(body, "payment_method_type", core::limits::routing_payment_method_length_max);
  if (!method) return method.err();
  p.payment_method_type = *method;
  p.routed = !p.psp.has_value();
  return p;
}

core::result<std::optional<std::int64_t>> parse_capture(const rapidjson::Value& body) {
  if (auto ok = only_fields(body, {"amount_to_capture"}); !ok) return ok.err();
  const auto* v = field(body, "amount_to_capture");
  if (v == nullptr) return std::optional<std::int64_t>{};
  auto a = amount_field(*v, "amount_to_capture");
  if (!a) return a.err();
  return std::optional<std::int64_t>{*a};
}

core::status parse_cancel(const rapidjson::Value& body) {
  if (auto ok = only_fields(body, {"cancellation_reason"}); !ok) return ok;
  if (const auto* v = field(body, "cancellation_reason")) {
    static constexpr std::string_view reasons[] = {"abandoned", "duplicate", "fraudulent",
                                                   "requested_by_customer"};
    std::string_view given = v->IsString() ? v->GetString() : "";
    if (std::find(std::begin(reasons), std::end(reasons), given) == std::end(reasons))
      return bad(
          "cancellation_reason must be one of abandoned, duplicate, fraudulent, "
          "requested_by_customer.",
          "cancellation_reason");
  }
  return core::status::ok();
}

core::result<refund_params> parse_refund(const rapidjson::Value& body) {
  if (auto ok = only_fields(body, {"payment_intent", "amount", "reason"}); !ok) return ok.err();
  refund_params p;
  const auto* pi = field(body, "payment_intent");
  if (pi == nullptr || !pi->IsString() || pi->GetStringLength() == 0)
    return bad("Missing required param: payment_intent.", "payment_intent");
  p.payment_intent = pi->GetString();
  // An id that cannot be an intent's is a miss before any lookup or actor.
  if (!core::has_prefix(p.payment_intent, core::id_prefix::payment_intent))
    return core::make_error(core::errc::not_found,
                            p.payment_intent.size() <= 64
                                ? "No such payment_intent: '" + p.payment_intent + "'"
                                : std::string("No such payment_intent."),
                            "payment_intent");
  if (const auto* amount = field(body, "amount")) {
    auto a = amount_field(*amount, "amount");
    if (!a) return a.err();
    p.amount = *a;
  }
  if (const auto* reason = field(body, "reason")) {
    static constexpr std::string_view reasons[] = {"duplicate", "fraudulent",
                                                   "requested_by_customer"};
    std::string_view given = reason->IsString() ? reason->GetString() : "";
    if (std::find(std::begin(reasons), std::end(reasons), given) == std::end(reasons))
      return bad("reason must be one of duplicate, fraudulent, requested_by_customer.", "reason");
    p.reason = std::string(given);
  }
  return p;
}

std::string refund_json(const core::refund& r) {
  json_writer w;
  w.begin_object();
  w.field("id", r.id);
  w.field("object", "refund");
  w.field("amount", r.amount);
  w.field("currency", r.currency);
  w.field("payment_intent", r.intent_id);
  w.field("status", r.status);
  w.field_optional("reason", r.reason);
  w.field_optional("psp_reference", r.psp_reference);
  w.field("created", r.created);
  w.end_object();
  return w.take();
}

std::string audit_list_json(const std::string& intent_id,
                            const std::vector<core::audit_event>& events) {
  json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.field("url", "/v1/payment_intents/" + intent_id + "/events");
  w.field("has_more", false);
  w.key("data");
  w.begin_array();
  for (const auto& e : events) {
    w.begin_object();
    w.field("id", e.id);
    w.field("object", "audit_event");
    w.field("actor", e.actor);
    w.field("action", e.action);
    w.key("from");
    if (e.from)
      w.value(core::to_string(*e.from));
    else
      w.null();
    w.key("to");
    if (e.to)
      w.value(core::to_string(*e.to));
    else
      w.null();
    w.field("version", e.version);
    w.field("cause", e.cause);
    w.key("data");
    w.raw(e.data_json);
    w.field("created_ms", e.created_ms);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

}  // namespace pay::net
