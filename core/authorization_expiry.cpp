#include "core/authorization_expiry.hpp"

#include <array>
#include <charconv>
#include <ctime>

#include "core/limits.hpp"

namespace pay::core {

namespace {

// Most specific rows first.
constexpr std::array network_rules{
    // Visa's rules for merchant-initiated transactions (incremental,
    // resubmission, delayed charges): the authorisation is valid 5 days,
    // whatever the PSP's own window.
    authorization_validity_rule{"visa", true, 5 * seconds_per_day,
                                "Visa: merchant-initiated authorisations are valid 5 days"},
};

bool matches(const authorization_validity_rule& r, const authorization_facts& f) {
  return (r.card_network.empty() || r.card_network == f.card_network) &&
         (!r.merchant_initiated || f.merchant_initiated);
}

}  // namespace

std::span<const authorization_validity_rule> network_validity_rules() {
  return network_rules;
}

const authorization_window& default_authorization_window() {
  static const authorization_window w{7 * seconds_per_day, 0,
                                      "default: 7 days, the shortest common card window"};
  return w;
}

authorization_validity_decision authorization_validity(const authorization_facts& facts) {
  for (const auto& r : network_rules)
    if (matches(r, facts)) return {r.validity_s, 0, r.why, true};
  const auto& w = facts.psp_window ? *facts.psp_window : default_authorization_window();
  return {w.validity_s, w.honor_s, w.why, false};
}

result<validity_overrides> parse_validity_overrides(std::string_view text) {
  validity_overrides out;
  auto bad = [](std::string why) {
    return make_error(errc::invalid_request,
                      "auth-validity: " + why + " (expected ACCOUNT=SECONDS[,ACCOUNT=SECONDS...])",
                      "auth-validity");
  };
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) return bad("'" + std::string(item) + "'");
    auto name = item.substr(0, eq);
    auto digits = item.substr(eq + 1);
    std::int64_t s = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), s);
    if (ec != std::errc{} || p != digits.data() + digits.size() || s < 1 ||
        s > limits::authorization_validity_max_s)
      return bad("seconds of '" + std::string(name) + "' must be 1.." +
                 std::to_string(limits::authorization_validity_max_s));
    if (!out.emplace(std::string(name), s).second)
      return bad("'" + std::string(name) + "' given twice");
  }
  return out;
}

authorization_expiry_policy::authorization_expiry_policy(
    validity_overrides overrides,
    std::map<std::string, authorization_window, std::less<>> account_windows,
    std::int64_t warning_lead_s)
    : overrides_(std::move(overrides)),
      account_windows_(std::move(account_windows)),
      warning_lead_s_(warning_lead_s) {}

const authorization_window* authorization_expiry_policy::window_of(std::string_view account) const {
  auto it = account_windows_.find(account);
  return it == account_windows_.end() ? nullptr : &it->second;
}

std::int64_t authorization_expiry_policy::expires_at(
    std::string_view account, authorization_facts facts, std::int64_t authorized_at_s,
    std::optional<std::int64_t> psp_deadline_s) const {
  if (!facts.psp_window) facts.psp_window = window_of(account);
  if (auto it = overrides_.find(account); it != overrides_.end()) {
    auto own = authorized_at_s + it->second;
    return psp_deadline_s ? std::min(own, *psp_deadline_s) : own;
  }
  // Visa's merchant-initiated rule is the network's, whatever the PSP says.
  const auto decision = authorization_validity(facts);
  auto by_rule = authorized_at_s + decision.validity_s;
  if (psp_deadline_s)
    return decision.network_rule ? std::min(by_rule, *psp_deadline_s) : *psp_deadline_s;
  return by_rule;
}

std::string iso8601_utc(std::int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

error authorization_expired_error(std::int64_t expires_at_s, std::string_view action) {
  return make_error(errc::invalid_state, "The authorization expired at " +
                                             iso8601_utc(expires_at_s) + "; it can no longer be " +
                                             std::string(action) + ".");
}

}  // namespace pay::core
