#include "actors/settlement_actor.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/errors.hpp"
#include "core/log.hpp"
#include "core/reconciliation.hpp"
#include "storage/pg.hpp"
#include "storage/settlement.hpp"

namespace pay::actors {

namespace {

using std::chrono::milliseconds;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::error psp_error(const core::psp_failure& f, std::string_view what) {
  auto code = f.kind == core::psp_failure_kind::retryable ? core::errc::psp_unavailable
                                                          : core::errc::psp_error;
  return core::make_error(code, "The PSP could not " + std::string(what) + ": " + f.message);
}

/// The gateway answers by its own call deadline; this only guards against a
/// lost reply.
const auto gateway_timeout = milliseconds(2 * core::limits::psp_call_timeout_ms);

/// The settlement actor's state: its connection and its PSP's gateway.
struct settlement_state {
  settlement_state() = default;  // no aggregate; see webhook_worker.cpp

  settlement_config config;
  caf::actor_system* system = nullptr;
  gateway_actor gateway;
  std::optional<storage::pg_connection> conn;

  static inline const char* name = "settlement";

  core::result<storage::pg_connection*> connection() {
    if (conn && conn->healthy()) return &*conn;
    conn.reset();
    auto fresh = storage::pg_connection::connect(config.database_url);
    if (!fresh)
      return core::make_error(core::errc::storage_unavailable,
                              "The database is unavailable; retry later.");
    conn.emplace(std::move(*fresh));
    return &*conn;
  }

  /// Asks the gateway (breaker, in-flight limit, metrics) and waits for its
  /// answer on this (detached) thread.
  template <class T, class... Ts>
  core::psp_outcome<T> ask_gateway(Ts&&... xs) {
    caf::scoped_actor waiter{*system};
    std::optional<core::psp_outcome<T>> out;
    waiter->request(gateway, gateway_timeout, std::forward<Ts>(xs)...)
        .receive([&](core::psp_outcome<T>& outcome) { out = std::move(outcome); },
                 [&](caf::error& err) {
                   core::psp_failure f;
                   f.kind = core::psp_failure_kind::retryable;
                   f.message = "the PSP gateway did not answer: " + from_caf_error(err).message;
                   out = std::move(f);
                 });
    return std::move(*out);
  }

  /// Every page of a list, following starting_after while has_more.
  template <class T, class Atom>
  core::result<std::vector<T>> all_pages(core::psp_list_query query, Atom atom,
                                         std::string_view what) {
    std::vector<T> out;
    query.limit = core::limits::psp_list_page_max;
    for (std::size_t page = 0; page < core::limits::psp_list_pages_max; ++page) {
      auto outcome = ask_gateway<core::psp_page<T>>(atom, query);
      if (auto* f = std::get_if<core::psp_failure>(&outcome)) return psp_error(*f, what);
      auto& got = std::get<core::psp_page<T>>(outcome);
      for (auto& item : got.data) out.push_back(std::move(item));
      if (!got.has_more || got.data.empty()) return out;
      query.starting_after = out.back().id;
    }
    return core::make_error(core::errc::limit_exceeded,
                            "The PSP's list of " + std::string(what) + " is longer than " +
                                std::to_string(core::limits::psp_list_pages_max) + " pages.");
  }

  core::result<std::vector<core::psp_balance_transaction>> balance_transactions(
      core::psp_list_query q) {
    return all_pages<core::psp_balance_transaction>(std::move(q), psp_bts_atom::value,
                                                    "balance transactions");
  }

  core::result<std::vector<core::psp_payout>> payouts(core::psp_list_query q) {
    return all_pages<core::psp_payout>(std::move(q), psp_payouts_atom::value, "payouts");
  }

  /// Books the payout an inbox row is about.
  core::result<std::string> settle(const storage::inbox_row& row) {
    if (!row.object_id || row.object_id->empty())
      return core::make_error(core::errc::invalid_request, "The payout event names no payout.");
    const auto& payout_id = *row.object_id;
    auto got = ask_gateway<core::psp_payout>(psp_payout_atom::value, payout_id);
    if (auto* f = std::get_if<core::psp_failure>(&got)) return psp_error(*f, "retrieve the payout");
    auto payout = std::get<core::psp_payout>(std::move(got));
    auto c = connection();
    if (!c) return c.err();
    if (payout.status == core::payout_status::failed) return fail_payout(**c, payout, row.id);
    storage::payout_booking b;
    b.psp = config.psp;
    b.inbox_id = row.id;
    if (payout.status != core::payout_status::paid) {
      // Booked when it is paid (its own paid event); recorded now.
      auto status = std::string(core::to_string(payout.status));
      auto done = storage::inbox_mark_processed(**c, row.id, "ignored: payout " + status);
      if (!done) return done.err();
      return "ignored: payout is " + status;
    }
    core::psp_list_query q;
    q.payout = payout.id;
    auto bts = balance_transactions(q);
    if (!bts) return bts.err();
    b.payout = std::move(payout);
    b.balance_transactions = std::move(*bts);
    auto booked = storage::book_payout(**c, b);
    if (!booked) {
      if (!(*c)->healthy()) conn.reset();
      return booked.err();
    }
    using r = storage::booking_outcome::result;
    switch (booked->what) {
      case r::booked:
        core::log::info("payout settled",
                        {{"payout", b.payout.id},
                         {"settlement", booked->settlement_id},
                         {"merchants", std::to_string(booked->merchants)},
                         {"balance_transactions", std::to_string(booked->items)},
                         {"unmatched", std::to_string(booked->unmatched)},
                         {"booked_net", std::to_string(booked->booked_net_minor)}});
        if (booked->unmatched > 0)
          core::log::warn(
              "payout holds balance transactions of unknown charges or refunds",
              {{"payout", b.payout.id}, {"unmatched", std::to_string(booked->unmatched)}});
        return std::string("settled");
      case r::duplicate:
        return std::string("duplicate");
      case r::already_processed:
        // Another worker finished this inbox row first: nothing to do.
        return core::make_error(core::errc::already_processed, "The event was already applied.");
    }
    return std::string("settled");
  }

  /// Books the paid payouts of the PSP's list (its default window) that are
  /// not booked yet, each with the balance transactions it pays (a PSP that
  /// announces no payouts, settlement_config::payout_poll_s). A payout
  /// booked meanwhile by another process is a duplicate: nothing is booked
  /// twice. Answers how many were booked.
  core::result<std::size_t> settle_listed_payouts() {
    auto listed = payouts(core::psp_list_query{});
    if (!listed) return listed.err();
    std::vector<std::string> ids;
    for (const auto& p : *listed)
      if (p.status == core::payout_status::paid) ids.push_back(p.id);
    if (ids.empty()) return std::size_t{0};
    auto c = connection();
    if (!c) return c.err();
    auto known_list = storage::known_payouts(**c, config.psp, ids);
    if (!known_list) return known_list.err();
    std::set<std::string> known(known_list->begin(), known_list->end());
    std::size_t booked_count = 0;
    for (auto& p : *listed) {
      if (p.status != core::payout_status::paid || known.count(p.id)) continue;
      core::psp_list_query q;
      q.payout = p.id;
      auto bts = balance_transactions(q);
      if (!bts) return bts.err();
      storage::payout_booking b;
      b.psp = config.psp;
      b.payout = p;
      b.balance_transactions = std::move(*bts);
      auto booked = storage::book_payout(**c, b);
      if (!booked) {
        if (!(*c)->healthy()) conn.reset();
        return booked.err();
      }
      if (booked->what == storage::booking_outcome::result::booked) {
        ++booked_count;
        core::log::info("payout settled from the PSP's list",
                        {{"psp", config.psp},
                         {"payout", p.id},
                         {"settlement", booked->settlement_id},
                         {"balance_transactions", std::to_string(booked->items)},
                         {"unmatched", std::to_string(booked->unmatched)}});
      }
    }
    return booked_count;
  }

  /// A payout the PSP reports failed: the booking of it (if any) reversed,
  /// the money back on the receivable (storage::reverse_failed_payout).
  core::result<std::string> fail_payout(storage::pg_connection& conn,
                                        const core::psp_payout& payout,
                                        std::optional<std::int64_t> inbox_id) {
    storage::payout_failure_booking f{config.psp, payout.id, payout.failure_code, inbox_id};
    auto done = storage::reverse_failed_payout(conn, f);
    if (!done) {
      if (!conn.healthy()) this->conn.reset();
      return done.err();
    }
    using r = storage::payout_failure_outcome::result;
    switch (done->what) {
      case r::reversed:
        core::log::warn("payout failed at the PSP; its booking is reversed",
                        {{"payout", payout.id},
                         {"settlement", done->settlement_id},
                         {"merchants", std::to_string(done->merchants)},
                         {"reversals", std::to_string(done->journals)},
                         {"reversed_net", std::to_string(done->reversed_net)},
                         {"failure_code", payout.failure_code}});
        return std::string("payout failure reversed");
      case r::duplicate:
        return std::string("duplicate");
      case r::not_booked:
        core::log::info("payout failed before it was booked; nothing to reverse",
                        {{"payout", payout.id}});
        return std::string("ignored: payout never booked");
      case r::already_processed:
        return core::make_error(core::errc::already_processed, "The event was already applied.");
    }
    return std::string("payout failure reversed");
  }

  /// Books a paid payout the engine never booked (its paid event was lost),
  /// found by reconciliation in the PSP's list. Answers whether it booked.
  core::result<bool> book_missed(storage::pg_connection& conn, const core::psp_payout& payout) {
    core::psp_list_query q;
    q.payout = payout.id;
    auto bts = balance_transactions(q);
    if (!bts) return bts.err();
    storage::payout_booking b;
    b.psp = config.psp;
    b.payout = payout;
    b.balance_transactions = std::move(*bts);
    auto booked = storage::book_payout(conn, b);
    if (!booked) return booked.err();
    if (booked->what != storage::booking_outcome::result::booked) return false;
    core::log::warn("reconciliation booked a paid payout whose event never arrived",
                    {{"payout", payout.id},
                     {"settlement", booked->settlement_id},
                     {"merchants", std::to_string(booked->merchants)},
                     {"booked_net", std::to_string(booked->booked_net_minor)}});
    return true;
  }

  /// Books every payout of the settlement report the row names (a PSP that
  /// settles by report files): each payout with the balance transactions it
  /// pays, the row marked processed with the last one. A payout booked
  /// before is a duplicate, so a redelivered report books nothing twice.
  core::result<std::string> settle_report(const storage::inbox_row& row) {
    if (!row.object_id || row.object_id->empty())
      return core::make_error(core::errc::invalid_request, "The report event names no report.");
    auto got = ask_gateway<core::psp_settlement_report>(psp_report_atom::value, *row.object_id);
    if (auto* f = std::get_if<core::psp_failure>(&got))
      return psp_error(*f, "read the settlement report");
    auto report = std::get<core::psp_settlement_report>(std::move(got));
    auto c = connection();
    if (!c) return c.err();
    std::vector<core::psp_payout> paid;
    for (auto& p : report.payouts)
      if (p.status == core::payout_status::paid) paid.push_back(std::move(p));
    if (paid.empty()) {
      auto done = storage::inbox_mark_processed(**c, row.id, "ignored: the report pays nothing");
      if (!done) return done.err();
      return std::string("ignored: the report pays nothing");
    }
    std::size_t booked_count = 0;
    for (std::size_t i = 0; i < paid.size(); ++i) {
      storage::payout_booking b;
      b.psp = config.psp;
      b.payout = paid[i];
      for (const auto& bt : report.transactions)
        if (bt.payout == b.payout.id) b.balance_transactions.push_back(bt);
      if (i + 1 == paid.size()) b.inbox_id = row.id;
      auto booked = storage::book_payout(**c, b);
      if (!booked) {
        if (!(*c)->healthy()) conn.reset();
        return booked.err();
      }
      using r = storage::booking_outcome::result;
      if (booked->what == r::already_processed)
        return core::make_error(core::errc::already_processed, "The event was already applied.");
      if (booked->what == r::booked) {
        ++booked_count;
        core::log::info("payout settled from a report",
                        {{"payout", b.payout.id},
                         {"report", *row.object_id},
                         {"settlement", booked->settlement_id},
                         {"balance_transactions", std::to_string(booked->items)},
                         {"unmatched", std::to_string(booked->unmatched)}});
      }
    }
    return "settled " + std::to_string(booked_count) + " of " + std::to_string(paid.size()) +
           " payouts";
  }

  /// The PSP's balance transactions and payouts created in `wide`.
  core::status fetch_psp_window(const core::recon_window& wide,
                                std::vector<core::psp_balance_transaction>& bts,
                                std::vector<core::psp_payout>& pos) {
    core::psp_list_query q;
    q.created_gte = wide.from_s;
    q.created_lt = wide.to_s;
    // A PSP without list APIs (it settles by report files): its side is
    // what its reports said, as booked.
    q.limit = 1;
    auto probe = ask_gateway<core::psp_page<core::psp_balance_transaction>>(psp_bts_atom::value, q);
    if (auto* f = std::get_if<core::psp_failure>(&probe);
        f != nullptr && f->kind == core::psp_failure_kind::unsupported) {
      auto c = connection();
      if (!c) return c.err();
      return storage::settled_psp_window(**c, config.psp, wide.from_s, wide.to_s, bts, pos);
    }
    auto listed = balance_transactions(q);
    if (!listed) return listed.err();
    bts = std::move(*listed);
    auto listed_payouts = payouts(q);
    if (!listed_payouts) return listed_payouts.err();
    pos = std::move(*listed_payouts);
    return core::status::ok();
  }

  core::result<recon_run> reconcile(const recon_request& req) {
    if (req.psp != config.psp)
      return core::make_error(core::errc::not_found, "No such PSP: " + req.psp, "psp");
    auto day = core::utc_day_window(req.day);
    if (!day)
      return core::make_error(core::errc::invalid_request, "date must be a day as YYYY-MM-DD.",
                              "date");
    if (config.payout_poll_s > 0)
      if (auto settled = settle_listed_payouts(); !settled) return settled.err();
    auto c = connection();
    if (!c) return c.err();
    if (!req.rerun) {
      auto existing = storage::latest_run(**c, req.psp, req.day);
      if (!existing) return existing.err();
      if (*existing) return storage::load_run(**c, (*existing)->id);
    }
    auto started_ms = unix_ms();
    core::recon_window wide{day->from_s - core::limits::reconciliation_grace_s,
                            day->to_s + core::limits::reconciliation_grace_s};
    std::vector<core::psp_balance_transaction> bts;
    std::vector<core::psp_payout> pos;
    if (auto fetched = fetch_psp_window(wide, bts, pos); !fetched) return fetched.err();
    std::set<std::string> referenced;
    for (const auto& bt : bts)
      if (bt.payout) referenced.insert(*bt.payout);
    for (const auto& po : pos) referenced.insert(po.id);
    auto known_list = storage::known_payouts(
        **c, req.psp, std::vector<std::string>(referenced.begin(), referenced.end()));
    if (!known_list) return known_list.err();
    std::set<std::string> known(known_list->begin(), known_list->end());
    // A paid payout the engine never booked (its payout.paid was lost) is
    // booked now from the PSP's data, and one booked as paid that the PSP
    // now lists as failed is reversed (its payout.failed was lost): the
    // report then compares the books as they should be, and the log and
    // the run's count say what was caught up.
    std::vector<core::recon_difference> caught_up;
    auto caught = [&](const core::psp_payout& po, core::difference_kind kind,
                      std::string our_status, std::string detail) {
      // Reported on the day the PSP created the payout, like every record.
      if (po.created < day->from_s || po.created >= day->to_s) return;
      core::recon_difference d;
      d.kind = kind;
      d.object = core::record_object::payout;
      d.psp_reference = po.id;
      // The ledger had no record of it when the day was compared.
      if (kind != core::difference_kind::missing_in_ledger) d.our_reference = po.id;
      d.psp_amount_minor = po.amount;
      d.psp_currency = po.currency;
      d.psp_status = std::string(core::to_string(po.status));
      d.our_status = std::move(our_status);
      d.detail = std::move(detail);
      caught_up.push_back(std::move(d));
    };
    for (const auto& po : pos) {
      if (po.status == core::payout_status::paid && !known.count(po.id)) {
        auto booked = book_missed(**c, po);
        if (!booked) return booked.err();
        known.insert(po.id);
        if (*booked)
          caught(po, core::difference_kind::missing_in_ledger, "",
                 "The PSP paid this payout but its payout.paid never reached the engine; "
                 "reconciliation booked it now from the PSP's balance transactions.");
      } else if (po.status == core::payout_status::failed && known.count(po.id)) {
        auto reversed = fail_payout(**c, po, std::nullopt);
        if (!reversed) return reversed.err();
        if (*reversed == "payout failure reversed")
          caught(po, core::difference_kind::status_differs, "paid",
                 "The PSP reports this payout failed but its payout.failed never reached the "
                 "engine; reconciliation reversed its booking now.");
      }
    }
    std::vector<core::recon_record> theirs;
    std::map<std::string, core::recon_record> refunds;
    std::vector<std::string> refund_order;
    for (const auto& bt : bts) {
      if (bt.type == core::balance_tx_type::charge) {
        // Settlement status: the payout, when it is one we booked; "" (not
        // compared) when the PSP paid it in a payout we never received, which
        // is reported once, as that payout's own difference.
        std::string status = !bt.payout ? "pending" : known.count(*bt.payout) ? *bt.payout : "";
        theirs.push_back({core::record_object::charge, bt.payment_intent.value_or(bt.source), bt.id,
                          bt.amount, bt.currency, status, bt.created});
      } else if (bt.type == core::balance_tx_type::refund) {
        // A refund's movements meet on the refund: its money leaving and,
        // when it failed, coming back. Compared once, net, below.
        auto [at, fresh] = refunds.try_emplace(bt.source, core::recon_record{});
        if (fresh) {
          refund_order.push_back(bt.source);
          at->second = {core::record_object::refund,
                        bt.source,
                        bt.id,
                        0,
                        bt.currency,
                        std::string(core::to_string(core::refund_status::succeeded)),
                        bt.created};
        }
        at->second.amount_minor -= bt.amount;
      } else if (bt.type == core::balance_tx_type::dispute) {
        // A dispute's money, withdrawn (negative) or reinstated: matched to
        // what the engine booked for that dispute, summed per dispute.
        theirs.push_back({core::record_object::dispute,
                          bt.source,
                          bt.id,
                          bt.amount,
                          bt.currency,
                          {},
                          bt.created});
      }
      if (bt.fee != 0 && bt.payout && known.count(*bt.payout))
        theirs.push_back(
            {core::record_object::fee, bt.id, bt.id, bt.fee, bt.currency, {}, bt.created});
    }
    // A refund whose money came back (it failed) moved nothing: ours lists
    // only refunds that hold money, so neither side has it.
    for (const auto& key : refund_order)
      if (refunds.at(key).amount_minor != 0) theirs.push_back(refunds.at(key));
    for (const auto& po : pos)
      theirs.push_back({core::record_object::payout, po.id, po.id, po.amount, po.currency,
                        std::string(core::to_string(po.status)), po.created});
    auto ours = storage::our_recon_records(**c, req.psp, wide.from_s, wide.to_s);
    if (!ours) return ours.err();
    auto result = core::reconcile(*ours, theirs, *day);
    for (auto& d : caught_up) result.differences.push_back(std::move(d));
    storage::recon_run run;
    run.psp = req.psp;
    run.day = req.day;
    run.trigger = req.trigger;
    run.started_at_ms = started_ms;
    auto saved = storage::save_run(**c, run, result, req.rerun);
    if (!saved) return saved.err();
    core::log::info("reconciliation finished",
                    {{"run", saved->id},
                     {"psp", req.psp},
                     {"day", req.day},
                     {"psp_records", std::to_string(saved->psp_records)},
                     {"our_records", std::to_string(saved->our_records)},
                     {"differences", std::to_string(saved->differences)},
                     {"payouts_caught_up", std::to_string(caught_up.size())}});
    return saved;
  }
};

template <class T>
caf::result<T> reply(core::result<T>&& r) {
  if (r) return std::move(*r);
  return to_caf_error(r.err());
}

settlement_actor::behavior_type settlement_behavior(
    settlement_actor::stateful_pointer<settlement_state> self, settlement_config config,
    gateway_actor gateway) {
  self->state.config = std::move(config);
  self->state.system = &self->system();
  self->state.gateway = std::move(gateway);
  if (self->state.config.payout_poll_s > 0)
    self->delayed_send(self, std::chrono::seconds(self->state.config.payout_poll_s),
                       tick_atom::value);
  return {
      [self](tick_atom) {
        if (auto settled = self->state.settle_listed_payouts(); !settled)
          core::log::warn("polling the PSP's payouts failed; tried again on the next poll",
                          {{"psp", self->state.config.psp}, {"error", settled.err().message}});
        self->delayed_send(self, std::chrono::seconds(self->state.config.payout_poll_s),
                           tick_atom::value);
      },
      [self](settle_atom, const storage::inbox_row& row) -> caf::result<std::string> {
        return reply(self->state.settle(row));
      },
      [self](settle_report_atom, const storage::inbox_row& row) -> caf::result<std::string> {
        return reply(self->state.settle_report(row));
      },
      [self](reconcile_atom, const recon_request& req) -> caf::result<recon_run> {
        return reply(self->state.reconcile(req));
      },
      [self](suspense_list_atom, bool open_only,
             std::uint64_t limit) -> caf::result<suspense_items> {
        auto c = self->state.connection();
        if (!c) return to_caf_error(c.err());
        return reply(storage::list_suspense(**c, open_only, limit));
      },
      [self](suspense_clear_atom,
             const suspense_clear_request& req) -> caf::result<storage::suspense_item> {
        auto c = self->state.connection();
        if (!c) return to_caf_error(c.err());
        auto cleared = storage::clear_suspense(**c, req.id, req.account, req.reason, req.actor);
        if (cleared)
          core::log::info("suspense item cleared", {{"item", req.id},
                                                    {"account", req.account},
                                                    {"actor", req.actor},
                                                    {"reason", req.reason}});
        return reply(std::move(cleared));
      },
  };
}

// ---- the scheduler ------------------------------------------------------------------

struct scheduler_state {
  scheduler_state() = default;

  settlement_actor settlement;
  scheduler_config config;
  std::string pending_day;  ///< the day being (re)tried, empty when none

  static inline const char* name = "reconciliation_scheduler";
};

using scheduler_pointer = reconciliation_scheduler_actor::stateful_pointer<scheduler_state>;

void schedule_next(scheduler_pointer self) {
  auto now_s = unix_ms() / 1000;
  auto wait_s = core::seconds_until(now_s, self->state.config.time_of_day_s);
  self->delayed_send(self, std::chrono::seconds(wait_s), tick_atom::value);
}

reconciliation_scheduler_actor::behavior_type scheduler_behavior(scheduler_pointer self,
                                                                 settlement_actor settlement,
                                                                 scheduler_config config) {
  self->state.settlement = std::move(settlement);
  self->state.config = std::move(config);
  schedule_next(self);
  return {
      [self](tick_atom) {
        auto& st = self->state;
        if (st.pending_day.empty()) st.pending_day = core::utc_day_of(unix_ms() / 1000 - 86'400);
        recon_request req{st.config.psp, st.pending_day, "schedule", false};
        self->request(st.settlement, milliseconds(core::limits::reconciliation_request_timeout_ms),
                      reconcile_atom::value, req)
            .then(
                [self](const recon_run& run) {
                  self->state.pending_day.clear();
                  core::log::info("daily reconciliation done",
                                  {{"run", run.id},
                                   {"day", run.day},
                                   {"differences", std::to_string(run.differences)}});
                  schedule_next(self);
                },
                [self](caf::error& err) {
                  core::log::error(
                      "daily reconciliation failed; will retry",
                      {{"day", self->state.pending_day},
                       {"error", from_caf_error(err).message},
                       {"retry_in_ms", std::to_string(core::limits::reconciliation_retry_ms)}});
                  self->delayed_send(self, milliseconds(core::limits::reconciliation_retry_ms),
                                     tick_atom::value);
                });
      },
  };
}

}  // namespace

settlement_actor spawn_settlement_actor(caf::actor_system& sys, settlement_config config,
                                        gateway_actor gateway) {
  return sys.spawn<caf::detached>(settlement_behavior, std::move(config), std::move(gateway));
}

reconciliation_scheduler_actor spawn_reconciliation_scheduler(caf::actor_system& sys,
                                                              settlement_actor settlement,
                                                              scheduler_config config) {
  return sys.spawn(scheduler_behavior, std::move(settlement), std::move(config));
}

}  // namespace pay::actors
