// GET /metrics (Prometheus text exposition 0.0.4), the per-request metrics
// and access log, and the webhook receive metrics. The metric families the
// engine updates as it works are in actors/engine_metrics.hpp; the values
// read at scrape time (queue, dead letters, trial balance, actors, breaker,
// reconciliation) are asked for here, each with a deadline, so a slow or
// absent database costs a scrape at most limits::metrics_scrape_timeout_ms
// and the scrape still answers, without those series, counting the miss in
// payments_scrape_errors_total{source}.

#include <chrono>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "actors/inspector.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "net/api_context.hpp"

#include "core/crypto.hpp"

namespace pay::net::api {

namespace m = core::metrics;

actors::metrics::engine_metrics& engine_metrics() {
  return actors::metrics::engine();
}

namespace {

/// The method as a label: the client chooses it, so anything but the
/// standard methods is "other" (labels stay bounded).
std::string_view method_label(std::string_view method) {
  for (std::string_view known : {"GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
    if (method == known) return known;
  return "other";
}

}  // namespace

responder observe_request(call* c, responder inner) {
  auto started = std::chrono::steady_clock::now();
  return [c, inner = std::move(inner), started](http_response res) {
    auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto status = std::to_string(res.status);
    auto& e = engine_metrics();
    auto method = method_label(c->req.method);
    e.http_requests.with({c->route, method, status}).inc();
    e.http_request_duration.with({c->route, method}).observe(seconds);
    // The intent a /v1/payment_intents/{id}/... request is about.
    std::string_view intent = c->intent_id;
    if (intent.empty() && c->route.starts_with("/v1/payment_intents/{id}") && !c->params.empty())
      intent = c->params[0];
    auto duration_ms = std::to_string(static_cast<std::int64_t>(seconds * 1000));
    const core::log::field fields[] = {{"request_id", c->request_id},
                                       {"method", c->req.method},
                                       {"route", c->route},
                                       {"status", status},
                                       {"duration_ms", duration_ms},
                                       {"merchant_id", c->merchant.id},
                                       {"intent_id", intent},
                                       {"psp_event_id", c->psp_event_id},
                                       {"actor", "api"}};
    // Probes and scrapes come every few seconds: kept out of the info log.
    bool probe = c->route == "/metrics" || c->route == "/healthz" || c->route == "/readyz";
    auto level = res.status >= 500 ? core::log::level::warn
                 : probe           ? core::log::level::debug
                                   : core::log::level::info;
    core::log::write_fields(level, "request", fields);
    inner(std::move(res));
  };
}

void observe_webhook_received(const std::string& psp, bool duplicate,
                              std::chrono::steady_clock::time_point started) {
  auto& e = engine_metrics();
  e.webhook_receive_duration.with({psp}).observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (duplicate) e.webhook_duplicates.with({psp}).inc();
}

namespace {

using deadline_type = std::chrono::milliseconds;

/// The latest reconciliation run of each PSP, with its differences counted
/// by kind (every kind, zeros included), from the storage actor.
void collect_reconciliation_differences(caf::event_based_actor* self,
                                        const actors::storage_actor& storage,
                                        deadline_type deadline,
                                        std::function<void(actors::recon_metrics)> done,
                                        std::function<void()> failed) {
  self->request(storage, deadline, actors::recon_metrics_atom::value)
      .then([done](actors::recon_metrics& lines) { done(std::move(lines)); },
            [failed](caf::error&) { failed(); });
}

/// The values read during one scrape, rendered when every read has answered
/// or missed its deadline.
struct scrape {
  call_ptr c;
  int pending = 0;
  std::deque<m::sampled_family> families;  ///< a deque: add() references stay valid

  m::sampled_family& add(std::string name, std::string help, std::vector<std::string> labels) {
    families.push_back(
        m::sampled_family{std::move(name), std::move(help), m::metric_type::gauge, labels, {}});
    return families.back();
  }
  void failed(std::string_view source) {
    engine_metrics().scrape_errors.with({source}).inc();
    core::log::warn("metrics scrape read failed",
                    {{"source", source}, {"request_id", c->request_id}});
  }
  void finish(caf::event_based_actor* self) {
    if (--pending > 0) return;
    std::string out;
    for (const auto& f : families)
      if (!f.samples.empty()) m::render(out, f);
    out += engine_metrics().registry.render();
    http_response res;
    res.content_type = std::string(m::content_type);
    res.body = std::move(out);
    c->answer(std::move(res));
    self->quit();
  }
};

/// The reads a scrape waits for, one answer (or miss) each.
constexpr std::string_view scrape_sources[] = {"inbox_stats", "trial_balance", "actor_census",
                                               "reconciliation", "disputes"};

void serve_metrics(api_state& st, const call_ptr& c) {
  // With --metrics-token, only the scraper that holds it reads the metrics
  // (they name routes, PSPs and volumes); compared in constant time.
  if (const auto& token = st.options.metrics_token; !token.empty()) {
    auto given = bearer_key(c->req);
    if (given.empty() || !core::constant_time_equal(given, token)) {
      auto res = error_response(401, "invalid_request_error", "unauthorized",
                                "/metrics needs 'Authorization: Bearer <metrics token>'.");
      res.headers.emplace_back("WWW-Authenticate", "Bearer");
      return c->answer(std::move(res));
    }
  }
  auto* state = &st;
  auto storage = st.storage();
  auto trial_storage = st.storage();
  auto dispute_storage = st.storage();
  auto psp_names = st.options.psps->names();
  spawn_function(st.sys(), [state, c, storage, trial_storage, dispute_storage,
                            psp_names](caf::event_based_actor* self) {
    auto s = std::make_shared<scrape>();
    s->c = c;
    s->pending = static_cast<int>(std::size(scrape_sources));
    const deadline_type deadline{core::limits::metrics_scrape_timeout_ms};

    self->request(storage, deadline, actors::inbox_stats_atom::value)
        .then(
            [self, s](storage::inbox_stats& stats) {
              s->add("payments_webhook_queue_depth",
                     "Webhook events received and not yet processed (nor dead-lettered).", {})
                  .samples.push_back({{}, static_cast<double>(stats.pending)});
              s->add("payments_webhook_oldest_pending_age_seconds",
                     "Age of the oldest webhook event not yet processed; 0 when none is.", {})
                  .samples.push_back({{}, static_cast<double>(stats.oldest_pending_age_ms) / 1000});
              s->add("payments_dead_letters_open", "Dead letters not yet resolved by a replay.", {})
                  .samples.push_back({{}, static_cast<double>(stats.dead_letters_open)});
              s->finish(self);
            },
            [self, s](caf::error&) {
              s->failed("inbox_stats");
              s->finish(self);
            });

    self->request(trial_storage, deadline, actors::trial_balance_atom::value)
        .then(
            [self, s](actors::trial_balance_lines& lines) {
              auto& f = s->add(
                  "payments_ledger_trial_balance_difference_minor",
                  "Debits minus credits over every ledger entry, in minor units, per currency and "
                  "book (real or memo accounts); anything but 0 means the ledger is broken.",
                  {"currency", "book"});
              for (const auto& l : lines) {
                f.samples.push_back(
                    {{l.currency, "real"}, static_cast<double>(l.debits_minor - l.credits_minor)});
                f.samples.push_back(
                    {{l.currency, "memo"},
                     static_cast<double>(l.memo_debits_minor - l.memo_credits_minor)});
              }
              s->finish(self);
            },
            [self, s](caf::error&) {
              s->failed("trial_balance");
              s->finish(self);
            });

    // Every registered actor, by kind, from the inspector registry (each
    // actor samples its own mailbox when it takes a message).
    {
      auto& live = s->add("payments_actors_live", "Live actors by kind.", {"kind"});
      auto& depth =
          s->add("payments_actor_mailbox_depth",
                 "Messages waiting in the mailboxes of the actors of a kind, summed (each "
                 "actor's depth as of the last message it took).",
                 {"kind"});
      auto& deepest = s->add("payments_actor_mailbox_depth_max",
                             "The deepest mailbox of one actor of a kind.", {"kind"});
      for (const auto& k : actors::inspector::summarize()) {
        live.samples.push_back({{k.kind}, static_cast<double>(k.live)});
        depth.samples.push_back({{k.kind}, static_cast<double>(k.mailbox_total)});
        deepest.samples.push_back({{k.kind}, static_cast<double>(k.mailbox_max)});
      }
    }

    self->request(state->actors.router, deadline, actors::census_atom::value)
        .then(
            [self, s](actors::actor_census& census) {
              s->add("payments_intent_requests_pending",
                     "Requests the intent router sent to payment intent actors and has no answer "
                     "for yet (their mailboxes plus the command each has in hand), summed.",
                     {})
                  .samples.push_back({{}, static_cast<double>(census.intent_pending_total)});
              s->add("payments_intent_requests_pending_max",
                     "The deepest such backlog of a single payment intent actor.", {})
                  .samples.push_back({{}, static_cast<double>(census.intent_pending_max)});
              s->finish(self);
            },
            [self, s](caf::error&) {
              s->failed("actor_census");
              s->finish(self);
            });

    // The gateways' breakers and load, from the inspector registry (each
    // gateway publishes them on every call), so no actor is asked.
    {
      auto& breaker = s->add("payments_psp_circuit_breaker_state",
                             "The PSP circuit breaker's state: 1 for the current one (closed, "
                             "open, half_open), 0 for the others.",
                             {"psp", "state"});
      auto& in_flight =
          s->add("payments_psp_calls_in_flight", "PSP calls made and not yet answered.", {"psp"});
      auto now = actors::inspector::unix_ms();
      for (const auto& g : actors::inspector::list(actors::inspector::kind::psp_gateway,
                                                   core::limits::inspector_list_max)
                               .actors) {
        auto current = actors::inspector::breaker_state_now(g, now);
        for (auto st : {core::breaker_state::closed, core::breaker_state::open,
                        core::breaker_state::half_open}) {
          auto name = std::string(core::to_string(st));
          breaker.samples.push_back({{g.key, name}, current == name ? 1.0 : 0.0});
        }
        in_flight.samples.push_back({{g.key}, static_cast<double>(g.in_flight)});
      }
    }

    // Open disputes per PSP and the time left to the nearest evidence
    // deadline of those that still need a response (alert
    // PaymentsDisputeDeadlineNear).
    self->request(dispute_storage, deadline, actors::disputes_open_atom::value)
        .then(
            [self, s, psp_names](actors::dispute_list& open) {
              auto& count = s->add("payments_disputes_open",
                                   "Disputes not yet won or lost, by PSP.", {"psp"});
              auto& left = s->add(
                  "payments_dispute_deadline_seconds",
                  "Seconds until the nearest evidence deadline of a dispute that still needs a "
                  "response, by PSP (negative when one has passed); absent when none.",
                  {"psp"});
              std::map<std::string, std::int64_t> per_psp;
              std::map<std::string, std::int64_t> nearest;
              for (const auto& name : psp_names) per_psp[name] = 0;
              auto now_s = actors::inspector::unix_ms() / 1000;
              for (const auto& d : open) {
                ++per_psp[d.psp];
                if (!d.evidence_due_by ||
                    (d.status != core::dispute_status::needs_response &&
                     d.status != core::dispute_status::warning_needs_response))
                  continue;
                auto secs = *d.evidence_due_by - now_s;
                auto it = nearest.find(d.psp);
                if (it == nearest.end() || secs < it->second) nearest[d.psp] = secs;
              }
              for (const auto& [psp, n] : per_psp)
                count.samples.push_back({{psp}, static_cast<double>(n)});
              for (const auto& [psp, secs] : nearest)
                left.samples.push_back({{psp}, static_cast<double>(secs)});
              s->finish(self);
            },
            [self, s](caf::error&) {
              s->failed("disputes");
              s->finish(self);
            });

    collect_reconciliation_differences(
        self, storage, deadline,
        [self, s](actors::recon_metrics lines) {
          auto& f = s->add("payments_reconciliation_differences",
                           "Differences between our books and the PSP's found by the latest "
                           "reconciliation run, by PSP and kind.",
                           {"psp", "kind"});
          auto& t = s->add("payments_reconciliation_last_run_timestamp_seconds",
                           "When the latest reconciliation run of the PSP finished (unix seconds).",
                           {"psp"});
          auto& pf = s->add("payments_payout_failures_total",
                            "Booked payouts the PSP reported failed, whose booking was reversed.",
                            {"psp"});
          auto& sb = s->add("payments_suspense_balance_minor",
                            "PSP money booked to suspense and not cleared, by PSP and currency "
                            "(minor units).",
                            {"psp", "currency"});
          auto& so = s->add("payments_suspense_open_items",
                            "Suspense items neither cleared nor reversed, by PSP and currency.",
                            {"psp", "currency"});
          auto& sa = s->add("payments_suspense_oldest_open_timestamp_seconds",
                            "When the oldest open suspense item was booked (unix seconds).",
                            {"psp", "currency"});
          for (const auto& line : lines) {
            for (const auto& [kind, count] : line.counts)
              f.samples.push_back({{line.psp, kind}, static_cast<double>(count)});
            if (!line.run_id.empty())
              t.samples.push_back({{line.psp}, static_cast<double>(line.finished_at_ms) / 1000.0});
            pf.samples.push_back({{line.psp}, static_cast<double>(line.payout_failures)});
            for (const auto& x : line.suspense) {
              sb.samples.push_back({{line.psp, x.currency}, static_cast<double>(x.balance_minor)});
              so.samples.push_back({{line.psp, x.currency}, static_cast<double>(x.open_items)});
              if (x.oldest_open_s > 0)
                sa.samples.push_back(
                    {{line.psp, x.currency}, static_cast<double>(x.oldest_open_s)});
            }
          }
          s->finish(self);
        },
        [self, s] {
          s->failed("reconciliation");
          s->finish(self);
        });
  });
}

}  // namespace

void add_metrics_routes(api_state& st) {
  // Unauthenticated, like every Prometheus target: aggregates only, no
  // merchant data, ids or secrets. Bind the engine to loopback (the
  // default) or guard the port at the network.
  st.public_routes.add("GET", "/metrics", &serve_metrics);
  // Present at 0 from the start, so an alert on their increase works.
  for (auto source : scrape_sources) engine_metrics().scrape_errors.with({source});
}

}  // namespace pay::net::api
