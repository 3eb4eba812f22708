// The Stripe connector over real HTTP: against the real psp-sandbox binary
// (which speaks Stripe's API), against ports that refuse or never answer, and
// against a throwaway TLS server whose certificate comes from a CA made here
// with the openssl command line.

#include <catch2/catch.hpp>

#ifdef PSP_SANDBOX_BIN

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/ids.hpp"
#include "net/form.hpp"
#include "psp/stripe/stripe_connector.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

/// Generous: a healthy call takes milliseconds; only the timeout tests wait.
constexpr std::int64_t call_timeout_ms = 5'000;

// ---- waiting for a callback ------------------------------------------------------

/// Runs one connector call and waits for its callback; records how often
/// and on which thread the callback ran.
template <class T>
struct call_result {
  core::psp_outcome<T> outcome;
  std::thread::id thread;
  std::shared_ptr<std::atomic<int>> calls;
};

template <class T, class Call>
call_result<T> await(Call&& call) {
  auto promise = std::make_shared<std::promise<std::pair<core::psp_outcome<T>, std::thread::id>>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto future = promise->get_future();
  call([promise, calls](core::psp_outcome<T> o) {
    if (calls->fetch_add(1) == 0) promise->set_value({std::move(o), std::this_thread::get_id()});
  });
  REQUIRE(future.wait_for(30s) == std::future_status::ready);
  auto [outcome, thread] = future.get();
  return {std::move(outcome), thread, calls};
}

template <class T>
const T& success(const core::psp_outcome<T>& o) {
  if (const auto* f = std::get_if<core::psp_failure>(&o)) {
    INFO("failure: " << core::to_string(f->kind) << " " << f->http_status << " " << f->code << ": "
                     << f->message);
    FAIL("the PSP call failed");
  }
  return std::get<T>(o);
}

template <class T>
const core::psp_failure& failure(const core::psp_outcome<T>& o) {
  REQUIRE(std::holds_alternative<core::psp_failure>(o));
  return std::get<core::psp_failure>(o);
}

core::psp_outcome<core::psp_intent> create(psp::stripe_connector& c,
                                           const core::psp_create_intent& req,
                                           const std::string& key,
                                           std::int64_t timeout_ms = call_timeout_ms) {
  return await<core::psp_intent>(
             [&](auto done) { c.create_intent(req, key, timeout_ms, std::move(done)); })
      .outcome;
}

core::psp_outcome<core::psp_intent> retrieve(psp::stripe_connector& c, const std::string& id) {
  return await<core::psp_intent>(
             [&](auto done) { c.retrieve_intent(id, call_timeout_ms, std::move(done)); })
      .outcome;
}

core::psp_outcome<core::psp_intent> capture(psp::stripe_connector& c, const std::string& id,
                                            std::optional<std::int64_t> amount,
                                            const std::string& key) {
  return await<core::psp_intent>([&](auto done) {
           core::psp_modification m;
           m.psp_intent_id = id;
           m.amount = amount;
           c.capture_intent(m, key, call_timeout_ms, std::move(done));
         })
      .outcome;
}

core::psp_outcome<core::psp_intent> cancel(psp::stripe_connector& c, const std::string& id,
                                           const std::string& key) {
  return await<core::psp_intent>([&](auto done) {
           core::psp_modification m;
           m.psp_intent_id = id;
           c.cancel_intent(m, key, call_timeout_ms, std::move(done));
         })
      .outcome;
}

core::psp_outcome<core::psp_refund> refund(psp::stripe_connector& c, const std::string& id,
                                           std::optional<std::int64_t> amount,
                                           const std::optional<std::string>& reason,
                                           const std::string& key) {
  return await<core::psp_refund>([&](auto done) {
           core::psp_modification m;
           m.psp_intent_id = id;
           m.amount = amount;
           m.reason = reason;
           c.create_refund(m, key, call_timeout_ms, std::move(done));
         })
      .outcome;
}

core::psp_outcome<core::psp_refund> retrieve_refund(psp::stripe_connector& c,
                                                    const std::string& id) {
  return await<core::psp_refund>(
             [&](auto done) { c.retrieve_refund(id, call_timeout_ms, std::move(done)); })
      .outcome;
}

// ---- the sandbox -------------------------------------------------------------------

std::string new_key() {
  return "idem_" + core::random_token(24);
}

std::unique_ptr<psp::stripe_connector> connector_for(const test::sandbox_process& sandbox) {
  psp::stripe_options o;
  o.base_url = sandbox.base_url();
  o.secret_key = sandbox.secret_key();
  return std::make_unique<psp::stripe_connector>(o);
}

core::psp_create_intent intent_request(std::int64_t amount, core::capture_method capture) {
  core::psp_create_intent req;
  req.amount = amount;
  req.currency = "usd";
  req.capture = capture;
  req.engine_intent_id = "pi_engine_" + core::random_token(12);
  return req;
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  INFO("body: " << body);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

/// A plain POST with the sandbox's secret key, as a test (or a browser) would.
net::client_result sandbox_post(const test::sandbox_process& sandbox, const std::string& path,
                                const std::string& body) {
  return test::http("POST", sandbox.base_url() + path, body,
                    {{"Authorization", "Bearer " + sandbox.secret_key()}},
                    "application/x-www-form-urlencoded");
}

net::client_result sandbox_get(const test::sandbox_process& sandbox, const std::string& path) {
  return test::http("GET", sandbox.base_url() + path, {},
                    {{"Authorization", "Bearer " + sandbox.secret_key()}});
}

/// Confirms at the sandbox with a test card (the connector never confirms:
/// the shopper's browser does).
net::client_result confirm(const test::sandbox_process& sandbox, const std::string& id,
                           const std::string& payment_method) {
  return sandbox_post(sandbox, "/v1/payment_intents/" + id + "/confirm",
                      "payment_method=" + payment_method);
}

/// Creates a manual-capture intent and confirms it with pm_card_visa.
core::psp_intent authorized_intent(const test::sandbox_process& sandbox, psp::stripe_connector& c,
                                   std::int64_t amount) {
  auto created =
      success(create(c, intent_request(amount, core::capture_method::manual), new_key()));
  auto r = confirm(sandbox, created.id, "pm_card_visa");
  INFO("confirm: " << r.response.body);
  REQUIRE(r.response.status == 200);
  auto now = success(retrieve(c, created.id));
  REQUIRE(now.status == core::intent_status::authorized);
  return now;
}

std::int64_t sandbox_count(const test::sandbox_process& sandbox, const char* kind) {
  auto r = sandbox_get(sandbox, "/_sandbox/state");
  REQUIRE(r.response.status == 200);
  auto doc = parse(r.response.body);
  return doc["objects"][kind].GetInt64();
}

void set_faults(const test::sandbox_process& sandbox, const std::string& form) {
  auto r = sandbox_post(sandbox, "/_sandbox/faults", form);
  INFO("faults: " << r.response.body);
  REQUIRE(r.response.status == 200);
}

// ---- a throwaway CA and a tiny TLS server ----------------------------------------

/// A CA and a server certificate for the name localhost only, made once per run
/// with the openssl command line.
struct test_pki {
  std::string dir;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

const test_pki& pki() {
  static const test_pki made = [] {
    test_pki p;
    p.dir = test::make_temp_dir();
    p.ca_file = p.dir + "/ca.pem";
    p.cert_file = p.dir + "/server.pem";
    p.key_file = p.dir + "/server.key";
    std::ofstream(p.dir + "/server.ext") << "subjectAltName=DNS:localhost\n"
                                            "basicConstraints=critical,CA:FALSE\n"
                                            "keyUsage=critical,digitalSignature\n"
                                            "extendedKeyUsage=serverAuth\n";
    std::string d = "'" + p.dir + "'";
    std::string script =
        "cd " + d +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout ca.key -out ca.pem -days 2 -subj '/CN=payments test CA'"
        " -addext 'basicConstraints=critical,CA:TRUE'"
        " -addext 'keyUsage=critical,keyCertSign,cRLSign'"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout server.key -out server.csr -subj '/CN=localhost'"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
        " -out server.pem -days 2 -extfile server.ext";
    std::string command = "( " + script + " ) > " + d + "/openssl.log 2>&1";
    if (std::system(command.c_str()) != 0) {
      std::ifstream log(p.dir + "/openssl.log");
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      throw std::runtime_error("openssl failed:\n" + text);
    }
    return p;
  }();
  // The throwaway CA's private key does not outlive the test run.
  static const struct remover {
    std::string dir;
    ~remover() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{made.dir};
  return made;
}

/// An HTTPS server on 127.0.0.1 that answers every request with one canned
/// response and remembers what it was sent.
class tls_server {
 public:
  struct seen_request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  ///< names lowercased
    std::string body;
  };

  tls_server() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    tls_.use_certificate_chain_file(pki().cert_file);
    tls_.use_private_key_file(pki().key_file, ssl::context::pem);
    thread_ = std::thread([this] { serve(); });
  }

  ~tls_server() {
    stopping_ = true;
    // Wakes the blocking accept.
    beast::error_code ignored;
    tcp::socket wake(ioc_);
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string base_url() const { return "https://localhost:" + std::to_string(port()); }

  void answer(int status, std::string body) {
    std::lock_guard guard{mutex_};
    status_ = status;
    body_ = std::move(body);
  }

  std::vector<seen_request> requests() const {
    std::lock_guard guard{mutex_};
    return seen_;
  }

 private:
  void serve() {
    while (true) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (ec) continue;
      // A client that stops talking must not wedge the server.
      timeval limit{5, 0};
      ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      beast::ssl_stream<tcp::socket> stream(std::move(socket), tls_);
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) continue;  // e.g. the client refused our certificate
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) continue;
      http::response<http::string_body> res;
      {
        std::lock_guard guard{mutex_};
        seen_request seen{
            std::string(req.method_string()), std::string(req.target()), {}, req.body()};
        for (const auto& field : req) {
          std::string name(field.name_string());
          for (auto& ch : name)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          seen.headers[name] = std::string(field.value());
        }
        seen_.push_back(std::move(seen));
        res.result(static_cast<unsigned>(status_));
        res.body() = body_;
      }
      res.version(11);
      res.set(http::field::content_type, "application/json");
      res.keep_alive(false);
      res.prepare_payload();
      http::write(stream, res, ec);
      stream.shutdown(ec);
    }
  }

  asio::io_context ioc_;
  ssl::context tls_{ssl::context::tls_server};
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  int status_ = 200;
  std::string body_ = "{}";
  std::vector<seen_request> seen_;
  std::thread thread_;
};

std::unique_ptr<psp::stripe_connector> connector_trusting(const tls_server& server,
                                                          const std::string& secret_key) {
  psp::stripe_options o;
  o.base_url = server.base_url();
  o.secret_key = secret_key;
  o.ca_file = pki().ca_file;
  return std::make_unique<psp::stripe_connector>(o);
}

const char* const canned_intent =
    R"({"id":"pi_canned","object":"payment_intent","amount":500,"amount_capturable":500,)"
    R"("amount_received":0,"capture_method":"manual","client_secret":"pi_canned_secret_x",)"
    R"("currency":"usd","last_payment_error":null,"status":"requires_capture",)"
    R"("charges":{"object":"list","data":[{"id":"ch_canned","object":"charge"}]}})";

}  // namespace

// ---- against the sandbox -----------------------------------------------------------

TEST_CASE("stripe connector: creating an intent answers the PSP's intent with its client secret") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto req = intent_request(1234, core::capture_method::manual);
  req.description = "Order #42 & more";
  req.metadata_json = R"({"order":"42","note":"a b&c=d"})";

  auto call = await<core::psp_intent>(
      [&](auto done) { c->create_intent(req, new_key(), call_timeout_ms, std::move(done)); });
  const auto& pi = success(call.outcome);

  CHECK(pi.id.starts_with("pi_"));
  CHECK(pi.status == core::intent_status::created);
  CHECK(pi.psp_status == "requires_payment_method");
  CHECK(pi.amount == 1234);
  CHECK(pi.currency == "usd");
  CHECK(pi.capture == core::capture_method::manual);
  CHECK(pi.amount_capturable == 0);
  CHECK(pi.amount_received == 0);
  REQUIRE(pi.client_secret);
  CHECK(pi.client_secret->starts_with(pi.id + "_secret_"));
  CHECK_FALSE(pi.latest_charge);
  CHECK_FALSE(pi.last_payment_error_json);
  CHECK(call.thread != std::this_thread::get_id());
  CHECK(*call.calls == 1);

  // What the sandbox stored: the form reached it intact.
  auto stored = parse(sandbox_get(sandbox, "/v1/payment_intents/" + pi.id).response.body);
  CHECK(std::string(stored["description"].GetString()) == "Order #42 & more");
  CHECK(std::string(stored["metadata"]["order"].GetString()) == "42");
  CHECK(std::string(stored["metadata"]["note"].GetString()) == "a b&c=d");
  CHECK(std::string(stored["metadata"]["engine_intent_id"].GetString()) == req.engine_intent_id);
  CHECK(std::string(stored["payment_method_types"][0].GetString()) == "card");
}

TEST_CASE(
    "stripe connector: creating twice with one idempotency key creates one intent at the PSP") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto req = intent_request(500, core::capture_method::automatic);
  auto key = new_key();

  auto first = success(create(*c, req, key));
  auto second = success(create(*c, req, key));

  CHECK(second.id == first.id);
  CHECK(second.client_secret == first.client_secret);
  CHECK(sandbox_count(sandbox, "payment_intents") == 1);

  auto other = success(create(*c, req, new_key()));
  CHECK(other.id != first.id);
  CHECK(sandbox_count(sandbox, "payment_intents") == 2);
}

TEST_CASE("stripe connector: reusing an idempotency key with different parameters is rejected") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto key = new_key();
  success(create(*c, intent_request(500, core::capture_method::automatic), key));

  auto f = failure(create(*c, intent_request(501, core::capture_method::automatic), key));

  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 400);
  CHECK(f.type == "idempotency_error");
  CHECK(sandbox_count(sandbox, "payment_intents") == 1);
}

TEST_CASE("stripe connector: retrieving an intent reads its current state at the PSP") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto created = success(create(*c, intent_request(800, core::capture_method::manual), new_key()));
  REQUIRE(confirm(sandbox, created.id, "pm_card_visa").response.status == 200);

  auto pi = success(retrieve(*c, created.id));

  CHECK(pi.id == created.id);
  CHECK(pi.status == core::intent_status::authorized);
  CHECK(pi.amount_capturable == 800);
  CHECK(pi.amount_received == 0);
  REQUIRE(pi.latest_charge);
  CHECK(pi.latest_charge->starts_with("ch_"));
  CHECK_FALSE(pi.last_payment_error_json);
}

TEST_CASE("stripe connector: an authorised intent captures in full") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto pi = authorized_intent(sandbox, *c, 1000);

  auto captured = success(capture(*c, pi.id, std::nullopt, new_key()));

  CHECK(captured.status == core::intent_status::captured);
  CHECK(captured.amount_received == 1000);
  CHECK(captured.amount_capturable == 0);
  CHECK(captured.latest_charge == pi.latest_charge);
}

TEST_CASE("stripe connector: a partial capture takes only the amount asked for") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto pi = authorized_intent(sandbox, *c, 1000);

  auto captured = success(capture(*c, pi.id, 600, new_key()));

  CHECK(captured.status == core::intent_status::captured);
  CHECK(captured.amount_received == 600);
  CHECK(captured.amount_capturable == 0);
  CHECK(sandbox_count(sandbox, "balance_transactions") == 1);
}

TEST_CASE("stripe connector: a capture retried with its idempotency key captures once") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto pi = authorized_intent(sandbox, *c, 1000);
  auto key = new_key();

  auto first = success(capture(*c, pi.id, 400, key));
  auto again = success(capture(*c, pi.id, 400, key));

  CHECK(again.status == core::intent_status::captured);
  CHECK(again.amount_received == first.amount_received);
  CHECK(sandbox_count(sandbox, "balance_transactions") == 1);

  // A new key is a new capture, which the PSP refuses on a captured intent.
  auto f = failure(capture(*c, pi.id, 400, new_key()));
  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 400);
  CHECK(f.code == "payment_intent_unexpected_state");
}

TEST_CASE(
    "stripe connector: capturing more than is capturable is rejected with the parameter named") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto pi = authorized_intent(sandbox, *c, 1000);

  auto f = failure(capture(*c, pi.id, 1001, new_key()));

  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 400);
  CHECK(f.type == "invalid_request_error");
  CHECK(f.code == "amount_too_large");
  CHECK(f.param == "amount_to_capture");
  CHECK_FALSE(f.message.empty());
}

TEST_CASE("stripe connector: canceling an authorised intent voids it") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto pi = authorized_intent(sandbox, *c, 700);

  auto canceled = success(cancel(*c, pi.id, new_key()));

  CHECK(canceled.status == core::intent_status::canceled);
  CHECK(canceled.amount_capturable == 0);
  CHECK(canceled.amount_received == 0);
  CHECK(success(retrieve(*c, pi.id)).status == core::intent_status::canceled);
}

TEST_CASE("stripe connector: canceling an intent that was never confirmed cancels it") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto created = success(create(*c, intent_request(700, core::capture_method::manual), new_key()));

  auto canceled = success(cancel(*c, created.id, new_key()));

  CHECK(canceled.status == core::intent_status::canceled);
}

TEST_CASE(
    "stripe connector: refunding part and then the rest refunds the whole payment, and no more") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto created =
      success(create(*c, intent_request(1000, core::capture_method::automatic), new_key()));
  REQUIRE(confirm(sandbox, created.id, "pm_card_visa").response.status == 200);
  REQUIRE(success(retrieve(*c, created.id)).status == core::intent_status::captured);

  auto part = success(refund(*c, created.id, 300, "requested_by_customer", new_key()));
  CHECK(part.id.starts_with("re_"));
  CHECK(part.status == core::refund_status::succeeded);
  CHECK(part.amount == 300);
  CHECK(part.currency == "usd");
  CHECK(part.payment_intent == created.id);

  auto rest = success(refund(*c, created.id, std::nullopt, std::nullopt, new_key()));
  CHECK(rest.id != part.id);
  CHECK(rest.amount == 700);
  CHECK(rest.payment_intent == created.id);

  auto f = failure(refund(*c, created.id, 1, std::nullopt, new_key()));
  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 400);
  CHECK(f.code == "charge_already_refunded");
  CHECK(sandbox_count(sandbox, "refunds") == 2);
}

TEST_CASE("stripe connector: a refund retried with its idempotency key refunds once") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto pi = authorized_intent(sandbox, *c, 1000);
  success(capture(*c, pi.id, std::nullopt, new_key()));
  auto key = new_key();

  auto first = success(refund(*c, pi.id, 250, std::nullopt, key));
  auto again = success(refund(*c, pi.id, 250, std::nullopt, key));

  CHECK(again.id == first.id);
  CHECK(sandbox_count(sandbox, "refunds") == 1);
}

TEST_CASE("stripe connector: retrieving a refund reads it back") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto pi = authorized_intent(sandbox, *c, 900);
  success(capture(*c, pi.id, std::nullopt, new_key()));
  auto made = success(refund(*c, pi.id, 400, "duplicate", new_key()));

  auto read = success(retrieve_refund(*c, made.id));

  CHECK(read.id == made.id);
  CHECK(read.status == core::refund_status::succeeded);
  CHECK(read.amount == 400);
  CHECK(read.currency == "usd");
  CHECK(read.payment_intent == pi.id);
}

TEST_CASE("stripe connector: a card decline at the PSP maps to declined with Stripe's codes") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto created = success(create(*c, intent_request(1000, core::capture_method::manual), new_key()));

  // The browser's confirm is declined; its answer is what the connector maps.
  auto r = confirm(sandbox, created.id, "pm_card_chargeDeclined");
  REQUIRE(r.response.status == 402);
  auto f = psp::stripe_failure_of(r.response.status, r.response.body, sandbox.secret_key());

  CHECK(f.kind == core::psp_failure_kind::declined);
  CHECK(f.http_status == 402);
  CHECK(f.type == "card_error");
  CHECK(f.code == "card_declined");
  CHECK(f.decline_code == "generic_decline");
  CHECK(f.message == "Your card was declined.");
}

TEST_CASE(
    "stripe connector: a declined intent carries its payment error and capturing it is rejected") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto created = success(create(*c, intent_request(1000, core::capture_method::manual), new_key()));
  REQUIRE(confirm(sandbox, created.id, "pm_card_chargeDeclinedInsufficientFunds").response.status ==
          402);

  auto pi = success(retrieve(*c, created.id));
  CHECK(pi.status == core::intent_status::created);
  REQUIRE(pi.last_payment_error_json);
  auto error = parse(*pi.last_payment_error_json);
  CHECK(std::string(error["type"].GetString()) == "card_error");
  CHECK(std::string(error["code"].GetString()) == "card_declined");
  CHECK(std::string(error["decline_code"].GetString()) == "insufficient_funds");
  REQUIRE(pi.latest_charge);
  CHECK(pi.latest_charge->starts_with("ch_"));

  auto f = failure(capture(*c, created.id, std::nullopt, new_key()));
  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 400);
  CHECK(f.code == "payment_intent_unexpected_state");
}

TEST_CASE("stripe connector: a wrong secret key is rejected with 401 and appears in no message") {
  test::sandbox_process sandbox;
  psp::stripe_options o;
  o.base_url = sandbox.base_url();
  o.secret_key = "sk_test_" + core::random_token(24);
  psp::stripe_connector c{o};

  auto f = failure(create(c, intent_request(500, core::capture_method::automatic), new_key()));

  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 401);
  CHECK(f.type == "invalid_request_error");
  CHECK_FALSE(f.message.empty());
  CHECK(f.message.find(o.secret_key) == std::string::npos);
  CHECK(f.param.find(o.secret_key) == std::string::npos);
  CHECK(sandbox_count(sandbox, "payment_intents") == 0);
}

TEST_CASE("stripe connector: an unknown id is rejected with 404") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);

  auto f = failure(retrieve(*c, "pi_doesnotexist"));
  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 404);
  CHECK(f.code == "resource_missing");

  auto r = failure(retrieve_refund(*c, "re_doesnotexist"));
  CHECK(r.kind == core::psp_failure_kind::rejected);
  CHECK(r.http_status == 404);

  auto cap = failure(capture(*c, "pi_doesnotexist", std::nullopt, new_key()));
  CHECK(cap.http_status == 404);
}

TEST_CASE("stripe connector: an id with slashes and query characters stays one path segment") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  auto pi = authorized_intent(sandbox, *c, 500);
  std::string hostile = pi.id + "/capture?amount_to_capture=1#x";

  auto f = failure(capture(*c, hostile, std::nullopt, new_key()));

  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 404);
  // The PSP looked for exactly this id, and the real intent is untouched.
  CHECK(f.message.find("'" + hostile + "'") != std::string::npos);
  CHECK(success(retrieve(*c, pi.id)).status == core::intent_status::authorized);
}

TEST_CASE("stripe connector: a PSP answering every request with a server error is retryable") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  set_faults(sandbox, "error_percent=100");
  auto req = intent_request(500, core::capture_method::automatic);
  auto key = new_key();

  auto f = failure(create(*c, req, key));
  CHECK(f.kind == core::psp_failure_kind::retryable);
  CHECK((f.http_status == 500 || f.http_status == 503));
  CHECK(f.type == "api_error");
  CHECK(sandbox_count(sandbox, "payment_intents") == 0);

  // The failed key is not poisoned: once the PSP recovers, the retry creates.
  set_faults(sandbox, "reset=true");
  auto pi = success(create(*c, req, key));
  CHECK(pi.amount == 500);
  CHECK(sandbox_count(sandbox, "payment_intents") == 1);
}

TEST_CASE("stripe connector: a PSP slower than the call's timeout fails as a retryable timeout") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  set_faults(sandbox, "latency_ms=3000");

  auto started = std::chrono::steady_clock::now();
  auto f =
      failure(create(*c, intent_request(500, core::capture_method::automatic), new_key(), 300));
  auto elapsed = std::chrono::steady_clock::now() - started;

  CHECK(f.kind == core::psp_failure_kind::retryable);
  CHECK(f.http_status == 0);
  CHECK(f.message.find("timed out") != std::string::npos);
  CHECK(elapsed < 2500ms);
}

TEST_CASE(
    "stripe connector: a retry while the first attempt still runs at the PSP is retryable, then "
    "one intent") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  set_faults(sandbox, "latency_ms=1500");
  auto req = intent_request(500, core::capture_method::automatic);
  auto key = new_key();

  auto timed_out = failure(create(*c, req, key, 200));
  CHECK(timed_out.kind == core::psp_failure_kind::retryable);

  // The PSP still holds the key for the first attempt: 409, try again later.
  auto in_use = failure(create(*c, req, key));
  CHECK(in_use.kind == core::psp_failure_kind::retryable);
  CHECK(in_use.http_status == 409);
  CHECK(in_use.type == "idempotency_error");

  set_faults(sandbox, "reset=true");
  std::optional<core::psp_intent> pi;
  for (int attempt = 0; attempt < 50 && !pi; ++attempt) {
    auto o = create(*c, req, key);
    if (std::holds_alternative<core::psp_intent>(o))
      pi = std::get<core::psp_intent>(o);
    else
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(pi);
  CHECK(sandbox_count(sandbox, "payment_intents") == 1);
}

TEST_CASE("stripe connector: a port nothing listens on fails as retryable without an answer") {
  psp::stripe_options o;
  o.base_url = "http://127.0.0.1:" + std::to_string(test::free_port());
  o.secret_key = "sk_test_" + core::random_token(24);
  psp::stripe_connector c{o};

  auto f = failure(create(c, intent_request(500, core::capture_method::automatic), new_key()));

  CHECK(f.kind == core::psp_failure_kind::retryable);
  CHECK(f.http_status == 0);
  CHECK(f.message.find("Could not reach the PSP") != std::string::npos);
  CHECK(f.message.find(o.secret_key) == std::string::npos);
}

TEST_CASE(
    "stripe connector: a server that accepts but never answers fails as a retryable timeout") {
  asio::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  psp::stripe_options o;
  o.base_url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  o.secret_key = "sk_test_" + core::random_token(24);
  psp::stripe_connector c{o};

  auto started = std::chrono::steady_clock::now();
  auto f = failure(await<core::psp_intent>([&](auto done) {
                     c.retrieve_intent("pi_x", 300, std::move(done));
                   }).outcome);
  auto elapsed = std::chrono::steady_clock::now() - started;

  CHECK(f.kind == core::psp_failure_kind::retryable);
  CHECK(f.http_status == 0);
  CHECK(f.message.find("300 ms (timed out)") != std::string::npos);
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 3s);
}

TEST_CASE(
    "stripe connector: a call still in flight when the connector goes away completes once, as "
    "retryable") {
  asio::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  psp::stripe_options o;
  o.base_url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  o.secret_key = "sk_test_" + core::random_token(24);
  auto c = std::make_unique<psp::stripe_connector>(o);
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto outcome = std::make_shared<std::optional<core::psp_outcome<core::psp_intent>>>();

  c->retrieve_intent("pi_x", call_timeout_ms, [calls, outcome](auto o) {
    *outcome = std::move(o);
    ++*calls;
  });
  std::this_thread::sleep_for(100ms);
  c.reset();

  CHECK(*calls == 1);
  REQUIRE(*outcome);
  auto f = failure(**outcome);
  CHECK(f.kind == core::psp_failure_kind::retryable);
  CHECK(f.message.find("stopped") != std::string::npos);
}

TEST_CASE("stripe connector: a mutating call without an idempotency key never reaches the PSP") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);

  auto call = await<core::psp_intent>([&](auto done) {
    c->create_intent(intent_request(500, core::capture_method::automatic), "", call_timeout_ms,
                     std::move(done));
  });
  auto f = failure(call.outcome);
  CHECK(f.kind == core::psp_failure_kind::rejected);
  CHECK(f.http_status == 0);
  CHECK(f.param == "Idempotency-Key");
  CHECK(call.thread != std::this_thread::get_id());

  auto bad_metadata = intent_request(500, core::capture_method::automatic);
  bad_metadata.metadata_json = R"({"nested":{"a":"b"}})";
  auto m = failure(create(*c, bad_metadata, new_key()));
  CHECK(m.kind == core::psp_failure_kind::rejected);
  CHECK(m.param == "metadata");

  auto bracket_key = intent_request(500, core::capture_method::automatic);
  bracket_key.metadata_json = R"({"a][b":"c"})";
  CHECK(failure(create(*c, bracket_key, new_key())).param == "metadata");

  auto r = failure(refund(*c, "", 100, std::nullopt, new_key()));
  CHECK(r.kind == core::psp_failure_kind::rejected);
  CHECK(sandbox_count(sandbox, "payment_intents") == 0);
}

TEST_CASE("stripe connector: concurrent calls from many threads each complete exactly once") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  constexpr int calls_total = 40;
  std::atomic<int> succeeded{0};
  std::atomic<int> completions{0};
  std::promise<void> all_done;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < calls_total / 4; ++i)
        c->create_intent(intent_request(100 + i, core::capture_method::automatic), new_key(),
                         call_timeout_ms, [&](core::psp_outcome<core::psp_intent> o) {
                           if (std::holds_alternative<core::psp_intent>(o)) ++succeeded;
                           if (++completions == calls_total) all_done.set_value();
                         });
    });
  for (auto& t : callers) t.join();

  REQUIRE(all_done.get_future().wait_for(30s) == std::future_status::ready);
  std::this_thread::sleep_for(50ms);
  CHECK(completions == calls_total);
  CHECK(succeeded == calls_total);
  CHECK(sandbox_count(sandbox, "payment_intents") == calls_total);
}

// ---- TLS and wire format against a throwaway HTTPS server ----------------------------

TEST_CASE(
    "stripe connector: an https PSP whose certificate comes from an untrusted CA is refused") {
  tls_server server;
  psp::stripe_options o;
  o.base_url = server.base_url();
  o.secret_key = "sk_test_" + core::random_token(24);
  psp::stripe_connector c{o};  // no ca_file: the system store only

  auto f = failure(retrieve(c, "pi_canned"));

  CHECK(f.kind == core::psp_failure_kind::retryable);
  CHECK(f.http_status == 0);
  CHECK(f.message.find("certificate verify failed") != std::string::npos);
  CHECK(server.requests().empty());
}

TEST_CASE("stripe connector: an https PSP is trusted when its CA file is given") {
  tls_server server;
  server.answer(200, canned_intent);
  auto c = connector_trusting(server, "sk_test_" + core::random_token(24));

  auto pi = success(retrieve(*c, "pi_canned"));

  CHECK(pi.id == "pi_canned");
  CHECK(pi.status == core::intent_status::authorized);
  CHECK(pi.amount_capturable == 500);
  // API version 2020-08-27 has no latest_charge: the charges list gives it.
  CHECK(pi.latest_charge == "ch_canned");
  CHECK(server.requests().size() == 1);
}

TEST_CASE(
    "stripe connector: a certificate for another host name is refused even from a trusted CA") {
  tls_server server;
  psp::stripe_options o;
  // The certificate names localhost only, not this address of the same server.
  o.base_url = "https://127.0.0.1:" + std::to_string(server.port());
  o.secret_key = "sk_test_" + core::random_token(24);
  o.ca_file = pki().ca_file;
  psp::stripe_connector c{o};

  auto f = failure(retrieve(c, "pi_canned"));

  CHECK(f.kind == core::psp_failure_kind::retryable);
  CHECK(f.http_status == 0);
  CHECK(server.requests().empty());
}

TEST_CASE(
    "stripe connector: every request carries the bearer key, Stripe-Version and its idempotency "
    "key") {
  tls_server server;
  server.answer(200, canned_intent);
  auto secret = "sk_test_" + core::random_token(24);
  auto c = connector_trusting(server, secret);
  auto req = intent_request(1999, core::capture_method::manual);
  req.currency = "USD";
  req.description = "two words";
  req.metadata_json = R"({"order":"7","engine_intent_id":"spoofed"})";
  auto key = new_key();

  success(create(*c, req, key));
  success(capture(*c, "pi_canned", 1500, "cap_" + key));
  success(cancel(*c, "pi_canned", "can_" + key));
  success(retrieve(*c, "pi_canned"));

  auto seen = server.requests();
  REQUIRE(seen.size() == 4);
  for (auto r : seen) {
    CHECK(r.headers["authorization"] == "Bearer " + secret);
    CHECK(r.headers["stripe-version"] == "2020-08-27");
  }
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/v1/payment_intents");
  CHECK(seen[0].headers["idempotency-key"] == key);
  CHECK(seen[0].headers["content-type"] == "application/x-www-form-urlencoded");
  auto form = net::parse_form(seen[0].body);
  REQUIRE(form);
  std::map<std::string, std::string> fields(form->begin(), form->end());
  CHECK(form->size() == fields.size());  // no key twice
  CHECK(fields["amount"] == "1999");
  CHECK(fields["currency"] == "usd");
  CHECK(fields["capture_method"] == "manual");
  CHECK(fields["description"] == "two words");
  CHECK(fields["metadata[order]"] == "7");
  CHECK(fields["metadata[engine_intent_id]"] == req.engine_intent_id);
  CHECK(fields["payment_method_types[0]"] == "card");

  CHECK(seen[1].target == "/v1/payment_intents/pi_canned/capture");
  CHECK(seen[1].headers["idempotency-key"] == "cap_" + key);
  CHECK(seen[1].body == "amount_to_capture=1500");
  CHECK(seen[2].target == "/v1/payment_intents/pi_canned/cancel");
  CHECK(seen[2].headers["idempotency-key"] == "can_" + key);
  CHECK(seen[3].method == "GET");
  CHECK(seen[3].target == "/v1/payment_intents/pi_canned");
  CHECK(seen[3].headers.count("idempotency-key") == 0);
}

TEST_CASE("stripe connector: a refund request names the intent, the amount and the reason") {
  tls_server server;
  server.answer(
      200, R"({"id":"re_1","object":"refund","amount":300,"currency":"usd",)"
           R"("status":"pending","payment_intent":{"id":"pi_canned","object":"payment_intent"}})");
  auto c = connector_trusting(server, "sk_test_" + core::random_token(24));

  auto r = success(refund(*c, "pi_canned", 300, "requested_by_customer", "ref_1"));

  CHECK(r.id == "re_1");
  CHECK(r.status == core::refund_status::pending);
  CHECK(r.payment_intent == "pi_canned");  // expanded object -> its id
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/v1/refunds");
  CHECK(seen[0].headers["idempotency-key"] == "ref_1");
  CHECK(seen[0].body == "payment_intent=pi_canned&amount=300&reason=requested_by_customer");
}

TEST_CASE("stripe connector: a success answer that is not the expected JSON is retryable") {
  tls_server server;
  auto c = connector_trusting(server, "sk_test_" + core::random_token(24));

  server.answer(200, "<html>maintenance</html>");
  auto html = failure(retrieve(*c, "pi_canned"));
  CHECK(html.kind == core::psp_failure_kind::retryable);
  CHECK(html.http_status == 200);
  CHECK(html.message.find("not with a PaymentIntent") != std::string::npos);

  server.answer(200, R"({"id":"re_1","object":"refund","amount":1,"currency":"usd"})");
  auto wrong = failure(retrieve(*c, "pi_canned"));
  CHECK(wrong.kind == core::psp_failure_kind::retryable);
  CHECK(wrong.message.find("'refund'") != std::string::npos);

  server.answer(200, canned_intent);
  auto other = failure(retrieve(*c, "pi_other"));
  CHECK(other.kind == core::psp_failure_kind::retryable);
  CHECK(other.message.find("'pi_canned', not 'pi_other'") != std::string::npos);
}

TEST_CASE(
    "stripe connector: a bad base URL, an empty key or a live key over http is refused at start") {
  psp::stripe_options o;
  o.secret_key = "sk_test_x";
  o.base_url = "ftp://api.stripe.com";
  CHECK_THROWS_AS(psp::stripe_connector{o}, std::invalid_argument);
  o.base_url = "https://api.stripe.com?x=1";
  CHECK_THROWS_AS(psp::stripe_connector{o}, std::invalid_argument);
  o.base_url = "https://api.stripe.com/";
  o.secret_key = "";
  CHECK_THROWS_AS(psp::stripe_connector{o}, std::invalid_argument);
  o.base_url = "http://127.0.0.1:1";
  o.secret_key = "sk_live_" + core::random_token(24);
  CHECK_THROWS_AS(psp::stripe_connector{o}, std::invalid_argument);
  o.base_url = "https://api.stripe.com/";
  CHECK_NOTHROW(psp::stripe_connector{o});
}

TEST_CASE("stripe connector: Stripe's error answers map to declined, rejected or retryable") {
  tls_server server;
  auto secret = "sk_test_" + core::random_token(24);
  auto c = connector_trusting(server, secret);
  auto answer = [&](int status, const std::string& body) {
    server.answer(status, body);
    return failure(capture(*c, "pi_canned", std::nullopt, new_key()));
  };

  auto declined =
      answer(402, R"({"error":{"type":"card_error","code":"card_declined",)"
                  R"("decline_code":"stolen_card","message":"Your card was declined."}})");
  CHECK(declined.kind == core::psp_failure_kind::declined);
  CHECK(declined.decline_code == "stolen_card");

  auto limited = answer(429, R"({"error":{"type":"invalid_request_error","code":"rate_limit",)"
                             R"("message":"Too many requests"}})");
  CHECK(limited.kind == core::psp_failure_kind::retryable);
  CHECK(limited.code == "rate_limit");

  auto bad = answer(400, R"({"error":{"type":"invalid_request_error","code":"parameter_unknown",)"
                         R"("param":"foo","message":"Received unknown parameter: foo"}})");
  CHECK(bad.kind == core::psp_failure_kind::rejected);
  CHECK(bad.param == "foo");

  auto echoed = answer(401, R"({"error":{"type":"invalid_request_error","message":"Invalid API )"
                            R"(Key provided: )" +
                                secret + R"("}})");
  CHECK(echoed.kind == core::psp_failure_kind::rejected);
  CHECK(echoed.message.find(secret) == std::string::npos);

  auto gateway = answer(502, "<html>bad gateway</html>");
  CHECK(gateway.kind == core::psp_failure_kind::retryable);
  CHECK(gateway.http_status == 502);
  CHECK(gateway.message.find("without a Stripe error object") != std::string::npos);
}

TEST_CASE("stripe connector: balance transactions page by starting_after until has_more is false") {
  test::sandbox_process sandbox;
  auto c = connector_for(sandbox);
  std::set<std::string> intents;
  for (int i = 0; i < 130; ++i) {
    auto r = sandbox_post(sandbox, "/v1/payment_intents",
                          "amount=" + std::to_string(100 + i) +
                              "&currency=usd&confirm=true&payment_method=pm_card_visa");
    REQUIRE(r.response.status == 200);
    intents.insert(parse(r.response.body)["id"].GetString());
  }
  REQUIRE(sandbox_post(sandbox, "/_sandbox/settlement/run", "").response.status == 200);
  core::psp_list_query q;
  std::vector<core::psp_balance_transaction> all;
  int pages = 0;
  for (;;) {
    auto page = success(await<core::psp_page<core::psp_balance_transaction>>([&](auto done) {
                          c->list_balance_transactions(q, 5'000, std::move(done));
                        }).outcome);
    ++pages;
    all.insert(all.end(), page.data.begin(), page.data.end());
    if (!page.has_more) break;
    REQUIRE(!page.data.empty());
    q.starting_after = page.data.back().id;
  }
  CHECK(pages == 2);
  REQUIRE(all.size() == 130);
  std::set<std::string> seen;
  for (const auto& bt : all) {
    CHECK(bt.type == core::balance_tx_type::charge);
    CHECK(bt.net == bt.amount - bt.fee);
    CHECK(bt.currency == "usd");
    CHECK(bt.source.starts_with("ch_"));
    REQUIRE(bt.payment_intent.has_value());  // from the expanded source
    seen.insert(*bt.payment_intent);
    REQUIRE(bt.payout.has_value());
  }
  CHECK(seen == intents);

  // Filtered by payout and by created time, and the payout itself.
  auto payout_id = *all.front().payout;
  auto got = success(await<core::psp_payout>([&](auto done) {
                       c->retrieve_payout(payout_id, 5'000, std::move(done));
                     }).outcome);
  CHECK(got.status == core::payout_status::paid);
  std::int64_t nets = 0;
  for (const auto& bt : all) nets += bt.net;
  CHECK(got.amount == nets);
  core::psp_list_query by_time;
  by_time.created_gte = got.created + 3600;
  auto none = success(await<core::psp_page<core::psp_payout>>([&](auto done) {
                        c->list_payouts(by_time, 5'000, std::move(done));
                      }).outcome);
  CHECK(none.data.empty());
  by_time.created_gte = got.created;
  auto one = success(await<core::psp_page<core::psp_payout>>([&](auto done) {
                       c->list_payouts(by_time, 5'000, std::move(done));
                     }).outcome);
  REQUIRE(one.data.size() == 1);
  CHECK(one.data[0].id == payout_id);
  auto missing = await<core::psp_payout>(
      [&](auto done) { c->retrieve_payout("po_missing", 5'000, std::move(done)); });
  CHECK(failure(missing.outcome).http_status == 404);
}

#endif  // PSP_SANDBOX_BIN
