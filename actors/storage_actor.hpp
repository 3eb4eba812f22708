#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"

namespace pay::actors {

/// Spawns one storage actor, detached (its own thread), so libpq's blocking
/// calls never run on the scheduler's threads. It connects lazily and
/// reconnects with capped, jittered backoff after the database goes away.
storage_actor spawn_storage_actor(caf::actor_system& sys, std::string database_url);

}  // namespace pay::actors
