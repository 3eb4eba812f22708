#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "core/error.hpp"
#include "core/payment_intent.hpp"

/// Validation of the checkout API's request bodies, before anything is
/// stored: every field checked against core/limits.hpp, unknown fields
/// refused (as Stripe does), each error naming its `param`.
namespace pay::net {

struct create_intent_params {
  std::int64_t amount = 0;
  std::string currency;  ///< lowercase ISO 4217
  core::capture_method capture = core::capture_method::automatic;
  /// A merchant-initiated transaction (the customer is not present): a JSON
  /// boolean, false when absent.
  bool merchant_initiated = false;
  std::optional<std::string> description;
  std::string metadata_json = "{}";  ///< canonical JSON object of strings
  /// The PSP the intent goes to; nullopt: the merchant's default. Checked
  /// against the configured PSPs by the route.
  std::optional<std::string> psp;
  /// Where the PSP sends the shopper back after a redirect (3-D Secure).
  std::optional<std::string> return_url;
  /// The payment method type routing rules match on ("card" when absent).
  std::optional<std::string> payment_method_type;
  /// An API create whose body named no `psp`: the merchant's routing rules
  /// choose, with failover (hosted checkout creates never route: their page
  /// is the PSP's).
  bool routed = false;
};

struct refund_params {
  std::string payment_intent;
  std::optional<std::int64_t> amount;
  std::optional<std::string> reason;
};

core::result<create_intent_params> parse_create_intent(const rapidjson::Value& body);

/// `amount_to_capture`, when given.
core::result<std::optional<std::int64_t>> parse_capture(const rapidjson::Value& body);

/// Accepts only an optional `cancellation_reason` from Stripe's list.
core::status parse_cancel(const rapidjson::Value& body);

core::result<refund_params> parse_refund(const rapidjson::Value& body);

/// A refund in the API's shape.
std::string refund_json(const core::refund& r);

/// An intent's audit history as a list object.
std::string audit_list_json(const std::string& intent_id,
                            const std::vector<core::audit_event>& events);

}  // namespace pay::net
