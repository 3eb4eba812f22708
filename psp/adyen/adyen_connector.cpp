#include "psp/adyen/adyen_connector.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <rapidjson/document.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/limits.hpp"
#include "core/log.hpp"
#include "core/money.hpp"
#include "net/form.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"
#include "net/json.hpp"
#include "psp/adyen/adyen_amounts.hpp"
#include "psp/connector_support.hpp"

namespace pay::psp {

using namespace pay::net;

namespace {

using core::psp_failure;
using core::psp_failure_kind;

/// Adyen's documented bounds (Checkout API v71).
constexpr std::size_t adyen_idempotency_key_max = 64;
constexpr std::size_t adyen_reference_max = 80;
constexpr std::size_t adyen_metadata_entries_max = 20;
constexpr std::size_t adyen_metadata_key_max = 20;
constexpr std::size_t adyen_metadata_value_max = 80;
constexpr std::size_t adyen_shopper_statement_max = 135;

psp_failure local_failure(std::string message, std::string param = {}) {
  return refused_before_call("validation", std::move(message), std::move(param));
}

psp_failure unsupported(std::string message) {
  psp_failure f;
  f.kind = psp_failure_kind::unsupported;
  f.message = std::move(message);
  return f;
}

std::optional<psp_failure> check_key(const std::string& key) {
  if (key.empty() || key.size() > core::limits::idempotency_key_length_max)
    return local_failure("Every mutating PSP call needs an Idempotency-Key of 1 to 255 characters.",
                         "Idempotency-Key");
  for (unsigned char c : key)
    if (c < 0x20 || c == 0x7f)
      return local_failure("The Idempotency-Key contains a control character.", "Idempotency-Key");
  return std::nullopt;
}

std::optional<psp_failure> check_reference(const std::string& ref, const char* what) {
  if (ref.empty()) return local_failure(std::string("The ") + what + " is empty.", what);
  if (ref.size() > adyen_reference_max)
    return local_failure(std::string("The ") + what + " is longer than Adyen's 80 characters.",
                         what);
  for (unsigned char c : ref)
    if (c < 0x20 || c == 0x7f)
      return local_failure(std::string("The ") + what + " contains a control character.", what);
  return std::nullopt;
}

/// The psp reference of a payment as a path segment: Adyen's are 16
/// upper-case alphanumerics; anything outside [A-Za-z0-9] is refused.
std::optional<psp_failure> check_psp_reference(const std::string& ref) {
  if (ref.empty() || ref.size() > adyen_reference_max)
    return local_failure("The payment's pspReference is empty or too long.", "pspReference");
  for (char c : ref)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      return local_failure("The payment's pspReference holds a character Adyen never uses.",
                           "pspReference");
  return std::nullopt;
}

/// {value, currency} in Adyen's units, or the local refusal.
std::variant<std::pair<std::int64_t, std::string>, psp_failure> adyen_amount(
    std::int64_t amount, const std::string& currency) {
  if (!core::find_currency(currency))
    return local_failure("The currency '" + currency + "' is not one the engine knows.",
                         "currency");
  if (amount <= 0) return local_failure("The amount must be positive.", "amount");
  auto v = to_adyen_minor(amount, currency);
  if (!v)
    return local_failure("The amount " + std::to_string(amount) + " " + currency +
                             " cannot be expressed exactly in Adyen's minor units of " +
                             adyen_currency(currency) + " (exponent " +
                             std::to_string(adyen_exponent(currency)) + ").",
                         "amount");
  return std::pair{*v, adyen_currency(currency)};
}

void write_amount(json_writer& w, const std::pair<std::int64_t, std::string>& a) {
  w.key("amount");
  w.begin_object();
  w.field("currency", a.second);
  w.field("value", a.first);
  w.end_object();
}

bool allowed_report_host(const url_parts& u, const url_parts& base) {
  if (u.host == base.host && u.port == base.port && u.tls == base.tls) return true;
  if (!u.tls) return false;
  auto ends_with = [&](std::string_view s) { return u.host.ends_with(s); };
  return ends_with(".adyen.com") || ends_with(".adyenpayments.com");
}

}  // namespace

std::string adyen_base_url(const adyen_api_options& o) {
  std::string base = o.live_prefix.empty() ? o.base_url
                                           : "https://" + o.live_prefix +
                                                 "-checkout-live.adyenpayments.com/checkout/v71";
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string adyen_idempotency_key(const std::string& key) {
  if (key.size() <= adyen_idempotency_key_max) return key;
  return core::sha256_hex(key).substr(0, adyen_idempotency_key_max);
}

core::psp_failure adyen_failure_of(int http_status, std::string_view body,
                                   std::string_view api_key) {
  psp_failure f;
  f.http_status = http_status;
  rapidjson::Document doc;
  bool service_error = false;
  if (parse_json_object(body, doc) == json_error::none) {
    f.code = string_member(doc, "errorCode");
    f.type = string_member(doc, "errorType");
    f.message = string_member(doc, "message");
    service_error = !f.code.empty() || !f.message.empty();
  }
  if (http_status == 429 || http_status >= 500 || http_status < 400)
    f.kind = psp_failure_kind::retryable;
  else
    f.kind = psp_failure_kind::rejected;
  if (!service_error)
    f.message =
        "The PSP answered HTTP " + std::to_string(http_status) + " without an Adyen ServiceError.";
  else if (f.message.empty())
    f.message = "The PSP answered HTTP " + std::to_string(http_status) + ".";
  f.message = scrub(std::move(f.message), api_key);
  return f;
}

struct adyen_connector::impl {
  impl(adyen_api_options opts, std::string base_url, url_parts parts)
      : options(std::move(opts)),
        base(std::move(base_url)),
        base_parts(std::move(parts)),
        client(http_client_options{options.threads, options.ca_file,
                                   core::limits::http_client_body_bytes_max}) {}

  adyen_api_options options;
  std::string base;
  url_parts base_parts;
  boost::asio::thread_pool local{1};
  http_client client;  // declared last: goes first

  template <class T>
  void fail_locally(completion_ptr<T> c, psp_failure f) {
    boost::asio::post(local,
                      [c = std::move(c), f = std::move(f)]() mutable { (*c)(std::move(f)); });
  }

  template <class T>
  using parse_fn = std::function<std::optional<T>(std::string_view, std::string&)>;

  /// One request; completes `c` with parse's object or the mapped failure.
  template <class T>
  void call(std::string method, std::string url, std::string path, std::string body,
            const std::string* idempotency_key, std::int64_t timeout_ms, const char* object_name,
            parse_fn<T> parse, completion_ptr<T> c) {
    client_request req;
    req.method = method;
    req.url = std::move(url);
    req.headers.emplace_back("X-API-Key", options.api_key);
    req.headers.emplace_back("Accept", "application/json");
    if (idempotency_key != nullptr)
      req.headers.emplace_back("Idempotency-Key", adyen_idempotency_key(*idempotency_key));
    std::string our_request_id(core::log::current_request_id());
    if (our_request_id.empty()) our_request_id = core::make_id(core::id_prefix::request);
    req.headers.emplace_back("X-Request-Id", our_request_id);
    if (method == "POST") {
      req.body = std::move(body);
      req.content_type = "application/json";
    }
    auto budget_ms = std::clamp<std::int64_t>(timeout_ms, 1, core::limits::psp_call_timeout_ms);
    req.timeout_ms = budget_ms;
    auto started = std::chrono::steady_clock::now();
    client.async_send(
        std::move(req), [c = std::move(c), secret = options.api_key, method = std::move(method),
                         path = std::move(path), object_name, parse = std::move(parse), started,
                         budget_ms, our_request_id](client_result r) {
          auto ms = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count());
          auto outcome = [&]() -> core::psp_outcome<T> {
            if (!r.answered) {
              psp_failure f;
              f.kind = psp_failure_kind::retryable;
              f.message = r.timed_out ? "The PSP did not answer within " +
                                            std::to_string(budget_ms) + " ms (timed out)."
                                      : "Could not reach the PSP: " + scrub(r.error, secret);
              return f;
            }
            auto status = r.response.status;
            if (status >= 200 && status < 300) {
              std::string error;
              if (auto parsed = parse(r.response.body, error)) return std::move(*parsed);
              psp_failure f;
              f.kind = psp_failure_kind::retryable;
              f.http_status = status;
              f.message = "The PSP answered HTTP " + std::to_string(status) + " but not with " +
                          object_name + ": " + scrub(error, secret) + ".";
              return f;
            }
            return adyen_failure_of(status, r.response.body, secret);
          }();
          auto psp_ref = std::string(r.response.header_value("pspReference").value_or(""));
          if (auto* f = std::get_if<psp_failure>(&outcome)) {
            auto level = f->kind == psp_failure_kind::retryable ? core::log::level::warn
                                                                : core::log::level::info;
            core::log::write(level, "psp call failed",
                             {{"psp", "adyen"},
                              {"method", method},
                              {"path", path},
                              {"kind", core::to_string(f->kind)},
                              {"http_status", std::to_string(f->http_status)},
                              {"code", f->code},
                              {"message", f->message},
                              {"request_id", our_request_id},
                              {"duration_ms", ms}});
          } else {
            core::log::info("psp call", {{"psp", "adyen"},
                                         {"method", method},
                                         {"path", path},
                                         {"http_status", std::to_string(r.response.status)},
                                         {"request_id", our_request_id},
                                         {"duration_ms", ms}});
          }
          (*c)(std::move(outcome));
        });
  }

  /// A modification's common checks and body; nullopt after failing `c`.
  template <class T>
  std::optional<std::string> modification_body(const core::psp_modification& m,
                                               const std::string& idempotency_key, bool with_amount,
                                               completion_ptr<T>& c) {
    if (auto bad = check_psp_reference(m.psp_intent_id)) return fail_locally(c, *bad), std::nullopt;
    if (auto bad = check_key(idempotency_key)) return fail_locally(c, *bad), std::nullopt;
    if (auto bad = check_reference(m.engine_reference, "reference"))
      return fail_locally(c, *bad), std::nullopt;
    json_writer w;
    w.begin_object();
    w.field("merchantAccount", options.merchant_account);
    if (with_amount) {
      auto a = adyen_amount(m.amount.value_or(m.amount_available), m.currency);
      if (auto* f = std::get_if<psp_failure>(&a)) return fail_locally(c, *f), std::nullopt;
      write_amount(w, std::get<0>(a));
    }
    w.field("reference", m.engine_reference);
    w.end_object();
    return w.take();
  }
};

namespace {

/// The modification answer {pspReference, paymentPspReference, status:"received"}.
std::optional<std::string> modification_answer(std::string_view body, const std::string& payment,
                                               std::string& error) {
  rapidjson::Document doc;
  if (parse_json_object(body, doc) != json_error::none) {
    error = "the body is not a JSON object";
    return std::nullopt;
  }
  auto psp = string_member(doc, "pspReference");
  auto status = string_member(doc, "status");
  auto of = string_member(doc, "paymentPspReference");
  if (psp.empty())
    error = "no pspReference";
  else if (status != "received")
    error = "status '" + status + "', not 'received'";
  else if (of != payment)
    error = "the answer is about '" + of + "', not '" + payment + "'";
  else
    return psp;
  return std::nullopt;
}

}  // namespace

adyen_connector::adyen_connector(adyen_api_options options) {
  auto base = adyen_base_url(options);
  auto parts = parse_url(base);
  if (!parts || base.find_first_of("?# \t\r\n") != std::string::npos)
    throw std::invalid_argument("adyen base_url must be http(s)://host[:port][/prefix], got '" +
                                base + "'");
  if (options.api_key.empty()) throw std::invalid_argument("adyen api_key is empty");
  if (options.merchant_account.empty())
    throw std::invalid_argument("adyen merchant_account is empty");
  if (!options.live_prefix.empty() &&
      options.live_prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
          std::string::npos)
    throw std::invalid_argument("adyen live_prefix must be lowercase letters, digits and '-'");
  if (!parts->tls && !options.live_prefix.empty())
    throw std::invalid_argument("a live adyen account needs https");
  impl_ = std::make_unique<impl>(std::move(options), std::move(base), std::move(*parts));
}

adyen_connector::~adyen_connector() = default;

void adyen_connector::create_intent(const core::psp_create_intent& req,
                                    const std::string& idempotency_key, std::int64_t timeout_ms,
                                    intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  if (auto bad = check_reference(req.engine_intent_id, "reference"))
    return impl_->fail_locally(c, *bad);
  if (req.return_url.empty())
    return impl_->fail_locally(
        c, local_failure("An Adyen session needs a returnUrl (the hosted checkout page).",
                         "returnUrl"));
  if (!parse_url(req.return_url))
    return impl_->fail_locally(c,
                               local_failure("The returnUrl is not an http(s) URL.", "returnUrl"));
  auto a = adyen_amount(req.amount, req.currency);
  if (auto* f = std::get_if<psp_failure>(&a)) return impl_->fail_locally(c, *f);

  // Metadata: the merchant's flat strings within Adyen's bounds, then the engine's trace key.
  std::vector<std::pair<std::string, std::string>> metadata;
  if (req.metadata_json.find_first_not_of(" \t\r\n") != std::string::npos) {
    rapidjson::Document doc;
    if (parse_json_object(req.metadata_json, doc) != json_error::none)
      return impl_->fail_locally(c, local_failure("metadata must be a JSON object.", "metadata"));
    for (const auto& m : doc.GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      if (key == "engine_intent_id") continue;
      if (!m.value.IsString())
        return impl_->fail_locally(
            c, local_failure("Adyen metadata values must be strings ('" + key + "').", "metadata"));
      std::string value(m.value.GetString(), m.value.GetStringLength());
      if (key.empty() || key.size() > adyen_metadata_key_max ||
          value.size() > adyen_metadata_value_max)
        return impl_->fail_locally(
            c,
            local_failure("Adyen metadata keys hold 1 to 20 characters and values at most 80 ('" +
                              key + "').",
                          "metadata"));
      metadata.emplace_back(std::move(key), std::move(value));
    }
  }
  metadata.emplace_back("engine_intent_id", req.engine_intent_id);
  if (metadata.size() > adyen_metadata_entries_max)
    return impl_->fail_locally(
        c,
        local_failure("Adyen takes at most 20 metadata entries, the engine's trace key included.",
                      "metadata"));

  json_writer w;
  w.begin_object();
  write_amount(w, std::get<0>(a));
  w.field("merchantAccount", impl_->options.merchant_account);
  w.field("reference", req.engine_intent_id);
  w.field("returnUrl", req.return_url);
  w.key("metadata");
  w.begin_object();
  for (const auto& [k, v] : metadata) w.field(k, v);
  w.end_object();
  if (req.capture == core::capture_method::manual) {
    w.key("additionalData");
    w.begin_object();
    w.field("manualCapture", "true");
    w.end_object();
  }
  if (req.description && !req.description->empty()) {
    // Cut to Adyen's length at a UTF-8 character boundary, never inside one.
    auto n = std::min(req.description->size(), adyen_shopper_statement_max);
    while (n < req.description->size() && n > 0 &&
           (static_cast<unsigned char>((*req.description)[n]) & 0xC0) == 0x80)
      --n;
    w.field("shopperStatement", std::string_view(*req.description).substr(0, n));
  }
  w.end_object();

  auto amount = req.amount;
  auto currency = engine_currency(req.currency);
  auto reference = req.engine_intent_id;
  auto capture = req.capture;
  impl_->call<core::psp_intent>(
      "POST", impl_->base + "/sessions", "/sessions", w.take(), &idempotency_key, timeout_ms,
      "a session",
      [amount, currency, reference, capture](
          std::string_view body, std::string& error) -> std::optional<core::psp_intent> {
        rapidjson::Document doc;
        if (parse_json_object(body, doc) != json_error::none) {
          error = "the body is not a JSON object";
          return std::nullopt;
        }
        auto id = string_member(doc, "id");
        auto data = string_member(doc, "sessionData");
        auto ref = string_member(doc, "reference");
        if (id.empty() || data.empty()) {
          error = "no id or sessionData";
          return std::nullopt;
        }
        if (ref != reference) {
          error = "the session is for reference '" + ref + "', not '" + reference + "'";
          return std::nullopt;
        }
        core::psp_intent i;
        i.id = id;
        i.status = core::intent_status::created;
        i.psp_status = "session";
        i.amount = amount;
        i.currency = currency;
        i.amount_capturable = 0;
        i.amount_received = 0;
        i.capture = capture;
        json_writer secret;
        secret.begin_object();
        secret.field("id", id);
        secret.field("sessionData", data);
        secret.end_object();
        i.client_secret = secret.take();
        i.engine_reference = reference;
        return i;
      },
      std::move(c));
}

void adyen_connector::retrieve_intent(const std::string&, std::int64_t, intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  impl_->fail_locally(c, unsupported("Adyen has no read of a payment; its outcome comes by "
                                     "notification."));
}

void adyen_connector::retrieve_refund(const std::string&, std::int64_t, refund_done done) {
  auto c = std::make_shared<completion<core::psp_refund>>(std::move(done));
  impl_->fail_locally(c, unsupported("Adyen has no read of a refund; its outcome comes by "
                                     "notification."));
}

namespace {

void modification_intent(adyen_connector::impl& im, const core::psp_modification& m,
                         const std::string& key, std::int64_t timeout_ms,
                         std::shared_ptr<completion<core::psp_intent>> c, const char* op,
                         bool with_amount, core::intent_status status) {
  auto body = im.modification_body(m, key, with_amount, c);
  if (!body) return;
  auto path = "/payments/" + m.psp_intent_id + "/" + op;
  auto payment = m.psp_intent_id;
  auto reference = m.engine_reference;
  im.call<core::psp_intent>(
      "POST", im.base + path, path, std::move(*body), &key, timeout_ms, "a modification",
      [payment, reference, status, op](std::string_view text,
                                       std::string& error) -> std::optional<core::psp_intent> {
        auto psp = modification_answer(text, payment, error);
        if (!psp) return std::nullopt;
        core::psp_intent i;
        i.id = payment;
        i.status = status;
        i.psp_status = std::string(op) + ":received:" + *psp;
        i.engine_reference = reference;
        return i;
      },
      std::move(c));
}

}  // namespace

void adyen_connector::capture_intent(const core::psp_modification& m,
                                     const std::string& idempotency_key, std::int64_t timeout_ms,
                                     intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  modification_intent(*impl_, m, idempotency_key, timeout_ms, std::move(c), "captures", true,
                      core::intent_status::capture_pending);
}

void adyen_connector::cancel_intent(const core::psp_modification& m,
                                    const std::string& idempotency_key, std::int64_t timeout_ms,
                                    intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  modification_intent(*impl_, m, idempotency_key, timeout_ms, std::move(c), "cancels", false,
                      core::intent_status::cancel_pending);
}

void adyen_connector::create_refund(const core::psp_modification& m,
                                    const std::string& idempotency_key, std::int64_t timeout_ms,
                                    refund_done done) {
  auto c = std::make_shared<completion<core::psp_refund>>(std::move(done));
  auto body = impl_->modification_body(m, idempotency_key, true, c);
  if (!body) return;
  auto path = "/payments/" + m.psp_intent_id + "/refunds";
  auto payment = m.psp_intent_id;
  auto reference = m.engine_reference;
  auto amount = m.amount.value_or(m.amount_available);
  auto currency = engine_currency(m.currency);
  impl_->call<core::psp_refund>(
      "POST", impl_->base + path, path, std::move(*body), &idempotency_key, timeout_ms,
      "a modification",
      [payment, reference, amount, currency](
          std::string_view text, std::string& error) -> std::optional<core::psp_refund> {
        auto psp = modification_answer(text, payment, error);
        if (!psp) return std::nullopt;
        core::psp_refund r;
        r.id = *psp;
        r.status = core::refund_status::pending;
        r.amount = amount;
        r.currency = currency;
        r.payment_intent = payment;
        r.engine_reference = reference;
        return r;
      },
      std::move(c));
}

void adyen_connector::read_settlement_report(const std::string& url, std::int64_t timeout_ms,
                                             report_done done) {
  auto c = std::make_shared<completion<adyen_settlement_report>>(std::move(done));
  auto u = parse_url(url);
  if (!u || url.find_first_of(" \t\r\n") != std::string::npos)
    return impl_->fail_locally(c, local_failure("The report URL is not an http(s) URL.", "url"));
  // The API key goes only to the API's own host or to Adyen's.
  if (!allowed_report_host(*u, impl_->base_parts))
    return impl_->fail_locally(
        c, local_failure("A report is downloaded only from the API's host or an https Adyen "
                         "host, not '" +
                             u->host + "'.",
                         "url"));
  impl_->call<adyen_settlement_report>(
      "GET", url, u->target, {}, nullptr, timeout_ms, "a settlement report",
      [](std::string_view text, std::string& error) {
        return parse_adyen_settlement_report(text, error);
      },
      std::move(c));
}

void adyen_connector::read_settlement_report_file(const std::string& path, report_done done) {
  auto c = std::make_shared<completion<adyen_settlement_report>>(std::move(done));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return impl_->fail_locally(
        c, local_failure("Cannot read the report file '" + path + "'.", "file"));
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  auto report = parse_adyen_settlement_report(text.str(), error);
  if (!report)
    return impl_->fail_locally(
        c, local_failure("The settlement report does not parse: " + error, "file"));
  boost::asio::post(impl_->local, [c, r = std::move(*report)]() mutable { (*c)(std::move(r)); });
}

}  // namespace pay::psp
