#include "core/intent_fsm.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>

using namespace pay::core;

namespace {

/// The rules the issue specifies, written out independently of the table.
struct expected_rule {
  intent_status from;
  intent_event on;
  intent_status to;
};

using s = intent_status;
using e = intent_event;

constexpr expected_rule expected_rules[] = {
    {s::created, e::action_required, s::requires_action},
    {s::created, e::processing_started, s::processing},
    {s::created, e::authorized, s::authorized},
    {s::created, e::payment_failed, s::created},
    {s::created, e::cancel, s::canceled},
    {s::requires_action, e::processing_started, s::processing},
    {s::requires_action, e::authorized, s::authorized},
    {s::requires_action, e::payment_failed, s::created},
    {s::requires_action, e::cancel, s::canceled},
    {s::processing, e::authorized, s::authorized},
    {s::processing, e::payment_failed, s::created},
    {s::authorized, e::capture, s::captured},
    {s::authorized, e::cancel, s::canceled},
    {s::authorized, e::expire, s::expired},
    {s::authorized, e::capture_requested, s::capture_pending},
    {s::authorized, e::cancel_requested, s::cancel_pending},
    {s::capture_pending, e::capture, s::captured},
    {s::capture_pending, e::capture_failed, s::authorized},
    {s::cancel_pending, e::cancel, s::canceled},
    {s::cancel_pending, e::cancel_failed, s::authorized},
    {s::captured, e::refund_partial, s::partially_refunded},
    {s::captured, e::refund_full, s::refunded},
    {s::captured, e::capture_reversed, s::authorized},
    {s::partially_refunded, e::refund_partial, s::partially_refunded},
    {s::partially_refunded, e::refund_full, s::refunded},
    {s::partially_refunded, e::refund_failed, s::captured},
    {s::partially_refunded, e::refund_failed_partial, s::partially_refunded},
    {s::refunded, e::refund_failed, s::captured},
    {s::refunded, e::refund_failed_partial, s::partially_refunded},
};

}  // namespace

TEST_CASE("the transition table holds exactly the specified rules, in order") {
  const auto table = transition_table();
  REQUIRE(table.size() == std::size(expected_rules));
  for (std::size_t i = 0; i < table.size(); ++i) {
    INFO("rule " << i);
    CHECK(table[i].from == expected_rules[i].from);
    CHECK(table[i].on == expected_rules[i].on);
    CHECK(table[i].to == expected_rules[i].to);
    CHECK_FALSE(table[i].cause.empty());
  }
}

TEST_CASE(
    "every (status, event) pair in the table transitions to its target and every other "
    "pair is refused") {
  std::size_t allowed = 0;
  for (auto from : all_intent_statuses) {
    for (auto on : all_intent_events) {
      INFO(to_string(from) << " on " << to_string(on));
      std::optional<intent_status> expected;
      for (const auto& rule : transition_table()) {
        if (rule.from == from && rule.on == on) expected = rule.to;
      }
      CHECK(transition(from, on) == expected);
      if (expected) ++allowed;
    }
  }
  CHECK(allowed == transition_table().size());
}

TEST_CASE("terminal statuses refuse every event") {
  for (auto from : all_intent_statuses) {
    if (!is_terminal(from)) continue;
    for (auto on : all_intent_events) {
      INFO(to_string(from) << " on " << to_string(on));
      CHECK_FALSE(transition(from, on));
    }
  }
}

TEST_CASE("exactly canceled and expired are terminal") {
  std::set<intent_status> terminal;
  for (auto status : all_intent_statuses) {
    if (is_terminal(status)) terminal.insert(status);
  }
  CHECK(terminal == std::set{s::canceled, s::expired});
}

TEST_CASE("every non-terminal status has at least one rule") {
  for (auto from : all_intent_statuses) {
    if (is_terminal(from)) continue;
    INFO(to_string(from));
    bool has_rule = false;
    for (const auto& rule : transition_table()) has_rule = has_rule || rule.from == from;
    CHECK(has_rule);
  }
}

TEST_CASE("every terminal status is reachable from created") {
  std::set<intent_status> reached{s::created};
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& rule : transition_table()) {
      if (reached.count(rule.from) && reached.insert(rule.to).second) grew = true;
    }
  }
  CHECK(reached.size() == all_intent_statuses.size());
}

TEST_CASE("a decline keeps the intent payable") {
  CHECK(transition(s::created, e::payment_failed) == s::created);
  CHECK(transition(s::requires_action, e::payment_failed) == s::created);
  CHECK(transition(s::processing, e::payment_failed) == s::created);
}

TEST_CASE("a captured intent can no longer be canceled or captured again") {
  CHECK_FALSE(transition(s::captured, e::cancel));
  CHECK_FALSE(transition(s::captured, e::capture));
  CHECK_FALSE(transition(s::captured, e::authorized));
}

TEST_CASE("status names round-trip and equal the enumerator names") {
  CHECK(to_string(s::requires_action) == "requires_action");
  CHECK(to_string(s::partially_refunded) == "partially_refunded");
  std::set<std::string_view> names;
  for (auto status : all_intent_statuses) {
    names.insert(to_string(status));
    CHECK(parse_intent_status(to_string(status)) == status);
  }
  CHECK(names.size() == all_intent_statuses.size());
  CHECK_FALSE(parse_intent_status("Created"));
  CHECK_FALSE(parse_intent_status(""));
  CHECK_FALSE(parse_intent_status("succeeded"));
}

TEST_CASE("event names round-trip and equal the enumerator names") {
  CHECK(to_string(e::processing_started) == "processing_started");
  CHECK(to_string(e::refund_full) == "refund_full");
  std::set<std::string_view> names;
  for (auto event : all_intent_events) {
    names.insert(to_string(event));
    CHECK(parse_intent_event(to_string(event)) == event);
  }
  CHECK(names.size() == all_intent_events.size());
  CHECK_FALSE(parse_intent_event("refund"));
  CHECK_FALSE(parse_intent_event(""));
}

TEST_CASE("the markdown rendering has a header and one row per rule in table order") {
  const auto markdown = render_transition_table_markdown();
  std::istringstream lines(markdown);
  std::string line;
  REQUIRE(std::getline(lines, line));
  CHECK(line == "| from | event | to | cause |");
  REQUIRE(std::getline(lines, line));
  CHECK(line == "|---|---|---|---|");
  for (const auto& rule : transition_table()) {
    REQUIRE(std::getline(lines, line));
    CHECK(line == "| " + std::string(to_string(rule.from)) + " | " +
                      std::string(to_string(rule.on)) + " | " + std::string(to_string(rule.to)) +
                      " | " + std::string(rule.cause) + " |");
  }
  CHECK_FALSE(std::getline(lines, line));
  CHECK(markdown.back() == '\n');
}

TEST_CASE("find_path walks every state between two statuses in table order") {
  using pay::core::intent_event;
  using pay::core::intent_status;
  auto auto_capture = pay::core::find_path(intent_status::created, intent_status::captured);
  REQUIRE(auto_capture);
  REQUIRE(auto_capture->size() == 2);
  CHECK((*auto_capture)[0].on == intent_event::authorized);
  CHECK((*auto_capture)[0].to == intent_status::authorized);
  CHECK((*auto_capture)[1].on == intent_event::capture);
  CHECK((*auto_capture)[1].to == intent_status::captured);

  auto same = pay::core::find_path(intent_status::authorized, intent_status::authorized);
  REQUIRE(same);
  CHECK(same->empty());
}

TEST_CASE("find_path refuses to go backwards or out of a terminal status") {
  using pay::core::intent_status;
  // Back from captured only by the capture's reversal (see the refusal test).
  auto back = pay::core::find_path(intent_status::captured, intent_status::authorized);
  REQUIRE(back);
  CHECK(back->front().on == e::capture_reversed);
  CHECK_FALSE(pay::core::find_path(intent_status::authorized, intent_status::processing));
  CHECK_FALSE(pay::core::find_path(intent_status::canceled, intent_status::authorized));
  CHECK_FALSE(pay::core::find_path(intent_status::expired, intent_status::authorized));
  // Out of refunded only by a refund's failure (see the reversal test), so
  // a walk from refunded to authorized crosses a refund reversal.
  auto from_refunded = pay::core::find_path(intent_status::refunded, intent_status::authorized);
  CHECK((!from_refunded ||
         std::any_of(from_refunded->begin(), from_refunded->end(),
                     [](const auto& rule) { return is_refund_reversal(rule.on); })));
}

TEST_CASE("Every path find_path returns is a chain of allowed transitions") {
  for (auto from : pay::core::all_intent_statuses)
    for (auto to : pay::core::all_intent_statuses) {
      auto path = pay::core::find_path(from, to);
      if (!path) continue;
      auto at = from;
      for (const auto& rule : *path) {
        REQUIRE(rule.from == at);
        REQUIRE(pay::core::transition(at, rule.on) == rule.to);
        at = rule.to;
      }
      CHECK(at == to);
    }
}

TEST_CASE(
    "only capture_failed, cancel_failed and capture_reversed are refusals, and a walk back needs "
    "them") {
  for (auto on : all_intent_events)
    CHECK(is_refusal(on) ==
          (on == e::capture_failed || on == e::cancel_failed || on == e::capture_reversed));
  // The shortest walk from a pending capture back to authorized is the
  // refusal: the intent actor applies it only on the PSP's explicit word.
  auto back = find_path(s::capture_pending, s::authorized);
  REQUIRE(back);
  REQUIRE(back->size() == 1);
  CHECK(back->front().on == e::capture_failed);
  // A synchronous PSP's capture stays one step.
  auto direct = find_path(s::authorized, s::captured);
  REQUIRE(direct);
  REQUIRE(direct->size() == 1);
  CHECK(direct->front().on == e::capture);
  // A confirmed capture goes back only by its reversal, and a walk from
  // captured to canceled or expired crosses it: refused unless the PSP said
  // its capture failed.
  auto reversed = find_path(s::captured, s::authorized);
  REQUIRE(reversed);
  REQUIRE(reversed->size() == 1);
  CHECK(reversed->front().on == e::capture_reversed);
  auto to_canceled = find_path(s::captured, s::canceled);
  REQUIRE(to_canceled);
  CHECK(std::any_of(to_canceled->begin(), to_canceled->end(),
                    [](const auto& rule) { return is_refusal(rule.on); }));
}

TEST_CASE("only a refund's failure takes a refunded intent back, and a walk never does") {
  for (auto on : all_intent_events)
    CHECK(is_refund_reversal(on) == (on == e::refund_failed || on == e::refund_failed_partial));
  // The only walk from refunded to captured is a reversal: the intent actor
  // refuses it as a walk, so a payment's "captured" news cannot undo a refund.
  auto back = find_path(s::refunded, s::captured);
  REQUIRE(back);
  REQUIRE(back->size() == 1);
  CHECK(is_refund_reversal(back->front().on));
  CHECK(transition(s::refunded, e::refund_failed_partial) == s::partially_refunded);
  CHECK_FALSE(transition(s::captured, e::refund_failed));
}
