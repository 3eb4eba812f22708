#pragma once

/// Money: integer minor units tagged with an ISO 4217 currency.
///
/// Amounts are `std::int64_t` counts of the currency's minor unit (cents for
/// usd, yen for jpy, fils for bhd) and never floating point. Every sum of
/// amounts goes through the checked helpers here, so overflow is an error
/// value instead of undefined behaviour.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pay::core {

/// One currency: its lowercase ISO 4217 code and minor-unit exponent.
///
/// The exponent is ISO 4217's: an amount of `n` minor units is worth
/// `n / 10^exponent` major units. Stripe's API departs from ISO for a few
/// currencies (it counts isk and ugx in hundredths for backward compatibility
/// and mga in whole units); an adapter for such a PSP converts at its edge.
struct currency {
  /// Lowercase ISO 4217 code as Stripe spells it, e.g. "usd".
  std::string_view code;
  /// Number of decimal digits of the minor unit: 2 for usd, 0 for jpy.
  int exponent = 2;

  friend constexpr bool operator==(const currency&, const currency&) = default;
};

/// Every supported currency, sorted by code.
std::span<const currency> all_currencies();

/// The currency with ISO 4217 code `code`, compared case-insensitively, or
/// nothing if the engine does not support it.
///
/// The returned `code` is the table's lowercase spelling and lives forever.
std::optional<currency> find_currency(std::string_view code);

/// `a + b`, or nothing if it overflows `std::int64_t`.
std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b);

/// `a - b`, or nothing if it overflows `std::int64_t`.
std::optional<std::int64_t> checked_sub(std::int64_t a, std::int64_t b);

/// `a * b`, or nothing if it overflows `std::int64_t`.
std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b);

/// An amount in minor units of one currency.
struct money {
  /// Count of the currency's minor units; may be negative for reversals.
  std::int64_t amount_minor = 0;
  /// The currency the amount is counted in.
  currency cur;

  friend constexpr bool operator==(const money&, const money&) = default;
};

/// `a + b`; refuses different currencies (invalid_request, param "currency")
/// and overflow (limit_exceeded, param "amount").
result<money> add(const money& a, const money& b);

/// `amount_minor` as a decimal string in major units: 1234 usd is "12.34",
/// 5 jpy is "5", -1 usd is "-0.01", 1 bhd is "0.001".
///
/// For logs and the console only; never parse it back into an amount.
std::string format_amount(std::int64_t amount_minor, const currency& cur);

/// `amount_minor` if it is a valid amount for a payment or refund: positive
/// and at most `limits::amount_minor_max`; otherwise invalid_request with
/// param "amount".
result<std::int64_t> validate_amount(std::int64_t amount_minor);

}  // namespace pay::core
