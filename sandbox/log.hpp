#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

/// Structured logs: one JSON object per line on stderr. Never pass secrets.
namespace pay::sandbox {

/// A field's value: a string or an integer, rendered as JSON.
struct log_value {
  log_value(std::string_view s) : text(s), is_text(true) {}
  log_value(const char* s) : text(s), is_text(true) {}
  log_value(const std::string& s) : text(s), is_text(true) {}
  log_value(long long n) : text(std::to_string(n)), is_text(false) {}
  log_value(long n) : text(std::to_string(n)), is_text(false) {}
  log_value(int n) : text(std::to_string(n)), is_text(false) {}
  log_value(unsigned long n) : text(std::to_string(n)), is_text(false) {}
  log_value(unsigned n) : text(std::to_string(n)), is_text(false) {}
  std::string text;
  bool is_text;
};

/// Writes {"ts_ms":..,"level":..,"msg":..,<fields>} and a newline, atomically.
void log_line(std::string_view level, std::string_view msg,
              std::initializer_list<std::pair<std::string_view, log_value>> fields = {});

}  // namespace pay::sandbox
