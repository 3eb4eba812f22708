#include "actors/intent_router.hpp"

#include <algorithm>
#include <iterator>
#include <list>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/engine_metrics.hpp"
#include "actors/errors.hpp"
#include "actors/inspector.hpp"
#include "actors/intent_actor.hpp"
#include "core/ids.hpp"

namespace pay::actors {

namespace {

/// One live intent actor as the router knows it.
struct live_actor {
  std::string id;
  /// The merchant whose requests spawned it; empty for the engine's own
  /// work (webhooks, polling), which counts only against the total.
  std::string owner;
  /// Its place in its owner's least-recently-used order; unused once it is
  /// passivating (it has left that order).
  std::list<caf::actor_addr>::iterator recency;
  bool passivating = false;
};

/// The router's state: live intent actors by id, and what they need.
struct router_state {
  std::vector<storage_actor> storage;
  std::size_t next_storage = 0;
  gateway_set gateways;
  router_config config;
  std::unordered_map<std::string, intent_actor> live;
  std::unordered_map<caf::actor_addr, live_actor> actors;
  /// Requests sent to each intent actor and not yet answered (census; an
  /// actor with none is idle as far as the router is concerned).
  std::unordered_map<caf::actor_addr, std::size_t> pending;
  /// Each owner's actors that are not passivating, least recently used
  /// first: its count against the bounds, and where room is made.
  std::unordered_map<std::string, std::list<caf::actor_addr>> by_owner;
  /// Actors told to stop that have not stopped yet (still in `live`: a
  /// command that reaches one is re-sent to a fresh actor).
  std::size_t passivating = 0;
  inspector::registration probe;

  static inline const char* name = "intent_router";
};

using router_pointer = intent_router_actor::stateful_pointer<router_state>;

/// Why no actor can be had for a request.
enum class spawn_refusal { total, merchant };

/// Stops the least recently used idle actor of `owner` (looking at no more
/// than core::limits::intent_passivation_scan_max of them): its state is in
/// the database, so the room is better spent on a request. False when each
/// of those has a request waiting.
bool passivate_one(router_pointer self, const std::string& owner, const char* bound) {
  auto& st = self->state;
  auto order = st.by_owner.find(owner);
  if (order == st.by_owner.end()) return false;
  std::size_t looked = 0;
  for (auto it = order->second.begin();
       it != order->second.end() && looked < core::limits::intent_passivation_scan_max;
       ++it, ++looked) {
    if (st.pending.count(*it) != 0) continue;
    auto found = st.actors.find(*it);
    if (found == st.actors.end()) continue;
    auto& entry = found->second;
    auto victim = st.live.find(entry.id);
    if (victim == st.live.end() || victim->second.address() != *it) continue;
    self->send(victim->second, passivate_atom::value);
    entry.passivating = true;
    ++st.passivating;
    order->second.erase(it);
    if (order->second.empty()) st.by_owner.erase(order);
    metrics::engine().intent_actors_passivated.with({bound}).inc();
    return true;
  }
  return false;
}

/// Makes room under the engine's total bound: from the owner with the most
/// actors (one merchant's burst pays for itself before it costs others).
bool passivate_for_total(router_pointer self) {
  auto& st = self->state;
  const std::string* largest = nullptr;
  std::size_t most = 0;
  for (const auto& [owner, order] : st.by_owner)
    if (order.size() > most) most = order.size(), largest = &owner;
  return largest != nullptr && passivate_one(self, std::string(*largest), "total");
}

/// The live actor of `id`, spawned (and monitored) when there is none. At a
/// bound (the total, or the merchant's) the least recently used idle actor
/// is passivated to make room; only when every candidate has work waiting
/// is the request refused.
std::variant<intent_actor, spawn_refusal> actor_for(router_pointer self, const std::string& id,
                                                    const std::string& merchant,
                                                    bool known_new = false) {
  auto& st = self->state;
  if (auto it = st.live.find(id); it != st.live.end()) {
    if (auto entry = st.actors.find(it->second.address());
        entry != st.actors.end() && !entry->second.passivating) {
      auto& order = st.by_owner[entry->second.owner];
      order.splice(order.end(), order, entry->second.recency);
    }
    return it->second;
  }
  if (st.live.size() - st.passivating >= st.config.actors_max && !passivate_for_total(self))
    return spawn_refusal::total;
  if (!merchant.empty()) {
    auto it = st.by_owner.find(merchant);
    if (it != st.by_owner.end() && it->second.size() >= st.config.actors_per_merchant_max &&
        !passivate_one(self, merchant, "merchant"))
      return spawn_refusal::merchant;
  }
  auto& storage = st.storage[st.next_storage++ % st.storage.size()];
  auto actor = spawn_intent_actor(self->system(), id, storage, st.gateways, st.config.idle_ms,
                                  st.config.miss_idle_ms, st.config.expiry, known_new);
  self->monitor(actor);
  auto& order = st.by_owner[merchant];
  order.push_back(actor.address());
  st.actors.emplace(actor.address(), live_actor{id, merchant, std::prev(order.end())});
  st.live.emplace(id, actor);
  return actor;
}

void forget(router_pointer self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto it = st.actors.find(addr);
  if (it == st.actors.end()) return;
  auto& entry = it->second;
  if (auto live = st.live.find(entry.id); live != st.live.end() && live->second.address() == addr)
    st.live.erase(live);
  if (entry.passivating) {
    --st.passivating;
  } else if (auto order = st.by_owner.find(entry.owner); order != st.by_owner.end()) {
    order->second.erase(entry.recency);
    if (order->second.empty()) st.by_owner.erase(order);
  }
  st.actors.erase(it);
}

/// One request to the actor at `addr` is answered.
void answered(router_pointer self, const caf::actor_addr& addr) {
  auto& pending = self->state.pending;
  if (auto it = pending.find(addr); it != pending.end() && --it->second == 0) pending.erase(it);
}

/// The merchant a command is made for; empty for the engine's own work.
template <class Command>
std::string merchant_of_command(const Command& cmd) {
  if constexpr (std::is_same_v<Command, create_command>)
    return cmd.intent.merchant_id;
  else if constexpr (requires { cmd.merchant_id; })
    return cmd.merchant_id;
  else
    return {};
}

/// Sends `cmd` to the intent's actor and relays the answer. An actor that
/// stopped (idle) between lookup and delivery is replaced once.
template <class Result, class Atom, class Command>
void relay(router_pointer self, const std::string& id, Command cmd,
           caf::typed_response_promise<Result> rp, int attempt = 0) {
  if (attempt == 0) self->state.probe.on_message(self);
  auto merchant = merchant_of_command(cmd);
  // A merchant's id that cannot be an intent's is a miss without an actor
  // (the HTTP layer checks too; this keeps the router safe on its own).
  if (!merchant.empty() && !core::has_prefix(id, core::id_prefix::payment_intent)) {
    rp.deliver(to_caf_error(
        core::make_error(core::errc::not_found, "No such payment_intent: '" + id + "'")));
    return;
  }
  bool known_new = false;
  if constexpr (std::is_same_v<Command, create_command>) known_new = cmd.known_new && attempt == 0;
  auto found = actor_for(self, id, merchant, known_new);
  if (auto* refused = std::get_if<spawn_refusal>(&found)) {
    rp.deliver(to_caf_error(core::make_error(
        core::errc::overloaded,
        *refused == spawn_refusal::total
            ? "The engine holds its maximum of live payment intents; retry."
            : "This account holds its maximum of live payment intents; retry shortly.")));
    return;
  }
  auto* actor = &std::get<intent_actor>(found);
  ++self->state.pending[actor->address()];
  self->request(*actor, caf::infinite, Atom::value, cmd)
      .then(
          [self, rp, addr = actor->address()](Result& r) mutable {
            answered(self, addr);
            rp.deliver(std::move(r));
          },
          [self, id, cmd, rp, attempt, addr = actor->address()](caf::error& err) mutable {
            answered(self, addr);
            if (err == caf::sec::request_receiver_down && attempt == 0) {
              forget(self, addr);
              return relay<Result, Atom>(self, id, std::move(cmd), rp, 1);
            }
            rp.deliver(err);
          });
}

intent_router_actor::behavior_type router_behavior(router_pointer self,
                                                   std::vector<storage_actor> storage,
                                                   gateway_set gateways, router_config config) {
  self->state.storage = std::move(storage);
  self->state.gateways = std::move(gateways);
  self->state.config = config;
  self->state.probe.enroll(inspector::kind::intent_router, "router");
  self->state.probe.set_state("routing");
  self->set_down_handler([self](caf::down_msg& down) { forget(self, down.source); });
  // On shutdown the router takes its intent actors with it; they would
  // otherwise live on until idle and hold the actor system open.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, actor] : self->state.live) self->send_exit(actor, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [self](create_atom, create_command& cmd) {
        auto rp = self->make_response_promise<core::payment_intent>();
        auto id = cmd.intent.id;
        relay<core::payment_intent, create_atom>(self, id, std::move(cmd), rp);
        return rp;
      },
      [self](capture_atom, capture_command& cmd) {
        auto rp = self->make_response_promise<core::payment_intent>();
        auto id = cmd.intent_id;
        relay<core::payment_intent, capture_atom>(self, id, std::move(cmd), rp);
        return rp;
      },
      [self](cancel_atom, cancel_command& cmd) {
        auto rp = self->make_response_promise<core::payment_intent>();
        auto id = cmd.intent_id;
        relay<core::payment_intent, cancel_atom>(self, id, std::move(cmd), rp);
        return rp;
      },
      [self](refund_atom, refund_command& cmd) {
        auto rp = self->make_response_promise<refund_result>();
        auto id = cmd.intent_id;
        relay<refund_result, refund_atom>(self, id, std::move(cmd), rp);
        return rp;
      },
      [self](get_atom, get_command& cmd) {
        auto rp = self->make_response_promise<core::payment_intent>();
        auto id = cmd.intent_id;
        relay<core::payment_intent, get_atom>(self, id, std::move(cmd), rp);
        return rp;
      },
      [self](apply_atom, apply_command& cmd) {
        auto rp = self->make_response_promise<core::inbox_outcome>();
        auto id = cmd.intent_id;
        relay<core::inbox_outcome, apply_atom>(self, id, std::move(cmd), rp);
        return rp;
      },
      [self](apply_refund_atom, apply_refund_command& cmd) {
        auto rp = self->make_response_promise<core::inbox_outcome>();
        auto id = cmd.intent_id;
        relay<core::inbox_outcome, apply_refund_atom>(self, id, std::move(cmd), rp);
        return rp;
      },
      [self](refresh_atom, std::string& id) {
        auto rp = self->make_response_promise<core::payment_intent>();
        relay<core::payment_intent, refresh_atom>(self, id, id, rp);
        return rp;
      },
      [self](expire_atom, std::string& id) {
        auto rp = self->make_response_promise<core::expiry_result>();
        relay<core::expiry_result, expire_atom>(self, id, id, rp);
        return rp;
      },
      [self](census_atom) {
        auto& st = self->state;
        actor_census c;
        c.intent_actors = st.live.size();
        for (const auto& [addr, n] : st.pending) {
          c.intent_pending_total += n;
          c.intent_pending_max = std::max(c.intent_pending_max, n);
        }
        // Read on the router's own thread, as the mailbox requires.
        c.router_mailbox = self->mailbox().size();
        return c;
      },
  };
}

}  // namespace

intent_router_actor spawn_intent_router(caf::actor_system& sys, std::vector<storage_actor> storage,
                                        gateway_set gateways, router_config config) {
  return sys.spawn(router_behavior, std::move(storage), std::move(gateways), config);
}

}  // namespace pay::actors
