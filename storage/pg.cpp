#include "storage/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <regex>

#include "core/limits.hpp"
#include "core/log.hpp"

namespace pay::storage {

db_error_kind classify_sqlstate(std::string_view state) {
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03")
    return db_error_kind::connection;
  if (state == "40001" || state == "40P01") return db_error_kind::serialization;
  if (state == "23505") return db_error_kind::unique_violation;
  if (state.starts_with("23")) return db_error_kind::constraint;
  if (state == "P0001") return db_error_kind::refused;
  return db_error_kind::program;
}

core::error to_core_error(const db_error& e) {
  // PostgreSQL's text is for the operator: it goes to the log, never to a
  // client.
  core::log::write(e.recoverable() ? core::log::level::warn : core::log::level::error,
                   "database error",
                   {{"sqlstate", e.sqlstate}, {"error", e.message}, {"constraint", e.constraint}});
  if (e.recoverable())
    return core::make_error(core::errc::storage_unavailable,
                            "The database is unavailable; retry the request.");
  // Never echo SQL or PostgreSQL's text to API clients; it goes to the log.
  return core::make_error(core::errc::internal, "An internal storage error occurred.");
}

void pg_rows::deleter::operator()(pg_result* r) const {
  PQclear(r);
}

pg_rows::pg_rows(pg_result* res) : res_(res) {}

int pg_rows::size() const {
  return res_ ? PQntuples(res_.get()) : 0;
}

bool pg_rows::is_null(int row, int col) const {
  return PQgetisnull(res_.get(), row, col) == 1;
}

std::string_view pg_rows::text(int row, int col) const {
  return {PQgetvalue(res_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(res_.get(), row, col))};
}

std::int64_t pg_rows::int64(int row, int col) const {
  auto t = text(row, col);
  std::int64_t value = 0;
  std::from_chars(t.data(), t.data() + t.size(), value);
  return value;
}

bool pg_rows::boolean(int row, int col) const {
  return text(row, col) == "t";
}

std::optional<std::string> pg_rows::optional_text(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return std::string(text(row, col));
}

std::int64_t pg_rows::affected() const {
  if (!res_) return 0;
  const char* n = PQcmdTuples(res_.get());
  if (n == nullptr || *n == '\0') return 0;
  std::int64_t value = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), value);
  return value;
}

namespace {

pg_outcome outcome_of(pg_conn* conn, PGresult* res) {
  pg_outcome out;
  auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    out.rows = pg_rows(res);
    return out;
  }
  db_error err;
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (state != nullptr) {
    err.sqlstate = state;
    err.kind = classify_sqlstate(err.sqlstate);
  } else {
    // No SQLSTATE: libpq lost the server before an answer.
    err.kind = db_error_kind::connection;
  }
  if (PQstatus(conn) == CONNECTION_BAD) err.kind = db_error_kind::connection;
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  err.message = primary != nullptr ? primary : PQerrorMessage(conn);
  if (const char* c = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : nullptr)
    err.constraint = c;
  if (res) PQclear(res);
  out.error = std::move(err);
  return out;
}

}  // namespace

pg_connection::~pg_connection() {
  if (conn_) PQfinish(conn_);
}

pg_connection::pg_connection(pg_connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      answer_wait_ms_(other.answer_wait_ms_),
      timed_out_(other.timed_out_),
      prepared_(std::move(other.prepared_)) {
  other.prepared_.clear();
}

pg_connection& pg_connection::operator=(pg_connection&& other) noexcept {
  if (this != &other) {
    if (conn_) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
    answer_wait_ms_ = other.answer_wait_ms_;
    timed_out_ = other.timed_out_;
    prepared_ = std::move(other.prepared_);
    other.prepared_.clear();
  }
  return *this;
}

core::result<pg_connection> pg_connection::connect(const std::string& url) {
  namespace limits = core::limits;
  // The engine's defaults first, the URL last: a setting in the URL (e.g.
  // ?connect_timeout=2 or ?options=-c%20statement_timeout%3D5000) wins.
  const std::string connect_timeout = std::to_string(limits::db_connect_timeout_s);
  const std::string idle = std::to_string(limits::db_keepalives_idle_s);
  const std::string interval = std::to_string(limits::db_keepalives_interval_s);
  const std::string count = std::to_string(limits::db_keepalives_count);
  const std::string options =
      "-c statement_timeout=" + std::to_string(limits::db_statement_timeout_ms);
  const char* keys[] = {"connect_timeout",  "keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "options",    "dbname",          nullptr};
  const char* values[] = {
      connect_timeout.c_str(), "1",         idle.c_str(), interval.c_str(), count.c_str(),
      options.c_str(),         url.c_str(), nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr)
    return core::make_error(core::errc::storage_unavailable, "libpq could not allocate");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    return core::make_error(core::errc::storage_unavailable, message);
  }
  // Server notices ("relation already exists, skipping") go to the log as
  // debug lines instead of libpq's default raw stderr output.
  PQsetNoticeProcessor(
      conn,
      [](void*, const char* message) {
        std::string_view text{message};
        while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
        core::log::debug("postgres notice", {{"notice", text}});
      },
      nullptr);
  pg_connection out(conn);
  // The session's statement_timeout (ours, or the URL's), in ms: the answer
  // to any statement is due by then plus a grace, or the server is frozen.
  // This first question waits no longer than a connection attempt may.
  out.answer_wait_ms_ = limits::db_connect_timeout_s * 1000;
  auto setting = out.exec("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'");
  if (!setting.ok() || setting.rows.size() != 1)
    return core::make_error(core::errc::storage_unavailable,
                            setting.ok() ? "no statement_timeout setting" : setting.error->message);
  auto statement_timeout_ms = setting.rows.int64(0, 0);
  out.answer_wait_ms_ =
      statement_timeout_ms > 0 ? statement_timeout_ms + limits::db_answer_grace_ms : 0;
  return out;
}

pg_outcome pg_connection::await_answer(bool sent) {
  if (conn_ == nullptr) {
    pg_outcome out;
    out.error = db_error{db_error_kind::connection, "", "not connected", ""};
    return out;
  }
  if (!sent) return outcome_of(conn_, nullptr);
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(answer_wait_ms_);
  // As PQexec: every result of the statements sent, the last one kept.
  PGresult* last = nullptr;
  for (;;) {
    while (PQisBusy(conn_) == 1) {
      int wait_ms = -1;
      if (answer_wait_ms_ > 0) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
        wait_ms = static_cast<int>(std::max<std::int64_t>(0, left));
      }
      if (PQsocket(conn_) < 0) break;  // dropped: PQgetResult reports the error
      pollfd p{PQsocket(conn_), POLLIN, 0};
      int ready = ::poll(&p, 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        // No answer in time: the server is not enforcing its own timeout,
        // so it is not running. Close the connection (no cancel request: it
        // would wait on the same frozen server) and fail as a lost one.
        if (last) PQclear(last);
        PQfinish(conn_);
        conn_ = nullptr;
        prepared_.clear();
        timed_out_ = true;
        core::log::warn("database did not answer in time; connection closed",
                        {{"waited_ms", std::to_string(answer_wait_ms_)}});
        pg_outcome out;
        out.error = db_error{
            db_error_kind::connection, "",
            "the database did not answer within " + std::to_string(answer_wait_ms_) + " ms", ""};
        return out;
      }
      if (PQconsumeInput(conn_) == 0) break;  // the connection failed: PQgetResult says how
    }
    PGresult* res = PQgetResult(conn_);
    if (res == nullptr) break;
    if (last) PQclear(last);
    last = res;
    auto status = PQresultStatus(res);
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH ||
        PQstatus(conn_) == CONNECTION_BAD)
      break;
  }
  return outcome_of(conn_, last);
}

bool pg_connection::healthy() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

bool pg_connection::in_transaction() const {
  if (conn_ == nullptr) return false;
  auto s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
}

bool pg_connection::in_failed_transaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) == PQTRANS_INERROR;
}

pg_outcome pg_connection::exec(std::string_view sql) {
  std::string text(sql);
  return await_answer(conn_ != nullptr && PQsendQuery(conn_, text.c_str()) == 1);
}

pg_outcome pg_connection::exec(std::string_view sql, const std::vector<pg_param>& params) {
  std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  auto n = static_cast<int>(values.size());
  auto found = prepared_.find(text);
  if (found == prepared_.end() && prepared_.size() < core::limits::pg_prepared_statements_max) {
    // Prepared statements outlive transactions (a ROLLBACK keeps them), so
    // one failed statement never leaves a name behind that is not there.
    auto name = "pay_" + std::to_string(prepared_.size());
    auto made = await_answer(conn_ != nullptr &&
                             PQsendPrepare(conn_, name.c_str(), text.c_str(), n, nullptr) == 1);
    if (!made.ok()) return made;
    found = prepared_.emplace(text, std::move(name)).first;
  }
  if (found == prepared_.end())
    return await_answer(conn_ != nullptr &&
                        PQsendQueryParams(conn_, text.c_str(), n, nullptr, values.data(), nullptr,
                                          nullptr, 0) == 1);
  return await_answer(conn_ != nullptr &&
                      PQsendQueryPrepared(conn_, found->second.c_str(), n, values.data(), nullptr,
                                          nullptr, 0) == 1);
}

std::string redact_url(std::string_view url) {
  static const std::regex uri_password{R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)"};
  static const std::regex kv_password{R"(password\s*=\s*\S+)"};
  std::string out = std::regex_replace(std::string(url), uri_password, "$1:***@");
  return std::regex_replace(out, kv_password, "password=***");
}

}  // namespace pay::storage
