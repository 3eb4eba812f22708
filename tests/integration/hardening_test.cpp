// Hardening (issue 16): no request lets one client hurt the others, and bad
// input is refused before anything is stored or sent to a PSP. Parser-level
// checks run without a server; the rest against a real paymentsd on a
// scratch PostgreSQL database. The engine here has no reachable PSP
// (127.0.0.1:9), so a request that passed validation fails with 503 (PSP
// unavailable) and one refused by validation answers 400/415 without a row.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <atomic>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "core/limits.hpp"
#include "net/checkout_requests.hpp"
#include "net/form.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

std::string error_code(const net::client_result& r) {
  INFO("status " << r.response.status << " body: " << r.response.body);
  auto doc = test::parse_json(r.response.body);
  REQUIRE(doc.IsObject());
  REQUIRE(doc.HasMember("error"));
  return doc["error"]["code"].GetString();
}

std::string error_message(const net::client_result& r) {
  auto doc = test::parse_json(r.response.body);
  return doc["error"]["message"].GetString();
}

std::string header_of(const net::client_result& r, std::string_view name) {
  return std::string(r.response.header_value(name).value_or(""));
}

struct engine_fixture {
  test::scratch_database db;
  test::test_merchant alice = test::make_merchant(db, "alice");
  test::test_merchant bob = test::make_merchant(db, "bob");
  std::unique_ptr<test::engine_process> engine;

  explicit engine_fixture(std::map<std::string, std::string> env = {}) {
    engine = std::make_unique<test::engine_process>(db.url(), std::move(env));
  }
  std::string url(const std::string& path) const { return engine->base_url() + path; }

  net::client_result post(const std::string& path, const std::string& body,
                          const std::string& content_type = "application/json",
                          const std::string& key = {}) const {
    return test::http("POST", url(path), body,
                      {{"Authorization", "Bearer " + (key.empty() ? alice.api_key : key)}},
                      content_type);
  }
  net::client_result get(const std::string& path, const std::string& key = {}) const {
    return test::http("GET", url(path), {},
                      {{"Authorization", "Bearer " + (key.empty() ? alice.api_key : key)}});
  }
  std::int64_t intents() const { return db.count("SELECT count(*) FROM payment_intents"); }

  /// One series of /metrics ("name{labels}"); 0 while it has none.
  double metric_value(const std::string& series) const {
    auto r = test::http("GET", url("/metrics"));
    REQUIRE(r.response.status == 200);
    auto at = r.response.body.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stod(r.response.body.substr(at + series.size() + 2));
  }

  /// payments_actors_live{kind="payment_intent"} from /metrics.
  double live_intent_actors() const {
    auto r = test::http("GET", url("/metrics"));
    REQUIRE(r.response.status == 200);
    std::smatch m;
    static const std::regex line(R"(payments_actors_live\{kind="payment_intent"\} ([0-9.e+]+))");
    if (!std::regex_search(r.response.body, m, line)) return 0;
    return std::stod(m[1]);
  }
};

/// A TCP connection to 127.0.0.1:`port` from the source address `from`
/// (any of 127.0.0.0/8 is loopback on Linux): a second "client".
int connect_from(const char* from, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &src.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Sends `bytes` on `fd` and reads until the peer closes or `timeout`.
std::string send_on(int fd, const std::string& bytes, std::chrono::milliseconds timeout = 5s) {
  return test::send_and_read(fd, bytes, timeout);
}

int status_of(const std::string& raw) {
  if (raw.size() < 12 || !raw.starts_with("HTTP/1.1 ")) return 0;
  return std::stoi(raw.substr(9, 3));
}

}  // namespace

// ---- parsers, no server ---------------------------------------------------------

TEST_CASE("hardening: JSON strings must be UTF-8 without NUL or lone surrogates") {
  rapidjson::Document doc;
  std::string where;
  CHECK(net::parse_json_object("{\"d\":\"caf\xC3\xA9\"}", doc) == net::json_error::none);
  CHECK(net::parse_json_object("{\"d\":\"\xFF\"}", doc, 16, &where) ==
        net::json_error::invalid_utf8);
  CHECK(where == "d");
  CHECK(net::parse_json_object(R"({"m":{"k":"a\udc00b"}})", doc, 16, &where) ==
        net::json_error::invalid_utf8);
  CHECK(where == "m.k");
  CHECK(net::parse_json_object(R"({"d":"a\u0000b"})", doc, 16, &where) ==
        net::json_error::nul_in_string);
  CHECK(net::parse_json_object(R"({"a\u0000":"x"})", doc) == net::json_error::nul_in_string);
  CHECK(net::parse_json_object("{\"\xC0\xAF\":1}", doc) == net::json_error::invalid_utf8);
  CHECK(net::parse_json_object(R"({"l":["ok","\udc00"]})", doc, 16, &where) ==
        net::json_error::invalid_utf8);
  CHECK(where == "l[1]");
  // A correct surrogate pair is one character, and fine.
  CHECK(net::parse_json_object(R"({"d":"\ud83d\udcb3"})", doc) == net::json_error::none);
}

TEST_CASE("hardening: a JSON object naming a key twice is refused, at any depth") {
  rapidjson::Document doc;
  std::string where;
  CHECK(net::parse_json_object(R"({"amount":100,"amount":-5})", doc, 16, &where) ==
        net::json_error::duplicate_key);
  CHECK(where == "amount");
  CHECK(net::parse_json_object(R"({"amount":-5,"amount":100})", doc) ==
        net::json_error::duplicate_key);
  CHECK(net::parse_json_object(R"({"metadata":{"a":"1","b":"2","a":"3"}})", doc, 16, &where) ==
        net::json_error::duplicate_key);
  CHECK(where == "metadata.a");
  CHECK(net::parse_json_object(R"({"a":{"x":1},"b":{"x":1}})", doc) == net::json_error::none);
}

TEST_CASE("hardening: lengths are counted in characters, not bytes") {
  auto parse = [](const std::string& json) {
    rapidjson::Document doc;
    REQUIRE(net::parse_json_object(json, doc) == net::json_error::none);
    return net::parse_create_intent(doc);
  };
  std::string e_acute_1000;
  for (int i = 0; i < 1000; ++i) e_acute_1000 += "\xC3\xA9";  // 1000 characters, 2000 bytes
  auto ok = parse(R"({"amount":100,"currency":"eur","description":")" + e_acute_1000 + "\"}");
  CHECK(ok.has_value());
  auto too_long =
      parse(R"({"amount":100,"currency":"eur","description":")" + e_acute_1000 + "x\"}");
  REQUIRE_FALSE(too_long.has_value());
  CHECK(too_long.err().message.find("1000 characters") != std::string::npos);

  std::string euro_500;
  for (int i = 0; i < 500; ++i) euro_500 += "\xE2\x82\xAC";  // 500 characters, 1500 bytes
  std::string key_40;
  for (int i = 0; i < 40; ++i) key_40 += "\xC3\xBC";  // ü
  CHECK(parse(R"({"amount":100,"currency":"eur","metadata":{")" + key_40 + R"(":")" + euro_500 +
              "\"}}")
            .has_value());
  CHECK_FALSE(parse(R"({"amount":100,"currency":"eur","metadata":{")" + key_40 + "x\":\"v\"}}")
                  .has_value());
  CHECK_FALSE(parse(R"({"amount":100,"currency":"eur","metadata":{"k":")" + euro_500 + "x\"}}")
                  .has_value());
}

// ---- validation before any PSP call ------------------------------------------------

TEST_CASE("hardening: bad text in a create is 400 before the PSP and stores nothing") {
  engine_fixture f;
  struct bad_body {
    std::string body;
    std::string code;
  };
  std::vector<bad_body> bodies = {
      {"{\"amount\":100,\"currency\":\"eur\",\"description\":\"bad \xFF byte\"}", "invalid_utf8"},
      {R"({"amount":100,"currency":"eur","description":"lone \udc00"})", "invalid_utf8"},
      {R"({"amount":100,"currency":"eur","metadata":{"k":"nul \u0000 inside"}})",
       "invalid_string_nul"},
      {R"({"amount":100,"currency":"eur","description":"nul \u0000"})", "invalid_string_nul"},
      {R"({"amount":100,"amount":-5,"currency":"eur"})", "duplicate_key"},
      {R"({"amount":-5,"amount":100,"currency":"eur"})", "duplicate_key"},
  };
  for (const auto& b : bodies) {
    INFO(b.body);
    auto r = f.post("/v1/payment_intents", b.body);
    CHECK(r.response.status == 400);
    CHECK(error_code(r) == b.code);
  }
  CHECK(f.intents() == 0);
}

TEST_CASE("hardening: JSON is accepted as UTF-8 only (no charset or charset=utf-8)") {
  engine_fixture f;
  const std::string body = R"({"amount":100,"currency":"eur"})";
  for (const char* type : {"application/json; charset=utf-16", "application/json;charset=latin1",
                           "application/json; boundary=x", "text/plain"}) {
    INFO(type);
    auto r = f.post("/v1/payment_intents", body, type);
    CHECK(r.response.status == 415);
    CHECK(error_code(r) == "unsupported_media_type");
  }
  for (const char* type : {"application/json", "application/json; charset=utf-8",
                           "application/json;charset=\"UTF-8\""}) {
    INFO(type);
    auto r = f.post("/v1/payment_intents", body, type);
    // Past validation: the PSP (unreachable here) is what fails.
    CHECK(r.response.status != 415);
    CHECK(r.response.status != 400);
  }
}

TEST_CASE("hardening: a query parameter that decodes to invalid UTF-8 or NUL is 400, not 500") {
  engine_fixture f;
  for (const char* q : {"?starting_after=%ff", "?starting_after=%00", "?limit=1&x%C0%AF=1",
                        "?starting_after=%e2%82"}) {
    INFO(q);
    auto r = f.get(std::string("/v1/payment_intents") + q);
    CHECK(r.response.status == 400);
    CHECK(error_code(r) == "invalid_request_target");
  }
  // A well-formed cursor reaches the lookup (an unknown one is a 404 miss).
  auto plain = f.get("/v1/payment_intents?starting_after=pi_x").response.status;
  CHECK((plain == 200 || plain == 404));
  auto output = f.engine->process().output();
  CHECK(output.find("\"level\":\"error\"") == std::string::npos);
}

// ---- ids and actors -----------------------------------------------------------

TEST_CASE("hardening: ids of the wrong shape are 404 and cost no intent actor") {
  engine_fixture f;
  auto before = f.live_intent_actors();
  std::vector<std::string> ids = {"pi_nobody", std::string(15'000, 'x'),
                                  "pi_" + std::string(24, '-'), "re_" + std::string(24, 'a'),
                                  "pi_" + std::string(25, 'a')};
  for (const auto& id : ids) {
    INFO(id.substr(0, 40));
    CHECK(f.get("/v1/payment_intents/" + id).response.status == 404);
    CHECK(f.post("/v1/payment_intents/" + id + "/capture", "{}").response.status == 404);
    CHECK(f.post("/v1/payment_intents/" + id + "/cancel", "{}").response.status == 404);
    CHECK(f.get("/v1/payment_intents/" + id + "/events").response.status == 404);
    CHECK(f.post("/v1/refunds", R"({"payment_intent":")" + id.substr(0, 100) + "\"}")
              .response.status == 404);
  }
  CHECK(f.get("/v1/refunds/pi_" + std::string(24, 'a')).response.status == 404);
  CHECK(f.get("/v1/payment_links/x").response.status == 404);
  auto miss = f.get("/v1/payment_intents/" + std::string(15'000, 'x'));
  CHECK(error_message(miss).size() < 100);  // a huge id is not echoed back
  CHECK(f.live_intent_actors() == before);
}

TEST_CASE(
    "hardening: one merchant's live intent actors are bounded - its probes recycle its own idle "
    "actors and the others are served") {
  // Misses keep their actors for a minute here, so three fill the bound.
  engine_fixture f{
      {{"PAYMENTS_INTENT_ACTORS_PER_MERCHANT", "3"}, {"PAYMENTS_INTENT_MISS_IDLE_MS", "60000"}}};
  auto before = f.live_intent_actors();
  for (int i = 0; i < 20; ++i) {
    auto r = f.get("/v1/payment_intents/" + core::make_id(core::id_prefix::payment_intent));
    CHECK(r.response.status == 404);
  }
  // Twenty probes answered, yet Alice holds no more than her three actors:
  // each probe past the bound stopped her least recently used idle one.
  bool bounded = false;
  for (int i = 0; i < 50 && !bounded; ++i) {
    bounded = f.live_intent_actors() <= before + 3;
    if (!bounded) std::this_thread::sleep_for(100ms);
  }
  CHECK(bounded);
  CHECK(f.metric_value(R"(payments_intent_actors_passivated_total{bound="merchant"})") == 17);
  // Bob is not affected by Alice's actors.
  auto bob =
      f.get("/v1/payment_intents/" + core::make_id(core::id_prefix::payment_intent), f.bob.api_key);
  CHECK(bob.response.status == 404);
}

TEST_CASE("hardening: a well-formed id the database lacks keeps its actor about a second only") {
  // The default bound of actors without an intent (1 s), a bound of 3 per
  // merchant, and a minute for actors that hold an intent.
  engine_fixture f{{{"PAYMENTS_INTENT_ACTORS_PER_MERCHANT", "3"}}};
  auto before = f.live_intent_actors();
  for (int i = 0; i < 3; ++i) {
    auto r = f.get("/v1/payment_intents/" + core::make_id(core::id_prefix::payment_intent));
    CHECK(r.response.status == 404);
  }
  // The misses' actors are gone within a few seconds, not after a minute...
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = f.live_intent_actors() == before;
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  CHECK(gone);
  // ... so they no longer count against the merchant's bound.
  for (int i = 0; i < 3; ++i) {
    auto r = f.get("/v1/payment_intents/" + core::make_id(core::id_prefix::payment_intent));
    CHECK(r.response.status == 404);
  }
}

// ---- rate limits ----------------------------------------------------------------

TEST_CASE("hardening: the API is rate-limited per merchant with 429 and RateLimit headers") {
  engine_fixture f{{{"PAYMENTS_API_RATE_BURST", "3"}, {"PAYMENTS_API_RATE_REFILL_MS", "60000"}}};
  for (int i = 0; i < 3; ++i) {
    auto r = f.get("/v1/payment_intents");
    CHECK(r.response.status == 200);
    CHECK(header_of(r, "RateLimit-Limit") == "3");
    CHECK(header_of(r, "RateLimit-Remaining") == std::to_string(2 - i));
  }
  auto limited = f.get("/v1/payment_intents");
  CHECK(limited.response.status == 429);
  CHECK(error_code(limited) == "rate_limit");
  CHECK(header_of(limited, "RateLimit-Remaining") == "0");
  auto retry = header_of(limited, "Retry-After");
  REQUIRE_FALSE(retry.empty());
  CHECK(std::stoi(retry) >= 1);
  CHECK(std::stoi(retry) <= 60);
  CHECK(std::stoi(header_of(limited, "RateLimit-Reset")) >= 1);
  // Another merchant has its own bucket.
  CHECK(f.get("/v1/payment_intents", f.bob.api_key).response.status == 200);
  auto metrics = test::http("GET", f.url("/metrics")).response.body;
  CHECK(metrics.find(R"(payments_rate_limited_total{scope="api"} 1)") != std::string::npos);
}

TEST_CASE("hardening: checkout session creates are rate-limited per client address") {
  engine_fixture f{
      {{"PAYMENTS_SESSION_RATE_BURST", "2"}, {"PAYMENTS_SESSION_RATE_REFILL_MS", "60000"}}};
  auto link = "/pay/" + core::make_id(core::id_prefix::payment_link) + "/session";
  for (int i = 0; i < 2; ++i) CHECK(test::http("POST", f.url(link)).response.status == 404);
  auto limited = test::http("POST", f.url(link));
  CHECK(limited.response.status == 429);
  CHECK_FALSE(header_of(limited, "Retry-After").empty());
  // Another client address is not limited by the first one's use.
  int fd = connect_from("127.0.0.2", f.engine->port());
  REQUIRE(fd >= 0);
  auto raw = send_on(fd, "POST " + link +
                             " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n");
  ::close(fd);
  CHECK(status_of(raw) == 404);
  // The page itself is limited separately (and more loosely).
  CHECK(test::http("GET", f.url("/pay/plink_x")).response.status == 404);
  auto metrics = test::http("GET", f.url("/metrics")).response.body;
  CHECK(metrics.find(R"(payments_rate_limited_total{scope="session"} 1)") != std::string::npos);
}

// ---- connections ---------------------------------------------------------------

TEST_CASE("hardening: one client's idle sockets do not lock out another address") {
  engine_fixture f{{{"PAYMENTS_CONNECTIONS_PER_ADDRESS", "20"}}};
  std::vector<int> idle;
  for (int i = 0; i < 60; ++i) {
    int fd = connect_from("127.0.0.1", f.engine->port());
    if (fd >= 0) idle.push_back(fd);
  }
  std::this_thread::sleep_for(200ms);
  // The first address's 21st and later connections were closed at once.
  int closed = 0;
  for (int fd : idle) {
    char byte;
    timeval tv{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::recv(fd, &byte, 1, 0) == 0) ++closed;
  }
  CHECK(closed >= 40);

  int fd = connect_from("127.0.0.2", f.engine->port());
  REQUIRE(fd >= 0);
  auto health = send_on(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ::close(fd);
  CHECK(status_of(health) == 200);
  fd = connect_from("127.0.0.2", f.engine->port());
  REQUIRE(fd >= 0);
  auto authed = send_on(fd,
                        "GET /v1/payment_intents HTTP/1.1\r\nHost: x\r\nAuthorization: "
                        "Bearer " +
                            f.alice.api_key + "\r\nConnection: close\r\n\r\n");
  ::close(fd);
  CHECK(status_of(authed) == 200);
  for (int s : idle) ::close(s);
}

TEST_CASE("hardening: a connection that does not send its head in time is closed") {
  engine_fixture f{{{"PAYMENTS_HEADER_DEADLINE_MS", "500"}}};
  int fd = connect_from("127.0.0.1", f.engine->port());
  REQUIRE(fd >= 0);
  auto started = std::chrono::steady_clock::now();
  // Half a head, then nothing.
  auto out = send_on(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 5s);
  auto took = std::chrono::steady_clock::now() - started;
  ::close(fd);
  CHECK(out.empty());
  CHECK(took < 3s);
  // A complete request within the deadline is served.
  CHECK(test::http("GET", f.url("/healthz")).response.status == 200);
}

// ---- HTTP strictness -------------------------------------------------------------

TEST_CASE(
    "hardening: duplicate Authorization or Host, odd transfer codings and folding are refused") {
  engine_fixture f;
  auto port = f.engine->port();
  auto send = [port](const std::string& raw) { return status_of(test::raw_exchange(port, raw)); };
  CHECK(send("GET /v1/payment_intents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n"
             "Authorization: Bearer b\r\nConnection: close\r\n\r\n") == 400);
  CHECK(send("GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n") == 400);
  CHECK(send("POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
             "Connection: close\r\n\r\n0\r\n\r\n") == 501);
  auto twice = send(
      "POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n");
  CHECK((twice == 400 || twice == 501));
  CHECK(
      send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n") ==
      400);
  // The plain forms still work.
  CHECK(send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 200);
  CHECK(send("POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             "Authorization: Bearer " +
             f.alice.api_key +
             "\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
             "2\r\n{}\r\n0\r\n\r\n") == 400);  // parsed: amount is missing
}

// ---- readiness, admin, metrics ------------------------------------------------------

TEST_CASE("hardening: /readyz is ready only when every storage connection is up") {
  engine_fixture f;
  auto ready = test::http("GET", f.url("/readyz"));
  CHECK(ready.response.status == 200);
  auto doc = test::parse_json(ready.response.body);
  CHECK(doc["connections"].GetUint64() == 2);
  CHECK(doc["connections_up"].GetUint64() == 2);
  // A connection the server merely dropped is re-established by the probe
  // itself: the database answers, so the engine is ready.
  auto admin = storage::pg_connection::connect(test::admin_database_url());
  REQUIRE(admin);
  auto admin_exec = [&](const std::string& sql, const std::vector<storage::pg_param>& params) {
    auto r = admin->exec(sql, params);
    REQUIRE(r.ok());
  };
  auto cut_all = [&] {
    admin_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
               {f.db.name()});
  };
  cut_all();
  auto redialled = test::http("GET", f.url("/readyz"));
  CHECK(redialled.response.status == 200);
  // Every engine connection is cut and the database takes no new ones (as
  // while it restarts): not ready.
  admin_exec("ALTER DATABASE " + f.db.name() + " ALLOW_CONNECTIONS false", {});
  cut_all();
  auto after = test::http("GET", f.url("/readyz"));
  admin_exec("ALTER DATABASE " + f.db.name() + " ALLOW_CONNECTIONS true", {});
  CHECK(after.response.status == 503);
  auto down = test::parse_json(after.response.body);
  CHECK(down["connections_up"].GetUint64() < 2);
  // Each reconnects when asked again; ready means all of them.
  bool ready_again = false;
  for (int i = 0; i < 50 && !ready_again; ++i) {
    auto r = test::http("GET", f.url("/readyz"));
    if (r.response.status == 200) {
      ready_again = true;
      CHECK(test::parse_json(r.response.body)["connections_up"].GetUint64() == 2);
    } else {
      std::this_thread::sleep_for(100ms);
    }
  }
  CHECK(ready_again);
}

namespace {

/// A real TCP proxy between the engine and the test cluster that can be
/// frozen: it then stops accepting and forwarding while keeping every socket
/// open, which is what a SIGSTOPped or cut-off PostgreSQL looks like from the
/// engine (the kernel still takes the bytes; no answer ever comes). The
/// shared cluster itself is never stopped.
class freezable_proxy {
 public:
  explicit freezable_proxy(std::uint16_t upstream) : upstream_(upstream) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 64) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~freezable_proxy() {
    stop_ = true;
    thread_.join();
    for (auto [a, b] : pairs_) {
      ::close(a);
      ::close(b);
    }
    ::close(listen_fd_);
  }
  freezable_proxy(const freezable_proxy&) = delete;
  freezable_proxy& operator=(const freezable_proxy&) = delete;

  std::uint16_t port() const { return port_; }
  void freeze() { frozen_ = true; }
  void thaw() { frozen_ = false; }

 private:
  void run() {
    while (!stop_) {
      if (frozen_) {
        std::this_thread::sleep_for(10ms);
        continue;
      }
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0 || frozen_) continue;
      // Only the pairs that were polled: a pair accepted now has no entry
      // in `fds` yet (it is polled from the next round on).
      const std::size_t polled = pairs_.size();
      if (fds[0].revents & POLLIN) accept_one();
      std::vector<std::pair<int, int>> kept(pairs_.begin() + static_cast<std::ptrdiff_t>(polled),
                                            pairs_.end());
      for (std::size_t i = 0; i < polled; ++i) {
        auto [a, b] = pairs_[i];
        bool open = forward(fds[1 + 2 * i].revents, a, b) && forward(fds[2 + 2 * i].revents, b, a);
        if (open) {
          kept.emplace_back(a, b);
        } else {
          ::close(a);
          ::close(b);
        }
      }
      pairs_ = std::move(kept);
    }
  }

  void accept_one() {
    int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) return;
    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(upstream_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      return;
    }
    pairs_.emplace_back(client, server);
  }

  /// Copies what `from` has to `to`; false when either side is closed.
  static bool forward(short revents, int from, int to) {
    if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0) return true;
    char buf[16384];
    auto n = ::recv(from, buf, sizeof buf, 0);
    if (n <= 0) return false;
    for (ssize_t sent = 0; sent < n;) {
      auto m = ::send(to, buf + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
      if (m <= 0) return false;
      sent += m;
    }
    return true;
  }

  std::uint16_t upstream_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> frozen_{false};
  std::vector<std::pair<int, int>> pairs_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("hardening: a frozen database gives a prompt 503 and /readyz says so") {
  test::scratch_database db;
  auto alice = test::make_merchant(db, "alice");
  // The scratch database's URL, through the proxy, with a 1 s statement
  // timeout (so the engine waits 1 s + db_answer_grace_ms for an answer)
  // and a 2 s connect timeout.
  std::smatch m;
  auto url = db.url();
  REQUIRE(std::regex_search(url, m, std::regex(R"(^(postgres(?:ql)?://[^/]*):(\d+)(/[^?]*))")));
  freezable_proxy proxy(static_cast<std::uint16_t>(std::stoi(m[2])));
  auto via_proxy = m[1].str() + ":" + std::to_string(proxy.port()) + m[3].str() +
                   "?connect_timeout=2&options=-c%20statement_timeout%3D1000";
  test::engine_process engine(via_proxy);
  auto get = [&](const std::string& path) {
    return test::http("GET", engine.base_url() + path, {},
                      {{"Authorization", "Bearer " + alice.api_key}});
  };
  REQUIRE(get("/v1/payment_intents").response.status == 200);
  REQUIRE(get("/readyz").response.status == 200);

  proxy.freeze();
  using clock = std::chrono::steady_clock;
  // Each request is answered 503 within seconds (without the engine's own
  // deadline on answers, the first would wait for the 18 s actor timeout).
  for (int i = 0; i < 4; ++i) {
    auto started = clock::now();
    auto r = get("/v1/payment_intents");
    auto took = clock::now() - started;
    INFO("request " << i << " took "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                    << " ms");
    REQUIRE(r.answered);
    CHECK(r.response.status == 503);
    CHECK(took < 8s);
  }
  auto started = clock::now();
  auto ready = get("/readyz");
  CHECK(ready.response.status == 503);
  CHECK(clock::now() - started < 5s);
  CHECK(test::parse_json(ready.response.body)["status"].GetString() == std::string("not_ready"));

  // Thawed, the engine reconnects by itself and serves again.
  proxy.thaw();
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    back =
        get("/readyz").response.status == 200 && get("/v1/payment_intents").response.status == 200;
    if (!back) std::this_thread::sleep_for(200ms);
  }
  CHECK(back);
}

TEST_CASE("hardening: paymentsd refuses an admin token shorter than 32 characters") {
  test::scratch_database db;
  test::child_process p(test::paymentsd_path(), {},
                        {{"PAYMENTS_DATABASE_URL", db.url()},
                         {"PAYMENTS_PORT", "0"},
                         {"PAYMENTS_PSP_SECRET_KEY", "sk_test_x"},
                         {"PAYMENTS_ADMIN_TOKEN", "adm_short_token"}});
  CHECK(p.wait(20s) == 2);
  CHECK(p.output().find("admin token is too short") != std::string::npos);
}

TEST_CASE("hardening: /metrics can require a bearer token") {
  const std::string token = core::random_token(40);
  engine_fixture f{{{"PAYMENTS_METRICS_TOKEN", token}}};
  auto open = test::http("GET", f.url("/metrics"));
  CHECK(open.response.status == 401);
  auto wrong =
      test::http("GET", f.url("/metrics"), {}, {{"Authorization", "Bearer " + token + "x"}});
  CHECK(wrong.response.status == 401);
  auto right = test::http("GET", f.url("/metrics"), {}, {{"Authorization", "Bearer " + token}});
  CHECK(right.response.status == 200);
  CHECK(right.response.body.find("payments_http_requests_total") != std::string::npos);
}

#ifdef PSP_SANDBOX_BIN
TEST_CASE("hardening: admin views of an intent never show the shopper's client secret") {
  const std::string admin = "adm_" + core::random_token(40);
  test::scratch_database db;
  auto alice = test::make_merchant(db, "alice");
  test::sandbox_process sandbox;
  test::engine_process engine(db.url(), {{"PAYMENTS_PSP_BASE_URL", sandbox.base_url()},
                                         {"PAYMENTS_PSP_SECRET_KEY", sandbox.secret_key()},
                                         {"PAYMENTS_ADMIN_TOKEN", admin}});
  auto url = [&](const std::string& path) { return engine.base_url() + path; };
  auto as_merchant = std::vector<net::header>{{"Authorization", "Bearer " + alice.api_key}};
  auto as_admin = std::vector<net::header>{{"Authorization", "Bearer " + admin}};

  // The merchant's own API gives the secret (its page hands it to the
  // shopper's browser).
  auto created = test::http("POST", url("/v1/payment_intents"),
                            R"({"amount":2500,"currency":"eur","capture_method":"manual"})",
                            as_merchant, "application/json");
  INFO(created.response.body);
  REQUIRE(created.response.status == 200);
  auto pi = test::parse_json(created.response.body);
  std::string id = pi["id"].GetString();
  REQUIRE(pi["client_secret"].IsString());
  std::string secret = pi["client_secret"].GetString();
  REQUIRE(secret.size() > 10);

  // The shopper pays with it at the PSP; the merchant captures: the intent
  // now has a timeline of API and PSP changes and postings.
  auto confirmed = test::http(
      "POST",
      sandbox.base_url() + "/v1/payment_intents/" + pi["psp_reference"].GetString() + "/confirm",
      net::encode_form({{"payment_method", "pm_card_visa"}, {"client_secret", secret}}),
      {{"Authorization", "Bearer " + sandbox.publishable_key()}},
      "application/x-www-form-urlencoded");
  REQUIRE(confirmed.response.status == 200);
  auto captured = test::http("POST", url("/v1/payment_intents/" + id + "/capture"), "{}",
                             as_merchant, "application/json");
  INFO(captured.response.body);
  REQUIRE(captured.response.status == 200);

  // No admin view of it (the inspector console shows these), nor the
  // merchant's audit trail, holds the secret.
  for (const std::string& path :
       {"/v1/admin/intents/" + id, std::string("/v1/admin/actors?kind=payment_intent"),
        std::string("/v1/admin/actors"), std::string("/v1/admin/dead_letters"),
        std::string("/v1/admin/webhooks")}) {
    auto r = test::http("GET", url(path), {}, as_admin);
    INFO(path << ": " << r.response.body.substr(0, 2000));
    CHECK(r.response.status == 200);
    CHECK(r.response.body.find(secret) == std::string::npos);
  }
  auto view = test::parse_json(
      test::http("GET", url("/v1/admin/intents/" + id), {}, as_admin).response.body);
  REQUIRE(view["intent"].IsObject());
  CHECK(std::string(view["intent"]["id"].GetString()) == id);
  CHECK(std::string(view["state"].GetString()) == "captured");
  // The intent object keeps its shape; the secret is null there.
  REQUIRE(view["intent"].HasMember("client_secret"));
  CHECK(view["intent"]["client_secret"].IsNull());
  auto events = test::http("GET", url("/v1/payment_intents/" + id + "/events"), {}, as_merchant);
  CHECK(events.response.status == 200);
  CHECK(events.response.body.find(secret) == std::string::npos);
}
#endif

// ---- TLS listener ------------------------------------------------------------------

namespace {

/// Runs a shell command; its exit status.
int shell(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// A throwaway CA and a server certificate for 127.0.0.1 it signed, made
/// with the openssl command line in `dir`.
void make_test_pki(const std::string& dir) {
  auto q = [&dir](const char* name) { return "'" + dir + "/" + name + "'"; };
  REQUIRE(shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                "-keyout " +
                q("ca.key") + " -out " + q("ca.pem") +
                " -days 1 -subj '/CN=hardening test CA' 2>/dev/null") == 0);
  REQUIRE(shell("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
                q("server.key") + " -out " + q("server.csr") +
                " -subj '/CN=127.0.0.1' 2>/dev/null") == 0);
  REQUIRE(shell("printf 'subjectAltName=IP:127.0.0.1\\n' > " + q("san.ext") +
                " && openssl x509 -req -in " + q("server.csr") + " -CA " + q("ca.pem") +
                " -CAkey " + q("ca.key") + " -CAcreateserial -out " + q("server.pem") +
                " -days 1 -extfile " + q("san.ext") + " 2>/dev/null") == 0);
}

}  // namespace

TEST_CASE("hardening: the TLS listener serves HTTPS 1.2+ with HSTS, verified against a test CA") {
  auto dir = test::make_temp_dir();
  make_test_pki(dir);
  engine_fixture f{{{"PAYMENTS_TLS_CERT_FILE", dir + "/server.pem"},
                    {"PAYMENTS_TLS_KEY_FILE", dir + "/server.key"}}};
  auto https = "https://127.0.0.1:" + std::to_string(f.engine->port());

  net::http_client client{net::http_client_options{1, dir + "/ca.pem"}};
  net::client_request req;
  req.method = "GET";
  req.url = https + "/v1/payment_intents";
  req.headers = {{"Authorization", "Bearer " + f.alice.api_key}};
  req.timeout_ms = 10'000;
  auto r = client.send(req);
  REQUIRE(r.answered);
  CHECK(r.response.status == 200);
  CHECK(header_of(r, "Strict-Transport-Security") ==
        "max-age=" + std::to_string(core::limits::hsts_max_age_s));

  // A client that does not trust the test CA refuses the server.
  net::http_client untrusting;
  req.url = https + "/healthz";
  CHECK_FALSE(untrusting.send(req).answered);

  // Plain HTTP on the TLS port gets no HTTP answer.
  auto plain = test::raw_exchange(
      f.engine->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3s);
  CHECK(plain.find("HTTP/1.1 200") == std::string::npos);

  // TLS 1.1 is refused even by a client that would accept it.
  auto port = std::to_string(f.engine->port());
  CHECK(shell("openssl s_client -connect 127.0.0.1:" + port +
              " -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null >/dev/null 2>&1") != 0);
  CHECK(shell("openssl s_client -connect 127.0.0.1:" + port + " -tls1_2 -CAfile '" + dir +
              "/ca.pem' -verify_return_error </dev/null >/dev/null 2>&1") == 0);
}

TEST_CASE("hardening: paymentsd refuses to start with a TLS certificate but no key") {
  test::scratch_database db;
  test::child_process p(test::paymentsd_path(), {},
                        {{"PAYMENTS_DATABASE_URL", db.url()},
                         {"PAYMENTS_PORT", "0"},
                         {"PAYMENTS_PSP_SECRET_KEY", "sk_test_x"},
                         {"PAYMENTS_TLS_CERT_FILE", "/nonexistent.pem"}});
  CHECK(p.wait(30s) != 0);
  CHECK(p.output().find("TLS") != std::string::npos);
}
