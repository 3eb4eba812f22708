#pragma once

/// Finding and canceling one routing orphan: what an earlier attempt of a
/// failed-over create may have left at its PSP. Shared by the intent actor
/// (in the background, right after the create answered) and the orphan
/// rescan (actors/orphan_rescan.hpp: what the first missed, after a crash
/// or while the PSP was down). Heavy (CAF): include it only from those two.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <caf/typed_event_based_actor.hpp>

#include "actors/errors.hpp"
#include "actors/interfaces.hpp"
#include "core/limits.hpp"

namespace pay::actors {

/// What one pass over an orphan found.
struct orphan_verdict {
  /// "canceled" (found at its PSP and canceled), "expires" (found, but the
  /// PSP refuses the cancel: a checkout session lapses by itself), or empty:
  /// a retryable failure (PSP down, breaker open, timeout), try again later.
  std::string outcome;
  std::optional<std::string> psp_reference;
  std::string error;  ///< the retryable failure, when outcome is empty
};

/// Sends the create of an orphaned attempt again (`req` and the attempt's
/// PSP key `key`, so the PSP answers the intent it made then instead of a
/// new one) and cancels what it answers (key `key + "-cancel"`); `done`
/// learns the verdict on `self`'s thread. In the background: no request
/// deadline, each call gets the gateway's own timeout.
template <class SelfPointer>
void cancel_orphan(SelfPointer self, gateway_actor gateway, core::psp_create_intent req,
                   std::string key, std::function<void(orphan_verdict)> done) {
  const auto timeout = std::chrono::milliseconds(2 * core::limits::psp_call_timeout_ms);
  auto retry_later = [done](std::string what) { done(orphan_verdict{{}, std::nullopt, what}); };
  self->request(gateway, timeout, psp_create_atom::value, psp_create_request{req, key, {}})
      .then(
          [self, gateway, key, req, done, retry_later, timeout](psp_intent_outcome& outcome) {
            auto* found = std::get_if<core::psp_intent>(&outcome);
            if (found == nullptr) return retry_later(std::get<core::psp_failure>(outcome).message);
            psp_modification_request cancel;
            cancel.modification.psp_intent_id = found->id;
            cancel.modification.engine_reference = req.engine_intent_id;
            cancel.modification.amount_available = req.amount;
            cancel.modification.currency = req.currency;
            cancel.idempotency_key = key + "-cancel";
            auto ref = found->id;
            self->request(gateway, timeout, psp_cancel_atom::value, cancel)
                .then(
                    [done, retry_later, ref](psp_intent_outcome& answer) {
                      auto* f = std::get_if<core::psp_failure>(&answer);
                      if (f == nullptr) return done(orphan_verdict{"canceled", ref, {}});
                      if (f->kind == core::psp_failure_kind::retryable)
                        return retry_later(f->message);
                      done(orphan_verdict{"expires", ref, {}});
                    },
                    [retry_later](caf::error& err) { retry_later(from_caf_error(err).message); });
          },
          [retry_later](caf::error& err) { retry_later(from_caf_error(err).message); });
}

}  // namespace pay::actors
