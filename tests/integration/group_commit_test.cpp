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

#endif
