// paymentsd: the engine. Composition root: reads configuration, applies the
// database migrations, starts the actor system and the HTTP server, and
// stops them in order on SIGINT or SIGTERM.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/errors.hpp"
#include "actors/expiry_actor.hpp"
#include "actors/gateway_actor.hpp"
#include "actors/intent_router.hpp"
#include "actors/orphan_rescan.hpp"
#include "actors/outbound_delivery.hpp"
#include "actors/outbound_store.hpp"
#include "actors/settlement_actor.hpp"
#include "actors/storage_actor.hpp"
#include "actors/webhook_worker.hpp"
#include "core/backoff.hpp"
#include "core/log.hpp"
#include "core/options.hpp"
#include "core/reconciliation.hpp"
#include "net/api_error.hpp"
#include "net/api_server.hpp"
#include "net/http_server.hpp"
#include "net/outbound_poster.hpp"
#include "psp/adyen/adyen_provider.hpp"
#include "psp/paypal/paypal_provider.hpp"
#include "psp/stripe/stripe_provider.hpp"
#include "storage/migrations.hpp"
#include "storage/pg.hpp"

namespace {

using namespace pay;

std::vector<core::option_spec> option_specs() {
  return {
      {"listen", "PAYMENTS_LISTEN", "127.0.0.1", "Address the HTTP API listens on."},
      {"port", "PAYMENTS_PORT", "8080", "TCP port of the HTTP API (0 picks a free one)."},
      {"port-file", "PAYMENTS_PORT_FILE", "",
       "Write the bound port to this file once listening (for scripts and tests)."},
      {"database-url", "PAYMENTS_DATABASE_URL", "",
       "PostgreSQL connection URL (libpq URI); it may hold a password.", true},
      {"http-threads", "PAYMENTS_HTTP_THREADS", "2", "I/O threads of the HTTP server."},
      {"actor-threads", "PAYMENTS_ACTOR_THREADS", "2", "Scheduler threads of the actor system."},
      {"storage-connections", "PAYMENTS_STORAGE_CONNECTIONS", "4",
       "Storage actors, each with its own PostgreSQL connection and thread."},
      {"startup-db-wait-ms", "PAYMENTS_STARTUP_DB_WAIT_MS", "30000",
       "How long start-up waits for the database before giving up."},
      {"drain-ms", "PAYMENTS_DRAIN_MS", std::to_string(core::limits::http_drain_ms),
       "On SIGINT/SIGTERM, time in-flight requests get to finish."},
      {"psp", "PAYMENTS_PSP", "sandbox",
       "Name of the PSP account (Stripe's wire format) new intents go to; its webhooks arrive at "
       "/v1/webhooks/<name>."},
      {"psp-aliases", "PAYMENTS_PSP_ALIASES", "stripe",
       "Other names (comma separated) the PSP account's webhooks may arrive under."},
      {"psp-base-url", "PAYMENTS_PSP_BASE_URL", "http://127.0.0.1:8090",
       "Base URL of the PSP's Stripe-compatible API (https://api.stripe.com for Stripe)."},
      {"psp-secret-key", "PAYMENTS_PSP_SECRET_KEY", "", "The PSP account's secret key (sk_...).",
       true},
      {"psp-ca-file", "PAYMENTS_PSP_CA_FILE", "",
       "Extra CA certificate (PEM) to trust for the PSP's TLS; verification is always on."},
      {"psp-threads", "PAYMENTS_PSP_THREADS", "1", "I/O threads of the PSP HTTP client."},
      {"adyen-name", "PAYMENTS_ADYEN_NAME", "adyen",
       "Name of the Adyen account (an intent's psp; its webhooks arrive at /v1/webhooks/<name>). "
       "The account is configured when PAYMENTS_ADYEN_API_KEY is set."},
      {"adyen-base-url", "PAYMENTS_ADYEN_BASE_URL", "https://checkout-test.adyen.com/v71",
       "Base URL of Adyen's Checkout API (test); ignored when --adyen-live-prefix is set."},
      {"adyen-live-prefix", "PAYMENTS_ADYEN_LIVE_PREFIX", "",
       "Live endpoint prefix of the company account: the API is then "
       "https://<prefix>-checkout-live.adyenpayments.com/checkout/v71."},
      {"adyen-api-key", "PAYMENTS_ADYEN_API_KEY", "", "The Adyen API credential's key (X-API-Key).",
       true},
      {"adyen-merchant-account", "PAYMENTS_ADYEN_MERCHANT_ACCOUNT", "",
       "The Adyen merchant account payments are made on."},
      {"adyen-client-key", "PAYMENTS_ADYEN_CLIENT_KEY", "",
       "The client key Adyen Web uses in the shopper's browser (test_... or live_...)."},
      {"adyen-hmac-key", "PAYMENTS_ADYEN_HMAC_KEY", "",
       "HMAC key (64 hex characters) notifications are signed with.", true},
      {"adyen-hmac-key-previous", "PAYMENTS_ADYEN_HMAC_KEY_PREVIOUS", "",
       "The previous HMAC key, still accepted during a rotation.", true},
      {"adyen-environment", "PAYMENTS_ADYEN_ENVIRONMENT", "test",
       "Adyen Web's environment (test, live, live-us, ...)."},
      {"adyen-sdk-url", "PAYMENTS_ADYEN_SDK_URL",
       "https://checkoutshopper-test.adyen.com/checkoutshopper/sdk/5.68.0/adyen.js",
       "The Adyen Web script the checkout page loads."},
      {"adyen-ca-file", "PAYMENTS_ADYEN_CA_FILE", "",
       "Extra CA certificate (PEM) to trust for Adyen's TLS; verification is always on."},
      {"paypal-name", "PAYMENTS_PAYPAL_NAME", "paypal",
       "Name of the PayPal account (an intent's psp; its webhooks arrive at "
       "/v1/webhooks/<name>). The account is configured when PAYMENTS_PAYPAL_CLIENT_ID is set."},
      {"paypal-base-url", "PAYMENTS_PAYPAL_BASE_URL", "https://api-m.sandbox.paypal.com",
       "Base URL of PayPal's REST APIs (https://api-m.paypal.com live; "
       "http://HOST:PORT/paypal for the sandbox PSP)."},
      {"paypal-client-id", "PAYMENTS_PAYPAL_CLIENT_ID", "",
       "The PayPal REST app's client id (OAuth2 client credentials)."},
      {"paypal-client-secret", "PAYMENTS_PAYPAL_CLIENT_SECRET", "",
       "The PayPal REST app's client secret.", true},
      {"paypal-webhook-id", "PAYMENTS_PAYPAL_WEBHOOK_ID", "",
       "The id of the PayPal webhook subscription events are signed for; empty: PayPal webhooks "
       "are refused."},
      {"paypal-verification", "PAYMENTS_PAYPAL_VERIFICATION", "offline",
       "How PayPal webhooks are verified: offline (CRC-32 and RSA-SHA256 with PayPal's cached "
       "certificate) or api (PayPal's verify-webhook-signature call per event)."},
      {"paypal-sandbox-cert-url", "PAYMENTS_PAYPAL_SANDBOX_CERT_URL", "",
       "Development only: http://HOST:PORT of the sandbox PSP, whose self-signed webhook "
       "certificate (CN *.simulator.invalid) is then trusted from that host alone."},
      {"paypal-ca-file", "PAYMENTS_PAYPAL_CA_FILE", "",
       "Extra CA certificate (PEM) to trust for PayPal's TLS; verification is always on."},
      {"paypal-sdk-url", "PAYMENTS_PAYPAL_SDK_URL", "",
       "A PayPal script for the checkout page's front end; empty (default): the page sends the "
       "shopper to PayPal's approval page and loads no PayPal script."},
      {"paypal-payout-poll-s", "PAYMENTS_PAYPAL_PAYOUT_POLL_S",
       std::to_string(core::limits::paypal_payout_poll_s),
       "Seconds between reads of PayPal's withdrawals (Transaction Search) to book new payouts; "
       "PayPal sends no payout events."},
      {"breaker-failures", "PAYMENTS_BREAKER_FAILURES",
       std::to_string(core::limits::breaker_consecutive_failures_max),
       "Consecutive PSP failures that open the circuit breaker."},
      {"breaker-open-ms", "PAYMENTS_BREAKER_OPEN_MS", std::to_string(core::limits::breaker_open_ms),
       "How long an open breaker refuses PSP calls before a probe."},
      {"psp-concurrency-max", "PAYMENTS_PSP_CONCURRENCY_MAX",
       std::to_string(core::limits::psp_concurrency_max),
       "PSP calls in flight per PSP account; more wait in the gateway's queue (at most the "
       "default)."},
      {"request-deadline-ms", "PAYMENTS_REQUEST_DEADLINE_MS",
       std::to_string(core::limits::actor_request_timeout_ms),
       "Deadline of one API request, down to its PSP call (at most the default); a request past "
       "it answers 503 and its retry with the same key finishes the operation."},
      {"intent-idle-ms", "PAYMENTS_INTENT_IDLE_MS",
       std::to_string(core::limits::intent_actor_idle_ms),
       "Idle time after which a payment intent actor stops (it rehydrates on demand)."},
      {"intent-miss-idle-ms", "PAYMENTS_INTENT_MISS_IDLE_MS",
       std::to_string(core::limits::intent_actor_miss_idle_ms),
       "Idle time after which an intent actor holding no intent (an unknown id) stops."},
      {"idempotency-lease-ms", "PAYMENTS_IDEMPOTENCY_LEASE_MS",
       std::to_string(core::limits::http_request_deadline_ms),
       "How long a request holds its Idempotency-Key; after a crash the key resumes then."},
      {"webhook-secret", "PAYMENTS_WEBHOOK_SECRET", "",
       "Signing secret of the PSP's webhook endpoint (whsec_...).", true},
      {"webhook-secret-next", "PAYMENTS_WEBHOOK_SECRET_NEXT", "",
       "A second signing secret accepted during rotation.", true},
      {"webhook-tolerance-s", "PAYMENTS_WEBHOOK_TOLERANCE_S",
       std::to_string(core::limits::webhook_tolerance_s),
       "Largest age (or clock skew) of a webhook signature's timestamp."},
      {"webhook-attempts-max", "PAYMENTS_WEBHOOK_ATTEMPTS_MAX",
       std::to_string(core::limits::retry_attempts_max),
       "Processing attempts of one webhook event before it is dead-lettered."},
      {"webhook-backoff-base-ms", "PAYMENTS_WEBHOOK_BACKOFF_BASE_MS",
       std::to_string(core::limits::backoff_base_ms),
       "First retry delay cap of a failed event; doubles per attempt (full jitter)."},
      {"webhook-backoff-ceiling-ms", "PAYMENTS_WEBHOOK_BACKOFF_CEILING_MS",
       std::to_string(core::limits::backoff_ceiling_ms), "Largest retry delay cap."},
      {"webhook-deadline-ms", "PAYMENTS_WEBHOOK_DEADLINE_MS",
       std::to_string(core::limits::retry_deadline_ms),
       "Time after receipt when a still-failing event is dead-lettered."},
      {"stuck-intent-ms", "PAYMENTS_STUCK_INTENT_MS",
       std::to_string(core::limits::stuck_intent_idle_ms),
       "A pending intent unchanged this long is polled at the PSP (missed webhooks)."},
      {"stuck-poll-ms", "PAYMENTS_STUCK_POLL_MS", std::to_string(core::limits::stuck_poll_ms),
       "How often to look for such intents."},
      {"auth-validity", "PAYMENTS_AUTH_VALIDITY", "",
       "Authorization validity per PSP account, overriding the table (ACCOUNT=SECONDS, comma "
       "separated; at most 31 days); the PSP's own earlier deadline still wins."},
      {"auth-expiry-warning-s", "PAYMENTS_AUTH_EXPIRY_WARNING_S",
       std::to_string(core::limits::authorization_warning_lead_s),
       "Warn merchants (payment_intent.authorization_expiring) this many seconds before an "
       "authorization lapses; 0 turns the warning off."},
      {"expiry-scan-ms", "PAYMENTS_EXPIRY_SCAN_MS",
       std::to_string(core::limits::expiry_scan_period_ms),
       "How often the expiry scan looks for lapsed authorizations (100 ms up to the default)."},
      {"orphan-scan-ms", "PAYMENTS_ORPHAN_SCAN_MS",
       std::to_string(core::limits::routing_orphan_scan_period_ms),
       "How often the orphan rescan looks for routing orphans no one canceled (100 ms up to the "
       "default)."},
      {"orphan-grace-ms", "PAYMENTS_ORPHAN_GRACE_MS",
       std::to_string(core::limits::routing_orphan_grace_ms),
       "How old a failover must be before the orphan rescan takes what it left (0 up to the "
       "default)."},
      {"admin-token", "PAYMENTS_ADMIN_TOKEN", "",
       "Bearer token of the admin API (/v1/admin); unset disables it.", true},
      {"inspector-remote", "PAYMENTS_INSPECTOR_REMOTE", "false",
       "Serve the inspector console (/inspector) to non-loopback clients too (true/false)."},
      {"log-level", "PAYMENTS_LOG_LEVEL", "info", "debug, info, warn or error."},
      {"public-url", "PAYMENTS_PUBLIC_URL", "",
       "Base URL shoppers reach the hosted checkout pages at (payment links' url); "
       "default http://127.0.0.1:<port>."},
      {"checkout-psp-js", "PAYMENTS_CHECKOUT_PSP_JS", "sandbox",
       "Card form of the hosted checkout page: sandbox (the PSP sandbox's iframe) or stripe "
       "(Stripe.js Elements)."},
      {"psp-public-url", "PAYMENTS_PSP_PUBLIC_URL", "",
       "Base URL browsers reach the sandbox PSP's card iframe at; default --psp-base-url."},
      {"psp-publishable-key", "PAYMENTS_PSP_PUBLISHABLE_KEY", "",
       "The PSP account's publishable key (pk_...), handed to the checkout page."},
      {"reconciliation-time", "PAYMENTS_RECONCILIATION_TIME",
       std::string(core::limits::reconciliation_time_default),
       "UTC time of day (HH:MM or HH:MM:SS) of the daily reconciliation of the previous UTC day; "
       "\"off\" disables the schedule (on-demand runs still work)."},
      {"outbound-timeout-ms", "PAYMENTS_OUTBOUND_TIMEOUT_MS",
       std::to_string(core::limits::outbound_attempt_timeout_ms),
       "Deadline of one delivery attempt of an event to a merchant's webhook endpoint."},
      {"outbound-backoff-base-ms", "PAYMENTS_OUTBOUND_BACKOFF_BASE_MS",
       std::to_string(core::limits::outbound_backoff_base_ms),
       "First retry delay cap of a failed delivery; doubles per attempt (full jitter)."},
      {"outbound-backoff-ceiling-ms", "PAYMENTS_OUTBOUND_BACKOFF_CEILING_MS",
       std::to_string(core::limits::outbound_backoff_ceiling_ms),
       "Largest retry delay cap of a delivery."},
      {"outbound-retry-window-s", "PAYMENTS_OUTBOUND_RETRY_WINDOW_S",
       std::to_string(core::limits::outbound_retry_window_s),
       "Time after an event (or its replay) when a still-failing delivery is dead-lettered."},
      {"outbound-disable-after-s", "PAYMENTS_OUTBOUND_DISABLE_AFTER_S",
       std::to_string(core::limits::outbound_endpoint_disable_after_s),
       "An endpoint whose deliveries fail this long without a success is disabled."},
      {"outbound-poll-ms", "PAYMENTS_OUTBOUND_POLL_MS",
       std::to_string(core::limits::outbound_poll_ms),
       "How often the delivery supervisor looks for due deliveries."},
      {"intent-actors-per-merchant", "PAYMENTS_INTENT_ACTORS_PER_MERCHANT",
       std::to_string(core::limits::intent_actors_per_merchant_max),
       "Live payment intent actors one merchant's requests may hold (beyond: 503, retry)."},
      {"api-rate-burst", "PAYMENTS_API_RATE_BURST", std::to_string(core::limits::api_rate_burst),
       "API requests one merchant may make in a burst (token bucket size)."},
      {"api-rate-refill-ms", "PAYMENTS_API_RATE_REFILL_MS",
       std::to_string(core::limits::api_rate_refill_ms),
       "Milliseconds per API request token a merchant regains."},
      {"public-rate-burst", "PAYMENTS_PUBLIC_RATE_BURST",
       std::to_string(core::limits::public_rate_burst),
       "Hosted checkout page requests one client address may make in a burst."},
      {"public-rate-refill-ms", "PAYMENTS_PUBLIC_RATE_REFILL_MS",
       std::to_string(core::limits::public_rate_refill_ms),
       "Milliseconds per checkout page token a client address regains."},
      {"session-rate-burst", "PAYMENTS_SESSION_RATE_BURST",
       std::to_string(core::limits::session_rate_burst),
       "Checkout sessions one client address may start in a burst."},
      {"session-rate-refill-ms", "PAYMENTS_SESSION_RATE_REFILL_MS",
       std::to_string(core::limits::session_rate_refill_ms),
       "Milliseconds per checkout session token a client address regains."},
      {"connections-per-address", "PAYMENTS_CONNECTIONS_PER_ADDRESS",
       std::to_string(core::limits::http_connections_per_address_max),
       "Connections one client address may hold open at once."},
      {"header-deadline-ms", "PAYMENTS_HEADER_DEADLINE_MS",
       std::to_string(core::limits::http_header_deadline_ms),
       "Time a connection gets to send a complete request head."},
      {"metrics-token", "PAYMENTS_METRICS_TOKEN", "",
       "Bearer token GET /metrics requires; unset leaves /metrics open to whoever reaches the "
       "listener.",
       true},
      {"tls-cert-file", "PAYMENTS_TLS_CERT_FILE", "",
       "Certificate chain (PEM) of the engine's own TLS listener; with --tls-key-file the "
       "listener speaks TLS 1.2+ only and sends HSTS."},
      {"tls-key-file", "PAYMENTS_TLS_KEY_FILE", "",
       "Private key (PEM) of the TLS listener (a path: the key stays in its file)."},
      {"actor-scheduler", "PAYMENTS_ACTOR_SCHEDULER", "sharing",
       "Actor scheduler: sharing (threads sleep on one queue until work comes) or stealing "
       "(CAF's work stealing; idle threads poll every 50 us, which costs CPU on small machines)."},
  };
}

/// Connects and migrates, retrying with backoff while the database is not
/// up yet, for at most `wait_ms`.
bool migrate_at_startup(const std::string& url, std::int64_t wait_ms) {
  core::backoff_policy policy{core::limits::db_reconnect_backoff_base_ms,
                              core::limits::db_reconnect_backoff_ceiling_ms, 0, 0};
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (std::uint32_t attempt = 0;; ++attempt) {
    auto conn = storage::pg_connection::connect(url);
    if (conn) {
      auto report = storage::apply_migrations(*conn, storage::embedded_migrations());
      if (!report) {
        core::log::error("migration failed", {{"error", report.err().message}});
        return false;
      }
      std::string applied;
      for (int v : report->applied) applied += (applied.empty() ? "" : ",") + std::to_string(v);
      core::log::info("schema ready", {{"schema_version", std::to_string(report->schema_version)},
                                       {"applied_now", applied.empty() ? "none" : applied}});
      return true;
    }
    auto delay = core::backoff_cap_ms(policy, attempt);
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(delay) > until) {
      core::log::error("database unreachable at start-up",
                       {{"error", conn.err().message}, {"url", storage::redact_url(url)}});
      return false;
    }
    core::log::warn("waiting for the database", {{"error", conn.err().message}});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
}

int run(const core::option_values& opts) {
  const auto& url = opts.get("database-url");
  if (url.empty()) {
    core::log::error("no database configured: set PAYMENTS_DATABASE_URL or --database-url-file");
    return 2;
  }
  if (const auto& js = opts.get("checkout-psp-js"); js != "sandbox" && js != "stripe") {
    core::log::error("bad --checkout-psp-js: use sandbox or stripe", {{"given", js}});
    return 2;
  }
  if (const auto& token = opts.get("admin-token");
      !token.empty() && token.size() < core::limits::admin_token_length_min) {
    core::log::error("the admin token is too short: use at least " +
                         std::to_string(core::limits::admin_token_length_min) +
                         " random characters (e.g. openssl rand -hex 32), or leave it unset to "
                         "disable the admin API",
                     {{"length", std::to_string(token.size())}});
    return 2;
  }
  if (!migrate_at_startup(url, opts.get_int("startup-db-wait-ms"))) return 1;

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(opts.get_int("actor-threads")));
  cfg.set("scheduler.policy",
          opts.get("actor-scheduler") == "stealing" ? caf::atom("stealing") : caf::atom("sharing"));
  cfg.add_error_category(actors::error_category,
                         [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return actors::render_caf_error(code, ctx);
                         });
  caf::actor_system sys{cfg};

  // The PSP accounts by name (core/psp_provider.hpp). Today one, in Stripe's
  // wire format; another PSP is one more provider added here.
  auto psps = std::make_shared<core::psp_registry>();
  try {
    psp::stripe_provider_options o;
    o.name = opts.get("psp");
    o.api.base_url = opts.get("psp-base-url");
    o.api.secret_key = opts.get("psp-secret-key");
    o.api.ca_file = opts.get("psp-ca-file");
    o.api.threads =
        static_cast<unsigned>(std::clamp<std::int64_t>(opts.get_int("psp-threads"), 1, 16));
    for (const auto* name : {"webhook-secret", "webhook-secret-next"})
      if (!opts.get(name).empty()) o.webhook_secrets.push_back(opts.get(name));
    o.webhook_tolerance_s = std::max<std::int64_t>(1, opts.get_int("webhook-tolerance-s"));
    o.checkout_js = opts.get("checkout-psp-js") == "stripe" ? psp::stripe_checkout_js::stripe
                                                            : psp::stripe_checkout_js::sandbox;
    o.sandbox_public_url =
        opts.get("psp-public-url").empty() ? opts.get("psp-base-url") : opts.get("psp-public-url");
    o.publishable_key = opts.get("psp-publishable-key");
    std::vector<std::string> aliases;
    for (std::string_view rest = opts.get("psp-aliases"); !rest.empty();) {
      auto comma = rest.find(',');
      auto alias = std::string(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (!alias.empty() && alias != o.name) aliases.push_back(std::move(alias));
    }
    if (!psps->add(psp::make_stripe_provider(std::move(o)), aliases))
      throw std::invalid_argument("PSP names and aliases must be distinct and not empty");
    if (!opts.get("adyen-api-key").empty()) {
      psp::adyen_provider_options a;
      a.name = opts.get("adyen-name");
      a.api.base_url = opts.get("adyen-base-url");
      a.api.live_prefix = opts.get("adyen-live-prefix");
      a.api.api_key = opts.get("adyen-api-key");
      a.api.merchant_account = opts.get("adyen-merchant-account");
      a.api.ca_file = opts.get("adyen-ca-file");
      a.api.threads = o.api.threads;
      for (const auto* name : {"adyen-hmac-key", "adyen-hmac-key-previous"})
        if (!opts.get(name).empty()) a.hmac_keys.push_back(opts.get(name));
      a.client_key = opts.get("adyen-client-key");
      a.environment = opts.get("adyen-environment");
      a.sdk_url = opts.get("adyen-sdk-url");
      if (!psps->add(psp::make_adyen_provider(std::move(a))))
        throw std::invalid_argument("the Adyen account's name is taken or empty");
    }
    if (!opts.get("paypal-client-id").empty()) {
      psp::paypal_provider_options p;
      p.name = opts.get("paypal-name");
      p.api.base_url = opts.get("paypal-base-url");
      p.api.client_id = opts.get("paypal-client-id");
      p.api.client_secret = opts.get("paypal-client-secret");
      p.api.ca_file = opts.get("paypal-ca-file");
      p.api.threads = o.api.threads;
      p.webhook_id = opts.get("paypal-webhook-id");
      const auto& verification = opts.get("paypal-verification");
      if (verification != "offline" && verification != "api")
        throw std::invalid_argument("--paypal-verification must be offline or api");
      p.verify =
          verification == "api" ? psp::paypal_verification::api : psp::paypal_verification::offline;
      if (const auto& sandbox = opts.get("paypal-sandbox-cert-url"); !sandbox.empty()) {
        // The sandbox PSP signs with its own self-signed certificate: no
        // chain to a root; trusted because its host alone is allow-listed.
        p.cert_hosts = {sandbox};
        p.cert_chain_check = false;
        p.cert_cn_suffix = ".simulator.invalid";
      }
      p.sdk_url = opts.get("paypal-sdk-url");
      if (!psps->add(psp::make_paypal_provider(std::move(p))))
        throw std::invalid_argument("the PayPal account's name is taken or empty");
    }
  } catch (const std::exception& e) {
    core::log::error("bad PSP configuration", {{"error", e.what()}});
    return 2;
  }

  net::api_actors handles;
  handles.system = &sys;
  auto connections = std::clamp<std::int64_t>(opts.get_int("storage-connections"), 1,
                                              core::limits::storage_connections_max);
  auto routing_rules = actors::make_routing_rules_cache();
  for (std::int64_t i = 0; i < connections; ++i)
    handles.storage.push_back(actors::spawn_storage_actor(sys, url, routing_rules));
  // One gateway (breaker, in-flight limit, metrics) per PSP account.
  actors::gateway_set gateways;
  for (const auto& name : psps->names()) {
    actors::gateway_config gateway_cfg;
    gateway_cfg.psp = name;
    gateway_cfg.breaker.consecutive_failures_max =
        static_cast<std::uint32_t>(std::max<std::int64_t>(1, opts.get_int("breaker-failures")));
    gateway_cfg.breaker.open_ms = std::max<std::int64_t>(1, opts.get_int("breaker-open-ms"));
    gateway_cfg.concurrency_max = static_cast<std::size_t>(
        std::clamp<std::int64_t>(opts.get_int("psp-concurrency-max"), 1,
                                 static_cast<std::int64_t>(core::limits::psp_concurrency_max)));
    gateways.emplace(name,
                     actors::spawn_gateway_actor(sys, gateway_cfg, psps->find(name)->connector));
  }
  auto stop_gateways = [&gateways] {
    for (auto& [name, g] : gateways) caf::anon_send_exit(g, caf::exit_reason::user_shutdown);
  };
  // When authorisations lapse: the table (core/authorization_expiry.cpp),
  // the operator's overrides per account, and the warning lead time.
  auto overrides = core::parse_validity_overrides(opts.get("auth-validity"));
  if (!overrides) {
    core::log::error("bad --auth-validity", {{"error", overrides.err().message}});
    for (auto& s : handles.storage) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    stop_gateways();
    return 2;
  }
  std::map<std::string, core::authorization_window, std::less<>> account_windows;
  for (const auto& name : psps->names())
    if (const auto& w = psps->find(name)->auth_window) account_windows.emplace(name, *w);
  const auto warning_lead_s = std::clamp<std::int64_t>(opts.get_int("auth-expiry-warning-s"), 0,
                                                       core::limits::authorization_validity_max_s);
  auto expiry_policy = std::make_shared<const core::authorization_expiry_policy>(
      std::move(*overrides), std::move(account_windows), warning_lead_s);
  actors::router_config router_cfg;
  router_cfg.expiry = expiry_policy;
  router_cfg.idle_ms = std::max<std::int64_t>(1, opts.get_int("intent-idle-ms"));
  router_cfg.miss_idle_ms = std::max<std::int64_t>(1, opts.get_int("intent-miss-idle-ms"));
  router_cfg.actors_per_merchant_max = static_cast<std::size_t>(
      std::max<std::int64_t>(1, opts.get_int("intent-actors-per-merchant")));
  handles.router = actors::spawn_intent_router(sys, handles.storage, gateways, router_cfg);
  handles.gateways = gateways;
  actors::webhook_worker_config worker_cfg;
  worker_cfg.retry.attempts_max = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(opts.get_int("webhook-attempts-max"), 1, 100));
  worker_cfg.retry.base_ms = std::max<std::int64_t>(1, opts.get_int("webhook-backoff-base-ms"));
  worker_cfg.retry.ceiling_ms =
      std::max(worker_cfg.retry.base_ms, opts.get_int("webhook-backoff-ceiling-ms"));
  worker_cfg.retry.deadline_ms = std::max<std::int64_t>(1, opts.get_int("webhook-deadline-ms"));
  worker_cfg.stuck_idle_ms = std::max<std::int64_t>(1, opts.get_int("stuck-intent-ms"));
  worker_cfg.stuck_poll_ms = std::max<std::int64_t>(10, opts.get_int("stuck-poll-ms"));
  worker_cfg.gateways = gateways;  // to look up PSP intents it does not know (foreign events)
  // One settlement actor per PSP account; the API's reconciliation routes
  // serve the account new intents go to.
  for (const auto& name : psps->names()) {
    actors::settlement_config settlement_cfg;
    settlement_cfg.psp = name;
    settlement_cfg.database_url = url;
    // PayPal announces no withdrawals: its settlement actor reads them.
    if (psps->find(name) != nullptr && psps->find(name)->kind == "paypal")
      settlement_cfg.payout_poll_s =
          std::max<std::int64_t>(1, opts.get_int("paypal-payout-poll-s"));
    worker_cfg.settlements.emplace(
        name, actors::spawn_settlement_actor(sys, settlement_cfg, gateways.at(name)));
  }
  for (const auto& [name, s] : worker_cfg.settlements) handles.settlements.emplace(name, s);
  auto stop_settlements = [&worker_cfg] {
    for (auto& [name, s] : worker_cfg.settlements)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  };
  std::vector<actors::reconciliation_scheduler_actor> schedulers;
  if (opts.get("reconciliation-time") != "off") {
    auto at = core::parse_time_of_day(opts.get("reconciliation-time"));
    if (!at) {
      core::log::error("bad PAYMENTS_RECONCILIATION_TIME: want HH:MM[:SS] (UTC) or off",
                       {{"value", opts.get("reconciliation-time")}});
      for (auto& s : handles.storage) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
      stop_settlements();
      caf::anon_send_exit(handles.router, caf::exit_reason::user_shutdown);
      stop_gateways();
      return 2;
    }
    // One daily reconciliation per PSP account.
    for (const auto& [name, s] : worker_cfg.settlements)
      schedulers.push_back(
          actors::spawn_reconciliation_scheduler(sys, s, actors::scheduler_config{*at, name}));
  }
  handles.worker = actors::spawn_supervised_webhook_worker(sys, handles.storage.front(),
                                                           handles.router, psps, worker_cfg);
  actors::expiry_scan_config expiry_cfg;
  expiry_cfg.database_url = url;
  expiry_cfg.period_ms = std::clamp<std::int64_t>(opts.get_int("expiry-scan-ms"), 100,
                                                  core::limits::expiry_scan_period_ms);
  expiry_cfg.warning_lead_s = warning_lead_s;
  auto expiry_scan = actors::spawn_expiry_scan(sys, handles.router, expiry_cfg);
  actors::orphan_rescan_config orphan_cfg;
  orphan_cfg.database_url = url;
  orphan_cfg.period_ms = std::clamp<std::int64_t>(opts.get_int("orphan-scan-ms"), 100,
                                                  core::limits::routing_orphan_scan_period_ms);
  orphan_cfg.grace_ms = std::clamp<std::int64_t>(opts.get_int("orphan-grace-ms"), 0,
                                                 core::limits::routing_orphan_grace_ms);
  auto orphan_rescan = actors::spawn_orphan_rescan(sys, gateways, orphan_cfg);

  // Outbound webhooks: one store for the routes, one for the deliveries (so
  // a busy outbox never queues merchants' requests), and the supervisor.
  // Configuration may lower the limits, never raise them.
  actors::outbound::delivery_config delivery_cfg;
  auto& policy = delivery_cfg.policy;
  auto within = [&opts](const char* name, std::int64_t lo, std::int64_t hi) {
    return std::clamp<std::int64_t>(opts.get_int(name), lo, hi);
  };
  policy.attempt_timeout_ms =
      within("outbound-timeout-ms", 1, core::limits::outbound_attempt_timeout_ms);
  policy.backoff_base_ms =
      within("outbound-backoff-base-ms", 1, core::limits::outbound_backoff_base_ms);
  policy.backoff_ceiling_ms = within("outbound-backoff-ceiling-ms", policy.backoff_base_ms,
                                     core::limits::outbound_backoff_ceiling_ms);
  policy.retry_window_s =
      within("outbound-retry-window-s", 1, core::limits::outbound_retry_window_s);
  policy.disable_after_s =
      within("outbound-disable-after-s", 1, core::limits::outbound_endpoint_disable_after_s);
  policy.poll_ms = within("outbound-poll-ms", 10, core::limits::outbound_poll_ms);
  // A claim outlives its attempt's deadline with room to record the result;
  // a shorter deadline shortens how long a crashed engine's claims wait.
  policy.lease_ms =
      std::min(core::limits::outbound_lease_ms, 3 * policy.attempt_timeout_ms + 2'000);
  handles.outbound_store = actors::outbound::spawn_store(sys, url);
  auto delivery_store = actors::outbound::spawn_store(sys, url);
  auto poster = std::make_shared<net::http_outbound_poster>(net::http_client_options{});
  handles.outbound_supervisor =
      actors::outbound::spawn_delivery_supervisor(sys, delivery_store, poster, delivery_cfg);
  auto stop_outbound = [&] {
    caf::anon_send_exit(handles.outbound_supervisor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(handles.outbound_store, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(delivery_store, caf::exit_reason::user_shutdown);
  };

  net::http_server_options server_opts;
  server_opts.address = opts.get("listen");
  server_opts.port = static_cast<std::uint16_t>(opts.get_int("port"));
  server_opts.threads =
      static_cast<unsigned>(std::max<std::int64_t>(1, opts.get_int("http-threads")));
  server_opts.server_name = "paymentsd";
  server_opts.tls_cert_file = opts.get("tls-cert-file");
  server_opts.tls_key_file = opts.get("tls-key-file");
  server_opts.render_error = [](int status, std::string_view code, std::string_view message) {
    return net::error_response(status, status >= 500 ? "api_error" : "invalid_request_error", code,
                               message);
  };
  net::api_options api_opts;
  api_opts.psp_name = opts.get("psp");
  api_opts.psps = psps;
  api_opts.admin_token = opts.get("admin-token");
  api_opts.inspector_remote = opts.get("inspector-remote") == "true";
  api_opts.idempotency_lease_ms = std::clamp<std::int64_t>(opts.get_int("idempotency-lease-ms"), 1,
                                                           core::limits::http_request_deadline_ms);
  api_opts.public_url = opts.get("public-url");
  api_opts.request_deadline_ms = std::clamp<std::int64_t>(opts.get_int("request-deadline-ms"),
                                                          core::limits::psp_call_time_min_ms,
                                                          core::limits::actor_request_timeout_ms);
  auto rate = [&opts](const char* burst, const char* refill) {
    return core::rate_limit{std::max<std::int64_t>(1, opts.get_int(burst)),
                            std::max<std::int64_t>(1, opts.get_int(refill))};
  };
  api_opts.api_rate = rate("api-rate-burst", "api-rate-refill-ms");
  api_opts.public_rate = rate("public-rate-burst", "public-rate-refill-ms");
  api_opts.session_rate = rate("session-rate-burst", "session-rate-refill-ms");
  api_opts.metrics_token = opts.get("metrics-token");
  server_opts.connections_per_address_max =
      static_cast<std::size_t>(std::max<std::int64_t>(1, opts.get_int("connections-per-address")));
  server_opts.header_deadline_ms = std::max<std::int64_t>(100, opts.get_int("header-deadline-ms"));
  auto bound_port = api_opts.bound_port;
  net::http_server server{server_opts, net::make_api_handler(handles, api_opts)};
  if (auto err = server.start(); !err.empty()) {
    core::log::error("cannot listen", {{"error", err}});
    stop_outbound();
    caf::anon_send_exit(handles.worker, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(expiry_scan, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(orphan_rescan, caf::exit_reason::user_shutdown);
    for (auto& s : schedulers) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    stop_settlements();
    caf::anon_send_exit(handles.router, caf::exit_reason::user_shutdown);
    stop_gateways();
    for (auto& s : handles.storage) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto port = std::to_string(server.port());
  bound_port->store(server.port());
  if (const auto& file = opts.get("port-file"); !file.empty()) {
    std::ofstream out(file + ".tmp");
    out << port << "\n";
    out.close();
    std::rename((file + ".tmp").c_str(), file.c_str());
  }
  core::log::info("listening", {{"address", server_opts.address}, {"port", port}});

  // SIGINT/SIGTERM were blocked in main before any thread started; wait here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  core::log::info("shutting down", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"},
                                    {"in_flight", std::to_string(server.requests_in_flight())}});
  server.stop(std::clamp<std::int64_t>(opts.get_int("drain-ms"), 0, core::limits::http_drain_ms));
  stop_outbound();
  caf::anon_send_exit(handles.worker, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(expiry_scan, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(orphan_rescan, caf::exit_reason::user_shutdown);
  for (auto& s : schedulers) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  stop_settlements();
  caf::anon_send_exit(handles.router, caf::exit_reason::user_shutdown);
  stop_gateways();
  for (auto& s : handles.storage) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  handles.storage.clear();
  core::log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A process started in the background by a shell inherits SIGINT as
  // ignored, and an ignored signal never reaches sigwait: restore the
  // defaults, then block the stop signals in every thread; run() waits for
  // them with sigwait.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  pay::core::log::set_program("paymentsd");
  auto specs = option_specs();
  auto opts = pay::core::parse_options(specs, {argv + 1, argv + argc}, pay::core::process_env);
  if (!opts) {
    std::cerr << "paymentsd: " << opts.err().message << "\n(see paymentsd --help)\n";
    return 2;
  }
  if (opts->help_requested()) {
    std::cout << pay::core::render_help("paymentsd",
                                        "The payments engine: checkout API, PSP webhooks, "
                                        "ledger and inspector.",
                                        specs);
    return 0;
  }
  pay::core::log::set_threshold(pay::core::log::parse_level(opts->get("log-level")));
  return run(*opts);
}
