#pragma once

/// One PostgreSQL connection that reconnects lazily with backoff: what every
/// detached actor owning a connection (storage actors, outbound stores)
/// needs, written once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "core/backoff.hpp"
#include "core/error.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

class reconnecting_connection {
 public:
  /// Run on every fresh connection before it is used (e.g. naming the
  /// session); an error drops that connection.
  using setup_fn = std::function<core::status(pg_connection&)>;

  /// `who` names the owner in the log lines.
  reconnecting_connection(std::string url, std::string who, setup_fn setup = {});

  /// A usable connection: the current one while healthy, else a new one
  /// unless the backoff says wait. A failed connect waits
  /// full-jitter backoff (db_reconnect_backoff_base_ms doubling up to
  /// db_reconnect_backoff_ceiling_ms) before the next try; meanwhile every
  /// call answers storage_unavailable at once instead of queueing behind a
  /// dead database.
  core::result<pg_connection*> get();

  /// Forgets the connection (it broke); the next get() reconnects. One
  /// whose server stopped answering (frozen, cut off: timed_out) is replaced
  /// only after a backoff, so the work queued meanwhile fails at once
  /// instead of each waiting on a connect.
  void reset();

  /// Drops the connection when a piece of work left it broken.
  void drop_if_broken() {
    if (conn_ && !conn_->healthy()) reset();
  }

  bool connected() const { return conn_ && conn_->healthy(); }

 private:
  using clock_type = std::chrono::steady_clock;

  std::string url_;
  std::string who_;
  setup_fn setup_;
  std::optional<pg_connection> conn_;
  std::uint32_t failed_connects_ = 0;
  clock_type::time_point next_connect_{};
  std::mt19937_64 rng_{std::random_device{}()};
  core::backoff_policy policy_;
};

}  // namespace pay::storage
