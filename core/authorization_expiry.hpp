#pragma once

/// How long an authorisation holds the shopper's funds before it lapses, per
/// PSP kind and card network, and the deadline arithmetic built on it.
///
/// Pure: no clock is read here; callers pass the times. The table is data
/// (`authorization_validity_table`), the most specific row wins, and an
/// operator may override the validity per PSP account (paymentsd's
/// `--auth-validity ACCOUNT=SECONDS,...`).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pay::core {

inline constexpr std::int64_t seconds_per_day = 86'400;

/// One row of the validity table. An empty `psp_kind` or `card_network`
/// matches any; `merchant_initiated` rows match only such authorisations.
struct authorization_validity_rule {
  std::string_view psp_kind;      ///< a provider's kind: "stripe", "adyen", "paypal"; "" any
  std::string_view card_network;  ///< lowercase network ("visa", "mastercard"); "" any
  bool merchant_initiated = false;
  std::int64_t validity_s = 0;  ///< from authorisation to lapse
  /// PayPal's honor period: how long the funds are guaranteed within the
  /// validity (0: the whole validity). Informational: capture within it.
  std::int64_t honor_s = 0;
  std::string_view why;  ///< the rule's source, for docs and audit text
};

/// The table, most specific rows first (see authorization_validity).
std::span<const authorization_validity_rule> authorization_validity_table();

/// What an authorisation is, as far as its validity depends on it.
struct authorization_facts {
  std::string_view psp_kind;
  std::string_view card_network;  ///< "" when the PSP did not say
  bool merchant_initiated = false;
};

/// The table's row for `facts`: the first row whose kind, network and
/// initiator all match (empty fields match anything). Never fails: the
/// table ends with a catch-all row.
const authorization_validity_rule& authorization_validity(const authorization_facts& facts);

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
  /// `account_kinds`: each PSP account's provider kind ("stripe", ...).
  authorization_expiry_policy(validity_overrides overrides,
                              std::map<std::string, std::string, std::less<>> account_kinds,
                              std::int64_t warning_lead_s);

  /// The provider kind of PSP account `account` ("" when unknown).
  std::string_view kind_of(std::string_view account) const;

  /// The deadline of an authorisation made at `authorized_at_s` on PSP
  /// account `account` (`facts.psp_kind` is filled in from the account's
  /// kind when empty):
  /// - with an override for the account: that validity, or the PSP's own
  ///   deadline (`psp_deadline_s`, e.g. Stripe's capture_before) when that
  ///   is earlier: the operator may shorten, never lengthen, the PSP's rule;
  /// - else the PSP's own deadline when it told one;
  /// - else the table's validity.
  std::int64_t expires_at(std::string_view account, authorization_facts facts,
                          std::int64_t authorized_at_s,
                          std::optional<std::int64_t> psp_deadline_s) const;

  /// When the merchant is warned of the lapse at `expires_at_s`.
  std::int64_t warn_at(std::int64_t expires_at_s) const { return expires_at_s - warning_lead_s_; }
  std::int64_t warning_lead_s() const { return warning_lead_s_; }
  const validity_overrides& overrides() const { return overrides_; }

 private:
  validity_overrides overrides_;
  std::map<std::string, std::string, std::less<>> account_kinds_;
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
