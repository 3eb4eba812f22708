#include "storage/idempotency.hpp"

namespace pay::storage {

namespace {

/// SQL: the lease holder of row `k` still has a connection to the database.
/// A row without a holder (written before holders were recorded) counts as
/// alive, so its lease lapses by time as before.
constexpr std::string_view holder_alive =
    "(k.holder IS NULL OR EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = "
    "k.holder))";

pg_param holder_param(const idempotency_request& req) {
  return req.holder.empty() ? pg_param{} : pg_param{req.holder};
}

/// Reads (operation, op_amount) at columns `col`, `col + 1` of row 0.
void read_operation(const pg_rows& rows, int col, idempotency_record& out) {
  if (auto op = rows.optional_text(0, col)) out.operation = core::parse_operation_kind(*op);
  if (!rows.is_null(0, col + 1)) out.op_amount = rows.int64(0, col + 1);
}

}  // namespace

core::result<idempotency_record> idempotency_begin(pg_connection& conn,
                                                   const idempotency_request& req) {
  idempotency_record out;
  // No explicit transaction: each statement is atomic on its own (the claim
  // an INSERT, the takeover a guarded UPDATE, the rest reads), which saves
  // two round trips per request; in a group-commit batch they run in the
  // batch's transaction.
  auto& tx = conn;
  auto failed = [&]() -> std::optional<db_error> {
    auto inserted = tx.exec(
        "INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, locked_until, "
        "holder) VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::double precision "
        "/ 1000), $7) ON CONFLICT (merchant_id, key) DO NOTHING RETURNING id",
        {req.merchant_id, req.key, req.method, req.path, req.fingerprint,
         std::to_string(req.lease_ms), holder_param(req)});
    if (!inserted.ok()) return inserted.error;
    if (inserted.rows.size() == 1) {
      out.state = idempotency_state::fresh;
      out.id = inserted.rows.int64(0, 0);
      return std::nullopt;
    }
    // Read without a row lock: a replay, a mismatch or a key in flight
    // changes nothing, so it must not queue behind (or, in a group-commit
    // batch, hold up) other requests for the same key. Only taking over an
    // expired lease writes, with a guarded UPDATE.
    // A lease counts only while its holder lives: an engine process that
    // died (kill -9) has no connection left, so its lease is free at once.
    auto row =
        tx.exec("SELECT id, fingerprint, recovery_point, locked_until > now() AND " +
                    std::string(holder_alive) +
                    ", intent_id, refund_id, response_status, response_body, operation, op_amount "
                    "FROM idempotency_keys k WHERE merchant_id = $1 AND key = $2",
                {req.merchant_id, req.key});
    if (!row.ok()) return row.error;
    if (row.rows.empty()) {
      // Expired and deleted between the INSERT and this read: busy, retry.
      out.state = idempotency_state::in_flight;
      return std::nullopt;
    }
    const auto& r = row.rows;
    out.id = r.int64(0, 0);
    out.point = core::parse_recovery_point(r.text(0, 2)).value_or(core::recovery_point::started);
    out.intent_id = r.optional_text(0, 4);
    out.refund_id = r.optional_text(0, 5);
    read_operation(r, 8, out);
    if (r.text(0, 1) != req.fingerprint) {
      out.state = idempotency_state::mismatch;
    } else if (out.point == core::recovery_point::finished) {
      out.state = idempotency_state::replay;
      out.response_status = static_cast<int>(r.int64(0, 6));
      out.response_body = r.text(0, 7);
    } else if (!r.is_null(0, 3) && r.boolean(0, 3)) {
      out.state = idempotency_state::in_flight;
    } else {
      // Take the lease only if it is still free and the key unfinished (the
      // WHERE is re-checked on the row's latest version after any wait).
      auto lease = tx.exec(
          "UPDATE idempotency_keys k SET locked_until = now() + make_interval(secs => "
          "$2::double precision / 1000), holder = $3, updated_at = now() WHERE id = $1 AND "
          "recovery_point <> 'finished' AND (locked_until IS NULL OR locked_until <= now() OR "
          "NOT " +
              std::string(holder_alive) +
              ") RETURNING recovery_point, intent_id, refund_id, operation, op_amount",
          {std::to_string(out.id), std::to_string(req.lease_ms), holder_param(req)});
      if (!lease.ok()) return lease.error;
      if (lease.rows.empty()) {
        // Another request took the lease or finished first: busy, retry.
        out.state = idempotency_state::in_flight;
      } else {
        out.state = idempotency_state::resume;
        out.point = core::parse_recovery_point(lease.rows.text(0, 0))
                        .value_or(core::recovery_point::started);
        out.intent_id = lease.rows.optional_text(0, 1);
        out.refund_id = lease.rows.optional_text(0, 2);
        read_operation(lease.rows, 3, out);
      }
    }
    return std::nullopt;
  }();
  if (failed) return to_core_error(*failed);
  return out;
}

core::status idempotency_admit(pg_connection& conn, const idempotency_admission& a) {
  auto r = conn.exec(
      "UPDATE idempotency_keys SET recovery_point = 'psp_requested', intent_id = $2, operation = "
      "$3, op_amount = $4, refund_id = coalesce($5, refund_id), updated_at = now() WHERE id = $1 "
      "AND recovery_point = 'started'",
      {std::to_string(a.id), a.intent_id, std::string(core::to_string(a.operation)),
       a.amount ? pg_param{std::to_string(*a.amount)} : pg_param{},
       a.refund_id ? pg_param{*a.refund_id} : pg_param{}});
  if (!r.ok()) return to_core_error(*r.error);
  return core::status::ok();
}

core::status idempotency_finish(pg_connection& conn, std::int64_t id, int status,
                                const std::string& body) {
  auto r = conn.exec(
      "UPDATE idempotency_keys SET recovery_point = 'finished', response_status = $2, "
      "response_body = $3, locked_until = NULL, updated_at = now() WHERE id = $1",
      {std::to_string(id), std::to_string(status), body});
  if (!r.ok()) return to_core_error(*r.error);
  return core::status::ok();
}

core::status idempotency_release(pg_connection& conn, std::int64_t id) {
  auto r =
      conn.exec("UPDATE idempotency_keys SET locked_until = NULL, updated_at = now() WHERE id = $1",
                {std::to_string(id)});
  if (!r.ok()) return to_core_error(*r.error);
  return core::status::ok();
}

core::result<std::int64_t> idempotency_expire(pg_connection& conn, std::int64_t retention_hours) {
  auto r = conn.exec(
      "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1::int) "
      "AND (locked_until IS NULL OR locked_until < now())",
      {std::to_string(retention_hours)});
  if (!r.ok()) return to_core_error(*r.error);
  return r.rows.affected();
}

}  // namespace pay::storage
