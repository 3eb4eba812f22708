#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/outbound_interfaces.hpp"
#include "core/outbound_delivery.hpp"

namespace pay::actors::outbound {

/// How deliveries run (defaults from core/limits.hpp; paymentsd's flags may
/// shorten them for tests).
struct delivery_config {
  core::delivery_policy policy;
  /// Endpoints with due work looked up per poll; each gets a delivery actor.
  std::size_t due_endpoints_max = 1'000;
};

/// Spawns the delivery supervisor, which polls the outbox and runs one
/// delivery actor per endpoint with due deliveries. `poster` sends the
/// requests (net/outbound_poster.cpp); `store` is its own outbound store.
supervisor_actor spawn_delivery_supervisor(caf::actor_system& sys, store_actor store,
                                           std::shared_ptr<core::outbound_poster> poster,
                                           delivery_config config);

}  // namespace pay::actors::outbound
