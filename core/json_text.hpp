#pragma once

/// JSON string escaping for the few JSON texts the engine writes by hand (log
/// lines, outbound event payloads, audit data), where a JSON library would be
/// a heavy dependency of core/.

#include <string>
#include <string_view>

namespace pay::core {

/// Appends `s` escaped as the inside of a JSON string (RFC 8259): quote,
/// backslash and the short escapes (\b \f \n \r \t), other control
/// characters as \u00XX with upper-case hex; everything else, UTF-8
/// included, as it is.
void append_json_escaped(std::string& out, std::string_view s);

/// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

}  // namespace pay::core
