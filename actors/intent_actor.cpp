#include "actors/intent_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/engine_metrics.hpp"
#include "actors/errors.hpp"
#include "actors/inspector.hpp"
#include "actors/routing_orphans.hpp"
#include "core/ids.hpp"
#include "core/ledger.hpp"
#include "core/log.hpp"
#include "core/routing.hpp"

namespace pay::actors {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Test-only crash points (PAYMENTS_FAILPOINT=NAME): the process dies like
/// kill -9 at the named point, to prove a retry finishes the operation:
/// after_psp_create, after_psp_capture, after_psp_cancel, after_psp_refund,
/// after_psp_confirm (the PSP acted, the engine recorded nothing) and after_commit (the change
/// is committed, the answer not yet stored).
bool failpoint(std::string_view name) {
  static const std::string configured = [] {
    const char* v = std::getenv("PAYMENTS_FAILPOINT");
    return std::string(v == nullptr ? "" : v);
  }();
  return configured == name;
}

/// One intent actor's state: the intent as last written, and its peers.
struct intent_state {
  std::string id;
  // The storage areas the actor uses: its intent, refunds and operation
  // records (operations), and a routed create's plan and attempts (routing).
  storage_operations_actor storage;
  storage_routing_actor routing;
  gateway_set gateways;                    ///< by PSP name
  gateway_actor gateway;                   ///< the gateway of the intent's PSP, once known
  std::optional<core::payment_intent> pi;  ///< nullopt: not in the database (yet)
  std::optional<core::error> load_error;
  std::int64_t idle_ms = core::limits::intent_actor_idle_ms;
  std::int64_t miss_idle_ms = core::limits::intent_actor_miss_idle_ms;
  clock_type::time_point last_active = clock_type::now();
  /// The id of the request whose command is in hand (one at a time), passed
  /// to the PSP with every call the command makes; empty for background work.
  std::string request_id;
  /// The deadline of the request whose command is in hand; zero for
  /// background work (PSP events, polls), where each hop's own timeout holds.
  clock_type::time_point deadline{};
  /// The PSP payment error last counted in the metrics (see count_committed).
  std::string failure_counted;
  /// The intent's PSP cannot be read by id (it answered `unsupported`): it
  /// tells outcomes by its events only.
  bool psp_tells_by_events_only = false;
  /// When authorisations lapse; never null.
  std::shared_ptr<const core::authorization_expiry_policy> expiry;
  inspector::registration probe;

  static inline const char* name = "payment_intent";
};

using intent_pointer = intent_actor::stateful_pointer<intent_state>;

/// Points the actor at the gateway of `psp`, the PSP that holds the intent;
/// false when no such PSP is configured.
bool use_gateway(intent_state& st, const std::string& psp) {
  auto it = st.gateways.find(psp);
  if (it == st.gateways.end()) {
    core::log::error("the intent's PSP is not configured", {{"intent_id", st.id}, {"psp", psp}});
    return false;
  }
  st.gateway = it->second;
  return true;
}

/// Shows the intent as last written in the inspector.
void publish(intent_pointer self) {
  if (const auto& pi = self->state.pi)
    self->state.probe.set_state(core::to_string(pi->status), pi->version);
}

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The idempotency record to advance with a write; none for requests sent
/// without an Idempotency-Key.
std::optional<std::int64_t> idem_ref(std::int64_t id) {
  return id > 0 ? std::optional<std::int64_t>{id} : std::nullopt;
}

const auto storage_timeout = milliseconds(core::limits::actor_request_timeout_ms);
// The gateway answers by its own call deadline; this only guards against a
// lost reply.
const auto gateway_timeout = milliseconds(2 * core::limits::psp_call_timeout_ms);

/// How long a request to a peer may wait: its own timeout `cap`, cut to what
/// the command's request has left, so no hop waits past the request's
/// deadline. When it passes, the command fails with a retryable error; an
/// admitted operation stays at psp_requested and a retry finishes it.
milliseconds budget(const clock_type::time_point& deadline, milliseconds cap) {
  if (deadline == clock_type::time_point{}) return cap;
  auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
  return std::clamp(left, milliseconds(1), cap);
}

/// The engine error a client sees for a failed PSP call.
core::error from_psp_failure(const core::psp_failure& f) {
  switch (f.kind) {
    case core::psp_failure_kind::declined:
      return core::make_error(core::errc::card_declined,
                              f.message.empty() ? "The card was declined." : f.message);
    case core::psp_failure_kind::rejected:
      if (f.http_status == 401 || f.http_status == 403)
        return core::make_error(core::errc::psp_error, "The PSP refused the engine's credentials.");
      return core::make_error(core::errc::invalid_request,
                              "The PSP refused the request: " + f.message, f.param);
    case core::psp_failure_kind::unsupported:
      return core::make_error(
          core::errc::invalid_request,
          "The PSP holding this PaymentIntent does not support this: " + f.message);
    case core::psp_failure_kind::retryable:
      return core::make_error(core::errc::psp_unavailable,
                              "The PSP is unavailable (" + (f.code.empty() ? "error" : f.code) +
                                  "); retry with the same Idempotency-Key.");
  }
  return core::make_error(core::errc::psp_error, "Unknown PSP failure.");
}

core::error invalid_state(const core::payment_intent& pi, std::string_view action) {
  return core::make_error(core::errc::invalid_state, "This PaymentIntent's status is " +
                                                         std::string(core::to_string(pi.status)) +
                                                         "; it cannot be " + std::string(action) +
                                                         ".");
}

core::audit_event audit(std::string actor, std::string action,
                        std::optional<core::intent_status> from,
                        std::optional<core::intent_status> to, std::string cause,
                        std::string data_json = "{}") {
  core::audit_event a;
  a.actor = std::move(actor);
  a.action = std::move(action);
  a.from = from;
  a.to = to;
  a.cause = std::move(cause);
  a.data_json = std::move(data_json);
  return a;
}

/// True for the refund statuses whose money the books hold as refunded.
bool moved_money(std::string_view refund_status) {
  return refund_status == "pending" || refund_status == "succeeded";
}

/// The change a booked refund's failure at the PSP makes of `w` (the intent
/// as it stands): the refund's new status, the intent's refunded amount and
/// status back, the refund's booking reversed in the same transaction, one
/// audit row. nullopt when the intent cannot take it (nothing is written).
std::optional<storage::intent_write> reverse_refund(storage::intent_write w, core::refund rf,
                                                    core::refund_status now,
                                                    const std::string& cause) {
  const auto current = w.intent;
  if (rf.amount <= 0 || rf.amount > current.amount_refunded) return std::nullopt;
  auto next = current;
  next.amount_refunded = current.amount_refunded - rf.amount;
  auto event = next.amount_refunded == 0 ? core::intent_event::refund_failed
                                         : core::intent_event::refund_failed_partial;
  auto rule = core::find_transition(current.status, event);
  if (!rule) return std::nullopt;
  next.status = rule->to;
  rf.status = core::to_string(now);
  w.intent = next;
  w.touch_intent = true;
  w.refund = rf;
  w.reverses_refund = true;
  w.audit.push_back(
      audit("webhook", std::string(core::to_string(event)), current.status, next.status,
            cause + ": refund " + rf.id + " is " + rf.status + "; " + std::string(rule->cause),
            "{\"refund\":\"" + rf.id + "\",\"amount\":" + std::to_string(rf.amount) + "}"));
  return w;
}

bool same_view(const core::payment_intent& a, const core::payment_intent& b) {
  return a.status == b.status && a.amount_capturable == b.amount_capturable &&
         a.amount_received == b.amount_received && a.psp_reference == b.psp_reference &&
         a.client_secret == b.client_secret &&
         a.last_payment_error_json == b.last_payment_error_json;
}

/// Applies the PSP's view of the intent to `next`: amounts, client secret,
/// last error, and the walk of transitions to the PSP's status. Returns
/// false when the PSP's status is behind ours (stale news, not applied).
bool merge_psp_intent(core::payment_intent& next, const core::psp_intent& psp,
                      std::vector<core::audit_event>& trail, const std::string& cause,
                      const core::authorization_expiry_policy& expiry) {
  const auto target = std::optional<core::intent_status>{psp.status};
  // Back to created is a decline only when the PSP says so; a PSP intent
  // that merely awaits a payment method (a late creation event) is
  // older news than requires_action or processing, not a failure, and older
  // than a decline already recorded, whose error it must not erase.
  if (*target == core::intent_status::created && !psp.last_payment_error_json &&
      (next.status != core::intent_status::created || next.last_payment_error_json))
    return false;
  auto path = core::find_path(next.status, *target);
  if (!path) return false;
  // A refunded intent goes back to captured only on its refund's failure,
  // never because the payment's news says captured.
  if (std::any_of(path->begin(), path->end(),
                  [](const auto& rule) { return core::is_refund_reversal(rule.on); }))
    return false;
  // Undoing an accepted capture or cancellation takes the PSP's word that
  // it refused it; an authorized status alone is older news.
  const bool undoes = std::any_of(path->begin(), path->end(),
                                  [](const auto& rule) { return core::is_refusal(rule.on); });
  if (undoes != psp.modification_failed) return false;
  // A confirmed capture that failed afterwards: nothing was received, and
  // the authorisation holds its amount again (storage reverses the
  // capture's booking in the same write; see reverses_capture).
  const bool reverses_capture = std::any_of(path->begin(), path->end(), [](const auto& rule) {
    return rule.on == core::intent_event::capture_reversed;
  });
  const auto before = next;
  const bool described = !trail.empty();  // e.g. the create row of a new intent
  for (const auto& rule : *path)
    trail.push_back(audit("psp", std::string(core::to_string(rule.on)), rule.from, rule.to,
                          cause + ": " + std::string(rule.cause)));
  next.status = *target;
  next.psp_reference = psp.id;
  // The deadline is set in the write that records the authorisation (an
  // automatic capture recorded in the same write never holds funds).
  const bool authorizes = std::any_of(path->begin(), path->end(), [](const auto& rule) {
    return rule.on == core::intent_event::authorized;
  });
  if (authorizes && next.status == core::intent_status::authorized && !next.expires_at)
    next.expires_at = expiry.expires_at(
        next.psp, {nullptr, psp.card_network.value_or(""), next.merchant_initiated}, unix_now_s(),
        psp.capture_before);
  if (psp.client_secret) next.client_secret = psp.client_secret;
  if (psp.amount_capturable) next.amount_capturable = *psp.amount_capturable;
  if (psp.amount_received) next.amount_received = *psp.amount_received;
  if (reverses_capture) {
    next.amount_received = 0;
    next.amount_capturable = next.amount;
  }
  if (psp.last_payment_error_json || !psp.modification_failed)
    next.last_payment_error_json = psp.last_payment_error_json;
  // A change without a transition (a decline that leaves the intent in
  // created, amounts the PSP corrected) is still a new version: it gets its
  // audit row like every other change, unless the write already has one.
  if (path->empty() && !described && !same_view(before, next)) {
    bool declined = next.last_payment_error_json &&
                    next.last_payment_error_json != before.last_payment_error_json;
    trail.push_back(
        audit("psp", declined ? "payment_failed" : "psp_update", before.status, next.status,
              cause + (declined ? ": the PSP declined the payment; the intent stays "
                                  "payable"
                                : ": the PSP's view of the intent changed"),
              declined ? "{\"last_payment_error\":" + *next.last_payment_error_json + "}" : "{}"));
  }
  return true;
}

/// The PSP's news as it applies to `current`: a PSP that captures an
/// automatic-capture payment as it authorises it reports only the
/// authorisation, which for such an intent means captured.
core::psp_intent news_for(const core::payment_intent& current, const apply_command& cmd) {
  auto view = cmd.view;
  if (cmd.authorisation_captures && current.capture == core::capture_method::automatic &&
      view.status == core::intent_status::authorized && !view.modification_failed) {
    view.status = core::intent_status::captured;
    view.amount_received = view.amount_capturable.value_or(view.amount);
    view.amount_capturable = 0;
  }
  return view;
}

/// Adds the ledger postings that the change from `before` to `w.intent`
/// implies; a change the posting rules refuse (money received or refunded
/// going down) is refused as a whole.
core::status attach_postings(storage::intent_write& w, core::payment_intent before) {
  if (!w.touch_intent) return core::status::ok();
  // A failed refund's money comes back by reversing its booking (storage
  // does, in the same transaction); the rest of the change posts as usual.
  if (w.reverses_refund && w.refund) before.amount_refunded -= w.refund->amount;
  // A failed capture's money and hold come back the same way.
  if (w.reverses_capture) {
    before.amount_received = w.intent.amount_received;
    before.amount_capturable = w.intent.amount_capturable;
  }
  auto journals = core::postings_for_transition(before, w.intent);
  if (!journals) return journals.err();
  for (auto& j : *journals) {
    storage::post_context ctx;
    ctx.intent_id = w.intent.id;
    if (j.kind == core::journal_kind::refund && w.refund) ctx.refund_id = w.refund->id;
    w.postings.push_back(storage::ledger_posting{std::move(j), std::move(ctx)});
  }
  return core::status::ok();
}

/// Inserts a new intent (a create) and adopts it as the actor's state.
template <class Then>
void persist_insert(intent_pointer self, storage::intent_write w, Then then,
                    std::function<void(core::error)> fail) {
  auto before = w.intent;
  before.amount_capturable = before.amount_received = before.amount_refunded = 0;
  if (auto ok = attach_postings(w, before); !ok) return fail(ok.err());
  self->request(self->state.storage, budget(self->state.deadline, storage_timeout),
                write_atom::value, w)
      .await(
          [self, w, then](std::int64_t version) mutable {
            metrics::count_committed(self->state.pi ? &*self->state.pi : nullptr, w,
                                     self->state.failure_counted);
            w.intent.version = version;
            self->state.pi = w.intent;
            publish(self);
            then(*self->state.pi);
          },
          [fail](caf::error& err) { fail(from_caf_error(err)); });
}

/// Builds a change from the intent as it stands; nullopt: nothing to write.
using change_builder =
    std::function<std::optional<storage::intent_write>(const core::payment_intent&)>;

/// Writes the change `build` makes of the current intent and adopts the
/// result. A lost compare-and-swap (another process wrote first) re-reads
/// the intent and builds the change again on the fresh state, once; a change
/// that no longer applies writes nothing. It never overwrites.
template <class Then>
void persist_change(intent_pointer self, change_builder build, Then then,
                    std::function<void(core::error)> fail, int attempt = 0) {
  auto w = build(*self->state.pi);
  if (!w) return then(*self->state.pi);
  if (auto ok = attach_postings(*w, *self->state.pi); !ok) return fail(ok.err());
  self->request(self->state.storage, budget(self->state.deadline, storage_timeout),
                write_atom::value, *w)
      .await(
          [self, w = *w, then](std::int64_t version) mutable {
            metrics::count_committed(self->state.pi ? &*self->state.pi : nullptr, w,
                                     self->state.failure_counted);
            w.intent.version = version;
            self->state.pi = w.intent;
            publish(self);
            then(*self->state.pi);
          },
          [self, build, then, fail, attempt](caf::error& err) mutable {
            auto e = from_caf_error(err);
            if (e.code != core::errc::version_conflict || attempt > 0) return fail(e);
            self->request(self->state.storage, budget(self->state.deadline, storage_timeout),
                          load_atom::value, self->state.id)
                .await(
                    [self, build, then, fail](core::payment_intent& fresh) mutable {
                      core::log::info("version conflict: re-read, deciding again",
                                      {{"intent_id", self->state.id}});
                      self->state.pi = std::move(fresh);
                      publish(self);
                      persist_change(self, build, then, fail, 1);
                    },
                    [fail, e](caf::error&) { fail(e); });
          });
}

void crash_at(std::string_view name) {
  if (failpoint(name)) std::_Exit(137);
}

/// A capture or cancellation the PSP accepted and has not confirmed yet.
bool awaits_psp(const core::payment_intent& pi) {
  return pi.status == core::intent_status::capture_pending ||
         pi.status == core::intent_status::cancel_pending;
}

/// Still waiting for the shopper or the PSP: the PSP may know more.
bool pending(const core::payment_intent& pi) {
  return pi.status == core::intent_status::created ||
         pi.status == core::intent_status::requires_action ||
         pi.status == core::intent_status::processing;
}

/// For a PSP that tells outcomes by its events only: the shopper can no
/// longer be paying this intent, so no event about its payment is still
/// to come.
bool payment_window_passed(const core::payment_intent& pi) {
  return unix_now_s() - pi.created >= core::limits::event_only_payment_window_s;
}

/// The PSP idempotency key of the confirmation of intent `id`. An intent is
/// confirmed once, so one key per intent: a retry after a crash (the webhook
/// event redelivered, the status poll, another process) gets the PSP's first
/// answer back instead of a second authorisation or capture.
std::string confirm_key(const std::string& id) {
  return "confirm:" + id;
}

/// Whether the PSP's news is an approval the engine must confirm now: the
/// shopper approved (PayPal: an APPROVED order) and the intent still waits.
bool needs_confirming(const core::payment_intent& pi, const core::psp_intent& view) {
  return view.needs_confirmation && pi.psp_reference && pending(pi);
}

/// Confirms the approved payment at the PSP (authorize for manual capture,
/// capture for automatic) and hands `then` the view to record: the PSP's
/// answer, or after a refusal (a denied capture) the intent read back from
/// the PSP, which says `created` with its last_payment_error. A retryable
/// failure hands nullopt and the error: nothing is recorded, and the event
/// (or the next poll) confirms again with the same key.
template <class Then>
void confirm_at_psp(intent_pointer self, Then then) {
  const auto& current = *self->state.pi;
  core::psp_modification m;
  m.psp_intent_id = current.psp_reference.value_or("");
  m.engine_reference = current.id;
  m.amount_available = current.amount;
  m.currency = current.currency;
  m.request_id = self->state.request_id;
  m.capture = current.capture;
  psp_modification_request req{std::move(m), confirm_key(current.id), self->state.deadline};
  core::log::info(
      "confirming the approved payment at the PSP",
      {{"intent_id", current.id},
       {"capture", current.capture == core::capture_method::manual ? "manual" : "automatic"}});
  self->request(self->state.gateway, budget(self->state.deadline, gateway_timeout),
                psp_confirm_atom::value, req)
      .await(
          [self, then](psp_intent_outcome& outcome) mutable {
            if (auto* psp = std::get_if<core::psp_intent>(&outcome)) {
              crash_at("after_psp_confirm");
              psp->needs_confirmation = false;
              return then(std::optional<core::psp_intent>{*psp}, std::string{});
            }
            auto f = std::get<core::psp_failure>(outcome);
            if (f.kind == core::psp_failure_kind::retryable)
              return then(std::optional<core::psp_intent>{}, f.message);
            // Refused (declined): the PSP's record of the payment says why.
            self->request(self->state.gateway, budget(self->state.deadline, gateway_timeout),
                          psp_get_atom::value, self->state.pi->psp_reference.value_or(""),
                          self->state.request_id)
                .await(
                    [then, f](psp_intent_outcome& read) mutable {
                      auto* psp = std::get_if<core::psp_intent>(&read);
                      if (psp == nullptr || psp->needs_confirmation)
                        return then(std::optional<core::psp_intent>{},
                                    "the PSP refused the confirmation (" + f.message +
                                        ") and could not be read back");
                      then(std::optional<core::psp_intent>{*psp}, std::string{});
                    },
                    [then](caf::error& err) mutable {
                      then(std::optional<core::psp_intent>{}, from_caf_error(err).message);
                    });
          },
          [then](caf::error& err) mutable {
            then(std::optional<core::psp_intent>{}, from_caf_error(err).message);
          });
}

/// Records the PSP's view of the intent read by refresh_from_psp (after its
/// confirmation, when it needed one); `then(true)` once recorded.
template <class Then>
void record_read(intent_pointer self, core::psp_intent view, std::string cause, Then then) {
  change_builder build =
      [self, view,
       cause](const core::payment_intent& current) -> std::optional<storage::intent_write> {
    auto next = current;
    std::vector<core::audit_event> trail;
    if (!merge_psp_intent(next, view, trail, cause, *self->state.expiry)) {
      core::log::debug("psp refresh stale",
                       {{"intent_id", self->state.id}, {"psp_status", view.psp_status}});
      return std::nullopt;
    }
    if (same_view(next, current)) return std::nullopt;
    return storage::intent_write{next, current.version, std::move(trail), {}, {}, {}};
  };
  persist_change(
      self, std::move(build), [then](const core::payment_intent&) mutable { then(true); },
      [self, then](core::error e) mutable {
        core::log::warn("psp refresh not recorded",
                        {{"intent_id", self->state.id}, {"error", e.message}});
        then(false);
      });
}

/// When the intent still waits for the shopper or the PSP, asks the PSP for
/// its state and records any progress (until webhooks land, this is how the
/// engine learns of an authorisation). A PSP failure leaves the state as is;
/// `then(fresh)` learns whether the state is known to be current (false: a
/// pending intent whose PSP read failed, so a refusal based on it could be
/// wrong and must not be final).
/// (With `confirm` false, an approval is recorded as the PSP tells it and
/// not confirmed: a merchant's cancel must not first take the money.)
template <class Then>
void refresh_from_psp(intent_pointer self, Then then, bool confirm = true) {
  auto& pi = *self->state.pi;
  if (!pending(pi) || !pi.psp_reference) return then(true);
  self->request(self->state.gateway, budget(self->state.deadline, gateway_timeout),
                psp_get_atom::value, *pi.psp_reference, self->state.request_id)
      .await(
          [self, then, confirm](psp_intent_outcome& outcome) mutable {
            auto* psp = std::get_if<core::psp_intent>(&outcome);
            // A PSP that tells outcomes by its events only: what they
            // recorded is all the engine can know, but while the shopper may
            // still be paying, an authorisation may be on its way: not
            // current until the PSP's payment window has passed.
            if (auto* f = std::get_if<core::psp_failure>(&outcome);
                f != nullptr && f->kind == core::psp_failure_kind::unsupported) {
              self->state.psp_tells_by_events_only = true;
              return then(payment_window_passed(*self->state.pi));
            }
            if (psp == nullptr) {
              core::log::debug("psp refresh failed",
                               {{"intent_id", self->state.id},
                                {"error", std::get<core::psp_failure>(outcome).message}});
              return then(false);
            }
            auto view = *psp;
            if (confirm && needs_confirming(*self->state.pi, view))
              return confirm_at_psp(self, [self, then](std::optional<core::psp_intent> confirmed,
                                                       std::string error) mutable {
                if (!confirmed) {
                  core::log::warn("confirmation at the PSP failed; retried on the next read",
                                  {{"intent_id", self->state.id}, {"error", error}});
                  return then(false);
                }
                record_read(self, std::move(*confirmed),
                            "the shopper approved; the engine confirmed it at the PSP", then);
              });
            record_read(self, std::move(view), "PSP state read on demand", then);
          },
          [then](caf::error&) mutable { then(false); });
}

/// The refusal of a command by the intent's state: final when the state is
/// known to be current, a retryable 503 when it may be stale (the PSP read
/// of a pending intent failed: the shopper may have paid meanwhile).
core::error refusal(const core::payment_intent& pi, bool fresh, std::string_view action,
                    bool events_only = false) {
  if (!fresh && pending(pi) && events_only)
    return core::make_error(core::errc::psp_unavailable,
                            "The PSP has not told this PaymentIntent's payment outcome yet (it "
                            "tells it by its events, and the shopper may still be paying); "
                            "retry with the same Idempotency-Key.");
  if (!fresh && pending(pi))
    return core::make_error(core::errc::psp_unavailable,
                            "The PSP could not be asked for this PaymentIntent's current "
                            "status; retry with the same Idempotency-Key.");
  return invalid_state(pi, action);
}

/// Records that an operation was admitted, before its PSP call: from here
/// a retry with the same key finishes it instead of deciding afresh.
/// Requests without an Idempotency-Key record nothing.
template <class Then>
void admit_operation(intent_pointer self, storage::idempotency_admission a, Then then,
                     std::function<void(core::error)> fail) {
  if (a.id <= 0) return then();
  self->request(self->state.storage, budget(self->state.deadline, storage_timeout),
                idem_admit_atom::value, std::move(a))
      .await([then](bool) mutable { then(); },
             [fail](caf::error& err) { fail(from_caf_error(err)); });
}

template <class T>
std::function<void(core::error)> failer(caf::typed_response_promise<T> rp) {
  return [rp](core::error e) mutable { rp.deliver(to_caf_error(e)); };
}

/// The PSP's create request for a create command.
core::psp_create_intent create_request(const create_command& cmd) {
  const auto& pi = cmd.intent;
  core::psp_create_intent req;
  req.amount = pi.amount;
  req.currency = pi.currency;
  req.capture = pi.capture;
  req.description = pi.description;
  req.metadata_json = pi.metadata_json;
  req.engine_intent_id = pi.id;
  req.request_id = cmd.request_id;
  req.return_url = cmd.return_url;
  return req;
}

/// A routed create's hooks into create_with_psp (see routed_create below).
struct create_hooks {
  /// Takes a failed PSP call over (true: it fails over; the promise is its).
  std::function<bool(const core::psp_failure&)> failover;
  /// Learns that the intent was written.
  std::function<void(const core::payment_intent&)> created;
  /// Appended to the create's audit cause, e.g. "routed to B: A breaker open".
  std::string note;
};

/// Creates the PSP's intent first and only then the engine's row, with the
/// PSP's reference, in one transaction: a PSP failure or an open breaker
/// writes nothing. The PSP key is derived from the request's Idempotency-Key,
/// so a retry after a crash between the two steps gets the same PSP intent
/// back instead of a second one.
void create_with_psp(intent_pointer self, create_command cmd,
                     caf::typed_response_promise<core::payment_intent> rp,
                     create_hooks hooks = {}) {
  psp_create_request req{create_request(cmd), cmd.psp_key, self->state.deadline};
  self->request(self->state.gateway, budget(self->state.deadline, gateway_timeout),
                psp_create_atom::value, req)
      .await(
          [self, cmd, rp, hooks](psp_intent_outcome& outcome) mutable {
            if (auto* f = std::get_if<core::psp_failure>(&outcome)) {
              if (hooks.failover && hooks.failover(*f)) return;
              rp.deliver(to_caf_error(from_psp_failure(*f)));
              return;
            }
            crash_at("after_psp_create");
            const auto& psp = std::get<core::psp_intent>(outcome);
            auto next = cmd.intent;
            next.status = core::intent_status::created;
            next.version = 0;
            next.created = unix_now_s();
            std::vector<core::audit_event> trail{
                audit("api", "create", std::nullopt, core::intent_status::created,
                      "merchant created the payment intent; PSP intent " + psp.id +
                          (hooks.note.empty() ? "" : "; " + hooks.note))};
            if (!merge_psp_intent(next, psp, trail, "PSP state at creation", *self->state.expiry))
              next.psp_reference = psp.id;
            storage::intent_write w{next,
                                    -1,
                                    std::move(trail),
                                    {},
                                    idem_ref(cmd.idempotency_id),
                                    core::recovery_point::psp_called};
            // The request's answer commits with the intent: no later write
            // of it, and a retry after any crash replays it.
            bool store_answer = cmd.idempotency_id != 0 && cmd.render_answer;
            if (store_answer) {
              w.answer_status = 200;
              w.answer_body = cmd.render_answer(w.intent);  // version 0, as written
            }
            persist_insert(
                self, std::move(w),
                [rp, store_answer, stored = cmd.answer_stored,
                 created = hooks.created](const core::payment_intent& written) mutable {
                  if (store_answer && stored) stored->store(true);
                  rp.deliver(written);
                  if (created) created(written);
                },
                failer(rp));
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

// ---- routing and failover at create --------------------------------------------
//
// A create whose request named no PSP walks the list the merchant's routing
// rules give (core::choose_psps). Before each PSP call the attempt (which
// PSP, which attempt, the whole list, why) is recorded durably
// (routing_attempts), so a retry of the create (same Idempotency-Key, so
// the same intent id) continues at the PSP it last tried, with that
// attempt's PSP key: the PSP answers the intent it already made, never a
// second one. A PSP that cannot be reached before any money moved (breaker
// open, connection, 5xx, timeout: core::failover_reason_of) sends the create
// to the next PSP of the list. A list of one PSP records nothing: it cannot
// fail over, and behaves as a create that named its PSP.

/// Where a routed create stands.
struct routing_walk {
  create_command cmd;                   ///< as the route sent it
  std::vector<std::string> candidates;  ///< the ordered list it walks
  std::size_t pos = 0;                  ///< the PSP being tried
  std::int32_t attempt = 0;             ///< its attempt number (its PSP key)
  std::string reason;                   ///< why this PSP
  /// Earlier attempts that may have made an intent at their PSP.
  std::vector<std::pair<std::int32_t, std::string>> orphans;
  /// PSPs of the list skipped because they are no longer configured (the
  /// audit note says so).
  std::vector<std::string> skipped;
  /// A retry resumed at the PSP an earlier try of this create last called
  /// (and may have made an intent at before it died): if that PSP now fails
  /// in any way, even refusing at once (breaker open), what the earlier try
  /// made there is a possible orphan.
  bool resumed = false;
};

void call_attempt(intent_pointer self, std::shared_ptr<routing_walk> walk,
                  caf::typed_response_promise<core::payment_intent> rp);

/// "breaker_open": a failover reason as a metric label.
std::string label_of(core::failover_reason r) {
  std::string s(core::to_string(r));
  std::replace(s.begin(), s.end(), ' ', '_');
  return s;
}

/// Records the attempt at walk->pos, then calls its PSP.
void record_and_call(intent_pointer self, std::shared_ptr<routing_walk> walk,
                     caf::typed_response_promise<core::payment_intent> rp,
                     bool previous_may_exist) {
  if (walk->candidates.size() == 1 && walk->attempt == 0) return call_attempt(self, walk, rp);
  storage::routing_attempt a{
      walk->cmd.intent.id,         walk->attempt,    walk->cmd.intent.merchant_id,
      walk->candidates[walk->pos], walk->candidates, walk->reason,
      previous_may_exist};
  // What the orphan rescan needs to send this attempt's create again.
  a.psp_key = core::attempt_psp_key(walk->cmd.psp_key, walk->attempt);
  a.request = create_request(walk->cmd);
  self->request(self->state.routing, budget(self->state.deadline, storage_timeout),
                routing_try_atom::value, std::move(a))
      .await([self, walk, rp](bool) mutable { call_attempt(self, walk, rp); },
             [rp](caf::error& err) mutable { rp.deliver(err); });
}

/// Finds and cancels what failed-over attempts may have left at their PSPs,
/// in the background (the create's answer does not wait): cancel_orphan
/// (actors/routing_orphans.hpp) sends the create again with the attempt's
/// PSP key and cancels what the PSP answers. Each outcome is recorded once
/// (routing_orphans); what fails here (the PSP still down, a crash) the
/// orphan rescan (actors/orphan_rescan.hpp) finds and retries.
void cancel_orphans(intent_pointer self, std::shared_ptr<routing_walk> walk) {
  for (const auto& orphan : walk->orphans) {
    const std::int32_t attempt = orphan.first;
    const std::string psp = orphan.second;
    auto it = self->state.gateways.find(psp);
    if (it == self->state.gateways.end()) continue;
    auto routing = self->state.routing;
    auto intent_id = walk->cmd.intent.id;
    cancel_orphan(
        self, it->second, create_request(walk->cmd),
        core::attempt_psp_key(walk->cmd.psp_key, attempt),
        [self, routing, intent_id, attempt, psp](orphan_verdict v) {
          if (v.outcome.empty()) {
            core::log::warn("routing orphan not handled; the orphan rescan retries it",
                            {{"intent_id", intent_id}, {"psp", psp}, {"error", v.error}});
            return;
          }
          core::log::info("routing orphan handled", {{"intent_id", intent_id},
                                                     {"attempt", std::to_string(attempt)},
                                                     {"outcome", v.outcome}});
          self->request(routing, storage_timeout, routing_orphan_atom::value,
                        storage::routing_orphan{intent_id, attempt, std::move(v.outcome),
                                                std::move(v.psp_reference)})
              .then([](bool) {},
                    [intent_id](caf::error& err) {
                      core::log::warn(
                          "routing orphan not recorded; the orphan rescan retries it",
                          {{"intent_id", intent_id}, {"error", from_caf_error(err).message}});
                    });
        });
  }
}

void call_attempt(intent_pointer self, std::shared_ptr<routing_walk> walk,
                  caf::typed_response_promise<core::payment_intent> rp) {
  auto cmd = walk->cmd;
  cmd.intent.psp = walk->candidates[walk->pos];
  cmd.psp_key = core::attempt_psp_key(walk->cmd.psp_key, walk->attempt);
  if (self->state.gateways.count(cmd.intent.psp) == 0) {
    // A retry whose stored list names a PSP no longer configured (the
    // engine restarted without it) goes on to the next one that is, as a
    // failover; the attempt made there may have left an intent (the
    // orphan rescan takes it if the PSP is configured again).
    auto next = walk->pos + 1;
    while (next < walk->candidates.size() &&
           self->state.gateways.count(walk->candidates[next]) == 0)
      ++next;
    if (next >= walk->candidates.size()) {
      rp.deliver(to_caf_error(core::make_error(
          core::errc::psp_unavailable,
          "The PSP '" + cmd.intent.psp + "' this create was routed to is no longer configured.")));
      return;
    }
    core::log::warn("routed create skips a PSP that is no longer configured",
                    {{"intent_id", walk->cmd.intent.id},
                     {"psp", cmd.intent.psp},
                     {"to", walk->candidates[next]}});
    walk->skipped.push_back(cmd.intent.psp);
    walk->resumed = false;
    walk->pos = next;
    ++walk->attempt;
    walk->reason = cmd.intent.psp + " not configured";
    return record_and_call(self, walk, rp, true);
  }
  use_gateway(self->state, cmd.intent.psp);
  create_hooks hooks;
  hooks.note = "routed to " + cmd.intent.psp + ": " + walk->reason;
  for (const auto& gone : walk->skipped) hooks.note += "; " + gone + " skipped: not configured";
  hooks.failover = [self, walk, rp](const core::psp_failure& f) mutable {
    auto why = core::failover_reason_of(f);
    if (why == core::failover_reason::none || walk->pos + 1 >= walk->candidates.size())
      return false;
    const auto from = walk->candidates[walk->pos];
    const auto& to = walk->candidates[walk->pos + 1];
    metrics::engine().routing_failovers.with({from, to, label_of(why)}).inc();
    core::log::warn("create fails over to the next PSP",
                    {{"intent_id", walk->cmd.intent.id},
                     {"psp", from},
                     {"to", to},
                     {"reason", std::string(core::to_string(why))},
                     {"error", f.message}});
    const bool orphan = core::may_have_created(why) || walk->resumed;
    walk->resumed = false;
    if (orphan) walk->orphans.emplace_back(walk->attempt, from);
    ++walk->pos;
    ++walk->attempt;
    walk->reason = from + " " + std::string(core::to_string(why));
    record_and_call(self, walk, rp, orphan);
    return true;
  };
  hooks.created = [self, walk](const core::payment_intent& pi) {
    auto reason = walk->attempt > 0                  ? std::string("failover")
                  : walk->reason.starts_with("rule") ? std::string("rule")
                  : walk->reason == "default list"   ? std::string("default_list")
                                                     : std::string("merchant_default");
    metrics::engine().routing_decisions.with({pi.psp, reason}).inc();
    inspector::record_routing({inspector::unix_ms(), pi.merchant_id, pi.id, pi.psp, walk->attempt,
                               walk->reason, walk->candidates});
    cancel_orphans(self, walk);
  };
  create_with_psp(self, std::move(cmd), rp, std::move(hooks));
}

/// A create the merchant's routing rules place: reads the rules and what an
/// earlier attempt of this create tried, then continues there or starts at
/// the head of the list.
void routed_create(intent_pointer self, create_command cmd,
                   caf::typed_response_promise<core::payment_intent> rp) {
  auto merchant_id = cmd.intent.merchant_id;
  auto intent_id = cmd.intent.id;
  self->request(self->state.routing, budget(self->state.deadline, storage_timeout),
                routing_plan_atom::value, merchant_id, intent_id, cmd.first_attempt)
      .await(
          [self, cmd, rp](storage::routing_plan& plan) mutable {
            auto walk = std::make_shared<routing_walk>();
            walk->cmd = cmd;
            if (!plan.attempts.empty()) {
              // A retry: continue at the PSP last tried, with its PSP key.
              const auto& last = plan.attempts.back();
              walk->candidates = last.candidates;
              auto at = std::find(walk->candidates.begin(), walk->candidates.end(), last.psp);
              if (at == walk->candidates.end()) {
                walk->candidates = {last.psp};
                at = walk->candidates.begin();
              }
              walk->pos = static_cast<std::size_t>(at - walk->candidates.begin());
              walk->attempt = last.attempt;
              walk->reason = last.reason;
              walk->resumed = true;
              for (std::size_t i = 1; i < plan.attempts.size(); ++i)
                if (plan.attempts[i].previous_may_exist)
                  walk->orphans.emplace_back(plan.attempts[i - 1].attempt,
                                             plan.attempts[i - 1].psp);
              return call_attempt(self, walk, rp);
            }
            core::routing_payment p{cmd.intent.amount, cmd.intent.currency,
                                    cmd.payment_method_type};
            auto choice = core::choose_psps(plan.current.rules, p, cmd.intent.id, cmd.intent.psp);
            // A PSP no longer configured (the rules were set before a
            // restart without it) is skipped.
            for (auto& name : choice.psps) {
              if (self->state.gateways.count(name) != 0)
                walk->candidates.push_back(name);
              else
                walk->skipped.push_back(name);
            }
            if (walk->candidates.empty()) walk->candidates = {cmd.intent.psp};
            walk->reason = choice.why;
            record_and_call(self, walk, rp, false);
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

// ---- merchant operations ------------------------------------------------------
//
// Each operation is admitted once: the first attempt checks it against the
// intent (state machine, amounts), records the admission with the request's
// idempotency record (psp_requested), and only then calls the PSP. A retry
// of an admitted operation (cmd.resume) decides nothing: it repeats the PSP
// call with the same PSP idempotency key, which answers what the PSP did,
// and records that. So an operation that happened is answered as done even
// when a webhook recorded it first, and a refusal is only ever a decision
// taken before the PSP was called.

/// A command's answer once its change is committed (after the test crash
/// point between the commit and the stored answer).
auto answer_committed(caf::typed_response_promise<core::payment_intent> rp) {
  return [rp](const core::payment_intent& pi) mutable {
    crash_at("after_commit");
    rp.deliver(pi);
  };
}

/// Records what the PSP did with a capture: done (captured), or accepted
/// to be confirmed later (capture_pending: an asynchronous PSP; its event
/// finishes it). A change another writer (a webhook) already recorded
/// writes nothing and answers the intent as it is.
void record_capture(intent_pointer self, capture_command cmd, std::int64_t asked,
                    core::psp_intent psp, caf::typed_response_promise<core::payment_intent> rp) {
  const bool later = psp.status == core::intent_status::capture_pending;
  const auto event = later ? core::intent_event::capture_requested : core::intent_event::capture;
  change_builder build =
      [cmd, asked, psp, event,
       later](const core::payment_intent& current) -> std::optional<storage::intent_write> {
    auto rule = core::find_transition(current.status, event);
    if (!rule) return std::nullopt;
    auto next = current;
    next.status = rule->to;
    const auto amount = psp.amount_received.value_or(0) > 0 ? *psp.amount_received : asked;
    if (!later) {
      next.amount_capturable = 0;
      next.amount_received = amount;
    }
    const bool partial = asked > 0 && asked < current.amount_capturable;
    std::string cause = later     ? "merchant captured; the PSP confirms the capture later"
                        : partial ? "merchant captured part; the rest of the hold is released"
                                  : "merchant captured the authorisation";
    return storage::intent_write{
        next,
        current.version,
        {audit("api", std::string(core::to_string(event)), current.status, next.status,
               std::move(cause), "{\"amount\":" + std::to_string(amount) + "}")},
        {},
        idem_ref(cmd.idempotency_id),
        core::recovery_point::psp_called};
  };
  persist_change(self, std::move(build), answer_committed(rp), failer(rp));
}

/// What a modification of this intent at its PSP is about.
core::psp_modification modification_of(const core::payment_intent& pi, std::string reference,
                                       std::optional<std::int64_t> amount, std::int64_t available,
                                       const std::string& request_id) {
  core::psp_modification m;
  m.psp_intent_id = pi.psp_reference.value_or("");
  m.engine_reference = std::move(reference);
  m.amount = amount;
  m.amount_available = available;
  m.currency = pi.currency;
  m.request_id = request_id;
  return m;
}

/// Calls the PSP to capture (first attempt or resumed) and records it.
void capture_at_psp(intent_pointer self, capture_command cmd, std::int64_t asked,
                    caf::typed_response_promise<core::payment_intent> rp) {
  const auto& current = *self->state.pi;
  if (!current.psp_reference) {
    rp.deliver(to_caf_error(invalid_state(current, "captured")));
    return;
  }
  psp_modification_request req{
      modification_of(current, current.id, cmd.amount, current.amount_capturable, cmd.request_id),
      cmd.psp_key, self->state.deadline};
  self->request(self->state.gateway, budget(self->state.deadline, gateway_timeout),
                psp_capture_atom::value, req)
      .await(
          [self, cmd, asked, rp](psp_intent_outcome& outcome) mutable {
            if (auto* f = std::get_if<core::psp_failure>(&outcome)) {
              rp.deliver(to_caf_error(from_psp_failure(*f)));
              return;
            }
            crash_at("after_psp_capture");
            record_capture(self, std::move(cmd), asked,
                           std::move(std::get<core::psp_intent>(outcome)), rp);
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

/// A merchant's capture or cancel is for an authorised intent whose last
/// request the PSP has answered: not one the PSP is still confirming.
bool accepts_command(const core::payment_intent& pi, core::intent_event command) {
  return !awaits_psp(pi) && core::transition(pi.status, command).has_value();
}

/// The refusal of a capture or cancel of an authorisation that lapsed: by
/// its deadline, even before the expiry scan recorded it, and before any
/// PSP call. nullopt: not lapsed.
std::optional<core::error> lapsed(const core::payment_intent& pi, std::string_view action) {
  if (!pi.expires_at) return std::nullopt;
  const bool gone = pi.status == core::intent_status::expired ||
                    (pi.status == core::intent_status::authorized &&
                     core::authorization_expired(*pi.expires_at, unix_now_s()));
  if (!gone) return std::nullopt;
  return core::authorization_expired_error(*pi.expires_at, action);
}

void run_capture(intent_pointer self, capture_command cmd,
                 caf::typed_response_promise<core::payment_intent> rp) {
  if (cmd.resume) return capture_at_psp(self, cmd, cmd.amount.value_or(0), rp);
  if (auto e = lapsed(*self->state.pi, "captured")) {
    rp.deliver(to_caf_error(*e));
    return;
  }
  refresh_from_psp(self, [self, cmd, rp](bool fresh) mutable {
    const auto current = *self->state.pi;
    if (!accepts_command(current, core::intent_event::capture)) {
      rp.deliver(
          to_caf_error(refusal(current, fresh, "captured", self->state.psp_tells_by_events_only)));
      return;
    }
    auto amount = cmd.amount.value_or(current.amount_capturable);
    if (amount <= 0 || amount > current.amount_capturable) {
      rp.deliver(to_caf_error(
          core::make_error(core::errc::invalid_request,
                           "amount_to_capture must be between 1 and amount_capturable (" +
                               std::to_string(current.amount_capturable) + ").",
                           "amount_to_capture")));
      return;
    }
    // The amount is fixed at admission, a full capture included: a resumed
    // capture asks the PSP for exactly this again (same PSP key, same
    // request), whatever the intent's capturable amount says by then.
    cmd.amount = amount;
    storage::idempotency_admission a{cmd.idempotency_id, current.id, core::operation_kind::capture,
                                     amount, std::nullopt};
    admit_operation(
        self, std::move(a),
        [self, cmd, amount, rp]() mutable { capture_at_psp(self, cmd, amount, rp); }, failer(rp));
  });
}

/// Records a cancel (at the PSP, or of an intent the PSP never saw), or
/// one the PSP accepted to confirm later (`later`: cancel_pending).
void record_cancel(intent_pointer self, cancel_command cmd, bool later,
                   caf::typed_response_promise<core::payment_intent> rp) {
  const auto event = later ? core::intent_event::cancel_requested : core::intent_event::cancel;
  change_builder build =
      [cmd, event,
       later](const core::payment_intent& current) -> std::optional<storage::intent_write> {
    auto rule = core::find_transition(current.status, event);
    if (!rule) return std::nullopt;
    auto next = current;
    next.status = rule->to;
    if (!later) next.amount_capturable = 0;
    std::string cause = later ? "merchant canceled; the PSP confirms the cancellation later"
                        : current.status == core::intent_status::authorized
                            ? "merchant voided the authorisation"
                            : "merchant canceled the payment intent";
    return storage::intent_write{next,
                                 current.version,
                                 {audit("api", std::string(core::to_string(event)), current.status,
                                        next.status, std::move(cause))},
                                 {},
                                 idem_ref(cmd.idempotency_id),
                                 core::recovery_point::psp_called};
  };
  persist_change(self, std::move(build), answer_committed(rp), failer(rp));
}

void cancel_at_psp(intent_pointer self, cancel_command cmd,
                   caf::typed_response_promise<core::payment_intent> rp) {
  const auto& current = *self->state.pi;
  // Nothing to void at the PSP: no PSP intent, or one at a PSP that holds
  // nothing before the shopper's payment is authorised (whose window has
  // passed, see run_cancel).
  if (!current.psp_reference || (self->state.psp_tells_by_events_only && pending(current)))
    return record_cancel(self, std::move(cmd), false, rp);
  psp_modification_request req{
      modification_of(current, current.id, std::nullopt, current.amount_capturable, cmd.request_id),
      cmd.psp_key, self->state.deadline};
  self->request(self->state.gateway, budget(self->state.deadline, gateway_timeout),
                psp_cancel_atom::value, req)
      .await(
          [self, cmd, rp](psp_intent_outcome& outcome) mutable {
            if (auto* f = std::get_if<core::psp_failure>(&outcome)) {
              rp.deliver(to_caf_error(from_psp_failure(*f)));
              return;
            }
            crash_at("after_psp_cancel");
            bool later =
                std::get<core::psp_intent>(outcome).status == core::intent_status::cancel_pending;
            record_cancel(self, std::move(cmd), later, rp);
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

void run_cancel(intent_pointer self, cancel_command cmd,
                caf::typed_response_promise<core::payment_intent> rp) {
  if (cmd.resume) {
    if (!pending(*self->state.pi)) return cancel_at_psp(self, std::move(cmd), rp);
    // Learns whether the PSP can be read at all (cancel_at_psp needs to).
    return refresh_from_psp(
        self, [self, cmd, rp](bool) mutable { cancel_at_psp(self, std::move(cmd), rp); }, false);
  }
  if (auto e = lapsed(*self->state.pi, "canceled")) {
    rp.deliver(to_caf_error(*e));
    return;
  }
  refresh_from_psp(
      self,
      [self, cmd, rp](bool fresh) mutable {
        const auto current = *self->state.pi;
        if (!accepts_command(current, core::intent_event::cancel)) {
          rp.deliver(to_caf_error(
              refusal(current, fresh, "canceled", self->state.psp_tells_by_events_only)));
          return;
        }
        // While the shopper may still be paying at a PSP that tells outcomes by
        // its events only, a cancel could race an authorisation the engine
        // would not void: not yet.
        if (!fresh && pending(current) && self->state.psp_tells_by_events_only) {
          rp.deliver(to_caf_error(refusal(current, fresh, "canceled", true)));
          return;
        }
        storage::idempotency_admission a{cmd.idempotency_id, current.id,
                                         core::operation_kind::cancel, std::nullopt, std::nullopt};
        admit_operation(
            self, std::move(a), [self, cmd, rp]() mutable { cancel_at_psp(self, cmd, rp); },
            failer(rp));
      },
      false);
}

/// Records a refund the PSP made. One the books already hold under the
/// PSP's id (a webhook booked it first) is answered as it is.
void record_refund(intent_pointer self, refund_command cmd, std::int64_t amount,
                   core::psp_refund psp, caf::typed_response_promise<refund_result> rp) {
  self->request(self->state.storage, budget(self->state.deadline, storage_timeout),
                refund_ref_atom::value, psp.id)
      .await(
          [self, cmd, amount, psp, rp](optional_refund& known) mutable {
            if (known) {
              rp.deliver(refund_result{*known, *self->state.pi});
              return;
            }
            core::refund rf;
            rf.id = cmd.refund_id;
            rf.merchant_id = self->state.pi->merchant_id;
            rf.intent_id = self->state.pi->id;
            rf.amount = psp.amount > 0 ? psp.amount : amount;
            rf.currency = self->state.pi->currency;
            rf.status = core::to_string(psp.status.value_or(core::refund_status::pending));
            rf.reason = cmd.reason;
            rf.psp_reference = psp.id;
            rf.created = unix_now_s();
            auto written = std::make_shared<bool>(false);
            change_builder build =
                [cmd, rf, written](
                    const core::payment_intent& current) -> std::optional<storage::intent_write> {
              if (!moved_money(rf.status)) {
                // The PSP refused the refund outright: recorded, no money moves.
                *written = true;
                storage::intent_write w{
                    current,
                    current.version,
                    {audit("api", "refund_refused", current.status, current.status,
                           "the PSP answered refund " + rf.psp_reference.value_or("") + " " +
                               rf.status + "; nothing was refunded",
                           "{\"refund\":\"" + rf.id + "\",\"amount\":" + std::to_string(rf.amount) +
                               "}")},
                    rf,
                    idem_ref(cmd.idempotency_id),
                    core::recovery_point::psp_called};
                w.touch_intent = false;
                return w;
              }
              auto next = current;
              next.amount_refunded = current.amount_refunded + rf.amount;
              if (next.amount_refunded > next.amount_received) return std::nullopt;
              auto event = next.amount_refunded == next.amount_received
                               ? core::intent_event::refund_full
                               : core::intent_event::refund_partial;
              auto rule = core::find_transition(current.status, event);
              if (!rule) return std::nullopt;
              next.status = rule->to;
              *written = true;
              return storage::intent_write{
                  next,
                  current.version,
                  {audit("api", std::string(core::to_string(event)), current.status, next.status,
                         std::string(rule->cause),
                         "{\"refund\":\"" + rf.id + "\",\"amount\":" + std::to_string(rf.amount) +
                             "}")},
                  rf,
                  idem_ref(cmd.idempotency_id),
                  core::recovery_point::psp_called};
            };
            persist_change(
                self, std::move(build),
                [rp, rf, written](const core::payment_intent& pi) mutable {
                  if (!*written) {
                    // The PSP made a refund the intent has no room for: the
                    // books must not claim it. Retryable: the webhook worker
                    // meets the same refund and dead-letters it for a person.
                    rp.deliver(to_caf_error(core::make_error(
                        core::errc::version_conflict,
                        "The PSP refunded " + rf.psp_reference.value_or("") +
                            " but the intent no longer has room for it; retry later.")));
                    return;
                  }
                  crash_at("after_commit");
                  rp.deliver(refund_result{rf, pi});
                },
                failer(rp));
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

void refund_at_psp(intent_pointer self, refund_command cmd, std::int64_t amount,
                   caf::typed_response_promise<refund_result> rp) {
  const auto& current = *self->state.pi;
  if (!current.psp_reference) {
    rp.deliver(to_caf_error(invalid_state(current, "refunded")));
    return;
  }
  auto m = modification_of(current, cmd.refund_id, amount,
                           current.amount_received - current.amount_refunded, cmd.request_id);
  m.reason = cmd.reason;
  psp_modification_request req{std::move(m), cmd.psp_key, self->state.deadline};
  self->request(self->state.gateway, budget(self->state.deadline, gateway_timeout),
                psp_refund_atom::value, req)
      .await(
          [self, cmd, amount, rp](psp_refund_outcome& outcome) mutable {
            if (auto* f = std::get_if<core::psp_failure>(&outcome)) {
              rp.deliver(to_caf_error(from_psp_failure(*f)));
              return;
            }
            crash_at("after_psp_refund");
            record_refund(self, std::move(cmd), amount, std::get<core::psp_refund>(outcome), rp);
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

void run_refund(intent_pointer self, refund_command cmd,
                caf::typed_response_promise<refund_result> rp) {
  const auto current = *self->state.pi;
  if (cmd.resume && cmd.amount) return refund_at_psp(self, cmd, *cmd.amount, rp);
  if (!core::transition(current.status, core::intent_event::refund_partial)) {
    rp.deliver(to_caf_error(invalid_state(current, "refunded")));
    return;
  }
  auto remaining = current.amount_received - current.amount_refunded;
  auto amount = cmd.amount.value_or(remaining);
  if (amount <= 0 || amount > remaining) {
    rp.deliver(to_caf_error(core::make_error(
        core::errc::invalid_request,
        "amount must be between 1 and what remains refundable (" + std::to_string(remaining) + ").",
        "amount")));
    return;
  }
  // The resolved amount is recorded: a retry asks the PSP for exactly this.
  storage::idempotency_admission a{cmd.idempotency_id, current.id, core::operation_kind::refund,
                                   amount, cmd.refund_id};
  admit_operation(
      self, std::move(a),
      [self, cmd, amount, rp]() mutable { refund_at_psp(self, cmd, amount, rp); }, failer(rp));
}

// ---- expiry ---------------------------------------------------------------------
//
// The expiry scan tells the actor an authorisation's deadline passed. The
// actor reads the intent at the PSP; while the PSP still holds the funds it
// cancels there (key "expire:<id>", so repeats never act twice) so the hold
// is really released; then authorized -> expired once, with the hold's
// release booked in the same write. The PSP's own expiry event (an
// automatic cancel or an expiry notification) leads to the same transition through
// `apply`; whichever comes first wins and the other finds nothing to do.

/// Records authorized -> expired; answers expired, or not_authorized when
/// the intent is no longer authorized.
void record_expiry(intent_pointer self, std::string cause,
                   caf::typed_response_promise<core::expiry_result> rp) {
  auto written = std::make_shared<bool>(false);
  change_builder build =
      [cause,
       written](const core::payment_intent& current) -> std::optional<storage::intent_write> {
    auto rule = core::find_transition(current.status, core::intent_event::expire);
    if (!rule) return std::nullopt;
    auto next = current;
    next.status = rule->to;
    next.amount_capturable = 0;
    *written = true;
    return storage::intent_write{
        next,
        current.version,
        {audit("scheduler", "expire", current.status, next.status,
               std::string(rule->cause) + ": " + cause,
               "{\"expires_at\":" +
                   (current.expires_at ? std::to_string(*current.expires_at) : "null") + "}")},
        {},
        {},
        {}};
  };
  persist_change(
      self, std::move(build),
      [rp, written](const core::payment_intent&) mutable {
        rp.deliver(*written ? core::expiry_result::expired : core::expiry_result::not_authorized);
      },
      failer(rp));
}

/// Cancels the lapsed authorisation at its PSP, then records the expiry. A
/// PSP that refuses the cancel (it no longer holds the authorisation) is
/// recorded as expired too: the deadline passed either way.
void cancel_for_expiry(intent_pointer self, caf::typed_response_promise<core::expiry_result> rp) {
  const auto& current = *self->state.pi;
  psp_modification_request req{
      modification_of(current, current.id, std::nullopt, current.amount_capturable, {}),
      "expire:" + current.id};
  self->request(self->state.gateway, gateway_timeout, psp_cancel_atom::value, req)
      .await(
          [self, rp](psp_intent_outcome& outcome) mutable {
            if (auto* f = std::get_if<core::psp_failure>(&outcome)) {
              if (f->kind == core::psp_failure_kind::retryable) {
                // The next scan tries again.
                rp.deliver(to_caf_error(from_psp_failure(*f)));
                return;
              }
              return record_expiry(self, "the PSP refused the void (" + f->message + ")", rp);
            }
            record_expiry(self, "voided at the PSP", rp);
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

void run_expire(intent_pointer self, caf::typed_response_promise<core::expiry_result> rp) {
  const auto& current = *self->state.pi;
  if (current.status != core::intent_status::authorized) {
    rp.deliver(core::expiry_result::not_authorized);
    return;
  }
  if (!current.expires_at || !core::authorization_expired(*current.expires_at, unix_now_s())) {
    rp.deliver(core::expiry_result::not_due);
    return;
  }
  if (!current.psp_reference) return record_expiry(self, "the PSP never held it", rp);
  self->request(self->state.gateway, gateway_timeout, psp_get_atom::value, *current.psp_reference,
                std::string{})
      .await(
          [self, rp](psp_intent_outcome& outcome) mutable {
            if (auto* f = std::get_if<core::psp_failure>(&outcome)) {
              // A PSP without a read by id is voided directly.
              if (f->kind == core::psp_failure_kind::unsupported)
                return cancel_for_expiry(self, rp);
              rp.deliver(to_caf_error(from_psp_failure(*f)));
              return;
            }
            auto view = std::get<core::psp_intent>(std::move(outcome));
            switch (view.status) {
              case core::intent_status::authorized:
                return cancel_for_expiry(self, rp);
              case core::intent_status::canceled:
              case core::intent_status::expired:
                return record_expiry(self, "the PSP no longer holds it (" + view.psp_status + ")",
                                     rp);
              case core::intent_status::created:
              case core::intent_status::requires_action:
              case core::intent_status::processing:
              case core::intent_status::capture_pending:
              case core::intent_status::cancel_pending:
              case core::intent_status::captured:
              case core::intent_status::partially_refunded:
              case core::intent_status::refunded:
                break;
            }
            // The PSP knows of a later step (a capture the engine missed):
            // that is recorded instead, never an expiry over it.
            change_builder build =
                [self, view](
                    const core::payment_intent& current) -> std::optional<storage::intent_write> {
              auto next = current;
              std::vector<core::audit_event> trail;
              if (!merge_psp_intent(next, view, trail, "PSP state read at expiry",
                                    *self->state.expiry) ||
                  same_view(next, current))
                return std::nullopt;
              return storage::intent_write{next, current.version, std::move(trail), {}, {}, {}};
            };
            persist_change(
                self, std::move(build),
                [rp](const core::payment_intent& pi) mutable {
                  core::log::info(
                      "authorization expiry superseded by the PSP's state",
                      {{"intent_id", pi.id}, {"status", std::string(core::to_string(pi.status))}});
                  rp.deliver(core::expiry_result::superseded);
                },
                failer(rp));
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

/// Applies one PSP event's news (`confirmed`: what the engine did about it
/// first, for the audit text) with the inbox mark in the same write.
void apply_news(intent_pointer self, apply_command cmd,
                caf::typed_response_promise<core::inbox_outcome> rp, const std::string& confirmed) {
  auto outcome = std::make_shared<core::inbox_outcome>(core::inbox_outcome::applied);
  auto cause = "PSP event " + cmd.event_type + " " + cmd.event_id + confirmed;
  change_builder build =
      [cmd, cause, outcome, expiry = self->state.expiry](
          const core::payment_intent& current) -> std::optional<storage::intent_write> {
    auto next = current;
    std::vector<core::audit_event> trail;
    bool forward = merge_psp_intent(next, news_for(current, cmd), trail, cause, *expiry);
    for (auto& a : trail) a.actor = "webhook";
    if (forward && !same_view(next, current)) {
      *outcome = core::inbox_outcome::applied;
      storage::intent_write w{next, current.version, std::move(trail), {}, {}, {}};
      w.inbox_id = cmd.inbox_id;
      w.inbox_outcome = *outcome;
      w.reverses_capture = current.status == core::intent_status::captured &&
                           next.status == core::intent_status::authorized;
      return w;
    }
    // Stale news (behind our status) or nothing new: recorded as
    // ignored, never applied backwards.
    *outcome =
        forward ? core::inbox_outcome::ignored_no_change : core::inbox_outcome::ignored_stale;
    auto reason = forward ? "the intent already reflects it"
                          : "the PSP status " + cmd.view.psp_status + " is behind " +
                                std::string(core::to_string(current.status));
    storage::intent_write w{
        current,
        current.version,
        {audit("webhook", "ignored", current.status, std::nullopt, cause + ": " + reason,
               "{\"event\":" + core::log_json_string(cmd.event_id) +
                   ",\"psp_status\":" + core::log_json_string(cmd.view.psp_status) + "}")},
        {},
        {},
        {}};
    w.inbox_id = cmd.inbox_id;
    w.inbox_outcome = *outcome;
    w.touch_intent = false;
    return w;
  };
  persist_change(
      self, std::move(build),
      [rp, outcome](const core::payment_intent&) mutable { rp.deliver(*outcome); }, failer(rp));
}

/// How long the actor may stay idle: short while it holds no intent.
milliseconds idle_limit(const intent_state& st) {
  return milliseconds(st.pi ? st.idle_ms : std::min(st.idle_ms, st.miss_idle_ms));
}

intent_actor::behavior_type intent_behavior(
    intent_pointer self, std::string id, storage_actor storage, gateway_set gateways,
    std::int64_t idle_ms, std::int64_t miss_idle_ms,
    std::shared_ptr<const core::authorization_expiry_policy> expiry, bool known_new) {
  auto& st = self->state;
  st.expiry =
      expiry ? std::move(expiry) : std::make_shared<const core::authorization_expiry_policy>();
  st.id = std::move(id);
  st.storage = storage;
  st.routing = std::move(storage);
  st.gateways = std::move(gateways);
  st.idle_ms = idle_ms;
  st.miss_idle_ms = miss_idle_ms;
  st.probe.enroll(inspector::kind::payment_intent, st.id);
  // Hydrate before anything else: await holds every other message back. An
  // intent being created has no row yet (the router knows): no read.
  if (known_new)
    st.probe.set_state("new");
  else
    st.probe.set_state("hydrating");
  if (!known_new)
    self->request(st.storage, storage_timeout, load_atom::value, st.id)
        .await(
            [self](core::payment_intent& pi) {
              use_gateway(self->state, pi.psp);
              self->state.pi = std::move(pi);
              publish(self);
            },
            [self](caf::error& err) {
              auto e = from_caf_error(err);
              self->state.probe.set_state(e.code == core::errc::not_found ? "new" : "load_failed");
              if (e.code != core::errc::not_found) self->state.load_error = e;
            });
  // The first idle check comes after the shorter limit (no intent is held
  // yet); from then on one check is pending at a time.
  self->delayed_send(self, idle_limit(st), idle_atom::value);

  // Common entry of every message: activity, and a failed hydration (the
  // actor stops, so the next message hydrates a fresh one).
  auto entered = [self]() -> std::optional<core::error> {
    self->state.probe.on_message(self);
    self->state.last_active = clock_type::now();
    if (auto e = self->state.load_error) {
      self->quit();
      return e;
    }
    return std::nullopt;
  };
  // ... for messages about an intent that must exist (PSP events, polls).
  auto entered_existing = [self, entered]() -> std::optional<core::error> {
    if (auto e = entered()) return e;
    if (!self->state.pi)
      return core::make_error(core::errc::not_found,
                              "The engine has no intent '" + self->state.id + "' yet.");
    return std::nullopt;
  };
  // ... for a merchant's command: the intent must exist and be theirs.
  auto admit = [self, entered](const std::string& merchant_id) -> std::optional<core::error> {
    if (auto e = entered()) return e;
    if (!self->state.pi || self->state.pi->merchant_id != merchant_id)
      return core::make_error(core::errc::not_found,
                              "No such payment_intent: '" + self->state.id + "'");
    return std::nullopt;
  };

  return {
      [self, entered](create_atom,
                      create_command& cmd) -> caf::typed_response_promise<core::payment_intent> {
        self->state.request_id = cmd.request_id;
        self->state.deadline = cmd.deadline;
        auto rp = self->make_response_promise<core::payment_intent>();
        if (auto e = entered()) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        if (self->state.pi) {
          // The row exists, so the PSP's intent does too: a resumed create.
          if (self->state.pi->merchant_id == cmd.intent.merchant_id)
            rp.deliver(*self->state.pi);
          else
            rp.deliver(to_caf_error(core::make_error(core::errc::internal, "intent id clash")));
          return rp;
        }
        if (cmd.routed) {
          routed_create(self, std::move(cmd), rp);
          return rp;
        }
        if (!use_gateway(self->state, cmd.intent.psp)) {
          rp.deliver(to_caf_error(
              core::make_error(core::errc::invalid_request,
                               "No PSP named '" + cmd.intent.psp + "' is configured.", "psp")));
          return rp;
        }
        create_with_psp(self, std::move(cmd), rp);
        return rp;
      },

      [self, admit](capture_atom,
                    capture_command& cmd) -> caf::typed_response_promise<core::payment_intent> {
        self->state.request_id = cmd.request_id;
        self->state.deadline = cmd.deadline;
        auto rp = self->make_response_promise<core::payment_intent>();
        if (auto e = admit(cmd.merchant_id)) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        run_capture(self, std::move(cmd), rp);
        return rp;
      },

      [self, admit](cancel_atom,
                    cancel_command& cmd) -> caf::typed_response_promise<core::payment_intent> {
        self->state.request_id = cmd.request_id;
        self->state.deadline = cmd.deadline;
        auto rp = self->make_response_promise<core::payment_intent>();
        if (auto e = admit(cmd.merchant_id)) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        run_cancel(self, std::move(cmd), rp);
        return rp;
      },

      [self, admit](refund_atom,
                    refund_command& cmd) -> caf::typed_response_promise<refund_result> {
        self->state.request_id = cmd.request_id;
        self->state.deadline = cmd.deadline;
        auto rp = self->make_response_promise<refund_result>();
        if (auto e = admit(cmd.merchant_id)) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        run_refund(self, std::move(cmd), rp);
        return rp;
      },

      [self, admit](get_atom,
                    get_command& cmd) -> caf::typed_response_promise<core::payment_intent> {
        self->state.request_id = cmd.request_id;
        self->state.deadline = cmd.deadline;
        auto rp = self->make_response_promise<core::payment_intent>();
        if (auto e = admit(cmd.merchant_id)) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        refresh_from_psp(self, [self, rp](bool) mutable { rp.deliver(*self->state.pi); });
        return rp;
      },

      [self, entered_existing](
          apply_atom, apply_command& cmd) -> caf::typed_response_promise<core::inbox_outcome> {
        self->state.request_id.clear();
        self->state.deadline = {};
        auto rp = self->make_response_promise<core::inbox_outcome>();
        if (auto e = entered_existing()) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        // The shopper approved at a PSP that waits for the merchant's
        // server (PayPal): confirm first, then record what the PSP answered
        // as this event's news. A failure leaves the event in the inbox; its
        // retry confirms again with the same PSP key.
        if (needs_confirming(*self->state.pi, cmd.view)) {
          confirm_at_psp(self, [self, cmd, rp](std::optional<core::psp_intent> confirmed,
                                               std::string error) mutable {
            if (!confirmed) {
              rp.deliver(to_caf_error(core::make_error(
                  core::errc::psp_unavailable,
                  "The approved payment could not be confirmed at the PSP: " + error)));
              return;
            }
            cmd.view = std::move(*confirmed);
            apply_news(self, std::move(cmd), rp,
                       "; the shopper approved and the engine confirmed it at the PSP");
          });
          return rp;
        }
        apply_news(self, std::move(cmd), rp, "");
        return rp;
      },

      [self, entered_existing](apply_refund_atom, apply_refund_command& cmd)
          -> caf::typed_response_promise<core::inbox_outcome> {
        self->state.request_id.clear();
        self->state.deadline = {};
        auto rp = self->make_response_promise<core::inbox_outcome>();
        if (auto e = entered_existing()) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        // Looked up here, inside the actor: an API refund of this intent in
        // flight has finished writing by now, so its row is found.
        self->request(self->state.storage, budget(self->state.deadline, storage_timeout),
                      refund_ref_atom::value, cmd.view.id)
            .await(
                [self, cmd, rp](optional_refund& known) mutable {
                  const auto& current = *self->state.pi;
                  const auto& view = cmd.view;
                  bool moves_money = view.status == core::refund_status::succeeded ||
                                     view.status == core::refund_status::pending;
                  if (!known && moves_money) {
                    // A refund made at the PSP directly must fit what the
                    // intent can still refund, or the books disagree with the
                    // PSP and the event goes to the dead letters.
                    auto remaining = current.amount_received - current.amount_refunded;
                    if (view.amount <= 0 || view.amount > remaining ||
                        !core::transition(current.status, core::intent_event::refund_partial)) {
                      rp.deliver(to_caf_error(core::make_error(
                          core::errc::invalid_state,
                          "PSP refund " + view.id + " of " + std::to_string(view.amount) +
                              " does not fit the intent (" +
                              std::string(core::to_string(current.status)) + ", " +
                              std::to_string(remaining) + " refundable).")));
                      return;
                    }
                  }
                  // Empty while the change builds nothing: the refund no longer fits.
                  auto outcome = std::make_shared<std::optional<core::inbox_outcome>>();
                  auto cause = "PSP event " + cmd.event_type + " " + cmd.event_id;
                  change_builder build = [cmd, known, moves_money, cause,
                                          outcome](const core::payment_intent& current)
                      -> std::optional<storage::intent_write> {
                    const auto& view = cmd.view;
                    storage::intent_write w{current, current.version, {}, {}, {}, {}};
                    w.inbox_id = cmd.inbox_id;
                    w.touch_intent = false;
                    auto ignored = [&](const std::string& why) {
                      *outcome = core::inbox_outcome::ignored_no_change;
                      w.audit.push_back(audit("webhook", "ignored", current.status, std::nullopt,
                                              cause + ": " + why));
                      w.inbox_outcome = **outcome;
                      return w;
                    };
                    if (known) {
                      if (!view.status || core::to_string(*view.status) == known->status)
                        return ignored("refund " + known->id + " already recorded");
                      if (moved_money(known->status) &&
                          !moved_money(core::to_string(*view.status))) {
                        auto r = reverse_refund(w, *known, *view.status, cause);
                        if (r) {
                          *outcome = core::inbox_outcome::applied;
                          r->inbox_outcome = **outcome;
                        }
                        return r;
                      }
                      if (!moved_money(known->status))
                        return ignored("refund " + known->id + " is already " + known->status);
                      // A status change of a booked refund (pending to
                      // succeeded) is recorded on its row.
                      auto rf = *known;
                      rf.status = core::to_string(*view.status);
                      w.refund = rf;
                      *outcome = core::inbox_outcome::applied;
                      w.audit.push_back(audit("webhook", "refund_status", current.status,
                                              current.status,
                                              cause + ": refund " + rf.id + " is " + rf.status));
                      w.inbox_outcome = **outcome;
                      return w;
                    }
                    if (!moves_money) return ignored("refund " + view.id + " moved no money");
                    auto next = current;
                    next.amount_refunded = current.amount_refunded + view.amount;
                    if (next.amount_refunded > next.amount_received) return std::nullopt;
                    auto event = next.amount_refunded == next.amount_received
                                     ? core::intent_event::refund_full
                                     : core::intent_event::refund_partial;
                    auto rule = core::find_transition(current.status, event);
                    if (!rule) return std::nullopt;
                    next.status = rule->to;
                    core::refund rf;
                    rf.id = core::make_id(core::id_prefix::refund);
                    rf.merchant_id = current.merchant_id;
                    rf.intent_id = current.id;
                    rf.amount = view.amount;
                    rf.currency = current.currency;
                    rf.status = core::to_string(view.status.value_or(core::refund_status::pending));
                    rf.psp_reference = view.id;
                    rf.created = unix_now_s();
                    w.intent = next;
                    w.touch_intent = true;
                    w.refund = rf;
                    w.audit.push_back(audit(
                        "webhook", std::string(core::to_string(event)), current.status, next.status,
                        cause + ": refund " + view.id + " made at the PSP; " +
                            std::string(rule->cause),
                        "{\"refund\":\"" + rf.id + "\",\"amount\":" + std::to_string(rf.amount) +
                            "}"));
                    *outcome = core::inbox_outcome::applied;
                    w.inbox_outcome = **outcome;
                    return w;
                  };
                  persist_change(
                      self, std::move(build),
                      [rp, outcome](const core::payment_intent&) mutable {
                        if (!*outcome) {
                          rp.deliver(to_caf_error(core::make_error(
                              core::errc::invalid_state, "The refund no longer fits the intent.")));
                          return;
                        }
                        rp.deliver(**outcome);
                      },
                      failer(rp));
                },
                [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },

      [self, entered_existing](
          refresh_atom, const std::string&) -> caf::typed_response_promise<core::payment_intent> {
        self->state.request_id.clear();
        self->state.deadline = {};
        auto rp = self->make_response_promise<core::payment_intent>();
        if (auto e = entered_existing()) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        refresh_from_psp(self, [self, rp](bool) mutable { rp.deliver(*self->state.pi); });
        return rp;
      },

      [self, entered_existing](
          expire_atom, const std::string&) -> caf::typed_response_promise<core::expiry_result> {
        self->state.request_id.clear();
        self->state.deadline = {};
        auto rp = self->make_response_promise<core::expiry_result>();
        if (auto e = entered_existing()) {
          rp.deliver(to_caf_error(*e));
          return rp;
        }
        run_expire(self, rp);
        return rp;
      },

      [self](idle_atom) {
        self->state.probe.on_message(self);
        auto idle_for = clock_type::now() - self->state.last_active;
        auto limit = idle_limit(self->state);
        if (idle_for >= limit) return self->quit();
        self->delayed_send(self, std::chrono::duration_cast<milliseconds>(limit - idle_for),
                           idle_atom::value);
      },

      // Commands run to their end before the next message is taken (await),
      // so this arrives between commands: nothing is half done.
      [self](passivate_atom) {
        self->state.probe.on_message(self);
        self->quit();
      },
  };
}

}  // namespace

intent_actor spawn_intent_actor(caf::actor_system& sys, std::string id, storage_actor storage,
                                gateway_set gateways, std::int64_t idle_ms,
                                std::int64_t miss_idle_ms,
                                std::shared_ptr<const core::authorization_expiry_policy> expiry,
                                bool known_new) {
  return sys.spawn(intent_behavior, std::move(id), std::move(storage), std::move(gateways), idle_ms,
                   miss_idle_ms, std::move(expiry), known_new);
}

}  // namespace pay::actors
