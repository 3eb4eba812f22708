#pragma once

#include <caf/error.hpp>

#include "core/error.hpp"

namespace pay::actors {

/// Wraps an engine error for a CAF response: code, category "payment", and
/// the message and param as context.
caf::error to_caf_error(const core::error& e);

/// Unwraps a CAF error: an engine error as it was; CAF's own (timeouts, a
/// dead actor) as the engine error a client should see.
core::error from_caf_error(const caf::error& e);

/// Renders an engine error held in a caf::error, for CAF's error renderers.
std::string render_caf_error(std::uint8_t code, const caf::message& context);

}  // namespace pay::actors
