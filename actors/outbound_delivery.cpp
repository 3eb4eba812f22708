#include "actors/outbound_delivery.hpp"

#include <chrono>
#include <map>
#include <random>
#include <set>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/engine_metrics.hpp"
#include "actors/errors.hpp"
#include "core/log.hpp"

namespace pay::actors::outbound {

namespace {

using std::chrono::milliseconds;

/// The delivery metric families, registered once in the engine's registry
/// (rendered by GET /metrics with the others).
struct delivery_metrics {
  core::metrics::counter_family& attempts;
  core::metrics::counter_family& failures;
  core::metrics::counter_family& dead_lettered;
  core::metrics::counter_family& disabled;
  core::metrics::gauge_family& pending;
  core::metrics::gauge_family& oldest_pending_age;
  core::metrics::histogram_family& latency;
};

delivery_metrics& outbound_metrics() {
  auto& r = metrics::engine().registry;
  static delivery_metrics m{
      r.add_counter("payments_outbound_webhook_attempts_total",
                    "Delivery attempts of events to merchants' webhook endpoints, by endpoint.",
                    {"endpoint"}),
      r.add_counter("payments_outbound_webhook_failures_total",
                    "Delivery attempts that failed (no 2xx answer within the deadline), by "
                    "endpoint.",
                    {"endpoint"}),
      r.add_counter("payments_outbound_webhook_dead_lettered_total",
                    "Deliveries given up after the retry window (replayable), by endpoint.",
                    {"endpoint"}),
      r.add_counter("payments_outbound_webhook_endpoints_disabled_total",
                    "Webhook endpoints the engine disabled because they failed for days."),
      r.add_gauge("payments_outbound_webhook_pending",
                  "Deliveries not yet delivered nor dead-lettered, by endpoint.", {"endpoint"}),
      r.add_gauge("payments_outbound_webhook_oldest_pending_age_seconds",
                  "Age of the oldest undelivered event of each endpoint; 0 when none waits.",
                  {"endpoint"}),
      r.add_histogram("payments_outbound_webhook_attempt_duration_seconds",
                      "Time from sending an event to the receiver's answer or the deadline.", {},
                      core::metrics::latency_buckets_seconds()),
  };
  return m;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- the delivery actor of one endpoint ------------------------------------------

struct endpoint_state {
  endpoint_state() = default;
  std::string endpoint_id;
  store_actor store;
  std::shared_ptr<core::outbound_poster> poster;
  core::delivery_policy policy;
  std::size_t in_flight = 0;
  bool claiming = false;
  std::mt19937_64 rng{std::random_device{}()};

  static inline const char* name = "outbound_endpoint";
};

using endpoint_pointer = endpoint_actor::stateful_pointer<endpoint_state>;

const milliseconds store_timeout{core::limits::actor_request_timeout_ms};

void start_attempt(endpoint_pointer self, storage::claimed_delivery d) {
  auto& st = self->state;
  ++st.in_flight;
  outbound_metrics().attempts.with({st.endpoint_id}).inc();
  auto req = core::delivery_request(d.url, d.event_id, d.payload_json, d.secrets, now_ms() / 1000,
                                    st.policy.attempt_timeout_ms);
  auto handle = caf::actor_cast<endpoint_actor>(self);
  st.poster->post(std::move(req), [handle, d = std::move(d)](core::outbound_response r) mutable {
    caf::anon_send(handle, attempt_done{std::move(d), std::move(r)});
  });
}

void claim(endpoint_pointer self) {
  auto& st = self->state;
  if (st.claiming || st.in_flight >= st.policy.concurrency) return;
  st.claiming = true;
  self->request(
          st.store, store_timeout,
          claim_query{st.endpoint_id, st.policy.concurrency - st.in_flight, st.policy.lease_ms})
      .then(
          [self](std::vector<storage::claimed_delivery>& due) {
            self->state.claiming = false;
            // Nothing due and nothing in flight: this actor's work is done;
            // the supervisor spawns a fresh one when work comes due.
            if (due.empty() && self->state.in_flight == 0) return self->quit();
            for (auto& d : due) start_attempt(self, std::move(d));
          },
          [self](caf::error& err) {
            self->state.claiming = false;
            core::log::warn(
                "outbound delivery: claim failed",
                {{"endpoint", self->state.endpoint_id}, {"error", from_caf_error(err).message}});
            if (self->state.in_flight == 0) self->quit();
          });
}

endpoint_actor::behavior_type endpoint_behavior(endpoint_pointer self, std::string endpoint_id,
                                                store_actor store,
                                                std::shared_ptr<core::outbound_poster> poster,
                                                core::delivery_policy policy) {
  auto& st = self->state;
  st.endpoint_id = std::move(endpoint_id);
  st.store = std::move(store);
  st.poster = std::move(poster);
  st.policy = policy;
  return {
      [self](wake_atom) { claim(self); },
      [self](attempt_done& done) {
        auto& st = self->state;
        --st.in_flight;
        const auto& d = done.delivery;
        const auto& r = done.response;
        outbound_metrics().latency.with({}).observe(static_cast<double>(r.latency_ms) / 1000);
        auto attempt = d.attempts_done + 1;
        auto step = core::next_delivery_step(st.policy, r, attempt,
                                             now_ms() - d.retry_window_start_ms, st.rng());
        storage::attempt_outcome o;
        o.delivery_id = d.delivery_id;
        o.endpoint_id = d.endpoint_id;
        o.attempt = attempt;
        if (r.answered) o.status = r.status;
        if (!r.answered)
          o.error = r.timed_out ? "timeout" : r.error;
        else if (!step.delivered && !r.excerpt.empty())
          o.error = r.excerpt;
        o.latency_ms = r.latency_ms;
        o.delivered = step.delivered;
        o.dead = step.dead;
        o.retry_in_ms = step.retry_in_ms;
        o.disable_after_s = st.policy.disable_after_s;
        o.claimed_window_start_ms = d.retry_window_start_ms;
        if (!step.delivered) outbound_metrics().failures.with({st.endpoint_id}).inc();
        if (step.dead) {
          outbound_metrics().dead_lettered.with({st.endpoint_id}).inc();
          core::log::warn("outbound delivery dead-lettered",
                          {{"endpoint", d.endpoint_id},
                           {"event", d.event_id},
                           {"attempts", std::to_string(attempt)}});
        }
        self->request(st.store, store_timeout, std::move(o))
            .then(
                [self, endpoint = d.endpoint_id](bool disabled) {
                  if (disabled) {
                    outbound_metrics().disabled.with({}).inc();
                    core::log::error("webhook endpoint disabled: its deliveries failed for days",
                                     {{"endpoint", endpoint}});
                  }
                  claim(self);
                },
                [self, d](caf::error& err) {
                  // The lease brings the delivery back; it is tried again.
                  core::log::warn("outbound delivery: recording an attempt failed",
                                  {{"delivery", std::to_string(d.delivery_id)},
                                   {"error", from_caf_error(err).message}});
                  claim(self);
                });
      },
  };
}

// ---- the supervisor ---------------------------------------------------------------

struct supervisor_state {
  supervisor_state() = default;
  store_actor store;
  std::shared_ptr<core::outbound_poster> poster;
  delivery_config config;
  std::map<std::string, endpoint_actor> children;
  std::map<caf::actor_addr, std::string> by_address;
  std::set<std::string> gauged;  ///< endpoints with backlog gauges, to zero when gone
  bool polling = false;

  static inline const char* name = "outbound_supervisor";
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

void poll_due(supervisor_pointer self) {
  auto& st = self->state;
  if (st.polling) return;
  st.polling = true;
  self->request(st.store, store_timeout, due_query{st.config.due_endpoints_max})
      .then(
          [self](std::vector<std::string>& endpoints) {
            auto& st = self->state;
            st.polling = false;
            for (auto& id : endpoints) {
              auto it = st.children.find(id);
              if (it == st.children.end()) {
                auto child =
                    self->spawn(endpoint_behavior, id, st.store, st.poster, st.config.policy);
                self->monitor(child);
                st.by_address.emplace(child.address(), id);
                it = st.children.emplace(id, child).first;
              }
              self->send(it->second, wake_atom::value);
            }
          },
          [self](caf::error& err) {
            self->state.polling = false;
            core::log::warn("outbound delivery: poll failed",
                            {{"error", from_caf_error(err).message}});
          });
}

void refresh_gauges(supervisor_pointer self) {
  self->request(self->state.store, store_timeout, backlog_query{})
      .then(
          [self](std::vector<storage::endpoint_backlog>& backlog) {
            auto& m = outbound_metrics();
            std::set<std::string> seen;
            for (const auto& b : backlog) {
              m.pending.with({b.endpoint_id}).set(static_cast<double>(b.pending));
              m.oldest_pending_age.with({b.endpoint_id})
                  .set(static_cast<double>(b.oldest_pending_age_s));
              seen.insert(b.endpoint_id);
            }
            for (const auto& gone : self->state.gauged) {
              if (seen.count(gone)) continue;
              m.pending.with({gone}).set(0);
              m.oldest_pending_age.with({gone}).set(0);
            }
            self->state.gauged = std::move(seen);
          },
          [](caf::error&) {});
}

supervisor_actor::behavior_type supervisor_behavior(supervisor_pointer self, store_actor store,
                                                    std::shared_ptr<core::outbound_poster> poster,
                                                    delivery_config config) {
  auto& st = self->state;
  st.store = std::move(store);
  st.poster = std::move(poster);
  st.config = config;
  outbound_metrics();  // the families exist (at 0) from the start
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    auto it = st.by_address.find(down.source);
    if (it == st.by_address.end()) return;
    if (down.reason && down.reason != caf::exit_reason::normal)
      core::log::error("outbound delivery actor failed; the next poll starts another",
                       {{"endpoint", it->second}, {"reason", caf::to_string(down.reason)}});
    st.children.erase(it->second);
    st.by_address.erase(it);
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, child] : self->state.children) self->send_exit(child, msg.reason);
    self->quit(msg.reason);
  });
  self->send(self, tick_atom::value);
  return {
      [self](wake_atom) { poll_due(self); },
      [self](tick_atom) {
        poll_due(self);
        refresh_gauges(self);
        self->delayed_send(self, milliseconds(self->state.config.policy.poll_ms), tick_atom::value);
      },
  };
}

}  // namespace

supervisor_actor spawn_delivery_supervisor(caf::actor_system& sys, store_actor store,
                                           std::shared_ptr<core::outbound_poster> poster,
                                           delivery_config config) {
  return sys.spawn(supervisor_behavior, std::move(store), std::move(poster), std::move(config));
}

}  // namespace pay::actors::outbound
