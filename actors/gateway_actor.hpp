#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "core/circuit_breaker.hpp"
#include "core/psp.hpp"

namespace pay::actors {

/// How one PSP account's gateway behaves.
struct gateway_config {
  std::string psp = "sandbox";
  core::breaker_config breaker{};
  std::size_t concurrency_max = core::limits::psp_concurrency_max;
  /// Calls waiting for a slot beyond concurrency_max before one is refused.
  std::size_t queue_max = core::limits::psp_queue_max;
  std::int64_t queue_wait_ms_max = core::limits::psp_queue_wait_ms_max;
  std::int64_t call_timeout_ms = core::limits::psp_call_timeout_ms;
};

/// Spawns the gateway of one PSP account around `connector`. Every call the
/// engine makes to that PSP goes through it: the intents' calls and
/// settlement's and reconciliation's reads alike.
gateway_actor spawn_gateway_actor(caf::actor_system& sys, gateway_config config,
                                  std::shared_ptr<core::psp_connector> connector);

}  // namespace pay::actors
