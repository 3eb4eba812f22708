#include <catch2/catch.hpp>

#include <map>

#include "core/limits.hpp"
#include "core/routing.hpp"

using namespace pay::core;

namespace {

/// Two accounts, `sandbox` (alias `stripe`) and `adyen`, as dev.sh names them.
std::optional<std::string> resolve(std::string_view name) {
  if (name == "sandbox" || name == "stripe") return std::string("sandbox");
  if (name == "adyen") return std::string("adyen");
  return std::nullopt;
}

routing_rules by_currency() {
  routing_rules r;
  routing_rule eur;
  eur.currency = "eur";
  eur.psps = {{"adyen", 1}, {"stripe", 1}};
  routing_rule big;
  big.amount_min = 100'000;
  big.psps = {{"stripe", 1}};
  r.rules = {eur, big};
  r.default_psps = {{"stripe", 1}, {"adyen", 1}};
  return r;
}

}  // namespace

TEST_CASE("Routing validation resolves aliases and refuses unknown PSPs with the field named") {
  auto r = by_currency();
  REQUIRE(validate_routing(r, resolve));
  CHECK(r.rules[0].psps[1].psp == "sandbox");
  CHECK(r.default_psps[0].psp == "sandbox");

  auto bad = by_currency();
  bad.rules[1].psps.push_back({"paypal", 1});
  auto s = validate_routing(bad, resolve);
  REQUIRE_FALSE(s);
  CHECK(s.err().param == "rules[1].psps[1].psp");
  CHECK(s.err().message.find("paypal") != std::string::npos);
}

TEST_CASE("Routing validation refuses bad conditions, weights, duplicates and empty lists") {
  auto check_refused = [](routing_rules r, const std::string& param) {
    auto s = validate_routing(r, resolve);
    REQUIRE_FALSE(s);
    CHECK(s.err().code == errc::invalid_request);
    CHECK(s.err().param == param);
  };
  auto r = by_currency();
  r.rules[0].currency = "EUR";
  check_refused(r, "rules[0].currency");
  r = by_currency();
  r.rules[1].amount_max = 10;
  check_refused(r, "rules[1].amount_min");
  r = by_currency();
  r.rules[1].amount_min = -1;
  check_refused(r, "rules[1].amount_min");
  r = by_currency();
  r.rules[0].payment_method_type = "Card!";
  check_refused(r, "rules[0].payment_method_type");
  r = by_currency();
  r.rules[0].psps[0].weight = 0;
  check_refused(r, "rules[0].psps[0].weight");
  r = by_currency();
  r.rules[0].psps[0].weight = limits::routing_weight_max + 1;
  check_refused(r, "rules[0].psps[0].weight");
  r = by_currency();
  r.rules[0].psps = {{"stripe", 1}, {"sandbox", 1}};  // one account, two names
  check_refused(r, "rules[0].psps[1].psp");
  r = by_currency();
  r.rules[0].psps.clear();
  check_refused(r, "rules[0].psps");
  r = by_currency();
  r.rules.resize(limits::routing_rules_max + 1, r.rules[1]);
  check_refused(r, "rules");
  r = by_currency();
  r.default_psps.clear();  // an empty default list is allowed: the merchant's default
  CHECK(validate_routing(r, resolve));
}

TEST_CASE("The first matching rule gives the list, else the default list, else the fallback") {
  auto r = by_currency();
  REQUIRE(validate_routing(r, resolve));
  auto eur = choose_psps(r, {500, "eur", "card"}, "pi_1", "sandbox");
  CHECK(eur.psps == std::vector<std::string>{"adyen", "sandbox"});
  CHECK(eur.why == "rule 0");
  auto big_usd = choose_psps(r, {100'000, "usd", "card"}, "pi_1", "sandbox");
  CHECK(big_usd.psps == std::vector<std::string>{"sandbox"});
  CHECK(big_usd.why == "rule 1");
  auto small_usd = choose_psps(r, {99'999, "usd", "card"}, "pi_1", "sandbox");
  CHECK(small_usd.psps == std::vector<std::string>{"sandbox", "adyen"});
  CHECK(small_usd.why == "default list");
  r.default_psps.clear();
  auto none = choose_psps(r, {1, "usd", "card"}, "pi_1", "adyen");
  CHECK(none.psps == std::vector<std::string>{"adyen"});
  CHECK(none.why == "merchant default");
}

TEST_CASE("A rule's amount range is inclusive and its payment method type must match") {
  routing_rules r;
  routing_rule mid;
  mid.amount_min = 100;
  mid.amount_max = 200;
  mid.payment_method_type = "card";
  mid.psps = {{"adyen", 1}};
  r.rules = {mid};
  CHECK_FALSE(match_rule(r, {99, "eur", "card"}));
  CHECK(match_rule(r, {100, "eur", "card"}) == std::optional<std::size_t>{0});
  CHECK(match_rule(r, {200, "eur", "card"}) == std::optional<std::size_t>{0});
  CHECK_FALSE(match_rule(r, {201, "eur", "card"}));
  CHECK_FALSE(match_rule(r, {150, "eur", "sepa_debit"}));
}

TEST_CASE("A weighted list is ordered deterministically by intent id, in proportion to weights") {
  std::vector<routing_target> list{{"sandbox", 3}, {"adyen", 1}};
  std::map<std::string, int> first;
  for (int i = 0; i < 4000; ++i) {
    auto id = "pi_" + std::to_string(i);
    auto order = order_targets(list, id);
    REQUIRE(order.size() == 2);
    CHECK(order != std::vector<std::string>{order[0], order[0]});
    CHECK(order_targets(list, id) == order);  // a retry picks the same
    ++first[order[0]];
  }
  // 3:1 within a generous margin (expected 3000 and 1000).
  CHECK(first["sandbox"] > 2800);
  CHECK(first["sandbox"] < 3200);
  CHECK(first["adyen"] == 4000 - first["sandbox"]);
  // Equal weights keep the order given.
  CHECK(order_targets({{"adyen", 2}, {"sandbox", 2}}, "pi_x") ==
        std::vector<std::string>{"adyen", "sandbox"});
}

TEST_CASE("Only failures before any answer fail a create over, declines and 409 never do") {
  psp_failure f;
  f.kind = psp_failure_kind::retryable;
  f.code = "circuit_open";
  CHECK(failover_reason_of(f) == failover_reason::breaker_open);
  CHECK_FALSE(may_have_created(failover_reason::breaker_open));
  f.code = "psp_busy";
  CHECK(failover_reason_of(f) == failover_reason::busy);
  f.code.clear();
  f.message = "The PSP did not answer within 5000 ms (timed out).";
  CHECK(failover_reason_of(f) == failover_reason::timeout);
  CHECK(may_have_created(failover_reason::timeout));
  f.message = "Could not reach the PSP: connection refused";
  CHECK(failover_reason_of(f) == failover_reason::unreachable);
  f.http_status = 503;
  CHECK(failover_reason_of(f) == failover_reason::server_error);
  CHECK(to_string(failover_reason::server_error) == "server error");
  f.http_status = 409;  // the PSP still runs an earlier attempt under the key
  CHECK(failover_reason_of(f) == failover_reason::none);
  f.http_status = 429;
  CHECK(failover_reason_of(f) == failover_reason::none);
  f.http_status = 402;
  f.kind = psp_failure_kind::declined;
  CHECK(failover_reason_of(f) == failover_reason::none);
  f.kind = psp_failure_kind::rejected;
  f.http_status = 400;
  CHECK(failover_reason_of(f) == failover_reason::none);
}

TEST_CASE("PSP lists round-trip through their stored text, and attempt keys differ per attempt") {
  std::vector<routing_target> list{{"sandbox", 3}, {"adyen", 1}};
  auto text = targets_text(list);
  CHECK(text == "sandbox:3,adyen:1");
  auto back = parse_targets_text(text);
  REQUIRE(back);
  CHECK(*back == list);
  CHECK(parse_targets_text("")->empty());
  CHECK_FALSE(parse_targets_text("sandbox"));
  CHECK_FALSE(parse_targets_text("sandbox:x"));
  CHECK(attempt_psp_key("pe_abc", 0) == "pe_abc");
  CHECK(attempt_psp_key("pe_abc", 1) == "pe_abc-r1");
}
