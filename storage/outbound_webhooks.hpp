#pragma once

/// Outbound webhooks in PostgreSQL (migration 0009): merchants' endpoints and
/// their secrets, the event outbox, and deliveries with their attempts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/outbound_events.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

// ---- the outbox, written inside the intent write --------------------------------------

/// Appends `events` and one pending delivery per enabled endpoint of the
/// merchant that subscribes to each, on `tx` (inside the caller's
/// transaction). An event whose dedupe key the merchant already has is
/// skipped, with its deliveries.
std::optional<db_error> append_outbound_events(pg_connection& tx,
                                               const std::vector<core::outbound_event>& events);

// ---- endpoints -----------------------------------------------------------------------

/// One registered endpoint as the API shows it.
struct webhook_endpoint {
  std::string id;  ///< we_...
  std::string merchant_id;
  std::string url;
  std::optional<std::string> description;
  std::vector<std::string> enabled_events;
  std::string status = "enabled";              ///< enabled, disabled
  std::optional<std::string> disabled_reason;  ///< merchant, failing
  bool deleted = false;
  std::int64_t created = 0;  ///< unix seconds
  /// Only in the answers of create and of a secret roll: the new secret.
  std::optional<std::string> secret;
  /// When the previous secret stops signing (after a roll), unix seconds.
  std::optional<std::int64_t> previous_secret_expires;
};

struct endpoint_page {
  std::vector<webhook_endpoint> data;
  bool has_more = false;
};

/// What a create or an update sets.
struct endpoint_fields {
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> enabled_events;
  std::optional<std::string> description;
  std::optional<bool> enabled;  ///< update only: turn on or off
};

/// Registers an endpoint with a fresh secret (answered once, in `secret`).
/// More than core::limits::webhook_endpoints_per_merchant_max live
/// endpoints is limit_exceeded.
core::result<webhook_endpoint> create_endpoint(pg_connection& conn, const std::string& merchant_id,
                                               const endpoint_fields& f);

core::result<endpoint_page> list_endpoints(pg_connection& conn, const std::string& merchant_id,
                                           std::size_t limit,
                                           const std::optional<std::string>& starting_after);

/// One of the merchant's live endpoints; another merchant's or a deleted one
/// is not_found.
core::result<webhook_endpoint> find_endpoint(pg_connection& conn, const std::string& merchant_id,
                                             const std::string& id);

/// Changes url, events, description or status. Enabling an endpoint the
/// engine disabled for failing clears its failure clock.
core::result<webhook_endpoint> update_endpoint(pg_connection& conn, const std::string& merchant_id,
                                               const std::string& id, const endpoint_fields& f);

/// Deletes an endpoint: it gets nothing more; its history is kept.
core::result<webhook_endpoint> delete_endpoint(pg_connection& conn, const std::string& merchant_id,
                                               const std::string& id);

/// Rolls the secret: a new one (answered once) signs from now on, the
/// current one keeps signing beside it for `overlap_s` seconds, and any
/// older one stops at once.
core::result<webhook_endpoint> roll_endpoint_secret(pg_connection& conn,
                                                    const std::string& merchant_id,
                                                    const std::string& id, std::int64_t overlap_s);

// ---- events and deliveries, for the merchant ------------------------------------------

/// One outbox event.
struct stored_event {
  std::string id;
  std::string type;
  std::string object_id;
  std::int64_t object_version = 0;
  std::string payload_json;
  std::int64_t created = 0;
};

struct event_page {
  std::vector<stored_event> data;
  bool has_more = false;
};

/// The merchant's events, newest first, after `starting_after` (an event id
/// of that merchant's), optionally of one type.
core::result<event_page> list_events(pg_connection& conn, const std::string& merchant_id,
                                     std::size_t limit,
                                     const std::optional<std::string>& starting_after,
                                     const std::optional<std::string>& type);

core::result<stored_event> find_event(pg_connection& conn, const std::string& merchant_id,
                                      const std::string& id);

/// One attempt of a delivery.
struct delivery_attempt {
  std::int64_t attempt = 0;
  std::optional<std::int64_t> status;  ///< the receiver's HTTP status; none: no answer
  std::optional<std::string> error;
  std::int64_t latency_ms = 0;
  std::int64_t at_ms = 0;
};

/// One delivery (event x endpoint) with its recent attempts, newest first.
struct delivery_view {
  std::int64_t id = 0;
  std::string event_id;
  std::string event_type;
  std::string endpoint_id;
  std::string state;  ///< pending, delivered, dead
  std::int64_t attempts = 0;
  std::optional<std::int64_t> last_status;
  std::optional<std::int64_t> last_latency_ms;
  std::optional<std::string> last_error;
  std::optional<std::int64_t> next_attempt_ms;  ///< pending only
  std::int64_t created_ms = 0;
  std::vector<delivery_attempt> attempt_history;
};

struct delivery_page {
  std::vector<delivery_view> data;
  bool has_more = false;
};

/// An endpoint's deliveries, newest first, after `starting_after` (a
/// delivery id), each with its last attempts.
core::result<delivery_page> list_deliveries(pg_connection& conn, const std::string& merchant_id,
                                            const std::string& endpoint_id, std::size_t limit,
                                            std::optional<std::int64_t> starting_after);

/// Sends an event again: its deliveries to the merchant's live endpoints
/// (or to `endpoint_id` only) become pending and due now, with a fresh retry
/// window; an enabled endpoint subscribed to it that never had it gets it
/// too. Answers how many deliveries were scheduled.
core::result<std::int64_t> replay_event(pg_connection& conn, const std::string& merchant_id,
                                        const std::string& event_id,
                                        const std::optional<std::string>& endpoint_id);

/// Sends again every dead-lettered delivery of the endpoint whose event is
/// from `since_s` on. Answers how many.
core::result<std::int64_t> replay_failed(pg_connection& conn, const std::string& merchant_id,
                                         const std::string& endpoint_id, std::int64_t since_s);

// ---- the delivery side ---------------------------------------------------------------

/// Enabled endpoints that have deliveries due now (at most `limit`).
core::result<std::vector<std::string>> due_endpoints(pg_connection& conn, std::size_t limit);

/// One delivery claimed for an attempt.
struct claimed_delivery {
  std::int64_t delivery_id = 0;
  std::string event_id;
  std::string endpoint_id;
  std::string merchant_id;
  std::string url;
  std::string payload_json;
  std::int64_t attempts_done = 0;
  std::int64_t retry_window_start_ms = 0;
  std::vector<std::string> secrets;  ///< every secret that signs now, oldest first
};

/// Claims up to `limit` due deliveries of one enabled endpoint, skipping
/// rows other claimers hold, and leases them for `lease_ms` (a crashed
/// claimer's deliveries come due again after it).
core::result<std::vector<claimed_delivery>> claim_deliveries(pg_connection& conn,
                                                             const std::string& endpoint_id,
                                                             std::size_t limit,
                                                             std::int64_t lease_ms);

/// The outcome of one attempt, and what follows.
struct attempt_outcome {
  std::int64_t delivery_id = 0;
  std::string endpoint_id;
  std::int64_t attempt = 0;  ///< 1 for the first
  std::optional<std::int64_t> status;
  std::optional<std::string> error;
  std::int64_t latency_ms = 0;
  bool delivered = false;
  bool dead = false;                 ///< failed for good: dead-lettered
  std::int64_t retry_in_ms = 0;      ///< when neither delivered nor dead
  std::int64_t disable_after_s = 0;  ///< endpoint failing this long is disabled
  /// The claim's retry_window_start_ms. When set, a delivery replayed while
  /// this attempt was in flight (its window restarted) keeps its replay: the
  /// attempt is recorded, the delivery stays pending and due.
  std::optional<std::int64_t> claimed_window_start_ms;
};

/// Records an attempt, moves the delivery on, and keeps the endpoint's
/// failure clock; answers true when this failure disabled the endpoint.
core::result<bool> record_attempt(pg_connection& conn, const attempt_outcome& o);

/// Delivery backlog of one endpoint, for /metrics and the console.
struct endpoint_backlog {
  std::string endpoint_id;
  std::string merchant_id;
  std::string status;
  std::int64_t pending = 0;
  std::int64_t oldest_pending_age_s = 0;  ///< 0 when nothing is pending
};

/// Every live endpoint's backlog.
core::result<std::vector<endpoint_backlog>> delivery_backlog(pg_connection& conn);

// ---- the operator's view (the inspector console) ---------------------------------------

/// One endpoint's delivery state as the operator sees it: every merchant's,
/// never its secrets.
struct endpoint_health {
  std::string endpoint_id;
  std::string merchant_id;
  std::string url;
  std::string status;  ///< enabled, disabled
  std::optional<std::string> disabled_reason;
  std::int64_t pending = 0;  ///< waiting for their first or next attempt
  std::int64_t failing = 0;  ///< pending after at least one failed attempt
  std::int64_t dead = 0;     ///< dead-lettered
  /// Age of the oldest pending or dead-lettered delivery; 0 when none.
  std::int64_t oldest_undelivered_age_ms = 0;
  std::optional<std::int64_t> last_success_ms;
  std::optional<std::int64_t> failing_since_ms;
  /// The newest deliveries, newest first.
  std::vector<delivery_view> recent;
  /// Failing and dead-lettered deliveries, oldest first.
  std::vector<delivery_view> undelivered;
};

struct outbound_health {
  std::vector<endpoint_health> endpoints;
  std::int64_t total = 0;  ///< live endpoints, listed or not
};

/// Every merchant's live endpoints (at most `endpoints_max`, by merchant)
/// with their counts and at most `deliveries_max` deliveries in each list,
/// each with its last `attempts_max` attempts.
core::result<outbound_health> outbound_health_view(pg_connection& conn, std::size_t endpoints_max,
                                                   std::size_t deliveries_max,
                                                   std::size_t attempts_max);

/// What an operator's replay of one delivery changed.
struct delivery_replayed {
  std::int64_t delivery_id = 0;
  std::string event_id;
  std::string endpoint_id;
  std::string merchant_id;
  std::string from_state;  ///< pending (failing) or dead
};

/// An operator sends one failing or dead-lettered delivery again: due now,
/// with a fresh retry window, and an audit row (actor "admin", action
/// "webhook_delivery_replay", the request id in its data) in the same
/// transaction. A delivered or never-attempted delivery, or one of a
/// disabled endpoint, is invalid_state; an unknown one (or one of a deleted
/// endpoint) is not_found.
core::result<delivery_replayed> replay_delivery_as_admin(pg_connection& conn,
                                                         std::int64_t delivery_id,
                                                         const std::string& request_id);

}  // namespace pay::storage
