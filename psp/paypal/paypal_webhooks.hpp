#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/psp_provider.hpp"

/// PayPal's webhooks (Webhooks v1): one event per delivery, signed with
/// RSA-SHA256 over `transmission_id|transmission_time|webhook_id|crc32(body)`
/// by a certificate PayPal names in PAYPAL-CERT-URL; checked offline (what
/// PayPal's SDKs do) or by PayPal's verify-webhook-signature API.
namespace pay::psp {

class paypal_connector;

/// How webhooks are verified.
enum class paypal_verification : std::uint8_t {
  offline,  ///< CRC32 + RSA-SHA256 with the cached certificate (no call per event)
  api,      ///< POST /v1/notifications/verify-webhook-signature per event
};

/// CRC-32 (IEEE 802.3, zlib's) of `data`.
std::uint32_t paypal_crc32(std::string_view data);

/// `transmission_id|transmission_time|webhook_id|crc32` with the CRC as an
/// unsigned decimal, as PayPal signs it.
std::string paypal_signed_string(std::string_view transmission_id,
                                 std::string_view transmission_time, std::string_view webhook_id,
                                 std::string_view body);

/// PayPal's default certificate hosts (live and sandbox, https only).
std::vector<std::string> paypal_default_cert_hosts();

/// What verifying needs.
struct paypal_webhook_options {
  /// The id of the webhook subscription PayPal signs with. Empty: every
  /// webhook is refused.
  std::string webhook_id;
  paypal_verification verify = paypal_verification::offline;
  /// Hosts PAYPAL-CERT-URL may name: "host" or "host:port" (https only), or
  /// "http://host:port" (plain http allowed: the sandbox PSP).
  std::vector<std::string> cert_hosts = paypal_default_cert_hosts();
  /// The signing certificate must chain to a trusted root: the system store
  /// plus `cert_ca_file` (PEM) when given. Off only for the sandbox PSP,
  /// whose certificate is self-signed and trusted by its allow-listed host.
  bool cert_chain_check = true;
  std::string cert_ca_file;
  /// The certificate's subject CN must start and end so (PayPal's SDK
  /// checks exactly this); an empty part is not checked.
  std::string cert_cn_prefix = "messageverificationcerts";
  std::string cert_cn_suffix = ".paypal.com";
  std::int64_t tolerance_s = core::limits::paypal_webhook_tolerance_s;
  /// An extra trusted CA (PEM) for downloading certificates over https in
  /// tests; empty: the system store.
  std::string download_ca_file;
};

/// Parses one event body; nullopt when it lacks id, event_type or resource.
/// CHECKOUT.ORDER.APPROVED/COMPLETED -> intent_changed (the order mapped);
/// PAYMENT.AUTHORIZATION.CREATED -> authorized (amount_capturable = its
/// amount), .VOIDED -> canceled; PAYMENT.CAPTURE.COMPLETED -> captured
/// (amount_received = its amount, amount_capturable 0), .PENDING ->
/// capture_pending (processing for an order capture), .DENIED/.DECLINED ->
/// authorized + modification_failed for a capture of an authorization,
/// created + last_payment_error for an order capture; PAYMENT.CAPTURE.
/// REFUNDED -> refund_changed; every other type `other`. The intent's id is
/// the order id (supplementary_data.related_ids.order_id); an event without
/// one is `other`.
std::optional<core::psp_event> parse_paypal_event(std::string_view body);

/// PayPal's webhooks as core::psp_webhooks.
class paypal_webhooks final : public core::psp_webhooks {
 public:
  /// `api` is needed for paypal_verification::api (its token and base URL).
  /// Throws std::invalid_argument for a cert host that is not host[:port]
  /// or http://host:port, or api verification without a connector.
  paypal_webhooks(paypal_webhook_options options, std::shared_ptr<paypal_connector> api);
  ~paypal_webhooks() override;
  paypal_webhooks(const paypal_webhooks&) = delete;
  paypal_webhooks& operator=(const paypal_webhooks&) = delete;

  bool configured() const override;
  /// Reasons: "not_configured", "missing_header", "unsupported_algorithm",
  /// "bad_time", "stale", "cert_url_not_allowed", "cert_unavailable",
  /// "cert_invalid", "malformed_signature", "no_matching_signature",
  /// "verification_unavailable" (the API did not answer in time).
  /// Offline, a certificate not cached yet is downloaded while this waits
  /// at most limits::paypal_webhook_fetch_timeout_ms (on the server's
  /// thread, once per certificate URL); past it the webhook is refused
  /// (PayPal delivers it again) and the download finishes into the cache.
  core::webhook_verdict verify(const core::header_lookup& headers, std::string_view body,
                               std::int64_t now_s) const override;
  /// "PAYPAL-TRANSMISSION-SIG".
  std::string_view signature_header() const override;
  std::vector<core::psp_event> parse(std::string_view body) const override;
  /// 200 application/json `{}`.
  core::webhook_answer accepted(std::size_t events, std::size_t duplicates) const override;

  /// Checks and caches the certificate (PEM, leaf first, then any
  /// intermediates) for `url` as if downloaded from it (a prefetch, or a
  /// test); false with `error` when the URL is not allowed or the
  /// certificate fails the checks at `now_s`.
  bool add_certificate(const std::string& url, std::string_view pem, std::int64_t now_s,
                       std::string& error);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace pay::psp
