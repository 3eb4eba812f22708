#include "storage/batch.hpp"

#include <map>
#include <string>
#include <utility>

#include "core/crypto.hpp"
#include "core/log.hpp"

namespace pay::storage {

namespace {

/// The error every item of a batch gets when the batch as a whole fails: a
/// lost connection or a failed COMMIT. The writes may or may not have
/// committed (a COMMIT whose answer was lost), exactly as for a single write:
/// callers recover through version checks and idempotency keys.
core::error batch_error(const std::optional<db_error>& e) {
  if (e) return to_core_error(*e);
  return core::make_error(core::errc::storage_unavailable,
                          "The database is unavailable; retry the request.");
}

void settle_all(std::vector<batch_item>& items, std::vector<bool>& settled, const core::error& e) {
  for (std::size_t i = 0; i < items.size(); ++i)
    if (!settled[i]) items[i].settle(e);
}

}  // namespace

batch_report run_batch(pg_connection& conn, std::vector<batch_item>& items) {
  batch_report report;
  report.items = items.size();
  if (items.empty()) return report;
  if (items.size() == 1) {
    // Alone: no batch transaction, the write commits itself as it always did.
    if (!items[0].run(conn)) report.failed = 1;
    report.committed = conn.healthy();
    items[0].settle(std::nullopt);
    return report;
  }
  std::vector<bool> settled(items.size(), false);
  auto abandon = [&](const std::optional<db_error>& e) {
    if (conn.healthy() && conn.in_transaction()) conn.exec("ROLLBACK");
    settle_all(items, settled, batch_error(e));
    report.committed = false;
    return report;
  };
  // Optimistic: every item in one transaction with no savepoint of its own
  // (a savepoint and its release are two statements and a round trip per
  // item). Should one fail, the whole batch is rolled back and each item
  // runs again alone, so the failing one fails alone and the others commit.
  if (auto begin = conn.exec("BEGIN"); !begin.ok()) return abandon(begin.error);
  bool all_ok = true;
  for (std::size_t i = 0; i < items.size() && all_ok; ++i) {
    bool ok = items[i].run(conn);
    if (!conn.healthy())
      return abandon(
          db_error{db_error_kind::connection, "08006", "connection lost during a batch", {}});
    all_ok = ok && !conn.in_failed_transaction();
  }
  if (all_ok) {
    auto commit = conn.exec("COMMIT");
    if (!commit.ok()) return abandon(commit.error);
    report.committed = true;
    for (std::size_t i = 0; i < items.size(); ++i) items[i].settle(std::nullopt);
    return report;
  }
  if (auto back = conn.exec("ROLLBACK"); !back.ok()) return abandon(back.error);
  report.rerun_alone = true;
  // Alone, as a single write runs: its own transaction (or autocommit).
  for (std::size_t i = 0; i < items.size(); ++i) {
    bool ok = items[i].run(conn);
    if (ok && conn.in_failed_transaction()) {
      // The write said it succeeded yet left its transaction broken (it
      // swallowed a failed statement): it fails, the others must not.
      core::log::error("a batched write left its transaction failed; rolled back alone");
      conn.exec("ROLLBACK");
      settled[i] = true;
      items[i].settle(
          core::make_error(core::errc::internal, "An internal storage error occurred."));
      ok = false;
    }
    if (!ok) ++report.failed;
    if (!settled[i]) {
      settled[i] = true;
      items[i].settle(std::nullopt);
    }
  }
  report.committed = conn.healthy();
  return report;
}

core::result<std::vector<inbox_receipt>> inbox_add_many(pg_connection& conn,
                                                        const std::vector<inbox_item>& items) {
  std::vector<inbox_receipt> out(items.size());
  if (items.empty()) return out;
  std::string sql =
      "INSERT INTO webhook_inbox (psp, event_id, event_type, object_id, payload, signature) "
      "VALUES ";
  std::vector<pg_param> params;
  params.reserve(items.size() * 6);
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto n = i * 6;
    if (i > 0) sql += ", ";
    sql += "($" + std::to_string(n + 1) + ", $" + std::to_string(n + 2) + ", $" +
           std::to_string(n + 3) + ", $" + std::to_string(n + 4) + ", decode($" +
           std::to_string(n + 5) + ", 'hex'), $" + std::to_string(n + 6) + ")";
    const auto& it = items[i];
    params.insert(params.end(), {it.psp, it.event_id, it.event_type,
                                 it.object_id ? pg_param{*it.object_id} : pg_param{},
                                 core::to_hex(it.payload), it.signature});
  }
  sql += " ON CONFLICT (psp, event_id) DO NOTHING RETURNING id, psp, event_id";
  auto r = conn.exec(sql, params);
  if (!r.ok()) return to_core_error(*r.error);
  std::map<std::pair<std::string, std::string>, std::int64_t> stored;
  for (int row = 0; row < r.rows.size(); ++row)
    stored.emplace(std::pair{std::string(r.rows.text(row, 1)), std::string(r.rows.text(row, 2))},
                   r.rows.int64(row, 0));
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto key = std::pair{items[i].psp, items[i].event_id};
    auto found = stored.find(key);
    if (found != stored.end()) {
      out[i] = inbox_receipt{found->second, false};
      stored.erase(found);  // a second copy in this batch is a duplicate
      continue;
    }
    auto existing = conn.exec("SELECT id FROM webhook_inbox WHERE psp = $1 AND event_id = $2",
                              {items[i].psp, items[i].event_id});
    if (!existing.ok()) return to_core_error(*existing.error);
    out[i] = inbox_receipt{existing.rows.empty() ? 0 : existing.rows.int64(0, 0), true};
  }
  return out;
}

}  // namespace pay::storage
