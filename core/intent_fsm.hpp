#pragma once

/// The payment intent state machine, as data.
///
/// `transition_table()` is the one definition of which event moves an intent
/// from which status to which: the intent actor applies it, the API refuses
/// what it does not list, and the docs embed its Markdown rendering.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pay::core {

/// Where a payment intent is in its life.
enum class intent_status : std::uint8_t {
  /// Created and payable; also where a declined attempt returns to.
  created,
  /// The PSP waits for the shopper (3-D Secure).
  requires_action,
  /// The PSP is working on the payment.
  processing,
  /// Funds are held on the card; capture, cancel or expiry comes next.
  authorized,
  /// The PSP accepted a capture and confirms it later (an asynchronous PSP):
  /// nothing is booked until it does.
  capture_pending,
  /// The PSP accepted a cancellation and confirms it later.
  cancel_pending,
  /// Funds are captured; refunds may follow.
  captured,
  /// Part of the captured amount is refunded.
  partially_refunded,
  /// The whole captured amount is refunded. Final for the merchant; only a
  /// refund that fails at the PSP after it was booked leaves it.
  refunded,
  /// Canceled before capture; any hold is released. Terminal.
  canceled,
  /// The authorisation lapsed uncaptured. Terminal.
  expired,
};

/// What can happen to a payment intent: PSP events and merchant commands.
enum class intent_event : std::uint8_t {
  /// The PSP needs the shopper to act (3-D Secure).
  action_required,
  /// The PSP started processing the payment.
  processing_started,
  /// The PSP authorised the payment.
  authorized,
  /// The PSP declined or the shopper failed authentication.
  payment_failed,
  /// The merchant captures (full or partial) an authorised payment.
  capture,
  /// The merchant cancels (voids) the intent.
  cancel,
  /// The PSP accepted a capture it confirms later (an asynchronous PSP).
  capture_requested,
  /// The PSP refused a capture it had accepted: the hold stands.
  capture_failed,
  /// The PSP accepted a cancellation it confirms later.
  cancel_requested,
  /// The PSP refused a cancellation it had accepted: the hold stands.
  cancel_failed,
  /// The authorisation hold lapsed.
  expire,
  /// A refund leaves part of the captured amount unrefunded.
  refund_partial,
  /// A refund brings the refunded total to the captured amount.
  refund_full,
  /// A booked refund failed at the PSP and no other refund remains: the
  /// money is the merchant's again.
  refund_failed,
  /// A booked refund failed at the PSP while other refunds remain.
  refund_failed_partial,
  /// A capture the PSP had confirmed failed afterwards (the scheme refused
  /// it): its booking is reversed and the authorisation stands.
  capture_reversed,
};

/// Every status, in declaration order.
inline constexpr std::array all_intent_statuses{
    intent_status::created,         intent_status::requires_action,
    intent_status::processing,      intent_status::authorized,
    intent_status::capture_pending, intent_status::cancel_pending,
    intent_status::captured,        intent_status::partially_refunded,
    intent_status::refunded,        intent_status::canceled,
    intent_status::expired,
};

/// Every event, in declaration order.
inline constexpr std::array all_intent_events{
    intent_event::action_required,
    intent_event::processing_started,
    intent_event::authorized,
    intent_event::payment_failed,
    intent_event::capture,
    intent_event::cancel,
    intent_event::capture_requested,
    intent_event::capture_failed,
    intent_event::cancel_requested,
    intent_event::cancel_failed,
    intent_event::expire,
    intent_event::refund_partial,
    intent_event::refund_full,
    intent_event::refund_failed,
    intent_event::refund_failed_partial,
    intent_event::capture_reversed,
};

/// True for the events that undo an accepted request (capture_failed,
/// cancel_failed, capture_reversed): only a PSP's explicit refusal applies
/// them, never a walk towards an older status.
bool is_refusal(intent_event event);

/// True for the events that undo a booked refund (refund_failed,
/// refund_failed_partial): only the refund's own failure applies them, never
/// a walk towards the status of a payment's news.
bool is_refund_reversal(intent_event event);

/// One allowed transition: in status `from`, event `on` moves to `to`.
struct transition_rule {
  /// The status the rule applies in.
  intent_status from;
  /// The event the rule answers.
  intent_event on;
  /// The status after the transition.
  intent_status to;
  /// Why this transition exists, for docs and the audit log.
  std::string_view cause;
};

/// Every allowed transition, grouped by `from`; anything not listed is refused.
///
/// Each (from, on) pair appears at most once and no rule leaves a terminal
/// status; both are checked at compile time.
std::span<const transition_rule> transition_table();

/// The status after `on` in status `from`, or nothing if the table does not
/// allow it.
std::optional<intent_status> transition(intent_status from, intent_event on);

/// The rule for `on` in status `from`, or nothing if there is none.
std::optional<transition_rule> find_transition(intent_status from, intent_event on);

/// The shortest walk of rules from `from` to `to` (no self-loops), so a PSP
/// status several steps ahead is reached through every state in between
/// (an automatic capture records authorized, then captured). Empty when
/// `from == to`; nothing when `to` cannot be reached, which means the news
/// is stale and must not be applied backwards.
std::optional<std::vector<transition_rule>> find_path(intent_status from, intent_status to);

/// True for statuses no event leaves: canceled, expired, refunded.
bool is_terminal(intent_status status);

/// The name of `status`, identical to the enumerator's name.
std::string_view to_string(intent_status status);

/// The status named `name` (exact, lowercase), or nothing.
std::optional<intent_status> parse_intent_status(std::string_view name);

/// The name of `event`, identical to the enumerator's name.
std::string_view to_string(intent_event event);

/// The event named `name` (exact, lowercase), or nothing.
std::optional<intent_event> parse_intent_event(std::string_view name);

/// The table as Markdown: a `| from | event | to | cause |` header, the
/// separator row, then one row per rule in table order, each line ending in
/// "\n". The docs embed this exact text.
std::string render_transition_table_markdown();

}  // namespace pay::core
