#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/psp.hpp"

/// The PayPal connector: core::psp_connector spoken over PayPal's REST APIs
/// (Orders v2, Payments v2, Webhooks v1, Transaction Search v1) with an
/// OAuth2 client-credentials token, PayPal-Request-Id on every POST that
/// moves money, and TLS with certificate verification always on. The shopper
/// approves an order at PayPal (the approve link is the intent's
/// client_secret); the engine then confirms it (authorize or capture) with
/// confirm_intent. The sandbox PSP's PayPal mode (/paypal) speaks the same API.
namespace pay::psp {

/// Where and how to reach one PayPal REST app.
struct paypal_api_options {
  /// The REST API base, no trailing slash needed: PayPal's sandbox by
  /// default, https://api-m.paypal.com live, http://HOST:PORT/paypal for the
  /// sandbox PSP.
  std::string base_url = "https://api-m.sandbox.paypal.com";
  std::string client_id;
  /// Never logged, never in an error (nor is the access token).
  std::string client_secret;
  /// An extra trusted CA (PEM) for tests; empty: the system store only.
  std::string ca_file;
  unsigned threads = 1;
};

/// The PayPal-Request-Id sent for the engine's `key`: itself when PayPal
/// takes it (1 to 108 characters), else "sha256-" and the first 64 hex
/// digits of its SHA-256 (stable, so a retry sends the same id).
std::string paypal_request_id(const std::string& key);

/// One row of Transaction Search (transaction_details[].transaction_info),
/// as far as settlement needs it.
struct paypal_transaction {
  std::string id;            ///< transaction_id
  std::string event_code;    ///< e.g. T0006, T1107, T0400
  std::string status;        ///< transaction_status: S, P, D, V
  std::string reference_id;  ///< paypal_reference_id (the order id for captures and refunds)
  std::string custom_field;  ///< the order's custom_id (the engine's intent id)
  std::int64_t amount = 0;   ///< signed, engine minor units
  std::int64_t fee = 0;      ///< fee_amount as PayPal signs it (a charge's fee is negative)
  std::string currency;      ///< lowercase
  std::int64_t created = 0;  ///< transaction_initiation_date, unix seconds
};

/// Parses one Transaction Search page; nullopt with `error` when it is not
/// one. `total_pages` gets the answer's total_pages (1 when absent).
std::optional<std::vector<paypal_transaction>> parse_paypal_transactions(std::string_view body,
                                                                         std::size_t& total_pages,
                                                                         std::string& error);

/// Settlement's view of Transaction Search rows (in time order): successful
/// (S) payment rows (T00xx with a positive amount) are charges (fee = the
/// fee PayPal took, payment_intent = paypal_reference_id, the order id),
/// T1107 refunds (negative; source = the refund id), other money rows
/// `other`; T04xx withdrawals are payouts (status paid), never balance
/// transactions. Each balance transaction's payout is the first withdrawal
/// in its currency at or after it (PayPal pays out the available balance).
struct paypal_settlement_view {
  std::vector<core::psp_balance_transaction> transactions;
  std::vector<core::psp_payout> payouts;
};
paypal_settlement_view paypal_settlement_of(std::vector<paypal_transaction> rows);

/// One PayPal REST app as a core::psp_connector. Every callback runs exactly
/// once on a connector thread.
class paypal_connector final : public core::psp_connector {
 public:
  /// Throws std::invalid_argument when the base URL is not http(s) or the
  /// client id or secret is empty.
  explicit paypal_connector(paypal_api_options options);
  ~paypal_connector() override;
  paypal_connector(const paypal_connector&) = delete;
  paypal_connector& operator=(const paypal_connector&) = delete;

  /// POST /v2/checkout/orders (intent AUTHORIZE for manual capture, CAPTURE
  /// for automatic; custom_id and invoice_id = the engine's intent id; with
  /// a return_url, payment_source.paypal.experience_context with it and a
  /// cancel_url = return_url + "paypal=cancel"). The intent answered is
  /// `created` with client_secret = the payer-action (or approve) link.
  void create_intent(const core::psp_create_intent& req, const std::string& idempotency_key,
                     std::int64_t timeout_ms, intent_done done) override;
  /// GET /v2/checkout/orders/{id}, mapped by paypal_intent_of_order.
  void retrieve_intent(const std::string& psp_intent_id, std::int64_t timeout_ms,
                       intent_done done) override;
  /// POST /v2/checkout/orders/{id}/authorize (m.capture manual) or
  /// /capture (automatic). A DECLINED capture inside the 201 answer is the
  /// `declined` failure (decline_code from the processor response); a 422
  /// ORDER_ALREADY_CAPTURED/AUTHORIZED (a retry) answers the order as it stands.
  void confirm_intent(const core::psp_modification& m, const std::string& idempotency_key,
                      std::int64_t timeout_ms, intent_done done) override;
  /// GET the order for its authorization, then POST
  /// /v2/payments/authorizations/{auth}/capture {amount?, final_capture:
  /// true, invoice_id}: COMPLETED -> captured, PENDING -> capture_pending,
  /// DECLINED/FAILED -> `declined`.
  void capture_intent(const core::psp_modification& m, const std::string& idempotency_key,
                      std::int64_t timeout_ms, intent_done done) override;
  /// GET the order; an authorization held is voided (POST
  /// .../authorizations/{auth}/void) -> canceled. An order never authorized
  /// (CREATED, APPROVED, ...) has nothing to void at PayPal: canceled at
  /// once, without a call (the engine never confirms it, so no money moves;
  /// PayPal lets the order expire).
  void cancel_intent(const core::psp_modification& m, const std::string& idempotency_key,
                     std::int64_t timeout_ms, intent_done done) override;
  /// GET the order for its capture, then POST
  /// /v2/payments/captures/{capture}/refund {amount, custom_id, invoice_id
  /// = the engine's refund id, note_to_payer = reason}.
  void create_refund(const core::psp_modification& m, const std::string& idempotency_key,
                     std::int64_t timeout_ms, refund_done done) override;
  /// GET /v2/payments/refunds/{id}; payment_intent from the refund's
  /// supplementary_data.related_ids.order_id.
  void retrieve_refund(const std::string& psp_refund_id, std::int64_t timeout_ms,
                       refund_done done) override;

  /// Transaction Search (GET /v1/reporting/transactions, every page) over
  /// [created_gte, created_gte + 31 days) (31 days back from now when no
  /// bound is given); with `payout`, the rows that withdrawal paid out.
  /// One page answers everything (has_more false).
  void list_balance_transactions(const core::psp_list_query& query, std::int64_t timeout_ms,
                                 balance_page_done done) override;
  /// The T04xx withdrawals of the same search, newest first.
  void list_payouts(const core::psp_list_query& query, std::int64_t timeout_ms,
                    payout_page_done done) override;
  /// One withdrawal of the last 31 days by transaction id.
  void retrieve_payout(const std::string& psp_payout_id, std::int64_t timeout_ms,
                       payout_done done) override;

  /// POST /v1/notifications/verify-webhook-signature with `request_json`
  /// (built by paypal_webhooks, the received event spliced in raw): true on
  /// SUCCESS, false on FAILURE.
  void verify_webhook_signature(std::string request_json, std::int64_t timeout_ms,
                                std::function<void(core::psp_outcome<bool>)> done);

  /// The API base this connector calls (no trailing slash).
  const std::string& base_url() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace pay::psp
