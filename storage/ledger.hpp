#pragma once

/// The ledger's repository: accounts, journal transactions and their entries,
/// balances and the trial balance, over the schema of 0004_ledger.sql.
///
/// Writing a posting inside an intent's write (storage::write_intent's
/// transaction lambda), after the intent row and any refund row:
///
/// ```cpp
///   for (const auto& p : w.postings) {            // std::vector<ledger_posting>
///     auto posted = insert_journal(tx, p.journal, p.context);
///     if (!posted.ok()) return posted.error;      // rolls the whole write back
///   }
/// ```
///
/// The database checks balance at COMMIT (deferred triggers), so an
/// unbalanced journal written by any path fails the commit of the whole
/// intent write: a transition without its postings cannot exist.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ledger.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// One stored account: a key in one currency.
struct ledger_account {
  std::int64_t id = 0;
  core::account_key key;
  core::account_type type = core::account_type::asset;
  core::normal_side normal = core::normal_side::debit;
  std::string currency;
  std::optional<std::string> merchant_id;  ///< set for merchant-scoped accounts
  std::optional<std::string> psp;          ///< set for PSP-scoped accounts
  std::int64_t created_us = 0;             ///< unix microseconds
};

/// The accounts `jtx` writes to, created when missing (idempotent, safe under
/// concurrent writers), as ids aligned with `jtx.entries`. A merchant-scoped
/// account needs its merchant to exist. Works inside or outside a
/// transaction.
core::result<std::vector<std::int64_t>> ensure_accounts(pg_connection& conn,
                                                        const core::journal_tx& jtx);

/// The id of the account `key` in `currency`, created when missing.
core::result<std::int64_t> ensure_account(pg_connection& conn, const core::account_key& key,
                                          const std::string& currency);

/// What a journal transaction points at; every field is optional.
struct post_context {
  std::optional<std::string> intent_id;  ///< the payment intent it books
  std::optional<std::string> refund_id;  ///< the refund it books
  std::optional<std::string> reverses;   ///< the transaction it reverses (kind "reversal")
};

/// A journal ready to write with what it points at: what an intent write
/// carries (one per posting of core::postings_for_transition).
struct ledger_posting {
  core::journal_tx journal;
  post_context context;
};

/// What insert_journal did: the new transaction's id, or the failure.
struct journal_outcome {
  std::string transaction_id;
  std::optional<db_error> error;

  bool ok() const { return !error.has_value(); }
};

/// Writes `jtx` and its entries: the low-level form for a caller inside
/// `pg_connection::transaction`, whose lambda answers a db_error. A journal
/// refused by core::validate comes back without touching the database as a
/// db_error of kind `refused` (SQLSTATE P0001, like the database's own ledger
/// triggers). The header and the entries go in ONE statement, so outside a
/// transaction the journal still commits or fails whole.
journal_outcome insert_journal(pg_connection& conn, const core::journal_tx& jtx,
                               const post_context& ctx = {});

/// Writes `jtx`, answering its id ("ltx_..."). An invalid journal is the
/// error of core::validate (invalid_request, or limit_exceeded on overflow)
/// and nothing is written; a second reversal of one transaction is
/// invalid_state (param "reverses"); database failures are mapped by
/// to_core_error. Inside the caller's transaction it commits and rolls back
/// with it; the balance check runs at that COMMIT.
core::result<std::string> post(pg_connection& conn, const core::journal_tx& jtx,
                               const post_context& ctx = {});

/// One stored entry, with its account and transaction.
struct stored_entry {
  std::int64_t id = 0;
  std::string transaction_id;
  std::string kind;  ///< the transaction's kind
  std::int64_t account_id = 0;
  core::account_key account;
  std::int64_t debit_minor = 0;
  std::int64_t credit_minor = 0;
  std::string currency;
  std::int64_t created_us = 0;  ///< the transaction's time, unix microseconds
};

/// One stored journal transaction with its entries in written order.
struct stored_transaction {
  std::string id;
  std::string kind;
  std::string memo;
  std::optional<std::string> intent_id;
  std::optional<std::string> refund_id;
  std::optional<std::string> reverses;
  std::optional<std::string> reversed_by;  ///< the reversal of this one, if any
  std::int64_t created_us = 0;             ///< unix microseconds
  std::vector<stored_entry> entries;

  /// The journal as core sees it, e.g. to build its reversal.
  core::journal_tx journal() const;
};

/// One stored transaction; not_found when unknown.
core::result<stored_transaction> find_transaction(pg_connection& conn, const std::string& id);

/// Reverses the booking of refund `refund_id` (its one `refund` transaction):
/// the low-level form for a caller inside `pg_connection::transaction`, like
/// insert_journal. A refund with no booking, or one already reversed, is
/// refused (the caller's transaction then rolls back).
journal_outcome reverse_refund_booking(pg_connection& conn, const std::string& refund_id);

/// Reverses the booking of the capture of `after` (its one capture
/// transaction not yet reversed) and sets its hold to
/// `after.amount_capturable` (core::postings::capture_reversal): for a
/// caller inside `pg_connection::transaction`. An intent with no such
/// capture is refused (the caller's transaction then rolls back).
journal_outcome reverse_capture_booking(pg_connection& conn, const core::payment_intent& after);

/// The mirror of transaction `id`, inside the caller's transaction (as
/// insert_journal): refused when unknown; a second reversal fails on
/// ledger_transactions_reversed_once and rolls the caller back.
journal_outcome reverse_in(pg_connection& tx, const std::string& id);

/// Posts the reversal of transaction `id` (core::postings::reversal),
/// pointing at it and at its intent and refund; the original stays.
/// not_found when unknown, invalid_state (param "reverses") when already
/// reversed.
core::result<std::string> reverse(pg_connection& conn, const std::string& id);

/// An instant for "as of" queries; microseconds are what PostgreSQL keeps.
using ledger_time = std::chrono::sys_time<std::chrono::microseconds>;

/// An account's sums. `balance_minor` is counted on the account's normal
/// side: debits - credits for debit-normal accounts (assets, expenses,
/// contra revenue, auth_holds), credits - debits for the others.
struct account_balance {
  std::int64_t debits_minor = 0;
  std::int64_t credits_minor = 0;
  std::int64_t balance_minor = 0;
};

/// The balance of `key` in `currency` from its entries, of transactions
/// recorded at or before `as_of` when given. An account never written to
/// balances at zero. Sums beyond int64 are limit_exceeded.
core::result<account_balance> balance(pg_connection& conn, const core::account_key& key,
                                      const std::string& currency,
                                      std::optional<ledger_time> as_of = std::nullopt);

/// The balance of the account with id `account_id`; not_found when unknown.
core::result<account_balance> balance(pg_connection& conn, std::int64_t account_id,
                                      std::optional<ledger_time> as_of = std::nullopt);

/// One page of a list, oldest first for accounts, newest first for entries.
template <class T>
struct ledger_page {
  std::vector<T> data;
  bool has_more = false;
};

/// Accounts in id order after `starting_after` (an account id), of one
/// merchant when `merchant_id` is given (PSP-scoped accounts have none).
core::result<ledger_page<ledger_account>> list_accounts(
    pg_connection& conn, const std::optional<std::string>& merchant_id, std::size_t limit,
    std::optional<std::int64_t> starting_after = std::nullopt);

/// One account by id; not_found when unknown.
core::result<ledger_account> find_account(pg_connection& conn, std::int64_t account_id);

/// The account's entries, newest first, after `starting_after` (an entry id
/// of that account; another account's is not_found). not_found for an
/// unknown account.
core::result<ledger_page<stored_entry>> list_entries(
    pg_connection& conn, std::int64_t account_id, std::size_t limit,
    std::optional<std::int64_t> starting_after = std::nullopt);

/// Every journal transaction of the intent, oldest first, with entries.
core::result<std::vector<stored_transaction>> transactions_for_intent(pg_connection& conn,
                                                                      const std::string& intent_id);

/// One currency's line of the trial balance: the sums of every entry, real
/// accounts and memo accounts apart.
struct trial_balance_line {
  std::string currency;
  std::int64_t debits_minor = 0;
  std::int64_t credits_minor = 0;
  std::int64_t memo_debits_minor = 0;
  std::int64_t memo_credits_minor = 0;
  /// Debits equal credits, for real and for memo accounts.
  bool balanced = true;
};

/// The trial balance per currency (sorted by currency), from all entries or
/// those recorded at or before `as_of`.
core::result<std::vector<trial_balance_line>> trial_balance(
    pg_connection& conn, std::optional<ledger_time> as_of = std::nullopt);

}  // namespace pay::storage
