#pragma once

/// How long an authorisation holds the shopper's funds before it lapses, and
/// the deadline arithmetic built on it.
///
/// Pure: no clock is read here; callers pass the times. Three sources, most
/// binding first: the card networks' rules (a table here, the same at every
/// PSP), each PSP's own window (declared by its provider in psp/<name>/, as
/// `psp_provider::authorization_window`), and a default for a PSP that
/// declares none. An operator may override the validity per PSP account
/// (paymentsd's `--auth-validity ACCOUNT=SECONDS,...`).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pay::core {

inline constexpr std::int64_t seconds_per_day = 86'400;

/// A PSP's own authorisation window: how long it keeps an uncaptured
/// authorisation before it lapses (the PSP cancels or expires it).
struct authorization_window {
  std::int64_t validity_s = 0;  ///< from authorisation to lapse
  /// How long the funds are guaranteed within the validity (0: the whole
  /// validity; some PSPs honor the funds for a shorter period). Informational:
  /// capture within it.
  std::int64_t honor_s = 0;
  std::string why;  ///< the window's source, for docs and audit text
};

/// One card-network rule: binds at every PSP. An empty `card_network`
/// matches any; `merchant_initiated` rules match only such authorisations.
struct authorization_validity_rule {
  std::string_view card_network;  ///< lowercase network ("visa", "mastercard"); "" any
  bool merchant_initiated = false;
  std::int64_t validity_s = 0;  ///< from authorisation to lapse
  std::string_view why;         ///< the rule's source, for docs and audit text
};

/// The card networks' rules, most specific first.
std::span<const authorization_validity_rule> network_validity_rules();

/// The window of a PSP that declares none: the shortest common card window,
/// so the engine never believes in a hold longer than the networks keep it.
const authorization_window& default_authorization_window();

/// What an authorisation is, as far as its validity depends on it.
struct authorization_facts {
  /// The PSP's own window; nullptr: the PSP declares none (the default).
  const authorization_window* psp_window = nullptr;
  std::string_view card_network;  ///< "" when the PSP did not say
  bool merchant_initiated = false;
};

/// An authorisation's validity and where it comes from.
struct authorization_validity_decision {
  std::int64_t validity_s = 0;
  std::int64_t honor_s = 0;
  std::string_view why;
  bool network_rule = false;  ///< a card network's rule, binding at any PSP
};

/// The first network rule matching `facts`, else the PSP's window, else the
/// default window. Never fails.
authorization_validity_decision authorization_validity(const authorization_facts& facts);

/// Validity overrides per PSP account name, in seconds.
using validity_overrides = std::map<std::string, std::int64_t, std::less<>>;

/// Parses "ACCOUNT=SECONDS[,ACCOUNT=SECONDS...]" (empty: none). Seconds
/// must be 1..authorization_validity_max_s; an account may appear once.
result<validity_overrides> parse_validity_overrides(std::string_view text);

/// The engine's policy: the table, the operator's overrides and the
/// warning lead time. Immutable once paymentsd built it.
class authorization_expiry_policy {
 public:
  authorization_expiry_policy() = default;
  /// `account_windows`: each PSP account's own window, as its provider
  /// declares it (accounts whose PSP declares none are left out).
  authorization_expiry_policy(
      validity_overrides overrides,
      std::map<std::string, authorization_window, std::less<>> account_windows,
      std::int64_t warning_lead_s);

  /// The window PSP account `account` declared; nullptr when none.
  const authorization_window* window_of(std::string_view account) const;

  /// The deadline of an authorisation made at `authorized_at_s` on PSP
  /// account `account` (`facts.psp_window` is filled in from the account's
  /// window when null):
  /// - with an override for the account: that validity, or the PSP's own
  ///   deadline (`psp_deadline_s`, e.g. Stripe's capture_before) when that
  ///   is earlier: the operator may shorten, never lengthen, the PSP's rule;
  /// - else the PSP's own deadline when it told one;
  /// - else the validity of authorization_validity.
  std::int64_t expires_at(std::string_view account, authorization_facts facts,
                          std::int64_t authorized_at_s,
                          std::optional<std::int64_t> psp_deadline_s) const;

  /// When the merchant is warned of the lapse at `expires_at_s`.
  std::int64_t warn_at(std::int64_t expires_at_s) const { return expires_at_s - warning_lead_s_; }
  std::int64_t warning_lead_s() const { return warning_lead_s_; }
  const validity_overrides& overrides() const { return overrides_; }

 private:
  validity_overrides overrides_;
  std::map<std::string, authorization_window, std::less<>> account_windows_;
  std::int64_t warning_lead_s_ = 0;
};

/// True once `now_s` reached the deadline: the authorisation can no longer
/// be captured.
constexpr bool authorization_expired(std::int64_t expires_at_s, std::int64_t now_s) {
  return now_s >= expires_at_s;
}

/// "2026-12-06T18:05:11Z".
std::string iso8601_utc(std::int64_t unix_s);

/// The refusal of a capture or cancel (`action`: "captured", "canceled")
/// of an authorisation that lapsed at `expires_at_s`: 400 invalid_state,
/// "The authorization expired at <time>; it can no longer be captured."
error authorization_expired_error(std::int64_t expires_at_s, std::string_view action);

}  // namespace pay::core
