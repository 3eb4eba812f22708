#include "sandbox/webhooks.hpp"

#include <chrono>

#include "net/json.hpp"
#include "sandbox/log.hpp"

namespace pay::sandbox {

namespace {

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Attempts kept for GET /_sandbox/webhook_deliveries.
constexpr std::size_t attempts_kept_max = 1'000;

}  // namespace

struct webhook_sender::job {
  std::string event_id;
  std::string payload;
  bool drop_first = false;
  std::uint32_t attempts = 0;
  bool started = false;
  std::chrono::steady_clock::time_point first_at{};
  /// Out-of-order events released once this one's first attempt is done.
  std::vector<std::shared_ptr<job>> followers;
};

webhook_sender::webhook_sender(timer_queue& timers, webhook_policy policy, std::uint64_t seed,
                               webhook_format format)
    : timers_(timers),
      policy_(policy),
      format_(std::move(format)),
      rng_(seed ^ 0x9e3779b97f4a7c15ULL),
      client_(std::make_unique<net::http_client>()) {}

webhook_sender::~webhook_sender() {
  stop();
}

void webhook_sender::stop() {
  // Only a flag: the client (and its thread) lives until the destructor, so
  // a callback racing with stop() never finds it gone; every path checks the
  // flag before sending again.
  stopped_.store(true);
}

void webhook_sender::configure(webhook_endpoint endpoint) {
  std::lock_guard guard{mutex_};
  endpoint_ = std::move(endpoint);
}

webhook_endpoint webhook_sender::endpoint() const {
  std::lock_guard guard{mutex_};
  return endpoint_;
}

void webhook_sender::deliver(const std::string& event_id, const std::string& payload,
                             delivery_faults faults) {
  if (stopped_) return;
  auto make = [&] {
    auto j = std::make_shared<job>();
    j->event_id = event_id;
    j->payload = payload;
    return j;
  };
  auto j = make();
  j->drop_first = faults.drop_first;
  std::shared_ptr<job> release_after;
  {
    std::lock_guard guard{mutex_};
    if (endpoint_.url.empty()) return;
    if (faults.out_of_order && !held_) {
      // Held back until the next event's first attempt is done, or until
      // hold_ms_max passes with no next event.
      held_ = j;
      timers_.post_after(policy_.hold_ms_max + faults.delay_ms, [this, j] {
        {
          std::lock_guard inner{mutex_};
          if (held_ != j) return;
          held_.reset();
        }
        start(j, 0);
      });
    } else {
      if (held_) {
        j->followers.push_back(held_);
        held_.reset();
      }
      release_after = j;
    }
  }
  if (release_after) start(release_after, faults.delay_ms);
  if (faults.duplicate) start(make(), faults.delay_ms);
}

void webhook_sender::start(const std::shared_ptr<job>& j, std::int64_t delay_ms) {
  if (delay_ms > 0) {
    timers_.post_after(delay_ms, [this, j] { attempt(j); });
  } else {
    attempt(j);
  }
}

void webhook_sender::attempt(const std::shared_ptr<job>& j) {
  if (stopped_) return;
  webhook_endpoint ep;
  {
    std::lock_guard guard{mutex_};
    ep = endpoint_;
    if (!j->started) {
      j->started = true;
      j->first_at = std::chrono::steady_clock::now();
    }
    ++j->attempts;
  }
  if (ep.url.empty()) return finish_attempt(j, false, 0, "no_endpoint");
  if (j->drop_first && j->attempts == 1) return finish_attempt(j, false, 0, "dropped");
  net::client_request req;
  req.method = "POST";
  req.url = ep.url;
  req.content_type = format_.content_type;
  req.body = j->payload;
  req.timeout_ms = policy_.timeout_ms;
  if (format_.headers) req.headers = format_.headers(ep, j->payload);
  client_->async_send(std::move(req), [this, j](net::client_result r) {
    if (stopped_) return;
    if (!r.answered)
      return finish_attempt(j, false, 0, r.timed_out ? "timeout" : "connection_error");
    bool ok = r.response.status >= 200 && r.response.status < 300;
    finish_attempt(j, ok, r.response.status, ok ? "delivered" : "http_error");
  });
}

void webhook_sender::finish_attempt(const std::shared_ptr<job>& j, bool ok, int status,
                                    std::string outcome) {
  std::vector<std::shared_ptr<job>> followers;
  std::int64_t delay_ms = 0;
  bool retry = false;
  if (!ok && outcome != "no_endpoint")
    log_line("warn", "webhook delivery failed",
             {{"event", j->event_id},
              {"attempt", static_cast<long long>(j->attempts)},
              {"outcome", outcome},
              {"status", status}});
  {
    std::lock_guard guard{mutex_};
    record(*j, status, outcome);
    followers.swap(j->followers);
    if (!ok && outcome != "no_endpoint") {
      auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - j->first_at)
                            .count();
      delay_ms = core::full_jitter_delay_ms(policy_.backoff, j->attempts - 1, rng_());
      retry = core::next_retry(policy_.backoff, j->attempts, elapsed_ms, delay_ms) ==
              core::retry_verdict::retry;
      if (!retry) record(*j, status, "gave_up");
    }
  }
  for (auto& f : followers) start(f, 0);
  if (retry) timers_.post_after(delay_ms, [this, j] { attempt(j); });
}

void webhook_sender::record(const job& j, int status, const std::string& outcome) {
  attempts_.push_back(attempt_record{j.event_id, j.attempts, status, outcome, unix_now_ms()});
  while (attempts_.size() > attempts_kept_max) attempts_.pop_front();
}

std::string webhook_sender::attempts_json() const {
  std::lock_guard guard{mutex_};
  net::json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.key("data");
  w.begin_array();
  for (const auto& a : attempts_) {
    w.begin_object();
    w.field("event", a.event_id);
    w.field("attempt", a.attempt);
    w.field("status", a.status);
    w.field("outcome", a.outcome);
    w.field("at_ms", a.at_ms);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

}  // namespace pay::sandbox
