#include "core/inbox_outcome.hpp"

#include <cstdio>
#include <cstdlib>

namespace pay::core {

namespace {

/// Reached only for a value outside the enum: a programmer error.
[[noreturn]] void invalid_value(const char* what, int value) {
  std::fprintf(stderr, "pay::core: invalid %s value %d\n", what, value);
  std::abort();
}

}  // namespace

std::string_view to_string(inbox_outcome o) {
  switch (o) {
    case inbox_outcome::applied:
      return "applied";
    case inbox_outcome::ignored_no_change:
      return "ignored_no_change";
    case inbox_outcome::ignored_stale:
      return "ignored_stale";
    case inbox_outcome::recorded:
      return "recorded";
    case inbox_outcome::foreign:
      return "foreign";
    case inbox_outcome::dispute:
      return "dispute";
    case inbox_outcome::routing_orphan:
      return "routing_orphan";
  }
  invalid_value("inbox_outcome", static_cast<int>(o));
}

std::optional<inbox_outcome> parse_inbox_outcome(std::string_view text) {
  for (auto o : all_inbox_outcomes)
    if (to_string(o) == text) return o;
  return std::nullopt;
}

std::string_view to_string(expiry_result r) {
  switch (r) {
    case expiry_result::expired:
      return "expired";
    case expiry_result::not_due:
      return "not_due";
    case expiry_result::not_authorized:
      return "not_authorized";
    case expiry_result::superseded:
      return "superseded";
  }
  invalid_value("expiry_result", static_cast<int>(r));
}

std::optional<expiry_result> parse_expiry_result(std::string_view text) {
  for (auto r : all_expiry_results)
    if (to_string(r) == text) return r;
  return std::nullopt;
}

}  // namespace pay::core
