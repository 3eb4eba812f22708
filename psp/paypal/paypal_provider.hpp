#pragma once

#include <string>
#include <vector>

#include "core/psp_provider.hpp"
#include "psp/paypal/paypal_connector.hpp"
#include "psp/paypal/paypal_webhooks.hpp"

/// The PayPal provider bundle: the REST connector (Orders v2, Payments v2,
/// Transaction Search), webhook verification (offline or by PayPal's API)
/// and parsing, and the checkout front end. The sandbox PSP's PayPal mode
/// is served by the same provider.
namespace pay::psp {

/// Everything one PayPal REST app needs.
struct paypal_provider_options {
  std::string name = "paypal";  ///< the account's name in the engine
  paypal_api_options api;
  /// The id of the webhook subscription PayPal signs with. Empty: webhooks refused.
  std::string webhook_id;
  using verification = paypal_verification;
  verification verify = verification::offline;
  /// Hosts PAYPAL-CERT-URL may name: PayPal's by default (https only). The
  /// sandbox PSP's "http://HOST:PORT" is added by configuration (plain http
  /// allowed for that host:port only).
  std::vector<std::string> cert_hosts = paypal_default_cert_hosts();
  /// Checks of the signing certificate (see paypal_webhook_options): the
  /// sandbox PSP's self-signed one needs cert_chain_check false and its CN
  /// suffix.
  bool cert_chain_check = true;
  std::string cert_ca_file;
  std::string cert_cn_prefix = "messageverificationcerts";
  std::string cert_cn_suffix = ".paypal.com";
  /// None: the approval is a redirect to PayPal (the intent's client_secret
  /// is the approve link), so the checkout page loads no PayPal script; the
  /// page's "paypal" front end only sends the shopper there. A URL here is
  /// passed on as the front end's script (PayPal's JS SDK, if ever wanted).
  std::string sdk_url;
};

/// Builds the bundle: kind "paypal", checkout front end "paypal" (a redirect
/// to the approve link; connect/frame sources none). Throws
/// std::invalid_argument on bad configuration (see paypal_connector,
/// paypal_webhooks; an sdk_url that is not http(s)).
core::psp_provider make_paypal_provider(paypal_provider_options options);

}  // namespace pay::psp
