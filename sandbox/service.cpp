#include "sandbox/service.hpp"

#include <cctype>
#include <charconv>
#include <chrono>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/limits.hpp"
#include "net/form.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"
#include "sandbox/clock.hpp"
#include "sandbox/log.hpp"
#include "sandbox/pages.hpp"

namespace pay::sandbox {

namespace {

using send_fn = std::function<void(net::http_response, std::int64_t)>;

net::http_response json_response(int status, std::string body) {
  net::http_response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

net::http_response from(const api_result& r) {
  return json_response(r.status, r.body);
}

api_error error_of(int status, std::string type, std::string message, std::string code = {},
                   std::string param = {}) {
  api_error e;
  e.status = status;
  e.type = std::move(type);
  e.message = std::move(message);
  e.code = std::move(code);
  e.param = std::move(param);
  return e;
}

std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

/// "sk_test_****abcd": enough to recognise a key, never the key itself.
std::string mask_key(std::string_view key) {
  auto prefix_end = key.find('_', 3);
  std::string prefix{key.substr(0, prefix_end == std::string_view::npos ? 0 : prefix_end + 1)};
  std::string tail{key.size() > 4 ? key.substr(key.size() - 4) : ""};
  return prefix + "****" + tail;
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

api_error unrecognized(const std::string& method, const std::string& path) {
  auto e = error_of(404, "invalid_request_error",
                    "Unrecognized request URL (" + method + ": " + path +
                        "). Please see https://stripe.com/docs or the psp-sandbox docs.");
  return e;
}

/// A control body: a JSON object (strings, integers, booleans) or a form.
std::optional<net::form_fields> control_fields(const std::string& body, std::string& error) {
  auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return net::form_fields{};
  if (body[first] != '{') {
    auto f = net::parse_form(body);
    if (!f) error = "The body is not valid form encoding.";
    return f;
  }
  rapidjson::Document doc;
  if (auto e = net::parse_json_object(body, doc); e != net::json_error::none) {
    error = std::string(net::describe(e));
    return std::nullopt;
  }
  net::form_fields out;
  for (auto& m : doc.GetObject()) {
    std::string name = m.name.GetString();
    if (m.value.IsString())
      out.emplace_back(name, m.value.GetString());
    else if (m.value.IsInt64())
      out.emplace_back(name, std::to_string(m.value.GetInt64()));
    else if (m.value.IsBool())
      out.emplace_back(name, m.value.GetBool() ? "true" : "false");
    else if (m.value.IsNull())
      out.emplace_back(name, "");
    else {
      error = "Field " + name + " must be a string, an integer or a boolean.";
      return std::nullopt;
    }
  }
  return out;
}

/// Stripe's `Stripe-Signature` header: "t=<t>" then one ",v1=<hex>" per
/// secret, each the HMAC-SHA256 of "<t>.<body>". The sandbox signs as the PSP
/// does, with its own code: the engine's verifier (psp/stripe/) is the other
/// side of the wire and is tested against this.
webhook_format stripe_webhook_format() {
  webhook_format f;
  f.content_type = "application/json; charset=utf-8";
  f.headers = [](const webhook_endpoint& ep, const std::string& payload) {
    std::vector<std::string> secrets{ep.secret};
    if (!ep.secret_next.empty()) secrets.push_back(ep.secret_next);
    auto t = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
    std::string header = "t=" + t;
    for (const auto& secret : secrets)
      header += ",v1=" + core::hmac_sha256_hex(secret, t + "." + payload);
    return std::vector<net::header>{
        {"Stripe-Signature", header},
        {"User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
        {"Cache-Control", "no-cache"},
        {"Accept", "*/*; q=0.5, application/xml"}};
  };
  return f;
}

}  // namespace

service::service(sandbox_options options)
    : options_(std::move(options)),
      rng_(options_.seed.value_or(0)),
      faults_(options_.faults),
      adyen_faults_(options_.faults),
      paypal_faults_(options_.faults),
      webhooks_(
          timers_,
          webhook_policy{options_.webhook_timeout_ms,
                         core::backoff_policy{
                             options_.webhook_backoff_base_ms, options_.webhook_backoff_max_ms,
                             options_.webhook_attempts_max, core::limits::retry_deadline_ms},
                         1'000},
          options_.seed.value_or(0), stripe_webhook_format()),
      store_(
          fee_schedule{options_.fee_percent_bp, options_.fee_fixed_minor}, options_.objects_max,
          [this](const std::string& id, const std::string& type, const std::string& json) {
            // Runs under mutex_, so the fault draws keep the seeded order.
            if (auto drop = webhook_drops_.find(type); drop != webhook_drops_.end()) {
              if (--drop->second <= 0) webhook_drops_.erase(drop);
              log_line("info", "webhook dropped by test control", {{"event", id}, {"type", type}});
              return;
            }
            delivery_faults f;
            f.duplicate = roll(faults_.webhook_duplicate_percent);
            f.out_of_order = roll(faults_.webhook_out_of_order_percent);
            f.drop_first = roll(faults_.webhook_drop_first_percent);
            f.delay_ms = faults_.webhook_delay_ms;
            webhooks_.deliver(id, json, f);
          }) {
  webhooks_.configure(webhook_endpoint{options_.webhook_url, options_.webhook_secret,
                                       options_.webhook_secret_next});
  store_.set_webhooks_enabled(!options_.webhook_url.empty());
  schedule_settlement();
  // The Adyen mode shares the fault knobs and their one seeded generator.
  adyen::fault_hooks hooks;
  hooks.api = [this] {
    std::lock_guard guard{mutex_};
    adyen::api_fault f;
    f.error = roll(adyen_faults_.error_percent);
    f.status_503 = rng_() % 2 == 1;
    bool hang = roll(adyen_faults_.hang_percent);
    f.latency_ms = adyen_faults_.latency_ms;
    f.hold_ms = hang ? adyen_faults_.hang_ms : 0;
    return f;
  };
  hooks.delivery = [this] {
    std::lock_guard guard{mutex_};
    delivery_faults f;
    f.duplicate = roll(adyen_faults_.webhook_duplicate_percent);
    f.out_of_order = roll(adyen_faults_.webhook_out_of_order_percent);
    f.drop_first = roll(adyen_faults_.webhook_drop_first_percent);
    f.delay_ms = adyen_faults_.webhook_delay_ms;
    return f;
  };
  adyen_ = std::make_unique<adyen::service>(options_, timers_, std::move(hooks));
  paypal::fault_hooks paypal_hooks;
  paypal_hooks.api = [this] {
    std::lock_guard guard{mutex_};
    paypal::api_fault f;
    f.error = roll(paypal_faults_.error_percent);
    f.status_503 = rng_() % 2 == 1;
    bool hang = roll(paypal_faults_.hang_percent);
    f.latency_ms = paypal_faults_.latency_ms;
    f.hold_ms = hang ? paypal_faults_.hang_ms : 0;
    return f;
  };
  paypal_hooks.delivery = [this] {
    std::lock_guard guard{mutex_};
    delivery_faults f;
    f.duplicate = roll(paypal_faults_.webhook_duplicate_percent);
    f.out_of_order = roll(paypal_faults_.webhook_out_of_order_percent);
    f.drop_first = roll(paypal_faults_.webhook_drop_first_percent);
    f.delay_ms = paypal_faults_.webhook_delay_ms;
    return f;
  };
  paypal_ = std::make_unique<paypal::service>(options_, timers_, std::move(paypal_hooks));
}

void service::set_base_url(const std::string& base) {
  paypal_->set_base_url(base);
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
  timers_.stop();  // sends held answers
  webhooks_.stop();
  adyen_->stop();
  paypal_->stop();
}

bool service::roll(std::int64_t percent) {
  // Always draw, so one knob's setting does not shift the others' sequence.
  auto draw = static_cast<std::int64_t>(rng_() % 100);
  return draw < percent;
}

void service::schedule_settlement() {
  if (options_.settlement_interval_s <= 0) return;
  timers_.post_after(options_.settlement_interval_s * 1'000, [this] {
    {
      std::lock_guard guard{mutex_};
      request_context ctx;
      auto r = store_.run_settlement(ctx);
      if (r.status != 200) log_line("warn", "settlement failed", {{"body", r.body}});
    }
    schedule_settlement();
  });
}

net::http_response service::transport_error(int status, std::string_view code,
                                            std::string_view message) {
  auto e = error_of(status, status >= 500 ? "api_error" : "invalid_request_error",
                    std::string(message), std::string(code));
  auto res = from(e.render());
  res.headers.emplace_back("Request-Id", "req_" + core::random_token(14));
  return res;
}

void service::handle(net::http_request req, net::responder respond) {
  auto started = std::chrono::steady_clock::now();
  auto request_id = "req_" + core::random_token(14);
  // The caller's own request id (X-Request-Id), logged next to ours so one
  // request can be followed across both sides; only plain, short ids.
  std::string client_request_id;
  if (auto given = req.header_value("X-Request-Id"); given && given->size() <= 128) {
    client_request_id = std::string(*given);
    for (char& c : client_request_id)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  auto finish = [respond, request_id, client_request_id, method = req.method, path = req.path,
                 started](net::http_response res) {
    res.headers.emplace_back("Request-Id", request_id);
    if (path.starts_with("/v1/") && !res.header_value("Access-Control-Allow-Origin"))
      res.headers.emplace_back("Access-Control-Allow-Origin", "*");
    if (path.starts_with("/v1/"))
      res.headers.emplace_back("Access-Control-Expose-Headers", "Request-Id");
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    log_line("info", "request",
             {{"request_id", request_id},
              {"client_request_id", client_request_id},
              {"method", method},
              {"path", path},
              {"status", res.status},
              {"duration_ms", static_cast<long long>(ms)}});
    respond(std::move(res));
  };
  send_fn send = [this, finish](net::http_response res, std::int64_t delay_ms) {
    if (delay_ms <= 0) return finish(std::move(res));
    timers_.post_after(
        delay_ms, [finish, res = std::move(res)]() mutable { finish(std::move(res)); }, true);
  };

  const auto& path = req.path;
  if (path.starts_with("/adyen/")) return adyen_->handle(req, send);
  if (path.starts_with("/paypal/")) return paypal_->handle(req, send);
  if (req.method == "GET" && path == "/healthz") {
    return finish(json_response(200, "{\"status\":\"ok\"}"));
  }
  if (req.method == "GET" &&
      (path == "/js/iframe.html" || path.starts_with("/3ds/") || path == "/js/iframe.js")) {
    net::http_response res;
    res.status = 200;
    if (path == "/js/iframe.js") {
      res.content_type = "application/javascript; charset=utf-8";
      res.body = std::string(card_iframe_js());
    } else {
      res.content_type = "text/html; charset=utf-8";
      res.body = std::string(path == "/js/iframe.html" ? card_iframe_html() : three_ds_html());
    }
    res.headers.emplace_back("Cache-Control", "no-store");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return finish(std::move(res));
  }
  if (path.starts_with("/_sandbox/")) {
    request_context ctx;
    ctx.request_id = request_id;
    auto host = req.header_value("Host");
    ctx.base_url = "http://" + std::string(host.value_or("127.0.0.1"));
    return finish(control(req, ctx));
  }
  if (req.method == "OPTIONS" && path.starts_with("/v1/")) {
    // CORS preflight: like api.stripe.com, the API may be called from any
    // origin's browser code with the publishable key.
    net::http_response res;
    res.status = 204;
    res.content_type.clear();
    res.headers = {{"Access-Control-Allow-Origin", "*"},
                   {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                   {"Access-Control-Allow-Headers",
                    "Authorization, Content-Type, Idempotency-Key, Stripe-Version"},
                   {"Access-Control-Max-Age", "300"}};
    return finish(std::move(res));
  }
  if (path.starts_with("/v1/")) {
    auto immediate = api(req, request_id, send);
    if (immediate.status != 0) finish(std::move(immediate));
    return;
  }
  finish(from(unrecognized(req.method, path).render()));
}

net::http_response service::api(const net::http_request& req, const std::string& request_id,
                                const send_fn& send) {
  // ---- parameters: the body for POST, the query string otherwise ----
  auto fields = net::parse_form(req.method == "POST" ? std::string_view{req.body}
                                                     : std::string_view{req.query});
  if (!fields)
    return from(error_of(400, "invalid_request_error",
                         "Invalid request: the parameters are not valid "
                         "application/x-www-form-urlencoded (bad percent escape).")
                    .render());

  // ---- authentication: Bearer, Basic (key as user), or Stripe.js's `key` ----
  std::string key;
  if (auto auth = req.header_value("Authorization")) {
    if (auth->starts_with("Bearer ")) {
      key = std::string(auth->substr(7));
    } else if (auth->starts_with("Basic ")) {
      auto decoded = base64_decode(auth->substr(6));
      if (decoded) key = decoded->substr(0, decoded->find(':'));
    } else {
      return from(error_of(401, "invalid_request_error",
                           "Invalid Authorization header: use Bearer auth (e.g. 'Authorization: "
                           "Bearer YOUR_SECRET_KEY') or Basic auth with the key as user.")
                      .render());
    }
  } else {
    for (auto it = fields->begin(); it != fields->end(); ++it) {
      if (it->first == "key") {
        key = it->second;
        break;
      }
    }
  }
  std::erase_if(*fields, [](const auto& kv) { return kv.first == "key"; });
  if (key.empty())
    return from(error_of(401, "invalid_request_error",
                         "You did not provide an API key. You need to provide your API key in "
                         "the Authorization header, using Bearer auth (e.g. 'Authorization: "
                         "Bearer YOUR_SECRET_KEY').")
                    .render());
  request_context ctx;
  ctx.request_id = request_id;
  auto host = req.header_value("Host");
  ctx.base_url = "http://" + std::string(host.value_or("127.0.0.1"));
  if (core::constant_time_equal(key, options_.secret_key)) {
    ctx.key = key_kind::secret;
  } else if (core::constant_time_equal(key, options_.publishable_key)) {
    ctx.key = key_kind::publishable;
  } else {
    return from(error_of(401, "invalid_request_error", "Invalid API Key provided: " + mask_key(key))
                    .render());
  }
  auto parts = split_path(req.path);
  if (ctx.key == key_kind::publishable) {
    bool allowed = parts.size() >= 3 && parts[1] == "payment_intents" &&
                   ((req.method == "GET" && parts.size() == 3) ||
                    (req.method == "POST" && parts.size() == 4 && parts[3] == "confirm"));
    if (!allowed)
      return from(error_of(401, "invalid_request_error",
                           "This API call cannot be made with a publishable API key. Please use "
                           "a secret API key.",
                           "secret_key_required")
                      .render());
  }

  // ---- faults, then idempotency (a 500/503 injected before the request is
  // processed leaves the key free, as a real failure before processing would) ----
  params p{std::move(*fields)};
  std::string idem_scope;
  std::string fingerprint;
  std::int64_t latency_ms = 0;
  std::int64_t hold_ms = 0;
  {
    std::lock_guard guard{mutex_};
    bool error = roll(faults_.error_percent);
    bool status_503 = rng_() % 2 == 1;
    bool hang = roll(faults_.hang_percent);
    if (error)
      return from(error_of(status_503 ? 503 : 500, "api_error",
                           "An error occurred with our connection to Stripe (injected by the "
                           "psp-sandbox error fault).",
                           status_503 ? "service_unavailable" : "api_error")
                      .render());
    latency_ms = faults_.latency_ms;
    ctx.async_confirm = faults_.processing_ms > 0;
    hold_ms = hang ? faults_.hang_ms : 0;
    if (auto idem = req.header_value("Idempotency-Key"); idem && req.method == "POST") {
      if (idem->empty() || idem->size() > core::limits::idempotency_key_length_max)
        return from(error_of(400, "invalid_request_error",
                             "Idempotency-Key must be between 1 and 255 characters long.", "",
                             "Idempotency-Key")
                        .render());
      ctx.idempotency_key = std::string(*idem);
      idem_scope = (ctx.key == key_kind::secret ? "sk:" : "pk:") + ctx.idempotency_key;
      fingerprint = core::sha256_hex(req.method + " " + req.path + "\n" + p.canonical());
      auto it = idempotency_.find(idem_scope);
      if (it != idempotency_.end()) {
        if (it->second.fingerprint != fingerprint)
          return from(error_of(400, "idempotency_error",
                               "Keys for idempotent requests can only be used with the same "
                               "parameters they were first used with. Try using a key other "
                               "than '" +
                                   ctx.idempotency_key +
                                   "' if you meant to execute a different request.")
                          .render());
        if (it->second.in_flight)
          return from(error_of(409, "idempotency_error",
                               "There is currently another in-progress request using this "
                               "Idempotency-Key; retry this request later.",
                               "idempotency_key_in_use")
                          .render());
        auto res = json_response(it->second.status, it->second.body);
        res.headers.emplace_back("Idempotent-Replayed", "true");
        res.headers.emplace_back("Original-Request", it->second.request_id);
        return res;
      }
      idempotency_.emplace(idem_scope, idempotency_entry{fingerprint, true, 0, {}, request_id});
      idempotency_order_.push_back(idem_scope);
      // Bounded like everything else: the oldest finished keys go first.
      while (idempotency_order_.size() > options_.objects_max) {
        auto oldest = idempotency_.find(idempotency_order_.front());
        if (oldest != idempotency_.end() && oldest->second.in_flight) break;
        if (oldest != idempotency_.end()) idempotency_.erase(oldest);
        idempotency_order_.pop_front();
      }
    }
  }

  auto work = [this, method = req.method, path = req.path, p = std::move(p), ctx, idem_scope, send,
               hold_ms]() {
    api_result r;
    {
      std::lock_guard guard{mutex_};
      r = dispatch(method, path, p, ctx);
      for (auto& id : store_.take_processing()) {
        timers_.post_after(faults_.processing_ms, [this, id, ctx] {
          std::lock_guard inner{mutex_};
          store_.finish_processing(id, ctx);
        });
      }
      if (!idem_scope.empty()) {
        auto it = idempotency_.find(idem_scope);
        if (it != idempotency_.end()) {
          // A server error is not a result: the retry runs again, as at Stripe.
          if (r.status >= 500) {
            idempotency_.erase(it);
          } else {
            it->second.in_flight = false;
            it->second.status = r.status;
            it->second.body = r.body;
          }
        }
      }
    }
    send(from(r), hold_ms);
  };
  if (latency_ms > 0)
    timers_.post_after(latency_ms, std::move(work), true);
  else
    work();
  net::http_response none;
  none.status = 0;
  return none;
}

api_result service::dispatch(const std::string& method, const std::string& path, const params& p,
                             const request_context& ctx) {
  auto parts = split_path(path);  // parts[0] == "v1"
  auto n = parts.size();
  const std::string& kind = n >= 2 ? parts[1] : std::string{};
  if (kind == "payment_intents") {
    if (n == 2 && method == "POST") return store_.create_payment_intent(p, ctx);
    if (n == 3 && method == "GET") return store_.retrieve_payment_intent(parts[2], p, ctx);
    if (n == 4 && method == "POST") {
      if (parts[3] == "confirm") return store_.confirm_payment_intent(parts[2], p, ctx);
      if (parts[3] == "capture") return store_.capture_payment_intent(parts[2], p, ctx);
      if (parts[3] == "cancel") return store_.cancel_payment_intent(parts[2], p, ctx);
    }
  } else if (kind == "refunds") {
    if (n == 2 && method == "POST") return store_.create_refund(p, ctx);
    if (n == 3 && method == "GET") return store_.retrieve_refund(parts[2]);
  } else if (kind == "charges") {
    if (n == 3 && method == "GET") return store_.retrieve_charge(parts[2]);
  } else if (kind == "events") {
    if (n == 2 && method == "GET") return store_.list_events(p);
    if (n == 3 && method == "GET") return store_.retrieve_event(parts[2]);
  } else if (kind == "balance_transactions") {
    if (n == 2 && method == "GET") return store_.list_balance_transactions(p);
    if (n == 3 && method == "GET") return store_.retrieve_balance_transaction(parts[2]);
  } else if (kind == "payouts") {
    if (n == 2 && method == "GET") return store_.list_payouts(p);
    if (n == 3 && method == "GET") return store_.retrieve_payout(parts[2]);
  } else if (kind == "disputes") {
    if (n == 2 && method == "GET") return store_.list_disputes(p);
    if (n == 3 && method == "GET") return store_.retrieve_dispute(parts[2]);
    if (n == 3 && method == "POST") return store_.update_dispute(parts[2], p, ctx);
  }
  return unrecognized(method, path).render();
}

namespace {

/// {"now": sandbox unix seconds, "offset_s": how far ahead of wall time}.
std::string clock_json() {
  net::json_writer w;
  w.begin_object();
  w.field("now", clock::now_s());
  w.field("offset_s", clock::offset_s());
  w.end_object();
  return w.take();
}

}  // namespace

net::http_response service::control(const net::http_request& req, const request_context& ctx) {
  std::string parse_error;
  auto fields = control_fields(req.body, parse_error);
  if (!fields) return from(error_of(400, "invalid_request_error", parse_error).render());
  params p{std::move(*fields)};
  auto parts = split_path(req.path);  // parts[0] == "_sandbox"
  auto n = parts.size();

  // The 3-D Secure page authenticates with the intent's client secret, as
  // the shopper's browser holds nothing else.
  bool three_ds = n == 4 && parts[1] == "3ds" && req.method == "POST" &&
                  (parts[3] == "approve" || parts[3] == "fail");
  std::string key;
  if (auto auth = req.header_value("Authorization"); auth && auth->starts_with("Bearer "))
    key = std::string(auth->substr(7));
  bool secret_ok = !key.empty() && core::constant_time_equal(key, options_.secret_key);
  std::lock_guard guard{mutex_};
  if (three_ds) {
    auto secret = p.get("client_secret");
    if (!secret_ok && !(secret && store_.client_secret_matches(parts[2], *secret)))
      return from(error_of(401, "invalid_request_error",
                           "Give the secret key as a Bearer token or the intent's "
                           "client_secret.")
                      .render());
    return from(store_.complete_authentication(parts[2], parts[3] == "approve", ctx));
  }
  if (!secret_ok)
    return from(error_of(401, "invalid_request_error",
                         key.empty() ? "You did not provide an API key."
                                     : "Invalid API Key "
                                       "provided: " +
                                           mask_key(key))
                    .render());
  if (n == 2 && parts[1] == "faults") {
    // "psp" picks one mode's knobs (stripe, adyen, paypal); without it a
    // POST sets every mode's alike and a GET shows the Stripe mode's.
    auto psp = req.method == "GET" ? req.query_param("psp") : p.get("psp");
    fault_settings* target = &faults_;
    if (psp && *psp == "adyen")
      target = &adyen_faults_;
    else if (psp && *psp == "paypal")
      target = &paypal_faults_;
    else if (psp && *psp != "stripe")
      return from(
          error_of(400, "invalid_request_error", "psp must be stripe, adyen or paypal", "", "psp")
              .render());
    if (req.method == "GET") return json_response(200, to_json(*target));
    if (req.method == "POST") {
      std::vector<fault_settings*> targets{target};
      if (!psp) targets = {&faults_, &adyen_faults_, &paypal_faults_};
      std::vector<fault_settings> next;
      for (auto* t : targets) next.push_back(*t);
      for (const auto& [name, value] : p.fields()) {
        if (name == "psp") continue;
        if (name == "reset") {
          if (value == "true")
            for (auto& one : next) one = fault_settings{};
          continue;
        }
        std::int64_t number = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (ec != std::errc{} || ptr != value.data() + value.size() || value.empty())
          return from(error_of(400, "invalid_request_error", name + " must be an integer", "", name)
                          .render());
        if (name == "seed") {
          if (number < 0)
            return from(
                error_of(400, "invalid_request_error", "seed must be >= 0", "", name).render());
          rng_.seed(static_cast<std::uint64_t>(number));
          continue;
        }
        for (auto& one : next)
          if (auto err = set_fault(one, name, number); !err.empty())
            return from(error_of(400, "invalid_request_error", err, "", name).render());
      }
      for (std::size_t i = 0; i < targets.size(); ++i) *targets[i] = next[i];
      log_line("info", "faults set",
               {{"psp", psp.value_or("all")}, {"faults", to_json(*targets.front())}});
      return json_response(200, to_json(*targets.front()));
    }
  }
  // The test clock (sandbox/clock.hpp): moves every sandbox timestamp
  // forward; what lapses by the new time happens now (Stripe's automatic
  // cancel of uncaptured intents), and lazily when an object is read.
  if (n == 2 && parts[1] == "clock" && req.method == "GET") return json_response(200, clock_json());
  if (n == 3 && parts[1] == "clock" && parts[2] == "advance" && req.method == "POST") {
    if (auto bad = p.first_unknown({"seconds"}))
      return from(error_of(400, "invalid_request_error", "Received unknown parameter: " + *bad,
                           "parameter_unknown", *bad)
                      .render());
    auto raw = p.get("seconds");
    std::int64_t seconds = 0;
    auto bad_seconds = [&] {
      return from(error_of(400, "invalid_request_error",
                           "seconds must be an integer from 1 to " +
                               std::to_string(core::limits::sandbox_clock_advance_max_s) + ".",
                           raw ? "parameter_invalid_integer" : "parameter_missing", "seconds")
                      .render());
    };
    if (!raw) return bad_seconds();
    auto [ptr, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), seconds);
    if (ec != std::errc{} || ptr != raw->data() + raw->size() || seconds < 1 ||
        seconds > core::limits::sandbox_clock_advance_max_s)
      return bad_seconds();
    clock::advance(seconds);
    auto expired = store_.expire_lapsed(ctx) + adyen_->expire_lapsed();
    log_line("info", "test clock advanced",
             {{"seconds", std::to_string(seconds)},
              {"offset_s", std::to_string(clock::offset_s())},
              {"intents_expired", std::to_string(expired)}});
    return json_response(200, clock_json());
  }
  if (n == 3 && parts[1] == "settlement" && parts[2] == "run" && req.method == "POST")
    return from(store_.run_settlement(ctx));
  // Test control for disputes: the issuer's decision.
  if (n == 4 && parts[1] == "disputes" && parts[3] == "close" && req.method == "POST") {
    auto answer = store_.close_dispute(parts[2], p, ctx);
    if (answer.status == 200)
      log_line("info", "dispute closed by test control",
               {{"dispute", parts[2]}, {"outcome", p.get("outcome").value_or("")}});
    return from(std::move(answer));
  }
  // Test controls for reconciliation: discrepancies made at the PSP only.
  if (n == 4 && parts[1] == "charges" && parts[3] == "delete" && req.method == "POST") {
    auto answer = store_.delete_charge(parts[2]);
    if (answer.status == 200)
      log_line("info", "charge deleted by test control", {{"charge", parts[2]}});
    return from(std::move(answer));
  }
  if (n == 4 && parts[1] == "refunds" && parts[3] == "fail" && req.method == "POST") {
    auto answer = store_.fail_refund(parts[2], ctx);
    if (answer.status == 200)
      log_line("info", "refund failed by test control", {{"refund", parts[2]}});
    return from(std::move(answer));
  }
  if (n == 4 && parts[1] == "payouts" && parts[3] == "fail" && req.method == "POST") {
    auto answer = store_.fail_payout(parts[2], ctx);
    if (answer.status == 200)
      log_line("info", "payout failed by test control", {{"payout", parts[2]}});
    return from(std::move(answer));
  }
  if (n == 3 && parts[1] == "balance_transactions" && req.method == "POST") {
    auto answer = store_.alter_balance_transaction(parts[2], p);
    if (answer.status == 200)
      log_line("info", "balance transaction altered by test control", {{"id", parts[2]}});
    return from(std::move(answer));
  }
  if (n == 2 && parts[1] == "webhook_drops") {
    if (req.method == "POST") {
      if (auto bad = p.first_unknown({"type", "count"}))
        return from(error_of(400, "invalid_request_error", "Received unknown parameter: " + *bad,
                             "parameter_unknown", *bad)
                        .render());
      auto type = p.get("type");
      if (!type || type->empty())
        return from(error_of(400, "invalid_request_error", "type is required (an event type).",
                             "parameter_missing", "type")
                        .render());
      std::int64_t count = 1;
      if (auto raw = p.get("count")) {
        auto [ptr, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), count);
        if (ec != std::errc{} || ptr != raw->data() + raw->size() || count < 0 || count > 1000)
          return from(error_of(400, "invalid_request_error", "count must be 0..1000", "", "count")
                          .render());
      }
      if (count == 0)
        webhook_drops_.erase(*type);
      else
        webhook_drops_[*type] = count;
    }
    if (req.method == "POST" || req.method == "GET") {
      net::json_writer w;
      w.begin_object();
      for (const auto& [type, count] : webhook_drops_) w.field(type, count);
      w.end_object();
      return json_response(200, w.take());
    }
  }
  if (n == 2 && parts[1] == "webhook_endpoint") {
    if (req.method == "POST") {
      if (auto bad = p.first_unknown({"url", "secret", "secret_next"}))
        return from(error_of(400, "invalid_request_error", "Received unknown parameter: " + *bad,
                             "parameter_unknown", *bad)
                        .render());
      auto ep = webhooks_.endpoint();
      if (auto url = p.get("url")) ep.url = *url;
      if (auto secret = p.get("secret")) ep.secret = *secret;
      if (auto next = p.get("secret_next")) ep.secret_next = *next;
      if (!ep.url.empty() && !net::parse_url(ep.url))
        return from(error_of(400, "invalid_request_error", "url must be an http(s) URL", "", "url")
                        .render());
      if (!ep.url.empty() && ep.secret.empty())
        return from(error_of(400, "invalid_request_error",
                             "A secret (whsec_...) is required to sign deliveries.", "", "secret")
                        .render());
      webhooks_.configure(ep);
      store_.set_webhooks_enabled(!ep.url.empty());
    }
    if (req.method == "POST" || req.method == "GET") {
      auto ep = webhooks_.endpoint();
      net::json_writer w;
      w.begin_object();
      w.field("url", ep.url);
      w.field("secret_set", !ep.secret.empty());
      w.field("secret_next_set", !ep.secret_next.empty());
      w.end_object();
      return json_response(200, w.take());
    }
  }
  if (n == 2 && parts[1] == "webhook_deliveries" && req.method == "GET")
    return json_response(200, webhooks_.attempts_json());
  if (n == 2 && parts[1] == "state" && req.method == "GET") {
    net::json_writer w;
    w.begin_object();
    w.key("objects");
    w.raw(store_.counts_json());
    w.key("faults");
    w.raw(to_json(faults_));
    w.field("webhook_url", webhooks_.endpoint().url);
    w.field("fee_percent_bp", options_.fee_percent_bp);
    w.field("fee_fixed_minor", options_.fee_fixed_minor);
    w.field("settlement_interval_s", options_.settlement_interval_s);
    w.field("idempotency_keys", static_cast<std::uint64_t>(idempotency_.size()));
    w.key("adyen");
    w.raw(adyen_->counts_json());
    w.key("paypal");
    w.raw(paypal_->counts_json());
    w.key("faults_by_psp");
    w.begin_object();
    w.key("stripe");
    w.raw(to_json(faults_));
    w.key("adyen");
    w.raw(to_json(adyen_faults_));
    w.key("paypal");
    w.raw(to_json(paypal_faults_));
    w.end_object();
    w.end_object();
    return json_response(200, w.take());
  }
  return from(unrecognized(req.method, req.path).render());
}

}  // namespace pay::sandbox
