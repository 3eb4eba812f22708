#include "psp/paypal/paypal_connector.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
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
#include "core/standard_webhooks.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"
#include "net/json.hpp"
#include "psp/connector_support.hpp"
#include "psp/paypal/paypal_amounts.hpp"
#include "psp/paypal/paypal_orders.hpp"
#include "psp/paypal/paypal_time.hpp"

namespace pay::psp {

using namespace pay::net;

namespace {

using core::psp_failure;
using core::psp_failure_kind;
using clock = std::chrono::steady_clock;

/// PayPal's documented bounds (Orders v2).
constexpr std::size_t paypal_custom_id_max = 127;
constexpr std::size_t paypal_description_max = 127;
constexpr std::size_t paypal_note_to_payer_max = 255;

psp_failure local_failure(std::string message, std::string param = {}) {
  return refused_before_call("validation", std::move(message), std::move(param));
}

psp_failure bad_answer(int status, std::string_view what, const std::string& error) {
  psp_failure f;
  f.kind = psp_failure_kind::retryable;
  f.http_status = status;
  f.message = "PayPal answered HTTP " + std::to_string(status) + " but not with " +
              std::string(what) + ": " + error + ".";
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

/// A PayPal id as a path segment: PayPal's are upper-case alphanumerics;
/// anything outside [A-Za-z0-9_-] is refused.
std::optional<psp_failure> check_id(const std::string& id, const char* what) {
  if (id.empty() || id.size() > 64)
    return local_failure(std::string("The ") + what + " is empty or too long.", what);
  for (char c : id)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return local_failure(std::string("The ") + what + " holds a character PayPal never uses.",
                           what);
  return std::nullopt;
}

std::optional<psp_failure> check_text(const std::string& text, const char* what, std::size_t max) {
  if (text.empty()) return local_failure(std::string("The ") + what + " is empty.", what);
  if (text.size() > max)
    return local_failure(std::string("The ") + what + " is longer than PayPal's " +
                             std::to_string(max) + " characters.",
                         what);
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f)
      return local_failure(std::string("The ") + what + " contains a control character.", what);
  return std::nullopt;
}

/// PayPal's {currency_code, value} of an engine amount, or the local refusal.
std::variant<std::pair<std::string, std::string>, psp_failure> paypal_amount(
    std::int64_t amount, const std::string& currency) {
  if (!core::find_currency(currency))
    return local_failure("The currency '" + currency + "' is not one the engine knows.",
                         "currency");
  if (!paypal_supports_currency(currency))
    return local_failure("PayPal does not support the currency '" + currency + "'.", "currency");
  if (amount <= 0) return local_failure("The amount must be positive.", "amount");
  auto v = to_paypal_value(amount, currency);
  if (!v)
    return local_failure("The amount " + std::to_string(amount) + " " + currency +
                             " cannot be expressed exactly at PayPal's " +
                             std::to_string(paypal_decimals(currency)) + " decimals of " +
                             paypal_currency(currency) + ".",
                         "amount");
  return std::pair{paypal_currency(currency), *v};
}

void write_amount(json_writer& w, const std::pair<std::string, std::string>& a) {
  w.key("amount");
  w.begin_object();
  w.field("currency_code", a.first);
  w.field("value", a.second);
  w.end_object();
}

/// `url` with `flag` added to its query (before any fragment).
std::string with_query_flag(const std::string& url, std::string_view flag) {
  auto hash = url.find('#');
  std::string base = url.substr(0, hash);
  std::string fragment = hash == std::string::npos ? "" : url.substr(hash);
  base += base.find('?') == std::string::npos ? '?' : '&';
  base += flag;
  return base + fragment;
}

/// The error JSON's decline_code and message, for a declined confirmation.
psp_failure declined_of(const std::string& error_json) {
  psp_failure f;
  f.kind = psp_failure_kind::declined;
  f.http_status = 201;
  f.type = "card_error";
  f.code = "card_declined";
  rapidjson::Document doc;
  if (parse_json_object(error_json, doc) == json_error::none) {
    f.decline_code = paypal_string(doc, "decline_code");
    f.message = paypal_string(doc, "message");
  }
  if (f.decline_code.empty()) f.decline_code = "generic_decline";
  if (f.message.empty()) f.message = "PayPal declined the payment.";
  return f;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string paypal_request_id(const std::string& key) {
  if (key.size() <= core::limits::paypal_request_id_length_max) return key;
  return "sha256-" + core::sha256_hex(key);
}

// ---- Transaction Search ------------------------------------------------------------

std::optional<std::vector<paypal_transaction>> parse_paypal_transactions(std::string_view body,
                                                                         std::size_t& total_pages,
                                                                         std::string& error) {
  rapidjson::Document doc;
  if (parse_json_object(body, doc) != json_error::none) {
    error = "the body is not a JSON object";
    return std::nullopt;
  }
  total_pages = 1;
  if (auto tp = doc.FindMember("total_pages"); tp != doc.MemberEnd() && tp->value.IsUint())
    total_pages = tp->value.GetUint();
  auto details = doc.FindMember("transaction_details");
  if (details == doc.MemberEnd() || !details->value.IsArray()) {
    error = "no transaction_details";
    return std::nullopt;
  }
  std::vector<paypal_transaction> out;
  for (const auto& d : details->value.GetArray()) {
    if (!d.IsObject()) continue;
    auto info = d.FindMember("transaction_info");
    if (info == d.MemberEnd() || !info->value.IsObject()) {
      error = "a row without transaction_info";
      return std::nullopt;
    }
    const auto& ti = info->value;
    paypal_transaction t;
    t.id = paypal_string(ti, "transaction_id");
    t.event_code = paypal_string(ti, "transaction_event_code");
    t.status = paypal_string(ti, "transaction_status");
    t.reference_id = paypal_string(ti, "paypal_reference_id");
    t.custom_field = paypal_string(ti, "custom_field");
    auto amount = paypal_amount_of(ti, "transaction_amount");
    auto created = parse_paypal_time(paypal_string(ti, "transaction_initiation_date"));
    if (t.id.empty() || t.event_code.empty() || !amount || !created) {
      error = "row '" + t.id + "' lacks an id, event code, exact amount or initiation date";
      return std::nullopt;
    }
    t.amount = amount->first;
    t.currency = amount->second;
    t.created = *created;
    if (ti.HasMember("fee_amount")) {
      auto fee = paypal_amount_of(ti, "fee_amount");
      if (!fee || fee->second != t.currency) {
        error = "row '" + t.id + "' has a fee that is inexact or in another currency";
        return std::nullopt;
      }
      t.fee = fee->first;
    }
    out.push_back(std::move(t));
  }
  return out;
}

paypal_settlement_view paypal_settlement_of(std::vector<paypal_transaction> rows) {
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.created < b.created; });
  paypal_settlement_view v;
  auto is_withdrawal = [](const paypal_transaction& t) { return t.event_code.starts_with("T04"); };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& t = rows[i];
    if (t.status != "S") continue;  // pending, denied, reversed: no money moved (yet)
    if (is_withdrawal(t)) {
      core::psp_payout p;
      p.id = t.id;
      p.amount = -t.amount;
      p.currency = t.currency;
      p.status = core::payout_status::paid;
      p.created = t.created;
      p.arrival_date = t.created;
      v.payouts.push_back(std::move(p));
      continue;
    }
    core::psp_balance_transaction bt;
    bt.id = t.id;
    bt.source = t.id;
    bt.amount = t.amount;
    bt.fee = -t.fee;  // PayPal signs the fee it takes negative; the engine counts it positive
    bt.net = bt.amount - bt.fee;
    bt.currency = t.currency;
    bt.created = t.created;
    if (!t.reference_id.empty()) bt.payment_intent = t.reference_id;
    if (t.event_code.starts_with("T00") && t.amount > 0)
      bt.type = core::balance_tx_type::charge;
    else if (t.event_code == "T1107")
      bt.type = core::balance_tx_type::refund;
    else
      bt.type = core::balance_tx_type::other;
    for (std::size_t j = i + 1; j < rows.size(); ++j)
      if (is_withdrawal(rows[j]) && rows[j].status == "S" && rows[j].currency == t.currency) {
        bt.payout = rows[j].id;
        break;
      }
    v.transactions.push_back(std::move(bt));
  }
  return v;
}

// ---- the connector -----------------------------------------------------------------

struct paypal_connector::impl {
  impl(paypal_api_options opts, std::string base_url)
      : options(std::move(opts)),
        base(std::move(base_url)),
        client(http_client_options{options.threads, options.ca_file,
                                   core::limits::http_client_body_bytes_max}) {}

  paypal_api_options options;
  std::string base;

  // The OAuth2 token, shared by every call; one fetch at a time, whose
  // answer every waiting call gets.
  using token_done = std::function<void(std::variant<std::string, psp_failure>)>;
  std::mutex token_mutex;
  std::string token;
  clock::time_point token_valid_until{};
  bool token_fetching = false;
  std::vector<token_done> token_waiters;

  boost::asio::thread_pool local{1};
  http_client client;  // declared last: goes first

  template <class T>
  void fail_locally(completion_ptr<T> c, psp_failure f) {
    boost::asio::post(local,
                      [c = std::move(c), f = std::move(f)]() mutable { (*c)(std::move(f)); });
  }

  static std::int64_t remaining_ms(clock::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  }

  psp_failure transport_failure(const client_result& r, std::int64_t budget_ms) const {
    psp_failure f;
    f.kind = psp_failure_kind::retryable;
    f.message = r.timed_out ? "PayPal did not answer within " + std::to_string(budget_ms) +
                                  " ms (timed out)."
                            : "Could not reach PayPal: " + scrub(r.error, options.client_secret);
    return f;
  }

  /// Completes every waiter of the token fetch.
  void token_answer(std::variant<std::string, psp_failure> outcome, std::int64_t expires_in_s) {
    std::vector<token_done> waiters;
    {
      std::lock_guard lock(token_mutex);
      token_fetching = false;
      if (auto* t = std::get_if<std::string>(&outcome)) {
        token = *t;
        // Refreshed a margin before it expires; a token too short-lived for
        // the margin (a test sandbox's) is kept for half its life.
        auto margin = core::limits::paypal_token_refresh_margin_s;
        auto life = expires_in_s > 2 * margin ? expires_in_s - margin : expires_in_s / 2;
        token_valid_until = clock::now() + std::chrono::seconds(life);
      }
      waiters.swap(token_waiters);
    }
    for (auto& w : waiters) w(outcome);
  }

  /// The access token: the cached one while valid, else one fetch shared by
  /// every caller that asks meanwhile.
  void with_token(clock::time_point deadline, token_done done) {
    {
      std::lock_guard lock(token_mutex);
      if (!token.empty() && clock::now() < token_valid_until) {
        auto t = token;
        // Answered on the local pool, never under the lock.
        boost::asio::post(local, [done = std::move(done), t = std::move(t)] { done(t); });
        return;
      }
      token_waiters.push_back(std::move(done));
      if (token_fetching) return;
      token_fetching = true;
      token.clear();
    }
    client_request req;
    req.method = "POST";
    req.url = base + "/v1/oauth2/token";
    req.headers.emplace_back(
        "Authorization",
        "Basic " + core::base64_encode(options.client_id + ":" + options.client_secret));
    req.headers.emplace_back("Accept", "application/json");
    req.content_type = "application/x-www-form-urlencoded";
    req.body = "grant_type=client_credentials";
    auto budget =
        std::clamp<std::int64_t>(remaining_ms(deadline), 1, core::limits::psp_call_timeout_ms);
    req.timeout_ms = budget;
    auto started = clock::now();
    client.async_send(std::move(req), [this, budget, started](client_result r) {
      auto ms = std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count());
      if (!r.answered) {
        auto f = transport_failure(r, budget);
        core::log::warn("psp call failed", {{"psp", "paypal"},
                                            {"method", "POST"},
                                            {"path", "/v1/oauth2/token"},
                                            {"kind", "retryable"},
                                            {"message", f.message},
                                            {"duration_ms", ms}});
        return token_answer(std::move(f), 0);
      }
      auto status = r.response.status;
      core::log::info("psp call", {{"psp", "paypal"},
                                   {"method", "POST"},
                                   {"path", "/v1/oauth2/token"},
                                   {"http_status", std::to_string(status)},
                                   {"duration_ms", ms}});
      if (status != 200) {
        auto f = paypal_failure_of(status, r.response.body,
                                   r.response.header_value("paypal-debug-id").value_or(""));
        if (status == 401 || status == 403) {
          f.kind = psp_failure_kind::rejected;
          f.message = "PayPal refused the client credentials: " + f.message;
        }
        f.message = scrub(std::move(f.message), options.client_secret);
        return token_answer(std::move(f), 0);
      }
      rapidjson::Document doc;
      std::string access;
      std::int64_t expires_in = 0;
      if (parse_json_object(r.response.body, doc) == json_error::none) {
        access = paypal_string(doc, "access_token");
        if (auto e = doc.FindMember("expires_in"); e != doc.MemberEnd() && e->value.IsInt64())
          expires_in = e->value.GetInt64();
      }
      if (access.empty() || expires_in <= 0)
        return token_answer(bad_answer(status, "an access token", "no access_token or expires_in"),
                            0);
      token_answer(std::move(access), expires_in);
    });
  }

  /// Forgets `used` when it is still the cached token (a call answered 401
  /// with it), so the next caller fetches a fresh one; a token another
  /// caller refreshed meanwhile stays.
  void forget_token(const std::string& used) {
    std::lock_guard lock(token_mutex);
    if (token == used) {
      token.clear();
      token_valid_until = {};
    }
  }

  using answer_fn = std::function<void(std::variant<http_response, psp_failure>)>;

  /// One API call with the bearer token: a 401 forgets the token and the
  /// call is sent once more with a fresh one. `done` gets a 2xx answer or
  /// the mapped failure.
  void send(std::string method, std::string target, std::string body,
            std::optional<std::string> request_id, clock::time_point deadline, answer_fn done,
            bool retried = false) {
    with_token(deadline, [this, method = std::move(method), target = std::move(target),
                          body = std::move(body), request_id = std::move(request_id), deadline,
                          done = std::move(done),
                          retried](std::variant<std::string, psp_failure> t) mutable {
      if (auto* f = std::get_if<psp_failure>(&t)) return done(std::move(*f));
      auto used = std::get<std::string>(std::move(t));
      auto budget = remaining_ms(deadline);
      if (budget <= 0) {
        psp_failure f;
        f.kind = psp_failure_kind::retryable;
        f.message = "PayPal did not answer in time (timed out).";
        return done(std::move(f));
      }
      budget = std::min(budget, core::limits::psp_call_timeout_ms);
      client_request req;
      req.method = method;
      req.url = base + target;
      req.headers.emplace_back("Authorization", "Bearer " + used);
      req.headers.emplace_back("Accept", "application/json");
      req.headers.emplace_back("Prefer", "return=representation");
      if (request_id) req.headers.emplace_back("PayPal-Request-Id", *request_id);
      std::string our_request_id(core::log::current_request_id());
      if (our_request_id.empty()) our_request_id = core::make_id(core::id_prefix::request);
      req.headers.emplace_back("X-Request-Id", our_request_id);
      if (method == "POST") {
        req.body = body;
        req.content_type = "application/json";
      }
      req.timeout_ms = budget;
      auto started = clock::now();
      auto path = target.substr(0, target.find('?'));
      client.async_send(std::move(req), [this, method, target, body, request_id, deadline,
                                         done = std::move(done), retried, used, budget, started,
                                         path, our_request_id](client_result r) mutable {
        auto ms = std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count());
        if (r.answered && r.response.status == 401 && !retried) {
          core::log::info("psp token refused, refreshing once",
                          {{"psp", "paypal"}, {"path", path}, {"request_id", our_request_id}});
          forget_token(used);
          return send(std::move(method), std::move(target), std::move(body), std::move(request_id),
                      deadline, std::move(done), true);
        }
        std::variant<http_response, psp_failure> outcome = [&]() -> decltype(outcome) {
          if (!r.answered) return transport_failure(r, budget);
          auto status = r.response.status;
          if (status >= 200 && status < 300) return std::move(r.response);
          auto f = paypal_failure_of(status, r.response.body,
                                     r.response.header_value("paypal-debug-id").value_or(""));
          if (status == 401) f.kind = psp_failure_kind::rejected;
          f.message = scrub(std::move(f.message), options.client_secret);
          f.message = scrub(std::move(f.message), used);
          return f;
        }();
        if (auto* f = std::get_if<psp_failure>(&outcome)) {
          auto level = f->kind == psp_failure_kind::retryable ? core::log::level::warn
                                                              : core::log::level::info;
          core::log::write(level, "psp call failed",
                           {{"psp", "paypal"},
                            {"method", method},
                            {"path", path},
                            {"kind", core::to_string(f->kind)},
                            {"http_status", std::to_string(f->http_status)},
                            {"code", f->code},
                            {"message", f->message},
                            {"request_id", our_request_id},
                            {"duration_ms", ms}});
        } else {
          core::log::info("psp call", {{"psp", "paypal"},
                                       {"method", method},
                                       {"path", path},
                                       {"http_status", std::to_string(r.response.status)},
                                       {"request_id", our_request_id},
                                       {"duration_ms", ms}});
        }
        done(std::move(outcome));
      });
    });
  }

  /// GET an order, then `next(order document)`; failures complete `c`.
  template <class T>
  void with_order(const std::string& id, clock::time_point deadline, completion_ptr<T> c,
                  std::function<void(rapidjson::Document&, completion_ptr<T>)> next) {
    send("GET", "/v2/checkout/orders/" + id, {}, std::nullopt, deadline,
         [c, next = std::move(next)](std::variant<http_response, psp_failure> a) mutable {
           if (auto* f = std::get_if<psp_failure>(&a)) return (*c)(std::move(*f));
           auto& resp = std::get<http_response>(a);
           auto doc = std::make_shared<rapidjson::Document>();
           if (parse_json_object(resp.body, *doc) != json_error::none)
             return (*c)(bad_answer(resp.status, "an order", "the body is not a JSON object"));
           next(*doc, c);
         });
  }

  /// Answers `c` with the order in `doc` as an intent.
  static void answer_order(const http_response& resp, completion_ptr<core::psp_intent>& c) {
    rapidjson::Document doc;
    if (parse_json_object(resp.body, doc) != json_error::none)
      return (*c)(bad_answer(resp.status, "an order", "the body is not a JSON object"));
    std::string error;
    auto i = paypal_intent_of_order(doc, error);
    if (!i) return (*c)(bad_answer(resp.status, "an order", error));
    (*c)(std::move(*i));
  }
};

paypal_connector::paypal_connector(paypal_api_options options) {
  auto base = options.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!parse_url(base) || base.find_first_of("?# \t\r\n") != std::string::npos)
    throw std::invalid_argument("paypal base_url must be http(s)://host[:port][/prefix], got '" +
                                base + "'");
  if (options.client_id.empty()) throw std::invalid_argument("paypal client_id is empty");
  if (options.client_secret.empty()) throw std::invalid_argument("paypal client_secret is empty");
  if (options.client_id.find(':') != std::string::npos)
    throw std::invalid_argument("paypal client_id must not contain ':'");
  impl_ = std::make_shared<impl>(std::move(options), std::move(base));
}

paypal_connector::~paypal_connector() = default;

const std::string& paypal_connector::base_url() const {
  return impl_->base;
}

namespace {

clock::time_point deadline_of(std::int64_t timeout_ms) {
  return clock::now() + std::chrono::milliseconds(std::clamp<std::int64_t>(
                            timeout_ms, 1, core::limits::psp_call_timeout_ms));
}

}  // namespace

void paypal_connector::create_intent(const core::psp_create_intent& req,
                                     const std::string& idempotency_key, std::int64_t timeout_ms,
                                     intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  if (auto bad = check_text(req.engine_intent_id, "custom_id", paypal_custom_id_max))
    return impl_->fail_locally(c, *bad);
  if (!req.return_url.empty() &&
      (!parse_url(req.return_url) || req.return_url.find_first_of(" \t\r\n") != std::string::npos))
    return impl_->fail_locally(
        c, local_failure("The return_url is not an http(s) URL.", "return_url"));
  auto a = paypal_amount(req.amount, req.currency);
  if (auto* f = std::get_if<psp_failure>(&a)) return impl_->fail_locally(c, *f);

  json_writer w;
  w.begin_object();
  w.field("intent", req.capture == core::capture_method::manual ? "AUTHORIZE" : "CAPTURE");
  w.key("purchase_units");
  w.begin_array();
  w.begin_object();
  w.field("custom_id", req.engine_intent_id);
  w.field("invoice_id", req.engine_intent_id);
  if (req.description && !req.description->empty()) {
    // Cut to PayPal's length at a UTF-8 character boundary, never inside one.
    auto n = std::min(req.description->size(), paypal_description_max);
    while (n < req.description->size() && n > 0 &&
           (static_cast<unsigned char>((*req.description)[n]) & 0xC0) == 0x80)
      --n;
    w.field("description", std::string_view(*req.description).substr(0, n));
  }
  write_amount(w, std::get<0>(a));
  w.end_object();
  w.end_array();
  if (!req.return_url.empty()) {
    w.key("payment_source");
    w.begin_object();
    w.key("paypal");
    w.begin_object();
    w.key("experience_context");
    w.begin_object();
    w.field("return_url", req.return_url);
    w.field("cancel_url", with_query_flag(req.return_url, "paypal=cancel"));
    w.field("user_action", "PAY_NOW");
    w.field("shipping_preference", "NO_SHIPPING");
    w.end_object();
    w.end_object();
    w.end_object();
  }
  w.end_object();

  auto reference = req.engine_intent_id;
  impl_->send("POST", "/v2/checkout/orders", w.take(), paypal_request_id(idempotency_key),
              deadline_of(timeout_ms),
              [c, reference](std::variant<http_response, psp_failure> a) mutable {
                if (auto* f = std::get_if<psp_failure>(&a)) return (*c)(std::move(*f));
                auto& resp = std::get<http_response>(a);
                rapidjson::Document doc;
                if (parse_json_object(resp.body, doc) != json_error::none)
                  return (*c)(bad_answer(resp.status, "an order", "the body is not a JSON object"));
                std::string error;
                auto i = paypal_intent_of_order(doc, error);
                if (!i) return (*c)(bad_answer(resp.status, "an order", error));
                if (i->engine_reference && *i->engine_reference != reference)
                  return (*c)(bad_answer(resp.status, "this order",
                                         "it is for custom_id '" + *i->engine_reference + "'"));
                if (i->status != core::intent_status::created || !i->client_secret)
                  return (*c)(bad_answer(resp.status, "a new order",
                                         "status " + i->psp_status + " without an approve link"));
                i->engine_reference = reference;
                (*c)(std::move(*i));
              });
}

void paypal_connector::retrieve_intent(const std::string& psp_intent_id, std::int64_t timeout_ms,
                                       intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_id(psp_intent_id, "order id")) return impl_->fail_locally(c, *bad);
  impl_->send("GET", "/v2/checkout/orders/" + psp_intent_id, {}, std::nullopt,
              deadline_of(timeout_ms), [c](std::variant<http_response, psp_failure> a) mutable {
                if (auto* f = std::get_if<psp_failure>(&a)) return (*c)(std::move(*f));
                impl::answer_order(std::get<http_response>(a), c);
              });
}

void paypal_connector::confirm_intent(const core::psp_modification& m,
                                      const std::string& idempotency_key, std::int64_t timeout_ms,
                                      intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_id(m.psp_intent_id, "order id")) return impl_->fail_locally(c, *bad);
  if (auto bad = check_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  if (!m.capture)
    return impl_->fail_locally(
        c,
        local_failure("Confirming a PayPal order needs the intent's capture method.", "capture"));
  auto op = *m.capture == core::capture_method::manual ? "authorize" : "capture";
  auto id = m.psp_intent_id;
  auto deadline = deadline_of(timeout_ms);
  auto* im = impl_.get();
  im->send("POST", "/v2/checkout/orders/" + id + "/" + op, "{}", paypal_request_id(idempotency_key),
           deadline, [c, im, id, deadline](std::variant<http_response, psp_failure> a) mutable {
             if (auto* f = std::get_if<psp_failure>(&a)) {
               if (f->code == "ORDER_ALREADY_CAPTURED" || f->code == "ORDER_ALREADY_AUTHORIZED") {
                 // A retry after the first call went through: the order as it stands.
                 return im->send("GET", "/v2/checkout/orders/" + id, {}, std::nullopt, deadline,
                                 [c](std::variant<http_response, psp_failure> g) mutable {
                                   if (auto* gf = std::get_if<psp_failure>(&g))
                                     return (*c)(std::move(*gf));
                                   impl::answer_order(std::get<http_response>(g), c);
                                 });
               }
               return (*c)(std::move(*f));
             }
             auto& resp = std::get<http_response>(a);
             rapidjson::Document doc;
             if (parse_json_object(resp.body, doc) != json_error::none)
               return (*c)(bad_answer(resp.status, "an order", "the body is not a JSON object"));
             std::string error;
             auto i = paypal_intent_of_order(doc, error);
             if (!i) return (*c)(bad_answer(resp.status, "an order", error));
             if (i->status == core::intent_status::created && i->last_payment_error_json) {
               auto f = declined_of(*i->last_payment_error_json);
               f.http_status = resp.status;
               return (*c)(std::move(f));
             }
             (*c)(std::move(*i));
           });
}

void paypal_connector::capture_intent(const core::psp_modification& m,
                                      const std::string& idempotency_key, std::int64_t timeout_ms,
                                      intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_id(m.psp_intent_id, "order id")) return impl_->fail_locally(c, *bad);
  if (auto bad = check_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  if (auto bad = check_text(m.engine_reference, "invoice_id", paypal_custom_id_max))
    return impl_->fail_locally(c, *bad);
  std::optional<std::pair<std::string, std::string>> amount;
  if (m.amount) {
    auto a = paypal_amount(*m.amount, m.currency);
    if (auto* f = std::get_if<psp_failure>(&a)) return impl_->fail_locally(c, *f);
    amount = std::get<0>(a);
  }
  auto deadline = deadline_of(timeout_ms);
  auto* im = impl_.get();
  auto rid = paypal_request_id(idempotency_key);
  auto reference = m.engine_reference;
  im->with_order<core::psp_intent>(
      m.psp_intent_id, deadline, c,
      [im, deadline, amount, rid, reference](rapidjson::Document& order,
                                             completion_ptr<core::psp_intent> c) {
        std::string error;
        auto current = paypal_intent_of_order(order, error);
        if (!current) return (*c)(bad_answer(200, "an order", error));
        auto auth = paypal_authorization_id(order);
        if (auth.empty() || current->status != core::intent_status::authorized) {
          if (current->status == core::intent_status::captured ||
              current->status == core::intent_status::capture_pending)
            return (*c)(std::move(*current));  // a retry after the capture went through
          return (*c)(local_failure("The PayPal order " + current->id +
                                        " holds no authorization to capture (it is " +
                                        current->psp_status + ").",
                                    "payment_intent"));
        }
        json_writer w;
        w.begin_object();
        if (amount) write_amount(w, *amount);
        w.field("final_capture", true);
        w.field("invoice_id", reference);
        w.end_object();
        auto base = *current;
        im->send(
            "POST", "/v2/payments/authorizations/" + auth + "/capture", w.take(), rid, deadline,
            [c, base](std::variant<http_response, psp_failure> a) mutable {
              if (auto* f = std::get_if<psp_failure>(&a)) return (*c)(std::move(*f));
              auto& resp = std::get<http_response>(a);
              rapidjson::Document cap;
              if (parse_json_object(resp.body, cap) != json_error::none)
                return (*c)(bad_answer(resp.status, "a capture", "the body is not a JSON object"));
              auto status = paypal_string(cap, "status");
              auto got = paypal_amount_of(cap);
              auto id = paypal_string(cap, "id");
              if (id.empty() || !got || got->second != base.currency)
                return (*c)(bad_answer(resp.status, "a capture",
                                       "no id or an amount not in the order's currency"));
              core::psp_intent i = base;
              i.psp_status = "capture:" + status;
              i.latest_charge = id;
              i.last_payment_error_json.reset();
              if (status == "COMPLETED") {
                i.status = core::intent_status::captured;
                i.amount_received = got->first;
                i.amount_capturable = 0;
              } else if (status == "PENDING") {
                i.status = core::intent_status::capture_pending;
              } else if (status == "DECLINED" || status == "FAILED") {
                auto f = declined_of(paypal_payment_error_json(cap, "capture_failed"));
                f.http_status = resp.status;
                return (*c)(std::move(f));
              } else {
                return (*c)(bad_answer(resp.status, "a capture", "status '" + status + "'"));
              }
              (*c)(std::move(i));
            });
      });
}

void paypal_connector::cancel_intent(const core::psp_modification& m,
                                     const std::string& idempotency_key, std::int64_t timeout_ms,
                                     intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_id(m.psp_intent_id, "order id")) return impl_->fail_locally(c, *bad);
  if (auto bad = check_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  auto deadline = deadline_of(timeout_ms);
  auto* im = impl_.get();
  auto order_id = m.psp_intent_id;
  im->with_order<core::psp_intent>(
      m.psp_intent_id, deadline, c,
      [im, deadline, order_id](rapidjson::Document& order, completion_ptr<core::psp_intent> c) {
        std::string error;
        auto current = paypal_intent_of_order(order, error);
        if (!current) return (*c)(bad_answer(200, "an order", error));
        using st = core::intent_status;
        if (current->status == st::created) {
          // Never authorized: nothing held at PayPal, nothing to void.
          current->status = st::canceled;
          current->psp_status += ":not_authorized";
          current->needs_confirmation = false;
          current->amount_capturable = 0;
          current->client_secret.reset();
          return (*c)(std::move(*current));
        }
        if (current->status == st::canceled) return (*c)(std::move(*current));
        auto auth = paypal_authorization_id(order);
        if (current->status != st::authorized || auth.empty()) {
          auto f = local_failure("The PayPal order " + current->id + " cannot be voided: it is " +
                                     current->psp_status + ".",
                                 "payment_intent");
          f.code = "CANNOT_BE_VOIDED";
          return (*c)(std::move(f));
        }
        auto base = *current;
        im->send(
            "POST", "/v2/payments/authorizations/" + auth + "/void", {}, std::nullopt, deadline,
            [c, base, im, deadline, order_id](std::variant<http_response, psp_failure> a) mutable {
              if (auto* f = std::get_if<psp_failure>(&a)) {
                if (f->code == "PREVIOUSLY_VOIDED")  // a retry: the order as it stands
                  return im->send("GET", "/v2/checkout/orders/" + order_id, {}, std::nullopt,
                                  deadline,
                                  [c](std::variant<http_response, psp_failure> g) mutable {
                                    if (auto* gf = std::get_if<psp_failure>(&g))
                                      return (*c)(std::move(*gf));
                                    impl::answer_order(std::get<http_response>(g), c);
                                  });
                return (*c)(std::move(*f));
              }
              auto& resp = std::get<http_response>(a);
              if (resp.status != 204 && !resp.body.empty()) {
                rapidjson::Document v;
                if (parse_json_object(resp.body, v) == json_error::none) {
                  auto status = paypal_string(v, "status");
                  if (!status.empty() && status != "VOIDED")
                    return (*c)(bad_answer(resp.status, "a voided authorization",
                                           "status '" + status + "'"));
                }
              }
              core::psp_intent i = base;
              i.status = core::intent_status::canceled;
              i.psp_status = "authorization:VOIDED";
              i.amount_capturable = 0;
              (*c)(std::move(i));
            });
      });
}

void paypal_connector::create_refund(const core::psp_modification& m,
                                     const std::string& idempotency_key, std::int64_t timeout_ms,
                                     refund_done done) {
  auto c = std::make_shared<completion<core::psp_refund>>(std::move(done));
  if (auto bad = check_id(m.psp_intent_id, "order id")) return impl_->fail_locally(c, *bad);
  if (auto bad = check_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  if (auto bad = check_text(m.engine_reference, "custom_id", paypal_custom_id_max))
    return impl_->fail_locally(c, *bad);
  auto a = paypal_amount(m.amount.value_or(m.amount_available), m.currency);
  if (auto* f = std::get_if<psp_failure>(&a)) return impl_->fail_locally(c, *f);
  json_writer w;
  w.begin_object();
  write_amount(w, std::get<0>(a));
  w.field("custom_id", m.engine_reference);
  w.field("invoice_id", m.engine_reference);
  if (m.reason && !m.reason->empty()) {
    auto n = std::min(m.reason->size(), paypal_note_to_payer_max);
    while (n < m.reason->size() && n > 0 &&
           (static_cast<unsigned char>((*m.reason)[n]) & 0xC0) == 0x80)
      --n;
    w.field("note_to_payer", std::string_view(*m.reason).substr(0, n));
  }
  w.end_object();
  auto deadline = deadline_of(timeout_ms);
  auto* im = impl_.get();
  auto rid = paypal_request_id(idempotency_key);
  auto order_id = m.psp_intent_id;
  auto reference = m.engine_reference;
  im->with_order<core::psp_refund>(
      m.psp_intent_id, deadline, c,
      [im, deadline, rid, order_id, reference, body = w.take()](
          rapidjson::Document& order, completion_ptr<core::psp_refund> c) {
        auto capture = paypal_capture_id(order);
        if (capture.empty())
          return (*c)(local_failure("The PayPal order " + order_id + " holds no capture to refund.",
                                    "payment_intent"));
        im->send(
            "POST", "/v2/payments/captures/" + capture + "/refund", body, rid, deadline,
            [c, order_id, reference](std::variant<http_response, psp_failure> a) mutable {
              if (auto* f = std::get_if<psp_failure>(&a)) return (*c)(std::move(*f));
              auto& resp = std::get<http_response>(a);
              rapidjson::Document doc;
              if (parse_json_object(resp.body, doc) != json_error::none)
                return (*c)(bad_answer(resp.status, "a refund", "the body is not a JSON object"));
              std::string error;
              auto r = paypal_refund_of(doc, order_id, error);
              if (!r) return (*c)(bad_answer(resp.status, "a refund", error));
              r->engine_reference = reference;
              (*c)(std::move(*r));
            });
      });
}

void paypal_connector::retrieve_refund(const std::string& psp_refund_id, std::int64_t timeout_ms,
                                       refund_done done) {
  auto c = std::make_shared<completion<core::psp_refund>>(std::move(done));
  if (auto bad = check_id(psp_refund_id, "refund id")) return impl_->fail_locally(c, *bad);
  impl_->send("GET", "/v2/payments/refunds/" + psp_refund_id, {}, std::nullopt,
              deadline_of(timeout_ms), [c](std::variant<http_response, psp_failure> a) mutable {
                if (auto* f = std::get_if<psp_failure>(&a)) return (*c)(std::move(*f));
                auto& resp = std::get<http_response>(a);
                rapidjson::Document doc;
                if (parse_json_object(resp.body, doc) != json_error::none)
                  return (*c)(bad_answer(resp.status, "a refund", "the body is not a JSON object"));
                std::string error;
                auto r = paypal_refund_of(doc, {}, error);
                if (!r) return (*c)(bad_answer(resp.status, "a refund", error));
                (*c)(std::move(*r));
              });
}

// ---- settlement: Transaction Search -------------------------------------------------

namespace {

struct search_state {
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::optional<std::string> transaction_id;
  std::size_t page = 1;
  std::vector<paypal_transaction> rows;
  std::function<void(core::psp_outcome<std::vector<paypal_transaction>>)> done;
};

void search_page(paypal_connector::impl& im, std::shared_ptr<search_state> s,
                 clock::time_point deadline) {
  std::string target =
      "/v1/reporting/transactions?start_date=" + percent_encode(format_paypal_time(s->from)) +
      "&end_date=" + percent_encode(format_paypal_time(s->to)) +
      "&fields=transaction_info&page_size=" +
      std::to_string(core::limits::paypal_search_page_size) + "&page=" + std::to_string(s->page);
  if (s->transaction_id) target += "&transaction_id=" + percent_encode(*s->transaction_id);
  im.send("GET", target, {}, std::nullopt, deadline,
          [&im, s, deadline](std::variant<http_response, psp_failure> a) {
            if (auto* f = std::get_if<psp_failure>(&a)) return s->done(std::move(*f));
            auto& resp = std::get<http_response>(a);
            std::size_t total = 1;
            std::string error;
            auto rows = parse_paypal_transactions(resp.body, total, error);
            if (!rows) return s->done(bad_answer(resp.status, "transactions", error));
            for (auto& r : *rows) s->rows.push_back(std::move(r));
            if (s->page >= total || rows->empty()) return s->done(std::move(s->rows));
            if (s->page >= core::limits::paypal_search_pages_max) {
              psp_failure f;
              f.kind = psp_failure_kind::rejected;
              f.message = "PayPal's Transaction Search holds more than " +
                          std::to_string(core::limits::paypal_search_pages_max) + " pages.";
              return s->done(std::move(f));
            }
            ++s->page;
            search_page(im, s, deadline);
          });
}

/// Every row of [from, to), page after page.
void search(paypal_connector::impl& im, std::int64_t from, std::int64_t to,
            std::optional<std::string> transaction_id, std::int64_t timeout_ms,
            std::function<void(core::psp_outcome<std::vector<paypal_transaction>>)> done) {
  auto s = std::make_shared<search_state>();
  s->from = from;
  s->to = std::min(to, from + core::limits::paypal_search_window_s - 1);  // end_date is inclusive
  s->transaction_id = std::move(transaction_id);
  s->done = std::move(done);
  // Listing spans pages: it gets the whole budget, not one call's.
  search_page(im, s,
              clock::now() + std::chrono::milliseconds(std::max<std::int64_t>(timeout_ms, 1)));
}

/// The window of a list query: [gte, lt), 31 days back from now by default.
/// Withdrawals are searched a window past `lt` so each row's payout is seen.
std::pair<std::int64_t, std::int64_t> window_of(const core::psp_list_query& q) {
  auto now = unix_now();
  auto to = q.created_lt.value_or(now + 1);
  auto from = q.created_gte.value_or(to + 1 - core::limits::paypal_search_window_s);
  return {from, to};
}

}  // namespace

void paypal_connector::list_balance_transactions(const core::psp_list_query& query,
                                                 std::int64_t timeout_ms, balance_page_done done) {
  auto c =
      std::make_shared<completion<core::psp_page<core::psp_balance_transaction>>>(std::move(done));
  if (query.starting_after) {  // everything came on the first page
    boost::asio::post(impl_->local, [c] { (*c)(core::psp_page<core::psp_balance_transaction>{}); });
    return;
  }
  auto* im = impl_.get();
  if (query.payout) {
    // The withdrawal first: the rows it pays out came before it.
    auto payout = *query.payout;
    retrieve_payout(
        payout, timeout_ms, [c, im, payout, timeout_ms](core::psp_outcome<core::psp_payout> p) {
          if (auto* f = std::get_if<psp_failure>(&p)) return (*c)(std::move(*f));
          auto when = std::get<core::psp_payout>(p).created;
          search(*im, when - core::limits::paypal_search_window_s + 1, when + 1, std::nullopt,
                 timeout_ms, [c, payout](core::psp_outcome<std::vector<paypal_transaction>> o) {
                   if (auto* f = std::get_if<psp_failure>(&o)) return (*c)(std::move(*f));
                   auto view = paypal_settlement_of(
                       std::get<std::vector<paypal_transaction>>(std::move(o)));
                   core::psp_page<core::psp_balance_transaction> page;
                   for (auto& bt : view.transactions)
                     if (bt.payout == payout) page.data.push_back(std::move(bt));
                   std::reverse(page.data.begin(), page.data.end());
                   (*c)(std::move(page));
                 });
        });
    return;
  }
  auto [from, to] = window_of(query);
  search(
      *im, from, std::min(to + core::limits::paypal_search_window_s, unix_now() + 1), std::nullopt,
      timeout_ms, [c, from = from, to = to](core::psp_outcome<std::vector<paypal_transaction>> o) {
        if (auto* f = std::get_if<psp_failure>(&o)) return (*c)(std::move(*f));
        auto view = paypal_settlement_of(std::get<std::vector<paypal_transaction>>(std::move(o)));
        core::psp_page<core::psp_balance_transaction> page;
        for (auto& bt : view.transactions)
          if (bt.created >= from && bt.created < to) page.data.push_back(std::move(bt));
        std::reverse(page.data.begin(), page.data.end());  // newest first
        // Everything on one page, whatever `limit` asked: Transaction Search
        // pages by number, not by cursor, and the engine reads every page anyway.
        (*c)(std::move(page));
      });
}

void paypal_connector::list_payouts(const core::psp_list_query& query, std::int64_t timeout_ms,
                                    payout_page_done done) {
  auto c = std::make_shared<completion<core::psp_page<core::psp_payout>>>(std::move(done));
  if (query.starting_after) {
    boost::asio::post(impl_->local, [c] { (*c)(core::psp_page<core::psp_payout>{}); });
    return;
  }
  auto [from, to] = window_of(query);
  search(*impl_, from, to, std::nullopt, timeout_ms,
         [c, from = from, to = to](core::psp_outcome<std::vector<paypal_transaction>> o) {
           if (auto* f = std::get_if<psp_failure>(&o)) return (*c)(std::move(*f));
           auto view =
               paypal_settlement_of(std::get<std::vector<paypal_transaction>>(std::move(o)));
           core::psp_page<core::psp_payout> page;
           for (auto& p : view.payouts)
             if (p.created >= from && p.created < to) page.data.push_back(std::move(p));
           std::reverse(page.data.begin(), page.data.end());
           (*c)(std::move(page));
         });
}

void paypal_connector::retrieve_payout(const std::string& psp_payout_id, std::int64_t timeout_ms,
                                       payout_done done) {
  auto c = std::make_shared<completion<core::psp_payout>>(std::move(done));
  if (auto bad = check_id(psp_payout_id, "payout id")) return impl_->fail_locally(c, *bad);
  auto now = unix_now();
  search(*impl_, now + 2 - core::limits::paypal_search_window_s, now + 1, psp_payout_id, timeout_ms,
         [c, psp_payout_id](core::psp_outcome<std::vector<paypal_transaction>> o) {
           if (auto* f = std::get_if<psp_failure>(&o)) return (*c)(std::move(*f));
           auto view =
               paypal_settlement_of(std::get<std::vector<paypal_transaction>>(std::move(o)));
           for (auto& p : view.payouts)
             if (p.id == psp_payout_id) return (*c)(std::move(p));
           psp_failure f;
           f.kind = psp_failure_kind::rejected;
           f.http_status = 404;
           f.code = "RESOURCE_NOT_FOUND";
           f.message = "No PayPal withdrawal " + psp_payout_id + " in the last 31 days.";
           (*c)(std::move(f));
         });
}

void paypal_connector::verify_webhook_signature(std::string request_json, std::int64_t timeout_ms,
                                                std::function<void(core::psp_outcome<bool>)> done) {
  auto c = std::make_shared<completion<bool>>(std::move(done));
  impl_->send("POST", "/v1/notifications/verify-webhook-signature", std::move(request_json),
              std::nullopt, deadline_of(timeout_ms),
              [c](std::variant<http_response, psp_failure> a) mutable {
                if (auto* f = std::get_if<psp_failure>(&a)) return (*c)(std::move(*f));
                auto& resp = std::get<http_response>(a);
                rapidjson::Document doc;
                if (parse_json_object(resp.body, doc) != json_error::none)
                  return (*c)(bad_answer(resp.status, "a verification status",
                                         "the body is not a JSON object"));
                auto status = paypal_string(doc, "verification_status");
                if (status == "SUCCESS") return (*c)(true);
                if (status == "FAILURE") return (*c)(false);
                (*c)(bad_answer(resp.status, "a verification status", "'" + status + "'"));
              });
}

}  // namespace pay::psp
