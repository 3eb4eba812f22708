#include "sandbox/clock.hpp"

#include <atomic>
#include <chrono>

namespace pay::sandbox::clock {

namespace {

std::atomic<std::int64_t> offset{0};

std::int64_t wall_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::int64_t now_s() {
  return wall_s() + offset.load(std::memory_order_relaxed);
}

std::int64_t offset_s() {
  return offset.load(std::memory_order_relaxed);
}

std::int64_t advance(std::int64_t seconds) {
  return offset.fetch_add(seconds, std::memory_order_relaxed) + seconds;
}

}  // namespace pay::sandbox::clock
