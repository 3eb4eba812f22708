#include "core/circuit_breaker.hpp"

#include <cassert>
#include <cstdio>
#include <cstdlib>

namespace pay::core {

std::string_view to_string(breaker_state state) {
  switch (state) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
  }
  std::fprintf(stderr, "pay::core: invalid breaker_state %d\n", static_cast<int>(state));
  std::abort();
}

circuit_breaker::circuit_breaker(breaker_config config)
    : config_(config), window_(config.window_calls, false) {
  assert(config_.failure_rate_percent >= 0 && config_.failure_rate_percent <= 100);
  assert(config_.open_ms >= 0);
  assert(config_.half_open_probes >= 1);
}

bool circuit_breaker::try_acquire(std::int64_t now_ms) {
  switch (state(now_ms)) {
    case breaker_state::closed:
      return true;
    case breaker_state::open:
      return false;
    case breaker_state::half_open:
      state_ = breaker_state::half_open;
      if (probes_in_flight_ >= config_.half_open_probes) return false;
      ++probes_in_flight_;
      return true;
  }
  return false;
}

void circuit_breaker::on_success(std::int64_t /*now_ms*/) {
  switch (state_) {
    case breaker_state::closed:
      consecutive_failures_ = 0;
      record(false);
      return;
    case breaker_state::open:
      // A call admitted before the breaker opened; it proves too little.
      return;
    case breaker_state::half_open:
      if (probes_in_flight_ == 0) return;  // not a probe: admitted before opening
      close();
      return;
  }
}

void circuit_breaker::on_failure(std::int64_t now_ms) {
  switch (state_) {
    case breaker_state::closed:
      ++consecutive_failures_;
      record(true);
      if (should_trip()) trip(now_ms);
      return;
    case breaker_state::open:
      // A call admitted before the breaker opened; the period stands.
      return;
    case breaker_state::half_open:
      if (probes_in_flight_ == 0) return;  // not a probe: admitted before opening
      trip(now_ms);
      return;
  }
}

void circuit_breaker::release() {
  if (state_ == breaker_state::half_open && probes_in_flight_ > 0) --probes_in_flight_;
}

breaker_state circuit_breaker::state(std::int64_t now_ms) const {
  if (state_ == breaker_state::open && now_ms - opened_at_ms_ >= config_.open_ms) {
    return breaker_state::half_open;
  }
  return state_;
}

std::int64_t circuit_breaker::retry_after_ms(std::int64_t now_ms) const {
  if (state(now_ms) != breaker_state::open) return 0;
  return opened_at_ms_ + config_.open_ms - now_ms;
}

void circuit_breaker::trip(std::int64_t now_ms) {
  state_ = breaker_state::open;
  opened_at_ms_ = now_ms;
  probes_in_flight_ = 0;
  ++trips_;
}

void circuit_breaker::close() {
  state_ = breaker_state::closed;
  probes_in_flight_ = 0;
  consecutive_failures_ = 0;
  window_.assign(window_.size(), false);
  window_next_ = 0;
  window_size_ = 0;
  window_failures_ = 0;
}

void circuit_breaker::record(bool failed) {
  if (window_.empty()) return;
  if (window_size_ == window_.size()) {
    if (window_[window_next_]) --window_failures_;
  } else {
    ++window_size_;
  }
  window_[window_next_] = failed;
  if (failed) ++window_failures_;
  window_next_ = (window_next_ + 1) % window_.size();
}

bool circuit_breaker::should_trip() const {
  if (config_.consecutive_failures_max > 0 &&
      consecutive_failures_ >= config_.consecutive_failures_max) {
    return true;
  }
  if (window_.empty() || window_size_ < config_.min_calls || window_size_ == 0) return false;
  // failures / size >= percent / 100, in integers.
  return window_failures_ * 100 >=
         static_cast<std::size_t>(config_.failure_rate_percent) * window_size_;
}

}  // namespace pay::core
