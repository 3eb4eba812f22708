#include "actors/orphan_rescan.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/engine_metrics.hpp"
#include "actors/periodic_scan.hpp"
#include "actors/routing_orphans.hpp"
#include "core/backoff.hpp"
#include "core/log.hpp"
#include "storage/reconnecting_connection.hpp"
#include "storage/routing.hpp"

namespace pay::actors {

namespace {

using clock_type = std::chrono::steady_clock;

/// An orphan whose passes failed retryably: when it may be tried again.
struct orphan_retry {
  std::uint32_t failures = 0;
  clock_type::time_point next{};
};

struct rescan_state {
  // Not an actor handle first: CAF constructs a state from its actor's
  // pointer when it can, and a C++20 aggregate would try the handle.
  orphan_rescan_config config;
  gateway_set gateways;
  std::optional<storage::reconnecting_connection> db;
  /// "intent_id/attempt" -> its backoff; forgotten once recorded. In
  /// memory only: a restarted engine tries every pending orphan at once.
  std::map<std::string, orphan_retry> retries;
  /// Orphans with a pass under way (not sent again meanwhile).
  std::set<std::string> in_flight;
  /// PSPs no longer configured, logged once each.
  std::set<std::string> unknown_psps;
  std::mt19937_64 rng{std::random_device{}()};

  static inline const char* name = "orphan_rescan";
};

using rescan_pointer = orphan_rescan_actor::stateful_pointer<rescan_state>;

std::string key_of(const storage::routing_attempt& a) {
  return a.intent_id + "/" + std::to_string(a.attempt);
}

/// Records a handled orphan once (ON CONFLICT: the intent actor may have
/// recorded it first). A failed write leaves it for the next pass.
void record(rescan_pointer self, const storage::routing_attempt& a, orphan_verdict v) {
  auto& st = self->state;
  auto conn = st.db->get();
  auto done =
      conn
          ? storage::record_routing_orphan(
                **conn, storage::routing_orphan{a.intent_id, a.attempt, v.outcome, v.psp_reference})
          : core::status{conn.err()};
  if (!done) {
    core::log::warn("orphan rescan: outcome not recorded; the next pass retries it",
                    {{"intent_id", a.intent_id}, {"error", done.err().message}});
    st.db->drop_if_broken();
    return;
  }
  st.retries.erase(key_of(a));
  metrics::engine().routing_orphan_passes.with({a.psp, "handled"}).inc();
  core::log::info("routing orphan handled by the rescan",
                  {{"intent_id", a.intent_id},
                   {"attempt", std::to_string(a.attempt)},
                   {"psp", a.psp},
                   {"outcome", v.outcome},
                   {"psp_reference", v.psp_reference.value_or("")}});
}

/// A retryable failure: the orphan waits full-jitter backoff.
void retry_later(rescan_pointer self, const storage::routing_attempt& a, const std::string& why) {
  auto& st = self->state;
  auto& r = st.retries[key_of(a)];
  core::backoff_policy policy;
  policy.base_ms = st.config.backoff_base_ms;
  policy.ceiling_ms = st.config.backoff_ceiling_ms;
  auto delay = core::full_jitter_delay_ms(policy, r.failures, st.rng());
  ++r.failures;
  r.next = clock_type::now() + std::chrono::milliseconds(delay);
  metrics::engine().routing_orphan_passes.with({a.psp, "retry"}).inc();
  core::log::warn("orphan rescan: orphan not handled yet; retried after backoff",
                  {{"intent_id", a.intent_id},
                   {"psp", a.psp},
                   {"failures", std::to_string(r.failures)},
                   {"retry_in_ms", std::to_string(delay)},
                   {"error", why}});
}

void scan(rescan_pointer self) {
  auto& st = self->state;
  auto conn = st.db->get();
  if (!conn) {
    core::log::warn("orphan rescan: no database", {{"error", conn.err().message}});
    return;
  }
  auto& c = **conn;
  auto due = storage::due_routing_orphans(c, st.config.grace_ms, st.config.batch_max);
  if (!due) {
    core::log::warn("orphan rescan failed", {{"error", due.err().message}});
  } else {
    const auto now = clock_type::now();
    for (auto& a : *due) {
      auto key = key_of(a);
      if (st.in_flight.count(key) != 0) continue;
      if (auto r = st.retries.find(key); r != st.retries.end() && r->second.next > now) continue;
      auto g = st.gateways.find(a.psp);
      if (g == st.gateways.end() || !a.request) {
        // Left pending (counted): configuring the PSP again lets it be found.
        if (st.unknown_psps.insert(a.psp).second)
          core::log::warn("orphan rescan: orphans at a PSP that is not configured are left",
                          {{"psp", a.psp}});
        continue;
      }
      st.in_flight.insert(key);
      cancel_orphan(self, g->second, *a.request, a.psp_key, [self, a, key](orphan_verdict v) {
        self->state.in_flight.erase(key);
        if (v.outcome.empty()) return retry_later(self, a, v.error);
        record(self, a, std::move(v));
      });
    }
  }
  if (auto n = storage::count_routing_orphans(c)) {
    auto& g = metrics::engine().routing_orphans;
    g.with({"found"}).set(static_cast<double>(n->found));
    g.with({"canceled"}).set(static_cast<double>(n->canceled));
    g.with({"expires"}).set(static_cast<double>(n->expires));
    g.with({"none"}).set(static_cast<double>(n->none));
    g.with({"pending"}).set(static_cast<double>(n->pending));
  }
  st.db->drop_if_broken();
}

orphan_rescan_actor::behavior_type rescan_behavior(rescan_pointer self, gateway_set gateways,
                                                   orphan_rescan_config config) {
  auto& st = self->state;
  st.gateways = std::move(gateways);
  st.db.emplace(config.database_url, "orphan rescan");
  st.config = std::move(config);
  return periodic_scan(self, st.config.period_ms, scan);
}

}  // namespace

orphan_rescan_actor spawn_orphan_rescan(caf::actor_system& sys, gateway_set gateways,
                                        orphan_rescan_config config) {
  return sys.spawn<caf::detached>(rescan_behavior, std::move(gateways), std::move(config));
}

}  // namespace pay::actors
