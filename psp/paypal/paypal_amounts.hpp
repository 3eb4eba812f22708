#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Amounts between the engine's ISO 4217 minor units (core/money) and
/// PayPal's decimal strings ("25.99", "1500"), whose scale is PayPal's per
/// currency: HUF, JPY and TWD take no decimals, every other supported
/// currency two. A value one side cannot express exactly is refused, never
/// rounded; a currency PayPal does not support is refused before any call.
namespace pay::psp {

/// True when PayPal takes `currency` (any case): its table of 25.
bool paypal_supports_currency(std::string_view currency);

/// PayPal's number of decimals of `currency`: 0 for HUF, JPY, TWD, else 2.
int paypal_decimals(std::string_view currency);

/// The engine's amount as PayPal's value string; nullopt when PayPal or the
/// engine does not know the currency, or the amount is not exact at PayPal's
/// scale (e.g. 150 huf fillér: HUF takes whole forints at PayPal).
std::optional<std::string> to_paypal_value(std::int64_t engine_minor, std::string_view currency);

/// PayPal's value string in the engine's minor units; nullopt for anything
/// but `-?digits[.digits]` with at most PayPal's decimals for the currency
/// (fewer are padded), an unknown currency, or overflow.
std::optional<std::int64_t> from_paypal_value(std::string_view value, std::string_view currency);

/// "EUR" for "eur": PayPal's spelling on the wire.
std::string paypal_currency(std::string_view currency);

/// "eur" for "EUR": the engine's spelling.
std::string paypal_engine_currency(std::string_view currency);

}  // namespace pay::psp
