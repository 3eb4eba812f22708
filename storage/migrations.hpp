#pragma once

#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// One versioned schema change, applied once, in its own transaction.
struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// The project's migrations (storage/migrations/*.sql), built into the binary.
const std::vector<migration>& embedded_migrations();

/// What apply_migrations did.
struct migration_report {
  std::vector<int> applied;  ///< versions applied by this call, in order
  int schema_version = 0;    ///< highest version now in schema_migrations
};

/// Applies every migration not yet recorded in `schema_migrations`, in version
/// order, each in one transaction together with its record, under an
/// advisory lock so concurrent engines apply each exactly once. A failing
/// migration is rolled back whole, leaving the schema as it was, and stops
/// the run. An applied migration whose text changed since is refused.
core::result<migration_report> apply_migrations(pg_connection& conn,
                                                const std::vector<migration>& migrations);

/// Whether every one of `migrations` is recorded as applied (for /readyz).
core::result<bool> migrations_applied(pg_connection& conn,
                                      const std::vector<migration>& migrations);

}  // namespace pay::storage
