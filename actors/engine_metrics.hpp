#pragma once

#include <string_view>

#include "core/metrics.hpp"
#include "core/psp.hpp"
#include "storage/inbox.hpp"
#include "storage/intents.hpp"

/// The engine's metric families, in one process-wide registry (as every
/// Prometheus client keeps one): the instrumented code updates them with one
/// line per site, and GET /metrics renders them with the values read at
/// scrape time (net/metrics_routes.cpp). docs/operations.md lists them all.
namespace pay::actors::metrics {

namespace m = core::metrics;

/// Every family the engine updates as it works.
struct engine_metrics {
  engine_metrics();

  m::registry registry;
  /// route (pattern, never the raw path), method, status.
  m::counter_family& http_requests;
  /// route, method.
  m::histogram_family& http_request_duration;
  /// psp, currency, outcome (authorized, captured, declined, failed,
  /// canceled, refunded, expired).
  m::counter_family& payment_outcomes;
  /// psp, operation: every call that reached the PSP (or its timeout).
  m::histogram_family& psp_call_duration;
  /// psp, operation, kind (retryable, rejected, declined).
  m::counter_family& psp_call_errors;
  /// psp, reason (circuit_open, busy, deadline): calls the gateway refused itself.
  m::counter_family& psp_calls_refused;
  /// psp.
  m::counter_family& breaker_trips;
  /// psp, reason (rule, default_list, merchant_default, failover): the PSP
  /// each routed create was made at.
  m::counter_family& routing_decisions;
  /// psp (the one left), to, reason (breaker_open, busy, unreachable,
  /// timeout, server_error).
  m::counter_family& routing_failovers;
  /// state (found, canceled, expires, none, pending): routing orphans as the
  /// last orphan rescan counted them (actors/orphan_rescan.hpp).
  m::gauge_family& routing_orphans;
  /// psp, result (handled, retry): passes of the orphan rescan over one orphan.
  m::counter_family& routing_orphan_passes;
  /// psp: signature check to answer of POST /v1/webhooks/{psp}.
  m::histogram_family& webhook_receive_duration;
  /// psp: receipt to processed, retries included.
  m::histogram_family& webhook_processing_duration;
  /// psp.
  m::counter_family& webhook_duplicates;
  /// psp, reason (the signature verdict).
  m::counter_family& webhook_signature_failures;
  /// psp.
  m::counter_family& webhook_invalid_events;
  /// psp.
  m::counter_family& webhook_retries;
  /// psp.
  m::counter_family& webhook_dead_lettered;
  m::counter_family& webhook_foreign;
  /// source (inbox_stats, trial_balance, actor_census, gateway, reconciliation).
  m::counter_family& scrape_errors;
  /// bound (merchant, total): idle intent actors stopped to make room for a
  /// request's actor.
  m::counter_family& intent_actors_passivated;
  /// scope (api, public, session): requests refused with 429.
  m::counter_family& rate_limited;
  /// psp, source (engine_timer: the expiry scan; psp_event: the PSP's own
  /// expiry, told by its event or read).
  m::counter_family& authorization_expiries;
  /// Authorised intents lapsing within the warning lead time, as the last
  /// expiry scan counted them.
  m::gauge_family& authorizations_expiring;
};

/// The process's metrics.
engine_metrics& engine();

/// Counts the payment outcomes a committed intent write made, `before` being
/// the intent it changed (null for a create): call it once the write is
/// acknowledged, never before (a refused write changed nothing). The
/// outcomes are core::payment_outcome_of and core::failure_outcome_of.
/// `failure_counted` is the intent actor's memory of the last payment error it
/// counted (updated here).
void count_committed(const core::payment_intent* before, const storage::intent_write& w,
                     std::string& failure_counted);

/// Records one PSP call that reached the PSP: its latency and, if it
/// failed, the failure's kind.
void observe_psp_call(std::string_view psp, std::string_view operation, double seconds,
                      const core::psp_failure* failure);

/// Records that an event is processed (applied or recorded): the time since
/// the engine received it.
void webhook_processed(const storage::inbox_row& row);

}  // namespace pay::actors::metrics
