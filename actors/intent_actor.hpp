#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "core/authorization_expiry.hpp"

namespace pay::actors {

/// Spawns the actor of intent `id`; it hydrates itself from storage before
/// its first command and stops after `idle_ms` without one, or after
/// `miss_idle_ms` when it holds no intent (the id is not in the database, or
/// its create failed). Its PSP calls go to the gateway in `gateways` of the
/// PSP the intent records. `expiry` decides when an authorisation lapses
/// (null: the table's defaults). `known_new`: the spawner knows the intent
/// has no row yet (it is being created), so the actor skips its hydration
/// read.
intent_actor spawn_intent_actor(
    caf::actor_system& sys, std::string id, storage_actor storage, gateway_set gateways,
    std::int64_t idle_ms = core::limits::intent_actor_idle_ms,
    std::int64_t miss_idle_ms = core::limits::intent_actor_miss_idle_ms,
    std::shared_ptr<const core::authorization_expiry_policy> expiry = nullptr,
    bool known_new = false);

}  // namespace pay::actors
