#include <catch2/catch.hpp>

#include "tests/support/harness.hpp"

using namespace pay;

namespace {

/// A database with one merchant, one intent and one audit row.
struct audit_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "audit-merchant");

  audit_fixture() {
    db.query(
        "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
        "psp) VALUES ('pi_audit', $1, 'created', 1000, 'usd', 'manual', 'sandbox')",
        {merchant.id});
    db.query(
        "INSERT INTO audit_events (merchant_id, intent_id, actor, action, from_status, to_status, "
        "version, cause) VALUES ($1, 'pi_audit', 'api', 'create', NULL, 'created', 0, 'test')",
        {merchant.id});
  }

  storage::pg_outcome exec(const std::string& sql) {
    auto conn = db.connect();
    return conn.exec(sql);
  }
};

}  // namespace

TEST_CASE("The audit log refuses UPDATE and the row stays as written") {
  audit_fixture f;
  auto r = f.exec("UPDATE audit_events SET to_status = 'captured'");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error->kind == storage::db_error_kind::refused);
  CHECK_THAT(r.error->message, Catch::Contains("append-only"));
  CHECK(f.db.query("SELECT to_status FROM audit_events").text(0, 0) == "created");
}

TEST_CASE("The audit log refuses DELETE and the row survives") {
  audit_fixture f;
  auto r = f.exec("DELETE FROM audit_events");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error->kind == storage::db_error_kind::refused);
  CHECK(f.db.query("SELECT count(*) FROM audit_events").int64(0, 0) == 1);
}

TEST_CASE("The audit log refuses TRUNCATE") {
  audit_fixture f;
  auto r = f.exec("TRUNCATE audit_events");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error->kind == storage::db_error_kind::refused);
  CHECK(f.db.query("SELECT count(*) FROM audit_events").int64(0, 0) == 1);
}

TEST_CASE("The audit log accepts new rows") {
  audit_fixture f;
  f.db.query(
      "INSERT INTO audit_events (merchant_id, intent_id, actor, action, cause) "
      "VALUES ($1, 'pi_audit', 'api', 'note', 'second')",
      {f.merchant.id});
  CHECK(f.db.query("SELECT count(*) FROM audit_events").int64(0, 0) == 2);
}
