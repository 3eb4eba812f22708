// Routing between PSPs (issue 15, core/routing.hpp):
//   GET  /v1/routing   the merchant's current rules and its latest routing decisions
//   POST /v1/routing   replaces the rules (validated; unknown PSP names refused)
//   GET  /v1/admin/routing/decisions   the engine's latest decisions (inspector)

#include <string_view>

#include "actors/inspector.hpp"
#include "core/routing.hpp"
#include "net/api_context.hpp"
#include "net/json.hpp"

namespace pay::net::api {

namespace {

/// The latest decisions GET /v1/routing shows.
constexpr std::uint64_t recent_attempts_shown = 20;

core::error bad(std::string message, std::string param) {
  return core::make_error(core::errc::invalid_request, std::move(message), std::move(param));
}

core::status only_members(const rapidjson::Value& v,
                          std::initializer_list<std::string_view> allowed, const std::string& at) {
  for (const auto& m : v.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    bool known = false;
    for (auto a : allowed) known = known || a == name;
    if (!known)
      return bad("Received unknown parameter: " + at + std::string(name), at + std::string(name));
  }
  return core::status::ok();
}

/// A PSP list: each entry "name" or {"psp": "name", "weight": n}.
core::result<std::vector<core::routing_target>> parse_list(const rapidjson::Value& v,
                                                           const std::string& at) {
  if (!v.IsArray()) return bad(at + " must be an array of PSP names.", at);
  if (v.Size() > core::limits::routing_psps_per_list_max)
    return bad("A PSP list may name at most " +
                   std::to_string(core::limits::routing_psps_per_list_max) + " PSPs.",
               at);
  std::vector<core::routing_target> out;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    auto item = at + "[" + std::to_string(i) + "]";
    const auto& e = v[i];
    core::routing_target t;
    if (e.IsString()) {
      t.psp.assign(e.GetString(), e.GetStringLength());
    } else if (e.IsObject()) {
      if (auto ok = only_members(e, {"psp", "weight"}, item + "."); !ok) return ok.err();
      auto p = e.FindMember("psp");
      if (p == e.MemberEnd() || !p->value.IsString())
        return bad(item + ".psp must be a PSP name.", item + ".psp");
      t.psp.assign(p->value.GetString(), p->value.GetStringLength());
      if (auto w = e.FindMember("weight"); w != e.MemberEnd()) {
        if (!w->value.IsInt64()) return bad(item + ".weight must be an integer.", item + ".weight");
        t.weight = w->value.GetInt64();
      }
    } else {
      return bad(item + " must be a PSP name or {\"psp\": name, \"weight\": n}.", item);
    }
    out.push_back(std::move(t));
  }
  return out;
}

core::result<std::optional<std::string>> text_member(const rapidjson::Value& v, const char* name,
                                                     const std::string& at, std::size_t max) {
  auto m = v.FindMember(name);
  if (m == v.MemberEnd() || m->value.IsNull()) return std::optional<std::string>{};
  if (!m->value.IsString() || m->value.GetStringLength() > max)
    return bad(at + name + " must be a string of at most " + std::to_string(max) + " characters.",
               at + name);
  return std::optional<std::string>{std::string(m->value.GetString(), m->value.GetStringLength())};
}

core::result<std::optional<std::int64_t>> int_member(const rapidjson::Value& v, const char* name,
                                                     const std::string& at) {
  auto m = v.FindMember(name);
  if (m == v.MemberEnd() || m->value.IsNull()) return std::optional<std::int64_t>{};
  if (!m->value.IsInt64())
    return bad(at + name + " must be an integer number of minor units.", at + name);
  return std::optional<std::int64_t>{m->value.GetInt64()};
}

core::result<core::routing_rules> parse_rules(const rapidjson::Value& body) {
  if (auto ok = only_members(body, {"rules", "default_psps"}, ""); !ok) return ok.err();
  core::routing_rules out;
  if (auto r = body.FindMember("rules"); r != body.MemberEnd() && !r->value.IsNull()) {
    if (!r->value.IsArray()) return bad("rules must be an array.", "rules");
    if (r->value.Size() > core::limits::routing_rules_max)
      return bad(
          "At most " + std::to_string(core::limits::routing_rules_max) + " rules are allowed.",
          "rules");
    for (rapidjson::SizeType i = 0; i < r->value.Size(); ++i) {
      const auto& e = r->value[i];
      auto at = "rules[" + std::to_string(i) + "].";
      if (!e.IsObject())
        return bad("Each rule must be an object.", "rules[" + std::to_string(i) + "]");
      if (auto ok = only_members(
              e, {"currency", "amount_min", "amount_max", "payment_method_type", "psps"}, at);
          !ok)
        return ok.err();
      core::routing_rule rule;
      auto cur = text_member(e, "currency", at, 3);
      if (!cur) return cur.err();
      rule.currency = *cur;
      auto min = int_member(e, "amount_min", at);
      if (!min) return min.err();
      rule.amount_min = *min;
      auto max = int_member(e, "amount_max", at);
      if (!max) return max.err();
      rule.amount_max = *max;
      auto pm = text_member(e, "payment_method_type", at,
                            core::limits::routing_payment_method_length_max);
      if (!pm) return pm.err();
      rule.payment_method_type = *pm;
      auto psps = e.FindMember("psps");
      if (psps == e.MemberEnd()) return bad("Missing required param: " + at + "psps.", at + "psps");
      auto list = parse_list(psps->value, at + "psps");
      if (!list) return list.err();
      rule.psps = std::move(*list);
      out.rules.push_back(std::move(rule));
    }
  }
  if (auto d = body.FindMember("default_psps"); d != body.MemberEnd() && !d->value.IsNull()) {
    auto list = parse_list(d->value, "default_psps");
    if (!list) return list.err();
    out.default_psps = std::move(*list);
  }
  return out;
}

void write_list(json_writer& w, const std::vector<core::routing_target>& list) {
  w.begin_array();
  for (const auto& t : list) {
    w.begin_object();
    w.field("psp", t.psp);
    w.field("weight", t.weight);
    w.end_object();
  }
  w.end_array();
}

void write_names(json_writer& w, const std::vector<std::string>& names) {
  w.begin_array();
  for (const auto& n : names) w.value(n);
  w.end_array();
}

void write_rules(json_writer& w, const storage::routing_record& rec) {
  w.field("object", "routing");
  w.field("version", rec.version);
  if (rec.version > 0)
    w.field("created", rec.created);
  else
    w.field_null("created");
  w.key("rules");
  w.begin_array();
  for (const auto& r : rec.rules.rules) {
    w.begin_object();
    w.field_optional("currency", r.currency);
    w.field_optional("amount_min", r.amount_min);
    w.field_optional("amount_max", r.amount_max);
    w.field_optional("payment_method_type", r.payment_method_type);
    w.key("psps");
    write_list(w, r.psps);
    w.end_object();
  }
  w.end_array();
  w.key("default_psps");
  write_list(w, rec.rules.default_psps);
}

void get_routing(api_state& st, const call_ptr& c) {
  auto* state = &st;
  ask<storage::routing_record>(
      st.sys(), st.storage(),
      [state, c](storage::routing_record rec) {
        ask<actors::routing_attempt_list>(
            state->sys(), state->storage(),
            [c, rec](actors::routing_attempt_list recent) {
              json_writer w;
              w.begin_object();
              write_rules(w, rec);
              w.key("recent_decisions");
              w.begin_array();
              for (const auto& a : recent) {
                w.begin_object();
                w.field("payment_intent", a.intent_id);
                w.field("attempt", a.attempt);
                w.field("psp", a.psp);
                w.field("reason", a.reason);
                w.key("candidates");
                write_names(w, a.candidates);
                w.field("created", a.created);
                w.end_object();
              }
              w.end_array();
              w.end_object();
              c->answer(json_response(w.take()));
            },
            [c](core::error e) { c->fail(e); }, actors::routing_recent_atom::value, c->merchant.id,
            recent_attempts_shown);
      },
      [c](core::error e) { c->fail(e); }, actors::routing_get_atom::value, c->merchant.id);
}

void replace_routing(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  auto rules = parse_rules(c->body);
  if (!rules) return c->fail(rules.err());
  const auto* psps = st.options.psps.get();
  auto ok = core::validate_routing(*rules, [psps](std::string_view name) {
    const auto* p = psps->find(name);
    return p == nullptr ? std::nullopt : std::optional<std::string>{p->name};
  });
  if (!ok) return c->fail(ok.err());
  ask<storage::routing_record>(
      st.sys(), st.storage(),
      [c](storage::routing_record rec) {
        json_writer w;
        w.begin_object();
        write_rules(w, rec);
        w.end_object();
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::routing_put_atom::value, c->merchant.id,
      std::move(*rules), std::string("api"));
}

/// GET /v1/admin/routing/decisions: the engine's latest routed creates.
void list_routing_decisions(api_state&, const call_ptr& c) {
  auto recent = actors::inspector::recent_routing();
  json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.field("url", "/v1/admin/routing/decisions");
  w.key("data");
  w.begin_array();
  for (const auto& d : recent) {
    w.begin_object();
    w.field("at_ms", d.at_ms);
    w.field("merchant", d.merchant_id);
    w.field("payment_intent", d.intent_id);
    w.field("psp", d.psp);
    w.field("attempt", d.attempt);
    w.field("reason", d.reason);
    w.key("candidates");
    write_names(w, d.candidates);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  c->answer(json_response(w.take()));
}

}  // namespace

void add_routing_routes(api_state& st) {
  st.routes.add("GET", "/v1/routing", &get_routing);
  st.routes.add("POST", "/v1/routing", &replace_routing);
  st.admin_routes.add("GET", "/v1/admin/routing/decisions", &list_routing_decisions);
}

}  // namespace pay::net::api
