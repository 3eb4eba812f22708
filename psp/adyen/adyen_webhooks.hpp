#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/psp_provider.hpp"

/// Adyen's standard webhooks ("notifications"): a batch of items, each
/// signed on its own with HMAC-SHA256 over eight of its fields; the engine
/// stores each item as its own event and answers `[accepted]`.
namespace pay::psp {

/// The eight signed fields of one NotificationRequestItem, as Adyen joins
/// them: pspReference, originalReference, merchantAccountCode,
/// merchantReference, amount.value, amount.currency, eventCode, success
/// (missing ones empty), joined with ':' and nothing escaped.
struct adyen_signed_fields {
  std::string psp_reference;
  std::string original_reference;
  std::string merchant_account;
  std::string merchant_reference;
  std::int64_t value = 0;
  std::string currency;
  std::string event_code;
  std::string success;
};

/// The signing string of `f`.
std::string adyen_signing_string(const adyen_signed_fields& f);

/// The 32 key bytes of a 64-hex-digit HMAC key; nullopt for anything else.
std::optional<std::string> adyen_hmac_key_bytes(std::string_view key_hex);

/// base64(HMAC-SHA256(key bytes, signing string)); `key_hex` must be valid
/// (see adyen_hmac_key_bytes), otherwise the result is empty.
std::string adyen_hmac_signature(std::string_view key_hex, std::string_view signing_string);

/// The decline code (Stripe's vocabulary, which the engine stores) for an
/// Adyen refusal reason ("Not enough balance" -> "insufficient_funds");
/// "generic_decline" for reasons it does not know.
std::string adyen_decline_code(std::string_view refusal_reason);

/// Parses one NotificationRequestItem's JSON (the item itself, not wrapped)
/// into an event; nullopt when it lacks eventCode or pspReference.
/// `payload` becomes the event's payload.
std::optional<core::psp_event> parse_adyen_item_json(std::string_view item_json,
                                                     std::string payload);

/// Adyen's webhooks as core::psp_webhooks.
class adyen_webhooks final : public core::psp_webhooks {
 public:
  /// `hmac_keys` are 64 hex digits each (current first); `live` is what the
  /// batches' "live" must say ("false" for the test platform).
  adyen_webhooks(std::vector<std::string> hmac_keys, bool live);
  bool configured() const override;
  /// Every item's additionalData.hmacSignature must match under one of the
  /// keys; reasons: "malformed", "live_mismatch", "missing_signature",
  /// "no_matching_signature", "not_configured".
  core::webhook_verdict verify(const core::header_lookup& headers, std::string_view body,
                               std::int64_t now_s) const override;
  /// "additionalData.hmacSignature": Adyen signs in the body, not a header.
  std::string_view signature_header() const override;
  /// A whole batch, or one stored item {"NotificationRequestItem":{...}}.
  std::vector<core::psp_event> parse(std::string_view body) const override;
  /// 200 text/plain `[accepted]`.
  core::webhook_answer accepted(std::size_t events, std::size_t duplicates) const override;

 private:
  std::vector<std::string> keys_;  ///< hex
  bool live_;
};

}  // namespace pay::psp
