#include "psp/paypal/paypal_provider.hpp"

#include <memory>
#include <stdexcept>
#include <utility>

#include "net/http_client.hpp"

namespace pay::psp {

/// psp/paypal/web/checkout.js, compiled in (psp/CMakeLists.txt).
std::string_view paypal_checkout_script();

core::psp_provider make_paypal_provider(paypal_provider_options options) {
  if (!options.sdk_url.empty() && !net::parse_url(options.sdk_url))
    throw std::invalid_argument("paypal sdk_url must be an http(s) URL");
  auto connector = std::make_shared<paypal_connector>(options.api);
  paypal_webhook_options w;
  w.webhook_id = options.webhook_id;
  w.verify = options.verify;
  w.cert_hosts = options.cert_hosts;
  w.cert_chain_check = options.cert_chain_check;
  w.cert_ca_file = options.cert_ca_file;
  w.cert_cn_prefix = options.cert_cn_prefix;
  w.cert_cn_suffix = options.cert_cn_suffix;
  w.download_ca_file = options.api.ca_file;
  core::psp_provider p;
  p.name = options.name;
  p.kind = "paypal";
  p.authorisation_captures = false;
  // An authorisation is valid 29 days; the funds are honored for the first 3.
  p.auth_window = core::authorization_window{29 * core::seconds_per_day, 3 * core::seconds_per_day,
                                             "PayPal: valid 29 days, honored for the first 3"};
  p.checkout.kind = "paypal";
  p.checkout.mount_script = paypal_checkout_script();
  if (!options.sdk_url.empty()) {
    p.checkout.script_url = options.sdk_url;
    auto scheme = options.sdk_url.find("://");
    auto path = options.sdk_url.find('/', scheme + 3);
    p.checkout.origin = options.sdk_url.substr(0, path);
    p.checkout.script_src = {p.checkout.origin};
    p.checkout.connect_src = {p.checkout.origin};
    p.checkout.frame_src = {p.checkout.origin};
  }
  p.webhooks = std::make_shared<paypal_webhooks>(std::move(w), connector);
  p.connector = std::move(connector);
  return p;
}

}  // namespace pay::psp
