#include "sandbox/log.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>

#include "net/json.hpp"

namespace pay::sandbox {

void log_line(std::string_view level, std::string_view msg,
              std::initializer_list<std::pair<std::string_view, log_value>> fields) {
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::string line = "{\"ts_ms\":" + std::to_string(now_ms) +
                     ",\"level\":" + net::json_quote(level) + ",\"msg\":" + net::json_quote(msg);
  for (const auto& [key, value] : fields) {
    line += "," + net::json_quote(key) + ":";
    line += value.is_text ? net::json_quote(value.text) : value.text;
  }
  line += "}\n";
  static std::mutex mutex;
  std::lock_guard guard{mutex};
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace pay::sandbox
