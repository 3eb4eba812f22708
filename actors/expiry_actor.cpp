#include "actors/expiry_actor.hpp"

#include <chrono>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/engine_metrics.hpp"
#include "actors/errors.hpp"
#include "actors/periodic_scan.hpp"
#include "core/log.hpp"
#include "storage/expiry.hpp"
#include "storage/reconnecting_connection.hpp"

namespace pay::actors {

namespace {

struct expiry_state {
  // Not an actor handle first: CAF constructs a state from its actor's
  // pointer when it can, and a C++20 aggregate would try the handle.
  expiry_scan_config config;
  intent_router_actor router;
  std::optional<storage::reconnecting_connection> db;

  static inline const char* name = "expiry_scan";
};

using expiry_pointer = expiry_scan_actor::stateful_pointer<expiry_state>;

/// One scan: the due expiries go to their intent actors (each answers on
/// its own; a failure is logged and the next scan finds the intent again,
/// as its deadline stays in the database), then the warnings, then the gauge.
void scan(expiry_pointer self) {
  auto& st = self->state;
  auto conn = st.db->get();
  if (!conn) {
    core::log::warn("expiry scan: no database", {{"error", conn.err().message}});
    return;
  }
  auto& c = **conn;
  if (auto due = storage::due_expiries(c, st.config.batch_max)) {
    for (const auto& id : *due) {
      // Fire and forget on the detached thread: the answer arrives as a
      // message, so a slow PSP never holds the scan.
      self->request(st.router,
                    std::chrono::milliseconds(2 * core::limits::psp_call_timeout_ms +
                                              core::limits::actor_request_timeout_ms),
                    expire_atom::value, id)
          .then(
              [id](core::expiry_result outcome) {
                core::log::info(
                    "authorization expiry",
                    {{"intent_id", id}, {"outcome", std::string(core::to_string(outcome))}});
              },
              [id](caf::error& err) {
                core::log::warn("authorization expiry failed; the next scan retries",
                                {{"intent_id", id}, {"error", from_caf_error(err).message}});
              });
    }
  } else {
    core::log::warn("expiry scan failed", {{"error", due.err().message}});
  }
  if (st.config.warning_lead_s > 0) {
    if (auto warned =
            storage::send_expiry_warnings(c, st.config.warning_lead_s, st.config.batch_max)) {
      for (const auto& id : *warned)
        core::log::info("authorization expiring: merchant warned", {{"intent_id", id}});
    } else {
      core::log::warn("expiry warnings failed", {{"error", warned.err().message}});
    }
  }
  if (auto n = storage::count_expiring(c, st.config.warning_lead_s))
    metrics::engine().authorizations_expiring.with({}).set(static_cast<double>(*n));
  st.db->drop_if_broken();
}

expiry_scan_actor::behavior_type expiry_behavior(expiry_pointer self, intent_router_actor router,
                                                 expiry_scan_config config) {
  auto& st = self->state;
  st.router = std::move(router);
  st.db.emplace(config.database_url, "expiry scan");
  st.config = std::move(config);
  return periodic_scan(self, st.config.period_ms, scan);
}

}  // namespace

expiry_scan_actor spawn_expiry_scan(caf::actor_system& sys, intent_router_actor router,
                                    expiry_scan_config config) {
  return sys.spawn<caf::detached>(expiry_behavior, std::move(router), std::move(config));
}

}  // namespace pay::actors
