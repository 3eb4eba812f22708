#pragma once

/// Random identifiers and tokens from OpenSSL's CSPRNG.
///
/// An id is a type prefix, "_" and 24 base62 characters (about 143 bits), so
/// an id says what it names and is unguessable. Tokens (API keys, client
/// secrets, admin tokens) are plain base62 strings of a chosen length.

#include <cstddef>
#include <string>
#include <string_view>

namespace pay::core {

/// The type prefixes of every id the engine mints; one home so no two kinds
/// share a prefix.
namespace id_prefix {
/// A payment intent: "pi_...".
inline constexpr std::string_view payment_intent = "pi";
/// A refund: "re_...".
inline constexpr std::string_view refund = "re";
/// A merchant: "mch_...".
inline constexpr std::string_view merchant = "mch";
/// An API key record (not the secret itself): "key_...".
inline constexpr std::string_view api_key = "key";
/// An audit event: "aud_...".
inline constexpr std::string_view audit_event = "aud";
/// A received webhook event: "wev_...".
inline constexpr std::string_view webhook_event = "wev";
/// A dead letter: "dl_...".
inline constexpr std::string_view dead_letter = "dl";
/// An HTTP request, for logs and the Request-Id header: "req_...".
inline constexpr std::string_view request = "req";
/// A ledger journal transaction: "ltx_...".
inline constexpr std::string_view ledger_transaction = "ltx";
/// A payment link: "plink_...".
inline constexpr std::string_view payment_link = "plink";
/// A dispute: "dp_...".
inline constexpr std::string_view dispute = "dp";
}  // namespace id_prefix

/// Random base62 characters after the prefix and "_" of every id.
inline constexpr std::size_t id_random_chars = 24;

/// The 62 characters tokens and ids are made of: digits, then A-Z, then a-z.
inline constexpr std::string_view base62_alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// True when `ch` is one of the base62 characters.
constexpr bool is_base62(char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

/// A new id: `prefix` + "_" + 24 random base62 characters.
///
/// Aborts if the CSPRNG fails: that is a broken machine, not an operating
/// error.
std::string make_id(std::string_view prefix);

/// True when `id` has the shape of an id of kind `prefix`: exactly `prefix`,
/// "_" and 24 base62 characters.
bool has_prefix(std::string_view id, std::string_view prefix);

/// `length` random base62 characters, uniformly distributed.
///
/// Aborts if the CSPRNG fails, like `make_id`.
std::string random_token(std::size_t length);

}  // namespace pay::core
