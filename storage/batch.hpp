#pragma once

// Group commit: many independent writes in ONE transaction, so they share
// one commit (one WAL flush) instead of paying one each. Each write runs
// under its own savepoint, so a write that fails is rolled back alone and
// the others still commit; every write is answered only after the batch's
// COMMIT succeeded, and a lost connection or failed COMMIT answers every
// write of the batch with that error (none is acknowledged without its
// commit). See docs/performance.md.

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "storage/inbox.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// One write of a batch.
struct batch_item {
  /// Runs the write on the connection (inside the batch's transaction, under
  /// its own savepoint) and keeps its result; false: it failed, and its
  /// changes are rolled back to the savepoint.
  std::function<bool(pg_connection&)> run;
  /// Answers the write once the batch is over: with no error after the
  /// COMMIT (it then answers the result `run` kept, success or its own
  /// failure), or with the error that stopped the whole batch.
  std::function<void(const std::optional<core::error>&)> settle;
};

/// What one batch did.
struct batch_report {
  std::size_t items = 0;
  std::size_t failed = 0;  ///< items rolled back to their savepoint
  bool committed = false;  ///< false: every item was answered with the batch's error
};

/// Runs `items` in one transaction and settles each exactly once. A single
/// item runs as it would alone (its own transaction, no savepoint).
batch_report run_batch(pg_connection& conn, std::vector<batch_item>& items);

/// Stores several verified webhook events with one multi-row INSERT ... ON
/// CONFLICT DO NOTHING RETURNING; answers one receipt per item, in order
/// (an event stored before, or twice in `items`, is a duplicate with the
/// first one's id). Runs in the caller's transaction when there is one.
core::result<std::vector<inbox_receipt>> inbox_add_many(pg_connection& conn,
                                                        const std::vector<inbox_item>& items);

}  // namespace pay::storage
