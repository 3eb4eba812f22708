#include "storage/expiry.hpp"

#include <chrono>

#include "core/authorization_expiry.hpp"
#include "core/outbound_events.hpp"
#include "storage/intents.hpp"
#include "storage/outbound_webhooks.hpp"

namespace pay::storage {

core::result<std::vector<std::string>> due_expiries(pg_connection& conn, std::size_t limit) {
  auto r = conn.exec(
      "SELECT id FROM payment_intents WHERE status = 'authorized' AND expires_at IS NOT NULL AND "
      "expires_at <= now() ORDER BY expires_at LIMIT $1",
      {std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<std::string> ids;
  for (int row = 0; row < r.rows.size(); ++row) ids.emplace_back(r.rows.text(row, 0));
  return ids;
}

core::result<std::vector<std::string>> send_expiry_warnings(pg_connection& conn,
                                                            std::int64_t lead_s,
                                                            std::size_t limit) {
  auto r = conn.exec(
      "SELECT id FROM payment_intents WHERE status = 'authorized' AND expires_at IS NOT NULL AND "
      "expires_at > now() AND expires_at <= now() + make_interval(secs => $1) AND "
      "expiry_warned_at IS NULL ORDER BY expires_at LIMIT $2",
      {std::to_string(lead_s), std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<std::string> warned;
  for (int row = 0; row < r.rows.size(); ++row) {
    std::string id(r.rows.text(row, 0));
    bool done = false;
    auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
      // The mark is taken under the row's lock and only while the intent is
      // still authorized and unwarned: a capture or a second engine racing
      // this one leaves nothing to warn.
      auto mark = tx.exec(
          "UPDATE payment_intents SET expiry_warned_at = clock_timestamp() WHERE id = $1 AND "
          "status = 'authorized' AND expiry_warned_at IS NULL RETURNING id",
          {id});
      if (!mark.ok()) return mark.error;
      if (mark.rows.empty()) return std::nullopt;
      auto pi = load_intent(tx, id);
      if (!pi) return db_error{db_error_kind::program, "XX000", pi.err().message, {}};
      auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
      auto audit = tx.exec(
          "INSERT INTO audit_events (merchant_id, intent_id, actor, action, from_status, "
          "to_status, version, cause, data) VALUES ($1, $2, 'scheduler', "
          "'authorization_expiring', 'authorized', 'authorized', $3, $4, $5::jsonb)",
          {pi->merchant_id, pi->id, std::to_string(pi->version),
           "the authorization lapses at " + core::iso8601_utc(*pi->expires_at) +
               "; the merchant is warned",
           "{\"expires_at\":" + std::to_string(*pi->expires_at) + "}"});
      if (!audit.ok()) return audit.error;
      if (auto e = append_outbound_events(tx, {core::authorization_expiring_event(*pi, now_s)}))
        return e;
      done = true;
      return std::nullopt;
    });
    if (failed) return to_core_error(*failed);
    if (done) warned.push_back(std::move(id));
  }
  return warned;
}

core::result<std::int64_t> count_expiring(pg_connection& conn, std::int64_t lead_s) {
  auto r = conn.exec(
      "SELECT count(*) FROM payment_intents WHERE status = 'authorized' AND expires_at IS NOT "
      "NULL AND expires_at > now() AND expires_at <= now() + make_interval(secs => $1)",
      {std::to_string(lead_s)});
  if (!r.ok()) return to_core_error(*r.error);
  return r.rows.int64(0, 0);
}

}  // namespace pay::storage
