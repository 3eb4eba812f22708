#include "core/rate_limiter.hpp"

#include <algorithm>

namespace pay::core {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return a <= 0 ? 0 : (a + b - 1) / b;
}

}  // namespace

token_bucket::token_bucket(rate_limit limit, std::int64_t now_ms)
    : limit_{std::max<std::int64_t>(limit.burst, 1), std::max<std::int64_t>(limit.refill_ms, 1)},
      milli_tokens_(limit_.burst * 1000),
      last_ms_(now_ms) {}

void token_bucket::refill(std::int64_t now_ms) {
  if (now_ms <= last_ms_) return;  // a clock that stepped back gives nothing
  auto elapsed = now_ms - last_ms_;
  auto full = limit_.burst * 1000;
  // Cap elapsed first so the product cannot overflow after a long idle time.
  auto gained = std::min(elapsed, limit_.refill_ms * limit_.burst) * 1000 / limit_.refill_ms;
  milli_tokens_ = std::min(full, milli_tokens_ + gained);
  last_ms_ = now_ms;
}

rate_decision token_bucket::take(std::int64_t now_ms) {
  refill(now_ms);
  rate_decision d;
  d.limit = limit_.burst;
  if (milli_tokens_ >= 1000) {
    milli_tokens_ -= 1000;
    d.allowed = true;
  } else {
    d.allowed = false;
    // Milliseconds until one whole token, then rounded up to seconds.
    auto wait_ms = ceil_div((1000 - milli_tokens_) * limit_.refill_ms, 1000);
    d.retry_after_s = std::max<std::int64_t>(1, ceil_div(wait_ms, 1000));
  }
  d.remaining = milli_tokens_ / 1000;
  auto missing_ms = ceil_div((limit_.burst * 1000 - milli_tokens_) * limit_.refill_ms, 1000);
  d.reset_s = ceil_div(missing_ms, 1000);
  return d;
}

rate_limiter::rate_limiter(rate_limit limit, std::size_t keys_max)
    : limit_(limit), keys_max_(std::max<std::size_t>(keys_max, 1)) {}

rate_decision rate_limiter::take(std::string_view key, std::int64_t now_ms) {
  std::string k(key);
  auto it = buckets_.find(k);
  if (it == buckets_.end()) {
    if (buckets_.size() >= keys_max_) {
      buckets_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(k);
    it = buckets_.emplace(std::move(k), entry{token_bucket(limit_, now_ms), lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  return it->second.bucket.take(now_ms);
}

}  // namespace pay::core
