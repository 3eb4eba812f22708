#include "actors/outbound_store.hpp"

#include <optional>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/errors.hpp"
#include "storage/reconnecting_connection.hpp"

namespace pay::actors::outbound {

namespace {

struct store_state {
  std::optional<storage::reconnecting_connection> db;

  static inline const char* name = "outbound_store";

  /// Runs `work` once on the connection (writes are never repeated blindly:
  /// each is one transaction, and a lost answer is recovered by the lease
  /// or the caller's retry).
  template <class F>
  auto run(F&& work) -> decltype(work(std::declval<storage::pg_connection&>())) {
    auto c = db->get();
    if (!c) return c.err();
    auto out = work(**c);
    db->drop_if_broken();
    return out;
  }
};

template <class T>
caf::result<T> reply(core::result<T>&& r) {
  if (r) return std::move(*r);
  return to_caf_error(r.err());
}

store_actor::behavior_type store_behavior(store_actor::stateful_pointer<store_state> self,
                                          std::string url) {
  self->state.db.emplace(std::move(url), "outbound store");
  using storage::pg_connection;
  return {
      [self](const endpoint_create& q) -> caf::result<storage::webhook_endpoint> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::create_endpoint(c, q.merchant_id, q.fields);
        }));
      },
      [self](const endpoint_list& q) -> caf::result<storage::endpoint_page> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::list_endpoints(c, q.merchant_id, q.limit, q.starting_after);
        }));
      },
      [self](const endpoint_get& q) -> caf::result<storage::webhook_endpoint> {
        return reply(self->state.run(
            [&](pg_connection& c) { return storage::find_endpoint(c, q.merchant_id, q.id); }));
      },
      [self](const endpoint_update& q) -> caf::result<storage::webhook_endpoint> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::update_endpoint(c, q.merchant_id, q.id, q.fields);
        }));
      },
      [self](const endpoint_delete& q) -> caf::result<storage::webhook_endpoint> {
        return reply(self->state.run(
            [&](pg_connection& c) { return storage::delete_endpoint(c, q.merchant_id, q.id); }));
      },
      [self](const endpoint_roll& q) -> caf::result<storage::webhook_endpoint> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::roll_endpoint_secret(c, q.merchant_id, q.id, q.overlap_s);
        }));
      },
      [self](const events_list& q) -> caf::result<storage::event_page> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::list_events(c, q.merchant_id, q.limit, q.starting_after, q.type);
        }));
      },
      [self](const event_get& q) -> caf::result<storage::stored_event> {
        return reply(self->state.run(
            [&](pg_connection& c) { return storage::find_event(c, q.merchant_id, q.id); }));
      },
      [self](const deliveries_list& q) -> caf::result<storage::delivery_page> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::list_deliveries(c, q.merchant_id, q.endpoint_id, q.limit,
                                          q.starting_after);
        }));
      },
      [self](const event_replay& q) -> caf::result<std::int64_t> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::replay_event(c, q.merchant_id, q.event_id, q.endpoint_id);
        }));
      },
      [self](const failed_replay& q) -> caf::result<std::int64_t> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::replay_failed(c, q.merchant_id, q.endpoint_id, q.since_s);
        }));
      },
      [self](const due_query& q) -> caf::result<std::vector<std::string>> {
        return reply(
            self->state.run([&](pg_connection& c) { return storage::due_endpoints(c, q.limit); }));
      },
      [self](const claim_query& q) -> caf::result<std::vector<storage::claimed_delivery>> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::claim_deliveries(c, q.endpoint_id, q.limit, q.lease_ms);
        }));
      },
      [self](const storage::attempt_outcome& o) -> caf::result<bool> {
        return reply(
            self->state.run([&](pg_connection& c) { return storage::record_attempt(c, o); }));
      },
      [self](const backlog_query&) -> caf::result<std::vector<storage::endpoint_backlog>> {
        return reply(
            self->state.run([&](pg_connection& c) { return storage::delivery_backlog(c); }));
      },
      [self](const health_query& q) -> caf::result<storage::outbound_health> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::outbound_health_view(c, q.endpoints_max, q.deliveries_max,
                                               q.attempts_max);
        }));
      },
      [self](const admin_replay& q) -> caf::result<storage::delivery_replayed> {
        return reply(self->state.run([&](pg_connection& c) {
          return storage::replay_delivery_as_admin(c, q.delivery_id, q.request_id);
        }));
      },
  };
}

}  // namespace

store_actor spawn_store(caf::actor_system& sys, std::string database_url) {
  return sys.spawn<caf::detached>(store_behavior, std::move(database_url));
}

}  // namespace pay::actors::outbound
