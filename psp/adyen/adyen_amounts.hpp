#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Amounts between the engine's ISO 4217 minor units (core/money) and
/// Adyen's, whose exponent table departs from ISO 4217 for a few currencies
/// (CLP and ISK count hundredths at Adyen, IDR and CVE whole units). A value
/// one side cannot express exactly is refused, never rounded.
namespace pay::psp {

/// Adyen's exponent of `currency` (any case): 0, 2 or 3 by Adyen's table.
int adyen_exponent(std::string_view currency);

/// The engine's amount in Adyen's minor units; nullopt when the engine does
/// not know the currency, the value is not exact at Adyen's exponent, or it
/// overflows.
std::optional<std::int64_t> to_adyen_minor(std::int64_t engine_minor, std::string_view currency);

/// Adyen's amount in the engine's minor units; nullopt as above.
std::optional<std::int64_t> from_adyen_minor(std::int64_t adyen_minor, std::string_view currency);

/// "EUR" for "eur": Adyen's spelling on the wire.
std::string adyen_currency(std::string_view currency);

/// "eur" for "EUR": the engine's spelling.
std::string engine_currency(std::string_view currency);

}  // namespace pay::psp
