#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/psp_provider.hpp"
#include "psp/stripe/stripe_connector.hpp"

/// The Stripe provider bundle: the connector, Stripe-Signature verification,
/// the event parser, the answer Stripe expects, and the checkout page's card
/// form. The sandbox PSP speaks Stripe's wire format, so it is served by the
/// same provider (under the account name the configuration gives).
namespace pay::psp {

/// Which card form the hosted checkout page mounts for a Stripe account.
enum class stripe_checkout_js : std::uint8_t {
  sandbox,  ///< the sandbox PSP's card iframe (development and tests)
  stripe,   ///< Stripe.js Elements
};

/// Everything one Stripe account needs.
struct stripe_provider_options {
  std::string name = "sandbox";  ///< the account's name in the engine
  stripe_options api;
  /// Endpoint secrets (whsec_...); two during a rotation. None: webhooks refused.
  std::vector<std::string> webhook_secrets;
  std::int64_t webhook_tolerance_s = core::limits::webhook_tolerance_s;
  stripe_checkout_js checkout_js = stripe_checkout_js::sandbox;
  /// Base URL browsers reach the sandbox's card iframe at (sandbox front end only).
  std::string sandbox_public_url;
  std::string publishable_key;  ///< pk_..., handed to the checkout page
};

/// Builds the bundle; throws std::invalid_argument on a configuration the
/// connector refuses (see stripe_connector).
core::psp_provider make_stripe_provider(stripe_provider_options options);

/// Stripe's webhooks: `Stripe-Signature` (t, v1 HMAC-SHA256) within the
/// tolerance, one event per body, answered 200 with a small JSON receipt.
class stripe_webhooks final : public core::psp_webhooks {
 public:
  stripe_webhooks(std::vector<std::string> secrets, std::int64_t tolerance_s);
  bool configured() const override;
  core::webhook_verdict verify(const core::header_lookup& headers, std::string_view body,
                               std::int64_t now_s) const override;
  std::string_view signature_header() const override;
  std::vector<core::psp_event> parse(std::string_view body) const override;
  core::webhook_answer accepted(std::size_t events, std::size_t duplicates) const override;

 private:
  std::vector<std::string> secrets_;
  std::int64_t tolerance_s_;
};

}  // namespace pay::psp
