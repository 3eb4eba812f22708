#pragma once

/// A circuit breaker for PSP calls, pure and with injected time.
///
/// The breaker never reads a clock: every call passes `now_ms` (any monotonic
/// millisecond count), so tests drive time by hand and the gateway actor
/// passes its steady clock.

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/limits.hpp"

namespace pay::core {

/// When a breaker opens and how it recovers.
struct breaker_config {
  /// Consecutive failures that open a closed breaker; 0 disables this rule.
  std::uint32_t consecutive_failures_max = limits::breaker_consecutive_failures_max;
  /// Failure share of the window, in percent, that opens a closed breaker.
  int failure_rate_percent = limits::breaker_failure_rate_percent;
  /// Most recent outcomes the failure rate looks at; 0 disables this rule.
  std::uint32_t window_calls = limits::breaker_window_calls;
  /// Outcomes the window must hold before the failure rate may open it.
  std::uint32_t min_calls = limits::breaker_min_calls;
  /// How long an open breaker refuses calls before admitting probes.
  std::int64_t open_ms = limits::breaker_open_ms;
  /// Probe calls admitted at once while half open.
  std::uint32_t half_open_probes = limits::breaker_half_open_probes;
};

/// Where a breaker is.
enum class breaker_state {
  /// Calls flow; outcomes are counted.
  closed,
  /// Calls are refused until the open period ends.
  open,
  /// A few probe calls test whether the PSP is back.
  half_open,
};

/// The name of `state`, identical to the enumerator's name.
std::string_view to_string(breaker_state state);

/// Decides whether a call to a PSP may go out, from the outcomes of earlier
/// calls.
///
/// Closed: every call is admitted. It opens when `consecutive_failures_max`
/// failures come in a row, or when the last `window_calls` outcomes number at
/// least `min_calls` and at least `failure_rate_percent` of them failed.
/// Open: calls are refused for `open_ms`, then the breaker is half open.
/// Half open: at most `half_open_probes` calls are in flight; a probe success
/// closes the breaker with a fresh window, a probe failure opens it again.
///
/// Report every admitted call's outcome exactly once with `on_success` or
/// `on_failure` (or `release` when it was not made). Outcomes reported while open belong to calls
/// admitted before the breaker opened and are ignored.
class circuit_breaker {
 public:
  /// A closed breaker with `config`.
  explicit circuit_breaker(breaker_config config);

  /// True if a call may go out now; a true answer in half open takes a probe
  /// slot, which the call's outcome gives back.
  bool try_acquire(std::int64_t now_ms);

  /// Records that an admitted call succeeded.
  void on_success(std::int64_t now_ms);

  /// Records that an admitted call failed (timeout, 5xx, connection error).
  void on_failure(std::int64_t now_ms);

  /// An admitted call that was never made (refused while it queued): gives
  /// back its probe slot without an outcome, so it neither closes nor trips
  /// the breaker and does not count in the window.
  void release();

  /// The state at `now_ms`; an open breaker whose period has ended reads as
  /// half open.
  breaker_state state(std::int64_t now_ms) const;

  /// Milliseconds until an open breaker admits probes, 0 when not open.
  std::int64_t retry_after_ms(std::int64_t now_ms) const;

  /// How many times the breaker has opened.
  std::uint64_t trips() const { return trips_; }

  /// Failures in a row since the last success (what the console shows).
  std::uint32_t consecutive_failures() const { return consecutive_failures_; }

  /// The breaker's configuration.
  const breaker_config& config() const { return config_; }

 private:
  /// Opens the breaker at `now_ms` for a new open period.
  void trip(std::int64_t now_ms);

  /// Closes the breaker with an empty window.
  void close();

  /// Appends one outcome to the sliding window, evicting the oldest.
  void record(bool failed);

  /// True when the closed breaker's counters call for opening.
  bool should_trip() const;

  breaker_config config_;
  /// Stored state; `open` may read as half open once the period is over.
  breaker_state state_ = breaker_state::closed;
  std::int64_t opened_at_ms_ = 0;
  std::uint32_t consecutive_failures_ = 0;
  /// Ring buffer of the last `window_calls` outcomes, true for a failure.
  std::vector<bool> window_;
  std::size_t window_next_ = 0;
  std::size_t window_size_ = 0;
  std::size_t window_failures_ = 0;
  std::uint32_t probes_in_flight_ = 0;
  std::uint64_t trips_ = 0;
};

}  // namespace pay::core
