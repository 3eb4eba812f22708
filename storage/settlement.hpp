#pragma once

/// Settlement and reconciliation storage: booking a PSP payout once, the
/// links from intents to the payouts that settled them, our side of a
/// reconciliation, and the runs with their differences. Tables:
/// storage/migrations/0006_settlement.sql.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/psp.hpp"
#include "core/reconciliation.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// A paid payout with all its balance transactions, to book.
struct payout_booking {
  std::string psp;
  core::psp_payout payout;
  std::vector<core::psp_balance_transaction> balance_transactions;
  /// The inbox row of the payout.paid event, marked processed in the same
  /// transaction; nullopt when booking on demand.
  std::optional<std::int64_t> inbox_id;
  std::string inbox_outcome = "settled";
};

/// What book_payout did.
struct booking_outcome {
  enum class result { booked, duplicate, already_processed };
  result what = result::booked;
  std::string settlement_id;  ///< "stl_...", also for a duplicate
  std::size_t merchants = 0;  ///< journal transactions written
  std::size_t items = 0;
  std::size_t unmatched = 0;          ///< balance transactions we could not attribute
  std::size_t suspense_items = 0;     ///< of them (or parts), booked to suspense
  std::int64_t booked_net_minor = 0;  ///< to merchants' banks (not suspense)
};

/// Books `b` once per (psp, payout): the payout row, one item per balance
/// transaction (attributed to the merchant of its charge or refund, or
/// recorded as unmatched), one settlement journal per merchant, and the
/// inbox row processed, in ONE database transaction. A payout booked before
/// (by a redelivery or a concurrent worker) is `duplicate` and writes
/// nothing but the inbox mark; an inbox row already processed is
/// `already_processed` and writes nothing.
core::result<booking_outcome> book_payout(pg_connection& conn, const payout_booking& b);

/// One settlement of an intent's charge or refund: what the API shows.
struct intent_settlement {
  std::string payout;         ///< the PSP's payout id (po_...)
  std::string settlement_id;  ///< ours (stl_...)
  std::string balance_transaction;
  std::string type;  ///< charge | refund
  std::int64_t amount = 0;
  std::int64_t fee = 0;
  std::int64_t net = 0;
  std::string currency;
  std::string payout_status;
  std::int64_t settled_at_s = 0;  ///< when we booked it
};

/// The settlements of one of a merchant's intents, oldest first (empty for
/// another merchant's intent or an unsettled one).
core::result<std::vector<intent_settlement>> settlements_for_intent(pg_connection& conn,
                                                                    const std::string& merchant_id,
                                                                    const std::string& intent_id);

/// Our records for reconciliation between [from_s, to_s) (unix seconds):
/// captures per intent (with the payout that settled each, or "pending"),
/// refunds with a PSP reference, settled fees per balance transaction, and
/// booked payouts.
core::result<std::vector<core::recon_record>> our_recon_records(pg_connection& conn,
                                                                const std::string& psp,
                                                                std::int64_t from_s,
                                                                std::int64_t to_s);

/// Which of `payout_ids` we have booked.
core::result<std::vector<std::string>> known_payouts(pg_connection& conn, const std::string& psp,
                                                     const std::vector<std::string>& payout_ids);

/// The PSP's balance transactions and payouts created in [from_s, to_s) as
/// the engine booked them from its settlement reports: the PSP's side of a
/// reconciliation for a PSP that reports settlement as files (no list
/// APIs). Items are the report's lines, matched or not.
core::status settled_psp_window(pg_connection& conn, const std::string& psp, std::int64_t from_s,
                                std::int64_t to_s, std::vector<core::psp_balance_transaction>& bts,
                                std::vector<core::psp_payout>& payouts);

/// A stored reconciliation run.
struct recon_run {
  std::string id;  ///< "rcn_..."
  std::string psp;
  std::string day;  ///< YYYY-MM-DD
  int sequence = 1;
  std::string trigger;  ///< schedule | api | cli
  std::int64_t psp_records = 0;
  std::int64_t our_records = 0;
  std::int64_t matched = 0;
  std::int64_t differences = 0;
  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;
  /// Count per kind, every kind present (zero when none).
  std::vector<std::pair<std::string, std::int64_t>> counts;
  std::vector<core::recon_difference> details;
};

/// The latest run for (psp, day), if any (without details).
core::result<std::optional<recon_run>> latest_run(pg_connection& conn, const std::string& psp,
                                                  const std::string& day);

/// Stores a finished run with its differences. Unless `rerun`, a run that
/// already exists for (psp, day) wins and is answered instead (the same
/// run comes back); a rerun adds the next sequence number. Answers the run.
core::result<recon_run> save_run(pg_connection& conn, const recon_run& run,
                                 const core::recon_result& result, bool rerun);

/// One run with its counts and differences; not_found for an unknown id.
core::result<recon_run> load_run(pg_connection& conn, const std::string& id);

/// For the metrics: per PSP, its latest run (by finish time) with counts by
/// kind and the finish time.
struct recon_metrics_line {
  std::string psp;
  std::string run_id;
  std::string day;
  std::int64_t finished_at_ms = 0;  ///< 0 (and run_id empty) when the PSP has no run yet
  std::vector<std::pair<std::string, std::int64_t>> counts;  ///< every kind; empty without a run
  /// Booked payouts the PSP reported failed (reversed), ever.
  std::int64_t payout_failures = 0;
  /// Per currency: the suspense balance (credit side), the open items and
  /// the creation time (unix s) of the oldest open one, 0 when none.
  struct suspense_line {
    std::string currency;
    std::int64_t balance_minor = 0;
    std::int64_t open_items = 0;
    std::int64_t oldest_open_s = 0;
  };
  std::vector<suspense_line> suspense;
};
/// One line per PSP that has a run, a payout failure or suspense.
core::result<std::vector<recon_metrics_line>> reconciliation_metrics(pg_connection& conn);

}  // namespace pay::storage

namespace pay::storage {

/// A payout the PSP reports failed after it was booked as paid.
struct payout_failure_booking {
  std::string psp;
  std::string psp_payout_id;
  std::string failure_code;  ///< the PSP's (Stripe: account_closed, ...), may be empty
  /// The inbox row of the payout.failed event, marked processed in the same
  /// transaction; nullopt when booking on demand.
  std::optional<std::int64_t> inbox_id;
};

/// What reverse_failed_payout did.
struct payout_failure_outcome {
  enum class result { reversed, duplicate, not_booked, already_processed };
  result what = result::reversed;
  std::string settlement_id;      ///< the failed payout's stl_..., empty when not booked
  std::size_t merchants = 0;      ///< merchants whose shares were reversed
  std::size_t journals = 0;       ///< reversal transactions written
  std::int64_t reversed_net = 0;  ///< what returns from merchants' banks to the receivable
};

/// Reverses, in ONE database transaction, every journal the booking of a
/// failed payout wrote (its merchants' settlements and its suspense lines):
/// each a reversal naming the original, so the money is back on the PSP's
/// receivable and off the banks; one settlement_payout_failures row (the
/// failure is booked at most once: a redelivery is `duplicate`), a cleared
/// suspense line's clearing reversed before the line itself (the account it
/// was cleared to gives it back, so suspense never goes below zero), one audit
/// row and one outbound `payout.failed` event per merchant, and the inbox
/// row processed. A payout never booked (failed before it was paid, or its
/// paid event not processed yet) is `not_booked` and only marks the inbox.
core::result<payout_failure_outcome> reverse_failed_payout(pg_connection& conn,
                                                           const payout_failure_booking& f);

/// One suspense item with its clearing, if any.
struct suspense_item {
  std::string id;  ///< sus_...
  std::string psp;
  std::string payout;  ///< the PSP's payout id it came in
  std::string balance_transaction;
  std::string type;
  std::string source;
  std::optional<std::string> psp_intent;
  std::int64_t amount = 0;
  std::int64_t fee = 0;
  std::int64_t net = 0;
  std::string currency;
  std::string reason;
  std::string transaction_id;
  std::int64_t created_s = 0;
  /// open | cleared | reversed (its payout failed: its booking, and its
  /// clearing when it had one, were reversed; `cleared_*` still say where
  /// it had gone)
  std::string status;
  std::optional<std::string> cleared_to;
  std::optional<std::string> cleared_reason;
  std::optional<std::string> cleared_by;
  std::optional<std::string> clearing_transaction;
};

/// Suspense items, newest first; `open_only` leaves out cleared and reversed
/// ones. At most `limit`.
core::result<std::vector<suspense_item>> list_suspense(pg_connection& conn, bool open_only,
                                                       std::size_t limit);

/// One suspense item; not_found when unknown.
core::result<suspense_item> find_suspense(pg_connection& conn, const std::string& id);

/// Clears suspense item `id` to the account `target` (a chart key,
/// "code:scope", in the item's currency) for `reason`, decided by `actor`:
/// core::postings::suspense_clearing and the suspense_clearings row in one
/// transaction. not_found for an unknown item or a merchant account of an
/// unknown merchant; invalid_state when it is cleared already or its payout
/// failed (its booking was reversed); invalid_request for a bad account or
/// reason. Answers the item as cleared.
core::result<suspense_item> clear_suspense(pg_connection& conn, const std::string& id,
                                           const std::string& target, const std::string& reason,
                                           const std::string& actor);

/// Per PSP and currency: the suspense balance (credit side) and the number
/// of open items, for reconciliation's report and the metrics.
struct suspense_balance {
  std::string psp;
  std::string currency;
  std::int64_t balance_minor = 0;
  std::int64_t open_items = 0;
  std::int64_t oldest_open_s = 0;  ///< created_at of the oldest open item; 0 when none
};
core::result<std::vector<suspense_balance>> suspense_balances(pg_connection& conn);

}  // namespace pay::storage
