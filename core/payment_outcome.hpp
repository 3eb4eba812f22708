#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/payment_intent.hpp"

/// Which payment outcome a committed change of an intent records, for the
/// payments_payment_outcomes_total metric: a pure reading of the audit rows
/// and the PSP's payment error, so it is tested without a server.
namespace pay::core {

/// The outcome an audit row's transition records: "authorized", "captured",
/// "canceled", "expired", "refunded" (each refund, partial or full); empty
/// for a transition that is no outcome (requires_action, processing, a
/// return to created) and for rows without a transition (an ignored event,
/// a refund's status change).
std::string_view payment_outcome_of(const audit_event& a);

/// "declined" or "failed" when `after` carries a PSP payment error that
/// `before` (null for a new intent) did not: a card error with a decline
/// (code card_declined or a decline_code) is a decline, any other error
/// (3-D Secure failed, processing error) a failure; empty otherwise. A
/// decline need not be a transition: an intent declined while still created
/// stays created, with the error. `last_counted` is the error last counted
/// for this intent: news that clears the error and brings the same one back
/// (events out of order) is no new failure.
std::string_view failure_outcome_of(const payment_intent* before, const payment_intent& after,
                                    std::string_view last_counted = {});

}  // namespace pay::core
