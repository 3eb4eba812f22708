#include <catch2/catch.hpp>

#include <thread>

#include "storage/migrations.hpp"
#include "tests/support/harness.hpp"

using namespace pay;

namespace {

std::int64_t count(const test::scratch_database& db, const std::string& sql) {
  return db.query(sql).int64(0, 0);
}

bool table_exists(const test::scratch_database& db, const std::string& name) {
  return count(db, "SELECT count(*) FROM information_schema.tables WHERE table_name = '" + name +
                       "'") == 1;
}

}  // namespace

TEST_CASE("Migrations apply once, and a second run applies nothing") {
  test::scratch_database db{false};
  auto conn = db.connect();
  const auto& all = storage::embedded_migrations();
  REQUIRE_FALSE(all.empty());

  auto first = storage::apply_migrations(conn, all);
  REQUIRE(first);
  CHECK(first->applied.size() == all.size());
  CHECK(first->schema_version == all.back().version);

  auto second = storage::apply_migrations(conn, all);
  REQUIRE(second);
  CHECK(second->applied.empty());
  CHECK(count(db, "SELECT count(*) FROM schema_migrations") ==
        static_cast<std::int64_t>(all.size()));
  auto applied = storage::migrations_applied(conn, all);
  REQUIRE(applied);
  CHECK(*applied);
}

TEST_CASE("A failing migration leaves the schema as it was and is not recorded") {
  test::scratch_database db{false};
  auto conn = db.connect();
  auto with_bad = storage::embedded_migrations();
  with_bad.push_back(
      {9999, "9999_half_done", "CREATE TABLE half_done (id int); SELECT * FROM no_such_table;"});

  auto report = storage::apply_migrations(conn, with_bad);
  REQUIRE_FALSE(report);
  CHECK_THAT(report.err().message, Catch::Contains("9999_half_done"));
  CHECK_FALSE(table_exists(db, "half_done"));
  CHECK(count(db, "SELECT count(*) FROM schema_migrations WHERE version = 9999") == 0);
  // The good migrations before it stay applied.
  CHECK(table_exists(db, "payment_intents"));
  auto applied = storage::migrations_applied(conn, with_bad);
  REQUIRE(applied);
  CHECK_FALSE(*applied);
}

TEST_CASE("An applied migration whose text changed afterwards is refused") {
  test::scratch_database db{true};
  auto conn = db.connect();
  auto changed = storage::embedded_migrations();
  changed.front().sql = "SELECT 1;";
  auto report = storage::apply_migrations(conn, changed);
  REQUIRE_FALSE(report);
  CHECK_THAT(report.err().message, Catch::Contains("changed after it was applied"));
}

TEST_CASE("Engines starting together apply each migration exactly once") {
  test::scratch_database db{false};
  const auto& all = storage::embedded_migrations();
  std::size_t applied_a = 0, applied_b = 0;
  bool ok_a = false, ok_b = false;
  std::thread a([&] {
    auto conn = db.connect();
    auto r = storage::apply_migrations(conn, all);
    ok_a = static_cast<bool>(r);
    if (r) applied_a = r->applied.size();
  });
  std::thread b([&] {
    auto conn = db.connect();
    auto r = storage::apply_migrations(conn, all);
    ok_b = static_cast<bool>(r);
    if (r) applied_b = r->applied.size();
  });
  a.join();
  b.join();
  CHECK(ok_a);
  CHECK(ok_b);
  CHECK(applied_a + applied_b == all.size());
  CHECK(count(db, "SELECT count(*) FROM schema_migrations") ==
        static_cast<std::int64_t>(all.size()));
}
