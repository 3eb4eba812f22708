#include "core/outbound_delivery.hpp"

#include "core/standard_webhooks.hpp"

namespace pay::core {

delivery_step next_delivery_step(const delivery_policy& policy, const outbound_response& r,
                                 std::int64_t attempts_done, std::int64_t window_elapsed_ms,
                                 std::uint64_t random) {
  delivery_step step;
  if (r.answered && r.status >= 200 && r.status < 300) {
    step.delivered = true;
    return step;
  }
  // The window bounds the retries; the attempt count is a backstop.
  backoff_policy bp{policy.backoff_base_ms, policy.backoff_ceiling_ms,
                    static_cast<std::uint32_t>(limits::outbound_attempts_max),
                    policy.retry_window_s * 1000};
  auto attempt = static_cast<std::uint32_t>(attempts_done > 0 ? attempts_done - 1 : 0);
  auto delay = full_jitter_delay_ms(bp, attempt, random);
  if (next_retry(bp, static_cast<std::uint32_t>(attempts_done), window_elapsed_ms, delay) !=
      retry_verdict::retry) {
    step.dead = true;
    return step;
  }
  step.retry_in_ms = delay;
  return step;
}

outbound_request delivery_request(const std::string& url, const std::string& event_id,
                                  const std::string& body, std::span<const std::string> secrets,
                                  std::int64_t timestamp_s, std::int64_t timeout_ms) {
  outbound_request req;
  req.url = url;
  req.body = body;
  req.timeout_ms = timeout_ms;
  req.headers = {
      {"webhook-id", event_id},
      {"webhook-timestamp", std::to_string(timestamp_s)},
      {"webhook-signature",
       standard_webhook_signature_header(secrets, event_id, timestamp_s, body)},
      {"User-Agent", "paymentsd-webhooks/1"},
  };
  return req;
}

}  // namespace pay::core
