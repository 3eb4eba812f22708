#include "actors/webhook_worker.hpp"

#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/engine_metrics.hpp"
#include "actors/errors.hpp"
#include "actors/inspector.hpp"
#include "core/log.hpp"

namespace pay::actors {

namespace {

using std::chrono::milliseconds;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const auto request_timeout = milliseconds(core::limits::actor_request_timeout_ms);

/// The worker's state: its peers, and whether a claim is under way.
struct worker_state {
  // Declared so the state is no aggregate: CAF constructs a state from the
  // actor's pointer whenever it can, and C++20 would let an aggregate whose
  // first member is an actor handle be "constructed" that way.
  worker_state() = default;

  // The storage areas the worker uses: the inbox, the intents' PSP ids and
  // idempotency keys (operations), and disputes (ledger).
  storage_inbox_actor inbox;
  storage_operations_actor operations;
  storage_ledger_actor ledger;
  intent_router_actor router;
  std::shared_ptr<const core::psp_registry> psps;
  webhook_worker_config config;
  bool claiming = false;
  bool wake_pending = false;
  std::size_t in_flight = 0;
  std::mt19937_64 rng{std::random_device{}()};
  inspector::registration probe;

  static inline const char* name = "webhook_worker";
};

using worker_pointer = webhook_worker_actor::stateful_pointer<worker_state>;

void claim(worker_pointer self);

/// One event is settled (applied, recorded, rescheduled or dead-lettered).
void settled(worker_pointer self) {
  if (--self->state.in_flight > 0) return;
  self->state.claiming = false;
  self->state.probe.set_state("idle");
  if (self->state.wake_pending) claim(self);
}

/// A failed attempt: retry after a full-jitter delay, or dead-letter once
/// the attempt budget or the deadline is spent.
///
/// An event that waits for something outside it waits under the deadline
/// alone (limits::retry_deadline_ms), kept rather than dead-lettered after a
/// handful of attempts: one whose intent the engine does not know yet (a
/// webhook that raced ahead of the create answer), and one whose processing
/// needs a PSP or the database that is down right now (e.g. PayPal's
/// approval, which the engine confirms at the PSP, during an outage).
void failed(worker_pointer self, const storage::inbox_row& row, const std::string& error,
            bool waiting = false) {
  auto& st = self->state;
  auto policy = st.config.retry;
  if (waiting) policy.attempts_max = std::numeric_limits<std::uint32_t>::max();
  auto plan = core::plan_retry(policy, static_cast<std::uint32_t>(row.attempts),
                               unix_ms() - row.received_ms, st.rng());
  auto done = [self](bool) { settled(self); };
  auto lost = [self, id = row.id](caf::error& err) {
    // The lease lapses and the event is claimed again; nothing is lost.
    core::log::warn("could not record a webhook attempt",
                    {{"inbox_id", std::to_string(id)}, {"error", from_caf_error(err).message}});
    settled(self);
  };
  if (plan.verdict == core::retry_verdict::retry) {
    metrics::engine().webhook_retries.with({row.psp}).inc();
    core::log::info("webhook event will be retried", {{"event_id", row.event_id},
                                                      {"attempt", std::to_string(row.attempts)},
                                                      {"delay_ms", std::to_string(plan.delay_ms)},
                                                      {"error", error}});
    self->request(st.inbox, request_timeout, inbox_retry_atom::value, row.id,
                  static_cast<std::int32_t>(row.attempts), error, plan.delay_ms)
        .then(done, lost);
    return;
  }
  metrics::engine().webhook_dead_lettered.with({row.psp}).inc();
  core::log::warn(
      "webhook event dead-lettered",
      {{"event_id", row.event_id}, {"attempts", std::to_string(row.attempts)}, {"error", error}});
  self->request(st.inbox, request_timeout, inbox_dead_atom::value, row.id,
                static_cast<std::int32_t>(row.attempts), error,
                std::string(core::to_string(plan.verdict)) + ": " + error)
      .then(done, lost);
}

/// A failed attempt whose error says a dependency (the PSP, the database)
/// is unavailable waits for it; any other failure counts against the
/// attempt budget.
void failed(worker_pointer self, const storage::inbox_row& row, const core::error& e) {
  failed(self, row, e.message,
         e.code == core::errc::psp_unavailable || e.code == core::errc::storage_unavailable);
}

/// Marks an event terminal with `outcome` (no more retries).
void finish_unowned(worker_pointer self, const storage::inbox_row& row,
                    core::inbox_outcome outcome) {
  self->request(self->state.inbox, request_timeout, inbox_done_atom::value, row.id, outcome)
      .then(
          [self, row](bool) {
            metrics::webhook_processed(row);
            settled(self);
          },
          [self, row](caf::error& err) { failed(self, row, from_caf_error(err).message); });
}

/// An event naming engine intent `engine_reference`, which this PSP holds
/// no row of, past the grace window: when that intent exists at another PSP
/// its create failed over, and this PSP's object is a routing orphan (made
/// by an attempt the create left; canceled or left to lapse, see
/// routing_orphans). The event is recorded `routing_orphan` (terminal). Not
/// found at any PSP: its create may still be committing, so it waits.
void orphan_or_waiting(worker_pointer self, const storage::inbox_row& row,
                       const std::string& engine_reference,
                       std::function<void(const std::string&)> waiting) {
  auto others = std::make_shared<std::vector<std::string>>();
  for (const auto& [name, gateway] : self->state.config.gateways)
    if (name != row.psp) others->push_back(name);
  // Asks the other PSPs one after another. The step holds itself only
  // weakly; each pending lookup holds it strongly, so it lives exactly as
  // long as a lookup is in flight (no cycle, and it never frees itself
  // while it runs).
  using step_fn = std::function<void(std::size_t)>;
  auto step = std::make_shared<step_fn>();
  std::weak_ptr<step_fn> weak = step;
  *step = [self, row, engine_reference, waiting, others, weak](std::size_t i) {
    if (i >= others->size()) return waiting("");
    auto keep = weak.lock();
    self->request(self->state.operations, request_timeout, psp_ref_atom::value, (*others)[i],
                  std::string(), engine_reference)
        .then(
            [self, row, engine_reference, keep, i](optional_id id) {
              if (!id) return (*keep)(i + 1);
              core::log::info(
                  "webhook event about a routing orphan recorded",
                  {{"event_id", row.event_id}, {"psp", row.psp}, {"intent_id", engine_reference}});
              finish_unowned(self, row, core::inbox_outcome::routing_orphan);
            },
            [waiting](caf::error&) { waiting(" (the lookup failed)"); });
  };
  (*step)(0);
}

/// An event about a PSP intent the engine has no row for. Within the grace
/// window it waits as before. After it, an event that names the engine's own
/// id is a routing orphan's when that intent lives at another PSP (see
/// orphan_or_waiting), else its create is still committing and it waits;
/// an event without one is looked up at the PSP: one that carries no engine
/// id is another system's, and the event is recorded `foreign` (terminal: no
/// more retries). A failed lookup, or a PSP without a gateway here, keeps the
/// event waiting.
void unknown_intent(worker_pointer self, const storage::inbox_row& row,
                    const std::string& psp_intent_id, const std::string& engine_reference) {
  auto& st = self->state;
  auto waiting = [self, row, psp_intent_id](const std::string& why) {
    failed(self, row, "the engine has no intent for PSP intent " + psp_intent_id + " yet" + why,
           true);
  };
  if (unix_ms() - row.received_ms < st.config.foreign_grace_ms) return waiting("");
  if (!engine_reference.empty()) return orphan_or_waiting(self, row, engine_reference, waiting);
  auto gateway = st.config.gateways.find(row.psp);
  if (psp_intent_id.empty() || gateway == st.config.gateways.end()) return waiting("");
  self->request(gateway->second, request_timeout, psp_get_atom::value, psp_intent_id,
                "webhook_" + row.event_id)
      .then(
          [self, row, waiting](psp_intent_outcome& outcome) {
            const auto* pi = std::get_if<core::psp_intent>(&outcome);
            if (pi == nullptr) return waiting(" (the PSP lookup failed)");
            auto engine_id = pi->engine_reference ? pi->engine_reference : pi->engine_metadata_id;
            if (engine_id && !engine_id->empty())
              return orphan_or_waiting(self, row, *engine_id, waiting);
            core::log::info("webhook event about another system's PSP intent recorded as foreign",
                            {{"event_id", row.event_id}, {"psp", row.psp}});
            self->request(self->state.inbox, request_timeout, inbox_done_atom::value, row.id,
                          core::inbox_outcome::foreign)
                .then(
                    [self, row](bool) {
                      metrics::engine().webhook_foreign.with({row.psp}).inc();
                      metrics::webhook_processed(row);
                      settled(self);
                    },
                    [self, row](caf::error& err) {
                      failed(self, row, from_caf_error(err).message);
                    });
          },
          [waiting](caf::error&) { waiting(" (the PSP lookup failed)"); });
}

/// Finds the engine's intent for `psp_intent_id` (or, failing that, the
/// one the PSP named by the engine's own id, `engine_reference`) and sends
/// it the command `make(intent id)` builds. No intent yet: retried under the
/// deadline alone. An event another worker applied first is done.
template <class Atom, class MakeCommand>
void route_to_intent(worker_pointer self, const storage::inbox_row& row,
                     const std::string& psp_intent_id, const std::string& engine_reference,
                     MakeCommand make) {
  self->request(self->state.operations, request_timeout, psp_ref_atom::value, row.psp,
                psp_intent_id, engine_reference)
      .then(
          [self, row, psp_intent_id, engine_reference, make](optional_id id) {
            if (!id) return unknown_intent(self, row, psp_intent_id, engine_reference);
            self->request(self->state.router, request_timeout, Atom::value, make(*id))
                .then(
                    [self, row](core::inbox_outcome) {
                      metrics::webhook_processed(row);
                      settled(self);
                    },
                    [self, row](caf::error& err) {
                      auto e = from_caf_error(err);
                      if (e.code == core::errc::already_processed) return settled(self);
                      failed(self, row, e);
                    });
          },
          [self, row](caf::error& err) { failed(self, row, from_caf_error(err)); });
}

/// Records an event the engine does not act on.
void record(worker_pointer self, const storage::inbox_row& row) {
  self->request(self->state.inbox, request_timeout, inbox_done_atom::value, row.id,
                core::inbox_outcome::recorded)
      .then(
          [self, row](bool) {
            metrics::webhook_processed(row);
            settled(self);
          },
          [self, row](caf::error& err) { failed(self, row, from_caf_error(err).message); });
}

/// Records a dispute's news: the storage actor writes the dispute, its
/// audit rows, its postings and the inbox mark in one transaction. The
/// dispute does not change the intent's state, so it needs no intent actor:
/// the dispute's row lock serialises its writers, and its money movements
/// are booked once by their PSP ids, so a redelivered or reordered event
/// books nothing twice. News about a payment the engine does not know yet
/// waits under the deadline, as intent news does.
void record_dispute(worker_pointer self, const storage::inbox_row& row,
                    const core::psp_event& event) {
  storage::dispute_news news;
  news.psp = row.psp;
  news.view = *event.dispute;
  news.event_id = row.event_id;
  news.psp_type = event.psp_type;
  news.event_created = event.created;
  news.inbox_id = row.id;
  self->request(self->state.ledger, request_timeout, dispute_record_atom::value, std::move(news))
      .then(
          [self, row](core::inbox_outcome) {
            metrics::webhook_processed(row);
            settled(self);
          },
          [self, row](caf::error& err) {
            auto e = from_caf_error(err);
            if (e.code == core::errc::already_processed) return settled(self);
            failed(self, row, e.message,
                   e.code == core::errc::not_found && e.param == "payment_intent");
          });
}

/// Hands a payout or settlement report row to its PSP's settlement actor,
/// which books it and marks the row processed in one transaction; failures
/// take the same retry and dead-letter path.
template <class Atom>
void settle(worker_pointer self, const storage::inbox_row& row) {
  auto& st = self->state;
  auto settlement = st.config.settlements.find(row.psp);
  if (settlement == st.config.settlements.end()) return record(self, row);
  self->request(settlement->second, milliseconds(core::limits::settlement_request_timeout_ms),
                Atom::value, row)
      .then([self](const std::string&) { settled(self); },
            [self, row](caf::error& err) {
              auto e = from_caf_error(err);
              if (e.code == core::errc::already_processed) return settled(self);
              failed(self, row, e);
            });
}

/// Hands one claimed event to its intent actor (an intent or a refund that
/// changed), a paid payout to its PSP's settlement actor, or records it
/// (everything else). The row's PSP parses it: the worker knows kinds only.
void process(worker_pointer self, storage::inbox_row row) {
  auto& st = self->state;
  const auto* provider = st.psps->find(row.psp);
  if (provider == nullptr) return failed(self, row, "no PSP named '" + row.psp + "' is configured");
  auto events = provider->webhooks->parse(row.payload);
  if (events.size() != 1) return failed(self, row, "the event body cannot be parsed");
  auto event = std::move(events.front());
  switch (event.kind) {
    case core::psp_event_kind::refund_changed: {
      if (!event.refund) return failed(self, row, "the refund event carries no refund");
      auto view = *event.refund;
      return route_to_intent<apply_refund_atom>(
          self, row, view.payment_intent, std::string{},
          [row, view, type = event.psp_type](const std::string& id) {
            return apply_refund_command{id, row.id, row.event_id, type, view};
          });
    }
    case core::psp_event_kind::intent_changed: {
      if (!event.intent) return failed(self, row, "the intent event carries no intent");
      auto view = *event.intent;
      return route_to_intent<apply_atom>(
          self, row, event.object_id, view.engine_reference.value_or(""),
          [row, view, type = event.psp_type,
           captures = provider->authorisation_captures](const std::string& id) {
            return apply_command{id, row.id, row.event_id, type, view, captures};
          });
    }
    case core::psp_event_kind::dispute_changed:
      if (!event.dispute) return failed(self, row, "the dispute event carries no dispute");
      return record_dispute(self, row, event);
    case core::psp_event_kind::payout_paid:
    case core::psp_event_kind::payout_failed:
      // The settlement actor reads the payout and books what its status
      // says: paid is booked, failed reverses a booking.
      return settle<settle_atom>(self, row);
    case core::psp_event_kind::report_available:
      return settle<settle_report_atom>(self, row);
    case core::psp_event_kind::other:
      return record(self, row);
  }
  record(self, row);
}

void claim(worker_pointer self) {
  auto& st = self->state;
  st.wake_pending = false;
  st.claiming = true;
  st.probe.set_state("claiming");
  self->request(st.inbox, request_timeout, inbox_claim_atom::value,
                static_cast<std::uint64_t>(st.config.batch_max), st.config.lease_ms)
      .then(
          [self](inbox_rows& rows) {
            auto& st = self->state;
            if (rows.empty()) {
              st.claiming = false;
              st.probe.set_state("idle");
              if (st.wake_pending) claim(self);
              return;
            }
            // A full batch means more may be due: claim again when it settles.
            if (rows.size() == st.config.batch_max) st.wake_pending = true;
            st.in_flight = rows.size();
            for (auto& row : rows) process(self, std::move(row));
          },
          [self](caf::error& err) {
            core::log::warn("webhook claim failed", {{"error", from_caf_error(err).message}});
            self->state.claiming = false;
            self->state.probe.set_state("idle");
          });
}

webhook_worker_actor::behavior_type worker_behavior(worker_pointer self, storage_actor storage,
                                                    intent_router_actor router,
                                                    std::shared_ptr<const core::psp_registry> psps,
                                                    webhook_worker_config config) {
  auto& st = self->state;
  st.inbox = storage;
  st.operations = storage;
  st.ledger = std::move(storage);
  st.router = std::move(router);
  st.psps = std::move(psps);
  st.config = std::move(config);
  st.probe.enroll(inspector::kind::webhook_worker, "inbox");
  st.probe.set_state("idle");
  // The first tick also claims whatever a crashed process left behind.
  self->send(self, tick_atom::value);
  self->delayed_send(self, milliseconds(st.config.stuck_poll_ms), stuck_atom::value);
  return {
      [self](wake_atom) {
        self->state.probe.on_message(self);
        if (self->state.claiming)
          self->state.wake_pending = true;
        else
          claim(self);
      },
      [self](tick_atom) {
        self->state.probe.on_message(self);
        if (self->state.claiming)
          self->state.wake_pending = true;
        else
          claim(self);
        self->delayed_send(self, milliseconds(self->state.config.poll_ms), tick_atom::value);
      },
      [self](stuck_atom) {
        self->state.probe.on_message(self);
        auto& st = self->state;
        self->request(st.inbox, request_timeout, stuck_atom::value, st.config.stuck_idle_ms,
                      static_cast<std::uint64_t>(core::limits::stuck_batch_max))
            .then(
                [self](id_list& ids) {
                  for (auto& id : ids) {
                    core::log::info("polling the PSP for a stuck intent", {{"intent_id", id}});
                    self->request(self->state.router, request_timeout, refresh_atom::value, id)
                        .then([](const core::payment_intent&) {}, [](caf::error&) {});
                  }
                },
                [](caf::error&) {});
        // Housekeeping on the same slow tick: idempotency keys past their
        // retention (24 h) go; they are not ledger or audit rows.
        self->request(st.operations, request_timeout, expire_keys_atom::value,
                      core::limits::idempotency_key_retention_hours)
            .then(
                [](std::int64_t expired) {
                  if (expired > 0)
                    core::log::info("expired idempotency keys",
                                    {{"count", std::to_string(expired)}});
                },
                [](caf::error&) {});
        self->delayed_send(self, milliseconds(st.config.stuck_poll_ms), stuck_atom::value);
      },
  };
}

/// The supervisor's state: the child and its restart schedule.
struct supervisor_state {
  supervisor_state() = default;  // no aggregate; see worker_state

  std::function<webhook_worker_actor()> make_child;
  webhook_worker_actor child;
  std::uint32_t restarts = 0;
  std::mt19937_64 rng{std::random_device{}()};
  inspector::registration probe;

  static inline const char* name = "webhook_supervisor";
};

using supervisor_pointer = webhook_worker_actor::stateful_pointer<supervisor_state>;

void start_child(supervisor_pointer self) {
  self->state.child = self->state.make_child();
  self->monitor(self->state.child);
}

webhook_worker_actor::behavior_type supervisor_behavior(
    supervisor_pointer self, std::function<webhook_worker_actor()> make_child) {
  self->state.make_child = std::move(make_child);
  self->state.probe.enroll(inspector::kind::webhook_supervisor, "inbox");
  self->state.probe.set_state("supervising");
  start_child(self);
  self->set_down_handler([self](caf::down_msg& down) {
    if (down.source != self->state.child.address()) return;
    if (down.reason == caf::exit_reason::user_shutdown) return self->quit(down.reason);
    // Restart with capped, jittered backoff so a crash loop cannot spin.
    core::backoff_policy policy{core::limits::backoff_base_ms,
                                core::limits::supervisor_restart_ceiling_ms, 0, 0};
    auto delay = core::full_jitter_delay_ms(policy, self->state.restarts++, self->state.rng());
    self->state.probe->restarts.store(self->state.restarts, std::memory_order_relaxed);
    core::log::error(
        "webhook worker stopped; restarting",
        {{"reason", caf::to_string(down.reason)}, {"restart_in_ms", std::to_string(delay)}});
    self->delayed_send(self, milliseconds(delay), stuck_atom::value);
    self->state.child = nullptr;
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (self->state.child) self->send_exit(self->state.child, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [self](wake_atom) {
        self->state.probe.on_message(self);
        if (self->state.child) self->send(self->state.child, wake_atom::value);
      },
      [self](tick_atom) {
        self->state.probe.on_message(self);
        if (self->state.child) self->send(self->state.child, tick_atom::value);
      },
      // From the outside: forwarded; from our own restart timer: restart.
      [self](stuck_atom) {
        self->state.probe.on_message(self);
        if (!self->state.child) return start_child(self);
        self->send(self->state.child, stuck_atom::value);
      },
  };
}

}  // namespace

webhook_worker_actor spawn_supervised_webhook_worker(caf::actor_system& sys, storage_actor storage,
                                                     intent_router_actor router,
                                                     std::shared_ptr<const core::psp_registry> psps,
                                                     webhook_worker_config config) {
  auto make_child = [&sys, storage, router, psps, config] {
    return sys.spawn(worker_behavior, storage, router, psps, config);
  };
  return sys.spawn(supervisor_behavior, std::function<webhook_worker_actor()>(make_child));
}

}  // namespace pay::actors
