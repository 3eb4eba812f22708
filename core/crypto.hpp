#pragma once

/// Hashing, MACs and constant-time comparison over OpenSSL.
///
/// Failures of these primitives mean a broken OpenSSL, not an operating
/// error, so they abort instead of returning errors.

#include <string>
#include <string_view>

namespace pay::core {

/// SHA-256 of `data` as 64 lowercase hex characters.
std::string sha256_hex(std::string_view data);

/// HMAC-SHA256 of `data` keyed with `key`, as 64 lowercase hex characters.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// True when `a` and `b` are equal, in time that depends only on their
/// lengths; use it for every secret or signature comparison.
///
/// Strings of different lengths compare unequal at once, which leaks only
/// the length; our signatures and hashes have fixed, public lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

/// `bytes` as lowercase hex, two characters per byte.
std::string to_hex(std::string_view bytes);

}  // namespace pay::core
