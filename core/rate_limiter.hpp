#pragma once

/// Token-bucket rate limiting, pure: the caller passes the time, so tests
/// drive it without sleeping and the network layer decides what a key is
/// (a merchant, a client address).

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pay::core {

/// A bucket's shape: it holds at most `burst` tokens and gains one every
/// `refill_ms`; a request takes one.
struct rate_limit {
  std::int64_t burst = 1;
  std::int64_t refill_ms = 1'000;
};

/// What one request learns from the limiter, in the terms of the
/// RateLimit-* and Retry-After headers (seconds, rounded up).
struct rate_decision {
  bool allowed = true;
  std::int64_t limit = 0;          ///< the bucket's burst
  std::int64_t remaining = 0;      ///< whole tokens left after this request
  std::int64_t reset_s = 0;        ///< until the bucket is full again
  std::int64_t retry_after_s = 0;  ///< until the next token, when refused
};

/// One bucket; time in milliseconds of any monotonic clock.
class token_bucket {
 public:
  explicit token_bucket(rate_limit limit, std::int64_t now_ms);
  /// Takes a token if there is one.
  rate_decision take(std::int64_t now_ms);

 private:
  void refill(std::int64_t now_ms);
  rate_limit limit_;
  /// Tokens in thousandths, so partial refills are not lost to rounding.
  std::int64_t milli_tokens_;
  std::int64_t last_ms_;
};

/// Buckets per key, at most `keys_max` of them: when a new key arrives and
/// the table is full, the least recently seen key is forgotten (it starts
/// again with a full bucket), so memory stays bounded whatever the clients
/// send. Not thread-safe: the caller serialises.
class rate_limiter {
 public:
  rate_limiter(rate_limit limit, std::size_t keys_max);
  rate_decision take(std::string_view key, std::int64_t now_ms);
  std::size_t tracked_keys() const { return buckets_.size(); }
  const rate_limit& limit() const { return limit_; }

 private:
  struct entry {
    token_bucket bucket;
    std::list<std::string>::iterator lru;
  };
  rate_limit limit_;
  std::size_t keys_max_;
  std::list<std::string> lru_;  ///< most recently seen first
  std::unordered_map<std::string, entry> buckets_;
};

}  // namespace pay::core
