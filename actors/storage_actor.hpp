#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "core/ttl_cache.hpp"
#include "storage/routing.hpp"

namespace pay::actors {

/// Merchant id -> current routing rules, shared by a process's storage
/// actors (limits::routing_rules_cache_ttl_s).
using routing_rules_cache = core::ttl_cache<std::string, storage::routing_record>;

/// A cache for the storage actors of one process to share.
std::shared_ptr<routing_rules_cache> make_routing_rules_cache();

/// Spawns one storage actor, detached (its own thread), so libpq's blocking
/// calls never run on the scheduler's threads. It connects lazily and
/// reconnects with capped, jittered backoff after the database goes away.
/// The actors of one process share `routing_rules` (none given: its own).
storage_actor spawn_storage_actor(caf::actor_system& sys, std::string database_url,
                                  std::shared_ptr<routing_rules_cache> routing_rules = nullptr);

}  // namespace pay::actors
