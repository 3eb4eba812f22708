// Payment links and the hosted checkout page.
//
// Merchant routes (bearer key): POST/GET /v1/payment_links. Public routes
// (no key; access is the unguessable link id plus the visit cookie):
//   GET  /pay/{link}          the page (static HTML; no data, no secrets in it)
//   GET  /checkout/{file}     its script and style
//   POST /pay/{link}/session  creates or resumes the visit's intent; answers the
//                             amount, the intent's client secret and the PSP's
//                             publishable data, and sets the visit cookie
//   GET  /pay/{link}/status   the visit's intent as the engine sees it, read
//                             through its intent actor (the page's only proof
//                             of payment; it never trusts the browser)
// Card data never comes here: the shopper types it into the PSP's iframe,
// which confirms with the PSP directly.

#include "net/api_context.hpp"

#include <string>
#include <string_view>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/limits.hpp"
#include "core/log.hpp"
#include "core/money.hpp"
#include "net/checkout_requests.hpp"
#include "net/intent_codec.hpp"
#include "net/json.hpp"
#include "net/web_assets.hpp"
#include "storage/payment_links.hpp"

namespace pay::net::api {

std::string public_base(const api_state& st) {
  auto url = st.options.public_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!url.empty()) return url;
  return "http://127.0.0.1:" + std::to_string(st.options.bound_port->load());
}

namespace {

/// The visit cookie's name; its value is a random token, stored only hashed.
constexpr std::string_view visit_cookie = "pay_visit";

// ---- configuration as the page sees it -------------------------------------------

/// scheme://host[:port] of a URL; empty when it has no scheme.
std::string origin_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  auto path = url.find('/', scheme + 3);
  return std::string(url.substr(0, path));
}

/// The checkout front end of the PSP `psp` (an intent's); the default PSP's
/// when that one is not configured.
const core::checkout_frontend* frontend_of(const api_state& st, std::string_view psp) {
  const auto* p = st.options.psps->find(psp);
  if (p == nullptr) p = st.options.psps->default_provider();
  return p == nullptr ? nullptr : &p->checkout;
}

/// Appends each origin once.
void add_origins(std::string& out, const std::vector<std::string>& origins) {
  for (const auto& o : origins)
    if (out.find(" " + o) == std::string::npos && !out.starts_with(o)) out += " " + o;
}

/// Frames only from the PSPs' card forms, scripts only from us and the
/// PSPs' scripts, fetches only to us and the PSPs, and the page itself never
/// framed. The origins are those every configured PSP's front end names
/// (core::checkout_frontend), so a link's page works whichever PSP holds
/// its intent.
std::string content_security_policy(const api_state& st) {
  std::string scripts = "'self'";
  std::string connect = "'self'";
  std::string frames;
  for (const auto& name : st.options.psps->names()) {
    const auto& f = st.options.psps->find(name)->checkout;
    add_origins(scripts, f.script_src);
    add_origins(connect, f.connect_src);
    add_origins(frames, f.frame_src);
  }
  frames = frames.empty() ? "'none'" : frames.substr(1);
  return "default-src 'none'; script-src " + scripts + "; style-src 'self'; img-src 'self'; " +
         "connect-src " + connect + "; frame-src " + frames +
         "; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
}

/// Every public checkout answer carries these.
http_response secured(const api_state& st, http_response res) {
  res.headers.emplace_back("Content-Security-Policy", content_security_policy(st));
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("X-Frame-Options", "DENY");
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

http_response text_page(int status, std::string text) {
  http_response res;
  res.status = status;
  res.content_type = "text/plain; charset=utf-8";
  res.body = std::move(text);
  return res;
}

// ---- visits ----------------------------------------------------------------------

bool valid_visit_token(std::string_view v) {
  if (v.size() != core::limits::checkout_visit_token_chars) return false;
  for (char ch : v)
    if (!core::is_base62(ch)) return false;
  return true;
}

/// The visit token from the Cookie headers, when one is present and well formed.
std::optional<std::string> visit_from_cookie(const http_request& req) {
  for (auto token : req.cookies(visit_cookie))
    if (valid_visit_token(token)) return std::string(token);
  return std::nullopt;
}

/// HttpOnly (the page's script never sees it), SameSite=Lax (another site's
/// POST does not carry it), scoped to the link's path, Secure over https.
std::string visit_cookie_header(const api_state& st, const std::string& link_id,
                                const std::string& token) {
  std::string out = std::string(visit_cookie) + "=" + token + "; Path=/pay/" + link_id +
                    "; Max-Age=" + std::to_string(core::limits::checkout_visit_max_age_s) +
                    "; HttpOnly; SameSite=Lax";
  if (public_base(st).starts_with("https://")) out += "; Secure";
  return out;
}

/// What a visit is keyed by in the database: never the cookie itself.
std::string visit_hash(const std::string& link_id, const std::string& token) {
  return core::sha256_hex("payment_link_visit\n" + link_id + "\n" + token);
}

/// A state-changing public request must come from our own pages: a browser
/// sends Origin with every POST, and another site's differs.
bool same_origin(const api_state& st, const http_request& req) {
  auto origin = req.header_value("Origin");
  return !origin || *origin == origin_of(public_base(st));
}

// ---- links in the API's shape ------------------------------------------------------

std::string display_amount(std::int64_t amount, const std::string& currency) {
  auto cur = core::find_currency(currency);
  if (!cur) return std::to_string(amount) + " " + currency;
  std::string code(cur->code);
  for (auto& ch : code) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return core::format_amount(amount, *cur) + " " + code;
}

void write_link(json_writer& w, const storage::payment_link& l, const std::string& base) {
  w.begin_object();
  w.field("id", l.id);
  w.field("object", "payment_link");
  w.field("active", l.active);
  w.field("amount", l.amount);
  w.field("currency", l.currency);
  w.field("capture_method", core::to_string(l.capture));
  w.field_optional("description", l.description);
  w.field_optional("psp", l.psp);
  w.field("url", base + "/pay/" + l.id);
  w.field("created", l.created);
  w.end_object();
}

std::string link_json(const storage::payment_link& l, const std::string& base) {
  json_writer w;
  write_link(w, l, base);
  return w.take();
}

/// 24 base62 characters from a hex digest (an id derived from a key).
std::string base62_from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size() && out.size() < core::id_random_chars; i += 2) {
    auto byte = std::stoi(std::string(hex.substr(i, 2)), nullptr, 16);
    out.push_back(core::base62_alphabet[static_cast<std::size_t>(byte) % 62]);
  }
  return out;
}

/// The create body: the fields of a payment intent a link fixes, validated
/// exactly as POST /v1/payment_intents validates them (metadata is the
/// engine's: each intent gets {"payment_link": id}).
core::result<create_intent_params> parse_payment_link(const rapidjson::Value& body) {
  for (const auto& m : body.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name != "amount" && name != "currency" && name != "description" &&
        name != "capture_method" && name != "psp")
      return core::make_error(core::errc::invalid_request,
                              "Received unknown parameter: " + std::string(name),
                              std::string(name));
  }
  return parse_create_intent(body);
}

// ---- merchant routes -----------------------------------------------------------------

void create_payment_link(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  auto params = parse_payment_link(c->body);
  if (!params) return c->fail(params.err());
  if (auto ok = resolve_psp(st, c->merchant, *params); !ok) return c->fail(ok.err());
  auto* state = &st;
  run_idempotent(st, c, [state, c, p = *params](const idem_ctx& ctx, finish_fn done) {
    storage::payment_link link;
    // Under an Idempotency-Key the id derives from it (as a created intent's
    // does), so a retry after a lost answer finds the link it made.
    link.id = ctx.id == 0 ? core::make_id(core::id_prefix::payment_link)
                          : std::string(core::id_prefix::payment_link) + "_" +
                                base62_from_hex(core::sha256_hex("payment_link\n" + ctx.psp_key));
    link.merchant_id = c->merchant.id;
    link.amount = p.amount;
    link.currency = p.currency;
    link.description = p.description;
    link.capture = p.capture;
    link.psp = p.psp;
    link.routed = p.routed;
    ask<storage::payment_link>(
        state->sys(), state->storage(),
        [state, done](storage::payment_link l) {
          done(json_response(link_json(l, public_base(*state))), true);
        },
        [done](core::error e) { done(error_answer(e), is_final(e.code)); },
        actors::link_create_atom::value, std::move(link));
  });
}

void get_payment_link(api_state& st, const call_ptr& c) {
  auto* state = &st;
  ask<storage::payment_link>(
      st.sys(), st.storage(),
      [state, c](storage::payment_link l) {
        c->answer(json_response(link_json(l, public_base(*state))));
      },
      [c](core::error e) { c->fail(e); }, actors::link_get_atom::value, c->params[0],
      actors::optional_id{c->merchant.id});
}

/// POST /v1/payment_links/{id} {"active": false|true}: stops (or restarts)
/// a link taking payments. Intents already made by its visits are untouched.
void update_payment_link(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  for (const auto& m : c->body.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name != "active")
      return c->fail(core::make_error(core::errc::invalid_request,
                                      "Received unknown parameter: " + std::string(name) +
                                          " (a payment link's amount and currency are fixed; "
                                          "only active can change).",
                                      std::string(name)));
  }
  if (!c->body.HasMember("active") || !c->body["active"].IsBool())
    return c->fail(core::make_error(core::errc::invalid_request,
                                    "active (true or false) is required.", "active"));
  bool active = c->body["active"].GetBool();
  auto* state = &st;
  ask<storage::payment_link>(
      st.sys(), st.storage(),
      [state, c](storage::payment_link l) {
        core::log::info("payment link updated", {{"link_id", l.id},
                                                 {"merchant_id", l.merchant_id},
                                                 {"active", l.active ? "true" : "false"},
                                                 {"request_id", c->request_id}});
        c->answer(json_response(link_json(l, public_base(*state))));
      },
      [c](core::error e) { c->fail(e); }, actors::link_active_atom::value, c->params[0],
      c->merchant.id, active);
}

void list_payment_links(api_state& st, const call_ptr& c) {
  auto limit = parse_limit(c->req);
  if (!limit) return c->fail(limit.err());
  actors::link_list_query q{c->merchant.id, *limit, c->req.query_param("starting_after")};
  auto* state = &st;
  ask<storage::payment_link_page>(
      st.sys(), st.storage(),
      [state, c](storage::payment_link_page page) {
        auto base = public_base(*state);
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/payment_links");
        w.field("has_more", page.has_more);
        w.key("data");
        w.begin_array();
        for (const auto& l : page.data) write_link(w, l, base);
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::link_list_atom::value, std::move(q));
}

// ---- public routes ---------------------------------------------------------------------

/// One visit of a link: the link, the visit's key and the cookie to set.
struct visit_ctx {
  storage::payment_link link;
  std::string hash;
  std::string set_cookie;  ///< empty when the browser already has it
};

/// A JSON answer of a public route, with the security headers (and the
/// visit cookie when it is new).
void answer_public(api_state& st, const call_ptr& c, http_response res,
                   const std::string& set_cookie = {}) {
  if (!set_cookie.empty()) res.headers.emplace_back("Set-Cookie", set_cookie);
  c->answer(secured(st, std::move(res)));
}

void fail_public(api_state& st, const call_ptr& c, const core::error& e) {
  answer_public(st, c, error_answer(e));
}

core::error no_such_link() {
  return core::make_error(core::errc::not_found, "No such payment link.");
}

/// Looks the link up for a public route, then runs `next`; answers 404 for
/// a malformed or unknown id and 410 for a deactivated link.
void with_link(api_state& st, const call_ptr& c, std::function<void(storage::payment_link)> next) {
  const auto& id = c->params[0];
  if (!core::has_prefix(id, core::id_prefix::payment_link))
    return fail_public(st, c, no_such_link());
  auto* state = &st;
  ask<storage::payment_link>(
      st.sys(), st.storage(),
      [state, c, next](storage::payment_link l) {
        if (!l.active)
          return answer_public(*state, c,
                               error_response(410, "invalid_request_error", "link_inactive",
                                              "This payment link is no longer active."));
        next(std::move(l));
      },
      [state, c](core::error e) {
        fail_public(*state, c, e.code == core::errc::not_found ? no_such_link() : e);
      },
      actors::link_get_atom::value, id, actors::optional_id{});
}

bool is_paid(core::intent_status s) {
  switch (s) {
    case core::intent_status::authorized:
    case core::intent_status::capture_pending:
    case core::intent_status::cancel_pending:
    case core::intent_status::captured:
    case core::intent_status::partially_refunded:
    case core::intent_status::refunded:
      return true;
    case core::intent_status::created:
    case core::intent_status::requires_action:
    case core::intent_status::processing:
    case core::intent_status::canceled:
    case core::intent_status::expired:
      return false;
  }
  return false;
}

/// The shopper-facing part of the PSP's last_payment_error (its message and
/// codes); the rest of the PSP's object stays with the merchant.
void write_payment_error(json_writer& w, const std::optional<std::string>& error_json) {
  w.key("last_payment_error");
  rapidjson::Document doc;
  if (!error_json || parse_json_object(*error_json, doc) != json_error::none) return w.null();
  w.begin_object();
  for (const char* name : {"message", "code", "decline_code"}) {
    auto it = doc.FindMember(name);
    if (it != doc.MemberEnd() && it->value.IsString())
      w.field(name, std::string_view(it->value.GetString(), it->value.GetStringLength()));
  }
  w.end_object();
}

/// The intent's status as the shopper's page may see it.
void write_status_fields(json_writer& w, const core::payment_intent& pi) {
  w.field("status", core::to_string(pi.status));
  w.field("paid", is_paid(pi.status));
  write_payment_error(w, pi.last_payment_error_json);
}

/// Answers the session: the link's display data, the visit intent's status
/// and client secret, and what the page needs to mount the PSP's card form.
void answer_session(api_state& st, const call_ptr& c, const visit_ctx& v,
                    const std::string& intent_id) {
  auto* state = &st;
  ask<core::payment_intent>(
      st.sys(), st.actors.router,
      [state, c, v](core::payment_intent pi) {
        const auto& l = v.link;
        json_writer w;
        w.begin_object();
        w.field("object", "checkout_session");
        w.key("payment_link");
        w.begin_object();
        w.field("id", l.id);
        w.field("amount", l.amount);
        w.field("currency", l.currency);
        w.field("amount_display", display_amount(l.amount, l.currency));
        w.field_optional("description", l.description);
        w.end_object();
        write_status_fields(w, pi);
        // Only while the shopper can still pay: a paid or closed intent's
        // secret is of no use to the page.
        bool payable = pi.status == core::intent_status::created ||
                       pi.status == core::intent_status::requires_action;
        w.key("client_secret");
        if (payable && pi.client_secret)
          w.value(*pi.client_secret);
        else
          w.null();
        // The card form of the PSP that holds the intent.
        w.key("psp");
        w.begin_object();
        if (const auto* f = frontend_of(*state, pi.psp)) {
          w.field("kind", f->kind);
          if (!f->script_url.empty()) w.field("script_url", f->script_url);
          if (!f->origin.empty()) w.field("origin", f->origin);
          if (!f->iframe_url.empty()) w.field("iframe_url", f->iframe_url);
          w.field("publishable_key", f->publishable_key);
          if (!f->environment.empty()) w.field("environment", f->environment);
        }
        w.end_object();
        w.end_object();
        answer_public(*state, c, json_response(w.take()), v.set_cookie);
      },
      [state, c, v](core::error e) { answer_public(*state, c, error_answer(e), v.set_cookie); },
      actors::get_atom::value, actors::get_command{v.link.merchant_id, intent_id});
}

/// Creates the visit's intent under an idempotency key derived from (link,
/// visit), through the same idempotent path as POST /v1/payment_intents: a
/// reload, a retry after a crash or two tabs of one visit all end at one
/// intent. Then records the visit and answers the session.
void create_for_visit(api_state& st, const call_ptr& c, visit_ctx v) {
  const auto& l = v.link;
  create_intent_params p;
  p.amount = l.amount;
  p.currency = l.currency;
  p.capture = l.capture;
  p.description = l.description;
  p.psp = l.psp.value_or(st.options.psp_name);
  // A link that named no PSP is routed like an API create that names none:
  // the merchant's rules choose the PSP list, `psp` when none matches, and
  // a PSP that cannot be reached fails over to the next.
  p.routed = l.routed;
  p.return_url = public_base(st) + "/pay/" + l.id;
  json_writer meta;
  meta.begin_object();
  meta.field("payment_link", l.id);
  meta.end_object();
  p.metadata_json = meta.take();

  // The fingerprint covers what the visit's intent is made of, as the API's
  // create would see it.
  json_writer body;
  body.begin_object();
  body.field("amount", p.amount);
  body.field("currency", p.currency);
  body.field("capture_method", core::to_string(p.capture));
  body.field_optional("description", p.description);
  body.key("metadata");
  body.raw(p.metadata_json);
  body.end_object();
  rapidjson::Document canonical;
  parse_json_object(body.take(), canonical);
  operation_request op{l.merchant_id,
                       "payment_link_visit_" + v.hash,
                       "POST",
                       "/pay/" + l.id + "/session",
                       canonical_json(canonical),
                       c->deadline};

  auto* state = &st;
  auto answer = [state, c, v](http_response res) {
    rapidjson::Document doc;
    if (res.status != 200 || parse_json_object(res.body, doc) != json_error::none ||
        !doc.HasMember("id") || !doc["id"].IsString()) {
      // The error answer as it is. The cookie is set even so: the page's
      // retry resumes this visit's idempotent creation instead of starting
      // another intent.
      http_response out;
      out.status = res.status == 200 ? 500 : res.status;
      out.body = std::move(res.body);
      for (auto& h : res.headers)
        if (h.first == "Retry-After") out.headers.push_back(h);
      return answer_public(*state, c, std::move(out), v.set_cookie);
    }
    std::string intent_id = doc["id"].GetString();
    ask<std::string>(
        state->sys(), state->storage(),
        [state, c, v](std::string recorded) { answer_session(*state, c, v, recorded); },
        [state, c, v](core::error e) { answer_public(*state, c, error_answer(e), v.set_cookie); },
        actors::visit_put_atom::value, v.link.id, v.hash, intent_id);
  };
  // The same operation service and create path as POST /v1/payment_intents.
  run_operation(
      st, std::move(op),
      [state, c, merchant_id = l.merchant_id, p](const idem_ctx& ctx, finish_fn done) {
        start_create(*state, merchant_id, p, ctx, c->request_id, c->deadline, std::move(done));
      },
      std::move(answer));
}

/// GET /pay/{link}: the page. It is the same static HTML for every link; its
/// script fetches the rest.
void checkout_page(api_state& st, const call_ptr& c) {
  // A person reads this answer: plain words rather than the API's JSON.
  const auto& id = c->params[0];
  if (!core::has_prefix(id, core::id_prefix::payment_link))
    return c->answer(secured(st, text_page(404, "This payment link does not exist.\n")));
  auto* state = &st;
  ask<storage::payment_link>(
      st.sys(), st.storage(),
      [state, c](storage::payment_link l) {
        if (!l.active)
          return c->answer(
              secured(*state, text_page(410, "This payment link is no longer active.\n")));
        const auto* page = find_web_asset("/checkout/pay.html");
        http_response res;
        res.content_type = std::string(page->content_type);
        res.body = std::string(page->body);
        c->answer(secured(*state, std::move(res)));
      },
      [state, c](core::error e) {
        if (e.code == core::errc::not_found)
          return c->answer(secured(*state, text_page(404, "This payment link does not exist.\n")));
        c->answer(secured(*state, text_page(503,
                                            "Payments are unavailable right now; please "
                                            "try again in a moment.\n")));
      },
      actors::link_get_atom::value, id, actors::optional_id{});
}

/// GET /checkout/{file}: the page's script and style.
void checkout_asset(api_state& st, const call_ptr& c) {
  const auto* asset = find_web_asset("/checkout/" + c->params[0]);
  if (asset == nullptr || asset->path.ends_with(".html"))
    return c->answer(secured(st, text_page(404, "Not found.\n")));
  http_response res;
  res.content_type = std::string(asset->content_type);
  res.body = std::string(asset->body);
  c->answer(secured(st, std::move(res)));
}

/// GET /checkout/psp/{kind}.js: the front end a PSP provider ships for the
/// page (core::checkout_frontend::mount_script), found by its kind among the
/// configured PSPs.
void checkout_psp_script(api_state& st, const call_ptr& c) {
  const auto& file = c->params[0];
  constexpr std::string_view suffix = ".js";
  if (file.size() > suffix.size() && file.ends_with(suffix)) {
    auto kind = std::string_view(file).substr(0, file.size() - suffix.size());
    for (const auto& name : st.options.psps->names()) {
      const auto& f = st.options.psps->find(name)->checkout;
      if (f.kind != kind || f.mount_script.empty()) continue;
      http_response res;
      res.content_type = "text/javascript; charset=utf-8";
      res.body = std::string(f.mount_script);
      return c->answer(secured(st, std::move(res)));
    }
  }
  c->answer(secured(st, text_page(404, "Not found.\n")));
}

/// POST /pay/{link}/session: creates or resumes the visit's intent.
void checkout_session(api_state& st, const call_ptr& c) {
  if (!same_origin(st, c->req))
    return answer_public(st, c,
                         error_response(403, "invalid_request_error", "cross_origin",
                                        "Checkout sessions start from the checkout page only."));
  auto* state = &st;
  with_link(st, c, [state, c](storage::payment_link l) {
    auto token = visit_from_cookie(c->req);
    visit_ctx v;
    if (!token) {
      token = core::random_token(core::limits::checkout_visit_token_chars);
      v.set_cookie = visit_cookie_header(*state, l.id, *token);
    }
    v.hash = visit_hash(l.id, *token);
    v.link = std::move(l);
    if (!v.set_cookie.empty()) return create_for_visit(*state, c, std::move(v));
    ask<actors::optional_id>(
        state->sys(), state->storage(),
        [state, c, v](actors::optional_id intent_id) {
          if (intent_id) return answer_session(*state, c, v, *intent_id);
          create_for_visit(*state, c, v);
        },
        [state, c](core::error e) { fail_public(*state, c, e); }, actors::visit_get_atom::value,
        v.link.id, v.hash);
  });
}

/// GET /pay/{link}/status: the visit's intent, read through its actor (which
/// refreshes a pending intent from the PSP first).
void checkout_status(api_state& st, const call_ptr& c) {
  auto token = visit_from_cookie(c->req);
  if (!token)
    return fail_public(st, c,
                       core::make_error(core::errc::not_found, "No checkout visit for this page."));
  auto* state = &st;
  with_link(st, c, [state, c, token = *token](storage::payment_link l) {
    auto hash = visit_hash(l.id, token);
    auto merchant_id = l.merchant_id;
    ask<actors::optional_id>(
        state->sys(), state->storage(),
        [state, c, merchant_id](actors::optional_id intent_id) {
          if (!intent_id)
            return fail_public(
                *state, c,
                core::make_error(core::errc::not_found, "No checkout visit for this page."));
          ask<core::payment_intent>(
              state->sys(), state->actors.router,
              [state, c](core::payment_intent pi) {
                json_writer w;
                w.begin_object();
                w.field("object", "checkout_status");
                write_status_fields(w, pi);
                w.end_object();
                answer_public(*state, c, json_response(w.take()));
              },
              [state, c](core::error e) { fail_public(*state, c, e); }, actors::get_atom::value,
              actors::get_command{merchant_id, *intent_id});
        },
        [state, c](core::error e) { fail_public(*state, c, e); }, actors::visit_get_atom::value,
        l.id, hash);
  });
}

}  // namespace

void add_hosted_checkout_routes(api_state& st) {
  st.routes.add("POST", "/v1/payment_links", &create_payment_link);
  st.routes.add("GET", "/v1/payment_links", &list_payment_links);
  st.routes.add("GET", "/v1/payment_links/{id}", &get_payment_link);
  st.routes.add("POST", "/v1/payment_links/{id}", &update_payment_link);
  st.public_routes.add("GET", "/pay/{id}", &checkout_page);
  st.public_routes.add("POST", "/pay/{id}/session", &checkout_session);
  st.public_routes.add("GET", "/pay/{id}/status", &checkout_status);
  st.public_routes.add("GET", "/checkout/{file}", &checkout_asset);
  st.public_routes.add("GET", "/checkout/psp/{file}", &checkout_psp_script);
}

}  // namespace pay::net::api
