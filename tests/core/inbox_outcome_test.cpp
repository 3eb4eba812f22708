#include "core/inbox_outcome.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace pay::core;

TEST_CASE("inbox outcomes map to the texts webhook_inbox.outcome has always stored") {
  // These texts are in existing databases: changing one is a data migration.
  CHECK(to_string(inbox_outcome::applied) == "applied");
  CHECK(to_string(inbox_outcome::ignored_no_change) == "ignored_no_change");
  CHECK(to_string(inbox_outcome::ignored_stale) == "ignored_stale");
  CHECK(to_string(inbox_outcome::recorded) == "recorded");
  CHECK(to_string(inbox_outcome::foreign) == "foreign");
  CHECK(to_string(inbox_outcome::dispute) == "dispute");
}

TEST_CASE("every inbox outcome's text is unique and parses back to it") {
  std::set<std::string_view> texts;
  for (auto o : all_inbox_outcomes) {
    texts.insert(to_string(o));
    auto back = parse_inbox_outcome(to_string(o));
    REQUIRE(back);
    CHECK(*back == o);
  }
  CHECK(texts.size() == std::size(all_inbox_outcomes));
}

TEST_CASE("a text that is no inbox outcome parses to nothing") {
  CHECK_FALSE(parse_inbox_outcome(""));
  CHECK_FALSE(parse_inbox_outcome("Applied"));
  CHECK_FALSE(parse_inbox_outcome("applied "));
  // The settlement actor's own texts (with a payout's detail) are not of the enum.
  CHECK_FALSE(parse_inbox_outcome("settled"));
  CHECK_FALSE(parse_inbox_outcome("ignored: payout failed before it was booked"));
}

TEST_CASE("expiry results have unique names that parse back") {
  std::set<std::string_view> names;
  for (auto r : all_expiry_results) {
    names.insert(to_string(r));
    auto back = parse_expiry_result(to_string(r));
    REQUIRE(back);
    CHECK(*back == r);
  }
  CHECK(names.size() == std::size(all_expiry_results));
  CHECK(to_string(expiry_result::expired) == "expired");
  CHECK(to_string(expiry_result::not_due) == "not_due");
  CHECK(to_string(expiry_result::not_authorized) == "not_authorized");
  CHECK_FALSE(parse_expiry_result("captured"));
}
