// Settlement: fees, balance transactions, payouts equal to the sum of their
// balance transactions' nets.
#include <catch2/catch.hpp>
#include <map>

#include "sandbox_harness.hpp"

using namespace sandbox_test;

namespace {

std::string paid_intent(sandbox_process& sb, std::int64_t amount,
                        const std::string& currency = "usd") {
  auto pi = create_intent(sb, "amount=" + std::to_string(amount) + "&currency=" + currency +
                                  "&payment_method=pm_card_visa&confirm=true");
  REQUIRE(str(pi, "status") == "succeeded");
  return str(pi, "id");
}

rapidjson::Document charge_bt(sandbox_process& sb, const std::string& pi_id) {
  auto pi = expect_json(sb.get("/v1/payment_intents/" + pi_id));
  auto ch = expect_json(sb.get("/v1/charges/" + str(pi, "latest_charge")));
  return expect_json(sb.get("/v1/balance_transactions/" + str(ch, "balance_transaction")));
}

}  // namespace

TEST_CASE("the fee is round-half-up of amount times basis points, plus the fixed fee") {
  sandbox_process sb;  // defaults: 290 bp + 30
  // amount -> fee: 1000*2.9% = 29; 500*2.9% = 14.5 -> 15; 50*2.9% = 1.45 -> 1; 1724 -> 49.996 -> 50
  std::map<std::int64_t, std::int64_t> expected = {{1000, 59}, {500, 45}, {50, 31}, {1724, 80}};
  for (auto [amount, fee] : expected) {
    auto bt = charge_bt(sb, paid_intent(sb, amount));
    CHECK(str(bt, "type") == "charge");
    CHECK(num(bt, "amount") == amount);
    CHECK(num(bt, "fee") == fee);
    CHECK(num(bt, "net") == amount - fee);
    CHECK(str(bt, "status") == "pending");
    CHECK(num(at(bt, "fee_details")[0], "amount") == fee);
  }
}

TEST_CASE("the fee schedule is configurable") {
  sandbox_process sb({"--fee-percent-bp", "250", "--fee-fixed-minor", "0"});
  CHECK(num(charge_bt(sb, paid_intent(sb, 100)), "fee") == 3);  // 2.5 rounds up
  CHECK(num(charge_bt(sb, paid_intent(sb, 99)), "fee") == 2);   // 2.475 rounds down
}

TEST_CASE("settlement pays out captured charges less refunds, equal to the sum of nets") {
  sandbox_process sb;
  auto a = paid_intent(sb, 1000);
  paid_intent(sb, 2500);
  auto manual = create_intent(
      sb, "amount=800&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm=true");
  expect_json(
      sb.post("/v1/payment_intents/" + str(manual, "id") + "/capture", "amount_to_capture=300"));
  expect_json(sb.post("/v1/refunds", "payment_intent=" + a + "&amount=400"));
  auto run = expect_json(sb.post("/_sandbox/settlement/run", ""));
  REQUIRE(at(run, "data").Size() == 1);
  auto payout_id = std::string(at(run, "data")[0]["id"].GetString());
  auto payout = expect_json(sb.get("/v1/payouts/" + payout_id));
  CHECK(str(payout, "object") == "payout");
  CHECK(str(payout, "status") == "paid");
  CHECK(str(payout, "currency") == "usd");
  // fees: 1000 -> 59, 2500 -> 73 (72.5 up) + 30 = 103, 300 -> 9 + 30 = 39; refund -400
  std::int64_t expected = (1000 - 59) + (2500 - 103) + (300 - 39) - 400;
  CHECK(num(payout, "amount") == expected);
  auto bts = expect_json(sb.get("/v1/balance_transactions?payout=" + payout_id + "&limit=100"));
  std::int64_t sum = 0;
  int refunds = 0;
  for (const auto& bt : at(bts, "data").GetArray()) {
    sum += bt["net"].GetInt64();
    CHECK(std::string(bt["payout"].GetString()) == payout_id);
    CHECK(std::string(bt["status"].GetString()) == "available");
    if (std::string(bt["type"].GetString()) == "refund") {
      ++refunds;
      CHECK(bt["amount"].GetInt64() == -400);
      CHECK(bt["net"].GetInt64() == -400);
      CHECK(bt["fee"].GetInt64() == 0);
      CHECK(std::string(bt["source"].GetString()).starts_with("re_"));
    }
  }
  CHECK(at(bts, "data").Size() == 4);
  CHECK(refunds == 1);
  CHECK(sum == num(payout, "amount"));
}

TEST_CASE("balance transactions filter by type and a second run pays only what is new") {
  sandbox_process sb;
  auto a = paid_intent(sb, 1000);
  expect_json(sb.post("/v1/refunds", "payment_intent=" + a + "&amount=100"));
  auto first = expect_json(sb.post("/_sandbox/settlement/run", ""));
  REQUIRE(at(first, "data").Size() == 1);
  auto empty = expect_json(sb.post("/_sandbox/settlement/run", ""));
  CHECK(at(empty, "data").Size() == 0);
  paid_intent(sb, 2000);
  auto second = expect_json(sb.post("/_sandbox/settlement/run", ""));
  REQUIRE(at(second, "data").Size() == 1);
  CHECK(num(at(second, "data")[0], "amount") == 2000 - 88);  // 58 + 30
  auto refunds = expect_json(sb.get("/v1/balance_transactions?type=refund"));
  CHECK(at(refunds, "data").Size() == 1);
  auto payouts = expect_json(sb.get("/v1/payouts"));
  CHECK(at(payouts, "data").Size() == 2);
  expect_json(sb.get("/v1/balance_transactions?payout=po_unknown"), 404);
}

TEST_CASE("payouts are made per currency and each emits payout.paid") {
  sandbox_process sb;
  paid_intent(sb, 1000, "usd");
  paid_intent(sb, 3000, "eur");
  auto run = expect_json(sb.post("/_sandbox/settlement/run", ""));
  CHECK(at(run, "data").Size() == 2);
  auto events = expect_json(sb.get("/v1/events?type=payout.paid"));
  CHECK(at(events, "data").Size() == 2);
  for (const auto& e : at(events, "data").GetArray()) {
    auto id = std::string(e["data"]["object"]["id"].GetString());
    auto bts = expect_json(sb.get("/v1/balance_transactions?payout=" + id));
    std::int64_t sum = 0;
    for (const auto& bt : at(bts, "data").GetArray()) sum += bt["net"].GetInt64();
    CHECK(sum == e["data"]["object"]["amount"].GetInt64());
  }
}

TEST_CASE("the settlement cycle pays out on its own when an interval is set") {
  sandbox_process sb({"--settlement-interval-s", "1"});
  paid_intent(sb, 1000);
  bool paid = eventually([&] {
    auto list = sb.get("/v1/payouts");
    return list.answered && parse(list.response.body)["data"].Size() == 1;
  });
  CHECK(paid);
}

TEST_CASE("balance transactions and payouts filter by created time as Stripe lists do") {
  sandbox_process sb;
  auto pi = paid_intent(sb, 1000);
  auto bt = charge_bt(sb, pi);
  auto created = num(bt, "created");
  auto c = std::to_string(created);
  CHECK(at(expect_json(sb.get("/v1/balance_transactions?created[gte]=" + c)), "data").Size() == 1);
  CHECK(at(expect_json(sb.get("/v1/balance_transactions?created%5Blt%5D=" + c)), "data").Size() ==
        0);
  CHECK(at(expect_json(sb.get("/v1/balance_transactions?created[gt]=" + c)), "data").Size() == 0);
  CHECK(at(expect_json(sb.get("/v1/balance_transactions?created[lte]=" + c + "&created[gte]=" + c)),
           "data")
            .Size() == 1);
  CHECK(at(expect_json(sb.get("/v1/balance_transactions?created=" + c)), "data").Size() == 1);
  expect_json(sb.get("/v1/balance_transactions?created[soon]=1"), 400);
  expect_json(sb.get("/v1/balance_transactions?created[gte]=x"), 400);
  auto run = expect_json(sb.post("/_sandbox/settlement/run", ""));
  auto po_created = std::to_string(num(at(run, "data")[0], "created"));
  CHECK(at(expect_json(sb.get("/v1/payouts?created[gte]=" + po_created)), "data").Size() == 1);
  CHECK(at(expect_json(sb.get("/v1/payouts?created[lt]=" + po_created)), "data").Size() == 0);
}

TEST_CASE("expand data.source embeds the charge or refund with its payment intent") {
  sandbox_process sb;
  auto pi = paid_intent(sb, 1000);
  expect_json(sb.post("/v1/refunds", "payment_intent=" + pi + "&amount=300"));
  auto plain = expect_json(sb.get("/v1/balance_transactions"));
  for (const auto& t : at(plain, "data").GetArray()) CHECK(t["source"].IsString());
  auto expanded = expect_json(sb.get("/v1/balance_transactions?expand[]=data.source"));
  REQUIRE(at(expanded, "data").Size() == 2);
  for (const auto& t : at(expanded, "data").GetArray()) {
    REQUIRE(t["source"].IsObject());
    CHECK(str(t["source"], "payment_intent") == pi);
    CHECK(str(t["source"], "object") == str(t, "type"));
  }
}

TEST_CASE("test controls delete a charge and alter a balance transaction at the sandbox only") {
  sandbox_process sb;
  auto kept = paid_intent(sb, 1000);
  auto gone = paid_intent(sb, 2000);
  auto gone_pi = expect_json(sb.get("/v1/payment_intents/" + gone));
  auto charge = str(gone_pi, "latest_charge");
  auto deleted = expect_json(sb.post("/_sandbox/charges/" + charge + "/delete", ""));
  CHECK(deleted["deleted"].GetBool());
  expect_json(sb.get("/v1/charges/" + charge), 404);
  CHECK(at(expect_json(sb.get("/v1/balance_transactions")), "data").Size() == 1);
  expect_json(sb.post("/_sandbox/charges/" + charge + "/delete", ""), 404);

  auto bt = charge_bt(sb, kept);
  auto altered =
      expect_json(sb.post("/_sandbox/balance_transactions/" + str(bt, "id"), "amount=1100"));
  CHECK(num(altered, "amount") == 1100);
  CHECK(num(altered, "net") == 1100 - num(bt, "fee"));
  expect_json(sb.post("/_sandbox/balance_transactions/" + str(bt, "id"), "amount=x"), 400);
  expect_json(sb.post("/_sandbox/balance_transactions/txn_nope", "amount=1"), 404);
  auto run = expect_json(sb.post("/_sandbox/settlement/run", ""));
  REQUIRE(at(run, "data").Size() == 1);
  CHECK(num(at(run, "data")[0], "amount") == 1100 - num(bt, "fee"));
  // Without the secret key the controls answer 401.
  auto anonymous = sb.post("/_sandbox/charges/ch_x/delete", "", {}, "");
  CHECK(anonymous.response.status == 401);
}
