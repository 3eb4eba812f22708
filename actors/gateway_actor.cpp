#include "actors/gateway_actor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <limits>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/engine_metrics.hpp"
#include "actors/inspector.hpp"
#include "core/deadline.hpp"
#include "core/log.hpp"

namespace pay::actors {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// A gateway's state: the breaker and the calls in flight.
struct gateway_state {
  gateway_config config;
  std::shared_ptr<core::psp_connector> connector;
  std::optional<core::circuit_breaker> breaker;
  std::size_t in_flight = 0;
  /// Calls waiting for a slot (at most config.queue_max), oldest first.
  struct waiting {
    std::int64_t since_ms;
    core::deadline_point deadline;  ///< the request's; zero: none
    std::function<void()> start;
    /// Answers without calling the PSP: busy (false) or the deadline passed (true).
    std::function<void(bool)> refuse;
  };
  std::deque<waiting> queue;
  inspector::registration probe;

  static inline const char* name = "psp_gateway";

  /// Shows the breaker and the load in the inspector.
  void publish(std::int64_t now) {
    probe.set_gateway(core::to_string(breaker->state(now)), in_flight,
                      breaker->consecutive_failures(), breaker->trips(),
                      breaker->retry_after_ms(now));
  }
};

using gateway_pointer = gateway_actor::stateful_pointer<gateway_state>;

/// A failure the gateway answers itself, without calling the PSP.
core::psp_failure refused(std::string code, std::string message, std::int64_t retry_after_ms) {
  core::psp_failure f;
  f.kind = core::psp_failure_kind::retryable;
  f.code = std::move(code);
  f.message = std::move(message);
  f.retry_after_ms = retry_after_ms;
  return f;
}

/// True when a call for a request due at `deadline` may no longer be made.
bool too_late(core::deadline_point deadline) {
  return core::call_timeout_ms(std::numeric_limits<std::int64_t>::max(), deadline,
                               std::chrono::steady_clock::now(),
                               core::limits::psp_call_time_min_ms) == 0;
}

/// Starts queued calls while slots are free; one that waited too long is
/// refused instead (and one whose request's deadline passed, by start).
void drain(gateway_state& st, std::int64_t now) {
  while (st.in_flight < st.config.concurrency_max && !st.queue.empty()) {
    auto next = std::move(st.queue.front());
    st.queue.pop_front();
    if (now - next.since_ms > st.config.queue_wait_ms_max)
      next.refuse(false);
    else
      next.start();
  }
}

/// Answers the queued calls whose request's deadline passed, without
/// calling the PSP: their requests have answered by now, and a retry with
/// the same key makes the call.
void expire_queued(gateway_state& st) {
  std::deque<gateway_state::waiting> kept;
  std::vector<gateway_state::waiting> late;
  for (auto& w : st.queue) {
    if (too_late(w.deadline))
      late.push_back(std::move(w));
    else
      kept.push_back(std::move(w));
  }
  st.queue = std::move(kept);
  for (auto& w : late) w.refuse(true);
}

/// Records a finished call's effect on the breaker.
template <class Outcome>
void account(gateway_state& st, const Outcome& outcome) {
  --st.in_flight;
  auto now = now_ms();
  const auto* failure = std::get_if<core::psp_failure>(&outcome);
  // Declines and rejections are answers: the PSP is up. Only retryable
  // failures (timeouts, 5xx, connection) count against it.
  if (failure != nullptr && failure->kind == core::psp_failure_kind::retryable) {
    auto before = st.breaker->trips();
    st.breaker->on_failure(now);
    if (st.breaker->trips() != before) {
      metrics::engine().breaker_trips.with({st.config.psp}).inc();
      core::log::warn("circuit breaker opened",
                      {{"psp", st.config.psp}, {"error", failure->message}});
    }
  } else {
    st.breaker->on_success(now);
  }
  st.publish(now);
}

/// Runs one PSP call under the breaker and the concurrency limit. `call`
/// starts the connector's operation with a timeout (the configured one, cut
/// to what `deadline` leaves) and a completion callback; the result comes
/// back to this actor's thread as a psp_done message, where the breaker
/// learns of it and the caller gets the answer. A call whose deadline has
/// passed when its turn comes, or while it waits in the queue, is answered
/// a retryable failure without calling the PSP.
template <class Outcome, class Call>
caf::typed_response_promise<Outcome> guarded(gateway_pointer self, const char* operation,
                                             core::deadline_point deadline, Call call) {
  auto rp = self->template make_response_promise<Outcome>();
  auto& st = self->state;
  auto now = now_ms();
  st.probe.on_message(self);
  if (!st.breaker->try_acquire(now)) {
    auto wait = st.breaker->retry_after_ms(now);
    metrics::engine().psp_calls_refused.with({st.config.psp, "circuit_open"}).inc();
    rp.deliver(Outcome{refused(
        "circuit_open", "The PSP is failing; calls are paused for " + std::to_string(wait) + " ms.",
        wait)});
    return rp;
  }
  // The breaker admitted the call; one not made gives its admission back
  // without an outcome: it proves nothing about the PSP either way.
  auto refuse = [self, rp](bool late) mutable {
    self->state.breaker->release();
    metrics::engine()
        .psp_calls_refused.with({self->state.config.psp, late ? "deadline" : "busy"})
        .inc();
    if (late)
      rp.deliver(Outcome{refused("deadline_passed",
                                 "The request's deadline passed before the PSP call could be "
                                 "made; retry with the same Idempotency-Key.",
                                 0)});
    else
      rp.deliver(Outcome{refused("psp_busy", "Too many PSP calls in flight; retry shortly.", 0)});
  };
  auto start = [self, rp, operation, call, deadline, refuse]() mutable {
    auto& st = self->state;
    auto now = now_ms();
    auto timeout_ms =
        core::call_timeout_ms(st.config.call_timeout_ms, deadline, std::chrono::steady_clock::now(),
                              core::limits::psp_call_time_min_ms);
    if (timeout_ms == 0) return refuse(true);
    ++st.in_flight;
    st.publish(now);
    auto handle = caf::actor_cast<gateway_actor>(self);
    auto started_at = std::chrono::steady_clock::now();
    call(timeout_ms, [self, handle, rp, operation, started_at, started = now,
                      psp = st.config.psp](Outcome outcome) mutable {
      // On a connector thread: hand the result to the actor's own thread. The
      // strong handle keeps the actor (and so `self`) alive until then.
      metrics::observe_psp_call(
          psp, operation,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count(),
          std::get_if<core::psp_failure>(&outcome));
      caf::anon_send(handle, psp_done_atom::value,
                     completion{[self, rp, started, outcome = std::move(outcome)]() mutable {
                       self->state.probe.add_latency(now_ms() - started);
                       account(self->state, outcome);
                       rp.deliver(std::move(outcome));
                       drain(self->state, now_ms());
                     }});
    });
  };
  if (st.in_flight < st.config.concurrency_max && st.queue.empty()) {
    start();
  } else if (st.queue.size() < st.config.queue_max) {
    st.queue.push_back({now, deadline, std::move(start), std::move(refuse)});
    if (deadline != core::deadline_point{}) {
      // Wakes the gateway when this call's deadline passes: if it is still
      // queued then, it is answered without calling the PSP.
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      self->delayed_send(self, std::max(left, std::chrono::milliseconds(0)), psp_done_atom::value,
                         completion{[self] { expire_queued(self->state); }});
    }
  } else {
    refuse(false);
  }
  return rp;
}

gateway_actor::behavior_type gateway_behavior(gateway_pointer self, gateway_config config,
                                              std::shared_ptr<core::psp_connector> connector) {
  self->state.breaker.emplace(config.breaker);
  self->state.config = std::move(config);
  self->state.connector = std::move(connector);
  self->state.probe.enroll(inspector::kind::psp_gateway, self->state.config.psp, true);
  self->state.publish(now_ms());
  return {
      [self](psp_create_atom,
             const psp_create_request& req) -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.intent.request_id};
        return guarded<psp_intent_outcome>(
            self, "create_intent", req.deadline, [=](std::int64_t timeout, auto done) {
              connector->create_intent(req.intent, req.idempotency_key, timeout, std::move(done));
            });
      },
      [self](psp_get_atom, const std::string& id,
             const std::string& request_id) -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{request_id};
        return guarded<psp_intent_outcome>(
            self, "retrieve_intent", core::deadline_point{}, [=](std::int64_t timeout, auto done) {
              connector->retrieve_intent(id, timeout, std::move(done));
            });
      },
      [self](psp_capture_atom, const psp_modification_request& req)
          -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.modification.request_id};
        return guarded<psp_intent_outcome>(
            self, "capture_intent", req.deadline, [=](std::int64_t timeout, auto done) {
              connector->capture_intent(req.modification, req.idempotency_key, timeout,
                                        std::move(done));
            });
      },
      [self](psp_cancel_atom, const psp_modification_request& req)
          -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.modification.request_id};
        return guarded<psp_intent_outcome>(
            self, "cancel_intent", req.deadline, [=](std::int64_t timeout, auto done) {
              connector->cancel_intent(req.modification, req.idempotency_key, timeout,
                                       std::move(done));
            });
      },
      [self](psp_refund_atom, const psp_modification_request& req)
          -> caf::typed_response_promise<psp_refund_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.modification.request_id};
        return guarded<psp_refund_outcome>(
            self, "create_refund", req.deadline, [=](std::int64_t timeout, auto done) {
              connector->create_refund(req.modification, req.idempotency_key, timeout,
                                       std::move(done));
            });
      },
      [self](psp_confirm_atom, const psp_modification_request& req)
          -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.modification.request_id};
        return guarded<psp_intent_outcome>(
            self, "confirm_intent", req.deadline, [=](std::int64_t timeout, auto done) {
              connector->confirm_intent(req.modification, req.idempotency_key, timeout,
                                        std::move(done));
            });
      },
      [self](psp_bts_atom, const core::psp_list_query& query)
          -> caf::typed_response_promise<psp_balance_page_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_balance_page_outcome>(
            self, "list_balance_transactions", core::deadline_point{},
            [=](std::int64_t timeout, auto done) {
              connector->list_balance_transactions(query, timeout, std::move(done));
            });
      },
      [self](psp_payouts_atom, const core::psp_list_query& query)
          -> caf::typed_response_promise<psp_payout_page_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_payout_page_outcome>(
            self, "list_payouts", core::deadline_point{}, [=](std::int64_t timeout, auto done) {
              connector->list_payouts(query, timeout, std::move(done));
            });
      },
      [self](psp_payout_atom,
             const std::string& id) -> caf::typed_response_promise<psp_payout_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_payout_outcome>(
            self, "retrieve_payout", core::deadline_point{}, [=](std::int64_t timeout, auto done) {
              connector->retrieve_payout(id, timeout, std::move(done));
            });
      },
      [self](psp_report_atom,
             const std::string& report) -> caf::typed_response_promise<psp_report_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_report_outcome>(self, "read_settlement_report", core::deadline_point{},
                                           [=](std::int64_t timeout, auto done) {
                                             connector->read_settlement_report(report, timeout,
                                                                               std::move(done));
                                           });
      },
      [self](psp_evidence_atom,
             const psp_evidence_request& req) -> caf::typed_response_promise<psp_dispute_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_dispute_outcome>(self, "submit_dispute_evidence", core::deadline_point{},
                                            [=](std::int64_t timeout, auto done) {
                                              connector->submit_dispute_evidence(
                                                  req.psp_dispute_id, req.evidence_json,
                                                  req.idempotency_key, timeout, std::move(done));
                                            });
      },
      [self](psp_done_atom, completion& c) {
        self->state.probe.on_message(self);
        c.run();
      },
  };
}

}  // namespace

gateway_actor spawn_gateway_actor(caf::actor_system& sys, gateway_config config,
                                  std::shared_ptr<core::psp_connector> connector) {
  return sys.spawn(gateway_behavior, std::move(config), std::move(connector));
}

}  // namespace pay::actors
