#include "psp/adyen/adyen_amounts.hpp"

#include <array>

#include "core/money.hpp"

namespace pay::psp {

namespace {

// Adyen's table (Adyen's libraries, getDecimalPlaces): every other currency is 2.
constexpr std::array<std::string_view, 15> exponent_0 = {"CVE", "DJF", "GNF", "IDR", "JPY",
                                                         "KMF", "KRW", "PYG", "RWF", "UGX",
                                                         "VND", "VUV", "XAF", "XOF", "XPF"};
constexpr std::array<std::string_view, 7> exponent_3 = {"BHD", "IQD", "JOD", "KWD",
                                                        "LYD", "OMR", "TND"};

std::optional<std::int64_t> pow10(int n) {
  std::int64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

/// `value` moved from exponent `from` to exponent `to`, exactly or not at all.
std::optional<std::int64_t> rescale(std::int64_t value, int from, int to) {
  if (from == to) return value;
  if (to > from) return core::checked_mul(value, *pow10(to - from));
  auto d = *pow10(from - to);
  if (value % d != 0) return std::nullopt;
  return value / d;
}

}  // namespace

std::string adyen_currency(std::string_view currency) {
  std::string s(currency);
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string engine_currency(std::string_view currency) {
  std::string s(currency);
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

int adyen_exponent(std::string_view currency) {
  auto upper = adyen_currency(currency);
  for (auto c : exponent_0)
    if (c == upper) return 0;
  for (auto c : exponent_3)
    if (c == upper) return 3;
  return 2;
}

std::optional<std::int64_t> to_adyen_minor(std::int64_t engine_minor, std::string_view currency) {
  auto cur = core::find_currency(currency);
  if (!cur) return std::nullopt;
  return rescale(engine_minor, cur->exponent, adyen_exponent(currency));
}

std::optional<std::int64_t> from_adyen_minor(std::int64_t adyen_minor, std::string_view currency) {
  auto cur = core::find_currency(currency);
  if (!cur) return std::nullopt;
  return rescale(adyen_minor, adyen_exponent(currency), cur->exponent);
}

}  // namespace pay::psp
