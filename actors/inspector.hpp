#pragma once

// The INSPECTOR REGISTRY: every long-lived actor registers its kind and key
// here and publishes its state and counters, so the inspector console and
// paymentsctl can show the live system.
//
// Design: an actor's state holds its `record` inline (a `registration`), and
// the registry links records into one intrusive list per shard, so joining
// allocates nothing beyond the key. Registering and deregistering take a
// short lock on one of a few shards, once per actor lifetime; handling a
// message touches only the actor's own record with relaxed atomic stores (no
// lock, no allocation, no message).
// Readers (the console's HTTP requests) take the shard locks briefly and copy
// the records out. CAF lets only an actor's own thread read its mailbox, so
// the actor samples its mailbox depth itself when it takes a message: the
// depth is as of the last message, and an actor stuck in one message shows
// a growing "last message" age instead.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.hpp"

namespace caf {
class scheduled_actor;
}

namespace pay::actors::inspector {

/// The kinds of actors the registry knows, as the console names them.
namespace kind {
inline constexpr const char* payment_intent = "payment_intent";
inline constexpr const char* intent_router = "intent_router";
inline constexpr const char* psp_gateway = "psp_gateway";
inline constexpr const char* storage = "storage";
inline constexpr const char* webhook_worker = "webhook_worker";
inline constexpr const char* webhook_supervisor = "webhook_supervisor";
}  // namespace kind

/// The most recent PSP call latencies of one gateway: one writer (the
/// gateway actor), any number of readers, no lock.
class latency_window {
 public:
  /// Records one call's latency.
  void add(std::int64_t ms);
  /// The recorded latencies, up to the window size, in no particular order.
  std::vector<std::int64_t> samples() const;

 private:
  std::array<std::atomic<std::int64_t>, core::limits::inspector_latency_window> ring_{};
  std::atomic<std::uint64_t> count_{0};
};

/// What a PSP gateway publishes besides the common counters.
struct gateway_stats {
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> failures_consecutive{0};
  std::atomic<std::uint64_t> trips{0};
  /// Unix ms when an open breaker admits probes again (0: not open).
  std::atomic<std::int64_t> open_until_ms{0};
  latency_window latency;
};

/// One live actor's published state. Kind and key never change after
/// registration; everything else is written by the actor only.
struct record {
  record* prev = nullptr;  ///< the shard's list, under its lock
  record* next = nullptr;
  const char* kind = "";
  std::string key;
  std::int64_t started_ms = 0;
  /// A static string: the FSM state, breaker state or "idle"/"busy".
  std::atomic<const char*> state{""};
  /// The intent's version; -1 when the actor has none.
  std::atomic<std::int64_t> version{-1};
  std::atomic<std::uint64_t> handled{0};
  /// The first element of the last message taken, as caf::atom_value bits
  /// (0: none yet).
  std::atomic<std::uint64_t> last_message{0};
  std::atomic<std::int64_t> last_ms{0};
  std::atomic<std::uint64_t> mailbox{0};
  std::atomic<std::uint64_t> restarts{0};
  /// Gateways only (null for every other kind, to keep intent actors small).
  std::unique_ptr<gateway_stats> gateway;
};

/// An actor's membership in the registry, held in the actor's state: it
/// deregisters when destroyed, so when the actor stops. Not enrolled (every
/// call a no-op) until enroll(). It stays where it was constructed, since
/// the registry links to it.
class registration {
 public:
  registration() = default;
  ~registration();
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;

  /// Registers the actor as `kind` (a static string) under `key`; gateways
  /// get gateway_stats.
  void enroll(const char* kind, std::string key, bool gateway = false);

  /// Call at the start of every message, on the actor's own thread: counts
  /// it, names it after its leading atom and samples the mailbox depth.
  void on_message(caf::scheduled_actor* self);
  /// Publishes a state name; `state` must be a static string.
  void set_state(const char* state);
  /// Publishes the FSM state by name (a static string view) and version.
  void set_state(std::string_view state, std::int64_t version);
  /// Gateways: publishes the breaker (state name from core::to_string) and
  /// the load; `retry_after_ms` counts from now, 0 when the breaker is not open.
  void set_gateway(std::string_view breaker_state, std::uint64_t in_flight,
                   std::uint64_t failures_consecutive, std::uint64_t trips,
                   std::int64_t retry_after_ms);
  /// Gateways: records one PSP call's latency.
  void add_latency(std::int64_t ms);

  record* operator->() { return &rec_; }
  explicit operator bool() const { return enrolled_; }

 private:
  record rec_;
  bool enrolled_ = false;
};

/// A copy of one record, taken by a reader.
struct actor_view {
  std::string kind;
  std::string key;
  std::string state;
  std::int64_t version = -1;
  std::uint64_t handled = 0;
  std::string last_message;
  std::int64_t last_ms = 0;
  std::int64_t started_ms = 0;
  std::uint64_t mailbox = 0;
  std::uint64_t restarts = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t failures_consecutive = 0;
  std::uint64_t trips = 0;
  std::int64_t open_until_ms = 0;
  /// Gateways: the recent latencies, sorted ascending.
  std::optional<std::vector<std::int64_t>> latencies_ms;
};

/// Live actors of one listing and how many of each kind are alive.
struct listing {
  /// Sorted by kind (intent actors last) then key; at most the limit.
  std::vector<actor_view> actors;
  /// Every live actor counted by kind, sorted by kind.
  std::vector<std::pair<std::string, std::uint64_t>> counts;
  std::uint64_t total = 0;
};

/// The live actors, filtered by kind when `kind_filter` is not empty, at
/// most `limit` of them; the counts always cover every kind.
listing list(std::string_view kind_filter, std::size_t limit);

/// Live actors of one kind and their mailboxes.
struct kind_summary {
  std::string kind;
  std::uint64_t live = 0;
  std::uint64_t mailbox_total = 0;
  std::uint64_t mailbox_max = 0;
};

/// Every kind with live actors, sorted by kind, without copying records:
/// cheap enough for a metrics scrape ("live actors by kind and mailbox depth").
std::vector<kind_summary> summarize();

/// The live actor of `kind` with `key`, if one is registered.
std::optional<actor_view> find(std::string_view kind, std::string_view key);

/// "<prefix>-<n>" with n counting up from 1 per process, for actors with no
/// natural key (storage connections).
std::string numbered(std::string_view prefix);

/// A gateway's breaker state as of `now_ms` (unix ms): an open breaker
/// whose period has ended admits probes, so it reads as half_open, as
/// circuit_breaker::state does. Other kinds: their state as published.
std::string breaker_state_now(const actor_view& v, std::int64_t now_ms);

/// Milliseconds since the unix epoch, the clock of the records' times.
std::int64_t unix_ms();

/// The p-th percentile (0..100) of ascending `sorted` by nearest rank; 0 when
/// empty.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, int p);

/// One routing decision of a create, as the inspector shows it.
struct routing_decision {
  std::int64_t at_ms = 0;  ///< unix ms
  std::string merchant_id;
  std::string intent_id;
  std::string psp;           ///< where the intent was made
  std::int32_t attempt = 0;  ///< 0: the first PSP of its list
  std::string reason;        ///< "rule 0", "stripe breaker open", ...
  std::vector<std::string> candidates;
};

/// Remembers a create's decision (the newest
/// limits::routing_recent_decisions_max are kept).
void record_routing(routing_decision d);

/// The remembered decisions, newest first.
std::vector<routing_decision> recent_routing();

}  // namespace pay::actors::inspector
