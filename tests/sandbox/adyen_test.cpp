// The sandbox's Adyen mode over real HTTP: Checkout API v71 sessions,
// payments, validation and authentication errors, idempotency, asynchronous
// modifications with their notifications (received by a real HTTP endpoint
// here), batches, retries until a 2xx, the HMAC of every item (checked with
// the openssl command line, itself checked against the worked examples of
// tests/data/adyen/webhook-test-vectors.json), the card component's client
// endpoints with 3-D Secure 2, settlement reports and request recording.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "net/json.hpp"
#include "sandbox_harness.hpp"

using namespace sandbox_test;

namespace {

constexpr const char* api_key = "AQEadyensandboxtestkey0000000001";
constexpr const char* client_key = "test_ADYENSANDBOXCLIENTKEY000001";
constexpr const char* hmac_key = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
constexpr const char* merchant = "TestMerchantECOM";
const std::string api = "/adyen/checkout/v71";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// base64(HMAC-SHA256(hex-decoded key, data)) by the openssl command line.
std::string openssl_adyen_hmac(const std::string& key_hex, const std::string& data) {
  auto dir = run_command("mktemp -d");
  dir.erase(dir.find_last_not_of('\n') + 1);
  {
    std::ofstream out(dir + "/signed", std::ios::binary);
    out << data;
  }
  auto line = run_command("openssl dgst -sha256 -mac HMAC -macopt hexkey:" + key_hex + " -binary " +
                          dir + "/signed | base64 -w0");
  run_command("rm -rf " + dir);
  return line;
}

std::string field(const rapidjson::Value& item, const char* name) {
  auto it = item.FindMember(name);
  return it != item.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

/// The eight signed values of a NotificationRequestItem, joined by ':'.
std::string signing_string(const rapidjson::Value& item) {
  return field(item, "pspReference") + ":" + field(item, "originalReference") + ":" +
         field(item, "merchantAccountCode") + ":" + field(item, "merchantReference") + ":" +
         std::to_string(item["amount"]["value"].GetInt64()) + ":" +
         field(item["amount"], "currency") + ":" + field(item, "eventCode") + ":" +
         field(item, "success");
}

/// An Adyen notification endpoint: answers "[accepted]" (after failing the
/// first `fail_first` POSTs with 500) and keeps every batch it accepted.
class adyen_receiver {
 public:
  explicit adyen_receiver(int fail_first = 0) : fail_first_(fail_first) {
    pay::net::http_server_options opts;
    opts.port = 0;
    opts.threads = 1;
    server_ = std::make_unique<pay::net::http_server>(
        opts, [this](pay::net::http_request req, pay::net::responder respond) {
          pay::net::http_response res;
          if (++seen_ <= fail_first_) {
            res.status = 500;
            res.body = "not now";
            return respond(std::move(res));
          }
          {
            std::lock_guard guard{mutex_};
            bodies_.push_back(req.body);
            content_types_.emplace_back(req.header_value("Content-Type").value_or(""));
          }
          res.content_type = "text/plain";
          res.body = "[accepted]";
          respond(std::move(res));
        });
    REQUIRE(server_->start().empty());
  }
  ~adyen_receiver() { server_->stop(0); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/webhooks/adyen";
  }
  std::vector<std::string> bodies() const {
    std::lock_guard guard{mutex_};
    return bodies_;
  }
  std::vector<std::string> content_types() const {
    std::lock_guard guard{mutex_};
    return content_types_;
  }
  int seen() const { return seen_.load(); }

  /// Every item received so far, as JSON text, in arrival order.
  std::vector<std::string> items() const {
    std::vector<std::string> out;
    for (const auto& body : bodies()) {
      auto doc = parse(body);
      for (auto& wrapper : doc["notificationItems"].GetArray())
        out.push_back(pay::net::canonical_json(wrapper["NotificationRequestItem"]));
    }
    return out;
  }

  /// Waits for an item with this eventCode and pspReference/originalReference.
  rapidjson::Document wait_item(const std::string& event_code, const std::string& reference,
                                std::int64_t timeout_ms = 10'000) const {
    std::string found;
    eventually(
        [&] {
          for (const auto& text : items()) {
            auto item = parse(text);
            if (field(item, "eventCode") == event_code &&
                (field(item, "pspReference") == reference ||
                 field(item, "originalReference") == reference)) {
              found = text;
              return true;
            }
          }
          return false;
        },
        timeout_ms);
    INFO("waiting for " << event_code << " of " << reference);
    REQUIRE(!found.empty());
    return parse(found);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::string> content_types_;
  std::atomic<int> seen_{0};
  int fail_first_;
  std::unique_ptr<pay::net::http_server> server_;
};

std::vector<std::string> adyen_args(const std::string& webhook_url = {},
                                    std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--adyen-api-key",
                                   api_key,
                                   "--adyen-client-key",
                                   client_key,
                                   "--adyen-hmac-key",
                                   hmac_key,
                                   "--adyen-merchant-account",
                                   merchant,
                                   "--adyen-modification-delay-ms",
                                   "50",
                                   "--webhook-backoff-base-ms",
                                   "20"};
  if (!webhook_url.empty()) {
    args.push_back("--adyen-webhook-url");
    args.push_back(webhook_url);
  }
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

pay::net::client_result call(sandbox_process& sb, const std::string& method,
                             const std::string& path, const std::string& body,
                             std::vector<pay::net::header> headers = {},
                             const std::string& key = api_key) {
  pay::net::client_request req;
  req.method = method;
  req.url = sb.url(path);
  req.body = body;
  if (method == "POST") req.content_type = "application/json";
  if (!key.empty()) req.headers.emplace_back("X-API-Key", key);
  for (auto& h : headers) req.headers.push_back(std::move(h));
  return sb.send(std::move(req));
}

std::string card_body(const std::string& number, const std::string& holder = {},
                      const std::string& cvc = "737") {
  std::string pm = "{\"type\":\"scheme\",\"encryptedCardNumber\":\"test_" + number +
                   "\",\"encryptedExpiryMonth\":\"test_03\",\"encryptedExpiryYear\":\"test_2030\","
                   "\"encryptedSecurityCode\":\"test_" +
                   cvc + "\"";
  if (!holder.empty()) pm += ",\"holderName\":\"" + holder + "\"";
  return pm + "}";
}

/// POST /payments with a test card; manual capture unless `automatic`.
rapidjson::Document pay_card(sandbox_process& sb, const std::string& reference, std::int64_t value,
                             const std::string& number = "4111111145551142",
                             const std::string& holder = {}, bool automatic = false) {
  std::string body = "{\"amount\":{\"currency\":\"EUR\",\"value\":" + std::to_string(value) +
                     "},\"reference\":\"" + reference +
                     "\",\"returnUrl\":\"https://shop.example/back\",\"merchantAccount\":\"" +
                     merchant + "\",\"paymentMethod\":" + card_body(number, holder) +
                     (automatic ? "" : ",\"additionalData\":{\"manualCapture\":\"true\"}") + "}";
  return expect_json(call(sb, "POST", api + "/payments", body), 200);
}

std::string modification_body(std::int64_t value, const std::string& reference) {
  return "{\"merchantAccount\":\"" + std::string(merchant) +
         "\",\"amount\":{\"currency\":\"EUR\",\"value\":" + std::to_string(value) +
         "},\"reference\":\"" + reference + "\"}";
}

std::string session_body(std::int64_t value, const std::string& reference, bool manual) {
  return "{\"amount\":{\"currency\":\"EUR\",\"value\":" + std::to_string(value) +
         "},\"reference\":\"" + reference +
         "\",\"returnUrl\":\"https://shop.example/back\",\"merchantAccount\":\"" + merchant +
         "\",\"countryCode\":\"NL\"" +
         (manual ? ",\"additionalData\":{\"manualCapture\":\"true\"}" : "") + "}";
}

std::string client_path(const std::string& session_id, const std::string& op,
                        const std::string& key = client_key) {
  return "/adyen/checkoutshopper/v1/sessions/" + session_id + "/" + op + "?clientKey=" + key;
}

}  // namespace

TEST_CASE("adyen: the openssl HMAC used here reproduces the worked examples") {
  auto vectors = parse(
      read_text(std::string(PAYMENTS_SOURCE_DIR) + "/tests/data/adyen/webhook-test-vectors.json"));
  std::string key = vectors["hmac_key_hex"].GetString();
  REQUIRE(vectors["vectors"].Size() == 3);
  for (auto& v : vectors["vectors"].GetArray()) {
    CHECK(signing_string(v["item"]) == v["signing_string"].GetString());
    CHECK(openssl_adyen_hmac(key, v["signing_string"].GetString()) ==
          v["hmacSignature"].GetString());
    CHECK(v["item"]["additionalData"]["hmacSignature"].GetString() ==
          std::string(v["hmacSignature"].GetString()));
  }
  for (auto& v : vectors["cross_check_from_adyen_libraries"].GetArray())
    CHECK(openssl_adyen_hmac(v["hmac_key_hex"].GetString(), v["signing_string"].GetString()) ==
          v["hmacSignature"].GetString());
}

TEST_CASE("adyen: sessions, authentication and merchant account errors") {
  sandbox_process sb(adyen_args());
  auto created =
      expect_json(call(sb, "POST", api + "/sessions", session_body(2599, "order-1", true)), 201);
  CHECK(str(created, "id").starts_with("CS"));
  CHECK(!str(created, "sessionData").empty());
  CHECK(!str(created, "expiresAt").empty());
  CHECK(num(created, "amount.value") == 2599);
  CHECK(str(created, "amount.currency") == "EUR");
  CHECK(str(created, "reference") == "order-1");
  CHECK(str(created, "returnUrl") == "https://shop.example/back");
  CHECK(str(created, "merchantAccount") == merchant);

  auto no_key =
      expect_json(call(sb, "POST", api + "/sessions", session_body(1, "x", false), {}, ""), 401);
  CHECK(str(no_key, "errorCode") == "000");
  CHECK(str(no_key, "errorType") == "security");
  CHECK(str(no_key, "message") == "HTTP Status Response - Unauthorized");
  expect_json(call(sb, "POST", api + "/sessions", session_body(1, "x", false), {}, "AQEwrong"),
              401);

  std::string other = session_body(1, "x", false);
  other.replace(other.find(merchant), std::string(merchant).size(), "SomeoneElse");
  auto wrong = expect_json(call(sb, "POST", api + "/sessions", other), 403);
  CHECK(str(wrong, "errorCode") == "901");
  CHECK(str(wrong, "message") == "Invalid Merchant Account");

  // expiresAt: the merchant's choice within 24 hours.
  auto with_expiry = [&](const std::string& at) {
    auto body = session_body(100, "exp", false);
    body.insert(body.size() - 1, ",\"expiresAt\":\"" + at + "\"");
    return call(sb, "POST", api + "/sessions", body);
  };
  CHECK(with_expiry("2020-01-01T00:00:00Z").response.status == 422);
  CHECK(with_expiry("tomorrow").response.status == 422);
  auto soon = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                   std::chrono::hours(2));
  char soon_text[32];
  std::strftime(soon_text, sizeof soon_text, "%Y-%m-%dT%H:%M:%S+00:00", std::gmtime(&soon));
  auto custom = expect_json(with_expiry(soon_text), 201);
  CHECK(str(custom, "expiresAt") == soon_text);

  // The session's result needs the sessionResult the component got.
  auto id = str(created, "id");
  expect_json(call(sb, "GET", api + "/sessions/" + id, ""), 422);
  expect_json(call(sb, "GET", api + "/sessions/" + id + "?sessionResult=made-up", ""), 422);
}

TEST_CASE("adyen: request bodies are validated as Adyen does") {
  sandbox_process sb(adyen_args());
  auto post = [&](const std::string& path, const std::string& body, int status) {
    return expect_json(call(sb, "POST", api + path, body), status);
  };
  auto unknown =
      post("/sessions",
           "{\"amount\":{\"currency\":\"EUR\",\"value\":1},\"reference\":\"r\","
           "\"returnUrl\":\"https://x.example\",\"merchantAccount\":\"TestMerchantECOM\","
           "\"colour\":\"red\"}",
           400);
  CHECK(str(unknown, "errorCode") == "702");
  CHECK(str(unknown, "message").find("colour") != std::string::npos);
  auto missing = post("/sessions",
                      "{\"amount\":{\"currency\":\"EUR\",\"value\":1},\"reference\":\"r\","
                      "\"merchantAccount\":\"TestMerchantECOM\"}",
                      422);
  CHECK(str(missing, "errorCode") == "14_030");
  auto type = post("/sessions",
                   "{\"amount\":{\"currency\":\"EUR\",\"value\":\"1\"},\"reference\":\"r\","
                   "\"returnUrl\":\"https://x.example\",\"merchantAccount\":\"TestMerchantECOM\"}",
                   400);
  CHECK(str(type, "message").find("amount.value") != std::string::npos);
  auto currency =
      post("/sessions",
           "{\"amount\":{\"currency\":\"XYZ\",\"value\":1},\"reference\":\"r\","
           "\"returnUrl\":\"https://x.example\",\"merchantAccount\":\"TestMerchantECOM\"}",
           422);
  CHECK(str(currency, "errorCode") == "138");
  auto negative =
      post("/sessions",
           "{\"amount\":{\"currency\":\"EUR\",\"value\":-5},\"reference\":\"r\","
           "\"returnUrl\":\"https://x.example\",\"merchantAccount\":\"TestMerchantECOM\"}",
           422);
  CHECK(str(negative, "errorCode") == "137");
  auto no_amount = post("/payments/ABCDEFGHIJKLMNOP/captures",
                        "{\"merchantAccount\":\"TestMerchantECOM\"}", 422);
  CHECK(str(no_amount, "errorCode") == "100");
  post("/payments/ABCDEFGHIJKLMNOP/captures",
       "{\"merchantAccount\":\"TestMerchantECOM\",\"amount\":{\"currency\":\"EUR\",\"value\":1,"
       "\"extra\":1}}",
       400);
  post("/payments/ABCDEFGHIJKLMNOP/captures",
       "{\"merchantAccount\":\"TestMerchantECOM\",\"amount\":{\"currency\":\"EUR\",\"value\":"
       "1000000000001}}",
       422);
  auto unknown_payment =
      post("/payments/ABCDEFGHIJKLMNOP/captures", modification_body(1, "c"), 422);
  CHECK(str(unknown_payment, "errorCode") == "167");
  post("/payments", "{not json", 400);
  auto card = post("/payments",
                   "{\"amount\":{\"currency\":\"EUR\",\"value\":1},\"reference\":\"r\","
                   "\"returnUrl\":\"https://x.example\",\"merchantAccount\":\"TestMerchantECOM\","
                   "\"paymentMethod\":{\"type\":\"scheme\",\"encryptedCardNumber\":\"test_1\","
                   "\"pin\":\"1234\"}}",
                   400);
  CHECK(str(card, "message").find("paymentMethod.pin") != std::string::npos);
  post("/payments/details", "{\"details\":{\"threeDSResult\":5}}", 400);
  post("/paymentMethods", "{\"merchantAccount\":\"TestMerchantECOM\",\"countryCode\":7}", 400);
  auto methods = post("/paymentMethods", "{\"merchantAccount\":\"TestMerchantECOM\"}", 200);
  CHECK(str(methods["paymentMethods"][0], "type") == "scheme");
}

TEST_CASE("adyen: test cards, holder-name triggers and declines answered with HTTP 200") {
  sandbox_process sb(adyen_args());
  auto ok = pay_card(sb, "ok", 1000);
  CHECK(str(ok, "resultCode") == "Authorised");
  CHECK(str(ok, "pspReference").size() == 16);
  auto declined = pay_card(sb, "d", 1000, "4111111145551142", "DECLINED");
  CHECK(str(declined, "resultCode") == "Refused");
  CHECK(str(declined, "refusalReason") == "Refused");
  CHECK(str(declined, "refusalReasonCode") == "2");
  auto balance = pay_card(sb, "b", 1000, "5555341244441115", "NOT_ENOUGH_BALANCE");
  CHECK(str(balance, "refusalReason") == "Not enough balance");
  CHECK(str(pay_card(sb, "e", 1000, "4111111145551142", "ERROR"), "resultCode") == "Error");
  CHECK(str(pay_card(sb, "p", 1000, "4111111145551142", "PENDING"), "resultCode") == "Received");
  auto amex = pay_card(sb, "a", 1000, "370000000000002");
  CHECK(str(amex, "resultCode") == "Refused");  // Amex needs CVC 7373
  auto three_ds = pay_card(sb, "3ds", 1000, "5454545454545454");
  CHECK(str(three_ds, "resultCode") == "ChallengeShopper");
  CHECK(str(three_ds, "action.type") == "threeDS2");
  CHECK(str(three_ds, "action.subtype") == "challenge");
  // Not a test_ value: the sandbox cannot "decrypt" it.
  std::string body =
      "{\"amount\":{\"currency\":\"EUR\",\"value\":1},\"reference\":\"r\","
      "\"returnUrl\":\"https://x.example\",\"merchantAccount\":\"TestMerchantECOM\","
      "\"paymentMethod\":{\"type\":\"scheme\",\"encryptedCardNumber\":\"adyenjs_0_1_25$abc\"}}";
  CHECK(str(expect_json(call(sb, "POST", api + "/payments", body), 422), "errorCode") == "174");
}

TEST_CASE("adyen: Idempotency-Key replays, refuses a changed body and a concurrent duplicate") {
  sandbox_process sb(adyen_args());
  auto p = pay_card(sb, "idem", 5000);
  auto psp = str(p, "pspReference");
  std::vector<pay::net::header> key = {{"Idempotency-Key", "cap-1"}};
  auto first =
      call(sb, "POST", api + "/payments/" + psp + "/captures", modification_body(5000, "c1"), key);
  REQUIRE(first.response.status == 201);
  CHECK(first.response.header_value("Idempotency-Key").value_or("") == "cap-1");
  auto again =
      call(sb, "POST", api + "/payments/" + psp + "/captures", modification_body(5000, "c1"), key);
  CHECK(again.response.status == 201);
  CHECK(again.response.body == first.response.body);
  CHECK(again.response.header_value("Idempotency-Key").value_or("") == "cap-1");
  auto changed = expect_json(
      call(sb, "POST", api + "/payments/" + psp + "/captures", modification_body(4000, "c1"), key),
      422);
  CHECK(str(changed, "message") == "request already processed or in progress");

  // A duplicate while the first is still running (latency fault holds it).
  expect_json(sb.post("/_sandbox/faults", "{\"latency_ms\": 600}"));
  auto q = pay_card(sb, "idem2", 5000);  // delayed too, but answered
  auto slow = std::async(std::launch::async, [&] {
    return call(sb, "POST", api + "/payments/" + str(q, "pspReference") + "/captures",
                modification_body(5000, "c2"), {{"Idempotency-Key", "cap-2"}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto dup = call(sb, "POST", api + "/payments/" + str(q, "pspReference") + "/captures",
                  modification_body(5000, "c2"), {{"Idempotency-Key", "cap-2"}});
  CHECK(dup.response.status == 422);
  CHECK(dup.response.body.find("request already processed or in progress") != std::string::npos);
  CHECK(slow.get().response.status == 201);
}

TEST_CASE("adyen: capture, refund and cancel answer received, the outcome is a notification") {
  adyen_receiver rx;
  sandbox_process sb(adyen_args(rx.url()));
  auto p = pay_card(sb, "order-7", 2500);
  auto psp = str(p, "pspReference");
  auto auth = rx.wait_item("AUTHORISATION", psp);
  CHECK(str(auth, "success") == "true");
  CHECK(str(auth, "merchantReference") == "order-7");
  CHECK(str(auth, "merchantAccountCode") == merchant);
  CHECK(str(auth, "paymentMethod") == "visa");

  auto cap = expect_json(
      call(sb, "POST", api + "/payments/" + psp + "/captures", modification_body(2000, "cap-ref")),
      201);
  CHECK(str(cap, "status") == "received");
  CHECK(str(cap, "paymentPspReference") == psp);
  CHECK(str(cap, "pspReference").size() == 16);
  CHECK(str(cap, "pspReference") != psp);
  CHECK(num(cap, "amount.value") == 2000);
  CHECK(str(cap, "merchantAccount") == merchant);
  CHECK(str(cap, "reference") == "cap-ref");
  // Over-capture: one capture per payment, the rest is released.
  auto over = expect_json(
      call(sb, "POST", api + "/payments/" + psp + "/captures", modification_body(500, "cap-2")),
      422);
  CHECK(str(over, "errorCode") == "137");
  auto captured = rx.wait_item("CAPTURE", psp);
  CHECK(str(captured, "pspReference") == str(cap, "pspReference"));
  CHECK(str(captured, "originalReference") == psp);
  CHECK(str(captured, "merchantReference") == "cap-ref");
  CHECK(str(captured, "success") == "true");
  CHECK(num(captured, "amount.value") == 2000);

  auto too_much = expect_json(
      call(sb, "POST", api + "/payments/" + psp + "/refunds", modification_body(2001, "r0")), 422);
  CHECK(str(too_much, "message").find("refundable") != std::string::npos);
  auto ref = expect_json(
      call(sb, "POST", api + "/payments/" + psp + "/refunds", modification_body(800, "refund-1")),
      201);
  auto refunded = rx.wait_item("REFUND", psp);
  CHECK(str(refunded, "pspReference") == str(ref, "pspReference"));
  CHECK(str(refunded, "merchantReference") == "refund-1");
  CHECK(str(refunded, "success") == "true");

  auto other = pay_card(sb, "order-8", 900);
  auto other_psp = str(other, "pspReference");
  auto cancel = expect_json(call(sb, "POST", api + "/payments/" + other_psp + "/cancels",
                                 "{\"merchantAccount\":\"TestMerchantECOM\",\"reference\":\"cx\"}"),
                            201);
  CHECK(str(cancel, "status") == "received");
  auto canceled = rx.wait_item("CANCELLATION", other_psp);
  CHECK(str(canceled, "success") == "true");
  // Capturing a cancelled payment is received, then refused by notification.
  expect_json(call(sb, "POST", api + "/payments/" + other_psp + "/captures",
                   modification_body(900, "late")),
              201);
  eventually([&] {
    for (const auto& t : rx.items()) {
      auto item = parse(t);
      if (field(item, "eventCode") == "CAPTURE" && field(item, "originalReference") == other_psp)
        return true;
    }
    return false;
  });
  auto late = rx.wait_item("CAPTURE", other_psp);
  CHECK(str(late, "success") == "false");
  CHECK(!str(late, "reason").empty());

  // A reversal of a captured payment refunds the rest.
  auto third = pay_card(sb, "order-9", 700, "4111111145551142", "", true);
  auto third_psp = str(third, "pspReference");
  expect_json(call(sb, "POST", api + "/payments/" + third_psp + "/reversals",
                   "{\"merchantAccount\":\"TestMerchantECOM\",\"reference\":\"rev\"}"),
              201);
  auto reversed = rx.wait_item("CANCEL_OR_REFUND", third_psp);
  CHECK(field(at(reversed, "additionalData"), "modification.action") == "refund");

  // Every item carries a valid HMAC; JSON as Adyen posts it.
  for (const auto& text : rx.items()) {
    auto item = parse(text);
    INFO(text);
    CHECK(openssl_adyen_hmac(hmac_key, signing_string(item)) ==
          str(item, "additionalData.hmacSignature"));
  }
  for (const auto& body : rx.bodies()) CHECK(str(parse(body), "live") == "false");
  for (const auto& ct : rx.content_types()) CHECK(ct.starts_with("application/json"));
}

TEST_CASE("adyen: automatic capture sends no CAPTURE, failed capture and refund holder names") {
  adyen_receiver rx;
  sandbox_process sb(adyen_args(rx.url()));
  auto automatic = pay_card(sb, "auto-1", 1200, "4111111145551142", "", true);
  auto psp = str(automatic, "pspReference");
  CHECK(str(rx.wait_item("AUTHORISATION", psp), "success") == "true");
  // Refundable at once: the payment is captured.
  expect_json(
      call(sb, "POST", api + "/payments/" + psp + "/refunds", modification_body(1200, "rf")), 201);
  rx.wait_item("REFUND", psp);
  for (const auto& t : rx.items()) CHECK(field(parse(t), "eventCode") != "CAPTURE");

  auto failing = pay_card(sb, "cf-1", 1500, "4111111145551142", "capture failed");
  auto fpsp = str(failing, "pspReference");
  expect_json(
      call(sb, "POST", api + "/payments/" + fpsp + "/captures", modification_body(1500, "c")), 201);
  CHECK(str(rx.wait_item("CAPTURE", fpsp), "success") == "true");
  auto failed = rx.wait_item("CAPTURE_FAILED", fpsp);
  CHECK(str(failed, "originalReference") == fpsp);

  auto refund_fail = pay_card(sb, "rf-1", 1500, "4111111145551142", "refund failed", true);
  auto rpsp = str(refund_fail, "pspReference");
  expect_json(call(sb, "POST", api + "/payments/" + rpsp + "/refunds", modification_body(500, "r")),
              201);
  CHECK(str(rx.wait_item("REFUND", rpsp), "success") == "true");
  CHECK(str(rx.wait_item("REFUND_FAILED", rpsp), "originalReference") == rpsp);
}

TEST_CASE("adyen: items pending together go in one batch of at most --adyen-batch-max") {
  adyen_receiver rx;
  sandbox_process sb(
      adyen_args(rx.url(), {"--adyen-batch-max", "3", "--adyen-batch-window-ms", "300"}));
  std::vector<std::string> psps;
  for (int i = 0; i < 7; ++i)
    psps.push_back(str(pay_card(sb, "batch-" + std::to_string(i), 100 + i), "pspReference"));
  REQUIRE(eventually([&] { return rx.items().size() >= 7; }));
  std::size_t biggest = 0;
  for (const auto& body : rx.bodies()) {
    auto n = parse(body)["notificationItems"].Size();
    CHECK(n <= 3);
    biggest = std::max<std::size_t>(biggest, n);
  }
  CHECK(biggest == 3);
  CHECK(rx.bodies().size() >= 3);
}

TEST_CASE("adyen: a batch is retried with backoff until the endpoint answers 2xx") {
  adyen_receiver rx(3);
  sandbox_process sb(adyen_args(rx.url()));
  auto psp = str(pay_card(sb, "retry-1", 4200), "pspReference");
  auto auth = rx.wait_item("AUTHORISATION", psp, 15'000);
  CHECK(rx.seen() == 4);
  auto deliveries = expect_json(call(sb, "GET", "/adyen/_sandbox/deliveries", ""), 200);
  std::size_t failures = 0;
  std::size_t delivered = 0;
  for (auto& a : deliveries["data"].GetArray()) {
    if (str(a, "outcome") == "http_error") ++failures;
    if (str(a, "outcome") == "delivered") ++delivered;
  }
  CHECK(failures == 3);
  CHECK(delivered == 1);
}

TEST_CASE("adyen: the card component's client endpoints, 3-D Secure 2 and session results") {
  adyen_receiver rx;
  sandbox_process sb(adyen_args(rx.url()));
  auto created =
      expect_json(call(sb, "POST", api + "/sessions", session_body(3100, "shop-42", true)), 201);
  auto id = str(created, "id");
  auto data = str(created, "sessionData");
  auto client_post = [&](const std::string& path, const std::string& body) {
    pay::net::client_request req;
    req.method = "POST";
    req.url = sb.url(path);
    req.body = body;
    req.content_type = "application/json";
    return sb.send(std::move(req));
  };
  auto payment = [&](const std::string& number, const std::string& holder = {}) {
    return "{\"sessionData\":\"" + data + "\",\"paymentMethod\":" + card_body(number, holder) + "}";
  };
  // The client key, never the API key; and the session's own data.
  expect_json(client_post(client_path(id, "payments", "test_wrong"), payment("4111111145551142")),
              401);
  expect_json(
      client_post(client_path(id, "payments"), "{\"sessionData\":\"forged\",\"paymentMethod\":" +
                                                   card_body("4111111145551142") + "}"),
      422);
  // Refused, then a 3-D Secure card whose challenge fails, then one that passes.
  auto refused = expect_json(
      client_post(client_path(id, "payments"), payment("4111111145551142", "DECLINED")));
  CHECK(str(refused, "resultCode") == "Refused");
  auto refused_result = str(refused, "sessionResult");
  auto status = expect_json(
      call(sb, "GET", api + "/sessions/" + id + "?sessionResult=" + refused_result, ""));
  CHECK(str(status, "status") == "refused");

  auto challenge =
      expect_json(client_post(client_path(id, "payments"), payment("5454545454545454")));
  CHECK(str(challenge, "resultCode") == "ChallengeShopper");
  auto token = str(challenge, "action.token");
  auto wrong = expect_json(client_post("/adyen/threeds2/challenge",
                                       "{\"token\":\"" + token + "\",\"password\":\"1234\"}"));
  auto failed = expect_json(
      client_post(client_path(id, "paymentDetails"), "{\"sessionData\":\"" + data +
                                                         "\",\"details\":{\"threeDSResult\":\"" +
                                                         str(wrong, "threeDSResult") + "\"}}"));
  CHECK(str(failed, "resultCode") == "Refused");
  // The same threeDSResult twice: already processed.
  auto twice = expect_json(
      client_post(client_path(id, "paymentDetails"), "{\"sessionData\":\"" + data +
                                                         "\",\"details\":{\"threeDSResult\":\"" +
                                                         str(wrong, "threeDSResult") + "\"}}"),
      422);
  CHECK(str(twice, "message") == "request already processed or in progress");

  auto again = expect_json(client_post(client_path(id, "payments"), payment("5454545454545454")));
  auto right = expect_json(
      client_post("/adyen/threeds2/challenge",
                  "{\"token\":\"" + str(again, "action.token") + "\",\"password\":\"password\"}"));
  auto done = expect_json(
      client_post(client_path(id, "paymentDetails"), "{\"sessionData\":\"" + data +
                                                         "\",\"details\":{\"threeDSResult\":\"" +
                                                         str(right, "threeDSResult") + "\"}}"));
  CHECK(str(done, "resultCode") == "Authorised");
  auto final_status = expect_json(call(
      sb, "GET", api + "/sessions/" + id + "?sessionResult=" + str(done, "sessionResult"), ""));
  CHECK(str(final_status, "status") == "completed");
  REQUIRE(final_status["payments"].Size() == 1);
  auto paid_psp = str(final_status["payments"][0], "pspReference");
  CHECK(str(final_status["payments"][0], "resultCode") == "Authorised");
  // A completed session takes no other payment.
  expect_json(client_post(client_path(id, "payments"), payment("4111111145551142")), 422);

  // Three AUTHORISATION items for the session's reference, one per attempt,
  // each with its own pspReference; only the last succeeded.
  REQUIRE(eventually([&] {
    std::size_t n = 0;
    for (const auto& t : rx.items())
      if (field(parse(t), "eventCode") == "AUTHORISATION") ++n;
    return n == 3;
  }));
  std::set<std::string> refs;
  for (const auto& t : rx.items()) {
    auto item = parse(t);
    CHECK(str(item, "merchantReference") == "shop-42");
    refs.insert(str(item, "pspReference"));
    CHECK(str(item, "success") == (str(item, "pspReference") == paid_psp ? "true" : "false"));
  }
  CHECK(refs.size() == 3);

  // The pages: adyen.js may be loaded from another origin, card.html framed.
  auto js = sb.get("/adyen/sdk/adyen.js", "");
  CHECK(js.response.status == 200);
  CHECK(js.response.header_value("Access-Control-Allow-Origin").value_or("") == "*");
  CHECK(js.response.body.find("window.AdyenCheckout") != std::string::npos);
  auto html = sb.get("/adyen/sdk/card.html", "");
  CHECK(html.response.header_value("Content-Security-Policy")
            .value_or("")
            .find("frame-ancestors *") != std::string::npos);
}

TEST_CASE("adyen: settlement details report and REPORT_AVAILABLE") {
  adyen_receiver rx;
  sandbox_process sb(adyen_args(rx.url(), {"--fee-percent-bp", "100", "--fee-fixed-minor", "10"}));
  auto a = str(pay_card(sb, "s-1", 10000, "4111111145551142", "", true), "pspReference");
  // Adyen's exponents: JPY has none, KWD three.
  for (const auto* currency : {"JPY", "KWD"}) {
    std::string body = "{\"amount\":{\"currency\":\"" + std::string(currency) +
                       "\",\"value\":1500},\"reference\":\"x-" + currency +
                       "\",\"returnUrl\":\"https://shop.example/back\",\"merchantAccount\":\"" +
                       merchant + "\",\"paymentMethod\":" + card_body("4111111145551142") + "}";
    expect_json(call(sb, "POST", api + "/payments", body), 200);
  }
  auto b = str(pay_card(sb, "s-2", 5000), "pspReference");
  expect_json(
      call(sb, "POST", api + "/payments/" + b + "/captures", modification_body(5000, "cap-s2")),
      201);
  rx.wait_item("CAPTURE", b);
  expect_json(
      call(sb, "POST", api + "/payments/" + a + "/refunds", modification_body(3000, "ref-s1")),
      201);
  rx.wait_item("REFUND", a);

  expect_json(call(sb, "POST", "/adyen/_sandbox/settle", "", {}, ""), 401);
  auto settled = expect_json(call(sb, "POST", "/adyen/_sandbox/settle", ""));
  auto file = str(settled, "file");
  CHECK(file == "settlement_detail_report_batch_1.csv");
  auto report = rx.wait_item("REPORT_AVAILABLE", file);
  CHECK(str(report, "reason") == str(settled, "url"));
  CHECK(str(report, "success") == "true");
  CHECK(openssl_adyen_hmac(hmac_key, signing_string(report)) ==
        str(report, "additionalData.hmacSignature"));

  auto url = str(report, "reason");
  auto path = url.substr(url.find("/adyen/"));
  CHECK(call(sb, "GET", path, "", {}, "").response.status == 401);
  // Adyen's report user signs in with Basic auth; its password is the API key here.
  auto basic =
      run_command("printf '%s' 'report@Company.Sandbox:" + std::string(api_key) + "' | base64 -w0");
  CHECK(call(sb, "GET", path, "", {{"Authorization", "Basic " + basic}}, "").response.status ==
        200);
  auto csv = call(sb, "GET", path, "");
  REQUIRE(csv.response.status == 200);
  CHECK(csv.response.content_type.starts_with("text/csv"));
  std::vector<std::string> lines;
  std::stringstream ss(csv.response.body);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  REQUIRE(lines.size() == 9);  // header, 4 Settled, 1 Refunded, 3 MerchantPayout
  CHECK(lines[0] ==
        "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,"
        "Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),"
        "Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),"
        "Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),Payment Method Variant,"
        "Modification Merchant Reference,Batch Number");
  auto body = csv.response.body;
  // 100.00 captured at 1 % + 0.10: fee 1.10, net 98.90; 50.00: fee 0.60, net 49.40.
  CHECK(body.find("," + a + ",s-1,visa,") != std::string::npos);
  CHECK(body.find(",Settled,") != std::string::npos);
  CHECK(body.find(",100.00,1,EUR,,98.90,1.10,") != std::string::npos);
  CHECK(body.find(",50.00,1,EUR,,49.40,0.60,") != std::string::npos);
  CHECK(body.find(",Refunded,") != std::string::npos);
  CHECK(body.find(",EUR,30.00,,1,EUR,30.00,,") != std::string::npos);
  // Payout: 98.90 + 49.40 - 30.00 = 118.30.
  CHECK(body.find(",MerchantPayout,,,,,,EUR,118.30,") != std::string::npos);
  // 1500 JPY at 1 % + 10: fee 25, net 1475; 1.500 KWD: fee 0.025, net 1.475.
  CHECK(body.find(",JPY,,1500,1,JPY,,1475,25,") != std::string::npos);
  CHECK(body.find(",KWD,,1.500,1,KWD,,1.475,0.025,") != std::string::npos);
  CHECK(body.find(",MerchantPayout,,,,,,JPY,1475,") != std::string::npos);
  CHECK(body.find(",MerchantPayout,,,,,,KWD,1.475,") != std::string::npos);
  // The next batch holds nothing already settled.
  auto next = expect_json(call(sb, "POST", "/adyen/_sandbox/settle", ""));
  CHECK(num(next, "lines") == 0);
}

TEST_CASE("adyen: --record-requests writes every API request without the API key") {
  char tmpl[] = "/tmp/adyen-record-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string file = std::string(tmpl) + "/requests.jsonl";
  {
    sandbox_process sb(adyen_args({}, {"--record-requests", file}));
    expect_json(call(sb, "POST", api + "/sessions", session_body(100, "rec-1", false),
                     {{"Idempotency-Key", "rec-key"}}),
                201);
    expect_json(
        call(sb, "POST", api + "/paymentMethods", "{\"merchantAccount\":\"TestMerchantECOM\"}"));
    auto listed = expect_json(call(sb, "GET", "/adyen/_sandbox/requests", ""));
    CHECK(listed["requests"].Size() == 2);
  }
  auto text = read_text(file);
  CHECK(text.find(api_key) == std::string::npos);
  std::stringstream ss(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  REQUIRE(lines.size() == 2);
  auto first = parse(lines[0]);
  CHECK(str(first, "method") == "POST");
  CHECK(str(first, "path") == api + "/sessions");
  CHECK(str(first, "headers.idempotency-key") == "rec-key");
  CHECK(str(parse(str(first, "body")), "reference") == "rec-1");
  std::filesystem::remove_all(tmpl);
}

TEST_CASE(
    "adyen: the Stripe mode and the Adyen mode share faults, injected errors are 5xx "
    "ServiceErrors") {
  sandbox_process sb(adyen_args());
  expect_json(sb.post("/_sandbox/faults", "{\"error_percent\": 100}"));
  auto r = call(sb, "POST", api + "/paymentMethods", "{\"merchantAccount\":\"TestMerchantECOM\"}");
  REQUIRE(r.answered);
  CHECK(r.response.status >= 500);
  CHECK(str(parse(r.response.body), "errorType") == "internal");
  expect_json(sb.post("/_sandbox/faults", "{\"reset\": true}"));
  expect_json(
      call(sb, "POST", api + "/paymentMethods", "{\"merchantAccount\":\"TestMerchantECOM\"}"));
}

TEST_CASE(
    "adyen: the webhook faults apply to notification batches (duplicates, dropped first "
    "attempts)") {
  adyen_receiver rx;
  sandbox_process sb(adyen_args(rx.url(), {"--fault-webhook-duplicate-percent", "100",
                                           "--fault-webhook-drop-first-percent", "100"}));
  auto psp = str(pay_card(sb, "dup-1", 300), "pspReference");
  REQUIRE(eventually([&] {
    std::size_t n = 0;
    for (const auto& t : rx.items())
      if (field(parse(t), "pspReference") == psp) ++n;
    return n == 2;
  }));
  auto deliveries = expect_json(call(sb, "GET", "/adyen/_sandbox/deliveries", ""), 200);
  std::size_t dropped = 0;
  for (auto& a : deliveries["data"].GetArray())
    if (str(a, "outcome") == "dropped") ++dropped;
  CHECK(dropped >= 1);
}

TEST_CASE("adyen: memory is bounded by --objects-max") {
  sandbox_process sb(adyen_args({}, {"--objects-max", "100"}));
  for (int i = 0; i < 100; ++i)
    expect_json(
        call(sb, "POST", api + "/sessions", session_body(100, "full-" + std::to_string(i), false)),
        201);
  auto refused =
      expect_json(call(sb, "POST", api + "/sessions", session_body(100, "one-more", false)), 422);
  CHECK(str(refused, "message").find("--objects-max") != std::string::npos);
}

TEST_CASE("adyen: captureDelayHours leaves the payment capturable by a call until the delay") {
  adyen_receiver rx;
  sandbox_process sb(adyen_args(rx.url()));
  auto body = [](const std::string& hours) {
    return "{\"amount\":{\"currency\":\"EUR\",\"value\":800},\"reference\":\"delay\","
           "\"returnUrl\":\"https://shop.example/back\",\"merchantAccount\":\"TestMerchantECOM\","
           "\"captureDelayHours\":" +
           hours + ",\"paymentMethod\":" + card_body("4111111145551142") + "}";
  };
  CHECK(call(sb, "POST", api + "/payments", body("673")).response.status == 422);
  auto p = expect_json(call(sb, "POST", api + "/payments", body("24")), 200);
  auto psp = str(p, "pspReference");
  CHECK(str(rx.wait_item("AUTHORISATION", psp), "success") == "true");
  expect_json(
      call(sb, "POST", api + "/payments/" + psp + "/captures", modification_body(800, "now")), 201);
  CHECK(str(rx.wait_item("CAPTURE", psp), "success") == "true");
}

TEST_CASE("adyen: an uncaptured authorisation expires after 28 sandbox days with EXPIRE") {
  adyen_receiver rx;
  sandbox_process sb(adyen_args(rx.url()));
  auto held = pay_card(sb, "order-exp", 1200);
  auto held_psp = str(held, "pspReference");
  auto paid = pay_card(sb, "order-auto", 800, "4111111145551142", {}, true);
  auto paid_psp = str(paid, "pspReference");
  rx.wait_item("AUTHORISATION", held_psp);
  rx.wait_item("AUTHORISATION", paid_psp);
  expect_json(sb.post("/_sandbox/clock/advance", R"({"seconds":2419200})",
                      {{"Content-Type", "application/json"}}));  // 28 days
  auto expired = rx.wait_item("EXPIRE", held_psp);
  CHECK(str(expired, "success") == "true");
  CHECK(str(expired, "merchantReference") == "order-exp");
  CHECK(num(expired, "amount.value") == 1200);
  // Advancing again expires nothing more; the automatic capture never did.
  expect_json(sb.post("/_sandbox/clock/advance", R"({"seconds":60})",
                      {{"Content-Type", "application/json"}}));
  // A capture after the expiry is received, then refused by notification.
  expect_json(call(sb, "POST", api + "/payments/" + held_psp + "/captures",
                   modification_body(1200, "late")),
              201);
  auto refused = rx.wait_item("CAPTURE", held_psp);
  CHECK(str(refused, "success") == "false");
  std::size_t expires = 0;
  for (const auto& text : rx.items()) {
    auto item = parse(text);
    if (field(item, "eventCode") == "EXPIRE") ++expires;
  }
  CHECK(expires == 1);
}
