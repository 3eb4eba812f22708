#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "net/http_client.hpp"
#include "net/http_server.hpp"

/// What the sandbox tests share: a psp-sandbox child process on a free port,
/// an HTTP client speaking to it, and a webhook receiver.
namespace sandbox_test {

inline constexpr const char* secret_key = "sk_test_sandboxtests0000000001";
inline constexpr const char* publishable_key = "pk_test_sandboxtests0000000001";
inline constexpr const char* webhook_secret = "whsec_sandboxtests0000000000000001";

/// The real psp-sandbox binary, started with the test keys on a free port
/// and stopped (SIGTERM, then waited for) when this object goes away.
class sandbox_process {
 public:
  explicit sandbox_process(std::vector<std::string> extra_args = {});
  ~sandbox_process();
  sandbox_process(const sandbox_process&) = delete;
  sandbox_process& operator=(const sandbox_process&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;

  /// POST a form body with the secret key (or `key`), optional extra headers.
  pay::net::client_result post(const std::string& path, const std::string& form_body,
                               std::vector<pay::net::header> headers = {},
                               const std::string& key = secret_key,
                               std::int64_t timeout_ms = 10'000);
  /// GET with the secret key (or `key`; empty: no Authorization header).
  pay::net::client_result get(const std::string& path, const std::string& key = secret_key,
                              std::int64_t timeout_ms = 10'000);
  /// A raw request, headers exactly as given.
  pay::net::client_result send(pay::net::client_request req);

  /// Sends SIGTERM and waits; returns the exit status (-1 if it had to be killed).
  int stop();

  /// stdout captured so far (printed keys).
  std::string stdout_text() const;

 private:
  int pid_ = -1;
  std::uint16_t port_ = 0;
  std::string dir_;
  std::unique_ptr<pay::net::http_client> client_;
};

/// Parses a JSON body; fails the test on a parse error.
rapidjson::Document parse(const std::string& body);

/// Member lookup by dotted path ("error.code"); fails the test if absent.
const rapidjson::Value& at(const rapidjson::Value& v, const std::string& dotted);
std::string str(const rapidjson::Value& v, const std::string& dotted);
std::int64_t num(const rapidjson::Value& v, const std::string& dotted);
bool is_null(const rapidjson::Value& v, const std::string& dotted);

/// One webhook delivery as the receiver saw it.
struct delivery {
  std::string body;
  std::string signature;
  std::string event_id;
  std::string type;
  std::chrono::steady_clock::time_point at;
};

/// A webhook endpoint on a free port that fails the first `fail_first`
/// deliveries with 500 and records every delivery it received.
class webhook_receiver {
 public:
  explicit webhook_receiver(int fail_first = 0);
  ~webhook_receiver();
  std::string url() const;
  std::vector<delivery> deliveries() const;
  /// Polls until `pred(deliveries)` holds or `timeout_ms` passes.
  bool wait_for(const std::function<bool(const std::vector<delivery>&)>& pred,
                std::int64_t timeout_ms = 10'000) const;
  int requests_seen() const { return seen_.load(); }

 private:
  mutable std::mutex mutex_;
  std::vector<delivery> received_;
  std::atomic<int> seen_{0};
  int fail_first_;
  std::unique_ptr<pay::net::http_server> server_;
};

/// Polls `pred` every 20 ms for at most `timeout_ms`.
bool eventually(const std::function<bool()>& pred, std::int64_t timeout_ms = 10'000);

/// Runs a shell command and returns its stdout.
std::string run_command(const std::string& command);

}  // namespace sandbox_test

namespace sandbox_test {

/// Requires an answer with `status` and returns its parsed body.
rapidjson::Document expect_json(const pay::net::client_result& r, int status = 200);

/// Polls GET /_sandbox/webhook_deliveries until it lists `count` attempts
/// (the receiver may see a delivery before the sandbox has recorded it).
rapidjson::Document wait_for_attempts(sandbox_process& sb, std::size_t count);

/// Creates a payment intent from a form body; requires 200.
rapidjson::Document create_intent(sandbox_process& sb, const std::string& form_body);

}  // namespace sandbox_test
