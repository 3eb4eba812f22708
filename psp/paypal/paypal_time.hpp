#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// PayPal's timestamps as unix seconds, and back.
namespace pay::psp {

/// RFC 3339 as PayPal writes it: "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|+HHMM)"
/// (Transaction Search writes "+0000"); nullopt otherwise.
std::optional<std::int64_t> parse_paypal_time(std::string_view text);

/// "YYYY-MM-DDTHH:MM:SSZ" of unix seconds `t` (what Transaction Search's
/// start_date and end_date take).
std::string format_paypal_time(std::int64_t t);

}  // namespace pay::psp
