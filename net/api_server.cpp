#include "net/api_server.hpp"

#include <atomic>
#include <charconv>
#include <memory>

#include "core/api_key.hpp"
#include "core/ids.hpp"
#include "core/limits.hpp"
#include "core/log.hpp"
#include "net/api_error.hpp"
#include "net/caf_bridge.hpp"
#include "net/intent_codec.hpp"
#include "net/json.hpp"
#include "net/router.hpp"

namespace pay::net {

namespace {

/// One request in flight: what came in, who asked, and how to answer.
struct call {
  http_request req;
  responder respond;
  std::string request_id;
  std::vector<std::string> params;
  storage::merchant merchant;

  void answer(http_response res) {
    res.headers.emplace_back("Request-Id", request_id);
    respond(std::move(res));
  }
  void fail(const core::error& e) { answer(error_response(e)); }
};

using call_ptr = std::shared_ptr<call>;

struct api_state;
using route_fn = void (*)(api_state&, const call_ptr&);

/// Shared by every request: the routes and the actors they talk to.
struct api_state {
  api_actors actors;
  api_options options;
  router<route_fn> routes;
  std::atomic<std::size_t> next_storage{0};

  const actors::storage_actor& storage() {
    return actors
        .storage[next_storage.fetch_add(1, std::memory_order_relaxed) % actors.storage.size()];
  }
  caf::actor_system& sys() { return *actors.system; }
};

/// A client-chosen request id is kept if it is short and plain; otherwise
/// (or when absent) a fresh one is made.
std::string request_id_of(const http_request& req) {
  if (auto given = req.header_value("X-Request-Id")) {
    bool plain = !given->empty() && given->size() <= 128;
    for (char c : *given)
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    if (plain) return std::string(*given);
  }
  return core::make_id(core::id_prefix::request);
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

// ---- routes -----------------------------------------------------------------

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

void get_payment_intent(api_state& st, const call_ptr& c) {
  ask<core::payment_intent>(
      st.sys(), st.storage(),
      [c](core::payment_intent pi) { c->answer(json_response(intent_json(pi))); },
      [c](core::error e) { c->fail(e); }, actors::fetch_atom::value, c->merchant.id, c->params[0]);
}

// ---- dispatch ---------------------------------------------------------------

void readiness_probe(api_state& st, const call_ptr& c) {
  ask<actors::readiness>(
      st.sys(), st.storage(),
      [c](actors::readiness r) {
        json_writer w;
        w.begin_object();
        bool ready = r.database_ok && r.migrations_ok;
        w.field("status", ready ? "ready" : "not_ready");
        w.field("database", r.database_ok ? "ok" : "unreachable");
        w.field("migrations", r.migrations_ok ? "applied" : "pending");
        if (!r.detail.empty()) w.field("detail", r.detail);
        w.end_object();
        c->answer(json_response(w.take(), ready ? 200 : 503));
      },
      [c](core::error e) { c->answer(error_response(503, "api_error", "not_ready", e.message)); },
      actors::ready_atom::value);
}

void authenticate_then(api_state& st, const call_ptr& c, route_fn route) {
  auto key = bearer_key(c->req);
  if (key.empty())
    return c->fail(
        core::make_error(core::errc::unauthorized,
                         "No API key provided. Send 'Authorization: Bearer <secret key>'."));
  auto* state = &st;
  ask<actors::merchant_ref>(
      st.sys(), st.storage(),
      [state, c, route](actors::merchant_ref m) {
        if (!m)
          return c->fail(core::make_error(core::errc::unauthorized, "Invalid API key provided."));
        c->merchant = std::move(*m);
        route(*state, c);
      },
      [c](core::error e) { c->fail(e); }, actors::authenticate_atom::value,
      core::hash_api_key(key));
}

void dispatch(const std::shared_ptr<api_state>& st, http_request req, responder respond) {
  auto c = std::make_shared<call>();
  c->request_id = request_id_of(req);
  c->req = std::move(req);
  c->respond = std::move(respond);
  const auto& path = c->req.path;
  const auto& method = c->req.method;

  if (path == "/healthz" && (method == "GET" || method == "HEAD"))
    return c->answer(json_response(R"({"status":"ok"})"));
  if (path == "/readyz" && (method == "GET" || method == "HEAD")) return readiness_probe(*st, c);

  auto found = st->routes.find(method, path);
  if (found.handler == nullptr) {
    if (!found.allow.empty()) {
      auto res = error_response(
          405, "invalid_request_error", "method_not_allowed",
          "Method " + method + " is not allowed on " + path + "; allowed: " + found.allow + ".");
      res.headers.emplace_back("Allow", found.allow);
      return c->answer(std::move(res));
    }
    return c->answer(error_response(404, "invalid_request_error", "route_not_found",
                                    "Unrecognized request URL (" + method + ": " + path + ")."));
  }
  c->params = std::move(found.params);
  authenticate_then(*st, c, *found.handler);
}

}  // namespace

request_handler make_api_handler(api_actors actors, api_options options) {
  auto st = std::make_shared<api_state>();
  st->actors = std::move(actors);
  st->options = std::move(options);
  st->routes.add("GET", "/v1/payment_intents", &list_payment_intents);
  st->routes.add("GET", "/v1/payment_intents/{id}", &get_payment_intent);
  return [st](http_request req, responder respond) {
    dispatch(st, std::move(req), std::move(respond));
  };
}

}  // namespace pay::net
