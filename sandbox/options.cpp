#include "sandbox/options.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <functional>

namespace pay::sandbox {

namespace {

std::optional<std::int64_t> parse_int(const std::string& text) {
  std::int64_t out = 0;
  auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec != std::errc{} || ptr != end || text.empty()) return std::nullopt;
  return out;
}

/// One flag: its name without "--", its environment variable, the default as
/// shown by --help, and how it stores a value (returning an error or "").
struct flag {
  std::string name;
  std::string help;
  std::string default_text;
  std::function<std::string(sandbox_options&, const std::string&)> set;

  std::string env() const {
    std::string out = "SANDBOX_";
    for (char c : name) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
    return out;
  }
};

auto text(std::string sandbox_options::*member) {
  return [member](sandbox_options& o, const std::string& v) -> std::string {
    o.*member = v;
    return {};
  };
}

template <class T>
auto integer(T sandbox_options::*member, std::int64_t min, std::int64_t max) {
  return [member, min, max](sandbox_options& o, const std::string& v) -> std::string {
    auto n = parse_int(v);
    if (!n || *n < min || *n > max)
      return "must be an integer between " + std::to_string(min) + " and " + std::to_string(max);
    o.*member = static_cast<T>(*n);
    return {};
  };
}

auto fault(const char* knob) {
  return [knob](sandbox_options& o, const std::string& v) -> std::string {
    auto n = parse_int(v);
    if (!n) return "must be an integer";
    return set_fault(o.faults, knob, *n);
  };
}

const std::vector<flag>& flags() {
  static const std::vector<flag> all = {
      {"listen", "address to listen on", "127.0.0.1", text(&sandbox_options::listen)},
      {"port", "port to listen on; 0 picks a free one", "8090",
       integer(&sandbox_options::port, 0, 65535)},
      {"port-file", "write the bound port and a newline to this file once listening", "(none)",
       text(&sandbox_options::port_file)},
      {"threads", "HTTP I/O threads", "2", integer(&sandbox_options::threads, 1, 64)},
      {"secret-key", "the sk_test_ key API clients authenticate with", "(random, printed)",
       text(&sandbox_options::secret_key)},
      {"publishable-key", "the pk_test_ key the browser confirms with", "(random, printed)",
       text(&sandbox_options::publishable_key)},
      {"webhook-url", "events are POSTed to this URL", "(none: no deliveries)",
       text(&sandbox_options::webhook_url)},
      {"webhook-secret", "whsec_ secret deliveries are signed with", "(random with a URL, printed)",
       text(&sandbox_options::webhook_secret)},
      {"webhook-secret-next", "second secret during rotation: two v1 signatures", "(none)",
       text(&sandbox_options::webhook_secret_next)},
      {"webhook-timeout-ms", "deadline of one delivery attempt", "5000",
       integer(&sandbox_options::webhook_timeout_ms, 1, 600'000)},
      {"webhook-attempts-max", "delivery attempts per event before giving up", "8",
       integer(&sandbox_options::webhook_attempts_max, 1, 100)},
      {"webhook-backoff-base-ms", "first retry delay cap; doubles per attempt (full jitter)",
       "1000", integer(&sandbox_options::webhook_backoff_base_ms, 1, 3'600'000)},
      {"webhook-backoff-max-ms", "largest retry delay cap", "60000",
       integer(&sandbox_options::webhook_backoff_max_ms, 1, 86'400'000)},
      {"seed", "seed of every random fault decision", "(random, logged)",
       [](sandbox_options& o, const std::string& v) -> std::string {
         auto n = parse_int(v);
         if (!n || *n < 0) return "must be a non-negative integer";
         o.seed = static_cast<std::uint64_t>(*n);
         return {};
       }},
      {"fee-percent-bp", "fee per charge in basis points of the captured amount", "290",
       integer(&sandbox_options::fee_percent_bp, 0, 10'000)},
      {"fee-fixed-minor", "fixed fee per charge in minor units", "30",
       integer(&sandbox_options::fee_fixed_minor, 0, 1'000'000)},
      {"settlement-interval-s", "run settlement every N seconds; 0 only on demand", "0",
       integer(&sandbox_options::settlement_interval_s, 0, 86'400 * 30)},
      {"objects-max", "stored objects (intents, charges, events, ...) before refusing", "100000",
       integer(&sandbox_options::objects_max, 100, 10'000'000)},
      {"adyen-api-key", "Adyen mode: the X-API-Key API clients authenticate with",
       "(random, printed)", text(&sandbox_options::adyen_api_key)},
      {"adyen-client-key", "Adyen mode: the test_ client key of the browser component",
       "(random, printed)", text(&sandbox_options::adyen_client_key)},
      {"adyen-hmac-key", "Adyen mode: HMAC key (64 hex) notification items are signed with",
       "(random, printed)",
       [](sandbox_options& o, const std::string& v) -> std::string {
         if (v.size() != 64 || v.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
           return "must be 64 hexadecimal characters";
         o.adyen_hmac_key = v;
         return {};
       }},
      {"adyen-merchant-account", "Adyen mode: the merchant account requests must name",
       "SandboxMerchantECOM", text(&sandbox_options::adyen_merchant_account)},
      {"adyen-company-account", "Adyen mode: the company account of settlement reports",
       "SandboxCompany", text(&sandbox_options::adyen_company_account)},
      {"adyen-webhook-url", "Adyen mode: notification batches are POSTed to this URL",
       "(none: no deliveries)", text(&sandbox_options::adyen_webhook_url)},
      {"adyen-batch-max", "Adyen mode: notification items per POST at most", "10",
       integer(&sandbox_options::adyen_batch_max, 1, 1'000)},
      {"adyen-batch-window-ms", "Adyen mode: how long pending items gather into one POST", "50",
       integer(&sandbox_options::adyen_batch_window_ms, 0, 60'000)},
      {"adyen-modification-delay-ms",
       "Adyen mode: delay between a modification's 201 and its notification", "200",
       integer(&sandbox_options::adyen_modification_delay_ms, 0, 600'000)},
      {"paypal-client-id", "PayPal mode: the REST app's client id (Basic auth for tokens)",
       "AbSandboxPayPalClientId0000000000000001", text(&sandbox_options::paypal_client_id)},
      {"paypal-client-secret", "PayPal mode: the REST app's client secret",
       "EbSandboxPayPalClientSecret00000000000001", text(&sandbox_options::paypal_client_secret)},
      {"paypal-webhook-url", "PayPal mode: webhook events are POSTed to this URL",
       "(none: no deliveries)", text(&sandbox_options::paypal_webhook_url)},
      {"paypal-webhook-id", "PayPal mode: the webhook id signed into every delivery",
       "1SB58463PX213545K", text(&sandbox_options::paypal_webhook_id)},
      {"paypal-token-ttl", "PayPal mode: seconds an access token lives", "32400",
       integer(&sandbox_options::paypal_token_ttl_s, 1, 86'400)},
      {"paypal-pending-ms",
       "PayPal mode: a PENDING capture (funding pending_capture) completes this much later", "1000",
       integer(&sandbox_options::paypal_pending_ms, 0, 600'000)},
      {"record-requests",
       "append every Adyen and PayPal API request (method, path, headers but credentials, "
       "body) as JSON lines",
       "(none)", text(&sandbox_options::record_requests)},
      {"fault-latency-ms", "latency added to every API request", "0", fault("latency_ms")},
      {"fault-error-percent", "share of API requests answered 500/503", "0",
       fault("error_percent")},
      {"fault-hang-percent", "share of API requests whose answer is held for fault-hang-ms", "0",
       fault("hang_percent")},
      {"fault-hang-ms", "how long a hung answer is held", "30000", fault("hang_ms")},
      {"fault-processing-ms",
       "confirmations answer processing; the outcome follows this much later (0: off)", "0",
       fault("processing_ms")},
      {"fault-webhook-duplicate-percent", "share of events delivered twice", "0",
       fault("webhook_duplicate_percent")},
      {"fault-webhook-out-of-order-percent", "share of events delivered after the next one", "0",
       fault("webhook_out_of_order_percent")},
      {"fault-webhook-delay-ms", "delay before every webhook delivery", "0",
       fault("webhook_delay_ms")},
      {"fault-webhook-drop-first-percent",
       "share of events whose first delivery attempt is dropped (then retried)", "0",
       fault("webhook_drop_first_percent")},
  };
  return all;
}

}  // namespace

parse_outcome parse_options(const std::vector<std::string>& args) {
  parse_outcome out;
  // Environment first, so flags given on the command line win.
  for (const auto& f : flags()) {
    if (const char* v = std::getenv(f.env().c_str()); v != nullptr && *v != '\0') {
      if (auto err = f.set(out.options, v); !err.empty()) {
        out.error = f.env() + ": " + err;
        return out;
      }
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.show_help = true;
      return out;
    }
    if (!arg.starts_with("--")) {
      out.error = "unexpected argument: " + arg;
      return out;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const flag* match = nullptr;
    for (const auto& f : flags())
      if (f.name == name) match = &f;
    if (match == nullptr) {
      out.error = "unknown flag: --" + name + " (see --help)";
      return out;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        out.error = "--" + name + " needs a value";
        return out;
      }
      value = args[++i];
    }
    if (auto err = match->set(out.options, value); !err.empty()) {
      out.error = "--" + name + ": " + err;
      return out;
    }
  }
  return out;
}

std::string help_text() {
  std::string out =
      "psp-sandbox: a stateful, Stripe-compatible PSP for development and tests,\n"
      "which also speaks Adyen's Checkout API under /adyen/ and PayPal's REST APIs\n"
      "under /paypal/.\n\n"
      "Usage: psp-sandbox [--flag value | --flag=value]...\n"
      "Every flag may also be set by its environment variable; flags win.\n\n";
  for (const auto& f : flags()) {
    out += "  --" + f.name + " (" + f.env() + ")\n      " + f.help +
           " [default: " + f.default_text + "]\n";
  }
  out += "  --help\n      print this text and exit\n";
  return out;
}

}  // namespace pay::sandbox
