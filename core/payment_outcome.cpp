#include "core/payment_outcome.hpp"

namespace pay::core {

std::string_view payment_outcome_of(const audit_event& a) {
  if (!a.to) return {};
  // A self-loop is an outcome only as a further partial refund.
  if (a.from && *a.from == *a.to && a.action != to_string(intent_event::refund_partial)) return {};
  switch (*a.to) {
    case intent_status::authorized:
      // Back from a refused capture or cancellation: not a new authorisation.
      if (a.from &&
          (*a.from == intent_status::capture_pending || *a.from == intent_status::cancel_pending))
        return {};
      return "authorized";
    case intent_status::captured:
      return "captured";
    case intent_status::canceled:
      return "canceled";
    case intent_status::expired:
      return "expired";
    case intent_status::partially_refunded:
    case intent_status::refunded:
      return "refunded";
    case intent_status::created:
    case intent_status::requires_action:
    case intent_status::processing:
    case intent_status::capture_pending:
    case intent_status::cancel_pending:
      return {};
  }
  return {};
}

std::string_view failure_outcome_of(const payment_intent* before, const payment_intent& after,
                                    std::string_view last_counted) {
  const auto& e = after.last_payment_error_json;
  if (!e || *e == last_counted || (before != nullptr && before->last_payment_error_json == e))
    return {};
  bool declined =
      e->find("card_declined") != std::string::npos || e->find("decline_code") != std::string::npos;
  return declined ? "declined" : "failed";
}

}  // namespace pay::core
