#include "core/payment_outcome.hpp"

#include <catch2/catch.hpp>

using namespace pay::core;

namespace {

audit_event row(std::optional<intent_status> from, std::optional<intent_status> to,
                std::string action) {
  audit_event a;
  a.from = from;
  a.to = to;
  a.action = std::move(action);
  return a;
}

payment_intent with_error(std::optional<std::string> json) {
  payment_intent pi;
  pi.last_payment_error_json = std::move(json);
  return pi;
}

}  // namespace

TEST_CASE("transitions into authorized captured canceled expired and refunds are outcomes") {
  using s = intent_status;
  CHECK(payment_outcome_of(row(s::processing, s::authorized, "authorized")) == "authorized");
  CHECK(payment_outcome_of(row(s::authorized, s::captured, "capture")) == "captured");
  CHECK(payment_outcome_of(row(s::authorized, s::canceled, "cancel")) == "canceled");
  CHECK(payment_outcome_of(row(s::created, s::canceled, "cancel")) == "canceled");
  CHECK(payment_outcome_of(row(s::authorized, s::expired, "expire")) == "expired");
  CHECK(payment_outcome_of(row(s::captured, s::partially_refunded, "refund_partial")) ==
        "refunded");
  CHECK(payment_outcome_of(row(s::partially_refunded, s::partially_refunded, "refund_partial")) ==
        "refunded");
  CHECK(payment_outcome_of(row(s::partially_refunded, s::refunded, "refund_full")) == "refunded");
}

TEST_CASE("steps on the way and rows without a transition are no outcome") {
  using s = intent_status;
  CHECK(payment_outcome_of(row(std::nullopt, s::created, "create")).empty());
  CHECK(payment_outcome_of(row(s::created, s::requires_action, "action_required")).empty());
  CHECK(payment_outcome_of(row(s::created, s::processing, "processing_started")).empty());
  CHECK(payment_outcome_of(row(s::processing, s::created, "payment_failed")).empty());
  CHECK(payment_outcome_of(row(s::captured, std::nullopt, "ignored")).empty());
  // A booked refund's status change is recorded as captured -> captured.
  CHECK(payment_outcome_of(row(s::captured, s::captured, "refund_status")).empty());
}

TEST_CASE("a new PSP error is a decline when the issuer declined and a failure otherwise") {
  auto before = with_error(std::nullopt);
  CHECK(failure_outcome_of(
            &before, with_error(R"({"code":"card_declined","type":"card_error"})")) == "declined");
  CHECK(failure_outcome_of(&before,
                           with_error(R"({"code":"x","decline_code":"insufficient_funds"})")) ==
        "declined");
  CHECK(failure_outcome_of(&before,
                           with_error(R"({"code":"payment_intent_authentication_failure"})")) ==
        "failed");
  CHECK(failure_outcome_of(nullptr, with_error(R"({"code":"processing_error"})")) == "failed");
}

TEST_CASE("an error already recorded or no error at all is no failure outcome") {
  auto declined = with_error(R"({"code":"card_declined"})");
  CHECK(failure_outcome_of(&declined, declined).empty());
  CHECK(failure_outcome_of(&declined, with_error(std::nullopt)).empty());
  CHECK(failure_outcome_of(nullptr, with_error(std::nullopt)).empty());
  // The same error back after news that cleared it (events out of order) is
  // not counted again.
  auto cleared = with_error(std::nullopt);
  CHECK(failure_outcome_of(&cleared, declined, R"({"code":"card_declined"})").empty());
  // A second decline with another error object counts again.
  CHECK(failure_outcome_of(&declined, with_error(R"({"code":"card_declined","charge":"ch_2"})")) ==
        "declined");
}
