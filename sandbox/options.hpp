#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/faults.hpp"

/// The sandbox's configuration: every command-line flag, its environment
/// variable and its default, in one place so --help and docs/sandbox.md agree.
namespace pay::sandbox {

/// Everything psp-sandbox can be told at start.
struct sandbox_options {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 8090;        ///< 0 picks a free port
  std::string port_file;            ///< the bound port is written here once listening
  unsigned threads = 2;             ///< HTTP I/O threads
  std::string secret_key;           ///< empty: a random sk_test_ key is generated
  std::string publishable_key;      ///< empty: a random pk_test_ key is generated
  std::string webhook_url;          ///< empty: events are only listed, never sent
  std::string webhook_secret;       ///< empty with a URL: a random whsec_ is generated
  std::string webhook_secret_next;  ///< set during rotation: a second v1 signature
  std::int64_t webhook_timeout_ms = 5'000;
  std::uint32_t webhook_attempts_max = 8;
  std::int64_t webhook_backoff_base_ms = 1'000;
  std::int64_t webhook_backoff_max_ms = 60'000;
  std::optional<std::uint64_t> seed;       ///< unset: random, logged at start
  std::int64_t fee_percent_bp = 290;       ///< basis points of each captured amount
  std::int64_t fee_fixed_minor = 30;       ///< fixed fee per charge, in minor units
  std::int64_t settlement_interval_s = 0;  ///< 0: settlement only on demand
  std::size_t objects_max = 100'000;       ///< stored objects before creation is refused
  fault_settings faults;

  // ---- the Adyen mode (sandbox/adyen/), under the path prefix /adyen/ ----
  std::string adyen_api_key;     ///< empty: a random key is generated, printed
  std::string adyen_client_key;  ///< empty: a random test_ key is generated, printed
  std::string adyen_hmac_key;    ///< 64 hex; empty: random, printed
  std::string adyen_merchant_account = "SandboxMerchantECOM";
  std::string adyen_company_account = "SandboxCompany";
  std::string adyen_webhook_url;                   ///< empty: notifications are only listed
  std::size_t adyen_batch_max = 10;                ///< notification items per POST
  std::int64_t adyen_batch_window_ms = 50;         ///< how long items gather
  std::int64_t adyen_modification_delay_ms = 200;  ///< 201 received, then the notification
  std::string
      record_requests;  ///< JSON lines file of every Adyen and PayPal API request; empty: off

  // ---- the PayPal mode (sandbox/paypal/), under the path prefix /paypal/ ----
  std::string paypal_client_id = "AbSandboxPayPalClientId0000000000000001";
  std::string paypal_client_secret = "EbSandboxPayPalClientSecret00000000000001";
  std::string paypal_webhook_url;                       ///< empty: events are only listed
  std::string paypal_webhook_id = "1SB58463PX213545K";  ///< the subscription's id, signed in
  std::int64_t paypal_token_ttl_s = 32'400;             ///< access token lifetime (PayPal: 9 h)
  std::int64_t paypal_pending_ms = 1'000;               ///< PENDING capture -> COMPLETED after
};

/// The outcome of reading the command line.
struct parse_outcome {
  sandbox_options options;
  bool show_help = false;
  std::string error;  ///< non-empty: a usage error to print
};

/// Reads flags (`--name value` or `--name=value`), falling back to each
/// flag's SANDBOX_* environment variable, then to the default.
parse_outcome parse_options(const std::vector<std::string>& args);

/// The --help text: every flag, its environment variable and its default.
std::string help_text();

}  // namespace pay::sandbox
