#include "psp/paypal/paypal_amounts.hpp"

#include <array>

#include "core/money.hpp"

namespace pay::psp {

namespace {

// PayPal's currency codes for the REST APIs (README "Amounts and currencies").
constexpr std::array<std::string_view, 25> supported = {
    "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "JPY",
    "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RUB", "SEK", "SGD", "THB", "TWD", "USD"};
constexpr std::array<std::string_view, 3> no_decimals = {"HUF", "JPY", "TWD"};

std::int64_t pow10(int n) {
  std::int64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

}  // namespace

std::string paypal_currency(std::string_view currency) {
  std::string s(currency);
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string paypal_engine_currency(std::string_view currency) {
  std::string s(currency);
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool paypal_supports_currency(std::string_view currency) {
  auto upper = paypal_currency(currency);
  for (auto c : supported)
    if (c == upper) return true;
  return false;
}

int paypal_decimals(std::string_view currency) {
  auto upper = paypal_currency(currency);
  for (auto c : no_decimals)
    if (c == upper) return 0;
  return 2;
}

std::optional<std::string> to_paypal_value(std::int64_t engine_minor, std::string_view currency) {
  if (!paypal_supports_currency(currency)) return std::nullopt;
  auto cur = core::find_currency(currency);
  if (!cur) return std::nullopt;
  int decimals = paypal_decimals(currency);
  std::int64_t value = engine_minor;  // at PayPal's scale after the rescale below
  if (cur->exponent > decimals) {
    auto d = pow10(cur->exponent - decimals);
    if (value % d != 0) return std::nullopt;
    value /= d;
  } else if (cur->exponent < decimals) {
    auto v = core::checked_mul(value, pow10(decimals - cur->exponent));
    if (!v) return std::nullopt;
    value = *v;
  }
  bool negative = value < 0;
  // Digits of |value| without negating INT64_MIN.
  std::string digits;
  do {
    auto r = value % 10;
    digits.insert(digits.begin(), static_cast<char>('0' + (r < 0 ? -r : r)));
    value /= 10;
  } while (value != 0);
  if (decimals > 0) {
    while (digits.size() <= static_cast<std::size_t>(decimals)) digits.insert(digits.begin(), '0');
    digits.insert(digits.end() - decimals, '.');
  }
  return negative ? "-" + digits : digits;
}

std::optional<std::int64_t> from_paypal_value(std::string_view value, std::string_view currency) {
  auto cur = core::find_currency(currency);
  if (!cur || !paypal_supports_currency(currency)) return std::nullopt;
  bool negative = !value.empty() && value.front() == '-';
  if (negative) value.remove_prefix(1);
  auto dot = value.find('.');
  auto whole = value.substr(0, dot);
  std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : value.substr(dot + 1);
  if (dot != std::string_view::npos && frac.empty()) return std::nullopt;
  if (whole.empty() && frac.empty()) return std::nullopt;
  int decimals = paypal_decimals(currency);
  if (frac.size() > static_cast<std::size_t>(decimals)) return std::nullopt;
  std::int64_t v = 0;
  auto push = [&](char c) {
    if (c < '0' || c > '9') return false;
    auto m = core::checked_mul(v, 10);
    if (!m) return false;
    auto a = core::checked_add(*m, c - '0');
    if (!a) return false;
    v = *a;
    return true;
  };
  for (char c : whole)
    if (!push(c)) return std::nullopt;
  for (char c : frac)
    if (!push(c)) return std::nullopt;
  for (auto i = frac.size(); i < static_cast<std::size_t>(decimals); ++i)
    if (!push('0')) return std::nullopt;
  // v counts PayPal's units (10^-decimals); move it to the engine's exponent.
  if (cur->exponent > decimals) {
    auto m = core::checked_mul(v, pow10(cur->exponent - decimals));
    if (!m) return std::nullopt;
    v = *m;
  } else if (cur->exponent < decimals) {
    auto d = pow10(decimals - cur->exponent);
    if (v % d != 0) return std::nullopt;
    v /= d;
  }
  return negative ? -v : v;
}

}  // namespace pay::psp
