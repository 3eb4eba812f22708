#include <catch2/catch.hpp>

#include "core/api_key.hpp"
#include "storage/merchants.hpp"
#include "tests/support/harness.hpp"

using namespace pay;

TEST_CASE("API keys are stored only as their SHA-256 hash") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "hash-merchant");
  auto rows = db.query("SELECT row_to_json(k)::text FROM api_keys k");
  REQUIRE(rows.size() == 1);
  std::string row{rows.text(0, 0)};
  CHECK(row.find(m.api_key) == std::string::npos);
  CHECK(row.find(core::hash_api_key(m.api_key)) != std::string::npos);
}

TEST_CASE("A key resolves to its merchant, and a revoked or unknown key to none") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "key-merchant");
  auto conn = db.connect();
  auto found = storage::find_merchant_by_key_hash(conn, core::hash_api_key(m.api_key));
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->id == m.id);

  auto unknown = storage::find_merchant_by_key_hash(conn, core::hash_api_key("sk_test_nobody"));
  REQUIRE(unknown);
  CHECK_FALSE(unknown->has_value());

  db.query("UPDATE api_keys SET revoked_at = now()");
  auto revoked = storage::find_merchant_by_key_hash(conn, core::hash_api_key(m.api_key));
  REQUIRE(revoked);
  CHECK_FALSE(revoked->has_value());
}

TEST_CASE("Ensuring a merchant twice returns the same merchant") {
  test::scratch_database db;
  auto conn = db.connect();
  auto a = storage::ensure_merchant(conn, "twice");
  auto b = storage::ensure_merchant(conn, "twice");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == *b);
}

TEST_CASE("A key already owned by another merchant cannot be attached again") {
  test::scratch_database db;
  auto first = test::make_merchant(db, "first");
  auto conn = db.connect();
  auto other = storage::ensure_merchant(conn, "second");
  REQUIRE(other);
  auto added = storage::add_api_key(conn, *other, first.api_key);
  REQUIRE_FALSE(added);
  CHECK(added.err().code == core::errc::invalid_request);
}
