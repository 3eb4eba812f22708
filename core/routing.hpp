#pragma once

/// Routing rules: which PSPs a new payment may go to, in which order.
///
/// A merchant's rules are tried in order; the first whose conditions all
/// match a payment gives its PSP list, else the default list applies (empty:
/// the merchant's default PSP alone). A weighted list is put in a
/// deterministic order drawn from the intent id, so every retry of a create
/// (same Idempotency-Key, same intent id) gets the same order. Pure: no I/O.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/psp.hpp"

namespace pay::core {

/// One PSP of a list, with its share of first choices among the list.
struct routing_target {
  std::string psp;
  std::int64_t weight = 1;  ///< 1 to limits::routing_weight_max

  bool operator==(const routing_target&) const = default;
};

/// A rule: conditions (absent: any) and the PSP list of the payments that
/// match them all.
struct routing_rule {
  std::optional<std::string> currency;             ///< lowercase ISO 4217
  std::optional<std::int64_t> amount_min;          ///< inclusive, minor units
  std::optional<std::int64_t> amount_max;          ///< inclusive, minor units
  std::optional<std::string> payment_method_type;  ///< e.g. "card"
  std::vector<routing_target> psps;

  bool operator==(const routing_rule&) const = default;
};

/// A merchant's rules; the first matching rule wins.
struct routing_rules {
  std::vector<routing_rule> rules;
  /// The list when no rule matches; empty: the merchant's default PSP.
  std::vector<routing_target> default_psps;

  bool operator==(const routing_rules&) const = default;
};

/// What routing looks at in a new payment.
struct routing_payment {
  std::int64_t amount = 0;
  std::string currency;
  std::string payment_method_type = "card";
};

/// The account name a PSP name (or alias) stands for; nullopt: none is
/// configured.
using psp_name_resolver = std::function<std::optional<std::string>(std::string_view)>;

/// Checks `rules` against the limits and the configured PSPs, and replaces
/// every alias by its account's name. The error names the offending field
/// (e.g. `rules[1].psps[0].psp`).
status validate_routing(routing_rules& rules, const psp_name_resolver& resolve);

/// The index of the first rule matching `p`; nullopt: none does.
std::optional<std::size_t> match_rule(const routing_rules& rules, const routing_payment& p);

/// The PSP names of `targets` in the order to try them: a weighted draw
/// without replacement, seeded by `intent_id` (so always the same order for
/// one intent). Equal weights and no seed keep the order given.
std::vector<std::string> order_targets(const std::vector<routing_target>& targets,
                                       std::string_view intent_id);

/// The routing decision for one new payment.
struct routing_choice {
  std::vector<std::string> psps;  ///< never empty
  std::string why;                ///< "rule 2", "default list", "merchant default"
};

/// The PSPs to try for `p`, in order: the first matching rule's, else the
/// default list, else `fallback_psp` (the merchant's default PSP) alone.
routing_choice choose_psps(const routing_rules& rules, const routing_payment& p,
                           std::string_view intent_id, const std::string& fallback_psp);

/// Why a create goes on to the next PSP of its list.
enum class failover_reason : std::uint8_t {
  none,          ///< not a reason to fail over: an answer, or an outcome unknown
  breaker_open,  ///< the engine's breaker refused the call: nothing sent
  busy,          ///< the gateway's in-flight cap refused the call: nothing sent
  unreachable,   ///< no connection, or it broke before an answer
  timeout,       ///< no answer within the PSP call timeout
  server_error,  ///< the PSP answered 5xx
};

/// "breaker open", "busy", "unreachable", "timeout", "server error", "none".
std::string_view to_string(failover_reason r);

/// The reason a failed create may fail over, from the gateway's failure.
/// Declines and rejections are answers (no failover); so is a PSP still
/// running an earlier attempt under the key (409) or rate limiting us (429),
/// whose outcome is unknown and must be learned at that PSP.
failover_reason failover_reason_of(const psp_failure& f);

/// Whether a create that failed so may still have made an intent at the PSP
/// (sent, answer lost): such an intent is an orphan to find and cancel.
bool may_have_created(failover_reason r);

/// "stripe:1,adyen:3": the text form of a list, as stored.
std::string targets_text(const std::vector<routing_target>& targets);

/// The list back from its text form.
result<std::vector<routing_target>> parse_targets_text(std::string_view text);

/// The PSP idempotency key of a create's attempt: the request's own for the
/// first, a suffixed one for each later attempt, so no two PSPs (or modes of
/// one sandbox) ever see one key with different requests.
std::string attempt_psp_key(const std::string& psp_key, std::int32_t attempt);

}  // namespace pay::core
