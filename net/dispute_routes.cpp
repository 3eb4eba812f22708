// Disputes (issue 19):
//   GET  /v1/disputes                    ?status=&payment_intent=&limit=&starting_after=
//   GET  /v1/disputes/{id}
//   POST /v1/disputes/{id}/evidence      {"evidence":{field: text, ...}}  (Idempotency-Key)
//   GET  /v1/admin/disputes              every open dispute by deadline (admin; inspector)
// and the `disputes` list of GET /v1/payment_intents/{id}.

#include <chrono>

#include "core/dispute.hpp"
#include "core/ids.hpp"
#include "net/api_context.hpp"
#include "net/dispute_codec.hpp"
#include "net/intent_codec.hpp"
#include "net/json.hpp"

namespace pay::net::api {

namespace {

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The engine error a client sees for a failed evidence call at the PSP.
core::error from_psp_failure(const core::psp_failure& f) {
  switch (f.kind) {
    case core::psp_failure_kind::declined:
    case core::psp_failure_kind::rejected:
      if (f.http_status == 401 || f.http_status == 403)
        return core::make_error(core::errc::psp_error, "The PSP refused the engine's credentials.");
      return core::make_error(core::errc::invalid_request,
                              "The PSP refused the evidence: " + f.message, f.param);
    case core::psp_failure_kind::unsupported:
      return core::make_error(
          core::errc::invalid_request,
          "The PSP holding this dispute takes no evidence through its API: " + f.message);
    case core::psp_failure_kind::retryable:
      return core::make_error(core::errc::psp_unavailable,
                              "The PSP is unavailable (" + (f.code.empty() ? "error" : f.code) +
                                  "); retry with the same Idempotency-Key.");
  }
  return core::make_error(core::errc::psp_error, "Unknown PSP failure.");
}

/// Two JSON objects with the same members (PostgreSQL's jsonb reorders
/// keys and spaces them).
bool same_json(const std::string& a, const std::string& b) {
  rapidjson::Document x;
  rapidjson::Document y;
  if (parse_json_object(a, x) != json_error::none || parse_json_object(b, y) != json_error::none)
    return false;
  return x == y;
}

void list_disputes(api_state& st, const call_ptr& c) {
  auto limit = parse_limit(c->req);
  if (!limit) return c->fail(limit.err());
  storage::dispute_query q;
  q.merchant_id = c->merchant.id;
  q.limit = *limit;
  q.starting_after = c->req.query_param("starting_after");
  if (auto status = c->req.query_param("status")) {
    auto parsed = core::parse_dispute_status(*status);
    if (!parsed)
      return c->fail(core::make_error(
          core::errc::invalid_request,
          "status must be one of warning_needs_response, needs_response, under_review, won, lost.",
          "status"));
    q.status = *parsed;
  }
  if (auto intent = c->req.query_param("payment_intent")) q.intent_id = *intent;
  ask<storage::dispute_page>(
      st.sys(), st.storage(),
      [c](storage::dispute_page page) {
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/disputes");
        w.field("has_more", page.has_more);
        w.key("data");
        w.begin_array();
        for (const auto& d : page.data) write_dispute(w, d);
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::dispute_list_atom::value, std::move(q));
}

void get_dispute(api_state& st, const call_ptr& c) {
  ask<core::dispute>(
      st.sys(), st.storage(), [c](core::dispute d) { c->answer(json_response(dispute_json(d))); },
      [c](core::error e) { c->fail(e); }, actors::dispute_get_atom::value, c->merchant.id,
      c->params[0]);
}

/// The request's evidence as a flat JSON object of strings, checked by
/// core::validate_dispute_evidence.
core::result<std::string> parse_evidence(const rapidjson::Document& body) {
  for (const auto& m : body.GetObject())
    if (std::string_view(m.name.GetString()) != "evidence")
      return core::make_error(core::errc::invalid_request,
                              "Received unknown parameter: " + std::string(m.name.GetString()),
                              m.name.GetString());
  auto ev = body.FindMember("evidence");
  if (ev == body.MemberEnd() || !ev->value.IsObject())
    return core::make_error(core::errc::invalid_request,
                            "Missing required param: evidence (an object of text fields).",
                            "evidence");
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& m : ev->value.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!m.value.IsString())
      return core::make_error(core::errc::invalid_request,
                              "Evidence field " + name + " must be a string.",
                              "evidence[" + name + "]");
    fields.emplace_back(std::move(name),
                        std::string(m.value.GetString(), m.value.GetStringLength()));
  }
  if (auto ok = core::validate_dispute_evidence(fields); !ok) return ok.err();
  json_writer w;
  w.begin_object();
  for (const auto& [k, v] : fields) w.field(k, v);
  w.end_object();
  return w.take();
}

void submit_evidence(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  auto evidence = parse_evidence(c->body);
  if (!evidence) return c->fail(evidence.err());
  auto* state = &st;
  run_idempotent(st, c, [state, c, evidence = *evidence](const idem_ctx& ctx, finish_fn done) {
    auto fail = [done](core::error e) { done(error_answer(e), is_final(e.code)); };
    ask<core::dispute>(
        state->sys(), state->storage(),
        [state, c, ctx, evidence, done, fail](core::dispute d) {
          // A retry after the PSP took this very evidence finds it recorded.
          if (d.status == core::dispute_status::under_review &&
              same_json(d.evidence_json, evidence))
            return done(json_response(dispute_json(d)), true);
          if (auto ok = core::can_submit_evidence(d, unix_now_s()); !ok) return fail(ok.err());
          auto gateway = state->actors.gateways.find(d.psp);
          if (gateway == state->actors.gateways.end())
            return fail(core::make_error(
                core::errc::psp_unavailable,
                "The dispute's PSP '" + d.psp + "' is not configured in this engine."));
          actors::psp_evidence_request req{d.psp_dispute_id, evidence, ctx.psp_key};
          ask_until<actors::psp_dispute_outcome>(
              c->deadline, state->sys(), gateway->second,
              [state, d, evidence, done, fail](actors::psp_dispute_outcome outcome) {
                if (auto* f = std::get_if<core::psp_failure>(&outcome))
                  return fail(from_psp_failure(*f));
                auto psp_status = std::get<core::psp_dispute>(outcome).status;
                ask<core::dispute>(
                    state->sys(), state->storage(),
                    [done](core::dispute stored) {
                      done(json_response(dispute_json(stored)), true);
                    },
                    fail, actors::dispute_evidence_atom::value,
                    actors::evidence_record{d, evidence, psp_status});
              },
              fail, actors::psp_evidence_atom::value, std::move(req));
        },
        fail, actors::dispute_get_atom::value, c->merchant.id, c->params[0]);
  });
}

/// GET /v1/admin/disputes (admin token): every merchant's open disputes by
/// deadline, with the seconds left, for the inspector console.
void list_open_disputes(api_state& st, const call_ptr& c) {
  ask<actors::dispute_list>(
      st.sys(), st.storage(),
      [c](actors::dispute_list open) {
        auto now_s = unix_now_s();
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/admin/disputes");
        w.field("now", now_s);
        w.key("data");
        w.begin_array();
        for (const auto& d : open) {
          w.begin_object();
          w.field("id", d.id);
          w.field("merchant", d.merchant_id);
          w.field("payment_intent", d.intent_id);
          w.field("psp", d.psp);
          w.field("status", core::to_string(d.status));
          w.field("amount", d.amount);
          w.field("currency", d.currency);
          w.field("reason", d.reason);
          w.field_optional("evidence_due_by", d.evidence_due_by);
          if (d.evidence_due_by)
            w.field("seconds_left", *d.evidence_due_by - now_s);
          else
            w.field_null("seconds_left");
          w.field("deadline_near",
                  d.evidence_due_by &&
                      *d.evidence_due_by - now_s < core::limits::dispute_deadline_warning_s);
          w.end_object();
        }
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::disputes_open_atom::value);
}

}  // namespace

void answer_intent_with_disputes(api_state& st, const call_ptr& c, core::payment_intent pi) {
  auto intent = intent_json(pi);
  ask<actors::dispute_list>(
      st.sys(), st.storage(),
      [c, intent](actors::dispute_list list) mutable {
        // The intent's own fields, then its disputes (ids and statuses; the
        // whole object at GET /v1/disputes/{id}).
        json_writer w;
        w.begin_array();
        for (const auto& d : list) {
          w.begin_object();
          w.field("id", d.id);
          w.field("status", core::to_string(d.status));
          w.field("amount", d.amount);
          w.field_optional("evidence_due_by", d.evidence_due_by);
          w.end_object();
        }
        w.end_array();
        if (!intent.empty() && intent.back() == '}')
          intent.insert(intent.size() - 1, ",\"disputes\":" + w.take());
        c->answer(json_response(std::move(intent)));
      },
      [c](core::error e) { c->fail(e); }, actors::dispute_intent_atom::value, pi.merchant_id,
      pi.id);
}

void add_dispute_routes(api_state& st) {
  st.routes.add("GET", "/v1/disputes", &list_disputes);
  st.routes.add("GET", "/v1/disputes/{id}", &get_dispute);
  st.routes.add("POST", "/v1/disputes/{id}/evidence", &submit_evidence);
  st.admin_routes.add("GET", "/v1/admin/disputes", &list_open_disputes);
}

}  // namespace pay::net::api
