#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "net/http_types.hpp"
#include "sandbox/adyen/notifier.hpp"
#include "sandbox/options.hpp"
#include "sandbox/timer_queue.hpp"

/// The sandbox's Adyen mode, as if written by Adyen's test team: Checkout
/// API v71 under /adyen/checkout/v71 (sessions, payments, details,
/// asynchronous modifications, payment methods), the card component's client
/// endpoints and pages under /adyen/checkoutshopper and /adyen/sdk, signed
/// notification batches, settlement details reports under /adyen/reports and
/// test controls under /adyen/_sandbox. See docs/sandbox.md.
namespace pay::sandbox::adyen {

/// What the shared fault knobs decided for one API request.
struct api_fault {
  bool error = false;
  bool status_503 = false;
  std::int64_t latency_ms = 0;
  std::int64_t hold_ms = 0;
};

/// The sandbox's shared fault knobs, drawn from its one seeded generator.
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

  /// Handles a request whose path starts with /adyen/; never blocks.
  void handle(const net::http_request& req, const send_fn& send);

  /// Builds a settlement details report of everything settled since the
  /// last batch and announces it with REPORT_AVAILABLE (test control and
  /// the settlement interval). Returns the answer's JSON.
  std::string settle(const std::string& base_url);

  void stop();

  /// Expires every uncaptured authorisation older than Adyen's default
  /// validity (28 days, by the sandbox clock), as Adyen does: the payment
  /// can no longer be captured and an EXPIRE notification is sent. Answers
  /// how many (called when the test clock is advanced).
  std::size_t expire_lapsed();

  /// Adyen's default authorisation validity (an account setting).
  static constexpr std::int64_t authorisation_validity_s = 28 * 86'400;

  /// Counts for GET /_sandbox/state.
  std::string counts_json();

  struct session;
  struct payment;
  struct modification;
  struct ledger_line;
  struct result;

 private:
  struct idempotency_entry {
    std::string fingerprint;
    bool in_flight = true;
    int status = 0;
    std::string body;
  };

  void api(const net::http_request& req, const send_fn& send);
  void client(const net::http_request& req, const send_fn& send);
  result dispatch(const std::string& method, const std::vector<std::string>& parts,
                  const net::http_request& req, const rapidjson::Value* body);
  result control(const net::http_request& req, const std::vector<std::string>& parts);
  void record(const net::http_request& req);

  result create_session(const rapidjson::Value& body);
  result session_result(const std::string& id, const net::http_request& req);
  result payments(const rapidjson::Value& body);
  result payment_details(const rapidjson::Value& details, session* s);
  result payment_methods(const rapidjson::Value& body);
  result modify(const std::string& kind, const std::string& psp, const rapidjson::Value& body);
  result authorise(payment& p, const rapidjson::Value& method, const rapidjson::Value* extra);
  result finish_authorisation(payment& p, int code);
  result client_payment(session& s, const rapidjson::Value& body);
  std::string payment_response(const payment& p);
  void notify_authorisation(const payment& p);
  void complete_modification(const std::string& mod_psp);
  void after_session_attempt(session& s, const payment& p);
  void schedule_settlement();
  /// Whether one more object fits under --objects-max; caller holds mutex_.
  bool room() const;

  sandbox_options options_;
  timer_queue& timers_;
  fault_hooks faults_;
  notifier notifier_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<session>> sessions_;
  std::map<std::string, std::unique_ptr<payment>> payments_;
  std::map<std::string, std::unique_ptr<modification>> modifications_;
  std::map<std::string, std::string> challenge_tokens_;                   ///< token -> payment
  std::map<std::string, std::pair<std::string, bool>> three_ds_results_;  ///< -> payment, ok
  std::vector<ledger_line> ledger_;
  std::map<std::string, std::string> reports_;  ///< file name -> CSV
  std::int64_t batch_number_ = 0;
  std::map<std::string, idempotency_entry> idempotency_;
  std::deque<std::string> idempotency_order_;
  std::string last_base_url_;
  std::mutex record_mutex_;
  std::deque<std::string> recorded_;
  bool stopped_ = false;
};

}  // namespace pay::sandbox::adyen
