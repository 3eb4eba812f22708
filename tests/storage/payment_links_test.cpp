#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "storage/payment_links.hpp"
#include "tests/support/harness.hpp"

using namespace pay;

namespace {

storage::payment_link link_of(const std::string& merchant_id, std::int64_t amount) {
  storage::payment_link l;
  l.id = core::make_id(core::id_prefix::payment_link);
  l.merchant_id = merchant_id;
  l.amount = amount;
  l.currency = "eur";
  l.description = "Blue mug";
  l.capture = core::capture_method::manual;
  return l;
}

/// An intent row for the visits to point at.
std::string insert_intent(const test::scratch_database& db, const std::string& merchant_id) {
  auto id = core::make_id(core::id_prefix::payment_intent);
  db.query(
      "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
      "psp) VALUES ($1, $2, 'created', 100, 'eur', 'automatic', 'sandbox')",
      {id, merchant_id});
  return id;
}

}  // namespace

TEST_CASE("Creating a payment link again with its id answers the stored link") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "links");
  auto conn = db.connect();
  auto first = link_of(m.id, 1999);
  auto stored = storage::create_payment_link(conn, first);
  REQUIRE(stored);
  CHECK(stored->id == first.id);
  CHECK(stored->amount == 1999);
  CHECK(stored->capture == core::capture_method::manual);
  CHECK(stored->description == std::optional<std::string>("Blue mug"));
  CHECK(stored->active);

  auto retry = first;
  retry.amount = 5;  // a retry finds the first link; nothing is overwritten
  auto again = storage::create_payment_link(conn, retry);
  REQUIRE(again);
  CHECK(again->amount == 1999);
  CHECK(db.query("SELECT count(*) FROM payment_links").int64(0, 0) == 1);

  auto other = test::make_merchant(db, "other");
  auto clash = first;
  clash.merchant_id = other.id;
  auto refused = storage::create_payment_link(conn, clash);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == core::errc::invalid_request);
}

TEST_CASE("A payment link is found by its merchant or publicly and listed newest first") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "links");
  auto other = test::make_merchant(db, "other");
  auto conn = db.connect();
  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) {
    auto l = storage::create_payment_link(conn, link_of(m.id, i * 100));
    REQUIRE(l);
    ids.push_back(l->id);
  }
  CHECK(storage::find_payment_link(conn, ids[0], m.id));
  CHECK(storage::find_payment_link(conn, ids[0], std::nullopt));
  auto hidden = storage::find_payment_link(conn, ids[0], other.id);
  REQUIRE_FALSE(hidden);
  CHECK(hidden.err().code == core::errc::not_found);

  auto page = storage::list_payment_links(conn, m.id, 2, std::nullopt);
  REQUIRE(page);
  REQUIRE(page->data.size() == 2);
  CHECK(page->has_more);
  CHECK(page->data[0].id == ids[2]);
  CHECK(page->data[1].id == ids[1]);
  auto rest = storage::list_payment_links(conn, m.id, 2, ids[1]);
  REQUIRE(rest);
  REQUIRE(rest->data.size() == 1);
  CHECK(rest->data[0].id == ids[0]);
  CHECK_FALSE(rest->has_more);
  CHECK(storage::list_payment_links(conn, other.id, 10, std::nullopt)->data.empty());
}

TEST_CASE("A visit keeps the first intent recorded for it") {
  test::scratch_database db;
  auto m = test::make_merchant(db, "links");
  auto conn = db.connect();
  auto link = storage::create_payment_link(conn, link_of(m.id, 100));
  REQUIRE(link);
  auto visit = core::sha256_hex("visit-1");
  auto none = storage::find_link_visit(conn, link->id, visit);
  REQUIRE(none);
  CHECK_FALSE(*none);

  auto first = insert_intent(db, m.id);
  auto second = insert_intent(db, m.id);
  auto recorded = storage::record_link_visit(conn, link->id, visit, first);
  REQUIRE(recorded);
  CHECK(*recorded == first);
  auto kept = storage::record_link_visit(conn, link->id, visit, second);
  REQUIRE(kept);
  CHECK(*kept == first);
  CHECK(*storage::find_link_visit(conn, link->id, visit) == std::optional<std::string>(first));
  CHECK_FALSE(*storage::find_link_visit(conn, link->id, core::sha256_hex("visit-2")));
}
