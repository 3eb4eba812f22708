#include "core/ledger.hpp"

#include <array>
#include <limits>
#include <map>
#include <utility>

#include "core/money.hpp"

namespace pay::core {

namespace {

constexpr std::array chart{
    account_code_info{account_code::psp_receivable, "psp_receivable", account_type::asset,
                      normal_side::debit, scope_kind::psp,
                      "Captured money the PSP holds for us until it pays it out."},
    account_code_info{account_code::merchant_revenue, "merchant_revenue", account_type::revenue,
                      normal_side::credit, scope_kind::merchant, "The merchant's captured sales."},
    account_code_info{account_code::refunds, "refunds", account_type::contra_revenue,
                      normal_side::debit, scope_kind::merchant,
                      "Sales given back to shoppers; reduces revenue."},
    account_code_info{account_code::psp_fees, "psp_fees", account_type::expense, normal_side::debit,
                      scope_kind::psp, "Fees the PSP kept from settlements."},
    account_code_info{account_code::bank, "bank", account_type::asset, normal_side::debit,
                      scope_kind::merchant, "Money paid out to the merchant's bank account."},
    account_code_info{account_code::auth_holds, "auth_holds", account_type::memo,
                      normal_side::debit, scope_kind::merchant,
                      "Open authorisation holds on shoppers' cards (memo)."},
    account_code_info{account_code::auth_hold_offset, "auth_hold_offset", account_type::memo,
                      normal_side::credit, scope_kind::merchant,
                      "The balancing side of auth_holds (memo)."},
    account_code_info{account_code::disputes, "disputes", account_type::contra_revenue,
                      normal_side::debit, scope_kind::merchant,
                      "Sales the PSP withdrew for disputes still open; reduces revenue."},
    account_code_info{account_code::dispute_losses, "dispute_losses", account_type::expense,
                      normal_side::debit, scope_kind::merchant,
                      "Disputed sales lost for good (disputes closed as lost)."},
    account_code_info{account_code::suspense, "suspense", account_type::liability,
                      normal_side::credit, scope_kind::psp,
                      "PSP money nobody is known to own yet, until an operator clears it."},
    account_code_info{account_code::unattributed_cash, "unattributed_cash", account_type::asset,
                      normal_side::debit, scope_kind::psp,
                      "What the PSP paid out for suspense money, in no merchant's bank."},
};

constexpr std::array kinds{
    journal_kind::authorization, journal_kind::capture,  journal_kind::hold_release,
    journal_kind::refund,        journal_kind::fee,      journal_kind::payout,
    journal_kind::settlement,    journal_kind::reversal, journal_kind::dispute,
    journal_kind::dispute_loss,  journal_kind::suspense, journal_kind::suspense_clearing,
};

error invalid(std::string message, std::string param = "entries") {
  return make_error(errc::invalid_request, std::move(message), std::move(param));
}

/// The table's lowercase code for `code`, or an error naming the field.
result<std::string> canonical_currency(std::string_view code) {
  auto cur = find_currency(code);
  if (!cur) return invalid("Unsupported currency: '" + std::string(code) + "'.", "currency");
  return std::string(cur->code);
}

status check_positive(std::int64_t amount_minor, std::string_view what) {
  if (amount_minor <= 0)
    return invalid(std::string(what) + " must be a positive amount in minor units.", "amount");
  return status::ok();
}

/// The scope's fields checked, with the currency in its lowercase spelling.
result<posting_scope> checked_scope(const posting_scope& scope) {
  if (!valid_account_scope(scope.merchant_id))
    return invalid("The merchant id is not a valid account scope.", "merchant");
  if (!valid_account_scope(scope.psp))
    return invalid("The PSP is not a valid account scope.", "psp");
  auto cur = canonical_currency(scope.currency);
  if (!cur) return cur.err();
  return posting_scope{scope.merchant_id, scope.psp, *cur};
}

ledger_entry debit(account_key account, std::int64_t amount_minor, const std::string& currency) {
  return ledger_entry{std::move(account), amount_minor, 0, currency};
}

ledger_entry credit(account_key account, std::int64_t amount_minor, const std::string& currency) {
  return ledger_entry{std::move(account), 0, amount_minor, currency};
}

/// Every rule ends here: what it built must pass `validate`, or it is the
/// rule that is wrong, and the caller learns it as an error, never as a
/// written imbalance.
result<journal_tx> checked(journal_tx tx) {
  if (auto ok = validate(tx); !ok) return ok.err();
  return tx;
}

std::string amount_text(std::int64_t amount_minor, const std::string& currency) {
  auto cur = find_currency(currency);
  return (cur ? format_amount(amount_minor, *cur) : std::to_string(amount_minor)) + " " + currency;
}

}  // namespace

std::string_view to_string(account_type type) {
  switch (type) {
    case account_type::asset:
      return "asset";
    case account_type::liability:
      return "liability";
    case account_type::revenue:
      return "revenue";
    case account_type::expense:
      return "expense";
    case account_type::contra_revenue:
      return "contra_revenue";
    case account_type::memo:
      return "memo";
  }
  return "asset";  // unreachable: the switch covers every enumerator
}

std::optional<account_type> parse_account_type(std::string_view name) {
  for (auto t : {account_type::asset, account_type::liability, account_type::revenue,
                 account_type::expense, account_type::contra_revenue, account_type::memo})
    if (to_string(t) == name) return t;
  return std::nullopt;
}

std::string_view to_string(normal_side side) {
  switch (side) {
    case normal_side::debit:
      return "debit";
    case normal_side::credit:
      return "credit";
  }
  return "debit";  // unreachable
}

std::span<const account_code_info> chart_of_accounts() {
  return chart;
}

const account_code_info& info(account_code code) {
  auto index = static_cast<std::size_t>(code);
  assert(index < chart.size() && chart[index].code == code);
  return chart[index];
}

std::optional<account_code> parse_account_code(std::string_view name) {
  for (const auto& row : chart)
    if (row.name == name) return row.code;
  return std::nullopt;
}

bool valid_account_scope(std::string_view scope) {
  if (scope.empty() || scope.size() > account_scope_length_max) return false;
  for (char ch : scope) {
    bool ok = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

std::string account_key::to_string() const {
  return std::string(info(code).name) + ":" + scope;
}

std::optional<account_key> parse_account_key(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto code = parse_account_code(text.substr(0, colon));
  auto scope = text.substr(colon + 1);
  if (!code || !valid_account_scope(scope)) return std::nullopt;
  return account_key{*code, std::string(scope)};
}

namespace accounts {
account_key psp_receivable(std::string psp) {
  return {account_code::psp_receivable, std::move(psp)};
}
account_key merchant_revenue(std::string merchant_id) {
  return {account_code::merchant_revenue, std::move(merchant_id)};
}
account_key refunds(std::string merchant_id) {
  return {account_code::refunds, std::move(merchant_id)};
}
account_key psp_fees(std::string psp) {
  return {account_code::psp_fees, std::move(psp)};
}
account_key bank(std::string merchant_id) {
  return {account_code::bank, std::move(merchant_id)};
}
account_key auth_holds(std::string merchant_id) {
  return {account_code::auth_holds, std::move(merchant_id)};
}
account_key auth_hold_offset(std::string merchant_id) {
  return {account_code::auth_hold_offset, std::move(merchant_id)};
}
account_key disputes(std::string merchant_id) {
  return {account_code::disputes, std::move(merchant_id)};
}
account_key dispute_losses(std::string merchant_id) {
  return {account_code::dispute_losses, std::move(merchant_id)};
}
account_key suspense(std::string psp) {
  return {account_code::suspense, std::move(psp)};
}
account_key unattributed_cash(std::string psp) {
  return {account_code::unattributed_cash, std::move(psp)};
}
}  // namespace accounts

std::span<const std::string_view> all_journal_kinds() {
  return kinds;
}

status validate(const journal_tx& tx) {
  bool known_kind = false;
  for (auto k : kinds) known_kind = known_kind || k == tx.kind;
  if (!known_kind) return invalid("Unknown journal kind: '" + tx.kind + "'.", "kind");
  if (tx.memo.size() > journal_memo_length_max)
    return invalid(
        "The memo is longer than " + std::to_string(journal_memo_length_max) + " characters.",
        "memo");
  if (tx.entries.size() < 2) return invalid("A journal transaction needs at least two entries.");
  if (tx.entries.size() > journal_entries_max)
    return invalid("A journal transaction holds at most " + std::to_string(journal_entries_max) +
                   " entries.");

  // Real and memo accounts balance separately, per currency, so a memo entry
  // can never stand in for a missing real one.
  struct sums {
    std::int64_t debits_minor = 0;
    std::int64_t credits_minor = 0;
  };
  std::map<std::pair<std::string, bool>, sums> totals;
  for (const auto& e : tx.entries) {
    if (e.debit_minor < 0 || e.credit_minor < 0)
      return invalid("An entry's debit and credit are never negative.");
    if ((e.debit_minor > 0) == (e.credit_minor > 0))
      return invalid("An entry has exactly one positive side: a debit or a credit.");
    if (!valid_account_scope(e.account.scope))
      return invalid("An entry's account scope is not valid: '" + e.account.scope + "'.");
    auto cur = find_currency(e.currency);
    if (!cur) return invalid("Unsupported currency: '" + e.currency + "'.", "currency");
    if (cur->code != e.currency)
      return invalid("Currencies are written in lowercase: '" + e.currency + "'.", "currency");
    auto& s = totals[{e.currency, info(e.account.code).type == account_type::memo}];
    auto d = checked_add(s.debits_minor, e.debit_minor);
    auto c = checked_add(s.credits_minor, e.credit_minor);
    if (!d || !c)
      return make_error(errc::limit_exceeded, "The journal's sums overflow 64-bit minor units.",
                        "amount");
    s.debits_minor = *d;
    s.credits_minor = *c;
  }
  for (const auto& [where, s] : totals)
    if (s.debits_minor != s.credits_minor)
      return invalid(std::string("Debits and credits differ in ") + where.first +
                     (where.second ? " (memo accounts)" : "") + ": " +
                     std::to_string(s.debits_minor) + " against " +
                     std::to_string(s.credits_minor) + ".");
  return status::ok();
}

std::string_view to_string(hold_release_reason reason) {
  switch (reason) {
    case hold_release_reason::canceled:
      return "canceled";
    case hold_release_reason::expired:
      return "expired";
    case hold_release_reason::reduced:
      return "reduced";
  }
  return "canceled";  // unreachable
}

namespace postings {

result<journal_tx> authorization(const posting_scope& scope, std::int64_t amount_minor) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (auto ok = check_positive(amount_minor, "An authorisation"); !ok) return ok.err();
  return checked(
      journal_tx{std::string(journal_kind::authorization),
                 {debit(accounts::auth_holds(s->merchant_id), amount_minor, s->currency),
                  credit(accounts::auth_hold_offset(s->merchant_id), amount_minor, s->currency)},
                 "hold " + amount_text(amount_minor, s->currency)});
}

result<journal_tx> capture(const posting_scope& scope, std::int64_t amount_minor,
                           std::int64_t hold_minor) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (auto ok = check_positive(amount_minor, "A capture"); !ok) return ok.err();
  if (hold_minor < 0) return invalid("A hold is never negative.", "amount");
  if (hold_minor > 0 && hold_minor < amount_minor)
    return invalid(
        "A capture cannot exceed the open hold of " + amount_text(hold_minor, s->currency) + ".",
        "amount");
  journal_tx tx{std::string(journal_kind::capture),
                {debit(accounts::psp_receivable(s->psp), amount_minor, s->currency),
                 credit(accounts::merchant_revenue(s->merchant_id), amount_minor, s->currency)},
                "capture " + amount_text(amount_minor, s->currency)};
  if (hold_minor > 0) {
    // The whole hold closes: a capture ends the authorisation, so what was
    // not captured is released in the same transaction.
    tx.entries.push_back(
        debit(accounts::auth_hold_offset(s->merchant_id), hold_minor, s->currency));
    tx.entries.push_back(credit(accounts::auth_holds(s->merchant_id), hold_minor, s->currency));
    tx.memo += " of hold " + amount_text(hold_minor, s->currency);
    if (hold_minor > amount_minor)
      tx.memo += ", releasing " + amount_text(hold_minor - amount_minor, s->currency);
  }
  return checked(std::move(tx));
}

result<journal_tx> hold_release(const posting_scope& scope, std::int64_t hold_minor,
                                hold_release_reason reason) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (auto ok = check_positive(hold_minor, "A released hold"); !ok) return ok.err();
  return checked(
      journal_tx{std::string(journal_kind::hold_release),
                 {debit(accounts::auth_hold_offset(s->merchant_id), hold_minor, s->currency),
                  credit(accounts::auth_holds(s->merchant_id), hold_minor, s->currency)},
                 "release hold " + amount_text(hold_minor, s->currency) + " (" +
                     std::string(to_string(reason)) + ")"});
}

result<journal_tx> refund(const posting_scope& scope, std::int64_t amount_minor) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (auto ok = check_positive(amount_minor, "A refund"); !ok) return ok.err();
  return checked(journal_tx{std::string(journal_kind::refund),
                            {debit(accounts::refunds(s->merchant_id), amount_minor, s->currency),
                             credit(accounts::psp_receivable(s->psp), amount_minor, s->currency)},
                            "refund " + amount_text(amount_minor, s->currency)});
}

result<journal_tx> fee(const posting_scope& scope, std::int64_t fee_minor) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (auto ok = check_positive(fee_minor, "A fee"); !ok) return ok.err();
  return checked(journal_tx{std::string(journal_kind::fee),
                            {debit(accounts::psp_fees(s->psp), fee_minor, s->currency),
                             credit(accounts::psp_receivable(s->psp), fee_minor, s->currency)},
                            "fee " + amount_text(fee_minor, s->currency)});
}

result<journal_tx> payout(const posting_scope& scope, std::int64_t net_minor) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (auto ok = check_positive(net_minor, "A payout"); !ok) return ok.err();
  return checked(journal_tx{std::string(journal_kind::payout),
                            {debit(accounts::bank(s->merchant_id), net_minor, s->currency),
                             credit(accounts::psp_receivable(s->psp), net_minor, s->currency)},
                            "payout " + amount_text(net_minor, s->currency)});
}

result<journal_tx> settlement(const posting_scope& scope, const settlement_amounts& amounts) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (auto ok = check_positive(amounts.gross_minor, "A settlement's gross"); !ok) return ok.err();
  if (amounts.fee_minor < 0) return invalid("A settlement's fee is never negative.", "fee");
  if (amounts.net_minor < 0)
    return invalid("A settlement with a negative net is not supported.", "net");
  auto expected_net = checked_sub(amounts.gross_minor, amounts.fee_minor);
  if (!expected_net || *expected_net != amounts.net_minor)
    return invalid("A settlement's net must equal gross minus fee.", "net");
  journal_tx tx{std::string(journal_kind::settlement), {}, {}};
  if (amounts.net_minor > 0)
    tx.entries.push_back(debit(accounts::bank(s->merchant_id), amounts.net_minor, s->currency));
  if (amounts.fee_minor > 0)
    tx.entries.push_back(debit(accounts::psp_fees(s->psp), amounts.fee_minor, s->currency));
  tx.entries.push_back(credit(accounts::psp_receivable(s->psp), amounts.gross_minor, s->currency));
  tx.memo = "settlement gross " + amount_text(amounts.gross_minor, s->currency) + ", fee " +
            amount_text(amounts.fee_minor, s->currency) + ", net " +
            amount_text(amounts.net_minor, s->currency);
  return checked(std::move(tx));
}

result<journal_tx> payout_settlement(const posting_scope& scope,
                                     const settlement_amounts& amounts) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  auto expected_net = checked_sub(amounts.gross_minor, amounts.fee_minor);
  if (!expected_net || *expected_net != amounts.net_minor)
    return invalid("A settlement's net must equal gross minus fee.", "net");
  if (amounts.gross_minor == 0 && amounts.fee_minor == 0)
    return invalid("A settlement moves no money.", "amount");
  // Each line goes on the side of its sign: G = N + F holds as debits =
  // credits whatever the signs, so a refund-heavy merchant (G < 0) or a fee
  // larger than what is left (N < 0) books without special cases.
  auto line = [&](account_key key, std::int64_t debit_minor) {
    if (debit_minor > 0) return debit(std::move(key), debit_minor, s->currency);
    return credit(std::move(key), -debit_minor, s->currency);
  };
  if (amounts.net_minor == std::numeric_limits<std::int64_t>::min() ||
      amounts.fee_minor == std::numeric_limits<std::int64_t>::min() ||
      amounts.gross_minor == std::numeric_limits<std::int64_t>::min())
    return make_error(errc::limit_exceeded, "A settlement amount is out of range.", "amount");
  journal_tx tx{std::string(journal_kind::settlement), {}, {}};
  if (amounts.net_minor != 0)
    tx.entries.push_back(line(accounts::bank(s->merchant_id), amounts.net_minor));
  if (amounts.fee_minor != 0)
    tx.entries.push_back(line(accounts::psp_fees(s->psp), amounts.fee_minor));
  if (amounts.gross_minor != 0)
    tx.entries.push_back(line(accounts::psp_receivable(s->psp), -amounts.gross_minor));
  tx.memo = "settlement gross " + amount_text(amounts.gross_minor, s->currency) + ", fee " +
            amount_text(amounts.fee_minor, s->currency) + ", net " +
            amount_text(amounts.net_minor, s->currency);
  return checked(std::move(tx));
}

namespace {

/// The PSP and currency of a scope whose merchant is not used.
result<posting_scope> checked_psp_scope(const posting_scope& scope) {
  if (!valid_account_scope(scope.psp))
    return invalid("The PSP is not a valid account scope.", "psp");
  auto cur = canonical_currency(scope.currency);
  if (!cur) return cur.err();
  return posting_scope{scope.merchant_id, scope.psp, *cur};
}

bool out_of_range(std::int64_t v) {
  return v == std::numeric_limits<std::int64_t>::min();
}

/// An entry on the side of its sign: debit when positive, credit when
/// negative.
ledger_entry signed_line(account_key key, std::int64_t debit_minor, const std::string& currency) {
  if (debit_minor > 0) return debit(std::move(key), debit_minor, currency);
  return credit(std::move(key), -debit_minor, currency);
}

}  // namespace

result<journal_tx> suspense(const posting_scope& scope, const settlement_amounts& line) {
  auto s = checked_psp_scope(scope);
  if (!s) return s.err();
  if (out_of_range(line.gross_minor) || out_of_range(line.fee_minor) ||
      out_of_range(line.net_minor))
    return make_error(errc::limit_exceeded, "A suspense amount is out of range.", "amount");
  auto expected_net = checked_sub(line.gross_minor, line.fee_minor);
  if (!expected_net || *expected_net != line.net_minor)
    return invalid("A suspense line's net must equal its amount minus its fee.", "net");
  if (line.gross_minor == 0 && line.fee_minor == 0)
    return invalid("A suspense line moves no money.", "amount");
  journal_tx tx{std::string(journal_kind::suspense), {}, {}};
  if (line.net_minor != 0)
    tx.entries.push_back(
        signed_line(accounts::unattributed_cash(s->psp), line.net_minor, s->currency));
  if (line.fee_minor != 0)
    tx.entries.push_back(signed_line(accounts::psp_fees(s->psp), line.fee_minor, s->currency));
  if (line.gross_minor != 0)
    tx.entries.push_back(signed_line(accounts::suspense(s->psp), -line.gross_minor, s->currency));
  tx.memo = "suspense: amount " + amount_text(line.gross_minor, s->currency) + ", fee " +
            amount_text(line.fee_minor, s->currency) + ", net " +
            amount_text(line.net_minor, s->currency) + " not attributable";
  return checked(std::move(tx));
}

result<journal_tx> suspense_clearing(const posting_scope& scope, std::int64_t amount_minor,
                                     const account_key& target, std::string_view reason) {
  auto s = checked_psp_scope(scope);
  if (!s) return s.err();
  if (amount_minor == 0 || out_of_range(amount_minor))
    return invalid("A suspense clearing must move a non-zero amount.", "amount");
  if (target.code == account_code::suspense)
    return invalid("A suspense item cannot be cleared to a suspense account.", "account");
  if (info(target.code).type == account_type::memo)
    return invalid("A suspense item cannot be cleared to a memo account.", "account");
  if (!valid_account_scope(target.scope)) return invalid("The account is not valid.", "account");
  if (reason.empty()) return invalid("A suspense clearing needs a reason.", "reason");
  journal_tx tx{std::string(journal_kind::suspense_clearing), {}, {}};
  tx.entries.push_back(signed_line(accounts::suspense(s->psp), amount_minor, s->currency));
  tx.entries.push_back(signed_line(target, -amount_minor, s->currency));
  auto memo = "suspense " + amount_text(amount_minor, s->currency) + " cleared to " +
              target.to_string() + ": " + std::string(reason);
  if (memo.size() > journal_memo_length_max) memo.resize(journal_memo_length_max);
  tx.memo = std::move(memo);
  return checked(std::move(tx));
}

result<journal_tx> reversal(const journal_tx& original, std::string_view original_id) {
  if (auto ok = validate(original); !ok) return ok.err();
  if (original_id.empty() || original_id.size() > 100)
    return invalid("A reversal names the transaction it reverses.", "reverses");
  journal_tx tx{std::string(journal_kind::reversal), original.entries,
                "reversal of " + std::string(original_id) + " (" + original.kind + ")"};
  for (auto& e : tx.entries) std::swap(e.debit_minor, e.credit_minor);
  return checked(std::move(tx));
}

result<std::vector<journal_tx>> capture_reversal(const journal_tx& capture,
                                                 std::string_view capture_id,
                                                 const posting_scope& scope,
                                                 std::int64_t capturable_after) {
  if (capture.kind != journal_kind::capture)
    return invalid("Only a capture is reversed as a failed capture.", "reverses");
  if (capturable_after < 0) return invalid("A hold is never negative.", "amount");
  auto mirror = reversal(capture, capture_id);
  if (!mirror) return mirror.err();
  auto s = checked_scope(scope);
  if (!s) return s.err();
  // The hold the capture closed comes back with its mirror.
  const auto holds = accounts::auth_holds(s->merchant_id);
  std::int64_t restored = 0;
  for (const auto& e : capture.entries)
    if (e.account == holds) restored += e.credit_minor - e.debit_minor;
  std::vector<journal_tx> out{std::move(*mirror)};
  if (capturable_after > restored) {
    auto hold = authorization(scope, capturable_after - restored);
    if (!hold) return hold.err();
    out.push_back(std::move(*hold));
  } else if (capturable_after < restored) {
    auto release = hold_release(scope, restored - capturable_after, hold_release_reason::reduced);
    if (!release) return release.err();
    out.push_back(std::move(*release));
  }
  return out;
}

}  // namespace postings

result<std::vector<journal_tx>> postings_for_transition(const payment_intent& before,
                                                        const payment_intent& after) {
  if (!before.id.empty() && before.id != after.id)
    return invalid("Before and after are different intents.", "payment_intent");
  auto received = checked_sub(after.amount_received, before.amount_received);
  auto refunded = checked_sub(after.amount_refunded, before.amount_refunded);
  auto capturable = checked_sub(after.amount_capturable, before.amount_capturable);
  if (!received || !refunded || !capturable)
    return make_error(errc::limit_exceeded, "The intent's amounts overflow.", "amount");
  if (*received < 0 || *refunded < 0)
    return make_error(errc::invalid_state,
                      "Received or refunded money decreased; reverse the transaction that "
                      "booked it instead.",
                      "amount");
  if (*received > 0 && *capturable > 0)
    return make_error(errc::invalid_state,
                      "A hold grew in the same write as a capture; post them separately.",
                      "amount");
  posting_scope scope{after.merchant_id, after.psp, after.currency};
  std::vector<journal_tx> out;
  auto add = [&](result<journal_tx> tx) -> status {
    if (!tx) return tx.err();
    out.push_back(std::move(*tx));
    return status::ok();
  };
  status ok = status::ok();
  if (*capturable > 0) {
    ok = add(postings::authorization(scope, *capturable));
  } else if (*received > 0) {
    ok = add(postings::capture(scope, *received, -*capturable));
  } else if (*capturable < 0) {
    auto reason = after.status == intent_status::canceled  ? hold_release_reason::canceled
                  : after.status == intent_status::expired ? hold_release_reason::expired
                                                           : hold_release_reason::reduced;
    ok = add(postings::hold_release(scope, -*capturable, reason));
  }
  if (!ok) return ok.err();
  if (*refunded > 0)
    if (auto r = add(postings::refund(scope, *refunded)); !r) return r.err();
  return out;
}

}  // namespace pay::core
