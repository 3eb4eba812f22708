#pragma once

// Test support for integration tests: a scratch database per test on the
// real PostgreSQL that ./dev.sh test starts, real child processes for the
// programs, and HTTP helpers. Nothing here mocks PostgreSQL or HTTP.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "net/http_client.hpp"
#include "storage/pg.hpp"

namespace pay::test {

/// The admin URL of the test cluster (PAYMENTS_TEST_DATABASE_URL). Throws
/// with a clear message when unset: run the tests through ./dev.sh test.
std::string admin_database_url();

/// A database made for one test from the migrated template, dropped after.
/// When on, every scratch_database checks as it is dropped that each
/// version of each payment intent has at least one audit row, and fails the
/// running test when one has none (the integration tests turn it on). The
/// check starts at the intent's first audited version: rows a test inserted
/// by hand, as fixtures, have none before the engine first changes them.
void check_audit_versions_on_drop(bool on);

class scratch_database {
 public:
  /// With `migrated`, the project's migrations are applied.
  explicit scratch_database(bool migrated = true);
  ~scratch_database();
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

  /// A new connection; fails the test when it cannot connect.
  storage::pg_connection connect() const;

  /// Runs SQL and returns the rows; throws on error with PostgreSQL's text.
  storage::pg_rows query(const std::string& sql,
                         const std::vector<storage::pg_param>& params = {}) const;

  /// The single integer `sql` selects (a count).
  std::int64_t count(const std::string& sql,
                     const std::vector<storage::pg_param>& params = {}) const;

  /// Polls `sql` (a count) every 50 ms until it is `expected` or `limit`
  /// has passed; whether it got there.
  bool eventually(const std::string& sql, std::int64_t expected, std::chrono::milliseconds limit,
                  const std::vector<storage::pg_param>& params = {}) const;

 private:
  std::string name_;
  std::string url_;
};

/// A merchant with a fresh secret key, created directly in the database.
struct test_merchant {
  std::string id;
  std::string api_key;
};
test_merchant make_merchant(const scratch_database& db, const std::string& name);

/// A child process; its stdout and stderr go to a log file. Killed with
/// SIGKILL if still running when destroyed.
class child_process {
 public:
  child_process(const std::string& path, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void send_signal(int sig) const;
  /// Waits for exit; returns the exit status, or -1 on timeout, or 128+sig.
  int wait(std::chrono::milliseconds timeout);
  bool running();
  /// Everything the process wrote so far.
  std::string output() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string log_path_;
};

/// A free TCP port on 127.0.0.1 (bound then released).
std::uint16_t free_port();

/// Waits until `path` holds a port number; 0 on timeout.
std::uint16_t read_port_file(const std::string& path, std::chrono::milliseconds timeout);

/// paymentsd started against `database_url` on a free port, ready to serve.
class engine_process {
 public:
  explicit engine_process(const std::string& database_url,
                          std::map<std::string, std::string> env = {},
                          std::vector<std::string> args = {});
  const std::string& base_url() const { return base_url_; }
  std::uint16_t port() const { return port_; }
  child_process& process() { return *process_; }

 private:
  std::string dir_;
  std::uint16_t port_ = 0;
  std::string base_url_;
  std::unique_ptr<child_process> process_;
};

/// One HTTP exchange with a real client.
net::client_result http(const std::string& method, const std::string& url,
                        const std::string& body = {}, std::vector<net::header> headers = {},
                        const std::string& content_type = {});

/// Sends `bytes` on the connected socket `fd` and reads until the peer
/// closes or `timeout` passes; leaves `fd` open.
std::string send_and_read(int fd, const std::string& bytes, std::chrono::milliseconds timeout);

/// Writes `bytes` on a fresh TCP connection and reads until the peer closes
/// or `timeout` passes (for malformed requests and pipelining).
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Parses a JSON body, failing the current test (with the body) when it is
/// not JSON.
rapidjson::Document parse_json(const std::string& body);

/// The path of a built program, from the build's compile definitions.
std::string paymentsd_path();

/// A fresh temporary directory.
std::string make_temp_dir();

}  // namespace pay::test
