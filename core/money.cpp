#include "core/money.hpp"

#include <algorithm>
#include <array>
#include <cassert>

#include "core/limits.hpp"

namespace pay::core {

namespace {

/// The currencies Stripe accepts for payments that ISO 4217 lists as active,
/// with ISO's exponents, sorted by code so lookup can bisect.
constexpr std::array currency_table{
    currency{"aed", 2}, currency{"afn", 2}, currency{"all", 2}, currency{"amd", 2},
    currency{"aoa", 2}, currency{"ars", 2}, currency{"aud", 2}, currency{"awg", 2},
    currency{"azn", 2}, currency{"bam", 2}, currency{"bbd", 2}, currency{"bdt", 2},
    currency{"bgn", 2}, currency{"bhd", 3}, currency{"bif", 0}, currency{"bmd", 2},
    currency{"bnd", 2}, currency{"bob", 2}, currency{"brl", 2}, currency{"bsd", 2},
    currency{"bwp", 2}, currency{"byn", 2}, currency{"bzd", 2}, currency{"cad", 2},
    currency{"cdf", 2}, currency{"chf", 2}, currency{"clp", 0}, currency{"cny", 2},
    currency{"cop", 2}, currency{"crc", 2}, currency{"cve", 2}, currency{"czk", 2},
    currency{"djf", 0}, currency{"dkk", 2}, currency{"dop", 2}, currency{"dzd", 2},
    currency{"egp", 2}, currency{"etb", 2}, currency{"eur", 2}, currency{"fjd", 2},
    currency{"fkp", 2}, currency{"gbp", 2}, currency{"gel", 2}, currency{"gip", 2},
    currency{"gmd", 2}, currency{"gnf", 0}, currency{"gtq", 2}, currency{"gyd", 2},
    currency{"hkd", 2}, currency{"hnl", 2}, currency{"htg", 2}, currency{"huf", 2},
    currency{"idr", 2}, currency{"ils", 2}, currency{"inr", 2}, currency{"isk", 0},
    currency{"jmd", 2}, currency{"jod", 3}, currency{"jpy", 0}, currency{"kes", 2},
    currency{"kgs", 2}, currency{"khr", 2}, currency{"kmf", 0}, currency{"krw", 0},
    currency{"kwd", 3}, currency{"kyd", 2}, currency{"kzt", 2}, currency{"lak", 2},
    currency{"lbp", 2}, currency{"lkr", 2}, currency{"lrd", 2}, currency{"lsl", 2},
    currency{"mad", 2}, currency{"mdl", 2}, currency{"mga", 2}, currency{"mkd", 2},
    currency{"mmk", 2}, currency{"mnt", 2}, currency{"mop", 2}, currency{"mur", 2},
    currency{"mvr", 2}, currency{"mwk", 2}, currency{"mxn", 2}, currency{"myr", 2},
    currency{"mzn", 2}, currency{"nad", 2}, currency{"ngn", 2}, currency{"nio", 2},
    currency{"nok", 2}, currency{"npr", 2}, currency{"nzd", 2}, currency{"omr", 3},
    currency{"pab", 2}, currency{"pen", 2}, currency{"pgk", 2}, currency{"php", 2},
    currency{"pkr", 2}, currency{"pln", 2}, currency{"pyg", 0}, currency{"qar", 2},
    currency{"ron", 2}, currency{"rsd", 2}, currency{"rwf", 0}, currency{"sar", 2},
    currency{"sbd", 2}, currency{"scr", 2}, currency{"sek", 2}, currency{"sgd", 2},
    currency{"shp", 2}, currency{"sle", 2}, currency{"sos", 2}, currency{"srd", 2},
    currency{"szl", 2}, currency{"thb", 2}, currency{"tjs", 2}, currency{"tnd", 3},
    currency{"top", 2}, currency{"try", 2}, currency{"ttd", 2}, currency{"twd", 2},
    currency{"tzs", 2}, currency{"uah", 2}, currency{"ugx", 0}, currency{"usd", 2},
    currency{"uyu", 2}, currency{"uzs", 2}, currency{"vnd", 0}, currency{"vuv", 0},
    currency{"wst", 2}, currency{"xaf", 0}, currency{"xcd", 2}, currency{"xof", 0},
    currency{"xpf", 0}, currency{"yer", 2}, currency{"zar", 2}, currency{"zmw", 2},
};

/// True when every code is three lowercase letters, codes are strictly
/// ascending (sorted, no duplicates), and every exponent is 0, 2 or 3.
constexpr bool currency_table_well_formed() {
  for (std::size_t i = 0; i < currency_table.size(); ++i) {
    const auto& c = currency_table[i];
    if (c.code.size() != 3) return false;
    for (char ch : c.code) {
      if (ch < 'a' || ch > 'z') return false;
    }
    if (c.exponent != 0 && c.exponent != 2 && c.exponent != 3) return false;
    if (i > 0 && !(currency_table[i - 1].code < c.code)) return false;
  }
  return true;
}

static_assert(currency_table_well_formed());

/// Powers of ten for every exponent the table uses.
constexpr std::uint64_t pow10(int exponent) {
  std::uint64_t p = 1;
  for (int i = 0; i < exponent; ++i) p *= 10;
  return p;
}

}  // namespace

std::span<const currency> all_currencies() {
  return currency_table;
}

std::optional<currency> find_currency(std::string_view code) {
  if (code.size() != 3) return std::nullopt;
  char lower[3];
  for (std::size_t i = 0; i < 3; ++i) {
    char ch = code[i];
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    lower[i] = ch;
  }
  const std::string_view key(lower, 3);
  const auto* it =
      std::lower_bound(currency_table.begin(), currency_table.end(), key,
                       [](const currency& c, std::string_view k) { return c.code < k; });
  if (it == currency_table.end() || it->code != key) return std::nullopt;
  return *it;
}

std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<std::int64_t> checked_sub(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

result<money> add(const money& a, const money& b) {
  if (a.cur.code != b.cur.code) {
    return make_error(errc::invalid_request,
                      "cannot add amounts in different currencies (" + std::string(a.cur.code) +
                          " and " + std::string(b.cur.code) + ")",
                      "currency");
  }
  // Same code with different exponents means a hand-built currency: a bug.
  assert(a.cur.exponent == b.cur.exponent);
  const auto sum = checked_add(a.amount_minor, b.amount_minor);
  if (!sum) return make_error(errc::limit_exceeded, "amount overflows", "amount");
  return money{*sum, a.cur};
}

std::string format_amount(std::int64_t amount_minor, const currency& cur) {
  assert(cur.exponent >= 0 && cur.exponent <= 18);
  // Work on the magnitude as unsigned so INT64_MIN has a magnitude too.
  const bool negative = amount_minor < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(amount_minor)
                                           : static_cast<std::uint64_t>(amount_minor);
  const std::uint64_t scale = pow10(cur.exponent);
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / scale);
  if (cur.exponent > 0) {
    std::string fraction = std::to_string(magnitude % scale);
    out += '.';
    out.append(static_cast<std::size_t>(cur.exponent) - fraction.size(), '0');
    out += fraction;
  }
  return out;
}

result<std::int64_t> validate_amount(std::int64_t amount_minor) {
  if (amount_minor <= 0) {
    return make_error(errc::invalid_request,
                      "amount must be a positive integer in the currency's minor unit", "amount");
  }
  if (amount_minor > limits::amount_minor_max) {
    return make_error(errc::invalid_request,
                      "amount must be at most " + std::to_string(limits::amount_minor_max),
                      "amount");
  }
  return amount_minor;
}

}  // namespace pay::core
