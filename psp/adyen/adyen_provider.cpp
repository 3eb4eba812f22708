#include "psp/adyen/adyen_provider.hpp"

#include <memory>
#include <stdexcept>
#include <utility>

#include "net/http_client.hpp"

namespace pay::psp {

/// psp/adyen/web/checkout.js, compiled in (psp/CMakeLists.txt).
std::string_view adyen_checkout_script();

namespace {

std::string origin_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  auto path = url.find('/', scheme + 3);
  return std::string(url.substr(0, path));
}

core::checkout_frontend checkout_of(const adyen_provider_options& o) {
  core::checkout_frontend f;
  f.kind = "adyen";
  f.mount_script = adyen_checkout_script();
  f.publishable_key = o.client_key;
  f.environment = o.environment;
  if (!o.sdk_url.empty()) {
    f.script_url = o.sdk_url;
    f.origin = origin_of(o.sdk_url);
    f.script_src = {f.origin};
    f.connect_src = {f.origin};
    f.frame_src = {f.origin};
    return f;
  }
  // Adyen Web's documented needs: the CDN script and the checkoutshopper
  // origin of the environment, which also serves the card fields' iframes.
  f.script_url = adyen_web_cdn_script;
  std::string shopper = o.environment == "test"
                            ? "https://checkoutshopper-test.adyen.com"
                            : "https://checkoutshopper-" + o.environment + ".adyen.com";
  f.origin = shopper;
  f.script_src = {"https://checkoutshopper-live.cdn.adyen.com", shopper};
  f.connect_src = {shopper};
  f.frame_src = {shopper};
  return f;
}

}  // namespace

core::psp_provider make_adyen_provider(adyen_provider_options options) {
  for (const auto& key : options.hmac_keys)
    if (!adyen_hmac_key_bytes(key))
      throw std::invalid_argument("an adyen HMAC key must be 64 hex digits");
  if (options.client_key.empty()) throw std::invalid_argument("adyen client_key is empty");
  if (options.environment.empty() ||
      options.environment.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") != std::string::npos)
    throw std::invalid_argument("adyen environment must be e.g. 'test' or 'live'");
  if (!options.sdk_url.empty() && !net::parse_url(options.sdk_url))
    throw std::invalid_argument("adyen sdk_url must be an http(s) URL");
  core::psp_provider p;
  p.name = options.name;
  p.kind = "adyen";
  p.authorisation_captures = true;
  // Adyen keeps an authorisation 28 days by default (an account setting),
  // then sends EXPIRE.
  p.auth_window = core::authorization_window{
      28 * core::seconds_per_day, 0, "Adyen: authorisations expire after 28 days by default"};
  p.checkout = checkout_of(options);
  p.webhooks =
      std::make_shared<adyen_webhooks>(std::move(options.hmac_keys), options.environment != "test");
  p.connector = std::make_shared<adyen_connector>(std::move(options.api));
  return p;
}

}  // namespace pay::psp
