#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/adyen/util.hpp"
#include "sandbox/timer_queue.hpp"
#include "sandbox/webhooks.hpp"

/// Adyen's standard notifications: items signed one by one (HMAC-SHA256 in
/// additionalData.hmacSignature), gathered for a short window into one
/// `{"live":"false","notificationItems":[...]}` POST of at most batch_max
/// items, and sent through the sandbox's webhook sender, which retries the
/// whole batch with backoff until the endpoint answers 2xx.
namespace pay::sandbox::adyen {

/// One NotificationRequestItem before signing.
struct notification_item {
  signed_fields fields;
  std::int64_t event_unix_s = 0;
  std::string payment_method;  ///< "visa", "mc", ... (empty: left out)
  std::string reason;          ///< refusal reason, auth code line, report URL (empty: "")
  std::vector<std::string> operations;
  std::vector<std::pair<std::string, std::string>> additional_data;  ///< besides the signature
};

struct notifier_settings {
  std::string hmac_key_hex;
  std::size_t batch_max = 10;
  std::int64_t window_ms = 50;
};

class notifier {
 public:
  notifier(timer_queue& timers, webhook_policy policy, std::uint64_t seed,
           notifier_settings settings, std::function<delivery_faults()> draw_faults);

  void set_url(std::string url);
  std::string url() const;

  /// Signs the item and queues it; a batch leaves within the window.
  void notify(notification_item item);

  /// The last items queued (signed), oldest first, as a JSON list.
  std::string items_json() const;
  /// The batches' delivery attempts (see webhook_sender::attempts_json).
  std::string attempts_json() const { return sender_.attempts_json(); }

  void stop();

  /// One item as the JSON object inside {"NotificationRequestItem": ...}.
  static std::string item_json(const notification_item& item, const std::string& signature);

 private:
  void flush();

  timer_queue& timers_;
  notifier_settings settings_;
  std::function<delivery_faults()> draw_faults_;
  webhook_sender sender_;
  mutable std::mutex mutex_;
  std::vector<std::string> pending_;  ///< signed item JSON, in order
  bool flush_scheduled_ = false;
  std::uint64_t batches_ = 0;
  std::deque<std::string> recent_;
};

}  // namespace pay::sandbox::adyen
