#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "net/http_types.hpp"
#include "sandbox/adyen/service.hpp"
#include "sandbox/faults.hpp"
#include "sandbox/options.hpp"
#include "sandbox/paypal/service.hpp"
#include "sandbox/store.hpp"
#include "sandbox/timer_queue.hpp"
#include "sandbox/webhooks.hpp"

/// The sandbox PSP behind its HTTP server: authentication, Stripe's wire
/// format, idempotency, fault injection, routing to the store, the
/// /_sandbox/ control endpoints and the hosted pages.
namespace pay::sandbox {

class service {
 public:
  /// `options` must carry the keys (main generates missing ones) and a seed.
  explicit service(sandbox_options options);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// The server's request handler; never blocks.
  void handle(net::http_request req, net::responder respond);

  /// Sends held answers, stops timers and webhook deliveries. Idempotent.
  void stop();

  /// Tells the modes the address they are reachable at once the server is
  /// bound (--port 0 learns its port only then): the PayPal mode's webhook
  /// certificate URL and links use it until a request names its Host.
  void set_base_url(const std::string& base);

  /// A transport error (body too large, bad HTTP) in Stripe's error shape.
  static net::http_response transport_error(int status, std::string_view code,
                                            std::string_view message);

 private:
  struct idempotency_entry {
    std::string fingerprint;
    bool in_flight = true;
    int status = 0;
    std::string body;
    std::string request_id;
  };

  net::http_response api(const net::http_request& req, const std::string& request_id,
                         const std::function<void(net::http_response, std::int64_t)>& send);
  net::http_response control(const net::http_request& req, const request_context& ctx);
  api_result dispatch(const std::string& method, const std::string& path, const params& p,
                      const request_context& ctx);
  void schedule_settlement();
  bool roll(std::int64_t percent);  ///< draws one seeded decision; caller holds mutex_

  sandbox_options options_;
  std::mutex mutex_;
  std::mt19937_64 rng_;
  fault_settings faults_;  ///< the Stripe mode's knobs
  /// The Adyen and PayPal modes' knobs: POST /_sandbox/faults without "psp"
  /// sets all three alike, with "psp" only that mode's.
  fault_settings adyen_faults_;
  fault_settings paypal_faults_;
  /// Test control: event type -> how many more events of it are dropped
  /// entirely (never delivered), set by POST /_sandbox/webhook_drops.
  std::map<std::string, std::int64_t> webhook_drops_;
  timer_queue timers_;
  webhook_sender webhooks_;
  store store_;
  std::map<std::string, idempotency_entry> idempotency_;
  std::deque<std::string> idempotency_order_;
  bool stopped_ = false;
  /// The Adyen mode, under /adyen/ (last: it uses timers_ and the faults).
  std::unique_ptr<adyen::service> adyen_;
  /// The PayPal mode, under /paypal/.
  std::unique_ptr<paypal::service> paypal_;
};

}  // namespace pay::sandbox
