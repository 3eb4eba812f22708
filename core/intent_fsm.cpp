#include "core/intent_fsm.hpp"

#include <cstdio>
#include <cstdlib>

namespace pay::core {

namespace {

using enum intent_status;
using ev = intent_event;

/// The state machine. Order matters only for the docs' rendering.
constexpr std::array rules{
    // created
    transition_rule{created, ev::action_required, requires_action,
                    "the PSP asks the shopper to authenticate (3-D Secure)"},
    transition_rule{created, ev::processing_started, processing,
                    "the PSP started processing the payment"},
    transition_rule{created, ev::authorized, authorized, "the PSP authorised the payment"},
    transition_rule{created, ev::payment_failed, created,
                    "a synchronous decline at confirm keeps the intent payable, with "
                    "last_payment_error"},
    transition_rule{created, ev::cancel, canceled, "the merchant canceled the intent"},
    // requires_action
    transition_rule{requires_action, ev::processing_started, processing,
                    "3-D Secure done; the PSP started processing"},
    transition_rule{requires_action, ev::authorized, authorized,
                    "3-D Secure done; the PSP authorised the payment"},
    transition_rule{requires_action, ev::payment_failed, created,
                    "3-D Secure failed; the intent stays payable, with last_payment_error"},
    transition_rule{requires_action, ev::cancel, canceled, "the merchant canceled the intent"},
    // processing
    transition_rule{processing, ev::authorized, authorized, "the PSP authorised the payment"},
    transition_rule{processing, ev::payment_failed, created,
                    "the PSP declined; the intent stays payable, with last_payment_error"},
    // authorized
    transition_rule{authorized, ev::capture, captured,
                    "the merchant captured the authorised amount (full or partial)"},
    transition_rule{authorized, ev::cancel, canceled,
                    "the merchant voided the authorisation; the hold is released"},
    transition_rule{authorized, ev::expire, expired, "the authorisation hold lapsed uncaptured"},
    transition_rule{authorized, ev::capture_requested, capture_pending,
                    "the PSP accepted the merchant's capture and confirms it later"},
    transition_rule{authorized, ev::cancel_requested, cancel_pending,
                    "the PSP accepted the merchant's cancellation and confirms it later"},
    // capture_pending
    transition_rule{capture_pending, ev::capture, captured, "the PSP confirmed the capture"},
    transition_rule{capture_pending, ev::capture_failed, authorized,
                    "the PSP refused the capture; the authorisation stands"},
    // cancel_pending
    transition_rule{cancel_pending, ev::cancel, canceled,
                    "the PSP confirmed the cancellation; the hold is released"},
    transition_rule{cancel_pending, ev::cancel_failed, authorized,
                    "the PSP refused the cancellation; the authorisation stands"},
    // captured
    transition_rule{captured, ev::refund_partial, partially_refunded,
                    "a refund of part of the captured amount"},
    transition_rule{captured, ev::refund_full, refunded, "a refund of the whole captured amount"},
    transition_rule{captured, ev::capture_reversed, authorized,
                    "the PSP's confirmed capture failed afterwards; its booking is reversed and "
                    "the authorisation stands"},
    // partially_refunded
    transition_rule{partially_refunded, ev::refund_partial, partially_refunded,
                    "a further refund that leaves part of the captured amount"},
    transition_rule{partially_refunded, ev::refund_full, refunded,
                    "a refund that brings the refunded total to the captured amount"},
    transition_rule{partially_refunded, ev::refund_failed, captured,
                    "the only booked refund failed at the PSP; its booking is reversed"},
    transition_rule{partially_refunded, ev::refund_failed_partial, partially_refunded,
                    "a booked refund failed at the PSP; its booking is reversed, others stand"},
    // refunded: final unless a refund fails at the PSP after it was booked
    transition_rule{refunded, ev::refund_failed, captured,
                    "the only booked refund failed at the PSP; its booking is reversed"},
    transition_rule{refunded, ev::refund_failed_partial, partially_refunded,
                    "a booked refund failed at the PSP; its booking is reversed, others stand"},
};

/// True when the table is deterministic (one rule per (from, on)), never
/// leaves a terminal status, and its causes cannot break a Markdown row.
constexpr bool rules_well_formed() {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    if (r.from == canceled || r.from == expired) return false;
    if (r.cause.empty() || r.cause.find('|') != std::string_view::npos ||
        r.cause.find('\n') != std::string_view::npos) {
      return false;
    }
    for (std::size_t j = i + 1; j < rules.size(); ++j) {
      if (rules[j].from == r.from && rules[j].on == r.on) return false;
    }
  }
  return true;
}

static_assert(rules_well_formed());

/// Reached only for a value outside its enum: a bad cast, so stop.
[[noreturn]] void invalid_enum(const char* type, int value) {
  std::fprintf(stderr, "pay::core: invalid %s value %d\n", type, value);
  std::abort();
}

}  // namespace

std::span<const transition_rule> transition_table() {
  return rules;
}

std::optional<transition_rule> find_transition(intent_status from, intent_event on) {
  for (const auto& rule : rules) {
    if (rule.from == from && rule.on == on) return rule;
  }
  return std::nullopt;
}

std::optional<std::vector<transition_rule>> find_path(intent_status from, intent_status to) {
  if (from == to) return std::vector<transition_rule>{};
  // Breadth-first over the table: the shortest walk, found in table order.
  constexpr auto n = all_intent_statuses.size();
  std::array<std::optional<transition_rule>, n> reached_by{};
  std::array<bool, n> seen{};
  std::vector<intent_status> frontier{from};
  seen[static_cast<std::size_t>(from)] = true;
  while (!frontier.empty() && !seen[static_cast<std::size_t>(to)]) {
    std::vector<intent_status> next;
    for (auto status : frontier)
      for (const auto& rule : rules)
        if (rule.from == status && !seen[static_cast<std::size_t>(rule.to)]) {
          seen[static_cast<std::size_t>(rule.to)] = true;
          reached_by[static_cast<std::size_t>(rule.to)] = rule;
          next.push_back(rule.to);
        }
    frontier = std::move(next);
  }
  if (!seen[static_cast<std::size_t>(to)]) return std::nullopt;
  std::vector<transition_rule> path;
  for (auto at = to; at != from;) {
    const auto& rule = *reached_by[static_cast<std::size_t>(at)];
    path.insert(path.begin(), rule);
    at = rule.from;
  }
  return path;
}

std::optional<intent_status> transition(intent_status from, intent_event on) {
  if (auto rule = find_transition(from, on)) return rule->to;
  return std::nullopt;
}

bool is_terminal(intent_status status) {
  switch (status) {
    case created:
    case requires_action:
    case processing:
    case authorized:
    case capture_pending:
    case cancel_pending:
    case captured:
    case partially_refunded:
    // A refund can still fail at the PSP after it was booked.
    case refunded:
      return false;
    case canceled:
    case expired:
      return true;
  }
  invalid_enum("intent_status", static_cast<int>(status));
}

std::string_view to_string(intent_status status) {
  switch (status) {
    case created:
      return "created";
    case requires_action:
      return "requires_action";
    case processing:
      return "processing";
    case authorized:
      return "authorized";
    case capture_pending:
      return "capture_pending";
    case cancel_pending:
      return "cancel_pending";
    case captured:
      return "captured";
    case partially_refunded:
      return "partially_refunded";
    case refunded:
      return "refunded";
    case canceled:
      return "canceled";
    case expired:
      return "expired";
  }
  invalid_enum("intent_status", static_cast<int>(status));
}

std::optional<intent_status> parse_intent_status(std::string_view name) {
  for (auto status : all_intent_statuses) {
    if (to_string(status) == name) return status;
  }
  return std::nullopt;
}

std::string_view to_string(intent_event event) {
  switch (event) {
    case ev::action_required:
      return "action_required";
    case ev::processing_started:
      return "processing_started";
    case ev::authorized:
      return "authorized";
    case ev::payment_failed:
      return "payment_failed";
    case ev::capture:
      return "capture";
    case ev::cancel:
      return "cancel";
    case ev::capture_requested:
      return "capture_requested";
    case ev::capture_failed:
      return "capture_failed";
    case ev::cancel_requested:
      return "cancel_requested";
    case ev::cancel_failed:
      return "cancel_failed";
    case ev::expire:
      return "expire";
    case ev::refund_partial:
      return "refund_partial";
    case ev::refund_full:
      return "refund_full";
    case ev::refund_failed:
      return "refund_failed";
    case ev::refund_failed_partial:
      return "refund_failed_partial";
    case ev::capture_reversed:
      return "capture_reversed";
  }
  invalid_enum("intent_event", static_cast<int>(event));
}

bool is_refusal(intent_event event) {
  return event == ev::capture_failed || event == ev::cancel_failed || event == ev::capture_reversed;
}

bool is_refund_reversal(intent_event event) {
  return event == ev::refund_failed || event == ev::refund_failed_partial;
}

std::optional<intent_event> parse_intent_event(std::string_view name) {
  for (auto event : all_intent_events) {
    if (to_string(event) == name) return event;
  }
  return std::nullopt;
}

std::string render_transition_table_markdown() {
  std::string out = "| from | event | to | cause |\n|---|---|---|---|\n";
  for (const auto& rule : rules) {
    out += "| ";
    out += to_string(rule.from);
    out += " | ";
    out += to_string(rule.on);
    out += " | ";
    out += to_string(rule.to);
    out += " | ";
    out += rule.cause;
    out += " |\n";
  }
  return out;
}

}  // namespace pay::core
