#pragma once

// A psp-sandbox child process for integration tests: random keys, a free
// port, ready to serve when constructed. Only built when the sandbox target
// exists (the build defines PSP_SANDBOX_BIN then).

#ifdef PSP_SANDBOX_BIN

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/harness.hpp"

namespace pay::test {

/// The path of the built psp-sandbox.
std::string psp_sandbox_path();

/// The real psp-sandbox binary on a free port of 127.0.0.1, with freshly
/// generated secret and publishable keys (SANDBOX_SECRET_KEY and
/// SANDBOX_PUBLISHABLE_KEY in `env` override them) and Adyen-mode keys
/// (SANDBOX_ADYEN_API_KEY, SANDBOX_ADYEN_CLIENT_KEY, SANDBOX_ADYEN_HMAC_KEY
/// and SANDBOX_ADYEN_MERCHANT_ACCOUNT likewise) and PayPal-mode credentials
/// (SANDBOX_PAYPAL_CLIENT_ID, SANDBOX_PAYPAL_CLIENT_SECRET and
/// SANDBOX_PAYPAL_WEBHOOK_ID likewise), answering /healthz when
/// the constructor returns. Stopped with SIGTERM (then SIGKILL) on
/// destruction.
class sandbox_process {
 public:
  /// `env` is added to the child's environment, `args` after --port 0 and
  /// --port-file. Throws with the sandbox's output when it does not start.
  explicit sandbox_process(std::map<std::string, std::string> env = {},
                           std::vector<std::string> args = {});
  ~sandbox_process();
  sandbox_process(const sandbox_process&) = delete;
  sandbox_process& operator=(const sandbox_process&) = delete;

  /// "http://127.0.0.1:<port>".
  const std::string& base_url() const { return base_url_; }
  const std::string& secret_key() const { return secret_key_; }
  const std::string& publishable_key() const { return publishable_key_; }
  /// "http://127.0.0.1:<port>/adyen/checkout/v71": the Adyen checkout base.
  std::string adyen_base_url() const { return base_url_ + "/adyen/checkout/v71"; }
  const std::string& adyen_api_key() const { return adyen_api_key_; }
  const std::string& adyen_client_key() const { return adyen_client_key_; }
  const std::string& adyen_hmac_key() const { return adyen_hmac_key_; }  ///< 64 hex
  const std::string& adyen_merchant_account() const { return adyen_merchant_account_; }
  /// "http://127.0.0.1:<port>/paypal": the PayPal API base (PayPal's paths
  /// follow it verbatim: /v1/oauth2/token, /v2/checkout/orders, ...).
  std::string paypal_base_url() const { return base_url_ + "/paypal"; }
  const std::string& paypal_client_id() const { return paypal_client_id_; }
  const std::string& paypal_client_secret() const { return paypal_client_secret_; }
  const std::string& paypal_webhook_id() const { return paypal_webhook_id_; }
  std::uint16_t port() const { return port_; }
  child_process& process() { return *process_; }

 private:
  std::string dir_;
  std::string secret_key_;
  std::string publishable_key_;
  std::string adyen_api_key_;
  std::string adyen_client_key_;
  std::string adyen_hmac_key_;
  std::string adyen_merchant_account_;
  std::string paypal_client_id_;
  std::string paypal_client_secret_;
  std::string paypal_webhook_id_;
  std::uint16_t port_ = 0;
  std::string base_url_;
  std::unique_ptr<child_process> process_;
};

/// The environment of a paymentsd on `engine_port` whose Stripe-format
/// account ("sandbox") and PayPal account ("paypal") are both `sandbox`:
/// PayPal's REST base, client credentials and webhook id, and the sandbox's
/// self-signed webhook certificate trusted from its host. `extra` is added
/// (and wins). The sandbox must send its PayPal webhooks to
/// http://127.0.0.1:<engine_port>/v1/webhooks/paypal
/// (SANDBOX_PAYPAL_WEBHOOK_URL).
std::map<std::string, std::string> paypal_engine_env(const sandbox_process& sandbox,
                                                     std::uint16_t engine_port,
                                                     std::map<std::string, std::string> extra = {});

/// The environment of a paymentsd on `engine_port` whose Stripe-format
/// account ("sandbox") and Adyen account ("adyen") are both `sandbox`: the
/// Adyen checkout base, API, client and HMAC keys, merchant account and the
/// sandbox's copy of Adyen Web. `extra` is added (and wins). The sandbox must
/// send its Adyen notifications to
/// http://127.0.0.1:<engine_port>/v1/webhooks/adyen
/// (SANDBOX_ADYEN_WEBHOOK_URL).
std::map<std::string, std::string> adyen_engine_env(const sandbox_process& sandbox,
                                                    std::uint16_t engine_port,
                                                    std::map<std::string, std::string> extra = {});

}  // namespace pay::test

#endif  // PSP_SANDBOX_BIN
