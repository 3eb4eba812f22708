#pragma once

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "core/limits.hpp"

namespace pay::actors {

/// How the expiry scan runs.
struct expiry_scan_config {
  std::string database_url;
  std::int64_t period_ms = core::limits::expiry_scan_period_ms;
  std::size_t batch_max = core::limits::expiry_scan_batch_max;
  /// How long before expires_at the merchant is warned; 0: no warnings.
  std::int64_t warning_lead_s = core::limits::authorization_warning_lead_s;
};

/// Spawns the expiry scan, detached (its own thread and PostgreSQL
/// connection, made on first use and remade with backoff after a loss). Its
/// first scan runs at once, so deadlines a stopped engine left are met on
/// start.
expiry_scan_actor spawn_expiry_scan(caf::actor_system& sys, intent_router_actor router,
                                    expiry_scan_config config);

}  // namespace pay::actors
