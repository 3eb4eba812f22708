#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "sandbox/paypal/util.hpp"
#include "sandbox/timer_queue.hpp"
#include "sandbox/webhooks.hpp"

/// PayPal's webhooks: one event per POST (schema `event` of Webhooks v1),
/// signed per delivery attempt with the PAYPAL-TRANSMISSION-* headers:
/// RSA-SHA256 over "<transmission id>|<time>|<webhook id>|<CRC-32 of the
/// body>", the certificate served at PAYPAL-CERT-URL. Sent through the
/// sandbox's webhook sender, which retries with backoff until a 2xx.
namespace pay::sandbox::paypal {

class notifier {
 public:
  notifier(timer_queue& timers, webhook_policy policy, std::uint64_t seed,
           std::function<delivery_faults()> draw_faults, const signing_key& key,
           std::string webhook_id, std::string cert_id);

  void set_url(std::string url);
  std::string url() const;
  void set_webhook_id(std::string id);
  std::string webhook_id() const;
  /// "CERT-..." (the last part of the certificate URL).
  const std::string& cert_id() const { return cert_id_; }
  /// Where links and the certificate URL point ("http://127.0.0.1:8090").
  void set_base_url(std::string base);
  std::string base_url() const;
  std::string cert_url() const;

  /// Wraps `resource_json` in an event and queues it; returns the event id.
  std::string notify(const std::string& event_type, const std::string& resource_type,
                     const std::string& summary, const std::string& resource_json);

  /// The last events made (delivered or not), oldest first, as a JSON list.
  std::string events_json() const;
  /// One recent event by id; empty when unknown.
  std::string event_json(const std::string& id) const;
  /// The deliveries' attempts (see webhook_sender::attempts_json).
  std::string attempts_json() const { return sender_.attempts_json(); }

  void stop();

 private:
  std::vector<net::header> headers(const std::string& payload) const;

  std::function<delivery_faults()> draw_faults_;
  const signing_key& key_;
  std::string cert_id_;
  mutable std::mutex mutex_;
  std::string webhook_id_;
  std::string base_url_;
  std::deque<std::string> recent_order_;
  std::map<std::string, std::string> recent_;  ///< event id -> JSON
  webhook_sender sender_;                      ///< last: its format calls headers()
};

}  // namespace pay::sandbox::paypal
