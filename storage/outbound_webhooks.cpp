#include "storage/outbound_webhooks.hpp"

#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "core/ids.hpp"
#include "core/limits.hpp"
#include "core/standard_webhooks.hpp"

namespace pay::storage {

namespace {

constexpr std::string_view endpoint_columns =
    "id, merchant_id, url, description, array_to_string(enabled_events, ','), status, "
    "disabled_reason, deleted_at IS NOT NULL, extract(epoch FROM created_at)::bigint";

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  return out;
}

webhook_endpoint read_endpoint(const pg_rows& rows, int row) {
  webhook_endpoint e;
  e.id = rows.text(row, 0);
  e.merchant_id = rows.text(row, 1);
  e.url = rows.text(row, 2);
  e.description = rows.optional_text(row, 3);
  e.enabled_events = split_commas(rows.text(row, 4));
  e.status = rows.text(row, 5);
  e.disabled_reason = rows.optional_text(row, 6);
  e.deleted = rows.boolean(row, 7);
  e.created = rows.int64(row, 8);
  return e;
}

/// A text[] literal of names the routes validated (letters, '_', '.', '*').
std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"' + items[i] + '"';
  }
  return out + "}";
}

pg_param optional_param(const std::optional<std::string>& v) {
  return v ? pg_param{*v} : pg_param{};
}

/// The columns read_delivery reads, over `d` (webhook_deliveries) joined
/// with `e` (outbound_events).
constexpr std::string_view delivery_columns =
    "d.id, d.event_id, e.type, d.endpoint_id, d.state, d.attempts, d.last_status, "
    "d.last_latency_ms, d.last_error, CASE WHEN d.state = 'pending' THEN (extract(epoch FROM "
    "d.next_attempt_at) * 1000)::bigint END, (extract(epoch FROM d.created_at) * 1000)::bigint";

delivery_view read_delivery(const pg_rows& rows, int row) {
  delivery_view d;
  d.id = rows.int64(row, 0);
  d.event_id = rows.text(row, 1);
  d.event_type = rows.text(row, 2);
  d.endpoint_id = rows.text(row, 3);
  d.state = rows.text(row, 4);
  d.attempts = rows.int64(row, 5);
  if (!rows.is_null(row, 6)) d.last_status = rows.int64(row, 6);
  if (!rows.is_null(row, 7)) d.last_latency_ms = rows.int64(row, 7);
  d.last_error = rows.optional_text(row, 8);
  if (!rows.is_null(row, 9)) d.next_attempt_ms = rows.int64(row, 9);
  d.created_ms = rows.int64(row, 10);
  return d;
}

/// Reads attempt, status, error, latency_ms, at (ms) from column `col` on.
delivery_attempt read_attempt(const pg_rows& rows, int row, int col) {
  delivery_attempt at;
  at.attempt = rows.int64(row, col);
  if (!rows.is_null(row, col + 1)) at.status = rows.int64(row, col + 1);
  at.error = rows.optional_text(row, col + 2);
  at.latency_ms = rows.int64(row, col + 3);
  at.at_ms = rows.int64(row, col + 4);
  return at;
}

core::error endpoint_not_found(const std::string& id) {
  return core::make_error(core::errc::not_found, "No such webhook_endpoint: '" + id + "'");
}

std::string ms_interval(std::int64_t ms) {
  return std::to_string(ms);
}

}  // namespace

std::optional<db_error> append_outbound_events(pg_connection& tx,
                                               const std::vector<core::outbound_event>& events) {
  for (const auto& e : events) {
    auto r = tx.exec(
        "WITH e AS (INSERT INTO outbound_events (id, merchant_id, type, object_id, object_version, "
        "dedupe_key, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8)) "
        "ON CONFLICT (merchant_id, dedupe_key) DO NOTHING RETURNING id, merchant_id, type) "
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, merchant_id) "
        "SELECT e.id, w.id, e.merchant_id FROM e JOIN webhook_endpoints w "
        "ON w.merchant_id = e.merchant_id AND w.status = 'enabled' AND w.deleted_at IS NULL "
        "AND (e.type = ANY (w.enabled_events) OR '*' = ANY (w.enabled_events))",
        {e.id, e.merchant_id, std::string(core::to_string(e.type)), e.object_id,
         std::to_string(e.object_version), e.dedupe_key, e.payload_json,
         std::to_string(e.created)});
    if (!r.ok()) return r.error;
  }
  return std::nullopt;
}

core::result<webhook_endpoint> create_endpoint(pg_connection& conn, const std::string& merchant_id,
                                               const endpoint_fields& f) {
  webhook_endpoint out;
  bool too_many = false;
  auto secret = core::make_standard_webhook_secret();
  auto id = core::make_id("we");
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    // One merchant's creates run one at a time, so the count below holds.
    auto lock = tx.exec("SELECT pg_advisory_xact_lock(hashtext('webhook_endpoints:' || $1))",
                        {merchant_id});
    if (!lock.ok()) return lock.error;
    auto count = tx.exec(
        "SELECT count(*) FROM webhook_endpoints WHERE merchant_id = $1 AND deleted_at IS NULL",
        {merchant_id});
    if (!count.ok()) return count.error;
    if (static_cast<std::size_t>(count.rows.int64(0, 0)) >=
        core::limits::webhook_endpoints_per_merchant_max) {
      too_many = true;
      return db_error{db_error_kind::refused, "P0001", "too many endpoints", {}};
    }
    auto r = tx.exec(
        "INSERT INTO webhook_endpoints (id, merchant_id, url, description, "
        "enabled_events) VALUES ($1, $2, $3, $4, $5::text[]) RETURNING " +
            std::string(endpoint_columns),
        {id, merchant_id, f.url.value_or(""), optional_param(f.description),
         array_literal(f.enabled_events.value_or(std::vector<std::string>{"*"}))});
    if (!r.ok()) return r.error;
    out = read_endpoint(r.rows, 0);
    auto s = tx.exec("INSERT INTO webhook_endpoint_secrets (endpoint_id, secret) VALUES ($1, $2)",
                     {id, secret});
    if (!s.ok()) return s.error;
    return std::nullopt;
  });
  if (too_many)
    return core::make_error(core::errc::limit_exceeded,
                            "A merchant can have at most " +
                                std::to_string(core::limits::webhook_endpoints_per_merchant_max) +
                                " webhook endpoints.");
  if (failed) return to_core_error(*failed);
  out.secret = secret;
  return out;
}

core::result<endpoint_page> list_endpoints(pg_connection& conn, const std::string& merchant_id,
                                           std::size_t limit,
                                           const std::optional<std::string>& starting_after) {
  std::string sql = "SELECT " + std::string(endpoint_columns) +
                    " FROM webhook_endpoints WHERE merchant_id = $1 AND deleted_at IS NULL";
  std::vector<pg_param> params{merchant_id, std::to_string(limit + 1)};
  if (starting_after) {
    auto anchor = conn.exec(
        "SELECT 1 FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL",
        {*starting_after, merchant_id});
    if (!anchor.ok()) return to_core_error(*anchor.error);
    if (anchor.rows.empty())
      return core::make_error(core::errc::not_found,
                              "No such webhook_endpoint: '" + *starting_after + "'",
                              "starting_after");
    sql += " AND (created_at, id) < (SELECT created_at, id FROM webhook_endpoints WHERE id = $3)";
    params.push_back(*starting_after);
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT $2";
  auto r = conn.exec(sql, params);
  if (!r.ok()) return to_core_error(*r.error);
  endpoint_page page;
  page.has_more = static_cast<std::size_t>(r.rows.size()) > limit;
  for (int row = 0; row < r.rows.size() && static_cast<std::size_t>(row) < limit; ++row)
    page.data.push_back(read_endpoint(r.rows, row));
  return page;
}

core::result<webhook_endpoint> find_endpoint(pg_connection& conn, const std::string& merchant_id,
                                             const std::string& id) {
  auto r = conn.exec("SELECT " + std::string(endpoint_columns) +
                         " FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND "
                         "deleted_at IS NULL",
                     {id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return endpoint_not_found(id);
  return read_endpoint(r.rows, 0);
}

core::result<webhook_endpoint> update_endpoint(pg_connection& conn, const std::string& merchant_id,
                                               const std::string& id, const endpoint_fields& f) {
  auto r = conn.exec(
      "UPDATE webhook_endpoints SET url = coalesce($3, url), enabled_events = "
      "coalesce($4::text[], enabled_events), description = coalesce($5, description), "
      "status = CASE WHEN $6::boolean IS NULL THEN status WHEN $6 THEN 'enabled' ELSE 'disabled' "
      "END, disabled_reason = CASE WHEN $6::boolean IS NULL THEN disabled_reason WHEN $6 THEN "
      "NULL ELSE 'merchant' END, failing_since = CASE WHEN $6::boolean THEN NULL ELSE "
      "failing_since END, updated_at = clock_timestamp() WHERE id = $1 AND merchant_id = $2 AND "
      "deleted_at IS NULL RETURNING " +
          std::string(endpoint_columns),
      {id, merchant_id, optional_param(f.url),
       f.enabled_events ? pg_param{array_literal(*f.enabled_events)} : pg_param{},
       optional_param(f.description),
       f.enabled ? pg_param{*f.enabled ? "true" : "false"} : pg_param{}});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return endpoint_not_found(id);
  return read_endpoint(r.rows, 0);
}

core::result<webhook_endpoint> delete_endpoint(pg_connection& conn, const std::string& merchant_id,
                                               const std::string& id) {
  auto r = conn.exec(
      "UPDATE webhook_endpoints SET deleted_at = clock_timestamp(), status = 'disabled', "
      "disabled_reason = 'merchant', updated_at = clock_timestamp() WHERE id = $1 AND "
      "merchant_id = $2 AND deleted_at IS NULL RETURNING " +
          std::string(endpoint_columns),
      {id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return endpoint_not_found(id);
  return read_endpoint(r.rows, 0);
}

core::result<webhook_endpoint> roll_endpoint_secret(pg_connection& conn,
                                                    const std::string& merchant_id,
                                                    const std::string& id, std::int64_t overlap_s) {
  webhook_endpoint out;
  bool missing = false;
  auto secret = core::make_standard_webhook_secret();
  std::int64_t expires = 0;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    auto r = tx.exec("SELECT " + std::string(endpoint_columns) +
                         " FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND "
                         "deleted_at IS NULL FOR UPDATE",
                     {id, merchant_id});
    if (!r.ok()) return r.error;
    if (r.rows.empty()) {
      missing = true;
      return db_error{db_error_kind::refused, "P0001", "no such endpoint", {}};
    }
    out = read_endpoint(r.rows, 0);
    // Older rolled secrets stop now; the current one signs until the end of
    // the overlap, beside the new one.
    auto older = tx.exec(
        "UPDATE webhook_endpoint_secrets SET expires_at = clock_timestamp() WHERE endpoint_id = "
        "$1 AND expires_at > clock_timestamp()",
        {id});
    if (!older.ok()) return older.error;
    auto current = tx.exec(
        "UPDATE webhook_endpoint_secrets SET expires_at = clock_timestamp() + $2 * interval '1 "
        "second' WHERE endpoint_id = $1 AND expires_at IS NULL RETURNING "
        "extract(epoch FROM expires_at)::bigint",
        {id, std::to_string(overlap_s)});
    if (!current.ok()) return current.error;
    if (!current.rows.empty()) expires = current.rows.int64(0, 0);
    auto s = tx.exec("INSERT INTO webhook_endpoint_secrets (endpoint_id, secret) VALUES ($1, $2)",
                     {id, secret});
    if (!s.ok()) return s.error;
    return std::nullopt;
  });
  if (missing) return endpoint_not_found(id);
  if (failed) return to_core_error(*failed);
  out.secret = secret;
  out.previous_secret_expires = expires;
  return out;
}

namespace {

constexpr std::string_view event_columns =
    "id, type, object_id, object_version, payload, extract(epoch FROM created_at)::bigint";

stored_event read_event(const pg_rows& rows, int row) {
  stored_event e;
  e.id = rows.text(row, 0);
  e.type = rows.text(row, 1);
  e.object_id = rows.text(row, 2);
  e.object_version = rows.int64(row, 3);
  e.payload_json = rows.text(row, 4);
  e.created = rows.int64(row, 5);
  return e;
}

}  // namespace

core::result<event_page> list_events(pg_connection& conn, const std::string& merchant_id,
                                     std::size_t limit,
                                     const std::optional<std::string>& starting_after,
                                     const std::optional<std::string>& type) {
  std::string sql = "SELECT " + std::string(event_columns) +
                    " FROM outbound_events WHERE merchant_id = $1 AND ($3::text IS NULL OR type = "
                    "$3) AND seq < $4 ORDER BY seq DESC LIMIT $2";
  std::string before = std::to_string(INT64_MAX);
  if (starting_after) {
    auto anchor = conn.exec("SELECT seq FROM outbound_events WHERE id = $1 AND merchant_id = $2",
                            {*starting_after, merchant_id});
    if (!anchor.ok()) return to_core_error(*anchor.error);
    if (anchor.rows.empty())
      return core::make_error(core::errc::not_found, "No such event: '" + *starting_after + "'",
                              "starting_after");
    before = std::string(anchor.rows.text(0, 0));
  }
  auto r = conn.exec(sql, {merchant_id, std::to_string(limit + 1), optional_param(type), before});
  if (!r.ok()) return to_core_error(*r.error);
  event_page page;
  page.has_more = static_cast<std::size_t>(r.rows.size()) > limit;
  for (int row = 0; row < r.rows.size() && static_cast<std::size_t>(row) < limit; ++row)
    page.data.push_back(read_event(r.rows, row));
  return page;
}

core::result<stored_event> find_event(pg_connection& conn, const std::string& merchant_id,
                                      const std::string& id) {
  auto r = conn.exec("SELECT " + std::string(event_columns) +
                         " FROM outbound_events WHERE id = $1 AND merchant_id = $2",
                     {id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return core::make_error(core::errc::not_found, "No such event: '" + id + "'");
  return read_event(r.rows, 0);
}

core::result<delivery_page> list_deliveries(pg_connection& conn, const std::string& merchant_id,
                                            const std::string& endpoint_id, std::size_t limit,
                                            std::optional<std::int64_t> starting_after) {
  auto owner = conn.exec("SELECT 1 FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2",
                         {endpoint_id, merchant_id});
  if (!owner.ok()) return to_core_error(*owner.error);
  if (owner.rows.empty()) return endpoint_not_found(endpoint_id);
  auto r = conn.exec("SELECT " + std::string(delivery_columns) +
                         " FROM webhook_deliveries d JOIN outbound_events e ON e.id = d.event_id "
                         "WHERE d.endpoint_id = $1 AND d.merchant_id = $2 AND d.id < $3 ORDER BY "
                         "d.id DESC LIMIT $4",
                     {endpoint_id, merchant_id, std::to_string(starting_after.value_or(INT64_MAX)),
                      std::to_string(limit + 1)});
  if (!r.ok()) return to_core_error(*r.error);
  delivery_page page;
  page.has_more = static_cast<std::size_t>(r.rows.size()) > limit;
  for (int row = 0; row < r.rows.size() && static_cast<std::size_t>(row) < limit; ++row) {
    auto d = read_delivery(r.rows, row);
    auto a = conn.exec(
        "SELECT attempt, status, error, latency_ms, (extract(epoch FROM at) * 1000)::bigint FROM "
        "webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY id DESC LIMIT $2",
        {std::to_string(d.id), std::to_string(core::limits::list_limit_max)});
    if (!a.ok()) return to_core_error(*a.error);
    for (int i = 0; i < a.rows.size(); ++i) {
      d.attempt_history.push_back(read_attempt(a.rows, i, 0));
    }
    page.data.push_back(std::move(d));
  }
  return page;
}

core::result<std::int64_t> replay_event(pg_connection& conn, const std::string& merchant_id,
                                        const std::string& event_id,
                                        const std::optional<std::string>& endpoint_id) {
  std::int64_t scheduled = 0;
  bool missing = false;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    auto ev = tx.exec("SELECT type FROM outbound_events WHERE id = $1 AND merchant_id = $2",
                      {event_id, merchant_id});
    if (!ev.ok()) return ev.error;
    if (ev.rows.empty()) {
      missing = true;
      return db_error{db_error_kind::refused, "P0001", "no such event", {}};
    }
    auto fresh = tx.exec(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, merchant_id) SELECT $1, w.id, "
        "w.merchant_id FROM webhook_endpoints w WHERE w.merchant_id = $2 AND w.status = "
        "'enabled' AND w.deleted_at IS NULL AND ($3::text IS NULL OR w.id = $3) AND ($4 = ANY "
        "(w.enabled_events) OR '*' = ANY (w.enabled_events)) ON CONFLICT (event_id, endpoint_id) "
        "DO NOTHING",
        {event_id, merchant_id, optional_param(endpoint_id), std::string(ev.rows.text(0, 0))});
    if (!fresh.ok()) return fresh.error;
    auto again = tx.exec(
        "UPDATE webhook_deliveries d SET state = 'pending', delivered_at = NULL, dead_at = NULL, "
        "next_attempt_at = clock_timestamp(), retry_window_at = clock_timestamp() FROM "
        "webhook_endpoints w WHERE w.id = d.endpoint_id AND w.deleted_at IS NULL AND d.event_id = "
        "$1 AND d.merchant_id = $2 AND ($3::text IS NULL OR d.endpoint_id = $3)",
        {event_id, merchant_id, optional_param(endpoint_id)});
    if (!again.ok()) return again.error;
    scheduled = again.rows.affected();
    return std::nullopt;
  });
  if (missing) return core::make_error(core::errc::not_found, "No such event: '" + event_id + "'");
  if (failed) return to_core_error(*failed);
  return scheduled;
}

core::result<std::int64_t> replay_failed(pg_connection& conn, const std::string& merchant_id,
                                         const std::string& endpoint_id, std::int64_t since_s) {
  auto found = find_endpoint(conn, merchant_id, endpoint_id);
  if (!found) return found.err();
  auto r = conn.exec(
      "UPDATE webhook_deliveries d SET state = 'pending', dead_at = NULL, next_attempt_at = "
      "clock_timestamp(), retry_window_at = clock_timestamp() FROM outbound_events e WHERE "
      "e.id = d.event_id AND d.endpoint_id = $1 AND d.merchant_id = $2 AND d.state = 'dead' AND "
      "e.created_at >= to_timestamp($3)",
      {endpoint_id, merchant_id, std::to_string(since_s)});
  if (!r.ok()) return to_core_error(*r.error);
  return r.rows.affected();
}

core::result<std::vector<std::string>> due_endpoints(pg_connection& conn, std::size_t limit) {
  auto r = conn.exec(
      "SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = "
      "d.endpoint_id WHERE d.state = 'pending' AND d.next_attempt_at <= clock_timestamp() AND "
      "w.status = 'enabled' AND w.deleted_at IS NULL LIMIT $1",
      {std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<std::string> out;
  for (int row = 0; row < r.rows.size(); ++row) out.emplace_back(r.rows.text(row, 0));
  return out;
}

core::result<std::vector<claimed_delivery>> claim_deliveries(pg_connection& conn,
                                                             const std::string& endpoint_id,
                                                             std::size_t limit,
                                                             std::int64_t lease_ms) {
  std::vector<claimed_delivery> out;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    auto r = tx.exec(
        "WITH due AS (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = "
        "d.endpoint_id WHERE d.endpoint_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= "
        "clock_timestamp() AND w.status = 'enabled' AND w.deleted_at IS NULL ORDER BY "
        "d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED) "
        "UPDATE webhook_deliveries d SET next_attempt_at = clock_timestamp() + $3 * interval '1 "
        "millisecond' FROM due, outbound_events e, webhook_endpoints w WHERE d.id = due.id AND "
        "e.id = d.event_id AND w.id = d.endpoint_id RETURNING d.id, d.event_id, d.merchant_id, "
        "w.url, e.payload, d.attempts, (extract(epoch FROM d.retry_window_at) * 1000)::bigint",
        {endpoint_id, std::to_string(limit), ms_interval(lease_ms)});
    if (!r.ok()) return r.error;
    if (r.rows.empty()) return std::nullopt;
    auto s = tx.exec(
        "SELECT secret FROM webhook_endpoint_secrets WHERE endpoint_id = $1 AND (expires_at IS "
        "NULL OR expires_at > clock_timestamp()) ORDER BY id",
        {endpoint_id});
    if (!s.ok()) return s.error;
    std::vector<std::string> secrets;
    for (int i = 0; i < s.rows.size(); ++i) secrets.emplace_back(s.rows.text(i, 0));
    for (int row = 0; row < r.rows.size(); ++row) {
      claimed_delivery c;
      c.delivery_id = r.rows.int64(row, 0);
      c.event_id = r.rows.text(row, 1);
      c.endpoint_id = endpoint_id;
      c.merchant_id = r.rows.text(row, 2);
      c.url = r.rows.text(row, 3);
      c.payload_json = r.rows.text(row, 4);
      c.attempts_done = r.rows.int64(row, 5);
      c.retry_window_start_ms = r.rows.int64(row, 6);
      c.secrets = secrets;
      out.push_back(std::move(c));
    }
    return std::nullopt;
  });
  if (failed) return to_core_error(*failed);
  return out;
}

core::result<bool> record_attempt(pg_connection& conn, const attempt_outcome& o) {
  bool disabled = false;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    auto status = o.status ? pg_param{std::to_string(*o.status)} : pg_param{};
    auto a = tx.exec(
        "INSERT INTO webhook_delivery_attempts (delivery_id, attempt, status, error, latency_ms) "
        "VALUES ($1, $2, $3, $4, $5)",
        {std::to_string(o.delivery_id), std::to_string(o.attempt), status, optional_param(o.error),
         std::to_string(o.latency_ms)});
    if (!a.ok()) return a.error;
    // Only a delivery still pending, and not replayed since its claim,
    // moves on: a replay or another claimer's success in between is not
    // undone (a replay during the attempt restarted the retry window).
    auto d = tx.exec(
        "UPDATE webhook_deliveries SET attempts = greatest(attempts, $2), last_status = $3, "
        "last_error = $4, last_latency_ms = $5, state = CASE WHEN $6 THEN 'delivered' WHEN $7 "
        "THEN 'dead' ELSE 'pending' END, delivered_at = CASE WHEN $6 THEN clock_timestamp() END, "
        "dead_at = CASE WHEN $7 AND NOT $6 THEN clock_timestamp() END, next_attempt_at = "
        "clock_timestamp() + $8 * interval '1 millisecond' WHERE id = $1 AND state = 'pending' "
        "AND ($9::bigint IS NULL OR (extract(epoch FROM retry_window_at) * 1000)::bigint = $9)",
        {std::to_string(o.delivery_id), std::to_string(o.attempt), status, optional_param(o.error),
         std::to_string(o.latency_ms), o.delivered ? "true" : "false", o.dead ? "true" : "false",
         std::to_string(o.retry_in_ms),
         o.claimed_window_start_ms ? pg_param{std::to_string(*o.claimed_window_start_ms)}
                                   : pg_param{}});
    if (!d.ok()) return d.error;
    if (o.delivered) {
      auto e = tx.exec(
          "UPDATE webhook_endpoints SET last_success_at = clock_timestamp(), failing_since = NULL "
          "WHERE id = $1",
          {o.endpoint_id});
      if (!e.ok()) return e.error;
      return std::nullopt;
    }
    auto e = tx.exec(
        "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, clock_timestamp()) "
        "WHERE id = $1",
        {o.endpoint_id});
    if (!e.ok()) return e.error;
    // Failing for days: disabled, and reported by the caller.
    auto off = tx.exec(
        "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'failing', "
        "updated_at = clock_timestamp() WHERE id = $1 AND status = 'enabled' AND failing_since < "
        "clock_timestamp() - $2 * interval '1 second' RETURNING id",
        {o.endpoint_id, std::to_string(o.disable_after_s)});
    if (!off.ok()) return off.error;
    disabled = !off.rows.empty();
    return std::nullopt;
  });
  if (failed) return to_core_error(*failed);
  return disabled;
}

core::result<std::vector<endpoint_backlog>> delivery_backlog(pg_connection& conn) {
  // Pending rows only (the due index), so the query stays cheap however
  // many deliveries the past holds.
  auto r = conn.exec(
      "SELECT w.id, w.merchant_id, w.status, count(d.id), coalesce(extract(epoch FROM "
      "clock_timestamp() - min(d.created_at))::bigint, 0) FROM webhook_endpoints w LEFT JOIN "
      "webhook_deliveries d ON d.endpoint_id = w.id AND d.state = 'pending' WHERE w.deleted_at "
      "IS NULL GROUP BY w.id ORDER BY w.id");
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<endpoint_backlog> out;
  for (int row = 0; row < r.rows.size(); ++row) {
    endpoint_backlog b;
    b.endpoint_id = r.rows.text(row, 0);
    b.merchant_id = r.rows.text(row, 1);
    b.status = r.rows.text(row, 2);
    b.pending = r.rows.int64(row, 3);
    b.oldest_pending_age_s = r.rows.int64(row, 4);
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace pay::storage

// ---- the operator's view ------------------------------------------------------------------

namespace pay::storage {

namespace {

/// Deliveries of the endpoints in `ids` (a text[] literal) that pass
/// `filter`, `order` within each endpoint, at most `limit` per endpoint:
/// one index walk per endpoint (LATERAL), however long its history.
core::result<std::vector<delivery_view>> deliveries_of(pg_connection& conn, const std::string& ids,
                                                       std::string_view filter,
                                                       std::string_view order, std::size_t limit) {
  auto r = conn.exec("SELECT " + std::string(delivery_columns) +
                         " FROM unnest($1::text[]) AS ep(id) CROSS JOIN LATERAL (SELECT * FROM "
                         "webhook_deliveries x WHERE x.endpoint_id = ep.id AND (" +
                         std::string(filter) + ") ORDER BY x.id " + std::string(order) +
                         " LIMIT $2) d JOIN outbound_events e ON e.id = d.event_id",
                     {ids, std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<delivery_view> out;
  for (int row = 0; row < r.rows.size(); ++row) out.push_back(read_delivery(r.rows, row));
  return out;
}

}  // namespace

core::result<outbound_health> outbound_health_view(pg_connection& conn, std::size_t endpoints_max,
                                                   std::size_t deliveries_max,
                                                   std::size_t attempts_max) {
  outbound_health out;
  auto total = conn.exec("SELECT count(*) FROM webhook_endpoints WHERE deleted_at IS NULL", {});
  if (!total.ok()) return to_core_error(*total.error);
  out.total = total.rows.int64(0, 0);
  auto r = conn.exec(
      "SELECT w.id, w.merchant_id, w.url, w.status, w.disabled_reason, (extract(epoch FROM "
      "w.last_success_at) * 1000)::bigint, (extract(epoch FROM w.failing_since) * 1000)::bigint, "
      "count(d.id) FILTER (WHERE d.state = 'pending'), count(d.id) FILTER (WHERE d.state = "
      "'pending' AND d.attempts > 0), count(d.id) FILTER (WHERE d.state = 'dead'), "
      "coalesce((extract(epoch FROM clock_timestamp() - min(d.created_at)) * 1000)::bigint, 0) "
      "FROM webhook_endpoints w LEFT JOIN webhook_deliveries d ON d.endpoint_id = w.id AND "
      "d.state IN ('pending', 'dead') WHERE w.deleted_at IS NULL GROUP BY w.id ORDER BY "
      "w.merchant_id, w.created_at, w.id LIMIT $1",
      {std::to_string(endpoints_max)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<std::string> ids;
  for (int row = 0; row < r.rows.size(); ++row) {
    endpoint_health h;
    h.endpoint_id = r.rows.text(row, 0);
    h.merchant_id = r.rows.text(row, 1);
    h.url = r.rows.text(row, 2);
    h.status = r.rows.text(row, 3);
    h.disabled_reason = r.rows.optional_text(row, 4);
    if (!r.rows.is_null(row, 5)) h.last_success_ms = r.rows.int64(row, 5);
    if (!r.rows.is_null(row, 6)) h.failing_since_ms = r.rows.int64(row, 6);
    h.pending = r.rows.int64(row, 7);
    h.failing = r.rows.int64(row, 8);
    h.dead = r.rows.int64(row, 9);
    h.oldest_undelivered_age_ms = r.rows.int64(row, 10);
    ids.push_back(h.endpoint_id);
    out.endpoints.push_back(std::move(h));
  }
  if (ids.empty()) return out;
  auto id_array = array_literal(ids);
  auto recent = deliveries_of(conn, id_array, "true", "DESC", deliveries_max);
  if (!recent) return recent.err();
  auto undelivered =
      deliveries_of(conn, id_array, "x.state = 'dead' OR (x.state = 'pending' AND x.attempts > 0)",
                    "ASC", deliveries_max);
  if (!undelivered) return undelivered.err();
  // The attempts of every delivery shown, newest first, in one query.
  // A delivery can stand in both lists: ask for its attempts once.
  std::set<std::int64_t> shown;
  for (const auto* list : {&*recent, &*undelivered})
    for (const auto& d : *list) shown.insert(d.id);
  std::vector<std::string> delivery_ids;
  for (auto id : shown) delivery_ids.push_back(std::to_string(id));
  std::map<std::int64_t, std::vector<delivery_attempt>> attempts;
  if (!delivery_ids.empty()) {
    auto a = conn.exec(
        "SELECT x.id, a.attempt, a.status, a.error, a.latency_ms, (extract(epoch FROM a.at) * "
        "1000)::bigint FROM unnest($1::bigint[]) AS x(id) CROSS JOIN LATERAL (SELECT * FROM "
        "webhook_delivery_attempts y WHERE y.delivery_id = x.id ORDER BY y.id DESC LIMIT $2) a "
        "ORDER BY x.id, a.id DESC",
        {array_literal(delivery_ids), std::to_string(attempts_max)});
    if (!a.ok()) return to_core_error(*a.error);
    for (int i = 0; i < a.rows.size(); ++i) {
      attempts[a.rows.int64(i, 0)].push_back(read_attempt(a.rows, i, 1));
    }
  }
  std::map<std::string, endpoint_health*> by_id;
  for (auto& h : out.endpoints) by_id[h.endpoint_id] = &h;
  for (auto [list, into] : {std::pair{&*recent, &endpoint_health::recent},
                            std::pair{&*undelivered, &endpoint_health::undelivered}}) {
    for (auto& d : *list) {
      if (auto it = attempts.find(d.id); it != attempts.end()) d.attempt_history = it->second;
      (by_id.at(d.endpoint_id)->*into).push_back(std::move(d));
    }
  }
  return out;
}

core::result<delivery_replayed> replay_delivery_as_admin(pg_connection& conn,
                                                         std::int64_t delivery_id,
                                                         const std::string& request_id) {
  delivery_replayed out;
  std::optional<core::error> refused;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    auto r = tx.exec(
        "SELECT d.state, d.attempts, d.event_id, d.endpoint_id, d.merchant_id, w.status FROM "
        "webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.id = $1 "
        "AND w.deleted_at IS NULL FOR UPDATE OF d",
        {std::to_string(delivery_id)});
    if (!r.ok()) return r.error;
    auto refuse = [&](core::error e) {
      refused = std::move(e);
      return db_error{db_error_kind::refused, "P0001", "refused", {}};
    };
    auto name = "delivery " + std::to_string(delivery_id);
    if (r.rows.empty())
      return refuse(core::make_error(core::errc::not_found, "No such webhook delivery: " + name));
    out.delivery_id = delivery_id;
    out.from_state = r.rows.text(0, 0);
    out.event_id = r.rows.text(0, 2);
    out.endpoint_id = r.rows.text(0, 3);
    out.merchant_id = r.rows.text(0, 4);
    if (out.from_state == "delivered")
      return refuse(core::make_error(core::errc::invalid_state,
                                     "The " + name +
                                         " was delivered; only a failing or "
                                         "dead-lettered delivery is replayed here."));
    if (out.from_state == "pending" && r.rows.int64(0, 1) == 0)
      return refuse(core::make_error(core::errc::invalid_state,
                                     "The " + name + " has not been attempted yet."));
    if (std::string_view(r.rows.text(0, 5)) != "enabled")
      return refuse(core::make_error(core::errc::invalid_state,
                                     "The endpoint " + out.endpoint_id +
                                         " is disabled: it gets nothing until it is enabled."));
    auto u = tx.exec(
        "UPDATE webhook_deliveries SET state = 'pending', dead_at = NULL, next_attempt_at = "
        "clock_timestamp(), retry_window_at = clock_timestamp() WHERE id = $1",
        {std::to_string(delivery_id)});
    if (!u.ok()) return u.error;
    auto a = tx.exec(
        "INSERT INTO audit_events (merchant_id, actor, action, from_status, to_status, cause, "
        "data) VALUES ($1, 'admin', 'webhook_delivery_replay', $2, 'pending', $3, "
        "jsonb_build_object('delivery_id', $4::bigint, 'event_id', $5::text, 'endpoint_id', "
        "$6::text, 'request_id', $7::text))",
        {out.merchant_id, out.from_state,
         "operator replayed " + name + " of " + out.event_id + " to " + out.endpoint_id,
         std::to_string(delivery_id), out.event_id, out.endpoint_id, request_id});
    if (!a.ok()) return a.error;
    return std::nullopt;
  });
  if (refused) return *refused;
  if (failed) return to_core_error(*failed);
  return out;
}

}  // namespace pay::storage
