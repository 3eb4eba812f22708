#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/outbound_interfaces.hpp"
#include "core/limits.hpp"
#include "core/psp_provider.hpp"
#include "core/rate_limiter.hpp"
#include "net/http_types.hpp"

namespace pay::net {

/// What the API routes need from the rest of the engine.
struct api_actors {
  caf::actor_system* system = nullptr;
  /// Storage actors, used round-robin; at least one.
  std::vector<actors::storage_actor> storage;
  /// Routes commands to payment intent actors.
  actors::intent_router_actor router;
  /// Processes the webhook inbox; woken on every new event.
  actors::webhook_worker_actor worker;
  /// Books payouts and runs reconciliations, one per PSP account by name;
  /// none: /v1/admin/reconciliation answers 503.
  std::map<std::string, actors::settlement_actor, std::less<>> settlements;
  /// The PSP gateways by account name: the dispute routes send evidence
  /// through the gateway of the dispute's PSP; none: evidence answers 503.
  actors::gateway_set gateways;
  /// Outbound webhooks: the store the merchant's endpoint and event routes
  /// use, and the delivery supervisor a replay wakes; unset: those routes
  /// answer 503.
  actors::outbound::store_actor outbound_store;
  actors::outbound::supervisor_actor outbound_supervisor;
};

/// Settings of the HTTP API.
struct api_options {
  /// Name of the PSP account new intents go to.
  std::string psp_name = "sandbox";
  /// The configured PSPs by name: webhooks (POST /v1/webhooks/{psp}) and the
  /// checkout page's card form come from here.
  std::shared_ptr<const core::psp_registry> psps = std::make_shared<core::psp_registry>();
  /// How long a request holds its Idempotency-Key; a crashed request's key
  /// is resumable after this.
  std::int64_t idempotency_lease_ms = core::limits::http_request_deadline_ms;
  /// Each API request's deadline, from its arrival: every hop (storage,
  /// intent actor, PSP gateway and the PSP call) waits at most until then.
  std::int64_t request_deadline_ms = core::limits::actor_request_timeout_ms;
  /// Bearer token of /v1/admin/...; empty disables the admin API.
  std::string admin_token;
  /// Base URL shoppers reach the engine's hosted pages at (payment links'
  /// `url`); empty: http://127.0.0.1:<bound port>.
  std::string public_url;
  /// The port the server bound, stored once it listens (for the default
  /// public URL when the port was chosen by the system).
  std::shared_ptr<std::atomic<std::uint16_t>> bound_port =
      std::make_shared<std::atomic<std::uint16_t>>(0);
  /// Serve the inspector console (/inspector) to non-loopback peers too.
  bool inspector_remote = false;
  /// Requests per merchant on the authenticated API.
  core::rate_limit api_rate{core::limits::api_rate_burst, core::limits::api_rate_refill_ms};
  /// Public hosted-checkout reads per client address.
  core::rate_limit public_rate{core::limits::public_rate_burst,
                               core::limits::public_rate_refill_ms};
  /// Checkout session creates per client address.
  core::rate_limit session_rate{core::limits::session_rate_burst,
                                core::limits::session_rate_refill_ms};
  /// Keys each limiter tracks at most.
  std::size_t rate_limit_keys_max = core::limits::rate_limit_keys_max;
  /// Bearer token GET /metrics requires; empty: /metrics is open (to those
  /// who can reach the listener).
  std::string metrics_token;
};

/// Builds the engine's request handler: health and readiness probes, bearer
/// authentication of merchants, and the /v1 routes. Every answer carries a
/// Request-Id (taken from X-Request-Id when the client sent a sane one).
/// The handler never blocks: work goes to actors through net::ask.
request_handler make_api_handler(api_actors actors, api_options options);

}  // namespace pay::net
