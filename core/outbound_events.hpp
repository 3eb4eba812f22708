#pragma once

/// The events the engine sends to merchants (outbound webhooks): which
/// changes make which events, and the event's JSON body.
///
/// Decided from the transitions one intent write records (its audit rows)
/// and the refund it writes, so the outbox row is written in the same
/// transaction as the change (storage::write_intent) and the intent actor
/// needs no code of its own for it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/payment_intent.hpp"

namespace pay::core {

/// Every event type a merchant can subscribe to.
enum class outbound_event_type : std::uint8_t {
  intent_authorized,
  intent_captured,
  intent_canceled,
  intent_payment_failed,
  intent_requires_action,
  intent_expired,
  refund_succeeded,
  refund_failed,
  /// The authorisation lapses soon (a warning lead time before expires_at):
  /// sent once per intent by the expiry scan, not by a transition.
  intent_authorization_expiring,
  /// A capture the PSP had accepted (capture_pending) or confirmed
  /// (captured) failed: the intent is authorized again.
  intent_capture_failed,
  /// A payout booked as paid failed at the PSP: the merchant's share of it
  /// is back on the PSP balance. Once per merchant and payout.
  payout_failed,
};

/// "payment_intent.authorized", ..., "refund.failed".
std::string_view to_string(outbound_event_type t);

/// Parses a type name; "*" is not a type (see `subscribes`).
std::optional<outbound_event_type> parse_outbound_event_type(std::string_view s);

/// Every type, in declaration order.
std::span<const outbound_event_type> all_outbound_event_types();

/// True when a list of enabled events ("*" or type names) includes `t`.
bool subscribes(std::span<const std::string> enabled_events, outbound_event_type t);

/// The version of the event format, carried in every body as api_version.
inline constexpr std::string_view outbound_api_version = "2026-12-01";

/// Prefix of event ids: "evt_...".
inline constexpr std::string_view outbound_event_id_prefix = "evt";

/// One event to append to the outbox.
struct outbound_event {
  std::string id;  ///< evt_..., the webhook-id of every delivery attempt
  outbound_event_type type = outbound_event_type::intent_authorized;
  std::string merchant_id;
  std::string object_id;            ///< the intent's or the refund's id
  std::int64_t object_version = 0;  ///< the intent's version after the change
  /// Unique per merchant: the same change never makes its event twice (a
  /// refund's status written again, a retried write).
  std::string dedupe_key;
  std::string payload_json;  ///< the body, signed and sent byte for byte on every attempt
  std::int64_t created = 0;  ///< unix seconds
};

/// The events one committed intent write makes: one per transition into
/// authorized, captured, canceled, requires_action or expired, one per
/// decline (payment_failed), and refund.succeeded/.failed when the write
/// carries a refund in that status. `after` is the intent as written, with
/// its new version; `created` stamps the events; ids are fresh.
std::vector<outbound_event> outbound_events_for(const payment_intent& after,
                                                std::span<const audit_event> transitions,
                                                const std::optional<refund>& refund,
                                                std::int64_t created);

/// The warning that `pi`'s authorisation lapses at pi.expires_at: one per
/// intent (its dedupe key is the intent's id).
outbound_event authorization_expiring_event(const payment_intent& pi, std::int64_t created);

/// The merchant's share of a failed payout, as the event's object.
struct payout_failure_share {
  std::string merchant_id;
  std::string psp_payout_id;   ///< the PSP's payout id
  std::string settlement_id;   ///< ours, stl_...
  std::int64_t net_minor = 0;  ///< what the merchant's bank no longer holds
  std::string currency;
  std::string failure_code;  ///< the PSP's, may be empty
};

/// `payout.failed` for one merchant's share; dedupe key "payout.failed:" +
/// the payout, so a payout's failure is told once per merchant.
outbound_event payout_failed_event(const payout_failure_share& share, std::int64_t created);

/// The intent as the API shows it (net/intent_codec.cpp writes the same
/// bytes; a test holds them equal).
std::string intent_api_json(const payment_intent& pi);

/// The refund as the API shows it (as net/checkout_requests.cpp refund_json).
std::string refund_api_json(const refund& r);

}  // namespace pay::core
