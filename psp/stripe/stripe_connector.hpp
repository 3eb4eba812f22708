#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/psp.hpp"

/// The Stripe connector: core::psp_connector spoken over Stripe's HTTP API
/// (form-encoded requests, JSON answers, Bearer secret key, Idempotency-Key
/// and Stripe-Version headers, TLS with certificate verification always on).
/// The sandbox PSP speaks the same API, so one connector serves both.
namespace pay::psp {

/// Where and how to reach one Stripe account.
struct stripe_options {
  /// Scheme, host, port and an optional path prefix; no trailing slash needed.
  std::string base_url = "https://api.stripe.com";
  /// The account's secret key (sk_...). Never logged, never in an error.
  std::string secret_key;
  /// Pinned so Stripe's answers keep the shape this connector parses.
  std::string api_version = "2020-08-27";
  /// An extra trusted CA (PEM) for tests against a private CA; empty: the
  /// system store only. Verification cannot be turned off.
  std::string ca_file;
  /// I/O threads of the connector's HTTP client.
  unsigned threads = 1;
};

/// Stripe's error mapping: 402 or a card_error is `declined`; 429, 5xx and
/// 409 (the same idempotency key is still in flight at the PSP, so the
/// outcome is unknown) are `retryable`; any other 4xx (400, including a key
/// reused with other parameters, 401, 404) is `rejected`; other statuses are
/// `retryable` (nothing is known to have happened). Fills every field Stripe's error
/// object gives. `secret_key`, when not empty, is scrubbed from the message.
core::psp_failure stripe_failure_of(int http_status, std::string_view body,
                                    std::string_view secret_key = {});

/// Parses a Stripe PaymentIntent; nullopt with `error` set when the text is
/// not one.
std::optional<core::psp_intent> parse_stripe_intent(std::string_view body, std::string& error);

/// Parses a Stripe Refund; nullopt with `error` set when the text is not one.
std::optional<core::psp_refund> parse_stripe_refund(std::string_view body, std::string& error);

/// Parses a Stripe Payout; nullopt with `error` set when the text is not one.
std::optional<core::psp_payout> parse_stripe_payout(std::string_view body, std::string& error);

/// Parses a Stripe Dispute object: status mapped by stripe_dispute_status,
/// evidence_details.due_by, and each of `balance_transactions` (objects, as
/// Stripe embeds them) as a movement of money.
std::optional<core::psp_dispute> parse_stripe_dispute(std::string_view body, std::string& error);

/// Parses a Stripe list of BalanceTransactions (sources plain or expanded).
std::optional<core::psp_page<core::psp_balance_transaction>> parse_stripe_balance_transactions(
    std::string_view body, std::string& error);

/// Parses a Stripe list of Payouts.
std::optional<core::psp_page<core::psp_payout>> parse_stripe_payouts(std::string_view body,
                                                                     std::string& error);

/// One Stripe account's API as a core::psp_connector. Every callback runs
/// exactly once on a connector thread, also for calls still in flight when
/// the connector is destroyed (they fail as retryable).
class stripe_connector final : public core::psp_connector {
 public:
  /// Throws std::invalid_argument when base_url is not an http(s) URL or the
  /// secret key is empty: both are configuration errors found at start.
  explicit stripe_connector(stripe_options options);
  ~stripe_connector() override;
  stripe_connector(const stripe_connector&) = delete;
  stripe_connector& operator=(const stripe_connector&) = delete;

  /// POST /v1/payment_intents.
  void create_intent(const core::psp_create_intent& req, const std::string& idempotency_key,
                     std::int64_t timeout_ms, intent_done done) override;
  /// GET /v1/payment_intents/{id}.
  void retrieve_intent(const std::string& psp_intent_id, std::int64_t timeout_ms,
                       intent_done done) override;
  /// POST /v1/payment_intents/{id}/capture.
  void capture_intent(const core::psp_modification& m, const std::string& idempotency_key,
                      std::int64_t timeout_ms, intent_done done) override;
  /// POST /v1/payment_intents/{id}/cancel.
  void cancel_intent(const core::psp_modification& m, const std::string& idempotency_key,
                     std::int64_t timeout_ms, intent_done done) override;
  /// POST /v1/refunds.
  void create_refund(const core::psp_modification& m, const std::string& idempotency_key,
                     std::int64_t timeout_ms, refund_done done) override;
  /// GET /v1/refunds/{id}.
  void retrieve_refund(const std::string& psp_refund_id, std::int64_t timeout_ms,
                       refund_done done) override;
  /// GET /v1/balance_transactions with payout, created[gte], created[lt],
  /// starting_after, limit and expand[]=data.source (so each source names
  /// its payment intent).
  void list_balance_transactions(const core::psp_list_query& query, std::int64_t timeout_ms,
                                 balance_page_done done) override;
  /// GET /v1/payouts with created[gte], created[lt], starting_after, limit.
  void list_payouts(const core::psp_list_query& query, std::int64_t timeout_ms,
                    payout_page_done done) override;
  /// GET /v1/payouts/{id}.
  void retrieve_payout(const std::string& psp_payout_id, std::int64_t timeout_ms,
                       payout_done done) override;
  /// POST /v1/disputes/{id} with evidence[field]=... and submit=true.
  void submit_dispute_evidence(const std::string& psp_dispute_id, const std::string& evidence_json,
                               const std::string& idempotency_key, std::int64_t timeout_ms,
                               dispute_done done) override;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace pay::psp
