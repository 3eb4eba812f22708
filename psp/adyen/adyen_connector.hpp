#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/psp.hpp"
#include "psp/adyen/adyen_settlement.hpp"

/// The Adyen connector: core::psp_connector spoken over Adyen's Checkout API
/// v71 (JSON requests and answers, X-API-Key, Idempotency-Key on every POST,
/// TLS with certificate verification always on). Payments run in Adyen's
/// sessions flow: the engine creates a session, the shopper pays in Adyen
/// Web, and every outcome (authorisation, capture, cancellation, refund)
/// arrives as a notification. The sandbox PSP's Adyen mode speaks the same API.
namespace pay::psp {

/// Where and how to reach one Adyen merchant account.
struct adyen_api_options {
  /// The Checkout API base; no trailing slash needed. Ignored when
  /// live_prefix is set.
  std::string base_url = "https://checkout-test.adyen.com/v71";
  /// The live URL prefix of the company account (Customer Area, Developers >
  /// API URLs): non-empty means https://{prefix}-checkout-live.adyenpayments.com/checkout/v71.
  std::string live_prefix;
  /// The API credential's key. Never logged, never in an error.
  std::string api_key;
  std::string merchant_account;
  /// An extra trusted CA (PEM) for tests; empty: the system store only.
  std::string ca_file;
  unsigned threads = 1;
};

/// The Checkout API base `o` names (live_prefix wins over base_url).
std::string adyen_base_url(const adyen_api_options& o);

/// Adyen's ServiceError mapping: 401, 403, 400, 404, 422 and other 4xx are
/// `rejected` (type = errorType, code = errorCode); 429, 5xx and anything
/// else `retryable`. Never `declined`: a refusal is news, not a call failure.
/// `api_key`, when not empty, is scrubbed from the message.
core::psp_failure adyen_failure_of(int http_status, std::string_view body,
                                   std::string_view api_key = {});

/// The Idempotency-Key sent for the engine's `key`: itself when Adyen takes
/// it (1 to 64 characters), else the first 64 hex digits of its SHA-256.
std::string adyen_idempotency_key(const std::string& key);

/// One Adyen merchant account's Checkout API as a core::psp_connector.
/// Every callback runs exactly once on a connector thread.
class adyen_connector final : public core::psp_connector {
 public:
  /// Throws std::invalid_argument when the base URL is not http(s), the API
  /// key or merchant account is empty, or a live account uses plain http.
  explicit adyen_connector(adyen_api_options options);
  ~adyen_connector() override;
  adyen_connector(const adyen_connector&) = delete;
  adyen_connector& operator=(const adyen_connector&) = delete;

  /// POST /sessions; the answer's client_secret is
  /// {"id":"<session id>","sessionData":"<sessionData>"} for Adyen Web.
  void create_intent(const core::psp_create_intent& req, const std::string& idempotency_key,
                     std::int64_t timeout_ms, intent_done done) override;
  /// `unsupported`: Adyen has no read of a payment; outcomes come by notifications.
  void retrieve_intent(const std::string& psp_intent_id, std::int64_t timeout_ms,
                       intent_done done) override;
  /// POST /payments/{pspReference}/captures -> capture_pending.
  void capture_intent(const core::psp_modification& m, const std::string& idempotency_key,
                      std::int64_t timeout_ms, intent_done done) override;
  /// POST /payments/{pspReference}/cancels -> cancel_pending.
  void cancel_intent(const core::psp_modification& m, const std::string& idempotency_key,
                     std::int64_t timeout_ms, intent_done done) override;
  /// POST /payments/{pspReference}/refunds -> the refund, pending.
  void create_refund(const core::psp_modification& m, const std::string& idempotency_key,
                     std::int64_t timeout_ms, refund_done done) override;
  /// `unsupported`, as retrieve_intent.
  void retrieve_refund(const std::string& psp_refund_id, std::int64_t timeout_ms,
                       refund_done done) override;

  /// Downloads a Settlement details report (X-API-Key) from an http(s) URL
  /// (a REPORT_AVAILABLE's `reason`) and parses it. The URL must be on the
  /// API's own host or an https host of Adyen's (*.adyen.com,
  /// *.adyenpayments.com): `reason` is not covered by the notification's
  /// HMAC, and the API key must never travel elsewhere. Anything else,
  /// including a local path, is `rejected` without a call.
  void read_settlement_report(const std::string& url, std::int64_t timeout_ms,
                              report_done done) override;
  /// Reads and parses a report file an operator downloaded (never a path
  /// taken from a notification).
  void read_settlement_report_file(const std::string& path, report_done done);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace pay::psp
