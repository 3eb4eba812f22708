#include "storage/intents.hpp"

#include <chrono>
#include <string_view>

#include "core/outbound_events.hpp"
#include "storage/outbound_webhooks.hpp"

namespace pay::storage {

namespace {

constexpr std::string_view intent_columns =
    "id, merchant_id, status, amount, currency, capture_method, amount_capturable, "
    "amount_received, amount_refunded, description, metadata::text, psp, psp_reference, "
    "client_secret, last_payment_error::text, version, "
    "extract(epoch FROM created_at)::bigint, extract(epoch FROM expires_at)::bigint, "
    "merchant_initiated";

core::payment_intent read_intent(const pg_rows& rows, int row) {
  core::payment_intent pi;
  pi.id = rows.text(row, 0);
  pi.merchant_id = rows.text(row, 1);
  // The CHECK constraints guarantee a known status and capture method.
  pi.status = core::parse_intent_status(rows.text(row, 2)).value_or(core::intent_status::created);
  pi.amount = rows.int64(row, 3);
  pi.currency = rows.text(row, 4);
  pi.capture =
      core::parse_capture_method(rows.text(row, 5)).value_or(core::capture_method::automatic);
  pi.amount_capturable = rows.int64(row, 6);
  pi.amount_received = rows.int64(row, 7);
  pi.amount_refunded = rows.int64(row, 8);
  pi.description = rows.optional_text(row, 9);
  pi.metadata_json = rows.text(row, 10);
  pi.psp = rows.text(row, 11);
  pi.psp_reference = rows.optional_text(row, 12);
  pi.client_secret = rows.optional_text(row, 13);
  pi.last_payment_error_json = rows.optional_text(row, 14);
  pi.version = rows.int64(row, 15);
  pi.created = rows.int64(row, 16);
  if (!rows.is_null(row, 17)) pi.expires_at = rows.int64(row, 17);
  pi.merchant_initiated = rows.boolean(row, 18);
  return pi;
}

core::error intent_not_found(const std::string& id, std::string param = {}) {
  return core::make_error(core::errc::not_found, "No such payment_intent: '" + id + "'",
                          std::move(param));
}

}  // namespace

core::result<intent_page> list_intents(pg_connection& conn, const std::string& merchant_id,
                                       std::size_t limit,
                                       const std::optional<std::string>& starting_after) {
  std::string sql =
      "SELECT " + std::string(intent_columns) + " FROM payment_intents WHERE merchant_id = $1";
  std::vector<pg_param> params{merchant_id, std::to_string(limit + 1)};
  if (starting_after) {
    auto anchor = conn.exec("SELECT 1 FROM payment_intents WHERE id = $1 AND merchant_id = $2",
                            {*starting_after, merchant_id});
    if (!anchor.ok()) return to_core_error(*anchor.error);
    if (anchor.rows.empty()) return intent_not_found(*starting_after, "starting_after");
    sql += " AND (created_at, id) < (SELECT created_at, id FROM payment_intents WHERE id = $3)";
    params.push_back(*starting_after);
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT $2";
  auto r = conn.exec(sql, params);
  if (!r.ok()) return to_core_error(*r.error);
  intent_page page;
  int n = r.rows.size();
  page.has_more = static_cast<std::size_t>(n) > limit;
  for (int row = 0; row < n && static_cast<std::size_t>(row) < limit; ++row)
    page.data.push_back(read_intent(r.rows, row));
  return page;
}

core::result<core::payment_intent> find_intent(pg_connection& conn, const std::string& merchant_id,
                                               const std::string& id) {
  auto r = conn.exec("SELECT " + std::string(intent_columns) +
                         " FROM payment_intents WHERE id = $1 AND merchant_id = $2",
                     {id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return intent_not_found(id);
  return read_intent(r.rows, 0);
}

core::result<core::payment_intent> load_intent(pg_connection& conn, const std::string& id) {
  auto r = conn.exec(
      "SELECT " + std::string(intent_columns) + " FROM payment_intents WHERE id = $1", {id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return intent_not_found(id);
  return read_intent(r.rows, 0);
}

namespace {

pg_param optional_param(const std::optional<std::string>& v) {
  return v ? pg_param{*v} : pg_param{};
}

std::optional<db_error> insert_or_update_intent(pg_connection& tx, const intent_write& w,
                                                std::int64_t& version) {
  const auto& pi = w.intent;
  std::vector<pg_param> common{
      pi.id,
      std::string(core::to_string(pi.status)),
      std::to_string(pi.amount_capturable),
      std::to_string(pi.amount_received),
      std::to_string(pi.amount_refunded),
      optional_param(pi.psp_reference),
      optional_param(pi.client_secret),
      optional_param(pi.last_payment_error_json),
      pi.expires_at ? pg_param{std::to_string(*pi.expires_at)} : pg_param{}};
  if (w.expected_version < 0) {
    common.insert(
        common.end(),
        {pi.merchant_id, std::to_string(pi.amount), pi.currency,
         std::string(core::to_string(pi.capture)), optional_param(pi.description), pi.metadata_json,
         pi.psp, std::to_string(pi.created), pi.merchant_initiated ? "true" : "false"});
    auto r = tx.exec(
        "INSERT INTO payment_intents (id, status, amount_capturable, amount_received, "
        "amount_refunded, psp_reference, client_secret, last_payment_error, expires_at, "
        "merchant_id, amount, currency, capture_method, description, metadata, psp, version, "
        "created_at, merchant_initiated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, "
        "to_timestamp($9::bigint), $10, $11, $12, $13, $14, $15::jsonb, $16, 0, "
        "to_timestamp($17), $18::boolean)",
        common);
    if (!r.ok()) return r.error;
    version = 0;
    return std::nullopt;
  }
  common.push_back(std::to_string(w.expected_version));
  auto r = tx.exec(
      "UPDATE payment_intents SET status = $2, amount_capturable = $3, amount_received = $4, "
      "amount_refunded = $5, psp_reference = $6, client_secret = $7, last_payment_error = "
      "$8::jsonb, expires_at = to_timestamp($9::bigint), version = version + 1, updated_at = "
      "now() WHERE id = $1 AND version = $10 "
      "RETURNING version",
      common);
  if (!r.ok()) return r.error;
  if (r.rows.empty()) {
    version = -1;  // lost the compare-and-swap
    return std::nullopt;
  }
  version = r.rows.int64(0, 0);
  return std::nullopt;
}

/// The events `w` makes once written at `version` (core decides which).
std::vector<core::outbound_event> outbound_events_of(const intent_write& w, std::int64_t version) {
  auto after = w.intent;
  after.version = version;
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  return core::outbound_events_for(after, w.audit, w.refund, now_s);
}

/// Builds a statement's parameters: each value appended answers its "$N".
struct param_list {
  std::vector<pg_param> values;
  std::string add(pg_param v) {
    values.push_back(std::move(v));
    return "$" + std::to_string(values.size());
  }
};

/// The UPDATE that moves `w`'s idempotency record on: to its recovery
/// point, or, with an answer, to `finished` with the answer stored and the
/// lease released.
std::string idempotency_update_sql(const intent_write& w, param_list& p) {
  std::string sql = "UPDATE idempotency_keys SET ";
  if (w.answer_status) {
    sql += "recovery_point = 'finished', response_status = " +
           p.add(std::to_string(*w.answer_status)) +
           "::int, response_body = " + p.add(w.answer_body) + ", locked_until = NULL";
  } else {
    sql += "recovery_point = coalesce(" +
           p.add(w.recovery_point ? pg_param{std::string(core::to_string(*w.recovery_point))}
                                  : pg_param{}) +
           ", recovery_point)";
  }
  sql += ", intent_id = " + p.add(w.intent.id) + ", refund_id = coalesce(" +
         p.add(w.refund ? pg_param{w.refund->id} : pg_param{}) +
         ", refund_id), updated_at = now() WHERE id = " + p.add(std::to_string(*w.idempotency_id)) +
         "::bigint";
  return sql;
}

/// Whether `w` is a plain new intent (a create): its insert, its one audit
/// row, at most one outbound event and the idempotency record can go to the
/// database as ONE statement.
bool fusable_insert(const intent_write& w, const std::vector<core::outbound_event>& events) {
  return w.expected_version < 0 && w.touch_intent && !w.inbox_id && !w.refund &&
         w.postings.empty() && !w.reverses_refund && !w.reverses_capture && w.audit.size() == 1 &&
         events.size() <= 1;
}

/// A create in one statement of data-modifying CTEs: the intent row, its
/// audit row, its outbound event (and deliveries), the idempotency record
/// (with the stored answer when given). One statement is atomic on its own,
/// so it needs no BEGIN/COMMIT round trips; in a group-commit batch it runs
/// under the batch's savepoint. Foreign keys are checked at the statement's
/// end, when the intent row exists.
std::optional<db_error> insert_fused(pg_connection& conn, const intent_write& w,
                                     const std::vector<core::outbound_event>& events) {
  const auto& pi = w.intent;
  const auto& a = w.audit.front();
  param_list p;
  std::string sql =
      "WITH i AS (INSERT INTO payment_intents (id, status, amount_capturable, amount_received, "
      "amount_refunded, psp_reference, client_secret, last_payment_error, expires_at, "
      "merchant_id, amount, currency, capture_method, description, metadata, psp, version, "
      "created_at, merchant_initiated) VALUES (";
  sql += p.add(pi.id) + ", " + p.add(std::string(core::to_string(pi.status))) + ", " +
         p.add(std::to_string(pi.amount_capturable)) + ", " +
         p.add(std::to_string(pi.amount_received)) + ", " +
         p.add(std::to_string(pi.amount_refunded)) + ", " +
         p.add(optional_param(pi.psp_reference)) + ", " + p.add(optional_param(pi.client_secret)) +
         ", " + p.add(optional_param(pi.last_payment_error_json)) + "::jsonb, to_timestamp(" +
         p.add(pi.expires_at ? pg_param{std::to_string(*pi.expires_at)} : pg_param{}) +
         "::bigint), " + p.add(pi.merchant_id) + ", " + p.add(std::to_string(pi.amount)) + ", " +
         p.add(pi.currency) + ", " + p.add(std::string(core::to_string(pi.capture))) + ", " +
         p.add(optional_param(pi.description)) + ", " + p.add(pi.metadata_json) + "::jsonb, " +
         p.add(pi.psp) + ", 0, to_timestamp(" + p.add(std::to_string(pi.created)) + "::bigint), " +
         p.add(pi.merchant_initiated ? "true" : "false") + "::boolean) RETURNING id)";
  sql +=
      ", a AS (INSERT INTO audit_events (merchant_id, intent_id, actor, action, from_status, "
      "to_status, version, cause, data) VALUES (" +
      p.add(pi.merchant_id) + ", " + p.add(pi.id) + ", " + p.add(a.actor) + ", " + p.add(a.action) +
      ", " + p.add(a.from ? pg_param{std::string(core::to_string(*a.from))} : pg_param{}) + ", " +
      p.add(a.to ? pg_param{std::string(core::to_string(*a.to))} : pg_param{}) + ", 0, " +
      p.add(a.cause) + ", " + p.add(a.data_json) + "::jsonb))";
  if (!events.empty()) {
    const auto& e = events.front();
    sql +=
        ", e AS (INSERT INTO outbound_events (id, merchant_id, type, object_id, "
        "object_version, dedupe_key, payload, created_at) VALUES (" +
        p.add(e.id) + ", " + p.add(e.merchant_id) + ", " +
        p.add(std::string(core::to_string(e.type))) + ", " + p.add(e.object_id) + ", " +
        p.add(std::to_string(e.object_version)) + ", " + p.add(e.dedupe_key) + ", " +
        p.add(e.payload_json) + ", to_timestamp(" + p.add(std::to_string(e.created)) +
        "::bigint)) ON CONFLICT (merchant_id, dedupe_key) DO NOTHING RETURNING id, "
        "merchant_id, type), d AS (INSERT INTO webhook_deliveries (event_id, endpoint_id, "
        "merchant_id) SELECT e.id, w.id, e.merchant_id FROM e JOIN webhook_endpoints w "
        "ON w.merchant_id = e.merchant_id AND w.status = 'enabled' AND w.deleted_at IS NULL "
        "AND (e.type = ANY (w.enabled_events) OR '*' = ANY (w.enabled_events)))";
  }
  if (w.idempotency_id) sql += ", k AS (" + idempotency_update_sql(w, p) + ")";
  sql += " SELECT 1 FROM i";
  auto r = conn.exec(sql, p.values);
  if (!r.ok()) return r.error;
  return std::nullopt;
}

}  // namespace

core::result<std::int64_t> write_intent(pg_connection& conn, const intent_write& w) {
  if (w.expected_version < 0 && w.audit.size() == 1) {
    auto events = outbound_events_of(w, 0);
    if (fusable_insert(w, events)) {
      if (auto e = insert_fused(conn, w, events)) return to_core_error(*e);
      return std::int64_t{0};
    }
  }
  std::int64_t version = -1;
  bool conflict = false;
  bool already_processed = false;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    if (w.inbox_id) {
      auto r = tx.exec(
          "UPDATE webhook_inbox SET processed_at = clock_timestamp(), outcome = $2 "
          "WHERE id = $1 AND processed_at IS NULL",
          {std::to_string(*w.inbox_id), std::string(core::to_string(w.inbox_outcome))});
      if (!r.ok()) return r.error;
      if (r.rows.affected() == 0) {
        already_processed = true;
        return db_error{db_error_kind::serialization, "40001", "event already processed", {}};
      }
      auto d = tx.exec(
          "UPDATE dead_letters SET resolved_at = clock_timestamp() WHERE inbox_id = $1 AND "
          "resolved_at IS NULL",
          {std::to_string(*w.inbox_id)});
      if (!d.ok()) return d.error;
    }
    if (!w.touch_intent) {
      version = w.expected_version;
    } else if (auto e = insert_or_update_intent(tx, w, version)) {
      return e;
    }
    if (version < 0) {
      conflict = true;
      return db_error{db_error_kind::serialization, "40001", "version conflict", {}};
    }
    for (const auto& a : w.audit) {
      auto r = tx.exec(
          "INSERT INTO audit_events (merchant_id, intent_id, actor, action, from_status, "
          "to_status, version, cause, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
          {w.intent.merchant_id, w.intent.id, a.actor, a.action,
           a.from ? pg_param{std::string(core::to_string(*a.from))} : pg_param{},
           a.to ? pg_param{std::string(core::to_string(*a.to))} : pg_param{},
           std::to_string(version), a.cause, a.data_json});
      if (!r.ok()) return r.error;
    }
    if (w.refund) {
      const auto& rf = *w.refund;
      auto r = tx.exec(
          "INSERT INTO refunds (id, merchant_id, intent_id, amount, currency, status, reason, "
          "psp_reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9)) "
          "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, psp_reference = "
          "EXCLUDED.psp_reference",
          {rf.id, rf.merchant_id, rf.intent_id, std::to_string(rf.amount), rf.currency, rf.status,
           optional_param(rf.reason), optional_param(rf.psp_reference),
           std::to_string(rf.created)});
      if (!r.ok()) return r.error;
    }
    for (const auto& p : w.postings) {
      auto posted = insert_journal(tx, p.journal, p.context);
      if (!posted.ok()) return posted.error;
    }
    if (w.reverses_refund && w.refund) {
      auto reversed = reverse_refund_booking(tx, w.refund->id);
      if (!reversed.ok()) return reversed.error;
    }
    if (w.reverses_capture) {
      auto reversed = reverse_capture_booking(tx, w.intent);
      if (!reversed.ok()) return reversed.error;
    }
    // The change's outbound events and their deliveries: in this
    // transaction, so no event without its change and no change without it.
    if (auto e = append_outbound_events(tx, outbound_events_of(w, version))) return e;
    if (w.idempotency_id) {
      param_list p;
      auto sql = idempotency_update_sql(w, p);
      auto r = tx.exec(sql, p.values);
      if (!r.ok()) return r.error;
    }
    return std::nullopt;
  });
  if (already_processed)
    return core::make_error(core::errc::already_processed, "The event was already applied.");
  if (conflict)
    return core::make_error(core::errc::version_conflict,
                            "The payment intent changed concurrently; re-read and retry.");
  if (failed) return to_core_error(*failed);
  return version;
}

core::result<std::vector<core::audit_event>> list_audit(pg_connection& conn,
                                                        const std::string& merchant_id,
                                                        const std::string& intent_id) {
  auto owner = conn.exec("SELECT 1 FROM payment_intents WHERE id = $1 AND merchant_id = $2",
                         {intent_id, merchant_id});
  if (!owner.ok()) return to_core_error(*owner.error);
  if (owner.rows.empty()) return intent_not_found(intent_id);
  auto r = conn.exec(
      "SELECT id, actor, action, from_status, to_status, coalesce(version, 0), cause, data::text, "
      "(extract(epoch FROM created_at) * 1000)::bigint FROM audit_events "
      "WHERE intent_id = $1 AND merchant_id = $2 ORDER BY id",
      {intent_id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<core::audit_event> out;
  for (int row = 0; row < r.rows.size(); ++row) {
    core::audit_event a;
    a.id = r.rows.int64(row, 0);
    a.actor = r.rows.text(row, 1);
    a.action = r.rows.text(row, 2);
    if (!r.rows.is_null(row, 3)) a.from = core::parse_intent_status(r.rows.text(row, 3));
    if (!r.rows.is_null(row, 4)) a.to = core::parse_intent_status(r.rows.text(row, 4));
    a.version = r.rows.int64(row, 5);
    a.cause = r.rows.text(row, 6);
    a.data_json = r.rows.text(row, 7);
    a.created_ms = r.rows.int64(row, 8);
    out.push_back(std::move(a));
  }
  return out;
}

core::result<std::optional<core::refund>> find_refund_by_psp_reference(pg_connection& conn,
                                                                       const std::string& ref) {
  auto r = conn.exec("SELECT merchant_id, id FROM refunds WHERE psp_reference = $1", {ref});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return std::optional<core::refund>{};
  auto found = find_refund(conn, std::string(r.rows.text(0, 0)), std::string(r.rows.text(0, 1)));
  if (!found) return found.err();
  return std::optional<core::refund>{std::move(*found)};
}

core::result<core::refund> find_refund(pg_connection& conn, const std::string& merchant_id,
                                       const std::string& id) {
  auto r = conn.exec(
      "SELECT id, merchant_id, intent_id, amount, currency, status, reason, psp_reference, "
      "extract(epoch FROM created_at)::bigint FROM refunds WHERE id = $1 AND merchant_id = $2",
      {id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty())
    return core::make_error(core::errc::not_found, "No such refund: '" + id + "'");
  core::refund rf;
  rf.id = r.rows.text(0, 0);
  rf.merchant_id = r.rows.text(0, 1);
  rf.intent_id = r.rows.text(0, 2);
  rf.amount = r.rows.int64(0, 3);
  rf.currency = r.rows.text(0, 4);
  rf.status = r.rows.text(0, 5);
  rf.reason = r.rows.optional_text(0, 6);
  rf.psp_reference = r.rows.optional_text(0, 7);
  rf.created = r.rows.int64(0, 8);
  return rf;
}

}  // namespace pay::storage
