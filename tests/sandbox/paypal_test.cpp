// The sandbox's PayPal mode over real HTTP: OAuth2 client credentials and
// expiring tokens, Orders v2 through the buyer's approval page (approve,
// cancel), authorizations with partial and final captures and voids,
// refunds (partial, repeated, too much), PayPal-Request-Id replays, errors
// and negative testing, funding choices (declined and pending captures),
// Transaction Search and withdrawals, per-PSP faults, and webhooks received
// by a real endpoint here and verified as PayPal's SDKs do: CRC-32 of the
// body and RSA-SHA256 with the certificate fetched from PAYPAL-CERT-URL
// (the verifier itself checked first against the worked example of
// tests/data/paypal/webhook-test-vectors.json).
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "net/json.hpp"
#include "sandbox_harness.hpp"

using namespace sandbox_test;

namespace {

constexpr const char* client_id = "AbPayPalTestsClientId00000000000000000001";
constexpr const char* client_secret = "EbPayPalTestsClientSecret000000000000001";
constexpr const char* webhook_id = "7TS30413R1234567X";
const std::string api = "/paypal";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(in.data()),
                           static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// CRC-32 (zlib's), written here independently of the sandbox's own.
std::uint32_t crc32_of(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

/// PayPal's offline check: RSASSA-PKCS1-v1_5 SHA-256 of `data` with the
/// certificate's public key.
bool rsa_verify(const std::string& cert_pem, const std::string& data, const std::string& sig_b64) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return false;
  std::string sig(sig_b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(sig.data()),
                          reinterpret_cast<const unsigned char*>(sig_b64.data()),
                          static_cast<int>(sig_b64.size()));
  if (n < 0) {
    X509_free(cert);
    return false;
  }
  auto padding = static_cast<int>(sig_b64.size() - sig_b64.find_last_not_of('=') - 1);
  sig.resize(static_cast<std::size_t>(n - padding));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, X509_get0_pubkey(cert)) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  X509_free(cert);
  return ok;
}

/// A PayPal webhook listener: answers 200 (after failing the first
/// `fail_first` POSTs with 500) and keeps every delivery with its headers.
class paypal_receiver {
 public:
  struct received {
    std::string body;
    std::map<std::string, std::string> headers;  ///< lower-case names
  };

  explicit paypal_receiver(int fail_first = 0) : fail_first_(fail_first) {
    pay::net::http_server_options opts;
    opts.port = 0;
    opts.threads = 1;
    server_ = std::make_unique<pay::net::http_server>(
        opts, [this](pay::net::http_request req, pay::net::responder respond) {
          pay::net::http_response res;
          if (++seen_ <= fail_first_) {
            res.status = 500;
            res.body = "{}";
            return respond(std::move(res));
          }
          received r;
          r.body = req.body;
          for (const auto& [k, v] : req.headers) {
            std::string lower = k;
            for (auto& c : lower)
              c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[lower] = v;
          }
          {
            std::lock_guard guard{mutex_};
            received_.push_back(std::move(r));
          }
          res.body = "{}";
          respond(std::move(res));
        });
    REQUIRE(server_->start().empty());
  }
  ~paypal_receiver() { server_->stop(0); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/webhooks/paypal";
  }
  std::vector<received> all() const {
    std::lock_guard guard{mutex_};
    return received_;
  }
  int seen() const { return seen_.load(); }

  /// Waits for an event of `type` whose resource has id `resource_id`.
  received wait_event(const std::string& type, const std::string& resource_id,
                      std::int64_t timeout_ms = 10'000) const {
    received found;
    eventually(
        [&] {
          for (const auto& r : all()) {
            auto doc = parse(r.body);
            if (str(doc, "event_type") == type && str(doc, "resource.id") == resource_id) {
              found = r;
              return true;
            }
          }
          return false;
        },
        timeout_ms);
    INFO("waiting for " << type << " of " << resource_id);
    REQUIRE(!found.body.empty());
    return found;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<received> received_;
  std::atomic<int> seen_{0};
  int fail_first_;
  std::unique_ptr<pay::net::http_server> server_;
};

std::vector<std::string> paypal_args(const std::string& webhook_url = {},
                                     std::vector<std::string> more = {}) {
  std::vector<std::string> args = {
      "--paypal-client-id",        client_id,  "--paypal-client-secret", client_secret,
      "--paypal-webhook-id",       webhook_id, "--paypal-pending-ms",    "300",
      "--webhook-backoff-base-ms", "20"};
  if (!webhook_url.empty()) {
    args.push_back("--paypal-webhook-url");
    args.push_back(webhook_url);
  }
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string basic() {
  return "Basic " + base64(std::string(client_id) + ":" + client_secret);
}

pay::net::client_result call(sandbox_process& sb, const std::string& method,
                             const std::string& path, const std::string& body,
                             const std::string& authorization,
                             std::vector<pay::net::header> headers = {}) {
  pay::net::client_request req;
  req.method = method;
  req.url = sb.url(api + path);
  req.body = body;
  if (method == "POST" && !body.empty()) req.content_type = "application/json";
  if (!authorization.empty()) req.headers.emplace_back("Authorization", authorization);
  for (auto& h : headers) req.headers.push_back(std::move(h));
  return sb.send(std::move(req));
}

rapidjson::Document token_answer(sandbox_process& sb, const std::string& auth = basic()) {
  pay::net::client_request req;
  req.method = "POST";
  req.url = sb.url(api + "/v1/oauth2/token");
  req.body = "grant_type=client_credentials";
  req.content_type = "application/x-www-form-urlencoded";
  req.headers.emplace_back("Authorization", auth);
  return expect_json(sb.send(std::move(req)), 200);
}

std::string bearer(sandbox_process& sb) {
  return "Bearer " + str(token_answer(sb), "access_token");
}

std::string order_body(const std::string& intent, const std::string& value,
                       const std::string& currency = "EUR", bool experience = true,
                       const std::string& custom_id = "pi_test_1") {
  std::string body = "{\"intent\":\"" + intent + "\",\"purchase_units\":[{\"custom_id\":\"" +
                     custom_id + "\",\"invoice_id\":\"inv-" + custom_id +
                     "\",\"amount\":{\"currency_code\":\"" + currency + "\",\"value\":\"" + value +
                     "\"}}]";
  if (experience)
    body +=
        ",\"payment_source\":{\"paypal\":{\"experience_context\":{\"return_url\":"
        "\"https://shop.example/return\",\"cancel_url\":\"https://shop.example/cancel\","
        "\"user_action\":\"PAY_NOW\"}}}";
  return body + "}";
}

/// Creates an order (201) and returns its id.
std::string create_order(sandbox_process& sb, const std::string& auth, const std::string& intent,
                         const std::string& value, const std::string& currency = "EUR") {
  auto r = call(sb, "POST", "/v2/checkout/orders", order_body(intent, value, currency), auth,
                {{"PayPal-Request-Id", "create-" + intent + value + std::to_string(std::rand())}});
  return str(expect_json(r, 201), "id");
}

void approve(sandbox_process& sb, const std::string& order_id,
             const std::string& funding = "balance") {
  auto r = call(sb, "POST", "/_sandbox/orders/" + order_id + "/approve",
                "{\"funding\":\"" + funding + "\"}", basic());
  auto o = expect_json(r, 200);
  CHECK(str(o, "status") == "APPROVED");
}

std::string issue_of(const rapidjson::Document& e) {
  return e["details"][0]["issue"].GetString();
}

const rapidjson::Value& first_capture(const rapidjson::Value& order) {
  return order["purchase_units"][0]["payments"]["captures"][0];
}

std::string link(const rapidjson::Value& obj, const std::string& rel) {
  for (auto& l : obj["links"].GetArray())
    if (rel == l["rel"].GetString()) return l["href"].GetString();
  return {};
}

/// Checks one delivery as the engine must: the certificate from
/// PAYPAL-CERT-URL, the signed string from the headers, our webhook id and
/// the unsigned CRC-32 of the exact body.
bool delivery_verifies(const paypal_receiver::received& r, const std::string& body,
                       const std::string& id = webhook_id) {
  pay::net::http_client client;
  pay::net::client_request get;
  get.url = r.headers.at("paypal-cert-url");
  auto fetched = client.send(get);
  if (!fetched.answered || fetched.response.status != 200) return false;
  const auto& cert = fetched.response.body;
  auto signed_string = r.headers.at("paypal-transmission-id") + "|" +
                       r.headers.at("paypal-transmission-time") + "|" + id + "|" +
                       std::to_string(crc32_of(body));
  return rsa_verify(cert, signed_string, r.headers.at("paypal-transmission-sig"));
}

}  // namespace

TEST_CASE("paypal: the worked webhook example verifies with the test's CRC-32 and RSA check") {
  auto vectors = parse(
      read_text(std::string(PAYMENTS_SOURCE_DIR) + "/tests/data/paypal/webhook-test-vectors.json"));
  std::string body = vectors["raw_body"].GetString();
  CHECK(crc32_of(body) == 2705199349u);
  CHECK(std::to_string(crc32_of(body)) == str(vectors, "crc32_decimal"));
  std::string cert = vectors["cert_pem"].GetString();
  std::string sig = vectors["headers"]["PAYPAL-TRANSMISSION-SIG"].GetString();
  CHECK(rsa_verify(cert, vectors["signed_string"].GetString(), sig));
  CHECK_FALSE(
      rsa_verify(cert, vectors["signed_string_for_simulator_mock_events"].GetString(), sig));
  CHECK_FALSE(rsa_verify(cert, vectors["signed_string_wrong_if_crc_signed"].GetString(), sig));
}

TEST_CASE(
    "paypal: client credentials give a bearer token, bad credentials and expired tokens 401") {
  sandbox_process sb(paypal_args({}, {"--paypal-token-ttl", "2"}));
  auto t = token_answer(sb);
  CHECK(str(t, "token_type") == "Bearer");
  CHECK(num(t, "expires_in") == 2);
  CHECK(!str(t, "app_id").empty());
  CHECK(!str(t, "nonce").empty());
  CHECK(str(t, "scope").find("https://uri.paypal.com/services/payments/refund") !=
        std::string::npos);
  auto auth = "Bearer " + str(t, "access_token");
  // Asked again while valid: the same token.
  CHECK(str(token_answer(sb), "access_token") == str(t, "access_token"));

  pay::net::client_request bad;
  bad.method = "POST";
  bad.url = sb.url(api + "/v1/oauth2/token");
  bad.body = "grant_type=client_credentials";
  bad.content_type = "application/x-www-form-urlencoded";
  bad.headers.emplace_back("Authorization", "Basic " + base64(std::string(client_id) + ":wrong"));
  auto refused = expect_json(sb.send(bad), 401);
  CHECK(str(refused, "error") == "invalid_client");

  expect_json(call(sb, "GET", "/v2/checkout/orders/NOSUCHORDER0000001", "", auth), 404);
  auto unknown =
      expect_json(call(sb, "GET", "/v2/checkout/orders/X", "", "Bearer A21AAnotatoken"), 401);
  CHECK(str(unknown, "error") == "invalid_token");
  auto none = expect_json(call(sb, "GET", "/v2/checkout/orders/X", "", ""), 401);
  CHECK(str(none, "name") == "AUTHENTICATION_FAILURE");

  std::this_thread::sleep_for(std::chrono::milliseconds(2'300));
  auto expired = expect_json(call(sb, "GET", "/v2/checkout/orders/X", "", auth), 401);
  CHECK(str(expired, "error") == "invalid_token");
  // A new token works again.
  expect_json(call(sb, "GET", "/v2/checkout/orders/X", "", bearer(sb)), 404);
}

TEST_CASE(
    "paypal: an order approved on the buyer's page is captured once, with fees, and its "
    "signed webhooks verify with the served certificate") {
  paypal_receiver receiver;
  sandbox_process sb(paypal_args(receiver.url()));
  auto auth = bearer(sb);
  auto created = expect_json(call(sb, "POST", "/v2/checkout/orders", order_body("CAPTURE", "25.99"),
                                  auth, {{"PayPal-Request-Id", "order-1"}}),
                             201);
  std::string id = str(created, "id");
  CHECK(id.size() == 17);
  CHECK(str(created, "status") == "PAYER_ACTION_REQUIRED");
  auto action = link(created, "payer-action");
  CHECK(action == sb.url("/paypal/checkoutnow?token=" + id));
  CHECK_FALSE(created.HasMember("purchase_units"));  // return=minimal by default

  // Capture before the buyer approved: refused, nothing made.
  auto early =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/capture", "{}", auth), 422);
  CHECK(issue_of(early) == "ORDER_NOT_APPROVED");
  CHECK(str(early, "name") == "UNPROCESSABLE_ENTITY");
  CHECK(!str(early, "debug_id").empty());

  // The approval page: the buyer, the amount, the funding choice, two buttons.
  pay::net::client_request page;
  page.url = action;
  auto shown = sb.send(page);
  REQUIRE(shown.answered);
  CHECK(shown.response.status == 200);
  for (const char* needle : {"id=\"approve\"", "id=\"cancel\"", "id=\"funding\"", "25.99 EUR",
                             "pending_capture", "deny_capture", "sb-buyer@personal.example.com"})
    CHECK(shown.response.body.find(needle) != std::string::npos);
  pay::net::client_request press;
  press.method = "POST";
  press.url = sb.url("/paypal/checkoutnow");
  press.content_type = "application/x-www-form-urlencoded";
  press.body = "token=" + id + "&funding=balance&action=approve";
  auto pressed = sb.send(press);
  REQUIRE(pressed.answered);
  CHECK(pressed.response.status == 302);
  CHECK(std::string(pressed.response.header_value("Location").value_or("")) ==
        "https://shop.example/return?token=" + id + "&PayerID=SBXBUYER7Q2LM");
  auto got = expect_json(call(sb, "GET", "/v2/checkout/orders/" + id, "", auth), 200);
  CHECK(str(got, "status") == "APPROVED");
  CHECK(str(got, "payer.payer_id") == "SBXBUYER7Q2LM");

  auto captured =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/capture", "{}", auth,
                       {{"Prefer", "return=representation"}, {"PayPal-Request-Id", "capture-1"}}),
                  201);
  CHECK(str(captured, "status") == "COMPLETED");
  const auto& c = first_capture(captured);
  std::string capture_id = c["id"].GetString();
  CHECK(str(c, "status") == "COMPLETED");
  CHECK(str(c, "amount.value") == "25.99");
  CHECK(str(c, "custom_id") == "pi_test_1");
  // 3.49 % of 25.99 is 0.907..., 0.91, plus 0.49 fixed.
  CHECK(str(c, "seller_receivable_breakdown.gross_amount.value") == "25.99");
  CHECK(str(c, "seller_receivable_breakdown.paypal_fee.value") == "1.40");
  CHECK(str(c, "seller_receivable_breakdown.net_amount.value") == "24.59");
  auto again =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/capture", "{}", auth), 422);
  CHECK(issue_of(again) == "ORDER_ALREADY_CAPTURED");
  auto by_id = expect_json(call(sb, "GET", "/v2/payments/captures/" + capture_id, "", auth), 200);
  CHECK(str(by_id, "supplementary_data.related_ids.order_id") == id);
  CHECK(str(by_id, "custom_id") == "pi_test_1");

  // The webhooks: approval and capture, each signed for this delivery.
  auto approved = receiver.wait_event("CHECKOUT.ORDER.APPROVED", id);
  auto completed = receiver.wait_event("PAYMENT.CAPTURE.COMPLETED", capture_id);
  for (const auto* r : {&approved, &completed}) {
    CHECK(r->headers.at("paypal-auth-algo") == "SHA256withRSA");
    CHECK(r->headers.at("paypal-cert-url")
              .starts_with(sb.url("/paypal/v1/notifications/certs/CERT-")));
    CHECK(delivery_verifies(*r, r->body));
    // Tampered, or checked with another webhook id: refused.
    auto tampered = r->body;
    tampered.replace(tampered.find("\"resource\""), 10, "\"resourcf\"");
    CHECK_FALSE(delivery_verifies(*r, tampered));
    CHECK_FALSE(delivery_verifies(*r, r->body, "WEBHOOK_ID"));
  }
  auto event = parse(completed.body);
  CHECK(str(event, "id").starts_with("WH-"));
  CHECK(str(event, "resource_type") == "capture");
  CHECK(str(event, "resource_version") == "2.0");
  CHECK(str(event, "resource.custom_id") == "pi_test_1");
  CHECK(str(event, "resource.supplementary_data.related_ids.order_id") == id);
  CHECK(parse(approved.body)["resource"].HasMember("purchase_units"));

  // verify-webhook-signature answers by the same check, on the event spliced in as received.
  auto verify_body = [&](const paypal_receiver::received& r, const std::string& event_text,
                         const std::string& id_used) {
    return "{\"auth_algo\":\"SHA256withRSA\",\"cert_url\":" +
           pay::net::json_quote(r.headers.at("paypal-cert-url")) +
           ",\"transmission_id\":" + pay::net::json_quote(r.headers.at("paypal-transmission-id")) +
           ",\"transmission_sig\":" +
           pay::net::json_quote(r.headers.at("paypal-transmission-sig")) +
           ",\"transmission_time\":" +
           pay::net::json_quote(r.headers.at("paypal-transmission-time")) + ",\"webhook_id\":\"" +
           id_used + "\",\"webhook_event\":" + event_text + "}";
  };
  auto ok = expect_json(call(sb, "POST", "/v1/notifications/verify-webhook-signature",
                             verify_body(completed, completed.body, webhook_id), auth),
                        200);
  CHECK(str(ok, "verification_status") == "SUCCESS");
  auto tampered = completed.body;
  tampered.replace(tampered.find("25.99"), 5, "25.98");
  auto bad = expect_json(call(sb, "POST", "/v1/notifications/verify-webhook-signature",
                              verify_body(completed, tampered, webhook_id), auth),
                         200);
  CHECK(str(bad, "verification_status") == "FAILURE");
  auto wrong_id = expect_json(call(sb, "POST", "/v1/notifications/verify-webhook-signature",
                                   verify_body(completed, completed.body, "WEBHOOK_ID"), auth),
                              200);
  CHECK(str(wrong_id, "verification_status") == "FAILURE");
  auto listed = expect_json(
      call(sb, "GET", "/v1/notifications/webhooks-events/" + str(event, "id"), "", auth), 200);
  CHECK(str(listed, "event_type") == "PAYMENT.CAPTURE.COMPLETED");
}

TEST_CASE("paypal: a buyer who cancels goes back to cancel_url and the order stays unpaid") {
  sandbox_process sb(paypal_args());
  auto auth = bearer(sb);
  auto id = create_order(sb, auth, "CAPTURE", "12.00");
  pay::net::client_request press;
  press.method = "POST";
  press.url = sb.url("/paypal/checkoutnow");
  press.content_type = "application/x-www-form-urlencoded";
  press.body = "token=" + id + "&funding=balance&action=cancel";
  auto pressed = sb.send(press);
  REQUIRE(pressed.answered);
  CHECK(pressed.response.status == 302);
  CHECK(std::string(pressed.response.header_value("Location").value_or("")) ==
        "https://shop.example/cancel?token=" + id);
  auto got = expect_json(call(sb, "GET", "/v2/checkout/orders/" + id, "", auth), 200);
  CHECK(str(got, "status") == "PAYER_ACTION_REQUIRED");
  auto refused =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/capture", "{}", auth), 422);
  CHECK(issue_of(refused) == "ORDER_NOT_APPROVED");
  // Without an experience context an order is CREATED with an approve link.
  auto plain = expect_json(
      call(sb, "POST", "/v2/checkout/orders", order_body("CAPTURE", "1.00", "USD", false), auth),
      201);
  CHECK(str(plain, "status") == "CREATED");
  CHECK(!link(plain, "approve").empty());
}

TEST_CASE(
    "paypal: an authorization is captured in parts up to its amount, then refused, "
    "voids are final") {
  paypal_receiver receiver;
  sandbox_process sb(paypal_args(receiver.url()));
  auto auth = bearer(sb);
  auto id = create_order(sb, auth, "AUTHORIZE", "30.00");
  approve(sb, id);
  auto wrong =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/capture", "{}", auth), 422);
  CHECK(issue_of(wrong) == "ACTION_DOES_NOT_MATCH_INTENT");
  auto authorized = expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/authorize", "{}",
                                     auth, {{"PayPal-Request-Id", "auth-1"}}),
                                201);
  CHECK(str(authorized, "status") == "COMPLETED");
  const auto& a = authorized["purchase_units"][0]["payments"]["authorizations"][0];
  std::string auth_id = a["id"].GetString();
  CHECK(str(a, "status") == "CREATED");
  CHECK(!str(a, "expiration_time").empty());
  auto again =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/authorize", "{}", auth), 422);
  CHECK(issue_of(again) == "ORDER_ALREADY_AUTHORIZED");
  receiver.wait_event("PAYMENT.AUTHORIZATION.CREATED", auth_id);

  auto path = "/v2/payments/authorizations/" + auth_id;
  auto part = expect_json(
      call(sb, "POST", path + "/capture",
           R"({"amount":{"currency_code":"EUR","value":"10.00"},"final_capture":false})", auth,
           {{"Prefer", "return=representation"}}),
      201);
  CHECK(str(part, "status") == "COMPLETED");
  CHECK(str(part, "amount.value") == "10.00");
  CHECK(str(part, "supplementary_data.related_ids.authorization_id") == auth_id);
  CHECK(str(part, "supplementary_data.related_ids.order_id") == id);
  CHECK(str(expect_json(call(sb, "GET", path, "", auth)), "status") == "PARTIALLY_CAPTURED");
  auto too_much = expect_json(call(sb, "POST", path + "/capture",
                                   R"({"amount":{"currency_code":"EUR","value":"20.01"}})", auth),
                              422);
  CHECK(issue_of(too_much) == "MAX_CAPTURE_AMOUNT_EXCEEDED");
  auto precision = expect_json(call(sb, "POST", path + "/capture",
                                    R"({"amount":{"currency_code":"EUR","value":"1.001"}})", auth),
                               422);
  CHECK(issue_of(precision) == "DECIMAL_PRECISION");
  auto last = expect_json(
      call(sb, "POST", path + "/capture",
           R"({"amount":{"currency_code":"EUR","value":"5.00"},"final_capture":true})", auth),
      201);
  CHECK(str(last, "status") == "COMPLETED");  // minimal: id, status, links
  CHECK_FALSE(last.HasMember("amount"));
  auto done = expect_json(call(sb, "GET", path, "", auth));
  CHECK(str(done, "status") == "CAPTURED");
  CHECK(str(done, "supplementary_data.related_ids.order_id") == id);
  CHECK(str(done, "custom_id") == "pi_test_1");
  auto after = expect_json(call(sb, "POST", path + "/capture", "{}", auth), 422);
  CHECK(issue_of(after) == "AUTHORIZATION_ALREADY_CAPTURED");
  CHECK(issue_of(expect_json(call(sb, "POST", path + "/void", "", auth), 422)) ==
        "PREVIOUSLY_CAPTURED");

  // A second authorization, voided: 204, then every capture and void refused.
  auto id2 = create_order(sb, auth, "AUTHORIZE", "8.00");
  approve(sb, id2);
  auto auth2 =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id2 + "/authorize", "{}", auth), 201);
  std::string auth2_id =
      auth2["purchase_units"][0]["payments"]["authorizations"][0]["id"].GetString();
  auto voided = call(sb, "POST", "/v2/payments/authorizations/" + auth2_id + "/void", "", auth);
  REQUIRE(voided.answered);
  CHECK(voided.response.status == 204);
  CHECK(voided.response.body.empty());
  receiver.wait_event("PAYMENT.AUTHORIZATION.VOIDED", auth2_id);
  CHECK(issue_of(expect_json(
            call(sb, "POST", "/v2/payments/authorizations/" + auth2_id + "/void", "", auth),
            422)) == "PREVIOUSLY_VOIDED");
  CHECK(issue_of(expect_json(
            call(sb, "POST", "/v2/payments/authorizations/" + auth2_id + "/capture", "{}", auth),
            422)) == "AUTHORIZATION_VOIDED");
}

TEST_CASE(
    "paypal: refunds are partial and repeated up to the capture, Transaction Search and "
    "withdrawals list the money") {
  paypal_receiver receiver;
  sandbox_process sb(paypal_args(receiver.url()));
  auto auth = bearer(sb);
  auto id = create_order(sb, auth, "CAPTURE", "25.99");
  approve(sb, id);
  auto captured =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/capture", "", auth), 201);
  std::string capture_id = first_capture(captured)["id"].GetString();
  auto path = "/v2/payments/captures/" + capture_id + "/refund";
  auto r1 = expect_json(
      call(sb, "POST", path,
           R"({"amount":{"currency_code":"EUR","value":"10.00"},"note_to_payer":"sorry"})", auth,
           {{"Prefer", "return=representation"}, {"PayPal-Request-Id", "refund-1"}}),
      201);
  CHECK(str(r1, "status") == "COMPLETED");
  CHECK(str(r1, "amount.value") == "10.00");
  CHECK(str(r1, "custom_id") == "pi_test_1");
  CHECK(str(r1, "supplementary_data.related_ids.capture_id") == capture_id);
  CHECK(str(r1, "supplementary_data.related_ids.order_id") == id);
  auto r2 = expect_json(
      call(sb, "POST", path, R"({"amount":{"currency_code":"EUR","value":"5.00"}})", auth), 201);
  CHECK(str(expect_json(call(sb, "GET", "/v2/payments/captures/" + capture_id, "", auth)),
            "status") == "PARTIALLY_REFUNDED");
  auto over = expect_json(
      call(sb, "POST", path, R"({"amount":{"currency_code":"EUR","value":"11.00"}})", auth), 422);
  CHECK(issue_of(over) == "REFUND_AMOUNT_EXCEEDED");
  auto got = expect_json(call(sb, "GET", "/v2/payments/refunds/" + str(r2, "id"), "", auth));
  CHECK(str(got, "amount.value") == "5.00");
  auto event = parse(receiver.wait_event("PAYMENT.CAPTURE.REFUNDED", str(r1, "id")).body);
  CHECK(str(event, "resource_type") == "refund");
  CHECK(str(event, "resource.supplementary_data.related_ids.order_id") == id);

  // A second order refunded in full (no amount), then once more: refused.
  auto id2 = create_order(sb, auth, "CAPTURE", "4.00", "USD");
  approve(sb, id2);
  auto c2 =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id2 + "/capture", "{}", auth), 201);
  std::string capture2 = first_capture(c2)["id"].GetString();
  auto full = expect_json(call(sb, "POST", "/v2/payments/captures/" + capture2 + "/refund", "{}",
                               auth, {{"Prefer", "return=representation"}}),
                          201);
  CHECK(str(full, "amount.value") == "4.00");
  auto twice = expect_json(
      call(sb, "POST", "/v2/payments/captures/" + capture2 + "/refund", "{}", auth), 422);
  CHECK(issue_of(twice) == "CAPTURE_FULLY_REFUNDED");

  // Transaction Search: the captures (T0006, fee negative) and refunds
  // (T1107, negative), each with the order id and its custom_id.
  auto now = std::chrono::system_clock::now();
  auto day = [](std::chrono::system_clock::time_point t) {
    auto tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  auto range = "start_date=" + day(now - std::chrono::hours(24)) +
               "&end_date=" + day(now + std::chrono::hours(1));
  auto search = expect_json(call(sb, "GET", "/v1/reporting/transactions?" + range, "", auth));
  CHECK(num(search, "total_items") == 5);
  std::map<std::string, int> codes;
  for (auto& row : search["transaction_details"].GetArray()) {
    const auto& info = row["transaction_info"];
    codes[info["transaction_event_code"].GetString()] += 1;
    CHECK(str(info, "transaction_status") == "S");
    if (str(info, "transaction_id") == capture_id) {
      CHECK(str(info, "transaction_amount.value") == "25.99");
      CHECK(str(info, "fee_amount.value") == "-1.40");
      CHECK(str(info, "paypal_reference_id") == id);
      CHECK(str(info, "custom_field") == "pi_test_1");
    }
    if (str(info, "transaction_id") == str(r1, "id")) {
      CHECK(str(info, "transaction_amount.value") == "-10.00");
      CHECK(str(info, "paypal_reference_id") == id);
    }
  }
  CHECK(codes["T0006"] == 2);
  CHECK(codes["T1107"] == 3);
  auto one = expect_json(
      call(sb, "GET", "/v1/reporting/transactions?" + range + "&transaction_id=" + capture_id, "",
           auth));
  CHECK(num(one, "total_items") == 1);
  auto paged = expect_json(
      call(sb, "GET", "/v1/reporting/transactions?" + range + "&page_size=2&page=3", "", auth));
  CHECK(num(paged, "total_pages") == 3);
  CHECK(paged["transaction_details"].Size() == 1);
  CHECK(issue_of(expect_json(call(sb, "GET", "/v1/reporting/transactions?start_date=x", "", auth),
                             400)) == "MISSING_REQUIRED_PARAMETER");

  // Settlement: EUR 25.99 - 1.40 - 15.00 = 9.59 withdrawn; USD 4.00 - 0.63 - 4.00 is negative.
  auto settled = expect_json(call(sb, "POST", "/_sandbox/settle", "", basic()));
  REQUIRE(settled["withdrawals"].Size() == 1);
  CHECK(str(settled["withdrawals"][0], "amount.value") == "9.59");
  auto after = expect_json(call(sb, "GET",
                                "/v1/reporting/transactions?" + range + "&transaction_id=" +
                                    str(settled["withdrawals"][0], "transaction_id"),
                                "", auth));
  REQUIRE(after["transaction_details"].Size() == 1);
  CHECK(str(after["transaction_details"][0], "transaction_info.transaction_event_code") == "T0400");
  CHECK(str(after["transaction_details"][0], "transaction_info.transaction_amount.value") ==
        "-9.59");
}

TEST_CASE(
    "paypal: PayPal-Request-Id replays the first answer, amounts, bodies and ids are "
    "validated, PayPal-Mock-Response forces an error") {
  sandbox_process sb(paypal_args());
  auto auth = bearer(sb);
  auto body = order_body("CAPTURE", "7.50");
  auto first =
      call(sb, "POST", "/v2/checkout/orders", body, auth, {{"PayPal-Request-Id", "same-1"}});
  auto second =
      call(sb, "POST", "/v2/checkout/orders", body, auth, {{"PayPal-Request-Id", "same-1"}});
  REQUIRE(first.answered);
  REQUIRE(second.answered);
  CHECK(first.response.status == 201);
  CHECK(second.response.status == 200);
  CHECK(first.response.body == second.response.body);
  auto other = expect_json(call(sb, "POST", "/v2/checkout/orders", order_body("CAPTURE", "7.51"),
                                auth, {{"PayPal-Request-Id", "same-1"}}),
                           422);
  CHECK(issue_of(other) == "PAYPAL_REQUEST_ID_PREVIOUSLY_USED");
  // Ids are kept per API call: the same id on another path is another request.
  auto elsewhere = expect_json(
      call(sb, "POST", "/v2/checkout/orders/" + str(parse(first.response.body), "id") + "/capture",
           "{}", auth, {{"PayPal-Request-Id", "same-1"}}),
      422);
  CHECK(issue_of(elsewhere) == "ORDER_NOT_APPROVED");
  auto state = expect_json(sb.get("/_sandbox/state"));
  CHECK(num(state, "paypal.orders") == 1);

  auto missing_id = expect_json(call(sb, "POST", "/v2/checkout/orders", body, auth), 400);
  CHECK(issue_of(missing_id) == "PAYPAL_REQUEST_ID_REQUIRED");
  auto create = [&](const std::string& b) {
    return call(sb, "POST", "/v2/checkout/orders", b, auth);
  };
  CHECK(issue_of(expect_json(create(order_body("CAPTURE", "1.001", "EUR", false)), 422)) ==
        "DECIMAL_PRECISION");
  CHECK(issue_of(expect_json(create(order_body("CAPTURE", "100.5", "JPY", false)), 422)) ==
        "DECIMALS_NOT_SUPPORTED");
  CHECK(issue_of(expect_json(create(order_body("CAPTURE", "10.00", "ZAR", false)), 422)) ==
        "CURRENCY_NOT_SUPPORTED");
  CHECK(issue_of(expect_json(create(order_body("CAPTURE", "1,00", "EUR", false)), 400)) ==
        "INVALID_PARAMETER_SYNTAX");
  CHECK(issue_of(expect_json(
            create(R"({"purchase_units":[{"amount":{"currency_code":"EUR","value":"1.00"}}]})"),
            400)) == "MISSING_REQUIRED_PARAMETER");
  CHECK(issue_of(expect_json(create("{\"intent\":"), 400)) == "MALFORMED_REQUEST_JSON");
  auto jpy = expect_json(create(order_body("CAPTURE", "1500", "JPY", false)), 201);
  auto jpy_order = expect_json(call(sb, "GET", "/v2/checkout/orders/" + str(jpy, "id"), "", auth));
  CHECK(str(jpy_order["purchase_units"][0], "amount.value") == "1500");
  auto nf = expect_json(call(sb, "GET", "/v2/payments/captures/NOSUCHCAPTURE0001", "", auth), 404);
  CHECK(str(nf, "name") == "RESOURCE_NOT_FOUND");
  CHECK(issue_of(nf) == "INVALID_RESOURCE_ID");

  auto mocked = expect_json(
      call(sb, "POST", "/v2/checkout/orders", order_body("CAPTURE", "3.00", "EUR", false), auth,
           {{"PayPal-Mock-Response", R"({"mock_application_codes":"DUPLICATE_INVOICE_ID"})"}}),
      422);
  CHECK(issue_of(mocked) == "DUPLICATE_INVOICE_ID");
  auto mocked500 =
      call(sb, "GET", "/v2/checkout/orders/" + str(jpy, "id"), "", auth,
           {{"PayPal-Mock-Response", R"({"mock_application_codes":"INTERNAL_SERVER_ERROR"})"}});
  REQUIRE(mocked500.answered);
  CHECK(mocked500.response.status == 500);
  CHECK(num(expect_json(sb.get("/_sandbox/state")), "paypal.orders") == 2);
}

TEST_CASE("paypal: the buyer's funding decides the capture: declined, or pending then completed") {
  paypal_receiver receiver;
  sandbox_process sb(paypal_args(receiver.url()));
  auto auth = bearer(sb);
  auto denied = create_order(sb, auth, "CAPTURE", "9.00");
  approve(sb, denied, "deny_capture");
  auto d =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + denied + "/capture", "{}", auth), 201);
  CHECK(str(d, "status") == "COMPLETED");
  std::string declined_id = first_capture(d)["id"].GetString();
  CHECK(str(first_capture(d), "status") == "DECLINED");
  receiver.wait_event("PAYMENT.CAPTURE.DECLINED", declined_id);
  CHECK(issue_of(expect_json(
            call(sb, "POST", "/v2/payments/captures/" + declined_id + "/refund", "{}", auth),
            422)) == "REFUND_NOT_ALLOWED");

  // An authorization whose capture is refused later: DENIED.
  auto deny_auth = create_order(sb, auth, "AUTHORIZE", "9.00");
  approve(sb, deny_auth, "deny_capture");
  auto a = expect_json(
      call(sb, "POST", "/v2/checkout/orders/" + deny_auth + "/authorize", "{}", auth), 201);
  std::string a_id = a["purchase_units"][0]["payments"]["authorizations"][0]["id"].GetString();
  auto dc = expect_json(
      call(sb, "POST", "/v2/payments/authorizations/" + a_id + "/capture", "{}", auth), 201);
  CHECK(str(dc, "status") == "DECLINED");
  receiver.wait_event("PAYMENT.CAPTURE.DENIED", str(dc, "id"));

  auto pending = create_order(sb, auth, "CAPTURE", "9.00");
  approve(sb, pending, "pending_capture");
  auto p =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + pending + "/capture", "{}", auth), 201);
  std::string pending_id = first_capture(p)["id"].GetString();
  CHECK(str(first_capture(p), "status") == "PENDING");
  CHECK(str(first_capture(p), "status_details.reason") == "PENDING_REVIEW");
  CHECK(issue_of(expect_json(
            call(sb, "POST", "/v2/payments/captures/" + pending_id + "/refund", "{}", auth),
            422)) == "PENDING_CAPTURE");
  receiver.wait_event("PAYMENT.CAPTURE.PENDING", pending_id);
  auto completed = parse(receiver.wait_event("PAYMENT.CAPTURE.COMPLETED", pending_id).body);
  CHECK(str(completed, "resource.status") == "COMPLETED");
  CHECK(str(expect_json(call(sb, "GET", "/v2/payments/captures/" + pending_id, "", auth)),
            "status") == "COMPLETED");
}

TEST_CASE("paypal: faults set for one PSP leave the others working") {
  sandbox_process sb(paypal_args());
  auto auth = bearer(sb);
  expect_json(sb.post("/_sandbox/faults", R"({"psp":"stripe","error_percent":100})"));
  for (int i = 0; i < 3; ++i) {
    auto stripe = sb.post("/v1/payment_intents", "amount=100&currency=eur");
    REQUIRE(stripe.answered);
    CHECK((stripe.response.status == 500 || stripe.response.status == 503));
    expect_json(
        call(sb, "POST", "/v2/checkout/orders", order_body("CAPTURE", "1.00", "EUR", false), auth),
        201);
  }
  CHECK(num(expect_json(sb.get("/_sandbox/faults?psp=paypal")), "error_percent") == 0);
  CHECK(num(expect_json(sb.get("/_sandbox/faults?psp=stripe")), "error_percent") == 100);
  expect_json(sb.post("/_sandbox/faults", R"({"psp":"stripe","reset":true})"));
  expect_json(sb.post("/_sandbox/faults", R"({"psp":"paypal","error_percent":100})"));
  for (int i = 0; i < 3; ++i) {
    auto pp =
        call(sb, "POST", "/v2/checkout/orders", order_body("CAPTURE", "1.00", "EUR", false), auth);
    REQUIRE(pp.answered);
    CHECK((pp.response.status == 500 || pp.response.status == 503));
    auto e = parse(pp.response.body);
    CHECK((str(e, "name") == "INTERNAL_SERVER_ERROR" || str(e, "name") == "SERVICE_UNAVAILABLE"));
    expect_json(sb.post("/v1/payment_intents", "amount=100&currency=eur"), 200);
  }
  expect_json(sb.post("/_sandbox/faults", R"({"psp":"mollie","error_percent":1})"), 400);
  // Without "psp" every mode is set, as before.
  expect_json(sb.post("/_sandbox/faults", R"({"reset":true})"));
  expect_json(
      call(sb, "POST", "/v2/checkout/orders", order_body("CAPTURE", "1.00", "EUR", false), auth),
      201);
  CHECK(num(expect_json(sb.get("/_sandbox/state")), "paypal.orders") == 4);
}

TEST_CASE(
    "paypal: failed webhook deliveries are retried until a 2xx, an expired authorization "
    "is voided with a webhook") {
  paypal_receiver receiver(2);
  sandbox_process sb(paypal_args(receiver.url()));
  auto auth = bearer(sb);
  auto id = create_order(sb, auth, "AUTHORIZE", "5.00");
  approve(sb, id);
  receiver.wait_event("CHECKOUT.ORDER.APPROVED", id);
  CHECK(receiver.seen() >= 3);
  auto a =
      expect_json(call(sb, "POST", "/v2/checkout/orders/" + id + "/authorize", "{}", auth), 201);
  std::string a_id = a["purchase_units"][0]["payments"]["authorizations"][0]["id"].GetString();
  expect_json(call(sb, "POST", "/_sandbox/authorizations/" + a_id + "/expire", "", basic()));
  receiver.wait_event("PAYMENT.AUTHORIZATION.VOIDED", a_id);
  CHECK(issue_of(expect_json(
            call(sb, "POST", "/v2/payments/authorizations/" + a_id + "/capture", "{}", auth),
            422)) == "AUTHORIZATION_VOIDED");
  auto deliveries = expect_json(call(sb, "GET", "/_sandbox/deliveries", "", basic()));
  CHECK(deliveries["data"].Size() >= 3);
  expect_json(call(sb, "GET", "/_sandbox/events", "", auth));
  expect_json(call(sb, "GET", "/_sandbox/events", "", ""), 401);
}
