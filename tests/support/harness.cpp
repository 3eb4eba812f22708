#include "tests/support/harness.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/api_key.hpp"
#include "core/ids.hpp"
#include "storage/merchants.hpp"
#include "storage/migrations.hpp"

extern char** environ;

namespace pay::test {

namespace {

std::string database_url_for(const std::string& admin, const std::string& db) {
  // The admin URL ends in /postgres (dev.sh); swap the database name.
  auto slash = admin.rfind('/');
  auto query = admin.find('?', slash);
  return admin.substr(0, slash + 1) + db + (query == std::string::npos ? "" : admin.substr(query));
}

storage::pg_connection connect_or_throw(const std::string& url) {
  auto c = storage::pg_connection::connect(url);
  if (!c)
    throw std::runtime_error("cannot connect to " + storage::redact_url(url) + ": " +
                             c.err().message);
  return std::move(*c);
}

}  // namespace

std::string admin_database_url() {
  const char* url = std::getenv("PAYMENTS_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0')
    throw std::runtime_error(
        "PAYMENTS_TEST_DATABASE_URL is not set: run the integration tests through ./dev.sh test");
  return url;
}

scratch_database::scratch_database(bool migrated) {
  auto admin = admin_database_url();
  name_ = "t_" + core::random_token(16);
  for (auto& ch : name_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto conn = connect_or_throw(admin);
  if (auto r = conn.exec("CREATE DATABASE " + name_); !r.ok())
    throw std::runtime_error("CREATE DATABASE failed: " + r.error->message);
  url_ = database_url_for(admin, name_);
  if (migrated) {
    auto db = connect_or_throw(url_);
    auto report = storage::apply_migrations(db, storage::embedded_migrations());
    if (!report) throw std::runtime_error("migrations failed: " + report.err().message);
  }
}

namespace {
std::atomic<bool> audit_versions_checked{false};
}  // namespace

void check_audit_versions_on_drop(bool on) {
  audit_versions_checked = on;
}

scratch_database::~scratch_database() {
  if (audit_versions_checked) {
    if (auto db = storage::pg_connection::connect(url_)) {
      auto missing = db->exec(
          "SELECT p.id, v FROM payment_intents p, generate_series(coalesce((SELECT "
          "min(version) FROM audit_events a WHERE a.intent_id = p.id), p.version + 1), "
          "p.version) v WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.intent_id = "
          "p.id AND a.version = v) ORDER BY 1, 2 LIMIT 5");
      if (missing.ok() && missing.rows.size() > 0) {
        std::string list;
        for (int i = 0; i < missing.rows.size(); ++i)
          list += " " + std::string(missing.rows.text(i, 0)) + "@v" +
                  std::string(missing.rows.text(i, 1));
        FAIL_CHECK("intent versions without an audit row:" << list);
      }
    }
  }
  auto conn = storage::pg_connection::connect(admin_database_url());
  if (conn) conn->exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

storage::pg_connection scratch_database::connect() const {
  return connect_or_throw(url_);
}

storage::pg_rows scratch_database::query(const std::string& sql,
                                         const std::vector<storage::pg_param>& params) const {
  auto conn = connect();
  auto r = conn.exec(sql, params);
  if (!r.ok()) throw std::runtime_error("query failed: " + r.error->message + " [" + sql + "]");
  return std::move(r.rows);
}

std::int64_t scratch_database::count(const std::string& sql,
                                     const std::vector<storage::pg_param>& params) const {
  return query(sql, params).int64(0, 0);
}

bool scratch_database::eventually(const std::string& sql, std::int64_t expected,
                                  std::chrono::milliseconds limit,
                                  const std::vector<storage::pg_param>& params) const {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (count(sql, params) == expected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return count(sql, params) == expected;
}

test_merchant make_merchant(const scratch_database& db, const std::string& name) {
  auto conn = db.connect();
  auto id = storage::ensure_merchant(conn, name);
  if (!id) throw std::runtime_error("ensure_merchant: " + id.err().message);
  test_merchant m{*id, core::make_secret_key()};
  if (auto added = storage::add_api_key(conn, m.id, m.api_key); !added)
    throw std::runtime_error("add_api_key: " + added.err().message);
  return m;
}

std::string make_temp_dir() {
  std::string tmpl = "/tmp/payments-test.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

child_process::child_process(const std::string& path, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  log_path_ = make_temp_dir() + "/output.log";
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto key = kv.substr(0, kv.find('='));
    if (env.find(key) == env.end()) env_s.push_back(kv);
  }
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv_p, env_p;
  for (auto& s : argv_s) argv_p.push_back(s.data());
  argv_p.push_back(nullptr);
  for (auto& s : env_s) env_p.push_back(s.data());
  env_p.push_back(nullptr);
  int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // The child starts with no blocked signals, whatever the test runner had.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execve(path.c_str(), argv_p.data(), env_p.data());
    _exit(127);
  }
  ::close(fd);
}

child_process::~child_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
}

void child_process::send_signal(int sig) const {
  ::kill(pid_, sig);
}

bool child_process::running() {
  if (reaped_) return false;
  int status = 0;
  auto r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
    return false;
  }
  return true;
}

int child_process::wait(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

std::string child_process::output() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::uint16_t read_port_file(const std::string& path, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(path);
    unsigned port = 0;
    if (in >> port && port > 0) return static_cast<std::uint16_t>(port);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

std::string paymentsd_path() {
  return PAYMENTSD_BIN;
}

rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  INFO("body: " << body);
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

engine_process::engine_process(const std::string& database_url,
                               std::map<std::string, std::string> env,
                               std::vector<std::string> args) {
  dir_ = make_temp_dir();
  auto port_file = dir_ + "/port";
  env.emplace("PAYMENTS_DATABASE_URL", database_url);
  env.emplace("PAYMENTS_PORT", "0");
  env.emplace("PAYMENTS_PORT_FILE", port_file);
  env.emplace("PAYMENTS_STORAGE_CONNECTIONS", "2");
  // A PSP must be configured to start; tests that talk to one override these.
  env.emplace("PAYMENTS_PSP_SECRET_KEY", "sk_test_no_psp_in_this_test");
  env.emplace("PAYMENTS_PSP_BASE_URL", "http://127.0.0.1:9");
  process_ = std::make_unique<child_process>(paymentsd_path(), args, env);
  port_ = read_port_file(port_file, std::chrono::seconds(30));
  if (port_ == 0)
    throw std::runtime_error("paymentsd did not start; output:\n" + process_->output());
  base_url_ = "http://127.0.0.1:" + std::to_string(port_);
}

net::client_result http(const std::string& method, const std::string& url, const std::string& body,
                        std::vector<net::header> headers, const std::string& content_type) {
  static net::http_client client;
  net::client_request req;
  req.method = method;
  req.url = url;
  req.body = body;
  req.headers = std::move(headers);
  req.content_type = content_type;
  req.timeout_ms = 15'000;
  return client.send(std::move(req));
}

std::string send_and_read(int fd, const std::string& bytes, std::chrono::milliseconds timeout) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  timeval tv{};
  tv.tv_sec = static_cast<long>(timeout.count() / 1000);
  tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  auto out = send_and_read(fd, bytes, timeout);
  ::close(fd);
  return out;
}

}  // namespace pay::test
