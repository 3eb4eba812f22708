#include <catch2/catch.hpp>

#include <vector>

#include "core/ledger.hpp"
#include "core/settlement.hpp"

using namespace pay::core;

namespace {

settlement_line line(std::string id, std::optional<std::string> merchant, std::int64_t amount,
                     std::int64_t fee, std::string type = "charge") {
  return {std::move(id), std::move(type), std::move(merchant), amount, fee, amount - fee, "usd"};
}

std::int64_t sum_side(const journal_tx& tx, const std::string& key, bool debit) {
  std::int64_t n = 0;
  for (const auto& e : tx.entries)
    if (e.account.to_string() == key) n += debit ? e.debit_minor : e.credit_minor;
  return n;
}

}  // namespace

TEST_CASE("plan_settlement splits a payout per merchant with refunds reducing the net") {
  std::vector<settlement_line> lines{
      line("txn_1", "mch_a", 1000, 59),
      line("txn_2", "mch_b", 2000, 88),
      line("txn_3", "mch_a", -300, 0, "refund"),
      line("txn_4", std::nullopt, 500, 45),
  };
  auto plan = plan_settlement(lines, "usd");
  REQUIRE(plan);
  REQUIRE(plan->merchants.size() == 2);
  CHECK(plan->merchants[0].merchant_id == "mch_a");
  CHECK(plan->merchants[0].amounts.gross_minor == 700);
  CHECK(plan->merchants[0].amounts.fee_minor == 59);
  CHECK(plan->merchants[0].amounts.net_minor == 641);
  CHECK(plan->merchants[0].lines == 2);
  CHECK(plan->merchants[1].amounts.net_minor == 1912);
  CHECK(plan->booked_net_minor == 641 + 1912);
  CHECK(plan->unmatched_lines == 1);
  CHECK(plan->unmatched_net_minor == 455);
}

TEST_CASE("plan_settlement refuses a line in another currency or with a wrong net") {
  std::vector<settlement_line> eur{line("txn_1", "mch_a", 1000, 59)};
  eur[0].currency = "eur";
  CHECK(plan_settlement(eur, "usd").err().code == errc::invalid_request);
  std::vector<settlement_line> bad{line("txn_1", "mch_a", 1000, 59)};
  bad[0].net_minor = 1000;
  CHECK(plan_settlement(bad, "usd").err().param == "net");
}

TEST_CASE("plan_settlement leaves out a merchant whose share moves nothing") {
  std::vector<settlement_line> lines{line("txn_1", "mch_a", 500, 0),
                                     line("txn_2", "mch_a", -500, 0, "refund"),
                                     line("txn_3", "mch_b", 100, 33)};
  auto plan = plan_settlement(lines, "usd");
  REQUIRE(plan);
  REQUIRE(plan->merchants.size() == 1);
  CHECK(plan->merchants[0].merchant_id == "mch_b");
}

TEST_CASE("payout_settlement books gross off the receivable, fee to expense, net to the bank") {
  posting_scope s{"mch_1", "stripe", "USD"};
  auto tx = postings::payout_settlement(s, {1000, 59, 941});
  REQUIRE(tx);
  CHECK(validate(*tx));
  CHECK(tx->kind == "settlement");
  CHECK(sum_side(*tx, "bank:mch_1", true) == 941);
  CHECK(sum_side(*tx, "psp_fees:stripe", true) == 59);
  CHECK(sum_side(*tx, "psp_receivable:stripe", false) == 1000);
}

TEST_CASE("payout_settlement books a refund-heavy share on the other sides") {
  posting_scope s{"mch_1", "stripe", "usd"};
  // Refunds exceed charges: the receivable grows back and the bank pays in.
  auto tx = postings::payout_settlement(s, {-300, 33, -333});
  REQUIRE(tx);
  CHECK(validate(*tx));
  CHECK(sum_side(*tx, "psp_receivable:stripe", true) == 300);
  CHECK(sum_side(*tx, "psp_fees:stripe", true) == 33);
  CHECK(sum_side(*tx, "bank:mch_1", false) == 333);
  // A fee larger than what is left: positive gross, negative net.
  auto tx2 = postings::payout_settlement(s, {10, 33, -23});
  REQUIRE(tx2);
  CHECK(sum_side(*tx2, "psp_receivable:stripe", false) == 10);
  CHECK(sum_side(*tx2, "bank:mch_1", false) == 23);
}

TEST_CASE("payout_settlement refuses a net that is not gross minus fee and an empty share") {
  posting_scope s{"mch_1", "stripe", "usd"};
  CHECK(postings::payout_settlement(s, {1000, 59, 940}).err().param == "net");
  CHECK_FALSE(postings::payout_settlement(s, {0, 0, 0}));
  CHECK_FALSE(postings::payout_settlement({"bad key", "stripe", "usd"}, {1, 0, 1}));
}
