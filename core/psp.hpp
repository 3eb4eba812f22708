#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/dispute.hpp"
#include "core/intent_fsm.hpp"
#include "core/payment_intent.hpp"

/// The engine's view of a Payment Service Provider: what it asks of one and
/// what it gets back, independent of any PSP's wire format. Connectors (one
/// per PSP, in psp/<name>/) implement psp_connector; the PSP gateway actor calls
/// it with a deadline and an idempotency key on every mutating call.
namespace pay::core {

/// How a PSP call failed, which decides what the engine does next.
enum class psp_failure_kind : std::uint8_t {
  declined,   ///< the card or the shopper's bank said no: a final answer about the payment
  rejected,   ///< any other 4xx: a final answer, the request was wrong
  retryable,  ///< 429, 5xx, timeout, connection or TLS failure: try again later
  /// The PSP offers no such call (e.g. no read of a payment by id: it tells
  /// outcomes by its events only); the engine decides on what it recorded.
  unsupported,
};

/// "declined", "rejected", "retryable", "unsupported".
std::string_view to_string(psp_failure_kind k);

/// A failed PSP call.
struct psp_failure {
  psp_failure_kind kind = psp_failure_kind::retryable;
  int http_status = 0;       ///< 0 when no answer arrived
  std::string type;          ///< the PSP's error type, for logs and messages
  std::string code;          ///< the PSP's error code, for logs and messages
  std::string decline_code;  ///< the issuer's reason, e.g. "insufficient_funds"
  std::string message;       ///< PSP's message, safe to show the merchant
  std::string param;
  /// When the engine refused the call itself (breaker open), how long until
  /// it will try the PSP again; 0 otherwise.
  std::int64_t retry_after_ms = 0;
};

/// A PSP's payment intent, as far as the engine needs it. The connector maps
/// the PSP's status onto the engine's; an answer whose status it cannot map
/// is not a psp_intent (the connector reports it as a bad answer).
struct psp_intent {
  std::string id;  ///< the PSP's id
  /// Where the PSP's intent stands, in the engine's terms: `created` while it
  /// waits for a payment method or a confirmation, `authorized` when it can
  /// be captured, `captured` when the money was taken.
  intent_status status = intent_status::created;
  /// The PSP's own word for the status, for logs and audit text only: no
  /// decision may read it.
  std::string psp_status;
  /// The amount the news is about: the intent's amount, or for an
  /// asynchronous PSP's event the amount of that one step.
  std::int64_t amount = 0;
  std::string currency;
  /// What the PSP holds for capture and what it has captured, when its news
  /// says; nullopt when it does not (an asynchronous PSP's event is about
  /// one step), and the engine keeps what it knows.
  std::optional<std::int64_t> amount_capturable;
  std::optional<std::int64_t> amount_received;
  std::optional<capture_method> capture;  ///< when the PSP says
  std::optional<std::string> client_secret;
  std::optional<std::string> latest_charge;
  std::optional<std::string> last_payment_error_json;  ///< the PSP's object, as JSON
  /// The engine's intent id as the PSP echoes it back (a merchant
  /// reference): finds the intent for news that does not carry the PSP id
  /// the engine stored, e.g. a PSP whose payment id exists only once the
  /// shopper paid.
  std::optional<std::string> engine_reference;
  /// The engine's intent id from the PSP object's metadata, as the engine
  /// sent it at creation (Stripe: metadata.engine_intent_id). Used only to
  /// tell the engine's intents from another system's on a shared PSP
  /// account (foreign webhook events), never to find an intent.
  std::optional<std::string> engine_metadata_id = std::nullopt;
  /// The PSP refused a capture or cancellation it had accepted for later
  /// (`capture_pending`, `cancel_pending`): the intent goes back to
  /// authorized. Only this says so; `authorized` alone is older news.
  bool modification_failed = false;
  /// The shopper approved the payment and the PSP waits for the engine to
  /// confirm it (authorize or capture, by the intent's capture method) with
  /// psp_connector::confirm_intent; `status` stays `created` meanwhile
  /// (PayPal: an APPROVED order).
  bool needs_confirmation = false;
  /// The PSP's own deadline for capturing this authorisation (unix
  /// seconds), when it tells one (Stripe: the charge's
  /// payment_method_details.card.capture_before).
  std::optional<std::int64_t> capture_before = std::nullopt;
  /// The card network of the payment ("visa", "mastercard", ...), when the
  /// PSP tells it: the authorisation's validity may depend on it.
  std::optional<std::string> card_network = std::nullopt;
};

/// A PSP's refund.
struct psp_refund {
  std::string id;
  /// nullopt: the PSP has not said yet (treated as pending when booked).
  std::optional<refund_status> status;
  std::int64_t amount = 0;
  std::string currency;
  std::string payment_intent;  ///< the PSP's intent id
  /// The engine's refund id as the PSP echoes it back, when it does.
  std::optional<std::string> engine_reference;
};

/// A PSP's dispute (chargeback) as it now stands.
struct psp_dispute {
  std::string id;  ///< the PSP's dispute id (or, where it has none, the payment's reference)
  /// The PSP's payment intent of the disputed payment, when it says.
  std::optional<std::string> payment_intent;
  std::optional<std::string> charge;  ///< the PSP's charge id, when it says
  /// The engine's intent id as the PSP echoes it back (the reference the
  /// engine gave it), when it does.
  std::optional<std::string> engine_reference;
  std::int64_t amount = 0;  ///< disputed, minor units
  std::string currency;     ///< lowercase
  std::string reason;
  dispute_status status = dispute_status::needs_response;
  /// The PSP's own word for the status, for logs and audit text only.
  std::string psp_status;
  std::optional<std::int64_t> evidence_due_by;  ///< unix seconds
  /// Every movement of money the dispute caused so far (Stripe's
  /// balance_transactions: withdrawal, then reinstatement).
  std::vector<dispute_money_movement> movements;
  std::int64_t created = 0;  ///< unix seconds, the PSP's clock
};

/// What a PSP event is about, in the engine's terms. The connector's parser
/// decides; the webhook worker acts on the kind alone.
enum class psp_event_kind : std::uint8_t {
  intent_changed,  ///< carries the payment intent as it now stands (`intent`)
  refund_changed,  ///< carries the refund as it now stands (`refund`)
  payout_paid,     ///< a payout reached the bank: settlement books it (`object_id`)
  payout_failed,   ///< a payout failed: its booking is reversed (settlement actor)
  /// A settlement report is ready at the PSP (`object_id` names it, e.g. its
  /// download URL): settlement reads and books it.
  report_available,
  /// A dispute was opened, changed, moved money or closed (`dispute`).
  dispute_changed,
  other,  ///< nothing the engine acts on: recorded
};

/// "intent_changed", "refund_changed", "payout_paid", "payout_failed",
/// "report_available", "dispute_changed", "other".
std::string_view to_string(psp_event_kind k);

/// A PSP event (webhook), as far as the engine needs it.
struct psp_event {
  std::string id;  ///< the PSP's event id, unique per PSP
  psp_event_kind kind = psp_event_kind::other;
  /// The PSP's own name of the event type, for logs and audit text only.
  std::string psp_type;
  std::int64_t created = 0;            ///< unix seconds, the PSP's clock
  std::string object_id;               ///< the PSP's id of what the event is about
  std::optional<psp_intent> intent;    ///< for intent_changed
  std::optional<psp_refund> refund;    ///< for refund_changed
  std::optional<psp_dispute> dispute;  ///< for dispute_changed
  /// This event's own text, as stored in the inbox and parsed again by the
  /// webhook worker: the whole body when a body holds one event, the item
  /// when it holds several.
  std::string payload;
};

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
  /// Where the PSP sends the shopper back after a redirect (3-D Secure):
  /// the hosted checkout page; empty when the intent has none (API only).
  std::string return_url = {};
  std::string request_id = {};  ///< the engine's request id, sent as X-Request-Id
};

/// A capture, cancellation or refund of a payment at the PSP.
struct psp_modification {
  std::string psp_intent_id;  ///< the PSP's id of the payment
  /// The engine's id of what is modified (the intent; for a refund, the
  /// refund), sent as the PSP's reference so its news can be traced back.
  std::string engine_reference;
  /// How much to capture or refund; nullopt: all of `amount_available`.
  std::optional<std::int64_t> amount;
  /// What the engine knows is capturable (capture), held (cancel) or
  /// refundable (refund): for a PSP that wants the amount on every call.
  std::int64_t amount_available = 0;
  std::string currency;
  std::optional<std::string> reason;  ///< refunds: the merchant's reason
  std::string request_id = {};        ///< the engine's request id, sent as X-Request-Id
  /// confirm_intent: the intent's capture method, which says whether the
  /// confirmation authorizes (manual) or captures (automatic); the engine
  /// sets it, other calls ignore it.
  std::optional<capture_method> capture = std::nullopt;
};

/// What a balance transaction moved, in the engine's terms.
enum class balance_tx_type : std::uint8_t {
  charge,  ///< a payment's money came in
  refund,  ///< a refund's money went out
  payout,  ///< the balance paid out to the bank
  /// A dispute's money withdrawn or reinstated (Stripe: an `adjustment`
  /// whose source is the dispute): booked with the dispute, matched to it.
  dispute,
  other,  ///< fees, adjustments and the like: settled, never matched to an intent
  /// A failed payout's money back in the balance (Stripe: `payout_failure`,
  /// source the failed payout), paid again in a later payout.
  payout_failure,
};

/// "charge", "refund", "payout", "dispute", "other", "payout_failure" (the
/// names settlement stores).
std::string_view to_string(balance_tx_type t);

/// Where a payout stands, in the engine's terms.
enum class payout_status : std::uint8_t {
  pending,     ///< created, not sent yet
  in_transit,  ///< sent to the bank
  paid,        ///< arrived: settlement books it
  failed,      ///< the bank refused it
  canceled,    ///< withdrawn before it was sent
};

/// "pending", "in_transit", "paid", "failed", "canceled" (the names
/// settlement stores and reconciliation compares).
std::string_view to_string(payout_status s);

/// A PSP balance transaction: one movement of the PSP account's balance, as
/// far as settlement and reconciliation need it.
struct psp_balance_transaction {
  std::string id;
  balance_tx_type type = balance_tx_type::other;
  std::int64_t amount = 0;  ///< signed minor units: a refund is negative
  std::int64_t fee = 0;
  std::int64_t net = 0;  ///< amount - fee
  std::string currency;  ///< lowercase
  std::string source;    ///< the PSP's id of the charge or refund it moves
  /// The PSP's payment intent of the source, when the connector could learn it.
  std::optional<std::string> payment_intent;
  std::optional<std::string> payout;  ///< the payout that paid it out, if any
  std::int64_t created = 0;           ///< unix seconds, the PSP's clock
};

/// A PSP payout.
struct psp_payout {
  std::string id;
  std::int64_t amount = 0;
  std::string currency;
  payout_status status = payout_status::pending;
  std::int64_t created = 0;
  std::int64_t arrival_date = 0;
  std::string failure_code;  ///< why a failed payout failed (Stripe's failure_code), or ""
};

/// A PSP's settlement report: the payouts it pays and every balance
/// transaction they settle (a PSP that reports settlement as files, not as
/// list APIs).
struct psp_settlement_report {
  std::vector<psp_balance_transaction> transactions;
  std::vector<psp_payout> payouts;
};

/// One page of a PSP list.
template <class T>
struct psp_page {
  std::vector<T> data;
  bool has_more = false;
};

/// Filters of a list call; empty ones are not sent.
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
  /// Captures `m.amount` (all of `m.amount_available` when nullopt). An
  /// asynchronous PSP answers the intent `capture_pending`.
  virtual void capture_intent(const psp_modification& m, const std::string& idempotency_key,
                              std::int64_t timeout_ms, intent_done done) = 0;
  /// Cancels (voids) the intent. An asynchronous PSP answers `cancel_pending`.
  virtual void cancel_intent(const psp_modification& m, const std::string& idempotency_key,
                             std::int64_t timeout_ms, intent_done done) = 0;
  /// Refunds `m.amount` (all of `m.amount_available` when nullopt) of the
  /// intent's payment. An asynchronous PSP answers the refund pending.
  virtual void create_refund(const psp_modification& m, const std::string& idempotency_key,
                             std::int64_t timeout_ms, refund_done done) = 0;
  virtual void retrieve_refund(const std::string& psp_refund_id, std::int64_t timeout_ms,
                               refund_done done) = 0;
  /// Confirms a payment the shopper approved (an intent answered with
  /// `needs_confirmation`): authorizes it when `m.capture` is manual,
  /// captures it when automatic, and answers the intent as it then stands.
  /// A connector whose PSP needs no server-side confirmation answers
  /// `unsupported` (the default).
  virtual void confirm_intent(const psp_modification& m, const std::string& idempotency_key,
                              std::int64_t timeout_ms, intent_done done);

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

  using report_done = std::function<void(psp_outcome<psp_settlement_report>)>;
  /// The settlement report a `report_available` event names (`report`, the
  /// event's object_id). A connector whose PSP settles by list APIs answers
  /// `unsupported`.
  virtual void read_settlement_report(const std::string& report, std::int64_t timeout_ms,
                                      report_done done);

  using dispute_done = std::function<void(psp_outcome<psp_dispute>)>;
  /// Sends the merchant's evidence for a dispute and submits it for review
  /// (`evidence_json`: a flat JSON object of strings, checked by
  /// core::validate_dispute_evidence). A PSP without an evidence API answers
  /// `unsupported` (the default).
  virtual void submit_dispute_evidence(const std::string& psp_dispute_id,
                                       const std::string& evidence_json,
                                       const std::string& idempotency_key, std::int64_t timeout_ms,
                                       dispute_done done);
};

}  // namespace pay::core
