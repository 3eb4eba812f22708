#pragma once

// Every typed actor interface of the engine, on one page, so the whole
// message protocol can be read at once. Handlers that can fail answer a
// caf::error made by to_caf_error (category "payment").

#include <functional>
#include <map>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"

namespace pay::actors {

/// The STORAGE actor: owns one PostgreSQL connection on its own thread
/// (spawned detached), reconnects with backoff, answers storage_unavailable
/// while the database is away. Every write is atomic; intent writes, key
/// claims and answers and webhook inserts waiting together share one
/// transaction (group commit, a savepoint each: actors/write_batch.hpp).
/// Its interface is the union of the areas below; each consumer holds the
/// handle of the areas it uses (a handle converts to any subset of its
/// interface), so what a component may ask of storage is in its types.

/// The STORAGE actor's OPERATIONS AND INTENTS area: API keys, intents and
/// their audit, refunds, idempotency keys and operation records.
using storage_operations_actor = caf::typed_actor<
    // Resolves the SHA-256 hash of an API key to its merchant (nullopt: no such key).
    caf::replies_to<authenticate_atom, std::string>::with<merchant_ref>,
    // Reports whether the database answers and every migration is applied.
    caf::replies_to<ready_atom>::with<readiness>,
    // Lists one merchant's payment intents, newest first.
    caf::replies_to<list_atom, list_query>::with<storage::intent_page>,
    // Reads one of a merchant's intents: (merchant id, intent id).
    caf::replies_to<fetch_atom, std::string, std::string>::with<core::payment_intent>,
    // Loads any intent by id, to hydrate its actor.
    caf::replies_to<load_atom, std::string>::with<core::payment_intent>,
    // Writes an intent change with its audit rows (and refund, recovery
    // point) in one transaction; answers the new version or version_conflict.
    caf::replies_to<write_atom, storage::intent_write>::with<std::int64_t>,
    // Reads an intent's audit history.
    caf::replies_to<audit_atom, audit_query>::with<audit_list>,
    // Reads one of a merchant's refunds: (merchant id, refund id).
    caf::replies_to<refund_get_atom, std::string, std::string>::with<core::refund>,
    // Claims an idempotency key: fresh, resume, replay, mismatch or in_flight.
    caf::replies_to<idem_begin_atom,
                    storage::idempotency_request>::with<storage::idempotency_record>,
    // Stores a request's final answer and releases its key.
    caf::replies_to<idem_finish_atom, idem_answer>::with<bool>,
    // Releases a key without an answer, so a retry resumes (retryable failure).
    caf::replies_to<idem_release_atom, std::int64_t>::with<bool>,
    // Records an admitted operation before its PSP call (psp_requested).
    caf::replies_to<idem_admit_atom, storage::idempotency_admission>::with<bool>,
    // The engine's intent id for a PSP intent: (psp, PSP id).
    caf::replies_to<psp_ref_atom, std::string, std::string, std::string>::with<optional_id>,
    // Deletes idempotency keys older than (retention hours); answers how many.
    caf::replies_to<expire_keys_atom, std::int64_t>::with<std::int64_t>,
    // The refund booked for a PSP refund id, if any.
    caf::replies_to<refund_ref_atom, std::string>::with<optional_refund>>;

/// The STORAGE actor's INBOX area: verified webhook events, their claims,
/// retries and dead letters, and the poll for stuck intents.
using storage_inbox_actor = caf::typed_actor<
    // Stores a verified webhook event once per (psp, event id).
    caf::replies_to<inbox_add_atom, storage::inbox_item>::with<storage::inbox_receipt>,
    // Claims due events: (batch max, lease ms).
    caf::replies_to<inbox_claim_atom, std::uint64_t, std::int64_t>::with<inbox_rows>,
    // Marks an event processed that changes no intent: (inbox id, outcome).
    caf::replies_to<inbox_done_atom, std::int64_t, core::inbox_outcome>::with<bool>,
    // Records a failed attempt, due again later: (inbox id, attempt, error, delay ms).
    caf::replies_to<inbox_retry_atom, std::int64_t, std::int32_t, std::string,
                    std::int64_t>::with<bool>,
    // Records the last failed attempt and dead-letters: (inbox id, attempt, error, reason).
    caf::replies_to<inbox_dead_atom, std::int64_t, std::int32_t, std::string,
                    std::string>::with<bool>,
    // Queue depth, oldest pending age, open dead letters.
    caf::replies_to<inbox_stats_atom>::with<storage::inbox_stats>,
    // Lists dead letters with their attempts: (include resolved, limit).
    caf::replies_to<dead_list_atom, bool, std::uint64_t>::with<dead_letter_list>,
    // Makes one dead letter (or all unresolved, given none) due again.
    caf::replies_to<dead_replay_atom, optional_id>::with<id_list>,
    // Intents pending without change for (idle ms), at most (limit).
    caf::replies_to<stuck_atom, std::int64_t, std::uint64_t>::with<id_list>>;

/// The STORAGE actor's LEDGER area: accounts, entries, the trial balance,
/// reconciliation runs, settlements and disputes.
using storage_ledger_actor = caf::typed_actor<
    // A merchant's ledger accounts with balances.
    caf::replies_to<ledger_accounts_atom, ledger_query>::with<account_page>,
    // One of a merchant's accounts' entries, newest first (another's: not_found).
    caf::replies_to<ledger_entries_atom, ledger_query>::with<entry_page>,
    // The journal transactions of one of a merchant's intents: (merchant, intent).
    caf::replies_to<ledger_tx_atom, std::string, std::string>::with<ledger_transactions>,
    // The trial balance per currency, over every account.
    caf::replies_to<trial_balance_atom>::with<trial_balance_lines>,
    // One reconciliation run with its counts and differences, by id.
    caf::replies_to<recon_get_atom, std::string>::with<recon_run>,
    // For the metrics: per PSP, the latest run's differences by kind and its time.
    caf::replies_to<recon_metrics_atom>::with<recon_metrics>,
    // The payouts that settled one of a merchant's intents: (merchant, intent).
    caf::replies_to<settlements_atom, std::string, std::string>::with<intent_settlements>,
    // Records the PSP's news of a dispute with its postings and the inbox
    // mark in one transaction; answers the inbox outcome (dispute); errors:
    // not_found while the engine has no intent for it, already_processed
    // when done before.
    caf::replies_to<dispute_record_atom, storage::dispute_news>::with<core::inbox_outcome>,
    // One of a merchant's disputes: (merchant, dispute id).
    caf::replies_to<dispute_get_atom, std::string, std::string>::with<core::dispute>,
    // A page of a merchant's disputes, filtered by status or intent.
    caf::replies_to<dispute_list_atom, storage::dispute_query>::with<storage::dispute_page>,
    // The disputes of one of a merchant's intents: (merchant, intent).
    caf::replies_to<dispute_intent_atom, std::string, std::string>::with<dispute_list>,
    // Records evidence the PSP accepted (compare-and-swap on the version).
    caf::replies_to<dispute_evidence_atom, evidence_record>::with<core::dispute>,
    // Every open dispute by deadline (inspector, metrics).
    caf::replies_to<disputes_open_atom>::with<dispute_list>>;

/// The STORAGE actor's LINKS area: payment links and their visits.
using storage_links_actor = caf::typed_actor<
    // Stores a payment link (a retry with its id answers the stored one).
    caf::replies_to<link_create_atom, storage::payment_link>::with<storage::payment_link>,
    // Reads a link: (link id, merchant id or none for the public page).
    caf::replies_to<link_get_atom, std::string, optional_id>::with<storage::payment_link>,
    // Turns a merchant's link on or off: (link id, merchant id, active).
    caf::replies_to<link_active_atom, std::string, std::string, bool>::with<storage::payment_link>,
    // Lists one merchant's payment links, newest first.
    caf::replies_to<link_list_atom, link_list_query>::with<storage::payment_link_page>,
    // The intent of one visit of a link: (link id, visit hash).
    caf::replies_to<visit_get_atom, std::string, std::string>::with<optional_id>,
    // Records a visit's intent (the first one stays): (link, visit hash, intent).
    caf::replies_to<visit_put_atom, std::string, std::string, std::string>::with<std::string>>;

/// The STORAGE actor's ROUTING area: merchants' routing rules and the
/// attempts and orphans of routed creates.
using storage_routing_actor = caf::typed_actor<
    // A merchant's current routing rules (version 0: none set).
    caf::replies_to<routing_get_atom, std::string>::with<storage::routing_record>,
    // Replaces a merchant's routing rules (validated) with its audit event:
    // (merchant, rules, actor).
    caf::replies_to<routing_put_atom, std::string, core::routing_rules,
                    std::string>::with<storage::routing_record>,
    // A create's routing: the merchant's rules (cached for
    // limits::routing_rules_cache_ttl_s) and the attempts recorded for the
    // intent, none read on a create's first attempt: (merchant, intent,
    // first attempt).
    caf::replies_to<routing_plan_atom, std::string, std::string, bool>::with<storage::routing_plan>,
    // Records a create's attempt at a PSP, before the PSP call (durable when
    // answered).
    caf::replies_to<routing_try_atom, storage::routing_attempt>::with<bool>,
    // Records what became of an orphan PSP intent left by a failed-over create.
    caf::replies_to<routing_orphan_atom, storage::routing_orphan>::with<bool>,
    // A merchant's latest routing attempts, newest first: (merchant, limit).
    caf::replies_to<routing_recent_atom, std::string, std::uint64_t>::with<routing_attempt_list>>;

/// The whole STORAGE actor: every area, and its own group-commit tick.
using storage_actor =
    storage_operations_actor::extend_with<storage_inbox_actor, storage_ledger_actor,
                                          storage_links_actor, storage_routing_actor>::
        extend<
            // To itself: commit the writes gathered since the last batch (group commit).
            caf::reacts_to<flush_atom>>;

/// The PSP GATEWAY actor, one per PSP account: a circuit breaker, a limit on
/// calls in flight and a deadline on each. Failures come back as values
/// (psp_outcome), never as caf::error: an open breaker answers a retryable
/// failure at once without calling the PSP. A call that carries its
/// request's deadline gets min(configured PSP timeout, time left) as its
/// timeout; one still queued (beyond the in-flight limit) when its deadline
/// passes is answered a retryable failure without calling the PSP.
using gateway_actor = caf::typed_actor<
    // Creates the PSP's intent (request, idempotency key, deadline).
    caf::replies_to<psp_create_atom, psp_create_request>::with<psp_intent_outcome>,
    // Reads the PSP's intent: (PSP id, request id).
    caf::replies_to<psp_get_atom, std::string, std::string>::with<psp_intent_outcome>,
    // Captures at the PSP.
    caf::replies_to<psp_capture_atom, psp_modification_request>::with<psp_intent_outcome>,
    // Cancels at the PSP.
    caf::replies_to<psp_cancel_atom, psp_modification_request>::with<psp_intent_outcome>,
    // Refunds at the PSP.
    caf::replies_to<psp_refund_atom, psp_modification_request>::with<psp_refund_outcome>,
    // Confirms a payment the shopper approved (PayPal: authorizes or captures the order).
    caf::replies_to<psp_confirm_atom, psp_modification_request>::with<psp_intent_outcome>,
    // One page of the PSP's balance transactions (settlement, reconciliation).
    caf::replies_to<psp_bts_atom, core::psp_list_query>::with<psp_balance_page_outcome>,
    // One page of the PSP's payouts (reconciliation).
    caf::replies_to<psp_payouts_atom, core::psp_list_query>::with<psp_payout_page_outcome>,
    // One payout by the PSP's id (settlement).
    caf::replies_to<psp_payout_atom, std::string>::with<psp_payout_outcome>,
    // The settlement report a report_available event names (settlement).
    caf::replies_to<psp_report_atom, std::string>::with<psp_report_outcome>,
    // Sends a dispute's evidence and submits it (POST /v1/disputes/{id}).
    caf::replies_to<psp_evidence_atom, psp_evidence_request>::with<psp_dispute_outcome>,
    // A finished PSP call handing its result back to the actor's thread.
    caf::reacts_to<psp_done_atom, completion>>;

/// The gateways by PSP account name: an intent's calls go to the gateway of
/// the PSP it records (core::payment_intent::psp).
using gateway_set = std::map<std::string, gateway_actor, std::less<>>;

/// The PAYMENT INTENT actor: sole writer of one intent's state. It handles
/// one command at a time to the end (PSP call and write included), so 50
/// concurrent captures see one capture and 49 refusals. It enforces the
/// state machine of core/intent_fsm.hpp; a refused command answers
/// invalid_state with the current status and changes nothing.
using intent_actor = caf::typed_actor<
    // Creates the PSP's intent, then the engine's (or answers it when a retry finds it made).
    caf::replies_to<create_atom, create_command>::with<core::payment_intent>,
    // Captures an authorised intent (partial allowed; the rest is released).
    caf::replies_to<capture_atom, capture_command>::with<core::payment_intent>,
    // Cancels: voids an authorisation or abandons an unpaid intent.
    caf::replies_to<cancel_atom, cancel_command>::with<core::payment_intent>,
    // Refunds up to what was received, partially and repeatedly.
    caf::replies_to<refund_atom, refund_command>::with<refund_result>,
    // Reads the intent, first refreshing a pending one from the PSP.
    caf::replies_to<get_atom, get_command>::with<core::payment_intent>,
    // Applies a PSP event from the inbox and marks it processed in the same
    // write; a stale or repeated event is recorded as ignored. Answers the
    // inbox outcome; already_processed when another worker applied it first.
    caf::replies_to<apply_atom, apply_command>::with<core::inbox_outcome>,
    // Applies a PSP refund event: a refund made at the PSP directly is booked
    // (transition, refund row, postings); a known one gets its new status.
    caf::replies_to<apply_refund_atom, apply_refund_command>::with<core::inbox_outcome>,
    // Refreshes a pending intent from the PSP (the missed-webhook poll).
    caf::replies_to<refresh_atom, std::string>::with<core::payment_intent>,
    // Expires a lapsed authorisation (the expiry scan): asks the PSP, cancels
    // its hold there (key "expire:<id>"), then authorized -> expired with the
    // hold released. Answers what it did (core::expiry_result: superseded when
    // the PSP's read showed a later state, recorded instead).
    caf::replies_to<expire_atom, std::string>::with<core::expiry_result>,
    // Stops the actor when it has been idle long enough (state is in the database).
    caf::reacts_to<idle_atom>,
    // Stops the actor now: the router needs its place for another intent and
    // has no request of its own waiting on it (state is in the database).
    caf::reacts_to<passivate_atom>>;

/// The INTENT ROUTER: intent id -> live intent actor, spawned and hydrated on
/// demand, forgotten when it stops; a command that races an actor's
/// passivation is re-sent to a fresh one.
using intent_router_actor = caf::typed_actor<
    caf::replies_to<create_atom, create_command>::with<core::payment_intent>,
    caf::replies_to<capture_atom, capture_command>::with<core::payment_intent>,
    caf::replies_to<cancel_atom, cancel_command>::with<core::payment_intent>,
    caf::replies_to<refund_atom, refund_command>::with<refund_result>,
    caf::replies_to<get_atom, get_command>::with<core::payment_intent>,
    caf::replies_to<apply_atom, apply_command>::with<core::inbox_outcome>,
    caf::replies_to<apply_refund_atom, apply_refund_command>::with<core::inbox_outcome>,
    caf::replies_to<refresh_atom, std::string>::with<core::payment_intent>,
    caf::replies_to<expire_atom, std::string>::with<core::expiry_result>,
    // Live intent actors and their backlog (metrics).
    caf::replies_to<census_atom>::with<actor_census>>;

/// The WEBHOOK WORKER: claims due inbox events, hands each to its intent
/// actor through the router, retries failures with full-jitter backoff and
/// dead-letters what keeps failing; also polls the PSP for intents whose
/// webhooks never came. Spawned under a supervisor that restarts it.
using webhook_worker_actor = caf::typed_actor<
    // New events are in the inbox: claim now rather than at the next poll.
    caf::reacts_to<wake_atom>,
    // The periodic poll of the inbox.
    caf::reacts_to<tick_atom>,
    // The periodic poll for stuck intents.
    caf::reacts_to<stuck_atom>>;

/// The SETTLEMENT actor, one per PSP account, detached (its own PostgreSQL
/// connection; it waits on the PSP connector): books paid payouts from the
/// inbox and runs reconciliations. Long work, so it is kept off the storage
/// actors that serve the API.
using settlement_actor = caf::typed_actor<
    // Books the payout of one claimed paid-payout inbox row (fetching the
    // payout and its balance transactions) and marks the row processed in
    // the same transaction; answers "settled", "duplicate" or "ignored: ...".
    caf::replies_to<settle_atom, storage::inbox_row>::with<std::string>,
    // Books every payout of the settlement report a report_available row names.
    caf::replies_to<settle_report_atom, storage::inbox_row>::with<std::string>,
    // Runs the reconciliation of (psp, day), or answers the existing run.
    caf::replies_to<reconcile_atom, recon_request>::with<recon_run>,
    // To itself, for a PSP that announces no payouts (settlement_config::
    // payout_poll_s): books the paid payouts its list shows that are not booked yet.
    caf::reacts_to<tick_atom>,
    // Suspense items (every PSP's), newest first: (open only, limit).
    caf::replies_to<suspense_list_atom, bool, std::uint64_t>::with<suspense_items>,
    // Clears one suspense item to an account, for a reason (audited).
    caf::replies_to<suspense_clear_atom, suspense_clear_request>::with<storage::suspense_item>>;

/// The EXPIRY SCAN: on a timer, finds authorised intents whose expires_at
/// passed and tells each intent actor (through the router) to expire it,
/// and warns merchants of authorisations about to lapse. Detached: it owns
/// a PostgreSQL connection. Deadlines live in the database, so a restarted
/// engine's first scan finds what the previous one left.
using expiry_scan_actor = caf::typed_actor<
    // The periodic scan.
    caf::reacts_to<scan_atom>>;

/// The ORPHAN RESCAN: on a timer, finds routing orphans (what a failed-over
/// create may have left at a PSP) that no one handled past a grace window
/// (the engine crashed before its background cancel, or the PSP was down
/// through it) and finds and cancels each at its PSP, recording the outcome
/// once (actors/orphan_rescan.hpp). Detached: it owns a PostgreSQL connection.
using orphan_rescan_actor = caf::typed_actor<
    // The periodic scan.
    caf::reacts_to<scan_atom>>;

/// The RECONCILIATION SCHEDULER: once a day at a configured UTC time asks the
/// settlement actors to reconcile the previous UTC day; retries a failed run.
using reconciliation_scheduler_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

}  // namespace pay::actors
