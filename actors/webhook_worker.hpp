#pragma once

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "core/backoff.hpp"
#include "core/psp.hpp"

namespace pay::actors {

/// How the worker claims, retries and polls.
struct webhook_worker_config {
  std::string psp = "sandbox";
  std::size_t batch_max = core::limits::inbox_batch_max;
  std::int64_t lease_ms = core::limits::inbox_lease_ms;
  std::int64_t poll_ms = core::limits::inbox_poll_ms;
  core::backoff_policy retry{};  ///< attempts, base, ceiling, deadline of event processing
  std::int64_t stuck_idle_ms = core::limits::stuck_intent_idle_ms;
  std::int64_t stuck_poll_ms = core::limits::stuck_poll_ms;
  /// Books payout.paid events (settlement); unset: payout events are only
  /// recorded.
  settlement_actor settlement;
};

/// Spawns the webhook worker under a supervisor that restarts it (with
/// backoff) when it fails; the handle is the supervisor's, which forwards.
webhook_worker_actor spawn_supervised_webhook_worker(caf::actor_system& sys, storage_actor storage,
                                                     intent_router_actor router,
                                                     core::psp_event_parser parser,
                                                     webhook_worker_config config);

}  // namespace pay::actors
