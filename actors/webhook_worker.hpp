#pragma once

#include <caf/fwd.hpp>

#include <map>
#include <memory>
#include <string>
#include "actors/interfaces.hpp"
#include "core/backoff.hpp"

#include "core/psp_provider.hpp"

namespace pay::actors {

/// How the worker claims, retries and polls.
struct webhook_worker_config {
  std::size_t batch_max = core::limits::inbox_batch_max;
  std::int64_t lease_ms = core::limits::inbox_lease_ms;
  std::int64_t poll_ms = core::limits::inbox_poll_ms;
  core::backoff_policy retry{};  ///< attempts, base, ceiling, deadline of event processing
  std::int64_t stuck_idle_ms = core::limits::stuck_intent_idle_ms;
  std::int64_t stuck_poll_ms = core::limits::stuck_poll_ms;
  /// Each PSP's settlement actor, which books its paid payouts; a PSP
  /// without one has its payout events only recorded.
  std::map<std::string, settlement_actor> settlements;
  /// Each PSP's gateway, to look up intents the engine does not know
  /// (foreign events); a PSP without one keeps such events waiting.
  gateway_set gateways = {};
  std::int64_t foreign_grace_ms = core::limits::webhook_foreign_grace_ms;
};

/// Spawns the webhook worker under a supervisor that restarts it (with
/// backoff) when it fails; the handle is the supervisor's, which forwards.
/// Each inbox row is parsed by the provider of its PSP in `psps`.
webhook_worker_actor spawn_supervised_webhook_worker(caf::actor_system& sys, storage_actor storage,
                                                     intent_router_actor router,
                                                     std::shared_ptr<const core::psp_registry> psps,
                                                     webhook_worker_config config);

}  // namespace pay::actors
