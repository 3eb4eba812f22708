#pragma once

/// Exponential backoff with full jitter, bounded by attempts and a deadline.
///
/// Pure arithmetic: the caller supplies the random number and the elapsed
/// time, so tests pin every delay and verdict.

#include <cstdint>
#include <string_view>

#include "core/limits.hpp"

namespace pay::core {

/// How a piece of failing work is retried.
struct backoff_policy {
  /// Delay cap of the first retry (attempt 0); doubles per attempt.
  std::int64_t base_ms = limits::backoff_base_ms;
  /// Largest delay cap, whatever the attempt.
  std::int64_t ceiling_ms = limits::backoff_ceiling_ms;
  /// Attempts after which the work is given up (dead-lettered).
  std::uint32_t attempts_max = limits::retry_attempts_max;
  /// Total time from the first attempt after which the work is given up.
  std::int64_t deadline_ms = limits::retry_deadline_ms;
};

/// The delay cap of retry `attempt` (0 is the first retry):
/// min(ceiling_ms, base_ms * 2^attempt), computed without overflow.
std::int64_t backoff_cap_ms(const backoff_policy& policy, std::uint32_t attempt);

/// The delay before retry `attempt` with full jitter: `random % (cap + 1)`,
/// uniform over [0, cap] for a uniform `random`. Deterministic in `random`.
std::int64_t full_jitter_delay_ms(const backoff_policy& policy, std::uint32_t attempt,
                                  std::uint64_t random);

/// Whether failing work should be tried again.
enum class retry_verdict {
  /// Retry after the planned delay.
  retry,
  /// Give up: the attempt budget is spent.
  give_up_attempts,
  /// Give up: retrying after the delay would pass the deadline.
  give_up_deadline,
};

/// The name of `verdict`, identical to the enumerator's name.
std::string_view to_string(retry_verdict verdict);

/// Whether to retry after `attempts_done` failed attempts, `elapsed_ms` since
/// the first one, with the next retry planned `delay_ms` from now.
///
/// give_up_attempts when attempts_done >= attempts_max; else give_up_deadline
/// when elapsed_ms + delay_ms > deadline_ms; else retry.
retry_verdict next_retry(const backoff_policy& policy, std::uint32_t attempts_done,
                         std::int64_t elapsed_ms, std::int64_t delay_ms);

/// What to do after a failed attempt: retry after `delay_ms`, or give up.
struct retry_plan {
  retry_verdict verdict = retry_verdict::retry;
  std::int64_t delay_ms = 0;
};

/// Plans the next attempt after `attempts_done` failed attempts (at least
/// one), `elapsed_ms` after the work first arrived: a full-jitter delay drawn
/// with `random` (so a test pins it), then the attempt and deadline limits.
retry_plan plan_retry(const backoff_policy& policy, std::uint32_t attempts_done,
                      std::int64_t elapsed_ms, std::uint64_t random);

}  // namespace pay::core
