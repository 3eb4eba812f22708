#include "sandbox/adyen/service.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/limits.hpp"
#include "net/form.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"
#include "sandbox/adyen/pages.hpp"
#include "sandbox/log.hpp"
#include "sandbox/store.hpp"

namespace pay::sandbox::adyen {

// ---------------------------------------------------------------- the model

struct service::session {
  std::string id;
  std::string session_data;
  std::string merchant_account;
  std::string reference;
  std::string return_url;
  std::int64_t value = 0;
  std::string currency;
  bool manual_capture = false;
  std::int64_t capture_delay_hours = 0;  ///< > 0: captured automatically this much later
  std::int64_t expires_at = 0;
  std::string status = "active";  ///< active, completed, paymentPending, refused, canceled
  std::vector<std::string> payments;
  std::set<std::string> results;  ///< sessionResult values handed out
  std::string response_json;      ///< the 201 answer
};

struct service::payment {
  std::string psp;
  std::string session_id;
  std::string merchant_account;
  std::string reference;
  std::int64_t value = 0;
  std::string currency;
  bool manual_capture = false;
  std::int64_t capture_delay_hours = 0;
  std::string brand;
  std::string last4;
  std::string expiry;  ///< "03/2030"
  std::string holder;
  std::string result_code;
  std::string refusal_reason;
  std::string refusal_code;
  std::string auth_code;
  int trigger = 1;  ///< the acquirer response code applied after 3-D Secure
  bool authorised = false;
  bool capture_requested = false;
  std::int64_t capture_reserved = 0;
  std::int64_t captured = 0;
  std::int64_t refund_reserved = 0;
  std::int64_t refunded = 0;
  bool cancel_requested = false;
  bool canceled = false;
  bool fail_capture = false;  ///< holder name "capture failed"
  bool fail_refund = false;   ///< holder name "refund failed"
  std::int64_t created = 0;
};

struct service::modification {
  std::string psp;
  std::string payment_psp;
  std::string kind;  ///< capture, cancel, refund, reversal
  std::int64_t value = 0;
  std::string currency;
  std::string reference;
};

struct service::ledger_line {
  std::string type;  ///< Settled, Refunded
  std::string payment_psp;
  std::string modification_psp;
  std::string merchant_reference;
  std::string modification_reference;
  std::int64_t value = 0;
  std::string currency;
  std::string brand;
  std::int64_t created = 0;
  bool settled = false;
  bool failed = false;  ///< CAPTURE_FAILED / REFUND_FAILED came before settlement
};

struct service::result {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<net::header> headers;
};

namespace {

using result = service::result;

// ---------------------------------------------------------------- errors

/// Adyen's ServiceError. Every error carries a pspReference, as Adyen's do.
result service_error(int status, const std::string& code, const std::string& message,
                     const std::string& type = "validation") {
  net::json_writer w;
  w.begin_object();
  w.field("status", status);
  w.field("errorCode", code);
  w.field("message", message);
  w.field("errorType", type);
  w.field("pspReference", new_psp_reference());
  w.end_object();
  return result{status, w.take(), "application/json", {}};
}

result unauthorized() {
  // Adyen's exact answer for a missing or wrong X-API-Key.
  return result{401,
                "{\"status\":401,\"errorCode\":\"000\",\"message\":\"HTTP Status Response - "
                "Unauthorized\",\"errorType\":\"security\"}",
                "application/json",
                {}};
}

result invalid_merchant() {
  return service_error(403, "901", "Invalid Merchant Account", "security");
}

result not_found(const std::string& method, const std::string& path) {
  return service_error(404, "000", "No operation " + method + " " + path + " in Checkout API v71",
                       "validation");
}

result ok_json(int status, std::string body) {
  return result{status, std::move(body), "application/json", {}};
}

/// Refused when the sandbox holds --objects-max sessions, payments,
/// modifications, 3-D Secure tokens and reports in all: memory stays bounded.
result full(std::size_t max) {
  return service_error(422, "000",
                       "The psp-sandbox holds its maximum of " + std::to_string(max) +
                           " Adyen objects; restart it or raise --objects-max.",
                       "configuration");
}

// ---------------------------------------------------------------- validation

enum class field_kind {
  string_kind,
  integer_kind,
  boolean_kind,
  object_kind,
  array_kind,
  number_kind,
  any_kind
};

struct field_spec {
  const char* schema;
  const char* field;
  field_kind kind;
  bool required;
};

/// Every field of the request bodies the sandbox validates, generated from
/// the OpenAPI subset (sandbox/adyen/make_request_schema.py).
constexpr field_spec specs[] = {
#include "sandbox/adyen/request_schema.inc"
};

const char* kind_name(field_kind k) {
  switch (k) {
    case field_kind::string_kind:
      return "a string";
    case field_kind::integer_kind:
      return "an integer";
    case field_kind::boolean_kind:
      return "a boolean";
    case field_kind::object_kind:
      return "an object";
    case field_kind::array_kind:
      return "an array";
    case field_kind::number_kind:
      return "a number";
    case field_kind::any_kind:
      return "a value";
  }
  return "a value";
}

bool has_kind(const rapidjson::Value& v, field_kind k) {
  switch (k) {
    case field_kind::string_kind:
      return v.IsString();
    case field_kind::integer_kind:
      return v.IsInt64();
    case field_kind::boolean_kind:
      return v.IsBool();
    case field_kind::object_kind:
      return v.IsObject();
    case field_kind::array_kind:
      return v.IsArray();
    case field_kind::number_kind:
      return v.IsNumber();
    case field_kind::any_kind:
      return true;
  }
  return false;
}

/// The error code Adyen answers for a missing required field.
result missing_field(const std::string& path) {
  if (path == "amount")
    return service_error(422, "100", "Required field 'amount' is not provided.");
  if (path == "reference")
    return service_error(422, "130", "Required field 'reference' is not provided.");
  if (path == "returnUrl") return service_error(422, "14_030", "Return URL is missing.");
  if (path == "merchantAccount")
    return service_error(422, "901", "Required field 'merchantAccount' is not provided.");
  return service_error(422, "702", "Required field '" + path + "' is not provided.");
}

/// The largest amount the sandbox takes, in minor units: fees are computed
/// as amount * basis points in 64 bits, which this keeps far from overflow.
constexpr std::int64_t amount_minor_max = 1'000'000'000'000;

std::optional<result> check_amount(const rapidjson::Value& v, const std::string& path);

/// Checks `v` against `schema`: an object, no unknown field, every field of
/// its declared JSON type, every required field present; then the nested
/// objects the sandbox knows (amounts, card details, 3-D Secure details,
/// additionalData's string values).
std::optional<result> validate(const std::string& schema, const rapidjson::Value& v,
                               const std::string& path = {}) {
  auto at = [&](const std::string& name) { return path.empty() ? name : path + "." + name; };
  if (!v.IsObject())
    return service_error(400, "702",
                         "Unexpected input: " + (path.empty() ? std::string("the body") : path) +
                             " must be a JSON object.");
  for (auto& m : v.GetObject()) {
    std::string name = m.name.GetString();
    const field_spec* spec = nullptr;
    for (const auto& s : specs)
      if (schema == s.schema && name == s.field) spec = &s;
    if (spec == nullptr)
      return service_error(
          400, "702",
          "Structure of " + schema + " contains the following unknown fields: [" + at(name) + "]");
    if (!has_kind(m.value, spec->kind))
      return service_error(
          400, "702",
          "Unexpected input: field '" + at(name) + "' must be " + kind_name(spec->kind) + ".");
    if (name == "amount" && m.value.IsObject()) {
      if (auto e = check_amount(m.value, at(name))) return e;
    } else if (name == "additionalData" && m.value.IsObject()) {
      for (auto& a : m.value.GetObject())
        if (!a.value.IsString())
          return service_error(400, "702",
                               "Unexpected input: field '" + at(name) + "." + a.name.GetString() +
                                   "' must be a string.");
    } else if (name == "details" && schema == "PaymentDetailsRequest") {
      if (auto e = validate("PaymentCompletionDetails", m.value, at(name))) return e;
    } else if (name == "paymentMethod" && schema == "PaymentRequest") {
      if (!m.value.IsObject())
        return service_error(400, "702",
                             "Unexpected input: field 'paymentMethod' must be an object.");
      auto type = m.value.FindMember("type");
      if (type == m.value.MemberEnd() || !type->value.IsString())
        return service_error(422, "702", "Required field 'paymentMethod.type' is not provided.");
      if (std::string(type->value.GetString()) != "scheme")
        return service_error(422, "905",
                             "Payment details are not supported: the psp-sandbox takes cards "
                             "(paymentMethod.type \"scheme\") only.",
                             "configuration");
      if (auto e = validate("CardDetails", m.value, at(name))) return e;
    }
  }
  for (const auto& s : specs) {
    if (schema != s.schema || !s.required) continue;
    if (!v.HasMember(s.field)) return missing_field(at(s.field));
  }
  return std::nullopt;
}

std::optional<result> check_amount(const rapidjson::Value& v, const std::string& path) {
  if (auto e = validate("Amount", v, path)) return e;
  std::string currency = v["currency"].GetString();
  if (!currency_exponent(currency))
    return service_error(422, "138", "Unsupported currency specified: " + currency);
  if (v["value"].GetInt64() < 0)
    return service_error(422, "137", "Invalid amount specified: " + path + ".value is negative.");
  if (v["value"].GetInt64() > amount_minor_max)
    return service_error(422, "137",
                         "Invalid amount specified: " + path + ".value is above " +
                             std::to_string(amount_minor_max) + ".");
  return std::nullopt;
}

std::string get_string(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string{};
}

std::string additional(const rapidjson::Value& body, const char* name) {
  auto it = body.FindMember("additionalData");
  if (it == body.MemberEnd() || !it->value.IsObject()) return {};
  return get_string(it->value, name);
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

void write_amount(net::json_writer& w, std::int64_t value, const std::string& currency) {
  w.key("amount");
  w.begin_object();
  w.field("currency", currency);
  w.field("value", value);
  w.end_object();
}

/// Adyen's longest capture delay (28 days).
constexpr std::int64_t capture_delay_hours_max = 672;

/// captureDelayHours, when given (0 to 672 at Adyen).
std::optional<std::int64_t> delay_hours(const rapidjson::Value& body) {
  auto d = body.FindMember("captureDelayHours");
  if (d == body.MemberEnd() || !d->value.IsInt64()) return std::nullopt;
  auto hours = d->value.GetInt64();
  return hours >= 0 && hours <= capture_delay_hours_max ? hours : -1;
}

std::optional<result> bad_delay(std::int64_t) {
  return service_error(422, "702", "captureDelayHours must be between 0 and 672.");
}

// ---------------------------------------------------------------- test cards

struct test_card {
  std::string_view number;
  std::string_view brand;
  bool three_ds;
};

/// Adyen's documented test cards (expiry 03/2030, CVC 737, Amex 7373).
constexpr test_card test_cards[] = {
    {"4111111145551142", "visa", false}, {"5555341244441115", "mc", false},
    {"370000000000002", "amex", false},  {"2222400070000005", "mc", false},
    {"5454545454545454", "mc", true},    {"371449635398431", "amex", true},
    {"4035501428146300", "visa", true},  {"4917610000000000", "visa", true},
};

struct acquirer_code {
  int code;
  std::string_view trigger;
  std::string_view result_code;
  std::string_view reason;
};

/// The test acquirer's answers, forced by a holder name or by
/// additionalData.RequestedTestAcquirerResponseCode.
constexpr acquirer_code acquirer_codes[] = {
    {0, "UNKNOWN", "Error", "Unknown"},
    {1, "APPROVED", "Authorised", ""},
    {2, "DECLINED", "Refused", "Refused"},
    {3, "REFERRAL", "Refused", "Referral"},
    {4, "ERROR", "Error", "Acquirer Error"},
    {5, "BLOCK_CARD", "Refused", "Blocked Card"},
    {6, "CARD_EXPIRED", "Refused", "Expired Card"},
    {7, "INVALID_AMOUNT", "Refused", "Invalid Amount"},
    {8, "INVALID_CARD_NUMBER", "Refused", "Invalid Card Number"},
    {9, "ISSUER_UNAVAILABLE", "Refused", "Issuer Unavailable"},
    {10, "NOT_SUPPORTED", "Refused", "Not supported"},
    {11, "NOT_3D_AUTHENTICATED", "Refused", "3D Not Authenticated"},
    {12, "NOT_ENOUGH_BALANCE", "Refused", "Not enough balance"},
    {13, "PENDING", "Received", ""},
    {14, "ACQUIRER_FRAUD", "Refused", "Acquirer Fraud"},
    {15, "CANCELLED", "Cancelled", "Cancelled"},
    {16, "SHOPPER_CANCELLED", "Cancelled", "Shopper Cancelled"},
};

const acquirer_code& code_of(int code) {
  for (const auto& c : acquirer_codes)
    if (c.code == code) return c;
  return acquirer_codes[2];
}

bool luhn_ok(const std::string& digits) {
  if (digits.size() < 12 || digits.size() > 19) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

/// A card field: the unencrypted `test_` value of an encrypted field, or
/// the raw field. `bad` is set when an encrypted value is not a test_ one.
std::string card_field(const rapidjson::Value& method, const char* encrypted, const char* raw,
                       bool& bad) {
  auto e = get_string(method, encrypted);
  if (!e.empty()) {
    if (!e.starts_with("test_")) {
      bad = true;
      return {};
    }
    return e.substr(5);
  }
  return get_string(method, raw);
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    auto next = path.find('/', pos);
    auto part = path.substr(pos, next == std::string_view::npos ? path.size() - pos : next - pos);
    out.push_back(net::percent_decode(part).value_or(std::string(part)));
    pos = next == std::string_view::npos ? path.size() : next;
  }
  return out;
}

std::string csv(const std::string& field) {
  if (field.find_first_of(",\"\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

/// Idempotency keys kept at most (the oldest finished ones go first).
constexpr std::size_t idempotency_keys_max = 100'000;
/// Adyen's limit on an Idempotency-Key.
constexpr std::size_t idempotency_key_length_max = 64;
/// Recorded requests kept for GET /adyen/_sandbox/requests.
constexpr std::size_t recorded_max = 2'000;
/// Adyen's limit on a merchant reference.
constexpr std::size_t reference_length_max = 80;
/// A session lives one hour, as at Adyen.
constexpr std::int64_t session_lifetime_s = 3'600;
/// Settlement reports kept for download.
constexpr std::size_t reports_kept_max = 1'000;
/// The longest session a merchant may ask for with expiresAt.
constexpr std::int64_t session_lifetime_max_s = 86'400;

}  // namespace

// ---------------------------------------------------------------- service

service::service(const sandbox_options& options, timer_queue& timers, fault_hooks faults)
    : options_(options),
      timers_(timers),
      faults_(std::move(faults)),
      notifier_(timers,
                webhook_policy{options.webhook_timeout_ms,
                               core::backoff_policy{
                                   options.webhook_backoff_base_ms, options.webhook_backoff_max_ms,
                                   options.webhook_attempts_max, core::limits::retry_deadline_ms},
                               1'000},
                options.seed.value_or(0),
                notifier_settings{options.adyen_hmac_key, options.adyen_batch_max,
                                  options.adyen_batch_window_ms},
                faults_.delivery) {
  notifier_.set_url(options_.adyen_webhook_url);
  last_base_url_ = "http://" + options_.listen + ":" + std::to_string(options_.port);
  schedule_settlement();
}

service::~service() {
  stop();
}

void service::stop() {
  {
    std::lock_guard guard{mutex_};
    if (stopped_) return;
    stopped_ = true;
  }
  notifier_.stop();
}

void service::schedule_settlement() {
  if (options_.settlement_interval_s <= 0) return;
  timers_.post_after(options_.settlement_interval_s * 1'000, [this] {
    std::string base;
    {
      std::lock_guard guard{mutex_};
      if (stopped_) return;
      base = last_base_url_;
    }
    settle(base);
    schedule_settlement();
  });
}

bool service::room() const {
  auto n = sessions_.size() + payments_.size() + modifications_.size() + challenge_tokens_.size() +
           three_ds_results_.size() + reports_.size() + ledger_.size();
  return n < options_.objects_max;
}

std::string service::counts_json() {
  std::lock_guard guard{mutex_};
  net::json_writer w;
  w.begin_object();
  w.field("sessions", static_cast<std::uint64_t>(sessions_.size()));
  w.field("payments", static_cast<std::uint64_t>(payments_.size()));
  w.field("modifications", static_cast<std::uint64_t>(modifications_.size()));
  w.field("reports", static_cast<std::uint64_t>(reports_.size()));
  w.field("webhook_url", notifier_.url());
  w.end_object();
  return w.take();
}

void service::handle(const net::http_request& req, const send_fn& send) {
  auto to_http = [](result r) {
    net::http_response res;
    res.status = r.status;
    res.content_type = r.content_type;
    res.body = std::move(r.body);
    res.headers = std::move(r.headers);
    return res;
  };
  {
    std::lock_guard guard{mutex_};
    auto host = req.header_value("Host");
    if (host && !host->empty() && host->size() < 256)
      last_base_url_ = "http://" + std::string(*host);
  }
  const auto& path = req.path;
  if (req.method == "GET" && path.starts_with("/adyen/sdk/")) {
    net::http_response res;
    if (path == "/adyen/sdk/adyen.js" || path == "/adyen/sdk/card.js") {
      res.content_type = "application/javascript; charset=utf-8";
      res.body = std::string(path == "/adyen/sdk/adyen.js" ? sdk_js() : card_js());
      // Loaded by a page of another origin (the merchant's checkout).
      res.headers = {{"Access-Control-Allow-Origin", "*"},
                     {"Cross-Origin-Resource-Policy", "cross-origin"}};
    } else if (path == "/adyen/sdk/card.html") {
      res.content_type = "text/html; charset=utf-8";
      res.body = std::string(card_html());
      // Framed by any merchant's page; runs only the sandbox's own script
      // and talks only to the sandbox.
      res.headers = {{"Content-Security-Policy",
                      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                      "connect-src 'self'; form-action 'none'; base-uri 'none'; "
                      "frame-ancestors *"},
                     {"Referrer-Policy", "no-referrer"},
                     {"Cross-Origin-Resource-Policy", "cross-origin"}};
    } else {
      return send(to_http(service_error(404, "000", "No such file: " + path)), 0);
    }
    res.headers.emplace_back("Cache-Control", "no-store");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return send(std::move(res), 0);
  }
  if (path.starts_with("/adyen/checkoutshopper/") || path == "/adyen/threeds2/challenge") {
    if (req.method == "OPTIONS") {
      net::http_response res;
      res.status = 204;
      res.content_type.clear();
      res.headers = {{"Access-Control-Allow-Origin", "*"},
                     {"Access-Control-Allow-Methods", "POST, OPTIONS"},
                     {"Access-Control-Allow-Headers", "Content-Type"},
                     {"Access-Control-Max-Age", "300"}};
      return send(std::move(res), 0);
    }
    return client(req, send);
  }
  if (path.starts_with("/adyen/checkout/v71/")) return api(req, send);

  // Reports and test controls: the API key (X-API-Key, or Basic auth whose
  // password is the API key, standing in for Adyen's report user).
  std::string key(req.header_value("X-API-Key").value_or(""));
  if (key.empty()) {
    if (auto auth = req.header_value("Authorization"); auth && auth->starts_with("Basic ")) {
      auto decoded = base64_decode(auth->substr(6)).value_or("");
      if (auto colon = decoded.find(':'); colon != std::string::npos)
        key = decoded.substr(colon + 1);
    }
  }
  if (key.empty() || !core::constant_time_equal(key, options_.adyen_api_key))
    return send(to_http(unauthorized()), 0);
  auto parts = split_path(path);  // "adyen", ...
  if (parts.size() == 3 && parts[1] == "reports" && req.method == "GET") {
    std::lock_guard guard{mutex_};
    auto it = reports_.find(parts[2]);
    if (it == reports_.end())
      return send(to_http(service_error(404, "000", "No such report: " + parts[2])), 0);
    net::http_response res;
    res.content_type = "text/csv; charset=utf-8";
    res.body = it->second;
    res.headers = {{"Content-Disposition", "attachment; filename=\"" + it->first + "\""}};
    return send(std::move(res), 0);
  }
  if (parts.size() >= 3 && parts[1] == "_sandbox") return send(to_http(control(req, parts)), 0);
  send(to_http(not_found(req.method, path)), 0);
}

void service::record(const net::http_request& req) {
  net::json_writer w;
  w.begin_object();
  w.field("method", req.method);
  w.field("path", req.path);
  w.field("query", req.query);
  w.key("headers");
  w.begin_object();
  for (const auto& [name, value] : req.headers) {
    // The API key never leaves the process.
    if (net::iequals(name, "X-API-Key") || net::iequals(name, "Authorization")) continue;
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    w.field(lower, value);
  }
  w.end_object();
  w.field("body", req.body);
  w.end_object();
  auto line = w.take();
  std::lock_guard guard{record_mutex_};
  recorded_.push_back(line);
  while (recorded_.size() > recorded_max) recorded_.pop_front();
  if (!options_.record_requests.empty()) {
    std::ofstream out(options_.record_requests, std::ios::app);
    out << line << '\n';
    if (!out) log_line("warn", "cannot record a request", {{"path", options_.record_requests}});
  }
}

void service::api(const net::http_request& req, const send_fn& send) {
  record(req);
  auto finish = [send](result r, const std::string& idem_key, std::int64_t delay_ms) {
    net::http_response res;
    res.status = r.status;
    res.content_type = r.content_type;
    res.body = std::move(r.body);
    res.headers = std::move(r.headers);
    if (!idem_key.empty()) res.headers.emplace_back("Idempotency-Key", idem_key);
    send(std::move(res), delay_ms);
  };
  auto key = req.header_value("X-API-Key");
  if (!key || key->empty() || !core::constant_time_equal(*key, options_.adyen_api_key))
    return finish(unauthorized(), {}, 0);
  auto parts = split_path(req.path);  // adyen, checkout, v71, ...
  parts.erase(parts.begin(), parts.begin() + 3);

  auto fault = faults_.api ? faults_.api() : api_fault{};
  if (fault.error)
    return finish(
        service_error(fault.status_503 ? 503 : 500, "000",
                      "Internal error (injected by the psp-sandbox error fault).", "internal"),
        {}, 0);

  rapidjson::Document doc;
  const rapidjson::Value* body = nullptr;
  if (req.method == "POST") {
    if (auto e = net::parse_json_object(req.body, doc); e != net::json_error::none)
      return finish(service_error(400, "702",
                                  "Unexpected input: the body is not a JSON object (" +
                                      std::string(net::describe(e)) + ")."),
                    {}, 0);
    body = &doc;
  }

  // Idempotency. A replay answers the stored response; a duplicate while
  // the first is still running, or the same key with a different request
  // (method, path or body), answers 422 "request already processed or in
  // progress": Adyen documents no separate answer for a changed body, and
  // running it would break the promise the key makes (one operation per
  // key), so the sandbox refuses it the same way. Keys are scoped to the
  // API key (Adyen scopes them to the company account).
  std::string idem_key;
  std::string fingerprint;
  if (auto given = req.header_value("Idempotency-Key"); given && req.method == "POST") {
    if (given->empty() || given->size() > idempotency_key_length_max)
      return finish(service_error(400, "702", "Idempotency-Key must be 1 to 64 characters long."),
                    {}, 0);
    idem_key = std::string(*given);
    fingerprint = core::sha256_hex(req.method + " " + req.path + "\n" + net::canonical_json(doc));
    std::lock_guard guard{mutex_};
    auto it = idempotency_.find(idem_key);
    if (it != idempotency_.end()) {
      if (it->second.in_flight || it->second.fingerprint != fingerprint)
        return finish(service_error(422, "704", "request already processed or in progress"),
                      idem_key, 0);
      return finish(result{it->second.status, it->second.body, "application/json", {}}, idem_key,
                    0);
    }
    idempotency_.emplace(idem_key, idempotency_entry{fingerprint, true, 0, {}});
    idempotency_order_.push_back(idem_key);
    while (idempotency_order_.size() > idempotency_keys_max) {
      auto oldest = idempotency_.find(idempotency_order_.front());
      if (oldest != idempotency_.end() && oldest->second.in_flight) break;
      if (oldest != idempotency_.end()) idempotency_.erase(oldest);
      idempotency_order_.pop_front();
    }
  }

  auto work = [this, finish, parts, method = req.method, req_copy = req, idem_key,
               doc = std::make_shared<rapidjson::Document>(std::move(doc)),
               has_body = body != nullptr, hold_ms = fault.hold_ms]() {
    result r;
    {
      std::lock_guard guard{mutex_};
      r = dispatch(method, parts, req_copy, has_body ? doc.get() : nullptr);
      if (!idem_key.empty()) {
        auto it = idempotency_.find(idem_key);
        if (it != idempotency_.end()) {
          if (r.status >= 500) {
            idempotency_.erase(it);  // a server error is not a result
          } else {
            it->second.in_flight = false;
            it->second.status = r.status;
            it->second.body = r.body;
          }
        }
      }
    }
    finish(std::move(r), idem_key, hold_ms);
  };
  if (fault.latency_ms > 0)
    timers_.post_after(fault.latency_ms, std::move(work), true);
  else
    work();
}

service::result service::dispatch(const std::string& method, const std::vector<std::string>& parts,
                                  const net::http_request& req, const rapidjson::Value* body) {
  auto n = parts.size();
  if (method == "POST" && body != nullptr) {
    if (n == 1 && parts[0] == "sessions") return create_session(*body);
    if (n == 1 && parts[0] == "payments") return payments(*body);
    if (n == 1 && parts[0] == "paymentMethods") return payment_methods(*body);
    if (n == 2 && parts[0] == "payments" && parts[1] == "details") {
      if (auto e = validate("PaymentDetailsRequest", *body)) return *e;
      return payment_details((*body)["details"], nullptr);
    }
    if (n == 3 && parts[0] == "payments") {
      if (parts[2] == "captures") return modify("capture", parts[1], *body);
      if (parts[2] == "cancels") return modify("cancel", parts[1], *body);
      if (parts[2] == "refunds") return modify("refund", parts[1], *body);
      if (parts[2] == "reversals") return modify("reversal", parts[1], *body);
    }
  }
  if (method == "GET" && n == 2 && parts[0] == "sessions") return session_result(parts[1], req);
  return not_found(method, req.path);
}

// ---------------------------------------------------------------- sessions

service::result service::create_session(const rapidjson::Value& body) {
  if (auto e = validate("CreateCheckoutSessionRequest", body)) return *e;
  if (!room()) return full(options_.objects_max);
  if (get_string(body, "merchantAccount") != options_.adyen_merchant_account)
    return invalid_merchant();
  auto reference = get_string(body, "reference");
  if (reference.size() > reference_length_max)
    return service_error(422, "14_012", "The provided reference is too long (max 80).");
  auto s = std::make_unique<session>();
  s->id = "CS" + new_psp_reference();
  s->session_data = "Ab02b4c0!" + base64(core::random_token(48));
  s->merchant_account = options_.adyen_merchant_account;
  s->reference = reference;
  s->return_url = get_string(body, "returnUrl");
  s->value = body["amount"]["value"].GetInt64();
  s->currency = body["amount"]["currency"].GetString();
  s->manual_capture = additional(body, "manualCapture") == "true";
  if (auto d = delay_hours(body)) {
    if (*d < 0) return *bad_delay(*d);
    s->capture_delay_hours = *d;
  }
  s->expires_at = now_s() + session_lifetime_s;
  if (auto e = body.FindMember("expiresAt"); e != body.MemberEnd()) {
    // The merchant may shorten or lengthen the session, up to 24 hours.
    auto at = parse_iso_time(e->value.GetString());
    if (!at || *at <= now_s() || *at > now_s() + session_lifetime_max_s)
      return service_error(422, "702",
                           "expiresAt must be an ISO 8601 date-time within the next 24 hours.");
    s->expires_at = *at;
  }

  // The answer echoes the request, as Adyen's does, plus the session.
  rapidjson::Document out;
  out.CopyFrom(body, out.GetAllocator());
  auto& a = out.GetAllocator();
  auto set = [&](const char* name, const std::string& value) {
    rapidjson::Value v(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), a);
    if (out.HasMember(name))
      out[name] = v;
    else
      out.AddMember(rapidjson::Value(name, a), v, a);
  };
  set("id", s->id);
  set("sessionData", s->session_data);
  set("expiresAt", iso_time(s->expires_at));
  set("mode", "embedded");
  s->response_json = to_json(out);
  auto answer = s->response_json;
  sessions_.emplace(s->id, std::move(s));
  return ok_json(201, answer);
}

service::result service::session_result(const std::string& id, const net::http_request& req) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return service_error(422, "14_0", "Session " + id + " not found.");
  auto& s = *it->second;
  auto given = req.query_param("sessionResult");
  if (!given || given->empty())
    return service_error(422, "702", "Required query parameter 'sessionResult' is not provided.");
  if (!s.results.contains(*given))
    return service_error(422, "14_0", "The sessionResult does not belong to this session.");
  std::string status = s.status;
  if (status == "active" && now_s() > s.expires_at) status = "expired";
  net::json_writer w;
  w.begin_object();
  w.field("id", s.id);
  w.field("reference", s.reference);
  w.field("status", status);
  w.key("payments");
  w.begin_array();
  for (const auto& psp : s.payments) {
    const auto& p = *payments_.at(psp);
    if (p.result_code != "Authorised" && p.result_code != "Received") continue;
    w.begin_object();
    write_amount(w, p.value, p.currency);
    w.key("paymentMethod");
    w.begin_object();
    w.field("brand", p.brand);
    w.field("type", "scheme");
    w.end_object();
    w.field("pspReference", p.psp);
    w.field("resultCode", p.result_code);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return ok_json(200, w.take());
}

// ---------------------------------------------------------------- payments

service::result service::payment_methods(const rapidjson::Value& body) {
  if (auto e = validate("PaymentMethodsRequest", body)) return *e;
  if (get_string(body, "merchantAccount") != options_.adyen_merchant_account)
    return invalid_merchant();
  return ok_json(200,
                 "{\"paymentMethods\":[{\"brands\":[\"visa\",\"mc\",\"amex\"],\"name\":"
                 "\"Cards\",\"type\":\"scheme\"}]}");
}

service::result service::payments(const rapidjson::Value& body) {
  if (auto e = validate("PaymentRequest", body)) return *e;
  if (!room()) return full(options_.objects_max);
  if (get_string(body, "merchantAccount") != options_.adyen_merchant_account)
    return invalid_merchant();
  auto reference = get_string(body, "reference");
  if (reference.size() > reference_length_max)
    return service_error(422, "14_012", "The provided reference is too long (max 80).");
  auto p = std::make_unique<payment>();
  p->psp = new_psp_reference();
  p->merchant_account = options_.adyen_merchant_account;
  p->reference = reference;
  p->value = body["amount"]["value"].GetInt64();
  p->currency = body["amount"]["currency"].GetString();
  p->manual_capture = additional(body, "manualCapture") == "true";
  if (auto d = delay_hours(body)) {
    if (*d < 0) return *bad_delay(*d);
    p->capture_delay_hours = *d;
  }
  p->created = now_s();
  auto& ref = *p;
  auto r = authorise(ref, body["paymentMethod"], &body);
  if (r.status == 200) payments_.emplace(ref.psp, std::move(p));
  return r;
}

/// Reads the card, decides the acquirer's answer (or asks for a 3-D Secure
/// challenge) and answers as /payments does.
service::result service::authorise(payment& p, const rapidjson::Value& method,
                                   const rapidjson::Value* extra) {
  bool bad = false;
  auto number = card_field(method, "encryptedCardNumber", "number", bad);
  auto month = card_field(method, "encryptedExpiryMonth", "expiryMonth", bad);
  auto year = card_field(method, "encryptedExpiryYear", "expiryYear", bad);
  auto cvc = card_field(method, "encryptedSecurityCode", "cvc", bad);
  if (bad)
    return service_error(422, "174",
                         "Unable to decrypt data: the psp-sandbox takes the unencrypted test "
                         "values with a test_ prefix (\"test_4111111145551142\").");
  std::erase_if(number, [](char c) { return c == ' '; });
  if (number.empty()) return service_error(422, "101", "Invalid card number");
  p.holder = get_string(method, "holderName");
  p.last4 = number.size() >= 4 ? number.substr(number.size() - 4) : number;
  if (month.size() == 1) month = "0" + month;
  p.expiry = month + "/" + year;
  p.fail_capture = p.holder == "capture failed";
  p.fail_refund = p.holder == "refund failed";

  const test_card* card = nullptr;
  for (const auto& c : test_cards)
    if (c.number == number) card = &c;
  p.brand = card != nullptr           ? std::string(card->brand)
            : number.starts_with("4") ? "visa"
            : number.starts_with("3") ? "amex"
                                      : "mc";
  int code = 1;
  for (const auto& c : acquirer_codes)
    if (p.holder == c.trigger) code = c.code;
  if (extra != nullptr) {
    auto forced = additional(*extra, "RequestedTestAcquirerResponseCode");
    if (!forced.empty()) {
      try {
        code = std::stoi(forced);
      } catch (...) {
        return service_error(422, "702",
                             "additionalData.RequestedTestAcquirerResponseCode must be a number.");
      }
    }
  }
  if (card == nullptr) {
    code = luhn_ok(number) ? 2 : 8;
  } else {
    std::string want_cvc = card->brand == "amex" ? "7373" : "737";
    if (month != "03" || year != "2030" || cvc != want_cvc) code = 2;  // generic Refused
  }
  if (card != nullptr && card->three_ds && code != 2) {
    p.trigger = code;
    p.result_code = "ChallengeShopper";
    auto token = "3ds2." + core::random_token(32);
    challenge_tokens_[token] = p.psp;
    net::json_writer w;
    w.begin_object();
    w.key("action");
    w.begin_object();
    w.field("paymentMethodType", "scheme");
    w.field("subtype", "challenge");
    w.field("token", token);
    w.field("paymentData", "Ab02b4c0!" + base64(p.psp));
    w.field("type", "threeDS2");
    w.end_object();
    w.field("pspReference", p.psp);
    w.field("resultCode", "ChallengeShopper");
    w.end_object();
    return ok_json(200, w.take());
  }
  return finish_authorisation(p, code);
}

service::result service::finish_authorisation(payment& p, int code) {
  const auto& c = code_of(code);
  p.result_code = std::string(c.result_code);
  p.refusal_reason = std::string(c.reason);
  p.refusal_code = p.result_code == "Authorised" ? "" : std::to_string(c.code);
  if (p.result_code == "Authorised") {
    p.authorised = true;
    p.auth_code = std::to_string(100000 + (std::hash<std::string>{}(p.psp) % 900000));
    if (!p.manual_capture && p.capture_delay_hours > 0) {
      // Delayed automatic capture: capturable by a call until then; then
      // captured in full, with a CAPTURE notification.
      auto psp = p.psp;
      timers_.post_after(p.capture_delay_hours * 3'600'000, [this, psp] {
        std::lock_guard guard{mutex_};
        auto it = payments_.find(psp);
        if (it == payments_.end()) return;
        auto& q = *it->second;
        if (q.capture_requested || q.canceled || q.cancel_requested) return;
        auto m = std::make_unique<modification>();
        m->psp = new_psp_reference();
        m->payment_psp = psp;
        m->kind = "capture";
        m->value = q.value;
        m->currency = q.currency;
        q.capture_requested = true;
        q.capture_reserved = q.value;
        auto mod_psp = m->psp;
        modifications_.emplace(mod_psp, std::move(m));
        complete_modification(mod_psp);
      });
    } else if (!p.manual_capture) {
      // Immediate automatic capture: no CAPTURE notification is sent.
      p.capture_requested = true;
      p.capture_reserved = p.captured = p.value;
      ledger_.push_back(ledger_line{"Settled", p.psp, new_psp_reference(), p.reference, "", p.value,
                                    p.currency, p.brand, now_s(), false, false});
    }
    notify_authorisation(p);
    if (!p.manual_capture && p.fail_capture) {
      auto psp = p.psp;
      timers_.post_after(options_.adyen_modification_delay_ms, [this, psp] {
        std::lock_guard guard{mutex_};
        auto& q = *payments_.at(psp);
        q.captured = 0;
        for (auto& l : ledger_)
          if (l.payment_psp == psp && l.type == "Settled" && !l.settled) l.failed = true;
        notification_item item;
        item.fields = {new_psp_reference(), psp,     q.merchant_account,
                       q.reference,         q.value, q.currency,
                       "CAPTURE_FAILED",    "true"};
        item.event_unix_s = now_s();
        item.payment_method = q.brand;
        item.reason = "Capture failed (test holder name \"capture failed\")";
        notifier_.notify(std::move(item));
      });
    }
  } else if (p.result_code == "Received") {
    // PENDING: the outcome follows as an AUTHORISATION notification.
    auto psp = p.psp;
    timers_.post_after(options_.adyen_modification_delay_ms, [this, psp] {
      std::lock_guard guard{mutex_};
      auto it = payments_.find(psp);
      if (it == payments_.end()) return;
      finish_authorisation(*it->second, 1);
      if (auto s = sessions_.find(it->second->session_id); s != sessions_.end())
        s->second->status = "completed";
    });
  } else {
    notify_authorisation(p);
  }
  return ok_json(200, payment_response(p));
}

std::string service::payment_response(const payment& p) {
  net::json_writer w;
  w.begin_object();
  w.key("additionalData");
  w.begin_object();
  if (!p.auth_code.empty()) w.field("authCode", p.auth_code);
  w.field("cardSummary", p.last4);
  w.field("expiryDate", p.expiry);
  w.end_object();
  write_amount(w, p.value, p.currency);
  w.field("merchantReference", p.reference);
  w.key("paymentMethod");
  w.begin_object();
  w.field("brand", p.brand);
  w.field("type", "scheme");
  w.end_object();
  w.field("pspReference", p.psp);
  if (!p.refusal_code.empty() && p.result_code != "Received") {
    w.field("refusalReason", p.refusal_reason);
    w.field("refusalReasonCode", p.refusal_code);
  }
  w.field("resultCode", p.result_code);
  w.end_object();
  return w.take();
}

std::size_t service::expire_lapsed() {
  std::lock_guard guard{mutex_};
  std::size_t n = 0;
  const auto now = now_s();
  for (auto& [psp, pp] : payments_) {
    auto& p = *pp;
    if (!p.authorised || !p.manual_capture || p.capture_requested || p.cancel_requested ||
        p.canceled || p.captured > 0 || now < p.created + authorisation_validity_s)
      continue;
    p.canceled = true;
    notification_item item;
    item.fields = {p.psp,   "",         p.merchant_account, p.reference,
                   p.value, p.currency, "EXPIRE",           "true"};
    item.event_unix_s = now;
    item.payment_method = p.brand;
    notifier_.notify(std::move(item));
    ++n;
  }
  return n;
}

void service::notify_authorisation(const payment& p) {
  notification_item item;
  bool ok = p.result_code == "Authorised";
  item.fields = {p.psp,   "",         p.merchant_account, p.reference,
                 p.value, p.currency, "AUTHORISATION",    ok ? "true" : "false"};
  item.event_unix_s = now_s();
  item.payment_method = p.brand;
  item.reason = ok ? p.auth_code + ":" + p.last4 + ":" + p.expiry : p.refusal_reason;
  if (ok) item.operations = {"CANCEL", "CAPTURE", "REFUND"};
  notifier_.notify(std::move(item));
}

service::result service::payment_details(const rapidjson::Value& details, session* s) {
  auto three_ds = get_string(details, "threeDSResult");
  if (three_ds.empty())
    return service_error(
        422, "702",
        "details.threeDSResult is required: the psp-sandbox completes 3-D Secure 2 "
        "challenges only.");
  auto it = three_ds_results_.find(three_ds);
  if (it == three_ds_results_.end()) return service_error(422, "14_0", "Invalid threeDSResult.");
  auto [psp, authenticated] = it->second;
  auto pit = payments_.find(psp);
  if (pit == payments_.end()) return service_error(422, "14_0", "Invalid threeDSResult.");
  auto& p = *pit->second;
  if (s != nullptr && p.session_id != s->id)
    return service_error(422, "14_0", "The threeDSResult does not belong to this session.");
  if (p.result_code != "ChallengeShopper")
    return service_error(422, "704", "request already processed or in progress");
  auto r = finish_authorisation(p, authenticated ? p.trigger : 11);
  if (!p.session_id.empty())
    if (auto sit = sessions_.find(p.session_id); sit != sessions_.end())
      after_session_attempt(*sit->second, p);
  return r;
}

// ---------------------------------------------------------------- modifications

service::result service::modify(const std::string& kind, const std::string& psp,
                                const rapidjson::Value& body) {
  static const std::map<std::string, std::string> schema_of = {
      {"capture", "PaymentCaptureRequest"},
      {"cancel", "PaymentCancelRequest"},
      {"refund", "PaymentRefundRequest"},
      {"reversal", "PaymentReversalRequest"}};
  if (auto e = validate(schema_of.at(kind), body)) return *e;
  if (!room()) return full(options_.objects_max);
  if (get_string(body, "merchantAccount") != options_.adyen_merchant_account)
    return invalid_merchant();
  auto it = payments_.find(psp);
  if (it == payments_.end())
    return service_error(422, "167", "Original pspReference is invalid for this environment!");
  auto& p = *it->second;
  auto m = std::make_unique<modification>();
  m->psp = new_psp_reference();
  m->payment_psp = psp;
  m->kind = kind;
  m->reference = get_string(body, "reference");
  m->currency = p.currency;
  m->value = p.value;
  if (kind == "capture" || kind == "refund") {
    m->value = body["amount"]["value"].GetInt64();
    m->currency = body["amount"]["currency"].GetString();
    if (m->currency != p.currency)
      return service_error(422, "137",
                           "Invalid amount specified: the " + kind + " is in " + m->currency +
                               ", the payment in " + p.currency + ".");
    if (m->value <= 0)
      return service_error(422, "137", "Invalid amount specified: it must be above 0.");
  }
  if (kind == "capture") {
    // One capture per payment (multiple partial captures are off, as on a
    // default account): a capture releases the rest.
    std::int64_t capturable = p.capture_requested ? 0 : p.value;
    if (m->value > capturable)
      return service_error(422, "137",
                           "Invalid amount specified: the capture of " + std::to_string(m->value) +
                               " exceeds the capturable amount " + std::to_string(capturable) +
                               ".");
    if (p.authorised && !p.canceled && !p.cancel_requested) {
      p.capture_requested = true;
      p.capture_reserved = m->value;
    }
  } else if (kind == "refund") {
    std::int64_t refundable = p.capture_reserved - p.refund_reserved;
    if (m->value > refundable)
      return service_error(422, "137",
                           "Invalid amount specified: the refund of " + std::to_string(m->value) +
                               " exceeds the refundable amount " + std::to_string(refundable) +
                               ".");
    p.refund_reserved += m->value;
  } else if (kind == "cancel") {
    if (!p.capture_requested) p.cancel_requested = true;
  }
  net::json_writer w;
  w.begin_object();
  if (kind == "capture" || kind == "refund") write_amount(w, m->value, m->currency);
  w.field("merchantAccount", p.merchant_account);
  w.field("paymentPspReference", psp);
  w.field("pspReference", m->psp);
  if (!m->reference.empty()) w.field("reference", m->reference);
  w.field("status", "received");
  w.end_object();
  auto mod_psp = m->psp;
  modifications_.emplace(mod_psp, std::move(m));
  timers_.post_after(options_.adyen_modification_delay_ms, [this, mod_psp] {
    std::lock_guard guard{mutex_};
    complete_modification(mod_psp);
  });
  return ok_json(201, w.take());
}

void service::complete_modification(const std::string& mod_psp) {
  auto& m = *modifications_.at(mod_psp);
  auto& p = *payments_.at(m.payment_psp);
  notification_item item;
  item.event_unix_s = now_s();
  item.payment_method = p.brand;
  // A modification's merchantReference is the reference sent with it (the
  // payment's when none was sent).
  auto reference = m.reference.empty() ? p.reference : m.reference;
  auto notify = [&](const std::string& code, bool ok, const std::string& reason,
                    std::int64_t value) {
    item.fields = {m.psp,      m.payment_psp, p.merchant_account,   reference, value,
                   m.currency, code,          ok ? "true" : "false"};
    item.reason = reason;
    notifier_.notify(item);
  };
  auto later_failure = [&](const std::string& code, const std::string& type) {
    auto psp = m.psp;
    timers_.post_after(options_.adyen_modification_delay_ms, [this, psp, code, type] {
      std::lock_guard guard{mutex_};
      auto& mm = *modifications_.at(psp);
      auto& pp = *payments_.at(mm.payment_psp);
      if (code == "CAPTURE_FAILED") {
        pp.captured -= mm.value;
      } else {
        pp.refunded -= mm.value;
        pp.refund_reserved -= mm.value;
      }
      for (auto& l : ledger_)
        if (l.modification_psp == psp && l.type == type && !l.settled) l.failed = true;
      notification_item failed;
      failed.fields = {psp,
                       mm.payment_psp,
                       pp.merchant_account,
                       mm.reference.empty() ? pp.reference : mm.reference,
                       mm.value,
                       mm.currency,
                       code,
                       "true"};
      failed.event_unix_s = now_s();
      failed.payment_method = pp.brand;
      failed.reason = code == "CAPTURE_FAILED" ? "Capture failed (test holder name)"
                                               : "Refund failed (test holder name)";
      notifier_.notify(std::move(failed));
    });
  };
  auto book = [&](const std::string& type, std::int64_t value) {
    ledger_.push_back(ledger_line{type, p.psp, m.psp, p.reference, m.reference, value, m.currency,
                                  p.brand, now_s(), false, false});
  };
  if (m.kind == "capture") {
    bool ok = p.authorised && !p.canceled && p.capture_reserved == m.value && p.captured == 0;
    if (ok) {
      p.captured = m.value;
      book("Settled", m.value);
      notify("CAPTURE", true, "", m.value);
      if (p.fail_capture) later_failure("CAPTURE_FAILED", "Settled");
    } else {
      notify("CAPTURE", false,
             !p.authorised ? "Payment was not authorised"
             : p.canceled  ? "Payment was cancelled"
                           : "Insufficient balance on payment",
             m.value);
    }
  } else if (m.kind == "cancel") {
    bool ok = p.authorised && !p.capture_requested && !p.canceled;
    if (ok) p.canceled = true;
    notify("CANCELLATION", ok,
           ok              ? ""
           : !p.authorised ? "Payment was not authorised"
           : p.canceled    ? "Payment was already cancelled"
                           : "Transaction already captured",
           p.value);
  } else if (m.kind == "refund") {
    bool ok = p.authorised && p.captured - p.refunded >= m.value;
    if (ok) {
      p.refunded += m.value;
      book("Refunded", m.value);
      notify("REFUND", true, "", m.value);
      if (p.fail_refund) later_failure("REFUND_FAILED", "Refunded");
    } else {
      p.refund_reserved -= m.value;
      notify("REFUND", false, "Insufficient in-process balance to refund", m.value);
    }
  } else {  // reversal: cancel when not captured, refund what is left otherwise
    std::string action;
    if (p.authorised && !p.capture_requested && !p.canceled) {
      p.canceled = true;
      action = "cancel";
    } else if (p.authorised && p.captured - p.refunded > 0) {
      auto left = p.captured - p.refunded;
      p.refunded += left;
      p.refund_reserved = p.refunded;
      book("Refunded", left);
      action = "refund";
    }
    if (!action.empty()) item.additional_data.emplace_back("modification.action", action);
    notify("CANCEL_OR_REFUND", !action.empty(), action.empty() ? "Nothing to cancel or refund" : "",
           p.value);
  }
}

// ---------------------------------------------------------------- client side

void service::client(const net::http_request& req, const send_fn& send) {
  auto reply = [&send](result r) {
    net::http_response res;
    res.status = r.status;
    res.content_type = r.content_type;
    res.body = std::move(r.body);
    res.headers = std::move(r.headers);
    res.headers.emplace_back("Access-Control-Allow-Origin", "*");
    send(std::move(res), 0);
  };
  if (req.method != "POST") return reply(not_found(req.method, req.path));
  rapidjson::Document body;
  if (auto e = net::parse_json_object(req.body, body); e != net::json_error::none)
    return reply(service_error(400, "702", "Unexpected input: the body is not a JSON object."));
  std::lock_guard guard{mutex_};
  if (req.path == "/adyen/threeds2/challenge") {
    // The issuer's challenge page: "password" authenticates, anything else fails.
    auto token = get_string(body, "token");
    auto it = challenge_tokens_.find(token);
    if (it == challenge_tokens_.end())
      return reply(service_error(422, "14_0", "Unknown or used 3-D Secure challenge token."));
    auto psp = it->second;
    challenge_tokens_.erase(it);
    auto result_token = "3dsr." + core::random_token(40);
    three_ds_results_[result_token] = {psp, get_string(body, "password") == "password"};
    return reply(ok_json(200, "{\"threeDSResult\":" + net::json_quote(result_token) + "}"));
  }
  // /adyen/checkoutshopper/v1/sessions/{id}/{payments|paymentDetails|setup}
  auto parts = split_path(req.path);
  if (parts.size() != 6 || parts[2] != "v1" || parts[3] != "sessions")
    return reply(not_found(req.method, req.path));
  auto client_key = req.query_param("clientKey");
  if (!client_key || !core::constant_time_equal(*client_key, options_.adyen_client_key))
    return reply(unauthorized());
  auto it = sessions_.find(parts[4]);
  if (it == sessions_.end()) return reply(service_error(422, "14_0", "Session not found."));
  auto& s = *it->second;
  if (!core::constant_time_equal(get_string(body, "sessionData"), s.session_data))
    return reply(service_error(422, "14_0", "Invalid sessionData for this session."));
  if (now_s() > s.expires_at) return reply(service_error(422, "14_0", "The session has expired."));
  const auto& op = parts[5];
  if (op == "setup") {
    net::json_writer w;
    w.begin_object();
    write_amount(w, s.value, s.currency);
    w.field("expiresAt", iso_time(s.expires_at));
    w.field("id", s.id);
    w.field("reference", s.reference);
    w.field("returnUrl", s.return_url);
    w.field("sessionData", s.session_data);
    w.end_object();
    return reply(ok_json(200, w.take()));
  }
  if (op == "payments") return reply(client_payment(s, body));
  if (op == "paymentDetails") {
    auto d = body.FindMember("details");
    if (d == body.MemberEnd() || !d->value.IsObject())
      return reply(service_error(422, "702", "Required field 'details' is not provided."));
    auto r = payment_details(d->value, &s);
    if (r.status != 200) return reply(std::move(r));
    rapidjson::Document answer;
    answer.Parse(r.body.c_str());
    net::json_writer w;
    w.begin_object();
    w.field("resultCode", std::string(answer["resultCode"].GetString()));
    w.field("sessionData", s.session_data);
    w.field("sessionResult", *s.results.rbegin());
    w.end_object();
    return reply(ok_json(200, w.take()));
  }
  reply(not_found(req.method, req.path));
}

service::result service::client_payment(session& s, const rapidjson::Value& body) {
  for (auto& m : body.GetObject()) {
    std::string name = m.name.GetString();
    if (name != "sessionData" && name != "paymentMethod" && name != "browserInfo" &&
        name != "origin" && name != "riskData" && name != "clientStateDataIndicator")
      return service_error(400, "702", "Unknown field in the payment: " + name);
  }
  if (!room()) return full(options_.objects_max);
  if (s.status == "completed" || s.status == "paymentPending")
    return service_error(422, "14_0", "The session already has a payment (" + s.status + ").");
  auto pm = body.FindMember("paymentMethod");
  if (pm == body.MemberEnd()) return missing_field("paymentMethod");
  if (get_string(pm->value, "type") != "scheme")
    return service_error(422, "905", "Payment details are not supported (cards only).");
  if (auto e = validate("CardDetails", pm->value, "paymentMethod")) return *e;
  auto p = std::make_unique<payment>();
  p->psp = new_psp_reference();
  p->session_id = s.id;
  p->merchant_account = s.merchant_account;
  p->reference = s.reference;
  p->value = s.value;
  p->currency = s.currency;
  p->manual_capture = s.manual_capture;
  p->capture_delay_hours = s.capture_delay_hours;
  p->created = now_s();
  auto& ref = *p;
  auto r = authorise(ref, pm->value, nullptr);
  if (r.status != 200) return r;
  payments_.emplace(ref.psp, std::move(p));
  if (ref.result_code == "ChallengeShopper") {
    // The action goes to the component; the card data stays here.
    rapidjson::Document answer;
    answer.Parse(r.body.c_str());
    net::json_writer w;
    w.begin_object();
    w.key("action");
    w.raw(to_json(answer["action"]));
    w.field("resultCode", "ChallengeShopper");
    w.field("sessionData", s.session_data);
    w.end_object();
    return ok_json(200, w.take());
  }
  after_session_attempt(s, ref);
  net::json_writer w;
  w.begin_object();
  w.field("resultCode", ref.result_code);
  w.field("sessionData", s.session_data);
  w.field("sessionResult", *s.results.rbegin());
  w.end_object();
  return ok_json(200, w.take());
}

void service::after_session_attempt(session& s, const payment& p) {
  s.payments.push_back(p.psp);
  if (p.result_code == "Authorised")
    s.status = "completed";
  else if (p.result_code == "Received")
    s.status = "paymentPending";
  else if (p.result_code == "Cancelled")
    s.status = "canceled";
  else
    s.status = "refused";  // another attempt in the same session stays possible
  // A fresh opaque sessionResult per attempt; each one answers GET /sessions/{id}.
  auto token = "sr." + core::random_token(40);
  s.results.clear();
  s.results.insert(token);
}

// ---------------------------------------------------------------- settlement

std::string service::settle(const std::string& base_url) {
  std::lock_guard guard{mutex_};
  auto batch = ++batch_number_;
  auto file = "settlement_detail_report_batch_" + std::to_string(batch) + ".csv";
  std::string out =
      "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,"
      "Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),"
      "Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),"
      "Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),Payment Method Variant,"
      "Modification Merchant Reference,Batch Number\n";
  std::map<std::string, std::int64_t> net_by_currency;
  std::size_t lines = 0;
  fee_schedule fees{options_.fee_percent_bp, options_.fee_fixed_minor};
  auto now = now_s();
  for (auto& l : ledger_) {
    if (l.settled) continue;
    l.settled = true;
    if (l.failed) continue;
    int exp = currency_exponent(l.currency).value_or(2);
    auto money = [&](std::int64_t v) { return major_units(v, exp); };
    bool credit = l.type == "Settled";
    std::int64_t fee = credit ? charge_fee(fees, l.value) : 0;
    std::int64_t net = credit ? l.value - fee : l.value;
    net_by_currency[l.currency] += credit ? net : -net;
    out += csv(options_.adyen_company_account) + "," + csv(options_.adyen_merchant_account) + "," +
           l.payment_psp + "," + csv(l.merchant_reference) + "," + l.brand + "," +
           report_time(l.created) + ",UTC," + l.type + "," + l.modification_psp + "," + l.currency +
           "," + (credit ? "" : money(l.value)) + "," + (credit ? money(l.value) : "") + ",1," +
           l.currency + "," + (credit ? "" : money(net)) + "," + (credit ? money(net) : "") + "," +
           (credit ? money(fee) : "") + ",,,," + l.brand + "," + csv(l.modification_reference) +
           "," + std::to_string(batch) + "\n";
    ++lines;
  }
  std::erase_if(ledger_, [](const ledger_line& l) { return l.settled; });
  for (const auto& [currency, net] : net_by_currency) {
    if (net <= 0) continue;  // a negative balance is carried, not paid out
    int exp = currency_exponent(currency).value_or(2);
    out += csv(options_.adyen_company_account) + "," + csv(options_.adyen_merchant_account) +
           ",,,," + report_time(now) + ",UTC,MerchantPayout,,,,,," + currency + "," +
           major_units(net, exp) + ",,,,,,,," + std::to_string(batch) + "\n";
    ++lines;
  }
  reports_[file] = out;
  // Reports are kept for download; the oldest go first past the bound.
  if (batch > static_cast<std::int64_t>(reports_kept_max))
    reports_.erase("settlement_detail_report_batch_" +
                   std::to_string(batch - static_cast<std::int64_t>(reports_kept_max)) + ".csv");
  auto url = base_url + "/adyen/reports/" + file;
  notification_item item;
  item.fields = {file,  "", options_.adyen_merchant_account, "", 0, "EUR", "REPORT_AVAILABLE",
                 "true"};
  item.event_unix_s = now;
  item.reason = url;
  notifier_.notify(std::move(item));
  log_line("info", "adyen settlement report",
           {{"file", file}, {"lines", static_cast<unsigned long>(lines)}});
  net::json_writer w;
  w.begin_object();
  w.field("file", file);
  w.field("url", url);
  w.field("batchNumber", batch);
  w.field("lines", static_cast<std::uint64_t>(lines));
  w.end_object();
  return w.take();
}

// ---------------------------------------------------------------- controls

service::result service::control(const net::http_request& req,
                                 const std::vector<std::string>& parts) {
  const auto& what = parts[2];
  if (parts.size() != 3) return not_found(req.method, req.path);
  if (what == "settle" && req.method == "POST") {
    auto host = req.header_value("Host");
    std::string base = host && !host->empty() ? "http://" + std::string(*host) : std::string{};
    if (base.empty()) {
      std::lock_guard guard{mutex_};
      base = last_base_url_;
    }
    return ok_json(200, settle(base));
  }
  if (what == "chargeback" && req.method == "POST") {
    // Test control: the issuer disputes a payment. {"payment": pspReference,
    // "code": NOTIFICATION_OF_CHARGEBACK | CHARGEBACK | CHARGEBACK_REVERSED |
    // SECOND_CHARGEBACK}; answers the notification's pspReference.
    rapidjson::Document body;
    if (net::parse_json_object(req.body, body) != net::json_error::none ||
        !body.HasMember("payment") || !body["payment"].IsString() || !body.HasMember("code") ||
        !body["code"].IsString())
      return service_error(400, "702",
                           "The body must be {\"payment\": \"...\", \"code\": \"...\"}.");
    std::string psp = body["payment"].GetString();
    std::string code = body["code"].GetString();
    if (code != "NOTIFICATION_OF_CHARGEBACK" && code != "CHARGEBACK" &&
        code != "CHARGEBACK_REVERSED" && code != "SECOND_CHARGEBACK")
      return service_error(422, "702", "code must be a chargeback notification's event code.");
    notification_item item;
    {
      std::lock_guard guard{mutex_};
      auto it = payments_.find(psp);
      if (it == payments_.end()) return service_error(422, "167", "Original pspReference required");
      const auto& p = *it->second;
      if (p.captured == 0) return service_error(422, "702", "Only a captured payment is disputed.");
      item.fields = {new_psp_reference(),
                     p.psp,
                     p.merchant_account,
                     p.reference,
                     p.captured,
                     p.currency,
                     code,
                     "true"};
    }
    item.event_unix_s = now_s();
    item.reason = "Fraud";
    item.additional_data = {{"chargebackReasonCode", "10.4"},
                            {"defensePeriodEndsAt", iso_time(now_s() + 7 * 86'400)}};
    auto answer = "{\"pspReference\":" + net::json_quote(item.fields.psp_reference) + "}";
    notifier_.notify(std::move(item));
    return ok_json(200, answer);
  }
  if (what == "notifications" && req.method == "GET") return ok_json(200, notifier_.items_json());
  if (what == "deliveries" && req.method == "GET") return ok_json(200, notifier_.attempts_json());
  if (what == "requests" && req.method == "GET") {
    std::lock_guard guard{record_mutex_};
    std::string out = "{\"requests\":[";
    bool first = true;
    for (const auto& r : recorded_) {
      if (!first) out += ',';
      first = false;
      out += r;
    }
    return ok_json(200, out + "]}");
  }
  if (what == "webhook_url" && req.method == "POST") {
    rapidjson::Document body;
    if (net::parse_json_object(req.body, body) != net::json_error::none || !body.HasMember("url") ||
        !body["url"].IsString())
      return service_error(400, "702", "The body must be {\"url\": \"http://...\"}.");
    std::string url = body["url"].GetString();
    if (!url.empty() && !net::parse_url(url))
      return service_error(422, "702", "url must be an http(s) URL.");
    notifier_.set_url(url);
    return ok_json(200, "{\"url\":" + net::json_quote(url) + "}");
  }
  return not_found(req.method, req.path);
}

}  // namespace pay::sandbox::adyen
