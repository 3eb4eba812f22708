#pragma once

/// How much of a request's deadline one call may use: pure, with the clock
/// passed in, so it is tested without waiting.

#include <chrono>
#include <cstdint>

namespace pay::core {

/// A request's deadline on the steady clock. The zero time point means none
/// was given: each hop's own timeout applies.
using deadline_point = std::chrono::steady_clock::time_point;

/// The timeout of a call made at `now` for a request due at `deadline`: the
/// call's own `configured_ms`, cut to the time the request has left. 0 when
/// less than `min_ms` is left: such a call is not made, as its answer could
/// not come back in time while the other side would still act on it.
std::int64_t call_timeout_ms(std::int64_t configured_ms, deadline_point deadline,
                             deadline_point now, std::int64_t min_ms);

}  // namespace pay::core
