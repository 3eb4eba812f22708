#pragma once

/// What became of one webhook inbox event, and of one authorisation-expiry
/// request, as engine enums. The inbox outcome's text is what the
/// webhook_inbox.outcome column stores (the texts predate the enum, so they
/// stay exactly as they were: no migration).

#include <cstdint>
#include <optional>
#include <string_view>

namespace pay::core {

/// What processing an inbox event did. Stored as its text in
/// webhook_inbox.outcome; the settlement actor stores its own texts there
/// for payout rows (with the payout's detail), which are not of this enum.
enum class inbox_outcome : std::uint8_t {
  applied,            ///< the event changed the intent (or booked a refund)
  ignored_no_change,  ///< the intent already reflects the event
  ignored_stale,      ///< the event is behind the intent's status: never applied backwards
  recorded,           ///< an event the engine does not act on, kept for the record
  foreign,            ///< about another system's PSP intent: terminal, no retries
  dispute,            ///< a dispute's news, recorded with its postings
  routing_orphan,     ///< about a PSP object a failed-over create left: terminal
};

/// Every inbox outcome, in declaration order, for tests.
inline constexpr inbox_outcome all_inbox_outcomes[] = {
    inbox_outcome::applied,        inbox_outcome::ignored_no_change, inbox_outcome::ignored_stale,
    inbox_outcome::recorded,       inbox_outcome::foreign,           inbox_outcome::dispute,
    inbox_outcome::routing_orphan,
};

/// The text webhook_inbox.outcome stores for `o`.
std::string_view to_string(inbox_outcome o);

/// The outcome whose stored text is `text`; nullopt for any other text.
std::optional<inbox_outcome> parse_inbox_outcome(std::string_view text);

/// What an authorisation-expiry request did to an intent.
enum class expiry_result : std::uint8_t {
  expired,         ///< authorized -> expired, the hold released (and cancelled at the PSP)
  not_due,         ///< the authorisation has not lapsed yet
  not_authorized,  ///< the intent is no longer authorized: nothing to expire
  superseded,      ///< the PSP's read showed a later state, recorded instead of an expiry
};

/// Every expiry result, in declaration order, for tests.
inline constexpr expiry_result all_expiry_results[] = {
    expiry_result::expired,
    expiry_result::not_due,
    expiry_result::not_authorized,
    expiry_result::superseded,
};

/// The snake_case name of `r` (for logs).
std::string_view to_string(expiry_result r);

/// The result named `text`; nullopt for any other text.
std::optional<expiry_result> parse_expiry_result(std::string_view text);

}  // namespace pay::core
