#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "core/authorization_expiry.hpp"

namespace pay::actors {

/// How the router spawns and bounds intent actors.
struct router_config {
  std::int64_t idle_ms = core::limits::intent_actor_idle_ms;
  /// Idle time of an intent actor that holds no intent (a miss).
  std::int64_t miss_idle_ms = core::limits::intent_actor_miss_idle_ms;
  std::size_t actors_max = core::limits::intent_actors_max;
  /// Live actors one merchant's requests may hold, so one merchant cannot
  /// take the whole of actors_max from the others.
  std::size_t actors_per_merchant_max = core::limits::intent_actors_per_merchant_max;
  /// When authorisations lapse (null: the table's defaults).
  std::shared_ptr<const core::authorization_expiry_policy> expiry = nullptr;
};

/// Spawns the router; intent actors get storage actors round-robin and the
/// gateways of every configured PSP.
intent_router_actor spawn_intent_router(caf::actor_system& sys, std::vector<storage_actor> storage,
                                        gateway_set gateways, router_config config = {});

}  // namespace pay::actors
