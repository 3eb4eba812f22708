#include "net/api_server.hpp"

#include "net/api_context.hpp"

#include <atomic>
#include <chrono>
#include <mutex>

#include <caf/send.hpp>
#include <charconv>
#include <memory>

#include "core/api_key.hpp"
#include "core/crypto.hpp"
#include "core/idempotency.hpp"
#include "core/ids.hpp"
#include "core/limits.hpp"
#include "core/log.hpp"
#include "core/utf8.hpp"
#include "net/api_error.hpp"
#include "net/caf_bridge.hpp"
#include "net/checkout_requests.hpp"
#include "net/intent_codec.hpp"
#include "net/json.hpp"
#include "net/ledger_codec.hpp"
#include "net/router.hpp"

namespace pay::net::api {

/// No handler for (method, path): 405 with Allow when the path exists with
/// other methods, else 404.
void answer_route_miss(const call_ptr& c, const router<route_fn>::match& found) {
  const auto& method = c->req.method;
  const auto& path = c->req.path;
  if (!found.allow.empty()) {
    auto res = error_response(
        405, "invalid_request_error", "method_not_allowed",
        "Method " + method + " is not allowed on " + path + "; allowed: " + found.allow + ".");
    res.headers.emplace_back("Allow", found.allow);
    return c->answer(std::move(res));
  }
  c->answer(error_response(404, "invalid_request_error", "route_not_found",
                           "Unrecognized request URL (" + method + ": " + path + ")."));
}

/// A client-chosen request id is kept if it is short and plain; otherwise
/// (or when absent) a fresh one is made.
static std::string request_id_of(const http_request& req) {
  if (auto given = req.header_value("X-Request-Id")) {
    bool plain = !given->empty() && given->size() <= 128;
    for (char c : *given)
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    if (plain) return std::string(*given);
  }
  return core::make_id(core::id_prefix::request);
}

/// The id kinds of routes with an {id}, checked for shape before anything
/// is looked up: a made-up id costs no actor, no database round trip.
struct id_route {
  std::string_view pattern_prefix;
  std::string_view id_prefix;
  std::string_view noun;
};
constexpr id_route id_routes[] = {
    {"/v1/payment_intents/{id}", core::id_prefix::payment_intent, "payment_intent"},
    {"/v1/refunds/{id}", core::id_prefix::refund, "refund"},
    {"/v1/payment_links/{id}", core::id_prefix::payment_link, "payment_link"},
    {"/v1/disputes/{id}", core::id_prefix::dispute, "dispute"},
    {"/v1/admin/intents/{id}", core::id_prefix::payment_intent, "payment_intent"},
};

/// Longest id echoed back in a not-found message (a hostile one can be the
/// whole request line).
constexpr std::size_t echoed_id_max = 64;

/// The not-found error for an id of the wrong shape, worded as a lookup miss
/// is (so the two cannot be told apart).
std::optional<core::error> id_shape_error(std::string_view pattern,
                                          const std::vector<std::string>& params) {
  if (params.empty()) return std::nullopt;
  for (const auto& r : id_routes) {
    if (!pattern.starts_with(r.pattern_prefix)) continue;
    const auto& id = params[0];
    if (core::has_prefix(id, r.id_prefix)) return std::nullopt;
    bool echo = id.size() <= echoed_id_max && core::check_text(id) == core::text_verdict::ok;
    return core::make_error(core::errc::not_found,
                            echo ? "No such " + std::string(r.noun) + ": '" + id + "'"
                                 : "No such " + std::string(r.noun) + ".");
  }
  return std::nullopt;
}

/// The key from `Authorization: Bearer <key>`, or empty.
std::string bearer_key(const http_request& req) {
  auto h = req.header_value("Authorization");
  if (!h) return {};
  std::string_view v = *h;
  if (v.size() < 7 || !iequals(v.substr(0, 7), "bearer ")) return {};
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return std::string(v);
}

/// Parses `limit` (1..list_limit_max, default list_limit_default).
core::result<std::size_t> parse_limit(const http_request& req) {
  auto given = req.query_param("limit");
  if (!given) return core::limits::list_limit_default;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(given->data(), given->data() + given->size(), n);
  if (ec != std::errc{} || p != given->data() + given->size() || n < 1 ||
      n > core::limits::list_limit_max)
    return core::make_error(
        core::errc::invalid_request,
        "limit must be an integer from 1 to " + std::to_string(core::limits::list_limit_max) + ".",
        "limit");
  return n;
}

// ---- request bodies -----------------------------------------------------------

/// Whether a Content-Type names JSON in UTF-8: `application/json`, with no
/// parameter or only `charset=utf-8` (RFC 8259 makes UTF-8 the only
/// encoding; a body declared as anything else would be misread).
bool is_utf8_json(std::string_view type) {
  auto semi = type.find(';');
  auto media = type.substr(0, semi);
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  if (!iequals(trim(media), "application/json")) return false;
  if (semi == std::string_view::npos) return true;
  auto rest = type.substr(semi + 1);
  while (!rest.empty()) {
    auto next = rest.find(';');
    auto param = trim(rest.substr(0, next));
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    if (param.empty()) continue;
    auto eq = param.find('=');
    if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "charset"))
      return false;
    auto value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (!iequals(value, "utf-8")) return false;
  }
  return true;
}

/// Parses the JSON body into c->body; answers 415/400 itself and returns
/// false when the body is not acceptable. An empty body is an empty object.
bool read_json_body(const call_ptr& c) {
  const auto& text = c->req.body;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    c->body.SetObject();
    return true;
  }
  if (!is_utf8_json(c->req.header_value("Content-Type").value_or(""))) {
    c->answer(error_response(415, "invalid_request_error", "unsupported_media_type",
                             "Send the request body as JSON with Content-Type: "
                             "application/json (no charset, or charset=utf-8)."));
    return false;
  }
  std::string where;
  auto err = parse_json_object(text, c->body, core::limits::json_depth_max, &where);
  if (err != json_error::none) {
    c->answer(error_response(400, "invalid_request_error", error_code(err), describe(err, where)));
    return false;
  }
  return true;
}

// ---- idempotent execution -----------------------------------------------------

/// Retryable errors leave the key resumable; every other answer is final.
bool is_final(core::errc code) {
  switch (code) {
    case core::errc::psp_unavailable:
    case core::errc::storage_unavailable:
    case core::errc::version_conflict:
    case core::errc::internal:
    case core::errc::overloaded:
    case core::errc::already_processed:
      return false;
    case core::errc::invalid_request:
    case core::errc::unauthorized:
    case core::errc::not_found:
    case core::errc::invalid_state:
    case core::errc::idempotency_key_reuse:
    case core::errc::idempotency_in_flight:
    case core::errc::psp_error:
    case core::errc::card_declined:
    case core::errc::limit_exceeded:
      return true;
  }
  return false;
}

http_response error_answer(const core::error& e) {
  auto res = error_response(e);
  if (e.code == core::errc::psp_unavailable || e.code == core::errc::overloaded)
    res.headers.emplace_back("Retry-After",
                             std::to_string((core::limits::breaker_open_ms + 999) / 1000));
  return res;
}

/// 24 base62 characters from a hex digest, for ids derived from a key.
static std::string base62_of(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size() && out.size() < core::id_random_chars; i += 2) {
    auto byte = std::stoi(std::string(hex.substr(i, 2)), nullptr, 16);
    out.push_back(core::base62_alphabet[static_cast<std::size_t>(byte) % 62]);
  }
  return out;
}

/// Runs `exec` under the request's Idempotency-Key: replays a finished
/// answer byte for byte, refuses a reused key (422) or one in flight (409),
/// and otherwise runs from the recorded recovery point, storing a final
/// answer or releasing the key after a retryable failure.
void run_idempotent(api_state& st, const call_ptr& c, executor exec) {
  auto key = c->req.header_value("Idempotency-Key");
  if (!key) {
    idem_ctx ctx;
    ctx.psp_key = core::make_id(core::id_prefix::request);
    return exec(ctx, [c](http_response res, bool) { c->answer(std::move(res)); });
  }
  if (!core::valid_idempotency_key(*key))
    return c->fail(core::make_error(core::errc::invalid_request,
                                    "Idempotency-Key must be 1 to 255 printable ASCII characters.",
                                    "Idempotency-Key"));
  operation_request op{c->merchant.id, std::string(*key),       c->req.method,
                       c->req.path,    canonical_json(c->body), c->deadline};
  run_operation(st, std::move(op), std::move(exec),
                [c](http_response res) { c->answer(std::move(res)); });
}

void run_operation(api_state& st, operation_request op, executor exec,
                   std::function<void(http_response)> answer) {
  storage::idempotency_request req;
  req.merchant_id = op.merchant_id;
  req.key = op.key;
  req.method = op.method;
  req.path = op.path;
  req.fingerprint = core::request_fingerprint(req.method, req.path, op.canonical_body);
  req.lease_ms = st.options.idempotency_lease_ms;
  req.holder = core::instance_id();
  auto* state = &st;
  auto fail = [answer](const core::error& e) { answer(error_response(e)); };
  ask_until<storage::idempotency_record>(
      op.deadline, st.sys(), st.storage(),
      [state, op, exec, answer, fail](storage::idempotency_record rec) {
        using storage::idempotency_state;
        switch (rec.state) {
          case idempotency_state::replay: {
            auto res = json_response(std::move(rec.response_body), rec.response_status);
            res.headers.emplace_back("Idempotent-Replayed", "true");
            return answer(std::move(res));
          }
          case idempotency_state::mismatch:
            return fail(core::make_error(
                core::errc::idempotency_key_reuse,
                "Keys for idempotent requests can only be used with the same parameters they "
                "were first used with.",
                "Idempotency-Key"));
          case idempotency_state::in_flight:
            return fail(core::make_error(
                core::errc::idempotency_in_flight,
                "A request with this Idempotency-Key is still being processed; retry later.",
                "Idempotency-Key"));
          case idempotency_state::fresh:
          case idempotency_state::resume:
            break;
        }
        // Derived from (merchant, key, record): every retry of the request, in
        // any engine process, sends the PSP the same key and creates the same
        // intent id; a key re-used after it expired gets a new record, so new
        // ids.
        auto digest =
            core::sha256_hex(op.merchant_id + "\n" + op.key + "\n" + std::to_string(rec.id));
        auto stored = std::make_shared<std::atomic<bool>>(false);
        idem_ctx ctx{rec.id,
                     rec.point,
                     rec.intent_id,
                     rec.refund_id,
                     rec.op_amount,
                     "pe_" + digest.substr(0, 40),
                     std::string(core::id_prefix::payment_intent) + "_" + base62_of(digest),
                     stored,
                     rec.state == idempotency_state::fresh};
        auto id = rec.id;
        exec(ctx, [state, answer, id, stored](http_response res, bool final) {
          // Committed with the operation itself: nothing more to store.
          if (final && stored->load()) return answer(std::move(res));
          auto status = res.status;
          auto body = res.body;
          auto send = [answer, res](auto&&...) mutable { answer(std::move(res)); };
          if (final) {
            ask<bool>(state->sys(), state->storage(), std::function<void(bool)>(send),
                      std::function<void(core::error)>(send), actors::idem_finish_atom::value,
                      actors::idem_answer{id, status, body});
          } else {
            ask<bool>(state->sys(), state->storage(), std::function<void(bool)>(send),
                      std::function<void(core::error)>(send), actors::idem_release_atom::value, id);
          }
        });
      },
      fail, actors::idem_begin_atom::value, std::move(req));
}

void start_create(api_state& st, const std::string& merchant_id, const create_intent_params& p,
                  const idem_ctx& ctx, const std::string& request_id,
                  std::chrono::steady_clock::time_point deadline, finish_fn done) {
  auto ok = [done](core::payment_intent pi) { done(json_response(intent_json(pi)), true); };
  auto err = [done](core::error e) { done(error_answer(e), is_final(e.code)); };
  if (ctx.point == core::recovery_point::psp_called && ctx.intent_id)
    return ask_until<core::payment_intent>(
        deadline, st.sys(), st.actors.router, ok, err, actors::get_atom::value,
        actors::get_command{merchant_id, *ctx.intent_id, request_id, deadline});
  core::payment_intent pi;
  pi.id = ctx.derived_intent_id.empty() ? core::make_id(core::id_prefix::payment_intent)
                                        : ctx.derived_intent_id;
  pi.merchant_id = merchant_id;
  pi.amount = p.amount;
  pi.currency = p.currency;
  pi.capture = p.capture;
  pi.merchant_initiated = p.merchant_initiated;
  pi.description = p.description;
  pi.metadata_json = p.metadata_json;
  pi.psp = p.psp.value_or(st.options.psp_name);
  actors::create_command cmd{pi, ctx.id, ctx.psp_key, request_id, deadline};
  cmd.return_url = p.return_url.value_or(public_base(st) + "/");
  cmd.routed = p.routed;
  cmd.payment_method_type = p.payment_method_type.value_or("card");
  // From `started` no row of this intent exists (the insert moves the key
  // past it in the same transaction): the new actor need not read it.
  cmd.known_new = ctx.point == core::recovery_point::started;
  cmd.first_attempt = ctx.first_attempt;
  if (ctx.id != 0 && ctx.answer_stored) {
    // The answer `ok` gives, stored with the intent's insert.
    cmd.render_answer = [](const core::payment_intent& written) { return intent_json(written); };
    cmd.answer_stored = ctx.answer_stored;
  }
  ask_until<core::payment_intent>(deadline, st.sys(), st.actors.router, ok, err,
                                  actors::create_atom::value, std::move(cmd));
}

core::status resolve_psp(const api_state& st, const storage::merchant& m, create_intent_params& p) {
  if (!p.psp) {
    p.psp = m.default_psp.value_or(st.options.psp_name);
    if (st.options.psps->find(*p.psp) == nullptr) p.psp = st.options.psp_name;
  }
  const auto* provider = st.options.psps->find(*p.psp);
  if (provider == nullptr)
    return core::make_error(core::errc::invalid_request,
                            "No PSP named '" + *p.psp + "' is configured on this engine.", "psp");
  p.psp = provider->name;  // an alias names its account
  return core::status::ok();
}

bool has_admin_token(const api_state& st, const http_request& req) {
  auto key = bearer_key(req);
  return !st.options.admin_token.empty() && !key.empty() &&
         core::constant_time_equal(key, st.options.admin_token);
}

/// An integer id from the path or query (ledger accounts and entries).
std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

namespace {

/// Continuations that turn an actor's answer into a final or retryable one.
/// A capture's or cancel's answer: 202 Accepted while the PSP has accepted
/// it and confirms it later (capture_pending, cancel_pending), 200 once done.
auto operation_done(finish_fn done) {
  return [done](core::payment_intent pi) {
    auto res = json_response(intent_json(pi));
    if (pi.status == core::intent_status::capture_pending ||
        pi.status == core::intent_status::cancel_pending)
      res.status = 202;
    done(std::move(res), true);
  };
}
auto error_done(finish_fn done) {
  return [done](core::error e) { done(error_answer(e), is_final(e.code)); };
}

/// Answers the intent as it is now (a resumed capture or cancel whose work
/// is done).
void answer_current(api_state& st, const call_ptr& c, const std::string& intent_id,
                    finish_fn done) {
  ask_until<core::payment_intent>(
      c->deadline, st.sys(), st.actors.router, operation_done(done), error_done(done),
      actors::get_atom::value,
      actors::get_command{c->merchant.id, intent_id, c->request_id, c->deadline});
}

// ---- checkout routes ------------------------------------------------------------

void list_payment_intents(api_state& st, const call_ptr& c) {
  auto limit = parse_limit(c->req);
  if (!limit) return c->fail(limit.err());
  actors::list_query q{c->merchant.id, *limit, c->req.query_param("starting_after")};
  ask<storage::intent_page>(
      st.sys(), st.storage(),
      [c](storage::intent_page page) {
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/payment_intents");
        w.field("has_more", page.has_more);
        w.key("data");
        w.begin_array();
        for (const auto& pi : page.data) write_intent(w, pi);
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::list_atom::value, std::move(q));
}

void create_payment_intent(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  auto params = parse_create_intent(c->body);
  if (!params) return c->fail(params.err());
  if (auto ok = resolve_psp(st, c->merchant, *params); !ok) return c->fail(ok.err());
  auto* state = &st;
  run_idempotent(st, c, [state, c, p = *params](const idem_ctx& ctx, finish_fn done) {
    // Without an Idempotency-Key the intent id is random, chosen here so the
    // access log names it.
    auto with_id = ctx;
    if (with_id.derived_intent_id.empty())
      with_id.derived_intent_id = core::make_id(core::id_prefix::payment_intent);
    c->intent_id = with_id.derived_intent_id;
    start_create(*state, c->merchant.id, p, with_id, c->request_id, c->deadline, std::move(done));
  });
}

void capture_payment_intent(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  auto amount = parse_capture(c->body);
  if (!amount) return c->fail(amount.err());
  auto* state = &st;
  run_idempotent(st, c, [state, c, amount = *amount](const idem_ctx& ctx, finish_fn done) {
    const auto& id = c->params[0];
    if (ctx.point == core::recovery_point::psp_called) return answer_current(*state, c, id, done);
    // From psp_requested an earlier attempt admitted the capture: finish it
    // with the amount it admitted, whatever the intent's state is now.
    bool resume = ctx.point == core::recovery_point::psp_requested;
    actors::capture_command cmd{c->merchant.id, id,          resume ? ctx.op_amount : amount,
                                ctx.id,         ctx.psp_key, c->request_id,
                                resume,         c->deadline};
    ask_until<core::payment_intent>(c->deadline, state->sys(), state->actors.router,
                                    operation_done(done), error_done(done),
                                    actors::capture_atom::value, std::move(cmd));
  });
}

void cancel_payment_intent(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  if (auto ok = parse_cancel(c->body); !ok) return c->fail(ok.err());
  auto* state = &st;
  run_idempotent(st, c, [state, c](const idem_ctx& ctx, finish_fn done) {
    const auto& id = c->params[0];
    if (ctx.point == core::recovery_point::psp_called) return answer_current(*state, c, id, done);
    bool resume = ctx.point == core::recovery_point::psp_requested;
    ask_until<core::payment_intent>(c->deadline, state->sys(), state->actors.router,
                                    operation_done(done), error_done(done),
                                    actors::cancel_atom::value,
                                    actors::cancel_command{c->merchant.id, id, ctx.id, ctx.psp_key,
                                                           c->request_id, resume, c->deadline});
  });
}

void create_refund(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  auto params = parse_refund(c->body);
  if (!params) return c->fail(params.err());
  c->intent_id = params->payment_intent;
  auto* state = &st;
  run_idempotent(st, c, [state, c, p = *params](const idem_ctx& ctx, finish_fn done) {
    if (ctx.point == core::recovery_point::psp_called && ctx.refund_id) {
      return ask<core::refund>(
          state->sys(), state->storage(),
          [done](core::refund r) { done(json_response(refund_json(r)), true); }, error_done(done),
          actors::refund_get_atom::value, c->merchant.id, *ctx.refund_id);
    }
    bool resume = ctx.point == core::recovery_point::psp_requested;
    actors::refund_command cmd{c->merchant.id,
                               p.payment_intent,
                               ctx.refund_id.value_or(core::make_id(core::id_prefix::refund)),
                               resume ? ctx.op_amount : p.amount,
                               p.reason,
                               ctx.id,
                               ctx.psp_key,
                               c->request_id,
                               resume,
                               c->deadline};
    ask_until<actors::refund_result>(
        c->deadline, state->sys(), state->actors.router,
        [done](actors::refund_result r) { done(json_response(refund_json(r.refund)), true); },
        error_done(done), actors::refund_atom::value, std::move(cmd));
  });
}

void get_payment_intent(api_state& st, const call_ptr& c) {
  // Through the intent's actor: a pending intent is refreshed from the PSP.
  auto* state = &st;
  ask_until<core::payment_intent>(
      c->deadline, st.sys(), st.actors.router,
      [state, c](core::payment_intent pi) {
        answer_intent_with_disputes(*state, c, std::move(pi));
      },
      [c](core::error e) { c->answer(error_answer(e)); }, actors::get_atom::value,
      actors::get_command{c->merchant.id, c->params[0], c->request_id, c->deadline});
}

void get_refund(api_state& st, const call_ptr& c) {
  ask<core::refund>(
      st.sys(), st.storage(), [c](core::refund r) { c->answer(json_response(refund_json(r))); },
      [c](core::error e) { c->fail(e); }, actors::refund_get_atom::value, c->merchant.id,
      c->params[0]);
}

void list_intent_events(api_state& st, const call_ptr& c) {
  auto id = c->params[0];
  ask<actors::audit_list>(
      st.sys(), st.storage(),
      [c, id](actors::audit_list events) { c->answer(json_response(audit_list_json(id, events))); },
      [c](core::error e) { c->fail(e); }, actors::audit_atom::value,
      actors::audit_query{c->merchant.id, id});
}

// ---- webhooks ------------------------------------------------------------------

/// Stores a verified body's events one after the other, then answers what
/// the PSP expects. A storage failure answers 503 (the PSP delivers the
/// body again; the events already stored are duplicates then).
void store_webhook_events(api_state* st, call_ptr c, const core::psp_provider* provider,
                          std::shared_ptr<std::vector<storage::inbox_item>> items, std::size_t next,
                          std::size_t duplicates, std::chrono::steady_clock::time_point started) {
  if (next == items->size()) {
    auto a = provider->webhooks->accepted(items->size(), duplicates);
    http_response res;
    res.status = a.status;
    res.content_type = a.content_type;
    res.body = std::move(a.body);
    return c->answer(std::move(res));
  }
  auto item = (*items)[next];
  ask<storage::inbox_receipt>(
      st->sys(), st->storage(),
      [st, c, provider, items, next, duplicates, started](storage::inbox_receipt receipt) {
        if (!receipt.duplicate) caf::anon_send(st->actors.worker, actors::wake_atom::value);
        observe_webhook_received(provider->name, receipt.duplicate, started);
        store_webhook_events(st, c, provider, items, next + 1,
                             duplicates + (receipt.duplicate ? 1 : 0), started);
      },
      // Not stored: a 503 makes the PSP deliver it again later.
      [c](core::error e) { c->answer(error_answer(e)); }, actors::inbox_add_atom::value,
      std::move(item));
}

/// POST /v1/webhooks/{psp}: the PSP's provider (core/psp_provider.hpp)
/// checks the signature before anything else and reads the body's events;
/// each verified event is stored raw in the inbox, then the PSP gets the
/// answer it expects (processing happens behind, in the webhook worker).
void receive_webhook(api_state& st, const call_ptr& c, std::string_view psp) {
  const auto* provider = st.options.psps->find(psp);
  if (provider == nullptr)
    return c->answer(error_response(404, "invalid_request_error", "unknown_psp",
                                    "No webhook endpoint for PSP '" + std::string(psp) + "'."));
  const auto& name = provider->name;
  const auto& webhooks = *provider->webhooks;
  if (!webhooks.configured()) {
    core::log::error("webhook refused: no webhook secret configured", {{"psp", name}});
    return c->answer(error_response(503, "api_error", "webhooks_not_configured",
                                    "Webhooks are not configured on this engine."));
  }
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  core::header_lookup headers = [c](std::string_view h) { return c->req.header_value(h); };
  auto verdict = webhooks.verify(headers, c->req.body, now_s);
  if (!verdict.ok) {
    st.webhook_signature_failures.fetch_add(1, std::memory_order_relaxed);
    engine_metrics().webhook_signature_failures.with({name, verdict.reason}).inc();
    core::log::warn("webhook signature refused",
                    {{"psp", name}, {"verdict", verdict.reason}, {"request_id", c->request_id}});
    return c->answer(error_response(400, "invalid_request_error", "invalid_signature",
                                    "The " + std::string(webhooks.signature_header()) +
                                        " header does not verify: " + verdict.reason + "."));
  }
  auto events = webhooks.parse(c->req.body);
  if (events.empty()) {
    st.webhook_invalid_events.fetch_add(1, std::memory_order_relaxed);
    engine_metrics().webhook_invalid_events.with({name}).inc();
    return c->answer(error_response(400, "invalid_request_error", "invalid_event",
                                    "The body holds no event this PSP's format describes."));
  }
  c->psp_event_id = events.front().id;
  auto signature = std::string(c->req.header_value(webhooks.signature_header()).value_or(""));
  auto items = std::make_shared<std::vector<storage::inbox_item>>();
  for (auto& e : events)
    items->push_back(
        storage::inbox_item{name, e.id, e.psp_type, e.object_id, std::move(e.payload), signature});
  store_webhook_events(&st, c, provider, std::move(items), 0, 0, std::chrono::steady_clock::now());
}

// ---- admin ---------------------------------------------------------------------

std::string dead_letters_json(const actors::dead_letter_list& list) {
  json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.field("url", "/v1/admin/dead_letters");
  w.key("data");
  w.begin_array();
  for (const auto& d : list) {
    w.begin_object();
    w.field("id", d.id);
    w.field("object", "dead_letter");
    w.field("inbox_id", d.inbox_id);
    w.field("psp", d.psp);
    w.field("event_id", d.event_id);
    w.field("event_type", d.event_type);
    w.field("reason", d.reason);
    w.field("created_ms", d.created_ms);
    w.field("replay_count", static_cast<std::int64_t>(d.replay_count));
    w.field("resolved", d.resolved);
    w.key("attempts");
    w.begin_array();
    for (const auto& a : d.attempts) {
      w.begin_object();
      w.field("attempt", static_cast<std::int64_t>(a.attempt));
      w.field("error", a.error);
      w.field("at_ms", a.at_ms);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

void list_dead_letters(api_state& st, const call_ptr& c) {
  auto limit = parse_limit(c->req);
  if (!limit) return c->fail(limit.err());
  bool include_resolved = c->req.query_param("include_resolved").value_or("") == "true";
  ask<actors::dead_letter_list>(
      st.sys(), st.storage(),
      [c](actors::dead_letter_list list) { c->answer(json_response(dead_letters_json(list))); },
      [c](core::error e) { c->fail(e); }, actors::dead_list_atom::value, include_resolved,
      static_cast<std::uint64_t>(*limit));
}

void replay(api_state& st, const call_ptr& c, actors::optional_id id) {
  auto* state = &st;
  ask<actors::id_list>(
      st.sys(), st.storage(),
      [state, c](actors::id_list ids) {
        if (!ids.empty()) caf::anon_send(state->actors.worker, actors::wake_atom::value);
        json_writer w;
        w.begin_object();
        w.key("replayed");
        w.begin_array();
        for (const auto& i : ids) w.value(i);
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take(), 202));
      },
      [c](core::error e) { c->fail(e); }, actors::dead_replay_atom::value, std::move(id));
}

void replay_one_dead_letter(api_state& st, const call_ptr& c) {
  replay(st, c, actors::optional_id{c->params[0]});
}

void replay_all_dead_letters(api_state& st, const call_ptr& c) {
  replay(st, c, std::nullopt);
}

void webhook_stats(api_state& st, const call_ptr& c) {
  auto* state = &st;
  ask<storage::inbox_stats>(
      st.sys(), st.storage(),
      [state, c](storage::inbox_stats s) {
        json_writer w;
        w.begin_object();
        w.field("pending", s.pending);
        w.field("oldest_pending_age_ms", s.oldest_pending_age_ms);
        w.field("dead_letters_open", s.dead_letters_open);
        w.field("signature_failures",
                state->webhook_signature_failures.load(std::memory_order_relaxed));
        w.field("invalid_events", state->webhook_invalid_events.load(std::memory_order_relaxed));
        w.end_object();
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::inbox_stats_atom::value);
}

/// /v1/admin/...: the admin token, compared in constant time, then the route.
void admin_request(api_state& st, const call_ptr& c) {
  if (!has_admin_token(st, c->req))
    return c->fail(core::make_error(core::errc::unauthorized,
                                    "The admin API needs 'Authorization: Bearer <admin token>'."));
  // Admin answers describe the live system: never cached.
  c->respond = [respond = std::move(c->respond)](http_response res) {
    res.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(res));
  };
  auto found = st.admin_routes.find(c->req.method, c->req.path);
  if (found.handler == nullptr) return answer_route_miss(c, found);
  c->params = std::move(found.params);
  c->route = found.pattern;
  if (auto e = id_shape_error(c->route, c->params)) return c->fail(*e);
  (*found.handler)(st, c);
}

// ---- ledger --------------------------------------------------------------------

/// The query's limit and starting_after (an integer id).
core::result<actors::ledger_query> ledger_page_query(const call_ptr& c) {
  auto limit = parse_limit(c->req);
  if (!limit) return limit.err();
  actors::ledger_query q{c->merchant.id, 0, *limit, std::nullopt};
  if (auto after = c->req.query_param("starting_after")) {
    q.starting_after = parse_id(*after);
    if (!q.starting_after)
      return core::make_error(core::errc::invalid_request, "starting_after must be an id.",
                              "starting_after");
  }
  return q;
}

void list_ledger_accounts(api_state& st, const call_ptr& c) {
  auto q = ledger_page_query(c);
  if (!q) return c->fail(q.err());
  ask<actors::account_page>(
      st.sys(), st.storage(),
      [c](actors::account_page page) { c->answer(json_response(accounts_json(page))); },
      [c](core::error e) { c->fail(e); }, actors::ledger_accounts_atom::value, std::move(*q));
}

void list_ledger_entries(api_state& st, const call_ptr& c) {
  auto q = ledger_page_query(c);
  if (!q) return c->fail(q.err());
  auto id = parse_id(c->params[0]);
  if (!id) return c->fail(core::make_error(core::errc::not_found, "No such ledger account."));
  q->account_id = *id;
  ask<actors::entry_page>(
      st.sys(), st.storage(),
      [c, id = *id](actors::entry_page page) { c->answer(json_response(entries_json(id, page))); },
      [c](core::error e) { c->fail(e); }, actors::ledger_entries_atom::value, std::move(*q));
}

void list_ledger_transactions(api_state& st, const call_ptr& c) {
  auto intent = c->req.query_param("payment_intent");
  if (!intent || intent->empty())
    return c->fail(core::make_error(core::errc::invalid_request,
                                    "Missing required param: payment_intent.", "payment_intent"));
  ask<actors::ledger_transactions>(
      st.sys(), st.storage(),
      [c](actors::ledger_transactions list) {
        c->answer(json_response(ledger_transactions_json(list)));
      },
      [c](core::error e) { c->fail(e); }, actors::ledger_tx_atom::value, c->merchant.id, *intent);
}

void get_trial_balance(api_state& st, const call_ptr& c) {
  ask<actors::trial_balance_lines>(
      st.sys(), st.storage(),
      [c](actors::trial_balance_lines lines) {
        c->answer(json_response(trial_balance_json(lines)));
      },
      [c](core::error e) { c->fail(e); }, actors::trial_balance_atom::value);
}

// ---- dispatch ---------------------------------------------------------------

/// /readyz: every storage connection is asked (each pings its own, and
/// reconnects when its backoff allows); ready only when all are up and the
/// migrations are applied, so a load balancer does not send traffic to an
/// engine most of whose connections are still reconnecting.
void readiness_probe(api_state& st, const call_ptr& c) {
  struct tally {
    std::mutex mutex;
    std::size_t waiting = 0;
    std::size_t up = 0;
    bool migrations_ok = true;
    std::string detail;
  };
  auto t = std::make_shared<tally>();
  t->waiting = st.actors.storage.size();
  auto total = t->waiting;
  auto finish = [c, t, total]() {
    // Called with the lock held, once, by the last answer.
    bool ready = t->up == total && t->migrations_ok;
    json_writer w;
    w.begin_object();
    w.field("status", ready ? "ready" : "not_ready");
    w.field("database", t->up == total ? "ok" : t->up == 0 ? "unreachable" : "degraded");
    w.field("connections_up", static_cast<std::uint64_t>(t->up));
    w.field("connections", static_cast<std::uint64_t>(total));
    w.field("migrations", t->migrations_ok ? "applied" : "pending");
    if (!t->detail.empty()) w.field("detail", t->detail);
    w.end_object();
    c->answer(json_response(w.take(), ready ? 200 : 503));
  };
  // A connection that does not answer within the probe's timeout (its
  // actor is stuck on a frozen database) counts as down.
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(core::limits::readiness_probe_timeout_ms);
  for (const auto& storage : st.actors.storage) {
    ask_until<actors::readiness>(
        deadline, st.sys(), storage,
        [t, finish](actors::readiness r) {
          std::lock_guard lock(t->mutex);
          if (r.database_ok) ++t->up;
          if (r.database_ok && !r.migrations_ok) t->migrations_ok = false;
          if (!r.detail.empty() && t->detail.empty()) t->detail = r.detail;
          if (--t->waiting == 0) finish();
        },
        [t, finish](core::error e) {
          std::lock_guard lock(t->mutex);
          if (t->detail.empty()) t->detail = e.message;
          if (--t->waiting == 0) finish();
        },
        actors::ready_atom::value);
  }
}

/// After authentication: finds the route (404, or 405 with Allow) and runs it.
void route_request(api_state& st, const call_ptr& c) {
  const auto& path = c->req.path;
  const auto& method = c->req.method;
  auto found = st.routes.find(method, path);
  if (found.handler == nullptr) return answer_route_miss(c, found);
  c->params = std::move(found.params);
  c->route = found.pattern;
  if (auto e = id_shape_error(c->route, c->params)) return c->fail(*e);
  (*found.handler)(st, c);
}

/// Why the request target cannot be served, if it cannot: the path and every
/// query key and value must decode to UTF-8 text without NUL, or they would
/// reach SQL parameters (PostgreSQL refuses them: a 500) and logs.
std::optional<std::string> target_problem(const http_request& req) {
  if (core::check_text(req.path) != core::text_verdict::ok)
    return "The request path is not valid UTF-8 text.";
  std::string_view rest = req.query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    for (auto part : {pair.substr(0, eq),
                      eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1)}) {
      auto decoded = percent_decode(part);
      if (!decoded) return "The query string has a malformed percent escape.";
      auto verdict = core::check_text(*decoded);
      if (verdict != core::text_verdict::ok)
        return "A query parameter " + std::string(core::describe(verdict)) + ".";
    }
  }
  return std::nullopt;
}

/// Takes a token from `limiter` for `key`; answers 429 and returns false
/// when there is none. Every answer of a limited request says where its
/// client stands (RateLimit-Limit, -Remaining, -Reset, in the IETF draft's
/// names), so well-behaved clients can pace themselves.
bool admit_rate(shared_limiter& limiter, std::string_view scope, const call_ptr& c,
                std::string_view key) {
  auto d = limiter.take(key);
  auto add_headers = [d](http_response& res) {
    res.headers.emplace_back("RateLimit-Limit", std::to_string(d.limit));
    res.headers.emplace_back("RateLimit-Remaining", std::to_string(d.remaining));
    res.headers.emplace_back("RateLimit-Reset", std::to_string(d.reset_s));
  };
  if (!d.allowed) {
    engine_metrics().rate_limited.with({scope}).inc();
    auto res =
        error_response(429, "invalid_request_error", "rate_limit",
                       "Too many requests; retry after " + std::to_string(d.retry_after_s) + " s.");
    add_headers(res);
    res.headers.emplace_back("Retry-After", std::to_string(d.retry_after_s));
    c->answer(std::move(res));
    return false;
  }
  c->respond = [add_headers, respond = std::move(c->respond)](http_response res) {
    add_headers(res);
    respond(std::move(res));
  };
  return true;
}

void authenticate_then(api_state& st, const call_ptr& c, route_fn route) {
  auto key = bearer_key(c->req);
  if (key.empty())
    return c->fail(
        core::make_error(core::errc::unauthorized,
                         "No API key provided. Send 'Authorization: Bearer <secret key>'."));
  auto* state = &st;
  auto hash = core::hash_api_key(key);
  // A key seen within limits::api_key_cache_ttl_s needs no database read.
  if (auto m = st.key_cache.find(hash, api_key_cache::clock::now())) {
    c->merchant = std::move(*m);
    if (!admit_rate(*state->api_limiter, "api", c, c->merchant.id)) return;
    return route(*state, c);
  }
  ask<actors::merchant_ref>(
      st.sys(), st.storage(),
      [state, c, route, hash](actors::merchant_ref m) {
        if (!m)
          return c->fail(core::make_error(core::errc::unauthorized, "Invalid API key provided."));
        state->key_cache.put(hash, *m, api_key_cache::clock::now());
        c->merchant = std::move(*m);
        if (!admit_rate(*state->api_limiter, "api", c, c->merchant.id)) return;
        route(*state, c);
      },
      [c](core::error e) { c->fail(e); }, actors::authenticate_atom::value, hash);
}

void dispatch(const std::shared_ptr<api_state>& st, http_request req, responder respond) {
  auto c = std::make_shared<call>();
  c->deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(st->options.request_deadline_ms);
  c->request_id = request_id_of(req);
  c->req = std::move(req);
  c->respond = observe_request(c.get(), std::move(respond));
  const auto& path = c->req.path;
  const auto& method = c->req.method;

  if (path == "/healthz" && (method == "GET" || method == "HEAD")) {
    c->route = "/healthz";
    return c->answer(json_response(R"({"status":"ok"})"));
  }
  if (path == "/readyz" && (method == "GET" || method == "HEAD")) {
    c->route = "/readyz";
    return readiness_probe(*st, c);
  }
  if (auto problem = target_problem(c->req))
    return c->answer(
        error_response(400, "invalid_request_error", "invalid_request_target", *problem));

  if (!path.starts_with("/v1/")) {
    auto found = st->public_routes.find(method, path);
    if (found.handler != nullptr) {
      c->params = std::move(found.params);
      c->route = found.pattern;
      // The shopper-facing pages answer anyone: limited per client address,
      // session creates (an intent and a PSP call each) most strictly.
      if (c->route == "/pay/{id}/session") {
        if (!admit_rate(*st->session_limiter, "session", c, c->req.remote_address)) return;
      } else if (c->route.starts_with("/pay/") || c->route.starts_with("/checkout/")) {
        if (!admit_rate(*st->public_limiter, "public", c, c->req.remote_address)) return;
      }
      return (*found.handler)(*st, c);
    }
    if (!found.allow.empty()) return answer_route_miss(c, found);
  }

  constexpr std::string_view webhooks = "/v1/webhooks/";
  if (path.starts_with(webhooks)) {
    c->route = "/v1/webhooks/{psp}";
    if (method != "POST") {
      auto res = error_response(405, "invalid_request_error", "method_not_allowed",
                                "Webhooks are delivered with POST.");
      res.headers.emplace_back("Allow", "POST");
      return c->answer(std::move(res));
    }
    return receive_webhook(*st, c, std::string_view(path).substr(webhooks.size()));
  }
  // Admin routes; the trial balance spans every merchant, so it is one.
  if (path.starts_with("/v1/admin/") || path == "/v1/ledger/trial_balance")
    return admin_request(*st, c);

  // Authenticate first, as Stripe does: without a key, not even whether a
  // route exists is revealed.
  authenticate_then(*st, c, &route_request);
}

}  // namespace

void add_checkout_routes(api_state& st) {
  st.routes.add("GET", "/v1/payment_intents", &list_payment_intents);
  st.routes.add("POST", "/v1/payment_intents", &create_payment_intent);
  st.routes.add("GET", "/v1/payment_intents/{id}", &get_payment_intent);
  st.routes.add("POST", "/v1/payment_intents/{id}/capture", &capture_payment_intent);
  st.routes.add("POST", "/v1/payment_intents/{id}/cancel", &cancel_payment_intent);
  st.routes.add("GET", "/v1/payment_intents/{id}/events", &list_intent_events);
  st.routes.add("POST", "/v1/refunds", &create_refund);
  st.routes.add("GET", "/v1/refunds/{id}", &get_refund);
}

void add_admin_routes(api_state& st) {
  st.admin_routes.add("GET", "/v1/admin/dead_letters", &list_dead_letters);
  st.admin_routes.add("POST", "/v1/admin/dead_letters/replay", &replay_all_dead_letters);
  st.admin_routes.add("POST", "/v1/admin/dead_letters/{id}/replay", &replay_one_dead_letter);
  st.admin_routes.add("GET", "/v1/admin/webhooks", &webhook_stats);
}

void add_ledger_routes(api_state& st) {
  st.admin_routes.add("GET", "/v1/ledger/trial_balance", &get_trial_balance);
  st.routes.add("GET", "/v1/ledger/accounts", &list_ledger_accounts);
  st.routes.add("GET", "/v1/ledger/accounts/{id}/entries", &list_ledger_entries);
  st.routes.add("GET", "/v1/ledger/transactions", &list_ledger_transactions);
}

void register_routes(api_state& st) {
  add_checkout_routes(st);
  add_admin_routes(st);
  add_ledger_routes(st);
  add_hosted_checkout_routes(st);
  add_metrics_routes(st);
  add_inspector_routes(st);
  add_reconciliation_routes(st);
  add_dispute_routes(st);
  add_routing_routes(st);
  add_webhook_endpoint_routes(st);
  add_openapi_routes(st);
}

}  // namespace pay::net::api

namespace pay::net {

request_handler make_api_handler(api_actors actors, api_options options) {
  auto st = std::make_shared<api::api_state>();
  st->actors = std::move(actors);
  st->options = std::move(options);
  st->api_limiter =
      std::make_unique<api::shared_limiter>(st->options.api_rate, st->options.rate_limit_keys_max);
  st->public_limiter = std::make_unique<api::shared_limiter>(st->options.public_rate,
                                                             st->options.rate_limit_keys_max);
  st->session_limiter = std::make_unique<api::shared_limiter>(st->options.session_rate,
                                                              st->options.rate_limit_keys_max);
  api::register_routes(*st);
  return [st](http_request req, responder respond) {
    api::dispatch(st, std::move(req), std::move(respond));
  };
}

}  // namespace pay::net
