#include "psp/stripe/stripe_mapping.hpp"

namespace pay::psp {

std::optional<core::intent_status> stripe_intent_status(std::string_view s) {
  using core::intent_status;
  if (s == "requires_payment_method" || s == "requires_confirmation") return intent_status::created;
  if (s == "requires_action") return intent_status::requires_action;
  if (s == "processing") return intent_status::processing;
  if (s == "requires_capture") return intent_status::authorized;
  if (s == "succeeded") return intent_status::captured;
  if (s == "canceled") return intent_status::canceled;
  return std::nullopt;
}

std::optional<core::intent_status> stripe_intent_status(std::string_view s,
                                                        std::string_view cancellation_reason) {
  auto status = stripe_intent_status(s);
  if (status == core::intent_status::canceled && cancellation_reason == "automatic")
    return core::intent_status::expired;
  return status;
}

std::optional<core::refund_status> stripe_refund_status(std::string_view s) {
  using core::refund_status;
  // requires_action: the refund waits on the customer (some payment
  // methods); no money has moved back yet.
  if (s == "pending" || s == "requires_action") return refund_status::pending;
  if (s == "succeeded") return refund_status::succeeded;
  if (s == "failed") return refund_status::failed;
  if (s == "canceled") return refund_status::canceled;
  return std::nullopt;
}

core::balance_tx_type stripe_balance_tx_type(std::string_view t) {
  using core::balance_tx_type;
  if (t == "charge") return balance_tx_type::charge;
  // A refund_failure gives a failed refund's money back: the same refund's
  // second movement, positive (source: the refund).
  if (t == "refund" || t == "refund_failure") return balance_tx_type::refund;
  if (t == "payout") return balance_tx_type::payout;
  if (t == "payout_failure") return balance_tx_type::payout_failure;
  return balance_tx_type::other;
}

core::balance_tx_type stripe_balance_tx_type(std::string_view t, std::string_view category) {
  if (t == "adjustment" && (category == "dispute" || category == "dispute_reversal"))
    return core::balance_tx_type::dispute;
  return stripe_balance_tx_type(t);
}

std::optional<core::dispute_status> stripe_dispute_status(std::string_view s) {
  using core::dispute_status;
  if (s == "warning_needs_response") return dispute_status::warning_needs_response;
  if (s == "needs_response") return dispute_status::needs_response;
  if (s == "under_review" || s == "warning_under_review") return dispute_status::under_review;
  if (s == "won" || s == "warning_closed") return dispute_status::won;
  if (s == "lost" || s == "charge_refunded") return dispute_status::lost;
  return std::nullopt;
}

std::optional<core::payout_status> stripe_payout_status(std::string_view s) {
  using core::payout_status;
  if (s == "pending") return payout_status::pending;
  if (s == "in_transit") return payout_status::in_transit;
  if (s == "paid") return payout_status::paid;
  if (s == "failed") return payout_status::failed;
  if (s == "canceled") return payout_status::canceled;
  return std::nullopt;
}

core::psp_event_kind stripe_event_kind(std::string_view type, std::string_view object_type) {
  using core::psp_event_kind;
  if (object_type == "payment_intent") return psp_event_kind::intent_changed;
  if (object_type == "refund") return psp_event_kind::refund_changed;
  if (object_type == "dispute" && type.starts_with("charge.dispute."))
    return psp_event_kind::dispute_changed;
  if (type == "payout.paid") return psp_event_kind::payout_paid;
  if (type == "payout.failed") return psp_event_kind::payout_failed;
  return psp_event_kind::other;
}

}  // namespace pay::psp
