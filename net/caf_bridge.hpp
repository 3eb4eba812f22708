#pragma once

// The hand-off from the HTTP layer to actors. The server's I/O threads never
// wait for an actor: `ask` spawns a short-lived actor that sends the request
// and runs the continuation when the reply arrives (on a scheduler thread);
// the continuation answers through the responder, which posts the response
// back onto the connection's strand.

#include <chrono>
#include <functional>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/errors.hpp"
#include "core/error.hpp"
#include "core/limits.hpp"

namespace pay::net {

/// Sends `xs...` to `dest` and calls `on_value(R)` with the reply, or
/// `on_error` with the engine error (timeouts included). Never blocks.
template <class R, class Handle, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, std::function<void(R)> on_value,
         std::function<void(core::error)> on_error, Ts... xs) {
  sys.spawn([dest, on_value = std::move(on_value), on_error = std::move(on_error),
             ... xs = std::move(xs)](caf::event_based_actor* self) {
    self->request(dest, std::chrono::milliseconds(core::limits::actor_request_timeout_ms), xs...)
        .then([on_value](R& value) { on_value(std::move(value)); },
              [on_error](caf::error& err) { on_error(actors::from_caf_error(err)); });
  });
}

}  // namespace pay::net
