#include "storage/ledger.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/harness.hpp"

using namespace pay;
using core::accounts::auth_holds;
using core::accounts::bank;
using core::accounts::merchant_revenue;
using core::accounts::psp_fees;
using core::accounts::psp_receivable;
using core::accounts::refunds;

namespace {

/// A migrated database with one merchant, one captured intent and its refund.
struct ledger_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "ledger-merchant");
  storage::pg_connection conn = db.connect();
  core::posting_scope scope{merchant.id, "sandbox", "usd"};

  ledger_fixture() {
    db.query(
        "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
        "psp) VALUES ('pi_ledger', $1, 'created', 1000, 'usd', 'manual', 'sandbox')",
        {merchant.id});
    db.query(
        "INSERT INTO refunds (id, merchant_id, intent_id, amount, currency, status) "
        "VALUES ('re_ledger', $1, 'pi_ledger', 300, 'usd', 'succeeded')",
        {merchant.id});
  }

  std::string post(const core::result<core::journal_tx>& jtx, storage::post_context ctx = {}) {
    REQUIRE(jtx);
    auto id = storage::post(conn, *jtx, ctx);
    INFO((id ? std::string() : id.err().message));
    REQUIRE(id);
    return *id;
  }

  std::int64_t balance_of(const core::account_key& key,
                          std::optional<storage::ledger_time> as_of = std::nullopt) {
    auto b = storage::balance(conn, key, "usd", as_of);
    REQUIRE(b);
    return b->balance_minor;
  }

  std::int64_t account_id(const core::account_key& key, const std::string& currency = "usd") {
    auto id = storage::ensure_account(conn, key, currency);
    REQUIRE(id);
    return *id;
  }

  std::int64_t count(const std::string& table) {
    return db.query("SELECT count(*) FROM " + table).int64(0, 0);
  }

  /// The database's clock now, for "as of" bounds.
  storage::ledger_time db_now() {
    auto us = db.query("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint");
    return storage::ledger_time(std::chrono::microseconds(us.int64(0, 0)));
  }
};

/// Runs `statements` in one transaction with raw SQL and answers the first
/// failure (COMMIT included), or nothing when everything committed.
std::optional<storage::db_error> raw_transaction(storage::pg_connection& conn,
                                                 const std::vector<std::string>& statements) {
  return conn.transaction([&](storage::pg_connection& tx) -> std::optional<storage::db_error> {
    for (const auto& sql : statements)
      if (auto r = tx.exec(sql); !r.ok()) return r.error;
    return std::nullopt;
  });
}

const std::string raw_tx_id = "ltx_RAWRAWRAWRAWRAWRAWRAWRAW";

std::string raw_header(const std::string& id = raw_tx_id) {
  return "INSERT INTO ledger_transactions (id, kind) VALUES ('" + id + "', 'capture')";
}

std::string raw_entry(std::int64_t account_id, std::int64_t debit, std::int64_t credit,
                      const std::string& currency = "usd", const std::string& tx = raw_tx_id) {
  return "INSERT INTO ledger_entries (transaction_id, account_id, currency, debit, credit) "
         "VALUES ('" +
         tx + "', " + std::to_string(account_id) + ", '" + currency + "', " +
         std::to_string(debit) + ", " + std::to_string(credit) + ")";
}

}  // namespace

TEST_CASE("A capture then a refund then a settlement give the expected balances") {
  ledger_fixture f;
  storage::post_context on_intent{"pi_ledger", std::nullopt, std::nullopt};
  f.post(core::postings::authorization(f.scope, 1000), on_intent);
  f.post(core::postings::capture(f.scope, 1000, 1000), on_intent);
  f.post(core::postings::refund(f.scope, 300), {"pi_ledger", "re_ledger", std::nullopt});
  f.post(core::postings::settlement(f.scope, {700, 30, 670}));

  CHECK(f.balance_of(psp_receivable("sandbox")) == 0);
  CHECK(f.balance_of(merchant_revenue(f.merchant.id)) == 1000);
  CHECK(f.balance_of(refunds(f.merchant.id)) == 300);
  CHECK(f.balance_of(psp_fees("sandbox")) == 30);
  CHECK(f.balance_of(bank(f.merchant.id)) == 670);
  CHECK(f.balance_of(auth_holds(f.merchant.id)) == 0);
  auto receivable = storage::balance(f.conn, psp_receivable("sandbox"), "usd");
  REQUIRE(receivable);
  CHECK(receivable->debits_minor == 1000);
  CHECK(receivable->credits_minor == 1000);

  auto trial = storage::trial_balance(f.conn);
  REQUIRE(trial);
  REQUIRE(trial->size() == 1);
  CHECK(trial->at(0).currency == "usd");
  CHECK(trial->at(0).debits_minor == 2000);
  CHECK(trial->at(0).credits_minor == 2000);
  CHECK(trial->at(0).memo_debits_minor == 2000);
  CHECK(trial->at(0).memo_credits_minor == 2000);
  CHECK(trial->at(0).balanced);
}

TEST_CASE("The trial balance keeps each currency on its own line") {
  ledger_fixture f;
  f.post(core::postings::capture(f.scope, 1000, 0));
  f.post(core::postings::capture({f.merchant.id, "sandbox", "jpy"}, 50, 0));
  auto trial = storage::trial_balance(f.conn);
  REQUIRE(trial);
  REQUIRE(trial->size() == 2);
  CHECK(trial->at(0).currency == "jpy");
  CHECK(trial->at(0).debits_minor == 50);
  CHECK(trial->at(1).currency == "usd");
  CHECK(trial->at(1).credits_minor == 1000);
  CHECK((trial->at(0).balanced && trial->at(1).balanced));
}

TEST_CASE("An empty ledger has an empty trial balance and zero balances") {
  ledger_fixture f;
  auto trial = storage::trial_balance(f.conn);
  REQUIRE(trial);
  CHECK(trial->empty());
  CHECK(f.balance_of(psp_receivable("sandbox")) == 0);
}

TEST_CASE("Accounts are created once per key and currency with the chart's type") {
  ledger_fixture f;
  auto capture = core::postings::capture(f.scope, 1000, 1000);
  REQUIRE(capture);
  auto first = storage::ensure_accounts(f.conn, *capture);
  auto again = storage::ensure_accounts(f.conn, *capture);
  REQUIRE(first);
  REQUIRE(again);
  CHECK(*first == *again);
  CHECK(f.count("ledger_accounts") == 4);
  CHECK(f.account_id(psp_receivable("sandbox"), "eur") != first->at(0));
  for (const auto& row : core::chart_of_accounts()) {
    INFO(row.name);
    bool by_merchant = row.scope == core::scope_kind::merchant;
    auto id = f.account_id(core::account_key{row.code, by_merchant ? f.merchant.id : "sandbox"});
    auto account = storage::find_account(f.conn, id);
    REQUIRE(account);
    CHECK(account->type == row.type);
    CHECK(account->normal == row.normal);
    CHECK(account->merchant_id.has_value() == by_merchant);
    CHECK(account->psp.has_value() == !by_merchant);
  }
  auto mine = storage::list_accounts(f.conn, f.merchant.id, 100);
  REQUIRE(mine);
  // revenue, refunds, disputes, dispute_losses, bank and the two memo accounts
  CHECK(mine->data.size() == 7);
  for (const auto& a : mine->data) CHECK(a.merchant_id == f.merchant.id);
}

TEST_CASE("Listing accounts pages by id") {
  ledger_fixture f;
  f.post(core::postings::settlement(f.scope, {700, 30, 670}));
  auto first = storage::list_accounts(f.conn, std::nullopt, 2);
  REQUIRE(first);
  REQUIRE(first->data.size() == 2);
  CHECK(first->has_more);
  auto rest = storage::list_accounts(f.conn, std::nullopt, 2, first->data.back().id);
  REQUIRE(rest);
  REQUIRE(rest->data.size() == 1);
  CHECK_FALSE(rest->has_more);
  CHECK(rest->data[0].id > first->data[1].id);
}

TEST_CASE("The database refuses an unbalanced journal written with raw SQL") {
  ledger_fixture f;
  auto receivable = f.account_id(psp_receivable("sandbox"));
  auto revenue = f.account_id(merchant_revenue(f.merchant.id));
  auto failed = raw_transaction(
      f.conn, {raw_header(), raw_entry(receivable, 100, 0), raw_entry(revenue, 0, 90)});
  REQUIRE(failed);
  CHECK(failed->kind == storage::db_error_kind::refused);
  CHECK_THAT(failed->message, Catch::Contains("unbalanced"));
  CHECK(f.count("ledger_transactions") == 0);
  CHECK(f.count("ledger_entries") == 0);
}

TEST_CASE("The database refuses a raw journal balanced only across currencies") {
  ledger_fixture f;
  auto usd = f.account_id(psp_receivable("sandbox"));
  auto eur = f.account_id(merchant_revenue(f.merchant.id), "eur");
  auto failed = raw_transaction(
      f.conn, {raw_header(), raw_entry(usd, 100, 0), raw_entry(eur, 0, 100, "eur")});
  REQUIRE(failed);
  CHECK(failed->kind == storage::db_error_kind::refused);
  CHECK(f.count("ledger_transactions") == 0);
}

TEST_CASE("The database refuses a raw journal whose memo entries balance real ones") {
  ledger_fixture f;
  auto receivable = f.account_id(psp_receivable("sandbox"));
  auto holds = f.account_id(auth_holds(f.merchant.id));
  auto failed = raw_transaction(
      f.conn, {raw_header(), raw_entry(receivable, 100, 0), raw_entry(holds, 0, 100)});
  REQUIRE(failed);
  CHECK(failed->kind == storage::db_error_kind::refused);
  CHECK_THAT(failed->message, Catch::Contains("unbalanced"));
}

TEST_CASE("The database refuses a journal with a single entry") {
  ledger_fixture f;
  auto receivable = f.account_id(psp_receivable("sandbox"));
  auto failed = raw_transaction(f.conn, {raw_header(), raw_entry(receivable, 100, 0)});
  REQUIRE(failed);
  CHECK(failed->kind == storage::db_error_kind::refused);
  CHECK_THAT(failed->message, Catch::Contains("at least two"));
  CHECK(f.count("ledger_entries") == 0);
}

TEST_CASE("The database refuses a journal with no entries") {
  ledger_fixture f;
  auto r = f.conn.exec(raw_header());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error->kind == storage::db_error_kind::refused);
  CHECK(f.count("ledger_transactions") == 0);
}

TEST_CASE("The database refuses an entry with both sides or neither") {
  ledger_fixture f;
  auto receivable = f.account_id(psp_receivable("sandbox"));
  for (auto [debit, credit] : {std::pair{5, 5}, std::pair{0, 0}, std::pair{-5, 0}}) {
    auto failed = raw_transaction(
        f.conn, {raw_header(), raw_entry(receivable, debit, credit), raw_entry(receivable, 5, 0)});
    REQUIRE(failed);
    CHECK(failed->kind == storage::db_error_kind::constraint);
  }
  CHECK(f.count("ledger_entries") == 0);
}

TEST_CASE("The database refuses an entry whose currency differs from its account's") {
  ledger_fixture f;
  auto receivable = f.account_id(psp_receivable("sandbox"));
  auto revenue = f.account_id(merchant_revenue(f.merchant.id));
  auto failed = raw_transaction(f.conn, {raw_header(), raw_entry(receivable, 100, 0, "eur"),
                                         raw_entry(revenue, 0, 100, "eur")});
  REQUIRE(failed);
  CHECK(failed->kind == storage::db_error_kind::constraint);
  CHECK(failed->constraint == "ledger_entries_account_currency");
  CHECK(f.count("ledger_entries") == 0);
}

TEST_CASE("The database refuses entries added to a committed journal") {
  ledger_fixture f;
  auto id = f.post(core::postings::capture(f.scope, 1000, 0));
  auto receivable = f.account_id(psp_receivable("sandbox"));
  auto revenue = f.account_id(merchant_revenue(f.merchant.id));
  auto failed = raw_transaction(
      f.conn, {raw_entry(receivable, 5, 0, "usd", id), raw_entry(revenue, 0, 5, "usd", id)});
  REQUIRE(failed);
  CHECK(failed->kind == storage::db_error_kind::refused);
  CHECK(f.count("ledger_entries") == 2);
  CHECK(f.balance_of(psp_receivable("sandbox")) == 1000);
}

TEST_CASE("The journal tables refuse UPDATE and the rows stay as written") {
  ledger_fixture f;
  auto id = f.post(core::postings::capture(f.scope, 1000, 0));
  for (const auto* sql : {"UPDATE ledger_entries SET debit = debit * 2, credit = credit * 2",
                          "UPDATE ledger_transactions SET memo = 'rewritten'",
                          "UPDATE ledger_accounts SET currency = 'eur'"}) {
    INFO(sql);
    auto r = f.conn.exec(sql);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error->kind == storage::db_error_kind::refused);
    CHECK_THAT(r.error->message, Catch::Contains("append-only"));
  }
  auto stored = storage::find_transaction(f.conn, id);
  REQUIRE(stored);
  CHECK(stored->memo == "capture 10.00 usd");
  CHECK(stored->entries.at(0).debit_minor == 1000);
  CHECK(f.balance_of(psp_receivable("sandbox")) == 1000);
}

TEST_CASE("The journal tables refuse DELETE and the rows survive") {
  ledger_fixture f;
  f.post(core::postings::capture(f.scope, 1000, 0));
  for (const auto* sql : {"DELETE FROM ledger_entries", "DELETE FROM ledger_transactions",
                          "DELETE FROM ledger_accounts"}) {
    INFO(sql);
    auto r = f.conn.exec(sql);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error->kind == storage::db_error_kind::refused);
  }
  CHECK(f.count("ledger_entries") == 2);
  CHECK(f.count("ledger_transactions") == 1);
  CHECK(f.count("ledger_accounts") == 2);
}

TEST_CASE("The journal tables refuse TRUNCATE and the rows survive") {
  ledger_fixture f;
  f.post(core::postings::capture(f.scope, 1000, 0));
  // CASCADE gets past the foreign keys, so it is the trigger that refuses.
  for (const auto* sql : {"TRUNCATE ledger_entries", "TRUNCATE ledger_transactions CASCADE",
                          "TRUNCATE ledger_accounts CASCADE"}) {
    INFO(sql);
    auto r = f.conn.exec(sql);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error->kind == storage::db_error_kind::refused);
  }
  CHECK(f.count("ledger_entries") == 2);
  CHECK(f.count("ledger_transactions") == 1);
}

TEST_CASE("A reversal is a new transaction and the original stays") {
  ledger_fixture f;
  auto original = f.post(core::postings::refund(f.scope, 300), {"pi_ledger", "re_ledger", {}});
  auto reversal = storage::reverse(f.conn, original);
  REQUIRE(reversal);
  CHECK(*reversal != original);
  CHECK(f.count("ledger_transactions") == 2);
  CHECK(f.balance_of(psp_receivable("sandbox")) == 0);
  CHECK(f.balance_of(refunds(f.merchant.id)) == 0);

  auto kept = storage::find_transaction(f.conn, original);
  REQUIRE(kept);
  CHECK(kept->kind == "refund");
  CHECK(kept->reversed_by == *reversal);
  CHECK(kept->entries.size() == 2);
  auto mirror = storage::find_transaction(f.conn, *reversal);
  REQUIRE(mirror);
  CHECK(mirror->kind == "reversal");
  CHECK(mirror->reverses == original);
  CHECK(mirror->intent_id == "pi_ledger");
  CHECK(mirror->refund_id == "re_ledger");
  REQUIRE(mirror->entries.size() == 2);
  CHECK(mirror->entries[0].credit_minor == kept->entries[0].debit_minor);
  CHECK(mirror->entries[1].debit_minor == kept->entries[1].credit_minor);
}

TEST_CASE("A second reversal of the same transaction is refused") {
  ledger_fixture f;
  auto original = f.post(core::postings::capture(f.scope, 1000, 0));
  REQUIRE(storage::reverse(f.conn, original));
  auto again = storage::reverse(f.conn, original);
  REQUIRE_FALSE(again);
  CHECK(again.err().code == core::errc::invalid_state);
  CHECK(again.err().param == "reverses");

  // Past the early check, the unique index refuses it too.
  auto stored = storage::find_transaction(f.conn, original);
  REQUIRE(stored);
  auto mirror = core::postings::reversal(stored->journal(), original);
  REQUIRE(mirror);
  auto raced = storage::post(f.conn, *mirror, {std::nullopt, std::nullopt, original});
  REQUIRE_FALSE(raced);
  CHECK(raced.err().code == core::errc::invalid_state);
  CHECK(f.count("ledger_transactions") == 2);
  CHECK(f.balance_of(psp_receivable("sandbox")) == 0);
}

TEST_CASE("The database refuses a reversal that does not mirror what it reverses") {
  ledger_fixture f;
  auto original = f.post(core::postings::capture(f.scope, 1000, 0));
  auto partial = core::postings::reversal(*core::postings::capture(f.scope, 400, 0), original);
  REQUIRE(partial);
  auto r = storage::post(f.conn, *partial, {std::nullopt, std::nullopt, original});
  REQUIRE_FALSE(r);
  CHECK(f.count("ledger_transactions") == 1);
}

TEST_CASE("Reversing an unknown transaction is not found") {
  ledger_fixture f;
  auto r = storage::reverse(f.conn, "ltx_000000000000000000000000");
  REQUIRE_FALSE(r);
  CHECK(r.err().code == core::errc::not_found);
}

TEST_CASE("A balance as of a past time excludes later entries") {
  ledger_fixture f;
  f.post(core::postings::capture(f.scope, 1000, 0));
  auto between = f.db_now();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  f.post(core::postings::capture(f.scope, 250, 0));
  f.post(core::postings::refund(f.scope, 100));
  CHECK(f.balance_of(psp_receivable("sandbox"), between) == 1000);
  CHECK(f.balance_of(psp_receivable("sandbox")) == 1150);
  auto before_all = between - std::chrono::hours(1);
  CHECK(f.balance_of(psp_receivable("sandbox"), before_all) == 0);
  auto trial = storage::trial_balance(f.conn, between);
  REQUIRE(trial);
  REQUIRE(trial->size() == 1);
  CHECK(trial->at(0).debits_minor == 1000);
}

TEST_CASE("A balance as of a transaction's own time includes it") {
  ledger_fixture f;
  auto id = f.post(core::postings::capture(f.scope, 1000, 0));
  auto stored = storage::find_transaction(f.conn, id);
  REQUIRE(stored);
  storage::ledger_time at{std::chrono::microseconds(stored->created_us)};
  CHECK(f.balance_of(psp_receivable("sandbox"), at) == 1000);
  CHECK(f.balance_of(psp_receivable("sandbox"), at - std::chrono::microseconds(1)) == 0);
}

TEST_CASE("Post inside a caller's transaction rolls back with it") {
  ledger_fixture f;
  auto capture = core::postings::capture(f.scope, 1000, 0);
  REQUIRE(capture);
  std::string posted;
  auto failed =
      f.conn.transaction([&](storage::pg_connection& tx) -> std::optional<storage::db_error> {
        auto id = storage::post(tx, *capture, {"pi_ledger", std::nullopt, std::nullopt});
        REQUIRE(id);
        posted = *id;
        // The caller's own write fails after the posting.
        return storage::db_error{storage::db_error_kind::constraint, "23514", "caller failed", {}};
      });
  REQUIRE(failed);
  CHECK_FALSE(posted.empty());
  CHECK(f.count("ledger_transactions") == 0);
  CHECK(f.count("ledger_entries") == 0);
  auto lost = storage::find_transaction(f.conn, posted);
  REQUIRE_FALSE(lost);
  CHECK(lost.err().code == core::errc::not_found);
}

TEST_CASE("Postings inside a caller's transaction commit with its other writes") {
  ledger_fixture f;
  auto capture = core::postings::capture(f.scope, 1000, 0);
  REQUIRE(capture);
  auto failed = f.conn.transaction([&](storage::pg_connection& tx)
                                       -> std::optional<storage::db_error> {
    auto r = tx.exec("UPDATE payment_intents SET status = 'captured' WHERE id = 'pi_ledger'");
    if (!r.ok()) return r.error;
    auto posted = storage::insert_journal(tx, *capture, {"pi_ledger", std::nullopt, std::nullopt});
    if (!posted.ok()) return posted.error;
    return std::nullopt;
  });
  CHECK_FALSE(failed);
  CHECK(f.db.query("SELECT status FROM payment_intents").text(0, 0) == "captured");
  CHECK(f.balance_of(psp_receivable("sandbox")) == 1000);
}

TEST_CASE("Post refuses an invalid journal before touching the database") {
  ledger_fixture f;
  core::journal_tx unbalanced{"capture",
                              {core::ledger_entry{psp_receivable("sandbox"), 100, 0, "usd"},
                               core::ledger_entry{merchant_revenue(f.merchant.id), 0, 90, "usd"}},
                              {}};
  auto failed =
      f.conn.transaction([&](storage::pg_connection& tx) -> std::optional<storage::db_error> {
        auto r = storage::post(tx, unbalanced);
        REQUIRE_FALSE(r);
        CHECK(r.err().code == core::errc::invalid_request);
        auto low = storage::insert_journal(tx, unbalanced);
        REQUIRE_FALSE(low.ok());
        CHECK(low.error->kind == storage::db_error_kind::refused);
        // The caller's transaction is still usable: nothing was sent.
        auto alive = tx.exec("SELECT 1");
        CHECK(alive.ok());
        return std::nullopt;
      });
  CHECK_FALSE(failed);
  CHECK(f.count("ledger_accounts") == 0);
  CHECK(f.count("ledger_transactions") == 0);
}

TEST_CASE("Transactions for an intent come oldest first with their entries") {
  ledger_fixture f;
  storage::post_context on_intent{"pi_ledger", std::nullopt, std::nullopt};
  auto hold = f.post(core::postings::authorization(f.scope, 1000), on_intent);
  auto capture = f.post(core::postings::capture(f.scope, 600, 1000), on_intent);
  auto refund = f.post(core::postings::refund(f.scope, 300), {"pi_ledger", "re_ledger", {}});
  f.post(core::postings::settlement(f.scope, {300, 10, 290}));
  auto txs = storage::transactions_for_intent(f.conn, "pi_ledger");
  REQUIRE(txs);
  REQUIRE(txs->size() == 3);
  CHECK(txs->at(0).id == hold);
  CHECK(txs->at(1).id == capture);
  CHECK(txs->at(2).id == refund);
  CHECK(txs->at(2).refund_id == "re_ledger");
  CHECK(txs->at(1).entries.size() == 4);
  CHECK(txs->at(1).journal() == *core::postings::capture(f.scope, 600, 1000));
  auto none = storage::transactions_for_intent(f.conn, "pi_unknown");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("An account's entries are listed newest first and paginated") {
  ledger_fixture f;
  for (std::int64_t amount : {100, 200, 300}) f.post(core::postings::capture(f.scope, amount, 0));
  auto receivable = f.account_id(psp_receivable("sandbox"));
  auto page = storage::list_entries(f.conn, receivable, 2);
  REQUIRE(page);
  REQUIRE(page->data.size() == 2);
  CHECK(page->has_more);
  CHECK(page->data[0].debit_minor == 300);
  CHECK(page->data[1].debit_minor == 200);
  CHECK(page->data[0].kind == "capture");
  CHECK(page->data[0].account == psp_receivable("sandbox"));
  auto rest = storage::list_entries(f.conn, receivable, 2, page->data[1].id);
  REQUIRE(rest);
  REQUIRE(rest->data.size() == 1);
  CHECK_FALSE(rest->has_more);
  CHECK(rest->data[0].debit_minor == 100);

  auto revenue = f.account_id(merchant_revenue(f.merchant.id));
  auto foreign = storage::list_entries(f.conn, revenue, 2, page->data[0].id);
  REQUIRE_FALSE(foreign);
  CHECK(foreign.err().param == "starting_after");
  auto unknown = storage::list_entries(f.conn, 999'999, 2);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.err().code == core::errc::not_found);
}

TEST_CASE("A balance by account id matches the balance by key") {
  ledger_fixture f;
  f.post(core::postings::capture(f.scope, 1000, 0));
  f.post(core::postings::refund(f.scope, 400));
  auto id = f.account_id(merchant_revenue(f.merchant.id));
  auto by_id = storage::balance(f.conn, id);
  REQUIRE(by_id);
  CHECK(by_id->balance_minor == 1000);
  CHECK(by_id->credits_minor == 1000);
  CHECK(f.balance_of(psp_receivable("sandbox")) == 600);
  auto unknown = storage::balance(f.conn, std::int64_t{999'999});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.err().code == core::errc::not_found);
}

TEST_CASE("A journal posted inside a savepoint commits with the outer transaction") {
  ledger_fixture f;
  auto capture = core::postings::capture(f.scope, 1000, 0);
  REQUIRE(capture);
  auto failed =
      f.conn.transaction([&](storage::pg_connection& tx) -> std::optional<storage::db_error> {
        if (auto r = tx.exec("SAVEPOINT batch_item"); !r.ok()) return r.error;
        auto posted = storage::insert_journal(tx, *capture);
        if (!posted.ok()) return posted.error;
        if (auto r = tx.exec("RELEASE SAVEPOINT batch_item"); !r.ok()) return r.error;
        return std::nullopt;
      });
  CHECK_FALSE(failed);
  CHECK(f.balance_of(psp_receivable("sandbox")) == 1000);
}

TEST_CASE("Concurrent writers create each account once and all their journals commit") {
  ledger_fixture f;
  constexpr int writers = 4;
  constexpr int journals_each = 10;
  std::vector<std::thread> threads;
  std::vector<int> failures(writers, 0);
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      auto conn = storage::pg_connection::connect(f.db.url());
      if (!conn) {
        failures[w] = journals_each;
        return;
      }
      for (int i = 0; i < journals_each; ++i) {
        auto jtx = core::postings::capture(f.scope, 10, 0);
        if (!jtx || !storage::post(*conn, *jtx)) ++failures[w];
      }
    });
  for (auto& t : threads) t.join();
  for (int w = 0; w < writers; ++w) CHECK(failures[w] == 0);
  CHECK(f.count("ledger_accounts") == 2);
  CHECK(f.count("ledger_transactions") == writers * journals_each);
  CHECK(f.balance_of(psp_receivable("sandbox")) == 10 * writers * journals_each);
}
