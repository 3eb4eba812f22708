#pragma once

// The engine's message vocabulary: atoms and the value types actors exchange,
// in one place. Every actor runs in this process and messages are never
// serialised, so the value types are whitelisted as local-only below rather
// than given inspectors (CAF 0.17's inspectors know no std::optional).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "core/circuit_breaker.hpp"
#include "core/deadline.hpp"
#include "core/error.hpp"
#include "core/inbox_outcome.hpp"
#include "core/payment_intent.hpp"
#include "core/psp.hpp"
#include "storage/disputes.hpp"
#include "storage/idempotency.hpp"
#include "storage/inbox.hpp"
#include "storage/intents.hpp"
#include "storage/ledger.hpp"
#include "storage/merchants.hpp"
#include "storage/payment_links.hpp"
#include "storage/routing.hpp"
#include "storage/settlement.hpp"

namespace pay::actors {

// CAF 0.17 atoms: at most 10 characters each.
using authenticate_atom = caf::atom_constant<caf::atom("auth")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using audit_atom = caf::atom_constant<caf::atom("audit")>;
using refund_get_atom = caf::atom_constant<caf::atom("refundget")>;
using idem_begin_atom = caf::atom_constant<caf::atom("idembegin")>;
using idem_finish_atom = caf::atom_constant<caf::atom("idemfinish")>;
using idem_release_atom = caf::atom_constant<caf::atom("idemrel")>;
using idem_admit_atom = caf::atom_constant<caf::atom("idemadmit")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using capture_atom = caf::atom_constant<caf::atom("capture")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using refund_atom = caf::atom_constant<caf::atom("refund")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using psp_create_atom = caf::atom_constant<caf::atom("pspcreate")>;
using psp_get_atom = caf::atom_constant<caf::atom("pspget")>;
using psp_capture_atom = caf::atom_constant<caf::atom("pspcapture")>;
using psp_cancel_atom = caf::atom_constant<caf::atom("pspcancel")>;
using psp_refund_atom = caf::atom_constant<caf::atom("psprefund")>;
using psp_done_atom = caf::atom_constant<caf::atom("pspdone")>;
using psp_bts_atom = caf::atom_constant<caf::atom("pspbts")>;
using psp_payouts_atom = caf::atom_constant<caf::atom("psppayouts")>;
using psp_payout_atom = caf::atom_constant<caf::atom("psppayout")>;
using psp_report_atom = caf::atom_constant<caf::atom("pspreport")>;
using psp_confirm_atom = caf::atom_constant<caf::atom("pspconfirm")>;
using inbox_add_atom = caf::atom_constant<caf::atom("inboxadd")>;
using inbox_claim_atom = caf::atom_constant<caf::atom("inboxclaim")>;
using inbox_done_atom = caf::atom_constant<caf::atom("inboxdone")>;
using inbox_retry_atom = caf::atom_constant<caf::atom("inboxretry")>;
using inbox_dead_atom = caf::atom_constant<caf::atom("inboxdead")>;
using inbox_stats_atom = caf::atom_constant<caf::atom("inboxstats")>;
using dead_list_atom = caf::atom_constant<caf::atom("deadlist")>;
using dead_replay_atom = caf::atom_constant<caf::atom("deadreplay")>;
using psp_ref_atom = caf::atom_constant<caf::atom("pspref")>;
using stuck_atom = caf::atom_constant<caf::atom("stuck")>;
using apply_atom = caf::atom_constant<caf::atom("apply")>;
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using ledger_accounts_atom = caf::atom_constant<caf::atom("ledgeracct")>;
using ledger_entries_atom = caf::atom_constant<caf::atom("ledgerent")>;
using ledger_tx_atom = caf::atom_constant<caf::atom("ledgertx")>;
using trial_balance_atom = caf::atom_constant<caf::atom("trialbal")>;
using expire_keys_atom = caf::atom_constant<caf::atom("expirekeys")>;
using refund_ref_atom = caf::atom_constant<caf::atom("refundref")>;
using apply_refund_atom = caf::atom_constant<caf::atom("applyrfnd")>;
using link_create_atom = caf::atom_constant<caf::atom("linkcreate")>;
using link_get_atom = caf::atom_constant<caf::atom("linkget")>;
using link_list_atom = caf::atom_constant<caf::atom("linklist")>;
using visit_get_atom = caf::atom_constant<caf::atom("visitget")>;
using visit_put_atom = caf::atom_constant<caf::atom("visitput")>;
using link_active_atom = caf::atom_constant<caf::atom("linkactive")>;
using census_atom = caf::atom_constant<caf::atom("census")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;
using settle_report_atom = caf::atom_constant<caf::atom("settlerep")>;
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
using recon_get_atom = caf::atom_constant<caf::atom("recon_get")>;
using suspense_list_atom = caf::atom_constant<caf::atom("suslist")>;
using suspense_clear_atom = caf::atom_constant<caf::atom("susclear")>;
using recon_metrics_atom = caf::atom_constant<caf::atom("recon_mtr")>;
using settlements_atom = caf::atom_constant<caf::atom("settlemnts")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using dispute_record_atom = caf::atom_constant<caf::atom("dprecord")>;
using dispute_get_atom = caf::atom_constant<caf::atom("dpget")>;
using dispute_list_atom = caf::atom_constant<caf::atom("dplist")>;
using dispute_intent_atom = caf::atom_constant<caf::atom("dpintent")>;
using dispute_evidence_atom = caf::atom_constant<caf::atom("dpevidence")>;
using disputes_open_atom = caf::atom_constant<caf::atom("dpopen")>;
using psp_evidence_atom = caf::atom_constant<caf::atom("pspevid")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using scan_atom = caf::atom_constant<caf::atom("scan")>;
using routing_get_atom = caf::atom_constant<caf::atom("routeget")>;
using routing_put_atom = caf::atom_constant<caf::atom("routeput")>;
using routing_plan_atom = caf::atom_constant<caf::atom("routeplan")>;
using routing_try_atom = caf::atom_constant<caf::atom("routetry")>;
using routing_orphan_atom = caf::atom_constant<caf::atom("routeorph")>;
using routing_recent_atom = caf::atom_constant<caf::atom("routerecnt")>;

/// Who an API key belongs to; nullopt for an unknown or revoked key.
using merchant_ref = std::optional<storage::merchant>;

/// What /readyz reports.
struct readiness {
  bool database_ok = false;
  bool migrations_ok = false;
  std::string detail;  ///< why not ready, for the operator
};

/// A page request over a merchant's intents.
struct list_query {
  std::string merchant_id;
  std::size_t limit = 10;
  std::optional<std::string> starting_after;
};

/// An audit history request: (merchant, intent).
struct audit_query {
  std::string merchant_id;
  std::string intent_id;
};
using audit_list = std::vector<core::audit_event>;

/// Finishing an idempotent request: the stored answer.
struct idem_answer {
  std::int64_t id = 0;
  int status = 0;
  std::string body;
};

/// Creates (or resumes creating) one intent: the PSP's intent, then the row.
struct create_command {
  core::payment_intent
      intent;  ///< id, merchant, amount, currency, capture, description, metadata, psp
  std::int64_t idempotency_id = 0;
  std::string psp_key;          ///< idempotency key for the PSP, stable across retries
  std::string request_id = {};  ///< the HTTP request's id, passed on to the PSP
  /// The request's deadline: no hop of the command waits past it (zero:
  /// none given, each hop's own timeout applies).
  std::chrono::steady_clock::time_point deadline = {};
  /// Where the PSP sends the shopper back after a redirect; empty: none.
  std::string return_url = {};
  /// The request named no PSP: the merchant's routing rules choose the PSP
  /// list (intent.psp, the merchant's default, when none match) and a PSP
  /// that cannot be reached fails over to the next (core/routing.hpp).
  bool routed = false;
  /// What routing rules may match on besides amount and currency.
  std::string payment_method_type = "card";
  /// The sender knows no row of this intent can exist (its idempotency key
  /// is at `started`, or it has none): a newly spawned actor skips its
  /// hydration read.
  bool known_new = false;
  /// No earlier attempt of this create ran (its idempotency key was claimed
  /// fresh, or it has none), so it left nothing to continue: a routed
  /// create reads no earlier routing attempts.
  bool first_attempt = false;
  /// Renders the request's final answer (the body of a 200) from the
  /// written intent. With an idempotency record, the intent's insert stores
  /// that answer in the same transaction (recovery point `finished`) and
  /// sets `answer_stored`, so the caller need not store it again. Empty:
  /// the caller stores the answer itself.
  std::function<std::string(const core::payment_intent&)> render_answer = {};
  std::shared_ptr<std::atomic<bool>> answer_stored = {};
};

/// Captures an authorised intent, fully or partly.
struct capture_command {
  std::string merchant_id;
  std::string intent_id;
  std::optional<std::int64_t> amount;
  std::int64_t idempotency_id = 0;
  std::string psp_key;          ///< idempotency key for the PSP, stable across retries
  std::string request_id = {};  ///< the HTTP request's id, passed on to the PSP
  /// The operation was admitted by an earlier attempt (psp_requested): repeat
  /// the PSP call with the same key and record what happened; decide nothing.
  bool resume = false;
  /// The request's deadline: no hop of the command waits past it (zero:
  /// none given, each hop's own timeout applies).
  std::chrono::steady_clock::time_point deadline = {};
};

/// Voids an authorisation (or abandons an unpaid intent).
struct cancel_command {
  std::string merchant_id;
  std::string intent_id;
  std::int64_t idempotency_id = 0;
  std::string psp_key;
  std::string request_id = {};  ///< the HTTP request's id, passed on to the PSP
  bool resume = false;          ///< as for capture_command
  /// The request's deadline: no hop of the command waits past it (zero:
  /// none given, each hop's own timeout applies).
  std::chrono::steady_clock::time_point deadline = {};
};

/// Refunds (part of) what an intent received.
struct refund_command {
  std::string merchant_id;
  std::string intent_id;
  std::string refund_id;  ///< ours, stable across retries of one request
  std::optional<std::int64_t> amount;
  std::optional<std::string> reason;
  std::int64_t idempotency_id = 0;
  std::string psp_key;
  std::string request_id = {};  ///< the HTTP request's id, passed on to the PSP
  bool resume = false;          ///< as for capture_command
  /// The request's deadline: no hop of the command waits past it (zero:
  /// none given, each hop's own timeout applies).
  std::chrono::steady_clock::time_point deadline = {};
};

/// Reads an intent through its actor (which refreshes a pending one from
/// the PSP first).
struct get_command {
  std::string merchant_id;
  std::string intent_id;
  std::string request_id = {};  ///< the HTTP request's id, passed on to the PSP
  /// The request's deadline: no hop of the command waits past it (zero:
  /// none given, each hop's own timeout applies).
  std::chrono::steady_clock::time_point deadline = {};
};

/// A refund and the intent after it.
struct refund_result {
  core::refund refund;
  core::payment_intent intent;
};

/// Applies one PSP event about an intent (from the webhook inbox).
struct apply_command {
  std::string intent_id;
  std::int64_t inbox_id = 0;
  std::string event_id;
  std::string event_type;  ///< the PSP's name of the event type, for the audit text
  core::psp_intent view;   ///< the PSP's intent as the event carries it
  /// The PSP captures an automatic-capture payment as it authorises it and
  /// reports the authorisation only (core::psp_provider).
  bool authorisation_captures = false;
};

/// A page of one merchant's ledger: (merchant, account id or 0, limit, after).
struct ledger_query {
  std::string merchant_id;
  std::int64_t account_id = 0;
  std::size_t limit = 10;
  std::optional<std::int64_t> starting_after;
};

/// Accounts with their balances as of now.
struct account_with_balance {
  storage::ledger_account account;
  storage::account_balance balance;
};
struct account_page {
  std::vector<account_with_balance> data;
  bool has_more = false;
};
using entry_page = storage::ledger_page<storage::stored_entry>;
using ledger_transactions = std::vector<storage::stored_transaction>;
using trial_balance_lines = std::vector<storage::trial_balance_line>;

/// Applies one PSP refund event (a refund created or changed at the PSP).
struct apply_refund_command {
  std::string intent_id;
  std::int64_t inbox_id = 0;
  std::string event_id;
  std::string event_type;  ///< the PSP's name of the event type, for the audit text
  core::psp_refund view;
};
using optional_refund = std::optional<core::refund>;

/// Runs the reconciliation of one UTC day for one PSP (or answers the run
/// that exists, unless `rerun`).
struct recon_request {
  std::string psp;
  std::string day;              ///< YYYY-MM-DD
  std::string trigger = "api";  ///< schedule | api | cli
  bool rerun = false;
};
using recon_run = storage::recon_run;
/// Per PSP, its latest run's difference counts by kind and finish time.
using recon_metrics = std::vector<storage::recon_metrics_line>;
using intent_settlements = std::vector<storage::intent_settlement>;
using suspense_items = std::vector<storage::suspense_item>;
/// An operator's decision about a suspense item (POST
/// /v1/admin/suspense/{id}/clear).
struct suspense_clear_request {
  std::string id;
  std::string account;  ///< "code:scope"
  std::string reason;
  std::string actor;
};

using inbox_rows = std::vector<storage::inbox_row>;
using dead_letter_list = std::vector<storage::dead_letter_view>;
using optional_id = std::optional<std::string>;
using id_list = std::vector<std::string>;

/// The gateway's answers.
using psp_intent_outcome = core::psp_outcome<core::psp_intent>;
using psp_refund_outcome = core::psp_outcome<core::psp_refund>;
using psp_balance_page_outcome = core::psp_outcome<core::psp_page<core::psp_balance_transaction>>;
using psp_payout_page_outcome = core::psp_outcome<core::psp_page<core::psp_payout>>;
using psp_payout_outcome = core::psp_outcome<core::psp_payout>;
using psp_report_outcome = core::psp_outcome<core::psp_settlement_report>;
using psp_dispute_outcome = core::psp_outcome<core::psp_dispute>;

/// Disputes as the storage actor answers them.
using dispute_list = std::vector<core::dispute>;

/// Routing attempts, newest first (GET /v1/routing).
using routing_attempt_list = std::vector<storage::routing_attempt>;

/// Evidence to send to the PSP for a dispute: its id there, the evidence
/// (a flat JSON object of strings), the PSP idempotency key, the deadline.
struct psp_evidence_request {
  std::string psp_dispute_id;
  std::string evidence_json;
  std::string idempotency_key;
};

/// Evidence the PSP accepted, to record: the dispute as read before the
/// call (its version guards the write), the evidence, the PSP's status.
struct evidence_record {
  core::dispute before;
  std::string evidence_json;
  core::dispute_status psp_status = core::dispute_status::under_review;
};

/// A capture, cancellation or refund at the PSP, with the PSP idempotency
/// key that makes a repeat of it act once.
struct psp_modification_request {
  core::psp_modification modification;
  std::string idempotency_key;
  /// The request's deadline: the gateway's call timeout is cut to it, and a
  /// call still queued when it passes is not made (zero: none, the
  /// configured PSP timeout applies).
  core::deadline_point deadline = {};
};

/// Creates the PSP's intent, with the PSP idempotency key that makes a
/// repeat answer the same intent.
struct psp_create_request {
  core::psp_create_intent intent;
  std::string idempotency_key;
  /// As for psp_modification_request.
  core::deadline_point deadline = {};
};

/// Work to run on an actor's own thread (a PSP callback handing back).
struct completion {
  std::function<void()> run;
};

/// A page request over a merchant's payment links.
struct link_list_query {
  std::string merchant_id;
  std::size_t limit = 10;
  std::optional<std::string> starting_after;
};

/// The intent router's count of live intent actors and their backlog, for
/// metrics. An intent actor's pending requests are the ones the router sent
/// it and has no answer for yet: its mailbox plus the one in hand.
struct actor_census {
  std::size_t intent_actors = 0;
  std::size_t intent_pending_total = 0;
  std::size_t intent_pending_max = 0;
  std::size_t router_mailbox = 0;  ///< the router's own mailbox, read on its thread
};

/// The category of every engine error carried in a caf::error.
inline constexpr caf::atom_value error_category = caf::atom("payment");

}  // namespace pay::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::merchant_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::readiness)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::list_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::audit_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::audit_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::idem_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::create_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::capture_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::cancel_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::refund_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::get_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::refund_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_intent_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_refund_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_balance_page_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_payout_page_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_payout_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_report_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::psp_list_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_modification_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_create_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::completion)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::intent_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::intent_write)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::idempotency_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::idempotency_admission)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::idempotency_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::payment_intent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::psp_create_intent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::refund)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::apply_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::inbox_rows)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::dead_letter_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::optional_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::inbox_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::inbox_receipt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::inbox_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::ledger_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::account_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::entry_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::ledger_transactions)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::trial_balance_lines)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::apply_refund_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::optional_refund)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::payment_link)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::routing_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::routing_plan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::routing_attempt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::routing_orphan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::routing_rules)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::routing_attempt_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::payment_link_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::link_list_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::actor_census)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::recon_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::recon_run)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::recon_metrics)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::intent_settlements)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::suspense_items)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::suspense_clear_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::suspense_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::inbox_row)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::dispute_news)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::dispute_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::dispute_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::dispute)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::dispute_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_dispute_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::psp_evidence_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::evidence_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::inbox_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::expiry_result)
