#include "core/dispute.hpp"

#include <array>
#include <deque>
#include <limits>
#include <map>

#include "core/limits.hpp"
#include "core/money.hpp"

namespace pay::core {

namespace {

constexpr std::array statuses{dispute_status::warning_needs_response,
                              dispute_status::needs_response, dispute_status::under_review,
                              dispute_status::won, dispute_status::lost};

using ds = dispute_status;
using de = dispute_event;

constexpr std::array rules{
    dispute_rule{ds::warning_needs_response, de::escalated, ds::needs_response,
                 "the inquiry became a chargeback: money is withdrawn, a response is due"},
    dispute_rule{ds::warning_needs_response, de::evidence_submitted, ds::under_review,
                 "the merchant answered the inquiry"},
    dispute_rule{ds::warning_needs_response, de::won, ds::won,
                 "the issuer closed the inquiry without a chargeback"},
    dispute_rule{ds::warning_needs_response, de::lost, ds::lost,
                 "the merchant refunded or accepted the inquiry"},
    dispute_rule{ds::needs_response, de::evidence_submitted, ds::under_review,
                 "the merchant's evidence reached the PSP"},
    dispute_rule{ds::needs_response, de::won, ds::won, "the issuer withdrew the chargeback"},
    dispute_rule{ds::needs_response, de::lost, ds::lost,
                 "the merchant accepted, or the due date passed without evidence"},
    dispute_rule{ds::under_review, de::escalated, ds::needs_response,
                 "an inquiry under review became a chargeback"},
    dispute_rule{ds::under_review, de::won, ds::won, "the issuer decided for the merchant"},
    dispute_rule{ds::under_review, de::lost, ds::lost, "the issuer decided for the shopper"},
    dispute_rule{ds::won, de::lost, ds::lost,
                 "the issuer charged back again after the reversal (a second chargeback)"},
};

error invalid(std::string message, std::string param) {
  return make_error(errc::invalid_request, std::move(message), std::move(param));
}

/// The text fields of Stripe's dispute_evidence (file fields left out).
constexpr std::array<std::string_view, 19> evidence_fields{
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
    "customer_communication_text",
};

}  // namespace

std::string_view to_string(dispute_status s) {
  switch (s) {
    case dispute_status::warning_needs_response:
      return "warning_needs_response";
    case dispute_status::needs_response:
      return "needs_response";
    case dispute_status::under_review:
      return "under_review";
    case dispute_status::won:
      return "won";
    case dispute_status::lost:
      return "lost";
  }
  return "needs_response";  // unreachable: the switch covers every enumerator
}

std::optional<dispute_status> parse_dispute_status(std::string_view name) {
  for (auto s : statuses)
    if (to_string(s) == name) return s;
  return std::nullopt;
}

std::span<const dispute_status> all_dispute_statuses() {
  return statuses;
}

bool is_closed(dispute_status s) {
  switch (s) {
    case dispute_status::warning_needs_response:
    case dispute_status::needs_response:
    case dispute_status::under_review:
      return false;
    case dispute_status::won:
    case dispute_status::lost:
      return true;
  }
  return false;
}

std::string_view to_string(dispute_event e) {
  switch (e) {
    case dispute_event::escalated:
      return "escalated";
    case dispute_event::evidence_submitted:
      return "evidence_submitted";
    case dispute_event::won:
      return "won";
    case dispute_event::lost:
      return "lost";
  }
  return "escalated";  // unreachable
}

std::optional<dispute_status> dispute_transition(dispute_status from, dispute_event event) {
  for (const auto& r : rules)
    if (r.from == from && r.event == event) return r.to;
  return std::nullopt;
}

std::optional<std::vector<dispute_event>> dispute_path(dispute_status from, dispute_status to) {
  // Breadth first over a five-status table: the shortest walk.
  std::map<dispute_status, std::vector<dispute_event>> seen{{from, {}}};
  std::deque<dispute_status> queue{from};
  while (!queue.empty()) {
    auto at = queue.front();
    queue.pop_front();
    if (at == to) return seen[at];
    for (const auto& r : rules) {
      if (r.from != at || seen.count(r.to) != 0) continue;
      auto walk = seen[at];
      walk.push_back(r.event);
      seen.emplace(r.to, std::move(walk));
      queue.push_back(r.to);
    }
  }
  return std::nullopt;
}

std::span<const dispute_rule> dispute_rules() {
  return rules;
}

namespace postings {

namespace {

/// A line of `amount` on the side its sign says: positive debits.
ledger_entry line(account_key key, std::int64_t debit_minor, const std::string& currency) {
  if (debit_minor > 0) return ledger_entry{std::move(key), debit_minor, 0, currency};
  return ledger_entry{std::move(key), 0, -debit_minor, currency};
}

result<posting_scope> checked_scope(const posting_scope& scope) {
  if (!valid_account_scope(scope.merchant_id))
    return invalid("The merchant id is not a valid account scope.", "merchant");
  if (!valid_account_scope(scope.psp))
    return invalid("The PSP is not a valid account scope.", "psp");
  auto cur = find_currency(scope.currency);
  if (!cur) return invalid("Unsupported currency: '" + scope.currency + "'.", "currency");
  return posting_scope{scope.merchant_id, scope.psp, std::string(cur->code)};
}

std::string amount_text(std::int64_t amount_minor, const std::string& currency) {
  auto cur = find_currency(currency);
  return (cur ? format_amount(amount_minor, *cur) : std::to_string(amount_minor)) + " " + currency;
}

/// Negation must not overflow.
bool in_range(std::int64_t v) {
  return v != std::numeric_limits<std::int64_t>::min();
}

}  // namespace

result<journal_tx> dispute_funds(const posting_scope& scope, std::int64_t amount_minor,
                                 std::int64_t fee_minor) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (!in_range(amount_minor) || !in_range(fee_minor))
    return make_error(errc::limit_exceeded, "A dispute amount is out of range.", "amount");
  if (amount_minor == 0 && fee_minor == 0)
    return invalid("A dispute movement moves no money.", "amount");
  auto net_sum = checked_sub(amount_minor, fee_minor);
  if (!net_sum || !in_range(*net_sum))
    return make_error(errc::limit_exceeded, "A dispute amount is out of range.", "amount");
  auto net = *net_sum;
  journal_tx tx{std::string(journal_kind::dispute), {}, {}};
  // The disputed amount leaves revenue (Dr disputes) when withdrawn (negative).
  if (amount_minor != 0)
    tx.entries.push_back(line(accounts::disputes(s->merchant_id), -amount_minor, s->currency));
  if (fee_minor != 0)
    tx.entries.push_back(line(accounts::psp_fees(s->psp), fee_minor, s->currency));
  if (net != 0) tx.entries.push_back(line(accounts::psp_receivable(s->psp), net, s->currency));
  tx.memo =
      std::string(amount_minor < 0 ? "dispute funds withdrawn " : "dispute funds reinstated ") +
      amount_text(amount_minor < 0 ? -amount_minor : amount_minor, s->currency) + ", fee " +
      amount_text(fee_minor, s->currency);
  if (auto ok = validate(tx); !ok) return ok.err();
  return tx;
}

result<journal_tx> dispute_loss(const posting_scope& scope, std::int64_t open_minor) {
  auto s = checked_scope(scope);
  if (!s) return s.err();
  if (!in_range(open_minor))
    return make_error(errc::limit_exceeded, "A dispute amount is out of range.", "amount");
  if (open_minor == 0) return invalid("A lost dispute with nothing open books no loss.", "amount");
  journal_tx tx{std::string(journal_kind::dispute_loss),
                {line(accounts::dispute_losses(s->merchant_id), open_minor, s->currency),
                 line(accounts::disputes(s->merchant_id), -open_minor, s->currency)},
                "dispute lost: " + amount_text(open_minor, s->currency) + " realised as a loss"};
  if (auto ok = validate(tx); !ok) return ok.err();
  return tx;
}

}  // namespace postings

result<dispute_booking> dispute_postings(const posting_scope& scope,
                                         std::span<const dispute_money_movement> fresh,
                                         std::int64_t open_minor, dispute_status status) {
  dispute_booking out;
  out.open_after_minor = open_minor;
  for (const auto& m : fresh) {
    if (!m.currency.empty() && m.currency != scope.currency)
      return invalid("Dispute movement " + m.id + " is in " + m.currency + ", the dispute in " +
                         scope.currency + ".",
                     "currency");
    if (m.amount == 0 && m.fee == 0) continue;
    auto tx = postings::dispute_funds(scope, m.amount, m.fee);
    if (!tx) return tx.err();
    tx->memo += " (" + m.id + ")";
    if (tx->memo.size() > journal_memo_length_max) tx->memo.resize(journal_memo_length_max);
    out.journals.push_back(std::move(*tx));
    // Withdrawn money (negative amount) grows the open balance.
    auto after = checked_sub(out.open_after_minor, m.amount);
    if (!after) return make_error(errc::limit_exceeded, "A dispute's sums overflow.", "amount");
    out.open_after_minor = *after;
  }
  if (status == dispute_status::lost && out.open_after_minor != 0) {
    auto tx = postings::dispute_loss(scope, out.open_after_minor);
    if (!tx) return tx.err();
    out.journals.push_back(std::move(*tx));
    out.open_after_minor = 0;
  }
  return out;
}

std::span<const std::string_view> dispute_evidence_fields() {
  return evidence_fields;
}

status validate_dispute_evidence(std::span<const std::pair<std::string, std::string>> fields) {
  if (fields.empty()) return invalid("Evidence needs at least one field.", "evidence");
  std::size_t total = 0;
  for (const auto& [name, value] : fields) {
    bool known = false;
    for (auto f : evidence_fields) known = known || f == name;
    if (!known) return invalid("Unknown evidence field: '" + name + "'.", "evidence[" + name + "]");
    if (value.empty())
      return invalid("Evidence field " + name + " is empty.", "evidence[" + name + "]");
    if (value.size() > limits::dispute_evidence_field_length_max)
      return invalid("Evidence field " + name + " is longer than " +
                         std::to_string(limits::dispute_evidence_field_length_max) + " characters.",
                     "evidence[" + name + "]");
    total += value.size();
  }
  if (total > limits::dispute_evidence_total_length_max)
    return invalid("The evidence is longer than " +
                       std::to_string(limits::dispute_evidence_total_length_max) +
                       " characters in total.",
                   "evidence");
  return status::ok();
}

status can_submit_evidence(const dispute& d, std::int64_t now_s) {
  if (d.status != dispute_status::needs_response &&
      d.status != dispute_status::warning_needs_response)
    return make_error(errc::invalid_state,
                      "Evidence can be sent only while the dispute needs a response; it is " +
                          std::string(to_string(d.status)) + ".",
                      "status");
  if (d.evidence_due_by && now_s >= *d.evidence_due_by)
    return make_error(errc::invalid_state,
                      "The evidence was due by " + std::to_string(*d.evidence_due_by) +
                          " (unix seconds); it is too late to send it.",
                      "evidence_due_by");
  return status::ok();
}

}  // namespace pay::core
