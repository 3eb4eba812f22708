#include "core/deadline.hpp"

#include <algorithm>

namespace pay::core {

std::int64_t call_timeout_ms(std::int64_t configured_ms, deadline_point deadline,
                             deadline_point now, std::int64_t min_ms) {
  if (deadline == deadline_point{}) return configured_ms;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
  if (left < min_ms || left <= 0) return 0;
  return std::min(configured_ms, left);
}

}  // namespace pay::core
