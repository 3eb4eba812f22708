// Adyen's Settlement details report (CSV) read strictly into the engine's
// balance transactions and payouts.
#include "psp/adyen/adyen_settlement.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

using namespace pay::psp;
using pay::core::balance_tx_type;
using pay::core::payout_status;

namespace {

std::string sample() {
  std::ifstream in(std::string(PAY_TEST_DATA_DIR) + "/adyen/settlement_detail_report_batch_42.csv");
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string header =
    "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation "
    "Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit "
    "(GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Markup "
    "(NC),Scheme Fees (NC),Interchange (NC),Payment Method Variant,Modification Merchant "
    "Reference,Batch Number\n";

std::string failure(const std::string& csv) {
  std::string error;
  auto r = parse_adyen_settlement_report(csv, error);
  CHECK_FALSE(r);
  return error;
}

}  // namespace

TEST_CASE("adyen csv: quoted fields, doubled quotes, CRLF", "[adyen][settlement]") {
  std::string error;
  auto rows = parse_csv("a,\"b, c\",\"say \"\"hi\"\"\"\r\n\r\n1,,3\n", error);
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0] == std::vector<std::string>{"a", "b, c", "say \"hi\""});
  CHECK((*rows)[1] == std::vector<std::string>{"1", "", "3"});
  CHECK_FALSE(parse_csv("a,\"open\n", error));
  CHECK(error.find("not closed") != std::string::npos);
  CHECK_FALSE(parse_csv("a,\"x\"y\n", error));
  CHECK_FALSE(parse_csv("a,x\"y\n", error));
}

TEST_CASE("adyen settlement report: the sample batch", "[adyen][settlement]") {
  std::string error;
  auto r = parse_adyen_settlement_report(sample(), error);
  INFO(error);
  REQUIRE(r);
  REQUIRE(r->transactions.size() == 4);
  REQUIRE(r->payouts.size() == 1);

  const auto& p = r->payouts[0];
  CHECK(p.id == "42");
  CHECK(p.amount == 11110);
  CHECK(p.currency == "eur");
  CHECK(p.status == payout_status::paid);
  CHECK(p.created == 1717480800);  // 2024-06-04 06:00:00 UTC

  const auto& c = r->transactions[0];
  CHECK(c.type == balance_tx_type::charge);
  CHECK(c.id == "Settled:KZ2M4R8T6W0Y1B3D");
  CHECK(c.source == "KZ2M4R8T6W0Y1B3D");
  CHECK(c.payment_intent == "FT7GQ9KX2LPN8W63");
  CHECK(c.amount == 2599);
  CHECK(c.fee == 89);  // 0.12 + 0.05 + 0.32 + 0.40
  CHECK(c.net == 2510);
  CHECK(c.currency == "eur");
  CHECK(c.payout == "42");
  CHECK(c.created == 1717406102);  // 2024-06-03 09:15:02 UTC

  CHECK(r->transactions[1].amount == 10000);
  CHECK(r->transactions[1].fee == 150);

  const auto& refund = r->transactions[2];
  CHECK(refund.type == balance_tx_type::refund);
  CHECK(refund.amount == -1000);
  CHECK(refund.net == -1000);
  CHECK(refund.fee == 0);
  CHECK(refund.payment_intent == "FT7GQ9KX2LPN8W63");

  const auto& fee = r->transactions[3];
  CHECK(fee.type == balance_tx_type::other);
  CHECK(fee.net == -250);
  CHECK_FALSE(fee.payment_intent);

  std::int64_t net = 0;
  for (const auto& t : r->transactions) net += t.net;
  CHECK(net == p.amount);
}

TEST_CASE("adyen settlement report: exponents of JPY and KWD, several currencies",
          "[adyen][settlement]") {
  auto csv =
      header +
      "C,M,PSP1,r1,visa,2024-06-03 09:00:00,UTC,Settled,CAP1,JPY,,1500,1,JPY,,1480,20,,,,v,r1,7\n"
      "C,M,PSP2,r2,visa,2024-06-03 "
      "09:00:00,UTC,Settled,CAP2,KWD,,1.500,1,KWD,,1.450,0.050,,,,v,r2,7\n"
      "C,M,,,,2024-06-04 09:00:00,UTC,MerchantPayout,,,,,,JPY,1480,,,,,,,,7\n"
      "C,M,,,,2024-06-04 09:00:00,UTC,MerchantPayout,,,,,,KWD,1.450,,,,,,,,7\n";
  std::string error;
  auto r = parse_adyen_settlement_report(csv, error);
  INFO(error);
  REQUIRE(r);
  CHECK(r->transactions[0].amount == 1500);
  CHECK(r->transactions[1].amount == 1500);
  CHECK(r->transactions[1].fee == 50);
  REQUIRE(r->payouts.size() == 2);
  CHECK(r->payouts[0].id == "7-JPY");
  CHECK(r->payouts[1].id == "7-KWD");
  CHECK(r->transactions[0].payout == "7-JPY");
  CHECK(r->transactions[1].payout == "7-KWD");
}

TEST_CASE("adyen settlement report: strict errors", "[adyen][settlement]") {
  CHECK(failure("").find("empty") != std::string::npos);
  CHECK(failure("Type,Batch Number\nSettled,1\n").find("lacks column") != std::string::npos);
  CHECK(failure(header + "C,M,P\n").find("row 2") != std::string::npos);
  auto row = [](std::string amount, std::string zone = "UTC",
                std::string date = "2024-06-03 09:00:00", std::string currency = "EUR") {
    return "C,M,P,r,visa," + date + "," + zone + ",Settled,CAP," + currency + ",," + amount +
           ",1," + currency + ",," + amount + ",,,,,v,r,1\n";
  };
  CHECK(failure(header + row("10.001")).find("Net Credit") !=
        std::string::npos);  // 3 decimals in EUR
  CHECK(failure(header + row("ten")).find("not an amount") != std::string::npos);
  CHECK(failure(header + row("10.00", "CET")).find("TimeZone") != std::string::npos);
  CHECK(failure(header + row("10.00", "UTC", "03/06/2024 09:00")).find("Creation Date") !=
        std::string::npos);
  CHECK(failure(header + row("10.00", "UTC", "2024-06-03 09:00:00", "XYZ")).find("XYZ") !=
        std::string::npos);
  // ISK: two decimals at Adyen, none in the engine: 10.50 ISK cannot be booked.
  CHECK(failure(header + row("10.50", "UTC", "2024-06-03 09:00:00", "ISK")).find("ISK") !=
        std::string::npos);
  std::string error;
  auto isk = parse_adyen_settlement_report(
      header + row("10.00", "+01:00", "2024-06-03 09:00:00", "ISK"), error);
  REQUIRE(isk);
  CHECK(isk->transactions[0].amount == 10);
  CHECK(isk->transactions[0].created == 1717401600);  // 09:00 at +01:00
}

TEST_CASE("adyen settlement report: chargeback lines are the dispute's money, never a failure",
          "[adyen][settlement]") {
  auto csv =
      header +
      "C,M,PSP1,r1,visa,2024-06-03 09:00:00,UTC,Settled,CAP1,EUR,,100.00,1,EUR,,98.00,2.00,,,,v,"
      "r1,9\n"
      "C,M,PSP1,r1,visa,2024-06-03 10:00:00,UTC,Chargeback,CB1,EUR,40.00,,1,EUR,40.00,,,,,,v,r1,9\n"
      "C,M,PSP1,r1,visa,2024-06-03 11:00:00,UTC,ChargebackReversed,CB2,EUR,,40.00,1,EUR,,40.00,,,,"
      ",v,r1,9\n"
      "C,M,PSP9,r9,visa,2024-06-03 12:00:00,UTC,SecondChargeback,CB3,EUR,5.00,,1,EUR,5.00,,,,,,v,"
      "r9,9\n"
      "C,M,,,,2024-06-04 09:00:00,UTC,MerchantPayout,,,,,,EUR,93.00,,,,,,,,9\n";
  std::string error;
  auto r = parse_adyen_settlement_report(csv, error);
  INFO(error);
  REQUIRE(r);
  REQUIRE(r->transactions.size() == 4);
  const auto& cb = r->transactions[1];
  CHECK(cb.type == balance_tx_type::dispute);
  CHECK(cb.amount == -4000);
  CHECK(cb.net == -4000);
  // Known by its payment, as the CHARGEBACK notification names the dispute.
  CHECK(cb.source == "PSP1");
  CHECK(cb.id == "Chargeback:CB1");
  CHECK(r->transactions[2].type == balance_tx_type::dispute);
  CHECK(r->transactions[2].amount == 4000);
  CHECK(r->transactions[3].type == balance_tx_type::dispute);
  CHECK(r->transactions[3].source == "PSP9");
  REQUIRE(r->payouts.size() == 1);
  CHECK(r->payouts[0].amount == 9300);
}
