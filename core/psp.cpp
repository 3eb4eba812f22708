#include "core/psp.hpp"

namespace pay::core {

std::string_view to_string(psp_failure_kind k) {
  switch (k) {
    case psp_failure_kind::declined:
      return "declined";
    case psp_failure_kind::rejected:
      return "rejected";
    case psp_failure_kind::retryable:
      return "retryable";
    case psp_failure_kind::unsupported:
      return "unsupported";
  }
  return "retryable";
}

std::string_view to_string(psp_event_kind k) {
  switch (k) {
    case psp_event_kind::intent_changed:
      return "intent_changed";
    case psp_event_kind::refund_changed:
      return "refund_changed";
    case psp_event_kind::payout_paid:
      return "payout_paid";
    case psp_event_kind::payout_failed:
      return "payout_failed";
    case psp_event_kind::report_available:
      return "report_available";
    case psp_event_kind::dispute_changed:
      return "dispute_changed";
    case psp_event_kind::other:
      return "other";
  }
  return "other";
}

std::string_view to_string(balance_tx_type t) {
  switch (t) {
    case balance_tx_type::charge:
      return "charge";
    case balance_tx_type::refund:
      return "refund";
    case balance_tx_type::payout:
      return "payout";
    case balance_tx_type::dispute:
      return "dispute";
    case balance_tx_type::other:
      return "other";
    case balance_tx_type::payout_failure:
      return "payout_failure";
  }
  return "other";
}

std::string_view to_string(payout_status s) {
  switch (s) {
    case payout_status::pending:
      return "pending";
    case payout_status::in_transit:
      return "in_transit";
    case payout_status::paid:
      return "paid";
    case payout_status::failed:
      return "failed";
    case payout_status::canceled:
      return "canceled";
  }
  return "pending";
}

namespace {

psp_failure not_supported(std::string_view what) {
  psp_failure f;
  f.kind = psp_failure_kind::unsupported;
  f.type = "invalid_request_error";
  f.message = "This PSP connector cannot " + std::string(what) + ".";
  return f;
}

}  // namespace

// The defaults answer at once, on the caller's thread: a connector that
// settles nothing has nothing to wait for.
void psp_connector::confirm_intent(const psp_modification&, const std::string&, std::int64_t,
                                   intent_done done) {
  done(not_supported("confirm a payment"));
}

void psp_connector::list_balance_transactions(const psp_list_query&, std::int64_t,
                                              balance_page_done done) {
  done(not_supported("list balance transactions"));
}

void psp_connector::list_payouts(const psp_list_query&, std::int64_t, payout_page_done done) {
  done(not_supported("list payouts"));
}

void psp_connector::retrieve_payout(const std::string&, std::int64_t, payout_done done) {
  done(not_supported("retrieve payouts"));
}

void psp_connector::read_settlement_report(const std::string&, std::int64_t, report_done done) {
  done(not_supported("read settlement reports"));
}

void psp_connector::submit_dispute_evidence(const std::string&, const std::string&,
                                            const std::string&, std::int64_t, dispute_done done) {
  done(not_supported("submit dispute evidence"));
}

}  // namespace pay::core
