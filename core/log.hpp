#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/json_text.hpp"

/// Structured logs: one JSON object per line on stderr with time, level,
/// message and correlation fields. The one piece of output core offers,
/// because every layer logs; the line is formatted purely (format_log_line)
/// and written with a single write(2), so lines never interleave.
namespace pay::core::log {

enum class level { debug, info, warn, error };

/// "debug", "info", "warn", "error".
std::string_view to_string(level l);

/// Parses a level name; info for anything unknown.
level parse_level(std::string_view name);

/// A correlation field: name and value (values are logged as JSON strings).
using field = std::pair<std::string_view, std::string_view>;

/// The program name logged in every line ("paymentsd", "psp-sandbox").
void set_program(std::string_view program);

/// Lines below `threshold` are dropped.
void set_threshold(level threshold);

/// Formats one line (without the newline): {"time":..,"level":..,"msg":..,...}.
std::string format_log_line(std::string_view time_iso, level l, std::string_view program,
                            std::string_view message, std::initializer_list<field> fields);

/// Escapes `s` as the inside of a JSON string (the one escaper of core/,
/// shared with the outbound event payloads).
using core::append_json_escaped;

}  // namespace pay::core::log

namespace pay::core {

/// `s` as a JSON string literal, quotes included (for small JSON documents
/// built by hand, such as audit data); core::json_string under its older name.
std::string log_json_string(std::string_view s);

}  // namespace pay::core

namespace pay::core::log {

/// Writes one line if `l` is at or above the threshold.
void write(level l, std::string_view message, std::initializer_list<field> fields = {});

/// The id of the request this thread works for right now, empty when none:
/// set by a request_scope around a synchronous call, so code deep inside it
/// (the PSP connector building its HTTP request) passes the id on without
/// every signature carrying it. It does not follow asynchronous hand-offs.
std::string_view current_request_id();

/// Sets current_request_id() for its lifetime (then restores the previous).
class request_scope {
 public:
  explicit request_scope(std::string_view request_id);
  ~request_scope();
  request_scope(const request_scope&) = delete;
  request_scope& operator=(const request_scope&) = delete;

 private:
  std::string previous_;
};

/// Writes one line whose fields are known only at run time; fields with an
/// empty value are left out.
void write_fields(level l, std::string_view message, std::span<const field> fields);

inline void debug(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::error, m, f);
}

}  // namespace pay::core::log
