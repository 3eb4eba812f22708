#include "sandbox_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/json.hpp"

namespace sandbox_test {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool eventually(const std::function<bool()>& pred, std::int64_t timeout_ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

sandbox_process::sandbox_process(std::vector<std::string> extra_args)
    : client_(std::make_unique<pay::net::http_client>()) {
  char tmpl[] = "/tmp/psp-sandbox-test-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  std::vector<std::string> args = {PSP_SANDBOX_BIN, "--port",       "0",        "--port-file",
                                   dir_ + "/port",  "--secret-key", secret_key, "--publishable-key",
                                   publishable_key, "--seed",       "42"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out = ::open((dir_ + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err = ::open((dir_ + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(out >= 0);
  REQUIRE(err >= 0);
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(out);
  ::close(err);
  bool up = eventually(
      [&] {
        auto text = read_file(dir_ + "/port");
        if (text.empty() || text.back() != '\n') return false;
        port_ = static_cast<std::uint16_t>(std::stoi(text));
        return true;
      },
      10'000);
  if (!up) INFO("sandbox stderr: " << read_file(dir_ + "/stderr"));
  REQUIRE(up);
}

sandbox_process::~sandbox_process() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int sandbox_process::stop() {
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGTERM);
  int status = 0;
  bool exited = eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, 10'000);
  if (!exited) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string sandbox_process::stdout_text() const {
  return read_file(dir_ + "/stdout");
}

std::string sandbox_process::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

pay::net::client_result sandbox_process::post(const std::string& path, const std::string& form_body,
                                              std::vector<pay::net::header> headers,
                                              const std::string& key, std::int64_t timeout_ms) {
  pay::net::client_request req;
  req.method = "POST";
  req.url = url(path);
  req.body = form_body;
  req.content_type = "application/x-www-form-urlencoded";
  req.timeout_ms = timeout_ms;
  if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
  for (auto& h : headers) req.headers.push_back(std::move(h));
  return client_->send(std::move(req));
}

pay::net::client_result sandbox_process::get(const std::string& path, const std::string& key,
                                             std::int64_t timeout_ms) {
  pay::net::client_request req;
  req.url = url(path);
  req.timeout_ms = timeout_ms;
  if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
  return client_->send(std::move(req));
}

pay::net::client_result sandbox_process::send(pay::net::client_request req) {
  return client_->send(std::move(req));
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  auto e = pay::net::parse_json_object(body, doc, 64);
  INFO("body: " << body);
  REQUIRE(e == pay::net::json_error::none);
  return doc;
}

const rapidjson::Value& at(const rapidjson::Value& v, const std::string& dotted) {
  const rapidjson::Value* cur = &v;
  std::size_t pos = 0;
  while (pos <= dotted.size()) {
    auto dot = dotted.find('.', pos);
    auto name = dotted.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    INFO("path: " << dotted);
    REQUIRE(cur->IsObject());
    auto it = cur->FindMember(name.c_str());
    REQUIRE(it != cur->MemberEnd());
    cur = &it->value;
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return *cur;
}

std::string str(const rapidjson::Value& v, const std::string& dotted) {
  const auto& x = at(v, dotted);
  INFO("path: " << dotted);
  REQUIRE(x.IsString());
  return x.GetString();
}

std::int64_t num(const rapidjson::Value& v, const std::string& dotted) {
  const auto& x = at(v, dotted);
  INFO("path: " << dotted);
  REQUIRE(x.IsInt64());
  return x.GetInt64();
}

bool is_null(const rapidjson::Value& v, const std::string& dotted) {
  return at(v, dotted).IsNull();
}

webhook_receiver::webhook_receiver(int fail_first) : fail_first_(fail_first) {
  pay::net::http_server_options opts;
  opts.port = 0;
  opts.threads = 1;
  server_ = std::make_unique<pay::net::http_server>(
      opts, [this](pay::net::http_request req, pay::net::responder respond) {
        int n = ++seen_;
        pay::net::http_response res;
        if (n <= fail_first_) {
          res.status = 500;
          res.body = "{\"error\":\"failing on purpose\"}";
          return respond(std::move(res));
        }
        delivery d;
        d.body = req.body;
        d.signature = std::string(req.header_value("Stripe-Signature").value_or(""));
        d.at = std::chrono::steady_clock::now();
        rapidjson::Document doc;
        if (pay::net::parse_json_object(req.body, doc, 64) == pay::net::json_error::none) {
          if (doc.HasMember("id") && doc["id"].IsString()) d.event_id = doc["id"].GetString();
          if (doc.HasMember("type") && doc["type"].IsString()) d.type = doc["type"].GetString();
        }
        {
          std::lock_guard guard{mutex_};
          received_.push_back(std::move(d));
        }
        res.body = "{\"received\":true}";
        respond(std::move(res));
      });
  REQUIRE(server_->start().empty());
}

webhook_receiver::~webhook_receiver() {
  server_->stop(0);
}

std::string webhook_receiver::url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port()) + "/webhooks/stripe";
}

std::vector<delivery> webhook_receiver::deliveries() const {
  std::lock_guard guard{mutex_};
  return received_;
}

bool webhook_receiver::wait_for(const std::function<bool(const std::vector<delivery>&)>& pred,
                                std::int64_t timeout_ms) const {
  return eventually([&] { return pred(deliveries()); }, timeout_ms);
}

std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[512];
  while (auto n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

}  // namespace sandbox_test

namespace sandbox_test {

rapidjson::Document expect_json(const pay::net::client_result& r, int status) {
  INFO("transport error: " << r.error);
  REQUIRE(r.answered);
  INFO("body: " << r.response.body);
  REQUIRE(r.response.status == status);
  return parse(r.response.body);
}

rapidjson::Document create_intent(sandbox_process& sb, const std::string& form_body) {
  return expect_json(sb.post("/v1/payment_intents", form_body));
}

}  // namespace sandbox_test

namespace sandbox_test {

rapidjson::Document wait_for_attempts(sandbox_process& sb, std::size_t count) {
  std::string body;
  bool enough = eventually([&] {
    auto r = sb.get("/_sandbox/webhook_deliveries");
    if (!r.answered || r.response.status != 200) return false;
    body = r.response.body;
    return parse(body)["data"].Size() >= count;
  });
  INFO("deliveries: " << body);
  REQUIRE(enough);
  return parse(body);
}

}  // namespace sandbox_test
