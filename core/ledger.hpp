#pragma once

/// The double-entry ledger's posting rules: pure functions from domain events
/// to balanced journal transactions.
///
/// Nothing here touches the database: `storage/ledger.hpp` writes what these
/// functions build, and the database checks the same invariants again. Every
/// amount is an `std::int64_t` count of minor units, never a float, and every
/// sum goes through `core::checked_add`.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/payment_intent.hpp"

namespace pay::core {

/// What an account is in the books; decides which statements it belongs to.
enum class account_type : std::uint8_t {
  /// What we are owed or hold: the PSP's receivable, the merchant's bank.
  asset,
  /// What we owe to others: suspense (money whose owner is not known yet).
  liability,
  /// Income: captured sales.
  revenue,
  /// Costs: the PSP's fees.
  expense,
  /// Reductions of revenue kept apart from it: refunds.
  contra_revenue,
  /// Off-balance-sheet bookkeeping: authorisation holds. Memo entries balance
  /// among themselves, so they can never hide an imbalance of real money.
  memo,
};

/// The type's snake_case name, as stored in the database.
std::string_view to_string(account_type type);

/// Parses a name written by `to_string(account_type)`.
std::optional<account_type> parse_account_type(std::string_view name);

/// The side on which an account's balance grows.
enum class normal_side : std::uint8_t { debit, credit };

/// "debit" or "credit".
std::string_view to_string(normal_side side);

/// What an account's scope names: a merchant ("mch_...") or a PSP ("stripe").
enum class scope_kind : std::uint8_t { merchant, psp };

/// Every account of the chart. The code is the key's first half; the scope
/// (a merchant id or a PSP name) is the second: `psp_receivable:stripe`.
enum class account_code : std::uint8_t {
  /// Asset, per PSP: captured money the PSP holds for us until it pays out.
  psp_receivable,
  /// Revenue, per merchant: captured sales.
  merchant_revenue,
  /// Contra revenue, per merchant: refunded sales.
  refunds,
  /// Expense, per PSP: the PSP's processing fees.
  psp_fees,
  /// Asset, per merchant: money paid out to the merchant's bank account.
  bank,
  /// Memo, per merchant: open authorisation holds (debit normal).
  auth_holds,
  /// Memo, per merchant: the other side of `auth_holds` (credit normal).
  auth_hold_offset,
  /// Contra revenue, per merchant: sales the PSP withdrew for open disputes
  /// (like `refunds`, but given back only while the dispute is open).
  disputes,
  /// Expense, per merchant: disputed sales lost for good.
  dispute_losses,
  /// Liability, per PSP: PSP money nobody is known to own yet (a balance
  /// transaction the engine cannot attribute), until an operator clears it.
  suspense,
  /// Asset, per PSP: what the PSP paid out for suspense money, attributed to
  /// no merchant's bank.
  unattributed_cash,
};

/// One row of the chart of accounts: what the code means and how it behaves.
struct account_code_info {
  account_code code;
  /// The code as written in keys and the database, e.g. "psp_receivable".
  std::string_view name;
  account_type type;
  /// The side a balance is counted on. Decided per code rather than per
  /// type because the two memo accounts of a hold have opposite sides.
  normal_side normal;
  scope_kind scope;
  /// One sentence for the docs and the console.
  std::string_view meaning;
};

/// The chart of accounts, one row per `account_code` in declaration order.
/// The docs and the database's CHECK on (code, type) follow this table.
std::span<const account_code_info> chart_of_accounts();

/// The chart's row for `code`.
const account_code_info& info(account_code code);

/// The code named `name` ("psp_receivable"), or nothing.
std::optional<account_code> parse_account_code(std::string_view name);

/// Longest scope (merchant id or PSP name) of an account key.
inline constexpr std::size_t account_scope_length_max = 64;

/// True when `scope` may appear in an account key: 1 to
/// `account_scope_length_max` characters of [A-Za-z0-9_-], so a key
/// "code:scope" splits back unambiguously at its one ':'.
bool valid_account_scope(std::string_view scope);

/// Names one account up to its currency: a code and its scope. An account is
/// a key together with ONE currency; the same key in two currencies is two
/// accounts (a PSP's usd and eur receivables are never summed).
struct account_key {
  account_code code = account_code::psp_receivable;
  /// The merchant id or PSP name, as `info(code).scope` says.
  std::string scope;

  /// "code:scope", e.g. "psp_receivable:stripe".
  std::string to_string() const;

  friend bool operator==(const account_key&, const account_key&) = default;
};

/// Parses "code:scope"; nothing when the code is unknown or the scope invalid.
std::optional<account_key> parse_account_key(std::string_view text);

/// Shorthands for the chart's keys: `accounts::psp_receivable("stripe")`.
namespace accounts {
/// `psp_receivable:{psp}`.
account_key psp_receivable(std::string psp);
/// `merchant_revenue:{merchant}`.
account_key merchant_revenue(std::string merchant_id);
/// `refunds:{merchant}`.
account_key refunds(std::string merchant_id);
/// `psp_fees:{psp}`.
account_key psp_fees(std::string psp);
/// `bank:{merchant}`.
account_key bank(std::string merchant_id);
/// `auth_holds:{merchant}`.
account_key auth_holds(std::string merchant_id);
/// `auth_hold_offset:{merchant}`.
account_key auth_hold_offset(std::string merchant_id);
/// `disputes:{merchant}`.
account_key disputes(std::string merchant_id);
/// `dispute_losses:{merchant}`.
account_key dispute_losses(std::string merchant_id);
/// `suspense:{psp}`.
account_key suspense(std::string psp);
/// `unattributed_cash:{psp}`.
account_key unattributed_cash(std::string psp);
}  // namespace accounts

/// One line of a journal transaction: a debit or a credit of one account.
struct ledger_entry {
  account_key account;
  /// Exactly one of `debit_minor` and `credit_minor` is positive; the other
  /// is zero.
  std::int64_t debit_minor = 0;
  std::int64_t credit_minor = 0;
  /// Lowercase ISO 4217 code; the account's currency.
  std::string currency;

  friend bool operator==(const ledger_entry&, const ledger_entry&) = default;
};

/// The kinds of journal transaction the posting rules write; the database
/// stores the string.
namespace journal_kind {
/// An authorisation hold opened (memo only).
inline constexpr std::string_view authorization = "authorization";
/// A capture, full or partial, closing the hold it consumes.
inline constexpr std::string_view capture = "capture";
/// A hold released without capture: cancel, expiry.
inline constexpr std::string_view hold_release = "hold_release";
/// A refund of captured money.
inline constexpr std::string_view refund = "refund";
/// A PSP fee charged on its own.
inline constexpr std::string_view fee = "fee";
/// A payout of net money to the merchant's bank, on its own.
inline constexpr std::string_view payout = "payout";
/// A settlement: gross off the receivable, fee to expense, net to the bank.
inline constexpr std::string_view settlement = "settlement";
/// The mirror of an earlier transaction, which it names.
inline constexpr std::string_view reversal = "reversal";
/// Money a dispute moved at the PSP: withdrawn (with its fee) or reinstated.
inline constexpr std::string_view dispute = "dispute";
/// A lost dispute's open balance realised as a loss.
inline constexpr std::string_view dispute_loss = "dispute_loss";
/// PSP money the engine cannot attribute, booked to suspense.
inline constexpr std::string_view suspense = "suspense";
/// A suspense item cleared to an account by an operator's decision.
inline constexpr std::string_view suspense_clearing = "suspense_clearing";
}  // namespace journal_kind

/// Every kind above; `validate` refuses any other.
std::span<const std::string_view> all_journal_kinds();

/// Most entries one journal transaction may hold; the rules write at most
/// four, and the bound keeps the database's per-commit balance check cheap.
inline constexpr std::size_t journal_entries_max = 64;

/// Longest memo of a journal transaction.
inline constexpr std::size_t journal_memo_length_max = 500;

/// One balanced journal transaction, not yet stored: what a posting rule
/// answers and what `storage::post` writes.
struct journal_tx {
  /// One of `journal_kind`.
  std::string kind;
  std::vector<ledger_entry> entries;
  /// A sentence for humans: what happened, with the amounts.
  std::string memo;

  friend bool operator==(const journal_tx&, const journal_tx&) = default;
};

/// Checks every invariant a journal transaction must hold before it is
/// written: a known kind, 2 to `journal_entries_max` entries, each with
/// exactly one positive side and a valid key, a known currency in its
/// lowercase spelling, a memo within `journal_memo_length_max`, and per
/// currency debits equal to credits, separately for real and for memo
/// accounts. Sums are overflow-checked (limit_exceeded, param "amount"); the
/// rest is invalid_request.
status validate(const journal_tx& tx);

/// Who a posting is about: the merchant, the PSP and the currency.
struct posting_scope {
  std::string merchant_id;
  std::string psp;
  /// ISO 4217 code in any case; the rules write the lowercase spelling.
  std::string currency;
};

/// Why a hold is released without a capture.
enum class hold_release_reason : std::uint8_t {
  canceled,  ///< the merchant voided the authorisation
  expired,   ///< the authorisation lapsed
  reduced,   ///< the PSP reports less capturable than we held
};

/// "canceled", "expired" or "reduced".
std::string_view to_string(hold_release_reason reason);

/// What one settlement (a PSP payout with its fees) moves.
struct settlement_amounts {
  std::int64_t gross_minor = 0;  ///< taken off the receivable; positive
  std::int64_t fee_minor = 0;    ///< the PSP kept it; zero or positive
  std::int64_t net_minor = 0;    ///< paid to the bank; gross - fee, checked
};

/// The posting rules, one function per domain event. In their own namespace
/// because `core::refund` already names the refund record.
namespace postings {

/// An authorisation hold of `amount_minor` opened (memo):
/// Dr auth_holds / Cr auth_hold_offset.
result<journal_tx> authorization(const posting_scope& scope, std::int64_t amount_minor);

/// A capture of `amount_minor`: Dr psp_receivable / Cr merchant_revenue. When
/// a hold was posted, `hold_minor` is the whole open hold (the intent's
/// amount_capturable before the capture): the hold is closed in full, which
/// converts the captured part and releases the rest, since a capture ends the
/// authorisation (a partial capture releases the remainder). 0 when no hold
/// was posted. A hold smaller than the capture is refused.
result<journal_tx> capture(const posting_scope& scope, std::int64_t amount_minor,
                           std::int64_t hold_minor);

/// A hold of `hold_minor` released without capture:
/// Dr auth_hold_offset / Cr auth_holds.
result<journal_tx> hold_release(const posting_scope& scope, std::int64_t hold_minor,
                                hold_release_reason reason);

/// A refund of `amount_minor`: Dr refunds / Cr psp_receivable. Each of
/// several partial refunds is its own transaction.
result<journal_tx> refund(const posting_scope& scope, std::int64_t amount_minor);

/// A PSP fee charged on its own: Dr psp_fees / Cr psp_receivable.
result<journal_tx> fee(const posting_scope& scope, std::int64_t fee_minor);

/// A payout of net money to the merchant's bank, on its own:
/// Dr bank / Cr psp_receivable.
result<journal_tx> payout(const posting_scope& scope, std::int64_t net_minor);

/// A settlement: Dr bank N, Dr psp_fees F / Cr psp_receivable G, refused
/// unless N = G - F with G > 0, F >= 0 and N >= 0 (a zero side writes no
/// entry). A payout with negative net (refunds exceeding charges) is not
/// modelled yet and refused.
result<journal_tx> settlement(const posting_scope& scope, const settlement_amounts& amounts);

/// One merchant's share of a PSP payout, any signs: every line goes on the
/// side of its sign. Gross G (charges minus refunds) comes off the
/// receivable (Cr G, or Dr -G when refunds exceed charges), the fee F goes
/// to psp_fees (Dr F; Cr -F for a fee refund), the net N to the merchant's
/// bank (Dr N, or Cr -N when the PSP takes money back). Refused unless
/// N = G - F and something moves; a zero line writes no entry.
result<journal_tx> payout_settlement(const posting_scope& scope, const settlement_amounts& amounts);

/// A balance transaction of a payout that the engine cannot attribute
/// (unknown charge or refund, an unknown type), booked instead of dropped:
/// its net N went out in the payout attributed to no merchant
/// (Dr unattributed_cash N), its fee F was kept by the PSP (Dr psp_fees F),
/// and its amount A is owed to whoever it turns out to be (Cr suspense A).
/// Any signs (a negative line goes on the other side); refused unless
/// N = A - F and something moves. `psp` and `currency` come from `scope`
/// (its merchant id is not used).
result<journal_tx> suspense(const posting_scope& scope, const settlement_amounts& line);

/// A suspense amount (signed, as the item's amount: positive is money held
/// for someone) cleared to `target` by an operator: Dr suspense A /
/// Cr target A (the other way round for a negative amount). Refused for a
/// zero amount, a target that is the suspense account itself, or a memo
/// target.
result<journal_tx> suspense_clearing(const posting_scope& scope, std::int64_t amount_minor,
                                     const account_key& target, std::string_view reason);

/// The mirror of `original` (stored as `original_id`): every debit becomes a
/// credit of the same account and amount and back, so the pair nets to zero.
/// The storage layer records `original_id` as what the reversal reverses.
/// Refuses an original that does not validate.
result<journal_tx> reversal(const journal_tx& original, std::string_view original_id);

/// A capture that failed at the PSP after it was confirmed: the capture's
/// mirror (to be posted naming `capture_id` in `reverses`), then what makes
/// the hold equal `capturable_after` again: a new hold for what the mirror
/// does not restore (an automatic capture booked none), or a release of
/// what it restores beyond it.
result<std::vector<journal_tx>> capture_reversal(const journal_tx& capture,
                                                 std::string_view capture_id,
                                                 const posting_scope& scope,
                                                 std::int64_t capturable_after);

}  // namespace postings

/// The postings one write of an intent implies, from the change of its
/// amounts between `before` (as stored; for a new intent a copy with the
/// three amounts zero) and `after`, in the order to post them:
/// - amount_capturable grew (with nothing captured): an authorization hold;
/// - amount_received grew by C: a capture of C closing the hold by which
///   amount_capturable shrank (0 when it did not);
/// - amount_capturable shrank with nothing captured: a hold release, reason
///   from `after.status` (canceled, expired, else reduced);
/// - amount_refunded grew by R: a refund of R.
/// Merchant, PSP and currency come from `after`. A decrease of received or
/// refunded money is refused (invalid_state): it is corrected by reversing
/// the transaction that booked it. So is a hold growing in the same write as
/// a capture, which no PSP flow we support produces.
result<std::vector<journal_tx>> postings_for_transition(const payment_intent& before,
                                                        const payment_intent& after);

}  // namespace pay::core
