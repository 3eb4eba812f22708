#pragma once

/// Stripe's webhook signature scheme, for verifying and for signing.
///
/// Header: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`. The
/// signed payload is `<t>` + "." + the raw body; each v1 is the lowercase hex
/// HMAC-SHA256 of it keyed with the whole secret string, "whsec_" prefix
/// included. Several v1 values let a secret rotate without lost events.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/limits.hpp"

namespace pay::psp {

/// The v1 signature of `payload` sent at `timestamp_s`, as lowercase hex.
std::string compute_stripe_signature(std::string_view secret, std::int64_t timestamp_s,
                                     std::string_view payload);

/// A `Stripe-Signature` header value: "t=<timestamp_s>" then one ",v1=<hex>"
/// per secret, in order.
std::string make_stripe_signature_header(std::span<const std::string> secrets,
                                         std::int64_t timestamp_s, std::string_view payload);

/// The outcome of verifying a signed webhook.
enum class signature_verdict {
  /// A v1 signature matches one of the secrets, within the tolerance.
  ok,
  /// The header is absent or blank.
  missing_header,
  /// The header does not parse: an item without "=", a missing, repeated or
  /// non-integer t, or more than `core::limits::webhook_signatures_max` v1 values.
  malformed_header,
  /// The header has no v1 signature (only other schemes such as v0).
  no_v1_signature,
  /// t is further than the tolerance from now, in the past or the future.
  timestamp_outside_tolerance,
  /// No v1 signature matches any secret.
  no_matching_signature,
};

/// The name of `verdict`, identical to the enumerator's name.
std::string_view to_string(signature_verdict verdict);

/// Verifies a `Stripe-Signature` header value against the raw `payload`.
///
/// Items are comma separated `key=value` pairs; whitespace around items is
/// ignored, empty items are skipped and unknown schemes (v0) are ignored. The
/// timestamp is checked before any HMAC is computed, so replays cost nothing;
/// then the webhook is accepted if any v1 value matches the signature under
/// any of `secrets`, compared in constant time.
signature_verdict verify_stripe_signature(
    std::string_view header, std::string_view payload, std::span<const std::string> secrets,
    std::int64_t now_s, std::int64_t tolerance_s = core::limits::webhook_tolerance_s);

}  // namespace pay::psp
