#include "core/ledger.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <limits>
#include <map>
#include <random>

using namespace pay::core;

namespace {

constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();

const posting_scope usd{"mch_test", "stripe", "usd"};

journal_tx must(result<journal_tx> tx) {
  INFO((tx ? std::string() : tx.err().message));
  REQUIRE(tx);
  return std::move(*tx);
}

ledger_entry dr(account_key key, std::int64_t amount, std::string currency = "usd") {
  return {std::move(key), amount, 0, std::move(currency)};
}

ledger_entry cr(account_key key, std::int64_t amount, std::string currency = "usd") {
  return {std::move(key), 0, amount, std::move(currency)};
}

/// A journal of `kind` with `entries` and no memo.
journal_tx journal(std::vector<ledger_entry> entries, std::string kind = "capture") {
  return journal_tx{std::move(kind), std::move(entries), {}};
}

/// The signed movement per account key and currency (debit positive).
std::map<std::string, std::int64_t> net_by_account(const std::vector<journal_tx>& txs) {
  std::map<std::string, std::int64_t> net;
  for (const auto& tx : txs)
    for (const auto& e : tx.entries)
      net[e.account.to_string() + "/" + e.currency] += e.debit_minor - e.credit_minor;
  return net;
}

payment_intent intent(std::int64_t capturable, std::int64_t received, std::int64_t refunded,
                      intent_status status = intent_status::authorized) {
  payment_intent pi;
  pi.id = "pi_test";
  pi.merchant_id = "mch_test";
  pi.psp = "stripe";
  pi.currency = "usd";
  pi.amount = 10'000;
  pi.status = status;
  pi.amount_capturable = capturable;
  pi.amount_received = received;
  pi.amount_refunded = refunded;
  return pi;
}

}  // namespace

TEST_CASE("Every posting rule answers a journal that validates and so does its reversal") {
  const posting_scope jpy{"mch_other", "adyen", "JPY"};
  const posting_scope bhd{"mch_test", "stripe", "bhd"};
  struct posting_case {
    std::string name;
    std::function<result<journal_tx>()> make;
  };
  std::vector<posting_case> cases{
      {"authorization", [&] { return postings::authorization(usd, 1000); }},
      {"authorization in jpy", [&] { return postings::authorization(jpy, 5); }},
      {"full capture of a hold", [&] { return postings::capture(usd, 1000, 1000); }},
      {"partial capture", [&] { return postings::capture(usd, 600, 1000); }},
      {"capture of one minor unit", [&] { return postings::capture(bhd, 1, 99'999'999); }},
      {"capture without a hold", [&] { return postings::capture(usd, 1000, 0); }},
      {"cancel", [&] { return postings::hold_release(usd, 1000, hold_release_reason::canceled); }},
      {"expiry", [&] { return postings::hold_release(jpy, 7, hold_release_reason::expired); }},
      {"first of two refunds", [&] { return postings::refund(usd, 300); }},
      {"second of two refunds", [&] { return postings::refund(usd, 300); }},
      {"full refund", [&] { return postings::refund(jpy, 5); }},
      {"fee", [&] { return postings::fee(usd, 59); }},
      {"payout", [&] { return postings::payout(usd, 941); }},
      {"settlement with fee",
       [&] {
         return postings::settlement(usd, {1000, 59, 941});
       }},
      {"settlement without fee",
       [&] {
         return postings::settlement(usd, {1000, 0, 1000});
       }},
      {"settlement eaten by its fee",
       [&] {
         return postings::settlement(usd, {30, 30, 0});
       }},
      {"largest settlement",
       [&] {
         return postings::settlement(usd, {int64_max, 1, int64_max - 1});
       }},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto tx = must(c.make());
    CHECK(validate(tx));
    CHECK(tx.entries.size() >= 2);
    CHECK_FALSE(tx.memo.empty());
    auto mirror = must(postings::reversal(tx, "ltx_original"));
    CHECK(validate(mirror));
    CHECK(mirror.kind == "reversal");
    auto twice = must(postings::reversal(mirror, "ltx_mirror"));
    CHECK(twice.entries == tx.entries);
  }
}

TEST_CASE("A capture debits the PSP receivable and credits the merchant revenue") {
  auto tx = must(postings::capture(usd, 1000, 0));
  CHECK(tx.kind == "capture");
  CHECK(tx.entries == std::vector{dr(accounts::psp_receivable("stripe"), 1000),
                                  cr(accounts::merchant_revenue("mch_test"), 1000)});
}

TEST_CASE("An authorization holds the amount in the memo accounts only") {
  auto tx = must(postings::authorization(usd, 1000));
  CHECK(tx.kind == "authorization");
  CHECK(tx.entries == std::vector{dr(accounts::auth_holds("mch_test"), 1000),
                                  cr(accounts::auth_hold_offset("mch_test"), 1000)});
}

TEST_CASE("A partial capture books the captured part and closes the whole hold") {
  auto tx = must(postings::capture(usd, 600, 1000));
  CHECK(tx.entries == std::vector{dr(accounts::psp_receivable("stripe"), 600),
                                  cr(accounts::merchant_revenue("mch_test"), 600),
                                  dr(accounts::auth_hold_offset("mch_test"), 1000),
                                  cr(accounts::auth_holds("mch_test"), 1000)});
  CHECK_THAT(tx.memo, Catch::Contains("releasing 4.00 usd"));
  auto hold = must(postings::authorization(usd, 1000));
  auto net = net_by_account({hold, tx});
  CHECK(net["auth_holds:mch_test/usd"] == 0);
  CHECK(net["auth_hold_offset:mch_test/usd"] == 0);
  CHECK(net["psp_receivable:stripe/usd"] == 600);
}

TEST_CASE("A capture larger than its open hold is refused") {
  auto tx = postings::capture(usd, 1001, 1000);
  REQUIRE_FALSE(tx);
  CHECK(tx.err().code == errc::invalid_request);
  CHECK(tx.err().param == "amount");
}

TEST_CASE("A canceled hold is released from the memo accounts") {
  auto tx = must(postings::hold_release(usd, 1000, hold_release_reason::canceled));
  CHECK(tx.kind == "hold_release");
  CHECK(tx.entries == std::vector{dr(accounts::auth_hold_offset("mch_test"), 1000),
                                  cr(accounts::auth_holds("mch_test"), 1000)});
  CHECK_THAT(tx.memo, Catch::Contains("canceled"));
}

TEST_CASE("A refund debits refunds and credits the PSP receivable") {
  auto tx = must(postings::refund(usd, 250));
  CHECK(tx.entries == std::vector{dr(accounts::refunds("mch_test"), 250),
                                  cr(accounts::psp_receivable("stripe"), 250)});
}

TEST_CASE("Two partial refunds leave the receivable at captured minus refunded") {
  auto net = net_by_account({must(postings::capture(usd, 1000, 1000)),
                             must(postings::refund(usd, 300)), must(postings::refund(usd, 200))});
  CHECK(net["psp_receivable:stripe/usd"] == 500);
  CHECK(net["refunds:mch_test/usd"] == 500);
  CHECK(net["merchant_revenue:mch_test/usd"] == -1000);
}

TEST_CASE("A settlement books net to the bank and the fee to expense against the gross") {
  auto tx = must(postings::settlement(usd, {1000, 59, 941}));
  CHECK(tx.kind == "settlement");
  CHECK(tx.entries == std::vector{dr(accounts::bank("mch_test"), 941),
                                  dr(accounts::psp_fees("stripe"), 59),
                                  cr(accounts::psp_receivable("stripe"), 1000)});
}

TEST_CASE("A settlement without a fee writes no fee entry") {
  auto tx = must(postings::settlement(usd, {1000, 0, 1000}));
  CHECK(tx.entries == std::vector{dr(accounts::bank("mch_test"), 1000),
                                  cr(accounts::psp_receivable("stripe"), 1000)});
}

TEST_CASE("A settlement whose net is not gross minus fee is refused") {
  for (auto amounts : {settlement_amounts{1000, 59, 940}, settlement_amounts{1000, 59, 942},
                       settlement_amounts{1000, 1001, -1}, settlement_amounts{0, 0, 0},
                       settlement_amounts{1000, -1, 1001}}) {
    INFO(amounts.gross_minor << " " << amounts.fee_minor << " " << amounts.net_minor);
    auto tx = postings::settlement(usd, amounts);
    REQUIRE_FALSE(tx);
    CHECK(tx.err().code == errc::invalid_request);
  }
}

TEST_CASE("A fee and a payout on their own take money off the PSP receivable") {
  CHECK(must(postings::fee(usd, 59)).entries ==
        std::vector{dr(accounts::psp_fees("stripe"), 59),
                    cr(accounts::psp_receivable("stripe"), 59)});
  CHECK(must(postings::payout(usd, 941)).entries ==
        std::vector{dr(accounts::bank("mch_test"), 941),
                    cr(accounts::psp_receivable("stripe"), 941)});
}

TEST_CASE("A reversal swaps every debit and credit and names the original") {
  auto original = must(postings::settlement(usd, {1000, 59, 941}));
  auto mirror = must(postings::reversal(original, "ltx_abc"));
  CHECK(mirror.entries == std::vector{cr(accounts::bank("mch_test"), 941),
                                      cr(accounts::psp_fees("stripe"), 59),
                                      dr(accounts::psp_receivable("stripe"), 1000)});
  CHECK_THAT(mirror.memo, Catch::Contains("ltx_abc") && Catch::Contains("settlement"));
  auto net = net_by_account({original, mirror});
  for (const auto& [account, amount] : net) {
    INFO(account);
    CHECK(amount == 0);
  }
}

TEST_CASE("A reversal of an invalid journal is refused") {
  auto tx = postings::reversal(journal({dr(accounts::bank("mch_test"), 5)}), "ltx_abc");
  REQUIRE_FALSE(tx);
  CHECK(tx.err().code == errc::invalid_request);
}

TEST_CASE("Posting rules refuse zero and negative amounts") {
  for (std::int64_t amount : {std::int64_t{0}, std::int64_t{-1}}) {
    INFO(amount);
    CHECK_FALSE(postings::authorization(usd, amount));
    CHECK_FALSE(postings::capture(usd, amount, 0));
    CHECK_FALSE(postings::hold_release(usd, amount, hold_release_reason::expired));
    CHECK_FALSE(postings::refund(usd, amount));
    CHECK_FALSE(postings::fee(usd, amount));
    CHECK_FALSE(postings::payout(usd, amount));
  }
  CHECK_FALSE(postings::capture(usd, 10, -1));
}

TEST_CASE("Posting rules refuse an unknown currency and an invalid scope") {
  auto unknown = postings::capture(posting_scope{"mch_test", "stripe", "xxx"}, 10, 0);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.err().param == "currency");
  CHECK_FALSE(postings::refund(posting_scope{"", "stripe", "usd"}, 10));
  CHECK_FALSE(postings::refund(posting_scope{"mch_test", "str:ipe", "usd"}, 10));
}

TEST_CASE("Posting rules write currencies in lowercase") {
  auto tx = must(postings::capture(posting_scope{"mch_test", "stripe", "EUR"}, 10, 0));
  for (const auto& e : tx.entries) CHECK(e.currency == "eur");
}

TEST_CASE("Validate refuses a journal with fewer than two entries") {
  CHECK_FALSE(validate(journal({})));
  auto one = validate(journal({dr(accounts::bank("mch_test"), 5)}));
  REQUIRE_FALSE(one);
  CHECK(one.err().code == errc::invalid_request);
}

TEST_CASE("Validate refuses an entry with both sides or with neither") {
  auto both = journal({ledger_entry{accounts::bank("mch_test"), 5, 5, "usd"},
                       ledger_entry{accounts::bank("mch_test"), 5, 5, "usd"}});
  CHECK_FALSE(validate(both));
  auto neither = journal({ledger_entry{accounts::bank("mch_test"), 0, 0, "usd"},
                          dr(accounts::bank("mch_test"), 5), cr(accounts::bank("mch_test"), 5)});
  CHECK_FALSE(validate(neither));
}

TEST_CASE("Validate refuses a negative side even when the journal balances") {
  auto tx = journal({ledger_entry{accounts::bank("mch_test"), -5, 0, "usd"},
                     ledger_entry{accounts::psp_receivable("stripe"), 0, -5, "usd"}});
  CHECK_FALSE(validate(tx));
}

TEST_CASE("Validate refuses unequal debits and credits") {
  auto tx = journal({dr(accounts::psp_receivable("stripe"), 100),
                     cr(accounts::merchant_revenue("mch_test"), 99)});
  auto ok = validate(tx);
  REQUIRE_FALSE(ok);
  CHECK_THAT(ok.err().message, Catch::Contains("usd"));
}

TEST_CASE("Validate balances each currency on its own") {
  auto tx = journal({dr(accounts::psp_receivable("stripe"), 100, "usd"),
                     cr(accounts::merchant_revenue("mch_test"), 100, "eur")});
  CHECK_FALSE(validate(tx));
}

TEST_CASE("Validate does not let memo entries balance real ones") {
  auto tx = journal(
      {dr(accounts::psp_receivable("stripe"), 100), cr(accounts::auth_holds("mch_test"), 100)});
  auto ok = validate(tx);
  REQUIRE_FALSE(ok);
  CHECK(ok.err().code == errc::invalid_request);
  auto memo_off = validate(journal(
      {dr(accounts::psp_receivable("stripe"), 100), cr(accounts::merchant_revenue("mch_test"), 100),
       dr(accounts::auth_holds("mch_test"), 100), cr(accounts::auth_hold_offset("mch_test"), 90)}));
  REQUIRE_FALSE(memo_off);
  CHECK_THAT(memo_off.err().message, Catch::Contains("memo"));
}

TEST_CASE("Validate refuses unknown and uppercase currencies") {
  auto unknown = validate(journal({dr(accounts::bank("mch_test"), 5, "xxx"),
                                   cr(accounts::psp_receivable("stripe"), 5, "xxx")}));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.err().param == "currency");
  auto upper = validate(journal({dr(accounts::bank("mch_test"), 5, "USD"),
                                 cr(accounts::psp_receivable("stripe"), 5, "USD")}));
  REQUIRE_FALSE(upper);
  CHECK(upper.err().param == "currency");
}

TEST_CASE("Validate refuses an unknown kind and an invalid scope") {
  auto entries =
      std::vector{dr(accounts::bank("mch_test"), 5), cr(accounts::psp_receivable("stripe"), 5)};
  auto kind = validate(journal(entries, "gift"));
  REQUIRE_FALSE(kind);
  CHECK(kind.err().param == "kind");
  auto bad_scope = journal({dr(accounts::bank("mch:test"), 5), cr(accounts::bank("ok"), 5)});
  CHECK_FALSE(validate(bad_scope));
  auto empty_scope = journal({dr(accounts::bank(""), 5), cr(accounts::bank("ok"), 5)});
  CHECK_FALSE(validate(empty_scope));
}

TEST_CASE("Validate refuses too many entries and too long a memo") {
  std::vector<ledger_entry> many;
  for (std::size_t i = 0; i < journal_entries_max / 2 + 1; ++i) {
    many.push_back(dr(accounts::bank("mch_test"), 1));
    many.push_back(cr(accounts::psp_receivable("stripe"), 1));
  }
  CHECK_FALSE(validate(journal(many)));
  auto memo =
      journal({dr(accounts::bank("mch_test"), 5), cr(accounts::psp_receivable("stripe"), 5)});
  memo.memo = std::string(journal_memo_length_max, 'm');
  CHECK(validate(memo));
  memo.memo += "m";
  CHECK_FALSE(validate(memo));
}

TEST_CASE("Validate refuses sums that overflow 64-bit minor units") {
  auto tx = journal({dr(accounts::bank("mch_test"), int64_max), dr(accounts::bank("mch_test"), 1),
                     cr(accounts::psp_receivable("stripe"), int64_max),
                     cr(accounts::psp_receivable("stripe"), 1)});
  auto ok = validate(tx);
  REQUIRE_FALSE(ok);
  CHECK(ok.err().code == errc::limit_exceeded);
  CHECK(ok.err().param == "amount");
}

TEST_CASE("Account keys print as code and scope and parse back") {
  for (const auto& row : chart_of_accounts()) {
    account_key key{row.code, "mch_ABC-1"};
    auto text = key.to_string();
    CHECK(text == std::string(row.name) + ":mch_ABC-1");
    CHECK(parse_account_key(text) == key);
  }
  CHECK_FALSE(parse_account_key("nope:mch_1"));
  CHECK_FALSE(parse_account_key("bank"));
  CHECK_FALSE(parse_account_key("bank:"));
  CHECK_FALSE(parse_account_key("bank:a:b"));
}

TEST_CASE("The chart of accounts lists every code in order with its type and normal side") {
  auto chart = chart_of_accounts();
  REQUIRE(chart.size() == 11);
  for (std::size_t i = 0; i < chart.size(); ++i) {
    CHECK(static_cast<std::size_t>(chart[i].code) == i);
    CHECK(parse_account_type(to_string(chart[i].type)) == chart[i].type);
    CHECK(&info(chart[i].code) == &chart[i]);
  }
  CHECK(info(account_code::psp_receivable).normal == normal_side::debit);
  CHECK(info(account_code::merchant_revenue).normal == normal_side::credit);
  CHECK(info(account_code::refunds).type == account_type::contra_revenue);
  CHECK(info(account_code::refunds).normal == normal_side::debit);
  CHECK(info(account_code::psp_fees).type == account_type::expense);
  CHECK(info(account_code::auth_hold_offset).normal == normal_side::credit);
}

TEST_CASE("An intent write that opens a hold posts an authorization") {
  auto txs =
      postings_for_transition(intent(0, 0, 0, intent_status::processing), intent(1000, 0, 0));
  REQUIRE(txs);
  REQUIRE(txs->size() == 1);
  CHECK(txs->at(0) == must(postings::authorization(usd, 1000)));
}

TEST_CASE("An intent write that captures part of a hold posts a capture closing the hold") {
  auto txs =
      postings_for_transition(intent(1000, 0, 0), intent(0, 600, 0, intent_status::captured));
  REQUIRE(txs);
  REQUIRE(txs->size() == 1);
  CHECK(txs->at(0) == must(postings::capture(usd, 600, 1000)));
}

TEST_CASE("An automatic capture written in one step posts a capture without a hold") {
  auto txs = postings_for_transition(intent(0, 0, 0, intent_status::created),
                                     intent(0, 1000, 0, intent_status::captured));
  REQUIRE(txs);
  REQUIRE(txs->size() == 1);
  CHECK(txs->at(0) == must(postings::capture(usd, 1000, 0)));
}

TEST_CASE("An intent write that cancels or expires a hold posts its release") {
  auto canceled =
      postings_for_transition(intent(1000, 0, 0), intent(0, 0, 0, intent_status::canceled));
  REQUIRE(canceled);
  REQUIRE(canceled->size() == 1);
  CHECK(canceled->at(0) == must(postings::hold_release(usd, 1000, hold_release_reason::canceled)));
  auto expired =
      postings_for_transition(intent(1000, 0, 0), intent(0, 0, 0, intent_status::expired));
  REQUIRE(expired);
  CHECK_THAT(expired->at(0).memo, Catch::Contains("expired"));
}

TEST_CASE("An intent write that refunds posts a refund of the difference") {
  auto txs = postings_for_transition(intent(0, 1000, 300, intent_status::partially_refunded),
                                     intent(0, 1000, 700, intent_status::partially_refunded));
  REQUIRE(txs);
  REQUIRE(txs->size() == 1);
  CHECK(txs->at(0) == must(postings::refund(usd, 400)));
}

TEST_CASE("An intent write that changes no amount posts nothing") {
  auto txs =
      postings_for_transition(intent(1000, 0, 0, intent_status::processing), intent(1000, 0, 0));
  REQUIRE(txs);
  CHECK(txs->empty());
}

TEST_CASE("An intent write that lowers received or refunded money is refused") {
  auto received = postings_for_transition(intent(0, 1000, 0), intent(0, 900, 0));
  REQUIRE_FALSE(received);
  CHECK(received.err().code == errc::invalid_state);
  auto refunded = postings_for_transition(intent(0, 1000, 500), intent(0, 1000, 400));
  REQUIRE_FALSE(refunded);
  CHECK(refunded.err().code == errc::invalid_state);
  auto other = intent(0, 1000, 0);
  other.id = "pi_other";
  CHECK_FALSE(postings_for_transition(intent(0, 0, 0), other));
}

TEST_CASE("Random intent lifecycles always balance and leave no hold open") {
  std::mt19937_64 rng(20261125);
  for (int flow = 0; flow < 2000; ++flow) {
    INFO("flow " << flow);
    std::int64_t amount = std::uniform_int_distribution<std::int64_t>(1, 99'999'999)(rng);
    std::vector<payment_intent> steps{intent(0, 0, 0, intent_status::created)};
    steps.push_back(intent(amount, 0, 0));
    bool cancel = rng() % 5 == 0;
    std::int64_t captured = 0;
    if (cancel) {
      steps.push_back(intent(0, 0, 0, intent_status::canceled));
    } else {
      captured = std::uniform_int_distribution<std::int64_t>(1, amount)(rng);
      steps.push_back(intent(0, captured, 0, intent_status::captured));
      std::int64_t refunded = 0;
      while (refunded < captured && rng() % 3 != 0) {
        refunded += std::uniform_int_distribution<std::int64_t>(1, captured - refunded)(rng);
        steps.push_back(intent(0, captured, refunded, intent_status::partially_refunded));
      }
    }
    std::vector<journal_tx> all;
    for (std::size_t i = 1; i < steps.size(); ++i) {
      auto txs = postings_for_transition(steps[i - 1], steps[i]);
      REQUIRE(txs);
      for (auto& tx : *txs) {
        REQUIRE(validate(tx));
        all.push_back(std::move(tx));
      }
    }
    auto net = net_by_account(all);
    CHECK(net["auth_holds:mch_test/usd"] == 0);
    CHECK(net["psp_receivable:stripe/usd"] == captured - (steps.back().amount_refunded));
    std::int64_t total = 0;
    for (const auto& [account, value] : net) total += value;
    CHECK(total == 0);
  }
}
