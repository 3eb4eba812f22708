#pragma once

// The hand-off from the HTTP layer to actors. The server's I/O threads never
// wait for an actor: `ask` spawns a short-lived actor that sends the request
// and runs the continuation when the reply arrives (on a scheduler thread);
// the continuation answers through the responder, which posts the response
// back onto the connection's strand.

#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/errors.hpp"
#include "core/error.hpp"
#include "core/limits.hpp"

namespace pay::net {

/// Spawns `f(caf::event_based_actor*)` as a function-based actor. CAF
/// 0.17.6 keeps no argument tuple for a function spawned without arguments
/// and still dereferences that null pointer to apply the empty tuple
/// (caf/detail/init_fun_factory.hpp): never read, but undefined behaviour,
/// and UBSan stops `./dev.sh test --sanitize` on it at the first request. One
/// unused argument gives CAF a tuple to hold.
template <class F>
void spawn_function(caf::actor_system& sys, F f) {
  sys.spawn([f = std::move(f)](caf::event_based_actor* self, int) { f(self); }, 0);
}

/// Sends `xs...` to `dest` and calls `on_value(R)` with the reply, or
/// `on_error` with the engine error (timeouts included). Never blocks.
template <class R, class Handle, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, std::function<void(R)> on_value,
         std::function<void(core::error)> on_error, Ts... xs) {
  spawn_function(sys, [dest, on_value = std::move(on_value), on_error = std::move(on_error),
                       ... xs = std::move(xs)](caf::event_based_actor* self) {
    self->request(dest, std::chrono::milliseconds(core::limits::actor_request_timeout_ms), xs...)
        .then([on_value](R& value) { on_value(std::move(value)); },
              [on_error](caf::error& err) { on_error(actors::from_caf_error(err)); });
  });
}

/// As `ask`, bounded by the request's `deadline`: the reply is awaited only
/// for the time the request has left (at most actor_request_timeout_ms), so
/// no hop waits past the request's own deadline. A reply that comes later is
/// dropped and the caller sees a retryable 503; the work itself goes on, and
/// a retry with the same Idempotency-Key gets its result.
template <class R, class Handle, class... Ts>
void ask_until(std::chrono::steady_clock::time_point deadline, caf::actor_system& sys,
               const Handle& dest, std::function<void(R)> on_value,
               std::function<void(core::error)> on_error, Ts... xs) {
  using namespace std::chrono;
  auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
  auto timeout =
      std::clamp(left, milliseconds(1), milliseconds(core::limits::actor_request_timeout_ms));
  spawn_function(
      sys, [dest, timeout, on_value = std::move(on_value), on_error = std::move(on_error),
            ... xs = std::move(xs)](caf::event_based_actor* self) {
        self->request(dest, timeout, xs...)
            .then([on_value](R& value) { on_value(std::move(value)); },
                  [on_error](caf::error& err) { on_error(actors::from_caf_error(err)); });
      });
}

}  // namespace pay::net
