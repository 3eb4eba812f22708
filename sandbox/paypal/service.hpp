#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "net/http_types.hpp"
#include "sandbox/options.hpp"
#include "sandbox/paypal/notifier.hpp"
#include "sandbox/paypal/util.hpp"
#include "sandbox/timer_queue.hpp"

/// The sandbox's PayPal mode, as if written by PayPal's sandbox team, under
/// the path prefix /paypal/: OAuth2 client credentials, Orders v2, Payments
/// v2 (authorizations, captures, refunds), Webhooks v1 (signed events, the
/// signing certificate, verify-webhook-signature), Transaction Search, the
/// buyer's approval page (/paypal/checkoutnow) and test controls under
/// /paypal/_sandbox. See docs/sandbox.md "PayPal mode".
namespace pay::sandbox::paypal {

/// What the shared fault knobs decided for one API request.
struct api_fault {
  bool error = false;
  bool status_503 = false;
  std::int64_t latency_ms = 0;
  std::int64_t hold_ms = 0;
};

/// The sandbox's fault knobs for the PayPal mode, drawn from its one seeded
/// generator.
struct fault_hooks {
  std::function<api_fault()> api;
  std::function<delivery_faults()> delivery;
};

/// Sends an answer now (delay 0) or later.
using send_fn = std::function<void(net::http_response, std::int64_t delay_ms)>;

class service {
 public:
  service(const sandbox_options& options, timer_queue& timers, fault_hooks faults);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Handles a request whose path starts with /paypal/; never blocks.
  void handle(const net::http_request& req, const send_fn& send);

  /// Withdraws the available balance of every currency to the bank (a
  /// T0400 row in Transaction Search); answers the withdrawals as JSON.
  std::string settle();

  /// Where links, webhook resources and the certificate URL point until a
  /// request names its Host ("http://127.0.0.1:8090").
  void set_base_url(std::string base);

  void stop();

  /// Counts for GET /_sandbox/state.
  std::string counts_json();

  struct order;
  struct authorization;
  struct capture;
  struct refund;
  struct transaction;
  struct result;
  struct outgoing_event {
    std::string type;
    std::string resource_type;
    std::string summary;
    std::string resource;
  };

 private:
  struct idempotency_entry {
    std::string fingerprint;
    bool in_flight = true;
    int status = 0;
    std::string body;
  };

  void api(const net::http_request& req, const send_fn& send);
  void token(const net::http_request& req, const send_fn& send);
  void page(const net::http_request& req, const send_fn& send);
  result dispatch(const std::string& method, const std::vector<std::string>& parts,
                  const net::http_request& req, const rapidjson::Value& body, bool full);
  result control(const net::http_request& req, const std::vector<std::string>& parts);
  void record(const net::http_request& req);
  /// Sends the events queued under mutex_ (call without holding it).
  void flush_events();
  /// Withdraws every --settlement-interval-s (when above 0), as the other modes settle.
  void schedule_settlement();

  result create_order(const rapidjson::Value& body, bool has_request_id, bool full);
  result order_capture(order& o, bool full);
  result order_authorize(order& o, bool full);
  result authorization_capture(authorization& a, const rapidjson::Value& body, bool full);
  result authorization_void(authorization& a, bool full);
  result capture_refund(capture& c, const rapidjson::Value& body, bool full);
  result verify_signature(const net::http_request& req, const rapidjson::Value& body);
  result search(const net::http_request& req);
  result approve(order& o, const std::string& funding);
  capture& new_capture(order& o, authorization* a, std::int64_t value, bool final_capture,
                       const std::string& invoice_id);
  void complete_pending(const std::string& capture_id);
  void add_transaction(const std::string& id, const std::string& order_id, const std::string& code,
                       const std::string& currency, std::int64_t amount, std::int64_t fee,
                       const std::string& custom, const std::string& invoice);

  std::string order_json(const order& o, bool full) const;
  std::string authorization_json(const authorization& a) const;
  std::string capture_json(const capture& c) const;
  std::string refund_json(const refund& r) const;
  void emit(const std::string& type, const std::string& resource_type, const std::string& summary,
            std::string resource);
  /// Whether one more object fits under --objects-max; caller holds mutex_.
  bool room() const;

  sandbox_options options_;
  timer_queue& timers_;
  fault_hooks faults_;
  signing_key key_;
  notifier notifier_;
  std::mutex mutex_;
  std::string base_url_;
  std::map<std::string, std::int64_t> tokens_;  ///< access token -> expiry (steady ms)
  std::string current_token_;
  std::map<std::string, std::unique_ptr<order>> orders_;
  std::map<std::string, std::unique_ptr<authorization>> authorizations_;
  std::map<std::string, std::unique_ptr<capture>> captures_;
  std::map<std::string, std::unique_ptr<refund>> refunds_;
  std::vector<transaction> transactions_;
  std::map<std::string, idempotency_entry> idempotency_;
  std::deque<std::string> idempotency_order_;
  std::vector<outgoing_event> outbox_;
  std::mutex record_mutex_;
  std::deque<std::string> recorded_;
  bool stopped_ = false;
};

}  // namespace pay::sandbox::paypal
