#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "core/psp.hpp"

namespace pay::actors {

/// What one settlement actor serves.
struct settlement_config {
  /// The PSP account's name: the scope of its ledger accounts and the `psp`
  /// of its intents.
  std::string psp = "sandbox";
  std::string database_url;
  /// For a PSP that announces no payouts by event (PayPal: withdrawals show
  /// only in Transaction Search): every this many seconds, and before each
  /// reconciliation, the paid payouts its list shows that are not booked
  /// yet are booked. 0: payouts are booked from their events only.
  std::int64_t payout_poll_s = 0;
};

/// Spawns the settlement actor of one PSP account, detached: it owns a
/// PostgreSQL connection and waits on the answers of its PSP's `gateway`
/// (which applies the breaker, the in-flight limit and the metrics to these
/// calls as to every other), so it never blocks a scheduler thread.
settlement_actor spawn_settlement_actor(caf::actor_system& sys, settlement_config config,
                                        gateway_actor gateway);

/// What the daily reconciliation runs.
struct scheduler_config {
  /// UTC time of day, seconds after midnight.
  std::int64_t time_of_day_s = 30 * 60;
  std::string psp = "sandbox";
};

/// Spawns the scheduler that asks `settlement` to reconcile the previous UTC
/// day once a day at `config.time_of_day_s` (UTC), retrying a failed run
/// after limits::reconciliation_retry_ms.
reconciliation_scheduler_actor spawn_reconciliation_scheduler(caf::actor_system& sys,
                                                              settlement_actor settlement,
                                                              scheduler_config config);

}  // namespace pay::actors
