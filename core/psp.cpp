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
  }
  return "retryable";
}

std::optional<intent_status> engine_status_of(std::string_view s) {
  if (s == "requires_payment_method" || s == "requires_confirmation") return intent_status::created;
  if (s == "requires_action") return intent_status::requires_action;
  if (s == "processing") return intent_status::processing;
  if (s == "requires_capture") return intent_status::authorized;
  if (s == "succeeded") return intent_status::captured;
  if (s == "canceled") return intent_status::canceled;
  return std::nullopt;
}

namespace {

psp_failure not_supported(std::string_view what) {
  psp_failure f;
  f.kind = psp_failure_kind::rejected;
  f.type = "invalid_request_error";
  f.message = "This PSP connector cannot " + std::string(what) + ".";
  return f;
}

}  // namespace

// The defaults answer at once, on the caller's thread: a connector that
// settles nothing has nothing to wait for.
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

}  // namespace pay::core
