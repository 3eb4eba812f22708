#pragma once

#include <string>
#include <vector>

#include "core/psp_provider.hpp"
#include "psp/adyen/adyen_connector.hpp"
#include "psp/adyen/adyen_webhooks.hpp"

/// The Adyen provider bundle: the Checkout API connector, notification HMAC
/// verification and parsing, the `[accepted]` answer, and Adyen Web for the
/// checkout page. The sandbox PSP's Adyen mode is served by the same provider.
namespace pay::psp {

/// Everything one Adyen merchant account needs.
struct adyen_provider_options {
  std::string name = "adyen";  ///< the account's name in the engine
  adyen_api_options api;
  /// HMAC keys, 64 hex digits each: the current first, the previous one
  /// during a rotation. None: webhooks refused.
  std::vector<std::string> hmac_keys;
  std::string client_key;            ///< Adyen Web's client key (test_... / live_...)
  std::string environment = "test";  ///< Adyen Web's environment; "test" expects live "false"
  /// The Adyen Web script; empty: Adyen's CDN for the environment.
  /// The sandbox: http://HOST:PORT/adyen/sdk/adyen.js.
  std::string sdk_url;
};

/// Adyen Web's script on Adyen's CDN (the version this integration uses).
inline constexpr const char* adyen_web_cdn_script =
    "https://checkoutshopper-live.cdn.adyen.com/checkoutshopper/sdk/5.68.0/adyen.js";

/// Builds the bundle: kind "adyen", authorisation_captures. Throws
/// std::invalid_argument on bad configuration (see adyen_connector; an HMAC
/// key that is not 64 hex digits; an sdk_url that is not http(s); an empty
/// client key).
core::psp_provider make_adyen_provider(adyen_provider_options options);

}  // namespace pay::psp
