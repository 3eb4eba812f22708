#include "storage/routing.hpp"

#include <string_view>

namespace pay::storage {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ',';
    out += n;
  }
  return out;
}

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::optional<std::int64_t> optional_int(const pg_rows& rows, int row, int col) {
  auto t = rows.optional_text(row, col);
  if (!t) return std::nullopt;
  return rows.int64(row, col);
}

/// Reads the rules of (merchant, version) into `rec`.
core::status read_rules(pg_connection& conn, const std::string& merchant_id, routing_record& rec) {
  auto r = conn.exec(
      "SELECT currency, amount_min, amount_max, payment_method_type, psps FROM routing_rules "
      "WHERE merchant_id = $1 AND version = $2 ORDER BY position",
      {merchant_id, std::to_string(rec.version)});
  if (!r.ok()) return to_core_error(*r.error);
  for (int i = 0; i < r.rows.size(); ++i) {
    core::routing_rule rule;
    rule.currency = r.rows.optional_text(i, 0);
    rule.amount_min = optional_int(r.rows, i, 1);
    rule.amount_max = optional_int(r.rows, i, 2);
    rule.payment_method_type = r.rows.optional_text(i, 3);
    auto psps = core::parse_targets_text(r.rows.text(i, 4));
    if (!psps) return psps.err();
    rule.psps = std::move(*psps);
    rec.rules.rules.push_back(std::move(rule));
  }
  return core::status::ok();
}

/// The columns read_attempt reads, of the table (or alias) `t`.
std::string attempt_columns_of(std::string_view t) {
  std::string p = std::string(t) + ".";
  return p + "intent_id, " + p + "attempt, " + p + "merchant_id, " + p + "psp, " + p +
         "candidates, " + p + "reason, " + p + "previous_may_exist, extract(epoch FROM " + p +
         "created_at)::bigint, " + p + "psp_key, " + p + "amount, " + p + "currency, " + p +
         "capture_method, " + p + "description, " + p + "metadata, " + p + "return_url";
}

routing_attempt read_attempt(const pg_rows& rows, int i) {
  routing_attempt a;
  a.intent_id = rows.text(i, 0);
  a.attempt = static_cast<std::int32_t>(rows.int64(i, 1));
  a.merchant_id = rows.text(i, 2);
  a.psp = rows.text(i, 3);
  a.candidates = split(rows.text(i, 4));
  a.reason = rows.text(i, 5);
  a.previous_may_exist = rows.boolean(i, 6);
  a.created = rows.int64(i, 7);
  if (auto key = rows.optional_text(i, 8); key && rows.optional_text(i, 9)) {
    a.psp_key = *key;
    core::psp_create_intent req;
    req.amount = rows.int64(i, 9);
    req.currency = rows.optional_text(i, 10).value_or("");
    req.capture = core::parse_capture_method(rows.optional_text(i, 11).value_or(""))
                      .value_or(core::capture_method::automatic);
    req.description = rows.optional_text(i, 12);
    req.metadata_json = rows.optional_text(i, 13).value_or("{}");
    req.engine_intent_id = a.intent_id;
    req.return_url = rows.optional_text(i, 14).value_or("");
    a.request = std::move(req);
  }
  return a;
}

}  // namespace

core::result<routing_record> load_routing(pg_connection& conn, const std::string& merchant_id) {
  auto r = conn.exec(
      "SELECT version, default_psps, extract(epoch FROM created_at)::bigint, actor "
      "FROM routing_versions WHERE merchant_id = $1 ORDER BY version DESC LIMIT 1",
      {merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  routing_record rec;
  if (r.rows.empty()) return rec;
  rec.version = r.rows.int64(0, 0);
  auto defaults = core::parse_targets_text(r.rows.text(0, 1));
  if (!defaults) return defaults.err();
  rec.rules.default_psps = std::move(*defaults);
  rec.created = r.rows.int64(0, 2);
  rec.actor = r.rows.text(0, 3);
  if (auto s = read_rules(conn, merchant_id, rec); !s) return s.err();
  return rec;
}

core::result<routing_record> replace_routing(pg_connection& conn, const std::string& merchant_id,
                                             const core::routing_rules& rules,
                                             const std::string& actor) {
  std::int64_t version = 0;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    // The merchant's row lock serialises replaces, so versions never clash.
    auto lock = tx.exec("SELECT id FROM merchants WHERE id = $1 FOR UPDATE", {merchant_id});
    if (!lock.ok()) return lock.error;
    auto v = tx.exec(
        "INSERT INTO routing_versions (merchant_id, version, default_psps, actor) "
        "SELECT $1, coalesce(max(version), 0) + 1, $2, $3 FROM routing_versions "
        "WHERE merchant_id = $1 RETURNING version",
        {merchant_id, core::targets_text(rules.default_psps), actor});
    if (!v.ok()) return v.error;
    version = v.rows.int64(0, 0);
    for (std::size_t i = 0; i < rules.rules.size(); ++i) {
      const auto& rule = rules.rules[i];
      auto opt = [](const std::optional<std::int64_t>& x) -> pg_param {
        return x ? pg_param{std::to_string(*x)} : std::nullopt;
      };
      auto ins = tx.exec(
          "INSERT INTO routing_rules (merchant_id, version, position, currency, amount_min, "
          "amount_max, payment_method_type, psps) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {merchant_id, std::to_string(version), std::to_string(i), rule.currency,
           opt(rule.amount_min), opt(rule.amount_max), rule.payment_method_type,
           core::targets_text(rule.psps)});
      if (!ins.ok()) return ins.error;
    }
    auto audit = tx.exec(
        "INSERT INTO audit_events (merchant_id, actor, action, cause, data) "
        "VALUES ($1, $2, 'merchant_routing', 'the merchant''s routing rules were replaced', "
        "jsonb_build_object('version', $3::bigint, 'rules', $4::int, 'default_psps', $5::text))",
        {merchant_id, actor, std::to_string(version), std::to_string(rules.rules.size()),
         core::targets_text(rules.default_psps)});
    if (!audit.ok()) return audit.error;
    return std::nullopt;
  });
  if (failed) return to_core_error(*failed);
  return load_routing(conn, merchant_id);
}

core::result<std::vector<routing_attempt>> load_routing_attempts(pg_connection& conn,
                                                                 const std::string& merchant_id,
                                                                 const std::string& intent_id) {
  auto r = conn.exec("SELECT " + attempt_columns_of("routing_attempts") +
                         " FROM routing_attempts WHERE intent_id = $1 ORDER BY attempt",
                     {intent_id});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<routing_attempt> out;
  for (int i = 0; i < r.rows.size(); ++i) {
    auto a = read_attempt(r.rows, i);
    // An id is derived per merchant, but never trust another's rows.
    if (a.merchant_id == merchant_id) out.push_back(std::move(a));
  }
  return out;
}

core::result<routing_plan> load_routing_plan(pg_connection& conn, const std::string& merchant_id,
                                             const std::string& intent_id) {
  auto current = load_routing(conn, merchant_id);
  if (!current) return current.err();
  auto attempts = load_routing_attempts(conn, merchant_id, intent_id);
  if (!attempts) return attempts.err();
  return routing_plan{std::move(*current), std::move(*attempts)};
}

core::status record_routing_attempt(pg_connection& conn, const routing_attempt& a) {
  pg_param key, amount, currency, capture, description, metadata, return_url;
  if (a.request) {
    key = a.psp_key;
    amount = std::to_string(a.request->amount);
    currency = a.request->currency;
    capture = std::string(core::to_string(a.request->capture));
    description = a.request->description;
    metadata = a.request->metadata_json;
    return_url = a.request->return_url;
  }
  auto r = conn.exec(
      "INSERT INTO routing_attempts (intent_id, attempt, merchant_id, psp, candidates, reason, "
      "previous_may_exist, psp_key, amount, currency, capture_method, description, metadata, "
      "return_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
      "ON CONFLICT (intent_id, attempt) DO NOTHING",
      {a.intent_id, std::to_string(a.attempt), a.merchant_id, a.psp, join(a.candidates), a.reason,
       std::string(a.previous_may_exist ? "true" : "false"), key, amount, currency, capture,
       description, metadata, return_url});
  if (!r.ok()) return to_core_error(*r.error);
  return core::status::ok();
}

core::status record_routing_orphan(pg_connection& conn, const routing_orphan& o) {
  auto r = conn.exec(
      "INSERT INTO routing_orphans (intent_id, attempt, outcome, psp_reference) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT (intent_id, attempt) DO NOTHING",
      {o.intent_id, std::to_string(o.attempt), o.outcome, o.psp_reference});
  if (!r.ok()) return to_core_error(*r.error);
  return core::status::ok();
}

core::result<std::vector<routing_attempt>> due_routing_orphans(pg_connection& conn,
                                                               std::int64_t grace_ms,
                                                               std::size_t limit) {
  // `b` is the attempt that failed over from `a`, saying `a` may have made
  // an intent at its PSP (routing_attempts_may_orphan).
  auto r = conn.exec("SELECT " + attempt_columns_of("a") +
                         " FROM routing_attempts b JOIN routing_attempts a "
                         "ON a.intent_id = b.intent_id AND a.attempt = b.attempt - 1 "
                         "WHERE b.previous_may_exist AND a.psp_key IS NOT NULL "
                         "AND b.created_at < clock_timestamp() - $1::bigint * interval '1 ms' "
                         "AND NOT EXISTS (SELECT 1 FROM routing_orphans o "
                         "WHERE o.intent_id = a.intent_id AND o.attempt = a.attempt) "
                         "ORDER BY b.created_at LIMIT $2",
                     {std::to_string(grace_ms), std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<routing_attempt> out;
  for (int i = 0; i < r.rows.size(); ++i) out.push_back(read_attempt(r.rows, i));
  return out;
}

core::result<routing_orphan_counts> count_routing_orphans(pg_connection& conn) {
  auto r = conn.exec(
      "SELECT (SELECT count(*) FROM routing_attempts WHERE previous_may_exist), "
      "count(*) FILTER (WHERE outcome = 'canceled'), count(*) FILTER (WHERE outcome = 'expires'), "
      "count(*) FILTER (WHERE outcome = 'none'), "
      "(SELECT count(*) FROM routing_attempts b WHERE b.previous_may_exist AND NOT EXISTS "
      "(SELECT 1 FROM routing_orphans o WHERE o.intent_id = b.intent_id "
      "AND o.attempt = b.attempt - 1)) FROM routing_orphans",
      {});
  if (!r.ok()) return to_core_error(*r.error);
  return routing_orphan_counts{r.rows.int64(0, 0), r.rows.int64(0, 1), r.rows.int64(0, 2),
                               r.rows.int64(0, 3), r.rows.int64(0, 4)};
}

core::result<std::vector<routing_attempt>> recent_routing_attempts(pg_connection& conn,
                                                                   const std::string& merchant_id,
                                                                   std::size_t limit) {
  auto r = conn.exec("SELECT " + attempt_columns_of("routing_attempts") +
                         " FROM routing_attempts WHERE merchant_id = $1 "
                         "ORDER BY created_at DESC, attempt DESC LIMIT $2",
                     {merchant_id, std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<routing_attempt> out;
  for (int i = 0; i < r.rows.size(); ++i) out.push_back(read_attempt(r.rows, i));
  return out;
}

}  // namespace pay::storage
