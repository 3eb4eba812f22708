#include "storage/ledger.hpp"

#include <charconv>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "core/ids.hpp"
#include "core/money.hpp"

namespace pay::storage {

namespace {

/// A PostgreSQL array literal of text, every element quoted so that a value
/// such as "NULL" stays text. Keys and currencies are validated before they
/// get here, but quotes and backslashes are escaped all the same.
std::string text_array(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char ch : *values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  return out + "}";
}

/// A whole decimal integer that fits int64, or nothing: SQL sums are numeric
/// and may exceed it.
std::optional<std::int64_t> parse_int64(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

core::error overflow() {
  return core::make_error(core::errc::limit_exceeded,
                          "The ledger's sums overflow 64-bit minor units.", "amount");
}

pg_param as_of_param(const std::optional<ledger_time>& as_of) {
  if (!as_of) return pg_param{};
  return std::to_string(as_of->time_since_epoch().count());
}

/// The SQL of an "as of" bound on `column`, with the microseconds in `$n`
/// (NULL: no bound). Text to interval keeps every microsecond exact.
std::string as_of_clause(std::string_view column, int n) {
  auto p = "$" + std::to_string(n);
  return " AND (" + p + "::bigint IS NULL OR " + std::string(column) +
         " <= 'epoch'::timestamptz + (" + p + "::text || ' microseconds')::interval)";
}

constexpr std::string_view created_us_sql = "(extract(epoch FROM {}.created_at) * 1000000)::bigint";

std::string created_us(std::string_view alias) {
  std::string sql(created_us_sql);
  return sql.replace(sql.find("{}"), 2, alias);
}

const std::string account_columns =
    "a.id, a.code, a.scope, a.type, a.currency, a.merchant_id, a.psp, " + created_us("a");

core::account_key read_key(const pg_rows& rows, int row, int code_col, int scope_col) {
  // The CHECK on (code, type) admits only the chart's codes.
  return core::account_key{
      core::parse_account_code(rows.text(row, code_col)).value_or(core::account_code::bank),
      std::string(rows.text(row, scope_col))};
}

ledger_account read_account(const pg_rows& rows, int row) {
  ledger_account a;
  a.id = rows.int64(row, 0);
  a.key = read_key(rows, row, 1, 2);
  a.type = core::parse_account_type(rows.text(row, 3)).value_or(core::account_type::asset);
  a.normal = core::info(a.key.code).normal;
  a.currency = rows.text(row, 4);
  a.merchant_id = rows.optional_text(row, 5);
  a.psp = rows.optional_text(row, 6);
  a.created_us = rows.int64(row, 7);
  return a;
}

const std::string entry_select =
    "SELECT e.id, e.transaction_id, t.kind, e.account_id, a.code, a.scope, e.debit, e.credit, "
    "e.currency, " +
    created_us("t") +
    " FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id "
    "JOIN ledger_accounts a ON a.id = e.account_id ";

stored_entry read_entry(const pg_rows& rows, int row) {
  stored_entry e;
  e.id = rows.int64(row, 0);
  e.transaction_id = rows.text(row, 1);
  e.kind = rows.text(row, 2);
  e.account_id = rows.int64(row, 3);
  e.account = read_key(rows, row, 4, 5);
  e.debit_minor = rows.int64(row, 6);
  e.credit_minor = rows.int64(row, 7);
  e.currency = rows.text(row, 8);
  e.created_us = rows.int64(row, 9);
  return e;
}

const std::string transaction_select =
    "SELECT t.id, t.kind, t.memo, t.intent_id, t.refund_id, t.reverses, r.id, " + created_us("t") +
    " FROM ledger_transactions t LEFT JOIN ledger_transactions r ON r.reverses = t.id ";

stored_transaction read_transaction(const pg_rows& rows, int row) {
  stored_transaction t;
  t.id = rows.text(row, 0);
  t.kind = rows.text(row, 1);
  t.memo = rows.text(row, 2);
  t.intent_id = rows.optional_text(row, 3);
  t.refund_id = rows.optional_text(row, 4);
  t.reverses = rows.optional_text(row, 5);
  t.reversed_by = rows.optional_text(row, 6);
  t.created_us = rows.int64(row, 7);
  return t;
}

/// Fills `ids` with the account id of each of `jtx`'s entries, creating the
/// missing accounts; the journal is already validated.
std::optional<db_error> account_ids(pg_connection& conn, const core::journal_tx& jtx,
                                    std::vector<std::int64_t>& ids) {
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<std::optional<std::string>> codes, scopes, types, currencies, merchants, psps, keys;
  for (const auto& e : jtx.entries) {
    auto key = e.account.to_string();
    if (!seen.insert({key, e.currency}).second) continue;
    const auto& chart = core::info(e.account.code);
    codes.emplace_back(std::string(chart.name));
    scopes.emplace_back(e.account.scope);
    types.emplace_back(std::string(core::to_string(chart.type)));
    currencies.emplace_back(e.currency);
    bool by_merchant = chart.scope == core::scope_kind::merchant;
    merchants.push_back(by_merchant ? std::optional(e.account.scope) : std::nullopt);
    psps.push_back(by_merchant ? std::nullopt : std::optional(e.account.scope));
    keys.emplace_back(std::move(key));
  }
  // DO NOTHING waits for a concurrent writer of the same account; the SELECT
  // after it then sees that writer's row (read committed).
  auto inserted = conn.exec(
      "INSERT INTO ledger_accounts (code, scope, type, currency, merchant_id, psp) "
      "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
      "$6::text[]) ON CONFLICT (key, currency) DO NOTHING",
      {text_array(codes), text_array(scopes), text_array(types), text_array(currencies),
       text_array(merchants), text_array(psps)});
  if (!inserted.ok()) return inserted.error;
  auto found = conn.exec(
      "SELECT a.id, a.key, a.currency FROM ledger_accounts a JOIN unnest($1::text[], $2::text[]) "
      "AS w(key, currency) ON a.key = w.key AND a.currency = w.currency",
      {text_array(keys), text_array(currencies)});
  if (!found.ok()) return found.error;
  std::map<std::pair<std::string, std::string>, std::int64_t> by_key;
  for (int row = 0; row < found.rows.size(); ++row)
    by_key[{std::string(found.rows.text(row, 1)), std::string(found.rows.text(row, 2))}] =
        found.rows.int64(row, 0);
  ids.clear();
  for (const auto& e : jtx.entries) {
    auto it = by_key.find({e.account.to_string(), e.currency});
    if (it == by_key.end())
      // Only a snapshot older than a concurrent creator's commit (repeatable
      // read) misses the row; retrying the transaction sees it.
      return db_error{db_error_kind::serialization,
                      "40001",
                      "ledger account created concurrently: " + e.account.to_string(),
                      {}};
    ids.push_back(it->second);
  }
  return std::nullopt;
}

db_error refused(const core::error& e) {
  return db_error{db_error_kind::refused, "P0001", "journal refused: " + e.message, {}};
}

core::error not_found(std::string what) {
  return core::make_error(core::errc::not_found, "No such " + std::move(what));
}

/// Debits, credits and the normal-side balance of the accounts chosen by
/// `where` (parameters from $2; $1 is the as-of bound).
core::result<account_balance> sums(pg_connection& conn, core::normal_side normal,
                                   const std::string& where, std::vector<pg_param> params) {
  auto r = conn.exec(
      "SELECT coalesce(sum(e.debit), 0)::text, coalesce(sum(e.credit), 0)::text "
      "FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id "
      "JOIN ledger_accounts a ON a.id = e.account_id WHERE " +
          where + as_of_clause("t.created_at", 1),
      params);
  if (!r.ok()) return to_core_error(*r.error);
  auto debits = parse_int64(r.rows.text(0, 0));
  auto credits = parse_int64(r.rows.text(0, 1));
  if (!debits || !credits) return overflow();
  auto net = normal == core::normal_side::debit ? core::checked_sub(*debits, *credits)
                                                : core::checked_sub(*credits, *debits);
  if (!net) return overflow();
  return account_balance{*debits, *credits, *net};
}

}  // namespace

core::journal_tx stored_transaction::journal() const {
  core::journal_tx jtx{kind, {}, memo};
  for (const auto& e : entries)
    jtx.entries.push_back(core::ledger_entry{e.account, e.debit_minor, e.credit_minor, e.currency});
  return jtx;
}

core::result<std::vector<std::int64_t>> ensure_accounts(pg_connection& conn,
                                                        const core::journal_tx& jtx) {
  if (auto ok = core::validate(jtx); !ok) return ok.err();
  std::vector<std::int64_t> ids;
  if (auto failed = account_ids(conn, jtx, ids)) return to_core_error(*failed);
  return ids;
}

core::result<std::int64_t> ensure_account(pg_connection& conn, const core::account_key& key,
                                          const std::string& currency) {
  if (!core::valid_account_scope(key.scope))
    return core::make_error(core::errc::invalid_request, "Invalid account scope.", "account");
  auto cur = core::find_currency(currency);
  if (!cur || cur->code != currency)
    return core::make_error(core::errc::invalid_request, "Unsupported currency.", "currency");
  // One account on both sides makes the smallest journal account_ids takes.
  core::journal_tx probe{
      std::string(core::journal_kind::fee), {core::ledger_entry{key, 1, 0, currency}}, {}};
  std::vector<std::int64_t> ids;
  if (auto failed = account_ids(conn, probe, ids)) return to_core_error(*failed);
  return ids.front();
}

journal_outcome insert_journal(pg_connection& conn, const core::journal_tx& jtx,
                               const post_context& ctx) {
  journal_outcome out;
  // Refused before any statement runs, so the caller's transaction is not
  // aborted by a journal that could never commit.
  if (auto ok = core::validate(jtx); !ok) {
    out.error = refused(ok.err());
    return out;
  }
  std::vector<std::int64_t> ids;
  if (auto failed = account_ids(conn, jtx, ids)) {
    out.error = std::move(failed);
    return out;
  }
  std::vector<std::optional<std::string>> currencies;
  std::vector<std::int64_t> debits, credits;
  for (const auto& e : jtx.entries) {
    currencies.emplace_back(e.currency);
    debits.push_back(e.debit_minor);
    credits.push_back(e.credit_minor);
  }
  auto id = core::make_id(core::id_prefix::ledger_transaction);
  // Header and entries in one statement: atomic even in autocommit mode. The
  // ORDER BY keeps the entries' ids in the journal's order.
  auto r = conn.exec(
      "WITH t AS (INSERT INTO ledger_transactions (id, kind, intent_id, refund_id, reverses, memo) "
      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id) "
      "INSERT INTO ledger_entries (transaction_id, account_id, currency, debit, credit) "
      "SELECT t.id, e.account_id, e.currency, e.debit, e.credit FROM t, "
      "unnest($7::bigint[], $8::text[], $9::bigint[], $10::bigint[]) WITH ORDINALITY "
      "AS e(account_id, currency, debit, credit, n) ORDER BY e.n",
      {id, jtx.kind, ctx.intent_id, ctx.refund_id, ctx.reverses, jtx.memo, int_array(ids),
       text_array(currencies), int_array(debits), int_array(credits)});
  if (!r.ok()) {
    out.error = std::move(r.error);
    return out;
  }
  out.transaction_id = std::move(id);
  return out;
}

core::result<std::string> post(pg_connection& conn, const core::journal_tx& jtx,
                               const post_context& ctx) {
  if (auto ok = core::validate(jtx); !ok) return ok.err();
  auto posted = insert_journal(conn, jtx, ctx);
  if (posted.ok()) return std::move(posted.transaction_id);
  if (posted.error->kind == db_error_kind::unique_violation &&
      posted.error->constraint == "ledger_transactions_reversed_once")
    return core::make_error(core::errc::invalid_state,
                            "The ledger transaction is already reversed.", "reverses");
  return to_core_error(*posted.error);
}

core::result<stored_transaction> find_transaction(pg_connection& conn, const std::string& id) {
  auto r = conn.exec(transaction_select + "WHERE t.id = $1", {id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return not_found("ledger transaction: '" + id + "'");
  auto t = read_transaction(r.rows, 0);
  auto e = conn.exec(entry_select + "WHERE e.transaction_id = $1 ORDER BY e.id", {id});
  if (!e.ok()) return to_core_error(*e.error);
  for (int row = 0; row < e.rows.size(); ++row) t.entries.push_back(read_entry(e.rows, row));
  return t;
}

namespace {

/// The id of the one booking `sql` finds with `params`, for a reversal: a
/// database error, or a refusal when it finds none or several (`what` names
/// what was looked for), in `out.error`.
std::optional<std::string> sole_booking(pg_connection& conn, std::string_view sql,
                                        const std::vector<pg_param>& params,
                                        const std::string& what, journal_outcome& out) {
  auto r = conn.exec(sql, params);
  if (!r.ok()) {
    out.error = std::move(r.error);
    return std::nullopt;
  }
  if (r.rows.size() != 1) {
    out.error = refused(core::make_error(core::errc::invalid_state,
                                         what + " has " + std::to_string(r.rows.size()) +
                                             " bookings; expected exactly one to reverse"));
    return std::nullopt;
  }
  return std::string(r.rows.text(0, 0));
}

}  // namespace

journal_outcome reverse_refund_booking(pg_connection& conn, const std::string& refund_id) {
  journal_outcome out;
  auto id = sole_booking(
      conn, "SELECT id FROM ledger_transactions WHERE refund_id = $1 AND kind = $2",
      {refund_id, std::string(core::journal_kind::refund)}, "refund " + refund_id, out);
  if (!id) return out;
  // A second reversal of the same booking fails on ledger_transactions_reversed_once.
  return reverse_in(conn, *id);
}

journal_outcome reverse_capture_booking(pg_connection& conn, const core::payment_intent& after) {
  journal_outcome out;
  auto id = sole_booking(
      conn,
      "SELECT t.id FROM ledger_transactions t WHERE t.intent_id = $1 AND t.kind = $2 AND NOT "
      "EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.reverses = t.id)",
      {after.id, std::string(core::journal_kind::capture)},
      "intent " + after.id + "'s unreversed capture", out);
  if (!id) return out;
  auto original = find_transaction(conn, *id);
  if (!original) {
    out.error = refused(original.err());
    return out;
  }
  auto journals = core::postings::capture_reversal(
      original->journal(), original->id,
      core::posting_scope{after.merchant_id, after.psp, after.currency}, after.amount_capturable);
  if (!journals) {
    out.error = refused(journals.err());
    return out;
  }
  // The mirror names the capture (ledger_transactions_reversed_once: once);
  // the hold's correction is a booking of its own.
  for (std::size_t i = 0; i < journals->size(); ++i) {
    auto posted = insert_journal(
        conn, (*journals)[i],
        post_context{after.id, std::nullopt,
                     i == 0 ? std::optional<std::string>{original->id} : std::nullopt});
    if (!posted.ok()) return posted;
    if (i == 0) out.transaction_id = posted.transaction_id;
  }
  return out;
}

journal_outcome reverse_in(pg_connection& tx, const std::string& id) {
  journal_outcome out;
  auto original = find_transaction(tx, id);
  if (!original) {
    out.error = refused(original.err());
    return out;
  }
  auto mirror = core::postings::reversal(original->journal(), original->id);
  if (!mirror) {
    out.error = refused(mirror.err());
    return out;
  }
  return insert_journal(tx, *mirror,
                        post_context{original->intent_id, original->refund_id, original->id});
}

core::result<std::string> reverse(pg_connection& conn, const std::string& id) {
  auto original = find_transaction(conn, id);
  if (!original) return original.err();
  if (original->reversed_by)
    return core::make_error(
        core::errc::invalid_state,
        "The ledger transaction is already reversed by " + *original->reversed_by + ".",
        "reverses");
  auto mirror = core::postings::reversal(original->journal(), id);
  if (!mirror) return mirror.err();
  return post(conn, *mirror, post_context{original->intent_id, original->refund_id, id});
}

core::result<account_balance> balance(pg_connection& conn, const core::account_key& key,
                                      const std::string& currency,
                                      std::optional<ledger_time> as_of) {
  return sums(conn, core::info(key.code).normal, "a.key = $2 AND a.currency = $3",
              {as_of_param(as_of), key.to_string(), currency});
}

core::result<account_balance> balance(pg_connection& conn, std::int64_t account_id,
                                      std::optional<ledger_time> as_of) {
  auto account = find_account(conn, account_id);
  if (!account) return account.err();
  return sums(conn, account->normal, "a.id = $2", {as_of_param(as_of), std::to_string(account_id)});
}

core::result<ledger_account> find_account(pg_connection& conn, std::int64_t account_id) {
  auto r = conn.exec("SELECT " + account_columns + " FROM ledger_accounts a WHERE a.id = $1",
                     {std::to_string(account_id)});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return not_found("ledger account: '" + std::to_string(account_id) + "'");
  return read_account(r.rows, 0);
}

core::result<ledger_page<ledger_account>> list_accounts(
    pg_connection& conn, const std::optional<std::string>& merchant_id, std::size_t limit,
    std::optional<std::int64_t> starting_after) {
  auto r = conn.exec(
      "SELECT " + account_columns +
          " FROM ledger_accounts a WHERE ($1::text IS NULL OR a.merchant_id = $1) "
          "AND ($2::bigint IS NULL OR a.id > $2) ORDER BY a.id LIMIT $3",
      {merchant_id, starting_after ? pg_param{std::to_string(*starting_after)} : pg_param{},
       std::to_string(limit + 1)});
  if (!r.ok()) return to_core_error(*r.error);
  ledger_page<ledger_account> page;
  page.has_more = static_cast<std::size_t>(r.rows.size()) > limit;
  for (int row = 0; row < r.rows.size() && static_cast<std::size_t>(row) < limit; ++row)
    page.data.push_back(read_account(r.rows, row));
  return page;
}

core::result<ledger_page<stored_entry>> list_entries(pg_connection& conn, std::int64_t account_id,
                                                     std::size_t limit,
                                                     std::optional<std::int64_t> starting_after) {
  if (auto account = find_account(conn, account_id); !account) return account.err();
  if (starting_after) {
    auto anchor = conn.exec("SELECT 1 FROM ledger_entries WHERE id = $1 AND account_id = $2",
                            {std::to_string(*starting_after), std::to_string(account_id)});
    if (!anchor.ok()) return to_core_error(*anchor.error);
    if (anchor.rows.empty())
      return core::make_error(core::errc::not_found,
                              "No such ledger entry: '" + std::to_string(*starting_after) + "'",
                              "starting_after");
  }
  auto r = conn.exec(entry_select +
                         "WHERE e.account_id = $1 AND ($2::bigint IS NULL OR e.id < $2) "
                         "ORDER BY e.id DESC LIMIT $3",
                     {std::to_string(account_id),
                      starting_after ? pg_param{std::to_string(*starting_after)} : pg_param{},
                      std::to_string(limit + 1)});
  if (!r.ok()) return to_core_error(*r.error);
  ledger_page<stored_entry> page;
  page.has_more = static_cast<std::size_t>(r.rows.size()) > limit;
  for (int row = 0; row < r.rows.size() && static_cast<std::size_t>(row) < limit; ++row)
    page.data.push_back(read_entry(r.rows, row));
  return page;
}

core::result<std::vector<stored_transaction>> transactions_for_intent(
    pg_connection& conn, const std::string& intent_id) {
  auto r = conn.exec(transaction_select + "WHERE t.intent_id = $1 ORDER BY t.created_at, t.id",
                     {intent_id});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<stored_transaction> out;
  std::map<std::string, std::size_t> index;
  for (int row = 0; row < r.rows.size(); ++row) {
    out.push_back(read_transaction(r.rows, row));
    index[out.back().id] = out.size() - 1;
  }
  auto e = conn.exec(entry_select + "WHERE t.intent_id = $1 ORDER BY e.id", {intent_id});
  if (!e.ok()) return to_core_error(*e.error);
  for (int row = 0; row < e.rows.size(); ++row) {
    auto entry = read_entry(e.rows, row);
    if (auto it = index.find(entry.transaction_id); it != index.end())
      out[it->second].entries.push_back(std::move(entry));
  }
  return out;
}

core::result<std::vector<trial_balance_line>> trial_balance(pg_connection& conn,
                                                            std::optional<ledger_time> as_of) {
  auto r = conn.exec(
      "SELECT e.currency, "
      "coalesce(sum(e.debit) FILTER (WHERE a.type <> 'memo'), 0)::text, "
      "coalesce(sum(e.credit) FILTER (WHERE a.type <> 'memo'), 0)::text, "
      "coalesce(sum(e.debit) FILTER (WHERE a.type = 'memo'), 0)::text, "
      "coalesce(sum(e.credit) FILTER (WHERE a.type = 'memo'), 0)::text "
      "FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id "
      "JOIN ledger_accounts a ON a.id = e.account_id WHERE true" +
          as_of_clause("t.created_at", 1) + " GROUP BY e.currency ORDER BY e.currency",
      {as_of_param(as_of)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<trial_balance_line> out;
  for (int row = 0; row < r.rows.size(); ++row) {
    trial_balance_line line;
    line.currency = r.rows.text(row, 0);
    auto d = parse_int64(r.rows.text(row, 1));
    auto c = parse_int64(r.rows.text(row, 2));
    auto md = parse_int64(r.rows.text(row, 3));
    auto mc = parse_int64(r.rows.text(row, 4));
    if (!d || !c || !md || !mc) return overflow();
    line.debits_minor = *d;
    line.credits_minor = *c;
    line.memo_debits_minor = *md;
    line.memo_credits_minor = *mc;
    line.balanced = *d == *c && *md == *mc;
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace pay::storage
