// psp-sandbox: the composition root of the sandbox PSP (Stripe's wire format,
// Adyen's under /adyen/ and PayPal's under /paypal/).
// Reads the options, fills in missing keys, starts the HTTP server and waits
// for SIGINT/SIGTERM to stop gracefully.
#include <cctype>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <pthread.h>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "net/http_server.hpp"
#include "sandbox/log.hpp"
#include "sandbox/options.hpp"
#include "sandbox/service.hpp"

namespace {

/// Writes the port through a temporary file and a rename, so a reader never
/// sees a half-written number.
bool write_port_file(const std::string& path, std::uint16_t port) {
  auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << port << '\n';
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  using pay::sandbox::log_line;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = pay::sandbox::parse_options(args);
  if (parsed.show_help) {
    std::cout << pay::sandbox::help_text();
    return 0;
  }
  if (!parsed.error.empty()) {
    std::cerr << "psp-sandbox: " << parsed.error << "\n";
    return 2;
  }
  auto options = std::move(parsed.options);

  // Missing keys are minted and printed once, on stdout; never logged.
  if (options.secret_key.empty()) {
    options.secret_key = "sk_test_" + pay::core::random_token(24);
    std::cout << "SANDBOX_SECRET_KEY=" << options.secret_key << "\n";
  }
  if (options.publishable_key.empty()) {
    options.publishable_key = "pk_test_" + pay::core::random_token(24);
    std::cout << "SANDBOX_PUBLISHABLE_KEY=" << options.publishable_key << "\n";
  }
  if (!options.webhook_url.empty() && options.webhook_secret.empty()) {
    options.webhook_secret = "whsec_" + pay::core::random_token(32);
    std::cout << "SANDBOX_WEBHOOK_SECRET=" << options.webhook_secret << "\n";
  }
  if (options.adyen_api_key.empty()) {
    options.adyen_api_key = "AQE" + pay::core::random_token(40);
    std::cout << "SANDBOX_ADYEN_API_KEY=" << options.adyen_api_key << "\n";
  }
  if (options.adyen_client_key.empty()) {
    options.adyen_client_key = "test_" + pay::core::random_token(32);
    std::cout << "SANDBOX_ADYEN_CLIENT_KEY=" << options.adyen_client_key << "\n";
  }
  if (options.adyen_hmac_key.empty()) {
    options.adyen_hmac_key = pay::core::sha256_hex(pay::core::random_token(43));
    for (char& c : options.adyen_hmac_key) c = static_cast<char>(std::toupper(c));
    std::cout << "SANDBOX_ADYEN_HMAC_KEY=" << options.adyen_hmac_key << "\n";
  }
  std::cout.flush();
  if (!options.seed) options.seed = std::random_device{}();

  // Restore the defaults first: a background shell start leaves SIGINT
  // ignored, and an ignored signal never reaches sigwait.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  pay::sandbox::service service{options};
  pay::net::http_server_options server_options;
  server_options.address = options.listen;
  server_options.port = options.port;
  server_options.threads = options.threads;
  server_options.server_name = "psp-sandbox";
  // The handler always answers; held (hang fault) answers may wait up to ten
  // minutes after up to ten minutes of latency, so the server's own deadline
  // sits beyond both.
  server_options.request_deadline_ms = 1'300'000;
  server_options.render_error = &pay::sandbox::service::transport_error;
  pay::net::http_server server{server_options,
                               [&service](pay::net::http_request req, pay::net::responder res) {
                                 service.handle(std::move(req), std::move(res));
                               }};
  if (auto err = server.start(); !err.empty()) {
    log_line("error", "cannot listen", {{"error", err}});
    return 1;
  }
  service.set_base_url("http://" + options.listen + ":" + std::to_string(server.port()));
  if (!options.port_file.empty() && !write_port_file(options.port_file, server.port())) {
    log_line("error", "cannot write the port file", {{"path", options.port_file}});
    service.stop();
    server.stop(0);
    return 1;
  }
  log_line("info", "listening",
           {{"address", options.listen},
            {"port", static_cast<int>(server.port())},
            {"seed", std::to_string(*options.seed)},
            {"webhook_url", options.webhook_url},
            {"adyen_webhook_url", options.adyen_webhook_url},
            {"adyen_merchant_account", options.adyen_merchant_account},
            {"paypal_webhook_url", options.paypal_webhook_url},
            {"fee_percent_bp", static_cast<long long>(options.fee_percent_bp)},
            {"fee_fixed_minor", static_cast<long long>(options.fee_fixed_minor)}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log_line("info", "stopping", {{"signal", signal_number}});
  service.stop();
  server.stop(2'000);
  log_line("info", "stopped");
  return 0;
}
