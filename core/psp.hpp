#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/intent_fsm.hpp"
#include "core/payment_intent.hpp"

/// The engine's view of a Payment Service Provider: what it asks of one and
/// what it gets back, independent of any PSP's wire format. Connectors (the
/// Stripe one in net/) implement psp_connector; the PSP gateway actor calls
/// it with a deadline and an idempotency key on every mutating call.
namespace pay::core {

/// How a PSP call failed, which decides what the engine does next.
enum class psp_failure_kind : std::uint8_t {
  declined,   ///< a card error (Stripe 402 card_error): a final answer about the payment
  rejected,   ///< any other 4xx: a final answer, the request was wrong
  retryable,  ///< 429, 5xx, timeout, connection or TLS failure: try again later
};

/// "declined", "rejected", "retryable".
std::string_view to_string(psp_failure_kind k);

/// A failed PSP call.
struct psp_failure {
  psp_failure_kind kind = psp_failure_kind::retryable;
  int http_status = 0;       ///< 0 when no answer arrived
  std::string type;          ///< PSP's error type, e.g. "card_error"
  std::string code;          ///< PSP's error code, e.g. "card_declined"
  std::string decline_code;  ///< e.g. "insufficient_funds"
  std::string message;       ///< PSP's message, safe to show the merchant
  std::string param;
  /// When the engine refused the call itself (breaker open), how long until
  /// it will try the PSP again; 0 otherwise.
  std::int64_t retry_after_ms = 0;
};

/// A PSP's payment intent, as far as the engine needs it.
struct psp_intent {
  std::string id;      ///< the PSP's id (Stripe: pi_...)
  std::string status;  ///< the PSP's own status string
  std::int64_t amount = 0;
  std::string currency;
  std::int64_t amount_capturable = 0;
  std::int64_t amount_received = 0;
  std::string capture_method;  ///< "automatic" / "manual"
  std::optional<std::string> client_secret;
  std::optional<std::string> latest_charge;
  std::optional<std::string> last_payment_error_json;  ///< the PSP's object, as JSON
};

/// A PSP's refund.
struct psp_refund {
  std::string id;
  std::string status;  ///< "succeeded", "pending", "failed", "canceled"
  std::int64_t amount = 0;
  std::string currency;
  std::string payment_intent;  ///< the PSP's intent id
};

/// A PSP event (webhook), as far as the engine needs it.
struct psp_event {
  std::string id;                    ///< the PSP's event id (Stripe: evt_...)
  std::string type;                  ///< e.g. "payment_intent.succeeded"
  std::int64_t created = 0;          ///< unix seconds, the PSP's clock
  std::string object_type;           ///< data.object.object, e.g. "payment_intent"
  std::string object_id;             ///< data.object.id
  std::optional<psp_intent> intent;  ///< when the object is a payment intent
  std::optional<psp_refund> refund;  ///< when the object is a refund
};

/// Turns a raw event body into a psp_event; nullopt when it is not one.
using psp_event_parser = std::function<std::optional<psp_event>(std::string_view body)>;

/// Either the PSP's object or the failure.
template <class T>
using psp_outcome = std::variant<T, psp_failure>;

/// What creating an intent at the PSP needs.
struct psp_create_intent {
  std::int64_t amount = 0;
  std::string currency;
  capture_method capture = capture_method::automatic;
  std::optional<std::string> description;
  std::string metadata_json = "{}";  ///< a flat JSON object of strings
  std::string engine_intent_id;      ///< sent as metadata so the PSP side can be traced back
  std::string request_id = {};       ///< the engine's request id, sent as X-Request-Id
};

/// A PSP balance transaction (Stripe: txn_...): one movement of the PSP
/// account's balance, as far as settlement and reconciliation need it.
struct psp_balance_transaction {
  std::string id;
  std::string type;         ///< "charge", "refund", ...
  std::int64_t amount = 0;  ///< signed minor units: a refund is negative
  std::int64_t fee = 0;
  std::int64_t net = 0;  ///< amount - fee
  std::string currency;  ///< lowercase
  std::string source;    ///< the charge (ch_...) or refund (re_...) it moves
  /// The PSP's payment intent of the source, when the connector could learn
  /// it (Stripe: the expanded source's `payment_intent`).
  std::optional<std::string> payment_intent;
  std::optional<std::string> payout;  ///< the payout that paid it out, if any
  std::string status;                 ///< "pending", "available"
  std::int64_t created = 0;           ///< unix seconds, the PSP's clock
};

/// A PSP payout (Stripe: po_...).
struct psp_payout {
  std::string id;
  std::int64_t amount = 0;
  std::string currency;
  std::string status;  ///< "paid", "pending", "in_transit", "canceled", "failed"
  std::int64_t created = 0;
  std::int64_t arrival_date = 0;
};

/// One page of a PSP list.
template <class T>
struct psp_page {
  std::vector<T> data;
  bool has_more = false;
};

/// Filters of a list call (Stripe's list parameters); empty ones are not sent.
struct psp_list_query {
  std::optional<std::string> payout;          ///< balance transactions of one payout
  std::optional<std::int64_t> created_gte;    ///< unix seconds
  std::optional<std::int64_t> created_lt;     ///< unix seconds
  std::optional<std::string> starting_after;  ///< the last id of the previous page
  std::size_t limit = 100;
};

/// One PSP account's API. Calls are asynchronous: `done` runs exactly once,
/// on a connector thread, and must not block. Every mutating call carries an
/// idempotency key the PSP honours, so a retry never acts twice.
class psp_connector {
 public:
  virtual ~psp_connector() = default;

  using intent_done = std::function<void(psp_outcome<psp_intent>)>;
  using refund_done = std::function<void(psp_outcome<psp_refund>)>;

  virtual void create_intent(const psp_create_intent& req, const std::string& idempotency_key,
                             std::int64_t timeout_ms, intent_done done) = 0;
  virtual void retrieve_intent(const std::string& psp_intent_id, std::int64_t timeout_ms,
                               intent_done done) = 0;
  /// Captures `amount_to_capture` (all that is capturable when nullopt).
  virtual void capture_intent(const std::string& psp_intent_id,
                              std::optional<std::int64_t> amount_to_capture,
                              const std::string& idempotency_key, std::int64_t timeout_ms,
                              intent_done done) = 0;
  virtual void cancel_intent(const std::string& psp_intent_id, const std::string& idempotency_key,
                             std::int64_t timeout_ms, intent_done done) = 0;
  /// Refunds `amount` (all that remains when nullopt) of the intent's charge.
  virtual void create_refund(const std::string& psp_intent_id, std::optional<std::int64_t> amount,
                             const std::optional<std::string>& reason,
                             const std::string& idempotency_key, std::int64_t timeout_ms,
                             refund_done done) = 0;
  virtual void retrieve_refund(const std::string& psp_refund_id, std::int64_t timeout_ms,
                               refund_done done) = 0;

  using balance_page_done = std::function<void(psp_outcome<psp_page<psp_balance_transaction>>)>;
  using payout_page_done = std::function<void(psp_outcome<psp_page<psp_payout>>)>;
  using payout_done = std::function<void(psp_outcome<psp_payout>)>;

  /// One page of balance transactions (newest first), each with the PSP
  /// intent of its source where the PSP tells it. Settlement and
  /// reconciliation need it; a connector without it answers `rejected`.
  virtual void list_balance_transactions(const psp_list_query& query, std::int64_t timeout_ms,
                                         balance_page_done done);
  /// One page of payouts (newest first).
  virtual void list_payouts(const psp_list_query& query, std::int64_t timeout_ms,
                            payout_page_done done);
  /// One payout by id.
  virtual void retrieve_payout(const std::string& psp_payout_id, std::int64_t timeout_ms,
                               payout_done done);
};

/// Maps a Stripe-style PSP status to the engine's state:
/// requires_payment_method/requires_confirmation -> created,
/// requires_action -> requires_action, processing -> processing,
/// requires_capture -> authorized, succeeded -> captured, canceled -> canceled.
std::optional<intent_status> engine_status_of(std::string_view psp_status);

}  // namespace pay::core
