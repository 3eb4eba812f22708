// Group commit (storage/batch.hpp) against real PostgreSQL: one failing
// write does not fail the others, a lost connection answers every write of
// the batch with an error and commits none, and batched webhook inserts
// answer each event its own receipt.

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/idempotency.hpp"
#include "storage/batch.hpp"
#include "storage/idempotency.hpp"
#include "storage/inbox.hpp"
#include "tests/support/harness.hpp"

using namespace pay;

namespace {

storage::idempotency_request claim(const std::string& merchant, const std::string& key) {
  return {merchant,
          key,
          "POST",
          "/v1/payment_intents",
          core::request_fingerprint("POST", "/v1/payment_intents", "{}"),
          20'000};
}

/// What one batch item saw: its own result and the batch's verdict.
struct seen {
  bool ran = false;
  bool ok = false;
  int settled = 0;
  std::optional<core::error> batch_error;
};

/// An item claiming an idempotency key.
storage::batch_item claim_item(const std::string& merchant, const std::string& key,
                               std::shared_ptr<seen> s) {
  return {[merchant, key, s](storage::pg_connection& c) {
            s->ran = true;
            s->ok = static_cast<bool>(storage::idempotency_begin(c, claim(merchant, key)));
            return s->ok;
          },
          [s](const std::optional<core::error>& e) {
            ++s->settled;
            s->batch_error = e;
          }};
}

/// An item running one raw statement (true when it succeeded).
storage::batch_item sql_item(const std::string& sql, std::shared_ptr<seen> s) {
  return {[sql, s](storage::pg_connection& c) {
            s->ran = true;
            s->ok = c.exec(sql).ok();
            return s->ok;
          },
          [s](const std::optional<core::error>& e) {
            ++s->settled;
            s->batch_error = e;
          }};
}

std::int64_t count_keys(const test::scratch_database& db) {
  return db.query("SELECT count(*) FROM idempotency_keys").int64(0, 0);
}

storage::inbox_item event(const std::string& id) {
  return {"sandbox", id, "charge.succeeded", "ch_" + id, R"({"id":")" + id + R"("})", "t=1,v1=x"};
}

}  // namespace

TEST_CASE("A batch commits its good writes and answers the failing one its own error") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "batch");
  auto conn = db.connect();
  auto a = std::make_shared<seen>(), bad = std::make_shared<seen>(), c = std::make_shared<seen>();
  std::vector<storage::batch_item> items{
      claim_item(m.id, "first", a),
      // A statement that fails (a NOT NULL violation) in the middle.
      sql_item("INSERT INTO idempotency_keys (merchant_id, key) VALUES (NULL, 'broken')", bad),
      claim_item(m.id, "third", c)};
  auto report = storage::run_batch(conn, items);
  CHECK(report.items == 3);
  CHECK(report.failed == 1);
  CHECK(report.committed);
  CHECK(report.rerun_alone);  // the shared transaction was rolled back, each ran alone
  for (const auto& s : {a, bad, c}) {
    CHECK(s->ran);
    CHECK(s->settled == 1);  // each answered exactly once
    CHECK_FALSE(s->batch_error);
  }
  CHECK(a->ok);
  CHECK_FALSE(bad->ok);
  CHECK(c->ok);
  auto keys = db.query("SELECT key FROM idempotency_keys ORDER BY key");
  REQUIRE(keys.size() == 2);
  CHECK(keys.text(0, 0) == "first");
  CHECK(keys.text(1, 0) == "third");
  // The connection is usable afterwards, outside any transaction.
  CHECK_FALSE(conn.in_transaction());
  CHECK(conn.exec("SELECT 1").ok());
}

TEST_CASE("A batch whose connection is lost answers every write with an error and commits none") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "lost");
  auto conn = db.connect();
  auto a = std::make_shared<seen>(), killer = std::make_shared<seen>(),
       c = std::make_shared<seen>();
  std::vector<storage::batch_item> items{
      claim_item(m.id, "before", a),
      // The server ends this very connection mid-batch.
      sql_item("SELECT pg_terminate_backend(pg_backend_pid())", killer),
      claim_item(m.id, "after", c)};
  auto report = storage::run_batch(conn, items);
  CHECK_FALSE(report.committed);
  for (const auto& s : {a, killer, c}) {
    CHECK(s->settled == 1);
    REQUIRE(s->batch_error);
    CHECK(s->batch_error->code == core::errc::storage_unavailable);
  }
  CHECK(a->ok);                // it ran and succeeded, yet was never acknowledged:
  CHECK_FALSE(c->ran);         // the batch stopped at the lost connection
  CHECK(count_keys(db) == 0);  // and nothing of the batch committed
}

TEST_CASE("A batch of one write runs it alone and answers its own result") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "single");
  auto conn = db.connect();
  auto a = std::make_shared<seen>();
  std::vector<storage::batch_item> items{claim_item(m.id, "only", a)};
  auto report = storage::run_batch(conn, items);
  CHECK(report.committed);
  CHECK(a->ok);
  CHECK(a->settled == 1);
  CHECK_FALSE(a->batch_error);
  CHECK(count_keys(db) == 1);
}

TEST_CASE("A nested transaction in a batch rolls back to its savepoint and the batch goes on") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "nested");
  auto conn = db.connect();
  REQUIRE(conn.exec("BEGIN").ok());
  auto inner =
      conn.transaction([&](storage::pg_connection& tx) -> std::optional<storage::db_error> {
        auto r = tx.exec("INSERT INTO idempotency_keys (merchant_id, key) VALUES (NULL, 'x')");
        return r.error;
      });
  CHECK(inner);                               // the nested work failed ...
  CHECK_FALSE(conn.in_failed_transaction());  // ... and only its savepoint was rolled back
  REQUIRE(storage::idempotency_begin(conn, claim(m.id, "kept")));
  REQUIRE(conn.exec("COMMIT").ok());
  CHECK(count_keys(db) == 1);
}

TEST_CASE("Webhook events stored with one multi-row insert get one receipt each") {
  test::scratch_database db;
  auto conn = db.connect();
  auto earlier = storage::inbox_add(conn, event("evt_earlier"));
  REQUIRE(earlier);
  std::vector<storage::inbox_item> events{event("evt_a"), event("evt_earlier"), event("evt_b"),
                                          event("evt_a")};
  auto receipts = storage::inbox_add_many(conn, events);
  REQUIRE(receipts);
  REQUIRE(receipts->size() == 4);
  const auto& r = *receipts;
  CHECK_FALSE(r[0].duplicate);
  CHECK(r[1].duplicate);
  CHECK(r[1].id == earlier->id);
  CHECK_FALSE(r[2].duplicate);
  CHECK(r[3].duplicate);  // twice in one batch: stored once
  CHECK(r[3].id == r[0].id);
  CHECK(r[0].id != r[2].id);
  CHECK(db.query("SELECT count(*) FROM webhook_inbox").int64(0, 0) == 3);
  auto payload = db.query("SELECT convert_from(payload, 'UTF8') FROM webhook_inbox WHERE id = $1",
                          {std::to_string(r[2].id)});
  CHECK(payload.text(0, 0) == R"({"id":"evt_b"})");
}
