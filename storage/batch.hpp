#pragma once

// Group commit: many independent writes in ONE transaction, so they share
// one commit (one WAL flush) instead of paying one each. The writes run
// one after another in the batch's transaction without savepoints; should
// one fail, the batch is rolled back and every write runs again alone, so a
// write that fails fails alone and the others still commit. Every write is
// answered only after its COMMIT succeeded, and a lost connection or failed
// COMMIT of the batch answers every write of the batch with that error
// (none is acknowledged without its commit). See docs/performance.md.

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
  /// Runs the write on the connection (inside the batch's transaction, or
  /// alone after another write of the batch failed) and keeps its result;
  /// false: it failed. It may run twice: the second run replaces the first
  /// one's result (the first one's changes were rolled back).
  std::function<bool(pg_connection&)> run;
  /// Answers the write once the batch is over: with no error after the
  /// COMMIT (it then answers the result `run` kept, success or its own
  /// failure), or with the error that stopped the whole batch.
  std::function<void(const std::optional<core::error>&)> settle;
};

/// What one batch did.
struct batch_report {
  std::size_t items = 0;
  std::size_t failed = 0;  ///< items that failed (when run alone)
  bool committed = false;  ///< false: every item was answered with the batch's error
  /// An item failed in the shared transaction: it was rolled back and every
  /// item ran again alone (its own transaction).
  bool rerun_alone = false;
};

/// Runs `items` in one transaction and settles each exactly once. A single
/// item runs as it would alone (its own transaction).
batch_report run_batch(pg_connection& conn, std::vector<batch_item>& items);

/// Stores several verified webhook events with one multi-row INSERT ... ON
/// CONFLICT DO NOTHING RETURNING; answers one receipt per item, in order
/// (an event stored before, or twice in `items`, is a duplicate with the
/// first one's id). Runs in the caller's transaction when there is one.
core::result<std::vector<inbox_receipt>> inbox_add_many(pg_connection& conn,
                                                        const std::vector<inbox_item>& items);

}  // namespace pay::storage
