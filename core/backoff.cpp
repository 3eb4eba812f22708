#include "core/backoff.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>

namespace pay::core {

std::int64_t backoff_cap_ms(const backoff_policy& policy, std::uint32_t attempt) {
  assert(policy.base_ms >= 0 && policy.ceiling_ms >= 0);
  const std::int64_t ceiling = policy.ceiling_ms;
  if (policy.base_ms == 0) return 0;
  // base >= 1, so base * 2^attempt overflows int64 for any attempt >= 63.
  if (attempt >= 63) return ceiling;
  std::int64_t cap = 0;
  if (__builtin_mul_overflow(policy.base_ms, std::int64_t{1} << attempt, &cap)) return ceiling;
  return std::min(cap, ceiling);
}

std::int64_t full_jitter_delay_ms(const backoff_policy& policy, std::uint32_t attempt,
                                  std::uint64_t random) {
  const auto cap = static_cast<std::uint64_t>(backoff_cap_ms(policy, attempt));
  // cap <= INT64_MAX, so cap + 1 neither wraps nor the result exceeds int64.
  return static_cast<std::int64_t>(random % (cap + 1));
}

std::string_view to_string(retry_verdict verdict) {
  switch (verdict) {
    case retry_verdict::retry:
      return "retry";
    case retry_verdict::give_up_attempts:
      return "give_up_attempts";
    case retry_verdict::give_up_deadline:
      return "give_up_deadline";
  }
  std::fprintf(stderr, "pay::core: invalid retry_verdict %d\n", static_cast<int>(verdict));
  std::abort();
}

retry_verdict next_retry(const backoff_policy& policy, std::uint32_t attempts_done,
                         std::int64_t elapsed_ms, std::int64_t delay_ms) {
  if (attempts_done >= policy.attempts_max) return retry_verdict::give_up_attempts;
  std::int64_t retry_at_ms = 0;
  // A sum too large for int64 is far past any deadline.
  if (__builtin_add_overflow(elapsed_ms, delay_ms, &retry_at_ms)) {
    return retry_verdict::give_up_deadline;
  }
  if (retry_at_ms > policy.deadline_ms) return retry_verdict::give_up_deadline;
  return retry_verdict::retry;
}

retry_plan plan_retry(const backoff_policy& policy, std::uint32_t attempts_done,
                      std::int64_t elapsed_ms, std::uint64_t random) {
  auto attempt = attempts_done == 0 ? 0u : attempts_done - 1;
  auto delay = full_jitter_delay_ms(policy, attempt, random);
  return retry_plan{next_retry(policy, attempts_done, elapsed_ms, delay), delay};
}

}  // namespace pay::core
