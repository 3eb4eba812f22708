#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/params.hpp"

/// The sandbox PSP's objects and their rules: payment intents, payment
/// methods, charges, refunds, events, balance transactions and payouts, kept
/// in memory and bounded. Not thread-safe: the service holds one mutex
/// around every call.
namespace pay::sandbox {

/// An answer ready to send: HTTP status and JSON body.
struct api_result {
  int status = 200;
  std::string body;
};

/// Stripe's error shape, `{"error":{...}}`; empty strings are left out.
struct api_error {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string code;
  std::string message;
  std::string param;
  std::string decline_code;
  std::string charge;
  std::string payment_method_json;  ///< the PaymentMethod object, on card errors
  std::string payment_intent_json;  ///< the intent, embedded on card errors

  api_result render() const;
};

/// Which key authenticated the request.
enum class key_kind { secret, publishable };

/// Who asked: goes into events' `request` and builds 3-D Secure URLs.
struct request_context {
  std::string request_id;
  std::string idempotency_key;
  std::string base_url;  ///< "http://host:port", from the Host header
  key_kind key = key_kind::secret;
  /// The processing fault is on: confirmations answer `processing` and the
  /// card's outcome comes later (see store::finish_processing).
  bool async_confirm = false;
};

/// Stripe's PaymentIntent statuses.
enum class pi_status {
  requires_payment_method,
  requires_confirmation,
  requires_action,
  processing,
  requires_capture,
  succeeded,
  canceled,
};

std::string_view to_string(pi_status s);

/// What a test card does when charged.
enum class card_outcome { succeed, decline_generic, decline_insufficient_funds, require_3ds };

/// Settlement pricing.
struct fee_schedule {
  std::int64_t percent_bp = 290;
  std::int64_t fixed_minor = 30;
  /// Stripe's dispute fee: 15.00 in the charge's currency (usd-equivalent).
  std::int64_t dispute_minor = 1500;
};

/// How long a merchant has to answer a dispute: Stripe's test disputes give
/// seven days (evidence_details.due_by).
inline constexpr std::int64_t dispute_response_window_s = 7 * 86'400;

/// The fee of one charge: round-half-up of amount * bp / 10000, plus fixed,
/// in integers only.
std::int64_t charge_fee(const fee_schedule& fees, std::int64_t amount_minor);

/// Called for every new event with its id, type and JSON, in creation order.
using event_sink =
    std::function<void(const std::string& id, const std::string& type, const std::string& json)>;

class store {
 public:
  store(fee_schedule fees, std::size_t objects_max, event_sink sink);

  /// Whether pending_webhooks in new events is 1 (an endpoint is set) or 0.
  void set_webhooks_enabled(bool on) { webhooks_enabled_ = on; }

  api_result create_payment_intent(const params& p, const request_context& ctx);
  api_result retrieve_payment_intent(const std::string& id, const params& p,
                                     const request_context& ctx);
  api_result confirm_payment_intent(const std::string& id, const params& p,
                                    const request_context& ctx);
  api_result capture_payment_intent(const std::string& id, const params& p,
                                    const request_context& ctx);
  api_result cancel_payment_intent(const std::string& id, const params& p,
                                   const request_context& ctx);
  /// Ends a 3-D Secure challenge: approve completes the payment, fail
  /// returns the intent to requires_payment_method.
  api_result complete_authentication(const std::string& id, bool approve,
                                     const request_context& ctx);
  bool client_secret_matches(const std::string& pi_id, const std::string& secret) const;
  /// Intents put in `processing` since the last call, for the caller to
  /// schedule finish_processing().
  std::vector<std::string> take_processing();
  /// Charges the card of an intent in `processing` (no-op otherwise).
  void finish_processing(const std::string& id, const request_context& ctx);

  api_result create_refund(const params& p, const request_context& ctx);
  api_result retrieve_refund(const std::string& id) const;
  api_result retrieve_charge(const std::string& id) const;
  api_result list_events(const params& p) const;
  api_result retrieve_event(const std::string& id) const;
  api_result list_balance_transactions(const params& p) const;
  api_result retrieve_balance_transaction(const std::string& id) const;
  api_result list_payouts(const params& p) const;
  api_result retrieve_payout(const std::string& id) const;
  api_result list_disputes(const params& p) const;
  api_result retrieve_dispute(const std::string& id) const;
  /// POST /v1/disputes/{id}: evidence[...] staged, and with submit=true
  /// sent for review (status under_review), as Stripe does.
  api_result update_dispute(const std::string& id, const params& p, const request_context& ctx);
  /// Test control: closes a dispute as won (funds reinstated, then closed)
  /// or lost (closed), with Stripe's events.
  api_result close_dispute(const std::string& id, const params& p, const request_context& ctx);

  /// Batches every unpaid balance transaction into one payout per currency
  /// whose net total is positive; answers the list of new payouts.
  api_result run_settlement(const request_context& ctx);

  /// Test control: forgets a charge and its balance transaction, as if the
  /// PSP had never made them (the intent stays), so reconciliation can be
  /// shown a payment that is missing at the PSP.
  api_result delete_charge(const std::string& id);
  /// Test control: sets a balance transaction's `amount` and/or `fee` (net
  /// follows), so reconciliation can be shown an amount that differs.
  api_result alter_balance_transaction(const std::string& id, const params& p);
  /// Test control: a succeeded refund fails after the fact, as Stripe's do
  /// when the shopper's card is closed: status failed, a `refund_failure`
  /// balance transaction gives the money back, the charge's refunded amount
  /// goes down, and `refund.failed` and `charge.refund.updated` are sent.
  api_result fail_refund(const std::string& id, const request_context& ctx);
  /// Test control: a paid payout fails after the fact, as Stripe's do when
  /// the bank account is closed: status failed, failure_code
  /// account_closed, a `payout_failure` balance transaction (source: the
  /// payout) gives the money back to the balance, paid out again by the next
  /// settlement run, and `payout.failed` is sent.
  api_result fail_payout(const std::string& id, const request_context& ctx);

  /// Cancels every uncaptured intent whose authorisation lapsed by the
  /// sandbox clock, as Stripe does after 7 days: status canceled,
  /// cancellation_reason "automatic", event payment_intent.canceled.
  /// Answers how many. (Also done lazily when such an intent is read,
  /// captured or canceled.)
  std::size_t expire_lapsed(const request_context& ctx);

  /// How long Stripe keeps an uncaptured card authorisation before it
  /// cancels the intent itself (online card payments).
  static constexpr std::int64_t uncaptured_validity_s = 7 * 86'400;

  /// Counts of every kind of object, as JSON.
  std::string counts_json() const;

  std::size_t objects() const { return objects_; }

  using metadata = std::vector<std::pair<std::string, std::string>>;

  struct payment_method {
    std::string id;
    std::string brand;
    std::string last4;
    std::int64_t exp_month = 12;
    std::int64_t exp_year = 2034;
    card_outcome outcome = card_outcome::succeed;
    /// pm_card_createDispute (4000 0000 0000 0259): once captured, the
    /// shopper's bank disputes the charge.
    bool disputes = false;
    std::int64_t created = 0;
  };

  struct last_error {
    std::string type;
    std::string code;
    std::string decline_code;
    std::string message;
    std::string charge;
    std::string payment_method;
  };

  struct payment_intent {
    std::string id;
    std::int64_t amount = 0;
    std::string currency;
    bool manual_capture = false;
    pi_status status = pi_status::requires_payment_method;
    std::string client_secret;
    std::int64_t created = 0;
    std::optional<std::string> description;
    metadata meta;
    std::vector<std::string> payment_method_types;
    std::optional<std::string> payment_method;
    std::int64_t amount_capturable = 0;
    std::int64_t amount_received = 0;
    std::optional<std::string> latest_charge;
    std::optional<last_error> last_payment_error;
    std::optional<std::string> return_url;
    std::string authentication_url;  ///< the 3-D Secure page, while requires_action
    std::optional<std::int64_t> canceled_at;
    std::optional<std::string> cancellation_reason;
  };

  struct charge {
    std::string id;
    std::string payment_intent;
    std::string payment_method;
    std::int64_t amount = 0;
    std::int64_t amount_captured = 0;
    std::int64_t amount_refunded = 0;
    std::string currency;
    bool captured = false;
    bool paid = false;
    std::string status;  ///< succeeded | failed
    std::string failure_code;
    std::string failure_message;
    std::string decline_code;
    std::optional<std::string> balance_transaction;
    std::vector<std::string> refunds;
    std::optional<std::string> description;
    metadata meta;
    std::int64_t created = 0;
    std::optional<std::string> dispute;  ///< the charge's dispute, once opened
  };

  struct dispute {
    std::string id;
    std::string charge;
    std::string payment_intent;
    std::int64_t amount = 0;
    std::string currency;
    std::string reason = "fraudulent";
    std::string status = "needs_response";
    std::int64_t due_by = 0;
    std::vector<std::pair<std::string, std::string>> evidence;
    std::int64_t submission_count = 0;
    std::vector<std::string> balance_transactions;
    std::int64_t created = 0;
  };

  struct refund {
    std::string id;
    std::int64_t amount = 0;
    std::string charge;
    std::string payment_intent;
    std::string currency;
    std::optional<std::string> reason;
    metadata meta;
    std::string balance_transaction;
    std::int64_t created = 0;
    std::string status = "succeeded";
    std::optional<std::string> failure_reason;
    std::optional<std::string> failure_balance_transaction;
  };

  struct balance_transaction {
    std::string id;
    std::string type;  ///< charge | refund | refund_failure | adjustment | payout | payout_failure
    /// Stripe's reporting_category when it is not the type (a dispute's
    /// adjustment: dispute, dispute_reversal).
    std::string category;
    std::int64_t amount = 0;
    std::int64_t fee = 0;
    std::int64_t net = 0;
    std::string currency;
    std::string source;
    std::string description;
    std::optional<std::string> payout;
    std::int64_t created = 0;
    std::int64_t available_on = 0;
  };

  struct payout {
    std::string id;
    std::int64_t amount = 0;
    std::string currency;
    std::int64_t created = 0;
    std::int64_t arrival_date = 0;
    std::string status;
    std::optional<std::string> failure_code;
    std::optional<std::string> failure_balance_transaction;
  };

  struct event {
    std::string id;
    std::string type;
    std::string json;
  };

 private:
  std::optional<api_error> check_room(std::size_t needed) const;
  std::optional<std::string> resolve_payment_method(const params& p, api_error& err);
  api_result attempt_payment(payment_intent& pi, const request_context& ctx);
  api_result charge_card(payment_intent& pi, const request_context& ctx);
  void succeed_payment(payment_intent& pi, const request_context& ctx);
  void fail_payment(payment_intent& pi, const std::string& charge_id, const api_error& err,
                    const request_context& ctx);
  std::string add_charge_balance_transaction(charge& ch, std::int64_t amount);
  /// Opens a dispute on a captured charge of pm_card_createDispute.
  void open_dispute(charge& ch, const request_context& ctx);
  std::string add_dispute_balance_transaction(dispute& d, std::int64_t amount, std::int64_t fee,
                                              std::string_view category);
  std::string dispute_json(const dispute& d) const;
  void emit(const std::string& type, const std::string& object_json, const request_context& ctx);
  std::int64_t now_s() const;
  /// When an uncaptured intent's authorisation lapses (its charge's
  /// created + uncaptured_validity_s); nullopt unless requires_capture.
  std::optional<std::int64_t> capture_before(const payment_intent& pi) const;
  /// Cancels `pi` automatically when its authorisation lapsed; true if so.
  bool expire_if_lapsed(payment_intent& pi, const request_context& ctx);

  std::string pi_json(const payment_intent& pi) const;
  std::string charge_json(const charge& ch) const;
  std::string refund_json(const refund& r) const;
  std::string payment_method_json(const std::string& id) const;
  std::string bt_json(const balance_transaction& bt) const;
  std::string payout_json(const payout& po) const;

  fee_schedule fees_;
  std::size_t objects_max_;
  std::size_t objects_ = 0;
  event_sink sink_;
  bool webhooks_enabled_ = false;

  std::map<std::string, payment_method> payment_methods_;
  std::map<std::string, payment_intent> intents_;
  std::map<std::string, charge> charges_;
  std::map<std::string, refund> refunds_;
  std::map<std::string, balance_transaction> balance_transactions_;
  std::map<std::string, payout> payouts_;
  std::map<std::string, dispute> disputes_;
  std::vector<std::string> dispute_order_;
  std::map<std::string, event> events_;
  // Creation order, for lists (newest first, as Stripe lists).
  std::vector<std::string> event_order_;
  std::vector<std::string> bt_order_;
  std::vector<std::string> payout_order_;
  std::vector<std::string> processing_;  ///< see take_processing()
};

}  // namespace pay::sandbox
