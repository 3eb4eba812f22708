// Outbound webhooks, the merchant's side: endpoints (register, list, read,
// change, delete, roll the secret), the event log, deliveries with their
// attempts, and replays. Storage work goes to the outbound store actor;
// replays wake the delivery supervisor. See docs/merchant-webhooks.md.

#include <algorithm>
#include <cctype>

#include <caf/send.hpp>

#include "core/limits.hpp"
#include "core/log.hpp"
#include "core/outbound_events.hpp"
#include "net/api_context.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"

namespace pay::net::api {

namespace {

namespace ob = actors::outbound;

core::error bad(std::string message, std::string param) {
  return core::make_error(core::errc::invalid_request, std::move(message), std::move(param));
}

core::error not_configured() {
  return core::make_error(core::errc::storage_unavailable,
                          "Outbound webhooks are not running on this engine.");
}

const rapidjson::Value* field(const rapidjson::Value& body, const char* name) {
  auto it = body.FindMember(name);
  if (it == body.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

core::status only_fields(const rapidjson::Value& body,
                         std::initializer_list<std::string_view> allowed) {
  for (const auto& m : body.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      return bad("Received unknown parameter: " + std::string(name), std::string(name));
  }
  return core::status::ok();
}

/// True for hosts that can only be this machine (plain http is allowed
/// there, for development receivers).
bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  if (!host.starts_with("127.")) return false;
  return std::all_of(host.begin(), host.end(), [](char ch) {
    return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.';
  });
}

core::result<std::string> parse_endpoint_url(const rapidjson::Value& v) {
  if (!v.IsString()) return bad("url must be a string.", "url");
  std::string url(v.GetString(), v.GetStringLength());
  if (url.size() > core::limits::webhook_url_bytes_max)
    return bad("url must be at most " + std::to_string(core::limits::webhook_url_bytes_max) +
                   " characters.",
               "url");
  auto parts = parse_url(url);
  bool printable = std::all_of(url.begin(), url.end(), [](char ch) {
    return static_cast<unsigned char>(ch) > 0x20 && static_cast<unsigned char>(ch) < 0x7f;
  });
  if (!parts || !printable || url.find('#') != std::string::npos)
    return bad("url must be an absolute https:// URL.", "url");
  if (!parts->tls && !is_loopback_host(parts->host))
    return bad("url must use https (plain http is allowed only to a loopback address).", "url");
  return url;
}

core::result<std::vector<std::string>> parse_enabled_events(const rapidjson::Value& v) {
  if (!v.IsArray() || v.Empty())
    return bad("enabled_events must be a non-empty array of event types or '*'.", "enabled_events");
  if (v.Size() > core::limits::webhook_enabled_events_max)
    return bad("enabled_events can list at most " +
                   std::to_string(core::limits::webhook_enabled_events_max) + " types.",
               "enabled_events");
  std::vector<std::string> out;
  for (const auto& e : v.GetArray()) {
    std::string name = e.IsString() ? std::string(e.GetString(), e.GetStringLength()) : "";
    if (name != "*" && !core::parse_outbound_event_type(name))
      return bad("Unknown event type in enabled_events: '" + name + "'.", "enabled_events");
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return out;
}

core::result<std::optional<std::string>> parse_description(const rapidjson::Value& body) {
  const auto* d = field(body, "description");
  if (d == nullptr) return std::optional<std::string>{};
  if (!d->IsString()) return bad("description must be a string.", "description");
  if (d->GetStringLength() > core::limits::description_length_max)
    return bad("description must be at most " +
                   std::to_string(core::limits::description_length_max) + " characters.",
               "description");
  return std::optional<std::string>{std::string(d->GetString(), d->GetStringLength())};
}

void write_endpoint(json_writer& w, const storage::webhook_endpoint& e) {
  w.begin_object();
  w.field("id", e.id);
  w.field("object", "webhook_endpoint");
  w.field("url", e.url);
  w.field_optional("description", e.description);
  w.key("enabled_events");
  w.begin_array();
  for (const auto& name : e.enabled_events) w.value(name);
  w.end_array();
  w.field("status", e.status);
  w.field_optional("disabled_reason", e.disabled_reason);
  w.field("created", e.created);
  if (e.secret) w.field("secret", *e.secret);
  if (e.previous_secret_expires) w.field("previous_secret_expires", *e.previous_secret_expires);
  w.end_object();
}

std::string endpoint_json(const storage::webhook_endpoint& e) {
  json_writer w;
  write_endpoint(w, e);
  return w.take();
}

template <class R, class Q>
void ask_store(api_state& st, const call_ptr& c, Q query, std::function<void(R)> on_value) {
  if (!st.actors.outbound_store) return c->fail(not_configured());
  ask<R>(
      st.sys(), st.actors.outbound_store, std::move(on_value), [c](core::error e) { c->fail(e); },
      std::move(query));
}

void wake_delivery(api_state& st) {
  if (st.actors.outbound_supervisor)
    caf::anon_send(st.actors.outbound_supervisor, ob::wake_atom::value);
}

// ---- endpoints ------------------------------------------------------------------------

void create_endpoint(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  const auto& body = c->body;
  if (auto ok = only_fields(body, {"url", "enabled_events", "description"}); !ok)
    return c->fail(ok.err());
  storage::endpoint_fields f;
  const auto* url = field(body, "url");
  if (url == nullptr) return c->fail(bad("Missing required param: url.", "url"));
  auto u = parse_endpoint_url(*url);
  if (!u) return c->fail(u.err());
  f.url = *u;
  const auto* events = field(body, "enabled_events");
  if (events == nullptr)
    return c->fail(bad("Missing required param: enabled_events.", "enabled_events"));
  auto ev = parse_enabled_events(*events);
  if (!ev) return c->fail(ev.err());
  f.enabled_events = *ev;
  auto d = parse_description(body);
  if (!d) return c->fail(d.err());
  f.description = *d;
  ask_store<storage::webhook_endpoint>(
      st, c, ob::endpoint_create{c->merchant.id, std::move(f)},
      [c](storage::webhook_endpoint e) { c->answer(json_response(endpoint_json(e))); });
}

void list_endpoints(api_state& st, const call_ptr& c) {
  auto limit = parse_limit(c->req);
  if (!limit) return c->fail(limit.err());
  ask_store<storage::endpoint_page>(
      st, c, ob::endpoint_list{c->merchant.id, *limit, c->req.query_param("starting_after")},
      [c](storage::endpoint_page page) {
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/webhook_endpoints");
        w.field("has_more", page.has_more);
        w.key("data");
        w.begin_array();
        for (const auto& e : page.data) write_endpoint(w, e);
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      });
}

void get_endpoint(api_state& st, const call_ptr& c) {
  ask_store<storage::webhook_endpoint>(
      st, c, ob::endpoint_get{c->merchant.id, c->params[0]},
      [c](storage::webhook_endpoint e) { c->answer(json_response(endpoint_json(e))); });
}

void update_endpoint(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  const auto& body = c->body;
  if (auto ok = only_fields(body, {"url", "enabled_events", "description", "disabled"}); !ok)
    return c->fail(ok.err());
  storage::endpoint_fields f;
  if (const auto* url = field(body, "url")) {
    auto u = parse_endpoint_url(*url);
    if (!u) return c->fail(u.err());
    f.url = *u;
  }
  if (const auto* events = field(body, "enabled_events")) {
    auto ev = parse_enabled_events(*events);
    if (!ev) return c->fail(ev.err());
    f.enabled_events = *ev;
  }
  auto d = parse_description(body);
  if (!d) return c->fail(d.err());
  f.description = *d;
  if (const auto* disabled = field(body, "disabled")) {
    if (!disabled->IsBool()) return c->fail(bad("disabled must be a boolean.", "disabled"));
    f.enabled = !disabled->GetBool();
  }
  auto* state = &st;
  ask_store<storage::webhook_endpoint>(
      st, c, ob::endpoint_update{c->merchant.id, c->params[0], std::move(f)},
      [state, c](storage::webhook_endpoint e) {
        if (e.status == "enabled") wake_delivery(*state);
        c->answer(json_response(endpoint_json(e)));
      });
}

void delete_endpoint(api_state& st, const call_ptr& c) {
  ask_store<storage::webhook_endpoint>(st, c, ob::endpoint_delete{c->merchant.id, c->params[0]},
                                       [c](storage::webhook_endpoint e) {
                                         json_writer w;
                                         w.begin_object();
                                         w.field("id", e.id);
                                         w.field("object", "webhook_endpoint");
                                         w.field("deleted", true);
                                         w.end_object();
                                         c->answer(json_response(w.take()));
                                       });
}

void roll_secret(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  if (auto ok = only_fields(c->body, {"expires_in"}); !ok) return c->fail(ok.err());
  std::int64_t overlap_s = core::limits::webhook_secret_overlap_s_default;
  if (const auto* v = field(c->body, "expires_in")) {
    if (!v->IsInt64() || v->GetInt64() < 0 ||
        v->GetInt64() > core::limits::webhook_secret_overlap_s_max)
      return c->fail(bad("expires_in must be an integer number of seconds from 0 to " +
                             std::to_string(core::limits::webhook_secret_overlap_s_max) + ".",
                         "expires_in"));
    overlap_s = v->GetInt64();
  }
  ask_store<storage::webhook_endpoint>(
      st, c, ob::endpoint_roll{c->merchant.id, c->params[0], overlap_s},
      [c](storage::webhook_endpoint e) { c->answer(json_response(endpoint_json(e))); });
}

// ---- deliveries and replays -------------------------------------------------------------

void write_delivery(json_writer& w, const storage::delivery_view& d) {
  w.begin_object();
  w.field("id", d.id);
  w.field("object", "webhook_delivery");
  w.field("event", d.event_id);
  w.field("event_type", d.event_type);
  w.field("endpoint", d.endpoint_id);
  w.field("state", d.state);
  w.field("attempts", d.attempts);
  w.field_optional("last_status", d.last_status);
  w.field_optional("last_latency_ms", d.last_latency_ms);
  w.field_optional("last_error", d.last_error);
  w.field_optional("next_attempt_ms", d.next_attempt_ms);
  w.field("created_ms", d.created_ms);
  w.key("attempt_history");
  w.begin_array();
  for (const auto& a : d.attempt_history) {
    w.begin_object();
    w.field("attempt", a.attempt);
    w.field_optional("status", a.status);
    w.field_optional("error", a.error);
    w.field("latency_ms", a.latency_ms);
    w.field("at_ms", a.at_ms);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void list_deliveries(api_state& st, const call_ptr& c) {
  auto limit = parse_limit(c->req);
  if (!limit) return c->fail(limit.err());
  std::optional<std::int64_t> after;
  if (auto a = c->req.query_param("starting_after")) {
    after = parse_id(*a);
    if (!after) return c->fail(bad("starting_after must be a delivery id.", "starting_after"));
  }
  auto endpoint = c->params[0];
  ask_store<storage::delivery_page>(
      st, c, ob::deliveries_list{c->merchant.id, endpoint, *limit, after},
      [c, endpoint](storage::delivery_page page) {
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/webhook_endpoints/" + endpoint + "/deliveries");
        w.field("has_more", page.has_more);
        w.key("data");
        w.begin_array();
        for (const auto& d : page.data) write_delivery(w, d);
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      });
}

std::string replay_json(std::int64_t scheduled) {
  json_writer w;
  w.begin_object();
  w.field("object", "replay");
  w.field("scheduled", scheduled);
  w.end_object();
  return w.take();
}

/// POST /v1/webhook_endpoints/{id}/replay {"since": unix seconds}: every
/// dead-lettered delivery of the endpoint whose event is that recent.
void replay_failed(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  if (auto ok = only_fields(c->body, {"since"}); !ok) return c->fail(ok.err());
  const auto* since = field(c->body, "since");
  if (since == nullptr) return c->fail(bad("Missing required param: since.", "since"));
  if (!since->IsInt64() || since->GetInt64() < 0 ||
      since->GetInt64() > core::limits::unix_time_s_max)
    return c->fail(bad("since must be a unix time in seconds, at most " +
                           std::to_string(core::limits::unix_time_s_max) + ".",
                       "since"));
  auto* state = &st;
  ask_store<std::int64_t>(st, c, ob::failed_replay{c->merchant.id, c->params[0], since->GetInt64()},
                          [state, c](std::int64_t n) {
                            wake_delivery(*state);
                            c->answer(json_response(replay_json(n)));
                          });
}

// ---- events -------------------------------------------------------------------------------

void list_events(api_state& st, const call_ptr& c) {
  auto limit = parse_limit(c->req);
  if (!limit) return c->fail(limit.err());
  auto type = c->req.query_param("type");
  if (type && !core::parse_outbound_event_type(*type))
    return c->fail(bad("Unknown event type: '" + *type + "'.", "type"));
  ask_store<storage::event_page>(
      st, c, ob::events_list{c->merchant.id, *limit, c->req.query_param("starting_after"), type},
      [c](storage::event_page page) {
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/events");
        w.field("has_more", page.has_more);
        w.key("data");
        w.begin_array();
        for (const auto& e : page.data) w.raw(e.payload_json);
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      });
}

void get_event(api_state& st, const call_ptr& c) {
  ask_store<storage::stored_event>(
      st, c, ob::event_get{c->merchant.id, c->params[0]},
      [c](storage::stored_event e) { c->answer(json_response(e.payload_json)); });
}

/// POST /v1/events/{id}/replay {"endpoint": optional id}: delivers the event
/// again (same id), to every live endpoint that wants it or to one.
void replay_event(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  if (auto ok = only_fields(c->body, {"endpoint"}); !ok) return c->fail(ok.err());
  std::optional<std::string> endpoint;
  if (const auto* e = field(c->body, "endpoint")) {
    if (!e->IsString() || e->GetStringLength() == 0)
      return c->fail(bad("endpoint must be a webhook endpoint id.", "endpoint"));
    endpoint = std::string(e->GetString(), e->GetStringLength());
  }
  auto* state = &st;
  ask_store<std::int64_t>(st, c, ob::event_replay{c->merchant.id, c->params[0], endpoint},
                          [state, c](std::int64_t n) {
                            wake_delivery(*state);
                            c->answer(json_response(replay_json(n)));
                          });
}

// ---- the operator's view (inspector console) ----------------------------------------------

/// An endpoint URL as the console shows it: without its query, which may
/// carry a token the merchant's receiver checks.
std::string shown_url(std::string_view url) {
  auto query = url.find('?');
  if (query == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, query)) + "?...";
}

/// GET /v1/admin/webhook_endpoints: every merchant's endpoints with their
/// delivery counts, the age of the oldest undelivered event, the newest
/// and the failing deliveries with their attempts. Never a secret.
void admin_outbound_health(api_state& st, const call_ptr& c) {
  namespace lim = core::limits;
  ask_store<storage::outbound_health>(
      st, c,
      ob::health_query{lim::inspector_outbound_endpoints_max,
                       lim::inspector_outbound_deliveries_max,
                       lim::inspector_outbound_attempts_max},
      [c](storage::outbound_health h) {
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/admin/webhook_endpoints");
        w.field("total", h.total);
        w.field("has_more", h.total > static_cast<std::int64_t>(h.endpoints.size()));
        w.key("data");
        w.begin_array();
        for (const auto& e : h.endpoints) {
          w.begin_object();
          w.field("id", e.endpoint_id);
          w.field("object", "webhook_endpoint_health");
          w.field("merchant", e.merchant_id);
          w.field("url", shown_url(e.url));
          w.field("status", e.status);
          w.field_optional("disabled_reason", e.disabled_reason);
          w.field("pending", e.pending);
          w.field("failing", e.failing);
          w.field("dead", e.dead);
          w.field("oldest_undelivered_age_ms", e.oldest_undelivered_age_ms);
          w.field_optional("last_success_ms", e.last_success_ms);
          w.field_optional("failing_since_ms", e.failing_since_ms);
          w.key("recent");
          w.begin_array();
          for (const auto& d : e.recent) write_delivery(w, d);
          w.end_array();
          w.key("undelivered");
          w.begin_array();
          for (const auto& d : e.undelivered) write_delivery(w, d);
          w.end_array();
          w.end_object();
        }
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      });
}

/// POST /v1/admin/webhook_deliveries/{id}/replay: one failing or
/// dead-lettered delivery due now, audited (audit_events and the log).
void admin_replay_delivery(api_state& st, const call_ptr& c) {
  auto id = parse_id(c->params[0]);
  if (!id)
    return c->fail(core::make_error(core::errc::not_found,
                                    "No such webhook delivery: '" + c->params[0] + "'"));
  auto* state = &st;
  ask_store<storage::delivery_replayed>(
      st, c, ob::admin_replay{*id, c->request_id}, [state, c](storage::delivery_replayed r) {
        core::log::info("operator replayed a webhook delivery",
                        {{"delivery_id", std::to_string(r.delivery_id)},
                         {"event_id", r.event_id},
                         {"endpoint_id", r.endpoint_id},
                         {"merchant_id", r.merchant_id},
                         {"from_state", r.from_state},
                         {"request_id", c->request_id}});
        wake_delivery(*state);
        json_writer w;
        w.begin_object();
        w.field("object", "webhook_delivery_replay");
        w.field("delivery", r.delivery_id);
        w.field("event", r.event_id);
        w.field("endpoint", r.endpoint_id);
        w.field("from_state", r.from_state);
        w.field("state", "pending");
        w.end_object();
        c->answer(json_response(w.take(), 202));
      });
}

}  // namespace

void add_webhook_endpoint_routes(api_state& st) {
  st.routes.add("POST", "/v1/webhook_endpoints", &create_endpoint);
  st.routes.add("GET", "/v1/webhook_endpoints", &list_endpoints);
  st.routes.add("GET", "/v1/webhook_endpoints/{id}", &get_endpoint);
  st.routes.add("POST", "/v1/webhook_endpoints/{id}", &update_endpoint);
  st.routes.add("DELETE", "/v1/webhook_endpoints/{id}", &delete_endpoint);
  st.routes.add("POST", "/v1/webhook_endpoints/{id}/roll_secret", &roll_secret);
  st.routes.add("GET", "/v1/webhook_endpoints/{id}/deliveries", &list_deliveries);
  st.routes.add("POST", "/v1/webhook_endpoints/{id}/replay", &replay_failed);
  st.routes.add("GET", "/v1/events", &list_events);
  st.routes.add("GET", "/v1/events/{id}", &get_event);
  st.routes.add("POST", "/v1/events/{id}/replay", &replay_event);
  st.admin_routes.add("GET", "/v1/admin/webhook_endpoints", &admin_outbound_health);
  st.admin_routes.add("POST", "/v1/admin/webhook_deliveries/{id}/replay", &admin_replay_delivery);
}

}  // namespace pay::net::api
