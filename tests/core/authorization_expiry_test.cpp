#include "core/authorization_expiry.hpp"

#include <catch2/catch.hpp>

#include "core/limits.hpp"

using namespace pay::core;

namespace {
constexpr std::int64_t day = seconds_per_day;
constexpr std::int64_t t0 = 1'800'000'000;  // an authorisation's time
}  // namespace

// PSP windows as providers declare them (psp/<name>/...provider.cpp).
const authorization_window seven_days{7 * day, 0, "a PSP: 7 days"};
const authorization_window four_weeks{28 * day, 0, "a PSP: 28 days"};
const authorization_window honored{29 * day, 3 * day, "a PSP: 29 days, honored 3"};

TEST_CASE("each PSP's own window applies when no network rule binds", "[authorization_expiry]") {
  CHECK(authorization_validity({&seven_days, "", false}).validity_s == 7 * day);
  CHECK(authorization_validity({&seven_days, "mastercard", false}).validity_s == 7 * day);
  CHECK(authorization_validity({&four_weeks, "", false}).validity_s == 28 * day);
  auto h = authorization_validity({&honored, "", false});
  CHECK(h.validity_s == 29 * day);
  CHECK(h.honor_s == 3 * day);
  CHECK(h.why == "a PSP: 29 days, honored 3");
  CHECK_FALSE(h.network_rule);
}

TEST_CASE("a Visa merchant-initiated authorisation is valid 5 days at any PSP",
          "[authorization_expiry]") {
  for (const auto* w : {&seven_days, &four_weeks, &honored}) {
    auto d = authorization_validity({w, "visa", true});
    CHECK(d.validity_s == 5 * day);
    CHECK(d.network_rule);
  }
  CHECK(authorization_validity({nullptr, "visa", true}).validity_s == 5 * day);
  // A customer-initiated Visa payment keeps the PSP's window, and a
  // merchant-initiated one on another network too.
  CHECK(authorization_validity({&four_weeks, "visa", false}).validity_s == 28 * day);
  CHECK(authorization_validity({&four_weeks, "mastercard", true}).validity_s == 28 * day);
}

TEST_CASE("a PSP that declares no window gets the shortest common card window",
          "[authorization_expiry]") {
  auto d = authorization_validity({nullptr, "", false});
  CHECK(d.validity_s == 7 * day);
  CHECK(d.validity_s == default_authorization_window().validity_s);
  CHECK_FALSE(d.why.empty());
}

TEST_CASE("every rule and window is within the configurable maximum", "[authorization_expiry]") {
  for (const auto& r : network_validity_rules()) {
    CHECK(r.validity_s > 0);
    CHECK(r.validity_s <= limits::authorization_validity_max_s);
    CHECK_FALSE(r.why.empty());
  }
  const auto& d = default_authorization_window();
  CHECK(d.validity_s > 0);
  CHECK(d.validity_s <= limits::authorization_validity_max_s);
  CHECK(d.honor_s <= d.validity_s);
}

TEST_CASE("the deadline comes from the account's window when the PSP tells none",
          "[authorization_expiry]") {
  authorization_expiry_policy policy({}, {{"sandbox", seven_days}, {"adyen", four_weeks}}, day);
  CHECK(policy.expires_at("sandbox", {}, t0, std::nullopt) == t0 + 7 * day);
  CHECK(policy.expires_at("adyen", {}, t0, std::nullopt) == t0 + 28 * day);
  CHECK(policy.expires_at("unknown-account", {}, t0, std::nullopt) == t0 + 7 * day);
  REQUIRE(policy.window_of("adyen"));
  CHECK(policy.window_of("adyen")->validity_s == 28 * day);
  CHECK(policy.window_of("nope") == nullptr);
}

TEST_CASE("the PSP's own deadline wins over its declared window", "[authorization_expiry]") {
  authorization_expiry_policy policy({}, {{"sandbox", seven_days}}, day);
  CHECK(policy.expires_at("sandbox", {}, t0, t0 + 7 * day - 30) == t0 + 7 * day - 30);
  // Extended authorisations: the PSP may hold longer than its usual window.
  CHECK(policy.expires_at("sandbox", {}, t0, t0 + 30 * day) == t0 + 30 * day);
  // ... except where the network's rule is shorter.
  CHECK(policy.expires_at("sandbox", {nullptr, "visa", true}, t0, t0 + 7 * day) == t0 + 5 * day);
}

TEST_CASE("an operator's override shortens but never lengthens the PSP's deadline",
          "[authorization_expiry]") {
  authorization_expiry_policy policy({{"sandbox", 3}}, {{"sandbox", seven_days}}, 1);
  CHECK(policy.expires_at("sandbox", {}, t0, std::nullopt) == t0 + 3);
  CHECK(policy.expires_at("sandbox", {}, t0, t0 + 7 * day) == t0 + 3);
  authorization_expiry_policy longer({{"sandbox", 10 * day}}, {{"sandbox", seven_days}}, 1);
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
