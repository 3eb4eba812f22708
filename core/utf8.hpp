#pragma once

/// Text checks for everything a client sends: strict UTF-8 (RFC 3629: no
/// overlong forms, no surrogates, nothing above U+10FFFF), no NUL, and
/// lengths counted in characters (code points), as the API's limits are
/// stated. PostgreSQL refuses invalid UTF-8 (22021) and NUL (22P05) in text,
/// so text that fails here must be refused before anything is stored or sent
/// to a PSP.

#include <cstddef>
#include <string_view>

namespace pay::core {

/// What is wrong with a piece of text, if anything.
enum class text_verdict {
  ok,
  invalid_utf8,  ///< a byte sequence that is not UTF-8 (a lone surrogate included)
  contains_nul,  ///< U+0000 somewhere in it
};

/// True when `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s);

/// Checks `s` for the engine's rules: well-formed UTF-8 without NUL.
text_verdict check_text(std::string_view s);

/// The number of code points in `s`, which must be valid UTF-8 (every byte
/// that does not continue a sequence starts a character).
std::size_t utf8_length(std::string_view s);

/// A short sentence saying why text was refused, for error messages.
std::string_view describe(text_verdict v);

}  // namespace pay::core
