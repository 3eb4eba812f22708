#include "storage/inbox.hpp"

#include <algorithm>

#include "core/crypto.hpp"
#include "core/idempotency.hpp"
#include "core/ids.hpp"

namespace pay::storage {

namespace {

pg_param opt(const std::optional<std::string>& v) {
  return v ? pg_param{*v} : pg_param{};
}

std::optional<db_error> record_attempt(pg_connection& tx, std::int64_t id, int attempt,
                                       const std::string& error) {
  return tx
      .exec("INSERT INTO webhook_attempts (inbox_id, attempt, error) VALUES ($1, $2, $3)",
            {std::to_string(id), std::to_string(attempt), error})
      .error;
}

}  // namespace

std::string from_hex(std::string_view hex) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(value(hex[i]) * 16 + value(hex[i + 1])));
  return out;
}

core::result<inbox_receipt> inbox_add(pg_connection& conn, const inbox_item& item) {
  auto r = conn.exec(
      "INSERT INTO webhook_inbox (psp, event_id, event_type, object_id, payload, signature) "
      "VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6) ON CONFLICT (psp, event_id) DO NOTHING "
      "RETURNING id",
      {item.psp, item.event_id, item.event_type, opt(item.object_id), core::to_hex(item.payload),
       item.signature});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.size() == 1) return inbox_receipt{r.rows.int64(0, 0), false};
  auto existing = conn.exec("SELECT id FROM webhook_inbox WHERE psp = $1 AND event_id = $2",
                            {item.psp, item.event_id});
  if (!existing.ok()) return to_core_error(*existing.error);
  return inbox_receipt{existing.rows.empty() ? 0 : existing.rows.int64(0, 0), true};
}

core::result<std::vector<inbox_row>> inbox_claim(pg_connection& conn, std::size_t batch_max,
                                                 std::int64_t lease_ms) {
  auto r = conn.exec(
      "UPDATE webhook_inbox SET attempts = attempts + 1, claimed_by = $3, next_attempt_at = "
      "clock_timestamp() + make_interval(secs => $2::double precision / 1000) WHERE id IN (SELECT "
      "w.id FROM webhook_inbox w WHERE w.processed_at IS NULL AND w.dead_lettered_at IS NULL AND "
      "(w.next_attempt_at <= clock_timestamp() OR (w.claimed_by IS NOT NULL AND w.claimed_by <> $3 "
      "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = "
      "w.claimed_by))) ORDER BY w.next_attempt_at, w.id LIMIT $1 FOR UPDATE SKIP LOCKED) "
      "RETURNING id, psp, event_id, event_type, object_id, encode(payload, 'hex'), attempts, "
      "(extract(epoch FROM retry_window_at) * 1000)::bigint",
      {std::to_string(batch_max), std::to_string(lease_ms), core::instance_id()});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<inbox_row> out;
  for (int i = 0; i < r.rows.size(); ++i) {
    inbox_row row;
    row.id = r.rows.int64(i, 0);
    row.psp = r.rows.text(i, 1);
    row.event_id = r.rows.text(i, 2);
    row.event_type = r.rows.text(i, 3);
    row.object_id = r.rows.optional_text(i, 4);
    row.payload = from_hex(r.rows.text(i, 5));
    row.attempts = static_cast<int>(r.rows.int64(i, 6));
    row.received_ms = r.rows.int64(i, 7);
    out.push_back(std::move(row));
  }
  // Oldest first, so one intent's events reach its actor in arrival order.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

core::status inbox_mark_processed(pg_connection& conn, std::int64_t id,
                                  const std::string& outcome) {
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    auto r = tx.exec(
        "UPDATE webhook_inbox SET processed_at = clock_timestamp(), outcome = $2 "
        "WHERE id = $1 AND processed_at IS NULL",
        {std::to_string(id), outcome});
    if (!r.ok()) return r.error;
    auto d = tx.exec(
        "UPDATE dead_letters SET resolved_at = clock_timestamp() WHERE inbox_id = $1 AND "
        "resolved_at IS NULL",
        {std::to_string(id)});
    return d.error;
  });
  if (failed) return to_core_error(*failed);
  return core::status::ok();
}

core::status inbox_retry_later(pg_connection& conn, std::int64_t id, int attempt,
                               const std::string& error, std::int64_t delay_ms) {
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    if (auto e = record_attempt(tx, id, attempt, error)) return e;
    auto r = tx.exec(
        "UPDATE webhook_inbox SET claimed_by = NULL, next_attempt_at = clock_timestamp() + "
        "make_interval(secs => $2::double precision / 1000) WHERE id = $1 AND processed_at IS NULL",
        {std::to_string(id), std::to_string(delay_ms)});
    return r.error;
  });
  if (failed) return to_core_error(*failed);
  return core::status::ok();
}

core::status inbox_dead_letter(pg_connection& conn, std::int64_t id, int attempt,
                               const std::string& error, const std::string& reason) {
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    if (auto e = record_attempt(tx, id, attempt, error)) return e;
    auto r = tx.exec(
        "UPDATE webhook_inbox SET dead_lettered_at = clock_timestamp() WHERE id = $1 AND "
        "processed_at IS NULL",
        {std::to_string(id)});
    if (!r.ok()) return r.error;
    auto d = tx.exec(
        "INSERT INTO dead_letters (id, inbox_id, reason) VALUES ($1, $2, $3) ON CONFLICT "
        "(inbox_id) DO UPDATE SET reason = EXCLUDED.reason, resolved_at = NULL",
        {core::make_id(core::id_prefix::dead_letter), std::to_string(id), reason});
    return d.error;
  });
  if (failed) return to_core_error(*failed);
  return core::status::ok();
}

core::result<std::vector<dead_letter_view>> list_dead_letters(pg_connection& conn,
                                                              bool include_resolved,
                                                              std::size_t limit) {
  auto r = conn.exec(
      "SELECT d.id, d.inbox_id, i.psp, i.event_id, i.event_type, d.reason, "
      "(extract(epoch FROM d.created_at) * 1000)::bigint, d.replay_count, d.resolved_at IS NOT "
      "NULL FROM dead_letters d JOIN webhook_inbox i ON i.id = d.inbox_id "
      "WHERE $1 OR d.resolved_at IS NULL ORDER BY d.created_at DESC, d.id LIMIT $2",
      {include_resolved ? "true" : "false", std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<dead_letter_view> out;
  for (int i = 0; i < r.rows.size(); ++i) {
    dead_letter_view d;
    d.id = r.rows.text(i, 0);
    d.inbox_id = r.rows.int64(i, 1);
    d.psp = r.rows.text(i, 2);
    d.event_id = r.rows.text(i, 3);
    d.event_type = r.rows.text(i, 4);
    d.reason = r.rows.text(i, 5);
    d.created_ms = r.rows.int64(i, 6);
    d.replay_count = static_cast<int>(r.rows.int64(i, 7));
    d.resolved = r.rows.boolean(i, 8);
    auto a = conn.exec(
        "SELECT attempt, error, (extract(epoch FROM at) * 1000)::bigint FROM webhook_attempts "
        "WHERE inbox_id = $1 ORDER BY id",
        {std::to_string(d.inbox_id)});
    if (!a.ok()) return to_core_error(*a.error);
    for (int j = 0; j < a.rows.size(); ++j)
      d.attempts.push_back(attempt_record{static_cast<int>(a.rows.int64(j, 0)),
                                          std::string(a.rows.text(j, 1)), a.rows.int64(j, 2)});
    out.push_back(std::move(d));
  }
  return out;
}

core::result<std::vector<std::string>> replay_dead_letters(pg_connection& conn,
                                                           const std::optional<std::string>& id) {
  std::vector<std::string> ids;
  bool missing = false;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    auto r = tx.exec(
        "UPDATE dead_letters SET replay_count = replay_count + 1, replayed_at = "
        "clock_timestamp() WHERE resolved_at IS NULL AND ($1::text IS NULL OR id = $1) "
        "RETURNING id, inbox_id",
        {opt(id)});
    if (!r.ok()) return r.error;
    if (id && r.rows.empty()) {
      missing = true;
      return std::nullopt;
    }
    for (int i = 0; i < r.rows.size(); ++i) {
      ids.emplace_back(r.rows.text(i, 0));
      auto u = tx.exec(
          "UPDATE webhook_inbox SET dead_lettered_at = NULL, attempts = 0, next_attempt_at = "
          "clock_timestamp(), retry_window_at = clock_timestamp() WHERE id = $1 AND processed_at "
          "IS NULL",
          {std::string(r.rows.text(i, 1))});
      if (!u.ok()) return u.error;
    }
    return std::nullopt;
  });
  if (failed) return to_core_error(*failed);
  if (missing)
    return core::make_error(core::errc::not_found,
                            "No unresolved dead letter '" + id.value_or("") + "'");
  return ids;
}

core::result<std::optional<std::string>> intent_id_for_psp_reference(
    pg_connection& conn, const std::string& psp, const std::string& reference,
    const std::string& engine_reference) {
  auto r = conn.exec(
      "SELECT id FROM payment_intents WHERE psp = $1 AND (psp_reference = $2 OR id = $3) "
      "ORDER BY psp_reference = $2 DESC NULLS LAST LIMIT 1",
      {psp, reference, engine_reference});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{std::string(r.rows.text(0, 0))};
}

core::result<std::vector<std::string>> stuck_intents(pg_connection& conn, std::int64_t idle_ms,
                                                     std::size_t limit) {
  auto r = conn.exec(
      "SELECT id FROM payment_intents WHERE status IN ('created', 'requires_action', "
      "'processing') AND psp_reference IS NOT NULL AND updated_at < clock_timestamp() - "
      "make_interval(secs => $1::double precision / 1000) ORDER BY updated_at LIMIT $2",
      {std::to_string(idle_ms), std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<std::string> out;
  for (int i = 0; i < r.rows.size(); ++i) out.emplace_back(r.rows.text(i, 0));
  return out;
}

core::result<inbox_stats> read_inbox_stats(pg_connection& conn) {
  auto r = conn.exec(
      "SELECT count(*), coalesce((extract(epoch FROM clock_timestamp() - min(received_at)) * "
      "1000)::bigint, 0), (SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL) FROM "
      "webhook_inbox WHERE processed_at IS NULL AND dead_lettered_at IS NULL");
  if (!r.ok()) return to_core_error(*r.error);
  return inbox_stats{r.rows.int64(0, 0), r.rows.int64(0, 1), r.rows.int64(0, 2)};
}

}  // namespace pay::storage
