#include "core/money.hpp"

#include <catch2/catch.hpp>
#include <limits>

#include "core/limits.hpp"

using namespace pay::core;

namespace {
constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
constexpr auto int64_min = std::numeric_limits<std::int64_t>::min();

currency must_find(std::string_view code) {
  auto cur = find_currency(code);
  REQUIRE(cur);
  return *cur;
}
}  // namespace

TEST_CASE("currencies carry their ISO 4217 minor-unit exponents") {
  CHECK(must_find("usd").exponent == 2);
  CHECK(must_find("eur").exponent == 2);
  CHECK(must_find("jpy").exponent == 0);
  CHECK(must_find("krw").exponent == 0);
  CHECK(must_find("clp").exponent == 0);
  CHECK(must_find("isk").exponent == 0);
  CHECK(must_find("huf").exponent == 2);
  CHECK(must_find("bhd").exponent == 3);
  CHECK(must_find("kwd").exponent == 3);
  CHECK(must_find("tnd").exponent == 3);
}

TEST_CASE("the currency table holds at least 40 currencies") {
  CHECK(all_currencies().size() >= 40);
}

TEST_CASE("currency lookup ignores case and answers the lowercase code") {
  auto upper = find_currency("USD");
  auto mixed = find_currency("uSd");
  REQUIRE(upper);
  REQUIRE(mixed);
  CHECK(upper->code == "usd");
  CHECK(*upper == *mixed);
}

TEST_CASE("unknown currency codes are not found") {
  CHECK_FALSE(find_currency("xyz"));
  CHECK_FALSE(find_currency(""));
  CHECK_FALSE(find_currency("us"));
  CHECK_FALSE(find_currency("usdd"));
  CHECK_FALSE(find_currency("us1"));
}

TEST_CASE("checked arithmetic detects overflow at the int64 bounds") {
  CHECK(checked_add(1, 2) == 3);
  CHECK_FALSE(checked_add(int64_max, 1));
  CHECK_FALSE(checked_add(int64_min, -1));
  CHECK(checked_add(int64_max, 0) == int64_max);
  CHECK(checked_sub(5, 7) == -2);
  CHECK_FALSE(checked_sub(int64_min, 1));
  CHECK_FALSE(checked_sub(int64_max, -1));
  CHECK(checked_mul(-4, 25) == -100);
  CHECK_FALSE(checked_mul(int64_max, 2));
  CHECK_FALSE(checked_mul(int64_min, -1));
  CHECK(checked_mul(int64_min, 1) == int64_min);
}

TEST_CASE("amounts format in major units with the currency's decimals") {
  CHECK(format_amount(1234, must_find("usd")) == "12.34");
  CHECK(format_amount(5, must_find("jpy")) == "5");
  CHECK(format_amount(-1, must_find("usd")) == "-0.01");
  CHECK(format_amount(1, must_find("bhd")) == "0.001");
  CHECK(format_amount(0, must_find("usd")) == "0.00");
  CHECK(format_amount(100, must_find("eur")) == "1.00");
  CHECK(format_amount(-1500, must_find("jpy")) == "-1500");
  CHECK(format_amount(int64_min, must_find("usd")) == "-92233720368547758.08");
}

TEST_CASE("validate_amount accepts 1 up to amount_minor_max and refuses the rest") {
  CHECK(validate_amount(1).value() == 1);
  CHECK(validate_amount(limits::amount_minor_max).value() == limits::amount_minor_max);
  for (std::int64_t bad :
       {std::int64_t{0}, std::int64_t{-1}, limits::amount_minor_max + 1, int64_min, int64_max}) {
    auto r = validate_amount(bad);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::invalid_request);
    CHECK(r.err().param == "amount");
  }
}

TEST_CASE("adding money in one currency sums the minor units") {
  const auto usd = must_find("usd");
  auto sum = add(money{150, usd}, money{275, usd});
  REQUIRE(sum);
  CHECK(*sum == money{425, usd});
}

TEST_CASE("adding money in different currencies is refused") {
  auto sum = add(money{100, must_find("usd")}, money{100, must_find("eur")});
  REQUIRE_FALSE(sum);
  CHECK(sum.err().code == errc::invalid_request);
  CHECK(sum.err().param == "currency");
}

TEST_CASE("adding money that overflows is refused") {
  const auto usd = must_find("usd");
  auto sum = add(money{int64_max, usd}, money{1, usd});
  REQUIRE_FALSE(sum);
  CHECK(sum.err().code == errc::limit_exceeded);
}
