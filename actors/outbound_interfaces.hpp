#pragma once

// The outbound webhook actors' messages and typed interfaces, on one page
// (kept apart from interfaces.hpp so the feature stays in its own files).
// Replies that can fail answer a caf::error made by to_caf_error.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "core/outbound_delivery.hpp"
#include "storage/outbound_webhooks.hpp"

namespace pay::actors::outbound {

// ---- requests of the routes ---------------------------------------------------------

struct endpoint_create {
  std::string merchant_id;
  storage::endpoint_fields fields;
};
struct endpoint_list {
  std::string merchant_id;
  std::size_t limit = 10;
  std::optional<std::string> starting_after;
};
struct endpoint_get {
  std::string merchant_id;
  std::string id;
};
struct endpoint_update {
  std::string merchant_id;
  std::string id;
  storage::endpoint_fields fields;
};
struct endpoint_delete {
  std::string merchant_id;
  std::string id;
};
struct endpoint_roll {
  std::string merchant_id;
  std::string id;
  std::int64_t overlap_s = 0;
};
struct events_list {
  std::string merchant_id;
  std::size_t limit = 10;
  std::optional<std::string> starting_after;
  std::optional<std::string> type;
};
struct event_get {
  std::string merchant_id;
  std::string id;
};
struct deliveries_list {
  std::string merchant_id;
  std::string endpoint_id;
  std::size_t limit = 10;
  std::optional<std::int64_t> starting_after;
};
struct event_replay {
  std::string merchant_id;
  std::string event_id;
  std::optional<std::string> endpoint_id;
};
struct failed_replay {
  std::string merchant_id;
  std::string endpoint_id;
  std::int64_t since_s = 0;
};

// ---- requests of the delivery actors ------------------------------------------------

struct due_query {
  std::size_t limit = 0;
};
struct claim_query {
  std::string endpoint_id;
  std::size_t limit = 0;
  std::int64_t lease_ms = 0;
};
struct backlog_query {};

// ---- requests of the operator's console ----------------------------------------------

struct health_query {
  std::size_t endpoints_max = 0;
  std::size_t deliveries_max = 0;
  std::size_t attempts_max = 0;
};
struct admin_replay {
  std::int64_t delivery_id = 0;
  std::string request_id;  ///< kept in the audit row
};

/// The answer of one attempt, back on the endpoint actor's thread.
struct attempt_done {
  storage::claimed_delivery delivery;
  core::outbound_response response;
};

using wake_atom = caf::atom_constant<caf::atom("ob_wake")>;
using tick_atom = caf::atom_constant<caf::atom("ob_tick")>;
using restart_atom = caf::atom_constant<caf::atom("ob_restart")>;

/// The OUTBOUND STORE: one PostgreSQL connection on its own thread (spawned
/// detached) for the webhook endpoint routes and the delivery actors.
using store_actor = caf::typed_actor<
    // Registers an endpoint; the answer carries its secret, once.
    caf::replies_to<endpoint_create>::with<storage::webhook_endpoint>,
    // A page of the merchant's endpoints, newest first.
    caf::replies_to<endpoint_list>::with<storage::endpoint_page>,
    // One of the merchant's endpoints.
    caf::replies_to<endpoint_get>::with<storage::webhook_endpoint>,
    // Changes url, events, description or enabled.
    caf::replies_to<endpoint_update>::with<storage::webhook_endpoint>,
    // Deletes an endpoint (it gets nothing more).
    caf::replies_to<endpoint_delete>::with<storage::webhook_endpoint>,
    // Rolls the secret with an overlap; the answer carries the new secret.
    caf::replies_to<endpoint_roll>::with<storage::webhook_endpoint>,
    // A page of the merchant's events, newest first.
    caf::replies_to<events_list>::with<storage::event_page>,
    // One of the merchant's events.
    caf::replies_to<event_get>::with<storage::stored_event>,
    // A page of an endpoint's deliveries with their attempts.
    caf::replies_to<deliveries_list>::with<storage::delivery_page>,
    // Schedules one event again; answers how many deliveries.
    caf::replies_to<event_replay>::with<std::int64_t>,
    // Schedules an endpoint's dead deliveries since a time again.
    caf::replies_to<failed_replay>::with<std::int64_t>,
    // Enabled endpoints with due deliveries.
    caf::replies_to<due_query>::with<std::vector<std::string>>,
    // Claims due deliveries of one endpoint under a lease.
    caf::replies_to<claim_query>::with<std::vector<storage::claimed_delivery>>,
    // Records an attempt; answers true when it disabled the endpoint.
    caf::replies_to<storage::attempt_outcome>::with<bool>,
    // Every live endpoint's backlog (metrics).
    caf::replies_to<backlog_query>::with<std::vector<storage::endpoint_backlog>>,
    // Every merchant's endpoints with counts, deliveries and attempts (console).
    caf::replies_to<health_query>::with<storage::outbound_health>,
    // An operator replays one failing or dead delivery, audited.
    caf::replies_to<admin_replay>::with<storage::delivery_replayed>>;

/// The DELIVERY SUPERVISOR: polls for endpoints with due deliveries, keeps
/// one delivery actor per such endpoint (restarted when it fails), and
/// publishes the backlog gauges.
using supervisor_actor = caf::typed_actor<
    // New or replayed deliveries: look now rather than at the next poll.
    caf::reacts_to<wake_atom>,
    // The periodic poll (also the metrics refresh).
    caf::reacts_to<tick_atom>>;

/// A DELIVERY actor, one per endpoint: claims that endpoint's due
/// deliveries up to its concurrency, signs and posts each with a deadline,
/// and records every attempt.
using endpoint_actor = caf::typed_actor<
    // Claim what is due, as far as free slots allow.
    caf::reacts_to<wake_atom>,
    // One attempt finished (from the poster's thread).
    caf::reacts_to<attempt_done>>;

}  // namespace pay::actors::outbound

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::endpoint_create)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::endpoint_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::endpoint_get)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::endpoint_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::endpoint_delete)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::endpoint_roll)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::events_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::event_get)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::deliveries_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::event_replay)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::failed_replay)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::due_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::claim_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::backlog_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::attempt_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::health_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::outbound::admin_replay)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::outbound_health)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::delivery_replayed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::webhook_endpoint)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::endpoint_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::event_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::stored_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::delivery_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::claimed_delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pay::storage::claimed_delivery>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::attempt_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::endpoint_backlog)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pay::storage::endpoint_backlog>)
