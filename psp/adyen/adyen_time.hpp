#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

/// Adyen's timestamps as unix seconds.
namespace pay::psp {

/// An eventDate, "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)"; nullopt otherwise.
std::optional<std::int64_t> parse_adyen_event_date(std::string_view text);

/// A report's "YYYY-MM-DD HH:MM:SS" at `offset_s` from UTC; nullopt otherwise.
std::optional<std::int64_t> parse_adyen_report_time(std::string_view text,
                                                    std::int64_t offset_s = 0);

}  // namespace pay::psp
