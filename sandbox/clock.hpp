#pragma once

/// The sandbox's notion of "now": wall time plus a test clock's offset,
/// process-wide. Every timestamp the sandbox gives its objects (Stripe's
/// `created`, `canceled_at`, `capture_before`; Adyen's `eventDate`) comes
/// from here, so `POST /_sandbox/clock/advance` moves them all and expiry
/// and deadlines can be tested in seconds. Not from here: the Stripe-Signature
/// timestamp of webhook deliveries, which the receiver checks against its
/// own wall clock (Stripe's test clocks sign with real time too), and log
/// lines.
///
/// Thread-safe (one atomic offset).

#include <cstdint>

namespace pay::sandbox::clock {

/// Sandbox time, unix seconds.
std::int64_t now_s();

/// How far the test clock is ahead of wall time, seconds.
std::int64_t offset_s();

/// Moves the test clock forward by `seconds` (1..sandbox_clock_advance_max_s;
/// the caller checks); answers the new offset. Time never goes back.
std::int64_t advance(std::int64_t seconds);

}  // namespace pay::sandbox::clock
