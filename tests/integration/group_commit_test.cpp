// Group commit through the real engine: concurrent writes share commits in
// the storage actors (actors/write_batch.hpp), and cutting the database
// connections in the middle of a burst leaves no request unanswered and no
// 200 without its committed row.

#ifdef PSP_SANDBOX_BIN

#include <catch2/catch.hpp>

#include <rapidjson/document.h>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/limits.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/sandbox_process.hpp"

using namespace pay;
using namespace std::chrono_literals;

namespace {

constexpr int burst = 48;
constexpr auto create_body = R"({"amount":1500,"currency":"usd","capture_method":"manual"})";

struct engine_fixture {
  test::scratch_database db;
  test::test_merchant merchant = test::make_merchant(db, "burst");
  test::sandbox_process sandbox;
  // A short key lease: a request whose key release was lost with the
  // connection holds its key (409 in flight) only this long.
  test::engine_process engine{db.url(),
                              {{"PAYMENTS_PSP_BASE_URL", sandbox.base_url()},
                               {"PAYMENTS_PSP_SECRET_KEY", sandbox.secret_key()},
                               {"PAYMENTS_IDEMPOTENCY_LEASE_MS", "500"}}};

  net::client_result create(const std::string& key) {
    return test::http("POST", engine.base_url() + "/v1/payment_intents", create_body,
                      {{"Authorization", "Bearer " + merchant.api_key}, {"Idempotency-Key", key}},
                      "application/json");
  }

  /// Fires `burst` creates at once; `during` runs while they are in flight.
  template <class F>
  std::vector<net::client_result> fire(const std::string& prefix, F during) {
    std::vector<std::future<net::client_result>> calls;
    for (int i = 0; i < burst; ++i)
      calls.push_back(std::async(std::launch::async,
                                 [this, prefix, i] { return create(prefix + std::to_string(i)); }));
    during();
    std::vector<net::client_result> out;
    for (auto& c : calls) out.push_back(c.get());
    return out;
  }

  bool intent_committed(const std::string& id) {
    return db.query("SELECT count(*) FROM payment_intents WHERE id = $1", {id}).int64(0, 0) == 1;
  }
};

std::string id_of(const net::client_result& r) {
  auto doc = test::parse_json(r.response.body);
  REQUIRE(doc.HasMember("id"));
  return doc["id"].GetString();
}

}  // namespace

TEST_CASE("Concurrent creates sharing commits each get their own answer and their own intent") {
  engine_fixture f;
  auto results = f.fire("shared-", [] {});
  std::set<std::string> ids;
  for (auto& r : results) {
    REQUIRE(r.answered);
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    auto id = id_of(r);
    CHECK(f.intent_committed(id));
    ids.insert(id);
  }
  CHECK(ids.size() == static_cast<std::size_t>(burst));
  CHECK(f.db.query("SELECT count(*) FROM payment_intents").int64(0, 0) == burst);
  // Every key is finished with its answer: a replay gives the same body.
  auto replay = f.create("shared-7");
  REQUIRE(replay.response.status == 200);
  CHECK(replay.response.body == results[7].response.body);
}

TEST_CASE(
    "Database connections cut during a burst of creates: every request is answered and no 200 "
    "lacks its committed intent") {
  engine_fixture f;
  auto results = f.fire("cut-", [&f] {
    // Cut every engine connection a few times while the burst is in flight.
    for (int round = 0; round < 4; ++round) {
      std::this_thread::sleep_for(15ms);
      f.db.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
          "current_database() AND pid <> pg_backend_pid()");
    }
  });
  int ok = 0, unavailable = 0;
  for (auto& r : results) {
    REQUIRE(r.answered);  // nobody is left waiting
    INFO(r.response.body);
    if (r.response.status == 200) {
      ++ok;
      CHECK(f.intent_committed(id_of(r)));  // acknowledged only after its commit
    } else {
      CHECK(r.response.status == 503);  // a clear, retryable error
      ++unavailable;
    }
  }
  CHECK(ok + unavailable == burst);
  // Retrying every key with the same Idempotency-Key converges (after the
  // lease of a key whose release was lost, 409 until then): one intent per
  // key, the ones already answered replay the same intent.
  std::set<std::string> ids;
  for (int i = 0; i < burst; ++i) {
    net::client_result r;
    for (int attempt = 0; attempt < 50; ++attempt) {
      r = f.create("cut-" + std::to_string(i));
      if (r.answered && r.response.status == 200) break;
      std::this_thread::sleep_for(100ms);
    }
    INFO(r.response.body);
    REQUIRE(r.response.status == 200);
    auto id = id_of(r);
    if (results[static_cast<std::size_t>(i)].response.status == 200)
      CHECK(id == id_of(results[static_cast<std::size_t>(i)]));
    ids.insert(id);
  }
  CHECK(ids.size() == static_cast<std::size_t>(burst));
  CHECK(f.db.query("SELECT count(*) FROM payment_intents").int64(0, 0) == burst);
}

TEST_CASE("Many concurrent replays of a few keys all answer the stored response at once") {
  // Replays share batches with each other across storage actors; they must
  // take no row locks, or batches holding one key wait for batches holding
  // another (lock convoys and deadlocks, answered 503 after a second).
  engine_fixture f;
  std::vector<std::string> stored;
  for (int k = 0; k < 3; ++k) {
    auto r = f.create("hot-" + std::to_string(k));
    REQUIRE(r.response.status == 200);
    stored.push_back(r.response.body);
  }
  std::vector<std::future<net::client_result>> calls;
  for (int i = 0; i < 2 * burst; ++i)
    calls.push_back(std::async(std::launch::async,
                               [&f, i] { return f.create("hot-" + std::to_string(i % 3)); }));
  for (int i = 0; i < 2 * burst; ++i) {
    auto r = calls[static_cast<std::size_t>(i)].get();
    REQUIRE(r.answered);
    INFO(r.response.body);
    CHECK(r.response.status == 200);
    CHECK(r.response.body == stored[static_cast<std::size_t>(i % 3)]);
    auto replayed = r.response.header_value("Idempotent-Replayed");
    REQUIRE(replayed);
    CHECK(*replayed == "true");
  }
  CHECK(f.db.query("SELECT count(*) FROM payment_intents").int64(0, 0) == 3);
}

TEST_CASE("A create's intent, its audit row and its stored answer commit together") {
  // One write after the PSP call: the key is `finished` with the very answer
  // the client got, in the intent's own transaction (no later answer write).
  engine_fixture f;
  auto r = f.create("together");
  REQUIRE(r.response.status == 200);
  auto id = id_of(r);
  auto key = f.db.query(
      "SELECT recovery_point, response_status, response_body, intent_id, locked_until IS NULL, "
      "xmin::text FROM idempotency_keys WHERE key = 'together'");
  REQUIRE(key.size() == 1);
  CHECK(key.text(0, 0) == "finished");
  CHECK(key.int64(0, 1) == 200);
  CHECK(key.text(0, 2) == r.response.body);
  CHECK(key.text(0, 3) == id);
  CHECK(key.boolean(0, 4));
  // The same transaction wrote the intent, its audit row and the answer.
  auto intent_xmin = f.db.query("SELECT xmin::text FROM payment_intents WHERE id = $1", {id});
  auto audit_xmin = f.db.query("SELECT xmin::text FROM audit_events WHERE intent_id = $1", {id});
  REQUIRE(audit_xmin.size() == 1);
  CHECK(intent_xmin.text(0, 0) == key.text(0, 5));
  CHECK(audit_xmin.text(0, 0) == key.text(0, 5));
  auto replay = f.create("together");
  REQUIRE(replay.response.status == 200);
  CHECK(replay.response.body == r.response.body);
  CHECK(replay.response.header_value("Idempotent-Replayed").value_or("") == "true");
}

TEST_CASE("Creates beyond the PSP concurrency cap wait at the gateway instead of answering 503") {
  engine_fixture f;
  // Every PSP call takes 300 ms, so the burst holds more calls than
  // psp_concurrency_max at once; the rest queue (psp_queue_max) and go when
  // slots free.
  auto faults =
      test::http("POST", f.sandbox.base_url() + "/_sandbox/faults", R"({"latency_ms":300})",
                 {{"Authorization", "Bearer " + f.sandbox.secret_key()}}, "application/json");
  REQUIRE(faults.response.status == 200);
  constexpr int over = static_cast<int>(core::limits::psp_concurrency_max) + 40;
  static_assert(over - core::limits::psp_concurrency_max <= core::limits::psp_queue_max);
  std::vector<std::future<net::client_result>> calls;
  for (int i = 0; i < over; ++i)
    calls.push_back(
        std::async(std::launch::async, [&f, i] { return f.create("cap-" + std::to_string(i)); }));
  int ok = 0;
  for (auto& c : calls) {
    auto r = c.get();
    REQUIRE(r.answered);
    INFO(r.response.body);
    CHECK(r.response.status == 200);
    if (r.response.status == 200) ++ok;
  }
  CHECK(ok == over);
  CHECK(f.db.query("SELECT count(*) FROM payment_intents").int64(0, 0) == over);
}

TEST_CASE("A revoked API key stops working within api_key_cache_ttl_s seconds") {
  engine_fixture f;
  auto list = [&f] {
    return test::http("GET", f.engine.base_url() + "/v1/payment_intents", {},
                      {{"Authorization", "Bearer " + f.merchant.api_key}});
  };
  REQUIRE(list().response.status == 200);  // the key -> merchant answer is now cached
  f.db.query("UPDATE api_keys SET revoked_at = now()");
  auto revoked_at = std::chrono::steady_clock::now();
  int status = 200;
  while (status == 200 && std::chrono::steady_clock::now() - revoked_at <
                              std::chrono::seconds(core::limits::api_key_cache_ttl_s) + 3s) {
    status = list().response.status;
    if (status == 200) std::this_thread::sleep_for(50ms);
  }
  auto took = std::chrono::steady_clock::now() - revoked_at;
  CHECK(status == 401);
  // Within the bound (plus a request's time).
  CHECK(took <= std::chrono::seconds(core::limits::api_key_cache_ttl_s) + 500ms);
  // And for good: every later request is refused.
  CHECK(list().response.status == 401);
}

#endif
