#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"

// libpq's handles, forward-declared so only pg.cpp includes libpq-fe.h.
struct pg_conn;
struct pg_result;

namespace pay::storage {

/// How a database error should be handled, decided by its SQLSTATE class.
enum class db_error_kind {
  connection,        ///< the connection is gone (class 08, 57P01..): reconnect, retry
  serialization,     ///< 40001/40P01: retry the whole transaction
  unique_violation,  ///< 23505: "already exists", often expected
  constraint,        ///< other class 23: the data broke a rule
  refused,           ///< P0001 from our triggers (append-only tables, unbalanced ledger)
  program,           ///< syntax, missing table, wrong types: fix the program
};

/// One failed statement: what PostgreSQL said and how to treat it.
struct db_error {
  db_error_kind kind = db_error_kind::program;
  std::string sqlstate;
  std::string message;
  std::string constraint;  ///< the violated constraint's name, when known

  /// True when retrying later may succeed (connection lost, serialization).
  bool recoverable() const {
    return kind == db_error_kind::connection || kind == db_error_kind::serialization;
  }
};

/// Classifies a SQLSTATE into a db_error_kind.
db_error_kind classify_sqlstate(std::string_view sqlstate);

/// Maps a database error to the engine's error: recoverable ones are
/// storage_unavailable (503, retry), the rest internal (500, a bug).
core::error to_core_error(const db_error& e);

/// A statement's rows, owned; values are text (libpq's text format).
class pg_rows {
 public:
  pg_rows() = default;
  explicit pg_rows(pg_result* res);
  pg_rows(pg_rows&&) noexcept = default;
  pg_rows& operator=(pg_rows&&) noexcept = default;

  int size() const;
  bool empty() const { return size() == 0; }
  bool is_null(int row, int col) const;
  /// The value as text; empty for NULL.
  std::string_view text(int row, int col) const;
  std::int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const;
  std::optional<std::string> optional_text(int row, int col) const;
  /// Rows changed by INSERT/UPDATE/DELETE.
  std::int64_t affected() const;

 private:
  struct deleter {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, deleter> res_;
};

/// Result of one statement: rows or a classified error.
struct pg_outcome {
  std::optional<db_error> error;
  pg_rows rows;

  bool ok() const { return !error.has_value(); }
};

/// A parameter: text, or NULL.
using pg_param = std::optional<std::string>;

/// One libpq connection. Blocking: use it only from a detached actor's
/// thread or a tool, never on the actor scheduler's or the server's threads.
class pg_connection {
 public:
  pg_connection() = default;
  ~pg_connection();
  pg_connection(pg_connection&& other) noexcept;
  pg_connection& operator=(pg_connection&& other) noexcept;
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  /// Connects to `url` (a libpq URI or key=value string). On failure the
  /// error's kind is `connection` and the message libpq's (no password).
  static core::result<pg_connection> connect(const std::string& url);

  /// True while the socket is usable.
  bool healthy() const;

  /// True when the server did not answer a statement in time (its own
  /// statement_timeout plus core::limits::db_answer_grace_ms: the server is
  /// frozen or cut off, not merely slow); the connection is closed then.
  bool timed_out() const { return timed_out_; }

  /// Runs one or more statements without parameters (migrations, BEGIN).
  pg_outcome exec(std::string_view sql);

  /// Runs one statement with text parameters ($1, $2, ...). The statement
  /// is prepared on its first use on this connection and reused after
  /// (parsed once; at most core::limits::pg_prepared_statements_max of them).
  pg_outcome exec(std::string_view sql, const std::vector<pg_param>& params);

  /// True inside a transaction block (BEGIN without COMMIT yet).
  bool in_transaction() const;

  /// True inside a transaction block that a failed statement broke (only a
  /// ROLLBACK, or ROLLBACK TO a savepoint, helps then).
  bool in_failed_transaction() const;

  /// Runs `work` inside BEGIN/COMMIT; rolls back when it returns an error.
  /// Inside a transaction already (a group-commit batch, storage/batch.hpp)
  /// it runs under a savepoint instead, rolled back to on error, and the
  /// outer transaction's COMMIT makes it durable.
  template <class F>
  std::optional<db_error> transaction(F&& work) {
    const bool nested = in_transaction();
    if (auto begin = exec(nested ? "SAVEPOINT pay_nested" : "BEGIN"); !begin.ok())
      return begin.error;
    std::optional<db_error> failed = work(*this);
    if (failed) {
      exec(nested ? "ROLLBACK TO SAVEPOINT pay_nested" : "ROLLBACK");
      if (nested) exec("RELEASE SAVEPOINT pay_nested");
      return failed;
    }
    auto commit = exec(nested ? "RELEASE SAVEPOINT pay_nested" : "COMMIT");
    return commit.error;
  }

 private:
  explicit pg_connection(pg_conn* conn) : conn_(conn) {}
  /// Waits for the answer to the statement just sent (`sent`: whether it
  /// was), as PQexec does, but no longer than answer_wait_ms_.
  pg_outcome await_answer(bool sent);
  pg_conn* conn_ = nullptr;
  /// How long to wait for an answer; 0: without limit.
  std::int64_t answer_wait_ms_ = 0;
  bool timed_out_ = false;
  /// Statement text -> its prepared statement's name on this connection.
  std::unordered_map<std::string, std::string> prepared_;
};

/// The libpq URL with any password removed, for logs.
std::string redact_url(std::string_view url);

}  // namespace pay::storage
