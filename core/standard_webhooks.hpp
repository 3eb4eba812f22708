#pragma once

/// The Standard Webhooks signature scheme (standardwebhooks.com), with which
/// the engine signs the events it delivers to merchants.
///
/// Headers: `webhook-id` (the event id, the same on every retry),
/// `webhook-timestamp` (unix seconds of the attempt) and `webhook-signature`:
/// space-separated `v1,<base64>` values, each the HMAC-SHA256 of
/// `<id>.<timestamp>.<body>` keyed with the base64-decoded part of a
/// `whsec_<base64>` secret. Several values let a rolled secret overlap with
/// its successor: a receiver accepts the delivery when any value matches.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pay::core {

/// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64 with padding; nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view text);

/// The HMAC key of a `whsec_<base64>` secret (the bytes of the base64 part);
/// nullopt when the secret has another shape or an empty key.
std::optional<std::string> standard_webhook_key(std::string_view secret);

/// A new secret: "whsec_" + base64 of `standard_webhook_key_bytes` random bytes.
std::string make_standard_webhook_secret();

/// One signature, "v1,<base64 HMAC-SHA256 of id.timestamp.body>"; nullopt
/// when the secret is not a valid whsec_ secret.
std::optional<std::string> standard_webhook_signature(std::string_view secret,
                                                      std::string_view msg_id,
                                                      std::int64_t timestamp_s,
                                                      std::string_view body);

/// The `webhook-signature` header: one signature per secret, in order,
/// space-separated; secrets that are not valid are skipped.
std::string standard_webhook_signature_header(std::span<const std::string> secrets,
                                              std::string_view msg_id, std::int64_t timestamp_s,
                                              std::string_view body);

/// Verifies a delivery as a receiver would: the timestamp within
/// `tolerance_s` of `now_s`, and any v1 signature of the header matching
/// `secret` (compared in constant time).
bool verify_standard_webhook(std::string_view secret, std::string_view msg_id,
                             std::string_view timestamp, std::string_view signature_header,
                             std::string_view body, std::int64_t now_s, std::int64_t tolerance_s);

}  // namespace pay::core
