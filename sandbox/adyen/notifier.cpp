#include "sandbox/adyen/notifier.hpp"

#include "net/json.hpp"
#include "sandbox/log.hpp"

namespace pay::sandbox::adyen {

namespace {

/// Items kept for GET /adyen/_sandbox/notifications.
constexpr std::size_t recent_items_max = 1'000;

webhook_format adyen_webhook_format() {
  webhook_format f;
  f.content_type = "application/json";
  // The signatures are inside the body, one per item; no header carries one.
  f.headers = [](const webhook_endpoint&, const std::string&) {
    return std::vector<net::header>{{"User-Agent", "Adyen HttpClient 1.0"}, {"Accept", "*/*"}};
  };
  return f;
}

}  // namespace

notifier::notifier(timer_queue& timers, webhook_policy policy, std::uint64_t seed,
                   notifier_settings settings, std::function<delivery_faults()> draw_faults)
    : timers_(timers),
      settings_(std::move(settings)),
      draw_faults_(std::move(draw_faults)),
      sender_(timers, policy, seed ^ 0xad7e11ULL, adyen_webhook_format()) {}

void notifier::set_url(std::string url) {
  sender_.configure(webhook_endpoint{std::move(url), {}, {}});
}

std::string notifier::url() const {
  return sender_.endpoint().url;
}

void notifier::stop() {
  sender_.stop();
}

std::string notifier::item_json(const notification_item& item, const std::string& signature) {
  const auto& f = item.fields;
  net::json_writer w;
  w.begin_object();
  w.key("additionalData");
  w.begin_object();
  for (const auto& [k, v] : item.additional_data) w.field(k, v);
  w.field("hmacSignature", signature);
  w.end_object();
  w.key("amount");
  w.begin_object();
  w.field("currency", f.currency);
  w.field("value", f.value);
  w.end_object();
  w.field("eventCode", f.event_code);
  w.field("eventDate", iso_time(item.event_unix_s));
  w.field("merchantAccountCode", f.merchant_account);
  w.field("merchantReference", f.merchant_reference);
  if (!f.original_reference.empty()) w.field("originalReference", f.original_reference);
  if (!item.payment_method.empty()) w.field("paymentMethod", item.payment_method);
  w.field("pspReference", f.psp_reference);
  w.field("reason", item.reason);
  w.field("success", f.success);
  if (!item.operations.empty()) {
    w.key("operations");
    w.begin_array();
    for (const auto& op : item.operations) w.value(op);
    w.end_array();
  }
  w.end_object();
  return w.take();
}

void notifier::notify(notification_item item) {
  auto json = item_json(item, hmac_signature(settings_.hmac_key_hex, item.fields));
  bool schedule = false;
  {
    std::lock_guard guard{mutex_};
    recent_.push_back(json);
    while (recent_.size() > recent_items_max) recent_.pop_front();
    if (sender_.endpoint().url.empty()) return;
    pending_.push_back(std::move(json));
    if (!flush_scheduled_) {
      flush_scheduled_ = true;
      schedule = true;
    }
  }
  if (schedule) timers_.post_after(settings_.window_ms, [this] { flush(); });
}

void notifier::flush() {
  std::string payload;
  std::string batch_id;
  bool more = false;
  {
    std::lock_guard guard{mutex_};
    auto n = std::min(pending_.size(), settings_.batch_max);
    if (n == 0) {
      flush_scheduled_ = false;
      return;
    }
    payload = "{\"live\":\"false\",\"notificationItems\":[";
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) payload += ',';
      payload += "{\"NotificationRequestItem\":" + pending_[i] + "}";
    }
    payload += "]}";
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    batch_id = "adyen_batch_" + std::to_string(++batches_);
    more = !pending_.empty();
    flush_scheduled_ = more;
    log_line("info", "adyen notification batch",
             {{"batch", batch_id}, {"items", static_cast<unsigned long>(n)}});
  }
  sender_.deliver(batch_id, payload, draw_faults_ ? draw_faults_() : delivery_faults{});
  if (more) timers_.post_after(0, [this] { flush(); });
}

std::string notifier::items_json() const {
  std::lock_guard guard{mutex_};
  std::string out = "{\"items\":[";
  bool first = true;
  for (const auto& item : recent_) {
    if (!first) out += ',';
    first = false;
    out += item;
  }
  return out + "]}";
}

}  // namespace pay::sandbox::adyen
