#include "actors/gateway_actor.hpp"

#include <chrono>
#include <deque>
#include <functional>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/engine_metrics.hpp"
#include "actors/inspector.hpp"
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
    std::function<void()> start;
    std::function<void()> refuse;
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

/// Starts queued calls while slots are free; one that waited too long is
/// refused instead.
void drain(gateway_state& st, std::int64_t now) {
  while (st.in_flight < st.config.concurrency_max && !st.queue.empty()) {
    auto next = std::move(st.queue.front());
    st.queue.pop_front();
    if (now - next.since_ms > st.config.queue_wait_ms_max)
      next.refuse();
    else
      next.start();
  }
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
/// starts the connector's operation with a completion callback; the result
/// comes back to this actor's thread as a psp_done message, where the
/// breaker learns of it and the caller gets the answer.
template <class Outcome, class Call>
caf::typed_response_promise<Outcome> guarded(gateway_pointer self, const char* operation,
                                             Call call) {
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
  auto refuse = [self, rp]() mutable {
    self->state.breaker->release();
    metrics::engine().psp_calls_refused.with({self->state.config.psp, "busy"}).inc();
    rp.deliver(Outcome{refused("psp_busy", "Too many PSP calls in flight; retry shortly.", 0)});
  };
  auto start = [self, rp, operation, call]() mutable {
    auto& st = self->state;
    auto now = now_ms();
    ++st.in_flight;
    st.publish(now);
    auto handle = caf::actor_cast<gateway_actor>(self);
    auto started_at = std::chrono::steady_clock::now();
    call([self, handle, rp, operation, started_at, started = now,
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
    st.queue.push_back({now, std::move(start), std::move(refuse)});
  } else {
    refuse();
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
  auto timeout = self->state.config.call_timeout_ms;
  return {
      [self, timeout](psp_create_atom, const core::psp_create_intent& req,
                      const std::string& key) -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.request_id};
        return guarded<psp_intent_outcome>(self, "create_intent", [=](auto done) {
          connector->create_intent(req, key, timeout, std::move(done));
        });
      },
      [self, timeout](psp_get_atom, const std::string& id, const std::string& request_id)
          -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{request_id};
        return guarded<psp_intent_outcome>(self, "retrieve_intent", [=](auto done) {
          connector->retrieve_intent(id, timeout, std::move(done));
        });
      },
      [self, timeout](psp_capture_atom, const psp_modification_request& req)
          -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.modification.request_id};
        return guarded<psp_intent_outcome>(self, "capture_intent", [=](auto done) {
          connector->capture_intent(req.modification, req.idempotency_key, timeout,
                                    std::move(done));
        });
      },
      [self, timeout](psp_cancel_atom, const psp_modification_request& req)
          -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.modification.request_id};
        return guarded<psp_intent_outcome>(self, "cancel_intent", [=](auto done) {
          connector->cancel_intent(req.modification, req.idempotency_key, timeout, std::move(done));
        });
      },
      [self, timeout](psp_refund_atom, const psp_modification_request& req)
          -> caf::typed_response_promise<psp_refund_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.modification.request_id};
        return guarded<psp_refund_outcome>(self, "create_refund", [=](auto done) {
          connector->create_refund(req.modification, req.idempotency_key, timeout, std::move(done));
        });
      },
      [self, timeout](psp_confirm_atom, const psp_modification_request& req)
          -> caf::typed_response_promise<psp_intent_outcome> {
        auto connector = self->state.connector;
        core::log::request_scope scope{req.modification.request_id};
        return guarded<psp_intent_outcome>(self, "confirm_intent", [=](auto done) {
          connector->confirm_intent(req.modification, req.idempotency_key, timeout,
                                    std::move(done));
        });
      },
      [self, timeout](psp_bts_atom, const core::psp_list_query& query)
          -> caf::typed_response_promise<psp_balance_page_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_balance_page_outcome>(self, "list_balance_transactions", [=](auto done) {
          connector->list_balance_transactions(query, timeout, std::move(done));
        });
      },
      [self, timeout](psp_payouts_atom, const core::psp_list_query& query)
          -> caf::typed_response_promise<psp_payout_page_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_payout_page_outcome>(self, "list_payouts", [=](auto done) {
          connector->list_payouts(query, timeout, std::move(done));
        });
      },
      [self, timeout](psp_payout_atom,
                      const std::string& id) -> caf::typed_response_promise<psp_payout_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_payout_outcome>(self, "retrieve_payout", [=](auto done) {
          connector->retrieve_payout(id, timeout, std::move(done));
        });
      },
      [self, timeout](psp_report_atom, const std::string& report)
          -> caf::typed_response_promise<psp_report_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_report_outcome>(self, "read_settlement_report", [=](auto done) {
          connector->read_settlement_report(report, timeout, std::move(done));
        });
      },
      [self, timeout](psp_evidence_atom, const psp_evidence_request& req)
          -> caf::typed_response_promise<psp_dispute_outcome> {
        auto connector = self->state.connector;
        return guarded<psp_dispute_outcome>(self, "submit_dispute_evidence", [=](auto done) {
          connector->submit_dispute_evidence(req.psp_dispute_id, req.evidence_json,
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
