#include "actors/engine_metrics.hpp"

#include <chrono>

#include "core/payment_outcome.hpp"

namespace pay::actors::metrics {

engine_metrics::engine_metrics()
    : http_requests(registry.add_counter("payments_http_requests_total",
                                         "HTTP requests answered, by route pattern, method and "
                                         "status code.",
                                         {"route", "method", "status"})),
      http_request_duration(registry.add_histogram(
          "payments_http_request_duration_seconds",
          "Time from a parsed HTTP request to its answer, by route pattern and method.",
          {"route", "method"}, m::latency_buckets_seconds())),
      payment_outcomes(registry.add_counter(
          "payments_payment_outcomes_total",
          "Payment outcomes committed by the intent actors, by PSP, currency and outcome "
          "(authorized, captured, declined, failed, canceled, refunded, expired).",
          {"psp", "currency", "outcome"})),
      psp_call_duration(registry.add_histogram(
          "payments_psp_call_duration_seconds",
          "Latency of calls made to the PSP (until its answer or the call deadline), by PSP "
          "and operation.",
          {"psp", "operation"}, m::latency_buckets_seconds())),
      psp_call_errors(registry.add_counter(
          "payments_psp_call_errors_total",
          "PSP calls that failed, by PSP, operation and kind (retryable: timeout, 5xx, 429, "
          "connection; rejected: other 4xx; declined: card declines).",
          {"psp", "operation", "kind"})),
      psp_calls_refused(registry.add_counter(
          "payments_psp_calls_refused_total",
          "PSP calls the gateway refused without calling the PSP, by PSP and reason "
          "(circuit_open, busy, deadline: the request's deadline passed first).",
          {"psp", "reason"})),
      breaker_trips(registry.add_counter("payments_psp_circuit_breaker_trips_total",
                                         "Times the PSP's circuit breaker opened.", {"psp"})),
      routing_decisions(registry.add_counter(
          "payments_routing_decisions_total",
          "Routed creates by the PSP that made the intent and why it was chosen (rule, "
          "default_list, merchant_default, failover).",
          {"psp", "reason"})),
      routing_failovers(registry.add_counter(
          "payments_routing_failovers_total",
          "Creates that left a PSP for the next of their list, by the PSP left, the next and "
          "the reason (breaker_open, busy, unreachable, timeout, server_error).",
          {"psp", "to", "reason"})),
      routing_orphans(registry.add_gauge(
          "payments_routing_orphans",
          "Routing orphans (what a failed-over create may have left at a PSP) as the last orphan "
          "rescan counted them, by state: found, canceled, expires, none (handled, by outcome) "
          "and pending (still to find and cancel).",
          {"state"})),
      routing_orphan_passes(registry.add_counter(
          "payments_routing_orphan_passes_total",
          "Passes of the orphan rescan over one routing orphan, by the orphan's PSP and result "
          "(handled: recorded; retry: a retryable failure, tried again after backoff).",
          {"psp", "result"})),
      webhook_receive_duration(
          registry.add_histogram("payments_webhook_receive_duration_seconds",
                                 "Time to verify and store a PSP webhook and answer it, by PSP.",
                                 {"psp"}, m::latency_buckets_seconds())),
      webhook_processing_duration(registry.add_histogram(
          "payments_webhook_processing_duration_seconds",
          "Time from receipt (or replay) of a webhook event until it is processed, retries "
          "included, by PSP.",
          {"psp"}, {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600})),
      webhook_duplicates(registry.add_counter(
          "payments_webhook_duplicates_total",
          "Webhook events received again (same PSP event id) and acknowledged without effect.",
          {"psp"})),
      webhook_signature_failures(registry.add_counter(
          "payments_webhook_signature_failures_total",
          "Webhooks refused because their signature did not verify, by PSP and reason.",
          {"psp", "reason"})),
      webhook_invalid_events(registry.add_counter(
          "payments_webhook_invalid_events_total",
          "Signed webhook bodies that are not events (no id, type or data.object.id).", {"psp"})),
      webhook_retries(registry.add_counter(
          "payments_webhook_retries_total",
          "Failed processing attempts of webhook events scheduled for a retry.", {"psp"})),
      webhook_dead_lettered(registry.add_counter(
          "payments_webhook_dead_lettered_total",
          "Webhook events moved to the dead letters after their retries were spent.", {"psp"})),
      webhook_foreign(registry.add_counter(
          "payments_webhook_foreign_total",
          "Webhook events about PSP intents that are not the engine's (another system on the "
          "same PSP account), recorded as foreign and not retried.",
          {"psp"})),
      scrape_errors(registry.add_counter(
          "payments_scrape_errors_total",
          "Reads made while serving /metrics that failed or missed their deadline; the series "
          "they feed are left out of that scrape.",
          {"source"})),
      intent_actors_passivated(registry.add_counter(
          "payments_intent_actors_passivated_total",
          "Idle intent actors stopped early to make room for a request's actor, by the bound "
          "that was reached (merchant: the merchant's live actors; total: the engine's).",
          {"bound"})),
      rate_limited(registry.add_counter(
          "payments_rate_limited_total",
          "Requests refused with 429 by a rate limit, by scope (api: per merchant; public: "
          "checkout pages per client address; session: checkout session creates per client "
          "address).",
          {"scope"})),
      authorization_expiries(registry.add_counter(
          "payments_authorization_expiries_total",
          "Authorizations recorded as expired, by PSP and source (engine_timer: the engine's "
          "expiry scan voided it; psp_event: the PSP expired it and said so).",
          {"psp", "source"})),
      authorizations_expiring(registry.add_gauge(
          "payments_authorizations_expiring",
          "Authorized intents whose authorization lapses within the warning lead time, as the "
          "last expiry scan counted them.")) {}

engine_metrics& engine() {
  static engine_metrics instance;
  return instance;
}

void count_committed(const core::payment_intent* before, const storage::intent_write& w,
                     std::string& failure_counted) {
  auto& outcomes = engine().payment_outcomes;
  for (const auto& a : w.audit) {
    auto outcome = core::payment_outcome_of(a);
    if (!outcome.empty()) outcomes.with({w.intent.psp, w.intent.currency, outcome}).inc();
    if (a.to == core::intent_status::expired && a.from != core::intent_status::expired)
      engine()
          .authorization_expiries
          .with({w.intent.psp, a.actor == "scheduler" ? "engine_timer" : "psp_event"})
          .inc();
  }
  if (!w.touch_intent) return;
  if (auto failure = core::failure_outcome_of(before, w.intent, failure_counted);
      !failure.empty()) {
    outcomes.with({w.intent.psp, w.intent.currency, failure}).inc();
    failure_counted = *w.intent.last_payment_error_json;
  }
}

void observe_psp_call(std::string_view psp, std::string_view operation, double seconds,
                      const core::psp_failure* failure) {
  auto& e = engine();
  e.psp_call_duration.with({psp, operation}).observe(seconds);
  if (failure != nullptr)
    e.psp_call_errors.with({psp, operation, core::to_string(failure->kind)}).inc();
}

void webhook_processed(const storage::inbox_row& row) {
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto age_ms = now_ms > row.received_ms ? now_ms - row.received_ms : 0;
  engine().webhook_processing_duration.with({row.psp}).observe(static_cast<double>(age_ms) / 1000);
}

}  // namespace pay::actors::metrics
