#pragma once

/// Merchant API secret keys: minting and the hash we store instead of them.

#include <cstddef>
#include <string>
#include <string_view>

namespace pay::core {

/// Prefix of every secret key in test mode, as Stripe spells it.
inline constexpr std::string_view secret_key_prefix = "sk_test_";

/// Random base62 characters after the prefix: about 190 bits.
inline constexpr std::size_t secret_key_random_chars = 32;

/// The hash stored for `key`, as 64 lowercase hex characters (SHA-256).
///
/// A fast unsalted hash is right here, unlike for passwords: keys are 32+
/// random base62 characters (190 bits), so there is nothing to brute-force
/// or look up in a table, and a fast hash keeps the per-request lookup cheap.
std::string hash_api_key(std::string_view key);

/// A new secret key: "sk_test_" + 32 random base62 characters. Shown to the
/// merchant once; only its hash is stored.
std::string make_secret_key();

}  // namespace pay::core
