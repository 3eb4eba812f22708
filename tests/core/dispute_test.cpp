#include "core/dispute.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/reconciliation.hpp"
#include "core/settlement.hpp"

using namespace pay::core;

namespace {

const posting_scope usd{"mch_test", "stripe", "usd"};

/// The signed movement per account key (debit positive) over `txs`.
std::map<std::string, std::int64_t> net_by_account(const std::vector<journal_tx>& txs) {
  std::map<std::string, std::int64_t> net;
  for (const auto& tx : txs)
    for (const auto& e : tx.entries) net[e.account.to_string()] += e.debit_minor - e.credit_minor;
  for (auto it = net.begin(); it != net.end();)
    it = it->second == 0 ? net.erase(it) : std::next(it);
  return net;
}

dispute_money_movement withdrawal(std::int64_t amount, std::int64_t fee) {
  return {"txn_w", -amount, fee, "usd", 100};
}

dispute_money_movement reinstatement(std::int64_t amount, std::int64_t fee = 0) {
  return {"txn_r", amount, fee, "usd", 200};
}

}  // namespace

TEST_CASE("Every dispute status has a name that parses back") {
  for (auto s : all_dispute_statuses()) CHECK(parse_dispute_status(to_string(s)) == s);
  CHECK_FALSE(parse_dispute_status("warning_closed"));
  CHECK(is_closed(dispute_status::won));
  CHECK(is_closed(dispute_status::lost));
  CHECK_FALSE(is_closed(dispute_status::needs_response));
}

TEST_CASE("The dispute state machine answers every status and event pair from its table") {
  const std::vector<dispute_event> events{dispute_event::escalated,
                                          dispute_event::evidence_submitted, dispute_event::won,
                                          dispute_event::lost};
  using ds = dispute_status;
  using de = dispute_event;
  // The expected table, written out: nothing leaves lost; won only to lost.
  std::map<std::pair<ds, de>, ds> expected{
      {{ds::warning_needs_response, de::escalated}, ds::needs_response},
      {{ds::warning_needs_response, de::evidence_submitted}, ds::under_review},
      {{ds::warning_needs_response, de::won}, ds::won},
      {{ds::warning_needs_response, de::lost}, ds::lost},
      {{ds::needs_response, de::evidence_submitted}, ds::under_review},
      {{ds::needs_response, de::won}, ds::won},
      {{ds::needs_response, de::lost}, ds::lost},
      {{ds::under_review, de::escalated}, ds::needs_response},
      {{ds::under_review, de::won}, ds::won},
      {{ds::under_review, de::lost}, ds::lost},
      {{ds::won, de::lost}, ds::lost},
  };
  for (auto from : all_dispute_statuses())
    for (auto e : events) {
      INFO(to_string(from) << " + " << to_string(e));
      auto it = expected.find({from, e});
      if (it == expected.end())
        CHECK_FALSE(dispute_transition(from, e));
      else
        CHECK(dispute_transition(from, e) == it->second);
    }
  CHECK(dispute_rules().size() == expected.size());
}

TEST_CASE("A dispute's path walks the table and never leaves lost") {
  auto p = dispute_path(dispute_status::needs_response, dispute_status::won);
  REQUIRE(p);
  CHECK(*p == std::vector<dispute_event>{dispute_event::won});
  auto same = dispute_path(dispute_status::under_review, dispute_status::under_review);
  REQUIRE(same);
  CHECK(same->empty());
  CHECK_FALSE(dispute_path(dispute_status::won, dispute_status::under_review));
  CHECK_FALSE(dispute_path(dispute_status::lost, dispute_status::won));
  CHECK_FALSE(dispute_path(dispute_status::lost, dispute_status::needs_response));
  auto escalate = dispute_path(dispute_status::under_review, dispute_status::needs_response);
  REQUIRE(escalate);
  CHECK(*escalate == std::vector<dispute_event>{dispute_event::escalated});
}

TEST_CASE("Dispute postings follow the PSP's balance transactions, flow by flow") {
  struct row {
    const char* flow;
    std::vector<dispute_money_movement> movements;
    dispute_status status;
    std::int64_t open_before;
    std::map<std::string, std::int64_t> net;  // debit positive
    std::int64_t open_after;
    std::size_t journals;
  };
  const std::vector<row> table{
      {"funds withdrawn with the 15.00 fee",
       {withdrawal(2000, 1500)},
       dispute_status::needs_response,
       0,
       {{"disputes:mch_test", 2000}, {"psp_fees:stripe", 1500}, {"psp_receivable:stripe", -3500}},
       2000,
       1},
      {"won: the amount comes back, the fee stays",
       {reinstatement(2000)},
       dispute_status::won,
       2000,
       {{"disputes:mch_test", -2000}, {"psp_receivable:stripe", 2000}},
       0,
       1},
      {"won with the fee returned",
       {reinstatement(2000, -1500)},
       dispute_status::won,
       2000,
       {{"disputes:mch_test", -2000}, {"psp_fees:stripe", -1500}, {"psp_receivable:stripe", 3500}},
       0,
       1},
      {"lost: no money moves, the open balance becomes a loss",
       {},
       dispute_status::lost,
       2000,
       {{"disputes:mch_test", -2000}, {"dispute_losses:mch_test", 2000}},
       0,
       1},
      {"lost in the same event that withdraws",
       {withdrawal(2000, 1500)},
       dispute_status::lost,
       0,
       {{"dispute_losses:mch_test", 2000},
        {"psp_fees:stripe", 1500},
        {"psp_receivable:stripe", -3500}},
       0,
       2},
      {"an inquiry: nothing withdrawn, nothing booked",
       {},
       dispute_status::warning_needs_response,
       0,
       {},
       0,
       0},
      {"won with nothing withdrawn books nothing", {}, dispute_status::won, 0, {}, 0, 0},
  };
  for (const auto& r : table) {
    INFO(r.flow);
    auto b = dispute_postings(usd, r.movements, r.open_before, r.status);
    REQUIRE(b);
    CHECK(b->journals.size() == r.journals);
    for (const auto& j : b->journals) CHECK(validate(j));
    CHECK(net_by_account(b->journals) == r.net);
    CHECK(b->open_after_minor == r.open_after);
  }
}

TEST_CASE("A withdrawal books Dr disputes, Dr psp_fees, Cr psp_receivable") {
  auto tx = postings::dispute_funds(usd, -2000, 1500);
  REQUIRE(tx);
  CHECK(tx->kind == "dispute");
  REQUIRE(tx->entries.size() == 3);
  CHECK(tx->entries[0] == ledger_entry{accounts::disputes("mch_test"), 2000, 0, "usd"});
  CHECK(tx->entries[1] == ledger_entry{accounts::psp_fees("stripe"), 1500, 0, "usd"});
  CHECK(tx->entries[2] == ledger_entry{accounts::psp_receivable("stripe"), 0, 3500, "usd"});
  auto loss = postings::dispute_loss(usd, 2000);
  REQUIRE(loss);
  CHECK(loss->kind == "dispute_loss");
  CHECK(loss->entries[0] == ledger_entry{accounts::dispute_losses("mch_test"), 2000, 0, "usd"});
  CHECK(loss->entries[1] == ledger_entry{accounts::disputes("mch_test"), 0, 2000, "usd"});
}

TEST_CASE("Dispute postings refuse what moves nothing, another currency and overflow") {
  CHECK_FALSE(postings::dispute_funds(usd, 0, 0));
  CHECK_FALSE(postings::dispute_loss(usd, 0));
  auto eur = dispute_postings(usd, std::vector{dispute_money_movement{"txn", -100, 0, "eur", 1}}, 0,
                              dispute_status::needs_response);
  REQUIRE_FALSE(eur);
  CHECK(eur.err().param == "currency");
  auto big = postings::dispute_funds(usd, std::numeric_limits<std::int64_t>::min(), 0);
  REQUIRE_FALSE(big);
  CHECK(big.err().code == errc::limit_exceeded);
  CHECK_FALSE(postings::dispute_funds(posting_scope{"bad:merchant", "stripe", "usd"}, -1, 0));
}

TEST_CASE("Evidence is checked for known fields and sizes before it goes to the PSP") {
  using fields = std::vector<std::pair<std::string, std::string>>;
  CHECK(validate_dispute_evidence(
      fields{{"product_description", "A blue mug"}, {"customer_email_address", "a@example.com"}}));
  auto none = validate_dispute_evidence(fields{});
  REQUIRE_FALSE(none);
  CHECK(none.err().param == "evidence");
  auto unknown = validate_dispute_evidence(fields{{"receipt_file", "x"}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.err().param == "evidence[receipt_file]");
  auto empty = validate_dispute_evidence(fields{{"customer_name", ""}});
  REQUIRE_FALSE(empty);
  auto long_one = validate_dispute_evidence(fields{
      {"uncategorized_text", std::string(limits::dispute_evidence_field_length_max + 1, 'x')}});
  REQUIRE_FALSE(long_one);
  CHECK(long_one.err().param == "evidence[uncategorized_text]");
  fields many;
  for (auto name : dispute_evidence_fields())
    many.emplace_back(std::string(name),
                      std::string(limits::dispute_evidence_field_length_max, 'x'));
  auto total = validate_dispute_evidence(many);
  REQUIRE_FALSE(total);
  CHECK(total.err().param == "evidence");
}

TEST_CASE("Evidence may be sent only while a response is needed and before the due date") {
  dispute d;
  d.status = dispute_status::needs_response;
  d.evidence_due_by = 1000;
  CHECK(can_submit_evidence(d, 999));
  auto late = can_submit_evidence(d, 1000);
  REQUIRE_FALSE(late);
  CHECK(late.err().code == errc::invalid_state);
  CHECK(late.err().param == "evidence_due_by");
  d.status = dispute_status::under_review;
  auto reviewed = can_submit_evidence(d, 10);
  REQUIRE_FALSE(reviewed);
  CHECK(reviewed.err().param == "status");
  d.status = dispute_status::won;
  CHECK_FALSE(can_submit_evidence(d, 10));
}

TEST_CASE("A payout's dispute lines move only their net: the fee was booked with the dispute") {
  std::vector<settlement_line> lines{
      {"txn_charge", "charge", "mch_a", 2000, 88, 1912, "usd"},
      {"txn_dispute", "dispute", "mch_a", -2000, 1500, -3500, "usd"},
      {"txn_reversal", "dispute", "mch_a", 2000, 0, 2000, "usd"},
  };
  auto plan = plan_settlement(lines, "usd");
  REQUIRE(plan);
  REQUIRE(plan->merchants.size() == 1);
  const auto& m = plan->merchants[0].amounts;
  CHECK(m.gross_minor == 2000 - 3500 + 2000);
  CHECK(m.fee_minor == 88);
  CHECK(m.net_minor == 412);
  CHECK(plan->booked_net_minor == 412);
  // Booked after the dispute's own journals, the receivable nets to zero.
  std::vector<journal_tx> books;
  books.push_back(*postings::capture(usd, 2000, 0));
  auto d =
      dispute_postings(usd,
                       std::vector{dispute_money_movement{"txn_dispute", -2000, 1500, "usd", 1},
                                   dispute_money_movement{"txn_reversal", 2000, 0, "usd", 2}},
                       0, dispute_status::won);
  REQUIRE(d);
  for (auto& j : d->journals) books.push_back(j);
  books.push_back(*postings::payout_settlement(usd, m));
  auto net = net_by_account(books);
  CHECK(net.count("psp_receivable:stripe") == 0);
  CHECK(net["bank:mch_test"] == 412);
  CHECK(net["psp_fees:stripe"] == 1500 + 88);
  CHECK(net.count("disputes:mch_test") == 0);
}

TEST_CASE("Reconciliation matches a dispute's adjustments to its booking, summed per dispute") {
  auto day = *utc_day_window("2026-12-06");
  auto at = day.from_s + 3600;
  std::vector<recon_record> theirs{
      {record_object::dispute, "du_1", "txn_w", -2000, "usd", {}, at},
      {record_object::dispute, "du_1", "txn_r", 2000, "usd", {}, at + 60},
  };
  std::vector<recon_record> ours{
      {record_object::dispute, "du_1", "dp_1", -2000, "usd", {}, at},
      {record_object::dispute, "du_1", "dp_1", 2000, "usd", {}, at + 60},
  };
  auto clean = reconcile(ours, theirs, day);
  CHECK(clean.differences.empty());
  CHECK(clean.matched == 1);
  // Our reinstatement missing: the dispute's amounts differ.
  auto missing = reconcile(std::span(ours).first(1), theirs, day);
  REQUIRE(missing.differences.size() == 1);
  CHECK(missing.differences[0].kind == difference_kind::amount_differs);
  CHECK(missing.differences[0].object == record_object::dispute);
  CHECK(to_string(record_object::dispute) == "dispute");
}

TEST_CASE("The dispute limits hold their values and relations") {
  STATIC_REQUIRE(limits::dispute_evidence_field_length_max == 20'000);
  STATIC_REQUIRE(limits::dispute_evidence_total_length_max == 150'000);
  STATIC_REQUIRE(limits::dispute_evidence_field_length_max <=
                 limits::dispute_evidence_total_length_max);
  STATIC_REQUIRE(limits::dispute_deadline_warning_s == 2 * 86'400);
  // Stripe's test disputes give seven days; the warning comes well inside.
  STATIC_REQUIRE(limits::dispute_deadline_warning_s < 7 * 86'400);
  STATIC_REQUIRE(limits::disputes_open_scan_max >= limits::list_limit_max);
}
