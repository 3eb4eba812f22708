#include "sandbox/faults.hpp"

#include "net/json.hpp"

namespace pay::sandbox {

std::string to_json(const fault_settings& f) {
  net::json_writer w;
  w.begin_object();
  w.field("latency_ms", f.latency_ms);
  w.field("error_percent", f.error_percent);
  w.field("hang_percent", f.hang_percent);
  w.field("hang_ms", f.hang_ms);
  w.field("processing_ms", f.processing_ms);
  w.field("webhook_duplicate_percent", f.webhook_duplicate_percent);
  w.field("webhook_out_of_order_percent", f.webhook_out_of_order_percent);
  w.field("webhook_delay_ms", f.webhook_delay_ms);
  w.field("webhook_drop_first_percent", f.webhook_drop_first_percent);
  w.end_object();
  return w.take();
}

std::string set_fault(fault_settings& f, const std::string& name, std::int64_t value) {
  // Durations are capped at ten minutes: longer holds only pin memory.
  constexpr std::int64_t duration_ms_max = 600'000;
  auto percent = [&](std::int64_t& slot) -> std::string {
    if (value < 0 || value > 100) return name + " must be between 0 and 100";
    slot = value;
    return {};
  };
  auto duration = [&](std::int64_t& slot) -> std::string {
    if (value < 0 || value > duration_ms_max) return name + " must be between 0 and 600000";
    slot = value;
    return {};
  };
  if (name == "latency_ms") return duration(f.latency_ms);
  if (name == "error_percent") return percent(f.error_percent);
  if (name == "hang_percent") return percent(f.hang_percent);
  if (name == "hang_ms") return duration(f.hang_ms);
  if (name == "processing_ms") return duration(f.processing_ms);
  if (name == "webhook_duplicate_percent") return percent(f.webhook_duplicate_percent);
  if (name == "webhook_out_of_order_percent") return percent(f.webhook_out_of_order_percent);
  if (name == "webhook_delay_ms") return duration(f.webhook_delay_ms);
  if (name == "webhook_drop_first_percent") return percent(f.webhook_drop_first_percent);
  return "unknown fault knob: " + name;
}

}  // namespace pay::sandbox
