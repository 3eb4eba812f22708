#include "core/ids.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "core/api_key.hpp"

using namespace pay::core;

TEST_CASE("a new id is the prefix, an underscore and 24 base62 characters") {
  const auto id = make_id(id_prefix::payment_intent);
  CHECK(id.size() == 2 + 1 + 24);
  CHECK(id.substr(0, 3) == "pi_");
  for (char ch : id.substr(3)) CHECK(is_base62(ch));
  CHECK(has_prefix(id, id_prefix::payment_intent));
  CHECK(has_prefix(make_id(id_prefix::payment_link), "plink"));
}

TEST_CASE("id prefixes are the documented ones") {
  CHECK(id_prefix::payment_intent == "pi");
  CHECK(id_prefix::refund == "re");
  CHECK(id_prefix::merchant == "mch");
  CHECK(id_prefix::api_key == "key");
  CHECK(id_prefix::audit_event == "aud");
  CHECK(id_prefix::webhook_event == "wev");
  CHECK(id_prefix::dead_letter == "dl");
  CHECK(id_prefix::request == "req");
  CHECK(id_prefix::ledger_transaction == "ltx");
  CHECK(id_prefix::payment_link == "plink");
}

TEST_CASE("1000 new ids are all different") {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(make_id(id_prefix::refund));
  CHECK(ids.size() == 1000);
}

TEST_CASE("has_prefix rejects a wrong prefix, length or character") {
  const auto id = make_id(id_prefix::refund);
  CHECK(has_prefix(id, "re"));
  CHECK_FALSE(has_prefix(id, "pi"));
  CHECK_FALSE(has_prefix(id, "r"));
  CHECK_FALSE(has_prefix(id.substr(0, id.size() - 1), "re"));
  CHECK_FALSE(has_prefix(id + "a", "re"));
  CHECK_FALSE(has_prefix("re-" + id.substr(3), "re"));
  std::string with_dash = id;
  with_dash.back() = '-';
  CHECK_FALSE(has_prefix(with_dash, "re"));
  std::string with_underscore = id;
  with_underscore[10] = '_';
  CHECK_FALSE(has_prefix(with_underscore, "re"));
  CHECK_FALSE(has_prefix("", "re"));
  CHECK(has_prefix("re_0123456789ABCDEFGHIJabcd", "re"));
}

TEST_CASE("random tokens have the asked length and only base62 characters") {
  CHECK(random_token(0).empty());
  const auto token = random_token(1000);
  CHECK(token.size() == 1000);
  for (char ch : token) REQUIRE(is_base62(ch));
  CHECK(random_token(32) != random_token(32));
}

TEST_CASE("random tokens use the whole base62 alphabet") {
  const auto token = random_token(20'000);
  std::set<char> seen(token.begin(), token.end());
  CHECK(seen.size() == 62);
}

TEST_CASE("a secret key is sk_test_ and 32 base62 characters") {
  const auto key = make_secret_key();
  CHECK(key.size() == 8 + 32);
  CHECK(key.starts_with("sk_test_"));
  for (char ch : key.substr(8)) CHECK(is_base62(ch));
  CHECK(make_secret_key() != key);
}
