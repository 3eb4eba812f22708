// The Adyen provider over real HTTP against the real psp-sandbox binary in
// its Adyen mode: sessions paid through the sandbox's client endpoint,
// captures, cancellations and refunds whose outcomes arrive as signed
// notifications (verified and parsed by adyen_webhooks), idempotent
// repeats, error mapping, the settlement report, and every request body
// the connector built validated against Adyen's OpenAPI request schemas
// (recorded by the sandbox, checked by tests/js/adyen_validate_requests.js
// with Ajv).

#include <catch2/catch.hpp>

#ifdef PSP_SANDBOX_BIN

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <rapidjson/document.h>

#include "core/psp.hpp"
#include "net/json.hpp"
#include "psp/adyen/adyen_provider.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t call_timeout_ms = 5'000;

template <class T, class Call>
core::psp_outcome<T> await(Call&& call) {
  auto promise = std::make_shared<std::promise<core::psp_outcome<T>>>();
  auto future = promise->get_future();
  call([promise](core::psp_outcome<T> o) { promise->set_value(std::move(o)); });
  REQUIRE(future.wait_for(30s) == std::future_status::ready);
  return future.get();
}

template <class T>
const T& success(const core::psp_outcome<T>& o) {
  if (const auto* f = std::get_if<core::psp_failure>(&o)) {
    INFO("PSP call failed: " << core::to_string(f->kind) << " " << f->http_status << " " << f->code
                             << " " << f->message);
    REQUIRE(false);
  }
  return std::get<T>(o);
}

template <class T>
const core::psp_failure& failure(const core::psp_outcome<T>& o) {
  REQUIRE(std::holds_alternative<core::psp_failure>(o));
  return std::get<core::psp_failure>(o);
}

std::string str(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string();
}

struct adyen_env {
  std::string record_dir = test::make_temp_dir();
  std::string record_file = record_dir + "/requests.jsonl";
  test::sandbox_process sb{
      {}, {"--adyen-modification-delay-ms", "30", "--record-requests", record_file}};
  psp::adyen_provider_options options() const {
    psp::adyen_provider_options o;
    o.api.base_url = sb.adyen_base_url();
    o.api.api_key = sb.adyen_api_key();
    o.api.merchant_account = sb.adyen_merchant_account();
    o.hmac_keys = {sb.adyen_hmac_key()};
    o.client_key = sb.adyen_client_key();
    o.sdk_url = sb.base_url() + "/adyen/sdk/adyen.js";
    return o;
  }
  core::psp_provider provider = psp::make_adyen_provider(options());
  core::psp_connector& connector() { return *provider.connector; }
  psp::adyen_connector& adyen() { return static_cast<psp::adyen_connector&>(*provider.connector); }

  /// Every notification the sandbox signed so far, as one batch body.
  std::string notification_batch() {
    auto r = test::http("GET", sb.base_url() + "/adyen/_sandbox/notifications", {},
                        {{"X-API-Key", sb.adyen_api_key()}});
    REQUIRE(r.response.status == 200);
    auto doc = test::parse_json(r.response.body);
    std::string body = "{\"live\":\"false\",\"notificationItems\":[";
    bool first = true;
    for (const auto& item : doc["items"].GetArray()) {
      if (!first) body += ",";
      first = false;
      body += "{\"NotificationRequestItem\":" + net::canonical_json(item) + "}";
    }
    return body + "]}";
  }

  /// Waits for the event `id` (eventCode:pspReference:success) among the
  /// sandbox's notifications, verified with the provider's webhooks.
  core::psp_event wait_event(const std::string& event_code, const std::string& about) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto body = notification_batch();
      auto headers = [](std::string_view) -> std::optional<std::string_view> {
        return std::nullopt;
      };
      auto verdict = provider.webhooks->verify(headers, body, 0);
      INFO(verdict.reason << " " << body);
      REQUIRE(verdict.ok);
      for (auto& e : provider.webhooks->parse(body)) {
        bool match = e.psp_type.starts_with(event_code + ":") &&
                     (e.object_id == about || (e.intent && e.intent->engine_reference == about) ||
                      (e.refund && e.refund->engine_reference == about));
        if (match) return e;
      }
      std::this_thread::sleep_for(50ms);
    }
    FAIL("no " << event_code << " about " << about);
    return {};
  }

  /// Pays a session through the sandbox's client endpoint with a test card.
  std::string pay_session(const core::psp_intent& session, const std::string& holder = {}) {
    REQUIRE(session.client_secret);
    auto secret = test::parse_json(*session.client_secret);
    std::string pm =
        R"({"type":"scheme","encryptedCardNumber":"test_4111111145551142","encryptedExpiryMonth":"test_03","encryptedExpiryYear":"test_2030","encryptedSecurityCode":"test_737")";
    if (!holder.empty()) pm += ",\"holderName\":\"" + holder + "\"";
    pm += "}";
    auto body = "{\"sessionData\":" + net::json_quote(str(secret, "sessionData")) +
                ",\"paymentMethod\":" + pm + "}";
    auto r = test::http("POST",
                        sb.base_url() + "/adyen/checkoutshopper/v1/sessions/" + str(secret, "id") +
                            "/payments?clientKey=" + sb.adyen_client_key(),
                        body, {}, "application/json");
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    return str(test::parse_json(r.response.body), "resultCode");
  }
};

core::psp_create_intent session_request(const std::string& id, std::int64_t amount = 2599,
                                        std::string currency = "eur") {
  core::psp_create_intent req;
  req.amount = amount;
  req.currency = std::move(currency);
  req.capture = core::capture_method::manual;
  req.engine_intent_id = id;
  req.metadata_json = R"({"order":"o-17"})";
  req.description = "Example shop";
  req.return_url = "https://pay.example/checkout/" + id;
  return req;
}

core::psp_modification modification(const std::string& psp, const std::string& reference,
                                    std::optional<std::int64_t> amount, std::int64_t available) {
  core::psp_modification m;
  m.psp_intent_id = psp;
  m.engine_reference = reference;
  m.amount = amount;
  m.amount_available = available;
  m.currency = "eur";
  return m;
}

}  // namespace

TEST_CASE("adyen connector: session, payment, capture, refund and cancel against the sandbox",
          "[adyen]") {
  adyen_env env;
  auto& c = env.connector();
  CHECK(env.provider.kind == "adyen");
  CHECK(env.provider.authorisation_captures);
  CHECK(env.provider.checkout.kind == "adyen");
  CHECK(env.provider.checkout.script_url == env.sb.base_url() + "/adyen/sdk/adyen.js");
  CHECK(env.provider.checkout.origin == env.sb.base_url());
  CHECK(env.provider.checkout.environment == "test");
  CHECK(env.provider.checkout.publishable_key == env.sb.adyen_client_key());

  // A session; the same idempotency key answers the same session.
  const std::string key = "idem-create-" + std::string(70, 'x');  // longer than Adyen's 64
  auto created = await<core::psp_intent>([&](auto done) {
    c.create_intent(session_request("pi_adyen_1"), key, call_timeout_ms, done);
  });
  const auto& session = success(created);
  CHECK(session.id.starts_with("CS"));
  CHECK(session.status == core::intent_status::created);
  CHECK(session.amount == 2599);
  CHECK(session.currency == "eur");
  CHECK(session.amount_capturable == 0);
  CHECK(session.engine_reference == "pi_adyen_1");
  auto again = await<core::psp_intent>([&](auto done) {
    c.create_intent(session_request("pi_adyen_1"), key, call_timeout_ms, done);
  });
  CHECK(success(again).id == session.id);
  CHECK(success(again).client_secret == session.client_secret);

  // The shopper pays; the AUTHORISATION names the engine's intent.
  CHECK(env.pay_session(session) == "Authorised");
  auto auth = env.wait_event("AUTHORISATION", "pi_adyen_1");
  REQUIRE(auth.intent);
  CHECK(auth.kind == core::psp_event_kind::intent_changed);
  CHECK(auth.intent->status == core::intent_status::authorized);
  CHECK(auth.intent->amount_capturable == 2599);
  const auto payment = auth.intent->id;

  // Capture: pending now, captured by notification; the repeat acts once.
  auto cap_key = std::string("idem-capture-1");
  auto captured = await<core::psp_intent>([&](auto done) {
    c.capture_intent(modification(payment, "pi_adyen_1", std::nullopt, 2599), cap_key,
                     call_timeout_ms, done);
  });
  CHECK(success(captured).id == payment);
  CHECK(success(captured).status == core::intent_status::capture_pending);
  CHECK_FALSE(success(captured).amount_capturable);
  auto captured_again = await<core::psp_intent>([&](auto done) {
    c.capture_intent(modification(payment, "pi_adyen_1", std::nullopt, 2599), cap_key,
                     call_timeout_ms, done);
  });
  CHECK(success(captured_again).psp_status == success(captured).psp_status);
  auto capture = env.wait_event("CAPTURE", payment);
  REQUIRE(capture.intent);
  CHECK(capture.intent->status == core::intent_status::captured);
  CHECK(capture.intent->amount_received == 2599);

  // A partial refund.
  auto refunded = await<core::psp_refund>([&](auto done) {
    c.create_refund(modification(payment, "re_adyen_1", 1000, 2599), "idem-refund-1",
                    call_timeout_ms, done);
  });
  const auto& refund = success(refunded);
  CHECK(refund.status == core::refund_status::pending);
  CHECK(refund.amount == 1000);
  CHECK(refund.payment_intent == payment);
  CHECK(refund.engine_reference == "re_adyen_1");
  auto refund_event = env.wait_event("REFUND", refund.id);
  REQUIRE(refund_event.refund);
  CHECK(refund_event.refund->status == core::refund_status::succeeded);
  CHECK(refund_event.refund->amount == 1000);
  CHECK(refund_event.refund->engine_reference == "re_adyen_1");

  // A second payment, cancelled.
  auto second = await<core::psp_intent>([&](auto done) {
    c.create_intent(session_request("pi_adyen_2", 500), "idem-create-2", call_timeout_ms, done);
  });
  CHECK(env.pay_session(success(second)) == "Authorised");
  auto auth2 = env.wait_event("AUTHORISATION", "pi_adyen_2");
  auto canceled = await<core::psp_intent>([&](auto done) {
    c.cancel_intent(modification(auth2.intent->id, "pi_adyen_2", std::nullopt, 500),
                    "idem-cancel-2", call_timeout_ms, done);
  });
  CHECK(success(canceled).status == core::intent_status::cancel_pending);
  auto cancel_event = env.wait_event("CANCELLATION", auth2.intent->id);
  CHECK(cancel_event.intent->status == core::intent_status::canceled);

  // A refusal is news, not a call failure.
  auto third = await<core::psp_intent>([&](auto done) {
    c.create_intent(session_request("pi_adyen_3", 700), "idem-create-3", call_timeout_ms, done);
  });
  CHECK(env.pay_session(success(third), "DECLINED") == "Refused");
  auto refused = env.wait_event("AUTHORISATION", "pi_adyen_3");
  CHECK(refused.intent->status == core::intent_status::created);
  REQUIRE(refused.intent->last_payment_error_json);
  CHECK(refused.intent->last_payment_error_json->find("card_declined") != std::string::npos);

  // Settlement: the captured payment and its refund in the report.
  auto settled = test::http("POST", env.sb.base_url() + "/adyen/_sandbox/settle", {},
                            {{"X-API-Key", env.sb.adyen_api_key()}});
  REQUIRE(settled.response.status == 200);
  auto report_event =
      env.wait_event("REPORT_AVAILABLE", str(test::parse_json(settled.response.body), "url"));
  CHECK(report_event.kind == core::psp_event_kind::report_available);
  auto report = await<psp::adyen_settlement_report>([&](auto done) {
    env.adyen().read_settlement_report(report_event.object_id, call_timeout_ms, done);
  });
  const auto& r = success(report);
  REQUIRE(r.payouts.size() == 1);
  bool charge = false;
  bool refund_line = false;
  std::int64_t net = 0;
  for (const auto& t : r.transactions) {
    net += t.net;
    CHECK(t.payout == r.payouts[0].id);
    if (t.type == core::balance_tx_type::charge && t.payment_intent == payment) {
      charge = true;
      CHECK(t.amount == 2599);
      CHECK(t.net == t.amount - t.fee);
    }
    if (t.type == core::balance_tx_type::refund && t.payment_intent == payment) {
      refund_line = true;
      CHECK(t.amount == -1000);
    }
  }
  CHECK(charge);
  CHECK(refund_line);
  CHECK(net == r.payouts[0].amount);

  // Every body the connector sent, against Adyen's request schemas.
  auto cmd =
      std::string(NODE_BIN) + " " + ADYEN_REQUEST_VALIDATOR + " " + env.record_file + " 8 2>&1";
  std::string out;
  if (auto* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int status = pclose(p);
    INFO(out);
    CHECK(status == 0);
  } else {
    FAIL("cannot run node");
  }
  std::filesystem::remove_all(env.record_dir);
}

TEST_CASE("adyen connector: errors are mapped, bad input refused before any call", "[adyen]") {
  adyen_env env;
  auto& c = env.connector();

  auto retrieve = await<core::psp_intent>(
      [&](auto done) { c.retrieve_intent("ANYPSPREF", call_timeout_ms, done); });
  CHECK(failure(retrieve).kind == core::psp_failure_kind::unsupported);
  auto retrieve_refund = await<core::psp_refund>(
      [&](auto done) { c.retrieve_refund("ANYPSPREF", call_timeout_ms, done); });
  CHECK(failure(retrieve_refund).kind == core::psp_failure_kind::unsupported);

  auto local = [&](core::psp_create_intent req) {
    auto o = await<core::psp_intent>(
        [&](auto done) { c.create_intent(req, "idem-local", call_timeout_ms, done); });
    const auto& f = failure(o);
    CHECK(f.kind == core::psp_failure_kind::rejected);
    CHECK(f.http_status == 0);
    return f.param;
  };
  auto no_return = session_request("pi_x");
  no_return.return_url.clear();
  CHECK(local(no_return) == "returnUrl");
  CHECK(local(session_request("pi_x", 150050, "idr")) ==
        "amount");  // 1500.50 IDR: no cents at Adyen
  CHECK(local(session_request("pi_x", 100, "xyz")) == "currency");
  CHECK(local(session_request("", 100)) == "reference");
  auto bad_metadata = session_request("pi_x");
  bad_metadata.metadata_json = R"({"n":1})";
  CHECK(local(bad_metadata) == "metadata");
  auto bad_path = await<core::psp_intent>([&](auto done) {
    c.capture_intent(modification("../sessions", "pi_x", 1, 1), "k", call_timeout_ms, done);
  });
  CHECK(failure(bad_path).param == "pspReference");

  // ISK converts exactly: 500 krónur are 50000 at Adyen.
  auto isk = await<core::psp_intent>([&](auto done) {
    c.create_intent(session_request("pi_isk", 500, "isk"), "idem-isk", call_timeout_ms, done);
  });
  CHECK(success(isk).amount == 500);
  CHECK(success(isk).currency == "isk");

  // The PSP's own refusals: an unknown payment, a wrong key, a wrong merchant account.
  auto unknown = await<core::psp_intent>([&](auto done) {
    c.capture_intent(modification("ABCDEF0123456789", "pi_x", 100, 100), "idem-unknown",
                     call_timeout_ms, done);
  });
  CHECK(failure(unknown).kind == core::psp_failure_kind::rejected);
  CHECK(failure(unknown).http_status >= 400);
  CHECK_FALSE(failure(unknown).code.empty());

  auto wrong_key = env.options();
  wrong_key.api.api_key = "AQEwrong";
  auto p = psp::make_adyen_provider(wrong_key);
  auto unauthorized = await<core::psp_intent>([&](auto done) {
    p.connector->create_intent(session_request("pi_y"), "idem-y", call_timeout_ms, done);
  });
  CHECK(failure(unauthorized).kind == core::psp_failure_kind::rejected);
  CHECK(failure(unauthorized).http_status == 401);
  CHECK(failure(unauthorized).message.find("AQEwrong") == std::string::npos);

  auto wrong_merchant = env.options();
  wrong_merchant.api.merchant_account = "SomeoneElseECOM";
  auto q = psp::make_adyen_provider(wrong_merchant);
  auto forbidden = await<core::psp_intent>([&](auto done) {
    q.connector->create_intent(session_request("pi_z"), "idem-z", call_timeout_ms, done);
  });
  CHECK(failure(forbidden).kind == core::psp_failure_kind::rejected);
  CHECK(failure(forbidden).http_status == 403);
  CHECK(failure(forbidden).code == "901");

  // Injected 5xx: retryable.
  auto faults = test::http("POST", env.sb.base_url() + "/_sandbox/faults", "error_percent=100",
                           {{"Authorization", "Bearer " + env.sb.secret_key()}},
                           "application/x-www-form-urlencoded");
  REQUIRE(faults.response.status == 200);
  auto broken = await<core::psp_intent>([&](auto done) {
    c.create_intent(session_request("pi_w"), "idem-w", call_timeout_ms, done);
  });
  CHECK(failure(broken).kind == core::psp_failure_kind::retryable);
  CHECK(failure(broken).http_status >= 500);

  // Nothing listens: retryable.
  auto gone = env.options();
  gone.api.base_url =
      "http://127.0.0.1:" + std::to_string(test::free_port()) + "/adyen/checkout/v71";
  auto g = psp::make_adyen_provider(gone);
  auto unreachable = await<core::psp_intent>([&](auto done) {
    g.connector->create_intent(session_request("pi_v"), "idem-v", call_timeout_ms, done);
  });
  CHECK(failure(unreachable).kind == core::psp_failure_kind::retryable);

  // A report is fetched only from the API's host or Adyen's.
  auto foreign = await<psp::adyen_settlement_report>([&](auto done) {
    env.adyen().read_settlement_report("https://attacker.example/report.csv", call_timeout_ms,
                                       done);
  });
  CHECK(failure(foreign).kind == core::psp_failure_kind::rejected);
  auto local_path = await<psp::adyen_settlement_report>(
      [&](auto done) { env.adyen().read_settlement_report("/etc/passwd", call_timeout_ms, done); });
  CHECK(failure(local_path).param == "url");
  // An operator's downloaded file.
  auto sample = std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "adyen" /
                "settlement_detail_report_batch_42.csv";
  auto from_file = await<psp::adyen_settlement_report>(
      [&](auto done) { env.adyen().read_settlement_report_file(sample.string(), done); });
  CHECK(success(from_file).payouts.size() == 1);
  auto missing = await<psp::adyen_settlement_report>(
      [&](auto done) { env.adyen().read_settlement_report_file("/nonexistent/report.csv", done); });
  CHECK(failure(missing).param == "file");
}

TEST_CASE("adyen provider: configuration errors are refused at start", "[adyen]") {
  psp::adyen_provider_options o;
  o.api.api_key = "AQEkey";
  o.api.merchant_account = "M";
  o.client_key = "test_KEY";
  o.hmac_keys = {std::string(64, 'a')};
  auto ok = psp::make_adyen_provider(o);
  CHECK(ok.checkout.script_url.starts_with("https://checkoutshopper-live.cdn.adyen.com/"));
  CHECK(ok.checkout.frame_src ==
        std::vector<std::string>{"https://checkoutshopper-test.adyen.com"});
  REQUIRE(ok.auth_window);
  CHECK(ok.auth_window->validity_s == 28 * 86'400);
  auto bad = o;
  bad.hmac_keys = {std::string(64, 'g')};
  CHECK_THROWS_AS(psp::make_adyen_provider(bad), std::invalid_argument);
  bad = o;
  bad.api.api_key.clear();
  CHECK_THROWS_AS(psp::make_adyen_provider(bad), std::invalid_argument);
  bad = o;
  bad.api.base_url = "ftp://x";
  CHECK_THROWS_AS(psp::make_adyen_provider(bad), std::invalid_argument);
  bad = o;
  bad.api.live_prefix = "1797a841fbb37ca7-AdyenDemo";
  CHECK_THROWS_AS(psp::make_adyen_provider(bad), std::invalid_argument);
  bad.api.live_prefix = "1797a841fbb37ca7-adyendemo";
  CHECK(psp::adyen_base_url(bad.api) ==
        "https://1797a841fbb37ca7-adyendemo-checkout-live.adyenpayments.com/checkout/v71");
  CHECK_NOTHROW(psp::make_adyen_provider(bad));
}

#endif  // PSP_SANDBOX_BIN
