#pragma once

#include <optional>
#include <string_view>

#include "core/payment_intent.hpp"
#include "core/psp.hpp"

/// Stripe's words in the engine's terms: the one place that knows what
/// Stripe's statuses, balance transaction types and event types mean.
namespace pay::psp {

/// PaymentIntent status: requires_payment_method and requires_confirmation
/// -> created, requires_action -> requires_action, processing -> processing,
/// requires_capture -> authorized, succeeded -> captured, canceled ->
/// canceled; anything else nullopt.
std::optional<core::intent_status> stripe_intent_status(std::string_view status);

/// The same, with the intent's cancellation_reason: Stripe cancels an
/// uncaptured intent itself when its authorisation lapses (7 days), with
/// reason "automatic"; that is an expiry -> expired.
std::optional<core::intent_status> stripe_intent_status(std::string_view status,
                                                        std::string_view cancellation_reason);

/// Refund status: pending and requires_action -> pending, succeeded,
/// failed, canceled; anything else (or null) nullopt, "not known yet".
std::optional<core::refund_status> stripe_refund_status(std::string_view status);

/// BalanceTransaction type: charge, refund, payout; everything else other.
core::balance_tx_type stripe_balance_tx_type(std::string_view type);

/// A balance transaction's type with its reporting category: an
/// `adjustment` of category `dispute` or `dispute_reversal` is a dispute's
/// money (core::balance_tx_type::dispute); anything else as above.
core::balance_tx_type stripe_balance_tx_type(std::string_view type,
                                             std::string_view reporting_category);

/// Stripe's dispute status in the engine's terms: the warning_ (inquiry)
/// statuses fold into the plain ones, warning_closed is won (the inquiry
/// ended without a chargeback), charge_refunded is lost (the merchant gave
/// the money back); nothing for a name Stripe does not document.
std::optional<core::dispute_status> stripe_dispute_status(std::string_view status);

/// Payout status: pending, in_transit, paid, failed, canceled; else nullopt.
std::optional<core::payout_status> stripe_payout_status(std::string_view status);

/// What an event is about: a payment_intent object -> intent_changed, a
/// refund object -> refund_changed, payout.paid -> payout_paid,
/// payout.failed -> payout_failed, anything else other.
core::psp_event_kind stripe_event_kind(std::string_view type, std::string_view object_type);

}  // namespace pay::psp
