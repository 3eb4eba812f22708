// Settlement and reconciliation routes (issue 6):
//   POST /v1/admin/reconciliation/runs        {date, psp?, rerun?}  (admin)
//   GET  /v1/admin/reconciliation/runs/{id}                           (admin)
//   GET  /v1/ledger/settlements?payment_intent=...                   (merchant)
//   GET  /v1/admin/suspense?status=open|all&limit=                    (admin; inspector)
//   POST /v1/admin/suspense/{id}/clear        {account, reason}       (admin)

#include <charconv>

#include "net/api_context.hpp"
#include "net/json.hpp"

namespace pay::net::api {

namespace {

void write_run(json_writer& w, const actors::recon_run& run) {
  w.begin_object();
  w.field("id", run.id);
  w.field("object", "reconciliation_run");
  w.field("psp", run.psp);
  w.field("date", run.day);
  w.field("sequence", static_cast<std::int64_t>(run.sequence));
  w.field("trigger", run.trigger);
  w.field("psp_records", run.psp_records);
  w.field("our_records", run.our_records);
  w.field("matched", run.matched);
  w.field("differences_count", run.differences);
  w.field("started_at_ms", run.started_at_ms);
  w.field("finished_at_ms", run.finished_at_ms);
  w.key("counts");
  w.begin_object();
  for (const auto& [kind, n] : run.counts) w.field(kind, n);
  w.end_object();
  w.key("differences");
  w.begin_array();
  for (const auto& d : run.details) {
    w.begin_object();
    w.field("kind", core::to_string(d.kind));
    w.field("object", core::to_string(d.object));
    auto text = [&](std::string_view k, const std::string& v) {
      if (v.empty())
        w.field_null(k);
      else
        w.field(k, v);
    };
    text("psp_reference", d.psp_reference);
    text("our_reference", d.our_reference);
    w.field_optional("psp_amount", d.psp_amount_minor);
    w.field_optional("our_amount", d.our_amount_minor);
    text("psp_currency", d.psp_currency);
    text("our_currency", d.our_currency);
    text("psp_status", d.psp_status);
    text("our_status", d.our_status);
    w.field("detail", d.detail);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

std::string run_json(const actors::recon_run& run) {
  json_writer w;
  write_run(w, run);
  return w.take();
}

void create_run(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  const auto& body = c->body;
  actors::recon_request req;
  req.psp = st.options.psp_name;
  auto date = body.FindMember("date");
  if (date == body.MemberEnd() || !date->value.IsString())
    return c->fail(core::make_error(core::errc::invalid_request,
                                    "Missing required param: date (YYYY-MM-DD).", "date"));
  req.day = date->value.GetString();
  if (auto psp = body.FindMember("psp"); psp != body.MemberEnd()) {
    if (!psp->value.IsString())
      return c->fail(core::make_error(core::errc::invalid_request, "psp must be a string.", "psp"));
    req.psp = psp->value.GetString();
  }
  if (auto rerun = body.FindMember("rerun"); rerun != body.MemberEnd()) {
    if (!rerun->value.IsBool())
      return c->fail(
          core::make_error(core::errc::invalid_request, "rerun must be a boolean.", "rerun"));
    req.rerun = rerun->value.GetBool();
  }
  if (auto trigger = body.FindMember("trigger"); trigger != body.MemberEnd()) {
    if (!trigger->value.IsString() || (std::string_view(trigger->value.GetString()) != "api" &&
                                       std::string_view(trigger->value.GetString()) != "cli"))
      return c->fail(core::make_error(core::errc::invalid_request,
                                      "trigger must be \"api\" or \"cli\".", "trigger"));
    req.trigger = trigger->value.GetString();
  }
  if (st.actors.settlements.empty())
    return c->fail(core::make_error(core::errc::storage_unavailable,
                                    "Reconciliation is not running in this engine."));
  // An alias names its account; the run is stored under the account's name.
  if (const auto* provider = st.options.psps->find(req.psp)) req.psp = provider->name;
  auto settlement = st.actors.settlements.find(req.psp);
  if (settlement == st.actors.settlements.end())
    return c->fail(core::make_error(core::errc::not_found, "No such PSP: " + req.psp, "psp"));
  ask<actors::recon_run>(
      st.sys(), settlement->second,
      [c](actors::recon_run run) { c->answer(json_response(run_json(run))); },
      [c](core::error e) { c->fail(e); }, actors::reconcile_atom::value, std::move(req));
}

void get_run(api_state& st, const call_ptr& c) {
  ask<actors::recon_run>(
      st.sys(), st.storage(),
      [c](actors::recon_run run) { c->answer(json_response(run_json(run))); },
      [c](core::error e) { c->fail(e); }, actors::recon_get_atom::value, c->params[0]);
}

void list_settlements(api_state& st, const call_ptr& c) {
  auto intent = c->req.query_param("payment_intent");
  if (!intent || intent->empty())
    return c->fail(core::make_error(core::errc::invalid_request,
                                    "Missing required param: payment_intent.", "payment_intent"));
  ask<actors::intent_settlements>(
      st.sys(), st.storage(),
      [c, intent = *intent](actors::intent_settlements list) {
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/ledger/settlements");
        w.field("payment_intent", intent);
        w.field("settled", !list.empty());
        w.field("has_more", false);
        w.key("data");
        w.begin_array();
        for (const auto& s : list) {
          w.begin_object();
          w.field("object", "settlement");
          w.field("payout", s.payout);
          w.field("settlement", s.settlement_id);
          w.field("balance_transaction", s.balance_transaction);
          w.field("type", s.type);
          w.field("amount", s.amount);
          w.field("fee", s.fee);
          w.field("net", s.net);
          w.field("currency", s.currency);
          w.field("payout_status", s.payout_status);
          w.field("settled_at", s.settled_at_s);
          w.end_object();
        }
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::settlements_atom::value, c->merchant.id, *intent);
}

void write_suspense(json_writer& w, const storage::suspense_item& x) {
  w.begin_object();
  w.field("id", x.id);
  w.field("object", "suspense_item");
  w.field("psp", x.psp);
  w.field("status", x.status);
  w.field("payout", x.payout);
  w.field("balance_transaction", x.balance_transaction);
  w.field("type", x.type);
  w.field("source", x.source);
  w.field_optional("psp_payment_intent", x.psp_intent);
  w.field("amount", x.amount);
  w.field("fee", x.fee);
  w.field("net", x.net);
  w.field("currency", x.currency);
  w.field("reason", x.reason);
  w.field("transaction", x.transaction_id);
  w.field("created", x.created_s);
  w.key("clearing");
  if (!x.cleared_to) {
    w.null();
  } else {
    w.begin_object();
    w.field("account", *x.cleared_to);
    w.field_optional("reason", x.cleared_reason);
    w.field_optional("actor", x.cleared_by);
    w.field_optional("transaction", x.clearing_transaction);
    w.end_object();
  }
  w.end_object();
}

/// Any settlement actor serves suspense: the items of every PSP are in the
/// one database.
const actors::settlement_actor* any_settlement(api_state& st, const call_ptr& c) {
  if (st.actors.settlements.empty()) {
    c->fail(core::make_error(core::errc::storage_unavailable,
                             "Settlement is not running in this engine."));
    return nullptr;
  }
  return &st.actors.settlements.begin()->second;
}

/// GET /v1/admin/suspense: suspense items, newest first; status=open (the
/// default) or all.
void list_suspense(api_state& st, const call_ptr& c) {
  auto status = c->req.query_param("status").value_or("open");
  if (status != "open" && status != "all")
    return c->fail(core::make_error(core::errc::invalid_request,
                                    "status must be \"open\" or \"all\".", "status"));
  std::uint64_t limit = core::limits::list_limit_max;
  if (auto given = c->req.query_param("limit")) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(given->data(), given->data() + given->size(), n);
    if (ec != std::errc{} || end != given->data() + given->size() || n < 1 ||
        n > core::limits::list_limit_max)
      return c->fail(core::make_error(core::errc::invalid_request,
                                      "limit must be an integer from 1 to " +
                                          std::to_string(core::limits::list_limit_max) + ".",
                                      "limit"));
    limit = n;
  }
  const auto* settlement = any_settlement(st, c);
  if (settlement == nullptr) return;
  ask<actors::suspense_items>(
      st.sys(), *settlement,
      [c](actors::suspense_items items) {
        json_writer w;
        w.begin_object();
        w.field("object", "list");
        w.field("url", "/v1/admin/suspense");
        w.field("has_more", false);
        w.key("data");
        w.begin_array();
        for (const auto& x : items) write_suspense(w, x);
        w.end_array();
        w.end_object();
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::suspense_list_atom::value, status == "open",
      limit);
}

/// POST /v1/admin/suspense/{id}/clear {account, reason}: the operator's
/// decision, booked and audited.
void clear_suspense(api_state& st, const call_ptr& c) {
  if (!read_json_body(c)) return;
  const auto& body = c->body;
  actors::suspense_clear_request req;
  req.id = c->params[0];
  req.actor = "admin";
  auto text = [&](const char* name, std::string& out) {
    auto it = body.FindMember(name);
    if (it == body.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0) {
      c->fail(core::make_error(core::errc::invalid_request,
                               std::string("Missing required param: ") + name + ".", name));
      return false;
    }
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  if (!text("account", req.account) || !text("reason", req.reason)) return;
  const auto* settlement = any_settlement(st, c);
  if (settlement == nullptr) return;
  ask<storage::suspense_item>(
      st.sys(), *settlement,
      [c](storage::suspense_item x) {
        json_writer w;
        write_suspense(w, x);
        c->answer(json_response(w.take()));
      },
      [c](core::error e) { c->fail(e); }, actors::suspense_clear_atom::value, std::move(req));
}

}  // namespace

void add_reconciliation_routes(api_state& st) {
  st.admin_routes.add("GET", "/v1/admin/suspense", &list_suspense);
  st.admin_routes.add("POST", "/v1/admin/suspense/{id}/clear", &clear_suspense);
  st.admin_routes.add("POST", "/v1/admin/reconciliation/runs", &create_run);
  st.admin_routes.add("GET", "/v1/admin/reconciliation/runs/{id}", &get_run);
  st.routes.add("GET", "/v1/ledger/settlements", &list_settlements);
}

}  // namespace pay::net::api
