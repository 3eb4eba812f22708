#include "core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace pay::core::log {

namespace {

std::atomic<level> threshold_{level::info};
thread_local std::string current_request_id_;
// Read on every line from every thread, set once or twice at start-up: an
// atomic pointer, so writing a line takes no lock. A replaced name is kept
// (never freed), so a line being written with it stays valid.
std::atomic<const std::string*> program_{new std::string("payments")};

std::string now_iso8601() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto millis = duration_cast<milliseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

}  // namespace

std::string_view to_string(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

level parse_level(std::string_view name) {
  if (name == "debug") return level::debug;
  if (name == "warn") return level::warn;
  if (name == "error") return level::error;
  return level::info;
}

void set_program(std::string_view program) {
  program_.store(new std::string(program), std::memory_order_release);
}

void set_threshold(level t) {
  threshold_ = t;
}

std::string format_log_line(std::string_view time_iso, level l, std::string_view program,
                            std::string_view message, std::initializer_list<field> fields) {
  std::string out;
  out.reserve(128 + message.size());
  out += "{\"time\":\"";
  append_json_escaped(out, time_iso);
  out += "\",\"level\":\"";
  out += to_string(l);
  out += "\",\"program\":\"";
  append_json_escaped(out, program);
  out += "\",\"msg\":\"";
  append_json_escaped(out, message);
  out += '"';
  for (const auto& [name, value] : fields) {
    out += ",\"";
    append_json_escaped(out, name);
    out += "\":\"";
    append_json_escaped(out, value);
    out += '"';
  }
  out += '}';
  return out;
}

void write(level l, std::string_view message, std::initializer_list<field> fields) {
  if (static_cast<int>(l) < static_cast<int>(threshold_.load())) return;
  const std::string& program = *program_.load(std::memory_order_acquire);
  auto line = format_log_line(now_iso8601(), l, program, message, fields);
  line.push_back('\n');
  // One write per line: concurrent writers never interleave within a line.
  std::size_t done = 0;
  while (done < line.size()) {
    auto n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // stderr closed: nothing better to do with a log line
    done += static_cast<std::size_t>(n);
  }
}

std::string_view current_request_id() {
  return current_request_id_;
}

request_scope::request_scope(std::string_view request_id) : previous_(current_request_id_) {
  current_request_id_ = request_id;
}

request_scope::~request_scope() {
  current_request_id_ = std::move(previous_);
}

void write_fields(level l, std::string_view message, std::span<const field> fields) {
  if (static_cast<int>(l) < static_cast<int>(threshold_.load())) return;
  const std::string& program = *program_.load(std::memory_order_acquire);
  auto line = format_log_line(now_iso8601(), l, program, message, {});
  line.pop_back();  // the closing brace: the fields go before it
  for (const auto& [name, value] : fields) {
    if (value.empty()) continue;
    line += ",\"";
    append_json_escaped(line, name);
    line += "\":\"";
    append_json_escaped(line, value);
    line += '"';
  }
  line += "}\n";
  std::size_t done = 0;
  while (done < line.size()) {
    auto n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace pay::core::log

namespace pay::core {

std::string log_json_string(std::string_view s) {
  return json_string(s);
}

}  // namespace pay::core
