#include "storage/disputes.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "core/ids.hpp"
#include "core/inbox_outcome.hpp"
#include "core/json_text.hpp"
#include "core/ledger.hpp"
#include "core/limits.hpp"
#include "storage/ledger.hpp"

namespace pay::storage {

namespace {

std::string epoch_s(const std::string& column) {
  return "floor(extract(epoch FROM " + column + "))::bigint";
}

const std::string dispute_columns =
    "id, merchant_id, intent_id, psp, psp_dispute_id, amount, currency, reason, status, " +
    epoch_s("evidence_due_by") +
    ", fee, open_amount, funds_withdrawn, funds_reinstated, evidence::text, " +
    epoch_s("psp_updated") + ", " + epoch_s("created_at") + ", version";

/// Reads the row of `dispute_columns`; `open` gets open_amount.
core::dispute read_dispute(const pg_rows& rows, int i, std::int64_t* open = nullptr) {
  core::dispute d;
  d.id = rows.text(i, 0);
  d.merchant_id = rows.text(i, 1);
  d.intent_id = rows.text(i, 2);
  d.psp = rows.text(i, 3);
  d.psp_dispute_id = rows.text(i, 4);
  d.amount = rows.int64(i, 5);
  d.currency = rows.text(i, 6);
  d.reason = rows.text(i, 7);
  d.status =
      core::parse_dispute_status(rows.text(i, 8)).value_or(core::dispute_status::needs_response);
  if (!rows.is_null(i, 9)) d.evidence_due_by = rows.int64(i, 9);
  d.fee = rows.int64(i, 10);
  if (open) *open = rows.int64(i, 11);
  d.funds_withdrawn = rows.boolean(i, 12);
  d.funds_reinstated = rows.boolean(i, 13);
  d.evidence_json = rows.text(i, 14);
  d.psp_updated = rows.int64(i, 15);
  d.created = rows.int64(i, 16);
  d.version = rows.int64(i, 17);
  return d;
}

/// A PostgreSQL text array literal; every element quoted and escaped.
std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

db_error refusal() {
  return db_error{db_error_kind::refused, "P0001", "refused", {}};
}

pg_param opt_int(const std::optional<std::int64_t>& v) {
  return v ? pg_param{std::to_string(*v)} : pg_param{};
}

/// One audit row of a dispute change. Its `version` column stays NULL: it
/// counts the intent's versions, and the dispute's own is in `data`.
std::optional<db_error> audit(pg_connection& tx, const core::dispute& d, std::string_view actor,
                              const std::string& action, std::optional<core::dispute_status> from,
                              std::optional<core::dispute_status> to, const std::string& cause,
                              std::int64_t version, const std::string& extra_json_fields = {}) {
  std::string data = "{\"dispute\":" + core::json_string(d.id) +
                     ",\"psp_dispute\":" + core::json_string(d.psp_dispute_id) +
                     ",\"dispute_version\":" + std::to_string(version);
  if (from) data += ",\"from\":" + core::json_string(core::to_string(*from));
  if (to) data += ",\"to\":" + core::json_string(core::to_string(*to));
  data += extra_json_fields + "}";
  auto r = tx.exec(
      "INSERT INTO audit_events (merchant_id, intent_id, actor, action, from_status, to_status, "
      "version, cause, data) VALUES ($1, $2, $3, $4, NULL, NULL, NULL, $5, $6::jsonb)",
      {d.merchant_id, d.intent_id, std::string(actor), action, cause, data});
  if (!r.ok()) return r.error;
  return std::nullopt;
}

}  // namespace

core::result<std::string> record_dispute(pg_connection& conn, const dispute_news& n) {
  const auto& v = n.view;
  std::optional<core::error> refused;
  bool already = false;
  bool no_intent = false;
  std::string outcome;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    if (n.inbox_id) {
      auto r = tx.exec(
          "UPDATE webhook_inbox SET processed_at = clock_timestamp(), outcome = $2 "
          "WHERE id = $1 AND processed_at IS NULL",
          {std::to_string(*n.inbox_id),
           std::string(core::to_string(core::inbox_outcome::dispute))});
      if (!r.ok()) return r.error;
      if (r.rows.affected() == 0) {
        already = true;
        return refusal();
      }
      auto d = tx.exec(
          "UPDATE dead_letters SET resolved_at = clock_timestamp() WHERE inbox_id = $1 AND "
          "resolved_at IS NULL",
          {std::to_string(*n.inbox_id)});
      if (!d.ok()) return d.error;
    }
    auto intent = tx.exec(
        "SELECT id, merchant_id FROM payment_intents WHERE psp = $1 AND (psp_reference = $2 OR "
        "id = $3) ORDER BY (psp_reference = $2) DESC LIMIT 1",
        {n.psp, v.payment_intent ? pg_param{*v.payment_intent} : pg_param{},
         v.engine_reference ? pg_param{*v.engine_reference} : pg_param{}});
    if (!intent.ok()) return intent.error;
    if (intent.rows.empty()) {
      no_intent = true;
      return refusal();
    }
    std::string intent_id(intent.rows.text(0, 0));
    std::string merchant_id(intent.rows.text(0, 1));
    auto ins = tx.exec(
        "INSERT INTO disputes (id, merchant_id, intent_id, psp, psp_dispute_id, amount, currency, "
        "reason, status, evidence_due_by, psp_updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, to_timestamp($10), to_timestamp($11)) ON CONFLICT (psp, psp_dispute_id) DO NOTHING "
        "RETURNING id",
        {core::make_id(core::id_prefix::dispute), merchant_id, intent_id, n.psp, v.id,
         std::to_string(v.amount), v.currency, v.reason.substr(0, 100),
         std::string(core::to_string(v.status)), opt_int(v.evidence_due_by),
         std::to_string(n.event_created)});
    if (!ins.ok()) return ins.error;
    bool inserted = !ins.rows.empty();
    // The row lock serialises every writer of this dispute to the end of
    // the transaction: movements below are booked by one of them only.
    auto cur = tx.exec("SELECT " + dispute_columns +
                           " FROM disputes WHERE psp = $1 AND psp_dispute_id = $2 FOR UPDATE",
                       {n.psp, v.id});
    if (!cur.ok()) return cur.error;
    std::int64_t open = 0;
    auto d = read_dispute(cur.rows, 0, &open);
    std::string cause = n.psp_type + " " + n.event_id;
    std::int64_t version = d.version;
    auto status = d.status;
    bool changed = false;
    std::vector<std::string> notes;
    if (inserted) {
      if (auto e =
              audit(tx, d, "webhook", "dispute_opened", std::nullopt, d.status, cause, version))
        return e;
      notes.push_back("opened");
    } else if (v.status != d.status) {
      auto path = core::dispute_path(d.status, v.status);
      if (n.event_created < d.psp_updated || !path) {
        // Older news, or a move the table refuses (out of a closed status):
        // the status stays; money below is still booked.
        notes.push_back("status " + std::string(core::to_string(v.status)) + " ignored");
      } else {
        ++version;
        auto at = d.status;
        for (auto e : *path) {
          auto next = *core::dispute_transition(at, e);
          if (auto err = audit(tx, d, "webhook", "dispute_" + std::string(core::to_string(e)), at,
                               next, cause, version))
            return err;
          at = next;
        }
        status = v.status;
        changed = true;
        notes.push_back(std::string(core::to_string(status)));
      }
    }
    // Money: every movement not booked before, then a loss.
    std::vector<std::string> ids;
    for (const auto& m : v.movements) ids.push_back(m.id);
    std::set<std::string> booked;
    if (!ids.empty()) {
      auto known = tx.exec(
          "SELECT psp_movement_id FROM dispute_movements WHERE psp = $1 AND psp_movement_id = "
          "ANY($2::text[])",
          {n.psp, text_array(ids)});
      if (!known.ok()) return known.error;
      for (int i = 0; i < known.rows.size(); ++i) booked.emplace(known.rows.text(i, 0));
    }
    std::vector<core::dispute_money_movement> fresh;
    for (const auto& m : v.movements) {
      if (booked.count(m.id) != 0 || (m.amount == 0 && m.fee == 0)) continue;
      booked.insert(m.id);
      fresh.push_back(m);
    }
    auto plan = core::dispute_postings(core::posting_scope{merchant_id, n.psp, d.currency}, fresh,
                                       open, status);
    if (!plan) {
      refused = plan.err();
      return refusal();
    }
    if (!plan->journals.empty() && !changed) {
      ++version;
      changed = true;
    }
    std::int64_t fee_added = 0;
    bool withdrawn = false;
    bool reinstated = false;
    for (std::size_t i = 0; i < plan->journals.size(); ++i) {
      auto& j = plan->journals[i];
      j.memo = "dispute " + d.id + ": " + j.memo;
      if (j.memo.size() > core::journal_memo_length_max)
        j.memo.resize(core::journal_memo_length_max);
      auto posted = insert_journal(tx, j, post_context{intent_id, std::nullopt, std::nullopt});
      if (!posted.ok()) return posted.error;
      if (i < fresh.size()) {
        const auto& m = fresh[i];
        auto r = tx.exec(
            "INSERT INTO dispute_movements (dispute_id, psp, psp_movement_id, amount, fee, "
            "currency, transaction_id, psp_created) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "to_timestamp($8))",
            {d.id, n.psp, m.id, std::to_string(m.amount), std::to_string(m.fee), d.currency,
             posted.transaction_id, std::to_string(m.created)});
        if (!r.ok()) return r.error;
        fee_added += m.fee;
        withdrawn = withdrawn || m.amount < 0;
        reinstated = reinstated || m.amount > 0;
        auto action = m.amount < 0 ? "dispute_funds_withdrawn" : "dispute_funds_reinstated";
        if (auto e = audit(
                tx, d, "webhook", action, std::nullopt, std::nullopt, cause, version,
                ",\"amount\":" + std::to_string(m.amount) + ",\"fee\":" + std::to_string(m.fee) +
                    ",\"balance_transaction\":" + core::json_string(m.id) +
                    ",\"ledger_transaction\":" + core::json_string(posted.transaction_id)))
          return e;
        notes.push_back(m.amount < 0 ? "funds withdrawn" : "funds reinstated");
      } else {
        if (auto e =
                audit(tx, d, "webhook", "dispute_loss", std::nullopt, std::nullopt, cause, version,
                      ",\"amount\":" + std::to_string(open) +
                          ",\"ledger_transaction\":" + core::json_string(posted.transaction_id)))
          return e;
        notes.push_back("loss realised");
      }
    }
    bool newer = n.event_created >= d.psp_updated;
    bool facts_differ = newer && (v.evidence_due_by != d.evidence_due_by || v.amount != d.amount);
    if (facts_differ && !changed && !inserted) {
      ++version;
      changed = true;
      if (auto e = audit(tx, d, "webhook", "dispute_psp_update", std::nullopt, std::nullopt, cause,
                         version))
        return e;
      notes.push_back("updated");
    }
    if (changed) {
      auto r = tx.exec(
          "UPDATE disputes SET status = $2, amount = CASE WHEN $3 THEN $4::bigint ELSE amount END, "
          "evidence_due_by = CASE WHEN $3 THEN to_timestamp($5) ELSE evidence_due_by END, "
          "fee = fee + $6, open_amount = $7, funds_withdrawn = funds_withdrawn OR $8, "
          "funds_reinstated = funds_reinstated OR $9, psp_updated = greatest(psp_updated, "
          "to_timestamp($10)), version = $11, updated_at = clock_timestamp() WHERE id = $1",
          {d.id, std::string(core::to_string(status)), newer ? "true" : "false",
           std::to_string(v.amount), opt_int(v.evidence_due_by), std::to_string(fee_added),
           std::to_string(plan->open_after_minor), withdrawn ? "true" : "false",
           reinstated ? "true" : "false", std::to_string(n.event_created),
           std::to_string(version)});
      if (!r.ok()) return r.error;
    }
    outcome = "dispute " + d.id;
    if (notes.empty()) outcome += ": nothing new";
    for (std::size_t i = 0; i < notes.size(); ++i) outcome += (i == 0 ? ": " : ", ") + notes[i];
    return std::nullopt;
  });
  if (already)
    return core::make_error(core::errc::already_processed, "The event was already applied.");
  if (no_intent)
    return core::make_error(core::errc::not_found,
                            "The engine has no intent for the disputed payment " +
                                v.payment_intent.value_or(v.engine_reference.value_or("?")) +
                                " yet.",
                            "payment_intent");
  if (refused) return *refused;
  if (failed) return to_core_error(*failed);
  return outcome;
}

core::result<core::dispute> find_dispute(pg_connection& conn, const std::string& merchant_id,
                                         const std::string& id) {
  auto r =
      conn.exec("SELECT " + dispute_columns + " FROM disputes WHERE id = $1 AND merchant_id = $2",
                {id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty())
    return core::make_error(core::errc::not_found, "No such dispute: '" + id + "'", "id");
  return read_dispute(r.rows, 0);
}

core::result<dispute_page> list_disputes(pg_connection& conn, const dispute_query& q) {
  std::string sql = "SELECT " + dispute_columns + " FROM disputes WHERE merchant_id = $1";
  std::vector<pg_param> params{q.merchant_id, std::to_string(q.limit + 1)};
  if (q.starting_after) {
    auto anchor = conn.exec("SELECT 1 FROM disputes WHERE id = $1 AND merchant_id = $2",
                            {*q.starting_after, q.merchant_id});
    if (!anchor.ok()) return to_core_error(*anchor.error);
    if (anchor.rows.empty())
      return core::make_error(core::errc::not_found, "No such dispute: '" + *q.starting_after + "'",
                              "starting_after");
    params.push_back(*q.starting_after);
    sql += " AND (created_at, id) < (SELECT created_at, id FROM disputes WHERE id = $" +
           std::to_string(params.size()) + ")";
  }
  if (q.status) {
    params.push_back(std::string(core::to_string(*q.status)));
    sql += " AND status = $" + std::to_string(params.size());
  }
  if (q.intent_id) {
    params.push_back(*q.intent_id);
    sql += " AND intent_id = $" + std::to_string(params.size());
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT $2";
  auto r = conn.exec(sql, params);
  if (!r.ok()) return to_core_error(*r.error);
  dispute_page page;
  auto n = static_cast<std::size_t>(r.rows.size());
  page.has_more = n > q.limit;
  for (std::size_t i = 0; i < n && i < q.limit; ++i)
    page.data.push_back(read_dispute(r.rows, static_cast<int>(i)));
  return page;
}

core::result<std::vector<core::dispute>> disputes_of_intent(pg_connection& conn,
                                                            const std::string& merchant_id,
                                                            const std::string& intent_id) {
  auto r = conn.exec("SELECT " + dispute_columns +
                         " FROM disputes WHERE intent_id = $1 AND merchant_id = $2 ORDER BY "
                         "created_at, id",
                     {intent_id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<core::dispute> out;
  for (int i = 0; i < r.rows.size(); ++i) out.push_back(read_dispute(r.rows, i));
  return out;
}

core::result<core::dispute> record_evidence(pg_connection& conn, const core::dispute& before,
                                            const std::string& evidence_json,
                                            core::dispute_status psp_status) {
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    // The PSP took the evidence; its webhook may have moved the dispute
    // meanwhile (to under_review, the same news), so the row as it is now
    // decides the walk, under its lock.
    auto cur = tx.exec("SELECT " + dispute_columns + " FROM disputes WHERE id = $1 FOR UPDATE",
                       {before.id});
    if (!cur.ok()) return cur.error;
    if (cur.rows.empty()) return refusal();
    auto now = read_dispute(cur.rows, 0);
    auto status = now.status;
    std::vector<core::dispute_event> path;
    if (auto p = core::dispute_path(now.status, psp_status); p) {
      path = *p;
      status = psp_status;
    }
    auto version = now.version + 1;
    auto r = tx.exec(
        "UPDATE disputes SET evidence = $2::jsonb, evidence_submitted_at = clock_timestamp(), "
        "status = $3, version = $4, updated_at = clock_timestamp() WHERE id = $1",
        {now.id, evidence_json, std::string(core::to_string(status)), std::to_string(version)});
    if (!r.ok()) return r.error;
    auto at = now.status;
    std::string fields = ",\"evidence_bytes\":" + std::to_string(evidence_json.size());
    if (path.empty())
      if (auto e = audit(tx, now, "api", "dispute_evidence_submitted", at, at,
                         "the merchant sent evidence", version, fields))
        return e;
    for (auto e : path) {
      auto next = *core::dispute_transition(at, e);
      if (auto err = audit(tx, now, "api", "dispute_" + std::string(core::to_string(e)), at, next,
                           "the merchant sent evidence", version, fields))
        return err;
      at = next;
    }
    return std::nullopt;
  });
  if (failed) return to_core_error(*failed);
  return find_dispute(conn, before.merchant_id, before.id);
}

core::result<std::vector<core::dispute>> open_disputes(pg_connection& conn) {
  auto r = conn.exec("SELECT " + dispute_columns +
                         " FROM disputes WHERE status IN ('warning_needs_response', "
                         "'needs_response', 'under_review') ORDER BY evidence_due_by NULLS LAST, "
                         "id LIMIT $1",
                     {std::to_string(core::limits::disputes_open_scan_max)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<core::dispute> out;
  for (int i = 0; i < r.rows.size(); ++i) out.push_back(read_dispute(r.rows, i));
  return out;
}

}  // namespace pay::storage
