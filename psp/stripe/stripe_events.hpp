#pragma once

#include <optional>
#include <string_view>

#include "core/psp.hpp"

namespace pay::psp {

/// Parses a Stripe event body ({"id":"evt_...","type":...,"created":...,
/// "data":{"object":{...}}}); nullopt when it lacks an id, a type or an
/// object with an id. A payment intent object is parsed in full.
std::optional<core::psp_event> parse_stripe_event(std::string_view body);

}  // namespace pay::psp
