#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "core/psp.hpp"

/// PayPal's Orders v2 and Payments v2 objects (order, authorization,
/// capture, refund) and error bodies read into the engine's terms. Shared
/// by the connector (answers) and the webhooks (event resources).
namespace pay::psp {

/// The string member `name` of `obj`; empty when absent or not a string.
std::string paypal_string(const rapidjson::Value& obj, const char* name);

/// The decline code (Stripe's vocabulary, which the engine stores) of a
/// card processor's response code ("5120" -> "insufficient_funds");
/// "generic_decline" for codes it does not know or none.
std::string paypal_decline_code(std::string_view processor_response_code);

/// The engine's last_payment_error JSON for a declined capture or denied
/// authorization: {"type":"card_error","code":"card_declined",
/// "decline_code":...,"message":...}. `object` is the capture or
/// authorization (its processor_response.response_code and status_details
/// give the reason).
std::string paypal_payment_error_json(const rapidjson::Value& object, std::string_view code);

/// An order as the engine's intent:
/// CREATED, SAVED, PAYER_ACTION_REQUIRED -> created (client_secret = the
/// payer-action or approve link); APPROVED -> created + needs_confirmation;
/// VOIDED -> canceled; COMPLETED by the payments inside: a COMPLETED (or
/// refunded) capture -> captured (amount_received = the captures' sum,
/// latest_charge = the last one); a PENDING capture -> processing (order
/// capture) or capture_pending (capture of an authorization); a DECLINED or
/// FAILED capture -> created + last_payment_error (order capture) or
/// authorized + modification_failed (capture of an authorization); an
/// authorization CREATED or PENDING -> authorized (amount_capturable);
/// VOIDED -> canceled; EXPIRED -> expired; DENIED -> created +
/// last_payment_error. nullopt with `error` for anything else.
std::optional<core::psp_intent> paypal_intent_of_order(const rapidjson::Value& order,
                                                       std::string& error);

/// The id of the order's first authorization; empty when none.
std::string paypal_authorization_id(const rapidjson::Value& order);

/// The id of the order's last capture that moved money (COMPLETED,
/// PARTIALLY_REFUNDED, REFUNDED); empty when none.
std::string paypal_capture_id(const rapidjson::Value& order);

/// A refund: COMPLETED -> succeeded, PENDING -> pending, FAILED -> failed,
/// CANCELLED -> canceled. payment_intent = the order id from
/// supplementary_data.related_ids.order_id (empty when PayPal leaves it
/// out; `order_id` given by the caller wins), engine_reference = custom_id.
std::optional<core::psp_refund> paypal_refund_of(const rapidjson::Value& refund,
                                                 const std::string& order_id, std::string& error);

/// PayPal's order id a Payments v2 object belongs to
/// (supplementary_data.related_ids.order_id); empty when absent.
std::string paypal_related_order_id(const rapidjson::Value& object);

/// An amount {currency_code, value} member `name` in the engine's minor
/// units and currency; nullopt when absent or inexact.
std::optional<std::pair<std::int64_t, std::string>> paypal_amount_of(const rapidjson::Value& obj,
                                                                     const char* name = "amount");

/// PayPal's error answer as the engine's failure: 401 (after the one
/// refresh), 403, 400, 404, 422 and other 4xx -> rejected, except issues
/// INSTRUMENT_DECLINED and TRANSACTION_REFUSED -> declined, and 409
/// RESOURCE_CONFLICT (an earlier call still in progress) -> retryable; 429,
/// 5xx and anything else -> retryable. type = name, code = details[0].issue,
/// message = description or message with "(PayPal debug id ...)" appended.
core::psp_failure paypal_failure_of(int http_status, std::string_view body,
                                    std::string_view debug_id_header = {});

}  // namespace pay::psp
