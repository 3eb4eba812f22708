#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/intent_fsm.hpp"

namespace pay::core {

/// When the funds of an authorisation are taken.
enum class capture_method : std::uint8_t { automatic, manual };

/// "automatic" or "manual".
std::string_view to_string(capture_method m);

/// Parses "automatic"/"manual".
std::optional<capture_method> parse_capture_method(std::string_view s);

/// One payment intent as the engine stores and answers it. Amounts are minor
/// units of `currency`.
struct payment_intent {
  std::string id;
  std::string merchant_id;
  intent_status status = intent_status::created;
  std::int64_t amount = 0;
  std::string currency;
  capture_method capture = capture_method::automatic;
  /// The merchant starts the payment without the customer present (a
  /// delayed or recurring charge, a resubmission): a merchant-initiated
  /// transaction. Fixed at create; on a Visa card it shortens the
  /// authorisation's validity to 5 days (core/authorization_expiry.hpp).
  bool merchant_initiated = false;
  std::int64_t amount_capturable = 0;
  std::int64_t amount_received = 0;
  std::int64_t amount_refunded = 0;
  std::optional<std::string> description;
  std::string metadata_json = "{}";  ///< a JSON object of string values
  std::string psp;
  std::optional<std::string> psp_reference;
  std::optional<std::string> client_secret;
  std::optional<std::string> last_payment_error_json;
  std::int64_t version = 0;
  std::int64_t created = 0;  ///< unix seconds
  /// When the authorisation lapses (unix seconds): set in the write that
  /// records `authorized` (core/authorization_expiry.hpp); nullopt before.
  std::optional<std::int64_t> expires_at;
};

/// Where a refund stands. The names are the engine's API and database
/// values of `refund.status`.
enum class refund_status : std::uint8_t { pending, succeeded, failed, canceled };

/// "pending", "succeeded", "failed", "canceled".
std::string_view to_string(refund_status s);

/// A refund of (part of) a captured intent.
struct refund {
  std::string id;
  std::string merchant_id;
  std::string intent_id;
  std::int64_t amount = 0;
  std::string currency;
  std::string status = "pending";  ///< pending, succeeded, failed, canceled
  std::optional<std::string> reason;
  std::optional<std::string> psp_reference;
  std::int64_t created = 0;  ///< unix seconds
};

/// One row of an intent's audit history: who did what, from which status to
/// which, at which version, and why.
struct audit_event {
  std::int64_t id = 0;
  std::string actor;   ///< "api", "psp", "webhook", "scheduler", ...
  std::string action;  ///< the event or command, e.g. "capture", "psp_sync", "refused"
  std::optional<intent_status> from;
  std::optional<intent_status> to;
  std::int64_t version = 0;
  std::string cause;
  std::string data_json = "{}";
  std::int64_t created_ms = 0;  ///< unix milliseconds
};

}  // namespace pay::core
