#include "core/authorization_expiry.hpp"

#include <catch2/catch.hpp>

#include "core/limits.hpp"

using namespace pay::core;

namespace {
constexpr std::int64_t day = seconds_per_day;
constexpr std::int64_t t0 = 1'800'000'000;  // an authorisation's time
}  // namespace

TEST_CASE("the validity table gives each PSP its own window", "[authorization_expiry]") {
  CHECK(authorization_validity({"stripe", "", false}).validity_s == 7 * day);
  CHECK(authorization_validity({"stripe", "mastercard", false}).validity_s == 7 * day);
  CHECK(authorization_validity({"adyen", "", false}).validity_s == 28 * day);
  const auto& paypal = authorization_validity({"paypal", "", false});
  CHECK(paypal.validity_s == 29 * day);
  CHECK(paypal.honor_s == 3 * day);
}

TEST_CASE("a Visa merchant-initiated authorisation is valid 5 days at any PSP",
          "[authorization_expiry]") {
  CHECK(authorization_validity({"stripe", "visa", true}).validity_s == 5 * day);
  CHECK(authorization_validity({"adyen", "visa", true}).validity_s == 5 * day);
  // A customer-initiated Visa payment keeps the PSP's window.
  CHECK(authorization_validity({"adyen", "visa", false}).validity_s == 28 * day);
}

TEST_CASE("an unknown PSP gets the shortest common card window", "[authorization_expiry]") {
  CHECK(authorization_validity({"acme", "", false}).validity_s == 7 * day);
  CHECK(authorization_validity({"", "", false}).validity_s == 7 * day);
}

TEST_CASE("every table row is within the configurable maximum", "[authorization_expiry]") {
  for (const auto& r : authorization_validity_table()) {
    CHECK(r.validity_s > 0);
    CHECK(r.validity_s <= limits::authorization_validity_max_s);
    CHECK(r.honor_s <= r.validity_s);
    CHECK_FALSE(r.why.empty());
  }
  // The last row catches everything.
  const auto& last = authorization_validity_table().back();
  CHECK(last.psp_kind.empty());
  CHECK(last.card_network.empty());
  CHECK_FALSE(last.merchant_initiated);
}

TEST_CASE("the deadline comes from the table when the PSP tells none", "[authorization_expiry]") {
  authorization_expiry_policy policy({}, {{"sandbox", "stripe"}, {"adyen", "adyen"}}, day);
  CHECK(policy.expires_at("sandbox", {}, t0, std::nullopt) == t0 + 7 * day);
  CHECK(policy.expires_at("adyen", {}, t0, std::nullopt) == t0 + 28 * day);
  CHECK(policy.expires_at("unknown-account", {}, t0, std::nullopt) == t0 + 7 * day);
  CHECK(policy.kind_of("sandbox") == "stripe");
  CHECK(policy.kind_of("nope").empty());
}

TEST_CASE("the PSP's own deadline wins over the table", "[authorization_expiry]") {
  authorization_expiry_policy policy({}, {{"sandbox", "stripe"}}, day);
  CHECK(policy.expires_at("sandbox", {}, t0, t0 + 7 * day - 30) == t0 + 7 * day - 30);
  // Extended authorisations: the PSP may hold longer than the table says.
  CHECK(policy.expires_at("sandbox", {}, t0, t0 + 30 * day) == t0 + 30 * day);
  // ... except where the network's rule is shorter.
  CHECK(policy.expires_at("sandbox", {"", "visa", true}, t0, t0 + 7 * day) == t0 + 5 * day);
}

TEST_CASE("an operator's override shortens but never lengthens the PSP's deadline",
          "[authorization_expiry]") {
  authorization_expiry_policy policy({{"sandbox", 3}}, {{"sandbox", "stripe"}}, 1);
  CHECK(policy.expires_at("sandbox", {}, t0, std::nullopt) == t0 + 3);
  CHECK(policy.expires_at("sandbox", {}, t0, t0 + 7 * day) == t0 + 3);
  authorization_expiry_policy longer({{"sandbox", 10 * day}}, {{"sandbox", "stripe"}}, 1);
  CHECK(longer.expires_at("sandbox", {}, t0, t0 + 7 * day) == t0 + 7 * day);
  CHECK(longer.expires_at("sandbox", {}, t0, std::nullopt) == t0 + 10 * day);
}

TEST_CASE("the warning comes the lead time before the deadline", "[authorization_expiry]") {
  authorization_expiry_policy policy({}, {}, 3600);
  CHECK(policy.warn_at(t0 + 7 * day) == t0 + 7 * day - 3600);
  CHECK(policy.warning_lead_s() == 3600);
}

TEST_CASE("an authorisation is expired from its deadline on", "[authorization_expiry]") {
  CHECK_FALSE(authorization_expired(t0, t0 - 1));
  CHECK(authorization_expired(t0, t0));
  CHECK(authorization_expired(t0, t0 + 1));
}

TEST_CASE("validity overrides are parsed strictly", "[authorization_expiry]") {
  auto none = parse_validity_overrides("");
  REQUIRE(none);
  CHECK(none->empty());
  auto two = parse_validity_overrides("stripe=604800,adyen=60");
  REQUIRE(two);
  CHECK(two->at("stripe") == 604800);
  CHECK(two->at("adyen") == 60);
  for (auto bad : {"stripe", "=5", "stripe=", "stripe=0", "stripe=-1", "stripe=1x",
                   "stripe=2678401", "stripe=5,stripe=6"}) {
    INFO(bad);
    auto r = parse_validity_overrides(bad);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::invalid_request);
  }
  CHECK(parse_validity_overrides("a=2678400"));
}

TEST_CASE("the refusal after expiry names the time", "[authorization_expiry]") {
  auto e = authorization_expired_error(1'800'000'000, "captured");
  CHECK(e.code == errc::invalid_state);
  CHECK(e.message ==
        "The authorization expired at 2027-01-15T08:00:00Z; it can no longer be "
        "captured.");
  CHECK(iso8601_utc(0) == "1970-01-01T00:00:00Z");
}
