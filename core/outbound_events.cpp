#include "core/outbound_events.hpp"

#include <algorithm>
#include <array>

#include "core/ids.hpp"
#include "core/json_text.hpp"

namespace pay::core {

namespace {

constexpr std::array all_types{
    outbound_event_type::intent_authorized,
    outbound_event_type::intent_captured,
    outbound_event_type::intent_canceled,
    outbound_event_type::intent_payment_failed,
    outbound_event_type::intent_requires_action,
    outbound_event_type::intent_expired,
    outbound_event_type::refund_succeeded,
    outbound_event_type::refund_failed,
    outbound_event_type::intent_authorization_expiring,
    outbound_event_type::intent_capture_failed,
    outbound_event_type::payout_failed,
};

/// The event a recorded transition makes, if any.
std::optional<outbound_event_type> event_of(const audit_event& a) {
  if (!a.to) return std::nullopt;  // an ignored PSP event changed nothing
  if (a.action == "payment_failed") return outbound_event_type::intent_payment_failed;
  if (a.from && *a.from == *a.to) return std::nullopt;
  switch (*a.to) {
    case intent_status::authorized:
      // Back from a refused capture or cancellation: not a new
      // authorisation; a capture that failed is told as such.
      if (a.from &&
          (*a.from == intent_status::capture_pending || *a.from == intent_status::captured))
        return outbound_event_type::intent_capture_failed;
      if (a.from && *a.from == intent_status::cancel_pending) return std::nullopt;
      return outbound_event_type::intent_authorized;
    case intent_status::captured:
      // Back from a failed refund: not a new capture (refund.failed tells it).
      if (a.from &&
          (*a.from == intent_status::refunded || *a.from == intent_status::partially_refunded))
        return std::nullopt;
      return outbound_event_type::intent_captured;
    case intent_status::canceled:
      return outbound_event_type::intent_canceled;
    case intent_status::requires_action:
      return outbound_event_type::intent_requires_action;
    case intent_status::expired:
      return outbound_event_type::intent_expired;
    case intent_status::created:
    case intent_status::processing:
    case intent_status::capture_pending:
    case intent_status::cancel_pending:
    case intent_status::partially_refunded:
    case intent_status::refunded:
      // created is the start; processing is transient; refunds are told by
      // refund.* events, which carry the amount.
      return std::nullopt;
  }
  return std::nullopt;
}

std::string event_json(const outbound_event& e, std::string_view object_json) {
  std::string out;
  out.reserve(object_json.size() + 200);
  out += R"({"id":)" + json_string(e.id);
  out += R"(,"object":"event","type":)" + json_string(to_string(e.type));
  out += R"(,"api_version":)" + json_string(outbound_api_version);
  out += R"(,"created":)" + std::to_string(e.created);
  out += R"(,"object_version":)" + std::to_string(e.object_version);
  out += R"(,"data":{"object":)";
  out += object_json;
  out += "}}";
  return out;
}

void field(std::string& out, std::string_view key, std::string_view json_value,
           bool first = false) {
  if (!first) out += ',';
  out += json_string(key);
  out += ':';
  out += json_value;
}

std::string optional_string(const std::optional<std::string>& v) {
  return v ? json_string(*v) : std::string("null");
}

}  // namespace

std::string_view to_string(outbound_event_type t) {
  switch (t) {
    case outbound_event_type::intent_authorized:
      return "payment_intent.authorized";
    case outbound_event_type::intent_captured:
      return "payment_intent.captured";
    case outbound_event_type::intent_canceled:
      return "payment_intent.canceled";
    case outbound_event_type::intent_payment_failed:
      return "payment_intent.payment_failed";
    case outbound_event_type::intent_requires_action:
      return "payment_intent.requires_action";
    case outbound_event_type::intent_expired:
      return "payment_intent.expired";
    case outbound_event_type::intent_authorization_expiring:
      return "payment_intent.authorization_expiring";
    case outbound_event_type::intent_capture_failed:
      return "payment_intent.capture_failed";
    case outbound_event_type::refund_succeeded:
      return "refund.succeeded";
    case outbound_event_type::refund_failed:
      return "refund.failed";
    case outbound_event_type::payout_failed:
      return "payout.failed";
  }
  return "unknown";
}

std::optional<outbound_event_type> parse_outbound_event_type(std::string_view s) {
  for (auto t : all_types)
    if (to_string(t) == s) return t;
  return std::nullopt;
}

std::span<const outbound_event_type> all_outbound_event_types() {
  return all_types;
}

bool subscribes(std::span<const std::string> enabled_events, outbound_event_type t) {
  return std::any_of(enabled_events.begin(), enabled_events.end(),
                     [t](const std::string& e) { return e == "*" || e == to_string(t); });
}

std::vector<outbound_event> outbound_events_for(const payment_intent& after,
                                                std::span<const audit_event> transitions,
                                                const std::optional<refund>& refund,
                                                std::int64_t created) {
  std::vector<outbound_event> out;
  std::optional<std::string> intent_body;
  for (const auto& a : transitions) {
    auto type = event_of(a);
    if (!type) continue;
    if (!intent_body) intent_body = intent_api_json(after);
    outbound_event e;
    e.id = make_id(outbound_event_id_prefix);
    e.type = *type;
    e.merchant_id = after.merchant_id;
    e.object_id = after.id;
    e.object_version = after.version;
    e.dedupe_key =
        std::string(to_string(*type)) + ":" + after.id + ":" + std::to_string(after.version);
    e.created = created;
    e.payload_json = event_json(e, *intent_body);
    out.push_back(std::move(e));
  }
  if (refund && (refund->status == "succeeded" || refund->status == "failed")) {
    outbound_event e;
    e.id = make_id(outbound_event_id_prefix);
    e.type = refund->status == "succeeded" ? outbound_event_type::refund_succeeded
                                           : outbound_event_type::refund_failed;
    e.merchant_id = refund->merchant_id;
    e.object_id = refund->id;
    e.object_version = after.version;
    // Once per refund and outcome, however often the refund row is written.
    e.dedupe_key = std::string(to_string(e.type)) + ":" + refund->id;
    e.created = created;
    e.payload_json = event_json(e, refund_api_json(*refund));
    out.push_back(std::move(e));
  }
  return out;
}

std::string intent_api_json(const payment_intent& pi) {
  std::string out = "{";
  field(out, "id", json_string(pi.id), true);
  field(out, "object", R"("payment_intent")");
  field(out, "status", json_string(to_string(pi.status)));
  field(out, "amount", std::to_string(pi.amount));
  field(out, "currency", json_string(pi.currency));
  field(out, "capture_method", json_string(to_string(pi.capture)));
  field(out, "merchant_initiated", pi.merchant_initiated ? "true" : "false");
  field(out, "amount_capturable", std::to_string(pi.amount_capturable));
  field(out, "amount_received", std::to_string(pi.amount_received));
  field(out, "amount_refunded", std::to_string(pi.amount_refunded));
  field(out, "client_secret", optional_string(pi.client_secret));
  field(out, "description", optional_string(pi.description));
  field(out, "psp", json_string(pi.psp));
  field(out, "psp_reference", optional_string(pi.psp_reference));
  field(out, "last_payment_error", pi.last_payment_error_json.value_or("null"));
  field(out, "metadata", pi.metadata_json);
  field(out, "version", std::to_string(pi.version));
  field(out, "created", std::to_string(pi.created));
  field(out, "expires_at", pi.expires_at ? std::to_string(*pi.expires_at) : "null");
  out += '}';
  return out;
}

outbound_event authorization_expiring_event(const payment_intent& pi, std::int64_t created) {
  outbound_event e;
  e.id = make_id(outbound_event_id_prefix);
  e.type = outbound_event_type::intent_authorization_expiring;
  e.merchant_id = pi.merchant_id;
  e.object_id = pi.id;
  e.object_version = pi.version;
  // Once per intent, however often the scan meets it.
  e.dedupe_key = std::string(to_string(e.type)) + ":" + pi.id;
  e.created = created;
  e.payload_json = event_json(e, intent_api_json(pi));
  return e;
}

outbound_event payout_failed_event(const payout_failure_share& share, std::int64_t created) {
  outbound_event e;
  e.id = make_id(outbound_event_id_prefix);
  e.type = outbound_event_type::payout_failed;
  e.merchant_id = share.merchant_id;
  e.object_id = share.psp_payout_id;
  e.object_version = 1;
  e.dedupe_key = std::string(to_string(e.type)) + ":" + share.psp_payout_id;
  e.created = created;
  std::string body = "{";
  field(body, "id", json_string(share.psp_payout_id), true);
  field(body, "object", R"("payout")");
  field(body, "settlement", json_string(share.settlement_id));
  field(body, "amount", std::to_string(share.net_minor));
  field(body, "currency", json_string(share.currency));
  field(body, "status", R"("failed")");
  field(body, "failure_code",
        share.failure_code.empty() ? std::string("null") : json_string(share.failure_code));
  body += "}";
  e.payload_json = event_json(e, body);
  return e;
}

std::string refund_api_json(const refund& r) {
  std::string out = "{";
  field(out, "id", json_string(r.id), true);
  field(out, "object", R"("refund")");
  field(out, "amount", std::to_string(r.amount));
  field(out, "currency", json_string(r.currency));
  field(out, "payment_intent", json_string(r.intent_id));
  field(out, "status", json_string(r.status));
  field(out, "reason", optional_string(r.reason));
  field(out, "psp_reference", optional_string(r.psp_reference));
  field(out, "created", std::to_string(r.created));
  out += '}';
  return out;
}

}  // namespace pay::core
