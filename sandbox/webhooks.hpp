#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "core/backoff.hpp"
#include "net/http_client.hpp"
#include "sandbox/timer_queue.hpp"

/// Sends notifications to the configured endpoint: a POST of a prepared
/// payload, at least once, retried with exponential backoff and full jitter
/// while the endpoint fails, times out or answers anything but 2xx. The wire
/// format (content type, signature headers, user agent) is the caller's
/// `webhook_format`: the Stripe mode signs with `Stripe-Signature`, the Adyen
/// mode signs inside the payload. Never blocks a caller: sends run on the
/// HTTP client's thread, waits on the timer queue.
namespace pay::sandbox {

/// Where events go and what signs them.
struct webhook_endpoint {
  std::string url;          ///< empty: nothing is sent
  std::string secret;       ///< whsec_...
  std::string secret_next;  ///< during rotation: a second v1 signature
};

/// The PSP-specific part of a delivery: its content type and the headers of
/// one attempt (computed per attempt, so a timestamped signature is fresh).
struct webhook_format {
  std::string content_type = "application/json; charset=utf-8";
  std::function<std::vector<net::header>(const webhook_endpoint&, const std::string& payload)>
      headers;
};

/// What the fault knobs decided for one event.
struct delivery_faults {
  bool duplicate = false;
  bool out_of_order = false;
  bool drop_first = false;
  std::int64_t delay_ms = 0;
};

/// How deliveries are retried.
struct webhook_policy {
  std::int64_t timeout_ms = 5'000;
  core::backoff_policy backoff;
  /// How long an out-of-order event waits for a later one to overtake it.
  std::int64_t hold_ms_max = 1'000;
};

class webhook_sender {
 public:
  webhook_sender(timer_queue& timers, webhook_policy policy, std::uint64_t seed,
                 webhook_format format);
  ~webhook_sender();
  webhook_sender(const webhook_sender&) = delete;
  webhook_sender& operator=(const webhook_sender&) = delete;

  void configure(webhook_endpoint endpoint);
  webhook_endpoint endpoint() const;

  /// Queues one event for delivery (nothing happens without a URL).
  void deliver(const std::string& event_id, const std::string& payload, delivery_faults faults);

  /// The most recent delivery attempts, oldest first, as a JSON list.
  std::string attempts_json() const;

  /// Stops sending; pending retries and held events are dropped. Idempotent.
  void stop();

  struct job;

 private:
  void start(const std::shared_ptr<job>& j, std::int64_t delay_ms);
  void attempt(const std::shared_ptr<job>& j);
  void finish_attempt(const std::shared_ptr<job>& j, bool ok, int status, std::string outcome);
  void record(const job& j, int status, const std::string& outcome);

  timer_queue& timers_;
  webhook_policy policy_;
  webhook_format format_;
  mutable std::mutex mutex_;
  webhook_endpoint endpoint_;
  std::mt19937_64 rng_;
  std::shared_ptr<job> held_;  ///< an out-of-order event waiting to be overtaken
  struct attempt_record {
    std::string event_id;
    std::uint32_t attempt = 0;
    int status = 0;
    std::string outcome;
    std::int64_t at_ms = 0;
  };
  std::deque<attempt_record> attempts_;
  std::atomic<bool> stopped_{false};
  std::unique_ptr<net::http_client> client_;
};

}  // namespace pay::sandbox
