#include "tests/support/sandbox_process.hpp"

#ifdef PSP_SANDBOX_BIN

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "core/crypto.hpp"
#include "core/ids.hpp"

namespace pay::test {

namespace {

/// How long the sandbox may take to bind and to answer its first /healthz.
constexpr auto start_timeout = std::chrono::seconds(30);
/// How long a SIGTERM gets before the child is killed.
constexpr auto stop_timeout = std::chrono::seconds(5);

}  // namespace

std::string psp_sandbox_path() {
  return PSP_SANDBOX_BIN;
}

sandbox_process::sandbox_process(std::map<std::string, std::string> env,
                                 std::vector<std::string> args) {
  dir_ = make_temp_dir();
  auto port_file = dir_ + "/port";
  secret_key_ =
      env.try_emplace("SANDBOX_SECRET_KEY", "sk_test_" + core::random_token(24)).first->second;
  publishable_key_ =
      env.try_emplace("SANDBOX_PUBLISHABLE_KEY", "pk_test_" + core::random_token(24)).first->second;
  adyen_api_key_ =
      env.try_emplace("SANDBOX_ADYEN_API_KEY", "AQE" + core::random_token(40)).first->second;
  adyen_client_key_ =
      env.try_emplace("SANDBOX_ADYEN_CLIENT_KEY", "test_" + core::random_token(32)).first->second;
  adyen_hmac_key_ =
      env.try_emplace("SANDBOX_ADYEN_HMAC_KEY", core::sha256_hex(core::random_token(43)))
          .first->second;
  adyen_merchant_account_ =
      env.try_emplace("SANDBOX_ADYEN_MERCHANT_ACCOUNT", "SandboxMerchantECOM").first->second;
  paypal_client_id_ =
      env.try_emplace("SANDBOX_PAYPAL_CLIENT_ID", "Ab" + core::random_token(38)).first->second;
  paypal_client_secret_ =
      env.try_emplace("SANDBOX_PAYPAL_CLIENT_SECRET", "Eb" + core::random_token(38)).first->second;
  paypal_webhook_id_ =
      env.try_emplace("SANDBOX_PAYPAL_WEBHOOK_ID", "WH" + core::random_token(15)).first->second;
  std::vector<std::string> argv{"--port", "0", "--port-file", port_file};
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<child_process>(psp_sandbox_path(), argv, env);
  auto until = std::chrono::steady_clock::now() + start_timeout;
  port_ = read_port_file(port_file, start_timeout);
  if (port_ == 0)
    throw std::runtime_error("psp-sandbox did not start; output:\n" + process_->output());
  base_url_ = "http://127.0.0.1:" + std::to_string(port_);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !process_->running())
      throw std::runtime_error("psp-sandbox does not answer /healthz; output:\n" +
                               process_->output());
    auto r = http("GET", base_url_ + "/healthz");
    if (r.answered && r.response.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

sandbox_process::~sandbox_process() {
  if (process_ && process_->running()) {
    process_->send_signal(SIGTERM);
    process_->wait(stop_timeout);
  }
  process_.reset();  // SIGKILLs it if SIGTERM was not enough
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

namespace {

/// The environment of a paymentsd on `engine_port` whose Stripe-format
/// account is `sandbox`, with `psp` (another account's variables) and then
/// `extra` added, each winning over what came before.
std::map<std::string, std::string> engine_env(const sandbox_process& sandbox,
                                              std::uint16_t engine_port,
                                              std::map<std::string, std::string> psp,
                                              std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> env{
      {"PAYMENTS_PORT", std::to_string(engine_port)},
      {"PAYMENTS_PSP_BASE_URL", sandbox.base_url()},
      {"PAYMENTS_PSP_SECRET_KEY", sandbox.secret_key()},
  };
  for (auto& [k, v] : psp) env[k] = std::move(v);
  for (auto& [k, v] : extra) env[k] = std::move(v);
  return env;
}

}  // namespace

std::map<std::string, std::string> paypal_engine_env(const sandbox_process& sandbox,
                                                     std::uint16_t engine_port,
                                                     std::map<std::string, std::string> extra) {
  return engine_env(sandbox, engine_port,
                    {
                        {"PAYMENTS_PAYPAL_BASE_URL", sandbox.paypal_base_url()},
                        {"PAYMENTS_PAYPAL_CLIENT_ID", sandbox.paypal_client_id()},
                        {"PAYMENTS_PAYPAL_CLIENT_SECRET", sandbox.paypal_client_secret()},
                        {"PAYMENTS_PAYPAL_WEBHOOK_ID", sandbox.paypal_webhook_id()},
                        {"PAYMENTS_PAYPAL_SANDBOX_CERT_URL", sandbox.base_url()},
                    },
                    std::move(extra));
}

std::map<std::string, std::string> adyen_engine_env(const sandbox_process& sandbox,
                                                    std::uint16_t engine_port,
                                                    std::map<std::string, std::string> extra) {
  return engine_env(sandbox, engine_port,
                    {
                        {"PAYMENTS_ADYEN_BASE_URL", sandbox.adyen_base_url()},
                        {"PAYMENTS_ADYEN_API_KEY", sandbox.adyen_api_key()},
                        {"PAYMENTS_ADYEN_MERCHANT_ACCOUNT", sandbox.adyen_merchant_account()},
                        {"PAYMENTS_ADYEN_CLIENT_KEY", sandbox.adyen_client_key()},
                        {"PAYMENTS_ADYEN_HMAC_KEY", sandbox.adyen_hmac_key()},
                        {"PAYMENTS_ADYEN_SDK_URL", sandbox.base_url() + "/adyen/sdk/adyen.js"},
                    },
                    std::move(extra));
}

}  // namespace pay::test

#endif  // PSP_SANDBOX_BIN
