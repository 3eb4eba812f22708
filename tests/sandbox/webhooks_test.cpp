// Webhooks out: signatures (checked with the openssl command line),
// rotation, retries with backoff, run-time endpoint configuration.
#include <catch2/catch.hpp>
#include <fstream>

#include "sandbox_harness.hpp"

using namespace sandbox_test;

namespace {

/// The t and the v1 values of a Stripe-Signature header.
struct signature_parts {
  std::string t;
  std::vector<std::string> v1;
};

signature_parts split_signature(const std::string& header) {
  signature_parts out;
  std::size_t pos = 0;
  while (pos <= header.size()) {
    auto comma = header.find(',', pos);
    auto item = header.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.starts_with("t=")) out.t = item.substr(2);
    if (item.starts_with("v1=")) out.v1.push_back(item.substr(3));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

/// HMAC-SHA256 by the openssl command line, independent of our code.
std::string openssl_hmac(const std::string& secret, const std::string& data) {
  auto dir = run_command("mktemp -d");
  dir.erase(dir.find_last_not_of('\n') + 1);
  {
    std::ofstream out(dir + "/signed");
    out << data;
  }
  auto line = run_command("openssl dgst -sha256 -hmac '" + secret + "' -r " + dir + "/signed");
  run_command("rm -rf " + dir);
  return line.substr(0, line.find(' '));
}

std::vector<std::string> webhook_args(const webhook_receiver& rx,
                                      std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--webhook-url",
                                   rx.url(),
                                   "--webhook-secret",
                                   webhook_secret,
                                   "--webhook-backoff-base-ms",
                                   "20"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST_CASE("events are delivered with a Stripe-Signature that openssl computes identically") {
  webhook_receiver rx;
  sandbox_process sb(webhook_args(rx));
  auto pi = create_intent(sb, "amount=100&currency=usd");
  REQUIRE(rx.wait_for([](const auto& d) { return !d.empty(); }));
  auto d = rx.deliveries().front();
  CHECK(d.type == "payment_intent.created");
  auto event = parse(d.body);
  CHECK(str(event, "data.object.id") == str(pi, "id"));
  auto sig = split_signature(d.signature);
  REQUIRE(sig.v1.size() == 1);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  CHECK(std::abs(std::stoll(sig.t) - now) < 60);
  CHECK(sig.v1[0] == openssl_hmac(webhook_secret, sig.t + "." + d.body));
}

TEST_CASE("with a next secret, deliveries carry two v1 signatures, one per secret") {
  webhook_receiver rx;
  const std::string next = "whsec_nextsecret000000000000000002";
  sandbox_process sb(webhook_args(rx, {"--webhook-secret-next", next}));
  create_intent(sb, "amount=100&currency=usd");
  REQUIRE(rx.wait_for([](const auto& d) { return !d.empty(); }));
  auto d = rx.deliveries().front();
  auto sig = split_signature(d.signature);
  REQUIRE(sig.v1.size() == 2);
  CHECK(sig.v1[0] == openssl_hmac(webhook_secret, sig.t + "." + d.body));
  CHECK(sig.v1[1] == openssl_hmac(next, sig.t + "." + d.body));
}

TEST_CASE("every event of a payment is delivered to the endpoint") {
  webhook_receiver rx;
  sandbox_process sb(webhook_args(rx));
  create_intent(sb, "amount=100&currency=usd&payment_method=pm_card_visa&confirm=true");
  REQUIRE(rx.wait_for([](const auto& d) { return d.size() >= 3; }));
  std::vector<std::string> types;
  for (const auto& d : rx.deliveries()) types.push_back(d.type);
  for (const char* t : {"payment_intent.created", "charge.succeeded", "payment_intent.succeeded"})
    CHECK(std::find(types.begin(), types.end(), t) != types.end());
  auto list = expect_json(sb.get("/v1/events"));
  CHECK(num(at(list, "data")[0], "pending_webhooks") == 1);
}

TEST_CASE("a failing endpoint is retried with backoff until it answers 2xx") {
  webhook_receiver rx(3);
  sandbox_process sb(webhook_args(rx));
  create_intent(sb, "amount=100&currency=usd");
  REQUIRE(rx.wait_for([](const auto& d) { return d.size() == 1; }));
  CHECK(rx.requests_seen() == 4);
  auto log = wait_for_attempts(sb, 4);
  const auto& attempts = at(log, "data");
  REQUIRE(attempts.Size() == 4);
  for (unsigned i = 0; i < 3; ++i) {
    CHECK(str(attempts[i], "outcome") == "http_error");
    CHECK(num(attempts[i], "status") == 500);
    CHECK(num(attempts[i], "attempt") == i + 1);
  }
  CHECK(str(attempts[3], "outcome") == "delivered");
  CHECK(num(attempts[3], "attempt") == 4);
}

TEST_CASE("an unreachable endpoint is retried until the attempt budget is spent") {
  // A port nothing listens on: bind a receiver, note its URL, stop it.
  std::string dead_url;
  {
    webhook_receiver gone;
    dead_url = gone.url();
  }
  sandbox_process sb({"--webhook-url", dead_url, "--webhook-secret", webhook_secret,
                      "--webhook-backoff-base-ms", "10", "--webhook-attempts-max", "3"});
  create_intent(sb, "amount=100&currency=usd");
  bool gave_up = eventually([&] {
    auto log = sb.get("/_sandbox/webhook_deliveries");
    return log.answered && log.response.body.find("gave_up") != std::string::npos;
  });
  REQUIRE(gave_up);
  auto log = expect_json(sb.get("/_sandbox/webhook_deliveries"));
  int failed = 0;
  for (const auto& a : at(log, "data").GetArray())
    if (std::string(a["outcome"].GetString()) == "connection_error") ++failed;
  CHECK(failed == 3);
}

TEST_CASE("a slow endpoint times out and the event is sent again") {
  // The receiver holds its first answer for longer than the delivery timeout.
  std::atomic<int> calls{0};
  std::vector<pay::net::responder> held;
  std::mutex held_mutex;
  std::atomic<int> delivered{0};
  pay::net::http_server_options opts;
  opts.port = 0;
  pay::net::http_server slow(opts, [&](pay::net::http_request, pay::net::responder respond) {
    if (++calls == 1) {
      std::lock_guard guard{held_mutex};
      held.push_back(std::move(respond));
      return;
    }
    ++delivered;
    pay::net::http_response res;
    respond(std::move(res));
  });
  REQUIRE(slow.start().empty());
  {
    sandbox_process sb({"--webhook-url", "http://127.0.0.1:" + std::to_string(slow.port()) + "/",
                        "--webhook-secret", webhook_secret, "--webhook-timeout-ms", "200",
                        "--webhook-backoff-base-ms", "10"});
    create_intent(sb, "amount=100&currency=usd");
    REQUIRE(eventually([&] { return delivered.load() == 1; }));
    auto log = wait_for_attempts(sb, 2);
    CHECK(str(at(log, "data")[0], "outcome") == "timeout");
    CHECK(str(at(log, "data")[1], "outcome") == "delivered");
  }
  {
    std::lock_guard guard{held_mutex};
    for (auto& r : held) r(pay::net::http_response{});
    held.clear();  // a responder holds its connection; release it before the server goes
  }
  slow.stop(0);
}

TEST_CASE("the webhook endpoint can be configured at run time") {
  webhook_receiver rx;
  sandbox_process sb;
  create_intent(sb, "amount=100&currency=usd");
  auto bad = expect_json(sb.post("/_sandbox/webhook_endpoint", "url=" + rx.url()), 400);
  CHECK(str(bad, "error.param") == "secret");
  auto set =
      expect_json(sb.post("/_sandbox/webhook_endpoint",
                          "{\"url\":\"" + rx.url() + "\",\"secret\":\"" + webhook_secret + "\"}"));
  CHECK(str(set, "url") == rx.url());
  CHECK(at(set, "secret_set").GetBool());
  auto pi = create_intent(sb, "amount=200&currency=usd");
  REQUIRE(rx.wait_for([](const auto& d) { return !d.empty(); }));
  auto event = parse(rx.deliveries().front().body);
  CHECK(str(event, "data.object.id") == str(pi, "id"));
  CHECK(rx.deliveries().size() == 1);  // the earlier event had no endpoint
  expect_json(sb.post("/_sandbox/webhook_endpoint", "url=", {}), 200);
  expect_json(sb.post("/_sandbox/webhook_endpoint", "url=", {}, ""), 401);
}
