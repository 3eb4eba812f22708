// Amounts between the engine's ISO 4217 minor units and Adyen's exponent
// table, both ways, and the refusal of values one side cannot express.
#include "psp/adyen/adyen_amounts.hpp"

#include <catch2/catch.hpp>
#include <cstdint>

using namespace pay::psp;

TEST_CASE("adyen exponents follow Adyen's table, not ISO 4217", "[adyen][amounts]") {
  CHECK(adyen_exponent("JPY") == 0);
  CHECK(adyen_exponent("jpy") == 0);
  CHECK(adyen_exponent("IDR") == 0);  // ISO: 2
  CHECK(adyen_exponent("CVE") == 0);  // ISO: 2
  CHECK(adyen_exponent("KWD") == 3);
  CHECK(adyen_exponent("ISK") == 2);  // ISO: 0
  CHECK(adyen_exponent("CLP") == 2);  // ISO: 0
  CHECK(adyen_exponent("EUR") == 2);
}

TEST_CASE("adyen amounts convert both ways where exponents agree", "[adyen][amounts]") {
  CHECK(to_adyen_minor(1500, "jpy") == 1500);
  CHECK(from_adyen_minor(1500, "JPY") == 1500);
  CHECK(to_adyen_minor(1500, "kwd") == 1500);  // 1.500 KWD on both sides
  CHECK(from_adyen_minor(1500, "KWD") == 1500);
  CHECK(to_adyen_minor(2599, "eur") == 2599);
  CHECK(from_adyen_minor(2599, "EUR") == 2599);
}

TEST_CASE("adyen amounts rescale ISK, CLP, IDR and CVE exactly", "[adyen][amounts]") {
  // ISK and CLP: whole units in the engine, hundredths at Adyen.
  CHECK(to_adyen_minor(500, "isk") == 50000);
  CHECK(from_adyen_minor(50000, "ISK") == 500);
  CHECK(to_adyen_minor(1000, "clp") == 100000);
  CHECK(from_adyen_minor(100000, "CLP") == 1000);
  // IDR: hundredths in the engine, whole units at Adyen.
  CHECK(to_adyen_minor(1500000, "idr") == 15000);
  CHECK(from_adyen_minor(15000, "IDR") == 1500000);
  CHECK(to_adyen_minor(12300, "cve") == 123);
}

TEST_CASE("adyen amounts refuse what one side cannot express", "[adyen][amounts]") {
  CHECK_FALSE(to_adyen_minor(1500050, "idr"));  // 15000.50 IDR: Adyen has no cents
  CHECK_FALSE(to_adyen_minor(1, "cve"));
  CHECK_FALSE(from_adyen_minor(50050, "ISK"));  // 500.50 ISK: the engine has no aurar
  CHECK_FALSE(from_adyen_minor(1, "CLP"));
  CHECK_FALSE(to_adyen_minor(INT64_MAX / 10, "isk"));  // overflow
  CHECK_FALSE(to_adyen_minor(100, "xyz"));             // unknown to the engine
  CHECK_FALSE(from_adyen_minor(100, "XYZ"));
}

TEST_CASE("adyen currency spelling", "[adyen][amounts]") {
  CHECK(adyen_currency("eur") == "EUR");
  CHECK(engine_currency("EUR") == "eur");
}
