#pragma once

#include <cstdint>
#include <string>

/// Fault injection knobs, set at start by flags or at run time through
/// POST /_sandbox/faults. Every random decision is drawn from one seeded
/// generator, so a run with the same seed and the same requests repeats.
namespace pay::sandbox {

/// The fault knobs; percentages are whole percent, 0 to 100.
struct fault_settings {
  /// Added before an API request is processed.
  std::int64_t latency_ms = 0;
  /// Share of API requests answered 500 or 503 without being processed.
  std::int64_t error_percent = 0;
  /// Share of API requests that are processed but whose answer is held for
  /// hang_ms, past any sane client timeout.
  std::int64_t hang_percent = 0;
  /// How long a hung answer is held.
  std::int64_t hang_ms = 30'000;
  /// When above 0, confirmations answer `processing` and the card's outcome
  /// (succeeded, requires_capture or a decline) follows this much later,
  /// known only from events and retrieval: an asynchronous PSP.
  std::int64_t processing_ms = 0;
  /// Share of events delivered twice.
  std::int64_t webhook_duplicate_percent = 0;
  /// Share of events held back and delivered after the next event.
  std::int64_t webhook_out_of_order_percent = 0;
  /// Added before every webhook delivery.
  std::int64_t webhook_delay_ms = 0;
  /// Share of events whose first delivery attempt is dropped (counted as a
  /// failed attempt and retried with backoff).
  std::int64_t webhook_drop_first_percent = 0;
};

/// The settings as a JSON object.
std::string to_json(const fault_settings& f);

/// Sets one knob by its JSON/flag name ("latency_ms", ...); returns an error
/// message, empty on success.
std::string set_fault(fault_settings& f, const std::string& name, std::int64_t value);

}  // namespace pay::sandbox
