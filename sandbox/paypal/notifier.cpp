#include "sandbox/paypal/notifier.hpp"

#include <chrono>

#include "net/json.hpp"
#include "sandbox/log.hpp"

namespace pay::sandbox::paypal {

namespace {

/// Events kept for GET /paypal/_sandbox/events and GET
/// /paypal/v1/notifications/webhooks-events/{id}.
constexpr std::size_t recent_events_max = 2'000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// "2024-06-01T12:34:55.123Z".
std::string rfc3339_ms(std::int64_t unix_ms) {
  auto text = rfc3339(unix_ms / 1'000);
  auto ms = std::to_string(1'000 + unix_ms % 1'000).substr(1);
  return text.substr(0, text.size() - 1) + "." + ms + "Z";
}

}  // namespace

notifier::notifier(timer_queue& timers, webhook_policy policy, std::uint64_t seed,
                   std::function<delivery_faults()> draw_faults, const signing_key& key,
                   std::string webhook_id, std::string cert_id)
    : draw_faults_(std::move(draw_faults)),
      key_(key),
      cert_id_(std::move(cert_id)),
      webhook_id_(std::move(webhook_id)),
      sender_(timers, policy, seed ^ 0x9a791a1ULL, [this] {
        webhook_format f;
        f.content_type = "application/json";
        f.headers = [this](const webhook_endpoint&, const std::string& payload) {
          return headers(payload);
        };
        return f;
      }()) {}

std::vector<net::header> notifier::headers(const std::string& payload) const {
  // A fresh transmission per attempt, as at PayPal: its own id, time and
  // signature over the same body.
  auto transmission_id = new_uuid();
  auto transmission_time = rfc3339(now_ms() / 1'000);
  std::string webhook_id;
  {
    std::lock_guard guard{mutex_};
    webhook_id = webhook_id_;
  }
  auto signature =
      key_.sign(signed_string(transmission_id, transmission_time, webhook_id, payload));
  return {{"PAYPAL-TRANSMISSION-ID", transmission_id},
          {"PAYPAL-TRANSMISSION-TIME", transmission_time},
          {"PAYPAL-TRANSMISSION-SIG", signature},
          {"PAYPAL-CERT-URL", cert_url()},
          {"PAYPAL-AUTH-ALGO", "SHA256withRSA"},
          {"User-Agent", "PayPal/AUHD-214.0-58563838"},
          {"Accept", "*/*"}};
}

void notifier::set_url(std::string url) {
  sender_.configure(webhook_endpoint{std::move(url), {}, {}});
}

std::string notifier::url() const {
  return sender_.endpoint().url;
}

void notifier::set_webhook_id(std::string id) {
  std::lock_guard guard{mutex_};
  webhook_id_ = std::move(id);
}

std::string notifier::webhook_id() const {
  std::lock_guard guard{mutex_};
  return webhook_id_;
}

void notifier::set_base_url(std::string base) {
  std::lock_guard guard{mutex_};
  base_url_ = std::move(base);
}

std::string notifier::base_url() const {
  std::lock_guard guard{mutex_};
  return base_url_;
}

std::string notifier::cert_url() const {
  return base_url() + "/paypal/v1/notifications/certs/" + cert_id_;
}

std::string notifier::notify(const std::string& event_type, const std::string& resource_type,
                             const std::string& summary, const std::string& resource_json) {
  auto id = "WH-" + new_id(17) + "-" + new_id(17);
  auto base = base_url();
  net::json_writer w;
  w.begin_object();
  w.field("id", id);
  w.field("event_version", "1.0");
  w.field("create_time", rfc3339_ms(now_ms()));
  w.field("resource_type", resource_type);
  w.field("resource_version", "2.0");
  w.field("event_type", event_type);
  w.field("summary", summary);
  w.key("resource");
  w.raw(resource_json);
  w.key("links");
  w.begin_array();
  auto self = base + "/paypal/v1/notifications/webhooks-events/" + id;
  w.begin_object();
  w.field("href", self);
  w.field("rel", "self");
  w.field("method", "GET");
  w.end_object();
  w.begin_object();
  w.field("href", self + "/resend");
  w.field("rel", "resend");
  w.field("method", "POST");
  w.end_object();
  w.end_array();
  w.end_object();
  auto json = w.take();
  {
    std::lock_guard guard{mutex_};
    recent_.emplace(id, json);
    recent_order_.push_back(id);
    while (recent_order_.size() > recent_events_max) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
  }
  log_line("info", "paypal webhook event", {{"event", id}, {"type", event_type}});
  sender_.deliver(id, json, draw_faults_ ? draw_faults_() : delivery_faults{});
  return id;
}

std::string notifier::events_json() const {
  std::lock_guard guard{mutex_};
  std::string out = "[";
  bool first = true;
  for (const auto& id : recent_order_) {
    if (!first) out += ',';
    first = false;
    out += recent_.at(id);
  }
  return out + "]";
}

std::string notifier::event_json(const std::string& id) const {
  std::lock_guard guard{mutex_};
  auto it = recent_.find(id);
  return it == recent_.end() ? std::string{} : it->second;
}

void notifier::stop() {
  sender_.stop();
}

}  // namespace pay::sandbox::paypal
