#pragma once

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "core/limits.hpp"

namespace pay::actors {

/// How the orphan rescan runs.
struct orphan_rescan_config {
  std::string database_url;
  std::int64_t period_ms = core::limits::routing_orphan_scan_period_ms;
  /// How old a failover must be before its orphan is taken here.
  std::int64_t grace_ms = core::limits::routing_orphan_grace_ms;
  std::size_t batch_max = core::limits::routing_orphan_scan_batch_max;
  std::int64_t backoff_base_ms = core::limits::routing_orphan_backoff_base_ms;
  std::int64_t backoff_ceiling_ms = core::limits::routing_orphan_backoff_ceiling_ms;
};

/// Spawns the orphan rescan, detached (its own thread and PostgreSQL
/// connection, made on first use and remade with backoff after a loss).
/// Each pass reads the attempts that may have left an intent at their PSP
/// and have no routing_orphans row (storage::due_routing_orphans), sends
/// each one's create again with its PSP key through that PSP's gateway (so
/// its breaker decides whether the PSP is called) and cancels what the PSP
/// answers (cancel_orphan, actors/routing_orphans.hpp, as the intent actor
/// does), and records the outcome once. A retryable failure leaves the
/// orphan for a later pass, after full-jitter backoff. Its first pass runs
/// at once, so what a crashed engine left is found on start (past the
/// grace window). It also sets the payments_routing_orphans gauge.
orphan_rescan_actor spawn_orphan_rescan(caf::actor_system& sys, gateway_set gateways,
                                        orphan_rescan_config config);

}  // namespace pay::actors
