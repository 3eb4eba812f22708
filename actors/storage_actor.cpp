#include "actors/storage_actor.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/errors.hpp"
#include "actors/inspector.hpp"
#include "actors/write_batch.hpp"
#include "core/limits.hpp"
#include "core/log.hpp"
#include "storage/idempotency.hpp"
#include "storage/inbox.hpp"
#include "storage/ledger.hpp"
#include "storage/migrations.hpp"
#include "storage/payment_links.hpp"
#include "storage/pg.hpp"
#include "storage/reconnecting_connection.hpp"
#include "storage/settlement.hpp"

namespace pay::actors {

namespace {

/// A storage actor's state: its connection (which reconnects with backoff).
struct storage_state {
  std::optional<storage::reconnecting_connection> db;
  /// What the probe last showed: connected or not (none before the first try).
  std::optional<bool> shown_connected;
  inspector::registration probe;
  caf::scheduled_actor* self = nullptr;  ///< for the probe; the state lives inside it

  /// Writes waiting for the next group commit (actors/write_batch.hpp).
  write_batch batch;

  /// Merchants' routing rules, shared with the process's other storage actors.
  std::shared_ptr<routing_rules_cache> routing_rules;

  static inline const char* name = "storage";

  /// A usable connection, connecting now unless the backoff says wait.
  core::result<storage::pg_connection*> connection() {
    auto c = db->get();
    bool up = static_cast<bool>(c);
    if (shown_connected != up) probe.set_state(up ? "connected" : "disconnected");
    shown_connected = up;
    return c;
  }

  /// Runs a write once: a lost connection is not retried here, because the
  /// write may have committed; callers recover through version checks and
  /// idempotency keys.
  template <class F>
  auto write(F&& work) -> decltype(work(std::declval<storage::pg_connection&>())) {
    probe.on_message(self);
    auto c = connection();
    if (!c) return c.err();
    auto out = work(**c);
    db->drop_if_broken();
    return out;
  }

  /// Runs a read-only `work` on the connection; a connection lost on the way
  /// is re-established and the read retried once.
  template <class F>
  auto read(F&& work) -> decltype(work(std::declval<storage::pg_connection&>())) {
    probe.on_message(self);
    for (int attempt = 0;; ++attempt) {
      auto c = connection();
      if (!c) return c.err();
      auto out = work(**c);
      // A server that did not answer at all is not asked again at once.
      if (out || (*c)->healthy() || (*c)->timed_out() || attempt > 0) return out;
      db->reset();
    }
  }
};

/// A merchant's current routing rules: from the cache, or read and kept.
core::result<storage::routing_record> current_routing(storage_state& st, storage::pg_connection& c,
                                                      const std::string& merchant_id) {
  auto now = routing_rules_cache::clock::now();
  if (auto hit = st.routing_rules->find(merchant_id, now)) return std::move(*hit);
  auto read = storage::load_routing(c, merchant_id);
  if (read)
    st.routing_rules->put(
        merchant_id, *read, now,
        [](const storage::routing_record& held, const storage::routing_record& got) {
          return held.version > got.version;
        });
  return read;
}

template <class T>
caf::result<T> reply(core::result<T>&& r) {
  if (r) return std::move(*r);
  return to_caf_error(r.err());
}

caf::result<bool> done(core::status&& s) {
  if (s) return true;
  return to_caf_error(s.err());
}

storage_actor::behavior_type storage_behavior(storage_actor::stateful_pointer<storage_state> self,
                                              std::string url,
                                              std::shared_ptr<routing_rules_cache> routing_rules) {
  self->state.routing_rules = std::move(routing_rules);
  // The connection carries the process's identity: the holder recorded on
  // idempotency leases, alive exactly as long as a connection of ours is.
  self->state.db.emplace(std::move(url), "storage", [](storage::pg_connection& c) -> core::status {
    auto named = c.exec("SELECT set_config('application_name', $1, false)", {core::instance_id()});
    if (!named.ok()) return core::make_error(core::errc::storage_unavailable, named.error->message);
    return core::status::ok();
  });
  self->state.self = self;
  self->state.probe.enroll(inspector::kind::storage, inspector::numbered("db"));
  self->state.probe.set_state("not_connected");
  return {
      [self](authenticate_atom, const std::string& key_hash) -> caf::result<merchant_ref> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::find_merchant_by_key_hash(c, key_hash);
        }));
      },
      [self](ready_atom) -> readiness {
        self->state.probe.on_message(self);
        readiness out;
        // A connection the server dropped (terminated backend, restart) is
        // re-established and pinged once more, as a read is: only a database
        // that still does not answer makes this connection count as down.
        // (No request may have used this connection since the drop: API keys
        // are answered from the key cache without a read.)
        core::result<storage::pg_connection*> c = self->state.connection();
        for (int attempt = 0;; ++attempt) {
          if (!c) {
            out.detail = "database unreachable";
            return out;
          }
          auto ping = (*c)->exec("SELECT 1");
          if (ping.ok()) break;
          bool retry = attempt == 0 && !(*c)->timed_out();
          self->state.db->reset();
          if (!retry) {
            out.detail = "database unreachable";
            return out;
          }
          c = self->state.connection();
        }
        out.database_ok = true;
        auto applied = storage::migrations_applied(**c, storage::embedded_migrations());
        out.migrations_ok = applied && *applied;
        if (!out.migrations_ok) out.detail = "migrations not applied";
        return out;
      },
      [self](list_atom, const list_query& q) -> caf::result<storage::intent_page> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::list_intents(c, q.merchant_id, q.limit, q.starting_after);
        }));
      },
      [self](fetch_atom, const std::string& merchant_id,
             const std::string& id) -> caf::result<core::payment_intent> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::find_intent(c, merchant_id, id); }));
      },
      [self](load_atom, const std::string& id) -> caf::result<core::payment_intent> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::load_intent(c, id); }));
      },
      [self](write_atom, const storage::intent_write& w) -> caf::result<std::int64_t> {
        return self->state.batch.add<std::int64_t>(
            self, [w](storage::pg_connection& c) { return storage::write_intent(c, w); });
      },
      [self](audit_atom, const audit_query& q) -> caf::result<audit_list> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::list_audit(c, q.merchant_id, q.intent_id);
        }));
      },
      [self](refund_get_atom, const std::string& merchant_id,
             const std::string& id) -> caf::result<core::refund> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::find_refund(c, merchant_id, id); }));
      },
      [self](idem_begin_atom,
             const storage::idempotency_request& req) -> caf::result<storage::idempotency_record> {
        return self->state.batch.add<storage::idempotency_record>(
            self, [req](storage::pg_connection& c) { return storage::idempotency_begin(c, req); });
      },
      [self](idem_finish_atom, const idem_answer& a) -> caf::result<bool> {
        return self->state.batch.add<bool>(
            self, [a](storage::pg_connection& c) -> core::result<bool> {
              auto r = storage::idempotency_finish(c, a.id, a.status, a.body);
              if (!r) return r.err();
              return true;
            });
      },
      [self](idem_admit_atom, const storage::idempotency_admission& a) -> caf::result<bool> {
        return self->state.batch.add<bool>(self,
                                           [a](storage::pg_connection& c) -> core::result<bool> {
                                             auto r = storage::idempotency_admit(c, a);
                                             if (!r) return r.err();
                                             return true;
                                           });
      },
      [self](idem_release_atom, std::int64_t id) -> caf::result<bool> {
        return self->state.batch.add<bool>(self,
                                           [id](storage::pg_connection& c) -> core::result<bool> {
                                             auto r = storage::idempotency_release(c, id);
                                             if (!r) return r.err();
                                             return true;
                                           });
      },
      [self](inbox_add_atom,
             const storage::inbox_item& item) -> caf::result<storage::inbox_receipt> {
        return self->state.batch.add_inbox(self, item);
      },
      [self](flush_atom) {
        auto items = self->state.batch.take(self);
        if (items.empty()) return;
        auto c = self->state.connection();
        if (!c) {
          for (auto& i : items) i.settle(c.err());
          return;
        }
        storage::run_batch(**c, items);
        self->state.db->drop_if_broken();
      },
      [self](inbox_claim_atom, std::uint64_t batch,
             std::int64_t lease_ms) -> caf::result<inbox_rows> {
        return reply(self->state.write(
            [&](storage::pg_connection& c) { return storage::inbox_claim(c, batch, lease_ms); }));
      },
      [self](inbox_done_atom, std::int64_t id, core::inbox_outcome outcome) -> caf::result<bool> {
        // The worker marks a whole claimed batch at once: one commit for all.
        return self->state.batch.add<bool>(
            self, [id, outcome](storage::pg_connection& c) -> core::result<bool> {
              auto r = storage::inbox_mark_processed(c, id, std::string(core::to_string(outcome)));
              if (!r) return r.err();
              return true;
            });
      },
      [self](inbox_retry_atom, std::int64_t id, std::int32_t attempt, const std::string& error,
             std::int64_t delay_ms) -> caf::result<bool> {
        return done(self->state.write([&](storage::pg_connection& c) {
          return storage::inbox_retry_later(c, id, attempt, error, delay_ms);
        }));
      },
      [self](inbox_dead_atom, std::int64_t id, std::int32_t attempt, const std::string& error,
             const std::string& reason) -> caf::result<bool> {
        return done(self->state.write([&](storage::pg_connection& c) {
          return storage::inbox_dead_letter(c, id, attempt, error, reason);
        }));
      },
      [self](inbox_stats_atom) -> caf::result<storage::inbox_stats> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::read_inbox_stats(c); }));
      },
      [self](dead_list_atom, bool include_resolved,
             std::uint64_t limit) -> caf::result<dead_letter_list> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::list_dead_letters(c, include_resolved, limit);
        }));
      },
      [self](dead_replay_atom, const optional_id& id) -> caf::result<id_list> {
        return reply(self->state.write(
            [&](storage::pg_connection& c) { return storage::replay_dead_letters(c, id); }));
      },
      [self](psp_ref_atom, const std::string& psp, const std::string& ref,
             const std::string& engine_ref) -> caf::result<optional_id> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::intent_id_for_psp_reference(c, psp, ref, engine_ref);
        }));
      },
      [self](stuck_atom, std::int64_t idle_ms, std::uint64_t limit) -> caf::result<id_list> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::stuck_intents(c, idle_ms, limit); }));
      },
      [self](ledger_accounts_atom, const ledger_query& q) -> caf::result<account_page> {
        return reply(self->state.read([&](storage::pg_connection& c) -> core::result<account_page> {
          auto page = storage::list_accounts(c, q.merchant_id, q.limit, q.starting_after);
          if (!page) return page.err();
          account_page out;
          out.has_more = page->has_more;
          for (auto& a : page->data) {
            auto b = storage::balance(c, a.id, std::nullopt);
            if (!b) return b.err();
            out.data.push_back(account_with_balance{std::move(a), *b});
          }
          return out;
        }));
      },
      [self](ledger_entries_atom, const ledger_query& q) -> caf::result<entry_page> {
        return reply(self->state.read([&](storage::pg_connection& c) -> core::result<entry_page> {
          auto account = storage::find_account(c, q.account_id);
          if (!account) return account.err();
          if (account->merchant_id != q.merchant_id)
            return core::make_error(core::errc::not_found, "No such ledger account.");
          return storage::list_entries(c, q.account_id, q.limit, q.starting_after);
        }));
      },
      [self](ledger_tx_atom, const std::string& merchant_id,
             const std::string& intent_id) -> caf::result<ledger_transactions> {
        return reply(
            self->state.read([&](storage::pg_connection& c) -> core::result<ledger_transactions> {
              auto owner = storage::find_intent(c, merchant_id, intent_id);
              if (!owner) return owner.err();
              return storage::transactions_for_intent(c, intent_id);
            }));
      },
      [self](expire_keys_atom, std::int64_t hours) -> caf::result<std::int64_t> {
        return reply(self->state.write(
            [&](storage::pg_connection& c) { return storage::idempotency_expire(c, hours); }));
      },
      [self](refund_ref_atom, const std::string& ref) -> caf::result<optional_refund> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::find_refund_by_psp_reference(c, ref);
        }));
      },
      [self](trial_balance_atom) -> caf::result<trial_balance_lines> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::trial_balance(c, std::nullopt); }));
      },
      [self](link_create_atom,
             const storage::payment_link& link) -> caf::result<storage::payment_link> {
        return reply(self->state.write(
            [&](storage::pg_connection& c) { return storage::create_payment_link(c, link); }));
      },
      [self](link_get_atom, const std::string& id,
             const optional_id& merchant_id) -> caf::result<storage::payment_link> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::find_payment_link(c, id, merchant_id);
        }));
      },
      [self](link_active_atom, const std::string& id, const std::string& merchant_id,
             bool active) -> caf::result<storage::payment_link> {
        return reply(self->state.write([&](storage::pg_connection& c) {
          return storage::set_payment_link_active(c, id, merchant_id, active);
        }));
      },
      [self](link_list_atom, const link_list_query& q) -> caf::result<storage::payment_link_page> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::list_payment_links(c, q.merchant_id, q.limit, q.starting_after);
        }));
      },
      [self](visit_get_atom, const std::string& link_id,
             const std::string& visit_hash) -> caf::result<optional_id> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::find_link_visit(c, link_id, visit_hash);
        }));
      },
      [self](visit_put_atom, const std::string& link_id, const std::string& visit_hash,
             const std::string& intent_id) -> caf::result<std::string> {
        return reply(self->state.write([&](storage::pg_connection& c) {
          return storage::record_link_visit(c, link_id, visit_hash, intent_id);
        }));
      },
      [self](recon_get_atom, const std::string& id) -> caf::result<recon_run> {
        return reply(
            self->state.read([&](storage::pg_connection& c) { return storage::load_run(c, id); }));
      },
      [self](recon_metrics_atom) -> caf::result<recon_metrics> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::reconciliation_metrics(c); }));
      },
      [self](dispute_record_atom,
             const storage::dispute_news& news) -> caf::result<core::inbox_outcome> {
        auto done = self->state.write(
            [&](storage::pg_connection& c) { return storage::record_dispute(c, news); });
        if (!done) return to_caf_error(done.err());
        core::log::info("dispute recorded", {{"event_id", news.event_id}, {"outcome", *done}});
        return core::inbox_outcome::dispute;
      },
      [self](dispute_get_atom, const std::string& merchant_id,
             const std::string& id) -> caf::result<core::dispute> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::find_dispute(c, merchant_id, id); }));
      },
      [self](dispute_list_atom,
             const storage::dispute_query& q) -> caf::result<storage::dispute_page> {
        return reply(self->state.read(
            [&](storage::pg_connection& c) { return storage::list_disputes(c, q); }));
      },
      [self](dispute_intent_atom, const std::string& merchant_id,
             const std::string& intent_id) -> caf::result<dispute_list> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::disputes_of_intent(c, merchant_id, intent_id);
        }));
      },
      [self](dispute_evidence_atom, const evidence_record& r) -> caf::result<core::dispute> {
        return reply(self->state.write([&](storage::pg_connection& c) {
          return storage::record_evidence(c, r.before, r.evidence_json, r.psp_status);
        }));
      },
      [self](disputes_open_atom) -> caf::result<dispute_list> {
        return reply(
            self->state.read([&](storage::pg_connection& c) { return storage::open_disputes(c); }));
      },
      [self](routing_get_atom,
             const std::string& merchant_id) -> caf::result<storage::routing_record> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return current_routing(self->state, c, merchant_id);
        }));
      },
      [self](routing_put_atom, const std::string& merchant_id, const core::routing_rules& rules,
             const std::string& actor) -> caf::result<storage::routing_record> {
        auto stored = self->state.write([&](storage::pg_connection& c) {
          return storage::replace_routing(c, merchant_id, rules, actor);
        });
        // This process's next create uses the new rules; a failed write may
        // still have committed, so what is held is dropped.
        if (stored)
          self->state.routing_rules->put(merchant_id, *stored, routing_rules_cache::clock::now());
        else
          self->state.routing_rules->erase(merchant_id);
        return reply(std::move(stored));
      },
      [self](routing_plan_atom, const std::string& merchant_id, const std::string& intent_id,
             bool first_attempt) -> caf::result<storage::routing_plan> {
        return reply(
            self->state.read([&](storage::pg_connection& c) -> core::result<storage::routing_plan> {
              auto rules = current_routing(self->state, c, merchant_id);
              if (!rules) return rules.err();
              storage::routing_plan plan{std::move(*rules), {}};
              // The first attempt of a create has no earlier one to continue.
              if (first_attempt) return plan;
              auto attempts = storage::load_routing_attempts(c, merchant_id, intent_id);
              if (!attempts) return attempts.err();
              plan.attempts = std::move(*attempts);
              return plan;
            }));
      },
      [self](routing_try_atom, const storage::routing_attempt& a) -> caf::result<bool> {
        // On the create path: group-committed, answered once durable.
        return self->state.batch.add<bool>(self,
                                           [a](storage::pg_connection& c) -> core::result<bool> {
                                             auto r = storage::record_routing_attempt(c, a);
                                             if (!r) return r.err();
                                             return true;
                                           });
      },
      [self](routing_orphan_atom, const storage::routing_orphan& o) -> caf::result<bool> {
        return reply(self->state.write([&](storage::pg_connection& c) -> core::result<bool> {
          auto r = storage::record_routing_orphan(c, o);
          if (!r) return r.err();
          return true;
        }));
      },
      [self](routing_recent_atom, const std::string& merchant_id,
             std::uint64_t limit) -> caf::result<routing_attempt_list> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::recent_routing_attempts(c, merchant_id, limit);
        }));
      },
      [self](settlements_atom, const std::string& merchant_id,
             const std::string& intent_id) -> caf::result<intent_settlements> {
        return reply(self->state.read([&](storage::pg_connection& c) {
          return storage::settlements_for_intent(c, merchant_id, intent_id);
        }));
      },
  };
}

}  // namespace

std::shared_ptr<routing_rules_cache> make_routing_rules_cache() {
  return std::make_shared<routing_rules_cache>(
      std::chrono::seconds(core::limits::routing_rules_cache_ttl_s),
      core::limits::routing_rules_cache_entries_max);
}

storage_actor spawn_storage_actor(caf::actor_system& sys, std::string database_url,
                                  std::shared_ptr<routing_rules_cache> routing_rules) {
  if (!routing_rules) routing_rules = make_routing_rules_cache();
  return sys.spawn<caf::detached>(storage_behavior, std::move(database_url),
                                  std::move(routing_rules));
}

}  // namespace pay::actors
