#include "core/authorization_expiry.hpp"

#include <array>
#include <charconv>
#include <ctime>

#include "core/limits.hpp"

namespace pay::core {

namespace {

// Most specific rows first; the last row matches everything.
constexpr std::array table{
    // Visa's rules for merchant-initiated transactions (incremental,
    // resubmission, delayed charges): the authorisation is valid 5 days,
    // whatever the PSP's own window.
    authorization_validity_rule{"", "visa", true, 5 * seconds_per_day, 0,
                                "Visa: merchant-initiated authorisations are valid 5 days"},
    // Stripe cancels an uncaptured PaymentIntent after 7 days (online card
    // payments) with cancellation_reason "automatic".
    authorization_validity_rule{"stripe", "", false, 7 * seconds_per_day, 0,
                                "Stripe: uncaptured card payments are canceled after 7 days"},
    // Adyen keeps an authorisation 28 days by default (its account
    // setting), then sends EXPIRE.
    authorization_validity_rule{"adyen", "", false, 28 * seconds_per_day, 0,
                                "Adyen: authorisations expire after 28 days by default"},
    // PayPal: an authorisation is valid 29 days; the funds are honored for
    // the first 3.
    authorization_validity_rule{"paypal", "", false, 29 * seconds_per_day, 3 * seconds_per_day,
                                "PayPal: valid 29 days, honored for the first 3"},
    // Anything else: the shortest common card window, so the engine never
    // believes in a hold longer than the networks keep it.
    authorization_validity_rule{"", "", false, 7 * seconds_per_day, 0,
                                "default: 7 days, the shortest common card window"},
};

bool matches(const authorization_validity_rule& r, const authorization_facts& f) {
  return (r.psp_kind.empty() || r.psp_kind == f.psp_kind) &&
         (r.card_network.empty() || r.card_network == f.card_network) &&
         (!r.merchant_initiated || f.merchant_initiated);
}

}  // namespace

std::span<const authorization_validity_rule> authorization_validity_table() {
  return table;
}

const authorization_validity_rule& authorization_validity(const authorization_facts& facts) {
  for (const auto& r : table)
    if (matches(r, facts)) return r;
  return table.back();
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
    validity_overrides overrides, std::map<std::string, std::string, std::less<>> account_kinds,
    std::int64_t warning_lead_s)
    : overrides_(std::move(overrides)),
      account_kinds_(std::move(account_kinds)),
      warning_lead_s_(warning_lead_s) {}

std::string_view authorization_expiry_policy::kind_of(std::string_view account) const {
  auto it = account_kinds_.find(account);
  return it == account_kinds_.end() ? std::string_view{} : std::string_view{it->second};
}

std::int64_t authorization_expiry_policy::expires_at(
    std::string_view account, authorization_facts facts, std::int64_t authorized_at_s,
    std::optional<std::int64_t> psp_deadline_s) const {
  if (facts.psp_kind.empty()) facts.psp_kind = kind_of(account);
  if (auto it = overrides_.find(account); it != overrides_.end()) {
    auto own = authorized_at_s + it->second;
    return psp_deadline_s ? std::min(own, *psp_deadline_s) : own;
  }
  // Visa's merchant-initiated rule is the network's, whatever the PSP says.
  const auto& rule = authorization_validity(facts);
  auto by_table = authorized_at_s + rule.validity_s;
  if (psp_deadline_s)
    return rule.merchant_initiated ? std::min(by_table, *psp_deadline_s) : *psp_deadline_s;
  return by_table;
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
