// The actor inspector: JSON views of the live system under /v1/admin/...
// (behind the admin token) and the console's static files under /inspector
// (served only to loopback peers unless the operator allows remote ones).
// The console's files are embedded into the binary at build time
// (net/embed_web.cmake), so it needs no network and no files at run time.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "actors/inspector.hpp"
#include "core/intent_fsm.hpp"
#include "net/api_context.hpp"
#include "net/checkout_requests.hpp"
#include "net/intent_codec.hpp"
#include "net/json.hpp"
#include "net/ledger_codec.hpp"
#include "net/web_assets.hpp"

namespace pay::net::api {

namespace {

namespace insp = actors::inspector;

using insp::breaker_state_now;
using insp::unix_ms;

void write_actor(json_writer& w, const insp::actor_view& v, std::int64_t now) {
  w.begin_object();
  w.field("kind", v.kind);
  w.field("key", v.key);
  w.field("state", breaker_state_now(v, now));
  if (v.version >= 0)
    w.field("version", v.version);
  else
    w.field_null("version");
  w.field("mailbox_depth", v.mailbox);
  w.field("messages_handled", v.handled);
  if (v.last_message.empty())
    w.field_null("last_message");
  else
    w.field("last_message", v.last_message);
  if (v.last_ms > 0) {
    w.field("last_message_at_ms", v.last_ms);
    w.field("last_message_age_ms", now - v.last_ms);
  } else {
    w.field_null("last_message_at_ms");
    w.field_null("last_message_age_ms");
  }
  w.field("started_ms", v.started_ms);
  w.field("restarts", v.restarts);
  w.end_object();
}

/// GET /v1/admin/actors?kind=&limit=: live actors with counts per kind.
void list_actors(api_state&, const call_ptr& c) {
  std::size_t limit = core::limits::inspector_list_default;
  if (auto text = c->req.query_param("limit")) {
    auto n = parse_id(*text);
    if (!n || static_cast<std::size_t>(*n) > core::limits::inspector_list_max)
      return c->fail(core::make_error(
          core::errc::invalid_request,
          "limit must be between 1 and " + std::to_string(core::limits::inspector_list_max) + ".",
          "limit"));
    limit = static_cast<std::size_t>(*n);
  }
  auto kind = c->req.query_param("kind").value_or("");
  auto found = insp::list(kind, limit);
  auto now = unix_ms();
  json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.field("url", "/v1/admin/actors");
  w.field("total", found.total);
  w.key("counts");
  w.begin_object();
  for (const auto& [k, n] : found.counts) w.field(k, n);
  w.end_object();
  std::uint64_t matching = kind.empty() ? found.total : 0;
  if (!kind.empty())
    for (const auto& [k, n] : found.counts)
      if (k == kind) matching = n;
  w.field("has_more", matching > found.actors.size());
  w.key("data");
  w.begin_array();
  for (const auto& v : found.actors) write_actor(w, v, now);
  w.end_array();
  w.end_object();
  c->answer(json_response(w.take()));
}

/// GET /v1/admin/gateways: breaker, load and recent latency per PSP account.
void list_gateways(api_state&, const call_ptr& c) {
  auto found = insp::list(insp::kind::psp_gateway, core::limits::inspector_list_max);
  auto now = unix_ms();
  json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.field("url", "/v1/admin/gateways");
  w.key("data");
  w.begin_array();
  for (const auto& v : found.actors) {
    w.begin_object();
    w.field("object", "psp_gateway");
    w.field("psp", v.key);
    w.field("breaker_state", breaker_state_now(v, now));
    w.field("consecutive_failures", v.failures_consecutive);
    w.field("trips", v.trips);
    w.field("in_flight", v.in_flight);
    w.field("retry_after_ms", v.open_until_ms > now ? v.open_until_ms - now : 0);
    const auto& samples = v.latencies_ms;
    w.key("latency");
    w.begin_object();
    w.field("window", static_cast<std::uint64_t>(core::limits::inspector_latency_window));
    w.field("samples", static_cast<std::uint64_t>(samples ? samples->size() : 0));
    if (samples && !samples->empty()) {
      w.field("p50_ms", insp::percentile(*samples, 50));
      w.field("p99_ms", insp::percentile(*samples, 99));
      w.field("max_ms", samples->back());
    } else {
      w.field_null("p50_ms");
      w.field_null("p99_ms");
      w.field_null("max_ms");
    }
    w.end_object();
    w.field("messages_handled", v.handled);
    w.field("mailbox_depth", v.mailbox);
    if (v.last_ms > 0)
      w.field("last_message_at_ms", v.last_ms);
    else
      w.field_null("last_message_at_ms");
    w.end_object();
  }
  w.end_array();
  w.end_object();
  c->answer(json_response(w.take()));
}

/// What the intent view gathers from the database, step by step.
struct intent_inspection {
  core::payment_intent intent;
  actors::audit_list timeline;
};

/// GET /v1/admin/intents/{id}: any merchant's intent with its live actor,
/// audit timeline and ledger postings.
void inspect_intent(api_state& st, const call_ptr& c) {
  auto* state = &st;
  auto fail = [c](core::error e) { c->fail(e); };
  ask<core::payment_intent>(
      st.sys(), st.storage(),
      [state, c, fail](core::payment_intent pi) {
        auto found = std::make_shared<intent_inspection>();
        found->intent = std::move(pi);
        ask<actors::audit_list>(
            state->sys(), state->storage(),
            [state, c, fail, found](actors::audit_list events) {
              found->timeline = std::move(events);
              ask<actors::ledger_transactions>(
                  state->sys(), state->storage(),
                  [c, found](actors::ledger_transactions postings) {
                    const auto& pi = found->intent;
                    auto now = unix_ms();
                    json_writer w;
                    w.begin_object();
                    w.field("object", "intent_inspection");
                    w.field("id", pi.id);
                    w.field("merchant", pi.merchant_id);
                    w.field("state", core::to_string(pi.status));
                    w.field("version", pi.version);
                    w.key("actor");
                    if (auto live = insp::find(insp::kind::payment_intent, pi.id))
                      write_actor(w, *live, now);
                    else
                      w.null();
                    w.key("intent");
                    // The shopper's client secret lets whoever holds it
                    // confirm the payment: an operator's view has no use
                    // for it, and views get pasted into tickets.
                    auto redacted = pi;
                    redacted.client_secret.reset();
                    w.raw(intent_json(redacted));
                    w.key("timeline");
                    w.raw(audit_list_json(pi.id, found->timeline));
                    w.key("postings");
                    w.raw(ledger_transactions_json(postings));
                    w.end_object();
                    c->answer(json_response(w.take()));
                  },
                  fail, actors::ledger_tx_atom::value, found->intent.merchant_id, found->intent.id);
            },
            fail, actors::audit_atom::value,
            actors::audit_query{found->intent.merchant_id, found->intent.id});
      },
      fail, actors::load_atom::value, c->params[0]);
}

// ---- the console's files ---------------------------------------------------------

bool is_loopback(std::string_view address) {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

/// Headers of every console file: no framing, no inline script, no caching.
void harden(http_response& res) {
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "form-action 'none'");
  res.headers.emplace_back("X-Frame-Options", "DENY");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("Cache-Control", "no-store");
}

void serve_asset(api_state& st, const call_ptr& c, std::string_view name) {
  if (!st.options.inspector_remote && !is_loopback(c->req.remote_address))
    return c->answer(error_response(403, "invalid_request_error", "inspector_loopback_only",
                                    "The inspector console is served to loopback clients only; set "
                                    "PAYMENTS_INSPECTOR_REMOTE=true to allow others."));
  if (const auto* asset = find_web_asset("/inspector/" + std::string(name))) {
    http_response res;
    res.content_type = std::string(asset->content_type);
    res.body = std::string(asset->body);
    harden(res);
    return c->answer(std::move(res));
  }
  auto res =
      error_response(404, "invalid_request_error", "resource_missing", "No such inspector file.");
  harden(res);
  c->answer(std::move(res));
}

void console_page(api_state& st, const call_ptr& c) {
  serve_asset(st, c, "index.html");
}

void console_file(api_state& st, const call_ptr& c) {
  serve_asset(st, c, c->params[0]);
}

}  // namespace

void add_inspector_routes(api_state& st) {
  st.admin_routes.add("GET", "/v1/admin/actors", &list_actors);
  st.admin_routes.add("GET", "/v1/admin/gateways", &list_gateways);
  st.admin_routes.add("GET", "/v1/admin/intents/{id}", &inspect_intent);
  st.public_routes.add("GET", "/inspector", &console_page);
  st.public_routes.add("GET", "/inspector/{file}", &console_file);
}

}  // namespace pay::net::api
