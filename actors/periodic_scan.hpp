#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include "actors/interfaces.hpp"

/// The shape the engine's periodic scans share (the expiry scan,
/// actors/expiry_actor.cpp; the orphan rescan, actors/orphan_rescan.cpp):
/// a detached actor that owns its PostgreSQL connection, scans once at
/// start, so what a stopped engine left is found at once, then again
/// `period_ms` after each scan ends, so a slow scan never overlaps the next.
/// Include it only where CAF's actor headers are included (a .cpp file).
namespace pay::actors {

/// The behaviour of such an actor (both handles are the same type,
/// `caf::typed_actor<caf::reacts_to<scan_atom>>`): sends the first
/// scan_atom, and on each runs `scan(self)` and schedules the next.
template <class Pointer, class Scan>
expiry_scan_actor::behavior_type periodic_scan(Pointer self, std::int64_t period_ms, Scan scan) {
  self->send(self, scan_atom::value);
  return {
      [self, period_ms, scan = std::move(scan)](scan_atom) {
        scan(self);
        self->delayed_send(self, std::chrono::milliseconds(period_ms), scan_atom::value);
      },
  };
}

}  // namespace pay::actors
