#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "actors/outbound_interfaces.hpp"

namespace pay::actors::outbound {

/// Spawns an outbound store, detached (its own thread and PostgreSQL
/// connection, made on first use and remade with backoff after a loss).
store_actor spawn_store(caf::actor_system& sys, std::string database_url);

}  // namespace pay::actors::outbound
