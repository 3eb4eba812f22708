#include "storage/settlement.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/harness.hpp"

using namespace pay;

namespace {

core::psp_balance_transaction bt(std::string id, core::balance_tx_type type, std::int64_t amount,
                                 std::int64_t fee, std::string source,
                                 std::optional<std::string> pi) {
  core::psp_balance_transaction b;
  b.id = std::move(id);
  b.type = type;
  b.amount = amount;
  b.fee = fee;
  b.net = amount - fee;
  b.currency = "usd";
  b.source = std::move(source);
  b.payment_intent = std::move(pi);
  b.payout = "po_1";
  b.created = 1'795'478'500;
  return b;
}

struct fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "settled");

  fixture() {
    db.query(
        "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
        "psp, psp_reference, amount_received) VALUES ('pi_ours', $1, 'captured', 1000, 'usd', "
        "'automatic', 'sandbox', 'pi_psp', 1000)",
        {merchant.id});
  }

  storage::payout_booking booking() const {
    storage::payout_booking b;
    b.psp = "sandbox";
    b.payout = core::psp_payout{"po_1",        941 + 455,     "usd", core::payout_status::paid,
                                1'795'478'600, 1'795'478'600, ""};
    b.balance_transactions = {
        bt("txn_1", core::balance_tx_type::charge, 1000, 59, "ch_1", "pi_psp"),
        bt("txn_2", core::balance_tx_type::charge, 500, 45, "ch_2", "pi_unknown")};
    return b;
  }
};

}  // namespace

TEST_CASE("book_payout books a payout once even when two connections race") {
  fixture f;
  std::vector<core::result<storage::booking_outcome>> outcomes;
  std::mutex m;
  std::vector<std::thread> racers;
  for (int i = 0; i < 4; ++i)
    racers.emplace_back([&] {
      auto conn = storage::pg_connection::connect(f.db.url());
      auto r = storage::book_payout(*conn, f.booking());
      std::lock_guard guard{m};
      outcomes.push_back(std::move(r));
    });
  for (auto& t : racers) t.join();
  int booked = 0, duplicates = 0;
  for (auto& o : outcomes) {
    REQUIRE(o);
    if (o->what == storage::booking_outcome::result::booked) ++booked;
    if (o->what == storage::booking_outcome::result::duplicate) ++duplicates;
  }
  CHECK(booked == 1);
  CHECK(duplicates == 3);
  CHECK(f.db.query("SELECT count(*) FROM settlement_payouts").int64(0, 0) == 1);
  CHECK(f.db.query("SELECT count(*) FROM settlement_items").int64(0, 0) == 2);
  CHECK(f.db.query("SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement'")
            .int64(0, 0) == 1);
  CHECK(f.db.query("SELECT booked_net, psp_amount, unmatched_count FROM settlement_payouts")
            .int64(0, 0) == 941);
  CHECK(f.db.query("SELECT unmatched_count FROM settlement_payouts").int64(0, 0) == 1);
  auto conn = f.db.connect();
  auto links = storage::settlements_for_intent(conn, f.merchant.id, "pi_ours");
  REQUIRE(links);
  REQUIRE(links->size() == 1);
  CHECK((*links)[0].payout == "po_1");
  CHECK((*links)[0].fee == 59);
}

TEST_CASE("book_payout refuses a payout whose transactions are in another currency") {
  fixture f;
  auto b = f.booking();
  b.balance_transactions[0].currency = "eur";
  auto conn = f.db.connect();
  auto r = storage::book_payout(conn, b);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == core::errc::invalid_request);
  CHECK(f.db.query("SELECT count(*) FROM settlement_payouts").int64(0, 0) == 0);
}

TEST_CASE("Runs are idempotent per day and PSP and the metrics read the latest run") {
  test::scratch_database db;
  auto conn = db.connect();
  core::recon_result result;
  result.psp_records = 3;
  result.our_records = 2;
  result.matched = 2;
  core::recon_difference d;
  d.kind = core::difference_kind::missing_in_ledger;
  d.object = core::record_object::payout;
  d.psp_reference = "po_9";
  d.detail = "x";
  result.differences = {d, d};
  storage::recon_run run;
  run.psp = "sandbox";
  run.day = "2026-11-24";
  run.trigger = "api";
  auto first = storage::save_run(conn, run, result, false);
  REQUIRE(first);
  CHECK(first->sequence == 1);
  CHECK(first->differences == 2);
  auto again = storage::save_run(conn, run, core::recon_result{}, false);
  REQUIRE(again);
  CHECK(again->id == first->id);
  CHECK(again->details.size() == 2);
  auto metrics = storage::reconciliation_metrics(conn);
  REQUIRE(metrics);
  REQUIRE(metrics->size() == 1);
  CHECK((*metrics)[0].run_id == first->id);
  CHECK((*metrics)[0].counts.size() == 5);
  CHECK((*metrics)[0].counts[0] == std::pair<std::string, std::int64_t>{"missing_in_ledger", 2});
  CHECK((*metrics)[0].finished_at_ms > 0);

  auto rerun = storage::save_run(conn, run, core::recon_result{}, true);
  REQUIRE(rerun);
  CHECK(rerun->id != first->id);
  CHECK(rerun->sequence == 2);
  metrics = storage::reconciliation_metrics(conn);
  REQUIRE(metrics);
  REQUIRE(metrics->size() == 1);
  CHECK((*metrics)[0].run_id == rerun->id);
  CHECK((*metrics)[0].counts[0].second == 0);
  CHECK(storage::load_run(conn, "rcn_missing").err().code == core::errc::not_found);
}
