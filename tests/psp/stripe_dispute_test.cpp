// The Stripe provider's view of disputes: statuses, dispute events with
// their balance transactions, and dispute adjustments in balance lists.

#include <catch2/catch.hpp>
#include <string>

#include "psp/stripe/stripe_connector.hpp"
#include "psp/stripe/stripe_events.hpp"
#include "psp/stripe/stripe_mapping.hpp"

using namespace pay;
using core::dispute_status;

namespace {

std::string dispute_event(const std::string& type, const std::string& status,
                          const std::string& bts) {
  return R"({"id":"evt_d1","object":"event","type":")" + type +
         R"(","created":1700000100,"data":{"object":{"id":"du_1","object":"dispute",)"
         R"("amount":2000,"currency":"USD","charge":"ch_1","payment_intent":"pi_1",)"
         R"("reason":"fraudulent","status":")" +
         status +
         R"(","created":1700000000,"evidence_details":{"due_by":1700604800,"has_evidence":false},)"
         R"("balance_transactions":[)" +
         bts + R"(]}}})";
}

const std::string withdrawal =
    R"({"id":"txn_w","object":"balance_transaction","amount":-2000,"fee":1500,"net":-3500,)"
    R"("currency":"usd","created":1700000000,"type":"adjustment","reporting_category":"dispute"})";
const std::string reversal =
    R"({"id":"txn_r","object":"balance_transaction","amount":2000,"fee":0,"net":2000,)"
    R"("currency":"usd","created":1700000200,"type":"adjustment",)"
    R"("reporting_category":"dispute_reversal"})";

}  // namespace

TEST_CASE("Stripe dispute statuses map onto the engine's, warnings folded in") {
  CHECK(psp::stripe_dispute_status("needs_response") == dispute_status::needs_response);
  CHECK(psp::stripe_dispute_status("warning_needs_response") ==
        dispute_status::warning_needs_response);
  CHECK(psp::stripe_dispute_status("under_review") == dispute_status::under_review);
  CHECK(psp::stripe_dispute_status("warning_under_review") == dispute_status::under_review);
  CHECK(psp::stripe_dispute_status("won") == dispute_status::won);
  CHECK(psp::stripe_dispute_status("warning_closed") == dispute_status::won);
  CHECK(psp::stripe_dispute_status("lost") == dispute_status::lost);
  CHECK(psp::stripe_dispute_status("charge_refunded") == dispute_status::lost);
  CHECK_FALSE(psp::stripe_dispute_status("prevented"));
}

TEST_CASE("Every charge.dispute event is dispute_changed with the dispute and its money") {
  for (const char* type :
       {"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
        "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated"}) {
    INFO(type);
    auto e = psp::parse_stripe_event(dispute_event(type, "won", withdrawal + "," + reversal));
    REQUIRE(e);
    CHECK(e->kind == core::psp_event_kind::dispute_changed);
    CHECK(e->object_id == "du_1");
    REQUIRE(e->dispute);
    const auto& d = *e->dispute;
    CHECK(d.id == "du_1");
    CHECK(d.payment_intent == std::optional<std::string>("pi_1"));
    CHECK(d.charge == std::optional<std::string>("ch_1"));
    CHECK(d.amount == 2000);
    CHECK(d.currency == "usd");
    CHECK(d.reason == "fraudulent");
    CHECK(d.status == dispute_status::won);
    CHECK(d.evidence_due_by == std::optional<std::int64_t>(1700604800));
    REQUIRE(d.movements.size() == 2);
    CHECK(d.movements[0].id == "txn_w");
    CHECK(d.movements[0].amount == -2000);
    CHECK(d.movements[0].fee == 1500);
    CHECK(d.movements[1].amount == 2000);
    CHECK(d.movements[1].fee == 0);
  }
  // A status Stripe does not document is not guessed at.
  CHECK_FALSE(psp::parse_stripe_event(dispute_event("charge.dispute.updated", "bogus", "")));
  CHECK(core::to_string(core::psp_event_kind::dispute_changed) == "dispute_changed");
}

TEST_CASE("A dispute adjustment in a balance list is the dispute's money") {
  CHECK(psp::stripe_balance_tx_type("adjustment", "dispute") == core::balance_tx_type::dispute);
  CHECK(psp::stripe_balance_tx_type("adjustment", "dispute_reversal") ==
        core::balance_tx_type::dispute);
  CHECK(psp::stripe_balance_tx_type("adjustment", "other_adjustment") ==
        core::balance_tx_type::other);
  CHECK(psp::stripe_balance_tx_type("charge", "charge") == core::balance_tx_type::charge);
  std::string error;
  auto page = psp::parse_stripe_balance_transactions(
      R"({"object":"list","has_more":false,"data":[)" + withdrawal + "]}", error);
  INFO(error);
  REQUIRE(page);
  REQUIRE(page->data.size() == 1);
  CHECK(page->data[0].type == core::balance_tx_type::dispute);
}
