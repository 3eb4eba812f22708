#include "storage/migrations.hpp"

#include <algorithm>
#include <string>

#include "core/crypto.hpp"

namespace pay::storage {

namespace {

/// Any constant works; it only has to be the same for every engine process.
constexpr std::string_view lock_key = "7305219981";

core::error migration_error(std::string message) {
  return core::make_error(core::errc::internal, std::move(message));
}

core::error db_failure(std::string_view what, const db_error& e) {
  return migration_error(std::string(what) + ": " + e.message + " (SQLSTATE " + e.sqlstate + ")");
}

}  // namespace

core::result<migration_report> apply_migrations(pg_connection& conn,
                                                const std::vector<migration>& migrations) {
  auto ordered = migrations;
  std::sort(ordered.begin(), ordered.end(),
            [](const migration& a, const migration& b) { return a.version < b.version; });

  if (auto r = conn.exec("SELECT pg_advisory_lock(" + std::string(lock_key) + ")"); !r.ok())
    return db_failure("taking the migration lock", *r.error);
  struct unlock_guard {
    pg_connection& conn;
    ~unlock_guard() { conn.exec("SELECT pg_advisory_unlock(" + std::string(lock_key) + ")"); }
  } unlock{conn};

  auto created = conn.exec(R"sql(
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version     integer PRIMARY KEY,
      name        text NOT NULL,
      checksum    text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    ))sql");
  if (!created.ok()) return db_failure("creating schema_migrations", *created.error);

  auto known = conn.exec("SELECT version, checksum FROM schema_migrations ORDER BY version");
  if (!known.ok()) return db_failure("reading schema_migrations", *known.error);

  migration_report report;
  for (const auto& m : ordered) {
    auto checksum = core::sha256_hex(m.sql);
    std::optional<std::string> recorded;
    for (int row = 0; row < known.rows.size(); ++row)
      if (known.rows.int64(row, 0) == m.version) recorded = std::string(known.rows.text(row, 1));
    if (recorded) {
      if (*recorded != checksum)
        return migration_error("migration " + std::string(m.name) +
                               " changed after it was applied; add a new migration instead");
      report.schema_version = std::max(report.schema_version, m.version);
      continue;
    }
    auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
      if (auto r = tx.exec(m.sql); !r.ok()) return r.error;
      auto r =
          tx.exec("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                  {std::to_string(m.version), std::string(m.name), checksum});
      return r.error;
    });
    if (failed) return db_failure("applying migration " + std::string(m.name), *failed);
    report.applied.push_back(m.version);
    report.schema_version = std::max(report.schema_version, m.version);
  }
  return report;
}

core::result<bool> migrations_applied(pg_connection& conn,
                                      const std::vector<migration>& migrations) {
  auto r = conn.exec(
      "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'");
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.int64(0, 0) == 0) return false;
  auto applied = conn.exec("SELECT version FROM schema_migrations");
  if (!applied.ok()) return to_core_error(*applied.error);
  for (const auto& m : migrations) {
    bool found = false;
    for (int row = 0; row < applied.rows.size() && !found; ++row)
      found = applied.rows.int64(row, 0) == m.version;
    if (!found) return false;
  }
  return true;
}

}  // namespace pay::storage
