#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Small pieces of Adyen's formats: references, currency exponents, dates and
/// the notification HMAC. Written for the Adyen mode of the sandbox only.
namespace pay::sandbox::adyen {

/// A new 16-character pspReference: upper-case letters and digits.
std::string new_psp_reference();

/// Adyen's number of decimals for a currency (its own table, which differs
/// from ISO 4217 for CLP, ISK, IDR and CVE); nullopt for an unknown code.
std::optional<int> currency_exponent(std::string_view currency);

/// Minor units as a decimal number of major units ("25.99", "1500", "1.500").
std::string major_units(std::int64_t minor, int exponent);

/// "2024-06-01T14:34:50+00:00" for a unix time in seconds.
std::string iso_time(std::int64_t unix_s);
/// "2024-06-01 14:34:50" (settlement report dates).
std::string report_time(std::int64_t unix_s);

std::int64_t now_s();

/// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" to unix seconds.
std::optional<std::int64_t> parse_iso_time(std::string_view text);

/// Standard base64 with padding.
std::string base64(std::string_view bytes);

/// Standard base64 (padding optional) to bytes; nullopt on a bad character.
std::optional<std::string> base64_decode(std::string_view text);

/// Hex to bytes; nullopt when not hex of even length.
std::optional<std::string> hex_decode(std::string_view hex);

/// The notification item signing string: pspReference, originalReference,
/// merchantAccountCode, merchantReference, amount value, amount currency,
/// eventCode and success, joined with ':' and nothing escaped.
struct signed_fields {
  std::string psp_reference;
  std::string original_reference;
  std::string merchant_account;
  std::string merchant_reference;
  std::int64_t value = 0;
  std::string currency;
  std::string event_code;
  std::string success;
};
std::string signing_string(const signed_fields& f);

/// base64(HMAC-SHA256(hex-decoded key, signing string)).
std::string hmac_signature(std::string_view key_hex, const signed_fields& f);

}  // namespace pay::sandbox::adyen
