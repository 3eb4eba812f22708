// Currencies and amounts: lookup by any code, formatting of any amount in
// every currency, and the checked arithmetic against 128-bit arithmetic.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/limits.hpp"
#include "core/money.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 16) return 0;
  std::int64_t a = 0;
  std::int64_t b = 0;
  std::memcpy(&a, data, 8);
  std::memcpy(&b, data + 8, 8);
  std::string_view code(reinterpret_cast<const char*>(data + 16), size - 16);

  if (auto cur = pay::core::find_currency(code)) {
    if (cur->code.size() != 3) __builtin_trap();
    auto text = pay::core::format_amount(a, *cur);
    auto dot = text.find('.');
    if (cur->exponent == 0 ? dot != std::string::npos
                           : dot == std::string::npos ||
                                 text.size() - dot - 1 != static_cast<std::size_t>(cur->exponent))
      __builtin_trap();
  }
  for (const auto& cur : pay::core::all_currencies()) (void)pay::core::format_amount(b, cur);

  auto sum = static_cast<__int128>(a) + b;
  auto diff = static_cast<__int128>(a) - b;
  auto product = static_cast<__int128>(a) * b;
  auto fits = [](__int128 v) { return v >= INT64_MIN && v <= INT64_MAX; };
  auto add = pay::core::checked_add(a, b);
  auto sub = pay::core::checked_sub(a, b);
  auto mul = pay::core::checked_mul(a, b);
  if (add.has_value() != fits(sum) || (add && *add != sum)) __builtin_trap();
  if (sub.has_value() != fits(diff) || (sub && *sub != diff)) __builtin_trap();
  if (mul.has_value() != fits(product) || (mul && *mul != product)) __builtin_trap();
  auto valid = pay::core::validate_amount(a);
  if (valid.has_value() != (a >= 1 && a <= pay::core::limits::amount_minor_max)) __builtin_trap();
  return 0;
}
