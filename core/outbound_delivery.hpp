#pragma once

/// Delivering outbound events to merchants' endpoints: the HTTP poster the
/// engine injects (implemented in net/, reached by actors through this
/// interface, as the PSP connector is), the retry policy, and the signed
/// request of one attempt. Pure apart from the interface.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/backoff.hpp"
#include "core/limits.hpp"

namespace pay::core {

/// One POST of an event to an endpoint.
struct outbound_request {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::int64_t timeout_ms = limits::outbound_attempt_timeout_ms;
};

/// What the receiver did: answered with a status, or not at all.
struct outbound_response {
  bool answered = false;
  bool timed_out = false;
  int status = 0;
  std::string error;    ///< transport error when not answered
  std::string excerpt;  ///< the answer's first bytes, for the delivery log
  std::int64_t latency_ms = 0;
};

/// Sends outbound requests. `done` runs exactly once, on the poster's own
/// thread, and must not block.
class outbound_poster {
 public:
  virtual ~outbound_poster() = default;
  virtual void post(outbound_request req, std::function<void(outbound_response)> done) = 0;
};

/// How deliveries are retried, bounded and given up (defaults: limits.hpp).
struct delivery_policy {
  std::int64_t backoff_base_ms = limits::outbound_backoff_base_ms;
  std::int64_t backoff_ceiling_ms = limits::outbound_backoff_ceiling_ms;
  std::int64_t retry_window_s = limits::outbound_retry_window_s;
  std::int64_t disable_after_s = limits::outbound_endpoint_disable_after_s;
  std::int64_t attempt_timeout_ms = limits::outbound_attempt_timeout_ms;
  std::size_t concurrency = limits::outbound_concurrency_per_endpoint;
  std::int64_t lease_ms = limits::outbound_lease_ms;
  std::int64_t poll_ms = limits::outbound_poll_ms;
};

/// What follows an attempt.
struct delivery_step {
  bool delivered = false;
  bool dead = false;             ///< given up: dead-lettered
  std::int64_t retry_in_ms = 0;  ///< when neither
};

/// A 2xx answer delivers; anything else (another status, no answer, the
/// deadline) is a failure retried with full-jitter exponential backoff until
/// the next retry would fall outside the retry window counted from
/// `window_elapsed_ms` ago; then the delivery is dead.
delivery_step next_delivery_step(const delivery_policy& policy, const outbound_response& r,
                                 std::int64_t attempts_done, std::int64_t window_elapsed_ms,
                                 std::uint64_t random);

/// The signed POST of one attempt at `timestamp_s`: Content-Type, the
/// Standard Webhooks headers (webhook-id = the event id, the same on every
/// retry; one v1 signature per secret) and the engine's User-Agent.
outbound_request delivery_request(const std::string& url, const std::string& event_id,
                                  const std::string& body, std::span<const std::string> secrets,
                                  std::int64_t timestamp_s, std::int64_t timeout_ms);

}  // namespace pay::core
